// C++ members of every kind, as ptype writes them and print shows them:
// references, wide characters, arrays of structs, nested and anonymous
// types, function pointers, operators and member templates.
#include <cstddef>
namespace n {
struct Inner { int a; struct Deep { char c; } deep; };
struct Holder {
    int (*fp)(int, double);
    Inner arr[2];
    Inner::Deep d;
    const int &cref;
    int &&rref;
    unsigned long long big;
    long double ld;
    signed char sc;
    bool flag;
    wchar_t wc;
    char16_t c16;
    enum { A, B } anon_enum;
    struct { int x; } anon_struct;
    Holder(int &r) : fp(nullptr), arr(), d(), cref(r), rref(static_cast<int &&>(r)), big(1), ld(2), sc(3), flag(true), wc(L'w'), c16(u'c'), anon_enum(B), anon_struct{4} {}
    void go(int) const {}
    Holder &operator+=(const Holder &) { return *this; }
    virtual ~Holder() {}
    template <typename T> T conv() const { return T(); }
};
union U { int i; float f; };
}
volatile long sink;
int main()
{
    int x = 5;
    n::Holder h(x);
    n::U u{3};
    sink = h.conv<long>() + u.i;
    return 0;
}
