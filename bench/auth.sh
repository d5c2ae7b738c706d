#!/usr/bin/env bash
# The cost of token verification per request (SECURITY.md §2): GET /api/v1/patients/{id} with a `local` token
# against the same server in mode `off`, alternating (3 rounds each), on SQLite and, with --mysql-url, on MySQL.
# Prints a markdown table (requests/s, p50, p99, non-2xx, peak RSS of each server).
#
#   bench/auth.sh [--mysql-url mysql://root@127.0.0.1:3306] [--duration 10s] [--connections 32] [--no-build]
set -euo pipefail

DURATION=10s; CONNECTIONS=32; THREADS=2; MYSQL_URL=""; BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mysql-url) MYSQL_URL="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/target/release/gospital"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[[ $BUILD == 1 ]] && (cd "$ROOT" && cargo build --release --locked --bin gospital >&2)
[[ -x $BIN ]] || { echo "no release binary at $BIN (drop --no-build)" >&2; exit 2; }

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
workspace

# load <url> [header]: "req/s|p50|p99|non-2xx"
load() {
  local out
  if [[ -n ${2:-} ]]; then out="$(wrk -t$THREADS -c"$CONNECTIONS" -d"$DURATION" --latency -H "$2" "$1")"
  else out="$(wrk -t$THREADS -c"$CONNECTIONS" -d"$DURATION" --latency "$1")"; fi
  echo "$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")|$(awk '$1=="50%" {print $2}' <<<"$out")|$(awk '$1=="99%" {print $2}' <<<"$out")|$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
}

ROWS=()
# compare <name> <database url>: one server per mode over the same database, alternating.
compare() {
  local name="$1" url="$2" key="$WORK/$1.key"
  local p_local p_off
  p_local="$(free_port)"; serve "$BIN" "$WORK/$name-local" "$p_local" DATABASE_URL="$url" GOSPITAL_AUTH=local GOSPITAL_AUTH_KEY_FILE="$key"
  local pid_local=${PIDS[-1]}
  p_off="$(free_port)"; serve "$BIN" "$WORK/$name-off" "$p_off" DATABASE_URL="$url" GOSPITAL_AUTH=off
  local pid_off=${PIDS[-1]}
  local token
  token="$(GOSPITAL_AUTH_KEY_FILE="$key" "$BIN" token --role receptionist --sub bench)"
  local patient
  patient="$(create_patient "$p_local" "authorization: Bearer $token" "auth.$RANDOM@example.org")"
  for round in 1 2 3; do
    local a b
    a="$(load "http://127.0.0.1:$p_local/api/v1/patients/$patient" "Authorization: Bearer $token")"
    ROWS+=("| $name | local (token) | $round | ${a//|/ | } |")
    b="$(load "http://127.0.0.1:$p_off/api/v1/patients/$patient")"
    ROWS+=("| $name | off | $round | ${b//|/ | } |")
  done
  ROWS+=("| $name | peak RSS | | local $(rss "$pid_local"), off $(rss "$pid_off") | | | |")
  kill "$pid_local" "$pid_off" 2>/dev/null || true
}

compare sqlite "sqlite://$WORK/bench.db"
if [[ -n $MYSQL_URL ]]; then
  mysql -h127.0.0.1 -uroot -e 'DROP DATABASE IF EXISTS gospital_bench_auth; CREATE DATABASE gospital_bench_auth'
  DB="${MYSQL_URL%/}/gospital_bench_auth"
  (cd "$WORK" && DATABASE_URL="$DB" "$BIN" migrate >/dev/null 2>&1)
  compare mysql "$DB"
  mysql -h127.0.0.1 -uroot -e 'DROP DATABASE IF EXISTS gospital_bench_auth'
fi

echo
echo "$(date -u +%F) · $(nproc) cores · wrk -t$THREADS -c$CONNECTIONS -d$DURATION · GET /api/v1/patients/{id}, alternating"
echo
echo "| Store | Mode | Round | Requests/s | p50 | p99 | Non-2xx |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
