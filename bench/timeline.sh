#!/usr/bin/env bash
# Time-travel costs against the tracee's resident size: a checkpoint (one
# injected fork), a reverse-stepi and a reverse-continue near the end of a
# trace. Usage: bench/timeline.sh [MiB ...]   (default: 1 64 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo build --release --quiet -p recorder --example timeline_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -no-pie -o "$work/heap" bench/programs/heap_then_loop.c
getppid_plt=$(nm "$work/heap" | awk '$3 == "main" { print $1 }')
for mib in "${@:-1 64 1024}"; do
    for m in $mib; do
        ./target/release/rback record -o "$work/t$m" "$work/heap" "$m" >/dev/null 2>&1
        printf '%5s MiB heap: ' "$m"
        ./target/release/examples/timeline_bench "$work/t$m" "$getppid_plt"
    done
done
