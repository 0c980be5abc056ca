/* s2hyp_footprint: what a scheduler choice reads and writes, so that a
 * search over interleavings can tell two choices apart from two choices
 * whose order does not matter (partial-order reduction, docs/fuzzing.md).
 *
 * A footprint is a short list of accesses to abstract locations:
 *
 *   desc   a stage-2 descriptor, by the PA of its 8 bytes
 *   page   a table page's pool state (live, freed, its generation), by PA
 *   line   a cache line's state in the dcache, the icaches and memory, by PA
 *   tlb    a vCPU's TLB (leaf entries), by vCPU number
 *   wc     a vCPU's walk cache (table entries), by vCPU number
 *   run    whether the run goes on: a thread finishing its last item may
 *          end it, which disables every background choice
 *
 * plus the thread the choice belongs to, and a "global" flag for a choice
 * that may touch anything (a hypervisor operation starting, a host event,
 * a DSB that restarts walks). Two choices are independent when they belong
 * to different threads, neither is global, and no location one writes is
 * read or written by the other. Independence is meant to be sound: when
 * unsure, a footprint says more than the step does, never less.
 *
 * Most footprints are predicted from the state before the step. The
 * hypervisor's next effect is only known once it has happened (the walker
 * decides it on the C stack), so a HYP choice predicts "global" and the
 * caller refines it by observation: s2hyp_footprint_mark() before the
 * choice runs, s2hyp_footprint_observe() after it. A HYP step's
 * footprint holds the effect at its scheduling point and everything the
 * operation's code did up to its next one: the descriptors its walk read
 * (the values its decisions rest on) and the compare of an exchange that
 * lost (a read: two exchanges of one entry, or an exchange and a store,
 * conflict), its stores, TLBIs, CMOs and frees. Its thread is the
 * operation's (the faulting vCPU's, or the host's): two operations in
 * flight are two threads, each in program order. With parallel faults the
 * choice that continues an operation is its thread's (vN, host), not HYP;
 * it is observed the same way. Observation also
 * checks a vCPU step's prediction against what the step recorded, and
 * falls back to global when they differ.
 */
#ifndef S2HYP_FOOTPRINT_H
#define S2HYP_FOOTPRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "hyp-model/s2hyp.h"

enum s2hyp_fp_loc {
	S2HYP_FP_DESC,
	S2HYP_FP_PAGE,
	S2HYP_FP_LINE,
	S2HYP_FP_TLB,
	S2HYP_FP_WC,
	S2HYP_FP_RUN,
};

/* [lo, hi): physical addresses, or vCPU numbers for tlb and wc. */
struct s2hyp_fp_access {
	uint8_t loc;		/* enum s2hyp_fp_loc */
	bool write;
	uint64_t lo, hi;
};

#define S2HYP_FP_MAX 20

#define S2HYP_FP_HYP (-1)		/* the hypervisor and the host */
#define S2HYP_FP_BACKGROUND (-2)	/* evictions, speculative walks: no thread */

struct s2hyp_footprint {
	int thread;		/* S2HYP_FP_HYP, S2HYP_FP_BACKGROUND, or a vCPU */
	bool global;		/* dependent with every other choice */
	bool mispredicted;	/* observation contradicted the prediction */
	unsigned n;
	struct s2hyp_fp_access acc[S2HYP_FP_MAX];
};

/*
 * A choice's stable identity: the same value names the same action in
 * every state where it is enabled, although the machine's argument (an
 * index into a TLB, the resident lines or a program) may differ. Keys of
 * background choices name what they act on: the program item of a
 * speculative walk, the address and level of a TLB or walk-cache entry,
 * the line of a dcache eviction.
 */
struct s2hyp_choice_key {
	uint8_t kind;		/* enum s2hyp_choice_kind */
	uint8_t vcpu;
	uint64_t id;
};

static inline bool s2hyp_choice_key_equal(const struct s2hyp_choice_key *a,
					  const struct s2hyp_choice_key *b)
{
	return a->kind == b->kind && a->vcpu == b->vcpu && a->id == b->id;
}

/* How many arguments an enabled choice offers (0 for HYP, HOST, vCPU). */
unsigned s2hyp_choice_nargs(const struct s2hyp *m, const struct s2hyp_choice *c);
/* The key of choice c with its argument set. S2_EINVAL when the argument
 * is out of range in this state. */
int s2hyp_choice_key(const struct s2hyp *m, const struct s2hyp_choice *c,
		     struct s2hyp_choice_key *key);

/* The predicted footprint of an enabled choice (argument set). */
int s2hyp_choice_footprint(const struct s2hyp *m, const struct s2hyp_choice *c,
			   struct s2hyp_footprint *fp);

/* What observation needs to remember from before the choice runs. */
struct s2hyp_fp_mark {
	struct s2hyp_choice c;
	unsigned host_events;
	unsigned vcpu_events;
	uint64_t allocated;
	uint64_t pool_frees;
	uint64_t hyp_ops;
	unsigned pending_tlbis;
	bool locked;
	uint64_t hyp_reads;	/* the machine's count of hypervisor descriptor reads */
	/* The choice continues an operation in flight (parallel faults: vN
	 * or host while that thread's operation holds the lock), observed as
	 * a HYP step of thread op_thread. */
	bool op_cont;
	int op_thread;
};

void s2hyp_footprint_mark(const struct s2hyp *m, const struct s2hyp_choice *c,
			  struct s2hyp_fp_mark *mk);
/* Refine fp (the choice's prediction) with what the choice did. */
void s2hyp_footprint_observe(const struct s2hyp *m, const struct s2hyp_fp_mark *mk,
			     struct s2hyp_footprint *fp);

bool s2hyp_footprints_independent(const struct s2hyp_footprint *a,
				  const struct s2hyp_footprint *b);

/*
 * Predicted from the state before it: choice c (enabled, argument set)
 * changes no thread's enabled choices but its own, and its own thread has
 * none left after it. True for a background choice (it moves no thread),
 * and for a vCPU's step that completes its last program item (a TLB hit
 * the access is allowed through) when no other thread's item waits for
 * that vCPU's phase. A search uses it to see, before running c, that
 * every choice after it would be asleep (fuzz/explore.c). False when
 * unsure.
 */
bool s2hyp_choice_leaves_others(const struct s2hyp *m, const struct s2hyp_choice *c);

/* "desc 0x...+8 w" lines, for tests and debugging. */
void s2hyp_print_footprint(FILE *f, const struct s2hyp_footprint *fp);

#endif
