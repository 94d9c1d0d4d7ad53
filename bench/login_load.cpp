#include "login_load.hpp"

#include "imap_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

namespace bench {

double LoginLoad::percentile(double q) const {
    if (latency_ms.empty())
        return 0;
    std::vector<double> v = latency_ms;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    return v[i];
}

LoginLoad run_logins(int port, const std::vector<std::pair<std::string, std::string>> &users,
                     int concurrency) {
    LoginLoad load;
    std::mutex mutex;
    std::atomic<size_t> next{0};
    auto client = [&] {
        while (true) {
            const size_t i = next++;
            if (i >= users.size())
                return;
            const auto start = std::chrono::steady_clock::now();
            std::string failure;
            double ms = 0;
            try {
                testsupport::ImapClient c("127.0.0.1", port, 120000);
                auto reply = c.login(users[i].first, users[i].second);
                ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               start)
                         .count();
                if (reply.ok())
                    c.logout();
                else
                    failure = users[i].first + ": " + reply.status + " " + reply.text;
            } catch (const std::exception &e) {
                failure = users[i].first + ": " + e.what();
            }
            std::lock_guard lock(mutex);
            if (failure.empty()) {
                ++load.ok;
                load.latency_ms.push_back(ms);
            } else {
                ++load.errors;
                if (load.error_samples.size() < 5)
                    load.error_samples.push_back(failure);
            }
        }
    };
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t)
        threads.emplace_back(client);
    for (auto &t : threads)
        t.join();
    load.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return load;
}

} // namespace bench
