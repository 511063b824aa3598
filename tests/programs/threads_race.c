/* Four threads add to one counter without a lock. Natively the total is
 * anything up to 4000000; under rback one thread runs at a time, and the
 * replay computes exactly the recorded total. Each thread also reads the
 * clock and its thread id, which replay must give back as recorded. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile long counter;
static long stamps[4];

static void *add(void *arg) {
    long i = (long)arg;
    for (int n = 0; n < 1000000; n++)
        counter++;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    stamps[i] = ts.tv_nsec ^ (long)syscall(SYS_gettid);
    return NULL;
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, add, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    for (int i = 0; i < 4; i++)
        printf("stamp %d %ld\n", i, stamps[i]);
    return 0;
}
