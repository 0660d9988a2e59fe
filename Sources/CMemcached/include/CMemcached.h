// libmemcached (Debian 12: libmemcached-awesome 1.1.4) and its libhashkit, loaded at first use.
//
// warmset is one binary for every command, and most runs never talk to memcached: linked, the two
// libraries and what they link (libsasl2, libcrypto) were loaded and relocated at every start-up,
// about 1.3 ms of it (docs/benchmarks.md). Their functions are reached through the table that
// `warmset_memcached_load` fills instead; the types and constants come from the headers as before.
#ifndef WARMSET_CMEMCACHED_H
#define WARMSET_CMEMCACHED_H

#include <libmemcached-1.0/memcached.h>
#include <libhashkit-1.0/hashkit.h>

// Every libmemcached and libhashkit function warmset calls, under its own name.
struct warmset_memcached_api {
    __typeof__(memcached_create) *_Nonnull memcached_create;
    __typeof__(memcached_free) *_Nonnull memcached_free;
    __typeof__(memcached_server_add) *_Nonnull memcached_server_add;
    __typeof__(memcached_behavior_set) *_Nonnull memcached_behavior_set;
    __typeof__(memcached_strerror) *_Nonnull memcached_strerror;
    __typeof__(memcached_last_error_errno) *_Nonnull memcached_last_error_errno;
    __typeof__(memcached_server_by_key) *_Nonnull memcached_server_by_key;
    __typeof__(memcached_server_name) *_Nonnull memcached_server_name;
    __typeof__(memcached_server_port) *_Nonnull memcached_server_port;
    __typeof__(memcached_set) *_Nonnull memcached_set;
    __typeof__(memcached_add) *_Nonnull memcached_add;
    __typeof__(memcached_mget) *_Nonnull memcached_mget;
    __typeof__(memcached_fetch_result) *_Nonnull memcached_fetch_result;
    __typeof__(memcached_result_free) *_Nonnull memcached_result_free;
    __typeof__(memcached_result_key_value) *_Nonnull memcached_result_key_value;
    __typeof__(memcached_result_key_length) *_Nonnull memcached_result_key_length;
    __typeof__(memcached_result_value) *_Nonnull memcached_result_value;
    __typeof__(memcached_result_length) *_Nonnull memcached_result_length;
    __typeof__(memcached_result_flags) *_Nonnull memcached_result_flags;
    __typeof__(libhashkit_md5_signature) *_Nonnull libhashkit_md5_signature;
};

// Loads the libraries once (later calls, from any thread, return the same answer): the table, or
// NULL with `*error` set to why (the library or one of its functions not found).
const struct warmset_memcached_api *_Nullable warmset_memcached_load(const char *_Nullable *_Nonnull error);

#endif
