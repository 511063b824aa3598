/* A worker ends the whole program with exit(3) while the other threads
 * wait in pause() and sleep(): every thread goes, and the status is 3. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *worker(void *arg) {
    if ((long)arg == 2) {
        usleep(20000);
        printf("worker 2 ends the program\n");
        fflush(stdout);
        exit(3);
    }
    for (;;)
        pause();
    return NULL;
}

int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (;;)
        sleep(1);
}
