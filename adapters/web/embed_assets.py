#!/usr/bin/env python3
"""Embeds the web channel's static files in kefu's binary (run by meson at build time).

Usage: embed_assets.py OUTPUT.cc FILE... [--bundle NAME PART...]

Writes one C++ source that defines kefu::EmbeddedWebAssets() (adapters/web_assets.h): every FILE
by its base name, its bytes, and an ETag (a hash of the bytes). Nothing is downloaded; the output
depends only on the files' contents, so a rebuild changes it only when a file changes.

--bundle NAME PART... adds one more asset, NAME, made of the PARTs joined in the order given inside
one closure: "(() => {", "'use strict';", each PART (after a "// ---- part ----" line naming it),
"})();". That is how the chat widget's source, split by concept into adapters/web/widget/*.js,
is served as the single script /widget.js (a page loads one file; nothing is evaluated at run time,
so a strict CSP without 'unsafe-eval' still runs it). The parts share the closure's scope, so they
are written as the body of one function (a part may `return` to stop the widget).
"""
import hashlib
import os
import sys


def c_literal(data: bytes) -> str:
    """A C++ string literal for any bytes: printable ASCII as is, the rest as 3-digit octal escapes
    (never ambiguous with a following digit), split into lines of about 100 characters."""
    lines, line = [], []
    width = 0
    for b in data:
        if b == 0x5C:
            piece = "\\\\"
        elif b == 0x22:
            piece = '\\"'
        elif b == 0x3F:
            piece = "\\?"  # no trigraphs
        elif 0x20 <= b < 0x7F:
            piece = chr(b)
        else:
            piece = "\\%03o" % b
        line.append(piece)
        width += len(piece)
        if b == 0x0A or width >= 100:
            lines.append('"' + "".join(line) + '"')
            line, width = [], 0
    if line or not lines:
        lines.append('"' + "".join(line) + '"')
    return "\n    ".join(lines)


def bundle(parts) -> bytes:
    """The PARTs' bytes joined in one strict-mode closure (see --bundle above)."""
    out = [b"(() => {\n'use strict';\n"]
    for path in parts:
        with open(path, "rb") as f:
            data = f.read()
        if not data.endswith(b"\n"):
            data += b"\n"
        out.append(b"\n// ---- " + os.path.basename(path).encode() + b" ----\n" + data)
    out.append(b"})();\n")
    return b"".join(out)


def main(argv):
    args = argv[2:]
    bundles = {}
    if "--bundle" in args:
        at = args.index("--bundle")
        args, spec = args[:at], args[at + 1:]
        if len(spec) < 2:
            sys.stderr.write(__doc__)
            return 2
        bundles[spec[0]] = bundle(spec[1:])
    if len(argv) < 3 or not args:
        sys.stderr.write(__doc__)
        return 2
    out_path, inputs = argv[1], args
    names = [os.path.basename(p) for p in inputs] + list(bundles)
    if len(set(names)) != len(names):
        sys.stderr.write("embed_assets.py: two files share a base name\n")
        return 2
    contents = {}
    for path in inputs:
        with open(path, "rb") as f:
            contents[os.path.basename(path)] = f.read()
    contents.update(bundles)
    out = [
        "// Generated at build time by adapters/web/embed_assets.py from adapters/web/: do not edit.",
        '#include "adapters/web_assets.h"',
        "",
        "namespace kefu {",
        "namespace {",
        "",
    ]
    table = []
    for i, name in enumerate(sorted(contents)):
        data = contents[name]
        etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        out.append("constexpr char kAsset%d[] =\n    %s;" % (i, c_literal(data)))
        out.append("")
        table.append('    {"%s", std::string_view(kAsset%d, %d), %s},' % (name, i, len(data), c_literal(etag.encode())))
    out += [
        "}  // namespace",
        "",
        "const std::vector<WebAsset>& EmbeddedWebAssets() {",
        "  static const std::vector<WebAsset> assets = {",
        *table,
        "  };",
        "  return assets;",
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
