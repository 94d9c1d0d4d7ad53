#include "db/store.hpp"

#include <charconv>
#include <vector>

namespace imapmig {

long long Rows::integer(int row, int col) const {
    auto t = text(row, col);
    long long v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
}

Result<Connection> Connection::open(const std::string &conninfo) {
    PGconn *raw = PQconnectdb(conninfo.c_str());
    if (raw == nullptr)
        return temporary_error("PostgreSQL: out of memory creating a connection");
    Connection conn(raw);
    // Server NOTICEs ("... already exists, skipping") would go to stderr of the auth process.
    PQsetNoticeProcessor(
        raw, [](void *, const char *) {}, nullptr);
    if (PQstatus(raw) != CONNECTION_OK)
        return connection_error(conninfo, raw);
    return conn;
}

Error connection_error(const std::string &conninfo, const PGconn *conn) {
    std::string msg = PQerrorMessage(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
        msg.pop_back();
    return temporary_error("PostgreSQL connection (" + redact_conninfo(conninfo) +
                           ") failed: " + msg);
}

namespace {

ErrorKind kind_for_sqlstate(std::string_view state) {
    // Class 23 (integrity) and 22 (data) describe the input; 42 (syntax/undefined object) is
    // ours; everything else (connection, serialization, resources) may pass on retry.
    if (state.starts_with("23") || state.starts_with("22"))
        return ErrorKind::permanent;
    if (state.starts_with("42"))
        return ErrorKind::bug;
    return ErrorKind::temporary;
}

} // namespace

Error statement_error(std::string_view name, const PGresult *res, const PGconn *conn) {
    std::string msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
        msg.pop_back();
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    ErrorKind kind = state ? kind_for_sqlstate(state) : ErrorKind::temporary;
    return {kind, "SQL " + std::string(name) + " failed: " + msg};
}

Error Connection::error_for(std::string_view name, const PGresult *res) const {
    return statement_error(name, res, conn_.get());
}

Result<Rows> Connection::exec(std::string_view name, const char *sql,
                              std::initializer_list<Param> params, bool binary_results) {
    std::vector<const char *> values;
    std::vector<int> lengths, formats;
    for (const Param &p : params) {
        values.push_back(p.is_null ? nullptr : p.value.c_str());
        lengths.push_back(p.is_null ? 0 : static_cast<int>(p.value.size()));
        formats.push_back(p.is_binary ? 1 : 0);
    }
    PGresult *res =
        PQexecParams(conn_.get(), sql, static_cast<int>(values.size()), nullptr, values.data(),
                     lengths.data(), formats.data(), binary_results ? 1 : 0);
    Rows rows(res);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        return error_for(name, res);
    return rows;
}

Result<void> Connection::exec_script(std::string_view name, const std::string &sql) {
    // PQexec runs the statements in order and stops at the first failure, returning it.
    PGresult *res = PQexec(conn_.get(), sql.c_str());
    Rows rows(res);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY)
        return error_for(name, res);
    return {};
}

Result<Transaction> Transaction::begin(Connection &conn) {
    auto r = conn.exec("BEGIN", "BEGIN");
    if (!r)
        return r.error();
    return Transaction(conn);
}

Transaction::~Transaction() {
    if (open_ && !conn_->broken())
        (void)conn_->exec("ROLLBACK", "ROLLBACK");
}

Result<void> Transaction::commit() {
    open_ = false;
    auto r = conn_->exec("COMMIT", "COMMIT");
    if (!r)
        return r.error();
    return {};
}

std::string pg_text_array(const std::vector<std::string> &items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (char c : items[i]) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

namespace {

struct ConninfoOptionsFree {
    void operator()(PQconninfoOption *o) const { PQconninfoFree(o); }
};

// A value as libpq's key=value syntax wants it: quoted when empty or holding a space, a quote
// or a backslash.
std::string conninfo_value(std::string_view v) {
    if (!v.empty() && v.find_first_of(" \t\n\r\f\v'\\") == std::string_view::npos)
        return std::string(v);
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "'";
}

} // namespace

std::string redact_conninfo(const std::string &conninfo) {
    // libpq's own parser, so that every form it accepts (key=value, URI, a password in a URI's
    // user info or query) is read the way it reads it. Rebuilt as key=value from the options
    // set; libpq marks the secret ones (password, sslpassword) with dispchar '*'.
    char *raw_error = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoOptionsFree> options(
        PQconninfoParse(conninfo.c_str(), &raw_error));
    PQfreemem(raw_error); // may name a part of the conninfo: never shown
    if (!options)
        return "(a conninfo libpq cannot parse)";
    std::string out;
    for (const PQconninfoOption *o = options.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr)
            continue;
        const bool secret =
            std::string_view(o->dispchar) == "*" || std::string_view(o->keyword) == "password";
        out += out.empty() ? "" : " ";
        out += o->keyword;
        out += '=';
        out += secret ? "***" : conninfo_value(o->val);
    }
    return out;
}

} // namespace imapmig
