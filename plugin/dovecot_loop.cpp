#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "dovecot_loop.hpp"

#include <exception>

namespace {

// No exception may unwind through Dovecot's C frames.
void run_guarded(const std::function<void()> &callback) {
    try {
        callback();
    } catch (const std::exception &e) {
        i_error("imapmigration: internal error: %s", e.what());
    } catch (...) {
        i_error("imapmigration: internal error: unknown exception");
    }
}

class IoHandle final : public imapmig::EventLoop::Handle {
public:
    IoHandle(int fd, imapmig::EventLoop::Ready what, std::function<void()> ready)
        : ready_(std::move(ready)) {
        io_ = io_add(fd, what == imapmig::EventLoop::Ready::read ? IO_READ : IO_WRITE,
                     on_ready, this);
    }
    ~IoHandle() override {
        if (io_ != nullptr)
            io_remove(&io_);
    }
    // Dovecot panics when it cannot unregister a descriptor that is already closed.
    void descriptor_closed() override { io_remove_closed(&io_); }

private:
    static void on_ready(IoHandle *self) {
        auto ready = self->ready_; // the callback may destroy this handle
        run_guarded(ready);
    }
    std::function<void()> ready_;
    struct io *io_;
};

class TimeoutHandle final : public imapmig::EventLoop::Handle {
public:
    TimeoutHandle(std::chrono::milliseconds delay, std::function<void()> fire)
        : fire_(std::move(fire)) {
        to_ = timeout_add_short(static_cast<unsigned int>(delay.count()), on_fire, this);
    }
    ~TimeoutHandle() override {
        if (to_ != nullptr)
            timeout_remove(&to_);
    }

private:
    static void on_fire(TimeoutHandle *self) {
        timeout_remove(&self->to_); // one-shot
        auto fire = std::move(self->fire_); // the callback may destroy this handle
        run_guarded(fire);
    }
    std::function<void()> fire_;
    struct timeout *to_;
};

} // namespace

std::unique_ptr<imapmig::EventLoop::Handle> DovecotLoop::watch(int fd, Ready what,
                                                               std::function<void()> ready) {
    return std::make_unique<IoHandle>(fd, what, std::move(ready));
}

std::unique_ptr<imapmig::EventLoop::Handle> DovecotLoop::after(std::chrono::milliseconds delay,
                                                               std::function<void()> fire) {
    return std::make_unique<TimeoutHandle>(delay, std::move(fire));
}
