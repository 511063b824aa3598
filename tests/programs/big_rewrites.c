/* Rewrites a 96 MiB buffer twelve times, with a line of output (an event)
 * each time: every checkpoint taken along the way soon holds the whole
 * buffer on its own, which the checkpoint memory budget must keep down. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t size = 96u << 20;
    char *buffer = malloc(size);
    if (!buffer)
        return 1;
    for (int round = 0; round < 12; round++) {
        memset(buffer, round + 1, size);
        __asm__ volatile("" : : "r"(buffer) : "memory"); /* the writes happen */
        printf("round %d: %d\n", round, buffer[size / 2]); /* MARK:round */
        fflush(stdout);
    }
    return 0;
}
