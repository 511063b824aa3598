/* A signal sent to one thread (pthread_kill) while two others run: only
 * that thread's handler runs, and the replay says which. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile sig_atomic_t got[3];
static __thread int my_index;
static volatile int stop;
static pthread_barrier_t ready;

static void on_usr1(int sig) {
    got[my_index] = 1;
}

static void *run(void *arg) {
    my_index = (int)(long)arg;
    pthread_barrier_wait(&ready);
    while (!stop)
        usleep(1000);
    return NULL;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_barrier_init(&ready, NULL, 4);
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, run, (void *)i);
    pthread_barrier_wait(&ready);
    pthread_kill(t[1], SIGUSR1);
    while (!got[1])
        usleep(1000);
    stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("handlers ran: %d %d %d\n", got[0], got[1], got[2]);
    return 0;
}
