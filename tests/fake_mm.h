/* A recording s2pt_mm_ops for walker tests: table pages come from a pool,
 * and every effect is appended to a log as a short token, e.g.
 *   "set:0" "set:locked" "set.rel:block@2" "set.rel:table@1" "set:page@3"
 *   "tlbi:vmalls12e1is" "tlbi:ipas2e1is@2" "dsb:ish" "isb"
 *   "dc.civac" "ic.ivau" "get" "put" "freed" "alloc"
 *   "cas:locked" (a shared walk's exchange won) "cas-lost" (it lost)
 *   "walk-freed" (the walk descended into a freed table page)
 * so a test can assert the exact order of effects a variant produces. */
#ifndef FAKE_MM_H
#define FAKE_MM_H

#include <stdbool.h>
#include <stddef.h>

#include "pool/s2pool.h"
#include "walker/s2pt.h"

#define FAKE_LOG_MAX 8192

struct fake_mm {
	struct s2pool *pool;
	struct s2pt *pt;	/* to decode levels of stores */
	bool record;
	unsigned n;
	char log[FAKE_LOG_MAX][32];
	unsigned long dc_bytes, ic_bytes;	/* CMO totals */
	unsigned long tlbis;
	bool with_cmos;		/* offer the CMO ops (else NULL) */
	/* Another CPU's turn between a shared walker's read of an entry and its
	 * exchange: called (if set) at the start of every cmpxchg_pte. */
	void (*before_cas)(struct fake_mm *fm, s2_pte_t *ptep, void *arg);
	void *before_cas_arg;
};

extern const struct s2pt_mm_ops fake_mm_ops;
extern const struct s2pt_mm_ops fake_mm_ops_nocmo;

/* Set up fm and a page table over it (4K granule unless given). */
int fake_mm_init(struct fake_mm *fm, struct s2pt *pt, unsigned granule_shift,
		 unsigned ipa_bits, enum s2pt_variant v, unsigned flags);
void fake_mm_fini(struct fake_mm *fm);
void fake_mm_clear_log(struct fake_mm *fm);
/* The log joined by spaces, keeping only tokens whose prefix is in the
 * comma-separated filter ("" keeps all). Static buffer. */
const char *fake_mm_log(struct fake_mm *fm, const char *filter);
/* Index of the first token equal to tok at or after from, or -1. */
int fake_mm_find(const struct fake_mm *fm, const char *tok, unsigned from);

/* Every live table page's refcount equals 1 + its counted entries.
 * Returns the number of pages that disagree. */
unsigned fake_mm_refcount_mismatches(struct fake_mm *fm);

#endif
