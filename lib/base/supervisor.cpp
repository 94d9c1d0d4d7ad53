#include "base/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>

namespace imapmig {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t max_line = 1 << 20;     // a longer "line" is passed on in pieces
constexpr size_t tail_lines = 8;         // kept for the error text
constexpr milliseconds drain_time{2000}; // output a descendant keeps open after the exit

// One output pipe, split into lines for a callback; the last lines kept for error texts.
class LineStream {
public:
    LineStream(Fd fd, const LineCallback &cb, std::deque<std::string> *tail)
        : fd_(std::move(fd)), cb_(cb), tail_(tail) {}
    int fd() const { return fd_.get(); }
    bool open() const { return fd_.get() >= 0; }

    // Reads what is there; closes at EOF or on an error other than EINTR/EAGAIN.
    void read_some() {
        char chunk[8192];
        ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        if (n <= 0) {
            close();
            return;
        }
        buffer_.append(chunk, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1)
            deliver(std::string_view(buffer_).substr(start, nl - start));
        buffer_.erase(0, start);
        if (buffer_.size() >= max_line) {
            deliver(buffer_);
            buffer_.clear();
        }
    }
    void close() {
        fd_.reset();
        if (!buffer_.empty())
            deliver(buffer_);
        buffer_.clear();
    }

private:
    void deliver(std::string_view line) {
        if (tail_) {
            if (tail_->size() >= tail_lines)
                tail_->pop_front();
            tail_->emplace_back(line.substr(0, 500));
        }
        if (cb_)
            cb_(line);
    }
    Fd fd_;
    const LineCallback &cb_;
    std::deque<std::string> *tail_;
    std::string buffer_;
};

Result<std::vector<Fd>> secret_pipes(const ProgramSpec &spec, std::vector<InheritedFd> &fds) {
    std::vector<Fd> read_ends;
    for (const auto &input : spec.inputs) {
        auto p = make_pipe();
        if (!p)
            return p.error();
        // The whole content fits the pipe (64 KiB): written now, EOF after it.
        if (input.content.size() > 65536)
            return bug_error("a secret input larger than a pipe");
        if (auto w = write_all(p.value().write.get(), input.content.reveal()); !w)
            return temporary_error("writing a secret pipe: " + w.error().message);
        fds.push_back({p.value().read.get(), input.as});
        read_ends.push_back(std::move(p.value().read));
    }
    return read_ends;
}

std::string program_name(const ProgramSpec &spec) {
    const std::string &path = spec.argv.front();
    return path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
}

std::string describe(const ProgramSpec &spec, const ProgramResult &r,
                     const std::deque<std::string> &tail) {
    const std::string name = program_name(spec);
    std::string text;
    if (r.end == ProgramEnd::timed_out)
        text =
            name + " did not finish within " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(spec.timeout).count()) +
            " s";
    else if (WIFEXITED(r.status))
        text = name + " exited with status " + std::to_string(WEXITSTATUS(r.status));
    else
        text = name + " was killed by signal " + std::to_string(WTERMSIG(r.status));
    for (const auto &line : tail)
        text += " | " + line;
    return scrub(text, spec.secrets);
}

} // namespace

bool ProgramResult::exited_ok() const {
    return end == ProgramEnd::exited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int ProgramResult::exit_code() const {
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string scrub(std::string text, std::string_view secret) {
    if (secret.empty())
        return text;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
        text.replace(at, secret.size(), "***");
    return text;
}

std::string scrub(std::string text, const std::vector<std::string_view> &secrets) {
    for (auto s : secrets)
        text = scrub(std::move(text), s);
    return text;
}

Result<ProgramResult> run_program(const ProgramSpec &spec) {
    const auto started = Clock::now();
    if (spec.argv.empty())
        return bug_error("run_program: no program");
    auto out = make_pipe();
    if (!out)
        return out.error();
    std::optional<Pipe> err;
    if (!spec.stderr_to_stdout) {
        auto e = make_pipe();
        if (!e)
            return e.error();
        err = std::move(e.value());
    }
    SpawnSpec s;
    s.argv = spec.argv;
    s.env = spec.env;
    s.fds = spec.fds;
    s.fds.push_back({out.value().write.get(), 1});
    s.fds.push_back({err ? err->write.get() : out.value().write.get(), 2});
    auto inputs = secret_pipes(spec, s.fds);
    if (!inputs)
        return inputs.error();
    auto spawned = spawn_child(s);
    if (!spawned)
        return spawned.error();
    ChildHandle &child = spawned.value();
    out.value().write.reset();
    if (err)
        err->write.reset();
    inputs.value().clear();
    std::deque<std::string> tail;
    // Declared after the child: closed first, so a child stopped on scope exit never blocks on
    // a full pipe.
    LineStream streams[2] = {LineStream(std::move(out.value().read), spec.on_stdout,
                                        spec.stderr_to_stdout ? &tail : nullptr),
                             LineStream(err ? std::move(err->read) : Fd(), spec.on_stderr, &tail)};
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0)));

    ProgramResult result;
    std::optional<Clock::time_point> kill_at, drain_until;
    auto next_tick = started + spec.tick_interval;
    const auto deadline =
        spec.timeout.count() > 0 ? std::optional(started + spec.timeout) : std::nullopt;
    auto stop = [&](ProgramEnd why) {
        result.end = why;
        child.signal(SIGTERM);
        kill_at = Clock::now() + spec.stop_grace;
    };
    while (true) {
        const bool exited = child.wait(false).has_value();
        const auto now = Clock::now();
        if (exited && !drain_until)
            drain_until = now + drain_time;
        if (exited && ((!streams[0].open() && !streams[1].open()) || now >= *drain_until))
            break;
        if (!exited && !kill_at) {
            if (spec.cancel && spec.cancel->load())
                stop(ProgramEnd::cancelled);
            else if (deadline && now >= *deadline)
                stop(ProgramEnd::timed_out);
            else if (spec.on_tick && now >= next_tick) {
                next_tick = now + spec.tick_interval;
                if (!spec.on_tick())
                    stop(ProgramEnd::stopped);
            }
        }
        if (!exited && kill_at && now >= *kill_at) {
            child.signal(SIGKILL);
            kill_at = Clock::time_point::max();
        }
        pollfd fds[3] = {{streams[0].fd(), POLLIN, 0},
                         {streams[1].fd(), POLLIN, 0},
                         {exited ? -1 : pidfd.get(), POLLIN, 0}};
        // Short enough to see the cancel flag, the tick and the exit without a pidfd.
        const int timeout = pidfd.get() >= 0 && !exited ? 200 : 50;
        if (::poll(fds, 3, timeout) < 0 && errno != EINTR)
            return temporary_error(std::string("poll: ") + std::strerror(errno));
        for (int i = 0; i < 2; ++i)
            if (fds[i].revents != 0)
                streams[i].read_some();
    }
    for (auto &s : streams)
        if (s.open())
            s.close();
    result.status = *child.wait(true);
    result.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    if (!result.exited_ok())
        result.error = describe(spec, result, tail);
    return result;
}

bool Captured::exited_ok() const {
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

Result<Captured> run_captured(ProgramSpec spec, std::chrono::seconds timeout) {
    Captured c;
    spec.on_stdout = [&](std::string_view line) { (c.out += line) += '\n'; };
    spec.on_stderr = [&](std::string_view line) { (c.err += line) += '\n'; };
    spec.stderr_to_stdout = false;
    spec.timeout = timeout;
    auto run = run_program(spec);
    if (!run)
        return run.error();
    if (run.value().end == ProgramEnd::timed_out)
        return temporary_error(run.value().error);
    c.status = run.value().status;
    return c;
}

} // namespace imapmig
