/* The fuzzer's internals, shared by the sources of fuzz/ (prefix s2fuzz__). */
#ifndef S2FUZZ_INTERNAL_H
#define S2FUZZ_INTERNAL_H

#include "fuzz/s2fuzz.h"

#define S2FUZZ_MAX_DEPTH 64
#define S2FUZZ_THREADS (S2HYP_MAX_VCPUS + 2)

uint64_t s2fuzz__mix(uint64_t h, uint64_t v);

/* A machine for the scenario, stopping at the first violation. */
int s2fuzz__instantiate(const struct s2hyp_scenario *sc, struct s2hyp **m, char *err,
			size_t errlen);
/* The same, on *m when it is not NULL: the machine of the run before, made
 * by one of these from sc, reset (s2hyp_reset) instead of made anew. On
 * error *m is NULL. */
int s2fuzz__reinstantiate(const struct s2hyp_scenario *sc, struct s2hyp **m, char *err,
			  size_t errlen);
/* Steps of a sequential run: pct's estimate of a run's length. */
uint64_t s2fuzz__sequential_steps(const struct s2hyp_scenario *sc);

/*
 * PCT's threads: [0] the hypervisor and the host, [1 + v] vCPU v, and the
 * last one for background events, which may take `budget` steps a run
 * (evictions and speculative walks are always enabled: without a budget a
 * high-priority background thread would never let the others run).
 */
struct s2fuzz__pct {
	struct s2hyp_rng rng;
	unsigned nthreads;
	int prio[S2FUZZ_THREADS];
	uint64_t change[S2FUZZ_MAX_DEPTH];
	unsigned nchange;
	uint64_t step;
	unsigned bg_left;
};

void s2fuzz__pct_init(struct s2fuzz__pct *p, unsigned nr_vcpus, unsigned depth, uint64_t k,
		      unsigned budget, uint64_t seed);
extern const struct s2hyp_strategy s2fuzz__pct_template;

/* Hashes the choices another strategy makes. */
struct s2fuzz__hashing {
	const struct s2hyp_strategy *inner;
	uint64_t h;
};
extern const struct s2hyp_strategy s2fuzz__hashing_template;
/* Give st (the hashing template) the lazy background choice when inner
 * has it (struct s2hyp_strategy's choose_thread). */
void s2fuzz__hashing_lazy(struct s2hyp_strategy *st, const struct s2hyp_strategy *inner);

/*
 * Follows a wished-for schedule as far as it fits: a choice whose thread
 * cannot move is skipped, an argument out of range wraps, and past its end
 * every step takes the first enabled choice (as replay does). It records
 * what was really chosen, and the first enabled choice of every step, so
 * that the shrinker can turn any candidate into an exact schedule.
 */
struct s2fuzz__step {
	struct s2hyp_choice c;		/* what was chosen */
	struct s2hyp_choice first;	/* the sequential choice at that step */
	uint32_t idx;			/* its index among the enabled choices */
};

struct s2fuzz__follow {
	const struct s2hyp_choice *want;
	size_t n, pos;
	struct s2fuzz__step *steps;
	size_t nsteps;
	unsigned cap;
	bool oom;
};

void s2fuzz__follow_init(struct s2fuzz__follow *f, const struct s2hyp_choice *want, size_t n);
void s2fuzz__follow_free(struct s2fuzz__follow *f);
/* The recorded schedule without its sequential tail (which replay implies). */
size_t s2fuzz__follow_exact_len(const struct s2fuzz__follow *f);
extern const struct s2hyp_strategy s2fuzz__follow_template;

/* explore.c */
int s2fuzz__explore(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o,
		    struct s2fuzz_result *res, char *err, size_t errlen);

#endif
