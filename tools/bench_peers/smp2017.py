#!/usr/bin/python3
"""Makes the Chinese benchmark of `tools/bench chinese`: a 4:1 split of SMP2017-ECDT task 1.

SMP2017-ECDT task 1 (user intent classification; Zhang et al., "The First Evaluation of Chinese
Human-Computer Dialogue Technology", 2017, arXiv:1709.10217) has 3,069 labelled questions (its train
and develop sets) in 31 domains, from iFLYTEK's assistant. Its organisers release it for research
with a citation and no licence for redistribution, so kefu does not ship it: get it from
https://github.com/HITlilingzhi/SMP2017ECDT-DATA (LREC.zip: train.json and develop.json), and give
this script either those JSON files or one tab-separated file with a header row and the columns
text, label (as some copies of the corpus have it: "Sentence<TAB>Tag").

Usage: smp2017.py OUT_DIR INPUT...
Writes OUT_DIR/train.jsonl and OUT_DIR/test.jsonl ({"text", "intent"} per line). The split is
stratified and deterministic: within each intent, questions are ordered by the SHA-1 of their
text and every fifth goes to test. Exact duplicates are kept once.
"""
import hashlib
import json
import os
import sys


def read(path):
    """(text, label) pairs from an SMP2017 JSON file or a TSV with a header row."""
    with open(path, encoding="utf-8") as f:
        data = f.read()
    if data.lstrip().startswith("{"):
        # {"0": {"query": "...", "label": "app"}, ...}
        return [(row["query"], row["label"]) for row in json.loads(data).values()]
    rows = []
    for line in data.splitlines()[1:]:
        if line.strip():
            text, label = line.rsplit("\t", 1)
            rows.append((text, label))
    return rows


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, inputs = sys.argv[1], sys.argv[2:]
    by_intent, seen = {}, set()
    for path in inputs:
        for text, label in read(path):
            text = " ".join(text.split())
            if text and text not in seen:
                seen.add(text)
                by_intent.setdefault(label.strip(), []).append(text)
    os.makedirs(out, exist_ok=True)
    counts = [0, 0]
    with open(os.path.join(out, "train.jsonl"), "w", encoding="utf-8") as train, \
            open(os.path.join(out, "test.jsonl"), "w", encoding="utf-8") as test:
        for intent in sorted(by_intent):
            texts = sorted(by_intent[intent], key=lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest())
            for i, text in enumerate(texts):
                is_test = i % 5 == 4
                counts[is_test] += 1
                (test if is_test else train).write(json.dumps({"text": text, "intent": intent},
                                                              ensure_ascii=False) + "\n")
    print(f"{len(by_intent)} intents: {counts[0]} train, {counts[1]} test -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
