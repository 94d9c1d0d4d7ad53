// A password or key held in memory: never printable, wiped when destroyed.
#pragma once

#include <sodium.h>

#include <string>
#include <string_view>

namespace imapmig {

class SecretString {
public:
    SecretString() = default;
    explicit SecretString(std::string_view value) : value_(value) {}
    SecretString(const SecretString &other) : value_(other.value_) {}
    SecretString(SecretString &&other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
    SecretString &operator=(SecretString other) noexcept {
        wipe();
        value_.swap(other.value_);
        return *this;
    }
    ~SecretString() { wipe(); }

    // Deliberately named so every place that exposes the value is easy to audit.
    std::string_view reveal() const { return value_; }
    bool empty() const { return value_.empty(); }
    size_t size() const { return value_.size(); }

private:
    void wipe() noexcept {
        if (!value_.empty())
            sodium_memzero(value_.data(), value_.size());
        value_.clear();
    }
    std::string value_;
};

} // namespace imapmig
