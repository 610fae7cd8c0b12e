#!/usr/bin/python3
"""`tools/bench profile`: reads `perf script` output (perf record -g / --call-graph dwarf) on stdin
and prints where the time under one entry point goes: the share of the samples whose stack holds
a frame matching ROOT (a regex on the function name), then, as percentages of those samples, the
functions with the most self time (the leaf frame) and with the most inclusive time (anywhere
below ROOT in the stack).
Usage: perf script -i perf.data | perf_fold.py ROOT [TOP]
"""
import collections
import re
import sys

FRAME = re.compile(r"^\s+[0-9a-f]+\s+(.*?)(\+0x[0-9a-f]+)?\s+\((.*)\)$")


def main():
    root = re.compile(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    self_time, inclusive = collections.Counter(), collections.Counter()
    total = under = 0
    stack = []

    def flush():
        nonlocal total, under
        if not stack:
            return
        total += 1
        at = next((i for i, (name, _) in enumerate(stack) if root.search(name)), None)
        if at is None:
            return
        under += 1
        self_time[stack[0]] += 1
        for frame in set(stack[:at]):
            inclusive[frame] += 1

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            stack = []
            continue
        m = FRAME.match(line)
        if m:
            stack.append((m.group(1), m.group(3).rsplit("/", 1)[-1]))
    flush()
    print(f"{under} of {total} samples under /{sys.argv[1]}/ ({100 * under / max(total, 1):.1f}%)")
    if not under:
        return
    name = lambda f: f"{f[0][:110]} [{f[1]}]"
    print("self time, % of those samples:")
    for f, n in self_time.most_common(top):
        print(f"  {100 * n / under:5.1f}%  {name(f)}")
    print("inclusive time (below the entry point), % of those samples:")
    for f, n in inclusive.most_common(top + 10):
        print(f"  {100 * n / under:5.1f}%  {name(f)}")


if __name__ == "__main__":
    main()
