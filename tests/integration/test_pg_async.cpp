// AsyncSession against a real PostgreSQL: pipelined statements from many callers, errors kept
// to their own statement, a server restart, an unreachable server, the provider slots'
// statement on one session.
#include "pg_cluster.hpp"

#include "db/pg_async.hpp"
#include "db/provider_guard.hpp"
#include "loop/poll_loop.hpp"

#include "catch_compat.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace imapmig;
using testsupport::PgCluster;

namespace {

const Statement add_statement{"add", "SELECT $1::int + $2::int"};
const Statement divide_statement{"divide", "SELECT 10 / $1::int"};
const Statement echo_bytes_statement{"echo bytes", "SELECT $1::bytea"};

// Runs the loop until every callback has run; false if the loop ran dry first.
bool drain(PollLoop &loop, const size_t &answered, size_t expected) {
    return loop.run_until([&] { return answered >= expected; });
}

} // namespace

TEST_CASE("AsyncSession pipelines statements and keeps each failure to its own", "[integration]") {
    PgCluster pg;
    const std::string db = pg.create_database("pipeline");
    PollLoop loop;
    AsyncSession session(loop, pg.tcp_conninfo("pipeline"));

    size_t answered = 0;
    std::vector<long long> sums(50, -1);
    std::optional<Result<Rows>> divided_by_zero, divided;
    for (int i = 0; i < 50; ++i) {
        session.query(add_statement, {std::to_string(i), "1000"}, [&, i](Result<Rows> r) {
            REQUIRE(r);
            sums[i] = r.value().integer(0, 0);
            ++answered;
        });
        if (i == 20) {
            session.query(divide_statement, {"0"}, [&](Result<Rows> r) {
                divided_by_zero.emplace(std::move(r));
                ++answered;
            });
            session.query(divide_statement, {"5"}, [&](Result<Rows> r) {
                divided.emplace(std::move(r));
                ++answered;
            });
        }
    }
    CHECK(answered == 0); // callbacks run from the loop, never from inside query()
    CHECK(session.in_flight() == 52);
    REQUIRE(drain(loop, answered, 52));
    for (int i = 0; i < 50; ++i)
        CHECK(sums[i] == i + 1000);
    REQUIRE(divided_by_zero);
    REQUIRE_FALSE(*divided_by_zero);
    CHECK(divided_by_zero->error().message.find("SQL divide failed: ERROR:  division by zero") ==
          0);
    CHECK(divided_by_zero->error().kind == ErrorKind::permanent); // SQLSTATE 22012
    REQUIRE(divided);
    REQUIRE(*divided); // the statement after the failed one ran in its own transaction
    CHECK(divided->value().integer(0, 0) == 2);
    CHECK(session.in_flight() == 0);

    // Binary parameters and results pass unchanged, NUL bytes included.
    const std::string bytes("a\0b\xff", 4);
    std::optional<std::string> echoed;
    session.query(
        echo_bytes_statement, {Param::binary(bytes)},
        [&](Result<Rows> r) {
            REQUIRE(r);
            echoed = std::string(r.value().bytes(0, 0));
            ++answered;
        },
        true);
    REQUIRE(drain(loop, answered, 53));
    CHECK(echoed == bytes);
}

TEST_CASE("AsyncSession fails statements in flight when the server goes and reconnects after",
          "[integration]") {
    PgCluster pg;
    pg.create_database("restart");
    PollLoop loop;
    AsyncSession session(loop, pg.tcp_conninfo("restart"));
    size_t answered = 0;
    session.query(add_statement, {"1", "1"}, [&](Result<Rows> r) {
        CHECK(r);
        ++answered;
    });
    REQUIRE(drain(loop, answered, 1));
    const uint64_t first_connection = session.connection_id();

    pg.restart();
    std::optional<Error> lost;
    session.query(add_statement, {"2", "2"}, [&](Result<Rows> r) {
        if (!r)
            lost = r.error();
        ++answered;
    });
    REQUIRE(drain(loop, answered, 2));
    REQUIRE(lost); // the old connection is gone: the statement fails, naming it
    INFO(lost->message);
    CHECK(lost->kind == ErrorKind::temporary);
    CHECK(lost->message.rfind("SQL add", 0) == 0);

    std::optional<long long> sum;
    session.query(add_statement, {"3", "3"}, [&](Result<Rows> r) {
        INFO((r ? "" : r.error().message));
        REQUIRE(r);
        sum = r.value().integer(0, 0);
        ++answered;
    });
    REQUIRE(drain(loop, answered, 3));
    CHECK(sum == 6);
    CHECK(session.connection_id() != first_connection);
}

TEST_CASE("AsyncSession reports an unreachable server through the loop", "[integration]") {
    PgCluster pg;
    const int port = pg.port();
    pg.stop();
    PollLoop loop;
    AsyncSession session(loop, "host=127.0.0.1 port=" + std::to_string(port) +
                                   " dbname=x user=postgres password=hunter2");
    size_t answered = 0;
    std::optional<Error> error;
    session.query(add_statement, {"1", "1"}, [&](Result<Rows> r) {
        REQUIRE_FALSE(r);
        error = r.error();
        ++answered;
    });
    CHECK(answered == 0);
    REQUIRE(drain(loop, answered, 1));
    REQUIRE(error);
    CHECK(error->message.find("PostgreSQL connection (") != std::string::npos);
    CHECK(error->message.find("hunter2") == std::string::npos);
}

TEST_CASE("one session takes distinct provider slots for pipelined acquisitions", "[integration]") {
    PgCluster pg;
    pg.create_database("slots");
    PollLoop loop;
    AsyncSession session(loop, pg.tcp_conninfo("slots"));
    const std::string key = std::to_string(provider_lock_key("oldmail"));
    size_t answered = 0;
    std::vector<std::string> taken;
    for (int i = 0; i < 4; ++i) // three slots, four logins, all sent before any answer
        session.query(slot_acquire_statement, {key, "3"}, [&](Result<Rows> r) {
            REQUIRE(r);
            taken.push_back(r.value().empty() ? "none" : r.value().str(0, 0));
            ++answered;
        });
    REQUIRE(drain(loop, answered, 4));
    CHECK(taken == std::vector<std::string>{"0", "1", "2", "none"});

    session.query(slot_release_statement, {key, "1"}, [&](Result<Rows> r) {
        REQUIRE(r);
        CHECK(r.value().boolean(0, 0));
        ++answered;
    });
    session.query(slot_acquire_statement, {key, "3"}, [&](Result<Rows> r) {
        REQUIRE(r);
        taken.push_back(r.value().str(0, 0));
        ++answered;
    });
    REQUIRE(drain(loop, answered, 6));
    CHECK(taken.back() == "1"); // the freed slot, and only it
}
