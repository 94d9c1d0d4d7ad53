// One way to run a helper program from the worker, after Dovecot's lib-program-client: extra
// fds (a lock, a password pipe), line callbacks for stdout and stderr, a periodic tick that may
// end the run, a cancel flag, a timeout, a stop that drains the output while the program winds
// down, an EINTR-safe wait, the duration, and error texts with the given secrets scrubbed.
// Blocking: it runs in the calling thread until the program has ended and been reaped.
#pragma once

#include "base/child_process.hpp"
#include "base/secret_string.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace imapmig {

// A pipe the child reads as fd `as`, holding `content` and then EOF (written before the child
// starts, so at most 64 KiB). How passwords reach a program without a file.
struct SecretInput {
    int as;
    SecretString content;
};

using LineCallback = std::function<void(std::string_view line)>;

struct ProgramSpec {
    std::vector<std::string> argv; // argv[0]: the program's path
    std::vector<std::string> env;  // the whole environment
    std::vector<InheritedFd> fds;  // beyond 0-2 (stdin is /dev/null)
    std::vector<SecretInput> inputs;
    LineCallback on_stdout; // each line without its '\n'; a last unterminated line too
    LineCallback on_stderr;
    bool stderr_to_stdout = false; // one stream, in the order written
    // Every tick_interval while the program runs; returning false stops it (ProgramEnd::stopped).
    std::function<bool()> on_tick;
    std::chrono::milliseconds tick_interval{2000};
    const std::atomic<bool> *cancel = nullptr;   // set: stopped (ProgramEnd::cancelled)
    std::chrono::milliseconds timeout{0};        // 0: none; then stopped (ProgramEnd::timed_out)
    std::chrono::milliseconds stop_grace{10000}; // SIGTERM .. SIGKILL
    std::vector<std::string_view> secrets;       // never in ProgramResult::error nor scrub()
};

enum class ProgramEnd {
    exited,    // on its own: see status
    cancelled, // *cancel was set
    stopped,   // on_tick returned false
    timed_out,
};

struct ProgramResult {
    ProgramEnd end = ProgramEnd::exited;
    int status = 0; // as waitpid reports it
    std::chrono::milliseconds duration{0};
    // "NAME exited with status N" / "was killed by signal N" / "did not finish within N s",
    // followed by the last lines of stderr (of the merged output with stderr_to_stdout);
    // secrets scrubbed.
    std::string error;
    bool exited_ok() const; // exited on its own with status 0
    int exit_code() const;  // -1 when it did not exit normally
};

Result<ProgramResult> run_program(const ProgramSpec &spec);

// text with every occurrence of each secret replaced by "***".
std::string scrub(std::string text, const std::vector<std::string_view> &secrets);
std::string scrub(std::string text, std::string_view secret);

struct Captured {
    int status = 0; // as waitpid reports it
    std::string out, err;
    bool exited_ok() const; // exited with status 0
};

// Runs a short command to its end with stdout and stderr collected; after timeout its process
// group is stopped and a temporary error returned.
Result<Captured> run_captured(ProgramSpec spec, std::chrono::seconds timeout);

} // namespace imapmig
