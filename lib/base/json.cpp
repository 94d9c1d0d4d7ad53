#include "base/json.hpp"

#include <cstdio>

namespace imapmig {

std::string json_quote(std::string_view text) {
    // Room for the worst case: no reallocation leaves a partial copy (of a password) behind.
    std::string out;
    out.reserve(6 * text.size() + 2);
    out += '"';
    for (char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

} // namespace imapmig
