// Branching from the past: the recorded run never leaves its loop early
// (stop_at is -1); a branch started with stop_at set takes the other path.
#include <stdio.h>

volatile int stop_at = -1;

__attribute__((noinline)) void step(int i) {
    printf("step %d\n", i);
    fflush(stdout);
}

int main(void) {
    for (int i = 0; i < 8; i++) {
        step(i);
        if (i == stop_at) {
            printf("left the loop early at %d\n", i);
            return 3;
        }
    }
    printf("ran every step\n");
    return 0;
}
