// Dovecot's C headers, in the order they need: config.h first (it sets the ABI version and the
// type sizes the rest depend on).
#pragma once

#include <unistd.h>

// clang-format off
extern "C" {
#include "config.h"
#include "lib.h"
#include "auth-common.h"
#include "auth-request.h"
#include "auth.h"
#include "passdb.h"
#include "ioloop.h"
}
// clang-format on
