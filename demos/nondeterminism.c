/* Nondeterminism tamed: everything this program prints changes from run to
 * run (the clock, random bytes, the time-stamp counter, its pid, when a timer
 * signal lands), yet `rback replay -a` reproduces one recorded run exactly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) {
    (void)sig;
    ticks++;
}

int main(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned char bytes[8];
    getrandom(bytes, sizeof bytes, 0);
    srand((unsigned)now.tv_nsec);

    printf("pid           %d\n", getpid());
    printf("clock         %lld.%09ld\n", (long long)now.tv_sec, now.tv_nsec);
    printf("getrandom     ");
    for (size_t i = 0; i < sizeof bytes; i++) printf("%02x", bytes[i]);
    printf("\nrand()        %d\n", rand());
    printf("rdtsc         %llu\n", (unsigned long long)__rdtsc());

    /* A 10 ms interval timer races against a loop of short sleeps: how many
     * sleeps complete before the fifth tick differs on every real run. */
    signal(SIGALRM, on_alarm);
    struct itimerval every_10ms = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &every_10ms, NULL);
    long sleeps = 0;
    while (ticks < 5) {
        struct timespec tiny = {0, 300000 + rand() % 400000};
        nanosleep(&tiny, NULL);
        sleeps++;
    }
    printf("sleeps before the 5th timer tick: %ld\n", sleeps);
    return 0;
}
