#!/usr/bin/python3
"""`tools/bench peers`: kefu and its peers on CLINC150, side by side, in one run on this machine.

Every system trains on train.jsonl and is measured on val.jsonl + oos_val.jsonl (CLINC150's test
split is not shipped: figures are on the validation split, and the threshold is calibrated on that
same split, so "at threshold" figures are in-sample for the threshold, for every system alike).
Each system runs in its own process and runtime, under /usr/bin/time -v (peak memory), `rounds`
times, interleaved (kefu, NLP.js, fastText, scikit-learn, then again), and the medians are
reported. Latency is per single question, one at a time, after a warm-up round, single-threaded.

Calibration is the same for all: the score of each system's top class (kefu: its confidence;
NLP.js: the score of its top intent other than its own "None" class; fastText: its probability;
LinearSVC: its margin) and kefu's
objective (kb/calibration.h): the highest in-scope accuracy at threshold among thresholds that
escalate at least 85% of out-of-scope questions with one standard error to spare. NLP.js is also
reported with its own threshold (its default, 0.5: below it, NLP.js answers "None"), and kefu
with the threshold it calibrates from its training questions alone (no out-of-scope data).

Writes results.json and peers.md (the table) to --out, prints the table.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# ---- kefu's calibration (a line-by-line port of kb/calibration.cc) ----------------------------

def compute_accuracy(samples, threshold):
    n_in = n_oos = top1 = right = oos_esc = 0
    for conf, gold_in, correct in samples:
        escalate = conf < threshold
        if gold_in:
            n_in += 1
            top1 += correct
            right += (not escalate) and correct
        else:
            n_oos += 1
            oos_esc += escalate
    return {"top1": top1 / n_in if n_in else 0, "at_threshold": right / n_in if n_in else 0,
            "oos_recall": oos_esc / n_oos if n_oos else 0}


def choose_threshold(samples, target=0.85):
    """The threshold, and whether it meets the out-of-scope recall target (when no threshold does,
    kefu's rule falls back to the one of highest recall, which may escalate everything)."""
    s = sorted(samples, key=lambda x: x[0])
    n_in = sum(1 for x in s if x[1])
    n_oos = len(s) - n_in
    right_total = sum(1 for x in s if x[1] and x[2])
    if not s:
        return 0.0, False
    if n_oos == 0 or n_in == 0:
        return s[0][0], False
    right_esc = oos_esc = 0
    best_value, best_recall = -1.0, -1.0
    best = best_by_recall = s[0][0]
    i = 0
    while i <= len(s):
        if 0 < i < len(s) and s[i][0] == s[i - 1][0]:
            i += 1
            continue
        t = s[i][0] if i < len(s) else math.nextafter(s[-1][0], math.inf)
        accuracy = (right_total - right_esc) / n_in
        recall = oos_esc / n_oos
        value = accuracy if recall - math.sqrt(recall * (1 - recall) / n_oos) >= target else -1
        if value > best_value:
            best_value, best = value, t
        if recall > best_recall:
            best_recall, best_by_recall = recall, t
        j = i
        while j < len(s) and s[j][0] == t:
            if s[j][1]:
                right_esc += s[j][2]
            else:
                oos_esc += 1
            j += 1
        i += 1
    return (best, True) if best_value >= 0 else (best_by_recall, False)


def read_scores(path):
    """(confidence, in scope, right) per question, and the raw rows."""
    samples, rows = [], []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            gold, predicted, conf = parts[0], parts[1], float(parts[2])
            samples.append((conf, gold != "oos", gold != "oos" and predicted == gold))
            rows.append(parts)
    return samples, rows


def percentiles(path):
    with open(path) as f:
        v = sorted(float(x) for x in f if x.strip())
    at = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    return at(0.5), at(0.99)


# ---- running the systems ---------------------------------------------------------------------

def timed(cmd, env=None):
    """Runs `cmd` under /usr/bin/time -v; returns (stdout, peak RSS bytes)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    return p.stdout, rss


def prepare(data, out):
    val_all = os.path.join(out, "val_all.jsonl")
    questions = os.path.join(out, "questions.tsv")
    ft_train = os.path.join(out, "fasttext_train.txt")
    with open(val_all, "w") as va, open(questions, "w") as q:
        for name in ("val.jsonl", "oos_val.jsonl"):
            with open(os.path.join(data, name)) as f:
                for line in f:
                    if line.strip():
                        va.write(line if line.endswith("\n") else line + "\n")
                        row = json.loads(line)
                        q.write(f"{row['intent']}\t{' '.join(row['text'].split())}\n")
    with open(os.path.join(data, "train.jsonl")) as f, open(ft_train, "w") as t:
        for line in f:
            if line.strip():
                row = json.loads(line)
                if row["intent"] == "oos":
                    continue
                text = re.sub(r"([.!?,'/()\"])", r" \1 ", row["text"]).lower()
                t.write(f"__label__{row['intent']} {' '.join(text.split())}\n")
    return val_all, questions, ft_train


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--matcher-bench", required=True)
    ap.add_argument("--fasttext-peer", default="", help="built fasttext_peer binary ('' = missing)")
    ap.add_argument("--node-path", default="", help="node_modules holding node-nlp ('' = missing)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--command", default="tools/bench peers", help="the command to state under the table")
    ap.add_argument("--fasttext-flags", default="-wordNgrams 2 -minn 2 -maxn 5 -epoch 25 -lr 0.5 -thread 1 -verbose 0")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    train = os.path.join(args.data, "train.jsonl")
    val_all, questions, ft_train = prepare(args.data, args.out)

    systems = {}  # name -> command builder(round) -> (cmd, env, scores, latencies)

    def files(name, r):
        base = os.path.join(args.out, f"{re.sub('[^a-z0-9]+', '_', name.lower())}_{r}")
        return base + ".scores.tsv", base + ".latencies.txt"

    systems["kefu"] = lambda s, l: ([args.matcher_bench, "--train", train, "--val", val_all, "--test", val_all,
                                     "--scores-out", s, "--latencies-out", l], None)
    missing = {}
    if args.node_path:
        node_env = dict(os.environ, NODE_PATH=args.node_path)
        systems["NLP.js"] = lambda s, l: (["node", os.path.join(HERE, "nlpjs_peer.js"), train, questions, s, l],
                                          node_env)
    else:
        missing["NLP.js"] = "node-nlp could not be installed (npm)"
    if args.fasttext_peer:
        systems["fastText"] = lambda s, l: ([args.fasttext_peer, ft_train, questions, s, l] + args.fasttext_flags.split(),
                                            None)
    else:
        missing["fastText"] = "libfasttext-dev could not be installed or built (apt)"
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import sklearn"], check=True, capture_output=True)
        for config in ("word", "word+char"):
            systems[f"scikit-learn ({config})"] = (lambda c: lambda s, l: (
                ["/usr/bin/python3", os.path.join(HERE, "sklearn_peer.py"), c, train, questions, s, l], None))(config)
    except (subprocess.CalledProcessError, FileNotFoundError):
        missing["scikit-learn"] = "python3-sklearn could not be installed (apt)"

    runs = {name: [] for name in systems}
    for r in range(args.rounds):
        for name, build in systems.items():
            s, l = files(name, r)
            cmd, cmd_env = build(s, l)
            print(f"[round {r + 1}/{args.rounds}] $ {' '.join(cmd)}", file=sys.stderr, flush=True)
            t0 = time.time()
            try:
                stdout, rss = timed(cmd, cmd_env)
            except RuntimeError as e:
                print(str(e), file=sys.stderr)
                missing[name] = "failed to run: " + str(e).splitlines()[0]
                continue
            info = json.loads(stdout.strip().splitlines()[-1])
            p50, p99 = percentiles(l)
            runs[name].append({"info": info, "rss": rss, "p50": p50, "p99": p99, "scores": s,
                               "wall": time.time() - t0})

    # kefu once more without the validation file: the threshold it calibrates from its training
    # questions alone (a held-out part of the KB's entries stands in for out-of-scope questions),
    # as a KB without any out-of-scope examples gets it. Its build includes that calibration.
    train_only = None
    if runs.get("kefu"):
        cmd = [args.matcher_bench, "--train", train, "--test", val_all, "--rounds", "1"]
        print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
        try:
            stdout, _ = timed(cmd)
            train_only = json.loads(stdout.strip().splitlines()[-1])
        except RuntimeError as e:
            print(str(e), file=sys.stderr)

    results = []
    for name, rs in runs.items():
        if not rs or name in missing:
            continue
        samples, rows = read_scores(rs[0]["scores"])
        threshold, target_met = choose_threshold(samples)
        fig = compute_accuracy(samples, threshold)
        train_s = [x["info"].get("train_seconds", x["info"].get("build_seconds")) for x in rs]
        row = {"system": name, "top1": fig["top1"], "at_threshold": fig["at_threshold"],
               "oos_recall": fig["oos_recall"], "threshold": threshold, "target_met": target_met,
               "train_seconds": statistics.median(train_s), "train_seconds_all": train_s,
               "p50_us": statistics.median(x["p50"] for x in rs), "p99_us": statistics.median(x["p99"] for x in rs),
               "p50_all": [round(x["p50"], 1) for x in rs], "p99_all": [round(x["p99"], 1) for x in rs],
               "peak_rss_mb": statistics.median(x["rss"] for x in rs) / 1e6, "rounds": len(rs),
               "info": rs[0]["info"]}
        if name == "kefu":
            row["train_seconds"] = statistics.median(x["info"]["build_seconds"] for x in rs)
            row["kefu_own_threshold"] = rs[0]["info"]["threshold"]
            row["kefu_own"] = {"at_threshold": rs[0]["info"]["in_scope_accuracy_at_threshold"],
                               "oos_recall": rs[0]["info"]["oos_recall"]}
            if train_only:
                row["train_only"] = {"threshold": train_only["threshold"],
                                     "at_threshold": train_only["in_scope_accuracy_at_threshold"],
                                     "oos_recall": train_only["oos_recall"],
                                     "build_seconds": train_only["build_seconds"]}
        if name == "NLP.js":
            n_in = sum(1 for x in rows if x[0] != "oos")
            n_oos = len(rows) - n_in
            right = sum(1 for x in rows if x[0] != "oos" and x[3] == x[0])
            esc = sum(1 for x in rows if x[0] == "oos" and x[3] == "None")
            row["own"] = {"threshold": rs[0]["info"].get("own_threshold"), "at_threshold": right / n_in,
                          "oos_recall": esc / n_oos}
        results.append(row)

    machine = machine_line()
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"machine": machine, "command": args.command, "rounds": args.rounds, "results": results,
                   "missing": missing}, f, indent=1)
    table = markdown(results, missing, args.rounds, machine, args.command)
    with open(os.path.join(args.out, "peers.md"), "w") as f:
        f.write(table)
    print(table)


def machine_line():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, {time.strftime('%Y-%m-%d', time.gmtime())}"


def pct(x):
    return f"{100 * x:.1f}%"


def us(x):
    return f"{x:,.0f} µs" if x >= 100 else f"{x:.1f} µs"


def markdown(results, missing, rounds, machine, command):
    lines = ["| system | top-1 in-scope | in-scope acc. at threshold | OOS recall | train | p50 / p99 per question "
             "| peak memory |", "|---|---|---|---|---|---|---|"]
    unreachable = False
    for r in results:
        mark = ""
        if not r.get("target_met", True):
            mark, unreachable = " ¹", True
        lines.append(f"| {r['system']} | {pct(r['top1'])} | {pct(r['at_threshold'])}{mark} | {pct(r['oos_recall'])} "
                     f"| {r['train_seconds']:.2f} s | {us(r['p50_us'])} / {us(r['p99_us'])} "
                     f"| {r['peak_rss_mb']:.0f} MB |")
        if "train_only" in r:
            o = r["train_only"]
            lines.append(f"| {r['system']}, threshold from the training questions alone ({o['threshold']:.2f}) | "
                         f"| {pct(o['at_threshold'])} | {pct(o['oos_recall'])} | {o['build_seconds']:.2f} s ² | | |")
        if "own" in r:
            o = r["own"]
            lines.append(f"| {r['system']}, its own threshold ({o['threshold']}) | | {pct(o['at_threshold'])} "
                         f"| {pct(o['oos_recall'])} | | | |")
    for name, why in missing.items():
        lines.append(f"| {name} | missing: {why} | | | | | |")
    lines.append("")
    lines.append(f"Medians of {rounds} interleaved rounds (train time, latency and memory); accuracy is "
                 "deterministic for every system here. Per-round figures are in build/bench/peers/results.json.")
    if unreachable:
        lines.append("")
        lines.append("¹ No threshold reaches the out-of-scope recall target (85% with one standard error to spare) "
                     "for this system, so the rule falls back to the threshold of highest recall.")
    if any("train_only" in r for r in results):
        lines.append("")
        lines.append("² No out-of-scope data at all: kefu holds out part of the KB's entries as stand-ins for "
                     "out-of-scope questions and calibrates on them (its default for a KB without a validation "
                     "file); the build time includes that second training.")
    lines.append("")
    lines.append(f"Machine: {machine}. Command: `{command}`.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
