/* The main thread returns while other threads are blocked in a read and
 * others have not run at all: exit_group ends them all. (Replay waited for
 * ever for the first thread's end, which the kernel reports only after
 * every other thread's.) */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];

static void *blocked(void *arg) {
    (void)arg;
    char c;
    read(fds[0], &c, 1);
    return NULL;
}

int main(void) {
    pipe(fds);
    pthread_t t;
    for (int i = 0; i < 3; i++)
        pthread_create(&t, NULL, blocked, NULL);
    usleep(20000);
    for (int i = 0; i < 20; i++)
        pthread_create(&t, NULL, blocked, NULL);
    printf("main returns\n");
    return 4;
}
