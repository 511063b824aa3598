/* Spins in main until a timer's SIGALRM arrives, then spins in the
 * handler: the tests stop it there and unwind through the signal frame.
 * The timer (not a signal from the test) makes the signal interrupt the
 * spin loop itself rather than, say, the write of "ready". */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

volatile sig_atomic_t got;
volatile int spin = 1;

static void handler(int sig)
{
    (void)sig;
    got = 1;
    write(1, "in handler\n", 11);
    while (spin) { /* @handler_spin */
    }
}

int main(void)
{
    struct itimerval timer = {.it_value = {.tv_usec = 200 * 1000}};
    signal(SIGALRM, handler);
    printf("ready\n");
    fflush(stdout);
    setitimer(ITIMER_REAL, &timer, NULL);
    while (!got) { /* @main_wait */
    }
    return 0;
}
