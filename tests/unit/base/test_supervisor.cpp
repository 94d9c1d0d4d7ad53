// The process supervisor with real small programs (sh, cat, sleep).
#include "base/supervisor.hpp"

#include "catch_compat.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

using namespace imapmig;
using namespace std::chrono_literals;

namespace {

ProgramSpec shell(const std::string &script) {
    ProgramSpec spec;
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {"PATH=/usr/bin:/bin"};
    return spec;
}

// Alive and not a zombie waiting for a reaper.
bool running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return false;
    const auto paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (running(pid) && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    return !running(pid);
}

} // namespace

TEST_CASE("supervisor: stdout and stderr arrive line by line, the last line without newline too",
          "[unit]") {
    std::vector<std::string> out, err;
    auto spec = shell("echo one; echo two >&2; printf 'three\\nfour'");
    spec.on_stdout = [&](std::string_view l) { out.emplace_back(l); };
    spec.on_stderr = [&](std::string_view l) { err.emplace_back(l); };
    auto r = run_program(spec);
    REQUIRE(r);
    CHECK(r.value().exited_ok());
    CHECK(r.value().end == ProgramEnd::exited);
    CHECK(r.value().error.empty());
    CHECK(out == std::vector<std::string>{"one", "three", "four"});
    CHECK(err == std::vector<std::string>{"two"});
}

TEST_CASE("supervisor: merged output keeps the order written", "[unit]") {
    std::vector<std::string> lines;
    auto spec = shell("echo a; echo b >&2; echo c");
    spec.stderr_to_stdout = true;
    spec.on_stdout = [&](std::string_view l) { lines.emplace_back(l); };
    REQUIRE(run_program(spec));
    CHECK(lines == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("supervisor: a failure's error text names the status and the last stderr lines, "
          "secrets scrubbed",
          "[unit]") {
    auto spec = shell("echo 'LOGIN bob s3cr3t-pw failed' >&2; echo 'master m4ster' >&2; exit 3");
    spec.secrets = {"s3cr3t-pw", "m4ster"};
    auto r = run_program(spec);
    REQUIRE(r);
    CHECK_FALSE(r.value().exited_ok());
    CHECK(r.value().exit_code() == 3);
    const std::string &e = r.value().error;
    CHECK(e.find("sh exited with status 3") != std::string::npos);
    CHECK(e.find("LOGIN bob *** failed") != std::string::npos);
    CHECK(e.find("s3cr3t-pw") == std::string::npos);
    CHECK(e.find("m4ster") == std::string::npos);
    CHECK(scrub("a pw pw b", std::vector<std::string_view>{"pw", ""}) == "a *** *** b");
}

TEST_CASE("supervisor: a secret input reaches the child as a pipe, an inherited fd as asked",
          "[unit]") {
    std::string out;
    int lock[2];
    REQUIRE(::pipe2(lock, O_CLOEXEC) == 0);
    Fd lock_read(lock[0]), lock_write(lock[1]);
    auto spec = shell("cat <&4; echo; readlink /proc/self/fd/3 >/dev/null && echo fd3");
    spec.inputs.push_back({4, SecretString("the password")});
    spec.fds.push_back({lock_read.get(), 3});
    spec.on_stdout = [&](std::string_view l) { (out += l) += '\n'; };
    auto r = run_program(spec);
    REQUIRE(r);
    CHECK(r.value().exited_ok());
    CHECK(out == "the password\nfd3\n");
}

TEST_CASE("supervisor: no other descriptor of this process leaks into the child", "[unit]") {
    Fd stray(::open("/dev/null", O_RDONLY)); // no O_CLOEXEC
    REQUIRE(stray.get() > 2);
    std::vector<std::string> fds;
    auto spec = shell("exec ls /proc/self/fd");
    spec.on_stdout = [&](std::string_view l) { fds.emplace_back(l); };
    REQUIRE(run_program(spec));
    CHECK(fds == std::vector<std::string>{"0", "1", "2", "3"}); // 3: ls reading the directory
}

TEST_CASE("supervisor: the program starts with no blocked signal and default dispositions",
          "[unit]") {
    // As the worker does for its signalfd.
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &set, &old);
    struct sigaction ign {
    }, old_usr1{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGUSR1, &ign, &old_usr1);
    std::vector<std::string> lines;
    auto spec = shell("exec grep -E '^Sig(Blk|Ign)' /proc/self/status");
    spec.on_stdout = [&](std::string_view l) { lines.emplace_back(l); };
    auto r = run_program(spec);
    ::sigaction(SIGUSR1, &old_usr1, nullptr);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    REQUIRE(r);
    CHECK(lines ==
          std::vector<std::string>{"SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"});
}

TEST_CASE("supervisor: timeout, cancel and a tick that says stop end the run promptly", "[unit]") {
    // Well before the program's own 30 s, with room for a loaded CI machine: what is checked is
    // that the run was ended, not how fast.
    constexpr auto ended_early = 20s;
    SECTION("timeout") {
        auto spec = shell("sleep 30");
        spec.timeout = 300ms;
        auto r = run_program(spec);
        REQUIRE(r);
        CHECK(r.value().end == ProgramEnd::timed_out);
        CHECK(r.value().duration < ended_early);
        CHECK(r.value().error.find("did not finish") != std::string::npos);
    }
    SECTION("cancel from another thread") {
        std::atomic<bool> cancel{false};
        auto spec = shell("sleep 30");
        spec.cancel = &cancel;
        std::thread t([&] {
            std::this_thread::sleep_for(200ms);
            cancel = true;
        });
        auto r = run_program(spec);
        t.join();
        REQUIRE(r);
        CHECK(r.value().end == ProgramEnd::cancelled);
        CHECK(WIFSIGNALED(r.value().status));
        CHECK(WTERMSIG(r.value().status) == SIGTERM);
        CHECK(r.value().duration < ended_early);
    }
    SECTION("cancelled before the program has even started: it still gets its SIGTERM") {
        std::atomic<bool> cancel{true};
        for (int i = 0; i < 5; ++i) {
            auto spec = shell("exec sleep 30");
            spec.cancel = &cancel;
            auto r = run_program(spec);
            REQUIRE(r);
            CHECK(r.value().end == ProgramEnd::cancelled);
            CHECK(WIFSIGNALED(r.value().status));
            CHECK(WTERMSIG(r.value().status) == SIGTERM);
            CHECK(r.value().duration < ended_early);
        }
    }
    SECTION("tick") {
        int ticks = 0;
        auto spec = shell("sleep 30");
        spec.tick_interval = 100ms;
        spec.on_tick = [&] { return ++ticks < 3; };
        auto r = run_program(spec);
        REQUIRE(r);
        CHECK(r.value().end == ProgramEnd::stopped);
        CHECK(ticks == 3);
        CHECK(r.value().duration < ended_early);
    }
    SECTION("a program that ignores SIGTERM is killed after the grace time") {
        std::atomic<bool> cancel{false};
        auto spec = shell("trap '' TERM; echo ready; sleep 30");
        spec.on_stdout = [&](std::string_view l) { cancel = l == "ready"; };
        spec.cancel = &cancel;
        spec.stop_grace = 300ms;
        auto r = run_program(spec);
        REQUIRE(r);
        CHECK(r.value().end == ProgramEnd::cancelled);
        CHECK(WIFSIGNALED(r.value().status));
        CHECK(WTERMSIG(r.value().status) == SIGKILL);
        CHECK(r.value().duration < ended_early);
    }
}

TEST_CASE("supervisor: a program that cannot be started exits 127", "[unit]") {
    ProgramSpec spec;
    spec.argv = {"/nonexistent/program"};
    auto r = run_program(spec);
    REQUIRE(r);
    CHECK(r.value().exit_code() == 127);
}

TEST_CASE("run_captured collects both streams", "[unit]") {
    auto c = run_captured(shell("echo out; echo err >&2; exit 2"), 10s);
    REQUIRE(c);
    CHECK(c.value().out == "out\n");
    CHECK(c.value().err == "err\n");
    CHECK_FALSE(c.value().exited_ok());
    auto slow = run_captured(shell("sleep 30"), 1s);
    REQUIRE_FALSE(slow);
    CHECK(slow.error().kind == ErrorKind::temporary);
}

// The worker SIGKILLed: its children go too, also one that switched user (the kernel drops a
// parent-death signal then, as with doveadm -u).
TEST_CASE("supervisor: children do not outlive a parent killed outright", "[unit]") {
    const bool root = ::geteuid() == 0;
    const std::string script = root ? "echo $$; exec setpriv --reuid=65534 --regid=65534 "
                                      "--clear-groups sleep 60"
                                    : "echo $$; exec sleep 60";
    int report[2];
    REQUIRE(::pipe(report) == 0);
    // The "worker": blocks SIGTERM like the real one, starts the child, dies by SIGKILL.
    const pid_t worker = ::fork();
    REQUIRE(worker >= 0);
    if (worker == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        ::sigprocmask(SIG_BLOCK, &set, nullptr);
        SpawnSpec s;
        s.argv = {"/bin/sh", "-c", script};
        s.env = {"PATH=/usr/bin:/bin"};
        s.fds = {{report[1], 1}};
        s.orphan_grace = std::chrono::seconds(1);
        auto child = spawn_child(s);
        if (child) {
            std::this_thread::sleep_for(300ms); // the program runs as 65534 by now
            ::kill(::getpid(), SIGKILL);
        }
        ::_exit(1);
    }
    ::close(report[1]);
    char buf[32] = {};
    const ssize_t n = ::read(report[0], buf, sizeof buf - 1);
    ::close(report[0]);
    int status = 0;
    ::waitpid(worker, &status, 0);
    REQUIRE(n > 0);
    const pid_t program = static_cast<pid_t>(std::stol(buf));
    CHECK(WIFSIGNALED(status));
    CHECK(gone_within(program, 5s));
    if (running(program))
        ::kill(program, SIGKILL);
}

TEST_CASE("scrub hides a secret in error texts", "[unit]") {
    CHECK(scrub("login pw123 failed, pw123 again", "pw123") == "login *** failed, *** again");
    CHECK(scrub("nothing here", "") == "nothing here");
}
