#!/usr/bin/env bash
# Batch decisions through the CLI (DESIGN.md §6: "batch evaluation above 1M
# decisions/s per core"), policy load included.
#
# Writes three streams of N requests each (default 200,000; see
# benches/batch_requests.py): `replay` cycles through the 83 allow and deny
# cases of tests/conformance/global-2016.json, `audit` gives each of those
# records a context of its own (almost every line new text, few contexts the
# policy tells apart), `distinct` asks random questions over the whole
# vocabulary (almost every request new to the policy). Then times
#   privet eval policies/huawei/global-2016.privet --requests FILE > /dev/null
# on each with hyperfine (apt-get install -y hyperfine), or bash's `time`
# without it. A run on a one-line file gives the fixed cost (process start,
# policy load). `privet eval` is single-threaded, so decisions/s is per core.
#
# Usage: benches/batch.sh [N [PRIVET...]]   (CARGO_TARGET_DIR is honoured)
# With PRIVET binaries named, times those side by side in one hyperfine run
# instead of building (an old build against a new one, say).
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-200000}"
[ "$#" -gt 0 ] && shift
target="${CARGO_TARGET_DIR:-target}"
policy="policies/huawei/global-2016.privet"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "$#" -eq 0 ]; then
    cargo build --release --quiet --bin privet --target-dir "$target"
    set -- "$target/release/privet"
fi
python3 benches/batch_requests.py "$count" "$work"

streams=(replay audit distinct)
for privet in "$@"; do
    for stream in "${streams[@]}"; do
        # Every line must come back as a decision, none as an error.
        decisions="$("$privet" eval "$policy" --requests "$work/$stream.jsonl" | grep -c '^{"allowed"')"
        [ "$decisions" -eq "$count" ] ||
            { echo "$privet on $stream: expected $count decisions, got $decisions" >&2; exit 1; }
    done
done

if ! command -v hyperfine >/dev/null 2>&1; then
    for privet in "$@"; do
        for stream in one "${streams[@]}"; do
            echo "$privet, $stream:"
            time "$privet" eval "$policy" --requests "$work/$stream.jsonl" > /dev/null
        done
    done
    exit 0
fi

commands=()
for privet in "$@"; do
    for stream in one "${streams[@]}"; do
        commands+=(-n "$privet $stream" "$privet eval $policy --requests $work/$stream.jsonl > /dev/null")
    done
done
hyperfine --warmup 1 --runs 10 --export-json "$work/batch.json" "${commands[@]}"
python3 - "$count" "$work/batch.json" <<'REPORT'
import json, sys
count, results = int(sys.argv[1]), json.load(open(sys.argv[2]))["results"]
one = {}
for result in results:
    privet, stream = result["command"].rsplit(" ", 1)
    median = result["median"]
    if stream == "one":
        one[privet] = median
        continue
    print(f"{privet} {stream:>8}: median {median * 1e3:7.1f} ms, "
          f"{count / median:>10,.0f} decisions/s per core with the policy load "
          f"(one request alone: {one[privet] * 1e3:.1f} ms)")
REPORT
