#include "list_table.hpp"

#include <charconv>

namespace imapmig::cli {

namespace {

constexpr size_t flush_at = 64 * 1024;

// printf's "%-Ns": pads on the right, never cuts.
void left(std::string &b, std::string_view v, size_t width) {
    b.append(v);
    if (v.size() < width)
        b.append(width - v.size(), ' ');
}

// printf's "%Ns".
void right(std::string &b, std::string_view v, size_t width) {
    if (v.size() < width)
        b.append(width - v.size(), ' ');
    b.append(v);
}

// printf's "%lld".
std::string_view decimal(long long v, char (&buf)[24]) {
    return {buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf)};
}

} // namespace

ListTable::ListTable(std::FILE *out) : out_(out) {
    buf_.reserve(flush_at + 4096);
    line("ID", "STATE", "USER", "PROVIDER", "MESSAGES", "LAST SYNC", "LAST ERROR");
    buf_ += '\n';
}

void ListTable::add(const MigrationListLine &m) {
    char id[24], messages[24];
    const bool cut = m.last_error.size() > 60;
    line(decimal(m.id, id), m.state, m.user, m.provider, decimal(m.messages_copied, messages),
         m.last_sync_at.empty() ? "-" : m.last_sync_at,
         cut ? m.last_error.substr(0, 57) : m.last_error);
    if (cut)
        buf_ += "...";
    buf_ += '\n';
    if (buf_.size() >= flush_at)
        flush();
}

void ListTable::line(std::string_view id, std::string_view state, std::string_view user,
                     std::string_view provider, std::string_view messages,
                     std::string_view last_sync, std::string_view error) {
    left(buf_, id, 6);
    buf_ += ' ';
    left(buf_, state, 21);
    buf_ += ' ';
    left(buf_, user, 32);
    buf_ += ' ';
    left(buf_, provider, 10);
    buf_ += ' ';
    right(buf_, messages, 9);
    buf_ += "  ";
    left(buf_, last_sync, 19);
    buf_ += "  ";
    buf_.append(error);
}

void ListTable::flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    std::fflush(out_);
    buf_.clear();
}

} // namespace imapmig::cli
