/* Threads for checkpoint images: two workers each keep a value in
 * thread-local storage and their id, tell the first thread they wait, and
 * wait on a condition variable for their turn; the first thread lets each
 * go in turn and joins it (which needs the word the kernel clears when a
 * thread ends). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn, waiting;
static __thread int mine;

static void *worker(void *arg) {
    int n = (int)(long)arg;
    mine = n * 100;
    long tid = syscall(SYS_gettid);
    pthread_mutex_lock(&lock);
    waiting++;
    pthread_cond_broadcast(&cond);
    while (turn != n)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    printf("worker %d: tls %d, same id %d\n", n, mine, tid == syscall(SYS_gettid));
    return (void *)(long)(n * 10);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    pthread_mutex_lock(&lock);
    while (waiting < 2)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    printf("both waiting\n");
    for (int n = 1; n <= 2; n++) {
        pthread_mutex_lock(&lock);
        turn = n;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
        void *r;
        pthread_join(t[n - 1], &r);
        printf("joined worker %d: %ld\n", n, (long)r);
    }
    return 0;
}
