#!/usr/bin/env bash
# A local cluster on 127.0.0.1 (issue 16): three `gospital` instances (release build) behind HAProxy, one private
# MariaDB (R), the DynamoDB emulator (D) and the test OpenID Connect provider (tests/oidc). Every process is
# started here and stopped by its PID; every port is a free one picked at start; every log is in one folder.
#
#   cluster/cluster.sh start [--binary PATH]   build (unless --binary), start everything, print the addresses
#   cluster/cluster.sh stop                    stop everything this folder started (SIGTERM, then SIGKILL)
#   cluster/cluster.sh status                  what runs, and HAProxy's view of the instances
#   cluster/cluster.sh env                     the addresses as shell assignments (source it)
#   cluster/cluster.sh kill N | term N         SIGKILL / SIGTERM instance N (1-3); term waits for its exit
#   cluster/cluster.sh start-instance N        start instance N again on its port, wait until it is ready
#   cluster/cluster.sh kill-db | start-db      SIGKILL MariaDB / start it again on its port and data
#
# The folder is $GOSPITAL_CLUSTER_DIR (default target/cluster): `env` (addresses), `pids/`, `logs/`,
# `prometheus.yml` (the three instances as scrape targets, for the dashboard),
# MariaDB's and the emulator's data. MariaDB is a private `mariadbd` on a free port even when the machine has
# one on 3306: scenario 5 of the fault suite kills and restarts the database, which must be ours to kill.
# Tools it installs when missing: haproxy and mariadb-server/-client (apt), the emulator (npm, pinned), the
# provider's npm packages (tests/oidc, from its lock file).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${GOSPITAL_CLUSTER_DIR:-$ROOT/target/cluster}"
LOGS="$DIR/logs"
TOOLS="$ROOT/target/cluster-tools"
DYNOXIDE_VERSION=1.2.1
INSTANCES=(1 2 3)
# HAProxy checks readiness every 500 ms and takes an instance out after 2 failures; an instance told to stop
# keeps serving (readiness failing, `Connection: close`) for longer than that before it closes its listener.
CHECK_INTER_MS=500
SHUTDOWN_DELAY_MS="${GOSPITAL_CLUSTER_SHUTDOWN_DELAY_MS:-2000}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for SECONDS WHAT COMMAND...
    local seconds="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${seconds} s (logs: $LOGS)"
        sleep 0.2
    done
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$1/health/ready"; }

load_env() {
    [ -f "$DIR/env" ] || die "no cluster in $DIR (run: cluster/cluster.sh start)"
    # shellcheck disable=SC1091
    source "$DIR/env"
}

ensure_tools() {
    local missing=()
    command -v haproxy >/dev/null || missing+=(haproxy)
    [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
    command -v mariadb >/dev/null || missing+=(mariadb-client)
    command -v curl >/dev/null || missing+=(curl)
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]} (apt)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if [ ! -x "$TOOLS/node_modules/@dynoxide/linux-x64/dynoxide" ]; then
        say "installing the DynamoDB emulator (@dynoxide/linux-x64@$DYNOXIDE_VERSION, npm)"
        mkdir -p "$TOOLS"
        (cd "$TOOLS" && npm install --silent --no-save "@dynoxide/linux-x64@$DYNOXIDE_VERSION" >/dev/null)
    fi
    if [ ! -d "$ROOT/tests/oidc/node_modules/oidc-provider" ]; then
        say "installing the test identity provider (tests/oidc, npm ci)"
        (cd "$ROOT/tests/oidc" && npm ci --silent >/dev/null)
    fi
}

mariadb_args() {
    local args=(--no-defaults "--datadir=$DIR/mariadb" "--port=$DB_PORT" --bind-address=127.0.0.1
        "--socket=$DIR/mariadb.sock" "--pid-file=$DIR/mariadb.pid" --skip-name-resolve --skip-log-bin
        --innodb-buffer-pool-size=256M --max-connections=400 "--log-error=$LOGS/mariadb.log")
    # Durable commits (the default, said aloud): scenario 5 checks that every acknowledged write survives a kill.
    args+=(--innodb-flush-log-at-trx-commit=1)
    if [ "$(id -u)" = 0 ]; then args+=(--user=root); fi
    printf '%s\n' "${args[@]}"
}

start_db() {
    local args
    mapfile -t args < <(mariadb_args)
    /usr/sbin/mariadbd "${args[@]}" >>"$LOGS/mariadb.log" 2>&1 &
    echo $! >"$DIR/pids/mariadb.pid"
    wait_for 60 MariaDB answers "$DB_PORT"
}

instance_env() { # instance_env N: the settings of instance N, one NAME=value per line
    cat <<EOF
GOSPITAL_ADDR=127.0.0.1:$(port_of "$1")
DATABASE_URL=$DATABASE_URL
GOSPITAL_RECORDS_STORE=dynamodb
DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_REGION=us-east-1
GOSPITAL_AUTH=oidc
GOSPITAL_OIDC_ISSUER=$OIDC_ISSUER
GOSPITAL_OIDC_AUDIENCE=gospital-api
GOSPITAL_AUDIT_KEY_FILE=$DIR/audit.key
GOSPITAL_TRUSTED_PROXIES=127.0.0.1
GOSPITAL_SHUTDOWN_DELAY_MS=$SHUTDOWN_DELAY_MS
GOSPITAL_RATE_LIMIT_PER_SECOND=${GOSPITAL_RATE_LIMIT_PER_SECOND:-2000}
GOSPITAL_RATE_LIMIT_BURST=${GOSPITAL_RATE_LIMIT_BURST:-4000}
RUST_LOG=${RUST_LOG:-info,sqlx=warn}
EOF
}

port_of() { local v="PORT_$1"; echo "${!v}"; }

start_instance() {
    local n="$1" envs
    mapfile -t envs < <(instance_env "$n")
    env -i PATH="$PATH" HOME="${HOME:-/root}" "${envs[@]}" "$BINARY" serve >>"$LOGS/gospital-$n.log" 2>&1 &
    echo $! >"$DIR/pids/gospital-$n.pid"
    wait_for 60 "instance $n" ready "$(port_of "$n")"
}

haproxy_config() {
    cat <<EOF
global
    log stderr format raw local0 notice
    maxconn 4096
    stats socket $DIR/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server 10s
    timeout http-keep-alive 10s
    # A connection refused by an instance that is stopping or dead is tried on another one: the request never
    # reached the first, so this is safe for every method.
    retries 2
    option redispatch 1
    retry-on conn-failure

frontend api
    bind 127.0.0.1:$LB_PORT
    # Ready instances take the traffic. When none is ready, a store they share is down (readiness probes both
    # stores), and taking every instance out would answer HAProxy's own 503, without Retry-After, even for what
    # the other store could serve: then the live instances take it (Envoy's panic threshold; an AWS ALB fails
    # open the same way), and their breakers answer 503 with Retry-After.
    use_backend gospital if { nbsrv(gospital) gt 0 }
    default_backend gospital_live
    stats enable
    stats uri /haproxy-stats
    stats refresh 1s
EOF
    backend gospital /health/ready
    backend gospital_live /health/live
}

backend() { # backend NAME CHECK_PATH
    cat <<EOF

backend $1
    balance roundrobin
    option httpchk GET $2
    http-check expect status 200
    default-server inter ${CHECK_INTER_MS}ms fastinter ${CHECK_INTER_MS}ms fall 2 rise 2
EOF
    for n in "${INSTANCES[@]}"; do
        echo "    server g$n 127.0.0.1:$(port_of "$n") check"
    done
}

# deploy/prometheus/prometheus.yml's job and labels over the three instances: the dashboard's Instance variable
# then tells them apart.
prometheus_config() {
    local targets=""
    for n in "${INSTANCES[@]}"; do targets="$targets${targets:+, }\"127.0.0.1:$(port_of "$n")\""; done
    cat <<EOF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: gospital
    metrics_path: /metrics
    static_configs:
      - targets: [$targets]
        labels:
          traffic_class: all
EOF
}

cmd_start() {
    local binary=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --binary) binary="$2"; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    if [ -f "$DIR/env" ]; then
        load_env
        alive "$DIR/pids/haproxy.pid" && die "a cluster already runs from $DIR (cluster/cluster.sh stop first)"
    fi
    ensure_tools
    if [ -z "$binary" ]; then
        say "cargo build --release"
        (cd "$ROOT" && cargo build --release --locked -q)
        binary="${CARGO_TARGET_DIR:-$ROOT/target}/release/gospital"
    fi
    binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
    [ -x "$binary" ] || die "$binary is not an executable"
    rm -rf "$DIR"
    mkdir -p "$LOGS" "$DIR/pids" "$DIR/mariadb"

    local db_port dyn_port lb_port db_password
    db_port="$(free_port)"; dyn_port="$(free_port)"; lb_port="$(free_port)"
    db_password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    {
        echo "BINARY=$binary"
        echo "DB_PORT=$db_port"
        echo "DATABASE_URL=mysql://gospital:$db_password@127.0.0.1:$db_port/gospital"
        echo "DYNAMODB_ENDPOINT=http://127.0.0.1:$dyn_port"
        echo "LB_PORT=$lb_port"
        echo "LB_URL=http://127.0.0.1:$lb_port"
        for n in "${INSTANCES[@]}"; do echo "PORT_$n=$(free_port)"; done
    } >"$DIR/env"
    chmod 600 "$DIR/env"
    load_env

    say "MariaDB on 127.0.0.1:$DB_PORT (private, data in $DIR/mariadb)"
    local install=(--no-defaults "--datadir=$DIR/mariadb" --auth-root-authentication-method=socket --skip-test-db)
    if [ "$(id -u)" = 0 ]; then install+=(--user=root); fi
    mariadb-install-db "${install[@]}" >"$LOGS/mariadb-install.log" 2>&1 || die "mariadb-install-db failed ($LOGS/mariadb-install.log)"
    start_db
    mariadb --no-defaults --socket="$DIR/mariadb.sock" -uroot <<SQL
CREATE DATABASE gospital;
CREATE USER 'gospital'@'127.0.0.1' IDENTIFIED BY '$db_password';
GRANT ALL ON gospital.* TO 'gospital'@'127.0.0.1';
SQL

    say "DynamoDB emulator on 127.0.0.1:$dyn_port"
    "$TOOLS/node_modules/@dynoxide/linux-x64/dynoxide" serve --port "$dyn_port" --db-path "$DIR/dynamodb.sqlite" \
        >>"$LOGS/dynamodb.log" 2>&1 &
    echo $! >"$DIR/pids/dynamodb.pid"
    wait_for 30 "the DynamoDB emulator" answers "$dyn_port"

    say "identity provider (tests/oidc)"
    local ready_line
    node "$ROOT/tests/oidc/provider.mjs" --port 0 --audience gospital-api >"$DIR/oidc.out" 2>>"$LOGS/oidc.log" &
    echo $! >"$DIR/pids/oidc.pid"
    wait_for 30 "the identity provider" grep -q '^READY ' "$DIR/oidc.out"
    ready_line="$(grep '^READY ' "$DIR/oidc.out")"
    echo "OIDC_ISSUER=${ready_line#READY }" >>"$DIR/env"
    load_env

    say "gospital migrate (MariaDB tables, DynamoDB tables)"
    local envs
    mapfile -t envs < <(instance_env 1)
    env -i PATH="$PATH" HOME="${HOME:-/root}" "${envs[@]}" "$BINARY" migrate >>"$LOGS/migrate.log" 2>&1 \
        || die "gospital migrate failed ($LOGS/migrate.log)"
    # `migrate` created the audit key (mode 0600); every instance signs checkpoints with it (README: a cluster
    # shares one).
    [ -f "$DIR/audit.key" ] || die "gospital migrate did not create $DIR/audit.key"

    for n in "${INSTANCES[@]}"; do
        say "gospital $n on 127.0.0.1:$(port_of "$n")"
        start_instance "$n"
    done

    say "HAProxy on 127.0.0.1:$LB_PORT"
    haproxy_config >"$DIR/haproxy.cfg"
    haproxy -db -f "$DIR/haproxy.cfg" >>"$LOGS/haproxy.log" 2>&1 &
    echo $! >"$DIR/pids/haproxy.pid"
    wait_for 30 "HAProxy and its three servers" all_up
    prometheus_config >"$DIR/prometheus.yml"
    echo "cluster up: $LB_URL (HAProxy stats: $LB_URL/haproxy-stats; logs: $LOGS)"
}

# HAProxy's view: "g1 UP" lines from its stats socket.
backend_states() {
    echo "show stat" | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
for line in data.decode().splitlines():
    f = line.split(",")
    if len(f) > 17 and f[0] == "gospital" and f[1].startswith("g"):
        print(f[1], f[17])
' "$DIR/haproxy.sock" 2>/dev/null
}

all_up() { [ "$(backend_states | grep -c ' UP$')" = "${#INSTANCES[@]}" ]; }

instance_up() { backend_states | grep -q "^g$1 UP"; }

stop_pid() { # stop_pid FILE: SIGTERM, up to 10 s, then SIGKILL
    local f="$1" pid
    alive "$f" || { rm -f "$f"; return 0; }
    pid="$(cat "$f")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
}

cmd_stop() {
    [ -d "$DIR/pids" ] || { echo "nothing runs from $DIR"; return 0; }
    for name in haproxy gospital-1 gospital-2 gospital-3 oidc dynamodb mariadb; do
        stop_pid "$DIR/pids/$name.pid"
    done
    echo "cluster stopped (logs kept in $LOGS)"
}

cmd_status() {
    load_env
    for f in "$DIR"/pids/*.pid; do
        local name
        name="$(basename "$f" .pid)"
        if alive "$f"; then echo "$name running (pid $(cat "$f"))"; else echo "$name stopped"; fi
    done
    alive "$DIR/pids/haproxy.pid" && backend_states | sed 's/^/haproxy: /'
}

check_n() { [[ "${1:-}" =~ ^[123]$ ]] || die "instance number 1-3 expected, got '${1:-}'"; }

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) load_env; cat "$DIR/env" ;;
    kill) check_n "${2:-}"; load_env; kill -KILL "$(cat "$DIR/pids/gospital-$2.pid")" ;;
    term) check_n "${2:-}"; load_env; stop_pid "$DIR/pids/gospital-$2.pid" ;;
    start-instance)
        check_n "${2:-}"; load_env
        alive "$DIR/pids/gospital-$2.pid" && die "instance $2 runs already"
        start_instance "$2"
        wait_for 30 "HAProxy's check of instance $2" instance_up "$2"
        ;;
    kill-db) load_env; kill -KILL "$(cat "$DIR/pids/mariadb.pid")" ;;
    start-db) load_env; alive "$DIR/pids/mariadb.pid" && die "MariaDB runs already"; start_db ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
