#ifndef WARMSET_CZLIB_SHIM_H
#define WARMSET_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a macro (it passes the version and struct size), so Swift cannot call it.
static inline int warmset_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
