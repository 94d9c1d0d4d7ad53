#!/usr/bin/env python3
"""One closing line for humans and CI, counted from Catch2's own summaries in meson's test log:
test-summary.py BUILD_DIR/meson-logs/testlog.json [LABEL]"""
import json
import re
import sys

passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8"):
    entry = json.loads(line)
    out = entry.get("stdout", "")
    m = re.search(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", out)
    if m:
        passed += int(m.group(1))
        continue
    m = re.search(r"test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed", out)
    if m:
        passed += int(m.group(2))
        failed += int(m.group(3))
    elif entry.get("result") != "OK":
        failed += 1
label = sys.argv[2] + ": " if len(sys.argv) > 2 else ""
print(f"{label}{passed} passed, {failed} failed")
