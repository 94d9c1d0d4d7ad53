// The core's EventLoop on Dovecot's ioloop (io_add, timeout_add), so the login flow's SQL and
// threads run in the auth process without ever blocking it. Include after Dovecot's headers.
#pragma once

#include "loop/event_loop.hpp"

class DovecotLoop final : public imapmig::EventLoop {
public:
    std::unique_ptr<Handle> watch(int fd, Ready what, std::function<void()> ready) override;
    std::unique_ptr<Handle> after(std::chrono::milliseconds delay,
                                  std::function<void()> fire) override;
};
