#!/usr/bin/env bash
# SDK-compatibility test: drives `cdnsim serve` with the official Alibaba Cloud Python SDKs and
# the official Node.js SDK.
#
#   tests/sdk/run.sh [CDNSIM]        e.g. tests/sdk/run.sh target/release/cdnsim
#
# The binary comes from the first argument or $CDNSIM. Other environment:
#   SDK_VENV   virtualenv to create or reuse (default: <repo>/target/sdk-venv)
#   PYTHON     interpreter that creates it (default: python3; needs >= 3.8 with venv/ensurepip)
#   SDK_KEEP   set to 1 to keep the temp dir (log, server output) instead of deleting it
#   NODE_SDK   directory for the Node.js SDK (default: <repo>/target/node-sdk; `npm ci` from
#              tests/sdk/package-lock.json, redone only when the lock file changes)
#
# Steps: venv + pinned Python SDKs (reinstalled only when requirements.txt changes), the pinned
# Node.js SDK, simulate scenarios/ci-replay.toml, then live servers:
#   1. `serve --log ... --at 2026-11-20T10:03:00Z`, auth off      -> test_sdk.py and test_node.js --mode open
#   2. the same with --access-key (two keys, one testAKID:...)  -> test_sdk.py and test_node.js --mode auth
#   3. the same keys                                            -> test_sdk.py and test_node.js --mode wrong-secret
#   4. `serve --scenario tests/sdk/writes.toml --data-dir TMP/writes-data --at 2026-11-20T13:00:00Z
#      --access-key testAKID:...`                              -> test_sdk.py --mode writes; then
#      its log must pass `cdnsim verify`
#   5. the same on a fresh data dir                             -> test_node.js --mode writes
#   6. the same on a fresh data dir                             -> test_sdk.py --mode rules; `cdnsim verify`
#   7. `serve --scenario scenarios/quickstart.toml --ephemeral`, its clock a day in: the README's
#      old-SDK, Tea and Node.js snippets (pointed at its port) must print rows, and its "origin
#      is down" example must pass.
# Each server must print `listening on http://127.0.0.1:PORT` as its first stdout line and exit 0
# on SIGTERM. Exit status 0 only if everything passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
AT="2026-11-20T10:03:00Z"
WRITES_AT="2026-11-20T13:00:00Z" # after writes.toml's scripts but the last; 3 h before the quota reset
WRITES_SCENARIO="$HERE/writes.toml"
ACCESS_KEY="testAKID:testSecret"
OTHER_KEY="ciOtherKeyId:ciOtherSecret"
START_TIMEOUT=60   # seconds to wait for the `listening on` line
STOP_TIMEOUT=15    # seconds to wait for exit after SIGTERM

FAILURE=""
die() {
    FAILURE="$*"
    echo "run.sh: FAIL: $*" >&2
    exit 1
}
say() { echo "run.sh: $*"; }

usage() {
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in -h | --help) usage ;; esac
[[ $# -le 1 ]] || usage
CDNSIM="${1:-${CDNSIM:-}}"
[[ -n "$CDNSIM" ]] || {
    echo "run.sh: give the cdnsim binary as the argument or in \$CDNSIM" >&2
    usage
}
[[ "$CDNSIM" == */* ]] || CDNSIM="$(command -v "$CDNSIM" || true)"
[[ -n "$CDNSIM" && -f "$CDNSIM" && -x "$CDNSIM" ]] || die "cdnsim binary '${1:-${CDNSIM:-}}' not found or not executable"
CDNSIM="$(cd "$(dirname "$CDNSIM")" && pwd)/$(basename "$CDNSIM")"

VENV="${SDK_VENV:-$ROOT/target/sdk-venv}"
PYTHON="${PYTHON:-python3}"
REQS="$HERE/requirements.txt"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cdnsim-sdk.XXXXXX")"
SERVER_PID=""
DRAIN_PID=""
SERVER_PORT=""

cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$DRAIN_PID" ]]; then
        kill "$DRAIN_PID" 2>/dev/null || true
        wait "$DRAIN_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 ]]; then
        for f in "$WORK"/server-*.err; do
            [[ -s "$f" ]] || continue
            echo "run.sh: --- last lines of $(basename "$f") (server stderr) ---" >&2
            tail -n 20 "$f" >&2
            echo "run.sh: --- end of $(basename "$f") ---" >&2
        done
    fi
    if [[ "${SDK_KEEP:-0}" == 1 || $rc -ne 0 ]]; then
        echo "run.sh: kept $WORK (log, server stdout/stderr)" >&2
    else
        rm -rf "$WORK"
    fi
    if [[ $rc -ne 0 ]]; then
        echo "run.sh: FAILED (exit $rc)${FAILURE:+: $FAILURE}" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- virtualenv ------------------------------------------------------------------------------
stamp="$VENV/.cdnsim-requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv $VENV' failed"
fi
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    say "installing $(basename "$REQS") into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" ||
        die "pip install -r $REQS failed"
    echo "$want" >"$stamp"
fi
"$VENV/bin/python" -c 'import aliyunsdkcore, aliyunsdkcdn, alibabacloud_cdn20180510, alibabacloud_tea_openapi.utils_models' ||
    die "the SDKs do not import in $VENV (delete it to rebuild)"

# --- the Node.js SDK -----------------------------------------------------------------------------
NODE_DIR="${NODE_SDK:-$ROOT/target/node-sdk}"
command -v node >/dev/null && command -v npm >/dev/null ||
    die "node and npm are needed for the Node.js SDK checks (Debian: apt-get install nodejs npm)"
node_stamp="$NODE_DIR/.cdnsim-lock.sha256"
node_want="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$node_stamp" || "$(cat "$node_stamp")" != "$node_want" ]]; then
    say "installing the Node.js SDK into $NODE_DIR (npm ci)"
    mkdir -p "$NODE_DIR"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
        die "npm ci of tests/sdk/package-lock.json failed"
    echo "$node_want" >"$node_stamp"
fi
NODE_PATH="$NODE_DIR/node_modules" node -e 'require("@alicloud/cdn20180510"); require("@alicloud/openapi-client")' ||
    die "the Node.js SDK does not load from $NODE_DIR (delete it to rebuild)"

# --- the log -----------------------------------------------------------------------------------
LOG="$WORK/ci-replay.cdnlog"
say "simulating scenarios/ci-replay.toml with $CDNSIM"
"$CDNSIM" simulate "$ROOT/scenarios/ci-replay.toml" -o "$LOG" --quiet >"$WORK/simulate.out" 2>&1 ||
    { cat "$WORK/simulate.out" >&2; die "cdnsim simulate failed"; }

# --- servers -----------------------------------------------------------------------------------
# start_server NAME ARGS...: starts `cdnsim serve --addr 127.0.0.1:0 ARGS...`, reads its first
# stdout line through a FIFO and sets SERVER_PORT. The rest of stdout is drained into
# server-NAME.out so the server never blocks on a full pipe.
start_server() {
    local name="$1"
    shift
    local fifo="$WORK/server-$name.fifo" line=""
    local addr="${SERVER_ADDR:-127.0.0.1:0}"
    local shown="cdnsim serve --addr $addr ${*//$WORK/TMP}"
    mkfifo "$fifo"
    "$CDNSIM" serve --addr "$addr" "$@" >"$fifo" 2>"$WORK/server-$name.err" &
    SERVER_PID=$!
    exec 3<"$fifo"
    local read_rc=0
    IFS= read -r -t "$START_TIMEOUT" line <&3 || read_rc=$?
    if [[ $read_rc -ne 0 ]]; then
        exec 3<&-
        if [[ $read_rc -gt 128 ]]; then # timeout, not end of file
            die "server ($name) printed no first line within ${START_TIMEOUT}s: $shown"
        fi
        local rc=0
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=""
        die "server ($name) exited with status $rc before printing 'listening on': $shown"
    fi
    echo "$line" >"$WORK/server-$name.out"
    cat <&3 >>"$WORK/server-$name.out" &
    DRAIN_PID=$!
    exec 3<&-
    if [[ "$line" =~ ^listening\ on\ http://127\.0\.0\.1:([0-9]+)$ ]]; then
        SERVER_PORT="${BASH_REMATCH[1]}"
    else
        die "server ($name) first stdout line is '$line', expected 'listening on http://127.0.0.1:PORT'"
    fi
    say "server ($name) pid $SERVER_PID listening on 127.0.0.1:$SERVER_PORT"
}

stop_server() {
    local name="$1" rc=0
    kill -0 "$SERVER_PID" 2>/dev/null || {
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=""
        die "server ($name) died during the test (exit status $rc)"
    }
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        die "server ($name) still running ${STOP_TIMEOUT}s after SIGTERM"
    fi
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    wait "$DRAIN_PID" 2>/dev/null || true
    DRAIN_PID=""
    [[ $rc -eq 0 ]] || die "server ($name) exited with status $rc on SIGTERM, expected 0"
    say "server ($name) stopped cleanly"
}

# run_mode MODE LOG AT SERVE-ARGS...: a server, test_sdk.py --mode MODE against it (comparing with
# `cdnsim query LOG --at AT`), a clean stop.
run_mode() {
    local mode="$1" log="$2" at="$3"
    shift 3
    start_server "$mode" "$@"
    say "running test_sdk.py --mode $mode"
    "$VENV/bin/python" "$HERE/test_sdk.py" --mode "$mode" --port "$SERVER_PORT" --log "$log" \
        --cdnsim "$CDNSIM" --at "$at" --access-key "$ACCESS_KEY" ||
        die "test_sdk.py --mode $mode failed against: cdnsim serve --addr 127.0.0.1:0 ${*//$WORK/TMP}"
    if [[ "$mode" != rules && "$mode" != writes ]]; then
        say "running test_node.js --mode $mode"
        NODE_PATH="$NODE_DIR/node_modules" node "$HERE/test_node.js" --mode "$mode" --port "$SERVER_PORT" \
            --log "$log" --cdnsim "$CDNSIM" --at "$at" --access-key "$ACCESS_KEY" ||
            die "test_node.js --mode $mode failed against: cdnsim serve --addr 127.0.0.1:0 ${*//$WORK/TMP}"
    fi
    stop_server "$mode"
}

run_mode open "$LOG" "$AT" --log "$LOG" --at "$AT"
run_mode auth "$LOG" "$AT" --log "$LOG" --at "$AT" --access-key "$OTHER_KEY" --access-key "$ACCESS_KEY"
run_mode wrong-secret "$LOG" "$AT" --log "$LOG" --at "$AT" --access-key "$OTHER_KEY" --access-key "$ACCESS_KEY"

# --- writes ------------------------------------------------------------------------------------
"$CDNSIM" check "$WRITES_SCENARIO" >"$WORK/check.out" 2>&1 ||
    { cat "$WORK/check.out" >&2; die "cdnsim check $WRITES_SCENARIO failed"; }
DATA="$WORK/writes-data"
run_mode writes "$DATA/events.cdnlog" "$WRITES_AT" --scenario "$WRITES_SCENARIO" --data-dir "$DATA" \
    --at "$WRITES_AT" --access-key "$ACCESS_KEY"
"$CDNSIM" verify "$DATA/events.cdnlog" >"$WORK/verify.out" 2>&1 ||
    { cat "$WORK/verify.out" >&2; die "cdnsim verify of the writes log failed after the server stopped"; }
say "writes log after SIGTERM: $(cat "$WORK/verify.out")"

# The Node.js SDK's writes on a server of their own (the Python suite drains the daily quotas).
NODE_DATA="$WORK/node-writes-data"
start_server node-writes --scenario "$WRITES_SCENARIO" --data-dir "$NODE_DATA" --at "$WRITES_AT" \
    --access-key "$ACCESS_KEY"
say "running test_node.js --mode writes"
NODE_PATH="$NODE_DIR/node_modules" node "$HERE/test_node.js" --mode writes --port "$SERVER_PORT" \
    --log "$NODE_DATA/events.cdnlog" --cdnsim "$CDNSIM" --at "$WRITES_AT" --access-key "$ACCESS_KEY" ||
    die "test_node.js --mode writes failed"
stop_server node-writes

# --- rules -------------------------------------------------------------------------------------
RULES_DATA="$WORK/rules-data"
run_mode rules "$RULES_DATA/events.cdnlog" "$WRITES_AT" --scenario "$WRITES_SCENARIO" --data-dir "$RULES_DATA" \
    --at "$WRITES_AT" --access-key "$ACCESS_KEY"
"$CDNSIM" verify "$RULES_DATA/events.cdnlog" >"$WORK/verify-rules.out" 2>&1 ||
    { cat "$WORK/verify-rules.out" >&2; die "cdnsim verify of the rules log failed after the server stopped"; }

# --- the README's snippets, as written there ---------------------------------------------------
# readme_block MARKER-REGEX LANG: the first LANG block after the line matching MARKER-REGEX.
readme_block() {
    awk -v marker="$1" -v lang="$2" '
        $0 ~ marker { armed = 1; next }
        armed && $0 == "```" lang { inside = 1; next }
        inside && /^```$/ { exit }
        inside { print }' "$ROOT/README.md"
}
readme_block 'The old SDK [(]V1 signatures[)]' python >"$WORK/readme_old_sdk.py"
readme_block '^The Tea SDK [(]V3' python >"$WORK/readme_tea.py"
readme_block '^The Node.js SDK [(]' js >"$WORK/readme_node.js"
readme_block 'tests/sdk/run.sh runs the next python block' python >"$WORK/readme_origin_down.py"
for f in readme_old_sdk.py readme_tea.py readme_node.js readme_origin_down.py; do
    [[ -s "$WORK/$f" ]] || die "README.md: the block for $f was not found"
done
# The README's snippets use the default address; the server here takes a free port and the
# snippets are pointed at it (a server of the user's own on 18555 does not get in the way).
start_server readme --scenario "$ROOT/scenarios/quickstart.toml" --ephemeral
for f in readme_old_sdk.py readme_tea.py readme_node.js; do
    sed -i "s/127\.0\.0\.1:18555/127.0.0.1:$SERVER_PORT/g" "$WORK/$f"
done
curl -sf -XPOST "http://127.0.0.1:$SERVER_PORT/_cdnsim/clock" -d '{"advance":"1d"}' >/dev/null ||
    die "could not move the README server's clock"
# shows_rows OUTPUT: the snippet printed a positive row count first.
shows_rows() {
    local re='^(\{"RequestId".*"TotalCount":[1-9]|[1-9][0-9]* )'
    [[ "$1" =~ $re ]]
}
for snippet in readme_old_sdk.py readme_tea.py readme_node.js; do
    say "running the README's $snippet"
    if [[ "$snippet" == *.js ]]; then
        out="$(NODE_PATH="$NODE_DIR/node_modules" node "$WORK/$snippet")" || die "README snippet $snippet failed"
    else
        out="$("$VENV/bin/python" "$WORK/$snippet")" || die "README snippet $snippet failed"
    fi
    echo "${out:0:300}"
    shows_rows "$out" || die "README snippet $snippet showed no rows: $out"
done
say "running the README's origin-down example"
CDNSIM_ENDPOINT="127.0.0.1:$SERVER_PORT" "$VENV/bin/python" "$WORK/readme_origin_down.py" ||
    die "the README's origin-down example failed"
stop_server readme

say "PASS: old SDK (V1 POST/GET), Tea V3 and Tea v2 (Python) and the Node.js SDK agree with cdnsim query in modes open, auth, wrong-secret; writes and rules pass; the README examples run"
