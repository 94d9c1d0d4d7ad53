// Servers that cannot be installed beside this machine's Dovecot (Cyrus, Courier: they all
// provide imap-server), run from a cached Debian root (scripts/make-test-root.sh) in a private
// mount namespace: the root read-only, the instance dir on /srv, private /run /tmp /dev, syslog
// caught into the instance's log. The network is the host's: servers listen on 127.0.0.1 ports
// and are stopped by pid, like the other test servers.
#pragma once

#include "temp_dir.hpp"

#include <atomic>
#include <string>
#include <sys/types.h>
#include <thread>
#include <utility>
#include <vector>

namespace testsupport {

// The path of a Debian root holding packages (built on first use, then cached across runs by
// scripts/make-test-root.sh; a clean machine pays a minute or more per package set). Throws
// std::runtime_error with the script's output when it cannot be made (no mmdebstrap, no mirror).
std::string debian_test_root(const std::vector<std::string> &packages);
// Makes several roots side by side (a clean machine then waits for the slowest, not the sum).
void prepare_debian_test_roots(const std::vector<std::vector<std::string>> &package_sets);

struct ChrootServerOptions {
    std::string name; // for messages and the temp dir name
    std::string root; // from debian_test_root()
    // Files or dirs of the instance dir bound over paths of the root (relative to the instance
    // dir -> absolute inside the root), e.g. {"imapd.conf", "/etc/imapd.conf"}.
    std::vector<std::pair<std::string, std::string>> binds;
    // Run inside the root as root (path inside the root, e.g. /srv/start.sh); it must end by
    // exec'ing the server in the foreground, so that the spawned pid is the server's.
    std::string start_command = "/srv/start.sh";
    int port = 0; // start() waits until 127.0.0.1:port accepts connections
};

class ChrootServer {
public:
    explicit ChrootServer(ChrootServerOptions options);
    ~ChrootServer(); // stop(); the instance dir goes with its TempDir
    ChrootServer(const ChrootServer &) = delete;
    ChrootServer &operator=(const ChrootServer &) = delete;

    // Instance dir on the host; it is /srv inside the root.
    const std::string &dir() const { return dir_.path(); }
    // Spawns the server and waits up to 60 s for its port; throws with the log tail otherwise.
    void start();
    // SIGTERM to the server and its descendants, SIGKILL after 3 s. No-op when stopped.
    void stop();
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    // stdout/stderr of the start command and every syslog line of the servers inside.
    std::string log() const;
    std::string log_path() const { return dir_.file("server.log"); }

private:
    void syslog_loop();

    ChrootServerOptions options_;
    TempDir dir_;
    pid_t pid_ = 0;
    int syslog_fd_ = -1;
    std::atomic<bool> syslog_stop_{false};
    std::thread syslog_thread_;
};

} // namespace testsupport
