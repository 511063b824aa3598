/* Sets an alarm, then counts in user code with no syscalls until the
 * handler runs: the loop's state never repeats, which is the case rback
 * cannot place a signal in yet. */
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
    printf("counting\n");
    fflush(stdout);
    alarm(1);
    while (!fired) {
        rounds++;
    }
    printf("handler ran after %s rounds\n", rounds > 0 ? "some" : "no");
    return 0;
}
