/* A glibc SIGEV_THREAD timer for checkpoint images: glibc makes a helper
 * thread that waits for the timer's signal (the timer names it with
 * SIGEV_THREAD_ID) and runs the notify function in a new thread. The
 * program arms it for 300 ms and waits for it (at most 5 s). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile int fired;

static void notify(union sigval v) {
    fired = v.sival_int;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = notify;
    sev.sigev_value.sival_int = 7;
    timer_create(CLOCK_MONOTONIC, &sev, &timer);
    struct itimerspec in = {.it_value = {0, 300000000}};
    timer_settime(timer, 0, &in, NULL);
    printf("armed\n");
    for (int i = 0; i < 100 && !fired; i++) {
        struct timespec pause = {0, 50000000};
        nanosleep(&pause, NULL);
    }
    printf("fired with %d\n", fired);
    return fired == 7 ? 0 : 1;
}
