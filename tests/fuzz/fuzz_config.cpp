// libFuzzer target for the configuration loader: the input is imap-migration.yaml. The paths of
// the shipped example's key and master password files are replaced by real files, so inputs
// derived from the example reach the cross-field checks. Invariants are checked with abort():
// loading never throws, a diagnostic never carries a raw control character, a loaded config is
// consistent, and the folder pattern (from the config or the input's first line) runs in linear
// time (libFuzzer's -timeout catches a backtracking one).
#include "config/config.hpp"
#include "config/folder_pattern.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include <sys/stat.h>
#include <unistd.h>

using namespace imapmig;

namespace {

struct Files {
    std::string dir, config, key, master;
    Files() {
        char tmpl[] = "/tmp/fuzz-config-XXXXXX";
        if (!mkdtemp(tmpl))
            std::abort();
        dir = tmpl;
        config = dir + "/imap-migration.yaml";
        key = dir + "/key";
        master = dir + "/master.pass";
        std::ofstream(key, std::ios::binary) << std::string(32, 'k');
        ::chmod(key.c_str(), 0600);
        std::ofstream(master) << "master-secret\n";
    }
};

void replace_all(std::string &s, std::string_view from, const std::string &to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
}

bool has_control(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7F)
            return true;
    return false;
}

void check_pattern(std::string_view pattern, std::string_view name) {
    auto compiled = FolderPattern::compile(pattern);
    if (!compiled)
        return;
    (void)compiled.value().search(name);
    (void)compiled.value().search(std::string(2000, 'a'));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Files files;
    std::string text(reinterpret_cast<const char *>(data), size);
    replace_all(text, "/etc/dovecot/imap-migration.key", files.key);
    replace_all(text, "/etc/dovecot/imap-migration-master.pass", files.master);
    std::ofstream(files.config, std::ios::binary | std::ios::trunc) << text;

    const ConfigLoadResult r = load_config(files.config);
    if (r.config.has_value() == !r.errors.empty())
        std::abort();
    for (const auto &e : r.errors)
        if (e.line < 0 || e.message.empty() || has_control(e.to_string()))
            std::abort();
    if (r.config) {
        const Config &c = *r.config;
        for (const auto &p : c.providers)
            if (p.name.empty() || p.host.empty() || p.domains.empty() || p.port < 1 ||
                p.port > 65535)
                std::abort();
        if (!c.sync.folder_exclude.empty() && !FolderPattern::compile(c.sync.folder_exclude))
            std::abort();
        check_pattern(c.sync.folder_exclude, "Archive/2023");
    }
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    check_pattern(input.substr(0, input.find('\n')), input);
    return 0;
}
