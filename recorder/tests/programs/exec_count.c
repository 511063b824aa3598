// The tracee of counter.rs's tests: calls bump() exactly argv[1] times.
//
// It first prints bump's address (so the test needs no symbol lookup, PIE or
// not) and waits for one byte on stdin, which the test sends once it has
// seized the process and armed its counter. With argv[2] = "block", it blocks
// SIGSTKFLT (the perf counter's signal) before waiting.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile unsigned long total;

__attribute__((noinline)) void bump(unsigned long i) { total += i; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    unsigned long n = strtoul(argv[1], NULL, 10);
    if (argc > 2 && strcmp(argv[2], "block") == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSTKFLT);
        sigprocmask(SIG_BLOCK, &set, NULL);
    }
    printf("%p\n", (void *)bump);
    fflush(stdout);
    char go;
    if (read(0, &go, 1) != 1) return 3;
    for (unsigned long i = 0; i < n; i++) bump(i);
    printf("total %lu\n", total);
    return 0;
}
