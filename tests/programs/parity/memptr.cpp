// C++ pointers to members and to methods (virtual and not), as ptype,
// whatis and print show them.
struct H { int a; int b; void go(int) const {} virtual void v() {} };
volatile long sink;
int main() {
    int H::*pa = &H::b;
    int H::*pn = nullptr;
    void (H::*pg)(int) const = &H::go;
    void (H::*pv)() = &H::v;
    void (H::*pz)(int) const = nullptr;
    H h; h.a = 1; h.b = 2;
    sink = h.*pa + (pn == nullptr) + (pz == nullptr);
    (h.*pg)(1);
    (h.*pv)();
    return 0;
}
