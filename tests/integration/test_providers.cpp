// Old providers: Cyrus IMAP 3.6 (both layouts) and Courier IMAP 5, from Debian 12's packages in
// a cached root (scripts/make-test-root.sh), and a Dovecot of this tree's line, migrated to
// Dovecot with both engines through the real worker, then checked message by message (folder,
// headers, body, flags, keywords, INTERNALDATE) after the first sync and after a re-sync.
//
// [providers] asserts every property with both engines and prints each engine's exactness. A
// property an engine loses again goes into a hidden [providers-pending] case (run with
// `integration-tests '[providers-pending]'`) until it is fixed; all cases share one migration
// per provider and engine.
#include "courier_instance.hpp"
#include "cyrus_instance.hpp"
#include "dovecot_old_imap.hpp"
#include "mail_compare.hpp"
#include "mail_corpus.hpp"
#include "mailbox_reader.hpp"
#include "migration_env.hpp"

#include "catch_compat.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>

using namespace testsupport;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The new server's special-use folders, as Debian's stock conf.d/15-mailboxes.conf declares
// them (plus Archive): where a user expects the old provider's Sent, Drafts, ... mail.
const char *const new_mailboxes = R"(namespace inbox {
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Junk {
    special_use = \Junk
  }
  mailbox Trash {
    special_use = \Trash
  }
  mailbox Sent {
    special_use = \Sent
  }
  mailbox "Sent Messages" {
    special_use = \Sent
  }
  mailbox Archive {
    special_use = \Archive
  }
}
)";

const std::map<std::string, std::string> new_special_use = {{"\\Sent", "Sent"},
                                                            {"\\Drafts", "Drafts"},
                                                            {"\\Trash", "Trash"},
                                                            {"\\Junk", "Junk"},
                                                            {"\\Archive", "Archive"}};

struct EngineRun {
    std::string engine;
    std::string state_first, state_resync; // the migration's state after each worker pass
    std::string worker_output;
    CompareReport first, resync;
    double sync_seconds = 0, resync_seconds = 0;
};

struct ProviderRun {
    std::string description;
    Mailbox old;
    std::size_t corpus_messages = 0;
    std::vector<EngineRun> engines;
    double seed_seconds = 0;
};

std::string migration_of(MigrationEnv &env, const std::string &user) {
    return env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.username = '" +
                   user + "'");
}

std::string worker_pass(MigrationEnv &env, const std::string &id, std::string &output) {
    auto r = env.migrator({"worker", "--once"});
    output += r.out + r.err;
    return env.sql("SELECT state FROM migrations WHERE id = " + id);
}

Mailbox read_new_side(MigrationEnv &env) {
    return read_mailbox("127.0.0.1", env.new_imap_port, bob + "*" + master_user, master_pw);
}

// One migration of bob from server to a fresh Dovecot with engine: first sync, re-sync.
// sync_yaml: extra keys of the sync section ("  key: value\n").
// provider_sync_yaml: extra keys of the provider's sync section ("      key: value\n").
EngineRun migrate(const OldImapServer &server, const Mailbox &old, const std::string &engine,
                  const std::string &sync_yaml = "", const std::string &provider_sync_yaml = "") {
    EngineRun run;
    run.engine = engine;
    MigrationEnvOptions o;
    o.security = "none";
    o.provider_port_override = server.port();
    o.new_dovecot_config = new_mailboxes;
    o.auth_debug = false;
    o.sync_yaml = sync_yaml;
    const std::string provider_sync =
        (engine == "dsync" ? "      engine: dsync\n" : "") + provider_sync_yaml;
    if (!provider_sync.empty())
        o.extra_yaml = "    sync:\n" + provider_sync;
    MigrationEnv env(o);
    env.start_new_dovecot();
    const auto login = env.imap_login(bob, bob_pw);
    INFO(server.log().substr(server.log().size() > 4000 ? server.log().size() - 4000 : 0));
    REQUIRE(login.status == "OK");
    const std::string id = migration_of(env, bob);
    auto t0 = Clock::now();
    run.state_first = worker_pass(env, id, run.worker_output);
    run.sync_seconds = seconds_since(t0);
    // `synced` means verified: every old folder compared with where it went, nothing missing.
    const std::string folders_checked =
        env.sql("SELECT count(*) FROM migration_folders WHERE migration_id = " + id);
    INFO("last error: " +
         env.sql("SELECT coalesce(last_error, '') FROM migrations WHERE id = " + id));
    CHECK(folders_checked != "0");
    CHECK(env.sql("SELECT count(*) FROM migration_folders WHERE missing = 0 AND migration_id = " +
                  id) == folders_checked);
    CHECK(env.sql("SELECT missing_messages FROM migrations WHERE id = " + id) == "0");
    run.first = compare_mailboxes(old, read_new_side(env), new_special_use);
    REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
    t0 = Clock::now();
    run.state_resync = worker_pass(env, id, run.worker_output);
    run.resync_seconds = seconds_since(t0);
    run.resync = compare_mailboxes(old, read_new_side(env), new_special_use);
    CHECK(env.logs_free_of_passwords());
    return run;
}

enum class Provider { cyrus_beside, cyrus_under, courier, dovecot };

// Both engines; IMAPMIG_TEST_ENGINES=dsync (or offlineimap) runs one, for a quicker loop while
// fixing an engine.
std::vector<std::string> engines() {
    const char *only = std::getenv("IMAPMIG_TEST_ENGINES");
    if (only == nullptr || *only == '\0')
        return {"offlineimap", "dsync"};
    std::vector<std::string> out;
    std::string list = only;
    for (std::size_t start = 0; start <= list.size();) {
        std::size_t end = list.find(',', start);
        if (end == std::string::npos)
            end = list.size();
        if (end > start)
            out.push_back(list.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// The provider started with bob's corpus seeded; corpus_messages is its size.
std::unique_ptr<OldImapServer> seeded_provider(Provider p, std::size_t &corpus_messages) {
    // Both roots at once: on a clean machine this is where the time goes (cached afterwards).
    prepare_debian_test_roots({CyrusInstance::root_packages(), CourierInstance::root_packages()});
    std::unique_ptr<OldImapServer> server;
    std::string sent_name;
    if (p == Provider::dovecot) {
        auto dovecot = std::make_unique<DovecotOldImap>();
        dovecot->add_user(bob, bob_pw);
        dovecot->start();
        server = std::move(dovecot);
        sent_name = DovecotOldImap::sent_name();
    } else if (p == Provider::courier) {
        auto courier = std::make_unique<CourierInstance>();
        courier->add_user(bob, bob_pw);
        courier->start();
        server = std::move(courier);
        sent_name = "Sent";
    } else {
        auto cyrus = std::make_unique<CyrusInstance>(
            p == Provider::cyrus_beside ? CyrusLayout::beside_inbox : CyrusLayout::under_inbox);
        cyrus->add_user(bob, bob_pw);
        cyrus->start();
        server = std::move(cyrus);
        sent_name = p == Provider::cyrus_beside ? "Sent Items" : "Gesendet";
    }
    const Corpus corpus = provider_corpus(bob, sent_name);
    seed_corpus(*server, bob, bob_pw, corpus);
    corpus_messages = corpus.messages.size();
    return server;
}

ProviderRun make_run(Provider p) {
    auto t0 = Clock::now();
    ProviderRun run;
    auto server = seeded_provider(p, run.corpus_messages);
    run.description = server->description();
    run.seed_seconds = seconds_since(t0); // includes making the root on a clean machine
    run.old = read_mailbox("127.0.0.1", server->port(), bob, bob_pw);
    for (const auto &engine : engines())
        run.engines.push_back(migrate(*server, run.old, engine));
    server->stop();
    return run;
}

void print(const ProviderRun &run) {
    std::cout << "== " << run.description << ": server up and " << run.corpus_messages
              << " messages seeded in " << std::fixed << std::setprecision(1) << run.seed_seconds
              << " s\n";
    for (const auto &e : run.engines) {
        std::cout << "  " << std::setw(11) << e.engine << " first sync (" << e.state_first << ", "
                  << e.sync_seconds << " s): " << e.first.summary() << "\n"
                  << "  " << std::setw(11) << e.engine << " re-sync    (" << e.state_resync << ", "
                  << e.resync_seconds << " s): " << e.resync.summary() << "\n";
    }
    std::cout << std::flush;
}

// Computed once per test binary run and shared by the [providers] and [providers-pending]
// cases, so that running both costs one migration per provider and engine.
const ProviderRun &provider_run(Provider p) {
    static std::map<Provider, ProviderRun> runs;
    if (auto it = runs.find(p); it != runs.end())
        return it->second;
    ProviderRun run = make_run(p);
    print(run);
    return runs.emplace(p, std::move(run)).first->second;
}

const std::vector<Provider> all_providers = {Provider::cyrus_beside, Provider::cyrus_under,
                                             Provider::courier, Provider::dovecot};

const std::string twin_label = "<twin@corpus.example>"; // the identical-header pair

// Messages other than the identical-header pair that differ in what.
int others_differing_in(const CompareReport &r, const std::string &what) {
    return static_cast<int>(std::count_if(r.messages.begin(), r.messages.end(), [&](const auto &m) {
        return m.label != twin_label && m.differs_in(what);
    }));
}

// What holds with either engine: the run completes as synced (verified); every old message
// arrives, once, also after a re-sync; headers, bodies, system flags and INTERNALDATEs are the
// old ones. Folders, keywords and the identical-header pair are checked per property below.
void check_today(const ProviderRun &run) {
    REQUIRE(run.old.messages.size() == run.corpus_messages);
    for (const auto &e : run.engines) {
        INFO(run.description << ", " << e.engine << "\n" << e.worker_output);
        CHECK(e.state_first == "synced");
        CHECK(e.state_resync == "synced");
        for (const auto *r : {&e.first, &e.resync}) {
            INFO((r == &e.first ? "first sync: " : "re-sync: ") << r->summary() << "\n"
                                                                << r->details());
            CHECK(r->total() == static_cast<int>(run.corpus_messages));
            CHECK(r->missing() == 0);
            CHECK(r->duplicated() == 0);
            CHECK(r->extra_on_new == 0);
            for (const char *what : {"headers", "body", "flags", "date"}) {
                INFO(what);
                CHECK(others_differing_in(*r, what) == 0);
            }
        }
    }
}

// Messages of a report selected by their old folder, e.g. the special-use ones.
using FolderFilter = std::function<bool(const Mailbox &, const MailFolder &)>;

int misplaced(const ProviderRun &run, const CompareReport &r, const FolderFilter &filter) {
    int n = 0;
    for (const auto &m : r.messages)
        for (const auto &f : run.old.folders)
            if (f.name == m.old_folder && filter(run.old, f) &&
                (m.copies == 0 || m.differs_in("folder")))
                ++n;
    return n;
}

} // namespace

TEST_CASE("providers: Cyrus IMAP 3.6 with folders beside INBOX ('/') with both engines",
          "[integration][providers]") {
    check_today(provider_run(Provider::cyrus_beside));
}

TEST_CASE("providers: Cyrus IMAP 3.6 with folders under INBOX. ('.') with both engines",
          "[integration][providers]") {
    check_today(provider_run(Provider::cyrus_under));
}

TEST_CASE("providers: Courier IMAP 5 (INBOX. and '.') with both engines",
          "[integration][providers]") {
    check_today(provider_run(Provider::courier));
}

TEST_CASE("providers: Dovecot (Maildir++, '.', special use in its config) with both engines",
          "[integration][providers]") {
    check_today(provider_run(Provider::dovecot));
}

// ---- Per property. ----

TEST_CASE("providers: folders land beside INBOX with the old personal prefix stripped",
          "[integration][providers]") {
    for (Provider p : all_providers) {
        const auto &run = provider_run(p);
        for (const auto &e : run.engines) {
            INFO(run.description << ", " << e.engine << "\n" << e.first.details());
            const FolderFilter ordinary = [](const Mailbox &old, const MailFolder &f) {
                return special_use_of(old, f).empty();
            };
            CHECK(misplaced(run, e.first, ordinary) == 0);
            CHECK(misplaced(run, e.resync, ordinary) == 0);
        }
    }
}

void check_special_use(const std::string &engine) {
    for (Provider p : all_providers) {
        const auto &run = provider_run(p);
        for (const auto &e : run.engines) {
            if (e.engine != engine)
                continue;
            INFO(run.description << ", " << e.engine << "\n" << e.first.details());
            const FolderFilter special = [](const Mailbox &old, const MailFolder &f) {
                return !special_use_of(old, f).empty();
            };
            CHECK(misplaced(run, e.first, special) == 0);
            CHECK(misplaced(run, e.resync, special) == 0);
        }
    }
}

void check_exact(const std::string &engine) {
    for (Provider p : all_providers) {
        const auto &run = provider_run(p);
        for (const auto &e : run.engines) {
            if (e.engine != engine)
                continue;
            INFO(run.description << ", " << e.engine << "\nfirst sync:\n"
                                 << e.first.details() << "re-sync:\n"
                                 << e.resync.details());
            CHECK(e.first.exact() == e.first.total());
            CHECK(e.resync.exact() == e.resync.total());
        }
    }
}

// The new server's special-use folders do not exist yet (Debian's are `auto = no`): the plan
// takes their names from its configuration.
TEST_CASE("providers: offlineimap puts special-use folders in the new server's",
          "[integration][providers]") {
    check_special_use("offlineimap");
}

// dsync cannot rename a folder: it leaves them out and the folder copy pass copies them
// (lib/sync/folder_copy).
TEST_CASE("providers: dsync puts special-use folders in the new server's",
          "[integration][providers]") {
    check_special_use("dsync");
}

// offlineimap copies none: the keyword pass after it (lib/sync/keyword_pass) sets them.
TEST_CASE("providers: keywords arrive with both engines", "[integration][providers]") {
    for (Provider p : all_providers) {
        const auto &run = provider_run(p);
        for (const auto &e : run.engines) {
            INFO(run.description << ", " << e.engine << "\n" << e.first.details());
            CHECK(e.first.differing_in("keywords") == 0);
            CHECK(e.resync.differing_in("keywords") == 0);
        }
    }
}

TEST_CASE("providers: two messages with identical headers both arrive intact",
          "[integration][providers]") {
    for (Provider p : all_providers) {
        const auto &run = provider_run(p);
        for (const auto &e : run.engines) {
            INFO(run.description << ", " << e.engine);
            for (const auto *r : {&e.first, &e.resync}) {
                int twins = 0;
                for (const auto &m : r->messages)
                    if (m.label == twin_label) {
                        ++twins;
                        INFO(m.outcome());
                        CHECK(m.copies == 1);
                        CHECK(m.differences.empty());
                    }
                CHECK(twins == 2);
            }
        }
    }
}

TEST_CASE("providers: offlineimap: every message exact after the first sync and a re-sync",
          "[integration][providers]") {
    check_exact("offlineimap");
}

TEST_CASE("providers: dsync: every message exact after the first sync and a re-sync",
          "[integration][providers]") {
    check_exact("dsync");
}

// A provider's folder_map and folder_exclude's special uses, on one migration per case:
// - the old Junk stays behind, found by its mark (Cyrus) or, on a server that marks none
//   (Courier), by its name; the run is verified without it;
// - Archive (and its subfolder, which follows it) goes to Archiv-Alt;
// - a pattern merges Drafts and Trash into one folder "Müll", which offlineimap cannot do by
//   itself (the folder copy pass does it for both engines);
// every other message arrives exactly, once, also after a re-sync.
TEST_CASE("providers: folder_map and folder_exclude by special use", "[integration][providers]") {
    const std::string exclude = "  folder_exclude:\n    - '\\Junk'\n";
    const std::string folder_map = "      folder_map:\n"
                                   "        - old: Archive\n"
                                   "          new: Archiv-Alt\n"
                                   "        - pattern: '^(Drafts|Trash)$'\n"
                                   "          new: \"M\\u00fcll\"\n";
    const std::vector<std::pair<Provider, std::string>> cases = {{Provider::courier, "offlineimap"},
                                                                 {Provider::courier, "dsync"},
                                                                 {Provider::cyrus_under, "dsync"}};
    for (const auto &[p, engine] : cases) {
        std::size_t corpus_messages = 0;
        auto server = seeded_provider(p, corpus_messages);
        const Mailbox old = read_mailbox("127.0.0.1", server->port(), bob, bob_pw);
        const EngineRun run = migrate(*server, old, engine, exclude, folder_map);
        INFO(server->description() << ", " << engine << "\n"
                                   << run.worker_output << run.first.details());
        CHECK(run.state_first == "synced");
        CHECK(run.state_resync == "synced");
        int left_out = 0, mapped = 0;
        for (const auto *r : {&run.first, &run.resync})
            for (const auto &m : r->messages) {
                INFO(m.old_folder << ": " << m.outcome() << " in " << m.found_folder);
                const auto folder =
                    std::find_if(old.folders.begin(), old.folders.end(),
                                 [&](const MailFolder &f) { return f.name == m.old_folder; });
                REQUIRE(folder != old.folders.end());
                std::string name = m.old_folder; // without the old prefix
                if (name.rfind(old.personal_prefix, 0) == 0)
                    name = name.substr(old.personal_prefix.size());
                std::replace(name.begin(), name.end(), old.separator, '/');
                std::string expected;
                if (name == "Archive" || name == "Archive/2023")
                    expected = "Archiv-Alt" + name.substr(7);
                else if (name == "Drafts" || name == "Trash")
                    expected = "M&APw-ll";
                if (special_use_of(old, *folder) == "\\Junk") {
                    CHECK(m.copies == 0);
                    ++left_out;
                } else if (expected.empty()) {
                    CHECK(m.exact());
                } else {
                    ++mapped;
                    CHECK(m.copies == 1);
                    std::string found = m.found_folder; // in the new server's separator
                    std::replace(found.begin(), found.end(), '.', '/');
                    CHECK(found == expected);
                    for (const auto &d : m.differences)
                        CHECK(d == "folder");
                }
            }
        CHECK(left_out == 2 * 5);
        CHECK(mapped == 2 * (6 + 10 + 4 + 5));
        server->stop();
    }
}
