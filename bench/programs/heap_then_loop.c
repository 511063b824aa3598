/* Touches a heap of the size given in MiB, then makes a few hundred
 * syscalls in a loop: the subject of bench/timeline.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 1;
    char *heap = malloc(mib << 20);
    memset(heap, 1, mib << 20);
    long sum = 0;
    for (int i = 0; i < 300; i++) {
        sum += getppid() + heap[(size_t)i * 4096 % (mib << 20)];
    }
    printf("%ld\n", sum > 0);
    return 0;
}
