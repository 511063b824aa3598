/* Prints whether SIGHUP, SIGINT and SIGQUIT are ignored: what the program
 * inherited from whoever started it (nohup, a background job). */
#include <signal.h>
#include <stdio.h>

int main(void) {
    int sigs[] = {SIGHUP, SIGINT, SIGQUIT};
    const char *names[] = {"SIGHUP", "SIGINT", "SIGQUIT"};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        sigaction(sigs[i], NULL, &old);
        printf("%s %s\n", names[i], old.sa_handler == SIG_IGN ? "ignored" : "default");
    }
    return 0;
}
