#ifndef C_HEARING_SHIMS_H
#define C_HEARING_SHIMS_H

#include <stddef.h>

/// Returns unused heap memory to the kernel (glibc `malloc_trim(0)`).
/// Returns 1 if memory was released, 0 otherwise, and 0 where unsupported.
int CHearingShims_malloc_trim(void);

#endif
