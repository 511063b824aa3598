/* A file (argv[1], which exists already) mapped MAP_SHARED read-only
 * before any process maps it for writing: the parent opens it read-only
 * and maps it, a child then opens it for reading and writing, maps it
 * writable and writes a message, and the parent reads the message
 * through its read-only mapping. Then the parent itself maps the file
 * writable and writes there, and reads that through its read-only
 * mapping too. A pipe says when the child has written. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 4096

static char *map(const char *path, int access, int prot) {
    int fd = open(path, access);
    if (fd < 0) {
        perror(path);
        _exit(3);
    }
    char *mem = mmap(NULL, SIZE, prot, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        perror("mmap");
        _exit(4);
    }
    close(fd);
    return mem;
}

int main(int argc, char **argv) {
    int ready[2];
    if (argc < 2 || pipe(ready))
        return 2;
    const char *path = argv[1];
    const char *seen = map(path, O_RDONLY, PROT_READ);
    printf("before: \"%s\"\n", seen);
    fflush(stdout);

    pid_t child = fork();
    if (child < 0)
        return 2;
    if (child == 0) {
        char *mem = map(path, O_RDWR, PROT_READ | PROT_WRITE);
        snprintf(mem, 64, "written by the child");
        char c = 1;
        if (write(ready[1], &c, 1) != 1)
            _exit(5);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        return 2;
    int status;
    if (waitpid(child, &status, 0) != child)
        return 2;
    printf("after the child (exit %d): \"%s\"\n", WEXITSTATUS(status), seen);

    char *own = map(path, O_RDWR, PROT_READ | PROT_WRITE);
    snprintf(own + 64, 64, "written by the parent");
    printf("after the parent: \"%s\"\n", seen + 64);
    return 0;
}
