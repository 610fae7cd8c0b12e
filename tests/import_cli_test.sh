#!/usr/bin/env bash
# `kefu kb import` end to end: a small Rasa project and a small Dialogflow ES export written for
# the tests (tests/data/import) import, lint clean and answer their own example questions (kefu ask,
# kb eval with the tools' own intent labels); the export as a zip gives the same KBs; broken inputs
# are named by file and line. Usage: import_cli_test.sh KEFU SOURCE_DIR
set -u
kefu=$1
src=$2
data=$src/tests/data/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "$0")/cli_expect.sh"

# --- Rasa
expect "a Rasa project imports and lints clean" 0 "$tmp/hr.json: OK (8 entries" \
  -- "$kefu" kb import "$data/rasa-hr" --output "$tmp/hr.json"
out=$("$kefu" kb import "$data/rasa-hr" --output "$tmp/hr.json" 2>&1)
expect "... an intent without examples is named with file and line" 0 "rasa-hr/data/nlu.yml:76: intent 'empty_intent' has no examples: not imported" -- echo "$out"
expect "... an intent without a response is marked for review" 0 "intent 'parental_leave' has no answer: entry 'parental_leave' is tagged needs-review" -- echo "$out"
expect "... lint counts the entries to review" 0 "2 entries are tagged needs-review" -- echo "$out"
expect "... entity annotations are gone from the examples" 0 '"book days off for my trip to Berlin"' -- cat "$tmp/hr.json"
expect "... answers its own example questions" 0 "[answer annual_leave] Request annual leave in the HR portal" \
  -- "$kefu" ask --kb "$tmp/hr.json" "how do I request annual leave"
expect "... a retrieval intent's response" 0 "[answer chitchat.ask_name] I'm the HR helpdesk bot." \
  -- "$kefu" ask --kb "$tmp/hr.json" "what is your name"
expect "... an entry without an answer hands off" 0 "[escalate handoff_entry] (entry parental_leave)" \
  -- "$kefu" ask --kb "$tmp/hr.json" "how long is parental leave"
# The project's own examples, labelled with Rasa's intent names, as a test file for kb eval.
python3 - "$data/rasa-hr/data/nlu.yml" "$tmp/hr-examples.jsonl" <<'PY'
import json, re, sys
intent, rows = None, []
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"- intent: (\S+)", line)
    if m:
        intent = m.group(1)
    elif line.startswith("- "):
        intent = None
    elif intent and line.strip().startswith("- "):
        text = re.sub(r"\[([^\]]*)\](\([^)]*\)|\{[^}]*\})", r"\1", line.strip()[2:])
        rows.append({"text": text, "intent": intent})
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
PY
expect "... kb eval on its own examples, labels as Rasa names them" 0 '"in_scope_accuracy":1.0000' \
  -- "$kefu" kb eval --kb "$tmp/hr.json" --test "$tmp/hr-examples.jsonl" --json

# --- Dialogflow ES: the export folder, then the same as a zip
expect "a Dialogflow export imports one KB per language" 0 "wrote $tmp/shop.zh-cn.json: 3 entries" \
  -- "$kefu" kb import "$data/dialogflow-shop" --output "$tmp/shop.json"
expect "... the English KB lints clean" 0 "$tmp/shop.en.json: OK (5 entries" -- "$kefu" kb lint "$tmp/shop.en.json"
expect "... the Chinese KB lints clean" 0 "$tmp/shop.zh-cn.json: OK (3 entries" -- "$kefu" kb lint "$tmp/shop.zh-cn.json"
expect "... answers in English" 0 "[answer refund] Refunds reach your card" -- "$kefu" ask --kb "$tmp/shop.en.json" "how long do refunds take"
expect "... answers in Chinese" 0 "[answer refund] 我们收到退货后" -- "$kefu" ask --kb "$tmp/shop.zh-cn.json" "退款要多久"
expect "... an intent with only a rich response hands off" 0 "[escalate handoff_entry] (entry store-hours)" \
  -- "$kefu" ask --kb "$tmp/shop.en.json" "opening hours"
(cd "$data" && python3 -c 'import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for root, _, files in os.walk("dialogflow-shop"):
        for f in sorted(files):
            path = os.path.join(root, f)
            z.write(path, os.path.relpath(path, "dialogflow-shop"))' "$tmp/agent.zip")
expect "the export as a zip imports the same" 0 "wrote $tmp/zip.zh-cn.json: 3 entries" \
  -- "$kefu" kb import "$tmp/agent.zip" --output "$tmp/zip.json"
expect "... identical KBs" 0 "" -- cmp "$tmp/shop.zh-cn.json" "$tmp/zip.zh-cn.json"
expect "... identical but for where an unanswered intent came from" 0 "" \
  -- cmp <(sed 's/ from [^:]*json:[0-9]*//' "$tmp/shop.en.json") <(sed 's/ from [^:]*json:[0-9]*//' "$tmp/zip.en.json")
expect "... files named inside the archive" 0 "$tmp/agent.zip/intents/Default Welcome Intent.json:3: intent 'Default Welcome Intent' has no examples" \
  -- "$kefu" kb import "$tmp/agent.zip" --output "$tmp/zip.json"

# --- kefu CSV and broken inputs
printf 'question,answer,intent\nhow do I apply,Use the portal,Apply\nwho is my manager,,Org chart\n' >"$tmp/faq.csv"
expect "CSV: an intent without an answer is kept for review" 0 "intent 'Org chart' has no answer" \
  -- "$kefu" kb import "$tmp/faq.csv" --output "$tmp/faq.json"
mkdir -p "$tmp/bad-yaml"
cp "$data/rasa-hr/domain.yml" "$tmp/bad-yaml/"
printf 'nlu:\n- intent: greet\n  examples: |\n    - hi\n - intent: bye\n' >"$tmp/bad-yaml/nlu.yml"
expect "bad YAML is named with file, line and column; nothing written" 1 "$tmp/bad-yaml/nlu.yml:5:" \
  -- "$kefu" kb import "$tmp/bad-yaml" --output "$tmp/bad.json"
expect "... nothing written" 1 "" -- test -e "$tmp/bad.json"
expect "Rasa NLU data without a domain is named" 1 "rasa-hr/data/nlu.yml:3: Rasa NLU data without its domain" \
  -- "$kefu" kb import "$data/rasa-hr/data/nlu.yml" --output "$tmp/bad.json"
expect "a missing path is named" 1 "$tmp/nope: no such file or folder" -- "$kefu" kb import "$tmp/nope" --output "$tmp/bad.json"
printf 'PK\003\004 not really a zip' >"$tmp/broken.zip"
expect "a broken zip is named" 1 "$tmp/broken.zip: not a readable zip archive" -- "$kefu" kb import "$tmp/broken.zip" --output "$tmp/bad.json"
expect "nothing importable is an error" 1 "nothing to import" -- "$kefu" kb import "$data/rasa-hr/data/stories.yml" --output "$tmp/bad.json"
finish
