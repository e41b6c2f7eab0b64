#!/usr/bin/env python3
"""Check Autobahn|Testsuite reports.

Usage:
    check.py REPORTS_DIR [--role server] [--role client] [--expect ROLE=N ...]
             [--agent NAME ...]

For each role, reads REPORTS_DIR/ROLE/index.json (written by wstest), prints
how many cases got each verdict and lists every case whose `behavior` or
`behaviorClose` is not OK.

Exits non-zero if, in any role:
  * the report is missing or holds no case at all,
  * an agent named with --agent is missing from the report,
  * an agent's report holds a different number of cases than --expect ROLE=N
    says (each agent is one adapter under test, run over the same cases),
  * a case's behavior or behaviorClose is anything but "OK", except for the
    cases in ALLOWED below, which may also have the verdicts listed there.
"""
import argparse
import json
import os
import sys

# Cases that may be something other than OK, and which verdicts they may have.
# The suite records no verdict for these cases: they are always INFORMATIONAL,
# whatever the implementation under test does (see README.md).
ALLOWED = {
    "7.1.6": {"INFORMATIONAL"},
    "7.13.1": {"INFORMATIONAL"},
    "7.13.2": {"INFORMATIONAL"},
}

VERDICTS = ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"]


def case_key(case_id):
    """Sort "9.10.2" after "9.2.1"."""
    return [int(p) if p.isdigit() else p for p in case_id.split(".")]


def check_role(reports_dir, role, expected, agents):
    """Print the summary of one role; return a list of problems found."""
    path = os.path.join(reports_dir, role, "index.json")
    print(f"== {role} role ({path})")
    if not os.path.isfile(path):
        print("   no report")
        return [f"{role}: no report at {path}"]
    with open(path, encoding="utf-8") as f:
        index = json.load(f)

    problems = []
    total = 0
    for agent in agents:
        if agent not in index:
            problems.append(f"{role}: agent {agent!r} is not in the report")
    for agent in sorted(index):
        cases = index[agent]
        total += len(cases)
        if expected is not None and len(cases) != expected:
            problems.append(
                f"{role}/{agent}: the report holds {len(cases)} cases, {expected} were selected"
            )
        counts = {"behavior": dict.fromkeys(VERDICTS, 0)}
        counts["behaviorClose"] = dict.fromkeys(VERDICTS, 0)
        bad = []
        for case_id in sorted(cases, key=case_key):
            result = cases[case_id]
            behavior = result.get("behavior")
            close = result.get("behaviorClose")
            for field, verdict in (("behavior", behavior), ("behaviorClose", close)):
                counts[field][verdict] = counts[field].get(verdict, 0) + 1
            if behavior != "OK" or close != "OK":
                allowed = ALLOWED.get(case_id, set()) | {"OK"}
                ok = behavior in allowed and close in allowed
                bad.append((case_id, behavior, close, ok))
                if not ok:
                    problems.append(
                        f"{role}/{agent}: case {case_id}: "
                        f"behavior={behavior} behaviorClose={close}"
                    )
        print(f"   agent {agent!r}: {len(cases)} cases")
        for field, by_verdict in counts.items():
            print(
                f"   {field + ':':<15}"
                + ", ".join(f"{v} {n}" for v, n in by_verdict.items())
            )
        if bad:
            print("   cases not OK:")
            for case_id, behavior, close, ok in bad:
                note = "allowed" if ok else "FAIL"
                print(
                    f"     {case_id:<10} behavior={behavior:<14} "
                    f"behaviorClose={close:<14} [{note}]"
                )

    if total == 0:
        problems.append(f"{role}: the report holds no case (nothing ran)")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("reports_dir")
    parser.add_argument(
        "--role",
        action="append",
        help="role to check (server, client); default both",
    )
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="ROLE=N",
        help="number of cases each agent in the role's report must hold",
    )
    parser.add_argument(
        "--agent",
        action="append",
        default=[],
        metavar="NAME",
        help="agent that must be in every role's report",
    )
    args = parser.parse_args()

    expected = {}
    for item in args.expect:
        role, _, n = item.partition("=")
        expected[role] = int(n)

    problems = []
    for role in args.role or ["server", "client"]:
        problems += check_role(args.reports_dir, role, expected.get(role), args.agent)

    if problems:
        print(f"Autobahn check FAILED ({len(problems)} problems):")
        for p in problems:
            print(f"   {p}")
        return 1
    print("Autobahn check passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
