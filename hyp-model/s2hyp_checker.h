/* s2hyp_checker: the checker, with its own handle.
 *
 * What it offers: ghost state for every stage-2 entry and table page
 * (casemate-style: valid, invalid-unclean, TLBI pending, invalid-clean), and
 * the rules of s2hyp_rules.h, each implemented in exactly one function of
 * checker.c named after its row (rule_refcount, rule_walk_after_free, ...).
 *
 * Events go in, violations come out. The checker is told what happened
 * (a PTE store, a TLBI, a DSB, a table page freed, a TLB fill with the
 * entries it overlaps, a guest access with what the cache model said of it)
 * and reports each violation to the sink given at creation. It reads the
 * table pages (pool/), the walker's geometry and the cache model's summary
 * of a range, all below it; it never calls back into the machine, so it can
 * be driven without one (tests/checker_test.c does).
 *
 * Threads are -1 for the hypervisor and the vCPU number otherwise.
 */
#ifndef S2HYP_CHECKER_H
#define S2HYP_CHECKER_H

#include <stdbool.h>
#include <stdint.h>

#include "cache-model/s2cache.h"
#include "hyp-model/s2hyp.h"
#include "pool/s2pool.h"
#include "walker/s2pt.h"

struct s2hyp_checker;

/* A TLB entry, as the machine's TLBs hold it and the checker sees it. */
struct s2hyp_tlb_entry {
	uint64_t ipa;		/* aligned to size */
	uint64_t size;
	uint64_t oa;
	uint8_t level;
	uint8_t prot;		/* enum s2pt_prot: R/W/X, DEVICE, NC */
};

struct s2hyp_checker_config {
	const struct s2pt *pt;		/* the tables' geometry */
	struct s2pool *pool;		/* the table pages */
	const struct s2cache *cache;	/* for what a new mapping exposes */
	bool fwb, dic;			/* FEAT_S2FWB, CTR_EL0.DIC */
	/* Counters the checker keeps: violations[], coalesces and
	 * mappings_by_level[]; the rest is left alone. */
	struct s2hyp_stats *stats;
	/* Every violation: v is the recorded report for the first of its
	 * rule (the sink may add the step and the event history), NULL for
	 * later ones (counted only). */
	void (*report)(void *arg, enum s2hyp_rule rule, struct s2hyp_violation *v);
	void *arg;
};

/* A memslot as mapping-bounds sees it: the IPA range, the host physical
 * address of its start, and whether the guest may write it. */
struct s2hyp_checker_slot {
	uint64_t ipa, size, pa;		/* pa S2HYP_CHECKER_ANY_PA: the host decides, page by page */
	bool readonly;
};
#define S2HYP_CHECKER_ANY_PA UINT64_MAX

/* NULL when out of memory. */
struct s2hyp_checker *s2hyp_checker_new(const struct s2hyp_checker_config *cfg);
void s2hyp_checker_delete(struct s2hyp_checker *c);
/* c as s2hyp_checker_new(cfg) makes it, its memory kept. */
void s2hyp_checker_reset(struct s2hyp_checker *c, const struct s2hyp_checker_config *cfg);

unsigned s2hyp_checker_nr_violations(const struct s2hyp_checker *c);
const struct s2hyp_violation *s2hyp_checker_violation(const struct s2hyp_checker *c, unsigned i);

/* -- Table pages --------------------------------------------------------- */

/* page was just allocated (zeroed): its ghost state starts afresh. */
void s2hyp_checker_page_alloc(struct s2hyp_checker *c, void *page);
/* page is a root table at level, translating from ipa. */
void s2hyp_checker_page_root(struct s2hyp_checker *c, void *page, s2_level_t level, uint64_t ipa);
/* The level the ghost state holds for page, without creating any state:
 * false when the checker has never seen it. (An allocated page no entry
 * links yet says 0.) */
bool s2hyp_checker_ghost_level(const struct s2hyp_checker *c, const void *page, s2_level_t *level);
/* A reference was taken or dropped on page (its refcount is checked when
 * the lock is released). */
void s2hyp_checker_page_ref(struct s2hyp_checker *c, void *page);

/* Where a vCPU's walk cache points: for frees. */
struct s2hyp_wc_ref {
	unsigned vcpu;
	uint64_t ipa;
	s2_level_t level;
};
/* page is about to be freed; refs are the walk-cache entries that still
 * point at it. */
void s2hyp_checker_page_free(struct s2hyp_checker *c, void *page,
			     const struct s2hyp_wc_ref *refs, unsigned nr_refs);
/* The pool's misuse counters may have moved (a double free, a put on a
 * freed page...). Returns false when the walker passed an address outside
 * the pool: the machine's error, not a rule. */
bool s2hyp_checker_pool_errors(struct s2hyp_checker *c);
/* The VM is being torn down: frees from here on are the teardown's. */
void s2hyp_checker_destroying(struct s2hyp_checker *c);
/* The VM is gone: every table page and host page reference must be. */
void s2hyp_checker_destroyed(struct s2hyp_checker *c);

/* The fault handler took or dropped a reference on a host page (get is
 * false when out of memory). */
bool s2hyp_checker_host_page_get(struct s2hyp_checker *c, uint64_t pa);
void s2hyp_checker_host_page_put(struct s2hyp_checker *c, uint64_t pa);
/* host-mm: a violation of the host model's rules or of KVM's over it
 * (found by host-mm/ and kvmhost.c), detail naming which. */
void s2hyp_checker_host_mm(struct s2hyp_checker *c, int thread, uint64_t ipa, uint64_t pa,
			   const char *detail);

/* -- The hypervisor's effects ------------------------------------------- */

/* The hypervisor stores new over old at ptep (before the store). */
void s2hyp_checker_pte_store(struct s2hyp_checker *c, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new);
/* The hypervisor's own walk descends into the table page at pa. */
void s2hyp_checker_hyp_descend(struct s2hyp_checker *c, s2_pa_t pa);
/* A TLBI was issued (range: the size of a RIPAS2E1IS, else ignored); seq
 * numbers TLBIs in order. */
void s2hyp_checker_tlbi(struct s2hyp_checker *c, enum s2pt_tlbi op, uint64_t ipa, uint64_t range,
			uint64_t seq);
/* A DSB completed every TLBI issued before it. */
void s2hyp_checker_dsb(struct s2hyp_checker *c);
/* The MMU lock is released: the refcount convention holds again (checked
 * now unless operations are still in flight: then at quiescence). */
void s2hyp_checker_unlock(struct s2hyp_checker *c);
/* The MMU lock is released without the refcount check (effect traces). */
void s2hyp_checker_unlock_unchecked(struct s2hyp_checker *c);
/* An unmap of [ipa, ipa + size) returned; left are the TLB entries of
 * vCPU vcpu that still translate part of it. Called once per vCPU. */
void s2hyp_checker_unmapped(struct s2hyp_checker *c, uint64_t ipa, uint64_t size, unsigned vcpu,
			    const struct s2hyp_tlb_entry *left, unsigned nr_left);

/* -- Operations in flight (several walkers at once) -------------------- */
/*
 * With the MMU lock held for read (KVM's faults since v6.2) several
 * hypervisor operations walk the tables at once. The machine numbers the
 * operations in flight 0..S2HYP_CHECKER_MAX_OPS-1 and tells the checker,
 * for each, when it starts and ends, when its walk enters and leaves an RCU
 * read-side section, every entry it reads and every store it makes (a
 * plain store, or a compare-and-exchange that succeeded). That is what
 * store-unowned, lost-update and free-before-grace are checked against.
 * The refcount rule is checked at quiescence: when the last operation in
 * flight ends (or the lock is released with none in flight).
 * A machine that never calls op_begin gets the rules of one operation at
 * a time (s2hyp_checker_pte_store and s2hyp_checker_unlock), as before.
 */
#define S2HYP_CHECKER_MAX_OPS (S2HYP_MAX_VCPUS + 1)	/* a vCPU's fault, or the host's */

/* Operation op starts, holding the MMU lock for read (shared) or write. */
void s2hyp_checker_op_begin(struct s2hyp_checker *c, unsigned op, bool shared);
/* It ends and releases its lock; at quiescence the refcounts are checked. */
void s2hyp_checker_op_end(struct s2hyp_checker *c, unsigned op);
/* Its walk over [ipa, ipa + size) enters (rcu_read_lock in
 * kvm_pgtable_walk_begin) and leaves an RCU read-side section. */
void s2hyp_checker_rcu_enter(struct s2hyp_checker *c, unsigned op, uint64_t ipa, uint64_t size);
void s2hyp_checker_rcu_exit(struct s2hyp_checker *c, unsigned op);
/* Its walk read val at ptep (one load, the value its decision rests on). */
void s2hyp_checker_pte_read(struct s2hyp_checker *c, unsigned op, const s2_pte_t *ptep,
			    s2_pte_t val);
/* It stores new over old at ptep (before the store): exchange when a
 * compare-and-exchange against old succeeded, else a plain store. Applies
 * everything s2hyp_checker_pte_store does, and the rules of ownership. */
void s2hyp_checker_op_pte_store(struct s2hyp_checker *c, unsigned op, s2_pte_t *ptep, s2_pte_t old,
				s2_pte_t new, bool exchange);
/* Operations in flight now. */
unsigned s2hyp_checker_in_flight(const struct s2hyp_checker *c);

/* -- Intent: what an operation was asked to do ------------------------- */

/* The memslots every leaf must stay inside (mapping-bounds); none (the
 * default, and effect traces): the rule is off. Copied. */
void s2hyp_checker_slots(struct s2hyp_checker *c, const struct s2hyp_checker_slot *slots,
			 unsigned n);
/* An unmap of [ipa, ipa + size) returned; left are the valid leaves the
 * tables still hold over part of it (as TLB-entry shapes). */
void s2hyp_checker_unmap_left(struct s2hyp_checker *c, uint64_t ipa, uint64_t size,
			      const struct s2hyp_tlb_entry *left, unsigned nr_left);
/* A write-protect of [ipa, ipa + size) returned; left are the writable
 * translations still covering part of it: leaves of the tables (vcpu -1)
 * or entries of vCPU vcpu's TLB. */
void s2hyp_checker_wrprotect_left(struct s2hyp_checker *c, uint64_t ipa, uint64_t size, int vcpu,
				  const struct s2hyp_tlb_entry *left, unsigned nr_left);
/* Dirty logging: a guest write of vCPU vcpu reached the page at ipa of a
 * logged slot; a get-dirty-log of [ipa, ipa + size) returned reported (one
 * byte a page of 1 << page_shift bytes); logging stopped over a range. */
void s2hyp_checker_logged_write(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa);
void s2hyp_checker_dirty_log_read(struct s2hyp_checker *c, uint64_t ipa, uint64_t size,
				  unsigned page_shift, const uint8_t *reported);
void s2hyp_checker_dirty_log_stop(struct s2hyp_checker *c, uint64_t ipa, uint64_t size);
/* While logging is on, the writable translation e (a leaf: vcpu -1; else
 * a TLB entry of vCPU vcpu) covers clean_page, a page not marked dirty. */
void s2hyp_checker_logged_writable(struct s2hyp_checker *c, int vcpu,
				   const struct s2hyp_tlb_entry *e, uint64_t clean_page);
/* An aging walk begins (on) or ends: its stores may change only AF. */
void s2hyp_checker_aging(struct s2hyp_checker *c, bool on);
/* vCPU vcpu took the same fault (kind: "translation", "permission",
 * "access-flag") on the page of ipa n times in a row while no entry
 * changed anywhere. */
void s2hyp_checker_no_progress(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa,
			       const char *kind, s2_level_t level, unsigned n);

/* -- The vCPUs ----------------------------------------------------------- */

/* vCPU vcpu's TLB takes e; overlap are the entries it already holds that
 * overlap e (larger ones containing it, smaller ones inside it). */
void s2hyp_checker_tlb_fill(struct s2hyp_checker *c, unsigned vcpu, const struct s2hyp_tlb_entry *e,
			    const struct s2hyp_tlb_entry *overlap, unsigned nr_overlap);

/* What a hardware walk found at the table page it was about to read. */
enum s2hyp_table_state {
	S2HYP_TABLE_LIVE,
	S2HYP_TABLE_NOT_IN_POOL,	/* not a table page at all */
	S2HYP_TABLE_FREED,
	S2HYP_TABLE_REUSED,		/* freed and reused since the walk cached it */
};
/* vCPU vcpu's hardware walk for ipa reads the descriptor at dpa, at level,
 * in the table page at table_pa, which is in state st. */
void s2hyp_checker_walk_read(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa, uint64_t table_pa,
			     uint64_t dpa, s2_level_t level, enum s2hyp_table_state st);

/* A guest access by vCPU vcpu of ipa (PA pa, through a leaf at level) and
 * what the cache model said of the data it returned. Writes are not
 * checked. */
void s2hyp_checker_access(struct s2hyp_checker *c, unsigned vcpu, enum s2hyp_access a, uint64_t ipa,
			  uint64_t pa, s2_level_t level, bool cacheable,
			  const struct s2cache_check *cc);

/* -- Queries ------------------------------------------------------------- */

/* The ghost view of the entry at ptep, a pointer into a table page. */
struct s2hyp_checker_entry {
	s2_level_t level;	/* of the table holding it; -2 when unknown */
	uint64_t ipa;
	enum s2hyp_ghost_state ghost;
};
void s2hyp_checker_entry(const struct s2hyp_checker *c, const s2_pte_t *ptep,
			 struct s2hyp_checker_entry *e);

#endif
