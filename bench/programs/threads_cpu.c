/* Four threads, each 2.5e8 rounds of a splitmix64 hash, no syscalls: the
 * CPU-bound multi-threaded case. Under rback one thread runs at a time, so
 * compare with a native run pinned to one CPU. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t results[4];

static void *work(void *arg) {
    long id = (long)arg;
    uint64_t x = (uint64_t)id + 1, acc = 0;
    for (long i = 0; i < 250000000L; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        acc ^= z ^ (z >> 31);
    }
    results[id] = acc;
    return NULL;
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, work, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("%016llx %016llx %016llx %016llx\n", (unsigned long long)results[0], (unsigned long long)results[1],
           (unsigned long long)results[2], (unsigned long long)results[3]);
    return 0;
}
