/* The main thread leaves with pthread_exit while a worker goes on: the
 * program ends when the worker does. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg) {
    (void)arg;
    usleep(10000);
    printf("the worker finished after main left\n");
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    printf("main leaves\n");
    fflush(stdout);
    pthread_exit(NULL);
}
