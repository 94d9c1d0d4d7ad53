// `status`: one line per active migration; redrawn every second on a terminal.
#include "cli.hpp"

#include "db/migrations_table.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

namespace imapmig::cli {

namespace {

std::string bar(long long done, long long total, int width = 20) {
    const int filled = total > 0 ? static_cast<int>(std::min(done, total) * width / total) : 0;
    return "[" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(width - filled), '.') + "]";
}

std::string line_for(const MigrationRow &m, bool tty) {
    std::ostringstream out;
    out << "#" << m.id << " " << m.user << " " << to_string(m.state);
    if (m.state == MigrationState::syncing) {
        if (tty)
            out << " " << bar(m.folders_done, m.folders_total);
        out << " folders " << m.folders_done << "/" << m.folders_total;
    }
    out << " messages " << m.messages_copied << "/" << m.messages_total;
    if (!m.last_sync_at.empty())
        out << " last sync " << m.last_sync_at;
    if (m.state == MigrationState::failed)
        out << " next try " << m.next_sync_at << ": " << m.last_error.substr(0, 80);
    return out.str();
}

} // namespace

int cmd_status(Context &ctx) {
    bool once = !::isatty(STDOUT_FILENO);
    for (const auto &a : ctx.args) {
        if (a == "--once")
            once = true;
        else
            return usage_error("status: unexpected argument '" + a + "'");
    }
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    auto conn = connect_database(*config);
    if (!conn)
        return exit_error;
    MigrationFilter filter;
    filter.active_only = true;
    while (true) {
        auto rows = list_migrations(*conn, filter);
        if (!rows)
            return fail(rows.error().message);
        if (!once)
            std::cout << "\033[H\033[J"
                      << "active migrations (Ctrl-C to quit)\n";
        for (const auto &m : rows.value())
            std::cout << line_for(m, !once) << "\n";
        if (rows.value().empty())
            std::cout << "no active migrations\n";
        std::cout.flush();
        if (once)
            return exit_ok;
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

} // namespace imapmig::cli
