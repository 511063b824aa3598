/* Built with -O2: `spin_in` is inlined into main and spins there, so the
 * tests read the variables of an inlined function. */
#include <stdio.h>

volatile int spin = 1;

static inline __attribute__((always_inline)) int spin_in(int x)
{
    int y = x * 2;
    printf("ready\n");
    fflush(stdout);
    while (spin) { /* @inline_spin */
    }
    return y + x;
}

int main(int argc, char **argv)
{
    (void)argv;
    return spin_in(argc + 4) > 0 ? 0 : 1;
}
