// Dovecot as an old provider for the fidelity tests (test_providers.cpp), beside Cyrus and
// Courier: the layout most hosted Dovecots have (Maildir++, folders beside INBOX with '.'),
// with its special-use folders declared in its configuration, as Debian's 15-mailboxes.conf
// does, under the names a German Outlook user leaves behind.
#pragma once

#include "dovecot_instance.hpp"
#include "old_imap_server.hpp"

#include <string>

namespace testsupport {

class DovecotOldImap : public OldImapServer {
public:
    DovecotOldImap();
    ~DovecotOldImap() override = default;

    // The \Sent folder's name in its configuration, to seed the corpus with.
    static const char *sent_name() { return "Gesendete Elemente"; }

    void add_user(const std::string &address, const std::string &password) {
        provider_.add_user(address, password);
    }
    void start() { provider_.start(); }
    void stop() override { provider_.stop(); }

    std::string description() const override;
    int port() const override { return provider_.imap_port(); }
    std::string personal_prefix() const override { return ""; }
    char separator() const override { return '.'; }
    // The configuration marks them; CREATE ... USE would need a metadata dict.
    bool marks_special_use() const override { return false; }
    std::string log() const override { return provider_.dovecot().log(); }

private:
    OldProvider provider_;
};

} // namespace testsupport
