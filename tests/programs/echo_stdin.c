/* Reads stdin to its end in small reads and prints what arrived, in hex and
 * as text, and how many read() calls it took. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    static unsigned char buf[1 << 16];
    size_t total = 0;
    int calls = 0;
    ssize_t n;
    do {
        n = read(0, buf + total, 7);
        calls++;
        if (n > 0)
            total += (size_t)n;
    } while (n > 0 && total + 7 <= sizeof buf);
    printf("read %zu bytes from stdin in %d calls\n", total, calls);
    printf("hex: ");
    for (size_t i = 0; i < total; i++)
        printf("%02x", buf[i]);
    printf("\ntext: %.*s\n", (int)total, buf);
    return 0;
}
