// C++ return values that the ABI sends through memory because their type
// is not trivially copyable, however small.
#include <memory>
#include <string>

struct Tracked {
    int id;
    ~Tracked() {}
};

struct Plain {
    int id;
};

__attribute__((noinline)) Tracked make_tracked(int i) { return Tracked{i}; }
__attribute__((noinline)) Plain make_plain(int i) { return Plain{i}; }
__attribute__((noinline)) std::unique_ptr<int> make_owned(int i) { return std::make_unique<int>(i); }
__attribute__((noinline)) std::string make_name() { return "parity"; }

int main()
{
    Tracked t = make_tracked(7);
    Plain p = make_plain(2);
    std::unique_ptr<int> o = make_owned(3);
    std::string n = make_name();
    return t.id + p.id + *o + (int)n.size() - 18;
}
