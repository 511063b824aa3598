// C++ std::thread with a std::mutex-protected map and an atomic counter.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

int main() {
    std::mutex m;
    std::map<int, long> seen;
    std::atomic<long> hits{0};
    std::vector<std::thread> workers;
    for (int id = 0; id < 4; id++) {
        workers.emplace_back([&, id] {
            for (int i = 0; i < 20; i++) {
                {
                    std::lock_guard<std::mutex> g(m);
                    seen[id * 100 + i] = std::chrono::steady_clock::now().time_since_epoch().count() % 1000003;
                }
                hits++;
                std::this_thread::yield();
            }
        });
    }
    for (auto &t : workers)
        t.join();
    long check = 0;
    for (auto &kv : seen)
        check = check * 7 + kv.second;
    std::printf("entries %zu hits %ld check %ld\n", seen.size(), hits.load(), check);
    return 0;
}
