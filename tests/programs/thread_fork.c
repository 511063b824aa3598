/* Forks from a thread that is not the main one; the child starts threads
 * of its own and joins them; the parent's main thread keeps working. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int counter;

static void *child_worker(void *arg) {
    long n = (long)arg;
    long sum = 0;
    for (long i = 0; i < 100000 * n; i++)
        sum += i % 7;
    return (void *)sum;
}

static void *forker(void *arg) {
    (void)arg;
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t[3];
        for (long i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, child_worker, (void *)(i + 1));
        long total = 0;
        for (int i = 0; i < 3; i++) {
            void *r;
            pthread_join(t[i], &r);
            total += (long)r;
        }
        printf("child threads total %ld\n", total);
        fflush(stdout);
        _exit(11);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("forker thread: child exited %d\n", WEXITSTATUS(status));
    fflush(stdout);
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, forker, NULL);
    for (int i = 0; i < 200000; i++)
        counter += i & 3;
    pthread_join(t, NULL);
    printf("main counter %d\n", counter);
    return 0;
}
