/* startup: the smallest dynamically linked program, so the time is all
 * exec, the dynamic loader and libc start-up (and rback's set-up). */
#include <stdio.h>

int main(void) {
    puts("hello, world");
    return 0;
}
