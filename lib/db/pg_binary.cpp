#include "db/pg_binary.hpp"

#include <charconv>
#include <limits>

namespace imapmig {

namespace {

char *two_digits(char *p, long long v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
    return p + 2;
}

} // namespace

std::string_view pg_binary_timestamp_text(long long usec, char (&buf)[32]) {
    if (usec == std::numeric_limits<long long>::min() ||
        usec == std::numeric_limits<long long>::max())
        return {};
    constexpr long long usec_per_day = 86400LL * 1000000;
    long long days = usec / usec_per_day, rest = usec % usec_per_day;
    if (rest < 0) {
        rest += usec_per_day;
        --days;
    }
    // Howard Hinnant's civil_from_days, counting from 0000-03-01.
    const long long z = days + 10957 + 719468; // 1970-01-01 to 2000-01-01, 0000-03-01 to 1970
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const long long doe = z - era * 146097;
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const long long mp = (5 * doy + 2) / 153;
    const long long day = doy - (153 * mp + 2) / 5 + 1;
    const long long month = mp < 10 ? mp + 3 : mp - 9;
    long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    if (year <= 0)
        year = 1 - year; // year 0 is 1 BC
    const long long secs = rest / 1000000;
    char *p = buf;
    if (year < 10000)
        p = two_digits(two_digits(p, year / 100), year % 100);
    else
        p = std::to_chars(p, buf + sizeof buf, year).ptr;
    *p++ = '-';
    p = two_digits(p, month);
    *p++ = '-';
    p = two_digits(p, day);
    *p++ = ' ';
    p = two_digits(p, secs / 3600);
    *p++ = ':';
    p = two_digits(p, secs / 60 % 60);
    *p++ = ':';
    p = two_digits(p, secs % 60);
    return {buf, static_cast<size_t>(p - buf)};
}

} // namespace imapmig
