/* A child stopped by SIGSTOP must not run until SIGCONT: the parent asks
 * it for a reply while it is stopped and must get none. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int ask[2], reply[2];
    pipe(ask);
    pipe(reply);
    pid_t child = fork();
    if (child == 0) {
        close(ask[1]);
        char c;
        while (read(ask[0], &c, 1) == 1)
            write(reply[1], &c, 1);
        _exit(0);
    }
    fcntl(reply[0], F_SETFL, O_NONBLOCK);
    int status;
    char c;
    kill(child, SIGSTOP);
    waitpid(child, &status, WUNTRACED);
    printf("stopped: %d\n", WIFSTOPPED(status) ? WSTOPSIG(status) : 0);
    write(ask[1], "a", 1);
    usleep(50000);
    int early = read(reply[0], &c, 1) == 1;
    printf("reply while stopped: %s\n", early ? "yes (wrong)" : "none");
    kill(child, SIGCONT);
    fcntl(reply[0], F_SETFL, 0);
    if (!early)
        printf("reply after SIGCONT: %s\n", read(reply[0], &c, 1) == 1 ? "yes" : "none");
    close(ask[1]);
    waitpid(child, &status, 0);
    printf("child: exit %d\n", WEXITSTATUS(status));
    return 0;
}
