#!/usr/bin/env python3
"""Builds the demo desks into kefu's binary (run by meson at build time).

Usage: embed_demo.py OUTPUT.cc ROOT FILE...

Writes one C++ source that defines kefu::DemoDeskFiles() (tools/demo_desks.h): every FILE by its
path relative to ROOT (kefu.demo.json, kb/samples/hr-en.json, ...) and its bytes. The byte
escaping is the web assets' (adapters/web/embed_assets.py), so both embed any bytes alike.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "adapters", "web"))
from embed_assets import c_literal  # noqa: E402


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out_path, root, inputs = argv[1], argv[2], argv[3:]
    out = [
        "// Generated at build time by tools/embed_demo.py: do not edit.",
        '#include "tools/demo_desks.h"',
        "",
        "namespace kefu {",
        "namespace {",
        "",
    ]
    table = []
    for i, path in enumerate(sorted(inputs)):
        name = os.path.relpath(path, root).replace(os.sep, "/")
        with open(path, "rb") as f:
            data = f.read()
        out.append("constexpr char kFile%d[] =\n    %s;" % (i, c_literal(data)))
        out.append("")
        table.append('    {"%s", std::string_view(kFile%d, %d)},' % (name, i, len(data)))
    out += [
        "}  // namespace",
        "",
        "const std::vector<DemoFile>& DemoDeskFiles() {",
        "  static const std::vector<DemoFile> files = {",
        *table,
        "  };",
        "  return files;",
        "}",
        "",
        "}  // namespace kefu",
        "",
    ]
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("\n".join(out))
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
