// Reads offlineimap's machine-readable UI (`-u machineui`): one line per event,
// `severity:command:thread:payload`, thread and payload URL-encoded, payload fields split by
// "%0A". Its exit code is 0 even after a failed login, so success is decided from what it
// reported here.
#pragma once

#include "sync/sync_progress.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

class MachineUiParser {
public:
    // old_repository names the old side's repository in the generated config.
    explicit MachineUiParser(std::string old_repository) : old_repo_(std::move(old_repository)) {}

    // Returns true when the line changed the progress figures.
    bool feed(std::string_view line);

    const SyncProgress &progress() const { return progress_; }
    const std::vector<std::string> &errors() const { return errors_; }
    bool terminated() const { return terminated_; }
    // The old provider refused the stored credentials (as opposed to any other error).
    bool old_login_rejected() const { return old_login_rejected_; }
    // Another offlineimap still holds this account's sync state (e.g. one left by a killed
    // worker, finishing its last message): try again shortly, it is not a failure.
    bool account_locked() const { return account_locked_; }
    // Success: offlineimap ran to its end and reported no error.
    bool succeeded() const { return terminated_ && errors_.empty(); }

private:
    void on_error(const std::string &text);
    std::string old_repo_;
    std::string connecting_repo_;
    SyncProgress progress_;
    std::vector<std::string> errors_;
    bool terminated_ = false;
    bool old_login_rejected_ = false;
    bool account_locked_ = false;
};

std::string url_decode(std::string_view text); // '+' is a space, %XX a byte

} // namespace imapmig
