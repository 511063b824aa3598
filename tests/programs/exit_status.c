/* Ends as argv[1] says: "exit42" exits with 42, "sigterm" raises SIGTERM
 * with no handler, "abort" calls abort(). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    printf("mode %s\n", mode);
    fflush(stdout);
    fprintf(stderr, "exit_status: ending by %s\n", mode);
    if (strcmp(mode, "exit42") == 0)
        exit(42);
    if (strcmp(mode, "sigterm") == 0)
        raise(SIGTERM);
    if (strcmp(mode, "abort") == 0)
        abort();
    fprintf(stderr, "unknown mode\n");
    return 3;
}
