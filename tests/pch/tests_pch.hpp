// Precompiled once per test program (meson's cpp_pch, which makes GCC include it first in
// every file of the target): Catch2 and the standard headers most test files use. Parsing them
// was most of a test file's compile time (the test code is not optimized, tests/meson.build).
// Only headers that depend on no macro a test file defines belong here.
#pragma once

#include "catch_compat.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
