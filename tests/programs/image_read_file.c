// Checkpoint images: reads the file named by argv[1] twelve bytes at a
// time and prints each piece, so a restart must reopen the file and go on
// at the offset the program had reached. It also holds a pipe, which no
// restart can reopen.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 3;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0)
        return 4;
    char buf[12];
    ssize_t n;
    int piece = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        printf("piece %d: %.*s\n", piece++, (int)n, buf);
        fflush(stdout);
    }
    // The pipe still works: /dev/null stands in for it after a restart.
    printf("pipe write: %zd\n", write(pipefd[1], "x", 1) == 1 ? (ssize_t)1 : (ssize_t)-1);
    close(fd);
    return 0;
}
