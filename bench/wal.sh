#!/usr/bin/env bash
# The SQLite WAL under a steady load of audited reads: GET /api/v1/patients/{id}, where every read commits its
# audit event while other reads hold their snapshots, the load under which PASSIVE checkpoints alone never let
# SQLite start the WAL over. This build against a previous release, alternating, each round on a fresh database;
# the size of gospital.db-wal is sampled every second. Prints a markdown table.
#
#   bench/wal.sh --old PATH/TO/previous/gospital [--duration 30s] [--rounds 2] [--connections 32] [--no-build]
#
# A previous release, e.g.: git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release)
set -euo pipefail

DURATION=30s; CONNECTIONS=32; THREADS=2; ROUNDS=2; BUILD=1; OLD=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --old) OLD="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NEW="$ROOT/target/release/gospital"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
against_old "$ROOT" "$NEW" "$OLD" "$BUILD"
workspace

# wal_sampler <file> <out>: until killed, "largest last" size of <file> in MiB, every second.
wal_sampler() {
  local file="$1" out="$2" largest=0 size
  while true; do
    size="$(stat -c %s "$file" 2>/dev/null || echo 0)"
    (( size > largest )) && largest=$size
    echo "$(( largest >> 20 )) $(( size >> 20 ))" >"$out"
    sleep 1
  done
}

ROWS=()
# round <bin> <label> <n>: a fresh server and database under the read load; appends a row.
round() {
  local bin="$1" label="$2" n="$3" dir="$WORK/$2-$3" port
  port="$(free_port)"
  serve "$bin" "$dir" "$port" DATABASE_URL="sqlite://$dir/gospital.db"
  local pid=${PIDS[-1]} token patient
  token="Authorization: Bearer $(cd "$dir" && "$bin" token --role receptionist --sub bench)"
  patient="$(create_patient "$port" "$token" wal@example.org)"
  wal_sampler "$dir/gospital.db-wal" "$dir/wal" & local sampler=$!
  local out
  out="$(wrk -t$THREADS -c"$CONNECTIONS" -d"$DURATION" --latency -H "$token" "http://127.0.0.1:$port/api/v1/patients/$patient")"
  sleep 1
  kill "$sampler" 2>/dev/null || true
  local sizes summary
  sizes="$(cat "$dir/wal")"; summary="$(wrk_summary "$out")"
  ROWS+=("| $label | $n | ${sizes% *} | ${sizes#* } | ${summary//|/ | } |")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

for n in $(seq "$ROUNDS"); do
  round "$NEW" "this build" "$n"
  round "$OLD" "previous release" "$n"
done

echo
echo "$(date -u +%F) · $(nproc) cores · wrk -t$THREADS -c$CONNECTIONS -d$DURATION GET patient (audited) · this build vs $OLD, alternating"
echo
echo "| Server | Round | Largest WAL (MiB) | WAL after the load (MiB) | Requests/s | p50 | p99 | Errors |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
