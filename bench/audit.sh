#!/usr/bin/env bash
# The cost of the audit trail (SECURITY.md §5): GET /api/v1/patients/{id} (a read that waits for its event) and
# POST /api/v1/patients (a write whose event rides in its transaction) on this build against a previous release,
# alternating (3 rounds each), on SQLite and, with --mysql-url, on MySQL. Each server has its own database (the
# previous release does not know the audit migration). While this build is under load, /metrics is sampled for
# the sequencing lag and the events waiting for a seq. Prints a markdown table.
#
#   bench/audit.sh --old PATH/TO/previous/gospital [--mysql-url mysql://root@127.0.0.1:3306] [--duration 10s]
#                  [--connections 32] [--no-build]
#
# A previous release, e.g.: git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release)
set -euo pipefail

DURATION=10s; CONNECTIONS=32; THREADS=2; MYSQL_URL=""; BUILD=1; OLD=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --old) OLD="$2"; shift 2 ;;
    --mysql-url) MYSQL_URL="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NEW="$ROOT/target/release/gospital"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
against_old "$ROOT" "$NEW" "$OLD" "$BUILD"
workspace

# load <url> <header> [lua]: "req/s|p50|p99|non-2xx"
load() {
  local out
  if [[ -n ${3:-} ]]; then out="$(wrk -t$THREADS -c"$CONNECTIONS" -d"$DURATION" --latency -H "$2" -s "$3" "$1")"
  else out="$(wrk -t$THREADS -c"$CONNECTIONS" -d"$DURATION" --latency -H "$2" "$1")"; fi
  echo "$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")|$(awk '$1=="50%" {print $2}' <<<"$out")|$(awk '$1=="99%" {print $2}' <<<"$out")|$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
}

# lag_sampler <port> <file>: until killed, the largest sequencing lag (s) and waiting count seen, every 0.5 s.
lag_sampler() {
  local port="$1" file="$2" lag=0 waiting=0
  while true; do
    read -r l w < <(curl -sf "http://127.0.0.1:$port/metrics" | awk '
      /^audit_sequencing_lag_seconds/ {if ($2 > l) l = $2}
      /^audit_unsequenced_events/ {if ($2 > w) w = $2}
      END {printf "%s %s\n", l + 0, w + 0}') || true
    lag="$(python3 -c "print(max($lag, ${l:-0}))")"; waiting="$(python3 -c "print(int(max($waiting, ${w:-0})))")"
    echo "$lag $waiting" >"$file"
    sleep 0.5
  done
}

ROWS=()
# compare <name> <new database url> <old database url>
compare() {
  local name="$1" new_url="$2" old_url="$3"
  local p_new p_old
  p_new="$(free_port)"; serve "$NEW" "$WORK/$name-new" "$p_new" DATABASE_URL="$new_url"
  local pid_new=${PIDS[-1]}
  p_old="$(free_port)"; serve "$OLD" "$WORK/$name-old" "$p_old" DATABASE_URL="$old_url"
  local pid_old=${PIDS[-1]}
  local t_new t_old
  t_new="Authorization: Bearer $(cd "$WORK/$name-new" && "$NEW" token --role receptionist --sub bench)"
  t_old="Authorization: Bearer $(cd "$WORK/$name-old" && "$OLD" token --role receptionist --sub bench)"
  local email="audit.$RANDOM@example.org" pat_new pat_old
  pat_new="$(create_patient "$p_new" "$t_new" "$email")"
  pat_old="$(create_patient "$p_old" "$t_old" "$email")"
  lag_sampler "$p_new" "$WORK/$name.lag" & local sampler=$!
  for round in 1 2 3; do
    local a b
    a="$(load "http://127.0.0.1:$p_new/api/v1/patients/$pat_new" "$t_new")"; ROWS+=("| $name | GET patient | this build (audited) | $round | ${a//|/ | } |")
    b="$(load "http://127.0.0.1:$p_old/api/v1/patients/$pat_old" "$t_old")"; ROWS+=("| $name | GET patient | previous release | $round | ${b//|/ | } |")
  done
  for round in 1 2 3; do
    local a b
    a="$(load "http://127.0.0.1:$p_new" "$t_new" "$ROOT/bench/register.lua")"; ROWS+=("| $name | POST patient | this build (audited) | $round | ${a//|/ | } |")
    b="$(load "http://127.0.0.1:$p_old" "$t_old" "$ROOT/bench/register.lua")"; ROWS+=("| $name | POST patient | previous release | $round | ${b//|/ | } |")
  done
  kill "$sampler" 2>/dev/null || true
  local lag
  lag="$(cat "$WORK/$name.lag" 2>/dev/null || echo "? ?")"
  ROWS+=("| $name | sequencing | this build | | max lag ${lag% *} s, max waiting ${lag#* } | | | |")
  ROWS+=("| $name | peak RSS | | | this build $(rss "$pid_new"), previous $(rss "$pid_old") | | | |")
  kill "$pid_new" "$pid_old" 2>/dev/null || true
}

compare sqlite "sqlite://$WORK/new.db" "sqlite://$WORK/old.db"
if [[ -n $MYSQL_URL ]]; then
  for db in gospital_bench_audit_new gospital_bench_audit_old; do
    mysql -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  done
  (cd "$WORK" && DATABASE_URL="${MYSQL_URL%/}/gospital_bench_audit_new" "$NEW" migrate >/dev/null 2>&1)
  (cd "$WORK" && DATABASE_URL="${MYSQL_URL%/}/gospital_bench_audit_old" "$OLD" migrate >/dev/null 2>&1)
  compare mysql "${MYSQL_URL%/}/gospital_bench_audit_new" "${MYSQL_URL%/}/gospital_bench_audit_old"
  mysql -h127.0.0.1 -uroot -e 'DROP DATABASE IF EXISTS gospital_bench_audit_new; DROP DATABASE IF EXISTS gospital_bench_audit_old'
fi

echo
echo "$(date -u +%F) · $(nproc) cores · wrk -t$THREADS -c$CONNECTIONS -d$DURATION · this build vs $OLD, alternating"
echo
echo "| Store | Load | Server | Round | Requests/s | p50 | p99 | Non-2xx |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
