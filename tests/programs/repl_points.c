/* The REPL tests' tracee for structs through pointers: points moved in a
 * loop, long enough to go back a thousand instructions in. */
#include <stdio.h>

struct point {
    int x;
    int y;
    const char *name;
};

struct point pts[4] = {{0, 0, "a"}, {0, 0, "b"}, {0, 0, "c"}, {0, 0, "d"}};

__attribute__((noinline)) void move(struct point *p, int i)
{
    p->x += i;
    p->y -= 2 * i;
}

int main(void)
{
    for (int i = 0; i < 400; i++)
        move(&pts[i % 4], i);
    struct point *last = &pts[3];
    printf("%d %d %s\n", last->x, last->y, last->name);
    return 0;
}
