#!/usr/bin/env python3
"""Embeds the numbered schema files into a C++ source: embed_sql.py OUTPUT FILE..."""
import os
import sys

out, inputs = sys.argv[1], sys.argv[2:]
delim = "IMAPMIG_SQL"
with open(out, "w", encoding="utf-8") as f:
    f.write('#include "schema.hpp"\n\nnamespace imapmig {\n')
    f.write("const std::vector<EmbeddedSchemaFile> &embedded_schema_files()\n{\n")
    f.write("    static const std::vector<EmbeddedSchemaFile> files = {\n")
    for path in sorted(inputs, key=os.path.basename):
        text = open(path, encoding="utf-8").read()
        if ")" + delim + '"' in text:
            sys.exit(f"{path}: contains the raw-string delimiter")
        f.write(f'        {{"{os.path.basename(path)}", R"{delim}({text}){delim}"}},\n')
    f.write("    };\n    return files;\n}\n} // namespace imapmig\n")
