/* s2trace_load: a high-level trace read whole into a scenario (its
 * configuration, memslots and programs with their phases) and its
 * schedule, for tools that run a trace many times (the fuzzer) rather
 * than once (replay). Expectations and mmio lines are skipped; effect
 * events are refused: they do not drive the hypervisor model. */
#ifndef S2TRACE_LOAD_H
#define S2TRACE_LOAD_H

#include <stddef.h>

#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_scenario.h"

/*
 * Load path into sc (initialised here; free it with s2hyp_scenario_free
 * even on error). When sched is non-NULL, the trace's schedule is returned
 * in *sched (malloc'd, NULL when it has none) and *nsched. Phases get the
 * numbers replay gives them: a `phase N` block shares one; an event outside
 * any block gets its own. Returns 0, or S2_EPARSE/S2_EIO/S2_ENOMEM with one
 * line "FILE:LINE: problem" in err.
 */
int s2trace_load_scenario(const char *path, struct s2hyp_scenario *sc, struct s2hyp_choice **sched,
			  size_t *nsched, char *err, size_t errlen);

#endif
