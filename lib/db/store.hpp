// PostgreSQL access: RAII handles, parameterised statements, transactions.
// Statement names travel into error messages; parameter values never do.
#pragma once

#include "base/error.hpp"

#include <libpq-fe.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

struct PgConnCloser {
    void operator()(PGconn *c) const { PQfinish(c); }
};
struct PgResultClearer {
    void operator()(PGresult *r) const { PQclear(r); }
};

class Rows {
public:
    explicit Rows(PGresult *r) : res_(r) {}
    int count() const { return PQntuples(res_.get()); }
    bool empty() const { return count() == 0; }
    bool is_null(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
    std::string_view text(int row, int col) const {
        return {PQgetvalue(res_.get(), row, col),
                static_cast<size_t>(PQgetlength(res_.get(), row, col))};
    }
    std::string str(int row, int col) const { return std::string(text(row, col)); }
    long long integer(int row, int col) const;
    bool boolean(int row, int col) const { return text(row, col) == "t"; }
    // A bytea column requested in binary result format: raw bytes.
    std::string_view bytes(int row, int col) const { return text(row, col); }

private:
    std::unique_ptr<PGresult, PgResultClearer> res_;
};

// A statement parameter: text, binary (bytea) or NULL. The one parameter type of both the
// blocking Connection and the pipelined AsyncSession (db/pg_async.hpp). It owns its bytes: the
// asynchronous session sends it later, and libpq wants NUL-terminated text anyway.
struct Param {
    Param(std::string v) : value(std::move(v)) {}
    Param(std::string_view v) : value(v) {}
    Param(const char *v) : value(v) {}
    Param(std::nullopt_t) : is_null(true) {}
    static Param binary(std::string bytes) {
        Param p(std::move(bytes));
        p.is_binary = true;
        return p;
    }
    static Param binary(std::string_view bytes) { return binary(std::string(bytes)); }
    std::string value;
    bool is_null = false;
    bool is_binary = false;
};

// A statement run from more than one place: name labels it in errors (and names it on the
// server where it is prepared); sql uses $1..$n.
struct Statement {
    const char *name;
    const char *sql;
};

class Connection {
public:
    static Result<Connection> open(const std::string &conninfo);

    // name identifies the statement in errors and logs; sql uses $1..$n.
    Result<Rows> exec(std::string_view name, const char *sql,
                      std::initializer_list<Param> params = {}, bool binary_results = false);
    Result<Rows> exec(const Statement &st, std::initializer_list<Param> params = {}) {
        return exec(st.name, st.sql, params);
    }
    // Several statements without parameters (schema files). Never for user input.
    Result<void> exec_script(std::string_view name, const std::string &sql);

    bool broken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }
    PGconn *raw() const { return conn_.get(); }

private:
    explicit Connection(PGconn *c) : conn_(c) {}
    Error error_for(std::string_view name, const PGresult *res) const;
    std::unique_ptr<PGconn, PgConnCloser> conn_;
};

// Rolls back unless commit() succeeded.
class Transaction {
public:
    static Result<Transaction> begin(Connection &conn);
    Transaction(Transaction &&other) noexcept : conn_(other.conn_), open_(other.open_) {
        other.open_ = false;
    }
    Transaction &operator=(Transaction &&) = delete;
    ~Transaction();
    Result<void> commit();

private:
    explicit Transaction(Connection &conn) : conn_(&conn), open_(true) {}
    Connection *conn_;
    bool open_;
};

// A failed statement as an Error: "SQL <name> failed: <server message>", its kind from the
// SQLSTATE. res may be null (then the connection's message).
Error statement_error(std::string_view name, const PGresult *res, const PGconn *conn);

// A failed connection attempt as an Error, naming the server without its password.
Error connection_error(const std::string &conninfo, const PGconn *conn);

// A text[] literal for parameters: {"a","b"}.
std::string pg_text_array(const std::vector<std::string> &items);

// The conninfo as libpq reads it, with secret values (password, sslpassword) masked, for
// messages; nothing of a conninfo libpq cannot parse.
std::string redact_conninfo(const std::string &conninfo);

} // namespace imapmig
