/* An unprivileged user namespace (unshare), and a child made by clone3 with
 * CLONE_PIDFD whose pidfd the parent polls for its end. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include <string.h>
#include <poll.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int r = unshare(CLONE_NEWUSER);
    printf("unshare: %d, uid now %d\n", r, (int)getuid());
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD;
    args.pidfd = (unsigned long)&pidfd;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        _exit(5);
    }
    struct pollfd p = {pidfd, POLLIN, 0};
    int ready = poll(&p, 1, 5000);
    int status;
    waitpid(pid, &status, 0);
    printf("pidfd %s, poll %d, child status %d\n", pidfd > 2 ? "valid" : "bad", ready, WEXITSTATUS(status));
    return 0;
}
