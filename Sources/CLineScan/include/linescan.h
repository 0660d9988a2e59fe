// Where the newlines are in a run of bytes, 64 at a time with the widest vectors this CPU has
// (AVX-512, AVX2 or SSE2), chosen once at run time. Compiled for plain x86-64, Swift code can use
// only SSE2: 16 bytes a compare and a branch a step, one scan a line, which was about 5% of a `.gz`
// run's CPU (docs/benchmarks.md). The line framer asks for a few kilobytes' line ends at a time.
#ifndef WARMSET_LINESCAN_H
#define WARMSET_LINESCAN_H

#include <stdint.h>

/// The most bytes one call looks at (its offsets fit 16 bits).
#define WARMSET_NEWLINE_WINDOW 4096
/// The least room for offsets a caller gives: one block's worth and as many again.
#define WARMSET_NEWLINE_ROOM 128

/// The offsets from `p` of the newline bytes in p[0..<n], in order, written to `ends`, which has
/// room for `room` (≥ WARMSET_NEWLINE_ROOM) of them. Looks at whole 64-byte blocks only
/// (n ≤ WARMSET_NEWLINE_WINDOW), and stops after a block that leaves room for fewer than 64 more.
/// Returns how many offsets it wrote; `*scanned` is how many bytes it looked at (a multiple of 64,
/// at most n rounded down to one; every newline in p[0..<*scanned] is in `ends`). Reads nothing
/// past p[*scanned - 1]; asks the cache for the bytes 1,536 further on (a hint, never a fault).
long warmset_newline_ends(const unsigned char *p, long n, uint16_t *ends, long room, long *scanned);

/// The same with one instruction set: 0 SSE2, 1 AVX2, 2 AVX-512 (BW). For the tests, which compare
/// every level the CPU has; returns -1 and writes nothing when the CPU lacks that level.
long warmset_newline_ends_at(int level, const unsigned char *p, long n, uint16_t *ends, long room, long *scanned);

/// The level `warmset_newline_ends` uses on this CPU (0, 1 or 2, as above).
int warmset_newline_level(void);

#endif
