#!/usr/bin/env bash
# make load-warm: warm N keys (default 1,000,000) from a loopback origin held to a fixed rate
# (--rate, default 20000/s) into a real Redis and a real 3-master Redis Cluster. Records keys/s,
# the rate the origin actually saw (from its access log) and warmset's peak memory in docs/load.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${LOAD_KEYS:-1000000}
RATE=${LOAD_RATE:-20000}
BIN=${LOAD_BIN:-.build/release/warmset}
WORK=$(mktemp -d /tmp/warmset-load.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	[ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_redis() { # port [extra…]
	local port=$1; shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no \
		--logfile "$WORK/redis-$port.log" "$@" &
	PIDS+=($!)
	for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.05; done
	echo "redis-server on $port did not start" >&2; exit 1
}
cluster_port() { # a port p with p+10000 (the cluster bus) free too
	while true; do p=$(free_port); [ "$p" -lt 55000 ] && ! (echo > /dev/tcp/127.0.0.1/$((p + 10000))) 2>/dev/null && { echo "$p"; return; }; done
}

python3 -c "
import sys
with open('$WORK/keys.txt', 'w') as f:
    for i in range($N): f.write(f'product:{i:07d}\n')
"
ORIGIN=$(free_port)
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
    log_format t '\$msec';
    access_log $WORK/origin.log t buffer=256k;
    keepalive_requests 10000000;
    server { listen 127.0.0.1:$ORIGIN; location / { return 200 "value-of-a-key"; } }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null

run() { # name redis-url
	: > "$WORK/origin.log"; kill -USR1 "$(cat "$WORK/nginx.pid")"
	local t0 t1 out
	t0=$(date +%s.%N)
	out=$( { /usr/bin/time -f "%M" "$BIN" warm "$WORK/keys.txt" --redis "$2" --origin "http://127.0.0.1:$ORIGIN/v/{key}" \
		--ttl 3600 --rate "$RATE/s" --concurrency 64 -q --report "$WORK/report.json"; } 2>&1 | tail -1)
	t1=$(date +%s.%N)
	kill -USR1 "$(cat "$WORK/nginx.pid")"; sleep 1   # reopen = flush the access log buffer
	local secs seen warmed
	secs=$(echo "$t1 - $t0" | bc -l)
	seen=$(awk 'NR==1 {a=$1} {b=$1; n++} END {if (b>a) printf "%.0f", n/(b-a); else print 0}' "$WORK/origin.log"*)
	warmed=$(python3 -c "import json; r=json.load(open('$WORK/report.json')); print(r['warmed'], r.get('present',0), r['failed'])")
	printf '| %s | %s | %.1f | %.0f | %s | %s MiB |\n' "$1" "$warmed" "$secs" "$(echo "$N / $secs" | bc -l)" "$seen" "$((out / 1024))" >> "$WORK/table"
	tail -1 "$WORK/table"
}

S=$(free_port); start_redis "$S"
echo "load-warm: standalone"
run "standalone Redis" "redis://127.0.0.1:$S"

P1=$(cluster_port); P2=$(cluster_port); P3=$(cluster_port)
for p in $P1 $P2 $P3; do start_redis "$p" --cluster-enabled yes --cluster-config-file "nodes-$p.conf"; done
redis-cli --cluster create 127.0.0.1:$P1 127.0.0.1:$P2 127.0.0.1:$P3 --cluster-replicas 0 --cluster-yes > "$WORK/cluster-create.log" || { cat "$WORK/cluster-create.log"; exit 1; }
for _ in $(seq 100); do redis-cli -p "$P1" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1; done
echo "load-warm: 3-master cluster"
run "3-master Cluster" "redis://127.0.0.1:$P1"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
{
	echo "# Load: $N keys at a fixed origin rate"
	echo
	echo "\`make load-warm\` (scripts/load-warm.sh), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($cpu), $(redis-server --version | cut -d' ' -f1-3)."
	echo "Origin: nginx \`return 200\` on loopback, one worker; warmset \`--rate $RATE/s --concurrency 64\`, TTL 3600, empty targets."
	echo "\"origin saw\" is requests per second between the first and last request in nginx's access log."
	echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine may be shared)."
	echo
	echo "| target | warmed, present, failed | seconds | keys/s | origin saw (req/s) | warmset peak RSS |"
	echo "|---|---|---:|---:|---:|---:|"
	cat "$WORK/table"
} > docs/load.md
cat docs/load.md
