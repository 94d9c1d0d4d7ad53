#!/usr/bin/env python3
"""One closing line for humans and CI, counted from Catch2's own summaries in meson's test log,
then, for each failed test case, its name and Catch2's FAILED lines (CI keeps only the head and
the tail of a long output, so the cause must be in the last lines, not only in the log file):
test-summary.py BUILD_DIR/meson-logs/testlog.json [LABEL]"""
import json
import re
import sys

RULE = re.compile(r"^-{20,}$")
END = re.compile(r"^={20,}$")
FAILED = re.compile(r": FAILED:$|: error: ")
MAX_LINES_PER_FAILURE = 12


def failures(out):
    """(test case header, failure lines) for each FAILED in Catch2's console output."""
    lines = out.splitlines()
    header = []
    found = []
    i = 0
    while i < len(lines):
        if RULE.match(lines[i]):
            # A case header is the lines between two rules: the case, then its sections.
            j = i + 1
            while j < len(lines) and not RULE.match(lines[j]):
                j += 1
            if j < len(lines):
                header = [l for l in lines[i + 1:j] if l.strip()]
                i = j + 1
                continue
        if FAILED.search(lines[i]):
            body = [lines[i]]
            j = i + 1
            # The expression, its expansion and messages run until a rule or two blank lines.
            while j < len(lines) and not RULE.match(lines[j]) and not END.match(lines[j]) \
                    and len(body) < MAX_LINES_PER_FAILURE:
                if not lines[j].strip() and j + 1 < len(lines) and not lines[j + 1].strip():
                    break
                body.append(lines[j])
                j += 1
            found.append((header, body))
            i = j
            continue
        i += 1
    return found


passed = failed = 0
details = []
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
    else:
        passed += 1  # not a Catch2 runner (a benchmark's quick run, the format check)
    if entry.get("result") != "OK":
        name = entry.get("name", "?")
        found = failures(out)
        if not found:
            details.append(f"  {name}: {entry.get('result')}, no Catch2 failure in its output")
        for header, body in found:
            details.append(f"  {name}: " + " / ".join(h.strip() for h in header))
            details.extend("    " + b.rstrip() for b in body if b.strip())
label = sys.argv[2] + ": " if len(sys.argv) > 2 else ""
print(f"{label}{passed} passed, {failed} failed")
for d in details:
    print(d)
