/* Ways of reaping children: wait() with SIGCHLD ignored (the kernel reaps
 * them: ECHILD), waitid with WNOWAIT then for real, WNOHANG polling,
 * wait4's rusage, and last a child that kills the root with SIGKILL and
 * outlives it (the program's status is the root's: killed). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* 1. SIGCHLD ignored: children are reaped by the kernel. */
    signal(SIGCHLD, SIG_IGN);
    for (int i = 0; i < 3; i++)
        if (fork() == 0)
            _exit(i);
    int status;
    pid_t r = wait(&status);
    printf("1. wait with SIGCHLD ignored: %d (%s)\n", (int)r, r < 0 ? strerror(errno) : "a child");
    signal(SIGCHLD, SIG_DFL);
    /* 2. waitid with WNOWAIT, then again for real. */
    pid_t c = fork();
    if (c == 0)
        _exit(33);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, c, &si, WEXITED | WNOWAIT);
    printf("2. peek: code %d status %d\n", si.si_code, si.si_status);
    memset(&si, 0, sizeof si);
    waitid(P_ALL, 0, &si, WEXITED);
    printf("2. reap: pid ok %d status %d\n", si.si_pid == c, si.si_status);
    /* 3. WNOHANG polling. */
    c = fork();
    if (c == 0) {
        usleep(3000);
        _exit(44);
    }
    int polls = 0;
    while ((r = waitpid(c, &status, WNOHANG)) == 0) {
        polls++;
        usleep(500);
    }
    printf("3. WNOHANG: got it, exit %d, polled %s\n", WEXITSTATUS(status), polls > 0 ? "yes" : "no");
    /* 4. wait4 rusage of a child that burned CPU. */
    c = fork();
    if (c == 0) {
        volatile long x = 0;
        for (long i = 0; i < 20000000; i++)
            x += i;
        _exit(0);
    }
    struct rusage ru;
    wait4(c, &status, 0, &ru);
    printf("4. rusage: utime %ld.%06ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
    /* 5. A child kills its parent: the root dies by SIGKILL. */
    pid_t root = getpid();
    if (fork() == 0) {
        usleep(2000);
        printf("5. child kills the root\n");
        kill(root, SIGKILL);
        usleep(20000);
        printf("5. child outlives it\n");
        _exit(0);
    }
    for (;;)
        pause();
}
