/* The main thread spins, without a syscall, on a flag that a second thread
 * sets after a sleep: the recorder must preempt the spinner for the other
 * thread to get anywhere. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static volatile int flag;
static volatile long spins;

static void *setter(void *arg) {
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    flag = 1;
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, setter, NULL);
    while (!flag)
        ;
    pthread_join(t, NULL);
    printf("the flag was set\n");
    return 0;
}
