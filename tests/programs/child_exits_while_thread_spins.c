/* A child process starts a thread that counts for ever and then ends the
 * whole process with exit() while that thread is still running user code
 * (exit_group kills it mid-loop). The parent reports the child's status. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile unsigned long n;
static void *spinner(void *arg) {
    for (;;)
        n++;
    return NULL;
}
int main(void) {
    int status;
    pid_t a = fork();
    if (a == 0) {
        pthread_t t1;
        pthread_create(&t1, NULL, spinner, NULL);
        usleep(10000);
        printf("child leaving %d\n", n > 0);
        fflush(stdout);
        exit(21);
    }
    waitpid(a, &status, 0);
    printf("child a: %d\n", WEXITSTATUS(status));
    return 0;
}
