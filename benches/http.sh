#!/usr/bin/env bash
# HTTP throughput and latency of `cdnsim serve`, with a bare hyper server as the ceiling and
# moto's server as the baseline.
#
#   benches/http.sh [path/to/cdnsim]        (default: target/perf/cdnsim)
#
# Targets, on the project's 2-core machine with wrk on core 0 and the server on core 1:
#   DescribeRefreshTasks page 1 and DescribeRefreshTaskById on the load-1m log,
#   >= 40,000 requests/s and p99 <= 2 ms at 32 connections.
# Ceiling in the same run: examples/bare_hyper.rs (hyper on the same runtime, answering every
#   request with cdnsim's own page-1 or by-id body, fixed), the same requests, pinned alike.
# Baseline in the same run: moto_server (moto[server] from PyPI), CloudFront
#   ListInvalidations on a distribution holding 20 invalidations (one page, like cdnsim's 20 rows).
#
# Needs root for `apt-get install wrk` when wrk is absent, and PyPI for the venv. Builds nothing:
# run `cargo build --profile perf --bin cdnsim --example bare_hyper` first.
#
# Environment (all optional):
#   DURATION=10        seconds of each measured wrk run
#   WARMUP=2           seconds of the unmeasured wrk run before each measured one (0: none)
#   CONNECTIONS=32     wrk connections (one wrk thread: -t1)
#   LOG=path           reuse this load-1m log instead of simulating one into a temp dir
#   VENV=target/bench-venv   virtualenv holding moto[server] and boto3 (created if missing)
#   MOTO_SPEC='moto[server]' pip requirement for moto (e.g. 'moto[server]==5.2.5' to pin)
#   MOTO_INVALIDATIONS=20    invalidations created in moto before measuring
#   OUT=dir            where raw wrk outputs, server logs and summary.md go
#                      (default target/bench-http/<date-time>)
#   READY_TIMEOUT=120  seconds to wait for a server's listening line
#   BARE=path          the bare hyper server (default target/perf/examples/bare_hyper)
#   SKIP_CDNSIM=1 / SKIP_MOTO=1 / SKIP_BARE=1   leave one side out
#   STRICT=1           exit 4 when a cdnsim row misses a target
# Exit status: 0; 3 when a measured run had non-2xx answers or socket errors; 4 (STRICT=1) on a
# missed target; 1 on a setup failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HELPERS="$ROOT/benches/http"

CDNSIM=${1:-target/perf/cdnsim}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
VENV=${VENV:-target/bench-venv}
MOTO_SPEC=${MOTO_SPEC:-moto[server]}
MOTO_INVALIDATIONS=${MOTO_INVALIDATIONS:-20}
READY_TIMEOUT=${READY_TIMEOUT:-120}
SKIP_CDNSIM=${SKIP_CDNSIM:-0}
SKIP_MOTO=${SKIP_MOTO:-0}
SKIP_BARE=${SKIP_BARE:-0}
BARE=${BARE:-target/perf/examples/bare_hyper}
OUT=${OUT:-target/bench-http/$(date +%Y%m%d-%H%M%S)}
LOADGEN_CPU=0
SERVER_CPU=1
# moto routes a request to a service by the SigV4 credential scope of its Authorization header;
# an unsigned GET of the CloudFront path goes to S3 (404 NoSuchBucket). It checks no signature.
MOTO_AUTH='Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=0'

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'http.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- servers and cleanup
SERVER_PID=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdnsim-http-bench.XXXXXX")

stop_server() {
    local pid=${SERVER_PID}
    SERVER_PID=
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "server $pid still running 10 s after SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    if [[ -n ${LOADGEN_PID:-} ]]; then
        kill -TERM "$LOADGEN_PID" 2>/dev/null || true
        wait "$LOADGEN_PID" 2>/dev/null || true
    fi
    stop_server
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for FILE ERE PID: print the first match of ERE in FILE once it appears, or fail when PID
# exits or READY_TIMEOUT passes. Polls the file the server writes its readiness line to.
wait_for() {
    local file=$1 re=$2 pid=$3 deadline=$((SECONDS + READY_TIMEOUT)) hit
    while :; do
        if hit=$(grep -m1 -oE "$re" "$file" 2>/dev/null); then
            printf '%s\n' "$hit"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            printf 'http.sh: server exited before it was ready; its output (%s):\n' "$file" >&2
            tail -n 20 "$file" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            printf 'http.sh: no line matching /%s/ in %s after %s s\n' "$re" "$file" "$READY_TIMEOUT" >&2
            return 1
        fi
        sleep 0.05
    done
}

# check_200 LABEL URL EXPECT [curl args...]: one request; 200 and EXPECT in the body, or fail.
check_200() {
    local label=$1 url=$2 expect=$3 code
    shift 3
    code=$(curl -sS -o "$OUT/$label.body" -w '%{http_code}' "$@" "$url") || die "$label: curl $url failed"
    [[ $code == 200 ]] || die "$label: HTTP $code from $url: $(head -c 400 "$OUT/$label.body")"
    grep -qF -- "$expect" "$OUT/$label.body" || die "$label: no '$expect' in the body of $url: $(head -c 400 "$OUT/$label.body")"
}

# bench LABEL URL [wrk args...]: warm-up run, then the measured run into $OUT/LABEL.wrk.txt.
ROWS=()
bench() {
    local label=$1 url=$2
    shift 2
    local cmd=(taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url")
    if ((WARMUP > 0)); then
        run_wrk "$OUT/$label.warmup.txt" taskset -c "$LOADGEN_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "$@" "$url"
    fi
    say "$label: ${cmd[*]}"
    printf '%s:' "$label" >>"$OUT/commands.txt"
    printf ' %q' "${cmd[@]}" >>"$OUT/commands.txt"
    printf '\n' >>"$OUT/commands.txt"
    run_wrk "$OUT/$label.wrk.txt" "${cmd[@]}"
    cat "$OUT/$label.wrk.txt" >&2
    ROWS+=("$label=$OUT/$label.wrk.txt")
}

# run_wrk FILE CMD...: CMD in the background, output to FILE. wrk takes SIGINT as "stop early and
# report", and bash then carries on; waiting on a background job instead lets Ctrl-C reach the
# trap at once, which kills wrk (a background job of a script ignores SIGINT) and the server.
LOADGEN_PID=
run_wrk() {
    local file=$1
    shift
    "$@" >"$file" 2>&1 &
    LOADGEN_PID=$!
    local rc=0
    wait "$LOADGEN_PID" || rc=$?
    LOADGEN_PID=
    ((rc == 0)) || { cat "$file" >&2; die "wrk exited with status $rc"; }
}

# ---------------------------------------------------------------- preconditions and tools
[[ $SKIP_CDNSIM == 1 && $SKIP_MOTO == 1 ]] && die "SKIP_CDNSIM=1 and SKIP_MOTO=1: nothing to measure"
(($(nproc) >= 2)) || die "needs 2 cores (wrk on core $LOADGEN_CPU, the server on core $SERVER_CPU); this machine has $(nproc)"
command -v python3 >/dev/null || die "python3 not found"
command -v curl >/dev/null || die "curl not found (apt-get install -y curl)"
command -v taskset >/dev/null || die "taskset not found (apt-get install -y util-linux)"

if [[ $SKIP_CDNSIM != 1 ]]; then
    [[ -x $CDNSIM ]] || die "no cdnsim binary at $CDNSIM: run \`cargo build --profile perf\` first (or pass its path)"
    CDNSIM=$(cd "$(dirname "$CDNSIM")" && pwd)/$(basename "$CDNSIM")
    "$CDNSIM" serve --help >/dev/null 2>&1 || die "$CDNSIM has no \`serve\` command: rebuild with \`cargo build --profile perf\`"
    if [[ $SKIP_BARE != 1 ]]; then
        [[ -x $BARE ]] || die "no bare hyper server at $BARE: run \`cargo build --profile perf --example bare_hyper\` (or SKIP_BARE=1)"
        BARE=$(cd "$(dirname "$BARE")" && pwd)/$(basename "$BARE")
    fi
fi

if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package wrk)"
    [[ $(id -u) == 0 ]] || die "wrk is missing and this is not root: apt-get install -y wrk"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >&2
fi

if [[ $SKIP_MOTO != 1 ]]; then
    if ! { [[ -x $VENV/bin/moto_server ]] && "$VENV/bin/python" -c 'import boto3, moto.server' 2>/dev/null; }; then
        say "creating $VENV with $MOTO_SPEC and boto3"
        if ! python3 -m venv "$VENV" >&2; then
            [[ $(id -u) == 0 ]] || die "python3 -m venv failed: install python3-venv"
            apt-get update -q >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
            python3 -m venv "$VENV" >&2
        fi
        "$VENV/bin/pip" install -q --disable-pip-version-check "$MOTO_SPEC" boto3 >&2
    fi
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
: >"$OUT/commands.txt"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty)')"
    echo "wrk: $(wrk -v 2>&1 | head -n1 || true); dpkg: $(dpkg-query -W -f '${Version}' wrk 2>/dev/null || echo '?')"
    echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency on core $LOADGEN_CPU; server on core $SERVER_CPU; warm-up ${WARMUP}s"
    [[ $SKIP_CDNSIM == 1 ]] || echo "cdnsim: $("$CDNSIM" --version 2>&1 | head -n1)"
    [[ $SKIP_MOTO == 1 ]] || echo "moto: $("$VENV/bin/python" -c 'import moto, werkzeug.serving as s, importlib.metadata as m; print(moto.__version__, "/ werkzeug", m.version("werkzeug"))')"
} >"$OUT/env.txt"
cat "$OUT/env.txt" >&2

# ---------------------------------------------------------------- cdnsim
if [[ $SKIP_CDNSIM != 1 ]]; then
    if [[ -n ${LOG:-} ]]; then
        [[ -f $LOG ]] || die "LOG=$LOG: no such file"
        say "reusing log $LOG"
    else
        LOG=$TMP/load-1m.cdnlog
        say "simulating scenarios/load-1m.toml into $LOG"
        "$CDNSIM" simulate scenarios/load-1m.toml -o "$LOG" >"$OUT/simulate.txt" 2>&1 ||
            { cat "$OUT/simulate.txt" >&2; die "cdnsim simulate failed"; }
    fi

    say "starting cdnsim serve on core $SERVER_CPU"
    taskset -c "$SERVER_CPU" "$CDNSIM" serve --log "$LOG" --addr 127.0.0.1:0 \
        >"$OUT/cdnsim-serve.stdout" 2>"$OUT/cdnsim-serve.stderr" &
    SERVER_PID=$!
    base=$(wait_for "$OUT/cdnsim-serve.stdout" '^listening on http://[^ ]+' "$SERVER_PID") ||
        { echo "--- its stderr:" >&2; tail -n 20 "$OUT/cdnsim-serve.stderr" >&2; die "cdnsim serve did not become ready"; }
    first=$(head -n1 "$OUT/cdnsim-serve.stdout")
    [[ $first == "$base" ]] || die "cdnsim serve's first stdout line is '$first', not 'listening on http://…'"
    base=${base#listening on }
    base=${base%/}
    say "cdnsim at $base"

    page1="$base/?Action=DescribeRefreshTasks&Format=JSON"
    check_200 cdnsim-page1 "$page1" '"CDNTask"'
    task_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Tasks"]["CDNTask"][0]["TaskId"])' \
        <"$OUT/cdnsim-page1.body") || die "no Tasks.CDNTask[0].TaskId in page 1: $(head -c 400 "$OUT/cdnsim-page1.body")"
    byid="$base/?Action=DescribeRefreshTaskById&TaskId=$task_id&Format=JSON"
    check_200 cdnsim-byid "$byid" "\"$task_id\""
    say "page 1: $(wc -c <"$OUT/cdnsim-page1.body") bytes; TaskId $task_id: $(wc -c <"$OUT/cdnsim-byid.body") bytes"

    bench cdnsim-DescribeRefreshTasks-page1 "$page1"
    bench cdnsim-DescribeRefreshTaskById "$byid"
    stop_server

    if [[ $SKIP_BARE != 1 ]]; then
        say "starting the bare hyper server on core $SERVER_CPU with cdnsim's bodies"
        taskset -c "$SERVER_CPU" "$BARE" "$OUT/cdnsim-page1.body" "$OUT/cdnsim-byid.body" \
            >"$OUT/bare.stdout" 2>"$OUT/bare.stderr" &
        SERVER_PID=$!
        bare=$(wait_for "$OUT/bare.stdout" '^listening on http://[^ ]+' "$SERVER_PID") ||
            die "the bare hyper server did not become ready"
        bare=${bare#listening on }
        bare=${bare%/}
        check_200 bare-page1 "${page1/$base/$bare}" '"CDNTask"'
        check_200 bare-byid "${byid/$base/$bare}" "\"$task_id\""
        bench bare-DescribeRefreshTasks-page1 "${page1/$base/$bare}"
        bench bare-DescribeRefreshTaskById "${byid/$base/$bare}"
        stop_server
    fi
fi

# ---------------------------------------------------------------- moto
if [[ $SKIP_MOTO != 1 ]]; then
    say "starting moto_server on core $SERVER_CPU"
    # moto_server always runs werkzeug's run_simple(threaded=True): a thread per connection, and
    # werkzeug's dev server answers `Connection: close`, so every request is a new TCP connection.
    # Its per-request access log goes to stderr, as by default.
    taskset -c "$SERVER_CPU" "$VENV/bin/moto_server" -H 127.0.0.1 -p 0 >"$OUT/moto.log" 2>&1 &
    SERVER_PID=$!
    moto=$(wait_for "$OUT/moto.log" 'Running on http://127\.0\.0\.1:[0-9]+' "$SERVER_PID") ||
        die "moto_server did not become ready"
    moto=${moto#Running on }
    say "moto at $moto"

    dist_id=$(AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
        "$VENV/bin/python" "$HELPERS/moto_setup.py" "$moto" "$MOTO_INVALIDATIONS") ||
        die "creating the distribution and invalidations in moto failed"
    list="$moto/2020-05-31/distribution/$dist_id/invalidation"
    check_200 moto-list "$list" "<Quantity>$MOTO_INVALIDATIONS</Quantity>" -H "$MOTO_AUTH"
    say "ListInvalidations: $(wc -c <"$OUT/moto-list.body") bytes"

    bench moto-ListInvalidations "$list" -H "$MOTO_AUTH"
    stop_server
fi

# ---------------------------------------------------------------- summary
rc=0
{
    cat "$OUT/env.txt"
    echo
    python3 "$HELPERS/wrkstat.py" table --baseline moto-ListInvalidations --ceiling bare- --check cdnsim- \
        --target-rps 40000 --target-p99-ms 2 "${ROWS[@]}" || rc=$?
    echo
    echo "Commands:"
    sed 's/^/    /' "$OUT/commands.txt"
} >"$OUT/summary.md"
echo
cat "$OUT/summary.md"
echo
echo "raw wrk outputs and server logs: $OUT"
exit "$rc"
