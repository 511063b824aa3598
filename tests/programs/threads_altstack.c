/* A thread with an alternate signal stack, many events later a signal to
 * that thread whose handler runs on that stack: a checkpoint taken while
 * the thread exists must give the thread's copy the same signal stack. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char alt[1 << 16];
static volatile int on_alt = -1;

static void handler(int sig) {
    char here;
    (void)sig;
    on_alt = &here >= alt && &here < alt + sizeof alt;
}

static void *worker(void *arg) {
    (void)arg;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = alt;
    ss.ss_size = sizeof alt;
    sigaltstack(&ss, NULL);
    for (int i = 0; i < 60; i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    raise(SIGUSR1);
    printf("handler on the alternate stack: %s\n", on_alt == 1 ? "yes" : "no");
    return NULL;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    // Sleep too, so that turns alternate and checkpoints are taken while
    // the worker is the thread that waits (the one the copy makes again).
    for (int i = 0; i < 60; i++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    pthread_join(t, NULL);
    return 0;
}
