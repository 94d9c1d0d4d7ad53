// The test runner's main(): Catch2 v2 generates it from its header, v3 from its session API.
#define IMAPMIG_CATCH_MAIN
#include "catch_compat.hpp"

#ifdef IMAPMIG_CATCH_V3
int main(int argc, char *argv[]) {
    return Catch::Session().run(argc, argv);
}
#endif
