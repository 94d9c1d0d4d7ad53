// Parses the untagged lines ImapClient returns (literals inline as "{N}\r\n" + N bytes) into
// values, enough for LIST, NAMESPACE and FETCH answers in tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace testsupport {

struct ImapValue {
    enum class Kind { atom, string, nil, list };
    Kind kind = Kind::atom;
    std::string text;             // atom or string (quoted or literal), unescaped
    std::vector<ImapValue> items; // list

    bool is_list() const { return kind == Kind::list; }
};

// "* 3 FETCH (UID 7 FLAGS (\Seen) BODY[] {5}\r\nhello)" ->
// [*, 3, FETCH, (UID, 7, FLAGS, (\Seen), BODY[], "hello")]. An atom keeps a bracketed section
// with it ("BODY[HEADER.FIELDS (X)]"). Throws std::runtime_error on unbalanced input.
std::vector<ImapValue> parse_imap_line(std::string_view line);

// Value after name in a FETCH item list (case-insensitive), or nullptr.
const ImapValue *fetch_item(const std::vector<ImapValue> &items, std::string_view name);

} // namespace testsupport
