#!/bin/sh
# run_fuzz.sh FUZZER SEED_CORPUS WORK_CORPUS [SECONDS]: a bounded libFuzzer run for `meson test`.
# New inputs go to WORK_CORPUS (in the build tree); the seed corpus in the source tree is read only.
# The suite fuzzes from a fixed seed so a run is repeatable; IMAPMIG_FUZZ_SEED=0 lets libFuzzer
# pick one (exploring: put what it finds in the seed corpus with the fix).
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=${4:-20}
mkdir -p "$work"
exec "$fuzzer" -seed="${IMAPMIG_FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/crash-" "$work" "$seeds"
