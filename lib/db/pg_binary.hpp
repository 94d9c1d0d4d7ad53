// Reading values that PostgreSQL sent in binary result format (resultFormat 1): what a hot
// listing fetches instead of text the server would have to format.
#pragma once

#include <string_view>

namespace imapmig {

// A bigint (int8) or timestamp as sent: 8 bytes, big-endian. Inline: called per row and column.
inline long long pg_binary_int64(const char *p) {
    unsigned long long v = 0;
    for (int i = 0; i < 8; ++i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return static_cast<long long>(v);
}

// What to_char(t, 'YYYY-MM-DD HH24:MI:SS') prints for a binary timestamp (microseconds since
// 2000-01-01, local time): truncated to the second, a year BC without era as YYYY does.
// "" for -infinity and infinity, where to_char gives NULL. The text is written into buf.
std::string_view pg_binary_timestamp_text(long long usec, char (&buf)[32]);

} // namespace imapmig
