/* file-io: write a file in 64 KiB chunks, read it back in 64 KiB chunks and
 * checksum it. Under rback every read's bytes go into the trace, so this
 * measures the cost of recording (and replaying) bulk input data. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static void die(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [MIB]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    long mib = argc > 2 ? atol(argv[2]) : 64;
    long chunks = mib * 1024 * 1024 / CHUNK;
    static uint64_t buf[CHUNK / 8];

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("open for writing");
    /* Pseudo-random contents so a compressing or deduplicating trace would
     * not get the read-back data for free. */
    uint64_t x = 88172645463325252ULL;
    for (long c = 0; c < chunks; c++) {
        for (size_t i = 0; i < CHUNK / 8; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[i] = x;
        }
        if (write(fd, buf, CHUNK) != CHUNK) die("write");
    }
    if (close(fd) != 0) die("close");

    fd = open(path, O_RDONLY);
    if (fd < 0) die("open for reading");
    uint64_t sum = 0, total = 0;
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) {
        for (size_t i = 0; i < (size_t)n / 8; i++)
            sum = sum * 31 + buf[i];
        total += n;
    }
    if (n < 0) die("read");
    close(fd);
    unlink(path);
    printf("file-io: %llu bytes, checksum %016llx\n",
           (unsigned long long)total, (unsigned long long)sum);
    return 0;
}
