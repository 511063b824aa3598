/* Twenty children exit while the parent sits in a blocking read; its
 * SIGCHLD handler reaps with waitpid(-1, WNOHANG) in a loop (signals
 * coalesce), and the last child's write ends the read. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reaped, sum, handler_runs;

static void on_chld(int sig) {
    (void)sig;
    int saved = errno, status;
    pid_t pid;
    handler_runs++;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        reaped++;
        sum += WEXITSTATUS(status);
    }
    errno = saved;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    int p[2];
    pipe(p);
    for (int i = 0; i < 20; i++) {
        if (fork() == 0) {
            close(p[0]);
            usleep(500 * (i % 5));
            if (i == 19) {
                usleep(20000);
                write(p[1], "z", 1);
            }
            _exit(i);
        }
    }
    close(p[1]);
    char c;
    ssize_t r = read(p[0], &c, 1);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (reaped < 20)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("read %zd, reaped %d, sum %d, handler ran %s\n", r, (int)reaped, (int)sum,
           handler_runs > 0 ? "yes" : "no");
    return 0;
}
