/* Prints, forks a child that prints and exits with a status, and waits for
 * it: the smallest program with two processes. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    printf("before fork\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("in the child\n");
        fflush(stdout);
        _exit(7);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("after fork: child exited with %d\n", WEXITSTATUS(status));
    return 0;
}
