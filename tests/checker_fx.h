/* A checker on its own, over a table-page pool and a two-CPU cache model,
 * for the tests that feed it events by hand (tests/checker_test.c,
 * tests/hyp_intent_test.c). One root table page is allocated and announced
 * to the checker as the root of the given level at the given IPA. */
#ifndef S2_TESTS_CHECKER_FX_H
#define S2_TESTS_CHECKER_FX_H

#include <stdbool.h>
#include <stdint.h>

#include "hyp-model/s2hyp_checker.h"

struct checker_fx {
	struct s2pt pt;
	struct s2pool *pool;
	struct s2cache *cache;
	struct s2hyp_stats stats;
	struct s2hyp_checker *c;
	void *root;
};

struct checker_fx_opts {
	uint64_t pool_base;		/* PA of the pool's first page */
	unsigned pool_pages;
	bool fwb;
	int root_level;
	uint64_t root_ipa;
	void (*report)(void *arg, enum s2hyp_rule rule,
		       struct s2hyp_violation *v);
	void *arg;
};

/* Fails the calling test (cmocka) when anything cannot be set up. */
void checker_fx_open(struct checker_fx *x, const struct checker_fx_opts *o);
void checker_fx_close(struct checker_fx *x);

#endif
