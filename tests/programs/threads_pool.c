/* A pool of 8 worker threads takes 64 jobs from a shared counter; each job
 * sleeps a little and reads the clock. Which worker did which job, and in
 * what order they finished, is the schedule: the replay must print the
 * recorded one. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define WORKERS 8
#define JOBS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int next_job;
static int done_by[JOBS];
static long finished_at[JOBS];
static int order[JOBS], finished;

static void *worker(void *arg) {
    int me = (int)(long)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        int job = next_job < JOBS ? next_job++ : -1;
        pthread_mutex_unlock(&lock);
        if (job < 0)
            return NULL;
        struct timespec ts = {0, (job % 5) * 200000};
        nanosleep(&ts, NULL);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        pthread_mutex_lock(&lock);
        done_by[job] = me;
        finished_at[job] = ts.tv_nsec;
        order[finished++] = job;
        pthread_mutex_unlock(&lock);
    }
}

int main(void) {
    pthread_t t[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    long check = 0;
    for (int j = 0; j < JOBS; j++) {
        printf("%d:%d ", order[j], done_by[order[j]]);
        check = check * 31 + finished_at[j];
    }
    printf("\nfinished %d jobs, clock check %ld\n", finished, check);
    return 0;
}
