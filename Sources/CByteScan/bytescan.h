// A byte search 16 bytes at a time with SSE2, which Swift has no spelling for. Header-only: the
// compiler's intrinsics, no library. The log parser's fields are short (an address, a time, a
// request line of a few dozen bytes), where a call into memchr costs more than the scan and an
// 8-bytes-at-a-time loop in Swift takes twice the steps.
#ifndef WARMSET_BYTESCAN_H
#define WARMSET_BYTESCAN_H

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// The offset of the first `byte` in base[from..<end], or -1. Reads nothing outside that range.
static inline __attribute__((always_inline)) long warmset_find_byte(const unsigned char *base, long from, long end, unsigned char byte) {
    long at = from;
#if defined(__SSE2__)
    const __m128i pattern = _mm_set1_epi8((char)byte);
    while (at + 16 <= end) {
        int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(base + at)), pattern));
        if (mask != 0) return at + __builtin_ctz((unsigned)mask);
        at += 16;
    }
#endif
    if (at + 8 <= end) {
        // One word: the "has a zero byte" test on word ^ pattern.
        uint64_t word;
        memcpy(&word, base + at, 8);
        word ^= 0x0101010101010101ULL * byte;
        uint64_t found = (word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL;
        if (found != 0) return at + (__builtin_ctzll(found) >> 3);
        at += 8;
    }
    for (; at < end; at++) {
        if (base[at] == byte) return at;
    }
    return -1;
}

#endif
