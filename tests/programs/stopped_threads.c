/* A child of two threads, both sleeping and writing to a pipe, stopped by
 * its parent with SIGSTOP and continued with SIGCONT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int pipe_fds[2];

static void write_five(char c) {
    for (int i = 0; i < 5; i++) {
        usleep(20000);
        write(pipe_fds[1], &c, 1);
    }
}

static void *worker(void *arg) {
    (void)arg;
    write_five('w');
    return NULL;
}

int main(void) {
    pipe(pipe_fds);
    pid_t child = fork();
    if (child == 0) {
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
        write_five('m');
        pthread_join(t, NULL);
        _exit(7);
    }
    close(pipe_fds[1]);
    usleep(30000);
    kill(child, SIGSTOP);
    int status;
    waitpid(child, &status, WUNTRACED);
    printf("stopped: %d\n", WIFSTOPPED(status));
    usleep(150000);
    kill(child, SIGCONT);
    char buf[64];
    int n, total = 0;
    while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0)
        total += n;
    waitpid(child, &status, 0);
    printf("bytes %d, exit %d\n", total, WEXITSTATUS(status));
    return 0;
}
