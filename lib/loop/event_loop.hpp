// What the core's asynchronous parts need from the event loop they run in: watch a descriptor,
// fire once after a delay. Dovecot's ioloop provides it in the auth process (plugin/), a
// poll(2) loop in blocking callers and tests (poll_loop.hpp). Callbacks run on the loop's
// thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace imapmig {

class EventLoop {
public:
    virtual ~EventLoop() = default;

    // Destroying a handle cancels it; its callback does not run afterwards.
    class Handle {
    public:
        virtual ~Handle() = default;
        // The watched descriptor was closed under the watch (libpq closes its socket when it
        // finds the connection lost): destroying the handle must not touch it any more.
        virtual void descriptor_closed() {}
    };

    enum class Ready { read, write };

    // ready runs each time fd is readable (or writable) until the handle is destroyed.
    virtual std::unique_ptr<Handle> watch(int fd, Ready what, std::function<void()> ready) = 0;
    // fire runs once, delay from now.
    virtual std::unique_ptr<Handle> after(std::chrono::milliseconds delay,
                                          std::function<void()> fire) = 0;
};

} // namespace imapmig
