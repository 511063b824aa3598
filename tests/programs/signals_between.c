/* Signals between processes: SIGKILL to a child blocked in read, SIGUSR1
 * from a child to its parent blocked in read (EINTR), a SIGCHLD handler
 * installed with SA_RESTART around a read that must restart, sigsuspend
 * waiting for SIGCHLD, killpg to a group of children, and a child that
 * calls abort(). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, chld;

static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_chld(int sig) { (void)sig; chld++; }

static void handle(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static const char *how(int status) {
    static char buf[64];
    if (WIFEXITED(status))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, sizeof buf, "signal %d%s", WTERMSIG(status), WCOREDUMP(status) ? " (core)" : "");
    else
        snprintf(buf, sizeof buf, "?");
    return buf;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int status;

    /* 1. SIGKILL to a child blocked in read. */
    int p[2];
    pipe(p);
    pid_t blocked = fork();
    if (blocked == 0) {
        char c;
        read(p[0], &c, 1);
        _exit(1);
    }
    usleep(2000);
    kill(blocked, SIGKILL);
    waitpid(blocked, &status, 0);
    printf("1. blocked child: %s\n", how(status));

    /* 2. A child signals its parent, which is blocked in read. */
    handle(SIGUSR1, on_usr1, 0);
    int q[2];
    pipe(q);
    pid_t parent = getpid();
    pid_t sender = fork();
    if (sender == 0) {
        usleep(2000);
        kill(parent, SIGUSR1);
        usleep(2000);
        write(q[1], "x", 1);
        _exit(2);
    }
    char c;
    ssize_t r = read(q[0], &c, 1);
    printf("2. read: %zd (%s), usr1 %d\n", r, r < 0 ? strerror(errno) : "ok", (int)usr1);
    if (r < 0)
        r = read(q[0], &c, 1);
    waitpid(sender, &status, 0);
    printf("2. then read %zd; sender: %s\n", r, how(status));

    /* 3. SIGCHLD with SA_RESTART: the read restarts and gets the byte. */
    handle(SIGCHLD, on_chld, SA_RESTART);
    int w[2];
    pipe(w);
    pid_t quick = fork();
    if (quick == 0)
        _exit(3);
    pid_t slow = fork();
    if (slow == 0) {
        usleep(5000);
        write(w[1], "y", 1);
        _exit(4);
    }
    r = read(w[0], &c, 1);
    printf("3. read restarted: %zd %c, SIGCHLD seen: %s\n", r, c, chld > 0 ? "yes" : "no");
    while (waitpid(-1, &status, 0) > 0)
        ;

    /* 4. sigsuspend until SIGCHLD. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    chld = 0;
    pid_t late = fork();
    if (late == 0) {
        usleep(3000);
        _exit(5);
    }
    while (!chld)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    waitpid(late, &status, 0);
    printf("4. sigsuspend woke for SIGCHLD: %s\n", how(status));

    /* 5. killpg on a group of three children. */
    handle(SIGCHLD, SIG_DFL, 0);
    pid_t leader = 0;
    pid_t group[3];
    int go[2];
    pipe(go);
    for (int i = 0; i < 3; i++) {
        group[i] = fork();
        if (group[i] == 0) {
            close(go[0]);
            setpgid(0, leader);
            write(go[1], "g", 1);
            for (;;)
                pause();
        }
        if (i == 0)
            leader = group[0];
        setpgid(group[i], leader);
    }
    close(go[1]);
    for (int i = 0; i < 3; i++)
        read(go[0], &c, 1);
    killpg(leader, SIGTERM);
    for (int i = 0; i < 3; i++) {
        waitpid(group[i], &status, 0);
        printf("5. group member %d: %s\n", i, how(status));
    }

    /* 6. abort() in a child. */
    pid_t aborter = fork();
    if (aborter == 0) {
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    waitpid(aborter, &status, 0);
    printf("6. aborting child: signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
