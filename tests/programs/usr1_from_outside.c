/* Writes its pid to the file argv[1], then sleeps in short nanosleeps until
 * another process sends it SIGUSR1; prints how many sleeps that took. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got, si_user;

static void on_usr1(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)ctx;
    got = 1;
    si_user = si->si_code == SI_USER;
}

static int write_pid_file(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: usr1_from_outside PIDFILE\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    if (write_pid_file(argv[1]) != 0) {
        perror(argv[1]);
        return 1;
    }
    long sleeps = 0;
    while (!got && sleeps < 6000) {
        struct timespec ms5 = {0, 5000000};
        nanosleep(&ms5, NULL);
        sleeps++;
    }
    if (!got) {
        printf("no SIGUSR1 arrived\n");
        return 1;
    }
    printf("got SIGUSR1 (si_user=%d) after %ld sleeps\n", (int)si_user, sleeps);
    return 0;
}
