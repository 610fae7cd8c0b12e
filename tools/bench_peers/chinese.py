#!/usr/bin/python3
"""`tools/bench chinese`: kefu and scikit-learn's character n-gram LinearSVC on a Chinese intent set.

Usage: chinese.py --smp SMP2017_FILE... --out DIR --kefu build/tools/kefu
Makes the 4:1 split of SMP2017-ECDT task 1 (smp2017.py), then, in one run on this machine: kefu
(`kefu kb eval --train --test --json`: top-1, build time, latency) and scikit-learn's TF-IDF
character 1-3 gram LinearSVC (sklearn_peer.py char), both trained on the same 4 parts and
measured on the fifth. Prints a markdown table and writes results.json to DIR.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smp", nargs="+", required=True, help="SMP2017-ECDT task 1 files (see smp2017.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--kefu", required=True)
    ap.add_argument("--command", default="tools/bench chinese")
    args = ap.parse_args()
    split = os.path.join(args.out, "split")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "smp2017.py"), split] + args.smp, check=True)
    train, test = os.path.join(split, "train.jsonl"), os.path.join(split, "test.jsonl")

    kefu = json.loads(subprocess.run([args.kefu, "kb", "eval", "--train", train, "--test", test, "--json"],
                                     check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    questions = os.path.join(args.out, "questions.tsv")
    with open(test) as f, open(questions, "w") as q:
        for line in f:
            row = json.loads(line)
            q.write(f"{row['intent']}\t{row['text']}\n")
    scores, latencies = os.path.join(args.out, "sklearn.scores.tsv"), os.path.join(args.out, "sklearn.latencies.txt")
    info = json.loads(subprocess.run(["/usr/bin/python3", os.path.join(HERE, "sklearn_peer.py"), "char", train,
                                      questions, scores, latencies],
                                     check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    with open(scores) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    sklearn_top1 = sum(1 for r in rows if r[0] == r[1]) / len(rows)
    results = {"kefu": kefu, "sklearn_char": {"top1": sklearn_top1, **info}, "test_questions": len(rows),
               "machine_date": time.strftime("%Y-%m-%d", time.gmtime())}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("| system | top-1 | build |")
    print("|---|---|---|")
    print(f"| kefu | {100 * kefu['in_scope_accuracy']:.2f}% | {kefu['build_seconds']:.2f} s |")
    print(f"| scikit-learn char 1-3 gram LinearSVC | {100 * sklearn_top1:.2f}% | {info['train_seconds']:.2f} s |")
    print(f"\nSMP2017-ECDT task 1, 31 intents, {kefu['train_questions']} training and {len(rows)} test questions "
          f"(4:1 split, tools/bench_peers/smp2017.py). Command: `{args.command}`.")


if __name__ == "__main__":
    sys.exit(main())
