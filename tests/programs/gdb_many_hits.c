/* For the gdb tests: a function called N times (argv[1]) between two
 * syscalls, so reverse-continue must find the last of N hits. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long total;

__attribute__((noinline)) static void tick(long i) {
    total += i; /* MARK:tick_body */
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    write(1, "start\n", 6);
    for (long i = 0; i < n; i++)
        tick(i);
    printf("total=%ld\n", total); /* MARK:print */
    return 0;
}
