/* A signal pending in one thread for checkpoint images: the worker blocks
 * SIGUSR1, the first thread sends it to the worker alone (pthread_kill),
 * and the worker unblocks it once told it was sent: the handler must run
 * in the worker. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready, sent;
static volatile long handled_in;

static void on_usr1(int sig) {
    (void)sig;
    handled_in = syscall(SYS_gettid);
}

static void *worker(void *arg) {
    (void)arg;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    while (!sent)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    printf("handled in the worker: %d\n", handled_in == syscall(SYS_gettid));
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&lock);
    while (!ready)
        pthread_cond_wait(&cond, &lock);
    pthread_kill(t, SIGUSR1);
    sent = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(t, NULL);
    printf("joined\n");
    return 0;
}
