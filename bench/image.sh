#!/usr/bin/env bash
# Checkpoint images against resident size: how big an image is, how long
# `rback checkpoint` takes to save it (the save alone, as rback reports it)
# and how long `rback restart` takes from start to the program's exit (the
# program only has a few syscalls and its exit left).
# Usage: bench/image.sh [MiB ...]   (heap sizes; default: 1 64 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rback=./target/release/rback
gcc -O2 -o "$work/resident" bench/programs/image_resident.c
printf "%8s %10s %10s %12s\n" heap image save restart
for m in ${@:-1 64 1024}; do
    $rback record -o "$work/t$m" "$work/resident" "$m" >/dev/null 2>&1
    events=$($rback info "$work/t$m" | awk '/^events:/ { print $2 }')
    at=$((events - 3))
    saved=$($rback checkpoint "$work/t$m" --at "$at" -o "$work/img$m")
    save_ms=$(sed -n 's/.* in \([0-9]*\) ms$/\1/p' <<<"$saved")
    size=$(stat -c %s "$work/img$m")
    start=$(date +%s%N)
    $rback restart "$work/img$m" >/dev/null
    restart_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf "%6s MiB %6s KiB %7s ms %9s ms   (%s)\n" "$m" "$((size / 1024))" "$save_ms" "$restart_ms" "$(sed -n "s/.*: \(.*pages stored\).*/\1/p" <<<"$saved")"
    rm -rf "$work/t$m" "$work/img$m"
done
