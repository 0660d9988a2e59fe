// libmemcached (Debian 12: libmemcached-awesome 1.1.4) and its libhashkit, for the key hash
// (`--long-keys hash` uses libhashkit_md5_signature). Every call warmset makes is a plain
// function, so nothing here needs a wrapper.
#include <libmemcached-1.0/memcached.h>
#include <libhashkit-1.0/hashkit.h>
