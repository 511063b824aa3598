/* Reads the whole file named by argv[1] in as few read() calls as the kernel
 * allows and prints its size, the number of calls and an FNV-1a checksum. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: big_read FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size + 1);
    if (!buf) {
        perror("malloc");
        return 1;
    }
    size_t total = 0;
    int calls = 0;
    ssize_t n;
    do {
        n = read(fd, buf + total, size + 1 - total);
        calls++;
        if (n > 0)
            total += (size_t)n;
    } while (n > 0 && total <= size);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < total; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
    }
    printf("read %zu bytes in %d calls, fnv %016llx\n", total, calls, (unsigned long long)h);
    return 0;
}
