#!/usr/bin/env bash
# The whole benchmark suite in its short mode, with the peers in the same
# run, then the table of medians and ratios against the best peer. Numbers
# from a short run on a shared machine are rough: the table is printed, not
# judged. Each bench checks its outputs before it measures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

short=(--warm-up-time 0.2 --measurement-time 0.6 --sample-size 10)
for bench in receive send baseline inflate; do
    cargo bench --bench "$bench" -- "${short[@]}"
done
# The loopback echo benchmark has its own short mode.
WSPROTO_BENCH_QUICK=1 cargo bench --bench loopback
python3 results.py target/criterion
