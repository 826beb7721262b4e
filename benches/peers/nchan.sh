#!/usr/bin/env bash
# Starts nchan (benches/peers/nchan.conf) as ONE nginx process in the
# foreground, at ADDR, with a keep-alive comment every PING seconds
# [1]. TOKEN is taken for the same command line as the other peers and
# not checked. The process becomes nginx (exec), so its PID is the PID
# this script was started with: pin it with taskset, sample it, signal it.
#
#   apt-get install -y libnginx-mod-nchan   (it pulls in nginx)
#   taskset -c 0 benches/peers/nchan.sh 127.0.0.1:18400 bench 1
set -eu
ulimit -c 0 # nchan aborts on its way out of a masterless nginx (a double free): no core file
addr=${1:?ADDR:PORT}
ping=${3:-1}
case $addr in 127.0.0.1:* | \[::1\]:*) ;; *) echo "nchan.sh: $addr is not a loopback address" >&2; exit 2 ;; esac
case $ping in '' | *[!0-9]*) echo "nchan.sh: the ping $ping is not whole seconds" >&2; exit 2 ;; esac
nginx=$(command -v nginx || echo /usr/sbin/nginx)
here=$(dirname "$(realpath "$0")")
prefix=${TMPDIR:-/tmp}/ssed-bench-nchan-${addr##*:}
mkdir -p "$prefix"
sed -e "s|@ADDR@|$addr|" -e "s|@PING@|$ping|" -e "s|@PREFIX@|$prefix|g" "$here/nchan.conf" >"$prefix/nginx.conf"
exec "$nginx" -p "$prefix" -e stderr -c "$prefix/nginx.conf"
