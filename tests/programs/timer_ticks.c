/* A 10 ms interval timer races a loop of short nanosleeps: how many sleeps
 * complete before the fifth tick differs on every real run. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) {
    (void)sig;
    ticks++;
}

int main(void) {
    signal(SIGALRM, on_alarm);
    struct itimerval every_10ms = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &every_10ms, NULL);
    long sleeps = 0;
    while (ticks < 5) {
        struct timespec tiny = {0, 300000 + (sleeps % 7) * 50000};
        nanosleep(&tiny, NULL);
        sleeps++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    printf("sleeps before the 5th timer tick: %ld\n", sleeps);
    return 0;
}
