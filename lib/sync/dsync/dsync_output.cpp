#include "sync/dsync/dsync_output.hpp"

#include <sys/wait.h>

#include <charconv>

namespace imapmig {

namespace {

constexpr size_t max_errors = 8;

bool contains(std::string_view text, std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
}

// "dsync(u): Error: text" -> "text"; nullopt-like empty when the line is not an error.
std::string_view error_text(std::string_view line) {
    for (std::string_view level : {": Error: ", ": Fatal: ", "Error: ", "Fatal: "}) {
        size_t at = line.find(level);
        if (at != std::string_view::npos && (at == 0 || level.front() == ':'))
            return line.substr(at + level.size());
    }
    return {};
}

// The lines of doveadm's output, without their '\n'.
std::vector<std::string_view> lines_of(std::string_view output) {
    std::vector<std::string_view> lines;
    size_t pos = 0;
    while (pos < output.size()) {
        const size_t eol = output.find('\n', pos);
        lines.push_back(
            output.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos));
        pos = eol == std::string_view::npos ? output.size() : eol + 1;
    }
    return lines;
}

} // namespace

void DsyncLog::feed(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
        line.remove_suffix(1);
    std::string_view text = error_text(line);
    if (text.empty())
        return;
    // Dovecot's statistics socket is not ours to use when running as the mail user: harmless.
    if (contains(text, "stats-writer") || text.starts_with("Raw backtrace"))
        return;
    if (contains(text, "imapc") && !contains(text, "[UNAVAILABLE]") &&
        (contains(text, "[AUTHENTICATIONFAILED]") || contains(text, "Authentication failed")))
        old_login_rejected_ = true;
    if (errors_.size() < max_errors) {
        std::string kept(text.substr(0, 500));
        for (const auto &e : errors_)
            if (e == kept)
                return;
        errors_.push_back(std::move(kept));
    }
}

std::string DsyncLog::describe_failure(int status) const {
    std::string out;
    for (const auto &e : errors_)
        out += (out.empty() ? "" : "; ") + e;
    if (!out.empty())
        return out;
    if (WIFEXITED(status))
        return "doveadm sync exited with status " + std::to_string(WEXITSTATUS(status));
    return "doveadm sync was killed by signal " + std::to_string(WTERMSIG(status));
}

std::vector<FolderCount> parse_mailbox_status(std::string_view output) {
    std::vector<FolderCount> out;
    auto number = [](std::string_view field, std::string_view key, int64_t &value) {
        if (!field.starts_with(key))
            return false;
        field.remove_prefix(key.size());
        auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
        return ec == std::errc() && end == field.data() + field.size();
    };
    for (std::string_view line : lines_of(output)) {
        // Folder names may hold spaces: the fields are the last two words.
        size_t vsize_at = line.rfind(' ');
        if (vsize_at == std::string_view::npos)
            continue;
        size_t messages_at = line.rfind(' ', vsize_at - 1);
        if (messages_at == std::string_view::npos || messages_at == 0)
            continue;
        FolderCount f;
        if (!number(line.substr(messages_at + 1, vsize_at - messages_at - 1),
                    "messages=", f.messages) ||
            !number(line.substr(vsize_at + 1), "vsize=", f.vsize))
            continue;
        f.name = std::string(line.substr(0, messages_at));
        out.push_back(std::move(f));
    }
    return out;
}

std::map<std::string, uint32_t> parse_mailbox_uidvalidity(std::string_view output) {
    std::map<std::string, uint32_t> out;
    constexpr std::string_view key = " uidvalidity=";
    for (std::string_view line : lines_of(output)) {
        const size_t at = line.rfind(key); // folder names may hold spaces
        if (at == std::string_view::npos || at == 0)
            continue;
        const std::string_view digits = line.substr(at + key.size());
        uint32_t value = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (ec == std::errc() && end == digits.data() + digits.size() && value != 0)
            out[std::string(line.substr(0, at))] = value;
    }
    return out;
}

std::vector<std::string> parse_mailbox_list(std::string_view output) {
    std::vector<std::string> out;
    for (std::string_view line : lines_of(output))
        if (!line.empty())
            out.emplace_back(line);
    return out;
}

} // namespace imapmig
