/* clone3 used as fork, a vfork child that writes its parent's memory
 * before its exec fails, and a child that sends SIGTERM to its whole
 * process group (kill(0, ...)) with no handler: the root dies of it, and
 * rback must not. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int status;
    /* 1. clone3 used as fork. */
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    long c = syscall(SYS_clone3, &ca, sizeof ca);
    if (c == 0)
        _exit(17);
    waitpid(c, &status, 0);
    printf("1. clone3 child: %d\n", WEXITSTATUS(status));
    /* 2. A vfork child writes the parent's memory before its exec fails. */
    volatile int shared_by_vfork = 1;
    pid_t v = vfork();
    if (v == 0) {
        shared_by_vfork = 99;
        execl("/nonexistent", "x", (char *)NULL);
        _exit(127);
    }
    waitpid(v, &status, 0);
    printf("2. vfork child wrote %d, exit %d\n", shared_by_vfork, WEXITSTATUS(status));
    /* 3. kill(0, SIGTERM) from a child: the group dies, SIGTERM default. */
    if (fork() == 0) {
        usleep(1000);
        kill(0, SIGTERM);
        pause();
    }
    pause();
    return 0;
}
