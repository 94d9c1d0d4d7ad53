// generate-offlineimap-config: the reference's cron-style way, for admins who run offlineimap
// themselves. No password goes into the files: the pythonfile asks imap-migrator for each one.
#include "cli.hpp"

#include "db/migrations_table.hpp"
#include "sync/offlineimap/offlineimap_config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace imapmig::cli {

namespace {

// 0600 whether the file is new or not: an existing, wider file is tightened before writing.
bool write_0600(const std::string &path, const std::string &content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fail("cannot write " + path + ": " + std::strerror(errno));
        return false;
    }
    bool ok = ::fchmod(fd, 0600) == 0 &&
              ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    ::close(fd);
    if (!ok)
        fail("cannot write " + path + ": " + std::strerror(errno));
    return ok;
}

std::string self_path() {
    char self[PATH_MAX] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    return n > 0 ? std::string(self, static_cast<size_t>(n)) : "/usr/sbin/imap-migrator";
}

} // namespace

int cmd_generate_offlineimap_config(Context &ctx) {
    if (ctx.args.size() != 2 || ctx.args[0] != "--output")
        return usage_error("generate-offlineimap-config --output FILE");
    const std::string output = std::filesystem::absolute(ctx.args[1]).string();
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    if (!config->local_imap)
        return fail(ctx.config_path + ": local_imap (the Dovecot master user) is required");
    auto conn = connect_database(*config);
    if (!conn)
        return exit_error;
    auto rows = offlineimap_migrations(*conn);
    if (!rows)
        return fail(rows.error().message);
    std::vector<OfflineImapAccount> accounts;
    for (const OfflineImapMigration &m : rows.value()) {
        const ProviderConfig *p = config->provider(m.provider);
        if (p == nullptr) {
            std::cerr << "imap-migrator: skipping migration " << m.id << ": provider " << m.provider
                      << " is not configured\n";
            continue;
        }
        accounts.push_back({m.id, p, m.old_login, m.local_user});
    }
    if (accounts.empty())
        return fail("no active migrations: nothing to write");
    // offlineimap's sync state: losing it makes the next run copy everything again.
    const std::string metadata = config->sync.state_dir + "/offlineimap";
    std::error_code ec;
    std::filesystem::create_directories(metadata, ec);
    if (ec || ::chmod(metadata.c_str(), 0700) != 0)
        return fail("cannot create " + metadata + ": " +
                    (ec ? ec.message() : std::strerror(errno)));
    const std::string pythonfile = output + ".py";
    const std::string absolute_config = std::filesystem::absolute(ctx.config_path).string();
    if (!write_0600(pythonfile,
                    offlineimap_helper_python(config->sync, self_path(), absolute_config)) ||
        !write_0600(output, render_offlineimap_rc(*config, accounts, pythonfile, metadata)))
        return exit_error;
    std::cout << "wrote " << output << " (" << accounts.size() << " account(s)) and its pythonfile "
              << pythonfile << "\n";
    return exit_ok;
}

} // namespace imapmig::cli
