#include "login_pool.hpp"

#include <csignal>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>
#include <utility>

namespace imapmig {

LoginPool::LoginPool(const Config &config, const KeyRing &keys, int threads) : config_(config) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::runtime_error("login pool: pipe failed");
    notify_read_ = fds[0];
    notify_write_ = fds[1];
    for (int i = 0; i < threads; ++i) {
        auto w = std::make_unique<Worker>();
        w->pool = this;
        w->index = i;
        w->migrator = std::make_unique<LoginMigrator>(config_, keys, nullptr);
        workers_.push_back(std::move(w));
    }
    // The threads take no signals (the host process handles them on its own thread) and
    // small stacks: Dovecot's vsz_limit counts every reserved byte.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (int i = 0; i < threads; ++i) {
        if (pthread_create(&workers_[i]->thread, &attr, thread_main, workers_[i].get()) != 0)
            break;
        workers_[i]->started = true;
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (workers_.empty() || !workers_[0]->started) {
        stop();
        throw std::runtime_error("login pool: cannot start threads");
    }
}

LoginPool::~LoginPool() {
    stop();
    close(notify_read_);
    close(notify_write_);
}

void *LoginPool::thread_main(void *arg) {
    auto *w = static_cast<Worker *>(arg);
    w->pool->run(w->index);
    return nullptr;
}

void LoginPool::submit(LoginJob *job) {
    {
        std::lock_guard lock(mutex_);
        if (job->check && job->thread >= 0 && job->thread < threads())
            workers_[job->thread]->queue.push_back(job);
        else
            shared_.push_back(job);
    }
    wake_.notify_all();
}

void LoginPool::run(int index) {
    Worker &w = *workers_[index];
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [&] {
            return stopping_ || !w.queue.empty() || !answered_.empty() || !shared_.empty();
        });
        if (stopping_)
            return;
        // Freeing provider slots first (quick, and only this session can), then logins the
        // provider has answered, oldest first on whichever thread is free, then new ones.
        if (!w.queue.empty()) {
            LoginJob *job = w.queue.front();
            w.queue.pop_front();
            lock.unlock();
            if (job->pending)
                job->pending->slot.reset();
            lock.lock();
            answered_.push_back(job);
            wake_.notify_one();
            continue;
        }
        std::deque<LoginJob *> &from = !answered_.empty() ? answered_ : shared_;
        LoginJob *job = from.front();
        from.pop_front();
        lock.unlock();
        if (job->check && job->pending) {
            job->decision = w.migrator->complete(std::move(*job->pending), *job->check,
                                                 job->password);
            job->pending.reset();
        } else {
            auto prepared = w.migrator->prepare({job->user, job->password, job->remote_ip});
            if (auto *d = std::get_if<LoginDecision>(&prepared)) {
                job->decision = std::move(*d);
            } else {
                job->pending.emplace(std::move(std::get<PendingCheck>(prepared)));
                job->thread = index;
            }
        }
        finished(job);
        lock.lock();
    }
}

void LoginPool::finished(LoginJob *job) {
    {
        std::lock_guard lock(mutex_);
        done_.push_back(job);
    }
    const char byte = 1;
    (void)!write(notify_write_, &byte, 1); // a full pipe already wakes the reader
}

std::vector<LoginJob *> LoginPool::take_finished() {
    char buf[256];
    while (read(notify_read_, buf, sizeof buf) > 0) {
    }
    std::lock_guard lock(mutex_);
    return std::exchange(done_, {});
}

void LoginPool::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto &w : workers_)
        if (w->started)
            pthread_join(w->thread, nullptr);
    std::lock_guard lock(mutex_);
    // Unfinished work: dropping a pending check releases its slot with the session below.
    for (auto &w : workers_) {
        for (LoginJob *job : w->queue) {
            job->pending.reset();
            done_.push_back(job);
        }
        w->queue.clear();
    }
    for (auto *queue : {&answered_, &shared_}) {
        for (LoginJob *job : *queue) {
            job->pending.reset();
            done_.push_back(job);
        }
        queue->clear();
    }
}

} // namespace imapmig
