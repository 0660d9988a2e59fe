#!/usr/bin/env bash
# Runs a fixed matrix of warmset commands over every fixture, the bundled sample and (when
# ../shared is beside the repo) the real log, and writes what each printed and wrote into OUTDIR:
# stdout, stderr, exit code, and any manifest, sketch, summary JSON or HTML report it wrote.
# Figures that change from run to run (elapsed time, rates, peak memory) are masked.
#
#   scripts/same-output.sh BIN OUTDIR          # record
#   diff -r OLD_OUTDIR NEW_OUTDIR              # a refactor must leave this empty
#
# Used to prove that a restructuring changed nothing a user can see.
set -uo pipefail
bin=$(realpath "$1"); out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
rm -rf "$out"; mkdir -p "$out"; out=$(realpath "$out")

sample=fixtures/sample/access.log.gz
rules=fixtures/sample/rules.yaml
real=../shared/real-logs/hackers_combined.log.gz

# Masks the figures that vary between runs of the same binary on the same input.
mask() {
    sed -E -e "s|$out/[^/]*/|{out}/|g" \
        -e 's/in [0-9.]+ s, [0-9.]+ MB\/s, [0-9,]+ lines\/s/in T s, R MB\/s, R lines\/s/' \
        -e 's/ in [0-9.]+ s$/ in T s/' \
        -e 's|<code>[0-9.]+ s, [0-9.]+ MB/s</code>|<code>T s, R MB/s</code>|' \
        -e 's/peak RSS [0-9.]+ [KMG]iB/peak RSS M/' \
        -e 's/"(elapsedSeconds|linesPerSecond|megabytesPerSecond|peakRSSBytes)" : [0-9.e+-]+/"\1" : X/' \
        -e 's/[0-9.]+ (keys\/s|ms|µs)/N \1/g'
}

# case NAME ARGS...: runs `warmset ARGS` in a scratch dir where {out} names that case's folder.
case_() {
    local name=$1; shift
    local dir="$out/$name"; mkdir -p "$dir"
    local args=()
    for a in "$@"; do args+=("${a//\{out\}/$dir}"); done
    "$bin" "${args[@]}" >"$dir/stdout" 2>"$dir/stderr.raw" </dev/null
    echo $? >"$dir/exit"
    mask <"$dir/stderr.raw" >"$dir/stderr"; rm -f "$dir/stderr.raw"
    mask <"$dir/stdout" >"$dir/stdout.m" && mv "$dir/stdout.m" "$dir/stdout"
    for f in "$dir"/*.json "$dir"/*.html; do
        [ -f "$f" ] && { mask <"$f" >"$f.m" && mv "$f.m" "$f"; }
    done
}

# The bundled sample in every counting mode and output format.
case_ sample-default analyze $sample --rules $rules --top 50 --summary-json {out}/summary.json
case_ sample-tsv analyze $sample --rules $rules --top 200 --output-format tsv
case_ sample-jsonl analyze $sample --rules $rules --top 200 --output-format jsonl
case_ sample-urls analyze $sample --rules $rules --top 20 --output-format urls --base-url https://shop.example.com
case_ sample-exact analyze $sample --rules $rules --exact --top 300 --output-format tsv --summary-json {out}/summary.json
case_ sample-threads1 analyze $sample --rules $rules --threads 1 --top 300 --output-format tsv
case_ sample-threads2 analyze $sample --rules $rules --threads 2 --top 300 --output-format tsv
case_ sample-single analyze $sample --rules $rules --threads 1 --single-thread --top 300 --output-format jsonl
case_ sample-zlib analyze $sample --inflate zlib --top 100 --output-format tsv
case_ sample-norules analyze $sample --top 300 --output-format jsonl --summary-json {out}/summary.json
case_ sample-halflife analyze $sample --rules $rules --half-life 1h --top 100 --output-format jsonl
case_ sample-bytes analyze $sample --rules $rules --weight bytes --top 100 --output-format jsonl
case_ sample-time analyze $sample --rules $rules --weight time --top 100 --output-format jsonl
case_ sample-keepquery analyze $sample --keep-query all --top 100 --output-format tsv
case_ sample-since analyze $sample --since 2026-11-27T06:00:00Z --until 2026-11-27T12:00:00Z --top 50 --output-format tsv
case_ sample-coverage analyze $sample --rules $rules --coverage 0.9 --top 5000 --output-format tsv
case_ sample-report analyze $sample --rules $rules --top 300 -o {out}/warm.keys --report {out}/report.html -q
case_ sample-sketch analyze $sample --rules $rules --top 100 --save-sketch {out}/a.sketch -o {out}/warm.tsv --output-format tsv
case_ sample-sketch-plain analyze $sample --update plain --top 100 --save-sketch {out}/a.sketch --output-format tsv
case_ sample-epsilon analyze $sample --epsilon 0.0001 --delta 0.05 --top 100 --output-format tsv
case_ sample-exact-sketch analyze $sample --exact --save-sketch {out}/a.sketch --top 50 --output-format tsv
case_ merge merge "$out/sample-sketch/a.sketch" "$out/sample-sketch/a.sketch" -o {out}/m.sketch
case_ merged-rank analyze "$out/merge/m.sketch" --top 100 --output-format tsv

# Every other fixture.
case_ combined analyze fixtures/combined/escapes-and-queries.log --top 100 --output-format jsonl
case_ combined-query analyze fixtures/combined/escapes-and-queries.log --keep-query all --top 100 --output-format tsv
case_ common analyze fixtures/common/basic.log --format common --top 100 --output-format tsv
case_ custom analyze fixtures/custom/access.log --format "$(cat fixtures/custom/format.txt)" --top 100 --output-format jsonl
case_ custom-time analyze fixtures/custom/access.log --format "$(cat fixtures/custom/format.txt)" --weight time --top 100 --output-format jsonl
case_ json analyze fixtures/json/access.jsonl --format json --max-malformed 20% --top 100 --output-format tsv
case_ json-fields analyze fixtures/json/custom-fields.jsonl --format json --json-field method=verb --json-field request_uri=target --json-field status=code --output-format tsv
case_ shop-rules analyze $sample --rules fixtures/rules/shop.yaml --top 100 --output-format jsonl
for g in fixtures/gzip/*; do
    case_ "gzip-$(basename "$g")" analyze "$g" --top 20 --output-format tsv
    case_ "gzip-partial-$(basename "$g")" analyze "$g" --allow-partial --top 20 --output-format tsv
done
case_ generate generate --lines 2000 --keys 500 --zipf 1.0 --seed 7
case_ generate-json generate --lines 500 --keys 100 --seed 3 --format json
if [ -f "$real" ]; then
    case_ real analyze "$real" --top 100 --output-format tsv --summary-json {out}/summary.json
    case_ real-exact analyze "$real" --exact --top 100 --output-format jsonl
fi
echo "same-output: $(ls "$out" | wc -l) cases recorded in $out"
