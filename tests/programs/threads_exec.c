/* A worker thread calls execve while the main thread waits to join it:
 * the kernel ends every other thread and the worker becomes the process
 * (with the process's id) running the new program. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg) {
    (void)arg;
    usleep(5000);
    execl("/bin/echo", "echo", "exec from a thread", (char *)NULL);
    perror("execl");
    return NULL;
}

int main(void) {
    pthread_t t;
    printf("main starts a thread that execs\n");
    fflush(stdout);
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    printf("not reached\n");
    return 1;
}
