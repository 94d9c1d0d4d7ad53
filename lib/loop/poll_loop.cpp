#include "loop/poll_loop.hpp"

#include <poll.h>

#include <cerrno>
#include <vector>

namespace imapmig {

class PollLoop::EntryHandle final : public Handle {
public:
    EntryHandle(std::list<Entry> &entries, std::list<Entry>::iterator it)
        : entries_(entries), it_(it) {}
    // Erasing while run_until walks the list would pull an entry from under it: mark only.
    ~EntryHandle() override {
        it_->live = false;
        it_->callback = nullptr;
    }

private:
    std::list<Entry> &entries_;
    std::list<Entry>::iterator it_;
};

std::unique_ptr<EventLoop::Handle> PollLoop::watch(int fd, Ready what,
                                                   std::function<void()> ready) {
    auto it = entries_.insert(entries_.end(), Entry{fd, what, {}, std::move(ready)});
    return std::make_unique<EntryHandle>(entries_, it);
}

std::unique_ptr<EventLoop::Handle> PollLoop::after(std::chrono::milliseconds delay,
                                                   std::function<void()> fire) {
    auto it = entries_.insert(
        entries_.end(),
        Entry{-1, Ready::read, std::chrono::steady_clock::now() + delay, std::move(fire)});
    return std::make_unique<EntryHandle>(entries_, it);
}

bool PollLoop::run_until(const std::function<bool()> &done) {
    using clock = std::chrono::steady_clock;
    while (!done()) {
        std::vector<pollfd> fds;
        std::vector<std::list<Entry>::iterator> watched;
        int timeout_ms = -1;
        const auto now = clock::now();
        for (auto it = entries_.begin(); it != entries_.end();) {
            if (!it->live && !it->callback) {
                // Only a destroyed handle clears both; nobody refers to the entry any more.
                it = entries_.erase(it);
                continue;
            }
            if (it->fd >= 0) {
                fds.push_back(
                    {it->fd, static_cast<short>(it->what == Ready::read ? POLLIN : POLLOUT), 0});
                watched.push_back(it);
            } else if (it->live) {
                const auto left =
                    std::chrono::ceil<std::chrono::milliseconds>(it->due - now).count();
                const int ms = left < 0 ? 0 : static_cast<int>(left);
                if (timeout_ms < 0 || ms < timeout_ms)
                    timeout_ms = ms;
            }
            ++it;
        }
        if (fds.empty() && timeout_ms < 0)
            return false;
        const int n = poll(fds.data(), fds.size(), timeout_ms);
        if (n < 0 && errno != EINTR)
            return false;
        for (size_t i = 0; n > 0 && i < fds.size(); ++i) {
            // A callback may have cancelled a later watch: check before each call.
            if (fds[i].revents == 0 || !watched[i]->live)
                continue;
            auto callback = watched[i]->callback; // the callback may destroy its handle
            callback();
        }
        const auto fired = clock::now();
        for (auto &e : entries_) {
            if (e.fd >= 0 || !e.live || e.due > fired)
                continue;
            e.live = false; // one-shot; the handle still owns the entry
            auto callback = std::move(e.callback);
            e.callback = [] {}; // keeps the entry until its handle goes
            callback();
        }
    }
    return true;
}

} // namespace imapmig
