/* Twenty children at once, each writing a line into one pipe and exiting
 * with its own status after a delay that varies, so they end in another
 * order than they started; the parent reaps them with waitpid(-1) only
 * after all have written (zombies reaped late). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N 20

int main(void) {
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(p[0]);
            struct timespec ts = {0, ((i * 7) % N) * 300000L};
            nanosleep(&ts, NULL);
            char line[32];
            int n = snprintf(line, sizeof line, "child %02d\n", i);
            write(p[1], line, n);
            _exit(i + 1);
        }
    }
    close(p[1]);
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += n;
    buf[got] = 0;
    /* The order the lines came in is the order the children ran. */
    printf("%zu bytes from the children:\n%s", got, buf);
    int sum = 0, reaped = 0, status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, 0)) > 0) {
        int which = -1;
        for (int i = 0; i < N; i++)
            if (pids[i] == pid)
                which = i;
        if (which < 0 || WEXITSTATUS(status) != which + 1)
            printf("bad status for %d\n", (int)pid);
        sum += WEXITSTATUS(status);
        reaped++;
        printf("reaped %02d\n", which);
    }
    printf("reaped %d children, statuses sum to %d\n", reaped, sum);
    return 0;
}
