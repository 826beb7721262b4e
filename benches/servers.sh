# Sourced by floor.sh and fanout.sh: start a compared server pinned to
# core 0, and stop it again, signalling only the process started here.
#
# A BINARY named `*ssed*` is started as ssed (`--quiet --max-clients 20000
# --publish-token bench`), anything else as `BINARY 127.0.0.1:PORT bench`
# (the peers take the address and the token as arguments); ARGS follow.
# Its output goes to $server_log (default: nowhere).

start_server() { # BINARY PORT [ARGS...] -> server_pid, server_exe; 1 if it never listened
    local binary=$1 port=$2
    shift 2
    case $binary in
    *ssed*) taskset -c 0 "$binary" --quiet --addr "127.0.0.1:$port" --max-clients 20000 --publish-token bench "$@" &>"${server_log:-/dev/null}" & ;;
    *) taskset -c 0 "$binary" "127.0.0.1:$port" bench "$@" &>"${server_log:-/dev/null}" & ;;
    esac
    server_pid=$!
    server_exe=
    for _ in $(seq 50); do
        if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            # What runs at our PID once it listens: a peer's script has
            # exec'd its server by then (nchan.sh becomes nginx).
            server_exe=$(readlink "/proc/$server_pid/exe")
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_server() { # signal our PID only while it still runs what it ran when it listened
    if [ -n "$server_exe" ] && [ "$(readlink "/proc/$server_pid/exe")" = "$server_exe" ]; then
        kill "$server_pid"
    elif [ -z "$server_exe" ] && [ -e "/proc/$server_pid" ]; then
        # It never listened: it is still taskset or the script we started.
        kill "$server_pid"
    fi
    wait "$server_pid" 2>/dev/null
}

free_port() { # FROM -> port: the first port from FROM that nothing on loopback listens on
    port=$1
    while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
}
