#!/usr/bin/env bash
# The main job, rback's flagship demo: build rback, record the Game of Life
# in demos/life.c, then play its grid back through the recording, forward
# and rewinding to the first generation. Every frame is the program's true
# state at that point of the recording; the rewind gets each one by going
# back to a checkpoint and replaying.
#
# In a terminal the playback is interactive (space pause, left/right step,
# r reverse, +/- speed, q quit); otherwise the frames are printed. Either
# way demos/life.gif and demos/life.cast (asciicast v2) are written anew.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
rback=${CARGO_TARGET_DIR:-target}/release/rback
out=demos
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O0 -g -o "$work/life" demos/life.c

echo "== rback record:"
"$rback" record -o "$work/trace" "$work/life" | tail -3
play=("$rback" playback "$work/trace" --at step --show grid --show generation --fps 6 --rewind)
"${play[@]}" --gif "$out/life.gif" --cast "$out/life.cast"
echo "== rback playback --at step --show grid --show generation --rewind:"
"${play[@]}"
