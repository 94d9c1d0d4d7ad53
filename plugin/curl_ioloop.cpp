#include "dovecot_headers.hpp" // first: Dovecot's headers need config.h before anything

#include "curl_ioloop.hpp"

#include "loop/guarded.hpp"

struct CurlIoloop::Socket {
    CurlIoloop *loop;
    curl_socket_t fd;
    struct io *in = nullptr;
    struct io *out = nullptr;

    void watch(int what) {
        const bool want_in = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
        const bool want_out = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
        if (want_in && in == nullptr)
            in = io_add(fd, IO_READ, on_readable, this);
        if (!want_in && in != nullptr)
            io_remove(&in);
        if (want_out && out == nullptr)
            out = io_add(fd, IO_WRITE, on_writable, this);
        if (!want_out && out != nullptr)
            io_remove(&out);
    }
    ~Socket() {
        if (in != nullptr)
            io_remove(&in);
        if (out != nullptr)
            io_remove(&out);
    }
};

CurlIoloop::CurlIoloop(Fail fail) : fail_(std::move(fail)), multi_(curl_multi_init()) {
    if (!multi_)
        return;
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_.get(), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi_.get(), CURLMOPT_TIMERDATA, this);
}

CurlIoloop::~CurlIoloop() {
    abandon_all();
    if (timeout_ != nullptr)
        timeout_remove(&timeout_);
    multi_.reset(); // may still call on_socket: before the sockets go
    sockets_.clear();
}

bool CurlIoloop::add(CURL *easy, void *context, DoneCallback done) {
    if (!multi_ || curl_multi_add_handle(multi_.get(), easy) != CURLM_OK)
        return false;
    transfers_[easy] = {context, done};
    return true;
}

void CurlIoloop::abandon_all() {
    for (auto &[easy, t] : transfers_)
        curl_multi_remove_handle(multi_.get(), easy);
    transfers_.clear();
}

int CurlIoloop::on_socket(CURL *, curl_socket_t fd, int what, void *userp, void *) {
    auto *self = static_cast<CurlIoloop *>(userp);
    int result = 0;
    // -1 makes libcurl fail the transfer: its owner hears of it as a failed check.
    imapmig::run_guarded(
        [&] {
            if (what == CURL_POLL_REMOVE) {
                self->sockets_.erase(fd);
                return;
            }
            auto &s = self->sockets_[fd];
            if (!s)
                s = std::make_unique<Socket>(Socket{self, fd});
            s->watch(what);
        },
        [&](const std::string &) { result = -1; });
    return result;
}

int CurlIoloop::on_timer(CURLM *, long timeout_ms, void *userp) {
    auto *self = static_cast<CurlIoloop *>(userp);
    if (self->timeout_ != nullptr)
        timeout_remove(&self->timeout_);
    if (timeout_ms >= 0)
        self->timeout_ = timeout_add_short(static_cast<unsigned int>(timeout_ms), on_timeout, self);
    return 0;
}

void CurlIoloop::on_readable(Socket *s) {
    s->loop->action(s->fd, CURL_CSELECT_IN);
}

void CurlIoloop::on_writable(Socket *s) {
    s->loop->action(s->fd, CURL_CSELECT_OUT);
}

void CurlIoloop::on_timeout(CurlIoloop *self) {
    timeout_remove(&self->timeout_);
    self->action(CURL_SOCKET_TIMEOUT, 0);
}

// Every entry from Dovecot's ioloop (sockets, timer) comes through here.
void CurlIoloop::action(curl_socket_t fd, int flags) {
    imapmig::run_guarded(
        [&] {
            int running = 0;
            curl_multi_socket_action(multi_.get(), fd, flags, &running);
            collect_done();
        },
        fail_);
}

void CurlIoloop::collect_done() {
    int left = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_.get(), &left)) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        const int code = msg->data.result;
        auto it = transfers_.find(easy);
        // A CONNECT_ONLY connection stays with its easy handle, which closes the socket later:
        // stop watching it now, while the descriptor is still open.
        curl_socket_t fd = CURL_SOCKET_BAD;
        if (curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
            fd != CURL_SOCKET_BAD)
            sockets_.erase(fd);
        curl_multi_remove_handle(multi_.get(), easy);
        if (it == transfers_.end())
            continue;
        const Transfer t = it->second;
        transfers_.erase(it);
        t.done(t.context, code); // may add transfers: nothing here refers to the map anymore
    }
}
