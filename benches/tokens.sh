#!/usr/bin/env bash
# What signed tokens cost (#19), side by side with the same build without
# a key: opening 5,000 /events streams one after another (loadgen --open),
# with a token in `Authorization: Bearer`, on a server with a key but
# without a token, and on a server without a key; then one private publish
# to a topic with 1,000 subscribers of which 500 hold a token for it,
# counted from /metrics. Server pinned to core 0, the client to core 1.
#
#   cargo build --release --example loadgen && benches/tokens.sh [ROUNDS]
#
# Only processes started here are signalled, by PID (servers.sh).
set -u
cd "$(dirname "$0")/.."
. benches/servers.sh
rounds=${1:-3}
ssed=$PWD/target/release/ssed
loadgen=$PWD/target/release/examples/loadgen
SSED_JWT_KEY=$(head -c 48 /dev/urandom | base64 -w0)
export SSED_JWT_KEY
token=$("$ssed" token --subscribe users/42)
publisher=$("$ssed" token --publish users/42)
# Long pings and keep-alives: the streams' timers are not what is measured.
quiet_streams=(--interval 600000 --keep-alive 600000)

metric() { # PORT NAME -> the sample's value
    curl -s "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name { print $2 }'
}

open_streams() { # LABEL KEYED(yes|no) [--bearer TOKEN]
    local label=$1 keyed=$2
    shift 2
    free_port 18301
    if [ "$keyed" = yes ]; then
        start_server "$ssed" "$port" "${quiet_streams[@]}" || return 1
    else
        start_server_without_key "$port" || return 1
    fi
    echo "--- round $round: $label"
    taskset -c 1 "$loadgen" --open 5000 --url "http://127.0.0.1:$port/events?topic=users/42" --pid "$server_pid" "$@"
    stop_server
}

start_server_without_key() { # PORT
    taskset -c 0 env -u SSED_JWT_KEY "$ssed" --quiet --addr "127.0.0.1:$1" --max-clients 20000 \
        --publish-token bench "${quiet_streams[@]}" &>/dev/null &
    server_pid=$!
    server_exe=
    for _ in $(seq 50); do
        if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            server_exe=$(readlink "/proc/$server_pid/exe")
            return 0
        fi
        sleep 0.1
    done
    return 1
}

private_fan_out() {
    free_port 18401
    start_server "$ssed" "$port" "${quiet_streams[@]}" || return 1
    local base="http://127.0.0.1:$port/events?topic=users/42"
    taskset -c 1 "$loadgen" --url "$base&authorization=$token" --streams 500 --hold 6 >/dev/null &
    local with_token=$!
    taskset -c 1 "$loadgen" --url "$base" --streams 500 --hold 6 >/dev/null &
    local without=$!
    for _ in $(seq 100); do
        [ "$(metric "$port" ssed_streams_live)" = 1000 ] && break
        sleep 0.1
    done
    local live deliveries wakeups
    live=$(metric "$port" ssed_streams_live)
    deliveries=$(metric "$port" ssed_deliveries_total)
    wakeups=$(metric "$port" ssed_publish_wakeups_total)
    curl -s -X POST -H "Authorization: Bearer $publisher" --data-binary 'for user 42' \
        "http://127.0.0.1:$port/publish?topic=users/42&private" >/dev/null
    sleep 1
    echo "--- round $round: one private publish, $live streams on users/42, 500 with a token"
    echo "deliveries        $(($(metric "$port" ssed_deliveries_total) - deliveries))"
    echo "wake-ups          $(($(metric "$port" ssed_publish_wakeups_total) - wakeups))"
    wait "$with_token" "$without"
    stop_server
}

echo "machine load      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the start"
for round in $(seq "$rounds"); do
    open_streams "5,000 opens, server without a key" no
    open_streams "5,000 opens, server with a key, no token" yes
    open_streams "5,000 opens, server with a key, Bearer token" yes --bearer "$token"
    private_fan_out
done
