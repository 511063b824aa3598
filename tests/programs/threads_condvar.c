/* One producer, two consumers, a bounded queue, a mutex and a condition
 * variable: futex waits and wakes between threads. Each consumer reports
 * its own share, which depends on the interleaving. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int queue[8], head, tail, count, done;

static void *producer(void *arg) {
    for (int i = 1; i <= 3000; i++) {
        pthread_mutex_lock(&lock);
        while (count == 8)
            pthread_cond_wait(&changed, &lock);
        queue[tail] = i;
        tail = (tail + 1) % 8;
        count++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consumer(void *arg) {
    long *share = arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (count == 0 && !done)
            pthread_cond_wait(&changed, &lock);
        if (count == 0 && done) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        share[0] += queue[head];
        share[1]++;
        head = (head + 1) % 8;
        count--;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
}

int main(void) {
    pthread_t p, c[2];
    long shares[2][2] = {{0, 0}, {0, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&c[i], NULL, consumer, shares[i]);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
    for (int i = 0; i < 2; i++)
        printf("consumer %d took %ld items summing to %ld\n", i, shares[i][1], shares[i][0]);
    printf("total %ld\n", shares[0][0] + shares[1][0]);
    return 0;
}
