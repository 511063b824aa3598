// libstdc++ types as gdb's default pretty printers show them, and
// containers whose memory is corrupt, which must print bounded.
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

struct Inventory {
    std::string name;
    std::vector<int> counts;
    std::optional<double> price;
};

struct Point {
    int x;
    int y;
};

volatile long sink;

// Makes a vector's pointers garbage (a huge length into unmapped memory),
// a string's pointer unmapped, and a hash table's first node link to
// itself, for a moment, then puts them back.
__attribute__((noinline)) void spoil(std::vector<int> &v, std::string &str, std::unordered_map<int, int> &um)
{
    long saved[3];
    std::memcpy(saved, &v, sizeof saved);
    long junk[3] = {0x1000, 0x1000 + (1L << 40), 0x1000 + (1L << 41)};
    std::memcpy(&v, junk, sizeof junk);
    char *text;
    std::memcpy(&text, &str, sizeof text);
    long unmapped = 0x2000;
    std::memcpy(&str, &unmapped, sizeof unmapped);
    void **node;
    std::memcpy(&node, (char *)&um + 16, sizeof node);
    void *next = *node;
    *node = node;
    sink = 1;
    *node = next;
    std::memcpy(&str, &text, sizeof text);
    std::memcpy(&v, saved, sizeof saved);
}

int main()
{
    std::vector<int> v = {1, 2, 3};
    v.reserve(4);
    std::vector<int> empty;
    std::vector<std::string> words = {"one", "two"};
    std::vector<int> big(300, 7);
    std::string s = "hello";
    std::string longer = "a string too long for the small buffer";
    std::string nul("a\0b", 3);
    auto up = std::make_unique<int>(42);
    std::unique_ptr<int> none;
    auto sp = std::make_shared<int>(7);
    std::weak_ptr<int> wp = sp;
    std::shared_ptr<int> sp2 = sp;
    std::shared_ptr<int> nosp;
    std::optional<int> opt = 5;
    std::optional<int> noopt;
    std::map<int, std::string> m = {{1, "a"}, {2, "b"}, {3, "c"}};
    std::map<int, int> many;
    for (int i = 0; i < 150; i++)
        many[i] = i;
    std::unordered_map<int, int> um = {{1, 10}, {2, 20}};
    Inventory inv = {"bolts", {4, 5}, 1.5};
    std::optional<std::vector<int>> ov = std::vector<int>{1, 2};
    std::map<std::string, std::vector<int>> mv = {{"k", {1}}};
    auto us = std::make_unique<std::string>("owned");
    auto sv = std::make_shared<std::vector<int>>(2, 3);
    auto pp = std::make_unique<Point>(Point{1, 2});
    std::set<int> st = {3, 1, 2};
    std::multiset<int> ms = {1, 1};
    std::list<std::string> ls = {"a", "b"};
    std::list<int> els;
    std::unordered_set<int> uset = {5, 6};
    std::wstring ws = L"wide";
    sink = v.size() + empty.size() + words.size() + big.size() + s.size() + longer.size() + nul.size() + *up +
           (none ? 1 : 0) + *sp + wp.use_count() + sp2.use_count() + (nosp ? 1 : 0) + *opt + (noopt ? 1 : 0) +
           m.size() + many.size() + um.size() + inv.counts.size() + ov->size() + mv.size() + us->size() + sv->size() +
           pp->x + st.size() + ms.size() + ls.size() + els.size() + uset.size() + ws.size();

    spoil(v, longer, um);
    return 0;
}
