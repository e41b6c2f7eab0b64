#!/usr/bin/env python3
"""Prints the last `cargo bench` run's medians as a Markdown table per group.

    python3 benches/results.py [benches/target/criterion]

Reads criterion's `new/estimates.json` (median point estimate) and
`new/benchmark.json` (group, function, throughput) for every benchmark.
"""
import json
import sys
from pathlib import Path

# The order rows appear in within a group; anything else follows, sorted.
ORDER = [
    "wsproto",
    "wsproto_lent",
    "wsproto_256k_reads",
    "wsproto_recv_buffer",
    "wsproto_recv_buffer_4k",
    "wsproto_prefilled",
    "wsproto_to_sink",
    "wsproto_shared",
    "wsproto_shared_to_sink",
    "wsproto_seeded",
    "tungstenite",
    "tungstenite_4k",
    "fastwebsockets",
    "tokio-websockets",
    "yawc",
    "bare_frame_loop",
    "raw_flate2",
]

# Rows that are not implementations but the floor: the work itself.
FLOORS = ("bare_frame_loop", "raw_flate2")


def fmt_time(ns):
    if ns < 1_000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def main():
    here = Path(__file__).resolve().parent
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "target" / "criterion"
    groups = {}
    for bench in sorted(root.glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        median = est["median"]["point_estimate"]
        nbytes = (meta.get("throughput") or {}).get("Bytes")
        groups.setdefault(meta["group_id"], []).append((meta["function_id"], median, nbytes))
    for group in sorted(groups):
        rows = sorted(
            groups[group],
            key=lambda r: (ORDER.index(r[0]) if r[0] in ORDER else len(ORDER), r[0]),
        )
        # The best peer: the fastest row that is not one of ours (nor a
        # machine baseline).
        peers = [
            r
            for r in rows
            if r[0] not in FLOORS
            and not r[0].startswith(("wsproto", "baseline", "raw", "memcpy", "simdutf8", "std"))
        ]
        best = min(peers, key=lambda r: r[1]) if peers else None
        floor = next((r for r in rows if r[0] in FLOORS), None)
        print(f"\n### {group}\n")
        header = "| implementation | median time | median throughput |"
        if best:
            header += f" vs best peer ({best[0]}) |"
        if floor:
            header += f" vs floor ({floor[0]}) |"
        print(header)
        print("|---|---:|---:|" + ("---:|" if best else "") + ("---:|" if floor else ""))
        for name, median, nbytes in rows:
            thrpt = f"{nbytes / median:.2f} GB/s" if nbytes else "—"
            line = f"| {name} | {fmt_time(median)} | {thrpt} |"
            if best:
                # > 1 means faster than the best peer.
                line += f" {best[1] / median:.2f}× |"
            if floor:
                # 1 is the floor; 0.5 means twice its time.
                line += f" {floor[1] / median:.2f}× |"
            print(line)


if __name__ == "__main__":
    main()
