#!/usr/bin/env bash
# The side-by-side runs behind BENCHMARKS.md "At the floor of the thread
# design": every server pinned to core 0, the loadgen to core 1, rounds
# interleaved so that each round compares the servers under the same
# machine weather. Loopback only; every run bounded by `timeout`.
#
#   cargo build --release --example loadgen --example minimal
#   go build -ldflags="-s -w" -o /tmp/goping benches/peers/ping.go
#   go build -ldflags="-s -w" -o /tmp/broadcast benches/peers/broadcast.go
#   benches/floor.sh pings ROUNDS NAME=BINARY...   (10,000 /sse streams)
#   benches/floor.sh fanout ROUNDS NAME=BINARY...  (/events, 1,000 × 20/s and 5,000 × 4/s)
#
# How each BINARY is started: benches/servers.sh. The fan-out beside nchan
# at the issue 21 settings: benches/fanout.sh.
set -u
mode=${1:?pings or fanout}
rounds=${2:?rounds}
shift 2
loadgen=${LOADGEN:-target/release/examples/loadgen}
port=18600

. "$(dirname "$0")/servers.sh"

overflows() { nstat -az TcpExtListenOverflows | awk '/ListenOverflows/ { print $2 }'; }

for round in $(seq "$rounds"); do
    for named in "$@"; do
        name=${named%%=*}
        binary=${named#*=}
        port=$((port + 1))
        if [ "$mode" = pings ]; then
            start_server "$binary" "$port"
            before=$(overflows)
            report=$(timeout 200 taskset -c 1 "$loadgen" --url "http://127.0.0.1:$port/sse" \
                --pid "$server_pid" --streams 10000 --ramp 2000 --hold 20 --close rst 2>&1)
            echo "== $name, round $round: listen overflows $(($(overflows) - before))"
            echo "$report"
            stop_server
        else
            for load in "1000 20" "5000 4"; do
                read -r streams rate <<<"$load"
                start_server "$binary" "$port"
                report=$(timeout 200 taskset -c 1 "$loadgen" --url "http://127.0.0.1:$port/events" \
                    --pid "$server_pid" --streams "$streams" --ramp 2000 --hold 20 --publish-rate "$rate" --token bench 2>&1)
                echo "== $name, round $round: $streams streams, $rate publishes/s"
                echo "$report"
                stop_server
                port=$((port + 1))
            done
        fi
    done
done
