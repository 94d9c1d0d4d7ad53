#include "base/child_process.hpp"

#include "catch_compat.hpp"

#include <filesystem>
#include <fstream>

using namespace imapmig;
namespace fs = std::filesystem;

TEST_CASE("stale run directories go, those of living runs stay", "[unit]") {
    char tmpl[] = "/tmp/imapmig-rundirs-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string runtime = tmpl;
    {
        RunDir live;
        REQUIRE(make_run_dir(runtime, "migration1", live));
        fs::create_directory(runtime + "/migration2-dsync-AbCdEf"); // a killed worker's
        std::ofstream(runtime + "/migration2-dsync-AbCdEf/doveadm.conf") << "secret";
        fs::create_directory(runtime + "/other"); // not ours
        auto removed = remove_stale_run_dirs(runtime);
        REQUIRE(removed);
        CHECK(removed.value() == 1);
        CHECK(fs::exists(live.path));
        CHECK_FALSE(fs::exists(runtime + "/migration2-dsync-AbCdEf"));
        CHECK(fs::exists(runtime + "/other"));
    }
    // Gone with its RunDir; a missing runtime dir is no error.
    CHECK(remove_stale_run_dirs(runtime).value() == 0);
    fs::remove_all(runtime);
    CHECK(remove_stale_run_dirs(runtime).value() == 0);
}
