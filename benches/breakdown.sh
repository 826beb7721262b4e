#!/usr/bin/env bash
# Where a server's CPU goes under one fan-out load: the server pinned to
# core 0, the loadgen on core 1, and `perf record -C 0` over 10 s of the
# hold; each sample of the server's process is put in one bucket by the
# system call it sits in (or returns from), the rest by who ran. Loopback
# only, bounded by `timeout`. Needs perf (linux-perf) and
# kernel.perf_event_paranoid <= 1, or root.
#
#   benches/breakdown.sh BINARY SERVER-ARGS -- LOADGEN-FLAGS...
#   benches/breakdown.sh target/release/ssed --keep-alive 1000 -- --streams 5000 --publish-rate 4
#   benches/breakdown.sh benches/peers/nchan.sh 1 -- --streams 5000 --publish-rate 4
#
# Prints, in % of core 0 over the 10 s: idle, other processes, and the
# server's samples by bucket. The loadgen's report and perf.data stay in
# OUT (default target/bench/breakdown-DATE).
set -u
binary=${1:?usage: benches/breakdown.sh BINARY SERVER-ARGS -- LOADGEN-FLAGS...}
shift
server_args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    server_args+=("$1")
    shift
done
[ "${1:-}" = -- ] && shift
cd "$(dirname "$0")/.."
. benches/servers.sh
command -v perf >/dev/null || { echo "SKIPPED: perf is missing (install linux-perf)"; exit 0; }
out=${OUT:-target/bench/breakdown-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
cargo build --release --quiet --example loadgen || exit 1

free_port 18800
server_log="$out/server.log" start_server "$binary" "$port" "${server_args[@]}" || {
    echo "did not listen within 5 s: $out/server.log"
    stop_server
    exit 1
}
timeout 200 taskset -c 1 target/release/examples/loadgen --url "http://127.0.0.1:$port/events" \
    --pid "$server_pid" --ramp 2000 --hold 20 --token bench "$@" >"$out/loadgen.txt" 2>&1 &
loadgen=$!
# The ramp (up to 5 s at 2,000 streams/s) is over; 10 s of the 20 s hold.
sleep 8
timeout 30 perf record -q -C 0 -e cpu-clock -g -o "$out/perf.data" -- sleep 10 2>/dev/null
wait "$loadgen"
stop_server
grep -E '^(server CPU|publish→receive|fan-out)' "$out/loadgen.txt"

# One sample: "COMM PID" then its frames, innermost first, each
# "ADDRESS SYMBOL (DSO)". The bucket is the first frame outside the
# kernel: the system call's user-space wrapper, or the server's own code.
perf script -i "$out/perf.data" -F pid,comm,ip,sym,dso 2>/dev/null | awk -v server="$server_pid" '
BEGIN { RS = "" }
{
    total++
    split($0, line, "\n")
    fields = split(line[1], head, " ")
    if (head[fields] == 0) { bucket["idle"]++; next }
    if (head[fields] != server) { bucket["other processes (the loadgen, perf, kernel threads)"]++; next }
    kernel = ""; user = ""; dso = ""
    for (i = 2; i in line; i++) {
        if (line[i] ~ /kernel\.kallsyms/) { kernel = kernel " " line[i]; continue }
        n = split(line[i], field, " ")
        user = field[2]; dso = field[n]
        break
    }
    if (user == "") { name = "kernel without a system call (interrupts, timers)" }
    else if (user ~ /^(__send|send|__libc_send|__GI___writev|writev|__GI___libc_write|write|__libc_write|sendmsg|__libc_sendmsg)$/) {
        name = "writing frames (send/writev; on loopback the client side of the delivery runs here too)"
    }
    else if (user ~ /^(syscall|__GI_syscall)$/ && kernel ~ /futex_wake/) { name = "futex: waking a thread" }
    else if (user ~ /^(syscall|__GI_syscall)$/) { name = "futex: a thread waiting (with a timeout), and coming back" }
    else if (user ~ /^(epoll_wait|__GI_epoll_wait|epoll_pwait)$/) { name = "epoll_wait (the event loop waiting)" }
    else if (user ~ /(recv|read)/) { name = "reading (requests, peer checks)" }
    else if (user ~ /(ioctl|fcntl|setsockopt|getsockopt)/) { name = "socket options and modes" }
    else if (user ~ /(accept|clone|mmap|munmap|mprotect|madvise|close|exit)/) { name = "connections and threads coming and going" }
    else if (user ~ /clock_gettime/) { name = "reading the clock" }
    else if (dso ~ /libc/) { name = "libc (locks, allocator, other calls)" }
    else { name = "the server'\''s own code" }
    bucket[name]++
}
END {
    for (name in bucket) printf "%6.1f %%  %s\n", 100 * bucket[name] / total, name | "sort -rn"
}'
echo "perf data and the loadgen's report: $out"
