// PollLoop (the blocking login path's loop) and WorkThreads (hashing off the auth ioloop).
#include "loop/poll_loop.hpp"
#include "loop/work_threads.hpp"

#include "catch_compat.hpp"

#include <atomic>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace imapmig;
using namespace std::chrono_literals;

TEST_CASE("PollLoop fires timers in order, once, and not after cancellation", "[unit]") {
    PollLoop loop;
    std::vector<int> fired;
    auto late = loop.after(30ms, [&] { fired.push_back(30); });
    auto early = loop.after(5ms, [&] { fired.push_back(5); });
    auto cancelled = loop.after(10ms, [&] { fired.push_back(10); });
    cancelled.reset();
    CHECK(loop.run_until([&] { return fired.size() == 2; }));
    CHECK(fired == std::vector<int>{5, 30});
    // Fired timers are one-shot: nothing is left to wait for.
    CHECK_FALSE(loop.run_until([] { return false; }));
}

TEST_CASE("PollLoop watches a descriptor until its handle goes", "[unit]") {
    PollLoop loop;
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    int reads = 0;
    std::unique_ptr<EventLoop::Handle> watch;
    watch = loop.watch(fds[0], EventLoop::Ready::read, [&] {
        char c;
        REQUIRE(read(fds[0], &c, 1) == 1);
        if (++reads == 2)
            watch.reset(); // a callback may drop its own watch
    });
    auto writer = loop.after(1ms, [&] { REQUIRE(write(fds[1], "ab", 2) == 2); });
    CHECK(loop.run_until([&] { return reads == 2; }));
    CHECK_FALSE(loop.run_until([] { return false; })); // the watch is gone
    close(fds[0]);
    close(fds[1]);
}

TEST_CASE("WorkThreads run work off the loop and complete on it in order of finishing", "[unit]") {
    PollLoop loop;
    WorkThreads threads(loop, 2);
    const auto loop_thread = std::this_thread::get_id();
    std::atomic<int> off_loop{0};
    std::vector<int> done;
    for (int i = 0; i < 6; ++i)
        threads.submit(
            [&, i] {
                if (std::this_thread::get_id() != loop_thread)
                    ++off_loop;
                std::this_thread::sleep_for(std::chrono::milliseconds(i == 0 ? 40 : 1));
            },
            [&, i] {
                CHECK(std::this_thread::get_id() == loop_thread);
                done.push_back(i);
            });
    CHECK(loop.run_until([&] { return done.size() == 6; }));
    CHECK(off_loop == 6);
    CHECK(done.back() == 0); // the slow one finished last, the others did not wait for it
}

TEST_CASE("WorkThreads::stop joins and drops completions not yet delivered", "[unit]") {
    PollLoop loop;
    WorkThreads threads(loop, 1);
    std::atomic<int> ran{0};
    int completed = 0;
    for (int i = 0; i < 3; ++i)
        threads.submit([&] { ++ran; }, [&] { ++completed; });
    while (ran < 1)
        std::this_thread::sleep_for(1ms);
    threads.stop();
    const int ran_at_stop = ran;
    threads.submit([&] { ++ran; }, [&] { ++completed; }); // refused after stop
    bool ticked = false;
    auto tick = loop.after(20ms, [&] { ticked = true; });
    CHECK(loop.run_until([&] { return ticked; }));
    CHECK(completed == 0);
    CHECK(ran == ran_at_stop);
}
