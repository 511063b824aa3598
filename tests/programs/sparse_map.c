/* Maps a 1 GiB sparse file (argv[1]) that holds four bytes of data in its
 * middle: the trace must keep the copy sparse, not store a gigabyte. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    const long size = 1L << 30, middle = 1L << 29;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, size) != 0 || pwrite(fd, "data", 4, middle) != 4)
        return 1;
    char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return 1;
    printf("%.4s %d %d\n", p + middle, p[0], p[size - 1]);
    return 0;
}
