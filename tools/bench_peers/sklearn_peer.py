#!/usr/bin/python3
"""scikit-learn peer of `tools/bench peers`: TF-IDF + LinearSVC, measured as kefu is measured.

Usage: sklearn_peer.py CONFIG TRAIN.jsonl QUESTIONS.tsv SCORES.tsv LATENCIES.txt
CONFIG is "word" (word 1-2 grams: the usual baseline), "word+char" (word 1-2 grams plus
character 2-5 grams inside word boundaries, the features closest to kefu's) or "char" (character
1-3 grams over the whole text: the usual baseline for Chinese, which has no spaces). Both use sublinear
tf and scikit-learn's defaults otherwise (LinearSVC C=1, squared hinge, one-vs-rest: liblinear).
Prints one JSON line with train_seconds. Latency: per single question, vectorise + decision
function + argmax, one question at a time over three rounds; the first (warm-up) is not kept.
Run with Debian's /usr/bin/python3 (python3-sklearn); single-threaded (liblinear is).
"""
import json
import sys
import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC


def main():
    config, train_path, questions_path, scores_path, latencies_path = sys.argv[1:6]
    texts, labels = [], []
    with open(train_path) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                if row["intent"] != "oos":
                    texts.append(row["text"])
                    labels.append(row["intent"])
    questions = []
    with open(questions_path) as f:
        for line in f:
            gold, _, text = line.rstrip("\n").partition("\t")
            questions.append((gold, text))

    start = time.perf_counter()
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    if config == "word":
        vectorizer = word
    elif config == "char":
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    elif config == "word+char":
        vectorizer = FeatureUnion([("word", word),
                                   ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))])
    else:
        sys.exit("config: word, word+char or char")
    x = vectorizer.fit_transform(texts)
    clf = LinearSVC(C=1.0)
    clf.fit(x, labels)
    train_seconds = time.perf_counter() - start

    classes = clf.classes_
    latencies = []
    with open(scores_path, "w") as scores:
        for round_ in range(3):
            for gold, text in questions:
                t0 = time.perf_counter()
                margins = clf.decision_function(vectorizer.transform([text]))[0]
                best = int(np.argmax(margins))
                micros = (time.perf_counter() - t0) * 1e6
                if round_ > 0:
                    latencies.append(micros)
                else:
                    scores.write(f"{gold}\t{classes[best]}\t{margins[best]:.6f}\n")
    with open(latencies_path, "w") as f:
        f.write("".join(f"{m:.2f}\n" for m in latencies))
    print(json.dumps({"train_seconds": round(train_seconds, 3), "features": int(x.shape[1]),
                      "sklearn": __import__("sklearn").__version__}))


if __name__ == "__main__":
    main()
