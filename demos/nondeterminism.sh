#!/usr/bin/env bash
# Nondeterminism tamed: record a program whose output is different on every
# run (clock, random bytes, rdtsc, pid, a timer signal racing sleeps) once,
# then replay the recording ten times: the same output every time.
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
for i in $(seq 1 10); do
    "$rback" replay -a "$work/trace" > "$work/replayed.txt"
    cmp -s "$work/recorded.txt" "$work/replayed.txt" || { echo "replay $i differs from the recording" >&2; exit 1; }
    echo "== replay $i: identical to the recording"
done
echo
"$rback" info "$work/trace" | sed -n '1,12p'
