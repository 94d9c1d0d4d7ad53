// The one way code that may throw runs where no exception may go further: a callback from C
// (Dovecot's ioloop, libcurl), a loop's callback, a work thread, a login's continuation. An
// exception becomes a call to fail(message), which answers whatever the callback was for
// (the login, the transfers, the loop's owner); fail itself may throw nothing that escapes.
#pragma once

#include <exception>
#include <string>
#include <utility>

namespace imapmig {

template <class Body, class Fail> void run_guarded(Body &&body, Fail &&fail) noexcept {
    const char *what = "unknown exception";
    try {
        std::forward<Body>(body)();
        return;
    } catch (const std::exception &e) {
        what = e.what(); // valid while this handler runs: use it here
        try {
            std::forward<Fail>(fail)(std::string(what));
        } catch (...) {
        }
        return;
    } catch (...) {
    }
    try {
        std::forward<Fail>(fail)(std::string(what));
    } catch (...) {
        // Out of memory while answering: nothing left that can be done safely here.
    }
}

} // namespace imapmig
