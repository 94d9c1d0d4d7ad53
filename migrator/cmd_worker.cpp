#include "cli.hpp"

#include "worker.hpp"

#include <unistd.h>

#include <climits>

namespace imapmig::cli {

int cmd_worker(Context &ctx) {
    worker::Options o;
    o.config_path = ctx.config_path;
    for (const auto &a : ctx.args) {
        if (a == "--once")
            o.once = true;
        else
            return usage_error("worker: unexpected argument '" + a + "'");
    }
    char self[PATH_MAX] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    o.migrator_binary = n > 0 ? std::string(self, static_cast<size_t>(n)) : "imap-migrator";
    return worker::run(o);
}

} // namespace imapmig::cli
