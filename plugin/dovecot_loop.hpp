// The core's EventLoop on Dovecot's ioloop (io_add, timeout_add), so the login flow's SQL and
// threads run in the auth process without ever blocking it. Include after Dovecot's headers.
#pragma once

#include "loop/event_loop.hpp"

#include <string>

class DovecotLoop final : public imapmig::EventLoop {
public:
    // Fail: what an exception out of a callback becomes (loop/guarded.hpp); it must answer
    // whatever the callback's owner may have stranded.
    using Fail = std::function<void(const std::string &what)>;
    explicit DovecotLoop(Fail fail) : fail_(std::move(fail)) {}

    std::unique_ptr<Handle> watch(int fd, Ready what, std::function<void()> ready) override;
    std::unique_ptr<Handle> after(std::chrono::milliseconds delay,
                                  std::function<void()> fire) override;

private:
    Fail fail_;
};
