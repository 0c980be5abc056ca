/* s2hyp_effect: the effect-trace checker.
 *
 * Another hypervisor's page-table code, seen through what it does to the
 * machine: stores to table memory, system-register writes (VTTBR_EL2,
 * TTBR0_EL2, VTCR_EL2, TCR_EL2, HCR_EL2, SCTLR_EL2), TLBIs, barriers,
 * cache maintenance, locks and ownership hints, each made by one thread
 * (a CPU). The checker keeps ghost state in the trace's own terms (its
 * physical addresses, its thread numbers, its input lines) and applies
 * the rules of s2hyp_rules.h that concern such code: break-before-make,
 * TLBI-before-free, the VMID/ASID rules, TTL hints, the stage-1 half of an
 * IPA invalidation, and the lock rules.
 *
 * Ghost state of an entry (DDI 0487 D8.14, after casemate):
 *   valid -> (store of an invalid value, table live) -> invalid-unclean
 *   invalid-unclean -> (covering broadcast TLBI on thread T) -> pending on T
 *   pending on T -> (DSB ISH/SY on T) -> invalid-clean
 * A stage-2 entry needs two invalidations: its stage-2 entries (by IPA, or
 * the whole VMID) and, after that one completed, the combined stage-1+2
 * entries of its VMID (VMALLE1IS), unless one TLBI does both (VMALLS12E1IS,
 * ALLE1IS).
 *
 * Not a scheduler: events happen in the order given. "eff" is effect.
 */
#ifndef S2HYP_EFFECT_H
#define S2HYP_EFFECT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/s2arm.h"
#include "hyp-model/s2hyp_rules.h"
#include "walker/s2pt.h"

#define S2EFF_MAX_THREADS 256

enum s2eff_sysreg {
	S2EFF_VTCR_EL2, S2EFF_VTTBR_EL2, S2EFF_TCR_EL2, S2EFF_TTBR0_EL2, S2EFF_HCR_EL2,
	S2EFF_SCTLR_EL2, S2EFF_MAIR_EL2, S2EFF_NR_SYSREG
};

enum s2eff_hint { S2EFF_HINT_SET_ROOT_LOCK, S2EFF_HINT_SET_OWNER_ROOT, S2EFF_HINT_RELEASE_TABLE };

/* Where an event is: its input line and the thread (CPU) that made it. */
struct s2eff_at {
	unsigned line;
	unsigned thread;
};

#define S2EFF_MAX_RELATED 4

/* A violation in the trace's terms. */
struct s2eff_violation {
	enum s2hyp_rule rule;
	uint64_t step;		/* the event's number, counting from 1 */
	struct s2eff_at at;
	uint64_t pa;		/* the entry (or page, root) concerned, as the trace names it */
	uint64_t ia;		/* the input address it translates (IPA or VA), or 0 */
	int level;		/* -1: none */
	int stage;		/* 1, 2, or 0: none */
	char detail[320];
	unsigned nrel;		/* the events that led to it, oldest first */
	struct {
		unsigned line;
		char what[120];
	} rel[S2EFF_MAX_RELATED];
};

struct s2eff_stats {
	uint64_t events, writes, tlbis, dsbs, cmos, untracked_writes;
	uint64_t violations[S2HYP_NR_RULES];
};

struct s2eff;

struct s2eff *s2eff_new(void);
void s2eff_free(struct s2eff *e);
/* The granule: memory is initialised and freed in pages of this many bits. */
unsigned s2eff_page_shift(const struct s2eff *e);
/* Take a TLBI's level hint as no hint (it then never makes a violation). */
void s2eff_set_ignore_ttl(struct s2eff *e, bool ignore);

/*
 * The events. Each returns 0, or S2_EINVAL for an event the trace cannot
 * have made (a store outside every page it tracks, a lock taken by two
 * threads at once...) with *why saying why, or S2_ENOMEM.
 */
int s2eff_sysreg(struct s2eff *e, struct s2eff_at at, enum s2eff_sysreg r, uint64_t value,
		 const char **why);
/* Zeroed memory the code owns from now on (a table page, or one to be). */
int s2eff_init(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t size, const char **why);
int s2eff_release(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t size,
		  const char **why);
/* A store: a descriptor (must land in tracked memory) or, with any, a
 * store that may be to any memory (ignored outside tracked memory). */
int s2eff_write(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t value, bool release,
		bool any, const char **why);
int s2eff_read(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t value, const char **why);
void s2eff_dsb(struct s2eff *e, struct s2eff_at at, enum s2arm_dsb kind);
void s2eff_isb(struct s2eff *e, struct s2eff_at at);
/* addr: the IPA (stage 2) or VA (EL2) of a by-address TLBI; level
 * S2PT_TLBI_NO_LEVEL: no hint (-1 is a level, with LPA2); tag -1: the VMID of the thread's VTTBR_EL2 (the ASID of its
 * TTBR0_EL2 at EL2), else that VMID/ASID. */
void s2eff_tlbi(struct s2eff *e, struct s2eff_at at, enum s2arm_tlbi op, uint64_t addr, int level,
		int tag);
void s2eff_cmo(struct s2eff *e, struct s2eff_at at);
/* lock: the lock's address, or UINT64_MAX for the one anonymous lock. */
int s2eff_lock(struct s2eff *e, struct s2eff_at at, uint64_t lock, bool try, const char **why);
int s2eff_unlock(struct s2eff *e, struct s2eff_at at, uint64_t lock, const char **why);
int s2eff_hint(struct s2eff *e, struct s2eff_at at, enum s2eff_hint kind, uint64_t location,
	       uint64_t value, const char **why);

/* The leaf translating ipa in the last stage-2 root installed: 1 and its
 * level and descriptor when there is one, 0 when not, -1 with no root. */
int s2eff_lookup(const struct s2eff *e, uint64_t ipa, int *level, uint64_t *desc);

const struct s2eff_stats *s2eff_stats(const struct s2eff *e);
/* The first violation of each rule that fired, in order. */
unsigned s2eff_nr_violations(const struct s2eff *e);
const struct s2eff_violation *s2eff_violation(const struct s2eff *e, unsigned i);
/* A report: "NAME:LINE: violation: RULE (thread T, step N)", then the
 * rule, what happened and the lines that led to it. */
void s2eff_print_violation(FILE *f, const char *name, const struct s2eff_violation *v);
void s2eff_print_violation_json(FILE *f, const char *name, const struct s2eff_violation *v);

#endif
