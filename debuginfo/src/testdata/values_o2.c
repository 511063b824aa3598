/* More shapes of data, and a function built with -O2 whose variables live
 * in registers and location lists: `work` says "ready", then spins. */
#include <stdio.h>

volatile int spin = 1;

struct flags { unsigned a : 3; int b : 5; unsigned c : 1; };
struct anon { int tag; union { int i; float f; }; struct { short lo, hi; }; };
struct ops { int (*fn)(int); const char *name; };
enum sign { NEG = -1, ZERO = 0, POS = 1 };
typedef struct point { int x, y; } point_t;

struct flags g_bits = {5, -3, 1};
struct anon g_anon = {7, {.i = 9}, {1, 2}};
int twice(int v) { return 2 * v; }
struct ops g_ops = {twice, "twice"};
const char *g_names[3] = {"ab", 0, "cd"};
char g_grid[2][4] = {"abc", "xy"};
enum sign g_sign = NEG;
enum sign g_odd = 5;
long double g_ld = 1.5;
_Bool g_flagsv[3] = {1, 0, 1};
unsigned char g_bytes[4] = {1, 2, 0xff, 0};
point_t g_pts[2] = {{1, 2}, {3, 4}};
point_t *g_pp = &g_pts[1];
char g_esc[8] = "a\"b\\c\t\001";
double g_dbl[3] = {0.5, -2.25, 1e100};
float g_nan_src = 0;
struct empty_holder { int n; int rest[]; } g_holder = {2};
void *g_void = &g_pts;
int g_many[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
char g_long[300];

__attribute__((noinline)) int work(int n, int *data)
{
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += data[i] * twice(i);
    printf("ready\n");
    fflush(stdout);
    while (spin) { /* @work_spin */
    }
    return sum + n;
}

int main(void)
{
    int data[4] = {1, 2, 3, 4};
    for (int i = 0; i < 299; i++)
        g_long[i] = 'a' + i % 26;
    return work(4, data) > 0 ? 0 : 1;
}
