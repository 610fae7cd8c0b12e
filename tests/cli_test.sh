#!/usr/bin/env bash
# The kefu CLI's exit codes and messages for good and bad input. Usage: cli_test.sh KEFU SOURCE_DIR
set -u
kefu=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_expect.sh"

expect "help explains ask with an example" 0 "Example:" -- "$kefu" ask --help
expect "help explains kb eval" 0 "in_scope" -- "$kefu" kb eval --help
expect "no subcommand is a usage error" 2 "" -- "$kefu"
expect "unknown flag is a usage error" 2 "--nope" -- "$kefu" kb lint --nope x

expect "lint accepts a sample" 0 "OK (51 entries" -- "$kefu" kb lint "$src/kb/samples/hr-zh.json"
expect "lint of a missing file names it" 1 "$tmp/missing.json: no such file" -- "$kefu" kb lint "$tmp/missing.json"

printf '{"entries": [{"id": "a", "title": "A", "questions": ["q1"], "answer": ""}]}' >"$tmp/empty-answer.json"
expect "lint names file, entry and field" 1 "$tmp/empty-answer.json: entry #1 'a': field 'answer': must not be empty" \
  -- "$kefu" kb lint "$tmp/empty-answer.json"

printf '{"entries": [\n{"id": "a", "title": "A", "questions": ["q1"], "answer": "x"},\n' >"$tmp/syntax.json"
expect "lint reports a syntax error with its line and column" 1 "syntax.json: invalid JSON at line 3, column 1" -- "$kefu" kb lint "$tmp/syntax.json"

printf 'question,answer,intent\nhow?,"yes",a\nhow else?,"no",a\n' >"$tmp/conflict.csv"
expect "CSV problems name file and line" 1 "$tmp/conflict.csv:3: field 'answer'" -- "$kefu" kb lint "$tmp/conflict.csv"

expect "ask answers from the leave entry" 0 "[answer leave.annual.apply]" \
  -- "$kefu" ask --kb "$src/kb/samples/hr-zh.json" 我想请年假怎么申请
expect "ask escalates a request for a person" 0 "[escalate asked_for_person]" \
  -- "$kefu" ask --kb "$src/kb/samples/hr-en.json" "talk to a human"
expect "ask reads questions from stdin" 0 "[greeting]" -- bash -c "echo hello | '$kefu' ask --kb '$src/kb/samples/shop-en.json'"
expect "ask refuses an invalid KB" 1 "field 'answer'" -- "$kefu" ask --kb "$tmp/empty-answer.json" hi

printf '{"text": "hi", "intent": "a"}\n{"text": 5, "intent": "a"}\n' >"$tmp/bad.jsonl"
expect "eval names file, line and field of a bad labelled row" 1 "$tmp/bad.jsonl:2: field 'text'" \
  -- "$kefu" kb eval --train "$tmp/bad.jsonl" --test "$tmp/bad.jsonl"
expect "eval needs --train or --kb" 2 "" -- "$kefu" kb eval --test "$tmp/bad.jsonl"
printf '{"text": "hi", "intent": "a"}\n{"text": "hi" "intent": "a"}\n' >"$tmp/syntax.jsonl"
expect "a JSON syntax error in a labelled file names line and column" 1 "$tmp/syntax.jsonl:2: invalid JSON at column 15" \
  -- "$kefu" kb eval --train "$tmp/syntax.jsonl" --test "$tmp/syntax.jsonl"

# Intent labels as people export them: any text, mapped to entry ids, kept in the reports.
python3 - "$tmp" <<'PY'
import json, sys
rows = {
    "Refund_not_showing_up": ["my refund has not arrived", "where is my refund", "refund still missing",
                              "I was promised a refund but never got it"],
    "EMI": ["can I pay in monthly installments", "is there an EMI option", "monthly payment plan",
            "pay in instalments"],
    "Reset Password": ["I forgot my password", "how do I reset my password", "cannot log in password",
                       "change my password please"],
    "中文标签": ["发票怎么开", "我要开发票", "如何申请发票", "电子发票在哪里下载"],
    "reset password": ["unlock my account", "my account is locked", "too many login attempts locked",
                       "locked out of my account"],
}
with open(sys.argv[1] + "/real-train.jsonl", "w") as train, open(sys.argv[1] + "/real-test.jsonl", "w") as test:
    for intent, texts in rows.items():
        for t in texts[:3]:
            train.write(json.dumps({"text": t, "intent": intent}, ensure_ascii=False) + "\n")
        test.write(json.dumps({"text": texts[3], "intent": intent}, ensure_ascii=False) + "\n")
    test.write(json.dumps({"text": "what is the weather on mars", "intent": "oos"}) + "\n")
with open(sys.argv[1] + "/unknown-label.jsonl", "w") as f:
    f.write(json.dumps({"text": "how do I apply for annual leave", "intent": "leave.annual.apply"}) + "\n")
    f.write(json.dumps({"text": "where is my parcel", "intent": "Parcel tracking"}) + "\n")
    f.write(json.dumps({"text": "is my parcel lost", "intent": "Parcel tracking"}) + "\n")
PY
expect "eval takes labels as exported (spaces, capitals, Chinese, a case collision)" 0 '"in_scope_accuracy":1.0000' \
  -- "$kefu" kb eval --train "$tmp/real-train.jsonl" --test "$tmp/real-test.jsonl" --json
expect "eval names file, line and label of a test label that matches no entry" 1 \
  "$tmp/unknown-label.jsonl:2: intent 'Parcel tracking' matches no entry of the knowledge base and is not the out-of-scope label 'oos' (2 rows with 1 such label)" \
  -- "$kefu" kb eval --kb "$src/kb/samples/hr-en.json" --test "$tmp/unknown-label.jsonl"
expect "eval names a calibration label that matches no training intent" 1 "$tmp/unknown-label.jsonl:1: intent 'leave.annual.apply' matches no entry" \
  -- "$kefu" kb eval --train "$tmp/real-train.jsonl" --val "$tmp/unknown-label.jsonl" --test "$tmp/real-test.jsonl"

"$kefu" kb eval --kb "$src/kb/samples/shop-en.json" --test "$src/kb/samples/shop-en.questions.jsonl" --json >"$tmp/eval.json" 2>&1
for field in in_scope_accuracy in_scope_accuracy_at_threshold oos_recall oos_precision overall_accuracy \
  build_seconds us_per_query_p50 us_per_query_p99; do
  expect "eval --json has $field" 0 "\"$field\":" -- cat "$tmp/eval.json"
done

# config check: a server config validated as kefu serve would, with the same messages.
expect "config check accepts the demo desks" 0 "kefu.demo.json: OK (2 desks)" -- "$kefu" config check "$src/kefu.demo.json"
printf '{\n  "desks": [\n    {"id": "hr", "knowledge_bases": ["%s"]},\n    {\n      "id": "shop",\n      "knowledge_bases": ["x.json"],\n      "settings": {"max_queue": 0}\n    }\n  ]\n}\n' \
  "$src/kb/samples/hr-en.json" >"$tmp/bad-config.json"
expect "config check names file, line, desk and field" 1 \
  "$tmp/bad-config.json:7: desk #2: field 'settings': field 'max_queue': must be an integer from 1 to 1000000" \
  -- "$kefu" config check "$tmp/bad-config.json"
expect "serve refuses the same config with the same message" 1 \
  "$tmp/bad-config.json:7: desk #2: field 'settings': field 'max_queue': must be an integer from 1 to 1000000" \
  -- "$kefu" serve --config "$tmp/bad-config.json" --data "$tmp/serve-data"
sed -i 's/"max_queue": 0/"max_queue": 10, "max_queu": 1/' "$tmp/bad-config.json"
expect "config check names an unknown key's line" 1 "$tmp/bad-config.json:7: desk #2: field 'settings': field 'max_queu': unknown field" \
  -- "$kefu" config check "$tmp/bad-config.json"
sed -i 's/, "max_queu": 1//' "$tmp/bad-config.json"
expect "config check names a knowledge base that cannot be loaded" 1 "$tmp/x.json: no such file" \
  -- "$kefu" config check "$tmp/bad-config.json"

# kb diff: what changed between two KB files.
python3 - "$src/kb/samples/shop-en.json" "$tmp/shop-changed.json" <<'PY'
import json, sys
kb = json.load(open(sys.argv[1]))
kb["entries"][0]["questions"].append("how do I buy something")
kb["entries"].append({"id": "faq.dogs", "title": "Dogs at the open day", "questions": ["can I bring my dog"],
                      "answer": "Dogs on a lead are welcome."})
del kb["entries"][1]
json.dump(kb, open(sys.argv[2], "w"))
PY
expect "diff names an added entry with its question" 0 '+ faq.dogs: Dogs at the open day' -- "$kefu" kb diff "$src/kb/samples/shop-en.json" "$tmp/shop-changed.json"
expect "diff names a removed entry" 0 '- orders.status' -- "$kefu" kb diff "$src/kb/samples/shop-en.json" "$tmp/shop-changed.json"
expect "diff names a changed entry's new question" 0 '+ "how do I buy something"' -- "$kefu" kb diff "$src/kb/samples/shop-en.json" "$tmp/shop-changed.json"
expect "diff of a file with itself" 0 "no changes" -- "$kefu" kb diff "$src/kb/samples/shop-en.json" "$src/kb/samples/shop-en.json"
expect "diff of a missing file names it" 1 "$tmp/nope.json" -- "$kefu" kb diff "$src/kb/samples/shop-en.json" "$tmp/nope.json"
expect "gaps needs --data and --desk" 2 "" -- "$kefu" kb gaps --desk hr
expect "gaps names a bad --since" 2 "--since" -- "$kefu" kb gaps --data "$tmp" --desk hr --since 7weeks
expect "gaps refuses a directory that is no data directory, and creates nothing" 1 "not a kefu data directory" -- "$kefu" kb gaps --data "$tmp/nodata" --desk hr
expect "... nothing created" 1 "" -- test -e "$tmp/nodata"

finish
