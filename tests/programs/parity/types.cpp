// C++ types as ptype and whatis show them (base classes, methods, static
// members, templates, references, scoped enums, typedefs), and the
// libstdc++ containers whose printers are deque, tuple, variant and
// vector<bool>.
#include <deque>
#include <functional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace geo {

enum class Dir : short { North, East = 4, South };
enum Plain { ONE = 1, TWO };

typedef int length_t;
using area_t = long;

class Shape {
  public:
    virtual ~Shape() {}
    virtual area_t area() const { return 0; }
    int id;
    static int count;

  protected:
    length_t side;
};

int Shape::count = 3;

struct Named {
    const char *name;
    void rename(const char *n) { name = n; }
};

class Square : public Shape, public Named {
  public:
    Square(length_t s) { side = s; id = 1; name = "sq"; }
    area_t area() const override { return (area_t)side * side; }
    static Square unit() { return Square(1); }
    Dir facing = Dir::East;

  private:
    double weight = 2.5;
};

struct Flags : private Named, protected virtual Shape {
    typedef unsigned short bits_t;
    bits_t mode : 3;
    bits_t kind : 5;
    union {
        int as_int;
        float as_float;
    };
    bits_t last;
    operator bool() const { return mode != 0; }
    int sum(int first, ...) const volatile;
};

int Flags::sum(int first, ...) const volatile { return first; }

template <typename T, int N>
struct Box {
    T items[N];
    T first() const { return items[0]; }
};

}  // namespace geo

volatile long sink;

int main()
{
    geo::Square sq(3);
    geo::Flags flags;
    flags.mode = 1;
    flags.as_int = 2;
    geo::Shape &ref = sq;
    const geo::Square *ptr = &sq;
    geo::Box<int, 2> box = {{5, 6}};
    geo::length_t len = 7;
    geo::area_t ar = sq.area();
    geo::Dir dir = geo::Dir::South;
    geo::Plain plain = geo::TWO;
    int &iref = len;
    std::deque<int> dq = {1, 2, 3};
    std::deque<int> empty_dq;
    std::deque<std::string> sdq;
    for (int i = 0; i < 3; i++)
        sdq.push_front("s" + std::to_string(i));
    std::tuple<int, double, std::string> tup{1, 2.5, "three"};
    std::tuple<> none;
    std::tuple<int> one{9};
    std::variant<int, std::string, double> var = std::string("alt");
    std::variant<int, double> vi = 4;
    std::variant<int, double> vd = 2.5;
    std::variant<std::vector<int>, int> vv = std::vector<int>{1, 2};
    std::tuple<int, double> td{7, 0.5};
    std::tuple<int, std::less<int>> te{8, {}};
    std::deque<int> long_dq;
    for (int i = 0; i < 300; i++)
        long_dq.push_back(i);
    for (int i = 1; i <= 3; i++)
        long_dq.push_front(-i);
    std::vector<bool> bits = {true, false, true, true};
    std::vector<bool> nobits;
    std::vector<bool> manybits(70, true);
    sink = len + ar + box.first() + (long)dir + plain + iref + dq.size() + sdq.size() + std::get<0>(tup) + std::get<0>(one) + bits.size() + manybits.size() + ptr->id + ref.id + (long)std::tuple_size<decltype(none)>::value + vi.index() + var.index() + vd.index() + vv.index() + std::get<0>(td) + std::get<0>(te) + long_dq.size() + (bool)flags + flags.sum(1);
    return 0;
}
