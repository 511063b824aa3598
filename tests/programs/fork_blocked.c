/* A thread is blocked in read on a pipe when the main thread forks; the
 * child writes the bytes the blocked thread then reads. */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int p[2];
static char got[32];

static void *reader(void *arg) {
    (void)arg;
    ssize_t n = read(p[0], got, sizeof got - 1);
    if (n > 0)
        got[n] = 0;
    return NULL;
}

int main(void) {
    int status;
    pipe(p);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    usleep(2000);
    pid_t child = fork();
    if (child == 0) {
        write(p[1], "from the child", 14);
        _exit(0);
    }
    pthread_join(t, NULL);
    waitpid(child, &status, 0);
    printf("the blocked thread read: %s\n", got);
    return 0;
}
