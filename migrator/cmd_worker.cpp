#include "cli.hpp"

#include "worker.hpp"

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
    return worker::run(o);
}

} // namespace imapmig::cli
