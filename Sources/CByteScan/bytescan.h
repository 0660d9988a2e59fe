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

/// The offset of the first `byte` among the 64 bytes at base + from, or -1: four 16-byte compares
/// folded into one mask, no loop. For a field of a few dozen bytes whose length varies from line to
/// line (a request line), where a loop of 16-byte steps ends after a different number of steps each
/// time and the branch that ends it is mispredicted. The 64 bytes must be readable.
static inline __attribute__((always_inline)) long warmset_find_byte_in_64(const unsigned char *base, long from, unsigned char byte) {
#if defined(__SSE2__)
    const __m128i pattern = _mm_set1_epi8((char)byte);
    const unsigned char *p = base + from;
    const uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), pattern));
    const uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), pattern));
    const uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), pattern));
    const uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), pattern));
    const uint64_t mask = m0 | m1 << 16 | m2 << 32 | m3 << 48;
    return mask != 0 ? from + __builtin_ctzll(mask) : -1;
#else
    return warmset_find_byte(base, from, from + 64, byte);
#endif
}

/// The check behind `warmset_path_is_plain` and `warmset_plain_path_end`: whether p[0..<n] is a path
/// that normalization leaves as it is — every byte one that stays in a normalized path (RFC 3986
/// `pchar` and `/` `?`: not a control byte, space, byte above 0x7E, `"` `#` `%` `<` `>` `\` `^` `` ` ``
/// `{` `|` `}`), and no `/` followed by `/` or `.` (a repeated slash or a dot segment). With
/// `stop_at_query` (a constant where it is inlined) the first `?` or `#` ends the path, and only the
/// bytes before it are checked. Returns where the path ends (n, or that `?` or `#`), or -1 when it is
/// not plain. Paths of 16 bytes or more are checked 16 at a time (the last 16 overlapping), shorter
/// ones byte by byte. Reads nothing outside p[0..<n].
static inline __attribute__((always_inline)) long warmset_plain_run(const unsigned char *p, long n, int stop_at_query) {
    // Bit b of lo (b < 64) or of hi (64 <= b < 128): byte b does not stay as it is.
    const uint64_t lo = 0x5000002dffffffffULL, hi = 0xb800000150000000ULL;
#if defined(__SSE2__)
    if (n >= 16) {
        const __m128i top = _mm_set1_epi8(0x7B), space = _mm_set1_epi8(0x20), tilde = _mm_set1_epi8(0x7E);
        const __m128i quoteHash = _mm_set1_epi8(0x23), percent = _mm_set1_epi8(0x25), backtick = _mm_set1_epi8(0x60);
        const __m128i angle = _mm_set1_epi8(0x3E), caret = _mm_set1_epi8(0x5E);
        const __m128i slash = _mm_set1_epi8(0x2F), dot = _mm_set1_epi8(0x2E);
        const __m128i question = _mm_set1_epi8(0x3F), hash = _mm_set1_epi8(0x23);
        const __m128i one = _mm_set1_epi8(1), two = _mm_set1_epi8(2);
        unsigned carry = 0;  // 1 when the byte before this block is a slash
        long at = 0;
        for (;;) {
            if (at + 16 > n) {
                // The last block overlaps bytes already checked (no end among them), its first pair too.
                at = n - 16;
                carry = 0;
            }
            const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
            // 0x7B and above but `~`; 0x20 and below; `"` `#`; `%`; `<` `>`; `\` `^`; `` ` ``.
            __m128i bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, tilde), _mm_cmpeq_epi8(_mm_max_epu8(v, top), v));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_min_epu8(v, space), v));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(v, one), quoteHash));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, percent));
            const __m128i v2 = _mm_or_si128(v, two);
            bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v2, angle), _mm_cmpeq_epi8(v2, caret)));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, backtick));
            const __m128i slashes = _mm_cmpeq_epi8(v, slash);
            const unsigned s = (unsigned)_mm_movemask_epi8(slashes);
            const unsigned sd = (unsigned)_mm_movemask_epi8(_mm_or_si128(slashes, _mm_cmpeq_epi8(v, dot)));
            const unsigned wrong = (unsigned)_mm_movemask_epi8(bad) | (((s << 1) | carry) & sd);
            if (stop_at_query) {
                const unsigned ends = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, question), _mm_cmpeq_epi8(v, hash)));
                if (ends != 0) {
                    const unsigned end = (unsigned)__builtin_ctz(ends);
                    return (wrong & ((1u << end) - 1)) != 0 ? -1 : at + (long)end;
                }
            }
            if (wrong != 0) return -1;
            if (at + 16 >= n) return n;
            carry = s >> 15;
            at += 16;
        }
    }
#endif
    int previousSlash = 0;
    for (long i = 0; i < n; i++) {
        const unsigned char b = p[i];
        if (stop_at_query && (b == 0x3F || b == 0x23)) return i;
        if (b >= 128 || (((b < 64 ? lo : hi) >> (b & 63)) & 1)) return -1;
        if (previousSlash && (b == 0x2F || b == 0x2E)) return -1;
        previousSlash = b == 0x2F;
    }
    return n;
}

/// 1 when the n bytes at p are a path that normalization leaves as it is (`warmset_plain_run`), else 0.
static inline __attribute__((always_inline)) int warmset_path_is_plain(const unsigned char *p, long n) {
    return warmset_plain_run(p, n, 0) >= 0;
}

/// Where the path of the target at p (n bytes) ends, at its first `?` or `#` (n without one), when
/// that path is one normalization leaves as it is; -1 when it is not (`warmset_plain_run`). One pass
/// for what would be a search for the end and a check of the path before it.
static inline __attribute__((always_inline)) long warmset_plain_path_end(const unsigned char *p, long n) {
    return warmset_plain_run(p, n, 1);
}

/// 1 when `byte` is not among the `length` bytes at base + from, else 0; for 1 <= length <= 32,
/// a constant where it is inlined (a field's usual length): one or two overlapping loads and
/// compares, no loop. Reads nothing outside those bytes.
static inline __attribute__((always_inline)) int warmset_lacks_byte(const unsigned char *base, long from, long length, unsigned char byte) {
    const unsigned char *p = base + from;
#if defined(__SSE2__)
    if (length >= 16) {
        const __m128i pattern = _mm_set1_epi8((char)byte);
        const __m128i head = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), pattern);
        const __m128i tail = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + length - 16)), pattern);
        return _mm_movemask_epi8(_mm_or_si128(head, tail)) == 0;
    }
#endif
    if (length >= 8) {
        uint64_t a, b;
        memcpy(&a, p, 8);
        memcpy(&b, p + length - 8, 8);
        a ^= 0x0101010101010101ULL * byte;
        b ^= 0x0101010101010101ULL * byte;
        return (((a - 0x0101010101010101ULL) & ~a) | ((b - 0x0101010101010101ULL) & ~b)) & 0x8080808080808080ULL ? 0 : 1;
    }
    for (long i = 0; i < length; i++) {
        if (p[i] == byte) return 0;
    }
    return 1;
}

/// The offset of the first `a` or `b` in base[from..<end], or -1. Reads nothing outside that range.
static inline __attribute__((always_inline)) long warmset_find_either(const unsigned char *base, long from, long end, unsigned char a, unsigned char b) {
    long at = from;
#if defined(__SSE2__)
    const __m128i pa = _mm_set1_epi8((char)a), pb = _mm_set1_epi8((char)b);
    while (at + 16 <= end) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(base + at));
        const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, pa), _mm_cmpeq_epi8(v, pb)));
        if (mask != 0) return at + __builtin_ctz((unsigned)mask);
        at += 16;
    }
    if (at < end && end - from >= 16) {
        // The last 1…15 bytes as the top of the 16 that end the range (the others were looked at).
        const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(base + end - 16));
        const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, pa), _mm_cmpeq_epi8(v, pb))) >> (16 - (end - at));
        return mask != 0 ? at + __builtin_ctz((unsigned)mask) : -1;
    }
#endif
    for (; at < end; at++) {
        if (base[at] == a || base[at] == b) return at;
    }
    return -1;
}

/// Where a request target p[0..<n] is cut for its path: the offset of its first `?` or `#` (n when it
/// has neither), and (`*backslash`, 1 or 0) whether it holds a backslash anywhere. One pass for what
/// would be two scans; a target of 16…64 bytes (most) in one step, no loop: four 16-byte compares at
/// 0, 16, 32 and 48, each moved back to end at n where it would pass it (overlapping bytes give the
/// same bits), folded into two masks. A loop of 16-byte steps ends after a different number of steps
/// from one target to the next, and the branch that ends it is mispredicted. Reads nothing outside
/// p[0..<n].
static inline __attribute__((always_inline)) long warmset_target_cut(const unsigned char *p, long n, int *backslash) {
#if defined(__SSE2__)
    if (n >= 16 && n <= 64) {
        const __m128i question = _mm_set1_epi8(0x3F), hash = _mm_set1_epi8(0x23), slash = _mm_set1_epi8(0x5C);
        uint64_t cuts = 0, escapes = 0;
        for (long k = 0; k < 64; k += 16) {
            const long at = k < n - 16 ? k : n - 16;
            const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + at));
            cuts |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, question), _mm_cmpeq_epi8(v, hash))) << at;
            escapes |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash)) << at;
        }
        *backslash = escapes != 0;
        return cuts != 0 ? __builtin_ctzll(cuts) : n;
    }
#endif
    *backslash = warmset_find_byte(p, 0, n, 0x5C) >= 0;
    const long cut = warmset_find_either(p, 0, n, 0x3F, 0x23);
    return cut >= 0 ? cut : n;
}

/// Copies n bytes from `from` to `to`: 4…32 bytes as whole words, all loaded before any is stored,
/// the last ones overlapping; 1…3 bytes one by one; longer runs with memcpy. Paths, keys and
/// captures are mostly 4…32 bytes, where a call into memcpy costs more than the copy. The ranges
/// may not overlap. 8…24 bytes are one case (three words: first, middle, last), so that lengths on
/// both sides of 16 (`/products/` and a 6- or 7-digit id) take the same branch.
static inline __attribute__((always_inline)) void warmset_copy(void *to, const void *from, long n) {
    unsigned char *d = (unsigned char *)to;
    const unsigned char *s = (const unsigned char *)from;
    if (n >= 8 && n <= 24) {
        // The middle word starts at n/2 - 4: at most 8 (no gap after the first word) and at
        // least n - 16 (none before the last).
        const long middle = (n >> 1) - 4;
        uint64_t a, b, c;
        memcpy(&a, s, 8);
        memcpy(&b, s + middle, 8);
        memcpy(&c, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + middle, &b, 8);
        memcpy(d + n - 8, &c, 8);
    } else if (n > 24 && n <= 32) {
        uint64_t a, b, c, e;
        memcpy(&a, s, 8);
        memcpy(&b, s + 8, 8);
        memcpy(&c, s + n - 16, 8);
        memcpy(&e, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + 8, &b, 8);
        memcpy(d + n - 16, &c, 8);
        memcpy(d + n - 8, &e, 8);
    } else if (n >= 4 && n < 8) {
        // A key's captured id (`product:` + 4…7 digits): two 4-byte words, overlapping.
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 32) {
        memcpy(d, s, (size_t)n);
    } else if (n > 0) {
        // 1…3 bytes (written out: a loop would be turned back into a memcpy call).
        d[0] = s[0];
        if (n > 1) d[1] = s[1];
        if (n > 2) d[2] = s[2];
    }
}

#endif
