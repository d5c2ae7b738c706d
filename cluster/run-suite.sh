#!/usr/bin/env bash
# The cluster fault suite, end to end: start the cluster (cluster/cluster.sh), run cluster/suite.py against it
# (scenarios 1-7, then 8 on a single SQLite process), stop the cluster whatever happened. Exit 0 only when every
# scenario passed. `.ci/run` runs this.
#
#   cluster/run-suite.sh [--binary PATH] [--only 1,2,...]     (default: every scenario, a release build)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/target/cluster-tools/venv"
start_args=()
suite_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) start_args+=(--binary "$2"); suite_args+=(--binary "$2"); shift 2 ;;
        --only) suite_args+=(--only "$2"); shift 2 ;;
        *) echo "run-suite: unknown option $1" >&2; exit 2 ;;
    esac
done

if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$ROOT/cluster/requirements.txt" "$VENV/requirements.txt"; then
    echo "== the suite's Python packages (cluster/requirements.txt)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$ROOT/cluster/requirements.txt"
    cp "$ROOT/cluster/requirements.txt" "$VENV/requirements.txt"
fi

trap '"$ROOT/cluster/cluster.sh" stop >/dev/null 2>&1 || true' EXIT
"$ROOT/cluster/cluster.sh" start "${start_args[@]}"
"$VENV/bin/python" "$ROOT/cluster/suite.py" --json "$ROOT/target/cluster/suite.json" "${suite_args[@]}"
