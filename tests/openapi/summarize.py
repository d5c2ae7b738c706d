#!/usr/bin/env python3
"""Summarises one schemathesis run of run.sh into findings.md: cases generated, failures by check, each unique
failure (operation, what the check saw, the response, the request to reproduce it), and the server's own count
of responses by status (from its JSON request log), so the 5xx figure does not depend on which checks ran.

    summarize.py RESULTS_DIR        (reads RESULTS_DIR/schemathesis/{json,junit}-*.xml|json and server.log)

Standard library only. Prints the short summary to stdout and writes RESULTS_DIR/findings.md.
"""

from __future__ import annotations

import collections
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def newest(pattern: str) -> str | None:
    paths = sorted(glob.glob(pattern), key=os.path.getmtime)
    return paths[-1] if paths else None


def parse_case(text: str) -> dict:
    """One `N. Test Case ID: X` block of a JUnit failure: the checks it failed and the request/response."""
    case: dict = {"id": "", "checks": [], "response": "", "reproduce": ""}
    m = re.search(r"Test Case ID: (\S+)", text)
    case["id"] = m.group(1) if m else "?"
    head, _, rest = text.partition("\n[")
    for chunk in re.split(r"\n- (?=ST\d{3} )", head)[1:]:
        first, _, body = chunk.partition("\n")
        code, _, title = first.partition(" ")
        lines = [ln.strip() for ln in body.strip().splitlines() if ln.strip()]
        case["checks"].append({"code": code, "title": title.strip(), "detail": lines})
    if rest:
        status_line, _, after = rest.partition("\n")
        body = after.split("Reproduce with:")[0].strip()
        case["response"] = "[" + status_line.strip() + " " + body.strip().strip("`")
    m = re.search(r"Reproduce with:\s*\n\s*\n?\s*(.+?)(?:\n\s*\n|\Z)", text, re.S)
    if m:
        case["reproduce"] = " ".join(m.group(1).split())
    return case


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    results = sys.argv[1]
    report_json = newest(os.path.join(results, "schemathesis", "json-*.json"))
    report_junit = newest(os.path.join(results, "schemathesis", "junit-*.xml"))
    if not report_json or not report_junit:
        print(f"summarize.py: no schemathesis JSON/JUnit report under {results}/schemathesis", file=sys.stderr)
        return 1
    meta = json.load(open(report_json))

    failures = []  # (operation, case)
    root = ET.parse(report_junit).getroot()
    for tc in root.iter("testcase"):
        for f in list(tc.findall("failure")) + list(tc.findall("error")):
            text = f.text or ""
            for block in re.split(r"\n(?=\d+\. Test Case ID: )", "\n" + text):
                if "Test Case ID:" in block:
                    failures.append((tc.get("name"), parse_case(block.strip())))

    statuses: collections.Counter = collections.Counter()
    five_xx: collections.Counter = collections.Counter()
    server_log = os.path.join(results, "server.log")
    if os.path.exists(server_log):
        for line in open(server_log, errors="replace"):
            try:
                fields = json.loads(line).get("fields", {})
            except ValueError:
                continue
            if fields.get("message") == "request" and "status" in fields:
                s = int(fields["status"])
                statuses[f"{s // 100}xx"] += 1
                if s >= 500:
                    five_xx[f"{s} {fields.get('method')} {fields.get('route')}"] += 1

    tc = meta.get("test_cases", {})
    by_code = collections.OrderedDict()
    for op, case in failures:
        for check in case["checks"]:
            by_code.setdefault((check["code"], check["title"]), []).append((op, case, check))

    out = []
    out.append("# schemathesis findings\n")
    out.append(f"- command: `{meta.get('command')}`")
    out.append(f"- schemathesis {meta.get('schemathesis_version')}, seed {meta.get('seed')}, "
               f"running time {meta.get('running_time', 0):.1f} s, stop reason {meta.get('stop_reason')}")
    out.append(f"- operations: {meta.get('operations', {}).get('tested')} tested of "
               f"{meta.get('operations', {}).get('total')}")
    out.append(f"- test cases: {tc.get('generated')} generated, {tc.get('with_failures')} with failures, "
               f"{tc.get('unique_failures')} unique failures, {tc.get('errored')} errored")
    out.append("- phases: " + ", ".join(f"{k} {v.get('status')}" for k, v in meta.get("phases", {}).items()))
    out.append("- server responses (its request log): "
               + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + f"; 5xx: {sum(five_xx.values())}")
    for k, v in five_xx.most_common():
        out.append(f"  - {v} × {k}")
    out.append("")
    out.append("## Failures by check (schemathesis' own counts)\n")
    for f in meta.get("failures", []):
        out.append(f"- {f.get('code')} {f.get('title')}: {f.get('count')}")
    warnings = {k: v for k, v in (meta.get("warnings") or {}).items() if v}
    if warnings:
        out.append("\n## Warnings\n")
        for k, v in warnings.items():
            out.append(f"- {k}: {v}")
    out.append("\n## Each failure\n")
    for (code, title), items in by_code.items():
        out.append(f"### {code} {title} ({len(items)})\n")
        for op, case, check in items:
            detail = " / ".join(check["detail"][:6])
            out.append(f"- **{op}** (case {case['id']}): {detail}")
            if case["response"]:
                resp = case["response"]
                out.append(f"  - response: `{resp[:400]}{'…' if len(resp) > 400 else ''}`")
            if case["reproduce"]:
                rep = case["reproduce"]
                out.append(f"  - request: `{rep[:600]}{'…' if len(rep) > 600 else ''}`")
        out.append("")
    path = os.path.join(results, "findings.md")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")

    print(f"schemathesis: {tc.get('generated')} cases generated, {tc.get('unique_failures')} unique failures; "
          f"server 5xx responses: {sum(five_xx.values())}")
    for f in meta.get("failures", []):
        print(f"  {f.get('code')} {f.get('title')}: {f.get('count')}")
    print(f"  details: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
