/* Built with -O2: helper() is inlined into main. */
#include <stdio.h>

volatile int sink;

static inline __attribute__((always_inline)) int helper(int x)
{
    sink = x * 3; /* @helper_body */
    return sink + 1;
}

int main(int argc, char **argv)
{
    (void)argv;
    int a = helper(argc); /* @main_helper */
    printf("%d\n", a);
    return 0;
}
