/* Return values of each System V class: memory, two SSE eightbytes, mixed
   SSE and INTEGER, floats packed in an eightbyte, x87, bool, char, and a
   pointer. */
#include <stdbool.h>

struct big { long a[4]; };
struct two_doubles { double x, y; };
struct mixed { double d; long n; };
struct three_floats { float a, b, c; };
struct bytes { char c[3]; };

volatile int seed = 1;

__attribute__((noinline)) struct big make_big(void) { struct big b = {{seed, 2, 3, 4}}; return b; }
__attribute__((noinline)) struct two_doubles make_two(void) { struct two_doubles t = {seed + 0.5, -2.25}; return t; }
__attribute__((noinline)) struct mixed make_mixed(void) { struct mixed m = {seed * 1.5, -7}; return m; }
__attribute__((noinline)) struct three_floats make_three(void) { struct three_floats f = {seed, 2.5f, -3.75f}; return f; }
__attribute__((noinline)) struct bytes make_bytes(void) { struct bytes b = {{'a', 'b', (char)seed}}; return b; }
__attribute__((noinline)) long double make_long_double(void) { return seed / 3.0L; }
__attribute__((noinline)) bool is_odd(int n) { return n & 1; }
__attribute__((noinline)) char letter(int n) { return 'a' + n; }
__attribute__((noinline)) const int *where(void) { return (const int *)&seed; }
__attribute__((noinline)) unsigned short small(void) { return 65535; }

volatile long sink;

int main(void)
{
    struct big b = make_big();
    struct two_doubles t = make_two();
    struct mixed m = make_mixed();
    struct three_floats f = make_three();
    struct bytes y = make_bytes();
    long double ld = make_long_double();
    sink = b.a[0] + (long)t.x + m.n + (long)f.c + y.c[0] + (long)ld + is_odd(3) + letter(2) + *where() + small();
    return 0;
}
