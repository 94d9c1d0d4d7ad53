#include "sync/state_identity.hpp"

#include "base/child_process.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace imapmig {

namespace {

constexpr const char *identity_file = "/migration-identity";

bool plausible_identity(const std::string &s) {
    if (s.empty() || s.size() > 64)
        return false;
    for (char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-')
            return false;
    return true;
}

Result<void> write_identity(const std::string &dir, const std::string &identity) {
    const std::string path = dir + identity_file;
    const std::string tmp = path + ".new";
    ::unlink(tmp.c_str());
    if (auto r = write_private_file(tmp, identity + "\n"); !r)
        return r;
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return temporary_error("cannot write " + path + ": " + std::strerror(errno));
    return {};
}

bool dir_is_empty(const std::string &dir) {
    std::error_code ec;
    auto it = std::filesystem::directory_iterator(dir, ec);
    return !ec && it == std::filesystem::directory_iterator();
}

} // namespace

Result<StateBinding> bind_sync_state(const std::string &dir, const std::string &identity,
                                     bool adopt_legacy, std::string *moved_to) {
    if (!plausible_identity(identity))
        return bug_error("a migration without a usable sync identity");
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return temporary_error("cannot stat " + dir + ": " + std::strerror(errno));
        if (auto r = make_private_dir(dir); !r)
            return r.error();
        if (auto r = write_identity(dir, identity); !r)
            return r.error();
        return StateBinding::fresh;
    }
    std::ifstream in(dir + identity_file);
    std::string found;
    std::getline(in, found);
    if (found == identity)
        return StateBinding::same;
    if (!in.is_open() && (dir_is_empty(dir) || adopt_legacy)) {
        const bool empty = dir_is_empty(dir);
        if (auto r = write_identity(dir, identity); !r)
            return r.error();
        return empty ? StateBinding::fresh : StateBinding::adopted;
    }
    const std::string aside = dir + ".other-" +
                              (plausible_identity(found) ? found : std::string("unknown")) + "-" +
                              std::to_string(std::time(nullptr));
    if (::rename(dir.c_str(), aside.c_str()) != 0)
        return temporary_error(
            "the sync state in " + dir +
            " belongs to another migration and cannot be moved aside: " + std::strerror(errno));
    if (moved_to)
        *moved_to = aside;
    if (auto r = make_private_dir(dir); !r)
        return r.error();
    if (auto r = write_identity(dir, identity); !r)
        return r.error();
    return StateBinding::replaced;
}

} // namespace imapmig
