/* The subject of bench/image.sh: N MiB of heap filled the way program data
 * often is (in each page a quarter of pseudo-random bytes, the rest small
 * counters and zeros), then a few syscalls, where the image is taken. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 1;
    size_t len = mib << 20;
    uint32_t *heap = malloc(len);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < len / 4; i++) {
        if (i % 1024 < 256) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            heap[i] = (uint32_t)x;
        } else {
            heap[i] = (i % 3 == 0) ? (uint32_t)(i / 1024) : 0;
        }
    }
    long sum = 0;
    for (int i = 0; i < 10; i++)
        sum += getppid() + heap[(size_t)i * 1024];
    printf("%d\n", sum != 0);
    return 0;
}
