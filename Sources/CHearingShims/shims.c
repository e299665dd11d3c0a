#include "CHearingShims.h"

#ifdef __linux__
#include <malloc.h>

int CHearingShims_malloc_trim(void) {
    return malloc_trim(0);
}
#else
int CHearingShims_malloc_trim(void) {
    return 0;
}
#endif
