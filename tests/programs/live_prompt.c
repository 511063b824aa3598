/* Asks for names at the terminal and greets each, as an interactive
 * program does; a test of `rback run`'s terminal handoff types the
 * answers. Writes its process id into argv[1] first. With "secret" as
 * argv[2], it turns the terminal's echo and output processing off, as a
 * password prompt in raw mode would, so a test can tell whose modes the
 * terminal has. With "epoll", it waits for each line in epoll_wait, as an
 * event loop does: a signal ends that call with EINTR (never restarted),
 * and the program waits again. With "spin", it first counts for a while
 * without a syscall. */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

int answers;

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[2], "spin") == 0)
        for (volatile long i = 0; i < 100000000; i++)
            ;
    if (argc < 2) {
        fprintf(stderr, "usage: live_prompt PIDFILE [secret|epoll|spin]\n");
        return 2;
    }
    /* Written whole, then renamed: a test waiting for it never reads half. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *pidfile = fopen(tmp, "w");
    if (!pidfile) {
        perror(tmp);
        return 1;
    }
    fprintf(pidfile, "%d\n", getpid());
    fclose(pidfile);
    rename(tmp, argv[1]);
    if (argc > 2 && strcmp(argv[2], "secret") == 0) {
        struct termios modes;
        tcgetattr(0, &modes);
        modes.c_lflag &= ~ECHO;
        modes.c_oflag &= ~OPOST;
        tcsetattr(0, TCSANOW, &modes);
    }
    int epoll = -1;
    if (argc > 2 && strcmp(argv[2], "epoll") == 0) {
        epoll = epoll_create1(0);
        struct epoll_event in = {.events = EPOLLIN, .data.fd = 0};
        epoll_ctl(epoll, EPOLL_CTL_ADD, 0, &in);
    }
    char line[256];
    for (;;) {
        printf("name? ");
        fflush(stdout);
        struct epoll_event ready;
        while (epoll >= 0 && epoll_wait(epoll, &ready, 1, -1) < 0 && errno == EINTR)
            ;
        if (!fgets(line, sizeof line, stdin))
            break;
        answers++;
        line[strcspn(line, "\n")] = 0;
        printf("hello, %s (%d)\n", line, answers);
    }
    printf("bye after %d\n", answers);
    return 0;
}
