// sync.folder_exclude: a regular expression over folder names that is matched in time linear in
// the name's length, whatever the pattern. A backtracking engine (std::regex, Python's re) spends
// exponential time on patterns such as `(a*)*b`: one folder name could hang a worker thread.
//
// The syntax is the subset of ECMAScript regular expressions that a Thompson NFA can run:
// literals, `.`, `^`, `$`, `|`, groups `(...)` and `(?:...)`, `*`, `+`, `?`, `{n}`, `{n,}`,
// `{n,m}` (m <= 100; lazy forms accepted, they match the same), classes `[...]` / `[^...]`,
// escapes \d \D \w \W \s \S \t \n \r \f \v \0 \xHH \uHHHH and escaped punctuation. Refused,
// with a message: backreferences, lookahead/lookbehind, \b \B, named groups, flags. Names are
// UTF-8 and matched per code point, the same in C++ (dsync) and in Python (offlineimap).
#pragma once

#include "base/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

class FolderPattern {
public:
    // An error message in the form "expected ...; <why>" for config diagnostics.
    static Result<FolderPattern> compile(std::string_view pattern);

    // True if the pattern matches somewhere in name (std::regex_search / Python re.search).
    bool search(std::string_view name) const;

    // The compiled program as JSON, run by folder_pattern_python()'s folder_pattern_search.
    std::string program_json() const;

    struct Range {
        uint32_t lo, hi;
    };
    enum class Op : uint8_t { set, split, jump, line_start, line_end, match };
    struct Inst {
        Op op = Op::match;
        std::vector<Range> ranges; // set: sorted, disjoint
        int x = 0, y = 0;          // split (both), jump (x)
    };

private:
    std::vector<Inst> program_;
};

// Python source defining folder_pattern_search(program, name), the same matcher for the
// program_json() of a pattern: for offlineimap's folderfilter.
std::string_view folder_pattern_python();

} // namespace imapmig
