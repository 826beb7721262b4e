#!/usr/bin/env bash
# The fan-out of issue 21 side by side, in one command: ssed beside nchan
# (benches/peers/nchan.conf, one nginx process) and the Go broadcaster
# (benches/peers/broadcast.go), each pinned to core 0 and measured by the
# loadgen on core 1, rounds interleaved (each round runs every load on
# every server, so a round compares them under the same machine weather).
# Loopback only; every run bounded by `timeout`. Builds what it needs,
# keeps each raw loadgen report in OUT, and prints a table.
#
#   benches/fanout.sh ROUNDS [HOLD-SECONDS] [NAME=SSED-BINARY...]
#
# Without a NAME=SSED-BINARY, `ssed=target/release/ssed`, built here; give
# several (`main=/tmp/ssed-main new=target/release/ssed`) for a column
# each. HOLD-SECONDS [20] is the loadgen's --hold; LOADS (e.g.
# LOADS="idle topics") picks loads. The loadgen's readers wake every 2 s
# when idle (--reader-wake 2000), not 250 ms: 10,000 readers at 250 ms
# are 40,000 wake-ups a second on the loadgen's core, which showed as a
# 10 ms publish→receive p99 for every server. OUT defaults to
# target/bench/fanout-DATE. The loads, and each server's keep-alive:
#
#   1k×20    1,000 streams, one topic, 20 publishes/s     ssed --keep-alive 1000, nchan 1 s, Go 500 ms
#   5k×4     5,000 streams, one topic, 4 publishes/s      the same
#   idle     10,000 streams on 10,000 topics, no publish  ssed --keep-alive 15000, nchan 15 s
#   topics   the same streams, 100 publishes/s to random topics (the "idle + 2 points" target),
#            over kept-alive publishing connections (the loadgen's --publish-keep-alive)
#
# The Go peer has one channel and a fixed 500 ms keep-alive: it runs the
# first two loads only. Their publishes are one connection each
# (Connection: close); those of the topics load go over kept-alive
# connections, as issue 21 asks, which ssed keeps open by its
# --publish-idle-timeout and --max-requests-per-connection and nchan by
# keepalive_timeout 5s and keepalive_requests 1000 (nchan.conf).
set -u
rounds=${1:?usage: benches/fanout.sh ROUNDS [HOLD-SECONDS] [NAME=SSED-BINARY...]}
hold=${2:-20}
shift $(($# < 2 ? $# : 2))
cd "$(dirname "$0")/.."
. benches/servers.sh
out=${OUT:-target/bench/fanout-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out" target/bench
loadgen=target/release/examples/loadgen

# What it needs.
if [ $# -eq 0 ]; then
    set -- ssed=target/release/ssed
    cargo build --release --quiet --bin ssed || exit 1
fi
cargo build --release --quiet --example loadgen || exit 1
servers=("$@")
if go build -ldflags="-s -w" -o target/bench/broadcast benches/peers/broadcast.go; then
    servers+=(go=target/bench/broadcast)
else
    echo "SKIPPED: the Go peer (install golang-go)"
fi
if [ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] && { command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null; then
    servers+=(nchan=benches/peers/nchan.sh)
else
    echo "SKIPPED: nchan (install libnginx-mod-nchan)"
fi

# LOADS="idle topics" runs only those.
read -r -a loads <<<"${LOADS:-1k×20 5k×4 idle topics}"
loadgen_flags() { # LOAD
    case $1 in
    1k×20) echo --streams 1000 --publish-rate 20 ;;
    5k×4) echo --streams 5000 --publish-rate 4 ;;
    idle) echo --streams 10000 --topics 10000 ;;
    topics) echo --streams 10000 --topics 10000 --publish-rate 100 --publish-keep-alive ;;
    esac
}
server_flags() { # NAME LOAD: nothing if NAME does not run LOAD ("skip")
    local seconds=1
    case $2 in idle | topics) seconds=15 ;; esac
    case $1 in
    go) [ "$seconds" = 15 ] && echo skip ;;
    nchan) echo "$seconds" ;;
    *) echo --keep-alive "${seconds}000" ;;
    esac
}

port=18700
for round in $(seq "$rounds"); do
    for load in "${loads[@]}"; do
        for named in "${servers[@]}"; do
            name=${named%%=*}
            binary=${named#*=}
            flags=$(server_flags "$name" "$load")
            [ "$flags" = skip ] && continue
            report="$out/$load.$name.$round"
            free_port $((port + 1))
            echo "== round $round, $load, $name (port $port)"
            # shellcheck disable=SC2086 # the flags are words
            if server_log="$report.log" start_server "$binary" "$port" $flags; then
                # shellcheck disable=SC2046
                timeout 200 taskset -c 1 "$loadgen" --url "http://127.0.0.1:$port/events" --pid "$server_pid" \
                    --ramp 2000 --hold "$hold" --reader-wake 2000 --token bench $(loadgen_flags "$load") >"$report.txt" 2>&1
            else
                echo "   did not listen within 5 s: $report.log"
            fi
            stop_server
        done
    done
done

# The table: one row a load and server, each figure as median (rounds).
figure() { # FILE FIGURE
    case $2 in
    cpu) awk '/^server CPU/ { print $3 }' "$1" ;;
    p50) awk '/^publish/ { print $3 }' "$1" ;;
    p99) awk '/^publish/ { print $5 }' "$1" ;;
    rss) awk '/^server RSS\/stream/ { print $3 }' "$1" ;;
    connected) awk '/^streams/ { print $4 }' "$1" ;;
    published) awk '/^publish/ { sub(/.*\(/, ""); print $1 }' "$1" ;;
    esac
}
column() { # LOAD NAME FIGURE: "median (round 1, round 2, …)"
    local values=() file value
    for round in $(seq "$rounds"); do
        file="$out/$1.$2.$round.txt"
        value=$([ -e "$file" ] && figure "$file" "$3")
        values+=("${value:-–}")
    done
    if [ "$rounds" -eq 1 ]; then
        echo "${values[0]}"
    else
        local median
        median=$(printf '%s\n' "${values[@]}" | grep -v – | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
        echo "${median:-–} ($(IFS=,; echo "${values[*]}" | sed 's/,/, /g'))"
    fi
}
echo
echo "reports: $out (machine load at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| load | server | CPU % | publish→receive p50 ms | p99 ms | RSS/stream KB | streams connected | published |"
echo "|---|---|---|---|---|---|---|---|"
for load in "${loads[@]}"; do
    for named in "${servers[@]}"; do
        name=${named%%=*}
        [ "$(server_flags "$name" "$load")" = skip ] && continue
        row="| $load | $name"
        for figure in cpu p50 p99 rss connected published; do
            row+=" | $(column "$load" "$name" "$figure")"
        done
        echo "$row |"
    done
done
