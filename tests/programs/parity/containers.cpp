// libstdc++ containers, for gdb's raw form of them: string, map, unique_ptr,
// and a lambda.
#include <map>
#include <memory>
#include <string>

volatile long sink;

int main()
{
    std::string name = "parity";
    std::string longer = "a string too long for the small buffer";
    std::map<int, int> squares;
    for (int i = 1; i <= 3; i++)
        squares[i] = i * i;
    auto owned = std::make_unique<int>(42);
    int k = 3;
    auto times = [k](int x) { return x * k; };
    sink = name.size() + longer.size() + squares.size() + *owned + times(2);
    return 0;
}
