/* Inlined calls, for -O2: a chain main -> outer -> inner, all inlined. */

volatile int seen;

static inline __attribute__((always_inline)) int inner(int v)
{
    seen = v;
    return v * 3;
}

static inline __attribute__((always_inline)) int outer(int v)
{
    int r = inner(v + 1);
    seen = r;
    return r + 1;
}

__attribute__((noinline)) int work(int n)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        total += outer(i);
    return total;
}

int main(void)
{
    seen = work(3);
    return 0;
}
