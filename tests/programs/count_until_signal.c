/* Sets an alarm, then counts in user code with no syscalls until the
 * handler runs: the loop's state never repeats, so the signal's point is
 * named by state (a counter and the memory) rather than by a count. The
 * number of rounds is the program's own measure of where it came. */
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
    printf("handler ran after %ld rounds\n", rounds);
    return 0;
}
