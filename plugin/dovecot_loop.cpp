#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "dovecot_loop.hpp"

#include "loop/guarded.hpp"

namespace {

class IoHandle final : public imapmig::EventLoop::Handle {
public:
    IoHandle(int fd, imapmig::EventLoop::Ready what, std::function<void()> ready,
             const DovecotLoop::Fail &fail)
        : ready_(std::move(ready)), fail_(fail) {
        io_ = io_add(fd, what == imapmig::EventLoop::Ready::read ? IO_READ : IO_WRITE, on_ready,
                     this);
    }
    ~IoHandle() override {
        if (io_ != nullptr)
            io_remove(&io_);
    }
    // Dovecot panics when it cannot unregister a descriptor that is already closed.
    void descriptor_closed() override { io_remove_closed(&io_); }

private:
    static void on_ready(IoHandle *self) {
        auto ready = self->ready_;                   // the callback may destroy this handle
        const DovecotLoop::Fail &fail = self->fail_; // the loop's: outlives the handle
        imapmig::run_guarded(ready, fail);
    }
    std::function<void()> ready_;
    const DovecotLoop::Fail &fail_;
    struct io *io_;
};

class TimeoutHandle final : public imapmig::EventLoop::Handle {
public:
    TimeoutHandle(std::chrono::milliseconds delay, std::function<void()> fire,
                  const DovecotLoop::Fail &fail)
        : fire_(std::move(fire)), fail_(fail) {
        to_ = timeout_add_short(static_cast<unsigned int>(delay.count()), on_fire, this);
    }
    ~TimeoutHandle() override {
        if (to_ != nullptr)
            timeout_remove(&to_);
    }

private:
    static void on_fire(TimeoutHandle *self) {
        timeout_remove(&self->to_);         // one-shot
        auto fire = std::move(self->fire_); // the callback may destroy this handle
        const DovecotLoop::Fail &fail = self->fail_;
        imapmig::run_guarded(fire, fail);
    }
    std::function<void()> fire_;
    const DovecotLoop::Fail &fail_;
    struct timeout *to_;
};

} // namespace

std::unique_ptr<imapmig::EventLoop::Handle> DovecotLoop::watch(int fd, Ready what,
                                                               std::function<void()> ready) {
    return std::make_unique<IoHandle>(fd, what, std::move(ready), fail_);
}

std::unique_ptr<imapmig::EventLoop::Handle> DovecotLoop::after(std::chrono::milliseconds delay,
                                                               std::function<void()> fire) {
    return std::make_unique<TimeoutHandle>(delay, std::move(fire), fail_);
}
