/* libstdc++ containers made corrupt, for the pretty printers' bounds:
 * `main` breaks them, says "ready" and spins. */
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <string>
#include <vector>

volatile int spin = 1;

/* Writes a pointer-sized word at `offset` bytes into `object`. */
static void poke(void *object, size_t offset, long value)
{
    std::memcpy((char *)object + offset, &value, sizeof value);
}

static long peek(void *object, size_t offset)
{
    long value;
    std::memcpy(&value, (char *)object + offset, sizeof value);
    return value;
}

int main()
{
    std::map<int, int> tree = {{1, 1}, {2, 2}, {3, 3}};
    std::vector<int> huge = {1, 2, 3};
    std::string endless = "text";
    std::list<int> ring = {1, 2};
    /* The tree's header is at 8: parent at 16, leftmost at 24. Node 1's
     * right goes to node 3, whose left goes to itself: the walk from 1
     * to the next node never ends. */
    long one = peek(&tree, 24), root = peek(&tree, 16);
    long three = peek((void *)root, 24);
    poke((void *)one, 24, three);
    poke((void *)three, 16, three);
    /* A vector of 2^40 ints in mapped memory; a string of 2^50
     * characters; a list that says it holds 2^40 elements, in a ring of 2. */
    poke(&huge, 8, peek(&huge, 0) + (4L << 40));
    poke(&endless, 8, 1L << 50);
    poke(&ring, 16, 1L << 40);
    printf("ready\n");
    fflush(stdout);
    while (spin) { /* @containers_spin */
    }
    return 0;
}
