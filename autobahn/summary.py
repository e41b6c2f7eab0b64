#!/usr/bin/env python3
"""Write the Autobahn results as one file: every case, per role and agent.

Usage:
    summary.py REPORTS_DIR OUT.json

Reads every index.json under REPORTS_DIR (the role directories, and the
batch directories of the deflate cases), and writes OUT.json:

    {"date": "...", "commit": "...", "results": {ROLE: {AGENT: {CASE: "OK" | "behavior/behaviorClose"}}},
     "counts": {ROLE: {AGENT: {"OK": n, ...}}}}

A case whose behavior and behaviorClose are both OK is "OK"; any other is
written as its two verdicts. The committed autobahn/results.json is this
file from a full run; CI writes a fresh one beside the reports.
"""
import datetime
import json
import os
import subprocess
import sys


def case_key(case_id):
    return [int(p) if p.isdigit() else p for p in case_id.split(".")]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    reports, out = sys.argv[1], sys.argv[2]
    results = {}
    for root, _dirs, files in os.walk(reports):
        if "index.json" not in files:
            continue
        rel = os.path.relpath(root, reports).split(os.sep)
        # .../ROLE/index.json or batch-N/ROLE/index.json
        role = rel[-1]
        with open(os.path.join(root, "index.json"), encoding="utf-8") as f:
            index = json.load(f)
        for agent, cases in index.items():
            slot = results.setdefault(role, {}).setdefault(agent, {})
            for case_id, r in cases.items():
                b, c = r.get("behavior"), r.get("behaviorClose")
                slot[case_id] = "OK" if b == c == "OK" else f"{b}/{c}"
    counts = {}
    for role, agents in results.items():
        for agent, cases in agents.items():
            tally = counts.setdefault(role, {}).setdefault(agent, {})
            for verdict in cases.values():
                tally[verdict] = tally.get(verdict, 0) + 1
            agents[agent] = dict(sorted(cases.items(), key=lambda kv: case_key(kv[0])))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "counts": counts,
        "results": results,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    for role, agents in sorted(counts.items()):
        for agent, tally in sorted(agents.items()):
            print(f"   {role}/{agent}: " + ", ".join(f"{v} {n}" for v, n in sorted(tally.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
