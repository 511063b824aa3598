/* A child process with two threads besides its main one: one blocked in
 * pause(), the other calls execve. The kernel ends the other threads at
 * the exec; the parent reports the status of what the child became. */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *sleeper(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *execer(void *arg) {
    (void)arg;
    execl("/bin/echo", "echo", "exec from a thread of a child", (char *)NULL);
    _exit(99);
}

int main(void) {
    int status;
    pid_t child = fork();
    if (child == 0) {
        pthread_t t1, t2;
        pthread_create(&t2, NULL, sleeper, NULL);
        pthread_create(&t1, NULL, execer, NULL);
        for (;;)
            pause();
    }
    waitpid(child, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
    return 0;
}
