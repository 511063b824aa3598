/* A child of three threads stopped three times by its parent (SIGSTOP,
 * SIGTSTP, SIGSTOP), then by one of its own threads (raise(SIGSTOP)), and
 * continued each time with SIGCONT. One thread answers the parent's
 * requests (it waits in a read), one ticks on a pipe every 2 ms (it
 * sleeps), one waits on a condition variable (a futex) until the parent
 * asks for it. While the child is stopped the parent asks for a reply and
 * looks for ticks, and must see neither.
 *
 * The child takes a process group of its own, whose parent (ours) is in
 * another group of the session, so that the group is never orphaned: the
 * kernel discards SIGTSTP sent to a process in an orphaned group (only
 * SIGSTOP stops it there), and the parent's waitpid would wait for ever
 * when the tests run in a group whose leader's parent has gone. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int ask[2], reply[2], ticks[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int go;

static void *answerer(void *arg) {
    (void)arg;
    char c;
    while (read(ask[0], &c, 1) == 1) {
        if (c == 'g') {
            pthread_mutex_lock(&lock);
            go = 1;
            pthread_cond_signal(&wake);
            pthread_mutex_unlock(&lock);
            continue;
        }
        if (c == 's')
            raise(SIGSTOP);
        write(reply[1], &c, 1);
    }
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!go)
        pthread_cond_wait(&wake, &lock);
    pthread_mutex_unlock(&lock);
    write(reply[1], "w", 1);
    return NULL;
}

/* Reads what the pipe holds without waiting: how many bytes. */
static int drain(int fd) {
    char buf[256];
    int n, total = 0;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    fcntl(fd, F_SETFL, 0);
    return total;
}

int main(void) {
    pipe(ask);
    pipe(reply);
    pipe(ticks);
    pid_t child = fork();
    if (child == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_IGN);
        close(ask[1]);
        close(reply[0]);
        close(ticks[0]);
        pthread_t t1, t2;
        pthread_create(&t1, NULL, answerer, NULL);
        pthread_create(&t2, NULL, waiter, NULL);
        while (write(ticks[1], "t", 1) == 1)
            usleep(2000);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        _exit(7);
    }
    close(ask[0]);
    close(reply[1]);
    close(ticks[1]);
    char c;
    int status;
    write(ask[1], "x", 1);
    read(reply[0], &c, 1);
    read(ticks[0], &c, 1);
    int stops[3] = {SIGSTOP, SIGTSTP, SIGSTOP};
    for (int round = 0; round < 3; round++) {
        kill(child, stops[round]);
        waitpid(child, &status, WUNTRACED);
        drain(ticks[0]);
        write(ask[1], "a", 1);
        usleep(50000);
        int replies = drain(reply[0]);
        int ticked = drain(ticks[0]);
        printf("stopped by %d: %d replies, %d ticks\n", WIFSTOPPED(status) ? WSTOPSIG(status) : 0, replies, ticked);
        kill(child, SIGCONT);
        if (replies == 0)
            printf("reply after SIGCONT: %c\n", read(reply[0], &c, 1) == 1 ? c : '-');
    }
    /* The answerer stops its own process. */
    write(ask[1], "s", 1);
    waitpid(child, &status, WUNTRACED);
    drain(ticks[0]);
    usleep(50000);
    int replies = drain(reply[0]);
    int ticked = drain(ticks[0]);
    printf("stopped itself by %d: %d replies, %d ticks\n", WIFSTOPPED(status) ? WSTOPSIG(status) : 0, replies, ticked);
    kill(child, SIGCONT);
    if (replies == 0)
        printf("reply after SIGCONT: %c\n", read(reply[0], &c, 1) == 1 ? c : '-');
    write(ask[1], "g", 1);
    printf("waiter: %c\n", read(reply[0], &c, 1) == 1 ? c : '-');
    close(ask[1]);
    close(ticks[0]);
    waitpid(child, &status, 0);
    printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
