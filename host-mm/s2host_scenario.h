/* s2host_scenario: the host-side scenarios of ../shared/ref/host-mm.md
 * (S1.x, S2.x, S4.x), each with the rules the specification says fire
 * under each COW policy. */
#ifndef S2HOST_SCENARIO_H
#define S2HOST_SCENARIO_H

#include <stddef.h>

#include "host-mm/s2host.h"

/* A step of a scenario that must not fail: its error ends the scenario. */
#define S2HOST_TRY(x)                   \
	do {                            \
		int err_ = (x);         \
		if (err_ < 0)           \
			return err_;    \
	} while (0)

struct s2host_scenario {
	const char *name;	/* "s1.4-clear-refs" */
	const char *spec;	/* the specification's scenario: "S1.4" */
	const char *desc;	/* one line */
	/* Rules (1u << enum s2host_rule) expected to fire, per policy. */
	unsigned expect[S2HOST_NR_POLICIES];
	/* Runs the steps on h; writes what was observed, in words, to out. */
	int (*run)(struct s2host *h, char *out, size_t n);
};

unsigned s2host_nr_scenarios(void);
const struct s2host_scenario *s2host_scenario(unsigned i);
/* -1 if no scenario has that name. */
int s2host_scenario_find(const char *name);

/*
 * The generic generator: a random program of steps host operations drawn
 * from seed (over one process that forks up to two children, two small
 * pages and a THP range, devices holding up to eight GUP references). Each
 * step is described to log (when not NULL) as one line. Operations that
 * fail are part of the program. Negative only if the world cannot be set up.
 */
int s2host_random(struct s2host *h, uint64_t seed, unsigned steps,
		  void (*log)(void *arg, const char *line), void *arg);

/* The same over a memfd world: a 4-page memfd mapped by a uffd-wp
 * registered process (its monitor protecting and un-protecting pages) and
 * by another process, with accesses, MADV_DONTNEED and hole punches whose
 * unmap and truncation steps other operations fall between. */
int s2host_random_memfd(struct s2host *h, uint64_t seed, unsigned steps,
			void (*log)(void *arg, const char *line), void *arg);

/* The rules (mask) that fired in h so far. */
unsigned s2host_fired(const struct s2host *h);

#endif
