// WorkThreads when work or a completion throws: no thread ends the process, no completion is
// lost, and the failure reaches the loop's owner (in the auth process: Dovecot's ioloop guard,
// which answers the logins in flight).
#include "loop/guarded.hpp"
#include "loop/poll_loop.hpp"
#include "loop/work_threads.hpp"

#include "catch_compat.hpp"

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace imapmig;

TEST_CASE("WorkThreads: work that throws still completes", "[unit]") {
    PollLoop loop;
    WorkThreads threads(loop, 1);
    std::optional<int> result;
    bool done = false;
    threads.submit([] { throw std::runtime_error("hashing broke"); }, [&] { done = true; });
    threads.submit([&] { result = 1; }, [] {});
    CHECK(loop.run_until([&] { return done; }));
    CHECK(loop.run_until([&] { return result.has_value(); })); // the thread lives on
}

TEST_CASE("WorkThreads: a completion that throws keeps none of the others from running", "[unit]") {
    PollLoop loop;
    WorkThreads threads(loop, 1);
    std::vector<int> completed;
    std::atomic<int> worked{0};
    // One thread, three jobs: all finished before the loop looks, so one batch.
    threads.submit([&] { ++worked; }, [&] { completed.push_back(0); });
    threads.submit([&] { ++worked; },
                   [&] {
                       completed.push_back(1);
                       throw std::runtime_error("continuation broke");
                   });
    threads.submit([&] { ++worked; }, [&] { completed.push_back(2); });
    while (worked < 3)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::string failure;
    run_guarded([&] { loop.run_until([&] { return completed.size() == 3; }); },
                [&](const std::string &what) { failure = what; });
    CHECK(completed == std::vector<int>{0, 1, 2});
    CHECK(failure == "work completion: continuation broke");
}

TEST_CASE("run_guarded turns any exception into one call of fail", "[unit]") {
    std::vector<std::string> failures;
    auto fail = [&](const std::string &what) { failures.push_back(what); };
    run_guarded([] {}, fail);
    run_guarded([] { throw std::runtime_error("boom"); }, fail);
    run_guarded([] { throw 42; }, fail);
    run_guarded([] { throw std::runtime_error("again"); },
                [](const std::string &) { throw std::runtime_error("fail itself broke"); });
    CHECK(failures == std::vector<std::string>{"boom", "unknown exception"});
}
