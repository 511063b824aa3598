#!/usr/bin/env bash
# Time-travel costs: checkpoints against the tracee's resident size, and
# reverse-stepi / reverse-continue at the end of a CPU-bound recording, a
# syscall-heavy one and one whose breakpoint is hit a million times; then
# issue 14's two cases: stepping back after a long syscall-free stretch,
# and reverse-continue to the last of 200,000 hits in one.
# Usage: bench/timeline.sh [MiB ...]   (heap sizes; default: 1 64 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet -p recorder --example timeline_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench=./target/release/examples/timeline_bench
addr() { nm "$1" | awk -v s="$2" '$3 == s { print $1 }'; }

gcc -O2 -no-pie -o "$work/heap" bench/programs/heap_then_loop.c
for m in ${@:-1 64 1024}; do
    ./target/release/rback record -o "$work/heap$m" "$work/heap" "$m" >/dev/null 2>&1
    printf '%5s MiB heap, break main: ' "$m"
    $bench "$work/heap$m" "$(addr "$work/heap" main)"
done

# A syscall-free stretch of about 1 s and of about 10 s (calibrated here):
# the reverse-continue from the end to `main` crosses all of it.
gcc -O2 -no-pie -o "$work/cpu" bench/programs/cpu_bound.c
start=$(date +%s%N); "$work/cpu" 100000000 >/dev/null; ns=$(( $(date +%s%N) - start ))
for secs in 1 10; do
    n=$(( 100000000 * secs * 1000000000 / ns ))
    ./target/release/rback record -o "$work/cpu$secs" "$work/cpu" "$n" >/dev/null 2>&1
    printf 'cpu-bound %2ss, break main: ' "$secs"
    $bench "$work/cpu$secs" "$(addr "$work/cpu" main)"
done

gcc -O2 -no-pie -o "$work/sys" bench/programs/syscall_heavy.c
./target/release/rback record -o "$work/t-sys" "$work/sys" 100000 >/dev/null 2>&1
printf 'syscall-heavy 200k events, break main: '
$bench "$work/t-sys" "$(addr "$work/sys" main)"

# A breakpoint hit once per loop iteration, a million times with no event
# in between: the reverse-continue counts every execution.
gcc -O1 -no-pie -o "$work/loop" recorder/tests/programs/shapes.c
./target/release/rback record -o "$work/t-loop" "$work/loop" loop 1000000 >/dev/null 2>&1
printf 'hot loop, break hit 10^6 times: '
$bench "$work/t-loop" "$(addr "$work/loop" step)"

# About 1 s of a syscall-free loop, then 200,000 calls of step() and one of
# done(), with no system call in between: continue to done, then
# reverse-stepi onto its call, once more onto the calls' loop exit, and ten
# more into the loop (the slowest of those ten is shown).
gcc -O1 -no-pie -o "$work/spin" recorder/tests/programs/shapes.c
start=$(date +%s%N); "$work/spin" spin 100000000 0 >/dev/null; ns=$(( $(date +%s%N) - start ))
n=$(( 100000000 * 1000000000 / ns ))
./target/release/rback record -o "$work/t-spin" "$work/spin" spin "$n" 200000 >/dev/null 2>&1
printf '1 s loop then 200k calls, break done: '
$bench --step-back "$work/t-spin" "$(addr "$work/spin" done)"

# A breakpoint hit 200,000 times with no event in between.
./target/release/rback record -o "$work/t-200k" "$work/loop" loop 200000 >/dev/null 2>&1
printf 'break hit 200k times in one stretch: '
$bench --last-hit "$work/t-200k" "$(addr "$work/loop" step)"
