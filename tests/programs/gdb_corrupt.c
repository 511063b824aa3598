/* For the gdb tests: an off-by-one loop overwrites `balance`, which sits
 * just after the buffer. A reverse watchpoint on `balance` must lead back
 * to the bad write (i == 4), and from there to the assignment of 100. */
#include <stdio.h>

static struct {
    long buffer[4];
    long balance;
} acct;

__attribute__((noinline)) static void fill(int n) {
    for (int i = 0; i <= n; i++)
        acct.buffer[i] = i * 7; /* MARK:bad_write */
}

int main(void) {
    acct.balance = 100; /* MARK:set_balance */
    fill(4);
    printf("balance=%ld\n", acct.balance); /* MARK:print */
    return 0;
}
