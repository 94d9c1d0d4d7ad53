// A throwaway PostgreSQL 15 cluster for integration tests, plus tiny libpq query helpers.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "temp_dir.hpp"

namespace testsupport {

// Directory of initdb/postgres; override with $IMAPMIG_PG_BINDIR.
std::string pg_bindir();

// The constructor creates a cluster (trust auth, UTF8, C.UTF-8) in a temp dir and starts it on
// 127.0.0.1:<free port> with its unix socket in the temp dir and fsync=off. The postmaster runs
// as user postgres and is our direct child (no pg_ctl), so it is stopped by its pid: the
// destructor sends SIGQUIT (= pg_ctl stop -m immediate), reaps it, and removes the directory.
// If the test binary dies, the postmaster gets SIGQUIT too (parent-death signal).
// The first cluster of a process runs initdb once into a template; later ones copy it (~0.2 s).
class PgCluster {
public:
    PgCluster();
    ~PgCluster();
    PgCluster(const PgCluster &) = delete;
    PgCluster &operator=(const PgCluster &) = delete;

    // CREATE DATABASE <name>; returns conninfo(name).
    std::string create_database(const std::string &name);
    // "host=<socket dir> port=<port> dbname=<dbname> user=postgres"
    std::string conninfo(const std::string &dbname) const;
    // Same, over TCP: "host=127.0.0.1 port=<port> dbname=<dbname> user=postgres"
    std::string tcp_conninfo(const std::string &dbname) const;

    int port() const { return port_; }
    const std::string &socket_dir() const { return socket_dir_; }
    const std::string &data_dir() const { return data_dir_; }
    pid_t pid() const { return pid_; } // postmaster pid, 0 when stopped
    bool running() const { return pid_ > 0; }
    std::string log() const; // server log (stderr of the postmaster)

    void start();   // no-op if running; waits until it accepts connections (throws with log)
    void stop();    // fast shutdown (SIGINT), waits; keeps the data
    void restart(); // stop() + start(), same port and data

private:
    void kill_immediately() noexcept;

    TempDir dir_;
    std::string data_dir_;
    std::string socket_dir_;
    std::string log_path_;
    int port_ = 0;
    pid_t pid_ = 0;
};

using PgRows = std::vector<std::vector<std::string>>;

// Runs sql (may hold several statements; the rows of the last one are returned). NULL reads as "".
// Throws std::runtime_error with the server's message on any failure.
PgRows pg_query(const std::string &conninfo, const std::string &sql);
// Parameterised single statement ($1, $2, ...); same conventions.
PgRows pg_query_params(const std::string &conninfo, const std::string &sql,
                       const std::vector<std::string> &params);
// First column of the first row, "" if there is no row.
std::string pg_scalar(const std::string &conninfo, const std::string &sql);

} // namespace testsupport
