// imap-migrator(8), rendered from the command table that also drives dispatch and --help, so
// the manual cannot list a command that does not exist or miss one that does. The build writes
// it (imap-migrator --print-man > imap-migrator.8); nobody edits roff by hand.
#include "man_page.hpp"

#include "cli.hpp"

#include <imapmig_build_config.h>

#include <map>
#include <sstream>
#include <string_view>

namespace imapmig::cli {
namespace {

// roff: a backslash is \e, a minus that must stay a minus is \-, and a line must not start with
// a control character.
std::string roff(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\''))
        out.insert(0, "\\&");
    return out;
}

// More than the one-line summary, for the commands whose summary leaves an admin guessing.
const std::map<std::string_view, std::string_view> &details() {
    static const std::map<std::string_view, std::string_view> text = {
        {"check-config", "Every problem is printed as file:line: key: reason; the exit status is "
                         "1 when there is one."},
        {"db upgrade", "Each schema version is applied in its own transaction. A database newer "
                       "than this release, too old for it, or older than a required stop is "
                       "refused with a message that says what to run instead."},
        {"key generate", "32 random bytes; never overwrites an existing file."},
        {"worker", "The daemon run by imap-migrator.service: it wakes on PostgreSQL NOTIFY and "
                   "every 15 s, claims due migrations under a lease and syncs them with the "
                   "provider's engine (offlineimap or dsync). SIGTERM hands running syncs back; "
                   "SIGHUP reloads the configuration."},
        {"migrations finish", "One last sync, then the migration is finished and the sealed old "
                              "password is wiped."},
        {"migrations cutover",
         "The end of a migration campaign, for one migration, a local domain or all of them. "
         "Each migration is claimed as the worker claims it (a run of the worker under way is "
         "waited for; provider max_connections hold) and synced with its provider's engine, "
         "again while dsync reports mail that changed during the run (exit 2) or the "
         "verification misses mail, at most 5 runs; the first run that is complete and verified "
         "finishes it in the same statement that records it, wiping the sealed old password. "
         "Already finished migrations are skipped and counted; stopped ones and those that "
         "cannot complete (the old provider rejects the stored password, mail still missing) "
         "are reported with the reason and left unfinished. One line per migration, a progress "
         "bar on a terminal, a summary at the end; the exit status is 1 when one failed. "
         "SIGINT or SIGTERM stops the runs under way and hands their migrations back as they "
         "were: each migration is either finished or left as it was, and running the same "
         "cutover again carries on. Runs sync.max_parallel_accounts migrations at once."},
        {"migrations delete", "Removes the task and its secret, never the account or its mail."},
        {"import", "One file is one transaction; an error names file, line, field and what was "
                   "expected, and nothing of that file is written."},
    };
    return text;
}

void header(std::ostream &out) {
    out << ".TH IMAP-MIGRATOR 8 \"\" \"dovecot-imap-migration " IMAPMIG_VERSION
           "\" \"System Administration\"\n"
           ".SH NAME\n"
           "imap-migrator \\- move mail accounts from an old IMAP provider into Dovecot\n"
           ".SH SYNOPSIS\n"
           ".B imap-migrator\n"
           ".RB [ \\-c | \\-\\-config\n"
           ".IR FILE ]\n"
           ".I COMMAND\n"
           ".RI [ ARGS ...]\n"
           ".br\n"
           ".B imap-migrator \\-\\-help\n"
           "|\n"
           ".B \\-\\-version\n"
           ".SH DESCRIPTION\n"
           "Users of an old mail provider log in to this Dovecot server with their old address "
           "and password; the Dovecot passdb module\n"
           ".B imapmigration\n"
           "checks them with an IMAP LOGIN at the old provider, creates the local account and a "
           "migration task in PostgreSQL.\n"
           ".B imap-migrator\n"
           "is the admin tool for that database and the worker that copies the mail.\n"
           ".PP\n"
           "Every command reads\n"
           ".I " IMAPMIG_DEFAULT_CONFIG "\n"
           "(or the file given with\n"
           ".BR \\-c )\n"
           "and every\n"
           ".I *.yaml\n"
           "file in the\n"
           ".I imap-migration.d/\n"
           "directory beside it.\n"
           ".SH COMMANDS\n";
}

void footer(std::ostream &out) {
    out << ".PP\n"
           ".B imap-migrator\n"
           ".I COMMAND\n"
           ".B \\-\\-help\n"
           "describes each command.\n"
           ".SH UPGRADING\n"
           "The package never changes the database. After installing a new version: back up the "
           "database, run\n"
           ".BR \"imap-migrator db upgrade\" ,\n"
           "compare\n"
           ".B imap-migrator dovecot-sql-conf\n"
           "with the installed SQL file and run\n"
           ".BR \"doveadm reload\" .\n"
           "Version-specific steps are in\n"
           ".IR /usr/share/doc/dovecot-imap-migration/UPGRADING.md.gz .\n"
           ".SH EXIT STATUS\n"
           "0 success, 1 error, 2 usage error.\n"
           ".SH FILES\n"
           ".TP\n"
           ".I /etc/dovecot/imap-migration.yaml\n"
           "The configuration (root:dovecot 0640: it may hold database credentials).\n"
           ".TP\n"
           ".I /etc/dovecot/imap-migration.d/*.yaml\n"
           "More providers, one per file.\n"
           ".TP\n"
           ".I /etc/dovecot/imap-migration.key\n"
           "The key that seals old passwords until their migration is finished. Purging the "
           "package removes it, and sealed passwords can no longer be opened: keep a copy with "
           "the database backups.\n"
           ".TP\n"
           ".I /etc/dovecot/conf.d/auth-imapmigration.conf.ext\n"
           "The passdb/userdb snippet to include from\n"
           ".IR 10-auth.conf .\n"
           ".TP\n"
           ".I /var/lib/imap-migrator\n"
           "The worker's state.\n"
           ".SH SEE ALSO\n"
           ".BR doveadm (1),\n"
           ".BR offlineimap (1),\n"
           ".BR pg_dump (1)\n";
}

} // namespace

std::string render_man_page() {
    std::ostringstream out;
    header(out);
    for (const auto &cmd : commands()) {
        out << ".TP\n.B \"" << roff(cmd.name) << "\"";
        if (*cmd.usage != '\0')
            out << " " << roff(cmd.usage);
        out << "\n" << roff(cmd.summary) << ".\n";
        if (auto it = details().find(cmd.name); it != details().end())
            out << roff(it->second) << "\n";
    }
    footer(out);
    return out.str();
}

} // namespace imapmig::cli
