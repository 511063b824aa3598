/* Parent and child share a MAP_SHARED mapping of a file (argv[1]): what
 * the child writes there the parent reads after the child is gone. POSIX
 * named semaphores (sem_open) and Python's multiprocessing share memory
 * this way. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 4096);
    long *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    pid_t child = fork();
    if (child == 0) {
        mem[0] = 42;
        _exit(0);
    }
    waitpid(child, NULL, 0);
    printf("the child wrote %ld\n", mem[0]);
    return 0;
}
