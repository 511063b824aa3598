/* SIGALRM with a handler (no SA_RESTART): interrupts pause(), then a read()
 * from an empty pipe that would otherwise block forever. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
    (void)sig;
    alarms++;
    const char m[] = "handler: SIGALRM\n";
    write(1, m, sizeof m - 1);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);

    alarm(1);
    int r = pause();
    printf("pause returned %d (%s), alarms=%d\n", r, errno == EINTR ? "EINTR" : strerror(errno),
           (int)alarms);

    int p[2];
    pipe(p);
    alarm(1);
    char c;
    ssize_t n = read(p[0], &c, 1);
    printf("read returned %zd (%s), alarms=%d\n", n, errno == EINTR ? "EINTR" : strerror(errno),
           (int)alarms);
    return 0;
}
