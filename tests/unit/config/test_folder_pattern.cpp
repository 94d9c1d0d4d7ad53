// sync.folder_exclude patterns: the ECMAScript subset, matched in linear time, the same in C++
// (dsync) and in the Python offlineimap runs.
#include "config/folder_pattern.hpp"

#include "catch_compat.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <unistd.h>
#include <vector>

using namespace imapmig;

namespace {

bool matches(const std::string &pattern, const std::string &name) {
    auto compiled = FolderPattern::compile(pattern);
    REQUIRE(compiled);
    return compiled.value().search(name);
}

std::string refusal(const std::string &pattern) {
    auto compiled = FolderPattern::compile(pattern);
    return compiled ? std::string("(compiled)") : compiled.error().message;
}

const std::vector<std::string> patterns = {"^(Junk|Spam)$",
                                           "Junk",
                                           "^Archive/20[0-9]{2}$",
                                           "\\.bak$",
                                           "^(?:Trash|Deleted Items)",
                                           "a|b|",
                                           "^$",
                                           "x*",
                                           "[^a-z]",
                                           "^[\\w.-]+$",
                                           "(a*)*b",
                                           "a+?b",
                                           "^\\d{2,3}",
                                           "[\\]]",
                                           "\\s",
                                           "^Ä+$",
                                           "^.$",
                                           "^(ab){2}$",
                                           "^a{0,2}$",
                                           "\\x41\\u00e4",
                                           "[a\\-z]",
                                           "[-a]",
                                           "^[^]",
                                           "[\\D]x",
                                           "^(a|ab)(c|bcd)(d*)$"};

const std::vector<std::string> names = {
    "INBOX",       "Junk",  "Spam",       "Junk2",  "Archive/2023",
    "Archive/202", "x.bak", "Trash",      "",       "a",
    "b",           "aab",   "Ä",          "ÄÄ",     "é",
    "12",          "1234",  "abab",       "ababab", "aa",
    "aaa",         "]",     " ",          "Aä",     "a-z",
    "-",           "abcd",  "Sent Items", "x\ny",   "Deleted Items"};

} // namespace

TEST_CASE("folder patterns match as ECMAScript regex_search does", "[unit]") {
    for (const auto &p : patterns) {
        // std::regex works on bytes: compare on ASCII names only, UTF-8 ones below.
        const std::regex reference(p, std::regex::ECMAScript);
        for (const auto &n : names) {
            const bool ascii = std::all_of(
                n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
            const bool ascii_pattern = std::all_of(
                p.begin(), p.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
            if (!ascii || !ascii_pattern || p == "\\x41\\u00e4")
                continue;
            INFO("pattern " << p << " name " << n);
            CHECK(matches(p, n) == std::regex_search(n, reference));
        }
    }
}

TEST_CASE("folder patterns work per character on UTF-8 names", "[unit]") {
    CHECK(matches("^Ä+$", "ÄÄ"));
    CHECK(!matches("^Ä+$", "ÄA"));
    CHECK(matches("^.$", "é")); // one character, two bytes
    CHECK(matches("^[à-ÿ]$", "é"));
    CHECK(!matches("^[^é]$", "é"));
    CHECK(matches("\\x41\\u00e4", "Aä"));
    CHECK(matches("^Entw&APw-rfe$", "Entw&APw-rfe")); // modified UTF-7 as offlineimap sees it
    CHECK(matches("^.$", "\xff"));                    // an invalid byte is one character
}

TEST_CASE("a pathological pattern runs in linear time", "[unit]") {
    // `(a*)*b` against 34 a's hung a worker thread for ten minutes under std::regex.
    const auto start = std::chrono::steady_clock::now();
    CHECK(!matches("(a*)*b", std::string(34, 'a')));
    CHECK(!matches("(a*)*b", std::string(100000, 'a')));
    CHECK(matches("(a*)*b", std::string(100000, 'a') + "b"));
    CHECK(!matches("^(a|a)*$", std::string(50000, 'a') + "!"));
    CHECK(!matches("(x+x+)+y", std::string(50000, 'x')));
    CHECK(!matches("(.*){1,100}z", std::string(2000, 'a')));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed < std::chrono::seconds(10));
}

TEST_CASE("folder pattern syntax a linear matcher cannot run is refused", "[unit]") {
    CHECK(refusal("(a)\\1") == "backreferences are not supported at offset 5");
    CHECK(refusal("Junk(?=x)") == "lookahead is not supported at offset 5");
    CHECK(refusal("(?<!x)y") == "lookbehind is not supported at offset 1");
    CHECK(refusal("(?<n>x)") == "`(?` groups other than `(?:` are not supported at offset 1");
    CHECK(refusal("\\bJunk") == "word boundaries (\\b) are not supported at offset 2");
    CHECK(refusal("^(Junk") == "missing `)` at offset 6");
    CHECK(refusal("Junk)") == "unmatched `)` at offset 4");
    CHECK(refusal("[abc") == "missing `]` at offset 4");
    CHECK(refusal("*a") == "nothing to repeat at offset 0");
    CHECK(refusal("a**") == "a repetition cannot be repeated; use a group at offset 2");
    CHECK(refusal("a{1000}") == "a repetition count above 100 at offset 6");
    CHECK(refusal("a{2,1}") == "{n,m} with m < n at offset 6");
    CHECK(refusal("a{") == "a literal `{` must be written `\\{` at offset 1");
    CHECK(refusal("\\q") == "unknown escape \\q at offset 2");
    CHECK(refusal("(((a{100}){100}){100})") ==
          "the pattern is too large (repetition counts multiply it)");
    CHECK(refusal("a\\") == "a pattern cannot end with `\\` at offset 2");
    CHECK(refusal("a{1}\\{x\\}") == "(compiled)");
}

TEST_CASE("offlineimap's Python matcher agrees with the C++ one", "[unit]") {
    if (::access("/usr/bin/python3", X_OK) != 0)
        FAIL("python3 is needed (offlineimap runs on it)");
    char dir_template[] = "/tmp/folder-pattern-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    std::vector<std::pair<std::string, std::string>> cases;
    for (const auto &p : patterns)
        for (const auto &n : names)
            cases.emplace_back(p, n);
    cases.emplace_back("(a*)*b", std::string(20000, 'a'));
    cases.emplace_back("(a*)*b", std::string(200, 'a') + "b");
    // One line per case: pattern index, name as JSON-safe hex, expected.
    std::string script = "import json, sys\n";
    script += std::string(folder_pattern_python());
    script += "\nbad = 0\nfor line in open(sys.argv[1], encoding='utf-8'):\n"
              "    prog, name, want = json.loads(line)\n"
              "    name = bytes.fromhex(name).decode('utf-8', 'surrogateescape')\n"
              "    if folder_pattern_search(prog, name) != want:\n"
              "        bad += 1\n        print('mismatch', prog, repr(name))\n"
              "print('bad', bad)\n";
    std::string input;
    for (const auto &[p, n] : cases) {
        std::string hex;
        char buf[3];
        for (unsigned char c : n) {
            std::snprintf(buf, sizeof buf, "%02x", c);
            hex += buf;
        }
        input += "[" + FolderPattern::compile(p).value().program_json() + ", \"" + hex + "\", " +
                 (matches(p, n) ? "true" : "false") + "]\n";
    }
    std::ofstream(dir + "/match.py") << script;
    std::ofstream(dir + "/cases.jsonl") << input;
    const std::string cmd = "python3 " + dir + "/match.py " + dir + "/cases.jsonl 2>&1";
    // A deleter type of its own: decltype(&pclose) carries glibc's attributes, which GCC 14 warns
    // about as a template argument.
    struct ClosePipe {
        void operator()(FILE *f) const { pclose(f); }
    };
    std::unique_ptr<FILE, ClosePipe> pipe(popen(cmd.c_str(), "r"));
    REQUIRE(pipe);
    std::string out;
    char chunk[4096];
    while (size_t n = std::fread(chunk, 1, sizeof chunk, pipe.get()))
        out.append(chunk, n);
    pipe.reset();
    std::remove((dir + "/match.py").c_str());
    std::remove((dir + "/cases.jsonl").c_str());
    ::rmdir(dir.c_str());
    CHECK(out == "bad 0\n");
}
