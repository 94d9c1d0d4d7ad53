// Reading what doveadm prints for the dsync engine. A rejected login at the old provider makes
// doveadm 2.3 abort (exit 134, an assertion in lib-event) after printing its error lines, so
// the outcome is decided from those lines, not from the exit code alone.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

class DsyncLog {
public:
    // One line of doveadm's stderr.
    void feed(std::string_view line);

    // The error lines without their "dsync(user): Error: " prefix, for the task's last error.
    const std::vector<std::string> &errors() const { return errors_; }
    // The old provider refused the login (AUTHENTICATIONFAILED or a plain rejection), as opposed
    // to a temporary refusal ([UNAVAILABLE]) or any other error.
    bool old_login_rejected() const { return old_login_rejected_; }
    // "err1; err2", or a description of the exit status when doveadm printed no error.
    std::string describe_failure(int wait_status) const;

private:
    std::vector<std::string> errors_;
    bool old_login_rejected_ = false;
};

struct FolderCount {
    std::string name;
    int64_t messages = 0;
    int64_t vsize = 0;
};

// `doveadm mailbox status 'messages vsize' '*'` output: "NAME messages=N vsize=N" per line.
std::vector<FolderCount> parse_mailbox_status(std::string_view output);
// `doveadm mailbox status uidvalidity '*'` output: "NAME uidvalidity=N" per line.
std::map<std::string, uint32_t> parse_mailbox_uidvalidity(std::string_view output);
// `doveadm mailbox list` output: one name per line.
std::vector<std::string> parse_mailbox_list(std::string_view output);

} // namespace imapmig
