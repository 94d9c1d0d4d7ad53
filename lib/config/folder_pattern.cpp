// A Thompson NFA (Pike VM without captures): the parser builds a small syntax tree, the compiler
// turns it into instructions, search() runs every thread in lockstep over the name, so its time
// is O(pattern size * name length) and no pattern can make it backtrack.
#include "config/folder_pattern.hpp"

#include <algorithm>
#include <memory>

namespace imapmig {

namespace {

using Range = FolderPattern::Range;
using Inst = FolderPattern::Inst;
using Op = FolderPattern::Op;

constexpr uint32_t max_code_point = 0x10FFFF;
constexpr int max_repeat = 100;            // {n,m} bound
constexpr size_t max_instructions = 20000; // after {n,m} expansion

// One code point of UTF-8 text at pos; an invalid byte b stands for itself as 0xDC00 + b (as
// Python's surrogateescape does), so any byte string has a meaning.
uint32_t next_code_point(std::string_view s, size_t &pos) {
    const auto b0 = static_cast<unsigned char>(s[pos]);
    auto cont = [&](size_t i) {
        return pos + i < s.size() && (static_cast<unsigned char>(s[pos + i]) & 0xC0) == 0x80;
    };
    auto bits = [&](size_t i) { return static_cast<uint32_t>(s[pos + i]) & 0x3F; };
    if (b0 < 0x80) {
        pos += 1;
        return b0;
    }
    if (b0 >= 0xC2 && b0 < 0xE0 && cont(1)) {
        uint32_t cp = (static_cast<uint32_t>(b0 & 0x1F) << 6) | bits(1);
        pos += 2;
        return cp;
    }
    if (b0 >= 0xE0 && b0 < 0xF0 && cont(1) && cont(2)) {
        uint32_t cp = (static_cast<uint32_t>(b0 & 0x0F) << 12) | (bits(1) << 6) | bits(2);
        if (cp >= 0x800) {
            pos += 3;
            return cp;
        }
    }
    if (b0 >= 0xF0 && b0 < 0xF5 && cont(1) && cont(2) && cont(3)) {
        uint32_t cp =
            (static_cast<uint32_t>(b0 & 0x07) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
        if (cp >= 0x10000 && cp <= max_code_point) {
            pos += 4;
            return cp;
        }
    }
    pos += 1;
    return 0xDC00 + b0;
}

std::vector<Range> normalised(std::vector<Range> r) {
    std::sort(r.begin(), r.end(), [](Range a, Range b) { return a.lo < b.lo; });
    std::vector<Range> out;
    for (Range x : r) {
        if (!out.empty() && x.lo <= out.back().hi + 1)
            out.back().hi = std::max(out.back().hi, x.hi);
        else
            out.push_back(x);
    }
    return out;
}

std::vector<Range> complement(const std::vector<Range> &r) {
    std::vector<Range> out;
    uint32_t next = 0;
    for (Range x : normalised(r)) {
        if (x.lo > next)
            out.push_back({next, x.lo - 1});
        next = x.hi + 1;
    }
    if (next <= max_code_point)
        out.push_back({next, max_code_point});
    return out;
}

const std::vector<Range> digit = {{'0', '9'}};
const std::vector<Range> word = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
const std::vector<Range> space = {
    {9, 13},          {' ', ' '},       {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
const std::vector<Range> line_terminators = {{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}};

struct Node {
    enum class Kind { set, bol, eol, concat, alt, repeat } kind;
    std::vector<Range> ranges; // set (normalised, never negated: negation is applied here)
    std::vector<std::unique_ptr<Node>> children;
    int min = 0, max = 0; // repeat; max -1 = unbounded
};
using NodePtr = std::unique_ptr<Node>;

NodePtr make(Node::Kind kind) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    return n;
}

NodePtr make_set(std::vector<Range> ranges) {
    auto n = make(Node::Kind::set);
    n->ranges = normalised(std::move(ranges));
    return n;
}

struct ParseError {
    std::string why;
};

class Parser {
public:
    explicit Parser(std::string_view p) : p_(p) {}

    NodePtr parse() {
        NodePtr n = alternation();
        if (pos_ < p_.size())
            fail("unmatched `)`");
        return n;
    }

private:
    [[noreturn]] void fail(const std::string &why) const {
        throw ParseError{why + " at offset " + std::to_string(pos_)};
    }
    bool at(char c) const { return pos_ < p_.size() && p_[pos_] == c; }
    bool at(std::string_view s) const { return p_.substr(pos_, s.size()) == s; }

    NodePtr alternation() {
        auto alt = make(Node::Kind::alt);
        alt->children.push_back(sequence());
        while (at('|')) {
            ++pos_;
            alt->children.push_back(sequence());
        }
        return alt->children.size() == 1 ? std::move(alt->children.front()) : std::move(alt);
    }

    NodePtr sequence() {
        auto seq = make(Node::Kind::concat);
        while (pos_ < p_.size() && !at('|') && !at(')'))
            seq->children.push_back(quantified());
        return seq;
    }

    NodePtr quantified() {
        if (at('*') || at('+') || at('?') || (at('{') && quantifier_ahead()))
            fail("nothing to repeat");
        NodePtr a = atom();
        int min = 0, max = 0;
        if (!quantifier(min, max))
            return a;
        if (a->kind == Node::Kind::bol || a->kind == Node::Kind::eol)
            fail("`^` and `$` cannot be repeated");
        if (at('?'))
            ++pos_; // lazy: matches the same names
        if (at('*') || at('+') || at('?') || (at('{') && quantifier_ahead()))
            fail("a repetition cannot be repeated; use a group");
        auto r = make(Node::Kind::repeat);
        r->children.push_back(std::move(a));
        r->min = min;
        r->max = max;
        return r;
    }

    // `{` followed by digits[,[digits]]}.
    bool quantifier_ahead() const {
        size_t i = pos_ + 1;
        size_t digits = 0;
        while (i < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i])))
            ++i, ++digits;
        if (digits == 0)
            return false;
        if (i < p_.size() && p_[i] == ',') {
            ++i;
            while (i < p_.size() && std::isdigit(static_cast<unsigned char>(p_[i])))
                ++i;
        }
        return i < p_.size() && p_[i] == '}';
    }

    int number() {
        int v = 0;
        while (pos_ < p_.size() && std::isdigit(static_cast<unsigned char>(p_[pos_]))) {
            v = v * 10 + (p_[pos_++] - '0');
            if (v > max_repeat)
                fail("a repetition count above " + std::to_string(max_repeat));
        }
        return v;
    }

    bool quantifier(int &min, int &max) {
        if (at('*') || at('+') || at('?')) {
            const char c = p_[pos_++];
            min = c == '+' ? 1 : 0;
            max = c == '?' ? 1 : -1;
            return true;
        }
        if (!at('{') || !quantifier_ahead())
            return false;
        ++pos_;
        min = max = number();
        if (at(',')) {
            ++pos_;
            max = at('}') ? -1 : number();
        }
        ++pos_; // '}'
        if (max != -1 && max < min)
            fail("{n,m} with m < n");
        return true;
    }

    NodePtr atom() {
        const char c = p_[pos_];
        switch (c) {
        case '(':
            return group();
        case '[':
            return char_class();
        case '.':
            ++pos_;
            return make_set(complement(line_terminators));
        case '^':
            ++pos_;
            return make(Node::Kind::bol);
        case '$':
            ++pos_;
            return make(Node::Kind::eol);
        case '\\':
            return escape_atom();
        case '{':
            fail("a literal `{` must be written `\\{`");
        default: {
            const uint32_t cp = next_code_point(p_, pos_);
            return make_set({{cp, cp}});
        }
        }
    }

    NodePtr group() {
        ++pos_;
        if (at("?:")) {
            pos_ += 2;
        } else if (at("?=") || at("?!")) {
            fail("lookahead is not supported");
        } else if (at("?<=") || at("?<!")) {
            fail("lookbehind is not supported");
        } else if (at('?')) {
            fail("`(?` groups other than `(?:` are not supported");
        }
        NodePtr inner = alternation();
        if (!at(')'))
            fail("missing `)`");
        ++pos_;
        return inner;
    }

    // After a backslash outside or inside a class: a class escape (\d ...) fills ranges and
    // returns true; a character escape sets cp and returns false.
    bool escape(std::vector<Range> &ranges, uint32_t &cp, bool in_class) {
        if (pos_ >= p_.size())
            fail("a pattern cannot end with `\\`");
        const char c = p_[pos_++];
        switch (c) {
        case 'd':
            ranges = digit;
            return true;
        case 'D':
            ranges = complement(digit);
            return true;
        case 'w':
            ranges = word;
            return true;
        case 'W':
            ranges = complement(word);
            return true;
        case 's':
            ranges = space;
            return true;
        case 'S':
            ranges = complement(space);
            return true;
        case 't':
            cp = '\t';
            return false;
        case 'n':
            cp = '\n';
            return false;
        case 'r':
            cp = '\r';
            return false;
        case 'f':
            cp = '\f';
            return false;
        case 'v':
            cp = '\v';
            return false;
        case 'x':
            cp = hex(2);
            return false;
        case 'u':
            cp = hex(4);
            return false;
        case 'b':
            if (in_class) {
                cp = '\b';
                return false;
            }
            fail("word boundaries (\\b) are not supported");
        case 'B':
            fail("word boundaries (\\B) are not supported");
        case '0':
            if (pos_ < p_.size() && std::isdigit(static_cast<unsigned char>(p_[pos_])))
                fail("octal escapes are not supported");
            cp = 0;
            return false;
        default:
            break;
        }
        if (c >= '1' && c <= '9')
            fail("backreferences are not supported");
        if (std::isalnum(static_cast<unsigned char>(c)))
            fail(std::string("unknown escape \\") + c);
        --pos_;
        cp = next_code_point(p_, pos_);
        return false;
    }

    uint32_t hex(int digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            if (pos_ >= p_.size() || !std::isxdigit(static_cast<unsigned char>(p_[pos_])))
                fail("expected " + std::to_string(digits) + " hex digits");
            const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(p_[pos_++])));
            v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : h - 'a' + 10);
        }
        return v;
    }

    NodePtr escape_atom() {
        ++pos_;
        std::vector<Range> ranges;
        uint32_t cp = 0;
        if (escape(ranges, cp, false))
            return make_set(std::move(ranges));
        return make_set({{cp, cp}});
    }

    // One class member: a class escape (returns false, ranges filled) or a character.
    bool class_atom(std::vector<Range> &ranges, uint32_t &cp) {
        if (at('\\')) {
            ++pos_;
            return !escape(ranges, cp, true);
        }
        cp = next_code_point(p_, pos_);
        return true;
    }

    NodePtr char_class() {
        ++pos_;
        const bool negated = at('^');
        if (negated)
            ++pos_;
        std::vector<Range> members;
        while (!at(']')) {
            if (pos_ >= p_.size())
                fail("missing `]`");
            std::vector<Range> escaped;
            uint32_t lo = 0;
            if (!class_atom(escaped, lo)) {
                members.insert(members.end(), escaped.begin(), escaped.end());
                continue;
            }
            if (at('-') && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
                ++pos_;
                uint32_t hi = 0;
                if (!class_atom(escaped, hi))
                    fail("a class escape cannot end a range");
                if (hi < lo)
                    fail("a range out of order");
                members.push_back({lo, hi});
            } else {
                members.push_back({lo, lo});
            }
        }
        ++pos_;
        return make_set(negated ? complement(members) : members);
    }

    std::string_view p_;
    size_t pos_ = 0;
};

Inst instruction(Op op) {
    Inst i;
    i.op = op;
    return i;
}

class Compiler {
public:
    std::vector<Inst> run(const Node &root) {
        emit(root);
        add(instruction(Op::match));
        return std::move(out_);
    }

private:
    int add(Inst i) {
        if (out_.size() >= max_instructions)
            throw ParseError{"the pattern is too large (repetition counts multiply it)"};
        out_.push_back(std::move(i));
        return static_cast<int>(out_.size()) - 1;
    }
    int here() const { return static_cast<int>(out_.size()); }

    void emit(const Node &n) {
        switch (n.kind) {
        case Node::Kind::set: {
            Inst i = instruction(Op::set);
            i.ranges = n.ranges;
            add(std::move(i));
            return;
        }
        case Node::Kind::bol:
            add(instruction(Op::line_start));
            return;
        case Node::Kind::eol:
            add(instruction(Op::line_end));
            return;
        case Node::Kind::concat:
            for (const auto &c : n.children)
                emit(*c);
            return;
        case Node::Kind::alt:
            return alternation(n);
        case Node::Kind::repeat:
            return repetition(n);
        }
    }

    void alternation(const Node &n) {
        std::vector<int> jumps;
        for (size_t i = 0; i + 1 < n.children.size(); ++i) {
            const int split = add(instruction(Op::split));
            out_[split].x = here();
            emit(*n.children[i]);
            jumps.push_back(add(instruction(Op::jump)));
            out_[split].y = here();
        }
        emit(*n.children.back());
        for (int j : jumps)
            out_[j].x = here();
    }

    void repetition(const Node &n) {
        const Node &body = *n.children.front();
        for (int i = 0; i < n.min; ++i)
            emit(body);
        if (n.max == -1) {
            const int split = add(instruction(Op::split));
            out_[split].x = here();
            emit(body);
            Inst back = instruction(Op::jump);
            back.x = split;
            add(std::move(back));
            out_[split].y = here();
            return;
        }
        std::vector<int> splits;
        for (int i = n.min; i < n.max; ++i) {
            const int split = add(instruction(Op::split));
            out_[split].x = here();
            splits.push_back(split);
            emit(body);
        }
        for (int s : splits)
            out_[s].y = here();
    }

    std::vector<Inst> out_;
};

bool in_set(const Inst &i, uint32_t cp) {
    auto it = std::upper_bound(i.ranges.begin(), i.ranges.end(), cp,
                               [](uint32_t v, const Range &r) { return v < r.lo; });
    return it != i.ranges.begin() && cp <= std::prev(it)->hi;
}

} // namespace

Result<FolderPattern> FolderPattern::compile(std::string_view pattern) {
    try {
        Parser parser(pattern);
        NodePtr tree = parser.parse();
        FolderPattern compiled;
        compiled.program_ = Compiler().run(*tree);
        return compiled;
    } catch (const ParseError &e) {
        return config_error(e.why);
    }
}

bool FolderPattern::search(std::string_view name) const {
    if (program_.empty())
        return false;
    // Threads are instruction indexes; `mark` holds the step at which an index was last added,
    // so each index runs at most once per position: this is what keeps the time linear.
    const int size = static_cast<int>(program_.size());
    std::vector<int> current, next, stack;
    std::vector<size_t> mark(program_.size(), SIZE_MAX);
    size_t step = 0;
    auto closure = [&](std::vector<int> &threads, bool at_start, bool at_end) {
        std::vector<int> seeds;
        seeds.swap(threads);
        seeds.push_back(0); // a new attempt starts at every position (search, not match)
        for (int seed : seeds) {
            stack.push_back(seed);
            while (!stack.empty()) {
                const int pc = stack.back();
                stack.pop_back();
                if (pc < 0 || pc >= size || mark[pc] == step)
                    continue;
                mark[pc] = step;
                const Inst &i = program_[pc];
                switch (i.op) {
                case Op::jump:
                    stack.push_back(i.x);
                    break;
                case Op::split:
                    stack.push_back(i.y);
                    stack.push_back(i.x);
                    break;
                case Op::line_start:
                    if (at_start)
                        stack.push_back(pc + 1);
                    break;
                case Op::line_end:
                    if (at_end)
                        stack.push_back(pc + 1);
                    break;
                default:
                    threads.push_back(pc);
                }
            }
        }
        ++step;
    };
    size_t pos = 0;
    while (true) {
        const bool at_end = pos >= name.size();
        closure(current, pos == 0, at_end);
        next.clear();
        const uint32_t cp = at_end ? 0 : next_code_point(name, pos);
        for (int pc : current) {
            const Inst &i = program_[pc];
            if (i.op == Op::match)
                return true;
            if (at_end)
                continue;
            if (i.op == Op::set && in_set(i, cp))
                next.push_back(pc + 1);
        }
        if (at_end)
            return false;
        current.swap(next);
    }
}

std::string FolderPattern::program_json() const {
    std::string out = "[";
    for (size_t n = 0; n < program_.size(); ++n) {
        const Inst &i = program_[n];
        out += n ? ", " : "";
        switch (i.op) {
        case Op::set: {
            out += "[\"c\", [";
            for (size_t r = 0; r < i.ranges.size(); ++r)
                out += (r ? ", [" : "[") + std::to_string(i.ranges[r].lo) + ", " +
                       std::to_string(i.ranges[r].hi) + "]";
            out += "]]";
            break;
        }
        case Op::split:
            out += "[\"s\", " + std::to_string(i.x) + ", " + std::to_string(i.y) + "]";
            break;
        case Op::jump:
            out += "[\"j\", " + std::to_string(i.x) + "]";
            break;
        case Op::line_start:
            out += "[\"b\"]";
            break;
        case Op::line_end:
            out += "[\"e\"]";
            break;
        case Op::match:
            out += "[\"m\"]";
            break;
        }
    }
    return out + "]";
}

std::string_view folder_pattern_python() {
    // The same machine as FolderPattern::search, in Python: the program comes from program_json.
    // Python's str is code points, as our UTF-8 decoding is (offlineimap may also hand bytes'
    // surrogate escapes, which decode the same way).
    return R"PY(
def folder_pattern_search(program, name):
    """True if the compiled folder pattern matches somewhere in name; linear time."""
    end = len(name)
    threads = []
    pos = 0
    while True:
        seen = set()
        stack = list(reversed(threads + [0]))
        threads = []
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            op = program[pc]
            kind = op[0]
            if kind == "j":
                stack.append(op[1])
            elif kind == "s":
                stack.append(op[2])
                stack.append(op[1])
            elif kind == "b":
                if pos == 0:
                    stack.append(pc + 1)
            elif kind == "e":
                if pos == end:
                    stack.append(pc + 1)
            else:
                threads.append(pc)
        if pos == end:
            return any(program[pc][0] == "m" for pc in threads)
        cp = ord(name[pos])
        following = []
        for pc in threads:
            op = program[pc]
            if op[0] == "m":
                return True
            if op[0] == "c":
                if any(lo <= cp <= hi for lo, hi in op[1]):
                    following.append(pc + 1)
        threads = following
        pos += 1
)PY";
}

} // namespace imapmig
