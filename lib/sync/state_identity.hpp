// A migration's sync state belongs to that migration for good. Migration IDs come back after a
// database restore or a fresh install, and the engines trust whatever state they find: with
// another account's state, offlineimap skipped mail and still reported success. Every
// migration has an identity that is never reused (migrations.sync_identity, a random UUID);
// the state directory names it in a file, checked before every run.
#pragma once

#include "base/error.hpp"

#include <string>

namespace imapmig {

enum class StateBinding {
    fresh,   // no state yet: the identity was written
    same,    // the state is this migration's
    adopted, // state written before identities existed, taken over (see adopt_legacy)
    replaced // another migration's state: moved aside (never deleted), started afresh
};

// Makes dir (0700) the state of the migration with identity; moves another migration's state
// to DIR.other-IDENTITY-TIME first (*moved_to says where, for the worker's log). A state
// without identity file (written before identities existed) is this migration's only when
// adopt_legacy: the migration existed when the schema gained identities (an upgrade keeps
// IDs); one created later (fresh install, restore) gets a fresh state instead.
Result<StateBinding> bind_sync_state(const std::string &dir, const std::string &identity,
                                     bool adopt_legacy, std::string *moved_to = nullptr);

} // namespace imapmig
