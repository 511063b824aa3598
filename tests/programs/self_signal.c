/* Signals sent to itself: raise(SIGUSR1), kill(getpid(), SIGUSR2) with an
 * SA_SIGINFO handler, and a SIGUSR1 that is blocked, pending, then unblocked. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, usr2, usr2_from_self, usr2_si_user;

static void on_usr1(int sig) {
    (void)sig;
    usr1++;
    const char m[] = "handler: SIGUSR1\n";
    write(1, m, sizeof m - 1);
}

static void on_usr2(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    usr2++;
    usr2_from_self = si->si_pid == getpid();
    usr2_si_user = si->si_code == SI_USER;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);

    raise(SIGUSR1);
    printf("after raise: usr1=%d\n", (int)usr1);
    kill(getpid(), SIGUSR2);
    printf("after kill: usr2=%d from_self=%d si_user=%d\n", (int)usr2, (int)usr2_from_self,
           (int)usr2_si_user);

    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    sigpending(&pending);
    printf("blocked: usr1=%d pending=%d\n", (int)usr1, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("unblocked: usr1=%d\n", (int)usr1);
    return 0;
}
