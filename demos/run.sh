#!/usr/bin/env bash
# The main job on a bundled demo: build rback, record a program whose output
# is different on every run, then replay the recording three times.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rback=${CARGO_TARGET_DIR:-target}/release/rback
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O1 -g -o "$work/nondeterminism" demos/nondeterminism.c

echo "== two ordinary runs differ:"
"$work/nondeterminism" | head -3
"$work/nondeterminism" | head -3
echo
echo "== rback record:"
"$rback" record -o "$work/trace" "$work/nondeterminism" | tee "$work/recorded.txt"
for i in 1 2 3; do
    echo
    echo "== rback replay -a, run $i:"
    "$rback" replay -a "$work/trace" | tee "$work/replayed.txt"
    cmp -s "$work/recorded.txt" "$work/replayed.txt" || { echo "replay $i differs from the recording" >&2; exit 1; }
done
echo
echo "== all three replays printed exactly what was recorded."
"$rback" info "$work/trace" | sed -n '1,12p'
