#include "sync/mutf7.hpp"

#include <cstdint>
#include <vector>

namespace imapmig {

namespace {

// RFC 3501's variant of base64: ',' instead of '/'.
constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
    const size_t at = alphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

void append_utf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// The code points of a UTF-8 string; nullopt on a malformed or overlong sequence.
std::optional<std::vector<uint32_t>> code_points(std::string_view s) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        int extra = b < 0x80             ? 0
                    : (b & 0xE0) == 0xC0 ? 1
                    : (b & 0xF0) == 0xE0 ? 2
                    : (b & 0xF8) == 0xF0 ? 3
                                         : -1;
        if (extra < 0 || i + static_cast<size_t>(extra) >= s.size())
            return std::nullopt;
        uint32_t cp = extra == 0 ? b : b & (0x3F >> extra);
        for (int k = 1; k <= extra; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80)
                return std::nullopt;
            cp = (cp << 6) | (c & 0x3F);
        }
        static constexpr uint32_t least[] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return std::nullopt;
        out.push_back(cp);
        i += static_cast<size_t>(extra) + 1;
    }
    return out;
}

} // namespace

std::optional<std::string> mutf7_to_utf8(std::string_view name) {
    std::string out;
    for (size_t i = 0; i < name.size();) {
        const char c = name[i];
        if (static_cast<unsigned char>(c) >= 0x80)
            return std::nullopt;
        if (c != '&') {
            out += c;
            ++i;
            continue;
        }
        const size_t end = name.find('-', i + 1);
        if (end == std::string_view::npos)
            return std::nullopt;
        if (end == i + 1) { // "&-" is '&'
            out += '&';
            i = end + 1;
            continue;
        }
        // base64 -> UTF-16 units -> code points
        uint32_t bits = 0;
        int nbits = 0;
        std::vector<uint16_t> units;
        for (size_t k = i + 1; k < end; ++k) {
            const int v = b64_value(name[k]);
            if (v < 0)
                return std::nullopt;
            bits = (bits << 6) | static_cast<uint32_t>(v);
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                units.push_back(static_cast<uint16_t>((bits >> nbits) & 0xFFFF));
            }
        }
        if (units.empty() || (bits & ((1u << nbits) - 1)) != 0)
            return std::nullopt; // leftover bits must be zero
        for (size_t k = 0; k < units.size(); ++k) {
            uint32_t cp = units[k];
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (k + 1 >= units.size() || units[k + 1] < 0xDC00 || units[k + 1] > 0xDFFF)
                    return std::nullopt;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (units[++k] - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return std::nullopt;
            }
            append_utf8(out, cp);
        }
        i = end + 1;
    }
    return out;
}

std::optional<std::string> utf8_to_mutf7(std::string_view utf8) {
    auto cps = code_points(utf8);
    if (!cps)
        return std::nullopt;
    std::string out;
    std::vector<uint16_t> run; // UTF-16 units waiting to be base64-encoded
    auto flush = [&] {
        if (run.empty())
            return;
        out += '&';
        uint32_t bits = 0;
        int nbits = 0;
        for (uint16_t u : run) {
            bits = (bits << 16) | u;
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                out += alphabet[(bits >> nbits) & 0x3F];
            }
        }
        if (nbits > 0)
            out += alphabet[(bits << (6 - nbits)) & 0x3F];
        out += '-';
        run.clear();
    };
    for (uint32_t cp : *cps) {
        if (cp >= 0x20 && cp <= 0x7E) {
            flush();
            out += cp == '&' ? std::string("&-") : std::string(1, static_cast<char>(cp));
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            run.push_back(static_cast<uint16_t>(0xD800 + (cp >> 10)));
            run.push_back(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
        } else {
            run.push_back(static_cast<uint16_t>(cp));
        }
    }
    flush();
    return out;
}

} // namespace imapmig
