#!/usr/bin/env bash
# `make tsan`: the whole test suite under ThreadSanitizer, and the warmset binary that the
# end-to-end tests start built the same way (WARMSET_BIN). Fails when a test fails and when
# ThreadSanitizer reports anything, even if every test passed. docs/tsan.md explains the options,
# the self-check and the suppressions.
#   TSAN_FILTER=PATTERN  only the matching tests (swift test --filter)
#   TSAN_JOBS=N          build jobs (swift build --jobs)
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SWIFTC=${SWIFTC:-swiftc}
SCRATCH=.build-tsan
FLAGS=(--sanitize=thread --scratch-path "$SCRATCH")
[ -n "${TSAN_JOBS:-}" ] && FLAGS+=(--jobs "$TSAN_JOBS")
REPORTS=$PWD/$SCRATCH/reports
LOG=$PWD/$SCRATCH/tsan.log

# Every process (the test runner, each warmset it starts) writes its reports to a file of its own,
# REPORTS/tsan.PID, not to stderr, where the tests read warmset's own messages. exitcode=0: a
# report leaves the exit status alone (a test would otherwise fail on status 66 for a race that
# is reported anyway); the reports are counted here.
# print_suppressions=1: a process where a suppression matched says so ("Matched N suppressions").
options() { echo "suppressions=$PWD/.tsan-suppressions print_suppressions=1 log_path=$1/tsan halt_on_error=0 exitcode=0"; }
reports() { cat "$1"/tsan.* 2>/dev/null; }
rm -rf "$REPORTS"
mkdir -p "$REPORTS/self-check"

# Self-check: a race must be reported under these options, and the Mutex false positive not.
"$SWIFTC" -sanitize=thread -g -module-name TSanSelfCheck scripts/tsan-selfcheck.swift -o "$SCRATCH/tsan-selfcheck" || exit 1
TSAN_OPTIONS=$(options "$REPORTS/self-check") "$SCRATCH/tsan-selfcheck" || { echo "tsan: self-check: the Mutex total is wrong"; exit 1; }
found=$(reports "$REPORTS/self-check" | grep '^SUMMARY: ThreadSanitizer')
if [ "$(grep -c . <<<"$found")" != 1 ] || ! grep -q deliberateRace <<<"$found"; then
  echo "tsan: self-check failed: expected one report, of deliberateRace, and got:"
  echo "${found:-(none)}"
  exit 1
fi
echo "tsan: self-check passed (the deliberate race is reported, the Mutex false positive suppressed)"

"$SWIFT" build "${FLAGS[@]}" --build-tests || exit 1
BIN=$("$SWIFT" build "${FLAGS[@]}" --show-bin-path)
[ -x "$BIN/warmset" ] || { echo "tsan: $BIN/warmset was not built"; exit 1; }

WARMSET_BIN=$BIN/warmset TSAN_OPTIONS=$(options "$REPORTS") \
  "$SWIFT" test "${FLAGS[@]}" --skip-build ${TSAN_FILTER:+--filter "$TSAN_FILTER"} 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}

# The reports, after the test output in the log; a report printed to stderr (a process started
# without TSAN_OPTIONS) is in the test output and counts too.
reports "$REPORTS" >>"$LOG"
count=$(grep -c 'WARNING: ThreadSanitizer' "$LOG")
suppressed=$(reports "$REPORTS" | awk '/^ThreadSanitizer: Matched [0-9]+ suppressions/ { n += $3 } END { print n + 0 }')
echo "tsan: $suppressed reports suppressed by .tsan-suppressions"
if [ "$count" -gt 0 ]; then
  echo "tsan: $count reports, by kind, file and function (each in full in $LOG):"
  grep -ho 'SUMMARY: ThreadSanitizer: .*' "$LOG" | sed -E 's/^SUMMARY: ThreadSanitizer: //; s/:[0-9]+(:[0-9]+)? in / in /' |
    "$SWIFT" demangle --simplified | sort | uniq -c | sort -rn
fi
[ "$status" -eq 0 ] || echo "tsan: the tests failed (exit status $status)"
[ "$status" -eq 0 ] && [ "$count" -eq 0 ] || exit 1
echo "tsan: no reports"
