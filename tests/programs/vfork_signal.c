/* A vfork parent gets a signal from another process while its vfork
 * child runs: the handler runs after the child execs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig) { (void)sig; got++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGUSR1, on_usr1);
    pid_t root = getpid();
    int go[2];
    pipe(go);
    pid_t helper = fork();
    if (helper == 0) {
        char c;
        read(go[0], &c, 1);
        kill(root, SIGUSR1);
        _exit(0);
    }
    pid_t v = vfork();
    if (v == 0) {
        /* Wake the helper, let it signal the parent, then exec. */
        write(go[1], "g", 1);
        usleep(5000);
        execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(v, &status, 0) < 0)
        ;
    waitpid(helper, NULL, 0);
    printf("vfork child: %d, parent got SIGUSR1 %d time(s)\n", WEXITSTATUS(status), (int)got);
    return 0;
}
