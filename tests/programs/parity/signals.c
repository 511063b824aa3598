/* What a debugger shows of signals, errno and the end of a program: a
   failing call sets errno, a fault is caught by a handler that jumps back,
   and the program exits with a status of its own. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf recover;
volatile int *nowhere = (int *)16;
volatile int caught;

static void on_segv(int sig)
{
    caught = sig;
    siglongjmp(recover, 1);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, 0);
    if (close(-1) != 0)
        caught = errno; /* closed */
    if (sigsetjmp(recover, 1) == 0)
        *nowhere = 1; /* fault */
    errno = 0;
    return caught == SIGSEGV ? 0 : 1;
}
