#!/usr/bin/env bash
# One-command runner of the Gospital Locust experiments.
#
#   load_test/run.sh bulkhead|database [--users N] [--time 60s] [--host URL] [--spawn-rate R]
#                    [--class UserClass]... [--server-log FILE] [--out DIR] [-- extra locust options]
#
# Creates load_test/.venv from the pinned load_test/requirements.txt (once; again when the file changes),
# checks that a server answers on --host, runs Locust headless and writes CSV (--csv) and HTML (--html)
# reports to load_test/results/<experiment>-<UTC timestamp>/, then prints a per-class summary.
# Exit status: 0 run done (503/504 rejections and 409 clashes are expected outcomes), 2 the run saw
# unexpected failures (other statuses, connection errors), 1 usage error, no server, or Locust failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --users N        simulated users (default 50)
  --time T         run time, Locust syntax: 30s, 2m (default 60s)
  --host URL       server base URL (default http://127.0.0.1:8080)
  --spawn-rate R   users started per second (default: all of them within one second)
  --class NAME     run only this user class (repeatable): StaffUser, PublicUser (bulkhead);
                   RelationalUser, RecordsUser (database)
  --server-log F   the server's stdout (JSON request log): also report the server-side latency of
                   each class for this run (server_latency.py), to tell it from the client's own delay
  --out DIR        report directory (default load_test/results/<experiment>-<timestamp>)
  --               pass the rest to locust unchanged

Environment knobs of the locustfiles are listed in their docstrings (LOADTEST_*).
EOF
}

die() { echo "run.sh: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || { usage >&2; exit 1; }
case "$1" in
  bulkhead|database) experiment="$1" ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; die "unknown experiment '$1' (bulkhead or database)" ;;
esac
shift

users=50 run_time=60s host=http://127.0.0.1:8080 spawn_rate="" out="" server_log="" classes=() extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --users) users="${2:?--users needs a value}"; shift 2 ;;
    --time|--run-time) run_time="${2:?--time needs a value}"; shift 2 ;;
    --host) host="${2:?--host needs a value}"; shift 2 ;;
    --spawn-rate) spawn_rate="${2:?--spawn-rate needs a value}"; shift 2 ;;
    --class) classes+=("${2:?--class needs a value}"); shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --server-log) server_log="${2:?--server-log needs a value}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ "$users" =~ ^[1-9][0-9]*$ ]] || die "--users must be a positive integer, got '$users'"
[[ "$run_time" =~ ^([0-9]+[hms])+$ ]] || die "--time must look like 60s, 2m or 1h30m, got '$run_time'"
spawn_rate="${spawn_rate:-$users}"
[[ -z "$server_log" || -r "$server_log" ]] || die "--server-log: cannot read '$server_log'"
host="${host%/}"

python="$(command -v python3 || true)"
[[ -n "$python" ]] || die "python3 is needed (3.9 or newer)"

# 1. Is a Gospital server answering? (before the slow virtualenv step)
if ! "$python" - "$host" <<'EOF'
import sys, urllib.request, urllib.error
url = sys.argv[1] + "/health/live"
try:
    with urllib.request.urlopen(url, timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except urllib.error.HTTPError as e:
    print(f"{url} answered {e.code}", file=sys.stderr)
except Exception as e:
    print(f"{url}: {e}", file=sys.stderr)
sys.exit(1)
EOF
then
  die "no Gospital server answering on $host (GET /health/live failed). Start one, e.g.
  GOSPITAL_ADDR=127.0.0.1:8080 target/release/gospital >/dev/null &
or point --host at a running server."
fi

# 2. Virtualenv with the pinned Locust, rebuilt when requirements.txt changes.
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/locust" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "run.sh: installing Locust into $venv (pinned in requirements.txt) ..."
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi

# 3. Run Locust headless.
stamp_utc="$(date -u +%Y%m%dT%H%M%SZ)"
# Names this run's requests (X-Request-Id lt-<class>-<run id>-<n>) and seed data.
LOADTEST_RUN_ID="$(date -u +%Y%m%d%H%M%S)$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
export LOADTEST_RUN_ID
out="${out:-$here/results/$experiment-$stamp_utc}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cmd=("$venv/bin/locust" -f "$here/locustfile_$experiment.py" --headless
     --host "$host" --users "$users" --spawn-rate "$spawn_rate" --run-time "$run_time"
     --csv "$out/locust" --csv-full-history --html "$out/report.html"
     --only-summary --stop-timeout 5 ${extra[@]+"${extra[@]}"} ${classes[@]+"${classes[@]}"})
{
  echo "date:    $(date -u +%FT%TZ)"
  echo "machine: $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  printf 'command: %s %s --users %s --time %s --host %s --spawn-rate %s' "$0" "$experiment" "$users" "$run_time" "$host" "$spawn_rate"
  for c in ${classes[@]+"${classes[@]}"}; do printf ' --class %s' "$c"; done
  echo
  echo "run id:  $LOADTEST_RUN_ID"
  env | grep -E '^LOADTEST_' | grep -v '^LOADTEST_RUN_ID=' | sed 's/^/env:     /' || true
  printf 'locust: '; printf '%q ' "${cmd[@]}"; echo
} >"$out/run.txt"

echo "run.sh: $experiment experiment: $users users${classes[*]:+ (${classes[*]})}, $run_time against $host"
echo "run.sh: Locust log -> $out/locust.log"
set +e
"${cmd[@]}" >"$out/locust.log" 2>&1
rc=$?
set -e

# 4. Summary.
echo
if [[ -f "$out/summary.txt" ]]; then
  cat "$out/summary.txt"
else
  echo "run.sh: Locust wrote no summary; last lines of its log:" >&2
  tail -n 20 "$out/locust.log" >&2
fi
if [[ -s "$out/locust_failures.csv" ]] && [[ "$(wc -l <"$out/locust_failures.csv")" -gt 1 ]]; then
  echo
  echo "Failures by request (from locust_failures.csv):"
  "$venv/bin/python" - "$out/locust_failures.csv" <<'EOF'
import csv, sys
rows = sorted(csv.DictReader(open(sys.argv[1])), key=lambda r: -int(r["Occurrences"]))
for r in rows[:15]:
    print(f'  {int(r["Occurrences"]):>7}  {r["Method"]:<5} {r["Name"]:<52} {r["Error"]}')
if len(rows) > 15:
    print(f"  ... {len(rows) - 15} more rows in the CSV")
EOF
fi
if [[ -n "$server_log" ]]; then
  echo
  sleep 1  # let the server flush its last log lines
  "$venv/bin/python" "$here/server_latency.py" "$server_log" --run-id "$LOADTEST_RUN_ID" \
    --csv "$out/server_latency.csv" | tee "$out/server_latency.txt" || true
fi
echo
echo "Reports in $out:"
echo "  report.html           Locust's HTML report (charts, per-request table, failures)"
echo "  locust_stats.csv      per request name: counts, failures, percentiles (Aggregated row last)"
echo "  locust_failures.csv   failures grouped by request name and error (rejections: 'rejected 503 ...')"
echo "  locust_classes.csv    per traffic class: outcomes and exact p50/p95/p99 (also summary.txt)"
echo "  locust_stats_history.csv, locust.log, run.txt, unexpected.jsonl (if any)${server_log:+, server_latency.txt/.csv}"
case "$rc" in
  0) ;;
  2) echo "run.sh: unexpected failures (neither success, clash nor 503/504): see unexpected.jsonl" >&2 ;;
  *) grep -m1 -o 'seeding failed.*' "$out/locust.log" | sed 's/^/run.sh: /' >&2 || true
     echo "run.sh: locust exited with status $rc (see $out/locust.log)" >&2; rc=1 ;;
esac
exit "$rc"
