// C++ values: inheritance, a namespace, references, a template, a vector,
// and methods returning values.
#include <vector>

namespace shapes {

struct Base {
    int b1;
    int b2;
    virtual ~Base() {}
    virtual int area() const { return b1 * b2; }
};

struct Derived : Base {
    int d;
    double scale;
    Derived(int x, int y, int z) : d(z), scale(1.5)
    {
        b1 = x;
        b2 = y;
    }
    int area() const override { return Base::area() * d; }
    __attribute__((noinline)) double scaled() const { return area() * scale; }
};

template <typename T>
struct Pair {
    T first;
    T second;
    T sum() const { return first + second; }
};

}  // namespace shapes

__attribute__((noinline)) static int total_area(const shapes::Base &b)
{
    int a = b.area();
    return a;
}

volatile long sink;

int main()
{
    shapes::Derived d(2, 3, 4);
    shapes::Derived *p = &d;
    shapes::Base &r = d;
    shapes::Pair<int> pi = {3, 4};
    shapes::Pair<double> pd = {0.5, 0.25};
    std::vector<int> v;
    for (int i = 1; i <= 5; i++)
        v.push_back(i * 10);
    int a = total_area(r);
    double s = p->scaled();
    int ps = pi.sum();
    double pds = pd.sum();
    sink = a + (long)s + ps + (long)pds + v[2];
    return 0;
}
