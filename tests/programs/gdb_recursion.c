/* For the gdb tests: recursion (reverse-finish), a loop calling a small
 * function (breakpoints, reverse-continue, reverse-next), and a call into
 * libc (a breakpoint in a shared library). Markers name lines for the tests. */
#include <stdio.h>

static int counter;

__attribute__((noinline)) static int fact(int n) {
    if (n <= 1)
        return 1; /* MARK:base_case */
    return n * fact(n - 1); /* MARK:recurse */
}

__attribute__((noinline)) static void bump(int by) {
    counter += by; /* MARK:bump_body */
}

int main(void) {
    for (int i = 0; i < 5; i++)
        bump(i); /* MARK:loop_call */
    int f = fact(5); /* MARK:call_fact */
    printf("counter=%d fact=%d\n", counter, f); /* MARK:print */
    puts("done");
    return 0;
}
