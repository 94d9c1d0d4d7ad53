#include "dovecot_instance.hpp"

#include <cctype>
#include <cerrno>
#include <chrono>
#include <crypt.h>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <imapmig_build_config.h>

namespace testsupport {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string replace_all(std::string text, const std::string &from, const std::string &to) {
    for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
        text.replace(pos, from.size(), to);
    return text;
}

std::string short_name(const std::string &name) {
    std::string out;
    for (unsigned char c : name) {
        if (out.size() >= 12)
            break;
        out += std::isalnum(c) ? static_cast<char>(c) : '-';
    }
    return out.empty() ? "dc" : out;
}

// A value in double quotes, as Dovecot's config parser reads it.
std::string quoted(const std::string &value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + '"';
}

// The settings that differ in name between the lines; the rest is common.
std::string version_settings(const DovecotOptions &opts) {
    std::string conf;
    if (!dovecot_24()) {
        conf = "mail_location = maildir:{BASE}/mail/%d/%n\n"
               "disable_plaintext_auth = no\n";
        if (!opts.env.empty()) {
            conf += "import_environment = $import_environment";
            for (const auto &[key, value] : opts.env)
                conf += " " + key;
            conf += "\n";
        }
        return conf;
    }
    // mail_home: the Sieve plugin Debian 13 always installs fails dsync runs without one.
    conf = "mail_driver = maildir\n"
           "mail_path = {BASE}/mail/%{user | domain}/%{user | username}\n"
           "mail_home = {BASE}/home/%{user | domain}/%{user | username}\n"
           "auth_allow_cleartext = yes\n";
    if (!opts.env.empty()) {
        // A list on 2.4, added to the defaults; the values are given, not inherited.
        conf += "import_environment {\n";
        for (const auto &[key, value] : opts.env)
            conf += "  " + key + " = " + quoted(value) + "\n";
        conf += "}\n";
    }
    return conf;
}

std::string base_settings(const DovecotOptions &opts, const std::string &base) {
    std::string instance =
        "imapmig-" + short_name(opts.name) + "-" + fs::path(base).filename().string();
    // 2.4 refuses a config that does not start with its version.
    std::string conf = dovecot_24() ? "dovecot_config_version = 2.4.0\n"
                                      "dovecot_storage_version = 2.4.0\n"
                                    : "";
    conf += "# Written by testsupport::DovecotInstance (" + opts.name +
            ")\n"
            "base_dir = {BASE}/run\n"
            "state_dir = {BASE}/state\n"
            "instance_name = " +
            instance +
            "\n"
            "log_path = {BASE}/dovecot.log\n"
            "info_log_path = {BASE}/dovecot.log\n"
            "debug_log_path = {BASE}/dovecot.log\n"
            "listen = 127.0.0.1\n"
            "ssl = no\n"
            "auth_failure_delay = 0\n"
            "service anvil {\n"
            "  unix_listener anvil-auth-penalty {\n"
            "    mode = 0\n"
            "  }\n"
            "}\n"
            "# No default ports: the body opens what it needs.\n"
            "service imap-login {\n"
            "  inet_listener imap {\n"
            "    port = 0\n"
            "  }\n"
            "  inet_listener imaps {\n"
            "    port = 0\n"
            "  }\n"
            "}\n"
            "mail_uid = nobody\n"
            "mail_gid = nogroup\n"
            "first_valid_uid = 1\n"
            "protocols = imap\n"
            "auth_mechanisms = plain login\n"
            "default_internal_user = dovecot\n"
            "default_login_user = dovenull\n";
    return conf + version_settings(opts) + "# ---- body ----\n";
}

// Every "port = N" (N > 0) in the config: the listeners start() waits for.
std::set<int> configured_ports(const std::string &config) {
    std::set<int> ports;
    std::size_t start = 0;
    while (start < config.size()) {
        std::size_t end = config.find('\n', start);
        if (end == std::string::npos)
            end = config.size();
        std::string line = config.substr(start, end - start);
        start = end + 1;
        const std::size_t key = line.find_first_not_of(" \t");
        if (key == std::string::npos || line.compare(key, 4, "port") != 0)
            continue;
        std::size_t pos = line.find_first_not_of(" \t", key + 4);
        if (pos == std::string::npos || line[pos] != '=')
            continue;
        pos = line.find_first_not_of(" \t", pos + 1);
        const std::size_t digits_end = line.find_first_not_of("0123456789", pos);
        if (pos == std::string::npos || digits_end == pos ||
            line.find_first_not_of(" \t\r", digits_end) != std::string::npos)
            continue;
        const int port = std::stoi(line.substr(pos, digits_end - pos));
        if (port > 0)
            ports.insert(port);
    }
    return ports;
}

std::string random_salt() {
    static const char alphabet[] =
        "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof raw) != static_cast<ssize_t>(sizeof raw)) {
        if (fd >= 0)
            close(fd);
        throw std::runtime_error("cannot read /dev/urandom");
    }
    close(fd);
    std::string salt;
    for (unsigned char c : raw)
        salt += alphabet[c % 64];
    return salt;
}

} // namespace

bool dovecot_24() {
    return std::string_view(IMAPMIG_DOVECOT_LINE) == "2.4";
}

std::string dovecot_auth_module_dir() {
    const char *env = std::getenv("IMAPMIG_DOVECOT_AUTH_MODULEDIR");
    return (env != nullptr && *env != '\0') ? env : "/usr/lib/dovecot/modules/auth";
}

std::string sha512_crypt(const std::string &password) {
    crypt_data data{};
    const std::string setting = "$6$" + random_salt() + "$";
    const char *hash = crypt_r(password.c_str(), setting.c_str(), &data);
    if (hash == nullptr || hash[0] == '*')
        throw std::runtime_error("crypt_r(SHA512-CRYPT) failed");
    return std::string("{SHA512-CRYPT}") + hash;
}

// ---- DovecotInstance ----

DovecotInstance::DovecotInstance(DovecotOptions options)
    : options_(std::move(options)), dir_("imapmig-dc"), config_path_(dir_.file("dovecot.conf")) {
    if (options_.name.empty())
        options_.name = "dovecot";
}

DovecotInstance::~DovecotInstance() {
    try {
        stop();
    } catch (...) {
        // Destructors must not throw; stop() only fails on allocation.
    }
}

std::string DovecotInstance::expand(const std::string &text) const {
    return replace_all(text, "{BASE}", base());
}

std::string DovecotInstance::config_text() const {
    return expand(base_settings(options_, base()) + options_.config_body + "\n");
}

std::string DovecotInstance::log() const {
    return read_file_or_empty(log_path());
}

std::string DovecotInstance::log_since(std::size_t offset) const {
    std::string all = log();
    return offset < all.size() ? all.substr(offset) : std::string();
}

bool DovecotInstance::wait_for_log(const std::string &needle, int timeout_ms,
                                   std::size_t offset) const {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (log_since(offset).find(needle) != std::string::npos)
            return true;
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::vector<pid_t> DovecotInstance::processes() const {
    if (pid_ <= 0)
        return {};
    std::vector<pid_t> all{pid_};
    for (pid_t p : descendants(pid_))
        all.push_back(p);
    return all;
}

DovecotInstance::AuthProcesses DovecotInstance::auth_processes() const {
    AuthProcesses out;
    for (pid_t pid : processes()) {
        const std::string proc = "/proc/" + std::to_string(pid);
        std::error_code ec;
        const fs::path exe = fs::read_symlink(proc + "/exe", ec);
        if (ec || exe.filename() != "auth")
            continue;
        std::string cmd = read_file_or_empty(proc + "/cmdline");
        for (char &c : cmd)
            if (c == '\0')
                c = ' ';
        if (cmd.find("worker") != std::string::npos || cmd.find(" -w") != std::string::npos)
            out.workers.push_back(pid);
        else
            out.auth = pid;
    }
    return out;
}

std::string DovecotInstance::prepare_module_dir() {
    const fs::path dir = base() + "/modules-auth";
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms(0755));
    auto copy_regular_files = [&](const fs::path &from) {
        for (const auto &entry : fs::directory_iterator(from)) {
            if (entry.is_regular_file()) // follows symlinks
                fs::copy_file(entry.path(), dir / entry.path().filename(),
                              fs::copy_options::overwrite_existing);
        }
    };
    copy_regular_files(dovecot_auth_module_dir());
    const fs::path override_path = options_.module_dir_override;
    if (fs::is_directory(override_path))
        copy_regular_files(override_path);
    else if (fs::is_regular_file(override_path))
        fs::copy_file(override_path, dir / override_path.filename(),
                      fs::copy_options::overwrite_existing);
    else
        throw std::runtime_error("module_dir_override does not exist: " + override_path.string());
    return dir.string();
}

void DovecotInstance::start() {
    if (pid_ > 0)
        throw std::runtime_error("Dovecot instance " + name() + " is already running");
    make_dir(base() + "/run", 0755);
    make_dir(base() + "/state", 0750);
    make_dir(base() + "/mail", 0755, "nobody");
    make_dir(base() + "/home", 0755, "nobody");
    const std::string config = config_text();
    write_file(config_path_, config, 0644);
    // Early failures (config errors) go to stderr before the log is set up.
    const std::string stderr_path = base() + "/dovecot.stderr";
    write_file(stderr_path, "", 0644);

    SpawnOptions spawn_opts;
    spawn_opts.extra_env = options_.env;
    spawn_opts.output_path = stderr_path;
    spawn_opts.parent_death_signal = SIGTERM;
    if (!options_.module_dir_override.empty()) {
        spawn_opts.bind_source = prepare_module_dir();
        spawn_opts.bind_target = dovecot_auth_module_dir();
    }
    const std::size_t log_offset = log().size(); // a restart appends to the same log
    pid_ = spawn({"dovecot", "-F", "-c", config_path_}, spawn_opts);
    wait_ready(config, log_offset);
}

void DovecotInstance::wait_ready(const std::string &config, std::size_t log_offset) {
    const auto deadline = Clock::now() + std::chrono::seconds(15);
    const std::string auth_socket = base() + "/run/auth-client";
    auto failure = [&](const std::string &what) {
        return std::runtime_error("Dovecot " + name() + " " + what + "\n--- stderr:\n" +
                                  file_tail(base() + "/dovecot.stderr") + "--- log:\n" +
                                  file_tail(log_path()));
    };
    for (;;) {
        if (child_exited(pid_)) {
            pid_ = 0;
            throw failure("exited during startup");
        }
        // The master creates its sockets first and logs "starting up" once its services run.
        // (A SIGTERM before that makes the shutdown hang for ~5 s in anvil.)
        struct stat st {};
        if (stat(auth_socket.c_str(), &st) == 0 &&
            log_since(log_offset).find("starting up") != std::string::npos)
            break;
        if (Clock::now() >= deadline) {
            stop();
            throw failure("did not start up (auth socket " + auth_socket + ") within 15 s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int port : configured_ports(config)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (!wait_for_tcp(port, std::max<int>(100, static_cast<int>(left.count())))) {
            stop();
            throw failure("does not listen on 127.0.0.1:" + std::to_string(port));
        }
    }
}

void DovecotInstance::stop() {
    if (pid_ <= 0)
        return;
    // A clean shutdown takes ~1.1 s (the master gives its log process a second). It stalls for
    // seconds when a login process is still starting or still holds a client: force it then.
    // The master does not wait for client processes (imap) to exit: remember the whole tree,
    // with the master frozen so that it cannot spawn more meanwhile.
    kill(pid_, SIGSTOP);
    std::vector<pid_t> children = descendants(pid_);
    kill(pid_, SIGTERM);
    kill(pid_, SIGCONT);
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.stop_grace_ms);
    while (!child_exited(pid_)) {
        if (Clock::now() >= deadline) {
            kill_now();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = 0;
    // Orphaned imap/stats/log processes can linger for seconds (an imap process waits for its
    // client): they get SIGTERM, then SIGKILL, by pid.
    for (int sig : {SIGTERM, SIGKILL}) {
        if (wait_pids_gone(children, sig == SIGTERM ? 100 : 300))
            return;
        for (pid_t p : children) {
            if (pid_alive(p))
                kill(p, sig);
        }
    }
    wait_pids_gone(children, 2000);
}

void DovecotInstance::kill_now() {
    if (pid_ <= 0)
        return;
    // Freeze the master so it spawns nothing new, kill its whole tree by pid, then the master.
    kill(pid_, SIGSTOP);
    std::vector<pid_t> children = descendants(pid_);
    for (pid_t p : children)
        kill(p, SIGKILL);
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = 0;
    wait_pids_gone(children, 5000);
}

void DovecotInstance::reload() {
    write_file(config_path_, config_text(), 0644);
    if (pid_ <= 0)
        return;
    // The master switches to the new services inside its SIGHUP handler and stops the old auth
    // process; a login sent before that can meet the old auth process on its way out and get a
    // temporary failure (seen under CI load on 2.4). A reload here is done when the master has
    // logged it and the old auth process, if there was one, is gone.
    const std::size_t offset = log_size();
    const pid_t old_auth = auth_processes().auth;
    kill(pid_, SIGHUP);
    wait_for_log("SIGHUP received - reloading configuration", 15000, offset);
    if (old_auth > 0)
        wait_pids_gone({old_auth}, 10000);
}

RunResult DovecotInstance::doveadm(const std::vector<std::string> &args,
                                   const std::string &stdin_data) const {
    std::vector<std::string> argv{"doveadm", "-c", config_path_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, stdin_data);
}

RunResult DovecotInstance::auth_test(const std::string &user, const std::string &password,
                                     const std::string &rip) const {
    std::vector<std::string> args{"auth", "test"};
    if (!rip.empty()) {
        args.push_back("-x");
        args.push_back("rip=" + rip);
    }
    args.push_back(user);
    args.push_back(password);
    return doveadm(args);
}

// ---- OldProvider ----

namespace {

std::string old_provider_auth() {
    if (!dovecot_24())
        return "passdb {\n"
               "  driver = passwd-file\n"
               "  args = {BASE}/users\n"
               "}\n"
               "userdb {\n"
               "  driver = static\n"
               "  args = uid=nobody gid=nogroup home={BASE}/home/%d/%n\n"
               "}\n";
    return "passdb passwd-file {\n"
           "  driver = passwd-file\n"
           "  passwd_file_path = {BASE}/users\n"
           "}\n"
           "userdb static {\n"
           "  driver = static\n"
           "  fields {\n"
           "    uid = nobody\n"
           "    gid = nogroup\n"
           "    home = {BASE}/home/%{user | domain}/%{user | username}\n"
           "  }\n"
           "}\n";
}

std::string old_provider_body(bool ssl, int imap_port, int imaps_port) {
    std::string body = "auth_verbose = yes\n" + old_provider_auth() +
                       "service imap-login {\n"
                       "  inet_listener imap {\n"
                       "    port = " +
                       std::to_string(imap_port) + "\n  }\n";
    if (ssl)
        body += "  inet_listener imaps {\n"
                "    port = " +
                std::to_string(imaps_port) +
                "\n"
                "    ssl = yes\n"
                "  }\n";
    body += "}\n";
    if (ssl)
        body += dovecot_24() ? "ssl = yes\n"
                               "ssl_server_cert_file = {BASE}/tls/server.crt\n"
                               "ssl_server_key_file = {BASE}/tls/server.key\n"
                             : "ssl = yes\n"
                               "ssl_cert = <{BASE}/tls/server.crt\n"
                               "ssl_key = <{BASE}/tls/server.key\n";
    return body;
}

} // namespace

OldProvider::OldProvider(const std::string &name, OldProviderOptions options)
    : options_(std::move(options)), imap_port_(free_tcp_port()),
      imaps_port_(options_.ssl ? free_tcp_port() : 0),
      dovecot_(DovecotOptions{name,
                              old_provider_body(options_.ssl, imap_port_, imaps_port_) +
                                  options_.extra_config,
                              {},
                              {}}) {
    users_file_ = dovecot_.base() + "/users";
    write_users();
    if (options_.ssl) {
        const std::string tls = dovecot_.base() + "/tls";
        make_dir(tls, 0755);
        const TestCA *ca = options_.ca;
        if (ca == nullptr) {
            own_ca_ = std::make_unique<TestCA>(tls, "Old Provider Test CA");
            ca = own_ca_.get();
        }
        CertPair pair = ca->issue(options_.cert_cn);
        fs::copy_file(pair.cert, tls + "/server.crt", fs::copy_options::overwrite_existing);
        fs::copy_file(pair.key, tls + "/server.key", fs::copy_options::overwrite_existing);
        ca_cert_ = ca->ca_cert();
    }
}

void OldProvider::write_users() {
    std::string content;
    for (const auto &[address, hash] : users_)
        content += address + ":" + hash + "::::::\n";
    const std::string tmp = users_file_ + ".tmp";
    write_file(tmp, content, 0644);
    // Dovecot notices changes by mtime (seconds) and size; SHA512-CRYPT lines all have the same
    // length, so move the mtime strictly forward on every write.
    long long mtime = std::max<long long>(std::time(nullptr), users_mtime_ + 1);
    timespec times[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
    if (utimensat(AT_FDCWD, tmp.c_str(), times, 0) != 0)
        throw std::runtime_error("utimensat " + tmp + " failed");
    users_mtime_ = mtime;
    fs::rename(tmp, users_file_);
    if (dovecot_.running()) {
        // passwd-file stats the file only when the auth process's second changes: a lookup in
        // the second of this write might still use the old content.
        timespec now{};
        clock_gettime(CLOCK_REALTIME, &now);
        std::this_thread::sleep_for(std::chrono::nanoseconds(1000000000L - now.tv_nsec) +
                                    std::chrono::milliseconds(5));
    }
}

void OldProvider::add_user(const std::string &address, const std::string &password) {
    if (address.empty() || address.find_first_of(":\r\n\t ") != std::string::npos)
        throw std::runtime_error("address not usable in a passwd-file: " + address);
    users_[address] = sha512_crypt(password);
    write_users();
}

void OldProvider::add_users(const std::vector<std::pair<std::string, std::string>> &users) {
    for (const auto &[address, password] : users) {
        if (address.empty() || address.find_first_of(":\r\n\t ") != std::string::npos)
            throw std::runtime_error("address not usable in a passwd-file: " + address);
        users_[address] = sha512_crypt(password);
    }
    write_users();
}

void OldProvider::set_password(const std::string &address, const std::string &password) {
    if (users_.count(address) == 0)
        throw std::runtime_error("set_password: no such user " + address);
    add_user(address, password);
}

void OldProvider::remove_user(const std::string &address) {
    users_.erase(address);
    write_users();
}

void OldProvider::deliver(const std::string &address, const std::string &folder,
                          const std::string &rfc822) {
    if (folder != "INBOX") {
        RunResult created = dovecot_.doveadm({"mailbox", "create", "-u", address, folder});
        if (created.exit_code != 0 && created.err.find("already exists") == std::string::npos)
            throw std::runtime_error("doveadm mailbox create " + folder + " for " + address +
                                     " failed (" + std::to_string(created.exit_code) +
                                     "): " + created.err);
    }
    RunResult saved = dovecot_.doveadm({"save", "-u", address, "-m", folder}, rfc822);
    if (saved.exit_code != 0)
        throw std::runtime_error("doveadm save to " + folder + " for " + address + " failed (" +
                                 std::to_string(saved.exit_code) + "): " + saved.err);
}

} // namespace testsupport
