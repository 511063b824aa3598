/* A thread is blocked in read on a pipe when the main thread forks; the
 * child writes the bytes the blocked thread then reads. The main thread
 * waits until the kernel says the reader sleeps, so that the fork always
 * comes while it is blocked. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int p[2];
static char got[32];
static volatile pid_t reader_tid;

static int reader_sleeps(void) {
    char path[64], stat[256] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)reader_tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    /* "TID (COMM) STATE ...": the state follows the last ')'. */
    char *end = strrchr(stat, ')');
    return end && end[1] == ' ' && end[2] == 'S';
}

static void *reader(void *arg) {
    (void)arg;
    reader_tid = gettid();
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
    while (!reader_tid || !reader_sleeps())
        usleep(1000);
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
