/* Reads the time-stamp counter with rdtsc and rdtscp and prints the values,
 * and how many rdtsc reads it takes to see a million cycles pass. */
#include <stdio.h>
#include <x86intrin.h>

int main(void) {
    unsigned long long a = __rdtsc();
    unsigned int aux = 0;
    unsigned long long b = __rdtscp(&aux);
    printf("rdtsc %llu\n", a);
    printf("rdtscp %llu aux %u\n", b, aux);
    printf("rdtscp-rdtsc %lld\n", (long long)(b - a));
    long reads = 0;
    unsigned long long start = __rdtsc(), now;
    do {
        now = __rdtsc();
        reads++;
    } while (now - start < 1000000ULL && reads < 100000);
    printf("rdtsc reads to see 1M cycles: %ld\n", reads);
    return 0;
}
