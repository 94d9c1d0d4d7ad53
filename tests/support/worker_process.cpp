#include "worker_process.hpp"

#include "process.hpp"

#include <signal.h>

#include <chrono>
#include <thread>

namespace testsupport {

std::string wait_for_state(MigrationEnv &env, const std::string &id,
                           const std::vector<std::string> &states, int seconds) {
    std::string state;
    for (int i = 0; i < seconds * 4; ++i) {
        state = env.sql("SELECT state FROM migrations WHERE id = " + id);
        for (const auto &s : states)
            if (state == s)
                return state;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return state;
}

WorkerProcess::WorkerProcess(MigrationEnv &env, const std::string &name, bool once,
                             const std::vector<std::string> &prefix)
    : log(env.dir.file(name + ".log")) {
    std::vector<std::string> argv = prefix;
    for (const auto &a :
         {migrator_path(), std::string("-c"), env.config_path, std::string("worker")})
        argv.push_back(a);
    if (once)
        argv.push_back("--once");
    SpawnOptions o;
    o.output_path = log;
    pid = spawn(argv, o);
}

WorkerProcess::~WorkerProcess() {
    if (pid > 0)
        stop_child(pid, SIGTERM, 15000);
}

int WorkerProcess::stop(int sig) {
    int status = 0;
    ::kill(pid, sig);
    for (int i = 0; i < 300 && !child_exited(pid, &status); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    pid = 0;
    return status;
}

std::string WorkerProcess::output() const {
    return read_file_or_empty(log);
}

} // namespace testsupport
