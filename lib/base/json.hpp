// Just enough JSON writing for machine-readable output (`--json`) and the offlineimap helper.
#pragma once

#include <string>
#include <string_view>

namespace imapmig {

// A JSON string literal; control characters escaped, UTF-8 passed through.
std::string json_quote(std::string_view text);

} // namespace imapmig
