#include "db/pg_async.hpp"

#include <cstring>

namespace imapmig {

namespace {

// A FATAL error (administrator shutdown, idle timeout ...) comes as a statement's result just
// before the server closes the connection.
bool ends_session(const PGresult *res) {
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    return severity != nullptr &&
           (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0);
}

} // namespace

AsyncSession::AsyncSession(EventLoop &loop, std::string conninfo,
                           std::chrono::milliseconds answer_timeout)
    : loop_(loop), conninfo_(std::move(conninfo)), answer_timeout_(answer_timeout) {}

AsyncSession::~AsyncSession() {
    *alive_ = false;
    drop_watches();
}

void AsyncSession::drop_watches() {
    if (conn_ && PQsocket(conn_.get()) < 0) // libpq has closed it already
        for (auto *watch : {read_watch_.get(), write_watch_.get()})
            if (watch != nullptr)
                watch->descriptor_closed();
    read_watch_.reset();
    write_watch_.reset();
}

void AsyncSession::query(const Statement &statement, std::vector<Param> params, Done done,
                         bool binary_results) {
    waiting_.push_back({&statement, std::move(params), std::move(done), binary_results});
    arm_watchdog();
    if (state_ == State::closed)
        connect();
    else if (state_ == State::ready && !deferred_)
        send_waiting();
}

void AsyncSession::watch(int fd, bool read, bool write) {
    if (!read)
        read_watch_.reset();
    else if (!read_watch_)
        read_watch_ = loop_.watch(fd, EventLoop::Ready::read, [this] { on_readable(); });
    if (!write)
        write_watch_.reset();
    else if (!write_watch_)
        write_watch_ = loop_.watch(fd, EventLoop::Ready::write, [this] {
            if (state_ == State::connecting)
                continue_connect();
            else
                flush();
        });
}

void AsyncSession::connect() {
    conn_.reset(PQconnectStart(conninfo_.c_str()));
    prepared_.clear();
    ++connection_id_;
    if (!conn_ || PQstatus(conn_.get()) == CONNECTION_BAD) {
        const Error e = conn_ ? connection_error(conninfo_, conn_.get())
                              : temporary_error("PostgreSQL: out of memory creating a connection");
        // Callers hear back from the loop, not from inside query().
        state_ = State::connecting;
        deferred_ = loop_.after(std::chrono::milliseconds(0), [this, e] {
            deferred_.reset();
            fail_all(e);
        });
        return;
    }
    // Server NOTICEs would go to stderr of the auth process.
    PQsetNoticeProcessor(
        conn_.get(), [](void *, const char *) {}, nullptr);
    state_ = State::connecting;
    // libpq's rule: poll first as if PQconnectPoll had asked to write.
    watch(PQsocket(conn_.get()), false, true);
}

void AsyncSession::continue_connect() {
    // The socket may change between attempts (several hosts or addresses): watch afresh.
    drop_watches();
    switch (PQconnectPoll(conn_.get())) {
    case PGRES_POLLING_READING:
        watch(PQsocket(conn_.get()), true, false);
        return;
    case PGRES_POLLING_WRITING:
        watch(PQsocket(conn_.get()), false, true);
        return;
    case PGRES_POLLING_OK:
        on_connected();
        return;
    default:
        fail_all(connection_error(conninfo_, conn_.get()));
        return;
    }
}

void AsyncSession::on_connected() {
    if (PQsetnonblocking(conn_.get(), 1) != 0 || PQenterPipelineMode(conn_.get()) != 1) {
        fail_all(connection_error(conninfo_, conn_.get()));
        return;
    }
    state_ = State::ready;
    watch(PQsocket(conn_.get()), true, false);
    last_progress_ = std::chrono::steady_clock::now();
    send_waiting();
}

void AsyncSession::send_waiting() {
    while (!waiting_.empty()) {
        Pending p = std::move(waiting_.front());
        waiting_.pop_front();
        if (!send(p)) {
            if (p.done) // not handed to sent_ yet
                waiting_.push_front(std::move(p));
            fail_all(connection_error(conninfo_, conn_.get()));
            return;
        }
    }
    flush();
}

bool AsyncSession::send(Pending &p) {
    PGconn *c = conn_.get();
    const Statement &st = *p.statement;
    const int n = static_cast<int>(p.params.size());
    if (!prepared_.contains(st.name)) {
        if (PQsendPrepare(c, st.name, st.sql, n, nullptr) != 1)
            return false;
        prepared_.insert(st.name);
        sent_.push_back({Expected::prepare, st.name, {}, {}});
    }
    std::vector<const char *> values;
    std::vector<int> lengths, formats;
    for (const Param &q : p.params) {
        values.push_back(q.is_null ? nullptr : q.value.c_str());
        lengths.push_back(static_cast<int>(q.value.size()));
        formats.push_back(q.is_binary ? 1 : 0);
    }
    if (PQsendQueryPrepared(c, st.name, n, values.data(), lengths.data(), formats.data(),
                            p.binary_results ? 1 : 0) != 1)
        return false;
    if (PQpipelineSync(c) != 1) // the statement went out: its answer may still come
        return false;
    sent_.push_back({Expected::statement, st.name, std::move(p.done), {}});
    sent_.push_back({Expected::sync, nullptr, {}, {}});
    return true;
}

void AsyncSession::flush() {
    const int r = PQflush(conn_.get());
    if (r < 0) {
        fail_all(connection_error(conninfo_, conn_.get()));
        return;
    }
    watch(PQsocket(conn_.get()), true, r == 1);
}

void AsyncSession::on_readable() {
    if (state_ == State::connecting) {
        continue_connect();
        return;
    }
    if (PQconsumeInput(conn_.get()) != 1) {
        fail_all(connection_error(conninfo_, conn_.get()));
        return;
    }
    auto alive = alive_;
    read_results();
    // libpq may have found the connection lost while reading results (and closed it).
    if (*alive && conn_ && PQstatus(conn_.get()) == CONNECTION_BAD)
        fail_all(connection_error(conninfo_, conn_.get()));
}

void AsyncSession::read_results() {
    auto alive = alive_;
    while (*alive && state_ == State::ready && !sent_.empty() && !PQisBusy(conn_.get())) {
        PGresult *res = PQgetResult(conn_.get());
        last_progress_ = std::chrono::steady_clock::now();
        Expected &e = sent_.front();
        if (e.kind == Expected::sync) {
            const bool synced = res != nullptr && PQresultStatus(res) == PGRES_PIPELINE_SYNC;
            PQclear(res);
            if (!synced) {
                fail_all(temporary_error("PostgreSQL: the pipeline lost its order"));
                return;
            }
            sent_.pop_front();
            continue;
        }
        if (res == nullptr) { // the statement's results are complete
            finish_expected();
            continue;
        }
        Rows rows(res);
        if (e.result)
            continue; // only the first result counts; extra ones are dropped with rows
        switch (PQresultStatus(res)) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
            e.result.emplace(std::move(rows));
            break;
        case PGRES_PIPELINE_ABORTED:
            // Only an earlier statement of the same sync can abort this one: its prepare.
            e.result.emplace(
                temporary_error("SQL " + std::string(e.name) + " failed: its preparation failed"));
            break;
        default:
            e.result.emplace(statement_error(e.name, res, conn_.get()));
            if (ends_session(res)) {
                // The rest would go to a dead socket: close first, so that this statement's
                // caller, retrying, gets a new connection.
                Expected last = std::move(sent_.front());
                sent_.pop_front();
                fail_all(temporary_error("PostgreSQL ended the session"));
                if (*alive && last.kind == Expected::statement)
                    last.done(std::move(*last.result));
                return;
            }
            break;
        }
    }
    if (*alive && sent_.empty() && waiting_.empty())
        watchdog_.reset();
}

void AsyncSession::finish_expected() {
    Expected e = std::move(sent_.front());
    sent_.pop_front();
    if (e.kind == Expected::prepare) {
        // A failed prepare comes back on its statement too (aborted): forget it was prepared.
        if (e.result && !e.result->ok())
            prepared_.erase(e.name);
        return;
    }
    Result<Rows> result =
        e.result ? std::move(*e.result)
                 : Result<Rows>(bug_error("SQL " + std::string(e.name) + " failed: no result"));
    e.done(std::move(result));
}

void AsyncSession::fail_all(const Error &error) {
    auto alive = alive_;
    std::deque<Expected> sent = std::move(sent_);
    std::deque<Pending> waiting = std::move(waiting_);
    sent_.clear();
    waiting_.clear();
    drop_watches();
    watchdog_.reset();
    conn_.reset();
    prepared_.clear();
    state_ = State::closed;
    // Callbacks may queue new statements (reconnecting) or destroy this session.
    for (Expected &e : sent) {
        if (e.kind != Expected::statement)
            continue;
        e.done(Error{error.kind, "SQL " + std::string(e.name) + ": " + error.message});
        if (!*alive)
            return;
    }
    for (Pending &p : waiting) {
        p.done(Error{error.kind, "SQL " + std::string(p.statement->name) + ": " + error.message});
        if (!*alive)
            return;
    }
}

void AsyncSession::arm_watchdog() {
    if (watchdog_)
        return;
    last_progress_ = std::chrono::steady_clock::now();
    watchdog_ = loop_.after(answer_timeout_, [this] { on_watchdog(); });
}

void AsyncSession::on_watchdog() {
    const auto silent = std::chrono::steady_clock::now() - last_progress_;
    if (silent >= answer_timeout_) {
        fail_all(temporary_error("PostgreSQL did not answer in " +
                                 std::to_string(answer_timeout_.count() / 1000) + " s"));
        return;
    }
    watchdog_ = loop_.after(std::chrono::ceil<std::chrono::milliseconds>(answer_timeout_ - silent),
                            [this] { on_watchdog(); });
}

} // namespace imapmig
