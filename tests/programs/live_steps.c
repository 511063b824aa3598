/* Five steps, each printed as it happens; after the third it creates the
 * file argv[1], a side effect a test can look for while the program is
 * paused under `rback run`. Exits 0 when all five steps added up. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int counter;

void step(int i)
{
    counter += i;
    printf("step %d\n", i);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: live_steps MARKER\n");
        return 2;
    }
    for (int i = 1; i <= 5; i++) {
        step(i);
        if (i == 3)
            close(open(argv[1], O_CREAT | O_WRONLY, 0644));
    }
    printf("done %d\n", counter);
    return counter == 15 ? 0 : 3;
}
