/* Prints its arguments and the RBACK_TEST_GREETING environment variable. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d] [%s]\n", i, argv[i]);
    const char *g = getenv("RBACK_TEST_GREETING");
    printf("RBACK_TEST_GREETING %s\n", g ? g : "(unset)");
    return 0;
}
