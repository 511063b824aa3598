/* Prints 2000 numbered lines, one write() each, and a few lines on stderr,
 * interleaved with stdout. */
#include <stdio.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < 2000; i++) {
        printf("line %d\n", i);
        if (i % 500 == 0)
            fprintf(stderr, "stderr at line %d\n", i);
    }
    return 0;
}
