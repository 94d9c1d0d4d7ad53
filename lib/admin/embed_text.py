#!/usr/bin/env python3
"""Embeds a text file into a C++ source as a function returning it:
embed_text.py OUTPUT FUNCTION_NAME INPUT  (the function is declared in namespace imapmig)."""
import sys

out, function, path = sys.argv[1:4]
delim = "IMAPMIG_TEXT"
text = open(path, encoding="utf-8").read()
if ")" + delim + '"' in text:
    sys.exit(f"{path}: contains the raw-string delimiter")
with open(out, "w", encoding="utf-8") as f:
    f.write("#include <string_view>\n\nnamespace imapmig {\n")
    f.write(f"// Generated from {path.split('/')[-1]} at build time.\n")
    f.write(f"std::string_view {function}()\n{{\n")
    f.write(f'    static constexpr std::string_view text = R"{delim}({text}){delim}";\n')
    f.write("    return text;\n}\n} // namespace imapmig\n")
