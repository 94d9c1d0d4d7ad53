#include "sync/mailbox_size.hpp"

#include <curl/curl.h>

#include <charconv>
#include <memory>

namespace imapmig {

namespace {

struct CurlCleanup {
    void operator()(CURL *c) const { curl_easy_cleanup(c); }
};

size_t collect(char *data, size_t size, size_t n, void *out) {
    static_cast<std::string *>(out)->append(data, size * n);
    return size * n;
}

std::string quoted(const std::string &name) {
    std::string q = "\"";
    for (char c : name) {
        if (c == '"' || c == '\\')
            q += '\\';
        q += c;
    }
    return q + "\"";
}

// One IMAP command on the handle's (reused) authenticated connection; untagged replies back.
Result<std::string> command(CURL *c, const std::string &cmd) {
    std::string out;
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, cmd.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        return temporary_error("IMAP " + cmd.substr(0, cmd.find(' ')) +
                               " on the new server failed: " + curl_easy_strerror(rc));
    return out;
}

} // namespace

std::vector<std::string> parse_list_names(std::string_view text) {
    std::vector<std::string> names;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        std::string_view line = text.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.remove_suffix(1);
        if (!line.starts_with("* LIST (") || line.find("\\Noselect") != std::string_view::npos ||
            line.find("\\NonExistent") != std::string_view::npos)
            continue;
        // "* LIST (flags) "sep" name": the name is the last field, quoted or an atom.
        size_t flags_end = line.find(')');
        size_t sep_end = line.find(' ', line.find(' ', flags_end) + 1);
        if (flags_end == std::string_view::npos || sep_end == std::string_view::npos)
            continue;
        std::string_view raw = line.substr(sep_end + 1);
        std::string name;
        if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
            for (size_t i = 1; i + 1 < raw.size(); ++i) {
                if (raw[i] == '\\' && i + 2 < raw.size())
                    ++i;
                name += raw[i];
            }
        } else if (!raw.empty() && raw.front() != '{') { // literals: not from Dovecot here
            name = std::string(raw);
        }
        if (!name.empty())
            names.push_back(name);
    }
    return names;
}

long long parse_status_size(std::string_view text) {
    size_t at = text.find("SIZE ");
    if (at == std::string_view::npos)
        return 0;
    long long size = 0;
    std::from_chars(text.data() + at + 5, text.data() + text.size(), size);
    return size;
}

Result<long long> mailbox_bytes(const LocalImapConfig &local, const std::string &user,
                                const SecretString &master_password) {
    std::unique_ptr<CURL, CurlCleanup> curl(curl_easy_init());
    if (!curl)
        return temporary_error("curl_easy_init failed");
    CURL *c = curl.get();
    const std::string url = "imap://" + local.host + ":" + std::to_string(local.port) + "/";
    const std::string login = user + "*" + local.master_user;
    std::string pass(master_password.reveal());
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "imap");
    curl_easy_setopt(c, CURLOPT_USERNAME, login.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, pass.c_str());
    sodium_memzero(pass.data(), pass.size());
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    auto list = command(c, "LIST \"\" \"*\"");
    if (!list)
        return list.error();
    long long total = 0;
    for (const auto &name : parse_list_names(list.value())) {
        auto status = command(c, "STATUS " + quoted(name) + " (SIZE)");
        if (!status)
            return status.error();
        total += parse_status_size(status.value());
    }
    return total;
}

} // namespace imapmig
