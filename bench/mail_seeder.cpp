#include "mail_seeder.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>
#include <stdexcept>
#include <vector>

namespace bench {

namespace {

struct Owner {
    uid_t uid;
    gid_t gid;
};

Owner lookup_owner(const std::string &user) {
    const passwd *pw = ::getpwnam(user.c_str());
    if (pw == nullptr)
        throw std::runtime_error("no such user: " + user);
    return {pw->pw_uid, pw->pw_gid};
}

void make_owned_dir(const std::string &path, Owner owner) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        throw std::runtime_error("mkdir " + path + ": " + std::strerror(errno));
    if (::chown(path.c_str(), owner.uid, owner.gid) != 0)
        throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
}

void write_owned_file(const std::string &path, const std::string &content, Owner owner,
                      std::time_t mtime) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    const bool ok =
        ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
        ::fchown(fd, owner.uid, owner.gid) == 0;
    const timespec times[2] = {{mtime, 0}, {mtime, 0}}; // INTERNALDATE = the file's mtime
    const bool timed = ::futimens(fd, times) == 0;
    ::close(fd);
    if (!ok || !timed)
        throw std::runtime_error("write " + path + ": " + std::strerror(errno));
}

// ~1 MB of base64 text in 76-character CRLF lines, the same for every run: attachments are
// slices of it (random data: nothing compresses it on the way).
const std::vector<std::string> &base64_lines() {
    static const std::vector<std::string> lines = [] {
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::mt19937 rng(20240601);
        std::vector<std::string> out(14000);
        for (auto &line : out) {
            line.resize(76);
            for (char &c : line)
                c = alphabet[rng() % 64];
            line += "\r\n";
        }
        return out;
    }();
    return lines;
}

const std::array<const char *, 24> words = {
    "the",     "meeting", "invoice", "project", "budget",   "please", "review",  "attached",
    "report",  "next",    "week",    "thanks",  "regards",  "update", "status",  "customer",
    "release", "server",  "mail",    "account", "schedule", "draft",  "quarter", "numbers"};

std::string text_body(std::mt19937 &rng, size_t bytes) {
    std::string out;
    out.reserve(bytes + 80);
    size_t line = 0;
    while (out.size() < bytes) {
        const char *w = words[rng() % words.size()];
        out += w;
        line += std::strlen(w) + 1;
        if (line > 70) {
            out += "\r\n";
            line = 0;
        } else {
            out += ' ';
        }
    }
    return out + "\r\n";
}

std::string rfc2822_date(std::time_t t) {
    char buf[64];
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

struct Draw {
    std::string folder; // '.'-separated; "INBOX" for the root
    size_t text_bytes;
    size_t attachment_bytes; // base64 characters; 0 = plain text message
    bool seen, flagged, answered;
};

Draw draw(std::mt19937 &rng) {
    Draw d{};
    const unsigned f = rng() % 10;
    d.folder = f < 6 ? "INBOX" : f < 8 ? "Sent" : "Archive.2023";
    const unsigned size_class = rng() % 100;
    d.text_bytes = 2000 + rng() % 6000;
    if (size_class >= 90)
        d.attachment_bytes = 250000 + rng() % 200000;
    else if (size_class >= 70)
        d.attachment_bytes = 30000 + rng() % 40000;
    d.seen = d.folder == "Sent" || rng() % 10 < 7;
    d.flagged = rng() % 10 == 0;
    d.answered = d.folder != "Sent" && rng() % 100 < 18;
    return d;
}

std::string message(std::mt19937 &rng, const Draw &d, const std::string &address, int index,
                    std::time_t date) {
    const std::string peer = "contact" + std::to_string(rng() % 50) + "@partner.example";
    const bool sent = d.folder == "Sent";
    std::string m;
    m += "Return-Path: <" + (sent ? address : peer) + ">\r\n";
    m += "From: " + (sent ? address : peer) + "\r\n";
    m += "To: " + (sent ? peer : address) + "\r\n";
    m += "Subject: " + std::string(words[rng() % words.size()]) + " " +
         words[rng() % words.size()] + " #" + std::to_string(index) + "\r\n";
    m += "Date: " + rfc2822_date(date) + "\r\n";
    m += "Message-ID: <" + std::to_string(index) + "." + std::to_string(rng()) + "@" +
         address.substr(address.find('@') + 1) + ">\r\n";
    m += "MIME-Version: 1.0\r\n";
    if (d.attachment_bytes == 0) {
        m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
        return m + text_body(rng, d.text_bytes);
    }
    const std::string boundary = "=_bench_" + std::to_string(index);
    m += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n";
    m += "--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    m += text_body(rng, d.text_bytes);
    m += "--" + boundary + "\r\nContent-Type: application/octet-stream; name=\"file" +
         std::to_string(index) + ".bin\"\r\nContent-Transfer-Encoding: base64\r\n" +
         "Content-Disposition: attachment; filename=\"file" + std::to_string(index) +
         ".bin\"\r\n\r\n";
    const auto &pool = base64_lines();
    size_t line = rng() % pool.size();
    for (size_t n = 0; n < d.attachment_bytes; n += 76, line = (line + 1) % pool.size())
        m += pool[line];
    return m + "--" + boundary + "--\r\n";
}

std::string flag_suffix(const Draw &d) {
    std::string s = ":2,"; // Maildir flags in ASCII order
    if (d.flagged)
        s += 'F';
    if (d.answered)
        s += 'R';
    if (d.seen)
        s += 'S';
    return s;
}

} // namespace

SeededMailbox seed_mailbox(const std::string &maildir, const std::string &address, int messages,
                           unsigned seed, const std::string &owner_name) {
    const Owner owner = lookup_owner(owner_name);
    make_owned_dir(maildir, owner);
    for (const std::string folder : {"", ".Sent", ".Archive.2023"}) {
        const std::string dir = maildir + (folder.empty() ? "" : "/" + folder);
        make_owned_dir(dir, owner);
        for (const char *sub : {"cur", "new", "tmp"})
            make_owned_dir(dir + "/" + sub, owner);
        if (!folder.empty())
            write_owned_file(dir + "/maildirfolder", "", owner, std::time(nullptr));
    }
    std::mt19937 rng(seed);
    SeededMailbox out;
    const std::time_t first_date = 1672531200; // 2023-01-01, then one message every ~2 hours
    for (int i = 0; i < messages; ++i) {
        const Draw d = draw(rng);
        const std::time_t date = first_date + i * 7200;
        const std::string msg = message(rng, d, address, i, date);
        const std::string dir =
            maildir + (d.folder == "INBOX" ? std::string() : "/." + d.folder) + "/cur/";
        const std::string name = std::to_string(date) + ".M" + std::to_string(i) + "P" +
                                 std::to_string(seed) + ".bench,S=" + std::to_string(msg.size()) +
                                 flag_suffix(d);
        write_owned_file(dir + name, msg, owner, date);
        testsupport::FolderStats &s = out.folders[d.folder];
        ++s.messages;
        s.seen += d.seen;
        s.flagged += d.flagged;
        s.answered += d.answered;
        ++out.messages;
        out.bytes += static_cast<long long>(msg.size());
    }
    return out;
}

} // namespace bench
