#include "loop/work_threads.hpp"

#include "loop/guarded.hpp"

#include <csignal>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

namespace imapmig {

WorkThreads::WorkThreads(EventLoop &loop, int threads) {
    notify_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!notify_fd_.valid())
        throw std::runtime_error("work threads: eventfd failed");
    watch_ = loop.watch(notify_fd_.get(), EventLoop::Ready::read, [this] { on_notified(); });
    // The threads take no signals (the host process handles them on its own thread) and
    // small stacks: Dovecot's vsz_limit counts every reserved byte.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    for (int i = 0; i < threads; ++i) {
        pthread_t t;
        if (pthread_create(&t, &attr, thread_main, this) != 0)
            break;
        threads_.push_back(t);
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (threads_.empty()) {
        watch_.reset();
        throw std::runtime_error("work threads: cannot start a thread");
    }
}

WorkThreads::~WorkThreads() {
    stop();
    watch_.reset(); // before the descriptor it watches closes
}

void *WorkThreads::thread_main(void *self) {
    static_cast<WorkThreads *>(self)->run();
    return nullptr;
}

void WorkThreads::submit(std::function<void()> work, std::function<void()> done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        queue_.push_back({std::move(work), std::move(done)});
    }
    wake_.notify_one();
}

void WorkThreads::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_)
            return;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        // An exception must not end the process from a thread: the job's done still runs
        // and finds its result missing.
        run_guarded(job.work, [](const std::string &) {});
        lock.lock();
        finished_.push_back(std::move(job));
        const uint64_t one = 1;
        (void)!write(notify_fd_.get(), &one, sizeof one);
    }
}

void WorkThreads::on_notified() {
    uint64_t count;
    (void)!read(notify_fd_.get(), &count, sizeof count);
    std::deque<Job> finished;
    {
        std::lock_guard lock(mutex_);
        finished.swap(finished_);
    }
    // Every completion runs, even after one threw; the first exception then goes to the
    // loop's own guard, whose owner answers what may have been stranded.
    std::optional<std::string> failed;
    for (Job &job : finished)
        run_guarded(job.done, [&failed](const std::string &what) {
            if (!failed)
                failed = what;
        });
    if (failed)
        throw std::runtime_error("work completion: " + *failed);
}

void WorkThreads::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    wake_.notify_all();
    for (pthread_t t : threads_)
        pthread_join(t, nullptr);
    std::lock_guard lock(mutex_);
    queue_.clear();
    finished_.clear();
}

} // namespace imapmig
