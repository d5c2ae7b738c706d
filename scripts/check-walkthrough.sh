#!/usr/bin/env bash
# Proves the README walk-through (scripts/walkthrough.sh) works twice in a row on one database with the documented
# answers, and fails loudly once the server is gone. Starts the binary (GOSPITAL_BIN, default the debug build
# `cargo test` leaves in ${CARGO_TARGET_DIR:-target}) on a temporary SQLite file and a free port.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${GOSPITAL_BIN:-${CARGO_TARGET_DIR:-target}/debug/gospital}"
[ -x "$BIN" ] || { echo "check-walkthrough: no binary at $BIN (run cargo build, or set GOSPITAL_BIN)" >&2; exit 1; }
TMP="$(mktemp -d)"
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export GOSPITAL_ADDR="127.0.0.1:$PORT" DATABASE_URL="sqlite://$TMP/gospital.db" GOSPITAL_URL="http://127.0.0.1:$PORT"
# Mode local, the default: the walk-through mints its token first, with the roles its steps need (SECURITY.md §3).
export GOSPITAL_AUTH_KEY_FILE="$TMP/gospital.key"
export GOSPITAL_AUDIT_KEY_FILE="$TMP/gospital-audit.key"
AUTH_HEADER="Authorization: Bearer $("$BIN" token --role admin,doctor,billing,auditor --sub walkthrough)"
export AUTH_HEADER
"$BIN" serve >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    if "$BIN" healthcheck --timeout-ms 200 2>/dev/null; then break; fi
    kill -0 "$PID" 2>/dev/null || { echo "check-walkthrough: gospital exited:" >&2; cat "$TMP/server.log" >&2; exit 1; }
    sleep 0.1
done

# The documented answers, one pattern per line of output, IDs aside.
ULID='[0-7][0-9A-HJKMNP-TV-Z]{25}'
EXPECTED=(
    "^patient +PAT-$ULID\$"
    "^doctor +DOC-$ULID\$"
    "^booked +APT-$ULID on [0-9]{4}-[0-9]{2}-[0-9]{2} 10:00:00-10:30:00\$"
    '^overlap +409 TIME_SLOT_NOT_AVAILABLE, 2 details$'
    '^availability +16 slots, unavailable: 10:00:00$'
    "^record +REC-$ULID\$"
    "^invoice +INV-$ULID, total 378.00\$"
    '^lists +1 record\(s\), 1 invoice\(s\)$'
    '^access log +6 entries, newest: search invoice$'
)

for run in 1 2; do
    scripts/walkthrough.sh >"$TMP/run$run.out"
    mapfile -t lines <"$TMP/run$run.out"
    if [ "${#lines[@]}" -ne "${#EXPECTED[@]}" ]; then
        echo "check-walkthrough: run $run printed ${#lines[@]} lines, expected ${#EXPECTED[@]}:" >&2
        cat "$TMP/run$run.out" >&2
        exit 1
    fi
    for i in "${!EXPECTED[@]}"; do
        if ! grep -Eq "${EXPECTED[$i]}" <<<"${lines[$i]}"; then
            echo "check-walkthrough: run $run line $((i + 1)) is '${lines[$i]}', expected /${EXPECTED[$i]}/" >&2
            exit 1
        fi
    done
    echo "walk-through run $run: documented answers"
done
if [ "$(head -1 "$TMP/run1.out")" = "$(head -1 "$TMP/run2.out")" ]; then
    echo "check-walkthrough: both runs registered the same patient" >&2
    exit 1
fi

kill "$PID"
wait "$PID" || true
PID=""
if scripts/walkthrough.sh >"$TMP/down.out" 2>"$TMP/down.err"; then
    echo "check-walkthrough: the walk-through succeeded with no server" >&2
    exit 1
fi
grep -q "no answer from" "$TMP/down.err" || { echo "check-walkthrough: no clear message when the server is down:" >&2; cat "$TMP/down.err" >&2; exit 1; }
echo "walk-through without a server: fails at once ($(grep 'no answer' "$TMP/down.err"))"
