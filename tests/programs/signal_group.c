/* Signals its own process group, then its parent, then probes for a
 * syscall number that does not exist: under rback the group and the parent
 * are rback's, which must survive all of it and record to the end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile sig_atomic_t got;

static void on_usr1(int sig) {
    (void)sig;
    got++;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    int r = kill(0, SIGUSR1);
    printf("kill(0, SIGUSR1) = %d, handler ran %d time(s)\n", r, (int)got);
    r = kill(getppid(), SIGTERM);
    printf("kill(parent, SIGTERM) = %d\n", r);
    long n = syscall(-1);
    printf("syscall(-1) = %ld (%s)\n", n, strerror(errno));
    n = syscall(1000);
    printf("syscall(1000) = %ld (%s)\n", n, strerror(errno));
    return 0;
}
