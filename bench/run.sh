#!/usr/bin/env bash
# Benchmarks the release binary with wrk and prints a markdown table (requests/s, p50, p99, errors, peak RSS).
#
#   bench/run.sh [--mysql-url mysql://root@127.0.0.1:3306] [--duration 10s] [--connections 32] [--threads 2]
#                [--baseline http://127.0.0.1:9090] [--no-build] [--binary PATH]
#
# SQLite always; MySQL when --mysql-url names a server (the script creates and drops its own database,
# `gospital_bench`, there). Workloads: GET patient by id, list patients, GET medical record, book appointments,
# register patients without and with an Idempotency-Key (alternating, 3 rounds each), and on SQLite registrations
# with durable (`full`, the default) against `normal` commits (alternating, 3 rounds each).
# --baseline URL also runs the GET-patient load against another server of the same API in alternation with
# ours (3 rounds each) and prints the throughput ratio. With MySQL, the GET-patient load alternates with sysbench
# `oltp_point_select` (32 threads, 10k rows, its own database `gospital_sysbench`) on the same server, 3 rounds
# each, and the API/DB ratio is printed; bookings report the server's statements and pings per booking (deltas
# of SHOW GLOBAL STATUS `Questions` and `Com_admin_commands`, audit writes included).
# --binary PATH benchmarks that binary instead of building this checkout's (a previous release, to compare: run
# the script alternately with each binary in one session).
# Load tools: wrk, sysbench, mariadb-client (apt-get install wrk sysbench mariadb-client).
set -euo pipefail

DURATION=10s; CONNECTIONS=32; THREADS=2; MYSQL_URL=""; BASELINE=""; BUILD=1; BIN_ARG=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mysql-url) MYSQL_URL="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --baseline) BASELINE="${2%/}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --binary) BIN_ARG="$2"; BUILD=0; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BIN="${BIN_ARG:-$ROOT/target/release/gospital}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
if [[ $BUILD == 1 ]]; then
  echo "building the release binary…" >&2
  (cd "$ROOT" && cargo build --release --locked --bin gospital >&2)
fi
[[ -x $BIN ]] || { echo "no release binary at $BIN (drop --no-build)" >&2; exit 2; }

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK" "$WRK_OUT_FILE"
}
trap cleanup EXIT

# start_server <name> [env…]: starts the binary with the given environment, waits for /health/live.
start_server() {
  local name="$1"; shift
  PORT="$(free_port)"
  mkdir -p "$WORK/$name"
  # Mode local by default, its key in the server's folder; one principal drives all load, so no rate limit.
  TOKEN="$(cd "$WORK/$name" && env "$@" "$BIN" token --role admin,doctor,receptionist,billing --sub bench)"
  (cd "$WORK/$name" && exec env GOSPITAL_RATE_LIMIT_PER_SECOND=0 "$@" GOSPITAL_ADDR="127.0.0.1:$PORT" "$BIN" >"$WORK/$name.log" 2>&1) &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && return 0
    sleep 0.1
  done
  echo "the $name server did not start; its log:" >&2; tail -20 "$WORK/$name.log" >&2; exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}

peak_rss_mb() { awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$SERVER_PID/status"; }

post() { curl -sf -X POST -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d "$2" "$1"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# seed <base URL>: 100 patients, 2 doctors, one medical record; sets PATIENT, PATIENTS, DOCTORS, RECORD.
seed() {
  local base="$1" i
  PATIENTS=""
  for i in $(seq 100); do
    local id
    id="$(post "$base/api/v1/patients" "{\"firstName\":\"Bench\",\"lastName\":\"Patient$i\",\"dateOfBirth\":\"1980-01-01\",\"gender\":\"other\",\"email\":\"bench$i.$RANDOM@example.org\",\"phone\":\"+1 555 010 0000\",\"address\":{\"street\":\"1 Main St\",\"city\":\"Springfield\",\"state\":\"IL\",\"zipCode\":\"62701\",\"country\":\"USA\"}}" | field patientId)"
    [[ $i -le $THREADS ]] && PATIENTS="${PATIENTS:+$PATIENTS,}$id"
    PATIENT="$id"
  done
  DOCTORS=""
  for i in $(seq "$THREADS"); do
    local id
    id="$(post "$base/api/v1/doctors" "{\"firstName\":\"Bench\",\"lastName\":\"Doctor$i\",\"email\":\"doc$i@example.org\",\"phone\":\"+1 555 010 1111\",\"specialty\":\"Cardiology\",\"licenseNumber\":\"LIC-BENCH-$i-$RANDOM\",\"departmentId\":\"DEPT-001\",\"yearsOfExperience\":5}" | field doctorId)"
    DOCTORS="${DOCTORS:+$DOCTORS,}$id"
  done
  RECORD="$(post "$base/api/v1/medical-records" "{\"patientId\":\"$PATIENT\",\"doctorId\":\"${DOCTORS%%,*}\",\"visitDate\":\"2026-11-20T09:30:00Z\",\"chiefComplaint\":\"Cough\",\"diagnosis\":\"Common cold\"}" | field recordId)"
}

# load <url> [wrk args…]: one wrk run; prints "req/s|p50|p99|errors" and leaves the request count in
# $WRK_OUT_FILE (a file, because the caller runs this in a subshell).
WRK_OUT_FILE="$(mktemp)"
load() {
  local url="$1"; shift
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$@" "$url")"
  wrk_requests "$out" >"$WRK_OUT_FILE"
  wrk_summary "$out"
}

ROWS=()
# bench_backend <name>: runs every workload against the server on $PORT.
bench_backend() {
  local name="$1" base="http://127.0.0.1:$PORT"
  seed "$base"
  local row
  for workload in "GET /api/v1/patients/{id}|$base/api/v1/patients/$PATIENT" \
                  "GET /api/v1/patients?limit=20|$base/api/v1/patients?limit=20" \
                  "GET /api/v1/medical-records/{id}|$base/api/v1/medical-records/$RECORD"; do
    row="$(load "${workload#*|}")"
    ROWS+=("| $name | ${workload%%|*} | ${row//|/ | } |")
  done
  local before=""
  [[ $name == mysql ]] && before="$(mysql_status)"
  row="$(BENCH_PATIENTS="$PATIENTS" BENCH_DOCTORS="$DOCTORS" load "$base/api/v1/appointments" -s "$ROOT/bench/book.lua")"
  ROWS+=("| $name | POST /api/v1/appointments | ${row//|/ | } |")
  if [[ -n $before ]]; then
    # Let the audit sequencer place this load's events too: they are part of what a booking costs.
    sleep 1
    read -r q0 p0 <<<"$before"; read -r q1 p1 <<<"$(mysql_status)"
    BOOKING_TRIPS="$(python3 -c "n=$(cat "$WRK_OUT_FILE"); print(f'{($q1-$q0)/n:.1f} statements and {($p1-$p0)/n:.2f} pings per booking over {n} bookings')")"
  fi
  # Registration without and with an Idempotency-Key, alternating (3 rounds each): the key's cost is the
  # difference, and alternating keeps the machine's drift out of it.
  for round in 1 2 3; do
    row="$(BENCH_IDEMPOTENCY=0 load "$base/api/v1/patients" -s "$ROOT/bench/register.lua")"
    ROWS+=("| $name | POST /api/v1/patients (round $round) | ${row//|/ | } |")
    row="$(BENCH_IDEMPOTENCY=1 load "$base/api/v1/patients" -s "$ROOT/bench/register.lua")"
    ROWS+=("| $name | POST /api/v1/patients + Idempotency-Key (round $round) | ${row//|/ | } |")
  done
  ROWS[-1]="${ROWS[-1]} $(peak_rss_mb) |"
  for i in $(seq 1 9); do ROWS[-1-i]="${ROWS[-1-i]} |"; done
}

start_server sqlite DATABASE_URL="sqlite://$WORK/sqlite/gospital.db"
bench_backend sqlite
if [[ -n $BASELINE ]]; then
  OURS="http://127.0.0.1:$PORT/api/v1/patients/$PATIENT"
  seed "$BASELINE"
  THEIRS="$BASELINE/api/v1/patients/$PATIENT"
  RATIOS=()
  for round in 1 2 3; do
    a="$(load "$OURS")"; b="$(load "$THEIRS")"
    RATIOS+=("| $round | ${a%%|*} | ${b%%|*} | $(python3 -c "print(f'{${a%%|*}/${b%%|*}:.2f}')") |")
  done
fi
stop_server

# What a durable SQLite commit costs (issue 16): registrations with the default GOSPITAL_SQLITE_SYNCHRONOUS=full
# (fsync per commit) against normal, each on a database of its own, alternating 3 rounds.
SYNC_ROWS=()
for round in 1 2 3; do
  for mode in full normal; do
    start_server "sync-$mode" DATABASE_URL="sqlite://$WORK/sync-$mode/gospital.db" GOSPITAL_SQLITE_SYNCHRONOUS="$mode"
    row="$(BENCH_IDEMPOTENCY=0 load "http://127.0.0.1:$PORT/api/v1/patients" -s "$ROOT/bench/register.lua")"
    SYNC_ROWS+=("| $round | $mode | ${row//|/ | } |")
    stop_server
  done
done

if [[ -n $MYSQL_URL ]]; then
  command -v mysql >/dev/null || { echo "the mysql client is missing (apt-get install -y mariadb-client)" >&2; exit 2; }
  read -r M_USER M_PASS M_HOST M_PORT < <(python3 -c '
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(u.username or "root", u.password or "-", u.hostname or "127.0.0.1", u.port or 3306)' "$MYSQL_URL")
  mysql_cli() { if [[ $M_PASS == - ]]; then mysql -h"$M_HOST" -P"$M_PORT" -u"$M_USER" "$@"; else MYSQL_PWD="$M_PASS" mysql -h"$M_HOST" -P"$M_PORT" -u"$M_USER" "$@"; fi; }
  mysql_cli -e 'DROP DATABASE IF EXISTS gospital_bench; CREATE DATABASE gospital_bench'
  AUTH="$M_USER"; [[ $M_PASS != - ]] && AUTH="$M_USER:$M_PASS"
  DB_URL="mysql://$AUTH@$M_HOST:$M_PORT/gospital_bench"
  (cd "$WORK" && DATABASE_URL="$DB_URL" "$BIN" migrate >"$WORK/migrate.log" 2>&1) || { cat "$WORK/migrate.log" >&2; exit 1; }
  # "Questions Com_admin_commands" of the server (the bench server is alone on it while it runs).
  mysql_status() {
    mysql_cli -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_admin_commands')" |
      awk '{v[$1]=$2} END {print v["Questions"], v["Com_admin_commands"]}'
  }
  start_server mysql DATABASE_URL="$DB_URL" GOSPITAL_DB_POOL_SIZE="${GOSPITAL_DB_POOL_SIZE:-16}"
  bench_backend mysql
  if command -v sysbench >/dev/null; then
    mysql_cli -e 'DROP DATABASE IF EXISTS gospital_sysbench; CREATE DATABASE gospital_sysbench'
    SB=(sysbench oltp_point_select --db-driver=mysql --mysql-host="$M_HOST" --mysql-port="$M_PORT" --mysql-user="$M_USER"
        --mysql-db=gospital_sysbench --tables=1 --table-size=10000 --threads=32 --time="${DURATION%s}")
    [[ $M_PASS != - ]] && SB+=(--mysql-password="$M_PASS")
    "${SB[@]}" prepare >/dev/null
    DB_RATIOS=()
    for round in 1 2 3; do
      db="$("${SB[@]}" run | awk '/queries:/ {gsub(/[(]/,""); print $3; exit}')"
      api="$(load "http://127.0.0.1:$PORT/api/v1/patients/$PATIENT")"
      IFS='|' read -r api_rps _ api_p99 _ <<<"$api"
      DB_RATIOS+=("| $round | ${db%.*} | $api_rps | $api_p99 | $(python3 -c "print(f'{$api_rps/$db:.2f}')") |")
    done
    "${SB[@]}" cleanup >/dev/null
    mysql_cli -e 'DROP DATABASE IF EXISTS gospital_sysbench'
  fi
  stop_server
  mysql_cli -e 'DROP DATABASE IF EXISTS gospital_bench'
fi

echo
echo "$(date -u +%Y-%m-%d) · $(nproc) cores · $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo) · wrk -t$THREADS -c$CONNECTIONS -d$DURATION, load generator on the same machine"
echo
echo "| Store | Request | Requests/s | p50 | p99 | Errors | Peak RSS |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [[ -n $BASELINE ]]; then
  echo
  echo "GET /api/v1/patients/{id}, alternating with $BASELINE:"
  echo
  echo "| Round | Gospital req/s | Baseline req/s | Ratio |"
  echo "|---|---|---|---|"
  printf '%s\n' "${RATIOS[@]}"
fi
echo
echo "SQLite POST /api/v1/patients by commit durability (GOSPITAL_SQLITE_SYNCHRONOUS), alternating:"
echo
echo "| Round | synchronous | Requests/s | p50 | p99 | Errors |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${SYNC_ROWS[@]}"
if [[ -n ${BOOKING_TRIPS:-} ]]; then
  echo
  echo "MariaDB per booking (SHOW GLOBAL STATUS deltas, audit included): $BOOKING_TRIPS"
fi
if [[ -n ${DB_RATIOS+x} ]]; then
  echo
  echo "GET /api/v1/patients/{id} on MariaDB against sysbench oltp_point_select (32 threads, 10k rows), alternating:"
  echo
  echo "| Round | sysbench queries/s | API req/s | API p99 | API/DB |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${DB_RATIOS[@]}"
fi
