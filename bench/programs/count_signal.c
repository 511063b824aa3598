/* Counts without syscalls until SIGALRM, one second: the signal lands in a
 * loop whose state never repeats, and replay must find that round again. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t fired;
static volatile long rounds;

static void on_alarm(int sig) {
    (void)sig;
    fired = 1;
}

int main(void) {
    signal(SIGALRM, on_alarm);
    alarm(1);
    while (!fired)
        rounds++;
    printf("%ld rounds\n", rounds);
    return 0;
}
