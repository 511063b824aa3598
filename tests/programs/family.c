/* Three generations: the root forks a child that forks a grandchild, and
 * a vfork + exec of /bin/true at the end. Each computes something of its
 * own, so a debugger following one process sees its own values. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) static int work(int generation) {
    int value = 0;
    for (int i = 1; i <= 10; i++)
        value += i * generation;
    return value;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int status;
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            int mine = work(3);
            printf("grandchild: %d\n", mine);
            _exit(mine % 100);
        }
        waitpid(grandchild, &status, 0);
        int mine = work(2);
        printf("child: %d, grandchild exited %d\n", mine, WEXITSTATUS(status));
        _exit(mine % 100);
    }
    waitpid(child, &status, 0);
    int mine = work(1);
    printf("root: %d, child exited %d\n", mine, WEXITSTATUS(status));
    pid_t spawned = vfork();
    if (spawned == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    waitpid(spawned, &status, 0);
    printf("true exited %d\n", WEXITSTATUS(status));
    return 0;
}
