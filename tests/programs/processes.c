/* Child processes talking to their parent: a pipe, shared anonymous memory
 * written in turns, a vfork + exec, a child killed by its parent, a signal
 * to the whole process group, a grandchild that outlives its parent, and a
 * child made with CLONE_UNTRACED (which rback traces all the same).
 * Everything printed depends on what the processes did to each other. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig) {
    (void)sig;
    got_usr1 = 1;
}

static int untraced_child(void *arg) {
    int fd = *(int *)arg;
    write(fd, "untraced child", 14);
    return 9;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr1);

    /* A child writes into a pipe; the parent reads it. */
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t writer = fork();
    if (writer == 0) {
        close(p[0]);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "child says %ld", (long)getpid() % 1 + 42);
        write(p[1], msg, n);
        _exit(0);
    }
    close(p[1]);
    char buf[64] = {0};
    ssize_t got = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(writer, NULL, 0);
    printf("pipe: %zd bytes: %s\n", got, buf);

    /* Parent and child take turns incrementing a shared counter. */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    pid_t counter = fork();
    char token = 't';
    if (counter == 0) {
        for (int i = 0; i < 5; i++) {
            read(to_child[0], &token, 1);
            *shared = *shared * 3 + 1;
            write(to_parent[1], &token, 1);
        }
        _exit(0);
    }
    for (int i = 0; i < 5; i++) {
        *shared += 2;
        write(to_child[1], &token, 1);
        read(to_parent[0], &token, 1);
    }
    waitpid(counter, NULL, 0);
    printf("shared counter: %d\n", *shared);

    /* vfork + exec, and the status of what it ran. */
    pid_t spawned = vfork();
    if (spawned == 0) {
        execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(spawned, &status, 0);
    printf("vfork+exec: exit status %d\n", WEXITSTATUS(status));

    /* A child that waits for ever, killed by its parent. */
    pid_t sleeper = fork();
    if (sleeper == 0) {
        for (;;)
            pause();
    }
    kill(sleeper, SIGTERM);
    waitpid(sleeper, &status, 0);
    printf("killed child: signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);

    /* A signal to the whole process group reaches parent and child. */
    pid_t member = fork();
    if (member == 0) {
        while (!got_usr1)
            usleep(1000);
        printf("child got SIGUSR1\n");
        _exit(0);
    }
    kill(0, SIGUSR1);
    while (!got_usr1)
        usleep(1000);
    waitpid(member, NULL, 0);
    printf("parent got SIGUSR1\n");

    /* A grandchild that outlives its parent (an orphan). */
    pid_t middle = fork();
    if (middle == 0) {
        if (fork() == 0) {
            usleep(20000);
            printf("orphan done\n");
            _exit(0);
        }
        _exit(0);
    }
    waitpid(middle, NULL, 0);

    int up[2];
    pipe(up);
    static char stack[65536];
    pid_t untraced = clone(untraced_child, stack + sizeof stack, CLONE_UNTRACED | SIGCHLD, &up[1]);
    char said[32] = {0};
    read(up[0], said, sizeof said - 1);
    waitpid(untraced, &status, 0);
    printf("%s, status %d\n", said, WEXITSTATUS(status));
    printf("parent done\n");
    return 3;
}
