#!/usr/bin/env bash
# A 3-node NATS JetStream cluster on loopback ports, for tests/nats.rs.
#
#   tests/nats/cluster.sh start DIR   starts n1..n3 (stores, logs and PIDs under DIR), waits
#                                     until each answers /healthz, prints the CDNSIM_NATS_URL
#   tests/nats/cluster.sh stop DIR    stops them, by the PIDs it wrote (nothing else)
#   tests/nats/cluster.sh kill DIR N  SIGKILLs node nN (a crash), by its PID
#   tests/nats/cluster.sh revive DIR N starts node nN again on its store, waits until healthy
#
# Ports: clients 14231-14233, routes 16231-16233, monitoring 18231-18233 (override the base
# with CDNSIM_NATS_PORT_BASE, default 14231; routes +2000, monitoring +4000).
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop|kill|revive DIR [N]}
dir=${2:?usage: cluster.sh start|stop|kill|revive DIR [N]}
base=${CDNSIM_NATS_PORT_BASE:-14231}

stop() {
    for pidfile in "$dir"/n*.pid; do
        [[ -e "$pidfile" ]] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

# Starts node n$1 (1..3) in the background; its PID goes to DIR/n$1.pid.
start_node() {
    local n=$1 i=$(($1 - 1)) routes=""
    for j in 0 1 2; do routes+="${routes:+,}nats://127.0.0.1:$((base + 2000 + j))"; done
    nats-server -js -sd "$dir/n$n" -n "n$n" -a 127.0.0.1 -p $((base + i)) \
        -m $((base + 4000 + i)) --cluster_name cdnsim \
        --cluster "nats://127.0.0.1:$((base + 2000 + i))" --routes "$routes" \
        >>"$dir/n$n.log" 2>&1 &
    echo $! >"$dir/n$n.pid"
}

# Waits until node n$1 answers /healthz (10 s at most).
wait_healthy() {
    local n=$1
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$((base + 4000 + n - 1))/healthz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "cluster.sh: node n$n did not become healthy; its log:" >&2
    cat "$dir/n$n.log" >&2
    return 1
}

case "$cmd" in
start)
    command -v nats-server >/dev/null || { echo "cluster.sh: nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
    mkdir -p "$dir"
    for n in 1 2 3; do start_node $n; done
    for n in 1 2 3; do wait_healthy $n || { stop; exit 1; }; done
    echo "nats://127.0.0.1:$base,nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2))"
    ;;
stop)
    stop
    ;;
kill)
    n=${3:?usage: cluster.sh kill DIR N}
    kill -KILL "$(cat "$dir/n$n.pid")"
    rm -f "$dir/n$n.pid"
    ;;
revive)
    n=${3:?usage: cluster.sh revive DIR N}
    start_node "$n"
    wait_healthy "$n"
    ;;
*)
    echo "usage: cluster.sh start|stop DIR, or kill|revive DIR N" >&2
    exit 2
    ;;
esac
