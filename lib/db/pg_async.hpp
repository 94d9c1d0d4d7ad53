// A PostgreSQL session that never blocks its event loop: libpq's non-blocking API in pipeline
// mode. Statements from many callers go out back to back on one connection, each followed by
// a sync, so each runs as its own transaction and one failing never aborts another. Each
// statement is prepared once per connection. A lost connection fails what was in flight and
// the next statement reconnects.
#pragma once

#include "base/error.hpp"
#include "db/store.hpp"
#include "loop/event_loop.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace imapmig {

class AsyncSession {
public:
    using Done = std::function<void(Result<Rows>)>;

    // answer_timeout: PostgreSQL silent this long with statements in flight counts as a lost
    // connection (libpq itself never gives up on a non-blocking socket).
    AsyncSession(EventLoop &loop, std::string conninfo,
                 std::chrono::milliseconds answer_timeout = std::chrono::seconds(30));
    // Statements still queued or in flight are dropped: their callbacks never run.
    ~AsyncSession();
    AsyncSession(const AsyncSession &) = delete;
    AsyncSession &operator=(const AsyncSession &) = delete;

    // done runs later from the loop, never from inside query().
    void query(const Statement &statement, std::vector<Param> params, Done done,
               bool binary_results = false);

    size_t in_flight() const { return waiting_.size() + sent_.size(); }
    // Changes with every new server connection: state a session keeps on the server (advisory
    // locks) belongs to one connection.
    uint64_t connection_id() const { return connection_id_; }

private:
    struct Pending {
        const Statement *statement;
        std::vector<Param> params;
        Done done;
        bool binary_results;
    };
    // What the server owes us, in order: a prepare, a statement's result, a sync.
    struct Expected {
        enum Kind { prepare, statement, sync } kind;
        const char *name = nullptr;
        Done done;
        std::optional<Result<Rows>> result;
    };

    void connect();
    void continue_connect();
    void on_connected();
    void send_waiting();
    bool send(Pending &p);
    void flush();
    void on_readable();
    void read_results();
    void finish_expected();
    void fail_all(const Error &error);
    void arm_watchdog();
    void on_watchdog();
    void watch(int fd, bool read, bool write);
    void drop_watches(); // before the connection goes, or after libpq closed it

    EventLoop &loop_;
    const std::string conninfo_;
    const std::chrono::milliseconds answer_timeout_;
    std::unique_ptr<PGconn, PgConnCloser> conn_;
    enum class State { closed, connecting, ready } state_ = State::closed;
    uint64_t connection_id_ = 0;
    std::set<std::string> prepared_; // on the current connection
    std::deque<Pending> waiting_;    // not yet sent (connecting)
    std::deque<Expected> sent_;      // sent, answers outstanding
    std::unique_ptr<EventLoop::Handle> read_watch_, write_watch_, watchdog_, deferred_;
    std::chrono::steady_clock::time_point last_progress_{};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace imapmig
