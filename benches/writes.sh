#!/usr/bin/env bash
# Acknowledged writes per second: RefreshObjectCaches from 64 concurrent connections, each
# answered only once its row is fsynced — with group commit (the default) and with one fsync
# per write (`--commit per-write`), in the same run.
#
#   benches/writes.sh [path/to/cdnsim]        (default: target/perf/cdnsim)
#
# wrk (one thread, CONNECTIONS=64) on core 0, the server on core 1, DURATION=10 seconds per
# mode after a WARMUP=2 second run; the data directory is a fresh temp dir on the same disk as
# target/ (set DATA_ROOT to measure another). Raw outputs go to target/bench-writes/<time>/.
# Target: >= 5,000 acknowledged submissions/s with group commit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CDNSIM=${1:-target/perf/cdnsim}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
DATA_ROOT=${DATA_ROOT:-$ROOT/target}
OUT=${OUT:-$ROOT/target/bench-writes/$(date -u +%Y%m%d-%H%M%S)}

[[ -x "$CDNSIM" ]] || { echo "writes.sh: $CDNSIM not found; run cargo build --profile perf" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
mkdir -p "$OUT"
WORK=$(mktemp -d "$DATA_ROOT/bench-writes.XXXXXX")
SERVER=""
cleanup() {
    [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

run_mode() {
    local mode=$1
    local data="$WORK/$mode"
    taskset -c 1 "$CDNSIM" serve --scenario benches/http/writes.toml --data-dir "$data" \
        --addr 127.0.0.1:0 --commit "$mode" >"$OUT/server-$mode.out" 2>"$OUT/server-$mode.err" &
    SERVER=$!
    local line=""
    for _ in $(seq 1 600); do
        line=$(head -n1 "$OUT/server-$mode.out" 2>/dev/null || true)
        [[ "$line" == "listening on http://"* ]] && break
        kill -0 "$SERVER" 2>/dev/null || { echo "writes.sh: the server died" >&2; cat "$OUT/server-$mode.err" >&2; exit 1; }
        sleep 0.05
    done
    local url=${line#listening on }
    [[ "$WARMUP" != 0 ]] && taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s benches/http/refresh.lua "$url/" >/dev/null
    taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s benches/http/refresh.lua "$url/" \
        | tee "$OUT/wrk-$mode.txt"
    kill "$SERVER"
    wait "$SERVER" || { echo "writes.sh: the server did not stop cleanly" >&2; exit 1; }
    SERVER=""
    "$CDNSIM" verify "$data/events.cdnlog" | tee "$OUT/verify-$mode.txt"
}

run_mode group
run_mode per-write
python3 benches/http/wrkstat.py table --baseline writes-per-write --check writes-group \
    --target-rps 5000 --target-p99-ms 1000000 \
    writes-group="$OUT/wrk-group.txt" writes-per-write="$OUT/wrk-per-write.txt" | tee "$OUT/summary.md"
echo "raw outputs: $OUT"
