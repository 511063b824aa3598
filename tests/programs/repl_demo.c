/* The REPL tests' tracee: a loop that calls a function, recursion, a
 * function that makes syscalls, and a signal handler. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int counter;
int values[8];

__attribute__((noinline)) int compute(int n)
{
    int r = n * n;
    counter += r;
    return r + 1;
}

__attribute__((noinline)) int fact(int n)
{
    if (n <= 1)
        return 1;
    return n * fact(n - 1);
}

__attribute__((noinline)) void talk(void)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "talking %d\n", 7);
    write(1, buf, len);
    getppid();
}

static void on_usr1(int sig)
{
    counter += sig;
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    int total = 0;
    for (int i = 0; i < 5; i++) {
        total += compute(i);
        values[i] = total;
    }
    talk();
    int f = fact(5);
    raise(SIGUSR1);
    printf("total=%d f=%d counter=%d\n", total, f, counter);
    return 0;
}
