#!/usr/bin/env bash
# `make microbench`: the per-line stages of `warmset analyze` one at a time (Sources/warmset-micro),
# with malloc calls counted by scripts/malloc-count.c. Writes docs/microbenchmarks.md.
# Nothing here fails on speed; the run fails only when a stage's own checks do.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/warmset-micro
mkdir -p bench-data
gcc -O2 -shared -fPIC -o bench-data/malloc-count.so scripts/malloc-count.c -ldl
table=$(LD_PRELOAD="$PWD/bench-data/malloc-count.so" "$BIN" "${REPS:-7}" 2> bench-data/micro.err) || { cat bench-data/micro.err >&2; exit 1; }
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "# Microbenchmarks"
  echo
  echo "Produced by \`make microbench\` (scripts/microbench.sh, Sources/warmset-micro) at $(date -u '+%Y-%m-%d %H:%M') UTC:"
  echo "$(nproc) cores ($cpu), $(. /etc/os-release && echo "$PRETTY_NAME"), load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "A release build; one thread; the lines in memory (no reading, no decompression). Each stage runs"
  echo "over all lines (or targets) once per repetition: nanoseconds per operation of the fastest and of the"
  echo "median repetition; malloc calls counted around each repetition (an LD_PRELOAD counter), the most of any."
  echo
  echo "$table"
  echo
  cat <<'TEXT'
How to read it: in `analyze`, `split lines`, `parse` and `rejectsEarly` run on every line; `key`
on each line that `rejectsEarly` does not turn away, and `SketchCounter.add` on each keyed line
(about half of them here). `SketchCounter.add` holds each key for one call: it prefetches the key's
four counters (four cache misses in an 8 MiB sketch, held in 4 MiB of 16-bit cells) and candidate slot, and counts the key before
it, whose lines have arrived meanwhile. The memoized stage asks the memo for every target and is
not faster than building here; in `analyze` a memo hit is also counted in its slot and reaches the
sketch with the slot's other hits (when the slot is reused, or at the end), which skips
`SketchCounter.add` for it (not measured here). The mallocs of a repetition are its fixed set-up
(a new counter and its ranking), the same for any number of lines. The whole pipeline, with
reading and threads: docs/benchmarks.md.
TEXT
} > docs/microbenchmarks.md
cat docs/microbenchmarks.md
