/* Prints on both streams, then writes through a NULL pointer. */
#include <stdio.h>

int main(void) {
    printf("about to write through NULL\n");
    fflush(stdout);
    fprintf(stderr, "segv: still alive\n");
    *(volatile int *)0 = 42;
    printf("unreachable\n");
    return 0;
}
