#ifndef WARMSET_CISAL_SHIM_H
#define WARMSET_CISAL_SHIM_H
// Intel ISA-L's streaming inflate. Nothing here needs a wrapper: every call is a plain function.
#include <isa-l/igzip_lib.h>
#endif
