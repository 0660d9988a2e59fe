// Where the newlines are in a run of bytes, 64 at a time: with AVX2 where the CPU has it (chosen
// once at run time), else SSE2. Compiled for plain x86-64, Swift code can use only SSE2, and its
// scan a line (16 bytes a compare and a branch) with the loop around it was 154 instructions a
// line; the line framer now asks for a few kilobytes' line ends at a time (docs/benchmarks.md).
// Not AVX-512: on the Xeon it was measured on it showed no gain the host could resolve, and
// 512-bit instructions lower the clock of some Xeons for everything the thread does next.
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

/// The same with one instruction set: 0 SSE2, 1 AVX2. For the tests, which compare every level the
/// CPU has; returns -1 and writes nothing when the CPU lacks that level.
long warmset_newline_ends_at(int level, const unsigned char *p, long n, uint16_t *ends, long room, long *scanned);

/// The level `warmset_newline_ends` uses on this CPU (0 or 1, as above).
int warmset_newline_level(void);

#endif
