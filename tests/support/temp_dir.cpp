#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <pwd.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace testsupport {

namespace {

std::runtime_error sys_error(const std::string &what, const std::string &path) {
    return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

std::string temp_root() {
    const char *env = std::getenv("TMPDIR");
    return (env != nullptr && *env != '\0') ? env : "/tmp";
}

} // namespace

TempDir::TempDir(const std::string &prefix) {
    std::string templ = temp_root() + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr)
        throw sys_error("mkdtemp", templ);
    path_ = buf.data();
    if (chmod(path_.c_str(), 0755) != 0)
        throw sys_error("chmod", path_);
}

TempDir::~TempDir() {
    if (path_.empty())
        return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

TempDir::TempDir(TempDir &&other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir &TempDir::operator=(TempDir &&other) noexcept {
    if (this != &other) {
        TempDir old(std::move(*this));
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

std::string TempDir::file(const std::string &name) const {
    return path_ + "/" + name;
}

void write_file(const std::string &path, const std::string &content, mode_t mode) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        throw sys_error("open", path);
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            auto err = sys_error("write", path);
            close(fd);
            throw err;
        }
        done += static_cast<std::size_t>(n);
    }
    // O_CREAT's mode is filtered by the umask and ignored for existing files.
    if (fchmod(fd, mode) != 0) {
        auto err = sys_error("fchmod", path);
        close(fd);
        throw err;
    }
    if (close(fd) != 0)
        throw sys_error("close", path);
}

std::string read_file(const std::string &path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw sys_error("open", path);
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            auto err = sys_error("read", path);
            close(fd);
            throw err;
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    close(fd);
    return out;
}

std::string read_file_or_empty(const std::string &path) {
    try {
        return read_file(path);
    } catch (const std::exception &) {
        return {};
    }
}

std::string file_tail(const std::string &path, std::size_t max_lines) {
    std::string content = read_file_or_empty(path);
    std::size_t pos = content.size();
    if (pos > 0 && content[pos - 1] == '\n')
        --pos;
    for (std::size_t lines = 0; pos > 0; --pos) {
        if (content[pos - 1] == '\n' && ++lines == max_lines)
            break;
    }
    return content.substr(pos);
}

void chown_to(const std::string &path, const std::string &user, const std::string &group) {
    struct passwd *pw = getpwnam(user.c_str());
    if (pw == nullptr)
        throw std::runtime_error("unknown user " + user);
    gid_t gid = pw->pw_gid;
    if (!group.empty()) {
        struct group *gr = getgrnam(group.c_str());
        if (gr == nullptr)
            throw std::runtime_error("unknown group " + group);
        gid = gr->gr_gid;
    }
    if (chown(path.c_str(), pw->pw_uid, gid) != 0)
        throw sys_error("chown", path);
}

void make_dir(const std::string &path, mode_t mode, const std::string &owner) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec)
        throw std::runtime_error("mkdir " + path + ": " + ec.message());
    if (chmod(path.c_str(), mode) != 0)
        throw sys_error("chmod", path);
    if (!owner.empty())
        chown_to(path, owner);
}

} // namespace testsupport
