#!/usr/bin/env bash
# Batch decisions through the CLI (DESIGN.md §6: "batch evaluation above 1M
# decisions/s per core"), policy load included.
#
# Writes a JSONL file of N requests (default 200,000) drawn in turn from the
# allow and deny cases of tests/conformance/global-2016.json, then times
#   privet eval policies/huawei/global-2016.privet --requests FILE > /dev/null
# with hyperfine (apt-get install -y hyperfine), or bash's `time` without it.
# A run on a one-line file gives the fixed cost (process start, policy load).
# `privet eval` is single-threaded, so decisions/s is per core.
#
# Usage: benches/batch.sh [N]    (CARGO_TARGET_DIR is honoured)
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-200000}"
target="${CARGO_TARGET_DIR:-target}"
privet="$target/release/privet"
policy="policies/huawei/global-2016.privet"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin privet --target-dir "$target"

python3 - "$count" "$work" <<'EOF'
import json, sys
count, work = int(sys.argv[1]), sys.argv[2]
cases = json.load(open("tests/conformance/global-2016.json"))["cases"]
lines = [json.dumps(c["request"], separators=(",", ":"))
         for c in cases if c.get("expect") in ("allow", "deny")]
with open(f"{work}/requests.jsonl", "w") as out:
    for i in range(count):
        out.write(lines[i % len(lines)] + "\n")
with open(f"{work}/one.jsonl", "w") as out:
    out.write(lines[0] + "\n")
print(f"{count} requests from {len(lines)} conformance cases", file=sys.stderr)
EOF

# Every line must come back as a decision, none as an error.
decisions="$("$privet" eval "$policy" --requests "$work/requests.jsonl" | grep -c '"allowed"')"
[ "$decisions" -eq "$count" ] || { echo "expected $count decisions, got $decisions" >&2; exit 1; }

if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 1 --runs 10 --export-json "$work/batch.json" \
        -n "one request" "$privet eval $policy --requests $work/one.jsonl > /dev/null" \
        -n "$count requests" "$privet eval $policy --requests $work/requests.jsonl > /dev/null"
    python3 - "$count" "$work/batch.json" <<'EOF'
import json, sys
count, results = int(sys.argv[1]), json.load(open(sys.argv[2]))["results"]
one, many = results[0]["median"], results[1]["median"]
print(f"median: one request {one * 1e3:.1f} ms, {count} requests {many * 1e3:.1f} ms")
print(f"{count / many:,.0f} decisions/s per core, policy load included")
print(f"{count / (many - one):,.0f} decisions/s per core, fixed cost taken out")
EOF
else
    time "$privet" eval "$policy" --requests "$work/one.jsonl" > /dev/null
    time "$privet" eval "$policy" --requests "$work/requests.jsonl" > /dev/null
fi
