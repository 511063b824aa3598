/* For the gdb tests: a thread-local variable and errno, both read by gdb
 * through qGetTLSAddr. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

__thread int tls_counter = 5;

int main(void) {
    tls_counter += 37;
    close(-1); /* sets errno to EBADF */
    printf("tls=%d errno=%d\n", tls_counter, errno); /* MARK:print */
    return 0;
}
