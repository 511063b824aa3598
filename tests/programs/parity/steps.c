/* Calls, loops and returns of every scalar kind, for stepping and finish. */

static int square(int n)
{
    int r = n * n;
    return r;
}

double half(double x)
{
    return x / 2.0;
}

float third(float x)
{
    return x / 3.0f;
}

long add3(long a, long b, long c)
{
    long s = a + b;
    s += c;
    return s;
}

int countdown(int n)
{
    int steps = 0;
    while (n > 0) {
        n--;
        steps++;
    }
    return steps;
}

volatile double sink;
/* Inputs the compiler cannot see through at -O2. */
volatile int three = 3;
volatile double seven_and_a_half = 7.5;

int main(void)
{
    int total = 0;
    for (int i = 0; i < three; i++) {
        total += square(i);
    }
    double h = half(seven_and_a_half);
    float t = third(2.0f);
    long s = add3(1, 2, 3);
    int c = countdown(three);
    sink = h + t + s + c + total;
    return 0;
}
