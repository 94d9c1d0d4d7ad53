#include "dovecot_old_imap.hpp"

namespace testsupport {

namespace {

OldProviderOptions options() {
    OldProviderOptions o;
    o.ssl = false;
    o.extra_config = std::string("namespace inbox {\n"
                                 "  inbox = yes\n"
                                 "  separator = .\n"
                                 "  mailbox \"") +
                     DovecotOldImap::sent_name() +
                     "\" {\n"
                     "    special_use = \\Sent\n"
                     "  }\n"
                     "  mailbox Drafts {\n"
                     "    special_use = \\Drafts\n"
                     "  }\n"
                     "  mailbox Trash {\n"
                     "    special_use = \\Trash\n"
                     "  }\n"
                     "  mailbox Spam {\n"
                     "    special_use = \\Junk\n"
                     "  }\n"
                     "  mailbox Archive {\n"
                     "    special_use = \\Archive\n"
                     "  }\n"
                     "}\n";
    return o;
}

} // namespace

DovecotOldImap::DovecotOldImap() : provider_("old-dovecot", options()) {}

std::string DovecotOldImap::description() const {
    return dovecot_24() ? "Dovecot 2.4, Maildir++, beside INBOX, '.'"
                        : "Dovecot 2.3, Maildir++, beside INBOX, '.'";
}

} // namespace testsupport
