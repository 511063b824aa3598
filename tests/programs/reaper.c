/* The root makes itself a child subreaper: a grandchild orphaned by its
 * parent is reparented to the root, which reaps it. A child asks for
 * SIGTERM when its parent dies (PR_SET_PDEATHSIG) and gets it.
 *
 * The orphan exits only once its child has asked for the signal: asked
 * after its parent's death, it never comes, and the root waits for ever.
 * (A sleep used to stand for that wait; a child whose first turns came
 * late, on a busy machine, asked too late.) */
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
            int armed[2];
            pipe(armed);
            pid_t dying = fork();
            if (dying == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                /* Its parent may die as soon as it reads "a". */
                write(ready[1], "d", 1);
                write(armed[1], "a", 1);
                for (;;)
                    pause();
            }
            write(ready[1], "o", 1);
            while (getppid() != root)
                usleep(1000);
            /* One write, which no other process's output can split:
             * printf would be puts, which writes the newline apart. */
            static const char line[] = "orphan: my parent is now the root\n";
            write(1, line, sizeof line - 1);
            read(armed[0], &(char){0}, 1);
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
