#!/usr/bin/env bash
# make bench-warm: the same N keys (small values) into a fresh local Redis three ways, in one run:
#   1. redis-cli --pipe (Redis' documented mass-insertion path; SET key value, no EXISTS), and the
#      same with RESTORE commands whose payloads were DUMPed beforehand (what the target does for copy-from's non-string keys)
#   2. warmset warm --copy-from (MGET on a source Redis, MSETNX here), with --ttl (SET PX NX), and
#      from a second source whose keys all have a TTL (PTTL per key there, SET PX NX here)
#   3. the HTTP side (issue 20), on HTTP_N keys (default 100,000) against a loopback nginx
#      (`return 200`, one process): warmset warm --origin into Redis (EXISTS, GET, SET EX NX),
#      warmset warm --http (GET per key), and wrk -t1 -c16 for WRK_SECONDS (default 4) as the
#      anchor: each with keys (requests)/s, the client's CPU per key (user+sys from /usr/bin/time)
#      and nginx's, and the client CPU per key over wrk's.
# Every path runs RUNS times (default 3), alternating; the run with the median wall time is shown,
# with the 1-minute load average at its start (the machine may be shared).
# BENCH_ONLY=http runs only the HTTP side and prints its table (docs/ is left alone).
# Prints keys/s and the ratios, and writes docs/benchmarks-warm.md with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_KEYS:-1000000}
HTTP_N=${BENCH_HTTP_KEYS:-100000}
WRK_SECONDS=${BENCH_WRK_SECONDS:-4}
ONLY=${BENCH_ONLY:-}
BIN=${BENCH_BIN:-.build/release/warmset}
WORK=$(mktemp -d /tmp/warmset-bench-warm.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
[ "$ONLY" = "" ] || [ "$ONLY" = http ] || { echo "BENCH_ONLY: expected http or nothing, got '$ONLY'" >&2; exit 64; }
for tool in nginx wrk; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "bench-warm: $tool is missing (make bench-warm installs it)" >&2; exit 1; }
done

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
start_redis "$TARGET"
[ "$ONLY" = http ] || { start_redis "$SOURCE"; start_redis "$EXPIRING"; }

[ "$ONLY" = http ] && N=$HTTP_N
[ "$N" -ge "$HTTP_N" ] || { echo "bench-warm: BENCH_KEYS ($N) is below BENCH_HTTP_KEYS ($HTTP_N)" >&2; exit 64; }
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
# --http and the wrk anchor request each key's path; --origin and --http take the first HTTP_N keys.
head -n "$HTTP_N" "$WORK/keys.txt" > "$WORK/http-keys.txt"
sed 's|^|/v/|' "$WORK/http-keys.txt" > "$WORK/http-paths.txt"
if [ "$ONLY" != http ]; then
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
fi

# nginx as the tests run it (NginxTestKit): one process (master_process off), not a daemon, its
# own prefix and temp paths, so that it needs no root and is stopped by its pid like the rest.
mkdir -p "$WORK/nginx-tmp"
cat > "$WORK/nginx.conf" <<NGINX
master_process off;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$ORIGIN;
        location / { return 200 "value-of-a-key"; }
    }
}
NGINX
nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf" 2>/dev/null &
NGINX_PID=$!
PIDS+=($NGINX_PID)
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $ORIGIN)).close()" 2>/dev/null && break; sleep 0.05; done

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
HTTP_FLAGS=${BENCH_HTTP_FLAGS:---concurrency 64}
if [ "$ONLY" != http ]; then
# The paths alternate, RUNS rounds, so that a slow moment of the machine hits every path alike.
for round in $(seq "$RUNS"); do
	echo "bench-warm: round $round/$RUNS"
	timed pipe sh -c "redis-cli -p $TARGET --pipe < $WORK/sets.resp"
	timed restores sh -c "redis-cli -p $TARGET --pipe < $WORK/restores.resp"
	timed copy "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$SOURCE" -q ${BENCH_COPY_FLAGS:-}
	timed copyttl "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$SOURCE" --ttl 3600 -q ${BENCH_COPY_FLAGS:-}
	timed copyexpiring "$BIN" warm "$WORK/keys.txt" --redis "redis://127.0.0.1:$TARGET" --copy-from "redis://127.0.0.1:$EXPIRING" -q ${BENCH_COPY_FLAGS:-}
done
fi

# The HTTP side. nginx's CPU seconds (user + sys) so far, from /proc.
TICKS=$(getconf CLK_TCK)
nginx_cpu() { awk -v t="$TICKS" '{ print ($14 + $15) / t }' "/proc/$NGINX_PID/stat"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# One run of an HTTP path: appends "client_us_per_key keys_per_s seconds keys client_cpu nginx_cpu load".
# warmset's keys are the ones it warmed (its report's warmed count: every key must be; for
# --origin, also DBSIZE); wrk's are its requests.
http_timed() { # name command...
	local name=$1; shift
	local load; load=$(load1)
	local n0; n0=$(nginx_cpu)
	local start; start=$(now)
	/usr/bin/time -f '%U %S' -o "$WORK/time" "$@" > "$WORK/out" || { echo "bench-warm: $name failed" >&2; cat "$WORK/out" >&2; exit 1; }
	local end; end=$(now)
	local nginx; nginx=$(echo "$(nginx_cpu) - $n0" | bc -l)
	local seconds keys
	if [ "$name" = wrk ]; then
		# "  123456 requests in 4.00s, …": wrk's own count and duration.
		read -r keys seconds <<< "$(awk '/ requests in /{ sub(/s,$/, "", $4); print $1, $4 }' "$WORK/out")"
	else
		seconds=$(echo "$end - $start" | bc -l)
		keys=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["warmed"])' "$WORK/report.json")
		if [ "$name" = origin ]; then keys=$(dbsize "$TARGET"); redis-cli -p "$TARGET" flushall >/dev/null; fi
		[ "$keys" = "$HTTP_N" ] || { echo "bench-warm: $name warmed $keys of $HTTP_N keys" >&2; exit 1; }
	fi
	local client; client=$(awk '{print $1 + $2}' "$WORK/time")
	echo "$(echo "$client * 1000000 / $keys" | bc -l) $(echo "$keys / $seconds" | bc -l) $seconds $keys $client $nginx $load" >> "$WORK/$name.runs"
}
# The run with the median client CPU per key of an HTTP path (the steadier figure on a shared machine).
http_median() { sort -n "$WORK/$1.runs" | awk '{ run[NR] = $0 } END { print run[int((NR + 1) / 2)] }'; }
for round in $(seq "$RUNS"); do
	echo "bench-warm: HTTP round $round/$RUNS ($HTTP_N keys)"
	http_timed origin "$BIN" warm "$WORK/http-keys.txt" --redis "redis://127.0.0.1:$TARGET" --origin "http://127.0.0.1:$ORIGIN/v/{key}" --ttl 3600 -q --report "$WORK/report.json" $ORIGIN_FLAGS
	http_timed http "$BIN" warm "$WORK/http-paths.txt" --http "http://127.0.0.1:$ORIGIN" -q --report "$WORK/report.json" $HTTP_FLAGS
	http_timed wrk wrk -t1 -c16 -d"${WRK_SECONDS}s" "http://127.0.0.1:$ORIGIN/v/product:0000000"
done
read -r wrk_us wrk_r _ <<< "$(http_median wrk)"
# The median over the rounds of a path's CPU per key over the same round's wrk figure. This VM's
# speed changes by a third from one minute to the next (wrk's own figure moved from 4.9 to 7.9 µs
# within one run), and the three commands of a round run within seconds of each other: the
# ratio within a round is steadier than the ratio of two medians, which may come from different
# moments.
paired_ratio() { # name
	paste -d' ' "$WORK/$1.runs" "$WORK/wrk.runs" | awk '{ print $1 / $8 }' | sort -g | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'
}
http_row() { # label name
	local us r s n c ng load
	read -r us r s n c ng load <<< "$(http_median "$2")"
	printf '| %s | %s | %.2f | %.0f | %.0f | %.2f | %.1f | %.2f | %.2f | %.1f | %s |\n' "$1" "$n" "$s" "$r" \
		"$(echo "$r / $wrk_r * 100" | bc -l)" "$c" "$us" "$(echo "$us / $wrk_us" | bc -l)" "$(paired_ratio "$2")" "$(echo "$ng * 1000000 / $n" | bc -l)" "$load"
}
http_table=$(cat <<TABLE
| path | keys (wrk: requests) | seconds | keys/s | % of wrk's rate | client CPU s | client CPU µs per key | × wrk's CPU per request | × wrk's, round by round (median) | nginx CPU µs per key | load avg (1 min) at start |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(http_row "warmset warm --origin → Redis (EXISTS, HTTP GET, SET EX NX), \`$ORIGIN_FLAGS\`" origin)
$(http_row "warmset warm --http (GET), \`$HTTP_FLAGS\`" http)
$(http_row "wrk -t1 -c16 -d${WRK_SECONDS}s (one URL, keep-alive): the anchor" wrk)
TABLE
)
if [ "$ONLY" = http ]; then
	echo "$http_table"
	for name in origin http wrk; do echo "$name runs (µs/key keys/s s keys client nginx load):"; cat "$WORK/$name.runs"; done
	exit 0
fi

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
TABLE
)
echo "$table"
echo "$http_table"
mkdir -p docs
# The "## Reading" section of the existing file is written by hand; it is kept.
reading=""
[ -f docs/benchmarks-warm.md ] && reading=$(sed -n '/^## Reading/,$p' docs/benchmarks-warm.md)
cat > docs/benchmarks-warm.md <<DOC
# Warm benchmark: $N keys into a fresh local Redis

\`make bench-warm\` (scripts/bench-warm.sh), run $(date -u +%Y-%m-%dT%H:%MZ). Keys \`product:0000000\`…,
values of about 25 bytes; every path starts from an empty target and each row ends with all keys
in Redis (checked with DBSIZE). Source and target are two redis-server processes on the same
machine (a third holds the same keys, each with a TTL of a day). warmset is the release build with
its defaults (4 connections, batches of 256). Every path ran $RUNS times, alternating; each row is
the run with the median time. CPU: user+sys seconds of the client (warmset or redis-cli, from
\`/usr/bin/time\`) and of each redis-server during the run (from \`INFO cpu\`).

Machine: $(nproc) cores, $cpu; $(redis-server --version | cut -d' ' -f1-3); hiredis $(pkg-config --modversion hiredis).

$table

## The HTTP side (issue 20): $HTTP_N keys from a loopback nginx

The origin is nginx (\`return 200\`, \`master_process off\`: one process) on loopback; the
first $HTTP_N keys. \`--origin\` writes each key into the same empty Redis; \`--http\` requests
\`/v/KEY\`; wrk requests one URL over 16 keep-alive connections for ${WRK_SECONDS} s, the
cost of an HTTP request to a load generator. The three ran $RUNS times, alternating; each row is the
run with the median client CPU per key (user+sys from \`/usr/bin/time\`); nginx's CPU is from
\`/proc/PID/stat\`. The machine may be shared: the load average is the one at the run's start.
"× wrk's CPU per request" divides the two median rows; "round by round" is the median over the
rounds of each round's client CPU per key over that round's wrk figure (the VM's speed moves
between minutes; a round's three commands run within seconds).

$http_table

$reading
DOC
echo "bench-warm: wrote docs/benchmarks-warm.md"
