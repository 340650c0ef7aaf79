// prctl is variadic, which Swift does not import: one fixed-argument wrapper.
#include <sys/prctl.h>
#include <signal.h>

/// The signal this process gets when the thread that started it exits.
static inline int process_control_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

/// Orphaned descendants are re-parented to this process instead of init, so it can end them.
static inline int process_control_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
}
