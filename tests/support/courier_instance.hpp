// Courier IMAP 5 (Debian 12's courier-imap) as an old provider, from a cached Debian root (see
// chroot_server.hpp): authdaemond with a userdb, Maildirs under the instance dir. Its only
// layout is everything under "INBOX." with '.'; it cannot mark special-use folders.
#pragma once

#include "chroot_server.hpp"
#include "old_imap_server.hpp"

#include <string>
#include <utility>
#include <vector>

namespace testsupport {

class CourierInstance : public OldImapServer {
public:
    CourierInstance();
    ~CourierInstance() override = default;

    // Before start(); as with Cyrus, the password goes through a 0600 file read and deleted by
    // the start script (userdbpw hashes it).
    // The Debian packages of its root (see debian_test_root()).
    static std::vector<std::string> root_packages();

    void add_user(const std::string &address, const std::string &password);
    void start();
    void stop() override { server_.stop(); }

    std::string description() const override { return "Courier IMAP 5, under INBOX., '.'"; }
    int port() const override { return port_; }
    std::string personal_prefix() const override { return "INBOX."; }
    char separator() const override { return '.'; }
    bool marks_special_use() const override { return false; }
    std::string log() const override { return server_.log(); }

private:
    int port_;
    ChrootServer server_;
    std::vector<std::pair<std::string, std::string>> users_;
};

} // namespace testsupport
