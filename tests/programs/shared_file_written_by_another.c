/* A file mapped MAP_SHARED read-only by the parent only, written and grown
 * by a child that does not map it (pwrite, ftruncate): the parent's mapping
 * shows the child's bytes, those past the file's old end included, once
 * the child is done. A replay that does not run the child, or makes no
 * write to the file, must still show them. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    char page[4096] = "the file's first contents";
    if (fd < 0 || write(fd, page, sizeof page) != sizeof page)
        return 3;
    close(fd);
    fd = open(argv[1], O_RDONLY);
    /* Two pages over a one-page file: the second shows the file once it
     * has grown. */
    const char *mem = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED)
        return 4;
    printf("before: \"%s\"\n", mem);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int out = open(argv[1], O_WRONLY);
        const char first[] = "written by the child";
        const char second[] = "past the old end";
        if (ftruncate(out, 2 * 4096) != 0 || pwrite(out, first, sizeof first, 0) != sizeof first ||
            pwrite(out, second, sizeof second, 4096) != sizeof second)
            _exit(5);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    const char *second = mem + 4096;
    printf("after: \"%s\" and \"%s\" (child status %d)\n", mem, second, status);
    return 0;
}
