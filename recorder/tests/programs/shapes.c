/* Program shapes the time-travel engine must handle, one per mode:
 *   loop N      N calls of step() with no system call in between
 *   recurse N   fact(N) recursing N deep
 *   heap MIB    a heap of MIB MiB, rewritten a page at a time between syscalls
 *   shared N    N values written to a MAP_SHARED page, a syscall after each
 *   spin N M    N rounds of a hash loop with no call in it, then M calls of
 *               step() and one of done(), all with no system call between */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

volatile long total;
long depth;

__attribute__((noinline)) void step(long i) { total += i; }

__attribute__((noinline)) long fact(long n) {
    depth++;
    long r = n <= 1 ? 1 : n * fact(n - 1);
    depth--;
    return r;
}

__attribute__((noinline)) void mark(long *p, long i) { *p = i; }

__attribute__((noinline)) void done(void) { total = -total; }

__attribute__((noinline)) void touch(char *heap, size_t page, long round) {
    heap[page * 4096] = (char)round;
    total += heap[page * 4096];
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    long n = atol(argv[2]);
    getpid();
    if (strcmp(argv[1], "loop") == 0) {
        for (long i = 1; i <= n; i++)
            step(i);
    } else if (strcmp(argv[1], "recurse") == 0) {
        total = fact(n);
    } else if (strcmp(argv[1], "spin") == 0 && argc > 3) {
        unsigned long x = 0x9e3779b97f4a7c15UL, acc = 0;
        for (long i = 0; i < n; i++) {
            x += 0x9e3779b97f4a7c15UL;
            unsigned long z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
            acc ^= z ^ (z >> 27);
        }
        total = (long)(acc & 1);
        long m = atol(argv[3]);
        for (long i = 1; i <= m; i++)
            step(i);
        done();
    } else if (strcmp(argv[1], "shared") == 0) {
        long *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED)
            return 1;
        for (long i = 1; i <= n; i++) {
            mark(page, i);
            getppid();
        }
        total = page[0];
    } else if (strcmp(argv[1], "heap") == 0) {
        size_t size = (size_t)n << 20;
        char *heap = malloc(size);
        if (!heap)
            return 1;
        memset(heap, 1, size);
        for (long round = 0; round < 200; round++) {
            touch(heap, (size_t)round * 997 % (size / 4096), round);
            getppid();
        }
    }
    getpid();
    printf("%ld\n", (long)total);
    return 0;
}
