/* Variables of many types for the value tests: `probe` says "ready", then
 * spins until killed, and the tests read its frame. The expected output is
 * what gdb 13 prints for the same expressions. */
#include <stdio.h>

volatile int spin = 1;

struct point { int x; int y; };
struct line { struct point a; struct point b; const char *label; };
union bits { int i; float f; unsigned char b[4]; };
enum color { RED, GREEN, BLUE };
enum flags { F_A = 1, F_B = 2, F_C = 8 };
struct node { int val; struct node *next; };
typedef unsigned long ulong_t;

int g_int = 42;
int g_neg = -3;
unsigned int g_uint = 4000000000u;
char g_char = 'A';
char g_nl = '\n';
unsigned char g_uchar = 200;
_Bool g_bool = 1;
double g_double = 0.1;
double g_half = 3.5;
float g_float = 0.1f;
long g_long = -1234567890123L;
short g_short = -7;
ulong_t g_typedef = 99;
int g_arr[3] = {1, 2, 3};
int g_zeros[16];
int g_rep[14] = {1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3};
int g_big[300];
char g_str[6] = "abc";
char g_pad[20] = "hi";
const char *g_msg = "hello";
struct point g_pt = {1, 2};
struct line g_line = {{1, 2}, {3, 4}, "diag"};
union bits g_bits = {.i = 0x3f800000};
enum color g_color = GREEN;
enum flags g_flags = F_A | F_C;
enum flags g_badflag = F_A | 4;
enum color g_badcolor = 7;
int *g_ptr = &g_int;
int *g_null;
struct node g_n2 = {2, 0};
struct node g_n1 = {1, &g_n2};
struct point *g_ptp = &g_pt;
int square(int v) { return v * v; }
int (*g_fn)(int) = square;
int g_matrix[2][3] = {{1, 2, 3}, {4, 5, 6}};
static int s_static = 5;
__thread int t_tls = 77;

int probe(int n, struct point *p, const char *s)
{
    int local = n * 2;
    static int calls = 0;
    calls++;
    {
        int inner = local + 1;
        double d = inner / 2.0;
        char huge[70000]; /* more than gdb's max-value-size */
        huge[0] = (char)inner;
        printf("ready\n");
        fflush(stdout);
        while (spin) { /* @probe_spin */
        }
        return (int)d + p->x + s[0] + calls + huge[0];
    }
    return local;
}

int main(void)
{
    g_big[5] = 1;
    return probe(5, &g_pt, g_msg) + s_static + t_tls > 0 ? 0 : 1;
}
