/* Prints a few ticks, writes its pid to the file argv[1], then sleeps for
 * 30 seconds: for tests that kill the recorder while the tracee waits. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: sleeper PIDFILE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("started\n");
    for (int i = 0; i < 25; i++) {
        struct timespec ms10 = {0, 10000000};
        nanosleep(&ms10, NULL);
        printf("tick %d\n", i);
    }
    printf("sleeping\n");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        return 1;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    rename(tmp, argv[1]);
    sleep(30);
    printf("woke up\n");
    return 0;
}
