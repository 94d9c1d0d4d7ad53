#!/bin/sh
# The whole test suite on a fresh Debian 12, as root: install, build, run unit + integration.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/build.sh
status=0
meson test -C build --print-errorlogs --num-processes 1 || status=$?
# One closing line for humans and CI, counted from Catch2's own summaries.
python3 - build/meson-logs/testlog.json <<'PY'
import json, re, sys
passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8"):
    out = json.loads(line).get("stdout", "")
    m = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", out)
    if m:
        passed += int(m.group(1)); continue
    m = re.search(r"test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed", out)
    if m:
        passed += int(m.group(2)); failed += int(m.group(3))
    elif json.loads(line).get("result") != "OK":
        failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
