#include "CMemcached.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct warmset_memcached_api api;
static const struct warmset_memcached_api *loaded;
static char failure[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

// The first of `names` that loads, or NULL with `failure` set to why the first (the soname)
// did not: a fallback's "no such file" would hide a library that is there but cannot load.
static void *open_library(const char *const names[], int count, const char *package) {
    char first[256] = "not found";
    for (int i = 0; i < count; i++) {
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
        const char *why = dlerror();
        if (i == 0 && why) snprintf(first, sizeof first, "%s", why);
    }
    snprintf(failure, sizeof failure, "cannot load %s (%s); install it (Debian: apt-get install %s)", names[0], first, package);
    return NULL;
}

static void load(void) {
    static const char *const memcached_names[] = {"libmemcached.so.11", "libmemcached.so"};
    static const char *const hashkit_names[] = {"libhashkit.so.2", "libhashkit.so"};
    void *memcached = open_library(memcached_names, 2, "libmemcached11");
    if (!memcached) return;
    void *hashkit = open_library(hashkit_names, 2, "libhashkit2");
    if (!hashkit) return;
#define RESOLVE(library, name)                                                                          \
    do {                                                                                                \
        void *symbol = dlsym(library, #name);                                                           \
        if (!symbol) {                                                                                  \
            snprintf(failure, sizeof failure, "the loaded %s has no %s: it is not the version warmset was built for", \
                     library == memcached ? "libmemcached" : "libhashkit", #name);                            \
            return;                                                                                     \
        }                                                                                               \
        api.name = (__typeof__(api.name))symbol;                                                        \
    } while (0)
    RESOLVE(memcached, memcached_create);
    RESOLVE(memcached, memcached_free);
    RESOLVE(memcached, memcached_server_add);
    RESOLVE(memcached, memcached_behavior_set);
    RESOLVE(memcached, memcached_strerror);
    RESOLVE(memcached, memcached_last_error_errno);
    RESOLVE(memcached, memcached_server_by_key);
    RESOLVE(memcached, memcached_server_name);
    RESOLVE(memcached, memcached_server_port);
    RESOLVE(memcached, memcached_set);
    RESOLVE(memcached, memcached_add);
    RESOLVE(memcached, memcached_mget);
    RESOLVE(memcached, memcached_fetch_result);
    RESOLVE(memcached, memcached_result_free);
    RESOLVE(memcached, memcached_result_key_value);
    RESOLVE(memcached, memcached_result_key_length);
    RESOLVE(memcached, memcached_result_value);
    RESOLVE(memcached, memcached_result_length);
    RESOLVE(memcached, memcached_result_flags);
    RESOLVE(hashkit, libhashkit_md5_signature);
#undef RESOLVE
    loaded = &api;
}

const struct warmset_memcached_api *warmset_memcached_load(const char **error) {
    pthread_once(&once, load);
    *error = loaded ? NULL : failure;
    return loaded;
}
