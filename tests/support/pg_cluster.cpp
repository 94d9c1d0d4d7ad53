#include "pg_cluster.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <libpq-fe.h>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "process.hpp"

namespace testsupport {

namespace {

using Clock = std::chrono::steady_clock;

struct ConnDeleter {
    void operator()(PGconn *c) const { PQfinish(c); }
};
struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

ConnPtr connect(const std::string &conninfo) {
    ConnPtr conn(PQconnectdb(conninfo.c_str()));
    if (!conn)
        throw std::runtime_error("PQconnectdb: out of memory");
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("connect to PostgreSQL failed: " +
                                 std::string(PQerrorMessage(conn.get())));
    return conn;
}

PgRows collect(PGconn *conn, ResultPtr res, const std::string &sql) {
    if (!res)
        throw std::runtime_error("query failed: " + std::string(PQerrorMessage(conn)));
    ExecStatusType st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        throw std::runtime_error("query failed: " + std::string(PQresultErrorMessage(res.get())) +
                                 "  (statement: " + sql + ")");
    PgRows rows;
    const int nrows = PQntuples(res.get()), ncols = PQnfields(res.get());
    for (int r = 0; r < nrows; ++r) {
        std::vector<std::string> row;
        for (int c = 0; c < ncols; ++c)
            row.emplace_back(PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string quote_ident(const std::string &name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

// initdb is the slow part (~0.7 s): do it once per test process, copy the result afterwards.
const std::string &template_data_dir() {
    static std::unique_ptr<TempDir> dir;
    static std::string data;
    static std::once_flag once;
    std::call_once(once, [] {
        auto d = std::make_unique<TempDir>("imapmig-pgtpl");
        std::string path = d->file("data");
        make_dir(path, 0700, "postgres");
        run_checked({"runuser", "-u", "postgres", "--", pg_bindir() + "/initdb", "-D", path, "-A",
                     "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"});
        dir = std::move(d);
        data = path;
    });
    return data;
}

} // namespace

std::string pg_bindir() {
    const char *env = std::getenv("IMAPMIG_PG_BINDIR");
    if (env != nullptr && *env != '\0')
        return env;
    // Debian installs each server major side by side (15 on Debian 12, 17 on Debian 13): the
    // newest one that has initdb. Found once.
    static const std::string found = [] {
        int best = -1;
        std::error_code ec;
        for (const auto &entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
            const std::string major = entry.path().filename().string();
            if (major.empty() || major.find_first_not_of("0123456789") != std::string::npos ||
                !std::filesystem::exists(entry.path() / "bin" / "initdb"))
                continue;
            best = std::max(best, std::stoi(major));
        }
        if (best < 0)
            throw std::runtime_error("no PostgreSQL server in /usr/lib/postgresql/*/bin (install "
                                     "postgresql or set IMAPMIG_PG_BINDIR)");
        return "/usr/lib/postgresql/" + std::to_string(best) + "/bin";
    }();
    return found;
}

PgCluster::PgCluster() : dir_("imapmig-pg") {
    data_dir_ = dir_.file("data");
    socket_dir_ = dir_.file("sock");
    log_path_ = dir_.file("postgres.log");
    make_dir(socket_dir_, 0755, "postgres");
    // cp -a keeps owner postgres and mode 0700 of the template's data directory.
    run_checked({"cp", "-a", template_data_dir(), data_dir_});
    write_file(log_path_, "", 0644);
    chown_to(log_path_, "postgres");
    port_ = free_tcp_port();
    start();
}

PgCluster::~PgCluster() {
    kill_immediately();
}

void PgCluster::kill_immediately() noexcept {
    if (pid_ > 0) {
        // SIGQUIT is what pg_ctl stop -m immediate sends; the postmaster takes its children down.
        stop_child(pid_, SIGQUIT, 10000);
        pid_ = 0;
    }
}

std::string PgCluster::conninfo(const std::string &dbname) const {
    return "host=" + socket_dir_ + " port=" + std::to_string(port_) + " dbname=" + dbname +
           " user=postgres";
}

std::string PgCluster::tcp_conninfo(const std::string &dbname) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + dbname + " user=postgres";
}

std::string PgCluster::log() const {
    return read_file_or_empty(log_path_);
}

void PgCluster::start() {
    if (pid_ > 0)
        return;
    SpawnOptions opts;
    opts.user = "postgres";
    opts.output_path = log_path_;
    opts.parent_death_signal = SIGQUIT;
    pid_ = spawn({pg_bindir() + "/postgres", "-D", data_dir_, "-p", std::to_string(port_), "-k",
                  socket_dir_, "-h", "127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                  "-c", "synchronous_commit=off", "-c", "max_connections=100"},
                 opts);
    const std::string info = conninfo("postgres") + " connect_timeout=2";
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
        int status = 0;
        if (child_exited(pid_, &status)) {
            pid_ = 0;
            throw std::runtime_error("postgres exited during startup:\n" + file_tail(log_path_));
        }
        if (PQping(info.c_str()) == PQPING_OK)
            return;
        if (Clock::now() >= deadline) {
            kill_immediately();
            throw std::runtime_error("postgres did not start within 30 s:\n" +
                                     file_tail(log_path_));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void PgCluster::stop() {
    if (pid_ > 0) {
        stop_child(pid_, SIGINT, 30000); // fast shutdown: clean, no recovery on the next start
        pid_ = 0;
    }
}

void PgCluster::restart() {
    stop();
    start();
}

std::string PgCluster::create_database(const std::string &name) {
    pg_query(conninfo("postgres"), "CREATE DATABASE " + quote_ident(name));
    return conninfo(name);
}

PgRows pg_query(const std::string &conninfo, const std::string &sql) {
    ConnPtr conn = connect(conninfo);
    return collect(conn.get(), ResultPtr(PQexec(conn.get(), sql.c_str())), sql);
}

PgRows pg_query_params(const std::string &conninfo, const std::string &sql,
                       const std::vector<std::string> &params) {
    ConnPtr conn = connect(conninfo);
    std::vector<const char *> values;
    for (const auto &p : params)
        values.push_back(p.c_str());
    ResultPtr res(PQexecParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
    return collect(conn.get(), std::move(res), sql);
}

std::string pg_scalar(const std::string &conninfo, const std::string &sql) {
    PgRows rows = pg_query(conninfo, sql);
    if (rows.empty() || rows.front().empty())
        return {};
    return rows.front().front();
}

} // namespace testsupport
