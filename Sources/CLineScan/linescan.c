#include "linescan.h"

// The bytes 1,536 on (about 8 lines of a combined log) are asked for with each block: a parse
// thread reads chunks another thread has just written (inflated or read), which are in that core's
// cache, and the hardware prefetcher, which starts over at each 4 KiB page, left the scan waiting on
// nearly every line's first load; with the hint a line at a time, the scan's share of a run fell by
// a third (perf, docs/benchmarks.md), and 768 and 3,072 bytes gave less.
#define AHEAD 1536

// The loop every level shares: `MASK(q)` is the newline bits of the 64 bytes at q. A block's first
// line end is written whether it has one or not (a block of log lines has none or one; an entry past
// the count is overwritten by the next block's), and the count moves by the number of newlines: no
// branch on whether a block holds a newline, which follows the lines' lengths and was mispredicted
// about once a line. Only a block of two lines or more loops over the rest. The room is checked
// before each block: one block writes at most 64 entries.
#define NEWLINE_ENDS(MASK)                                                          \
    long count = 0, at = 0;                                                         \
    const long last = n > WARMSET_NEWLINE_WINDOW ? WARMSET_NEWLINE_WINDOW : n;      \
    while (room - count >= 64 && at + 64 <= last) {                                \
        __builtin_prefetch(p + at + AHEAD, 0, 3);                                   \
        uint64_t mask = MASK(p + at);                                               \
        const long found = __builtin_popcountll(mask);                              \
        /* The top bit keeps the count of trailing zeros defined for an empty mask. */ \
        ends[count] = (uint16_t)(at + __builtin_ctzll(mask | (1ULL << 63)));        \
        if (found > 1) {                                                            \
            long k = count + 1;                                                     \
            for (mask &= mask - 1; mask != 0; mask &= mask - 1) {                   \
                ends[k++] = (uint16_t)(at + __builtin_ctzll(mask));                 \
            }                                                                       \
        }                                                                           \
        count += found;                                                             \
        at += 64;                                                                   \
    }                                                                               \
    *scanned = at;                                                                  \
    return count;

#if defined(__x86_64__)
#include <immintrin.h>

static inline __attribute__((always_inline)) uint64_t mask_sse2(const unsigned char *q) {
    const __m128i nl = _mm_set1_epi8('\n');
    const uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)q), nl));
    const uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q + 16)), nl));
    const uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q + 32)), nl));
    const uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(q + 48)), nl));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
}

__attribute__((target("avx2"))) static inline uint64_t mask_avx2(const unsigned char *q) {
    const __m256i nl = _mm256_set1_epi8('\n');
    const uint64_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(const void *)q), nl));
    const uint64_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(q + 32)), nl));
    return lo | hi << 32;
}

static long ends_sse2(const unsigned char *p, long n, uint16_t *ends, long room, long *scanned) { NEWLINE_ENDS(mask_sse2) }

__attribute__((target("avx2"))) static long ends_avx2(const unsigned char *p, long n, uint16_t *ends, long room, long *scanned) {
    NEWLINE_ENDS(mask_avx2)
}

static int level_of_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return 1;
    return 0;
}

#else
// Other processors: a byte at a time (the project is built and measured on x86-64).
static inline uint64_t mask_bytes(const unsigned char *q) {
    uint64_t m = 0;
    for (int k = 0; k < 64; k++) m |= (uint64_t)(q[k] == '\n') << k;
    return m;
}
static long ends_sse2(const unsigned char *p, long n, uint16_t *ends, long room, long *scanned) { NEWLINE_ENDS(mask_bytes) }
#define ends_avx2 ends_sse2
static int level_of_cpu(void) { return 0; }
#endif

/// 0 or 1: the level; -1 until the first call looks (every thread that races to it finds the same).
static int chosen = -1;

int warmset_newline_level(void) {
    int level = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (level < 0) {
        level = level_of_cpu();
        __atomic_store_n(&chosen, level, __ATOMIC_RELAXED);
    }
    return level;
}

long warmset_newline_ends_at(int level, const unsigned char *p, long n, uint16_t *ends, long room, long *scanned) {
    if (level < 0 || level > level_of_cpu()) return -1;
    return level == 1 ? ends_avx2(p, n, ends, room, scanned) : ends_sse2(p, n, ends, room, scanned);
}

long warmset_newline_ends(const unsigned char *p, long n, uint16_t *ends, long room, long *scanned) {
    return warmset_newline_level() == 1 ? ends_avx2(p, n, ends, room, scanned) : ends_sse2(p, n, ends, room, scanned);
}
