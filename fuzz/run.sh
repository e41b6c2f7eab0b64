#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, from the committed corpus in
# fuzz/corpus/<target>/, two at a time, and fails on any crash, leak
# (AddressSanitizer's leak check, on by default), OOM (-rss_limit_mb=2048,
# which also caps one allocation) or input slower than -timeout.
#
#   bash fuzz/run.sh                       # every target, 30 s each
#   FUZZ_SECONDS=600 bash fuzz/run.sh inflate differential
#
# FUZZ_SECONDS: time per target (default 30). FUZZ_JOBS: targets at once
# (default 2). Inputs found on the way go to a temporary directory, not into
# the committed corpus (FUZZ_NEW_INPUTS=dir keeps them in dir/<target>/,
# with the logs, for `cargo fuzz cmin`); a crash is written to
# fuzz/artifacts/<target>/ and its log is printed. Installs cargo-fuzz if it is absent; cargo-fuzz's
# nightly flags run on the stable toolchain with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# The longest input each target is given: frame headers are at most 14
# bytes; inputs with frames past the 4 KiB frame and 8 KiB message limits
# need more than libFuzzer's default of 4096.
max_len() {
    case $1 in
        frame_header) echo 64 ;;
        extensions | h2_connect | inflate | deflate_roundtrip) echo 4096 ;;
        *) echo 20000 ;;
    esac
}

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# One build for all targets (address sanitizer, debug assertions, release:
# cargo-fuzz's defaults, which `cargo fuzz run` below then finds built).
cargo fuzz build

if [ -n "${FUZZ_NEW_INPUTS:-}" ]; then
    work=$FUZZ_NEW_INPUTS
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
start=$(date +%s)

run_target() {
    local target=$1 log=$work/$1.log
    mkdir -p "$work/$target" "fuzz/corpus/$target"
    local rc=0
    cargo fuzz run "$target" "$work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len="$(max_len "$target")" \
        -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?
    echo "$rc" >"$work/$target.rc"
}

running=0
for target in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    echo "fuzzing $target for ${seconds}s"
    run_target "$target" &
    running=$((running + 1))
done
wait

failed=()
printf '\n%-20s %12s %8s %8s  %s\n' target executions cov ft result
for target in "${targets[@]}"; do
    log=$work/$target.log
    rc=$(cat "$work/$target.rc" 2>/dev/null || echo missing)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    # The last status line: "#N DONE cov: C ft: F ..." (or the last pulse).
    status=$(grep -E '^#[0-9]+' "$log" | tail -n1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    result=ok
    [ "$rc" = 0 ] || result="FAILED (exit $rc)"
    printf '%-20s %12s %8s %8s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
    if [ "$rc" != 0 ]; then
        failed+=("$target")
    fi
done
echo "fuzzing took $(($(date +%s) - start))s"

for target in "${failed[@]}"; do
    printf '\n==== %s: the last 60 lines of its log ====\n' "$target"
    tail -n 60 "$work/$target.log"
    ls -l "fuzz/artifacts/$target/" 2>/dev/null || true
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]}"
    exit 1
fi
