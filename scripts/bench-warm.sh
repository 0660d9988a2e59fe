#!/usr/bin/env bash
# make bench-warm: the same N keys (small values) into a fresh local Redis three ways, in one run:
#   1. redis-cli --pipe (Redis' documented mass-insertion path; SET key value, no EXISTS)
#   2. warmset warm --copy-from (DUMP + PTTL on a source Redis, RESTORE here; EXISTS first)
#   3. warmset warm --origin (GET from a fast loopback origin, nginx `return 200`; EXISTS, then SET EX NX)
# Prints keys/s and the ratios, and writes docs/benchmarks-warm.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_KEYS:-1000000}
BIN=${BENCH_BIN:-.build/release/warmset}
WORK=$(mktemp -d /tmp/warmset-bench-warm.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	[ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
start_redis() { # port
	redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no \
		--logfile "$WORK/redis-$1.log" &
	PIDS+=($!)
	for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done
	echo "redis-server on $1 did not start" >&2; exit 1
}
dbsize() { redis-cli -p "$1" dbsize; }

SOURCE=$(free_port); TARGET=$(free_port); ORIGIN=$(free_port)
start_redis "$SOURCE"; start_redis "$TARGET"

echo "bench-warm: generating $N keys"
python3 - "$N" "$WORK" <<'PY'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
with open(f"{work}/keys.txt", "w") as keys, open(f"{work}/sets.resp", "wb") as resp:
    for i in range(n):
        key = f"product:{i:07d}"
        value = f"value-of:{key}"
        keys.write(key + "\n")
        resp.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key.encode(), len(value), value.encode()))
PY
redis-cli -p "$SOURCE" --pipe < "$WORK/sets.resp" >/dev/null

cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$ORIGIN;
        location / { return 200 "value-of-a-key"; }
    }
}
NGINX
nginx -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null

echo "bench-warm: 1/3 redis-cli --pipe"
t0=$(now); redis-cli -p "$TARGET" --pipe < "$WORK/sets.resp" >/dev/null; t1=$(now)
pipe_s=$(echo "$t1 - $t0" | bc -l); pipe_n=$(dbsize "$TARGET")
redis-cli -p "$TARGET" flushall >/dev/null

echo "bench-warm: 2/3 warmset warm --copy-from"
t0=$(now); "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$SOURCE" -q ${BENCH_COPY_FLAGS:-}; t1=$(now)
copy_s=$(echo "$t1 - $t0" | bc -l); copy_n=$(dbsize "$TARGET")
redis-cli -p "$TARGET" flushall >/dev/null

echo "bench-warm: 3/3 warmset warm --origin"
t0=$(now); "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --origin "http://127.0.0.1:$ORIGIN/v/{key}" --ttl 3600 -q ${BENCH_ORIGIN_FLAGS:---concurrency 64}; t1=$(now)
origin_s=$(echo "$t1 - $t0" | bc -l); origin_n=$(dbsize "$TARGET")

rate() { printf '%.0f' "$(echo "$1 / $2" | bc -l)"; }
pipe_r=$(rate "$pipe_n" "$pipe_s"); copy_r=$(rate "$copy_n" "$copy_s"); origin_r=$(rate "$origin_n" "$origin_s")
copy_x=$(printf '%.2f' "$(echo "$copy_r / $pipe_r" | bc -l)"); origin_x=$(printf '%.2f' "$(echo "$origin_r / $pipe_r" | bc -l)")
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
table=$(cat <<TABLE
| path | keys in Redis | seconds | keys/s | vs redis-cli --pipe |
|---|---:|---:|---:|---:|
| redis-cli --pipe (SET) | $pipe_n | $(printf '%.2f' "$pipe_s") | $pipe_r | 1.00 |
| warmset --copy-from (EXISTS, DUMP+PTTL, RESTORE) | $copy_n | $(printf '%.2f' "$copy_s") | $copy_r | $copy_x |
| warmset --origin (EXISTS, HTTP GET, SET EX NX) | $origin_n | $(printf '%.2f' "$origin_s") | $origin_r | $origin_x |
TABLE
)
echo "$table"
mkdir -p docs
cat > docs/benchmarks-warm.md <<DOC
# Warm benchmark: $N keys into a fresh local Redis

\`make bench-warm\` (scripts/bench-warm.sh), run $(date -u +%Y-%m-%dT%H:%MZ). Keys \`product:0000000\`…,
values of about 25 bytes; every path starts from an empty target and each row ends with all keys
in Redis (checked with DBSIZE). Source and target are two redis-server processes on the same
machine; the origin is nginx (\`return 200\`, one worker) on loopback. warmset is the release build with
its defaults (4 connections, batches of 256) and, for the origin, \`${BENCH_ORIGIN_FLAGS:---concurrency 64}\`.

Machine: $(nproc) cores, $cpu; $(redis-server --version | cut -d' ' -f1-3); hiredis $(pkg-config --modversion hiredis).
The machine was shared with other work while this ran, so treat the figures as ±20%.

$table

redis-cli --pipe only sends SETs. warmset does more per key: an EXISTS round (keys already present
are left alone), the value read (DUMP+PTTL on the source, or an HTTP request), then the write.
DOC
# The reading of the figures below the table in docs/benchmarks-warm.md is written by hand.
echo "bench-warm: wrote docs/benchmarks-warm.md"
