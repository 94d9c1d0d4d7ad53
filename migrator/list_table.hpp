// The table `migrations list` prints: printf's layout, written by hand into one buffer. With
// 70,000 lines, printf's parsing of the format was a third of the command's own CPU time.
#pragma once

#include "db/migrations_table.hpp"

#include <cstdio>
#include <string>
#include <string_view>

namespace imapmig::cli {

// Writes the header and the lines to out whenever the buffer fills and on flush(); what is not
// flushed is dropped, so a list that fails early prints nothing. Errors over 60 bytes are cut
// to 57 and "...".
class ListTable {
public:
    explicit ListTable(std::FILE *out);
    ListTable(const ListTable &) = delete;
    ListTable &operator=(const ListTable &) = delete;

    void add(const MigrationListLine &m);
    void flush();

private:
    // "%-6s %-21s %-32s %-10s %9s  %-19s  %s", without the newline
    void line(std::string_view id, std::string_view state, std::string_view user,
              std::string_view provider, std::string_view messages, std::string_view last_sync,
              std::string_view error);

    std::FILE *out_;
    std::string buf_;
};

} // namespace imapmig::cli
