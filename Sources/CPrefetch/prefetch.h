// Cache prefetch hints, which Swift has no spelling for. Header-only: the compiler's builtin, no
// library. Used where a loop knows the random addresses it will touch a few steps ahead (hash
// table probes), so that the cache misses overlap instead of following one another.
#ifndef WARMSET_PREFETCH_H
#define WARMSET_PREFETCH_H

static inline __attribute__((always_inline)) void warmset_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

static inline __attribute__((always_inline)) void warmset_prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
