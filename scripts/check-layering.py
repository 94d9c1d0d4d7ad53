#!/usr/bin/env python3
"""The layering check: every #include "part/..." of the core library must name a part that the
including part may use (the graph in lib/meson.build). Run by every build; prints
`file:line: part X may not include Y (allowed: ...)` and fails.
Usage: check-layering.py SOURCE_ROOT STAMP_FILE"""
import os, re, sys

# part -> the parts it may include besides itself
ALLOWED = {
    "base": [],
    "loop": ["base"],
    "crypto": ["base"],
    "config": ["base", "crypto"],
    "db": ["base", "loop", "crypto", "config"],
    "login": ["base", "loop", "crypto", "config", "db"],
    "sync": ["base", "loop", "crypto", "config", "db"],
    # an engine uses the engine contract in sync/, never the other engine
    "sync/offlineimap": ["base", "loop", "crypto", "config", "db", "sync"],
    "sync/dsync": ["base", "loop", "crypto", "config", "db", "sync"],
    "import": ["base", "crypto", "config", "db"],
    "admin": ["base", "config", "db"],
    # the Dovecot module: the login path and what it uses, nothing of sync, import, admin
    "plugin": ["base", "loop", "crypto", "config", "db", "login"],
}
PARTS = sorted(ALLOWED, key=len, reverse=True)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def part_of(rel):
    for p in PARTS:
        if rel.startswith(p + "/"):
            return p
    return None


def main():
    root, stamp = sys.argv[1], sys.argv[2]
    errors = []
    for top in ("lib", "plugin"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, os.path.join(root, "lib")) if top == "lib" \
                    else "plugin/" + os.path.relpath(path, os.path.join(root, "plugin"))
                me = part_of(rel)
                if me is None:
                    errors.append(f"{path}: not inside a part of the layout")
                    continue
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or "/" not in m.group(1):
                            continue
                        target = part_of(m.group(1))
                        if target is None or target == me or target in ALLOWED[me]:
                            continue
                        errors.append(f"{path}:{n}: part {me} may not include {m.group(1)} "
                                      f"(allowed: {', '.join(ALLOWED[me]) or 'nothing'})")
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        sys.exit(1)
    open(stamp, "w").close()


main()
