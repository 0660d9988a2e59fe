#ifndef WARMSET_CPCRE2_SHIM_H
#define WARMSET_CPCRE2_SHIM_H
// The 8-bit library; Swift then calls the *_8 functions, since the unsuffixed names are macros.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

// PCRE2_ZERO_TERMINATED and PCRE2_UNSET are casts of ~0, which Swift does not import.
static inline size_t warmset_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
