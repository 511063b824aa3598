/* Sets an alarm, then spins in user code with no syscalls until the
 * handler runs. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t fired;

static void on_alarm(int sig) {
    (void)sig;
    fired = 1;
}

int main(void) {
    signal(SIGALRM, on_alarm);
    printf("spinning\n");
    fflush(stdout);
    alarm(1);
    while (!fired) {
    }
    printf("handler ran\n");
    return 0;
}
