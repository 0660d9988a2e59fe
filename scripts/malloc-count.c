// LD_PRELOAD shim for `make bench`: counts malloc/calloc/realloc/posix_memalign calls and
// prints the total to stderr at exit, to show that warmset allocates nothing per line.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long calls;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);
// dlsym itself may call calloc before real_calloc is known: serve that from a static buffer.
static char bootstrap[4096];
static size_t bootstrap_used;

/// The calls so far, for a program that looks it up (`dlsym`) to count a stretch of its own
/// work: scripts/microbench.sh.
long warmset_malloc_calls(void) { return atomic_load(&calls); }

static void report(void) {
    char line[64];
    int n = snprintf(line, sizeof line, "mallocs: %ld\n", atomic_load(&calls));
    if (write(2, line, n) < 0) {}
}

__attribute__((constructor)) static void init(void) {
    // The first malloc may come before the constructor: set up (and register the report) once.
    static int done;
    if (done) return;
    done = 1;
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    atexit(report);
}

void *malloc(size_t size) {
    atomic_fetch_add(&calls, 1);
    if (!real_malloc) init();
    return real_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (!real_calloc) {
        size_t bytes = (count * size + 15) & ~(size_t)15;
        if (bootstrap_used + bytes > sizeof bootstrap) return NULL;
        void *p = bootstrap + bootstrap_used;
        bootstrap_used += bytes;
        return p;
    }
    atomic_fetch_add(&calls, 1);
    return real_calloc(count, size);
}

void *realloc(void *p, size_t size) {
    atomic_fetch_add(&calls, 1);
    if (!real_realloc) init();
    return real_realloc(p, size);
}

int posix_memalign(void **p, size_t alignment, size_t size) {
    atomic_fetch_add(&calls, 1);
    if (!real_memalign) init();
    return real_memalign(p, alignment, size);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}
