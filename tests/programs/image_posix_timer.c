/* POSIX timers for checkpoint images. A first timer is made and deleted, so
 * that the others have later ids; "tick" sends SIGUSR2 with the value 42
 * every 100 ms after 300 ms; "idle" (SIGEV_NONE) is armed 100 s ahead;
 * "spare" exists, unarmed. The program waits for three ticks (at most 5 s),
 * then checks that each id still names its timer. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t ticks;
static volatile int last_id = -1, last_value = -1;

static void on_tick(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    ticks++;
    last_value = si->si_value.sival_int;
    last_id = si->si_timerid;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_tick;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);

    timer_t first, tick, idle, spare;
    timer_create(CLOCK_MONOTONIC, NULL, &first);
    timer_delete(first);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_value.sival_int = 42;
    timer_create(CLOCK_MONOTONIC, &sev, &tick);
    struct sigevent none;
    memset(&none, 0, sizeof none);
    none.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_REALTIME, &none, &idle);
    timer_create(CLOCK_MONOTONIC, NULL, &spare);

    struct itimerspec far = {.it_value = {100, 0}};
    timer_settime(idle, 0, &far, NULL);
    struct itimerspec every = {.it_interval = {0, 100000000}, .it_value = {0, 300000000}};
    timer_settime(tick, 0, &every, NULL);
    printf("armed\n");

    for (int i = 0; i < 100 && ticks < 3; i++) {
        struct timespec pause = {0, 50000000};
        nanosleep(&pause, NULL);
    }
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    timer_settime(tick, 0, &off, NULL);
    printf("three ticks: %d, value %d, from tick: %d\n", ticks >= 3, last_value,
           last_id == (int)(intptr_t)tick);

    struct itimerspec left;
    int idle_armed = timer_gettime(idle, &left) == 0 && left.it_value.tv_sec > 50;
    int spare_unarmed = timer_gettime(spare, &left) == 0 && left.it_value.tv_sec == 0 &&
                        left.it_value.tv_nsec == 0;
    int deleted = timer_delete(tick) == 0 && timer_delete(idle) == 0 && timer_delete(spare) == 0;
    printf("idle armed: %d, spare unarmed: %d, all deleted: %d\n", idle_armed, spare_unarmed,
           deleted);
    return ticks >= 3 ? 0 : 1;
}
