#include "chroot_server.hpp"

#include "migration_env.hpp"
#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <future>
#include <map>
#include <mutex>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace testsupport {

namespace {

// Runs inside `unshare -m -p -f --kill-child`: nothing mounted here is seen by the host, and
// the server is pid 1 of its own pid namespace, so that killing unshare takes down every process
// the server started, including daemons that detach (Courier's gam_server). The root is bound onto
// itself so that it can be made read-only (the cached root is shared by every run and every
// instance); writable are only the instance dir (/srv), /run, /tmp and /dev (tmpfs).
const char *const launch_script = R"(set -eu
R=$1; I=$2; START=$3; shift 3
mount --bind "$R" "$R"
mount -o remount,bind,ro "$R"
mount --bind "$I" "$R/srv"
while [ $# -ge 2 ]; do mount --bind "$I/$1" "$R$2"; shift 2; done
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$R/dev"
for d in null zero full random urandom tty; do
  touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"
done
touch "$R/dev/log"; mount --bind "$I/syslog.sock" "$R/dev/log"
exec chroot "$R" "$START"
)";

} // namespace

namespace {

std::mutex made_mutex;
std::map<std::vector<std::string>, std::string> made_roots;

} // namespace

std::string debian_test_root(const std::vector<std::string> &packages) {
    {
        std::lock_guard<std::mutex> lock(made_mutex);
        if (auto it = made_roots.find(packages); it != made_roots.end())
            return it->second;
    }
    // The script serialises callers of one root itself (a lock per root).
    std::vector<std::string> argv{source_root() + "/scripts/make-test-root.sh"};
    argv.insert(argv.end(), packages.begin(), packages.end());
    auto r = run(argv, {}, {}, 30 * 60 * 1000);
    std::string path = r.out;
    while (!path.empty() && (path.back() == '\n' || path.back() == ' '))
        path.pop_back();
    if (r.exit_code != 0 || path.empty())
        throw std::runtime_error("scripts/make-test-root.sh failed (exit " +
                                 std::to_string(r.exit_code) + "): " + r.err);
    std::lock_guard<std::mutex> lock(made_mutex);
    made_roots[packages] = path;
    return path;
}

void prepare_debian_test_roots(const std::vector<std::vector<std::string>> &package_sets) {
    std::vector<std::future<std::string>> pending;
    for (const auto &packages : package_sets)
        pending.push_back(std::async(std::launch::async, debian_test_root, packages));
    for (auto &p : pending)
        p.get(); // rethrows the first failure
}

ChrootServer::ChrootServer(ChrootServerOptions options)
    : options_(std::move(options)), dir_("imapmig-" + options_.name) {}

ChrootServer::~ChrootServer() {
    stop();
}

void ChrootServer::start() {
    if (pid_ > 0)
        return;
    const std::string sock = dir_.file("syslog.sock");
    ::unlink(sock.c_str());
    syslog_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (sock.size() >= sizeof addr.sun_path)
        throw std::runtime_error("syslog socket path too long: " + sock);
    std::strcpy(addr.sun_path, sock.c_str());
    if (syslog_fd_ < 0 || ::bind(syslog_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        throw std::runtime_error("syslog socket " + sock + ": " + std::strerror(errno));
    ::chmod(sock.c_str(), 0666); // the servers log as their own users
    syslog_stop_ = false;
    syslog_thread_ = std::thread([this] { syslog_loop(); });

    const std::string launcher = dir_.file("launch.sh");
    write_file(launcher, launch_script, 0755);
    // setsid: a session of its own. Courier's authdaemond signals its whole process group when
    // it stops (kill(0, SIGTERM)), which would otherwise be this test binary's.
    std::vector<std::string> argv{"setsid",
                                  "unshare",
                                  "-m",
                                  "-p",
                                  "-f",
                                  "--kill-child",
                                  "--propagation",
                                  "private",
                                  "/bin/sh",
                                  launcher,
                                  options_.root,
                                  dir_.path(),
                                  options_.start_command};
    for (const auto &[inside_dir, target] : options_.binds) {
        argv.push_back(inside_dir);
        argv.push_back(target);
    }
    SpawnOptions so;
    so.output_path = log_path();
    pid_ = spawn(argv, so);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        if (child_exited(pid_)) {
            pid_ = 0;
            stop();
            throw std::runtime_error(options_.name + " exited at start:\n" + file_tail(log_path()));
        }
        if (wait_for_tcp(options_.port, 200))
            return;
    }
    stop();
    throw std::runtime_error(options_.name + " did not listen on port " +
                             std::to_string(options_.port) + " within 60 s:\n" +
                             file_tail(log_path()));
}

void ChrootServer::stop() {
    if (pid_ > 0) {
        // The pid we spawned is unshare: its end kills its pid namespace (--kill-child), the
        // server and everything it started. The descendants by pid as well, in case.
        const auto family = descendants(pid_);
        for (pid_t p : family)
            ::kill(p, SIGTERM);
        stop_child(pid_, SIGTERM, 3000);
        if (!wait_pids_gone(family, 3000))
            for (pid_t p : family)
                ::kill(p, SIGKILL);
        wait_pids_gone(family, 3000);
        pid_ = 0;
    }
    if (syslog_thread_.joinable()) {
        syslog_stop_ = true;
        syslog_thread_.join();
    }
    if (syslog_fd_ >= 0) {
        ::close(syslog_fd_);
        syslog_fd_ = -1;
    }
}

std::string ChrootServer::log() const {
    return read_file_or_empty(log_path());
}

void ChrootServer::syslog_loop() {
    const int out = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    char buf[65536];
    while (!syslog_stop_) {
        pollfd p{syslog_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = ::recv(syslog_fd_, buf, sizeof buf - 1, 0);
        if (n <= 0 || out < 0)
            continue;
        buf[n++] = '\n';
        if (::write(out, buf, static_cast<size_t>(n)) < 0)
            break;
    }
    if (out >= 0)
        ::close(out);
}

} // namespace testsupport
