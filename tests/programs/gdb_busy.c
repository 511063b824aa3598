/* For the gdb tests: a long run of system calls (argv[1] of them), so that
 * a continue takes seconds and can be interrupted with Ctrl-C. They go
 * through syscall(), which the syscall buffer does not take: each is a
 * stop of the replay, as a blocking call's would be. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long s = 0;
    for (long i = 0; i < n; i++)
        s += syscall(SYS_getppid) & 1;
    printf("s=%ld\n", s);
    return 0;
}
