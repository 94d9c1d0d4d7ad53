// run_offlineimap against a fake offlineimap (a shell script): the engine contract on top of the
// process supervisor, without servers.
#include "sync/offlineimap/offlineimap_sync.hpp"

#include "catch_compat.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace imapmig;
namespace fs = std::filesystem;

namespace {

// The old provider as the run's folder plan meets it before offlineimap starts: it refuses
// every login, which leaves the plan empty and the login to offlineimap (the fake below).
class RefusingImapServer {
public:
    RefusingImapServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr *>(&a), len) == 0);
        REQUIRE(::listen(fd_, 4) == 0);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len) == 0);
        port = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~RefusingImapServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    int port = 0;

private:
    void serve() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0)
                continue;
            const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0)
                continue;
            send_text(c, "* OK fake\r\n");
            std::string buf;
            char chunk[512];
            for (ssize_t n; !stop_ && (n = ::read(c, chunk, sizeof chunk)) > 0;) {
                buf.append(chunk, static_cast<size_t>(n));
                for (size_t eol; (eol = buf.find("\r\n")) != std::string::npos;) {
                    const std::string tag = buf.substr(0, buf.find(' '));
                    buf.erase(0, eol + 2);
                    send_text(c, tag + " NO [AUTHENTICATIONFAILED] refused\r\n");
                }
            }
            ::close(c);
        }
    }
    static void send_text(int c, const std::string &s) { (void)!::write(c, s.data(), s.size()); }
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

struct FakeRun {
    explicit FakeRun(const std::string &script) {
        char tmpl[] = "/tmp/imapmig-fakeoi-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        config.local_imap = LocalImapConfig{"127.0.0.1", 1143, "imap-migrator", "/etc/m.pass"};
        config.sync.offlineimap = dir + "/offlineimap";
        config.sync.state_dir = dir + "/state";
        config.sync.runtime_dir = dir + "/run";
        provider.name = "oldmail";
        provider.host = "127.0.0.1";
        provider.port = old_server.port;
        provider.security = TlsMode::none;
        task.id = 7;
        task.old_login = "bob@old.example";
        task.local_user = "bob@new.example";
        task.sync_identity = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";
        std::ofstream(config.sync.offlineimap) << "#!/bin/sh\n" << script;
        ::chmod(config.sync.offlineimap.c_str(), 0700);
    }
    ~FakeRun() { fs::remove_all(dir); }
    SyncReport run(const std::atomic<bool> &cancel, const ProgressCallback &progress = {}) {
        SyncRequest rq{config, provider, task, SecretString("S3cret-old"),
                       SecretString("M4ster-pw")};
        return run_offlineimap(rq, cancel, progress);
    }
    RefusingImapServer old_server;
    std::string dir;
    Config config;
    ProviderConfig provider;
    ClaimedTask task;
};

} // namespace

TEST_CASE("offlineimap run: the passwords come through fd 3 and never back in the error",
          "[unit]") {
    // Echoes what it was given into its error lines, as a careless program might.
    FakeRun fake("doc=$(cat <&3)\n"
                 "echo \"error::Account+sync+migration7:ERROR%3A+got+$doc\"\n"
                 "echo \"Traceback: $doc\"\n"
                 "exit 1\n");
    std::atomic<bool> cancel{false};
    SyncReport r = fake.run(cancel);
    CHECK(r.outcome == SyncOutcome::failed);
    INFO(r.error);
    CHECK(r.error.find("ERROR: got") != std::string::npos);
    CHECK(r.error.find("migration7-old") != std::string::npos); // the document did arrive
    CHECK(r.error.find("S3cret-old") == std::string::npos);
    CHECK(r.error.find("M4ster-pw") == std::string::npos);
    // Nothing of the run is left in the runtime dir.
    CHECK(fs::is_empty(fake.config.sync.runtime_dir));
}

TEST_CASE("offlineimap run: a stop request and a lost lease end the run at once", "[unit]") {
    FakeRun fake("exec sleep 30\n");
    SECTION("cancelled") {
        std::atomic<bool> cancel{true};
        SyncReport r = fake.run(cancel);
        CHECK(r.outcome == SyncOutcome::cancelled);
        CHECK(r.duration < std::chrono::seconds(20)); // the fake sleeps 30 s; CI may be loaded
    }
    SECTION("lease lost") {
        std::atomic<bool> cancel{false};
        SyncReport r = fake.run(cancel, [](const SyncProgress &) { return false; });
        CHECK(r.outcome == SyncOutcome::lease_lost);
        CHECK(r.duration < std::chrono::seconds(20));
    }
}

TEST_CASE("offlineimap run: a locked account is busy, not failed", "[unit]") {
    FakeRun fake("echo 'error::Account+sync+migration7:ERROR%3A+Could+not+lock+account+"
                 "migration7.'\nexit 1\n");
    std::atomic<bool> cancel{false};
    CHECK(fake.run(cancel).outcome == SyncOutcome::busy);
}
