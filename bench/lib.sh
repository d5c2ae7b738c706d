# Helpers shared by the bench/ scripts (sourced, not run).

# wrk_summary OUTPUT: wrk's --latency report as "req/s|p50|p99|errors" (errors = non-2xx answers + socket errors).
wrk_summary() {
  local out="$1" rps p50 p99 non2xx sock
  rps="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  sock="$(awk '/Socket errors/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out")"
  echo "$rps|$p50|$p99|$(( ${non2xx:-0} + ${sock:-0} ))"
}

# wrk_requests OUTPUT: how many requests the run completed.
wrk_requests() { awk '/requests in/ {print $1}' <<<"$1"; }

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# workspace: sets WORK (a fresh temp dir) and PIDS; on exit every PID in PIDS is killed and WORK removed.
workspace() {
  WORK="$(mktemp -d)"
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
}

# against_old <root> <new binary> <old binary> <build 0|1>: checks wrk and the previous release's binary, builds
# this one when asked, and checks it is there.
against_old() {
  local root="$1" new="$2" old="$3" build="$4"
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
  [[ -x $old ]] || { echo "--old must name the previous release's binary (see --help)" >&2; exit 2; }
  [[ $build == 1 ]] && (cd "$root" && cargo build --release --locked --bin gospital >&2)
  [[ -x $new ]] || { echo "no release binary at $new (drop --no-build)" >&2; exit 2; }
}

# serve <bin> <dir> <port> [env…]: starts a server (mode local, its keys in <dir>, unless env says otherwise) and
# waits for /health/live.
serve() {
  local bin="$1" dir="$2" port="$3"; shift 3
  mkdir -p "$dir"
  (cd "$dir" && exec env GOSPITAL_RATE_LIMIT_PER_SECOND=0 GOSPITAL_CPU_SHED_OPEN=0 GOSPITAL_AUTH=local "$@" \
     GOSPITAL_ADDR="127.0.0.1:$port" "$bin" >"$dir/log" 2>&1) &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && return 0; sleep 0.1; done
  echo "server in $dir did not start:" >&2; tail -5 "$dir/log" >&2; exit 1
}

# create_patient <port> <authorization header> <email>: registers a patient, prints its ID.
create_patient() {
  curl -sf -X POST -H 'content-type: application/json' -H "$2" \
    -d '{"firstName":"Bench","lastName":"Patient","dateOfBirth":"1980-01-01","email":"'"$3"'","phone":"+1 555 010 0000"}' \
    "http://127.0.0.1:$1/api/v1/patients" | python3 -c 'import json,sys; print(json.load(sys.stdin)["patientId"])'
}

# rss <pid>: the process's peak resident memory.
rss() { awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
