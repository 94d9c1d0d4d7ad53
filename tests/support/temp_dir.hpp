// Throwaway directories and small file helpers for integration tests.
#pragma once

#include <string>
#include <sys/types.h>

namespace testsupport {

// A fresh directory under $TMPDIR (or /tmp), mode 0755 so that the postgres, dovecot and dovenull
// users can traverse it. The destructor removes it recursively (errors are ignored).
// Keep prefixes short: Dovecot and PostgreSQL put unix sockets below it (108-byte path limit).
class TempDir {
public:
    explicit TempDir(const std::string &prefix = "imapmig-test");
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    TempDir(TempDir &&other) noexcept;
    TempDir &operator=(TempDir &&other) noexcept;

    const std::string &path() const { return path_; }
    // path() + "/" + name
    std::string file(const std::string &name) const;

private:
    std::string path_;
};

// Writes (replaces) a file and sets its mode; throws std::runtime_error on failure.
void write_file(const std::string &path, const std::string &content, mode_t mode = 0644);
// Whole file content; throws std::runtime_error if it cannot be read.
std::string read_file(const std::string &path);
// Like read_file, but "" when the file is missing or unreadable.
std::string read_file_or_empty(const std::string &path);
// The last max_lines lines of a file ("" if missing): for error messages.
std::string file_tail(const std::string &path, std::size_t max_lines = 40);
// mkdir -p, then chmod/chown the last component; user "" keeps root.
void make_dir(const std::string &path, mode_t mode = 0755, const std::string &owner = {});
// chown to a user name and that user's primary group (or the given group); throws on failure.
void chown_to(const std::string &path, const std::string &user, const std::string &group = {});

} // namespace testsupport
