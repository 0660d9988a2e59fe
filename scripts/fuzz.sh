#!/usr/bin/env bash
# `make fuzz`: each libFuzzer target for FUZZ_SECONDS (default 60), seeded from fixtures/.
# Crashes and hangs land in fuzz-findings/TARGET/; copy each into fixtures/fuzz/TARGET/ with a
# test. The executions and findings are written to docs/fuzzing.md.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"logformat lineparser json keys rule sketchfile linereader"}
BIN=.build-fuzz/release/warmset-fuzz

# The C targets too (-Xcc): the line framer's newline search is C (Sources/CLineScan), and a
# sanitizer on the Swift side alone would not see it read out of bounds.
swift build -c release --product warmset-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
  -Xcc -fsanitize=address -Xcc -fsanitize=fuzzer-no-link 2>&1 | grep -v "Cannot export" | tail -2
swift build --product warmset 2>&1 | tail -1

seed() {  # seed corpus for a target, from the fixtures
  local target=$1 dir=fuzz-corpus/$1
  mkdir -p "$dir"
  case $target in
    logformat) cp fixtures/custom/format.txt "$dir/custom"
               printf '%s' '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"' > "$dir/combined"
               printf '%s' '${remote_addr} "$uri$is_args$args" $status' > "$dir/adjacent" ;;
    lineparser|linereader) split -l 1 -a 3 fixtures/combined/escapes-and-queries.log "$dir/line-" ;;
    json) split -l 1 -a 3 fixtures/json/access.jsonl "$dir/line-" ;;
    keys) printf '%s' '/a/../b//c%2e%2E/%7b?x=1&a=%41' > "$dir/path"; printf '%s' '/caf\xC3\xA9/\"x\"' > "$dir/escapes" ;;
    rule) printf '%s' '^/products/(\d+)$ => product:$1' > "$dir/rule"; printf '%s' '^/u/(?<id>\d+)$ => {u}:${id}' > "$dir/named" ;;
    sketchfile) .build/debug/warmset analyze fixtures/combined/escapes-and-queries.log --sketch-memory 4KiB \
                  --save-sketch "$dir/small.sketch" -q -o /dev/null 2>/dev/null || true ;;
  esac
}

report=docs/fuzzing.md.new
{
  echo "# Fuzzing"
  echo
  echo "\`make fuzz\` (scripts/fuzz.sh) on $(date -u +%Y-%m-%d), $(nproc) cores, ${SECONDS_EACH} s per target, libFuzzer with"
  echo "AddressSanitizer (\`-sanitize=fuzzer,address\`), seeded from fixtures/. Findings become fixtures under"
  echo "fixtures/fuzz/TARGET/ and are replayed by the test suite (\`FuzzRegressionTests\`)."
  echo
  echo "| target | what it feeds | executions | corpus | findings |"
  echo "|---|---|---|---|---|"
} > "$report"
declare -A WHAT=(
  [logformat]="bytes as an nginx log_format; if it compiles, sample lines and the bytes parsed with it"
  [lineparser]="bytes as a combined line; fields, time and key built"
  [json]="bytes as a JSON line; fields, times and key built"
  [keys]="bytes as a request target through normalization, excludes and rules (asserts keys hold no control byte or space)"
  [rule]="bytes as a 'REGEX => TEMPLATE' rule; if it compiles, applied to sample paths"
  [sketchfile]="bytes as a sketch file (magic, header, checksums, sections)"
  [linereader]="bytes split into lines (7-byte reads, 64-byte limit) and parsed"
)
for target in $TARGETS; do
  seed "$target"
  mkdir -p "fuzz-findings/$target"
  log=$(mktemp)
  WARMSET_FUZZ_TARGET=$target "$BIN" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz-findings/$target/" "fuzz-corpus/$target" > "$log" 2>&1
  runs=$(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}')
  [ -n "$runs" ] || runs=$(grep -o '#[0-9]*' "$log" | tail -1 | tr -d '#')
  corpus=$(ls "fuzz-corpus/$target" | wc -l)
  findings=$(ls "fuzz-findings/$target" | wc -l)
  echo "fuzz: $target: $runs executions, corpus $corpus, findings $findings"
  [ "$findings" = 0 ] || grep -E "ERROR|SUMMARY|panicked|Fatal error" "$log" | head -3
  echo "| \`$target\` | ${WHAT[$target]} | ${runs:-?} | $corpus | $findings |" >> "$report"
  rm -f "$log"
done
# Targets not run this time keep their last row.
if [ -f docs/fuzzing.md ]; then
  for target in ${WHAT[@]+"${!WHAT[@]}"}; do
    case " $TARGETS " in *" $target "*) continue ;; esac
    grep "^| \`$target\` |" docs/fuzzing.md >> "$report" || true
  done
fi
{
  echo
  echo "Findings so far: the \`rule\` target found that a template group written \`\${-1}\` reached the"
  echo "regex's group table with a negative index (a crash); fixed in KeyRule, kept as"
  echo "fixtures/fuzz/rule/negative-group-number. The other targets found nothing."
} >> "$report"
mv "$report" docs/fuzzing.md
