// A man in the middle for plain IMAP on 127.0.0.1: it removes STARTTLS from every CAPABILITY
// the server sends (greeting code and untagged reply) and answers a client's STARTTLS itself
// with BAD, so the client either refuses to go on or talks in clear. Other capabilities can be
// stripped the same way (AUTH=PLAIN: a provider that offers only the LOGIN command). It records
// everything the client sends, which is what an eavesdropper would read, for the test to search.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

class StartTlsStripProxy {
public:
    explicit StartTlsStripProxy(int target_port, std::vector<std::string> strip = {"STARTTLS"});
    ~StartTlsStripProxy(); // closes every connection, joins every thread
    StartTlsStripProxy(const StartTlsStripProxy &) = delete;
    StartTlsStripProxy &operator=(const StartTlsStripProxy &) = delete;

    int port() const { return port_; }
    int connections() const { return connections_.load(); }
    // Every byte clients sent through the proxy, in order.
    std::string client_bytes() const;
    // Command verbs clients sent (upper-case), e.g. CAPABILITY, STARTTLS, LOGIN.
    std::vector<std::string> client_verbs() const;

private:
    void accept_loop();
    void serve(int client);

    int target_port_;
    std::vector<std::string> strip_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::string client_bytes_;
    std::vector<std::string> verbs_;
    std::vector<int> fds_;
    std::vector<std::thread> threads_;
    std::thread acceptor_;
};

} // namespace testsupport
