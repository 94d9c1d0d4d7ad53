// One object per key and process, however many times Dovecot asks for it. Dovecot 2.4 runs a
// passdb's preinit once per auth instance (the default one and one per `protocol X { }` block),
// where 2.3 merged identical passdbs: without this each instance would load the config, open
// its own SQL connections and start its own hashing threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

template <typename T> class SharedStates {
public:
    // The object for key, made by make() on first use. Each acquire is matched by a release.
    // A make() that returns nullptr is not remembered: nullptr, and the next acquire tries again.
    T *acquire(const std::string &key, const std::function<std::unique_ptr<T>()> &make) {
        auto it = states_.find(key);
        if (it == states_.end()) {
            std::unique_ptr<T> made = make();
            if (!made)
                return nullptr;
            it = states_.emplace(key, Entry{std::move(made), 0}).first;
        }
        ++it->second.users;
        return it->second.object.get();
    }
    // The last release destroys the object; release(nullptr) does nothing.
    void release(T *object) {
        if (object == nullptr)
            return;
        for (auto it = states_.begin(); it != states_.end(); ++it) {
            if (it->second.object.get() == object) {
                if (--it->second.users == 0)
                    states_.erase(it);
                return;
            }
        }
    }

private:
    struct Entry {
        std::unique_ptr<T> object;
        int users;
    };
    std::map<std::string, Entry> states_;
};
