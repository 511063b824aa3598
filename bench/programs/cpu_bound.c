/* cpu-bound: a hash loop that never enters the kernel between start-up and
 * the final printf, so any rback overhead here is fixed cost, not per-event. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000000ULL;
    uint64_t x = 0x9e3779b97f4a7c15ULL, acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        /* splitmix64: a serial dependency chain the compiler cannot fold */
        x += 0x9e3779b97f4a7c15ULL;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        acc ^= z ^ (z >> 31);
    }
    printf("cpu-bound: %llu iterations, hash %016llx\n",
           (unsigned long long)n, (unsigned long long)acc);
    return 0;
}
