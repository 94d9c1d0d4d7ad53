// Outcome types shared by the library, the plugin and the migrator.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace imapmig {

// Callers decide retry/report/abort from the kind, never from the message text.
enum class ErrorKind {
    temporary, // network, database, timeout: retrying later may succeed
    permanent, // bad input or a refusal that retrying will not change
    config,    // the admin must fix a file
    bug,       // an invariant broke
};

struct Error {
    ErrorKind kind;
    std::string message;
};

inline Error temporary_error(std::string msg) {
    return {ErrorKind::temporary, std::move(msg)};
}
inline Error permanent_error(std::string msg) {
    return {ErrorKind::permanent, std::move(msg)};
}
inline Error config_error(std::string msg) {
    return {ErrorKind::config, std::move(msg)};
}
inline Error bug_error(std::string msg) {
    return {ErrorKind::bug, std::move(msg)};
}

template <class T> class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T &value() & { return std::get<0>(v_); }
    const T &value() const & { return std::get<0>(v_); }
    T &&value() && { return std::get<0>(std::move(v_)); }
    const Error &error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), failed_(true) {}

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error &error() const { return err_; }

private:
    Error err_{ErrorKind::bug, {}};
    bool failed_ = false;
};

} // namespace imapmig
