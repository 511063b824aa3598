/* Two threads take turns writing one shared variable under a mutex, with a
 * short sleep between writes: a watchpoint on it stops in both threads. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void *writer(void *arg) {
    int id = (int)(long)arg;
    for (int round = 1; round <= 3; round++) {
        pthread_mutex_lock(&lock);
        shared = id * 10 + round;
        pthread_mutex_unlock(&lock);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, writer, (void *)1L);
    pthread_create(&b, NULL, writer, (void *)2L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("last write %d\n", shared);
    return 0;
}
