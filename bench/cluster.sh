#!/usr/bin/env bash
# Cluster throughput (issue 16): GET /api/v1/patients/{id} and a mixed load (reads, searches, registrations)
# through HAProxy with 1, 2 and 3 instances of the cluster of cluster/cluster.sh, on this machine, and the CPU
# each request costs (user + system time of every process of the cluster over the run, per request).
#
#   bench/cluster.sh [--duration 10s] [--connections 32] [--binary PATH]
#
# Instances are taken out of HAProxy's rotation with its admin socket (`disable server`), not stopped, so every
# round runs on the same processes and the same database. The rate limit is off (one principal drives the load).
# Needs wrk (apt-get install wrk).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
DURATION=10s; CONNECTIONS=32; BINARY=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --binary) BINARY=(--binary "$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
DIR="${GOSPITAL_CLUSTER_DIR:-$ROOT/target/cluster}"

trap '"$ROOT/cluster/cluster.sh" stop >/dev/null 2>&1 || true' EXIT
GOSPITAL_RATE_LIMIT_PER_SECOND=0 "$ROOT/cluster/cluster.sh" start "${BINARY[@]}" >&2
# shellcheck disable=SC1091
source "$DIR/env"

token() {
  curl -sf -X POST "$OIDC_ISSUER/token" -d grant_type=client_credentials -d "client_id=gospital-$1" \
    -d "client_secret=secret-$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
TOKEN="$(token receptionist)"
PATIENT="$(curl -sf -X POST "$LB_URL/api/v1/patients" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"firstName":"Bench","lastName":"Cluster","dateOfBirth":"1980-01-01","email":"bench.cluster@example.org","phone":"+1 555 010 0000"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["patientId"])')"

admin() { python3 - "$DIR/haproxy.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n"); s.recv(65536)
EOF
}

# CPU seconds (user + system) of the cluster's processes named by a glob of their PID files: gospital-*, mariadb, …
cpu_seconds() {
  local total=0 f
  for f in "$DIR"/pids/$1.pid; do
    total="$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" '{print t + ($14 + $15) / hz}' "/proc/$(cat "$f")/stat")"
  done
  echo "$total"
}

GROUPS_=("gospital-*" mariadb haproxy "*")
run() { # run [wrk args…]: "req/s|p50|p99|errors|CPU ms per request of: instances|MariaDB|HAProxy|everything"
  local c0=() c1=() out n g
  for g in "${GROUPS_[@]}"; do c0+=("$(cpu_seconds "$g")"); done
  out="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$@")"
  for g in "${GROUPS_[@]}"; do c1+=("$(cpu_seconds "$g")"); done
  n="$(wrk_requests "$out")"
  local cpu=""
  for i in "${!GROUPS_[@]}"; do
    cpu="$cpu|$(python3 -c "print(f'{(${c1[$i]} - ${c0[$i]}) * 1000 / $n:.2f}')")"
  done
  echo "$(wrk_summary "$out")$cpu"
}

ROWS=()
for active in 1 2 3; do
  for n in 1 2 3; do
    if [[ $n -le $active ]]; then admin "enable server gospital/g$n"; else admin "disable server gospital/g$n"; fi
  done
  sleep 1
  row="$(run "$LB_URL/api/v1/patients/$PATIENT")"
  ROWS+=("| $active | GET /api/v1/patients/{id} | ${row//|/ | } |")
  row="$(BENCH_PATIENT="$PATIENT" run "$LB_URL" -s "$ROOT/bench/mixed.lua")"
  ROWS+=("| $active | mixed (GET patient, search, register) | ${row//|/ | } |")
done

echo
echo "$(date -u +%Y-%m-%d) · $(nproc) cores · wrk -t2 -c$CONNECTIONS -d$DURATION through HAProxy, everything on this machine · CPU ms per request: user + system time over the run / requests (\"all\" adds the emulator and the provider; wrk is not counted)"
echo
echo "| Instances | Request | Requests/s | p50 | p99 | Errors | CPU ms: instances | MariaDB | HAProxy | all |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
