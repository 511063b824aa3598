/* Watchpoint targets: `value` is stored every iteration but changes only
 * every third one; `buf` is filled by a read() system call, which no debug
 * register sees. */
#include <stdio.h>
#include <unistd.h>
long value;
char buf[8];
int main(void) {
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    for (long i = 0; i < 30; i++) {
        value = i / 3;
        if (i == 20) {
            if (write(fds[1], "hello", 5) != 5 || read(fds[0], buf, 5) != 5)
                return 1;
        }
        getpid();
    }
    printf("%ld %s\n", value, buf);
    return 0;
}
