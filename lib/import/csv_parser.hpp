// The CSV dialect of the import files: one record per physical line, a one-byte separator
// (';' by default), fields trimmed, double quotes around a field protect separators ("a;b"),
// and "" inside quotes is a literal quote. No multi-line fields. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// A physical line of a file: its 1-based number and its text without the line end.
struct SourceLine {
    int number = 0;
    std::string_view text;
};

// Splits a file into physical lines ('\n'; a trailing '\r' is dropped; a UTF-8 byte order mark
// at the start is dropped) and keeps only the records: blank lines and lines whose first
// non-blank character is '#' are skipped but still counted.
std::vector<SourceLine> record_lines(std::string_view file_text);

struct CsvSplit {
    std::vector<std::string> fields;
    // Set when the line is malformed: the 0-based index of the field that is, and why.
    bool ok = true;
    size_t bad_field = 0;
    std::string error;
};

// Splits one line into trimmed fields at sep. Blanks (space, tab) around a field and around its
// quotes are trimmed; text inside quotes is kept verbatim. Trailing empty fields (a separator at
// the end of the line, as spreadsheets write) are dropped. Errors: a quote that is not closed,
// text after a closing quote. Never echoes field contents.
CsvSplit split_csv_line(std::string_view line, char sep);

// True if text is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
bool valid_utf8(std::string_view text);

} // namespace imapmig
