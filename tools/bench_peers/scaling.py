#!/usr/bin/python3
"""`tools/bench scaling`: the matcher from 100 to 100,000 KB entries, and the conversation store
from 1,000 conversations up; tables (markdown) and plots (gnuplot SVG) in --out.

Matcher: synthetic KBs made by tools/matcher_bench.cc (CLINC150 phrasings x made-up product names;
deterministic), each size built in its own process under /usr/bin/time -v. Every size is run with
the scorer Matcher::Build picks ("auto"), and the other scorer is also forced where it is feasible
(the linear model up to --linear-max entries), so that both are measured around the switch point.
Store: tools/store_bench.cc grows one LevelDB directory through the engine.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers import machine_line  # noqa: E402


def timed(cmd):
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    return p.stdout, rss


def matcher_runs(args):
    rows = []
    for n in args.sizes:
        scorers = ["auto", "linear", "centroid"]
        chosen = None  # the scorer "auto" picked: not run again forced
        for scorer in scorers:
            if scorer == chosen or (scorer == "linear" and n > args.linear_max):
                continue
            reps = []
            for _ in range(args.repeats):
                cmd = [args.matcher_bench, "--synthetic", str(n), "--clinc", args.data, "--scorer", scorer]
                print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
                out, rss = timed(cmd)
                d = json.loads(out.strip().splitlines()[-1])
                d["peak_rss_process"] = rss
                reps.append(d)
            med = lambda k: statistics.median(r[k] for r in reps)
            row = dict(reps[0])
            for k in ("build_seconds", "build_cpu_seconds", "us_per_query_p50", "us_per_query_p99",
                      "cpu_us_per_query_mean", "peak_rss_process"):
                row[k] = med(k)
            row["requested"] = scorer
            rows.append(row)
            if scorer == "auto":
                chosen = row["scorer"]
            if scorer == "auto":
                print(f"  {n} entries -> {row['scorer']}: build {row['build_seconds']:.2f} s, p50 "
                      f"{row['us_per_query_p50']:.1f} us, top-1 {row['in_scope_accuracy']:.3f}", file=sys.stderr)
    return rows


def store_runs(args):
    scratch = os.path.join(args.out, "store-data")
    cmd = [args.store_bench, "--kb", args.kb, "--questions", args.questions, "--data", scratch,
           "--counts", ",".join(str(c) for c in args.conversations), "--json"]
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    shutil.rmtree(scratch, ignore_errors=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1]), " ".join(cmd)


def gnuplot(script, out):
    p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"gnuplot failed for {out}: {p.stderr}", file=sys.stderr)


def plot_matcher(rows, out, machine, command):
    series = {}
    for r in rows:
        series.setdefault(r["scorer"], []).append(r)
    data = os.path.join(out, "matcher_scaling.dat")
    with open(data, "w") as f:
        for name, rs in series.items():
            f.write(f"# {name}\n")
            for r in sorted(rs, key=lambda r: r["entries"]):
                f.write(f"{r['entries']} {r['build_seconds']} {r['us_per_query_p50']} {r['us_per_query_p99']} "
                        f"{r['peak_rss_process'] / 1e6} {r['in_scope_accuracy'] * 100}\n")
            f.write("\n\n")
    names = list(series)
    for what, col, ylabel, log in (("build", 2, "build time (s)", True), ("latency", 3, "p50 per question (µs)", True),
                                   ("memory", 5, "peak memory (MB)", True), ("accuracy", 6, "top-1 (%)", False)):
        svg = os.path.join(out, f"matcher_{what}.svg")
        plots = ", ".join(f"'{data}' index {i} using 1:{col} with linespoints title '{n}'" for i, n in enumerate(names))
        if what == "latency":
            plots += ", " + ", ".join(f"'{data}' index {i} using 1:4 with linespoints dashtype 2 title '{n} p99'"
                                      for i, n in enumerate(names))
        gnuplot(f"""set terminal svg size 640,400 font 'sans,11'
set output '{svg}'
set title "Matcher {what} by KB size (synthetic KBs)\\n{{/*0.8 {machine}; {command}}}"
set xlabel 'KB entries'
set ylabel '{ylabel}'
set logscale x
{'set logscale y' if log else ''}
set key top left
set grid
plot {plots}
""", svg)


def plot_store(rows, out, machine, command):
    data = os.path.join(out, "store_scaling.dat")
    with open(data, "w") as f:
        for r in rows:
            f.write(f"{r['conversations']} {r['append_per_second']} {r['restart_seconds']} {r['disk_bytes'] / 1e6} "
                    f"{r['rss_after_restart_bytes'] / 1e6}\n")
    svg = os.path.join(out, "store_scaling.svg")
    gnuplot(f"""set terminal svg size 640,400 font 'sans,11'
set output '{svg}'
set title "Conversation store by size\\n{{/*0.8 {machine}; {command}}}"
set xlabel 'conversations in the store'
set logscale x
set logscale y
set grid
set key top left
plot '{data}' using 1:3 with linespoints title 'restart (Engine::Open), s', \\
     '{data}' using 1:4 with linespoints title 'disk, MB', \\
     '{data}' using 1:5 with linespoints title 'RSS after restart, MB', \\
     '{data}' using 1:($2/1000) with linespoints title 'append, 1000 durable msgs/s'
""", svg)


def fmt_bytes(b):
    return f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.0f} MB" if b >= 1e7 else f"{b / 1e6:.1f} MB"


def matcher_table(rows, machine, command):
    lines = ["| entries | scorer | examples | build | p50 / p99 per question | peak memory | model | top-1 (synthetic) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r["scorer"] + (" (auto)" if r["requested"] == "auto" else " (forced)")
        lines.append(f"| {r['entries']:,} | {name} | {r['train_questions']:,} | {r['build_seconds']:.2f} s "
                     f"| {r['us_per_query_p50']:.1f} / {r['us_per_query_p99']:.1f} µs | {fmt_bytes(r['peak_rss_process'])} "
                     f"| {fmt_bytes(r['model_bytes'])} | {100 * r['in_scope_accuracy']:.1f}% |")
    lines += ["", f"Machine: {machine}. Command: `{command}`."]
    return "\n".join(lines) + "\n"


def store_table(rows, machine, command):
    lines = ["| conversations | customer messages | append (durable, 16 threads) | restart (Engine::Open) "
             "| RSS after restart | disk |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['conversations']:,} | {r['customer_messages']:,} | {r['append_per_second']:,.0f} msgs/s "
                     f"| {r['restart_seconds']:.2f} s | {fmt_bytes(r['rss_after_restart_bytes'])} "
                     f"| {fmt_bytes(r['disk_bytes'])} |")
    lines += ["", f"Machine: {machine}. Command: `{command}`."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="CLINC150 folder")
    ap.add_argument("--out", required=True)
    ap.add_argument("--matcher-bench", required=True)
    ap.add_argument("--store-bench", required=True)
    ap.add_argument("--kb", required=True)
    ap.add_argument("--questions", required=True)
    ap.add_argument("--sizes", default="100,300,1000,3000,10000,30000,100000")
    ap.add_argument("--linear-max", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--conversations", default="1000,10000,100000,1000000")
    ap.add_argument("--skip-matcher", action="store_true")
    ap.add_argument("--skip-store", action="store_true")
    ap.add_argument("--command", default="tools/bench scaling", help="the command to state with the figures")
    args = ap.parse_args()
    args.sizes = [int(x) for x in args.sizes.split(",")]
    args.conversations = [int(x) for x in args.conversations.split(",")]
    os.makedirs(args.out, exist_ok=True)
    machine = machine_line()
    result = {"machine": machine, "command": args.command}
    if not args.skip_matcher:
        rows = matcher_runs(args)
        result["matcher"] = rows
        with open(os.path.join(args.out, "matcher_scaling.md"), "w") as f:
            f.write(matcher_table(rows, machine, args.command))
        plot_matcher(rows, args.out, machine, args.command)
        print(matcher_table(rows, machine, args.command))
    if not args.skip_store:
        rows, command = store_runs(args)
        result["store"] = rows
        with open(os.path.join(args.out, "store_scaling.md"), "w") as f:
            f.write(store_table(rows, machine, args.command))
        plot_store(rows, args.out, machine, args.command)
        print(store_table(rows, machine, args.command))
    with open(os.path.join(args.out, "scaling.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
