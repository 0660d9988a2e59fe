#!/usr/bin/env bash
# Instructions a run executes, counted by callgrind: repeatable whatever else the machine is doing,
# so two builds can be compared on a busy host where wall-clock figures cannot.
#
#   scripts/callgrind.sh [BIN...]     # default: .build/release/warmset
#   KEYS=2000000 scripts/callgrind.sh # the high-cardinality log's lines instead
#
# Counts `analyze` over the first 300,000 lines of the benchmark log (scripts/bench.sh's log:
# 5M lines, 1.1M keys, zipf 1.0, seed 1; or KEYS keys) with --threads 1 --single-thread and the benchmark's rule,
# and over a 2-line log (start-up). valgrind 3.19 cannot read the DWARF 5 debug info Swift writes,
# so each binary is counted through a copy stripped of it. Prints one row per binary and checks that
# every binary wrote the same manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "callgrind: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
[ $# -gt 0 ] || set -- .build/release/warmset
LINES=${LINES:-300000}
KEYS=${KEYS:-1100000}
DATA=bench-data
RULE='^/products/(\d+)$ => product:$1'
mkdir -p "$DATA"
LOG="$DATA/callgrind-$LINES.log"
[ "$KEYS" = 1100000 ] || LOG="$DATA/callgrind-$LINES-keys-$KEYS.log"
if [ ! -s "$LOG" ]; then
  "$1" generate --lines 5000000 --keys "$KEYS" --zipf 1.0 --seed 1 | head -n "$LINES" > "$LOG"
fi
TINY="$DATA/callgrind-2.log"
head -n 2 "$LOG" > "$TINY"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

count() { # BIN LOG OUT → instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" analyze "$2" --threads 1 --single-thread \
    --top 10000 --rule "$RULE" -q -o "$3" --output-format tsv 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-50s %16s %16s\n' binary "$LINES lines" "2-line log"
first=""
for bin in "$@"; do
  n=$((${n:-0} + 1))
  strip --strip-debug -o "$tmp/warmset-$n" "$bin"
  big=$(count "$tmp/warmset-$n" "$LOG" "$tmp/manifest-$n.tsv")
  small=$(count "$tmp/warmset-$n" "$TINY" /dev/null)
  printf '%-50s %16s %16s\n' "$bin" "$(printf "%'d" "$big")" "$(printf "%'d" "$small")"
  if [ -z "$first" ]; then first="$tmp/manifest-$n.tsv"
  elif ! cmp -s "$first" "$tmp/manifest-$n.tsv"; then echo "callgrind: $bin wrote a different manifest than $1" >&2; exit 1
  fi
done
