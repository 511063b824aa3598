/* syscall-heavy: many cheap syscalls, so the per-syscall ptrace round trip
 * dominates. getppid() is always a real syscall; clock_gettime() goes through
 * the vDSO natively but becomes a real syscall under rback, which hides the
 * vDSO -- that difference is part of what this workload measures.
 *
 * With a second argument `raw`, both calls are made with syscall(2): what
 * the program costs natively when clock_gettime cannot use the vDSO, the
 * floor under any recorder that makes it a syscall (syscall-floor). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int raw = argc > 2 && strcmp(argv[2], "raw") == 0;
    unsigned long long ppid_sum = 0, backwards = 0, prev = 0;
    for (long i = 0; i < n; i++) {
        struct timespec ts;
        if (raw) {
            ppid_sum += (unsigned long long)syscall(SYS_getppid);
            syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
        } else {
            ppid_sum += (unsigned long long)getppid();
            clock_gettime(CLOCK_MONOTONIC, &ts);
        }
        unsigned long long now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
        if (now < prev)
            backwards++;
        prev = now;
    }
    /* Print only what is stable across runs: the ppid differs natively vs
     * under rback, and only record-vs-replay equality is checked anyway. */
    printf("syscall-heavy: %ld getppid + %ld clock_gettime, clock went backwards %llu times, ppid sum %s\n",
           n, n, backwards, ppid_sum ? "nonzero" : "zero");
    return 0;
}
