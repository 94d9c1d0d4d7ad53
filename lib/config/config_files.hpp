// The files and directories imap-migration.yaml names, checked without blocking and without
// reading special files: a FIFO, a device or a /proc or /sys entry given as a path is refused
// (opening a FIFO blocks; /dev/zero never ends; /proc/self/mem is "regular" but not a file).
#pragma once

#include "base/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace imapmig {

// The whole content of a regular file of at most max_bytes. Opens with O_NONBLOCK and checks
// with fstat before reading. Errors are config errors whose message is the reason only
// ("is a FIFO, not a regular file"), for the caller to prefix with the path.
Result<std::string> read_regular_file(const std::string &path, size_t max_bytes);

// The path names a readable regular file (same checks as read_regular_file, nothing read).
Result<void> check_regular_file(const std::string &path);

// The path is a directory, or does not exist yet (the worker creates it); anything else, or a
// place under /proc, /sys or /dev, is refused.
Result<void> check_directory_or_missing(const std::string &path);

// text with every control character (C0, DEL) and invalid UTF-8 byte written as \xNN, so a
// value can be shown on a terminal or in a log line as it is, without acting on either.
std::string escape_control(std::string_view text);

} // namespace imapmig
