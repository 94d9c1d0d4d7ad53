// libcurl's multi interface driven by Dovecot's ioloop: many provider checks at once in the
// auth process, none of them waiting on a socket. Include only after Dovecot's headers.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

class CurlIoloop {
public:
    using DoneCallback = void (*)(void *context, int curl_code);

    // fail: what an exception out of libcurl's callbacks becomes (loop/guarded.hpp); it must
    // answer the transfers' owners.
    using Fail = std::function<void(const std::string &what)>;
    explicit CurlIoloop(Fail fail);
    ~CurlIoloop(); // abandons unfinished transfers without calling back
    CurlIoloop(const CurlIoloop &) = delete;
    CurlIoloop &operator=(const CurlIoloop &) = delete;

    // The easy handle stays the caller's; done runs from the ioloop once, after which the
    // handle has been detached again. False if libcurl refused it.
    bool add(CURL *easy, void *context, DoneCallback done);
    void abandon_all();
    size_t running() const { return transfers_.size(); }

private:
    struct Socket;
    static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp);
    static int on_timer(CURLM *multi, long timeout_ms, void *userp);
    static void on_readable(Socket *s);
    static void on_writable(Socket *s);
    static void on_timeout(CurlIoloop *self);
    void action(curl_socket_t fd, int flags);
    void collect_done();

    Fail fail_;
    struct MultiCleanup {
        void operator()(CURLM *m) const { curl_multi_cleanup(m); }
    };
    std::unique_ptr<CURLM, MultiCleanup> multi_;
    struct timeout *timeout_ = nullptr;
    std::map<curl_socket_t, std::unique_ptr<Socket>> sockets_;
    struct Transfer {
        void *context;
        DoneCallback done;
    };
    std::map<CURL *, Transfer> transfers_;
};
