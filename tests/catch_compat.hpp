// Catch2 v2 (Debian 12: one header, catch2/catch.hpp) and v3 (Debian 13: catch2/catch_all.hpp,
// a compiled library) both, from one include. The tests spell the string matchers the v2 way
// (Catch::Contains, Catch::StartsWith, Catch::Matches); v3 renamed Contains to
// ContainsSubstring and keeps them in Catch::Matchers, where its Contains is the range matcher.
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#define IMAPMIG_CATCH_V3 1
#include <catch2/catch_all.hpp>

#include <string>

namespace Catch {
inline Matchers::StringContainsMatcher Contains(const std::string &text,
                                                CaseSensitive sensitivity = CaseSensitive::Yes) {
    return Matchers::ContainsSubstring(text, sensitivity);
}
using Matchers::EndsWith;
using Matchers::Matches;
using Matchers::StartsWith;
} // namespace Catch

#else
// v2 builds its main() in the one file that defines IMAPMIG_CATCH_MAIN (tests/*/main.cpp).
#ifdef IMAPMIG_CATCH_MAIN
#define CATCH_CONFIG_MAIN
#endif
#include <catch2/catch.hpp>
#endif
