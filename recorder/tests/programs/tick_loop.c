#include <stdio.h>
#include <unistd.h>
#include <signal.h>
long counter;
long history[64];
static volatile int alarms;
static void on_usr1(int s) { (void)s; alarms++; }
__attribute__((noinline)) void tick(long i) {
    counter += i;
    history[i % 64] = counter;
}
int main(void) {
    signal(SIGUSR1, on_usr1);
    for (long i = 0; i < 40; i++) {
        tick(i);
        if (i % 10 == 9) {
            getpid();
            raise(SIGUSR1);
        }
    }
    printf("counter=%ld alarms=%d\n", counter, alarms);
    return 0;
}
