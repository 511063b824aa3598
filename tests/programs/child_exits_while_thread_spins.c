/* A child process starts a thread that counts for ever and then ends the
 * whole process with exit() while that thread is still running user code
 * (exit_group kills it mid-loop). The parent reports the child's status.
 * The thread counts in a global variable, or, with the argument
 * "pointer", through a pointer it was given (the two hang rback at
 * different stages). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile unsigned long n;

static void *count_global(void *arg) {
    (void)arg;
    for (;;)
        n++;
    return NULL;
}

static void *count_through(void *arg) {
    volatile unsigned long *p = arg;
    for (;;)
        (*p)++;
    return NULL;
}

int main(int argc, char **argv) {
    int pointer = argc > 1 && strcmp(argv[1], "pointer") == 0;
    int status;
    pid_t a = fork();
    if (a == 0) {
        pthread_t t;
        pthread_create(&t, NULL, pointer ? count_through : count_global, (void *)&n);
        usleep(10000);
        printf("child leaving %d\n", n > 0);
        fflush(stdout);
        exit(21);
    }
    waitpid(a, &status, 0);
    printf("child a: %d\n", WEXITSTATUS(status));
    return 0;
}
