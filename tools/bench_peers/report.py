#!/usr/bin/python3
"""`tools/bench report`, last step: puts the tables of one bench run into docs/performance.md and
its plots into docs/perf/. The prose of performance.md is kept; what lies between a pair of
markers `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` is replaced with the run's table NAME:
  peers            build/bench/peers/peers.md
  matcher-scaling  build/bench/scaling/matcher_scaling.md
  store-scaling    build/bench/scaling/store_scaling.md
  http             the summary of build/bench/http.txt
  machine          the machine line and date of the run
"""
import argparse
import glob
import json
import os
import re
import shutil


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def http_summary(text):
    if not text:
        return None
    lines = text.splitlines()
    try:
        start = lines.index("## summary")
    except ValueError:
        return None
    rows = ["| route | requests/s | p50 | p90 | p99 |", "|---|---|---|---|---|"]
    notes = []
    for line in lines[start + 2:]:
        m = re.match(r"^(.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", line)
        if m and not line.startswith("ratios") and not line.startswith("store"):
            rows.append("| " + " | ".join(g.strip() for g in m.groups()) + " |")
        elif line.strip():
            notes.append(line.strip())
    cmd = next((l for l in lines if l.startswith("wrk:")), "")
    return "\n".join(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes + ([cmd] if cmd else [])) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--figures", required=True)
    args = ap.parse_args()
    doc = read(args.doc)
    if doc is None:
        raise SystemExit(f"{args.doc} is missing: it holds the prose the tables go into")
    machine = None
    for path in (os.path.join(args.bench, "peers", "results.json"), os.path.join(args.bench, "scaling", "scaling.json")):
        text = read(path)
        if text:
            machine = json.loads(text).get("machine")
            break
    tables = {
        "peers": read(os.path.join(args.bench, "peers", "peers.md")),
        "matcher-scaling": read(os.path.join(args.bench, "scaling", "matcher_scaling.md")),
        "store-scaling": read(os.path.join(args.bench, "scaling", "store_scaling.md")),
        "http": http_summary(read(os.path.join(args.bench, "http.txt"))),
        "machine": f"Measured on {machine}.\n" if machine else None,
    }
    for name, table in tables.items():
        if table is None:
            continue
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        doc = pattern.sub(lambda m: m.group(1) + table.rstrip("\n") + "\n" + m.group(2), doc)
    with open(args.doc, "w") as f:
        f.write(doc)
    os.makedirs(args.figures, exist_ok=True)
    for svg in glob.glob(os.path.join(args.bench, "scaling", "*.svg")):
        shutil.copy(svg, args.figures)
    print(f"wrote {args.doc} and {args.figures}/")


if __name__ == "__main__":
    main()
