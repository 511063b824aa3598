/* Sends bytes through a pipe() and a pipe2() and prints what came back,
 * including the EAGAIN from an empty non-blocking pipe and the fd flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        return 1;
    }
    const char msg[] = "hello through a pipe";
    ssize_t w = write(p[1], msg, strlen(msg));
    char buf[64] = {0};
    ssize_t r = read(p[0], buf, sizeof buf);
    printf("pipe: fds %d,%d wrote %zd read %zd: %.*s\n", p[0], p[1], w, r, (int)r, buf);
    close(p[0]);
    close(p[1]);

    int q[2];
    if (pipe2(q, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("pipe2");
        return 1;
    }
    r = read(q[0], buf, sizeof buf);
    printf("empty non-blocking pipe2: read %zd (%s)\n", r,
           r < 0 && errno == EAGAIN ? "EAGAIN" : "unexpected");
    write(q[1], "second message", 14);
    r = read(q[0], buf, sizeof buf);
    printf("pipe2: read %zd: %.*s\n", r, (int)r, buf);
    printf("pipe2 flags: cloexec=%d nonblock=%d\n", (fcntl(q[0], F_GETFD) & FD_CLOEXEC) != 0,
           (fcntl(q[0], F_GETFL) & O_NONBLOCK) != 0);
    close(q[0]);
    close(q[1]);
    return 0;
}
