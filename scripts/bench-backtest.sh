#!/usr/bin/env bash
# `make bench` (its backtest row): `warmset backtest` with three strategies against `warmset analyze`
# on the same generated 5M-line log (the bench log of scripts/bench.sh). Prints the median wall time
# of each over alternated runs, their CPU, peak RSS and the ratio backtest/analyze (issue 21's goal:
# at most 2×). Nothing here fails on speed: the figures are the result.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
LINES=${LINES:-5000000}
KEYS=${KEYS:-1100000}
DATA=bench-data
BIN=${BIN:-.build/release/warmset}
RULE='^/products/(\d+)$ => product:$1'
LOG="$DATA/bench-$LINES.log"
mkdir -p "$DATA"
[ -x "$BIN" ] || { echo "bench-backtest: $BIN is not built; run: swift build -c release --static-swift-stdlib" >&2; exit 1; }
if [ ! -s "$LOG" ]; then
  if [ -s "$LOG.gz" ]; then
    pigz -dc "$LOG.gz" > "$LOG"
  else
    echo "bench-backtest: generating $LINES lines ($KEYS keys, zipf 1.0, seed 1) into $LOG"
    "$BIN" generate --lines "$LINES" --keys "$KEYS" --zipf 1.0 --seed 1 > "$LOG"
  fi
fi

analyze=("$BIN" analyze "$LOG" --top 10000 --rule "$RULE" -q -o /dev/null)
backtest=("$BIN" backtest "$LOG" --rule "$RULE" --strategy frequency,recent:1h,season:1d --top 1000,5000,20000 -q --output-format tsv)

# One run: prints "wall user+sys peakKB".
measure() {
  local out
  out=$( { /usr/bin/time -f '%e %U %S %M' "$@" > /dev/null; } 2>&1 | tail -n 1)
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' <<< "$out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

"${analyze[@]}"  # warm the page cache
a_wall=(); a_cpu=(); a_rss=(); b_wall=(); b_cpu=(); b_rss=()
for ((i = 0; i < RUNS; i++)); do
  read -r w c m < <(measure "${analyze[@]}");  a_wall+=("$w"); a_cpu+=("$c"); a_rss+=("$m")
  read -r w c m < <(measure "${backtest[@]}"); b_wall+=("$w"); b_cpu+=("$c"); b_rss+=("$m")
done
aw=$(printf '%s\n' "${a_wall[@]}" | median); ac=$(printf '%s\n' "${a_cpu[@]}" | median); am=$(printf '%s\n' "${a_rss[@]}" | sort -n | tail -n 1)
bw=$(printf '%s\n' "${b_wall[@]}" | median); bc=$(printf '%s\n' "${b_cpu[@]}" | median); bm=$(printf '%s\n' "${b_rss[@]}" | sort -n | tail -n 1)

echo
echo "backtest vs analyze on $LOG ($LINES lines), medians of $RUNS alternated runs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-62s %8s %8s %9s\n' command "wall s" "CPU s" "peak MiB"
printf '%-62s %8s %8s %9d\n' "warmset analyze (sketch, top 10000, 1 rule)" "$aw" "$ac" $((am / 1024))
printf '%-62s %8s %8s %9d\n' "warmset backtest (3 strategies, top 1000,5000,20000, 1 rule)" "$bw" "$bc" $((bm / 1024))
awk -v bw="$bw" -v aw="$aw" -v bc="$bc" -v ac="$ac" 'BEGIN { printf "backtest / analyze: %.2f× wall (goal ≤ 2×), %.2f× CPU\n", bw / aw, bc / ac }'
