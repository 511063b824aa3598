/* Recurses three levels deep, says "ready", then spins until killed: the
 * tests stop it there and unwind. Markers in comments name lines. */
#include <stdio.h>

volatile int spin = 1;

int deep(int n)
{
    if (n > 0) /* @deep_first */
        return deep(n - 1) + 1; /* @deep_call */
    printf("ready\n");
    fflush(stdout);

    /* @blank_before_spin (this comment has no code) */
    while (spin) { /* @deep_spin */
    }
    return 0;
}

int main(void)
{ /* @main_open */
    int r = deep(3); /* @main_call */
    return r;
}
