/* Maps the file named by argv[1] privately and prints a checksum of the
 * mapping, then exercises anonymous mmap, brk/sbrk growth and a big malloc,
 * printing checksums and addresses (replay must recreate the same layout). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + seed + (i >> 12));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: memory FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *f = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (f == MAP_FAILED) {
        perror("mmap file");
        return 1;
    }
    close(fd);
    printf("file mapping: %zu bytes, fnv %016llx, starts \"%.24s\"\n", size,
           (unsigned long long)fnv1a(f, size), (const char *)f);
    f[0] = 'X'; /* copy-on-write: changes only this process's view */
    printf("after a private write: fnv %016llx\n", (unsigned long long)fnv1a(f, size));
    munmap(f, size);

    size_t anon_size = 1 << 20;
    unsigned char *a = mmap(NULL, anon_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) {
        perror("mmap anonymous");
        return 1;
    }
    int zero = 1;
    for (size_t i = 0; i < anon_size; i++)
        zero &= a[i] == 0;
    fill(a, anon_size, 7);
    printf("anonymous mapping at %p: zeroed=%d fnv %016llx\n", (void *)a, zero,
           (unsigned long long)fnv1a(a, anon_size));
    munmap(a, anon_size);

    unsigned char *b0 = sbrk(0);
    if (sbrk(3 << 20) == (void *)-1) {
        perror("sbrk");
        return 1;
    }
    unsigned char *b1 = sbrk(0);
    fill(b0, (size_t)(b1 - b0), 11);
    printf("brk from %p grew by %ld, fnv %016llx\n", (void *)b0, (long)(b1 - b0),
           (unsigned long long)fnv1a(b0, (size_t)(b1 - b0)));

    size_t big = 64 << 20;
    unsigned char *m = malloc(big);
    if (!m) {
        perror("malloc");
        return 1;
    }
    fill(m, big, 13);
    printf("malloc of %zu bytes at %p: fnv %016llx\n", big, (void *)m,
           (unsigned long long)fnv1a(m, big));
    free(m);
    return 0;
}
