/* Reads the file named by argv[1] with open/read and prints it, framed, so a
 * replay shows which contents the recorded run saw. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cat_file FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    static char buf[1 << 16];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf + total, sizeof buf - total)) > 0)
        total += (size_t)n;
    close(fd);
    printf("read %zu bytes:\n", total);
    fwrite(buf, 1, total, stdout);
    printf("[end of file]\n");
    fprintf(stderr, "cat_file: done\n");
    return 0;
}
