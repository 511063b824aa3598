/* A double fork that daemonizes: the middle process calls setsid and forks
 * the daemon, then exits; the root exits too before the daemon is done.
 * The daemon sees it was reparented, keeps writing, and ends last. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int ready[2];
    pipe(ready);
    pid_t root = getpid();
    pid_t middle = fork();
    if (middle == 0) {
        pid_t sid = setsid();
        printf("middle: new session %s\n", sid == getpid() ? "yes" : "no");
        int held[2];
        pipe(held);
        pid_t daemon = fork();
        if (daemon == 0) {
            close(ready[0]);
            pid_t parent = getppid();
            /* Tell our parent and the root we exist, then wait for our
             * parent to go. */
            write(held[1], "d", 1);
            write(ready[1], "d", 1);
            close(ready[1]);
            while (getppid() == parent) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            printf("daemon: reparented, not to the root: %s\n", getppid() != root ? "yes" : "no");
            printf("daemon: session leader: %s, group leader: %s\n",
                   getsid(0) == getpid() ? "yes" : "no",
                   getpgid(0) == getpid() ? "yes" : "no");
            /* Outlive the root. */
            while (kill(root, 0) == 0) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            printf("daemon: the root is gone; done\n");
            _exit(0);
        }
        char c;
        read(held[0], &c, 1);
        _exit(0);
    }
    close(ready[1]);
    char c;
    read(ready[0], &c, 1);
    int status;
    waitpid(middle, &status, 0);
    printf("root: middle exited %d; leaving with 4\n", WEXITSTATUS(status));
    return 4;
}
