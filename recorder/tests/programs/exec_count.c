// The tracee of counter.rs's tests: calls bump() exactly argv[1] times.
//
// It first prints bump's address (so the test needs no symbol lookup, PIE or
// not) and waits for one byte on stdin, which the test sends once it has
// seized the process and armed its counter. argv[2] plays with SIGSTKFLT, the
// perf counter's signal: "block" blocks it before waiting, "ignore" ignores
// it, "block-during" blocks it only while it calls bump().
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
    const char *mode = argc > 2 ? argv[2] : "";
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSTKFLT);
    if (strcmp(mode, "block") == 0) sigprocmask(SIG_BLOCK, &set, NULL);
    if (strcmp(mode, "ignore") == 0) signal(SIGSTKFLT, SIG_IGN);
    printf("%p\n", (void *)bump);
    fflush(stdout);
    char go;
    if (read(0, &go, 1) != 1) return 3;
    int during = strcmp(mode, "block-during") == 0;
    if (during) sigprocmask(SIG_BLOCK, &set, NULL);
    for (unsigned long i = 0; i < n; i++) bump(i);
    if (during) sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("total %lu\n", total);
    return 0;
}
