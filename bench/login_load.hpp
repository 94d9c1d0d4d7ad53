// The client side of the login benches: N users log in over plain IMAP, C at a time, each on a
// fresh connection (greeting, LOGIN, LOGOUT), as a storm of mail clients does.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace bench {

struct LoginLoad {
    long ok = 0, errors = 0;
    double wall_s = 0;
    std::vector<double> latency_ms;         // connect to tagged LOGIN reply, successful logins only
    std::vector<std::string> error_samples; // the first few, for the report

    double rate() const { return wall_s > 0 ? ok / wall_s : 0; }
    double percentile(double q) const; // q in [0, 1]
};

LoginLoad run_logins(int port, const std::vector<std::pair<std::string, std::string>> &users,
                     int concurrency);

} // namespace bench
