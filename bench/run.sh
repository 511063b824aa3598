#!/usr/bin/env bash
# rback overhead benchmark: native vs `rback record` vs `rback replay -a` on
# four workloads. See bench/README.md. Usage: bench/run.sh   (BENCH_RUNS=N)
set -euo pipefail

runs=${BENCH_RUNS:-5}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_RUNS must be a positive integer" >&2; exit 2; }
# $EPOCHREALTIME (bash >= 5) gives microseconds without forking `date`,
# which would add noise to the 20-starts measurement.
[[ -n ${EPOCHREALTIME:-} ]] || { echo "bench/run.sh needs bash >= 5" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
# Cargo resolves a relative CARGO_TARGET_DIR against its cwd; make it absolute
# before we cd so the binary is found where cargo put it.
target=$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")
export CARGO_TARGET_DIR=$target
rback=$target/release/rback

work=$(mktemp -d "${TMPDIR:-/tmp}/rback-bench.XXXXXX")
keep_work=0
trap '[[ $keep_work == 1 ]] || rm -rf "$work"' EXIT
export RBACK_TRACE_DIR=$work/traces
mkdir -p "$work/bin" "$work/out" "$RBACK_TRACE_DIR"
# Workload command lines below are split on spaces.
[[ $work != *[[:space:]]* ]] || { echo "bench: TMPDIR must not contain spaces" >&2; exit 2; }

fail() {
    keep_work=1
    echo "bench: FAILED: $*" >&2
    echo "bench: logs and traces kept in $work" >&2
    exit 1
}

echo "bench: building rback (release) in $target" >&2
(cd "$root" && cargo build --release --quiet)
[[ -x $rback ]] || fail "cargo build succeeded but $rback does not exist"

for prog in cpu_bound syscall_heavy file_io hello threads_cpu futex_pingpong count_signal; do
    gcc -O2 -Wall -pthread -o "$work/bin/$prog" "$here/programs/$prog.c"
done

# name | program and arguments | back-to-back runs per measurement.
# Start-up of one tiny program is ~1 ms, below timer and scheduling noise, so
# it is timed as 20 starts in a row.
startup_reps=20
# A fourth field `pinned` runs the native side on one CPU: rback runs one
# thread at a time, so that is the fair comparison for threads.
workloads=(
    "cpu-bound|$work/bin/cpu_bound|1"
    "syscall-heavy|$work/bin/syscall_heavy 100000|1"
    "syscall-floor|$work/bin/syscall_heavy 100000 raw|1"
    "file-io|$work/bin/file_io $work/file-io.dat 64|1"
    "startup|$work/bin/hello|$startup_reps"
    "threads-cpu|$work/bin/threads_cpu|1|pinned"
    "futex-pingpong|$work/bin/futex_pingpong 5000|1|pinned"
    "count-signal|$work/bin/count_signal|1"
    "shell-pipeline|/bin/sh $work/bin/pipeline.sh|1"
    "gcc-compile|/bin/sh $work/bin/compile.sh|1"
    "python-startup|/usr/bin/python3 -c print(42)|5"
)

# Multi-process workloads: a shell pipeline of a few processes, and a
# compile (gcc runs cc1 and as as child processes).
printf 'i=0\nwhile [ $i -lt 20 ]; do seq 1 2000 | sort -rn | head -3 | tail -1; i=$((i + 1)); done\n' >"$work/bin/pipeline.sh"
printf 'gcc -O2 -c %s -o %s && echo compiled\n' "$here/programs/syscall_heavy.c" "$work/out/compiled.o" >"$work/bin/compile.sh"

# One measurement of each mode, in microseconds, into m_native, m_record and
# m_replay (globals rather than output, so that fail() exits the script and
# not just a command-substitution subshell).
# Traces go to fresh directories and are deleted once replayed, so disk
# usage stays at one workload's worth and no run sees another's trace.
measure() {
    local name=$1 reps=$3 pin=${4:-} t0 t1 t2 t3 i
    local -a cmd native
    read -r -a cmd <<<"$2"
    native=("${cmd[@]}")
    [[ $pin == pinned ]] && native=(taskset -c 0 "${cmd[@]}")
    local out=$work/out/$name

    t0=$EPOCHREALTIME
    for ((i = 0; i < reps; i++)); do
        "${native[@]}" </dev/null >"$out.native" 2>"$out.native.err" ||
            fail "$name: native run exited $?: $(cat "$out.native.err")"
    done
    t1=$EPOCHREALTIME
    for ((i = 0; i < reps; i++)); do
        rm -rf "$work/trace.$i"
        "$rback" record -o "$work/trace.$i" "${cmd[@]}" </dev/null >"$out.rec.$i" 2>"$out.rec.$i.err" ||
            fail "$name: rback record exited $?: $(cat "$out.rec.$i.err")"
    done
    t2=$EPOCHREALTIME
    for ((i = 0; i < reps; i++)); do
        "$rback" replay -a "$work/trace.$i" </dev/null >"$out.rep.$i" 2>"$out.rep.$i.err" ||
            fail "$name: rback replay -a exited $?: $(cat "$out.rep.$i.err")"
    done
    t3=$EPOCHREALTIME

    for ((i = 0; i < reps; i++)); do
        # An empty recording would make the replay comparison vacuous.
        [[ -s $out.rec.$i ]] || fail "$name: the recorded run printed nothing (stderr: $(cat "$out.rec.$i.err"))"
        cmp -s "$out.rec.$i" "$out.rep.$i" ||
            fail "$name: replay stdout differs from record stdout:
$(diff "$out.rec.$i" "$out.rep.$i" | head -20)"
    done
    # Size of one trace (for startup: of one start, not of all 20).
    du -sh "$work/trace.0" | cut -f1 >"$out.size"
    for ((i = 0; i < reps; i++)); do rm -rf "$work/trace.$i"; done

    t0=${t0/[.,]/} t1=${t1/[.,]/} t2=${t2/[.,]/} t3=${t3/[.,]/}
    m_native=$((t1 - t0)) m_record=$((t2 - t1)) m_replay=$((t3 - t2))
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {printf "%d\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# BENCH_ONLY=REGEX measures only the workloads whose names match.
if [[ -n ${BENCH_ONLY:-} ]]; then
    selected=()
    for w in "${workloads[@]}"; do
        [[ ${w%%|*} =~ $BENCH_ONLY ]] && selected+=("$w")
    done
    ((${#selected[@]} > 0)) || { echo "bench: no workload matches BENCH_ONLY=$BENCH_ONLY" >&2; exit 2; }
    workloads=("${selected[@]}")
fi

declare -A med size
for w in "${workloads[@]}"; do
    IFS='|' read -r name cmd reps pin <<<"$w"
    nat=() rec=() rep=()
    for ((r = 1; r <= runs; r++)); do
        echo "bench: $name run $r/$runs" >&2
        measure "$name" "$cmd" "$reps" "$pin"
        nat+=("$m_native") rec+=("$m_record") rep+=("$m_replay")
    done
    med[$name.native]=$(median "${nat[@]}")
    med[$name.record]=$(median "${rec[@]}")
    med[$name.replay]=$(median "${rep[@]}")
    size[$name]=$(cat "$work/out/$name.size")
done

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
echo
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r)"
echo "rback:   $rev, median of $runs runs"
echo
printf '%-22s %10s %10s %10s %15s %14s %10s\n' workload native record replay record/native replay/native trace
for w in "${workloads[@]}"; do
    IFS='|' read -r name _ reps pin <<<"$w"
    label=$name
    ((reps > 1)) && label="$name (x$reps)"
    [[ $pin == pinned ]] && label="$name (1 CPU)"
    awk -v l="$label" -v n="${med[$name.native]}" -v c="${med[$name.record]}" -v p="${med[$name.replay]}" -v s="${size[$name]}" \
        'BEGIN { printf "%-22s %8.3f s %8.3f s %8.3f s %14.1fx %13.1fx %10s\n", l, n/1e6, c/1e6, p/1e6, c/n, p/n, s }'
done
if [[ -n ${med[startup.native]:-} ]]; then
    awk -v r="$startup_reps" -v n="${med[startup.native]}" -v c="${med[startup.record]}" -v p="${med[startup.replay]}" \
        'BEGIN { printf "\nstartup (x%d) is %d back-to-back starts of a dynamically linked hello world: per start native %.2f ms, record %.2f ms, replay %.2f ms; its trace size is for one start.\n", r, r, n/r/1e3, c/r/1e3, p/r/1e3 }'
fi
