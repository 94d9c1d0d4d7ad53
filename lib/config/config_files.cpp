#include "config/config_files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace imapmig {

namespace {

// Closes the descriptor on every path out.
class OpenFile {
public:
    explicit OpenFile(int fd) : fd_(fd) {}
    ~OpenFile() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    OpenFile(const OpenFile &) = delete;
    OpenFile &operator=(const OpenFile &) = delete;
    int get() const { return fd_; }
    void reset(int fd) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

std::string kind_of(mode_t mode) {
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

bool pseudo_filesystem(long type) {
    return type == PROC_SUPER_MAGIC || type == SYSFS_MAGIC || type == DEBUGFS_MAGIC ||
           type == SECURITYFS_MAGIC || type == CGROUP_SUPER_MAGIC || type == CGROUP2_SUPER_MAGIC;
}

// Opened without blocking (a FIFO with no writer would block a plain open), then the checks on
// what was opened, not on the name: no race with a rename in between.
Result<void> open_regular(const std::string &path, OpenFile &out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return config_error(std::strerror(errno));
    out.reset(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0)
        return config_error(std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return config_error("is " + kind_of(st.st_mode) + ", not a regular file");
    struct statfs fs;
    if (::fstatfs(fd, &fs) == 0 && pseudo_filesystem(static_cast<long>(fs.f_type)))
        return config_error("is in /proc or /sys, not a regular file");
    // Regular files ignore O_NONBLOCK, but clear it anyway for a plain blocking read.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return {};
}

} // namespace

Result<std::string> read_regular_file(const std::string &path, size_t max_bytes) {
    OpenFile file(-1);
    if (auto r = open_regular(path, file); !r)
        return r.error();
    std::string text;
    char chunk[65536];
    while (true) {
        ssize_t n = ::read(file.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return config_error(std::strerror(errno));
        if (n == 0)
            return text;
        if (text.size() + static_cast<size_t>(n) > max_bytes)
            return config_error("is larger than " + std::to_string(max_bytes / 1024) + " KiB");
        text.append(chunk, static_cast<size_t>(n));
    }
}

Result<void> check_regular_file(const std::string &path) {
    OpenFile file(-1);
    return open_regular(path, file);
}

Result<void> check_directory_or_missing(const std::string &path) {
    for (std::string_view pseudo : {"/proc", "/sys", "/dev"})
        if (path.compare(0, pseudo.size(), pseudo) == 0 &&
            (path.size() == pseudo.size() || path[pseudo.size()] == '/'))
            return config_error("is under " + std::string(pseudo) + ", not a directory for files");
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        return errno == ENOENT ? Result<void>() : Result<void>(config_error(std::strerror(errno)));
    if (!S_ISDIR(st.st_mode))
        return config_error("is " + kind_of(st.st_mode) + ", not a directory");
    struct statfs fs;
    if (::statfs(path.c_str(), &fs) == 0 && pseudo_filesystem(static_cast<long>(fs.f_type)))
        return config_error("is in /proc or /sys, not a directory for files");
    return {};
}

std::string escape_control(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    auto escape = [&](unsigned char b) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\x%02X", b);
        out += buf;
    };
    for (size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x20 || b == 0x7F) {
            escape(b);
            ++i;
            continue;
        }
        if (b < 0x80) {
            out += static_cast<char>(b);
            ++i;
            continue;
        }
        // A well-formed UTF-8 sequence passes, except C1 controls (U+0080-U+009F: 0xC2 0x80-0x9F,
        // which terminals read as escape sequences); anything else is escaped byte by byte.
        size_t len = b >= 0xF0 && b < 0xF5 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
        bool ok = len > 0 && i + len <= text.size();
        for (size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (ok && len == 2 && b == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0)
            ok = false;
        if (ok && len == 3) {
            const auto b1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(b == 0xE0 && b1 < 0xA0) && !(b == 0xED && b1 >= 0xA0);
        }
        if (ok && len == 4) {
            const auto b1 = static_cast<unsigned char>(text[i + 1]);
            ok = !(b == 0xF0 && b1 < 0x90) && !(b == 0xF4 && b1 >= 0x90);
        }
        if (!ok) {
            escape(b);
            ++i;
            continue;
        }
        out.append(text.substr(i, len));
        i += len;
    }
    return out;
}

} // namespace imapmig
