/* Prints random bytes from getrandom() and from /dev/urandom in hex. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *b, size_t n) {
    printf("%s ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    unsigned char a[16], b[16], c[16];
    ssize_t n = getrandom(a, sizeof a, 0);
    printf("getrandom returned %zd\n", n);
    hex("getrandom:", a, sizeof a);
    getrandom(b, sizeof b, GRND_NONBLOCK);
    hex("getrandom-nonblock:", b, sizeof b);
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0) {
        perror("/dev/urandom");
        return 1;
    }
    n = read(fd, c, sizeof c);
    close(fd);
    printf("urandom read returned %zd\n", n);
    hex("urandom:", c, sizeof c);
    return 0;
}
