#include "sync/task_queue.hpp"

#include "catch_compat.hpp"

using namespace imapmig;

TEST_CASE("the copied counter after a run: what was counted, raised to what is known present",
          "[unit]") {
    ClaimedTask t;
    t.messages_before = 210; // the last heartbeat of a killed run
    SyncProgress p;
    p.messages_copied = 40;
    p.messages_present = 1500; // the old side's messages, all in the new mailbox now
    CHECK(messages_copied_after(t, SyncOutcome::synced, p) == 1500);
    // Not synced: nothing is known about the rest.
    CHECK(messages_copied_after(t, SyncOutcome::failed, p) == 250);
    p.messages_present = -1;
    CHECK(messages_copied_after(t, SyncOutcome::synced, p) == 250);
    // Never lowered (two-way runs copy in both directions).
    p.messages_present = 100;
    CHECK(messages_copied_after(t, SyncOutcome::synced, p) == 250);
}
