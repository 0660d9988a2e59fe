// Cache prefetch hints, which Swift has no spelling for. Header-only: the compiler's builtin, no
// library. Used where a loop knows the random addresses it will touch a few steps ahead (hash
// table probes), so that the cache misses overlap instead of following one another.
#ifndef WARMSET_PREFETCH_H
#define WARMSET_PREFETCH_H

static inline __attribute__((always_inline)) void warmset_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

static inline __attribute__((always_inline)) void warmset_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

/// The four counters of a 4-row count-min sketch at once: one call from Swift instead of four.
static inline __attribute__((always_inline)) void warmset_prefetch4_for_write(const unsigned int *base, long i0, long i1, long i2, long i3) {
    __builtin_prefetch(base + i0, 1, 3);
    __builtin_prefetch(base + i1, 1, 3);
    __builtin_prefetch(base + i2, 1, 3);
    __builtin_prefetch(base + i3, 1, 3);
}

/// The same for a table of 16-bit cells (request counts, `PromotedCells`).
static inline __attribute__((always_inline)) void warmset_prefetch4_u16_for_write(const unsigned short *base, long i0, long i1, long i2, long i3) {
    __builtin_prefetch(base + i0, 1, 3);
    __builtin_prefetch(base + i1, 1, 3);
    __builtin_prefetch(base + i2, 1, 3);
    __builtin_prefetch(base + i3, 1, 3);
}

#endif
