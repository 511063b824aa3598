/* The root makes itself a child subreaper: a grandchild orphaned by its
 * parent is reparented to the root, which reaps it. A child asks for
 * SIGTERM when its parent dies (PR_SET_PDEATHSIG) and gets it. */
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t root = getpid();
    int ready[2];
    pipe(ready);
    pid_t middle = fork();
    if (middle == 0) {
        pid_t orphan = fork();
        if (orphan == 0) {
            close(ready[0]);
            pid_t dying = fork();
            if (dying == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                write(ready[1], "d", 1);
                for (;;)
                    pause();
            }
            write(ready[1], "o", 1);
            while (getppid() != root)
                usleep(1000);
            printf("orphan: my parent is now the root\n");
            usleep(2000);
            _exit(5); /* its own child gets SIGTERM */
        }
        _exit(1);
    }
    char c;
    read(ready[0], &c, 1);
    read(ready[0], &c, 1);
    int status, n = 0;
    pid_t pid;
    while ((pid = wait(&status)) > 0) {
        n++;
        if (pid == middle)
            printf("reaped the middle: exit %d\n", WEXITSTATUS(status));
        else if (WIFEXITED(status))
            printf("reaped an orphan: exit %d\n", WEXITSTATUS(status));
        else
            printf("reaped an orphan: signal %d\n", WTERMSIG(status));
    }
    printf("reaped %d\n", n);
    return 0;
}
