// A server moving from Debian 12 (Dovecot 2.3, PostgreSQL 15) to Debian 13 (Dovecot 2.4,
// PostgreSQL 17) with a migration in flight, as UPGRADING.md ("Debian 12 to Debian 13") tells
// the admin to do it. The two halves run on different systems, so they are two tests that
// meet in a hand-off directory ($IMAPMIG_UPGRADE_HANDOFF), the parts an admin carries over:
//
//   [upgrade-from-2.3]  on Debian 12: a first login creates the account and the migration (the
//                       old password sealed with the key file), the worker syncs with dsync;
//                       then the servers stop and the hand-off gets the pg_dump -Fc of the
//                       database, the key file, the worker's state dir and both mail stores
//   [upgrade-to-2.4]    in the Debian 13 root: pg_restore into PostgreSQL 17, the same key,
//                       state and mail, Dovecot 2.4 with the 2.4 snippets; the user logs in
//                       through the SQL passdb, more mail arrives at the old provider, and the
//                       worker (unsealing the old password) brings exactly that
//
// scripts/test-debian13.sh runs the first with the Debian 12 build before the second in the
// root (--ci, --ci-test). The old provider is someone else's server and does not change in a
// real upgrade: its mail store (UIDs, UIDVALIDITY) is carried too and served again, by the
// root's Dovecot, the only one there.
#include "migration_env.hpp"
#include "pg_cluster.hpp"
#include "process.hpp"

#include "catch_compat.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

using namespace testsupport;
namespace fs = std::filesystem;

namespace {

// What the 2.3 side seeds and syncs: INBOX and Archive, message i carrying "<i.alice@...>".
constexpr int inbox_before = 40, archive_before = 15;
// What arrives at the old provider after the upgrade.
constexpr int inbox_after = 12, archive_after = 5;
const std::string new_only_id = "<written-on-the-new-server.alice@new.example>";

std::string handoff_dir() {
    const char *dir = std::getenv("IMAPMIG_UPGRADE_HANDOFF");
    return dir != nullptr ? dir : "";
}

MigrationEnvOptions dsync_options() {
    MigrationEnvOptions o;
    o.extra_yaml = "    sync:\n      engine: dsync\n";
    o.password_scheme = "ARGON2ID"; // the hash the 2.4 side must verify as 2.3 made it
    return o;
}

std::string alice_task(MigrationEnv &env) {
    return env.sql("SELECT m.id FROM migrations m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.username = '" +
                   alice_new + "'");
}

// One worker pass over what is due (the worker's output, for failures); the state afterwards.
std::string sync_once(MigrationEnv &env, const std::string &id, std::string &output) {
    auto r = env.migrator({"worker", "--once"});
    output += r.out + r.err;
    INFO(output);
    CHECK(r.exit_code == 0);
    return env.sql("SELECT state FROM migrations WHERE id = " + id);
}

// Message-IDs in a folder of the new server, sorted (a duplicate shows up twice).
std::vector<std::string> message_ids(const DovecotInstance &d, const std::string &folder) {
    auto r = d.doveadm({"fetch", "-u", alice_new, "hdr.message-id", "mailbox", folder, "all"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    std::vector<std::string> ids;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("hdr.message-id: ", 0) == 0)
            ids.push_back(line.substr(16));
    std::sort(ids.begin(), ids.end());
    return ids;
}

// The seeded messages 0..count-1 (seed_mail's Message-IDs), plus extra, sorted.
std::vector<std::string> seeded_ids(int count, std::vector<std::string> extra = {}) {
    for (int i = 0; i < count; ++i)
        extra.push_back("<" + std::to_string(i) + ".alice@seed.example>");
    std::sort(extra.begin(), extra.end());
    return extra;
}

// "uid:message-id" of every message in a folder, for "the old mail kept its UIDs".
std::map<std::string, std::string> uids_by_id(const DovecotInstance &d, const std::string &folder) {
    auto r = d.doveadm({"fetch", "-u", alice_new, "uid hdr.message-id", "mailbox", folder, "all"});
    std::map<std::string, std::string> out;
    std::istringstream lines(r.out);
    std::string uid;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("uid: ", 0) == 0)
            uid = line.substr(5);
        else if (line.rfind("hdr.message-id: ", 0) == 0)
            out[line.substr(16)] = uid;
    }
    return out;
}

// cp -a: owners (the mail belongs to nobody, uid 65534 on both systems), modes, times.
void copy_tree(const std::string &from, const std::string &to) {
    make_dir(to, 0700);
    run_checked({"cp", "-a", from + "/.", to + "/"});
}

std::string first_line(const std::string &text) {
    return text.substr(0, text.find('\n'));
}

// What dsync's saved state holds (dsync-mailbox-state.c, the same v1 format in 2.3.19 and
// 2.4.1): base64 of a version word, 44 bytes per mailbox (its GUID, UIDVALIDITY, the last
// UID and modseq both sides had, ...), a CRC32. "v1, N mailboxes".
std::string describe_dsync_state(const std::string &raw) {
    if (raw.size() < 8 || (raw.size() - 8) % 44 != 0)
        return "unknown format, " + std::to_string(raw.size()) + " bytes";
    return "v" + std::to_string(static_cast<unsigned char>(raw[0])) + ", " +
           std::to_string((raw.size() - 8) / 44) + " mailboxes";
}

std::string read_dsync_state(const std::string &path) {
    return run_checked({"base64", "-d", path}).out;
}

// The mailboxes a state is about: "GUID/UIDVALIDITY" (hex bytes as stored).
std::set<std::string> dsync_state_mailboxes(const std::string &raw) {
    std::set<std::string> out;
    for (size_t at = 4; raw.size() >= 8 && at + 44 <= raw.size() - 4; at += 44) {
        std::string key;
        for (size_t i = 0; i < 20; ++i) {
            static const char hex[] = "0123456789abcdef";
            const auto byte = static_cast<unsigned char>(raw[at + i]);
            key += i == 16 ? "/" : "";
            key += hex[byte >> 4];
            key += hex[byte & 15];
        }
        out.insert(key);
    }
    return out;
}

} // namespace

TEST_CASE("upgrade 2.3 -> 2.4, the Debian 12 side: a migration in flight is handed off",
          "[upgrade-from-2.3]") {
    const std::string out = handoff_dir();
    if (out.empty()) {
        WARN("skipped: IMAPMIG_UPGRADE_HANDOFF is not set (scripts/test-debian13.sh sets it)");
        return;
    }
    // A hand-off of an earlier run must not pass for this one's if this one fails.
    fs::remove_all(out);
    REQUIRE_FALSE(dovecot_24()); // the half that needs Dovecot 2.3

    MigrationEnv env(dsync_options());
    // Most of the INBOX before the first sync, the rest before a re-sync: the state handed over
    // is that of a migration that has been re-syncing for a while.
    env.seed_mail(alice, "", inbox_before - 10);
    env.seed_mail(alice, "Archive", archive_before);
    env.start_new_dovecot();
    REQUIRE(env.imap_login(alice, alice_pw).ok());
    const std::string id = alice_task(env);
    REQUIRE_FALSE(id.empty());
    // The old password, sealed with the key file: what the 2.4 side must open.
    REQUIRE(env.sql("SELECT secret IS NOT NULL FROM migrations WHERE id = " + id) == "t");
    std::string output;
    REQUIRE(sync_once(env, id, output) == "synced");
    env.seed_mail(alice, "", 10, inbox_before - 10);
    REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
    REQUIRE(sync_once(env, id, output) == "synced");
    REQUIRE(message_ids(env.new_dovecot(), "INBOX") == seeded_ids(inbox_before));
    REQUIRE(message_ids(env.new_dovecot(), "Archive") == seeded_ids(archive_before));
    const std::string state_file = env.state_dir + "/migration" + id + "/dsync-state";
    REQUIRE(fs::exists(state_file));

    // What the admin keeps through the release upgrade, taken with the servers stopped (as
    // UPGRADING.md says: the worker and Dovecot are down in the window).
    const std::string new_mail = env.new_dovecot().base() + "/mail";
    const std::string old_mail = env.old.dovecot().base() + "/mail";
    env.new_dovecot().stop();
    env.old.stop();
    make_dir(out, 0700);
    run_checked({pg_bindir() + "/pg_dump", "-Fc", "-f", out + "/mail.dump", "-d", env.db});
    write_file(out + "/imap-migration.key", read_file(env.key_file), 0600);
    copy_tree(env.state_dir, out + "/state");
    copy_tree(new_mail, out + "/new-mail");
    copy_tree(old_mail, out + "/old-mail");
    // Where it came from, so the other half can tell it really crosses the versions.
    write_file(out + "/from",
               "migration=" + id + "\ndovecot=" + run_checked({"dovecot", "--version"}).out +
                   "postgresql=" + run_checked({pg_bindir() + "/pg_dump", "--version"}).out +
                   "dsync_state=" + describe_dsync_state(read_dsync_state(state_file)) + "\n");
    CHECK(env.logs_free_of_passwords());
}

TEST_CASE("upgrade 2.3 -> 2.4, the Debian 13 side: the migration continues under Dovecot 2.4",
          "[upgrade-to-2.4]") {
    const std::string in = handoff_dir();
    if (in.empty()) {
        WARN("skipped: IMAPMIG_UPGRADE_HANDOFF is not set (scripts/test-debian13.sh sets it)");
        return;
    }
    REQUIRE(dovecot_24()); // the half that needs Dovecot 2.4
    INFO("hand-off: " << in);
    REQUIRE(fs::exists(in + "/from")); // the Debian 12 half ran (and passed) first
    const std::string from = read_file(in + "/from");
    INFO(from);
    REQUIRE(from.find("\ndovecot=2.3.") != std::string::npos);
    const std::string id = first_line(from.substr(from.find('=') + 1));

    MigrationEnv env(dsync_options());
    // The database: PostgreSQL 17's pg_restore of the 2.3 side's pg_dump -Fc, into a database
    // of its own (Debian's "dump and restore" cluster upgrade; pg_upgradecluster ends the same).
    env.db = env.pg.create_database("mail_restored");
    auto restored = run({pg_bindir() + "/pg_restore", "--no-owner", "--exit-on-error", "-d", env.db,
                         in + "/mail.dump"});
    INFO(restored.err);
    REQUIRE(restored.exit_code == 0);
    // The same key file and worker state dir; the YAML keeps its keys (written for this run's
    // paths and ports by the fixture, as on the 2.3 side).
    write_file(env.key_file, read_file(in + "/imap-migration.key"), 0600);
    fs::remove_all(env.state_dir);
    copy_tree(in + "/state", env.state_dir);
    env.write_config();
    CHECK(env.migrator({"check-config"}).exit_code == 0);
    // No schema change comes with the Dovecot move.
    auto up = env.migrator({"db", "upgrade"});
    INFO(up.out << up.err);
    CHECK(up.exit_code == 0);
    CHECK(up.out.find("schema is up to date") != std::string::npos);

    env.start_new_dovecot();
    // Both mail stores as they were: nobody has opened alice's mailboxes on either server yet.
    copy_tree(in + "/new-mail", env.new_dovecot().base() + "/mail");
    copy_tree(in + "/old-mail", env.old.dovecot().base() + "/mail");
    REQUIRE(message_ids(env.new_dovecot(), "INBOX") == seeded_ids(inbox_before));
    REQUIRE(message_ids(env.new_dovecot(), "Archive") == seeded_ids(archive_before));
    const auto inbox_uids = uids_by_id(env.new_dovecot(), "INBOX");

    // The migrated user logs in with the password of the first login under 2.3: the SQL
    // passdb answers from the restored account (its ARGON2ID hash verifies under 2.4), no new
    // account or migration.
    CHECK(env.auth_test(alice_new, alice_pw).exit_code == 0);
    CHECK(env.imap_login(alice_new, alice_pw).ok());
    CHECK(env.count("accounts") == 1);
    CHECK(env.count("migrations") == 1);
    CHECK(alice_task(env) == id);

    // The user works on the new server; more mail arrives at the old one.
    auto saved = env.new_dovecot().doveadm(
        {"save", "-u", alice_new, "-m", "INBOX"},
        "From: alice@new.example\r\nSubject: after the upgrade\r\nMessage-ID: " + new_only_id +
            "\r\n\r\nwritten here\r\n");
    REQUIRE(saved.exit_code == 0);
    env.seed_mail(alice, "", inbox_after, inbox_before);
    env.seed_mail(alice, "Archive", archive_after, archive_before);

    // The worker unseals the old password with the carried key and syncs with dsync 2.4 from
    // the state dsync 2.3 wrote.
    REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
    std::string output;
    CHECK(sync_once(env, id, output) == "synced");
    INFO(output);
    // Every old message once (nothing duplicated, nothing lost), the user's own one kept.
    CHECK(message_ids(env.new_dovecot(), "INBOX") ==
          seeded_ids(inbox_before + inbox_after, {new_only_id}));
    CHECK(message_ids(env.new_dovecot(), "Archive") == seeded_ids(archive_before + archive_after));
    // dsync 2.4 took up the 2.3 state: the mail synced before keeps its UIDs (clients keep their
    // caches), the new mail is added after it.
    const auto after = uids_by_id(env.new_dovecot(), "INBOX");
    for (const auto &[msgid, uid] : inbox_uids) {
        INFO(msgid);
        CHECK(after.at(msgid) == uid);
    }
    // dsync 2.4 took up the state 2.3 wrote: the same format (it falls back to a full sync, with
    // an error, only for a state it cannot parse), and it goes on about the same mailboxes
    // (GUID, UIDVALIDITY): the new side's maildirs kept theirs through the move.
    const std::string state_23 = read_dsync_state(in + "/state/migration" + id + "/dsync-state");
    const std::string state_24 =
        read_dsync_state(env.state_dir + "/migration" + id + "/dsync-state");
    INFO("2.3 wrote " << describe_dsync_state(state_23) << ", 2.4 wrote "
                      << describe_dsync_state(state_24));
    CHECK(describe_dsync_state(state_23) == "v1, 2 mailboxes");
    CHECK(describe_dsync_state(state_24) == "v1, 2 mailboxes");
    CHECK(dsync_state_mailboxes(state_24) == dsync_state_mailboxes(state_23));
    CHECK(env.sql("SELECT runs FROM migrations WHERE id = " + id) == "3");

    // An admin who did not keep sync.state_dir: the next run starts afresh on the mailbox 2.3
    // filled (the engine's path for a lost state) and still brings every old message once.
    fs::remove(env.state_dir + "/migration" + id + "/dsync-state");
    env.seed_mail(alice, "", 3, inbox_before + inbox_after);
    REQUIRE(env.migrator({"migrations", "resync", id}).exit_code == 0);
    CHECK(sync_once(env, id, output) == "synced");
    CHECK(message_ids(env.new_dovecot(), "INBOX") ==
          seeded_ids(inbox_before + inbox_after + 3, {new_only_id}));
    CHECK(message_ids(env.new_dovecot(), "Archive") == seeded_ids(archive_before + archive_after));
    CHECK(env.logs_free_of_passwords());
}
