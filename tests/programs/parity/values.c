/* Values of the kinds C programs hold: structs, arrays, pointers, strings,
   enums, unions, function pointers. */
#include <string.h>

enum color { RED, GREEN = 5, BLUE };

struct point {
    int x, y;
};

struct shape {
    const char *name;
    struct point corners[3];
    enum color color;
    union {
        int i;
        float f;
    } u;
    struct shape *next;
};

__attribute__((noinline)) static int apply(int (*f)(int), int v)
{
    return f(v);
}

static int twice(int v)
{
    return 2 * v;
}

__attribute__((noinline)) struct point make_point(int x, int y)
{
    struct point p = {x, y};
    return p;
}

volatile int sink;

int main(void)
{
    struct shape a = {"tri", {{0, 0}, {4, 0}, {0, 3}}, GREEN, {.i = 7}, 0};
    struct shape b = {"next", {{1, 1}, {2, 2}, {3, 3}}, BLUE, {.f = 1.5f}, &a};
    int arr[5] = {1, 2, 3, 4, 5};
    char buf[8];
    strcpy(buf, "hey");
    struct point p = make_point(3, 4);
    int r = apply(twice, arr[2]);
    sink = r + p.x + (int)strlen(buf) + b.next->corners[1].x;
    return 0;
}
