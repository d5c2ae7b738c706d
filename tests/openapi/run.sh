#!/usr/bin/env bash
# Contract checks of the OpenAPI document: schemathesis against the live /openapi.json, then a Python client
# generated from that same document running a scripted walk-through (walkthrough.py).
#
#   tests/openapi/run.sh [--binary PATH] [--database-url URL] [--reset-database] [--seed N]
#                        [--max-examples N] [--workers N] [--results DIR] [--only schemathesis|client]
#                        [-- extra schemathesis run options]
#
# Starts the server binary (--binary, else `cargo build --locked --bin gospital` and target/debug/gospital)
# on a free 127.0.0.1 port with a fresh SQLite database in a temp dir, or on --database-url (a MySQL/MariaDB
# URL; GOSPITAL_MIGRATE=true is set), waits for /health/live, then runs both steps, each even if the other failed.
# The Python tools live in tests/openapi/.venv (pinned in requirements.txt; rebuilt when that file changes).
# Reports go to tests/openapi/results/<UTC timestamp>/ (git-ignored). Nothing but PyPI is reached, and only
# while the venv is (re)built. Server settings other than the address and database come from the environment
# (GOSPITAL_*), except the CPU shedder, which is off (GOSPITAL_CPU_SHED_OPEN=0) unless set.
# Exit status: 0 both steps clean; 1 a finding (schemathesis failure, generation warning, walk-through
# failure); 2 usage or set-up error (no binary, server did not start, venv install failed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# Defaults (measured figures in README.md): 100 examples per operation keep the schemathesis step near 100 s
# on a 2-core machine with a debug binary, leaving room under a 3-4 minute budget for a server that accepts
# (and so stores) more of what it is sent. One worker: with a fixed seed the run is then repeatable (same
# cases, same failures); two workers were no faster here, where the server needs the other core.
seed=20261125
max_examples=100
workers=1
binary=""
database_url=""
reset_database=0
results=""
only=""
st_extra=()

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "openapi/run.sh: $*" >&2; exit 2; }
log() { echo "== [$(date -u +%H:%M:%S)] $*"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --database-url) database_url="${2:?--database-url needs a URL}"; shift 2 ;;
    --reset-database) reset_database=1; shift ;;
    --seed) seed="${2:?--seed needs a value}"; shift 2 ;;
    --max-examples) max_examples="${2:?--max-examples needs a value}"; shift 2 ;;
    --workers) workers="${2:?--workers needs a value}"; shift 2 ;;
    --results) results="${2:?--results needs a directory}"; shift 2 ;;
    --only) only="${2:?--only needs schemathesis or client}"; shift 2 ;;
    --) shift; st_extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$seed" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer, got '$seed'"
[[ "$max_examples" =~ ^[1-9][0-9]*$ ]] || die "--max-examples must be a positive integer, got '$max_examples'"
[[ "$workers" =~ ^([1-9][0-9]*|auto)$ ]] || die "--workers must be a positive integer or 'auto', got '$workers'"
case "$only" in ""|schemathesis|client) ;; *) die "--only takes schemathesis or client, got '$only'" ;; esac
case "$database_url" in
  ""|mysql://*|mariadb://*) ;;
  *) die "--database-url must be a mysql:// URL (SQLite is the default, in a temp dir), got '$database_url'" ;;
esac
[[ $reset_database == 0 || -n $database_url ]] || die "--reset-database needs --database-url"
[[ -z $binary || -x $binary ]] || die "no executable server binary at '$binary'"

# --- Python 3.11+ and the pinned venv ---------------------------------------------------------------------
python="${PYTHON:-}"
if [[ -z $python ]]; then
  python="$(command -v python3.11 || command -v python3 || true)"
fi
[[ -n $python ]] || die "python3 (3.11 or newer) is needed; set PYTHON=/path/to/python3.11"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "$python is $("$python" -V 2>&1); schemathesis 4 and openapi-python-client 0.29 need Python 3.11+"

venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/schemathesis" || ! -x "$venv/bin/openapi-python-client" || ! -f "$stamp" \
      || "$(cat "$stamp")" != "$want" ]]; then
  log "installing the pinned tools into $venv (requirements.txt)"
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "cannot create the venv at $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" \
    || die "pip install -r $req failed (PyPI reachable?)"
  echo "$want" >"$stamp"
fi
log "tools: $("$venv/bin/schemathesis" --version), $("$venv/bin/openapi-python-client" --version)"

# --- the server binary --------------------------------------------------------------------------------------
if [[ -z $binary ]]; then
  log "building the server (cargo build --locked --bin gospital)"
  (cd "$root" && cargo build --locked --bin gospital) || die "cargo build failed"
  binary="${CARGO_TARGET_DIR:-$root/target}/debug/gospital"
fi
[[ -x $binary ]] || die "no executable server binary at '$binary'"
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

stamp_utc="$(date -u +%Y%m%dT%H%M%SZ)"
results="${results:-$here/results/$stamp_utc}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"

if [[ -n $database_url ]]; then
  db_url="$database_url"
  if [[ $reset_database == 1 ]]; then
    command -v mysql >/dev/null || die "--reset-database needs the mysql client (apt-get install -y mariadb-client)"
    # user, password, host, port and database name of the URL
    read -r m_user m_pass m_host m_port m_db < <("$venv/bin/python" -c '
import sys, urllib.parse as p
u = p.urlsplit(sys.argv[1])
db = u.path.lstrip("/").split("?")[0]
if not db or not all(c.isalnum() or c == "_" for c in db):
    sys.exit("database name must be [A-Za-z0-9_]+: " + repr(db))
print(p.unquote(u.username or "root"), p.unquote(u.password or "") or "-", u.hostname or "127.0.0.1", u.port or 3306, db)
' "$database_url") || die "cannot read user/host/database from --database-url"
    [[ $m_pass == - ]] && m_pass=""
    log "resetting MySQL database '$m_db' on $m_host:$m_port"
    MYSQL_PWD="$m_pass" mysql -h"$m_host" -P"$m_port" -u"$m_user" \
      -e "DROP DATABASE IF EXISTS \`$m_db\`; CREATE DATABASE \`$m_db\`" || die "cannot reset database '$m_db'"
  fi
  backend="mysql"
else
  db_url="sqlite://$work/gospital.db"
  backend="sqlite"
fi

# Mode local (the default) with a key of its own; one token with every staff role, so that every operation is
# allowed and what is tested is the contract, not the matrix (tests/api/auth.rs tests that). The per-principal
# rate limit is off: the fuzzer is one principal sending thousands of requests.
export GOSPITAL_AUTH_KEY_FILE="$work/gospital.key"
export GOSPITAL_AUDIT_KEY_FILE="$work/gospital-audit.key"
GOSPITAL_TOKEN="$("$binary" token --role admin,doctor,nurse,receptionist,billing,auditor --sub openapi-fuzzer --ttl 2h)" \
  || die "gospital token failed"
export GOSPITAL_TOKEN GOSPITAL_TOKEN_SUB=openapi-fuzzer
st_extra+=(--header "Authorization: Bearer $GOSPITAL_TOKEN")
log "starting $binary on $base ($backend; log: $results/server.log)"
(cd "$work" && exec env GOSPITAL_ADDR="127.0.0.1:$port" DATABASE_URL="$db_url" \
   GOSPITAL_CPU_SHED_OPEN="${GOSPITAL_CPU_SHED_OPEN:-0}" GOSPITAL_RATE_LIMIT_PER_SECOND=0 \
   ${database_url:+GOSPITAL_MIGRATE=true} "$binary" serve >"$results/server.log" 2>&1) &
server_pid=$!
up=0
for _ in $(seq 1 300); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if "$venv/bin/python" -c '
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1] + "/health/live", timeout=1).status == 200 else 1)
except Exception:
    sys.exit(1)' "$base"; then
    up=1; break
  fi
  sleep 0.2
done
if [[ $up != 1 ]]; then
  echo "openapi/run.sh: the server did not answer /health/live within 60 s; last lines of its log:" >&2
  tail -20 "$results/server.log" >&2 || true
  exit 2
fi
log "server is up (pid $server_pid)"
"$venv/bin/python" -c '
import sys, urllib.request
open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1] + "/openapi.json", timeout=10).read())' \
  "$base" "$results/openapi.json" || die "GET $base/openapi.json failed"

{
  echo "date:        $(date -u +%FT%TZ)"
  echo "scripts at:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "binary:      $binary"
  echo "backend:     $backend"
  echo "machine:     $(uname -srm), $(nproc) cores"
  echo "schemathesis seed=$seed max-examples=$max_examples workers=$workers"
} >"$results/run-info.txt"

status=0
summary=()

# --- (a) schemathesis ---------------------------------------------------------------------------------------
if [[ -z $only || $only == schemathesis ]]; then
  log "schemathesis: --checks all, seed $seed, --max-examples $max_examples, $workers workers (all phases)"
  st_start=$SECONDS
  st_rc=0
  # --generation-database none: no .hypothesis/ example store, so a run depends on the seed alone, not on
  # what earlier runs on this machine found. --continue-on-failure: an operation is not dropped at its first
  # failure, so the report lists every distinct failure and a failing run costs what a passing one does.
  # hooks.py turns generated positive cases that break a rule no schema can state (clock, cross-field) into
  # ones that keep it, so positive_data_acceptance tests the schema and not the fuzzer's luck.
  PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=hooks \
  "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$base/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --workers "$workers" \
    --request-timeout 10 \
    --generation-database none \
    --continue-on-failure \
    --report junit,json \
    --report-dir "$results/schemathesis" \
    --no-color \
    ${st_extra[@]+"${st_extra[@]}"} \
    2>&1 | tee "$results/schemathesis.log" || st_rc=${PIPESTATUS[0]}
  st_time=$((SECONDS - st_start))
  echo
  "$venv/bin/python" "$here/summarize.py" "$results" || echo "openapi/run.sh: (could not summarise the reports)" >&2
  if [[ $st_rc == 0 ]]; then
    summary+=("schemathesis: passed in ${st_time}s")
  else
    summary+=("schemathesis: FAILED (exit $st_rc) in ${st_time}s; reports in $results/schemathesis/")
    status=1
  fi
fi

# --- (b) generated client and the walk-through ------------------------------------------------------------
if [[ -z $only || $only == client ]]; then
  log "openapi-python-client: generating a client from $base/openapi.json"
  cl_start=$SECONDS
  gen="$work/client"
  mkdir -p "$gen"
  gen_rc=0
  # --meta none writes only the importable package, which is then put on PYTHONPATH: that is the whole of
  # "installing" it (its dependencies, httpx and attrs, are pinned in requirements.txt).
  "$venv/bin/openapi-python-client" generate --path "$results/openapi.json" --meta none \
    --config "$here/client-config.yaml" --output-path "$gen/gospital_client" --overwrite \
    >"$results/client-generate.log" 2>&1 || gen_rc=$?
  cat "$results/client-generate.log"
  if [[ $gen_rc != 0 || ! -f "$gen/gospital_client/client.py" ]]; then
    summary+=("client generation: FAILED (exit $gen_rc); see $results/client-generate.log")
    status=1
  else
    if grep -qiE 'warning|could not|unable to|not supported|skipp' "$results/client-generate.log"; then
      summary+=("client generation: WARNINGS (endpoints or models may be missing); see $results/client-generate.log")
      status=1
    else
      summary+=("client generation: clean")
    fi
    # Keep a copy of what was generated next to the reports (git-ignored), for reading the failures.
    rm -rf "$results/generated-client" && cp -r "$gen/gospital_client" "$results/generated-client"
    log "walk-through with the generated client"
    wt_rc=0
    PYTHONPATH="$gen${PYTHONPATH:+:$PYTHONPATH}" "$venv/bin/python" "$here/walkthrough.py" --base-url "$base" \
      --openapi "$results/openapi.json" \
      2>&1 | tee "$results/walkthrough.log" || wt_rc=${PIPESTATUS[0]}
    if [[ $wt_rc == 0 ]]; then
      summary+=("walk-through: passed")
    else
      summary+=("walk-through: FAILED (exit $wt_rc); see $results/walkthrough.log")
      status=1
    fi
  fi
  summary+=("client step took $((SECONDS - cl_start))s")
fi

echo
log "summary ($backend, results in $results)"
printf '   %s\n' "${summary[@]}" | tee -a "$results/run-info.txt"
exit "$status"
