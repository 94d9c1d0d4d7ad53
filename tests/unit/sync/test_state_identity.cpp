// Sync state bound to one migration: what the engines find in sync.state_dir/migrationID.
#include "sync/state_identity.hpp"

#include "catch_compat.hpp"

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace imapmig;
namespace fs = std::filesystem;

namespace {

const std::string mine = "0b5c2d7e-6f3a-4c1e-9a8b-1d2e3f4a5b6c";
const std::string theirs = "9f8e7d6c-5b4a-4321-8765-0fedcba98765";

std::string slurp(const std::string &path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Scratch {
    Scratch() {
        char tmpl[] = "/tmp/imapmig-state-XXXXXX";
        root = ::mkdtemp(tmpl);
        dir = root + "/migration7";
    }
    ~Scratch() { fs::remove_all(root); }
    std::string root, dir;
};

} // namespace

TEST_CASE("sync state: a fresh state names its migration; the same migration finds it again",
          "[unit]") {
    Scratch s;
    CHECK(bind_sync_state(s.dir, mine, false).value() == StateBinding::fresh);
    CHECK(slurp(s.dir + "/migration-identity") == mine + "\n");
    struct stat st {};
    REQUIRE(::stat(s.dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    std::ofstream(s.dir + "/metadata") << "offlineimap's state";
    CHECK(bind_sync_state(s.dir, mine, false).value() == StateBinding::same);
    CHECK(slurp(s.dir + "/metadata") == "offlineimap's state");
}

TEST_CASE("sync state: another migration's state (a reused ID) is moved aside, never used",
          "[unit]") {
    Scratch s;
    REQUIRE(bind_sync_state(s.dir, theirs, false));
    std::ofstream(s.dir + "/metadata") << "another account's UIDs";
    std::string moved;
    CHECK(bind_sync_state(s.dir, mine, true, &moved).value() == StateBinding::replaced);
    CHECK(moved.rfind(s.dir + ".other-" + theirs + "-", 0) == 0);
    CHECK(slurp(moved + "/metadata") == "another account's UIDs"); // kept for the admin
    CHECK_FALSE(fs::exists(s.dir + "/metadata"));                  // afresh
    CHECK(slurp(s.dir + "/migration-identity") == mine + "\n");
    CHECK(bind_sync_state(s.dir, mine, false).value() == StateBinding::same);
}

TEST_CASE("sync state written before identities: adopted only by a migration that existed then",
          "[unit]") {
    Scratch s;
    fs::create_directories(s.dir);
    std::ofstream(s.dir + "/dsync-state") << "AQAAAHm4+Jk=";
    // Created after the upgrade (fresh install, restore): not its state.
    std::string moved;
    CHECK(bind_sync_state(s.dir, mine, false, &moved).value() == StateBinding::replaced);
    CHECK(moved.find(".other-unknown-") != std::string::npos);
    CHECK(slurp(moved + "/dsync-state") == "AQAAAHm4+Jk=");

    Scratch upgraded;
    fs::create_directories(upgraded.dir);
    std::ofstream(upgraded.dir + "/dsync-state") << "AQAAAHm4+Jk=";
    CHECK(bind_sync_state(upgraded.dir, mine, true).value() == StateBinding::adopted);
    CHECK(slurp(upgraded.dir + "/dsync-state") == "AQAAAHm4+Jk=");
    CHECK(bind_sync_state(upgraded.dir, mine, false).value() == StateBinding::same);

    // An empty directory is nobody's state.
    Scratch empty;
    fs::create_directories(empty.dir);
    CHECK(bind_sync_state(empty.dir, mine, false).value() == StateBinding::fresh);
    CHECK_FALSE(bind_sync_state(empty.dir, "", false));
}
