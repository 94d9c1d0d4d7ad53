// A LoginDecision applied to a Dovecot auth request: its log line, the rename, the result.
// Include only after Dovecot's headers.
#pragma once

#include "login/login_migration.hpp"

enum passdb_result apply_decision(struct auth_request *request,
                                  const imapmig::LoginDecision &decision);
