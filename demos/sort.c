/* A sorting visualizer: bubble sort on 16 numbers.
 *
 * `rback playback --at pass_done --show values --as bars` draws the array
 * as bars after every pass (the bars that moved stand out), forward or
 * with --reverse from the sorted end back to the shuffle; `--show swaps
 * --as spark` draws how many swaps each pass took. */
#include <stdio.h>

#define COUNT 16

int values[COUNT] = {11, 3, 15, 7, 1, 13, 9, 5, 16, 2, 12, 8, 14, 4, 10, 6};
int swaps;

/* Called after each pass; the playback samples here. */
__attribute__((noinline)) static void pass_done(int pass) {
    printf("pass %2d: %2d swaps\n", pass, swaps);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int pass = 1;; pass++) {
        swaps = 0;
        for (int i = 0; i + 1 < COUNT - pass + 1; i++) {
            if (values[i] > values[i + 1]) {
                int t = values[i];
                values[i] = values[i + 1];
                values[i + 1] = t;
                swaps++;
            }
        }
        pass_done(pass);
        if (swaps == 0) break;
    }
    for (int i = 0; i < COUNT; i++) printf("%d%c", values[i], i + 1 < COUNT ? ' ' : '\n');
    return 0;
}
