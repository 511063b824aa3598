/* A child of two threads stopped by its parent with SIGSTOP must not run
 * until SIGCONT, neither thread: one answers the parent's requests (it
 * waits in a read when the stop comes), the other ticks on a pipe every
 * 2 ms (it sleeps). While the child is stopped the parent asks for a reply
 * and looks for ticks, and must see neither; after SIGCONT it sees both. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int ask[2], reply[2], ticks[2];

static void *answerer(void *arg) {
    (void)arg;
    char c;
    while (read(ask[0], &c, 1) == 1)
        write(reply[1], &c, 1);
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
        signal(SIGPIPE, SIG_IGN);
        close(ask[1]);
        close(reply[0]);
        close(ticks[0]);
        pthread_t t;
        pthread_create(&t, NULL, answerer, NULL);
        /* Ticks until the parent closes its end. */
        while (write(ticks[1], "t", 1) == 1)
            usleep(2000);
        pthread_join(t, NULL);
        _exit(7);
    }
    close(ask[0]);
    close(reply[1]);
    close(ticks[1]);
    char c;
    /* Both threads run: one answered, the other ticked. */
    write(ask[1], "x", 1);
    read(reply[0], &c, 1);
    read(ticks[0], &c, 1);
    kill(child, SIGSTOP);
    int status;
    waitpid(child, &status, WUNTRACED);
    printf("stopped: %d\n", WIFSTOPPED(status) ? WSTOPSIG(status) : 0);
    drain(ticks[0]);
    write(ask[1], "a", 1);
    usleep(100000);
    int replies = drain(reply[0]);
    int ticked = drain(ticks[0]);
    printf("while stopped: %d replies, %d ticks\n", replies, ticked);
    kill(child, SIGCONT);
    if (replies == 0)
        printf("reply after SIGCONT: %s\n", read(reply[0], &c, 1) == 1 && c == 'a' ? "yes" : "none");
    printf("ticks after SIGCONT: %s\n", read(ticks[0], &c, 1) == 1 ? "yes" : "none");
    close(ask[1]);
    close(ticks[0]);
    waitpid(child, &status, 0);
    printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
