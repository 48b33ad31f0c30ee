#!/usr/bin/env bash
# A 3-node NATS JetStream cluster on loopback ports, for tests/nats.rs.
#
#   tests/nats/cluster.sh start DIR   starts n1..n3 (stores, logs and PIDs under DIR), waits
#                                     until each answers /healthz, prints the CDNSIM_NATS_URL
#   tests/nats/cluster.sh stop DIR    stops them, by the PIDs it wrote (nothing else)
#
# Ports: clients 14231-14233, routes 16231-16233, monitoring 18231-18233 (override the base
# with CDNSIM_NATS_PORT_BASE, default 14231; routes +2000, monitoring +4000).
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop DIR}
dir=${2:?usage: cluster.sh start|stop DIR}
base=${CDNSIM_NATS_PORT_BASE:-14231}

stop() {
    for pidfile in "$dir"/n*.pid; do
        [[ -e "$pidfile" ]] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

case "$cmd" in
start)
    command -v nats-server >/dev/null || { echo "cluster.sh: nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
    mkdir -p "$dir"
    routes=""
    for i in 0 1 2; do routes+="${routes:+,}nats://127.0.0.1:$((base + 2000 + i))"; done
    for i in 0 1 2; do
        n=$((i + 1))
        nats-server -js -sd "$dir/n$n" -n "n$n" -a 127.0.0.1 -p $((base + i)) \
            -m $((base + 4000 + i)) --cluster_name cdnsim \
            --cluster "nats://127.0.0.1:$((base + 2000 + i))" --routes "$routes" \
            >"$dir/n$n.log" 2>&1 &
        echo $! >"$dir/n$n.pid"
    done
    for i in 0 1 2; do
        ok=""
        for _ in $(seq 1 100); do
            if curl -fsS "http://127.0.0.1:$((base + 4000 + i))/healthz" >/dev/null 2>&1; then ok=1; break; fi
            sleep 0.1
        done
        if [[ -z "$ok" ]]; then
            echo "cluster.sh: node n$((i + 1)) did not become healthy; its log:" >&2
            cat "$dir/n$((i + 1)).log" >&2
            stop
            exit 1
        fi
    done
    echo "nats://127.0.0.1:$base,nats://127.0.0.1:$((base + 1)),nats://127.0.0.1:$((base + 2))"
    ;;
stop)
    stop
    ;;
*)
    echo "usage: cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
