#!/usr/bin/env bash
# make bench-warm: the same N keys (small values) into a fresh local Redis three ways, in one run:
#   1. redis-cli --pipe (Redis' documented mass-insertion path; SET key value, no EXISTS), and the
#      same with RESTORE commands whose payloads were DUMPed beforehand (what the target does for copy-from's non-string keys)
#   2. warmset warm --copy-from (MGET on a source Redis, MSETNX here), with --ttl (SET PX NX), and
#      from a second source whose keys all have a TTL (PTTL per key there, SET PX NX here)
#   3. warmset warm --origin (GET from a fast loopback origin, nginx `return 200`; EXISTS, then SET EX NX)
# The redis-cli and copy-from paths run RUNS times (default 3), alternating; the median is shown.
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

SOURCE=$(free_port); TARGET=$(free_port); ORIGIN=$(free_port); EXPIRING=$(free_port)
start_redis "$SOURCE"; start_redis "$TARGET"; start_redis "$EXPIRING"

echo "bench-warm: generating $N keys"
python3 - "$N" "$WORK" <<'PY'
import sys
n, work = int(sys.argv[1]), sys.argv[2]
with open(f"{work}/keys.txt", "w") as keys, open(f"{work}/sets.resp", "wb") as resp, open(f"{work}/expiring.resp", "wb") as expiring:
    for i in range(n):
        key = f"product:{i:07d}"
        value = f"value-of:{key}"
        keys.write(key + "\n")
        resp.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key.encode(), len(value), value.encode()))
        expiring.write(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$5\r\n86400\r\n" % (len(key), key.encode(), len(value), value.encode()))
PY
redis-cli -p "$SOURCE" --pipe < "$WORK/sets.resp" >/dev/null
redis-cli -p "$EXPIRING" --pipe < "$WORK/expiring.resp" >/dev/null
# The floor of a DUMP/RESTORE copy (copy-from's path for types other than strings): the same keys as RESTORE commands with the source's DUMP
# payloads, fed to the target by redis-cli --pipe (no client work, no source work at run time).
python3 - "$SOURCE" "$WORK" <<'PY'
import socket, sys
port, work = int(sys.argv[1]), sys.argv[2]
keys = [line.rstrip("\n").encode() for line in open(f"{work}/keys.txt")]
def command(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
sock = socket.create_connection(("127.0.0.1", port))
reader = sock.makefile("rb")
with open(f"{work}/restores.resp", "wb") as out:
    for start in range(0, len(keys), 10000):
        batch = keys[start:start + 10000]
        sock.sendall(b"".join(command(b"DUMP", k) for k in batch))
        for key in batch:
            header = reader.readline()
            assert header.startswith(b"$"), header
            payload = reader.read(int(header[1:]) + 2)[:-2]
            out.write(command(b"RESTORE", key, b"0", payload))
PY

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

RUNS=${RUNS:-3}
# Server CPU seconds (user + sys) so far, from INFO cpu.
server_cpu() { redis-cli -p "$1" info cpu | grep -E '^used_cpu_(user|sys):' | cut -d: -f2 | tr -d '\r' | paste -sd+ | bc -l; }
# One timed run of a path into the empty target: appends "seconds keys client_cpu source_cpu target_cpu".
timed() { # name command...
	local name=$1; shift
	local s0 t0 t1
	local from=$SOURCE
	[ "$name" = copyexpiring ] && from=$EXPIRING
	s0=$(server_cpu "$from"); t0=$(server_cpu "$TARGET")
	local start; start=$(now)
	/usr/bin/time -f '%U %S' -o "$WORK/time" "$@" >/dev/null
	local end; end=$(now)
	local keys; keys=$(dbsize "$TARGET")
	local client; client=$(awk '{print $1 + $2}' "$WORK/time")
	echo "$(echo "$end - $start" | bc -l) $keys $client $(echo "$(server_cpu "$from") - $s0" | bc -l) $(echo "$(server_cpu "$TARGET") - $t0" | bc -l)" >> "$WORK/$name.runs"
	redis-cli -p "$TARGET" flushall >/dev/null
}
# The run with the median wall time of a path: "seconds keys client_cpu source_cpu target_cpu".
median() { sort -n "$WORK/$1.runs" | awk '{ run[NR] = $0 } END { print run[int((NR + 1) / 2)] }'; }

ORIGIN_FLAGS=${BENCH_ORIGIN_FLAGS:---concurrency 64}
# The paths alternate, RUNS rounds, so that a slow moment of the machine hits every path alike.
for round in $(seq "$RUNS"); do
	echo "bench-warm: round $round/$RUNS"
	timed pipe sh -c "redis-cli -p $TARGET --pipe < $WORK/sets.resp"
	timed restores sh -c "redis-cli -p $TARGET --pipe < $WORK/restores.resp"
	timed copy "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$SOURCE" -q ${BENCH_COPY_FLAGS:-}
	timed copyttl "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$SOURCE" --ttl 3600 -q ${BENCH_COPY_FLAGS:-}
	timed copyexpiring "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$EXPIRING" -q ${BENCH_COPY_FLAGS:-}
done
echo "bench-warm: warmset warm --origin (once: it takes a while)"
timed origin "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --origin "http://127.0.0.1:$ORIGIN/v/{key}" --ttl 3600 -q $ORIGIN_FLAGS

read -r pipe_s pipe_n pipe_c _ pipe_t <<< "$(median pipe)"
pipe_r=$(printf '%.0f' "$(echo "$pipe_n / $pipe_s" | bc -l)")
row() { # label name runs
	local s n c src tgt
	read -r s n c src tgt <<< "$(median "$2")"
	local r; r=$(printf '%.0f' "$(echo "$n / $s" | bc -l)")
	printf '| %s | %s | %.2f | %s | %.2f | %.2f / %.2f / %.2f |\n' "$1" "$n" "$s" "$r" "$(echo "$r / $pipe_r" | bc -l)" "$c" "$src" "$tgt"
}
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
table=$(cat <<TABLE
| path | keys in Redis | seconds | keys/s | vs redis-cli --pipe | CPU s: client / source / target |
|---|---:|---:|---:|---:|---|
$(printf '| redis-cli --pipe (SET) | %s | %.2f | %s | 1.00 | %.2f / - / %.2f |' "$pipe_n" "$pipe_s" "$pipe_r" "$pipe_c" "$pipe_t")
$(row "redis-cli --pipe (RESTORE, payloads DUMPed beforehand): the floor of a DUMP/RESTORE copy" restores)
$(row "warmset --copy-from (MULTI/INFO keyspace/MGET/EXEC, MSETNX)" copy)
$(row "warmset --copy-from --ttl 3600 (MGET, SET PX NX)" copyttl)
$(row "warmset --copy-from, every source key with a TTL (MGET + PTTL, SET PX NX)" copyexpiring)
$(row "warmset --origin (EXISTS, HTTP GET, SET EX NX)" origin)
TABLE
)
echo "$table"
mkdir -p docs
# The "## Reading" section of the existing file is written by hand; it is kept.
reading=""
[ -f docs/benchmarks-warm.md ] && reading=$(sed -n '/^## Reading/,$p' docs/benchmarks-warm.md)
cat > docs/benchmarks-warm.md <<DOC
# Warm benchmark: $N keys into a fresh local Redis

\`make bench-warm\` (scripts/bench-warm.sh), run $(date -u +%Y-%m-%dT%H:%MZ). Keys \`product:0000000\`…,
values of about 25 bytes; every path starts from an empty target and each row ends with all keys
in Redis (checked with DBSIZE). Source and target are two redis-server processes on the same
machine (a third holds the same keys, each with a TTL of a day); the origin is nginx (\`return 200\`, one worker) on loopback. warmset is the release build with
its defaults (4 connections, batches of 256) and, for the origin, \`$ORIGIN_FLAGS\`. redis-cli and
the three copy-from paths ran $RUNS times each, alternating; each row is the run with the median time
(the origin path ran once). CPU: user+sys seconds of the client (warmset or redis-cli, from
\`/usr/bin/time\`) and of each redis-server during the run (from \`INFO cpu\`).

Machine: $(nproc) cores, $cpu; $(redis-server --version | cut -d' ' -f1-3); hiredis $(pkg-config --modversion hiredis).

$table

$reading
DOC
echo "bench-warm: wrote docs/benchmarks-warm.md"
