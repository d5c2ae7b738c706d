#!/usr/bin/env python3
"""Server-side latency per traffic class of a load-test run, read from Gospital's JSON request log.

Every load-test request carries `X-Request-Id: lt-<class>-<run id>-<n>`; the server logs one JSON line per
request with that id, its status and `latency_ms` (measured inside the server, from routing to response).
Comparing these with Locust's client-side numbers separates the server's latency from the load generator's
own delay, which matters when Locust and the server share a small machine.

    python3 load_test/server_latency.py SERVER_LOG [--run-id ID] [--csv OUT.csv]

Without --run-id every load-test request in the log is counted. Needs only the standard library.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict


def pct(values: list[float], q: float) -> float:
    k = max(0, math.ceil(q * len(values)) - 1)
    return values[k]


def outcome(status: int) -> str:
    if status in (503, 504):
        return f"rejected {status}"
    if status >= 500:
        return f"error {status}"
    return "served"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", help="the server's stdout (JSON lines)")
    ap.add_argument("--run-id", help="only requests of this run (LOADTEST_RUN_ID; run.txt names it)")
    ap.add_argument("--csv", help="also write the table as CSV")
    args = ap.parse_args()

    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    with open(args.log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"lt-' not in line:
                continue
            try:
                fields = json.loads(line)["fields"]
                rid = fields["request_id"]
                status = int(fields["status"])
                latency = float(fields["latency_ms"])
            except (ValueError, KeyError, TypeError):
                continue
            parts = rid.split("-", 3)  # lt, class, run id, n
            if len(parts) != 4 or parts[0] != "lt":
                continue
            if args.run_id and parts[2] != args.run_id:
                continue
            times[(parts[1], outcome(status))].append(latency)

    if not times:
        print("no load-test requests found in the log" + (f" for run {args.run_id}" if args.run_id else ""),
              file=sys.stderr)
        return 1
    rows = []
    for (cls, out), v in sorted(times.items()):
        v.sort()
        rows.append({"class": cls, "outcome": out, "requests": len(v), "p50ms": round(pct(v, 0.5), 3),
                     "p95ms": round(pct(v, 0.95), 3), "p99ms": round(pct(v, 0.99), 3), "maxms": round(v[-1], 3)})
    print("Server-side latency (latency_ms of the server's request log):")
    print(f"{'class':<12}{'outcome':<14}{'requests':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  ms")
    for r in rows:
        print(f"{r['class']:<12}{r['outcome']:<14}{r['requests']:>9}{r['p50ms']:>9.2f}{r['p95ms']:>9.2f}"
              f"{r['p99ms']:>9.2f}{r['maxms']:>9.2f}")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
