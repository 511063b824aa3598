/* The main thread waits for a flag that a second thread sets after a
 * sleep, counting as it waits: its state never repeats, so the recorder
 * cannot preempt it cheaply; after a long turn it preempts it at a point
 * named by state, and the count it prints replays exactly. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static volatile int flag;
static volatile long waited;

static void *setter(void *arg) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    flag = 1;
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, setter, NULL);
    while (!flag)
        waited++;
    pthread_join(t, NULL);
    printf("counted %ld while waiting\n", waited);
    return 0;
}
