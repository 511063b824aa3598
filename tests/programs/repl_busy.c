/* Many events: a long stretch for a continue to be interrupted in. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    long sum = 0;
    for (int i = 0; i < 40000; i++)
        sum += getppid() > 0;
    printf("sum=%ld\n", sum);
    return 0;
}
