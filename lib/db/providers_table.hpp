// The `providers` table: where each old provider of the configuration is, as far as Dovecot's
// SQL passdb needs it to proxy a `cutover: proxy` user's sessions there. The YAML stays the
// source; this copy is refreshed by the worker at start and reload, and by first logins.
#pragma once

#include "base/error.hpp"
#include "config/config.hpp"
#include "db/store.hpp"

namespace imapmig {

// Writes every configured provider's endpoint; rows of providers no longer configured stay (a
// migration may still name them) until their migrations are gone.
Result<void> publish_providers(Connection &conn, const Config &config);

} // namespace imapmig
