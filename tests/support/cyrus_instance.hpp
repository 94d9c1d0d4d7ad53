// Cyrus IMAP 3.6 (Debian 12's cyrus-imapd) as an old provider, from a cached Debian root (see
// chroot_server.hpp). Users live in a private sasldb; mailboxes are created at first login
// (autocreate). Virtual domains: logins are full addresses.
#pragma once

#include "chroot_server.hpp"
#include "old_imap_server.hpp"

#include <string>
#include <utility>
#include <vector>

namespace testsupport {

enum class CyrusLayout {
    beside_inbox, // altnamespace: yes, unixhierarchysep: yes: "Sent", "Archive/2023"
    under_inbox,  // the classic namespace: "INBOX.Sent", "INBOX.Archive.2023"
};

class CyrusInstance : public OldImapServer {
public:
    explicit CyrusInstance(CyrusLayout layout);
    ~CyrusInstance() override = default;

    // Before start(). The password reaches the sasldb through a 0600 file the start script
    // reads and deletes (never a command line).
    // The Debian packages of its root (see debian_test_root()).
    static std::vector<std::string> root_packages();

    void add_user(const std::string &address, const std::string &password);
    void start();
    void stop() override { server_.stop(); }

    std::string description() const override;
    int port() const override { return port_; }
    std::string personal_prefix() const override;
    char separator() const override;
    bool marks_special_use() const override { return true; }
    std::string log() const override { return server_.log(); }

private:
    CyrusLayout layout_;
    int port_;
    ChrootServer server_;
    std::vector<std::pair<std::string, std::string>> users_;
};

} // namespace testsupport
