#!/usr/bin/env bash
# Overload on one CPU: the release server pinned to core 0 with `taskset` (so its CPU probe, its Tokio runtime and
# `available_parallelism` all see one core), the load generator on core 1. Prints a markdown table.
#
#   bench/overload.sh [--binary PATH] [--old PATH] [--duration 30s] [--route patient|record]
#
# 1. Capacity: closed-loop wrk (2 threads, 32 connections, 10 s) on GET /api/v1/patients/{id} as staff.
# 2. Open loop with oha (`-q` fixed rate, latency corrected, every request stored in an SQLite file): 1×, 2× and
#    4× the capacity for --duration each, as a public caller (a patient reading their own record); per step the
#    2xx served per second, the p99 of the 2xx, the 503s, their p99 and whether each carried `Retry-After`
#    (checked with curl on a sample while the 4× flood runs).
# 3. Staff under a public flood: the 4× public flood plus staff requests at 5 % of capacity; staff success rate.
# --old PATH runs the same steps against another binary (the previous release) after ours.
# Needs: wrk, oha (cargo install oha), taskset, curl, python3.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/target/release/gospital"; OLD=""; DURATION=30s
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) BIN="$2"; shift 2 ;;
    --old) OLD="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in wrk oha taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (see --help)" >&2; exit 2; }
done
[[ -x $BIN ]] || { echo "no server binary at $BIN (cargo build --release)" >&2; exit 2; }

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# start <binary> <name>: the server on core 0, SQLite, auth local, auditing on; sets PORT, STAFF, BASE.
start() {
  local bin="$1" name="$2"
  PORT="$(free_port)"; BASE="http://127.0.0.1:$PORT"
  mkdir -p "$WORK/$name"
  STAFF="$(cd "$WORK/$name" && "$bin" token --role admin,doctor,receptionist --sub bench-staff --ttl 2h)"
  (cd "$WORK/$name" && exec env GOSPITAL_RATE_LIMIT_PER_SECOND=0 GOSPITAL_ADDR="127.0.0.1:$PORT" \
     DATABASE_URL="sqlite://$WORK/$name/gospital.db" taskset -c 0 "$bin" >"$WORK/$name.log" 2>&1) &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -sf "$BASE/health/live" >/dev/null && break; sleep 0.1; done
  PATIENT="$(curl -sf -X POST -H 'content-type: application/json' -H "authorization: Bearer $STAFF" \
    -d '{"firstName":"Load","lastName":"Test","dateOfBirth":"1980-01-01","gender":"other","email":"load@example.org","phone":"+1 555 010 0000","address":{"street":"1 Main St","city":"Springfield","state":"IL","zipCode":"62701","country":"USA"}}' \
    "$BASE/api/v1/patients" | python3 -c 'import json,sys; print(json.load(sys.stdin)["patientId"])')"
  PUBLIC="$(cd "$WORK/$name" && "$bin" token --role patient --patient "$PATIENT" --sub bench-patient --ttl 2h)"
  URL="$BASE/api/v1/patients/$PATIENT"
}
stop() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# open_loop <rate> <token> <db file>: oha at a fixed rate on core 1.
open_loop() {
  taskset -c 1 oha --no-tui -z "$DURATION" -q "$1" -c 512 --latency-correction --db-url "$3" \
    -H "Authorization: Bearer $2" "$URL" >/dev/null 2>&1 || true
}

# summary <db file> <seconds>: "2xx/s|p99 2xx ms|503 count|p99 503 ms|other".
summary() {
  python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db, secs = sys.argv[1], float(sys.argv[2])
# Latency from the scheduled send time (oha's latency correction), so a queue in front of the server counts.
rows = sqlite3.connect(db).execute(
    "SELECT status, end - COALESCE(start_latency_correction, start) FROM oha").fetchall()
def p99(xs):
    xs = sorted(xs)
    return f"{xs[int(len(xs) * 0.99) - 1] * 1000:.1f}" if xs else "-"
ok = [d for s, d in rows if 200 <= s < 300]
shed = [d for s, d in rows if s == 503]
other = len(rows) - len(ok) - len(shed)
print(f"{len(ok) / secs:.0f}|{p99(ok)}|{len(shed)}|{p99(shed)}|{other}")
PY
}

ROWS=()
run() {
  local bin="$1" name="$2" secs="${DURATION%s}"
  start "$bin" "$name"
  local cap
  # Served (2xx) per second: a closed loop past capacity may itself be shed in part.
  cap="$(taskset -c 1 wrk -t2 -c32 -d10s -H "Authorization: Bearer $STAFF" "$URL" |
    awk '/requests in/ {n=$1} /Non-2xx/ {e=$NF} END {printf "%.0f", (n-e)/10}')"
  ROWS+=("| $name | capacity (closed loop, wrk -c32) | $cap | | | | | |")
  local x base_p99=""
  for x in 1 2 4; do
    local rate=$((cap * x)) db="$WORK/$name-$x.db" retry="-"
    if [[ $x == 4 ]]; then
      open_loop "$rate" "$PUBLIC" "$db" &
      local flood=$!
      sleep 5
      # A sample of answers during the flood: every 503 must carry Retry-After.
      retry="$(for _ in $(seq 50); do curl -s -o /dev/null -D - -H "Authorization: Bearer $PUBLIC" "$URL"; done |
        python3 -c 'import sys
blocks = sys.stdin.read().split("HTTP/1.1 ")[1:]
shed = [b for b in blocks if b.startswith("503")]
carried = sum("retry-after:" in b.lower() for b in shed)
print(str(carried) + "/" + str(len(shed)))')"
      wait "$flood"
    else
      open_loop "$rate" "$PUBLIC" "$db"
    fi
    local s; s="$(summary "$db" "$secs")"
    IFS='|' read -r served p99 shed shed_p99 other <<<"$s"
    [[ $x == 1 ]] && base_p99="$p99"
    ROWS+=("| $name | ${x}× ($rate req/s offered, public) | $served | $p99 | $shed | $shed_p99 | $other | $retry |")
  done
  # Staff at 5 % of capacity under the 4× public flood.
  local staff_rate=$((cap / 20)); [[ $staff_rate -lt 10 ]] && staff_rate=10
  open_loop $((cap * 4)) "$PUBLIC" "$WORK/$name-flood.db" &
  local flood=$!
  taskset -c 1 oha --no-tui -z "$DURATION" -q "$staff_rate" -c 64 --latency-correction --db-url "$WORK/$name-staff.db" \
    -H "Authorization: Bearer $STAFF" "$URL" >/dev/null 2>&1 || true
  wait "$flood"
  local staff_ok
  staff_ok="$(python3 -c "import sqlite3; r=sqlite3.connect('$WORK/$name-staff.db').execute('SELECT status FROM oha').fetchall(); print(f'{100*sum(200<=s<300 for (s,) in r)/max(len(r),1):.1f} % of {len(r)}')")"
  ROWS+=("| $name | staff at $staff_rate req/s under the 4× public flood | success $staff_ok | | | | | |")
  ROWS+=("| $name | peak RSS | $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$SERVER_PID/status") | | | | | |")
  stop
}

run "$BIN" new
[[ -n $OLD ]] && run "$OLD" previous

echo
echo "$(date -u +%Y-%m-%d) · server on 1 core (taskset -c 0), load on the other · SQLite, auth local, auditing on · $DURATION per step"
echo
echo "| Server | Load | 2xx/s (served) | p99 2xx ms | 503s | p99 503 ms | other | 503 with Retry-After |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
