#!/usr/bin/env bash
# Seed the fuzz corpora from the shipped policies and conformance requests.
set -euo pipefail
cd "$(dirname "$0")"
for target in parse check decide_policy fmt_roundtrip; do
    mkdir -p "corpus/$target"
    for policy in ../policies/*/*.privet; do
        cp "$policy" "corpus/$target/$(basename "$(dirname "$policy")")-$(basename "$policy")"
    done
done
# Policies written to be pruned: cells where one condition is at most another.
cp seeds/decide_policy/*.privet corpus/decide_policy/
mkdir -p corpus/eval_request
python3 - <<'PY'
import glob, json, os
n = 0
for path in glob.glob("../tests/conformance/*.json"):
    for case in json.load(open(path))["cases"]:
        with open(f"corpus/eval_request/case-{n}.json", "w") as f:
            json.dump(case["request"], f)
        n += 1
print(f"{n} requests")
PY
