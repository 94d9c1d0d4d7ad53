// The README's demo: everything private and on 127.0.0.1 (PostgreSQL, an old provider with a
// few users, the new Dovecot loading our module), then a first login with old credentials.
#include "migration_env.hpp"
#include "process.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

using namespace testsupport;

namespace {

void show(const MigrationEnv &env, const std::string &title, const std::string &query) {
    std::cout << "  " << title << ":\n";
    auto rows = pg_query(env.db, query);
    if (rows.empty())
        std::cout << "    (none)\n";
    for (const auto &row : rows) {
        std::cout << "   ";
        for (const auto &col : row)
            std::cout << " " << col;
        std::cout << "\n";
    }
}

// "OK [CAPABILITY ...] Logged in" -> "OK Logged in"
std::string short_reply(const ImapClient::Reply &r) {
    std::string text = r.text;
    if (text.rfind("[CAPABILITY", 0) == 0 && text.find("] ") != std::string::npos)
        text = text.substr(text.find("] ") + 2);
    return r.status + " " + text;
}

void show_plugin_log(const MigrationEnv &env) {
    std::istringstream log(env.new_log());
    std::string line;
    while (std::getline(log, line))
        if (line.find("imapmigration") != std::string::npos &&
            line.find("Debug:") == std::string::npos)
            std::cout << "    " << line << "\n";
}

// The worker as an admin runs it, for as long as the demo needs it.
class WorkerRun {
public:
    explicit WorkerRun(const MigrationEnv &env) {
        SpawnOptions o;
        o.output_path = env.dir.file("worker.log");
        pid_ = spawn({migrator_path(), "-c", env.config_path, "worker"}, o);
    }
    ~WorkerRun() { stop_child(pid_, SIGTERM, 15000); }

private:
    pid_t pid_;
};

} // namespace

int main() {
    try {
        std::cout << "Starting a private PostgreSQL, the old provider and the new Dovecot...\n";
        MigrationEnvOptions options;
        options.password_scheme = "SHA512-CRYPT"; // the product's default
        MigrationEnv env(options);
        env.seed_mail(alice, "", 120);
        env.seed_mail(alice, "Archive.2023", 40);
        env.seed_mail(alice, "Sent Items", 25);
        env.seed_mail(alice, "Entw&APw-rfe", 5); // "Entwürfe"
        env.start_new_dovecot();
        std::cout << "  old provider: Dovecot on 127.0.0.1:" << env.old.imaps_port()
                  << " (IMAPS, test CA), users " << alice << ", " << bob << ", " << carol << "\n"
                  << "  new Dovecot:  127.0.0.1:" << env.new_imap_port
                  << ", passdb sql + imapmigration (module from the build tree)\n"
                  << "  config:       " << env.config_path << "\n\n";
        show(env, "accounts on the new server before", "SELECT username FROM accounts");

        std::cout << "\n" << alice << " logs into the NEW server with the OLD password...\n";
        auto reply = env.imap_login(alice, alice_pw);
        std::cout << "  IMAP LOGIN: " << short_reply(reply) << "\n\n";

        std::cout << "Created in one transaction:\n";
        show(env, "domains (old.example is renamed to new.example)",
             "SELECT id, name FROM domains");
        show(env, "accounts (password hashed for Dovecot)",
             "SELECT username, substring(password from 1 for 30) || '...' FROM accounts");
        show(env, "migrations (old password sealed with the key file)",
             "SELECT id, provider, old_login, state, 'key=' || secret_key_id, "
             "length(secret) || ' bytes sealed' FROM migrations");
        std::cout << "\nLog lines of the plugin:\n";
        show_plugin_log(env);

        std::cout << "\nThe worker (imap-migrator worker, woken by NOTIFY) copies the mail...\n";
        {
            WorkerRun worker(env);
            for (int i = 0; i < 240 && env.sql("SELECT state FROM migrations") != "synced"; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        show(env, "migration after the first sync",
             "SELECT id, state, messages_copied || ' messages copied', "
             "'next sync ' || to_char(next_sync_at, 'HH24:MI') FROM migrations");
        const FolderMap before = folder_stats(env.old.dovecot(), alice, '.');
        const FolderMap after = folder_stats(env.new_dovecot(), alice_new, '/');
        std::cout
            << "\n  folder                 old provider   new server (messages / seen / flagged)\n";
        for (const auto &[folder, s] : before) {
            const FolderStats n = after.count(folder) ? after.at(folder) : FolderStats{};
            std::printf("  %-22s %4ld/%3ld/%3ld   %4ld/%3ld/%3ld\n", folder.c_str(), s.messages,
                        s.seen, s.flagged, n.messages, n.seen, n.flagged);
        }
        const bool mail_arrived = before == after;
        std::cout << "  every folder arrived with its flags: " << (mail_arrived ? "yes" : "NO")
                  << "\n";

        std::cout << "\nThe old provider is switched off; " << alice_new
                  << " logs in with the same password...\n";
        env.old.stop();
        auto again = env.imap_login(alice_new, alice_pw);
        std::cout << "  IMAP LOGIN: " << short_reply(again)
                  << "   (answered by the local SQL passdb)\n";
        std::cout << "\nNo password in the Dovecot log: "
                  << (env.logs_free_of_passwords() ? "yes" : "NO - BUG") << "\n";
        return reply.status == "OK" && again.status == "OK" && mail_arrived &&
                       env.logs_free_of_passwords()
                   ? 0
                   : 1;
    } catch (const std::exception &e) {
        std::cerr << "demo failed: " << e.what() << "\n";
        return 1;
    }
}
