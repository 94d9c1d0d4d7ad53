// A TCP proxy on 127.0.0.1 that holds back every IMAP LOGIN/AUTHENTICATE command for a fixed
// delay before passing it on: an old provider that answers logins slowly, as a busy remote one
// does, without slowing the rest of the protocol. Plain IMAP only (it reads the commands).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace testsupport {

class DelayProxy {
public:
    DelayProxy(int target_port, std::chrono::milliseconds login_delay);
    ~DelayProxy(); // closes every connection and waits for its threads
    DelayProxy(const DelayProxy &) = delete;
    DelayProxy &operator=(const DelayProxy &) = delete;

    int port() const { return port_; }
    long delayed_commands() const { return delayed_.load(); }
    long connections() const { return accepted_.load(); }

private:
    void accept_loop();
    void serve(int client);
    void pump(int from, int to, bool delay_logins);
    void forget(int fd);

    int target_port_;
    std::chrono::milliseconds delay_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<long> delayed_{0}, accepted_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::condition_variable idle_;
    std::set<int> open_fds_;
    int active_threads_ = 0;
};

} // namespace testsupport
