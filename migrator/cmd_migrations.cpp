// migrations list|show|stop|resume|resync|finish|delete|secret
#include "cli.hpp"

#include "base/json.hpp"
#include "crypto/secrets.hpp"
#include "db/migrations_table.hpp"
#include "list_table.hpp"
#include "sync/offlineimap/offlineimap_sync.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <iostream>

namespace imapmig::cli {

namespace {

struct ListArgs {
    MigrationFilter filter;
    bool json = false;
};

std::optional<ListArgs> parse_list_args(const std::vector<std::string> &args) {
    ListArgs out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (a == "--json") {
            out.json = true;
        } else if (a == "--state" && i + 1 < args.size()) {
            const std::string &s = args[++i];
            out.filter.state = parse_migration_state(s);
            if (!out.filter.state) {
                std::string all;
                for (const MigrationStateName &n : migration_state_names)
                    all += (all.empty() ? "" : ", ") + std::string(n.text);
                usage_error("--state must be one of " + all);
                return std::nullopt;
            }
        } else if (a == "--domain" && i + 1 < args.size()) {
            out.filter.domain = args[++i];
        } else if (a == "--limit" && i + 1 < args.size()) {
            const std::string &n = args[++i];
            auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), out.filter.limit);
            if (ec != std::errc() || end != n.data() + n.size() || out.filter.limit < 0) {
                usage_error("--limit expects a number of migrations (0: all), got '" + n + "'");
                return std::nullopt;
            }
        } else {
            usage_error("migrations list: unexpected argument '" + a + "'");
            return std::nullopt;
        }
    }
    return out;
}

// One migration as a JSON object, without the closing brace (show adds its folders).
void print_json_fields(const MigrationRow &m) {
    auto opt = [](const std::string &v) { return v.empty() ? "null" : json_quote(v); };
    std::cout << "{\"id\": " << m.id << ", \"user\": " << json_quote(m.user)
              << ", \"provider\": " << json_quote(m.provider)
              << ", \"old_login\": " << json_quote(m.old_login)
              << ", \"state\": " << json_quote(std::string(to_string(m.state)))
              << ", \"created_at\": " << json_quote(m.created_at)
              << ", \"last_sync_at\": " << opt(m.last_sync_at)
              << ", \"next_sync_at\": " << opt(m.next_sync_at)
              << ", \"messages_copied\": " << m.messages_copied
              << ", \"messages_total\": " << m.messages_total << ", \"bytes\": " << m.bytes
              << ", \"folders_done\": " << m.folders_done
              << ", \"folders_total\": " << m.folders_total << ", \"runs\": " << m.runs
              << ", \"attempts\": " << m.attempts
              << ", \"finish_requested\": " << (m.finish_requested ? "true" : "false")
              << ", \"verified_at\": " << opt(m.verified_at) << ", \"missing_messages\": "
              << (m.missing_messages < 0 ? std::string("null") : std::to_string(m.missing_messages))
              << ", \"password_changed_at\": " << opt(m.password_changed_at)
              << ", \"last_error\": " << opt(m.last_error);
}

void print_json(const std::vector<MigrationRow> &rows) {
    std::cout << "[";
    for (size_t i = 0; i < rows.size(); ++i) {
        std::cout << (i ? ",\n " : "");
        print_json_fields(rows[i]);
        std::cout << "}";
    }
    std::cout << "]\n";
}

// Config + database + one ID argument: the shape of most subcommands here.
struct Target {
    Config config;
    Connection conn;
    long long id;
};

std::optional<Target> open_target(Context &ctx, size_t extra_args = 0) {
    if (ctx.args.size() != 1 + extra_args) {
        usage_error("expected a migration ID");
        return std::nullopt;
    }
    auto id = parse_id(ctx.args[0]);
    if (!id)
        return std::nullopt;
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return std::nullopt;
    auto conn = connect_database(*config);
    if (!conn)
        return std::nullopt;
    return Target{std::move(*config), std::move(*conn), *id};
}

int run_action(Context &ctx, AdminAction action, const char *done) {
    if (ctx.args.size() != 1)
        return usage_error("expected one migration ID");
    auto t = open_target(ctx);
    if (!t)
        return ctx.args.size() == 1 ? exit_error : exit_usage;
    auto state = apply_admin_action(t->conn, t->id, action);
    if (!state)
        return fail(state.error().message);
    std::cout << "migration " << t->id << " " << done << " (state: " << to_string(state.value())
              << ")\n";
    return exit_ok;
}

} // namespace

int cmd_migrations_list(Context &ctx) {
    auto args = parse_list_args(ctx.args);
    if (!args)
        return exit_usage;
    auto config = load_config_or_report(ctx.config_path);
    if (!config)
        return exit_error;
    auto conn = connect_database(*config);
    if (!conn)
        return exit_error;
    // One row more than asked for tells whether the limit cut the list.
    const long long limit = args->filter.limit;
    if (limit > 0)
        ++args->filter.limit;
    bool cut = false;
    if (args->json) {
        auto rows = list_migrations(*conn, args->filter);
        if (!rows)
            return fail(rows.error().message);
        cut = limit > 0 && static_cast<long long>(rows.value().size()) > limit;
        if (cut)
            rows.value().pop_back();
        print_json(rows.value());
    } else {
        // Printed as the rows arrive: the table starts at once, however long the list.
        ListTable table(stdout);
        long long shown = 0;
        auto r = for_each_migration_line(*conn, args->filter, [&](const MigrationListLine &m) {
            if (limit > 0 && shown == limit) {
                cut = true;
            } else {
                table.add(m);
                ++shown;
            }
        });
        if (!r)
            return fail(r.error().message);
        table.flush();
    }
    if (cut)
        std::cerr << "first " << limit << " migrations shown, more match: raise --limit (0: all)\n";
    return exit_ok;
}

int cmd_migrations_show(Context &ctx) {
    const auto json_at = std::find(ctx.args.begin(), ctx.args.end(), "--json");
    const bool json = json_at != ctx.args.end();
    if (json)
        ctx.args.erase(json_at);
    auto t = open_target(ctx);
    if (!t)
        return ctx.args.size() == 1 ? exit_error : exit_usage;
    auto row = find_migration(t->conn, t->id);
    if (!row)
        return fail(row.error().message);
    if (!row.value())
        return fail("migration " + std::to_string(t->id) + " does not exist");
    const MigrationRow &m = *row.value();
    auto folders = migration_folders(t->conn, t->id);
    if (!folders)
        return fail(folders.error().message);
    if (json) {
        print_json_fields(m);
        std::cout << ", \"folders\": [";
        for (size_t i = 0; i < folders.value().size(); ++i) {
            const MigrationFolder &f = folders.value()[i];
            std::cout << (i ? ", " : "") << "{\"old_name\": " << json_quote(f.old_name)
                      << ", \"new_name\": " << json_quote(f.new_name)
                      << ", \"old_messages\": " << f.old_messages << ", \"new_messages\": "
                      << (f.new_messages < 0 ? std::string("null") : std::to_string(f.new_messages))
                      << ", \"missing\": " << f.missing << "}";
        }
        std::cout << "]}\n";
        return exit_ok;
    }
    std::cout << "migration:        " << m.id << "\nuser:             " << m.user
              << "\nold login:        " << m.old_login << " at " << m.provider
              << "\nstate:            " << to_string(m.state)
              << (m.finish_requested ? " (finish requested)" : "")
              << "\ncreated:          " << m.created_at
              << "\nlast sync:        " << (m.last_sync_at.empty() ? "never" : m.last_sync_at)
              << "\nnext sync:        " << (m.next_sync_at.empty() ? "-" : m.next_sync_at)
              << "\nruns:             " << m.runs << " (" << m.attempts << " failed in a row)"
              << "\nfolders:          " << m.folders_done << "/" << m.folders_total
              << "\nmessages copied:  " << m.messages_copied << " (old side lists "
              << m.messages_total << ")"
              << "\nsize here:        " << m.bytes << " bytes"
              << "\nverified:         "
              << (m.verified_at.empty()
                      ? std::string("never")
                      : m.verified_at + ", " + std::to_string(m.missing_messages) +
                            " message(s) missing")
              << "\nold password:     " << (m.has_secret ? "stored (sealed)" : "wiped")
              << (m.password_changed_at.empty()
                      ? std::string()
                      : ", changed at the old provider (taken over by a login at " +
                            m.password_changed_at + ")")
              << "\nlast error:       " << (m.last_error.empty() ? "-" : m.last_error) << "\n";
    if (!folders.value().empty()) {
        // Where each old folder went, and what the last verification counted there.
        std::cout << "folders (old -> new: old/new messages, missing):\n";
        for (const auto &f : folders.value())
            std::cout << "  " << f.old_name << " -> " << f.new_name << ": " << f.old_messages << "/"
                      << (f.new_messages < 0 ? std::string("absent")
                                             : std::to_string(f.new_messages))
                      << (f.missing > 0 ? ", " + std::to_string(f.missing) + " MISSING" : "")
                      << "\n";
    }
    auto events = migration_events(t->conn, t->id, 20);
    if (events) {
        std::cout << "recent events:\n";
        for (const auto &e : events.value())
            std::cout << "  " << e.at << "  " << e.kind << "  " << e.message << "\n";
    }
    return exit_ok;
}

int cmd_migrations_stop(Context &ctx) {
    return run_action(ctx, AdminAction::stop, "stopped");
}
int cmd_migrations_resume(Context &ctx) {
    return run_action(ctx, AdminAction::resume, "resumed");
}
int cmd_migrations_resync(Context &ctx) {
    return run_action(ctx, AdminAction::resync, "will sync again now");
}
int cmd_migrations_accept(Context &ctx) {
    return run_action(ctx, AdminAction::accept,
                      "will take the new mailbox as it is at the next sync's verification");
}
int cmd_migrations_finish(Context &ctx) {
    return run_action(ctx, AdminAction::finish, "will finish after one more sync");
}

int cmd_migrations_delete(Context &ctx) {
    auto t = open_target(ctx);
    if (!t)
        return ctx.args.size() == 1 ? exit_error : exit_usage;
    if (auto r = delete_migration(t->conn, t->id); !r)
        return fail(r.error().message);
    // offlineimap's sync state on this host; a worker elsewhere prunes its own copy.
    std::error_code ec;
    std::filesystem::remove_all(migration_state_dir(t->config, t->id), ec);
    std::cout << "migration " << t->id
              << " deleted (its stored password and sync state with it; the account and its mail "
                 "stay)\n";
    return exit_ok;
}

int cmd_migrations_secret(Context &ctx) {
    if (ctx.args.size() != 2 || (ctx.args[1] != "old" && ctx.args[1] != "new"))
        return usage_error("migrations secret ID old|new");
    if (::isatty(STDOUT_FILENO))
        return fail("refusing to print a password to a terminal (this is for offlineimap's "
                    "pythonfile, through a pipe)");
    auto t = open_target(ctx, 1);
    if (!t)
        return exit_error;
    if (ctx.args[1] == "new") {
        if (!t->config.local_imap)
            return fail("the local_imap section is not configured");
        auto password = read_password_file(t->config.local_imap->master_password_file);
        if (!password)
            return fail(password.error().message);
        std::cout << password.value().reveal() << "\n";
        return exit_ok;
    }
    auto r = migration_secret(t->conn, t->id);
    if (!r)
        return fail(r.error().message);
    if (!r.value())
        return fail("migration " + std::to_string(t->id) + " has no stored password");
    auto keys = KeyRing::load(t->config.secret_key_file, t->config.previous_secret_key_files);
    if (!keys)
        return fail(keys.error().message);
    const StoredMigrationSecret &stored = *r.value();
    auto pw = keys.value().open(stored.secret,
                                migration_secret_context(stored.provider, stored.old_login));
    if (!pw)
        return fail(pw.error().message);
    std::cout << pw.value().reveal() << "\n";
    return exit_ok;
}

} // namespace imapmig::cli
