// glibc's allocator controls (malloc.h), which Swift's Glibc module does not import.
#include <malloc.h>

/// Gives free whole pages of every arena back to the kernel; 1 if any were.
static inline int malloc_control_trim(void) {
    return malloc_trim(0);
}
