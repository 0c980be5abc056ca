/* The checker (s2hyp_checker.h): ghost state for every entry and table
 * page, and the rules of s2hyp_rules.h. Each rule is one function below,
 * rule_<its name>, the only place that reports it; the event handlers
 * keep the ghost state and call the rules. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_map.h"
#include "common/s2_vec.h"
#include "hyp-model/s2hyp_checker.h"

#define HYP_THREAD (-1)

/* Ghost state of one entry (casemate-style). */
enum ghost_state {
	GHOST_INVALID_CLEAN = 0,	/* invalid, and no TLB can hold what it held */
	GHOST_VALID,
	GHOST_INVALID_UNCLEAN,		/* written invalid; TLBI not yet issued */
	GHOST_TLBI_PENDING,		/* TLBI issued; awaiting the DSB that completes it */
};

struct ghost_pte {
	uint8_t state;
	uint8_t locker;			/* 1 + the operation in flight whose locked
					 * marker it holds; 0 for none */
	uint8_t writer;			/* 1 + the operation that stored it last */
	uint32_t broken_op;		/* 1 + the operation that last broke it */
	uint32_t ver;			/* stores so far: what a read saw */
	s2_pte_t last_valid;		/* what a TLB might still hold */
};

/* Ghost state of one table page. */
struct ghost_page {
	bool linked_ever;		/* some entry pointed to it */
	bool unlink_clean;		/* the entry that pointed to it went through
					 * invalid + TLBI + DSB since */
	bool touched;			/* changed under the current lock: check refcount */
	bool root;
	s2_level_t level;
	int32_t counted;		/* counted entries (KVM's convention), kept per store */
	uint64_t ipa;			/* base IPA the page translates */
	uint64_t unlink_seq;		/* when its tree was cut from the root (the
					 * checker's clock); 0 while linked */
	struct ghost_pte *ptes;		/* lazily allocated, one per entry; kept
					 * when the page is freed or the checker
					 * reset, and cleared then only in */
	uint32_t dirty_lo, dirty_hi;	/* [lo, hi): the entries stored since it
					 * was last cleared (all others are zero) */
};

/* A hypervisor operation in flight. */
struct op_state {
	bool active;
	bool shared;			/* the MMU lock held for read */
	bool in_rcu;			/* inside an RCU read-side section */
	uint64_t rcu_seq;		/* when it entered (the checker's clock) */
	uint64_t rcu_ipa, rcu_size;	/* what its walk covers */
	struct s2_map read;		/* ptep -> 1 + its index in seen */
	struct op_seen {
		uint64_t ver;		/* the entry's ver when this operation
					 * last read or stored it */
		uint64_t val;		/* the value it saw then */
	} *seen;
	unsigned seen_n, seen_cap;
};

struct unclean {
	uint64_t pool_idx;		/* page index in the pool */
	unsigned idx;			/* entry index */
	uint64_t tlbi_seq;		/* when TLBI_PENDING: the TLBI that covers it */
};

struct s2hyp_checker {
	struct s2hyp_checker_config cfg;
	struct ghost_page *ghost;	/* one per pool page, grown on demand */
	unsigned ghost_cap;
	struct unclean *unclean;
	unsigned unclean_n, unclean_cap;
	uint64_t *touched;		/* pool page indices touched under the lock */
	unsigned touched_n, touched_cap;
	struct s2_map hpages;		/* pfn -> references the fault handler holds */
	struct s2pool_errors pool_err_seen;
	bool destroying;
	/* intent */
	struct s2hyp_checker_slot slots[S2HYP_MAX_SLOTS];
	unsigned nr_slots;
	struct s2_map logged;		/* page IPA + 1 -> vCPU + 1: guest writes to logged
					 * pages the next get-dirty-log must report */
	bool aging;
	uint32_t op_seq;		/* operations (lock releases) so far */
	struct op_state ops[S2HYP_CHECKER_MAX_OPS];
	unsigned in_flight;
	uint64_t seq;			/* a clock for RCU sections and unlinks */
	struct s2hyp_violation *viol;
	unsigned viol_n, viol_cap;
};

static const struct s2pt_geom *geom(const struct s2hyp_checker *c)
{
	return &c->cfg.pt->geom;
}

struct s2hyp_checker *s2hyp_checker_new(const struct s2hyp_checker_config *cfg)
{
	struct s2hyp_checker *c = calloc(1, sizeof(*c));
	if (c)
		c->cfg = *cfg;
	return c;
}

/* A ghost page as new, keeping its entries' array: only the entries
 * stored since it was last cleared are zeroed (a table page's 512 entries
 * are 12 KiB, a fresh one of a run has a few of them stored). */
static void ghost_page_clear(struct ghost_page *gp)
{
	struct ghost_pte *ptes = gp->ptes;
	if (ptes && gp->dirty_hi > gp->dirty_lo)
		memset(ptes + gp->dirty_lo, 0, (gp->dirty_hi - gp->dirty_lo) * sizeof(*ptes));
	*gp = (struct ghost_page){ .ptes = ptes };
}

void s2hyp_checker_reset(struct s2hyp_checker *c, const struct s2hyp_checker_config *cfg)
{
	struct s2hyp_checker k = *c;

	/* As new, keeping the arrays. The maps iterated in order (logged,
	 * hpages) go: a larger table would visit its keys in another order
	 * than a new one, and the first report of a rule names the first. */
	for (uint64_t i = 0; i < k.ghost_cap; i++)
		ghost_page_clear(&k.ghost[i]);
	s2_map_free(&k.hpages);
	s2_map_free(&k.logged);
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->ghost = k.ghost;
	c->ghost_cap = k.ghost_cap;
	c->unclean = k.unclean;
	c->unclean_cap = k.unclean_cap;
	c->touched = k.touched;
	c->touched_cap = k.touched_cap;
	c->viol = k.viol;
	c->viol_cap = k.viol_cap;
	for (unsigned i = 0; i < S2HYP_CHECKER_MAX_OPS; i++) {
		c->ops[i].read = k.ops[i].read;
		c->ops[i].seen = k.ops[i].seen;
		c->ops[i].seen_cap = k.ops[i].seen_cap;
		s2_map_clear(&c->ops[i].read);
	}
}

void s2hyp_checker_delete(struct s2hyp_checker *c)
{
	if (!c)
		return;
	for (uint64_t i = 0; i < c->ghost_cap; i++)
		free(c->ghost[i].ptes);
	free(c->ghost);
	free(c->unclean);
	free(c->touched);
	free(c->viol);
	s2_map_free(&c->hpages);
	s2_map_free(&c->logged);
	for (unsigned i = 0; i < S2HYP_CHECKER_MAX_OPS; i++) {
		s2_map_free(&c->ops[i].read);
		free(c->ops[i].seen);
	}
	free(c);
}

/* ------------------------------------------------------------------ */
/* Violations                                                          */
/* ------------------------------------------------------------------ */

static void report(struct s2hyp_checker *c, enum s2hyp_rule rule, int thread, uint64_t ipa,
		   uint64_t pa, s2_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void report(struct s2hyp_checker *c, enum s2hyp_rule rule, int thread, uint64_t ipa,
		   uint64_t pa, s2_level_t level, const char *fmt, ...)
{
	struct s2hyp_violation *v = NULL;

	/* The first of each rule carries the report. */
	bool first = true;
	if (c->cfg.stats)
		first = ++c->cfg.stats->violations[rule] == 1;
	else
		for (unsigned i = 0; i < c->viol_n; i++)
			first &= c->viol[i].rule != rule;
	if (first && s2_grow((void **)&c->viol, &c->viol_cap, sizeof(*c->viol), c->viol_n + 1)) {
		v = &c->viol[c->viol_n++];
		memset(v, 0, sizeof(*v));
		v->rule = rule;
		v->thread = thread;
		v->ipa = ipa;
		v->pa = pa;
		v->level = level;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
		va_end(ap);
	}
	if (c->cfg.report)
		c->cfg.report(c->cfg.arg, rule, v);
}

unsigned s2hyp_checker_nr_violations(const struct s2hyp_checker *c)
{
	return c->viol_n;
}

const struct s2hyp_violation *s2hyp_checker_violation(const struct s2hyp_checker *c, unsigned i)
{
	return i < c->viol_n ? &c->viol[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* Ghost state                                                         */
/* ------------------------------------------------------------------ */

static uint64_t pool_idx(const struct s2hyp_checker *c, const void *addr)
{
	uint64_t idx;
	return s2pool_index(c->cfg.pool, addr, &idx) ? idx : UINT64_MAX;
}

static struct ghost_page *ghost(struct s2hyp_checker *c, uint64_t idx)
{
	if (idx == UINT64_MAX)
		return NULL;
	if (idx >= c->ghost_cap && (idx >= UINT_MAX ||
	    !s2_grow_zero((void **)&c->ghost, &c->ghost_cap, sizeof(*c->ghost), (unsigned)idx + 1)))
		return NULL;
	return &c->ghost[idx];
}

static struct ghost_page *ghost_of(struct s2hyp_checker *c, const void *page)
{
	return ghost(c, pool_idx(c, page));
}

static struct ghost_pte *ghost_ptes(struct s2hyp_checker *c, struct ghost_page *gp)
{
	if (!gp->ptes)
		gp->ptes = calloc(s2pt_ptes_per_table(geom(c)), sizeof(*gp->ptes));
	return gp->ptes;
}

/* Entry idx of gp is about to be stored: it is no longer zero. */
static void ghost_dirty(struct ghost_page *gp, unsigned idx)
{
	if (gp->dirty_lo == gp->dirty_hi) {
		gp->dirty_lo = idx;
		gp->dirty_hi = idx + 1;
		return;
	}
	if (idx < gp->dirty_lo)
		gp->dirty_lo = idx;
	if (idx >= gp->dirty_hi)
		gp->dirty_hi = idx + 1;
}

static void touch(struct s2hyp_checker *c, uint64_t idx)
{
	struct ghost_page *gp = ghost(c, idx);
	if (!gp || gp->touched)
		return;
	if (!s2_grow((void **)&c->touched, &c->touched_cap, sizeof(*c->touched), c->touched_n + 1))
		return;
	gp->touched = true;
	c->touched[c->touched_n++] = idx;
}

static unsigned entry_index(const struct s2hyp_checker *c, const s2_pte_t *ptep)
{
	uint64_t page = (uint64_t)1 << geom(c)->granule_shift;
	return (unsigned)(((uintptr_t)ptep & (page - 1)) / sizeof(s2_pte_t));
}

static uint64_t entry_ipa(const struct s2hyp_checker *c, const struct ghost_page *gp, unsigned idx)
{
	return gp->ipa + (uint64_t)idx * s2pt_granule_size(geom(c), gp->level);
}

void s2hyp_checker_page_alloc(struct s2hyp_checker *c, void *page)
{
	struct ghost_page *g = ghost_of(c, page);
	if (!g)
		return;
	ghost_page_clear(g);
}

void s2hyp_checker_page_root(struct s2hyp_checker *c, void *page, s2_level_t level, uint64_t ipa)
{
	struct ghost_page *gp = ghost_of(c, page);
	if (gp) {
		gp->root = true;
		gp->level = level;
		gp->ipa = ipa;
	}
}

bool s2hyp_checker_ghost_level(const struct s2hyp_checker *c, const void *page, s2_level_t *level)
{
	uint64_t idx = pool_idx(c, page);
	if (idx >= c->ghost_cap)
		return false;
	*level = c->ghost[idx].level;
	return true;
}

void s2hyp_checker_page_ref(struct s2hyp_checker *c, void *page)
{
	touch(c, pool_idx(c, page));
}

void s2hyp_checker_entry(const struct s2hyp_checker *c, const s2_pte_t *ptep,
			 struct s2hyp_checker_entry *e)
{
	uint64_t pidx = pool_idx(c, ptep);
	unsigned idx = entry_index(c, ptep);
	const struct ghost_page *gp = pidx < c->ghost_cap ? &c->ghost[pidx] : NULL;

	*e = (struct s2hyp_checker_entry){ .level = -2, .ghost = S2HYP_GHOST_INVALID_CLEAN };
	if (gp && (gp->linked_ever || gp->root)) {
		e->level = gp->level;
		e->ipa = entry_ipa(c, gp, idx);
	}
	switch (gp && gp->ptes ? gp->ptes[idx].state : GHOST_INVALID_CLEAN) {
	case GHOST_VALID: e->ghost = S2HYP_GHOST_VALID; break;
	case GHOST_INVALID_UNCLEAN: e->ghost = S2HYP_GHOST_INVALID_UNCLEAN; break;
	case GHOST_TLBI_PENDING: e->ghost = S2HYP_GHOST_TLBI_PENDING; break;
	default: break;
	}
}

/* ------------------------------------------------------------------ */
/* The rules, one function each, in the order of s2hyp_rules.h         */
/* ------------------------------------------------------------------ */

/* refcount: the table page at page (pool index idx) is touched under the
 * lock that is being released. */
static void rule_refcount(struct s2hyp_checker *c, uint64_t idx, struct ghost_page *gp)
{
	void *page = s2pool_page_by_index(c->cfg.pool, idx);
	struct s2pool_page *pg = page ? s2pool_page_of(c->cfg.pool, page) : NULL;

	if (!pg || pg->state != S2POOL_PAGE_LIVE)
		return;
	/* Kept per store (every store goes through the checker); the recount
	 * confirms a mismatch before it is reported. */
	if (gp && pg->refcount == 1 + gp->counted)
		return;
	unsigned counted = s2pt_table_counted_entries(c->cfg.pt, page);
	if (pg->refcount != (int32_t)(1 + counted)) {
		uint64_t pa = s2_pa_get(s2pool_pa(c->cfg.pool, page));
		report(c, S2HYP_RULE_REFCOUNT, HYP_THREAD, gp ? gp->ipa : 0, pa, gp ? gp->level : -1,
		       "table page %#llx (level %d, IPA %#llx) has refcount %d but "
		       "holds %u counted entries (expected %u)",
		       (unsigned long long)pa, gp ? gp->level : -1,
		       (unsigned long long)(gp ? gp->ipa : 0), pg->refcount, counted, counted + 1);
	}
}

/* leak: after the VM is destroyed, a table page still live (page, pg) or a
 * host page still referenced (pfn, refs; page NULL). */
static void rule_leak(struct s2hyp_checker *c, void *page, const struct s2pool_page *pg,
		      uint64_t pfn, uint64_t refs)
{
	if (!page) {
		report(c, S2HYP_RULE_LEAK, HYP_THREAD, 0, pfn << 12, -1,
		       "host page %#llx still holds %llu reference(s) taken by the "
		       "fault handler after the VM was destroyed",
		       (unsigned long long)(pfn << 12), (unsigned long long)refs);
		return;
	}
	struct ghost_page *gp = ghost_of(c, page);
	uint64_t pa = s2_pa_get(s2pool_pa(c->cfg.pool, page));
	report(c, S2HYP_RULE_LEAK, HYP_THREAD, gp ? gp->ipa : 0, pa, gp ? gp->level : -1,
	       "table page %#llx (level %d, IPA %#llx) is still allocated with refcount "
	       "%d after the VM was destroyed",
	       (unsigned long long)pa, gp ? gp->level : -1,
	       (unsigned long long)(gp ? gp->ipa : 0), pg->refcount);
}

/* double-free: the pool's misuse counters moved since last seen. */
static void rule_double_free(struct s2hyp_checker *c, const struct s2pool_errors *e)
{
	const struct s2pool_errors *seen = &c->pool_err_seen;
	const char *what = NULL;

	if (e->double_free != seen->double_free)
		what = "a table page was freed twice";
	else if (e->put_on_freed != seen->put_on_freed)
		what = "a reference was dropped on a freed table page";
	else if (e->get_on_freed != seen->get_on_freed)
		what = "a reference was taken on a freed table page";
	else if (e->put_below_zero != seen->put_below_zero)
		what = "a table page's refcount was dropped below zero";
	if (what)
		report(c, S2HYP_RULE_DOUBLE_FREE, HYP_THREAD, 0, 0, -1, "%s", what);
}

/* walk-after-free, by who meets the freed page. */
enum walk_kind {
	WALK_HW,		/* a vCPU's hardware walk reads a descriptor */
	WALK_HYP_DESCEND,	/* the hypervisor's walk descends into a page */
	WALK_HYP_STORE,		/* the hypervisor writes an entry of a page */
	WALK_CACHED,		/* a walk cache points at a page being freed */
};

struct walk_meet {
	enum walk_kind kind;
	int thread;
	uint64_t ipa;
	uint64_t pa;		/* the descriptor (HW, STORE) or the page */
	uint64_t table_pa;	/* the page */
	s2_level_t level;
	enum s2hyp_table_state st;
};

static void rule_walk_after_free(struct s2hyp_checker *c, const struct walk_meet *w)
{
	switch (w->kind) {
	case WALK_HW:
		report(c, S2HYP_RULE_WALK_AFTER_FREE, w->thread, w->ipa, w->pa, w->level,
		       "vCPU %d's hardware walk reads a descriptor from table page %#llx, %s",
		       w->thread, (unsigned long long)w->table_pa,
		       w->st == S2HYP_TABLE_NOT_IN_POOL ? "outside the table pool" :
		       w->st == S2HYP_TABLE_FREED ? "which has been freed" :
		       "which was freed and reused since the walk cached it");
		return;
	case WALK_HYP_DESCEND:
		report(c, S2HYP_RULE_WALK_AFTER_FREE, HYP_THREAD, 0, w->pa, -1,
		       "the hypervisor's walk descends into table page %#llx, which %s",
		       (unsigned long long)w->pa,
		       w->st == S2HYP_TABLE_FREED ? "has been freed" : "is not a table page");
		return;
	case WALK_HYP_STORE:
		report(c, S2HYP_RULE_WALK_AFTER_FREE, HYP_THREAD, 0, w->pa, -1,
		       "the hypervisor writes entry %#llx in table page %#llx, which has been freed",
		       (unsigned long long)w->pa, (unsigned long long)w->table_pa);
		return;
	case WALK_CACHED:
		report(c, S2HYP_RULE_WALK_AFTER_FREE, w->thread, w->ipa, w->pa, w->level,
		       "table page %#llx is freed while vCPU %d's walk cache "
		       "still points at it for IPA %#llx",
		       (unsigned long long)w->pa, w->thread, (unsigned long long)w->ipa);
		return;
	}
}

/* tlbi-before-free: page gp (at pa) is freed. */
static void rule_tlbi_before_free(struct s2hyp_checker *c, const struct ghost_page *gp, uint64_t pa)
{
	if (gp->linked_ever && !gp->unlink_clean && !c->destroying)
		report(c, S2HYP_RULE_TLBI_BEFORE_FREE, HYP_THREAD, gp->ipa, pa, gp->level,
		       "table page %#llx (level %d, IPA %#llx) is freed before the entry "
		       "that pointed to it was invalidated, TLBI'd and the TLBI completed",
		       (unsigned long long)pa, gp->level, (unsigned long long)gp->ipa);
}

/* What break-before-make protects: the output address, the size (a table
 * and a block differ), the memory type. Permissions and AF may change in
 * place (DDI 0487 D8.14.1). */
static bool bbm_differs(const struct s2hyp_checker *c, s2_pte_t a, s2_pte_t b, s2_level_t level)
{
	if (s2pt_pte_is_table(a, level) != s2pt_pte_is_table(b, level))
		return true;
	if (s2_pa_get(s2pt_pte_oa(geom(c), a)) != s2_pa_get(s2pt_pte_oa(geom(c), b)))
		return true;
	if (s2pt_pte_is_table(a, level))
		return false;
	return s2pt_pte_memtype(a, c->cfg.fwb) != s2pt_pte_memtype(b, c->cfg.fwb);
}

/* break-before-make: the entry (gs, at pa, translating ipa at level)
 * becomes new; old is its value before the store. */
static void rule_break_before_make(struct s2hyp_checker *c, const struct ghost_pte *gs, s2_pte_t old,
				   s2_pte_t new, uint64_t ipa, uint64_t pa, s2_level_t level)
{
	if (s2pt_pte_valid(old)) {
		if (bbm_differs(c, old, new, level))
			report(c, S2HYP_RULE_BBM, HYP_THREAD, ipa, pa, level,
			       "entry for IPA %#llx (level %d) changed from %#llx to %#llx "
			       "without going through an invalid entry",
			       (unsigned long long)ipa, level, (unsigned long long)old,
			       (unsigned long long)new);
		return;
	}
	if ((gs->state == GHOST_INVALID_UNCLEAN || gs->state == GHOST_TLBI_PENDING) &&
	    bbm_differs(c, gs->last_valid, new, level))
		report(c, S2HYP_RULE_BBM, HYP_THREAD, ipa, pa, level,
		       "entry for IPA %#llx (level %d) made %#llx while the TLBI "
		       "of its old value %#llx %s",
		       (unsigned long long)ipa, level, (unsigned long long)new,
		       (unsigned long long)gs->last_valid,
		       gs->state == GHOST_INVALID_UNCLEAN ?
		       "covering all of it was never issued" :
		       "was not yet completed by a DSB");
}

static const char *tlb_size_name(const struct s2hyp_tlb_entry *e)
{
	return e->size >= (1ull << 21) ? "block" : "page";
}

/* tlb-conflict: vCPU vcpu's TLB holds t and takes e, which overlap. */
static void rule_tlb_conflict(struct s2hyp_checker *c, unsigned vcpu, const struct s2hyp_tlb_entry *t,
			      const struct s2hyp_tlb_entry *e)
{
	bool same_map = t->oa - t->ipa == e->oa - e->ipa;
	uint8_t mt = S2PT_PROT_DEVICE | S2PT_PROT_NC;
	if (t->size == e->size && same_map && (t->prot & mt) == (e->prot & mt))
		return;
	report(c, S2HYP_RULE_TLB_CONFLICT, (int)vcpu, e->ipa, e->oa, (s2_level_t)e->level,
	       "vCPU %u's TLB holds IPA %#llx -> PA %#llx (%s) and now also "
	       "IPA %#llx -> PA %#llx (%s)",
	       vcpu, (unsigned long long)t->ipa, (unsigned long long)t->oa, tlb_size_name(t),
	       (unsigned long long)e->ipa, (unsigned long long)e->oa, tlb_size_name(e));
}

/* tlbi-after-unmap: after unmapping [ipa, ipa + size), vCPU vcpu's TLB
 * still holds e. */
static void rule_tlbi_after_unmap(struct s2hyp_checker *c, unsigned vcpu,
				  const struct s2hyp_tlb_entry *e, uint64_t ipa, uint64_t size)
{
	report(c, S2HYP_RULE_TLBI_AFTER_UNMAP, (int)vcpu, e->ipa, e->oa, (s2_level_t)e->level,
	       "after unmapping [%#llx, %#llx) vCPU %u's TLB still translates IPA %#llx -> "
	       "PA %#llx (level %u)",
	       (unsigned long long)ipa, (unsigned long long)(ipa + size), vcpu,
	       (unsigned long long)e->ipa, (unsigned long long)e->oa, e->level);
}

/* dcache-clean-before-visible: the leaf new (IPA ipa at level, output oa)
 * becomes visible over what the cache holds of its output (sum). */
static void rule_dcache_clean_before_visible(struct s2hyp_checker *c, s2_pte_t new, uint64_t ipa,
					     s2_level_t level, s2_pa_t oa,
					     const struct s2cache_summary *sum)
{
	if (!c->cfg.fwb && s2pt_pte_memtype(new, false) == S2PT_MT_NORMAL && sum->dirty)
		report(c, S2HYP_RULE_DCACHE_CLEAN, HYP_THREAD, ipa, s2_pa_get(oa), level,
		       "a %s mapping of IPA %#llx -> PA %#llx becomes visible while %llu "
		       "dirty dcache line(s) of it were never cleaned to PoC: a guest with "
		       "its MMU off reads stale memory",
		       level == S2_LEVEL_MAX ? "page" : "block", (unsigned long long)ipa,
		       (unsigned long long)s2_pa_get(oa), (unsigned long long)sum->dirty);
}

/* icache-inval-before-exec: IPA ipa (output oa) becomes executable. */
static void rule_icache_inval_before_exec(struct s2hyp_checker *c, uint64_t ipa, s2_level_t level,
					  s2_pa_t oa, const struct s2cache_summary *sum)
{
	if (!c->cfg.dic && sum->stale_icache)
		report(c, S2HYP_RULE_ICACHE_INVAL, HYP_THREAD, ipa, s2_pa_get(oa), level,
		       "IPA %#llx -> PA %#llx becomes executable while %llu icache "
		       "line(s) of it are older than memory",
		       (unsigned long long)ipa, (unsigned long long)s2_pa_get(oa),
		       (unsigned long long)sum->stale_icache);
}

/* stale-data: a read returned data older than the latest write. */
static void rule_stale_data(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa, uint64_t pa,
			    s2_level_t level, bool cacheable, const struct s2cache_check *cc)
{
	if (cc->stale)
		report(c, S2HYP_RULE_STALE_DATA, (int)vcpu, ipa, pa, level,
		       "vCPU %u %s read of IPA %#llx (PA %#llx) returned data of version %llu; "
		       "the latest write is version %llu",
		       vcpu, cacheable ? "cacheable" : "non-cacheable (MMU off)",
		       (unsigned long long)ipa, (unsigned long long)pa,
		       (unsigned long long)cc->ver_returned, (unsigned long long)cc->ver_latest);
}

/* stale-instruction: a fetch returned an instruction older than the
 * latest write. */
static void rule_stale_instruction(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa,
				   uint64_t pa, s2_level_t level, const struct s2cache_check *cc)
{
	if (cc->stale)
		report(c, S2HYP_RULE_STALE_INSN, (int)vcpu, ipa, pa, level,
		       "vCPU %u fetched a stale instruction at IPA %#llx (PA %#llx): "
		       "version %llu, the latest write is version %llu",
		       vcpu, (unsigned long long)ipa, (unsigned long long)pa,
		       (unsigned long long)cc->ver_returned, (unsigned long long)cc->ver_latest);
}

/* unmap-complete: after unmapping [ipa, ipa + size) the tables still hold
 * the valid leaf e over part of it. */
static void rule_unmap_complete(struct s2hyp_checker *c, const struct s2hyp_tlb_entry *e,
				uint64_t ipa, uint64_t size)
{
	report(c, S2HYP_RULE_UNMAP_COMPLETE, HYP_THREAD, e->ipa, e->oa, (s2_level_t)e->level,
	       "after unmapping [%#llx, %#llx) the tables still map IPA %#llx -> PA %#llx "
	       "(level %u)",
	       (unsigned long long)ipa, (unsigned long long)(ipa + size),
	       (unsigned long long)e->ipa, (unsigned long long)e->oa, e->level);
}

/* wrprotect-complete: after write-protecting [ipa, ipa + size), e still
 * allows writes to part of it: a leaf (vcpu -1) or vCPU vcpu's TLB entry. */
static void rule_wrprotect_complete(struct s2hyp_checker *c, int vcpu,
				    const struct s2hyp_tlb_entry *e, uint64_t ipa, uint64_t size)
{
	char who[48];
	if (vcpu < 0)
		snprintf(who, sizeof(who), "the tables still map");
	else
		snprintf(who, sizeof(who), "vCPU %d's TLB still translates", vcpu);
	report(c, S2HYP_RULE_WRPROTECT_COMPLETE, vcpu < 0 ? HYP_THREAD : vcpu, e->ipa, e->oa,
	       (s2_level_t)e->level,
	       "after write-protecting [%#llx, %#llx) %s IPA %#llx -> PA %#llx writable "
	       "(level %u)",
	       (unsigned long long)ipa, (unsigned long long)(ipa + size), who,
	       (unsigned long long)e->ipa, (unsigned long long)e->oa, e->level);
}

/* dirty-log-complete: vCPU vcpu wrote the logged page at ipa, and the
 * get-dirty-log of [lo, hi) did not report it. */
static void rule_dirty_log_complete(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa,
				    uint64_t lo, uint64_t hi)
{
	report(c, S2HYP_RULE_DIRTY_LOG_COMPLETE, (int)vcpu, ipa, 0, S2_LEVEL_MAX,
	       "vCPU %u wrote the page at IPA %#llx while dirty logging was on, and the "
	       "get-dirty-log of [%#llx, %#llx) does not report it: a migration would lose the write",
	       vcpu, (unsigned long long)ipa, (unsigned long long)lo, (unsigned long long)hi);
}

/* dirty-log-protect: the writable translation e covers the logged page
 * clean_page, which is not marked dirty. */
static void rule_dirty_log_protect(struct s2hyp_checker *c, int vcpu,
				   const struct s2hyp_tlb_entry *e, uint64_t clean_page)
{
	char who[48];
	if (vcpu < 0)
		snprintf(who, sizeof(who), "a writable leaf");
	else
		snprintf(who, sizeof(who), "a writable entry of vCPU %d's TLB", vcpu);
	report(c, S2HYP_RULE_DIRTY_LOG_PROTECT, vcpu < 0 ? HYP_THREAD : vcpu, e->ipa, e->oa,
	       (s2_level_t)e->level,
	       "while dirty logging is on, %s maps IPA %#llx+%#llx -> PA %#llx over the page at "
	       "IPA %#llx, which is not marked dirty: a write there goes unrecorded",
	       who, (unsigned long long)e->ipa, (unsigned long long)e->size,
	       (unsigned long long)e->oa, (unsigned long long)clean_page);
}

/* mapping-bounds: the leaf new maps [ipa, ipa + size) at level. */
static void rule_mapping_bounds(struct s2hyp_checker *c, s2_pte_t new, uint64_t ipa,
				s2_level_t level)
{
	uint64_t size = s2pt_granule_size(geom(c), level);
	uint64_t oa = s2_pa_get(s2pt_pte_oa(geom(c), new));
	const struct s2hyp_checker_slot *s = NULL;

	if (!c->nr_slots)
		return;
	for (unsigned i = 0; i < c->nr_slots; i++)
		if (ipa + size > c->slots[i].ipa && ipa < c->slots[i].ipa + c->slots[i].size)
			s = &c->slots[i];
	if (!s) {
		/* Device mappings outside RAM are the VMM's business. */
		if (s2pt_pte_memtype(new, c->cfg.fwb) == S2PT_MT_DEVICE)
			return;
		report(c, S2HYP_RULE_MAPPING_BOUNDS, HYP_THREAD, ipa, oa, level,
		       "a leaf maps IPA %#llx+%#llx -> PA %#llx, which no memslot backs",
		       (unsigned long long)ipa, (unsigned long long)size, (unsigned long long)oa);
		return;
	}
	if (ipa < s->ipa || ipa + size > s->ipa + s->size)
		report(c, S2HYP_RULE_MAPPING_BOUNDS, HYP_THREAD, ipa, oa, level,
		       "a leaf maps IPA %#llx+%#llx, beyond its memslot [%#llx, %#llx)",
		       (unsigned long long)ipa, (unsigned long long)size,
		       (unsigned long long)s->ipa, (unsigned long long)(s->ipa + s->size));
	else if (s->pa != S2HYP_CHECKER_ANY_PA && oa != s->pa + (ipa - s->ipa))
		report(c, S2HYP_RULE_MAPPING_BOUNDS, HYP_THREAD, ipa, oa, level,
		       "a leaf maps IPA %#llx to PA %#llx; its memslot puts that IPA at PA %#llx",
		       (unsigned long long)ipa, (unsigned long long)oa,
		       (unsigned long long)(s->pa + (ipa - s->ipa)));
	else if (s->readonly && (new & S2PT_PTE_S2AP_W))
		report(c, S2HYP_RULE_MAPPING_BOUNDS, HYP_THREAD, ipa, oa, level,
		       "a leaf maps IPA %#llx of a read-only memslot writable",
		       (unsigned long long)ipa);
}

/* age-only-af: an aging walk stored new over old. */
static void rule_age_only_af(struct s2hyp_checker *c, s2_pte_t old, s2_pte_t new, uint64_t ipa,
			     uint64_t pa, s2_level_t level)
{
	if (((old ^ new) & ~S2PT_PTE_AF) == 0)
		return;
	report(c, S2HYP_RULE_AGE_ONLY_AF, HYP_THREAD, ipa, pa, level,
	       "aging changed the entry for IPA %#llx (level %d) from %#llx to %#llx: more than "
	       "its access flag", (unsigned long long)ipa, level, (unsigned long long)old,
	       (unsigned long long)new);
}

/* no-progress: vCPU vcpu faulted n times on the page of ipa, tables unchanged. */
static void rule_no_progress(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa,
			     const char *kind, s2_level_t level, unsigned n)
{
	report(c, S2HYP_RULE_NO_PROGRESS, (int)vcpu, ipa, 0, level,
	       "vCPU %u took the same %s fault (level %d) on IPA %#llx %u times in a row while "
	       "no entry changed: it can make no progress",
	       vcpu, kind, level, (unsigned long long)ipa, n);
}

/* What the ownership rules know of one store by an operation in flight. */
struct op_store {
	unsigned op;
	bool exchange;			/* a compare-and-exchange that succeeded */
	bool reachable;			/* the page is linked (or a root) */
	const struct ghost_pte *gs;	/* the entry's ghost state before the store */
	s2_pte_t old, new;
	uint64_t ipa, pa;
	s2_level_t level;
	bool have_read;			/* the operation read (or stored) it before */
	uint64_t read_ver, read_val;	/* ... and saw this */
};

/* store-unowned: a store over another operation's locked marker, or a
 * plain store by an operation holding the lock for read into an entry it
 * has not locked itself. */
static void rule_store_unowned(struct s2hyp_checker *c, const struct op_store *s)
{
	const struct ghost_pte *gs = s->gs;
	bool mine = s->old == S2PT_PTE_LOCKED && gs->locker == s->op + 1;

	if (s->old == S2PT_PTE_LOCKED && gs->locker && !mine && c->ops[gs->locker - 1].active) {
		report(c, S2HYP_RULE_STORE_UNOWNED, HYP_THREAD, s->ipa, s->pa, s->level,
		       "operation %u %s %#llx into the entry for IPA %#llx (level %d), which "
		       "operation %u holds locked between its break and its make",
		       s->op, s->exchange ? "exchanges" : "stores", (unsigned long long)s->new,
		       (unsigned long long)s->ipa, s->level, gs->locker - 1u);
		return;
	}
	if (c->ops[s->op].shared && !s->exchange && s->reachable && !mine)
		report(c, S2HYP_RULE_STORE_UNOWNED, HYP_THREAD, s->ipa, s->pa, s->level,
		       "operation %u, holding the MMU lock for read, stores %#llx over %#llx in the "
		       "entry for IPA %#llx (level %d) without an exchange and without having "
		       "locked it: a concurrent walker's change there is overwritten unseen",
		       s->op, (unsigned long long)s->new, (unsigned long long)s->old,
		       (unsigned long long)s->ipa, s->level);
}

/* lost-update: the store replaces a value another operation stored after
 * this one last saw the entry. */
static void rule_lost_update(struct s2hyp_checker *c, const struct op_store *s)
{
	const struct ghost_pte *gs = s->gs;

	if (!s->have_read || gs->ver == s->read_ver || s->old == s->read_val || !gs->writer ||
	    gs->writer == s->op + 1)
		return;
	report(c, S2HYP_RULE_LOST_UPDATE, HYP_THREAD, s->ipa, s->pa, s->level,
	       "operation %u read %#llx in the entry for IPA %#llx (level %d); operation %u then "
	       "stored %#llx there, and operation %u's %s of %#llx over it loses that change",
	       s->op, (unsigned long long)s->read_val, (unsigned long long)s->ipa, s->level,
	       gs->writer - 1u, (unsigned long long)s->old, s->op,
	       s->exchange ? "exchange" : "plain store", (unsigned long long)s->new);
}

/* free-before-grace: the table page gp (at pa) is freed; a walker still in
 * the RCU read-side section it entered before the page was cut from the
 * tree, over a range that covers it, may yet read it. */
static void rule_free_before_grace(struct s2hyp_checker *c, const struct ghost_page *gp,
				   uint64_t pa)
{
	if (!gp->linked_ever || gp->root || c->destroying)
		return;
	uint64_t span = s2pt_granule_size(geom(c), gp->level) * s2pt_ptes_per_table(geom(c));
	for (unsigned i = 0; i < S2HYP_CHECKER_MAX_OPS; i++) {
		const struct op_state *o = &c->ops[i];
		if (!o->in_rcu || (gp->unlink_seq && o->rcu_seq > gp->unlink_seq))
			continue;
		if (o->rcu_ipa >= gp->ipa + span || gp->ipa >= o->rcu_ipa + o->rcu_size)
			continue;
		report(c, S2HYP_RULE_FREE_BEFORE_GRACE, HYP_THREAD, gp->ipa, pa, gp->level,
		       "table page %#llx (level %d, IPA %#llx) is freed while operation %u, whose "
		       "walk of [%#llx, %#llx) entered its RCU read-side section %s, is still inside "
		       "it: the grace period has not ended",
		       (unsigned long long)pa, gp->level, (unsigned long long)gp->ipa, i,
		       (unsigned long long)o->rcu_ipa, (unsigned long long)(o->rcu_ipa + o->rcu_size),
		       gp->unlink_seq ? "before the page was unlinked" : "while the page is linked");
		return;
	}
}

/* An efficiency finding, not a rule: an entry broken and made again in one
 * operation when old and new leaves differ only in permissions, AF or
 * software bits, which the architecture allows in place (DDI 0487
 * D8.14.1). Counted in stats->needless_bbm. */
static void finding_needless_bbm(struct s2hyp_checker *c, s2_pte_t old, s2_pte_t new,
				 s2_level_t level)
{
	const s2_pte_t in_place = S2PT_PTE_S2AP_R | S2PT_PTE_S2AP_W | S2PT_PTE_XN | S2PT_PTE_AF |
				  ((s2_pte_t)0xf << S2PT_PTE_SW_SHIFT);
	if (!s2pt_pte_valid(old) || s2pt_pte_is_table(old, level) || s2pt_pte_is_table(new, level))
		return;
	if (((old ^ new) & ~in_place) == 0 && c->cfg.stats)
		c->cfg.stats->needless_bbm++;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static void add_unclean(struct s2hyp_checker *c, uint64_t pidx, unsigned idx)
{
	if (!s2_grow((void **)&c->unclean, &c->unclean_cap, sizeof(*c->unclean), c->unclean_n + 1))
		return;
	c->unclean[c->unclean_n++] = (struct unclean){ pidx, idx, 0 };
}

/* A leaf appears or changes: what it newly exposes. */
static void new_leaf(struct s2hyp_checker *c, s2_pte_t old, s2_pte_t new, uint64_t ipa,
		     s2_level_t level)
{
	uint64_t size = s2pt_granule_size(geom(c), level);
	s2_pa_t oa = s2pt_pte_oa(geom(c), new);
	struct s2cache_summary sum;
	bool newly_visible = !s2pt_pte_valid(old);
	bool newly_exec = !(new & S2PT_PTE_XN) && (newly_visible || (old & S2PT_PTE_XN));

	if (newly_visible && c->cfg.stats)
		c->cfg.stats->mappings_by_level[level + 1]++;
	if (!newly_visible && !newly_exec)
		return;
	if (s2cache_summarize(c->cfg.cache, oa, size, &sum))
		return;
	if (newly_visible)
		rule_dcache_clean_before_visible(c, new, ipa, level, oa, &sum);
	if (newly_exec)
		rule_icache_inval_before_exec(c, ipa, level, oa, &sum);
}

/* A table becomes reachable at level with base ipa; so does everything an
 * unlinked subtree under it already holds. */
static void link_subtree(struct s2hyp_checker *c, s2_pte_t table, s2_level_t level, uint64_t ipa,
			 int depth)
{
	s2_pa_t pa = s2pt_pte_oa(geom(c), table);
	struct s2pool_page *pg = s2pool_page_at(c->cfg.pool, pa);
	if (!pg || pg->state != S2POOL_PAGE_LIVE || level > S2_LEVEL_MAX || depth > 4)
		return;
	void *va = s2pool_va(c->cfg.pool, pa);
	struct ghost_page *child = ghost_of(c, va);
	if (!child)
		return;
	bool was_unknown = child->level < 0;
	child->level = level;
	child->ipa = ipa;
	child->linked_ever = true;
	child->unlink_clean = false;
	child->unlink_seq = 0;
	if (!was_unknown || level == S2_LEVEL_MAX)
		return;
	const s2_pte_t *t = va;
	for (unsigned i = 0; i < s2pt_ptes_per_table(geom(c)); i++)
		if (s2pt_pte_is_table(t[i], level))
			link_subtree(c, t[i], (s2_level_t)(level + 1),
				     ipa + (uint64_t)i * s2pt_granule_size(geom(c), level), depth + 1);
}

/* Every table page of the subtree under the table entry table (at level):
 * cleanly unlinked (clean, so it may be freed: no walk can reach it any
 * more), or else cut from the tree at unlink_seq (walkers that enter a
 * read-side section from then on cannot reach it). */
static void mark_subtree(struct s2hyp_checker *c, s2_pte_t table, s2_level_t level, bool clean,
			 uint64_t unlink_seq, int depth)
{
	s2_pa_t pa = s2pt_pte_oa(geom(c), table);
	struct s2pool_page *pg = s2pool_page_at(c->cfg.pool, pa);
	if (!pg || pg->state != S2POOL_PAGE_LIVE || depth > 4)
		return;
	void *va = s2pool_va(c->cfg.pool, pa);
	struct ghost_page *gp = ghost_of(c, va);
	if (!gp)
		return;
	if (clean)
		gp->unlink_clean = true;
	else
		gp->unlink_seq = unlink_seq;
	/* A last-level page holds no table (no scan of its entries). */
	if (level + 1 >= S2_LEVEL_MAX)
		return;
	const s2_pte_t *t = va;
	for (unsigned i = 0; i < s2pt_ptes_per_table(geom(c)); i++)
		if (s2pt_pte_is_table(t[i], (s2_level_t)(level + 1)))
			mark_subtree(c, t[i], (s2_level_t)(level + 1), clean, unlink_seq, depth + 1);
}

/* What operation op (or -1: the one-at-a-time machine) last saw at ptep. */
static void op_saw(struct s2hyp_checker *c, int op, const s2_pte_t *ptep, uint64_t ver,
		   s2_pte_t val)
{
	if (op < 0)
		return;
	struct op_state *o = &c->ops[op];
	uint64_t *at = s2_map_ref(&o->read, (uint64_t)(uintptr_t)ptep);
	if (!at)
		return;
	if (!*at) {
		if (!s2_grow((void **)&o->seen, &o->seen_cap, sizeof(*o->seen), o->seen_n + 1)) {
			/* As a put that failed: the entry is not known read. */
			s2_map_del(&o->read, (uint64_t)(uintptr_t)ptep);
			return;
		}
		*at = ++o->seen_n;
	}
	o->seen[*at - 1] = (struct op_seen){ ver, val };
}

/* Everything a store means, by operation op (-1: not told), exchange when
 * it was a compare-and-exchange that succeeded. */
static void store_entry(struct s2hyp_checker *c, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new,
			int op, bool exchange)
{
	uint64_t pidx = pool_idx(c, ptep);
	struct ghost_page *gp = ghost(c, pidx);
	struct s2pool_page *pg = s2pool_page_of(c->cfg.pool, ptep);

	if (!gp || !pg)
		return;
	unsigned idx = entry_index(c, ptep);
	uint64_t pa = s2_pa_get(s2pool_pa(c->cfg.pool, ptep));
	if (pg->state != S2POOL_PAGE_LIVE) {
		struct walk_meet w = {
			.kind = WALK_HYP_STORE, .thread = HYP_THREAD, .pa = pa, .level = -1,
			.table_pa = s2_pa_get(s2pool_pa(c->cfg.pool,
						s2pool_page_base(c->cfg.pool, ptep))),
		};
		rule_walk_after_free(c, &w);
		return;
	}
	touch(c, pidx);
	gp->counted += (int32_t)s2pt_pte_is_counted(new) - (int32_t)s2pt_pte_is_counted(old);
	/* A page no entry links yet is invisible to every walker: nothing to
	 * check. */
	if (gp->level < 0)
		return;
	struct ghost_pte *ptes = ghost_ptes(c, gp);
	if (!ptes)
		return;
	ghost_dirty(gp, idx);
	struct ghost_pte *gs = &ptes[idx];
	s2_level_t level = gp->level;
	uint64_t ipa = entry_ipa(c, gp, idx);
	bool ov = s2pt_pte_valid(old), nv = s2pt_pte_valid(new);
	bool reachable = gp->root || gp->linked_ever;

	if (op >= 0) {
		struct op_store st = {
			.op = (unsigned)op, .exchange = exchange, .reachable = reachable, .gs = gs,
			.old = old, .new = new, .ipa = ipa, .pa = pa, .level = level,
		};
		const struct op_state *o = &c->ops[op];
		uint64_t at;
		st.have_read = s2_map_get(&o->read, (uint64_t)(uintptr_t)ptep, &at);
		if (st.have_read) {
			st.read_ver = o->seen[at - 1].ver;
			st.read_val = o->seen[at - 1].val;
		}
		rule_store_unowned(c, &st);
		rule_lost_update(c, &st);
	}
	gs->ver++;
	gs->writer = (uint8_t)(op + 1);
	gs->locker = op >= 0 && new == S2PT_PTE_LOCKED ? (uint8_t)(op + 1) : 0;
	op_saw(c, op, ptep, gs->ver, new);
	if (reachable && s2pt_pte_is_table(old, level) && new != old)
		mark_subtree(c, old, level, false, ++c->seq, 0);
	if (nv)
		rule_break_before_make(c, gs, old, new, ipa, pa, level);
	if (ov && nv) {
		gs->state = GHOST_VALID;
		gs->last_valid = new;
	} else if (ov && !nv) {
		gs->state = GHOST_INVALID_UNCLEAN;
		gs->last_valid = old;
		gs->broken_op = c->op_seq + 1;
		add_unclean(c, pidx, idx);
	} else if (!ov && nv) {
		if (gs->broken_op == c->op_seq + 1)
			finding_needless_bbm(c, gs->last_valid, new, level);
		if (s2pt_pte_is_table(gs->last_valid, level) && !s2pt_pte_is_table(new, level) &&
		    gs->state != GHOST_VALID && c->cfg.stats)
			c->cfg.stats->coalesces++;
		gs->state = GHOST_VALID;
		gs->last_valid = new;
	}
	if (c->aging)
		rule_age_only_af(c, old, new, ipa, pa, level);
	/* A page no entry has linked yet (a split building the table that
	 * replaces a block) has no IPA or level yet, and its leaves expose
	 * nothing until it is linked: what they map was visible through the
	 * block already. */
	if (nv && s2pt_pte_is_table(new, level))
		link_subtree(c, new, (s2_level_t)(level + 1), ipa, 0);
	else if (nv && reachable)
		new_leaf(c, ov ? old : 0, new, ipa, level);
	if (nv && reachable && !s2pt_pte_is_table(new, level))
		rule_mapping_bounds(c, new, ipa, level);
}

void s2hyp_checker_pte_store(struct s2hyp_checker *c, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	store_entry(c, ptep, old, new, -1, false);
}

void s2hyp_checker_op_pte_store(struct s2hyp_checker *c, unsigned op, s2_pte_t *ptep, s2_pte_t old,
				s2_pte_t new, bool exchange)
{
	store_entry(c, ptep, old, new, op < S2HYP_CHECKER_MAX_OPS ? (int)op : -1, exchange);
}

void s2hyp_checker_pte_read(struct s2hyp_checker *c, unsigned op, const s2_pte_t *ptep,
			    s2_pte_t val)
{
	/* Only an operation begun (op_begin) under the read lock keeps what it
	 * read (its end forgets it): under the write lock no other walker can
	 * change an entry under it. */
	if (op >= S2HYP_CHECKER_MAX_OPS || !c->ops[op].active || !c->ops[op].shared)
		return;
	uint64_t pidx = pool_idx(c, ptep);
	const struct ghost_page *gp = pidx < c->ghost_cap ? &c->ghost[pidx] : NULL;
	uint64_t ver = gp && gp->ptes ? gp->ptes[entry_index(c, ptep)].ver : 0;
	op_saw(c, (int)op, ptep, ver, val);
}

void s2hyp_checker_op_begin(struct s2hyp_checker *c, unsigned op, bool shared)
{
	if (op >= S2HYP_CHECKER_MAX_OPS || c->ops[op].active)
		return;
	struct op_state *o = &c->ops[op];
	o->active = true;
	o->shared = shared;
	o->in_rcu = false;
	s2_map_clear(&o->read);
	o->seen_n = 0;
	c->in_flight++;
}

/* The refcount convention holds when no operation is in flight. */
static void quiescent(struct s2hyp_checker *c)
{
	for (unsigned k = 0; k < c->touched_n; k++) {
		uint64_t idx = c->touched[k];
		struct ghost_page *gp = ghost(c, idx);
		if (gp)
			gp->touched = false;
		rule_refcount(c, idx, gp);
	}
	c->touched_n = 0;
}

void s2hyp_checker_op_end(struct s2hyp_checker *c, unsigned op)
{
	if (op >= S2HYP_CHECKER_MAX_OPS || !c->ops[op].active)
		return;
	struct op_state *o = &c->ops[op];
	o->active = false;
	o->in_rcu = false;
	s2_map_clear(&o->read);
	o->seen_n = 0;
	c->in_flight--;
	c->op_seq++;
	if (!c->in_flight)
		quiescent(c);
}

void s2hyp_checker_rcu_enter(struct s2hyp_checker *c, unsigned op, uint64_t ipa, uint64_t size)
{
	if (op >= S2HYP_CHECKER_MAX_OPS)
		return;
	struct op_state *o = &c->ops[op];
	o->in_rcu = true;
	o->rcu_seq = ++c->seq;
	o->rcu_ipa = ipa;
	o->rcu_size = size;
}

void s2hyp_checker_rcu_exit(struct s2hyp_checker *c, unsigned op)
{
	if (op < S2HYP_CHECKER_MAX_OPS)
		c->ops[op].in_rcu = false;
}

unsigned s2hyp_checker_in_flight(const struct s2hyp_checker *c)
{
	return c->in_flight;
}

void s2hyp_checker_hyp_descend(struct s2hyp_checker *c, s2_pa_t pa)
{
	struct s2pool_page *pg = s2pool_page_at(c->cfg.pool, pa);
	if (pg && pg->state == S2POOL_PAGE_LIVE)
		return;
	struct walk_meet w = {
		.kind = WALK_HYP_DESCEND, .thread = HYP_THREAD, .pa = s2_pa_get(pa), .level = -1,
		.st = pg ? S2HYP_TABLE_FREED : S2HYP_TABLE_NOT_IN_POOL,
	};
	rule_walk_after_free(c, &w);
}

/* A TLBI by IPA removes the walk-cache entries for that address and the
 * leaf translating it; for a table entry that only covers everything it
 * held when the table below is empty. */
static bool table_empty(struct s2hyp_checker *c, s2_pte_t table)
{
	struct s2pool_page *pg = s2pool_page_at(c->cfg.pool, s2pt_pte_oa(geom(c), table));
	if (!pg || pg->state != S2POOL_PAGE_LIVE)
		return true;
	const s2_pte_t *t = s2pool_va(c->cfg.pool, s2pt_pte_oa(geom(c), table));
	for (unsigned i = 0; i < s2pt_ptes_per_table(geom(c)); i++)
		if (s2pt_pte_valid(t[i]))
			return false;
	return true;
}

void s2hyp_checker_tlbi(struct s2hyp_checker *c, enum s2pt_tlbi op, uint64_t ipa, uint64_t range,
			uint64_t seq)
{
	if (op != S2PT_TLBI_VMALLS12E1IS && op != S2PT_TLBI_IPAS2E1IS &&
	    op != S2PT_TLBI_RIPAS2E1IS)
		return;	/* stage-1 only, or local: cannot clean a shared entry */
	for (unsigned k = 0; k < c->unclean_n; k++) {
		struct unclean *u = &c->unclean[k];
		struct ghost_page *gp = ghost(c, u->pool_idx);
		if (!gp || !gp->ptes || gp->ptes[u->idx].state != GHOST_INVALID_UNCLEAN)
			continue;
		struct ghost_pte *gs = &gp->ptes[u->idx];
		bool covered = op == S2PT_TLBI_VMALLS12E1IS;
		if (!covered && op == S2PT_TLBI_RIPAS2E1IS) {
			/* A range removes the leaves it overlaps; a table's cached
			 * descriptors only when its whole span is inside. */
			uint64_t base = entry_ipa(c, gp, u->idx);
			uint64_t size = s2pt_granule_size(geom(c), gp->level);
			bool table = s2pt_pte_is_table(gs->last_valid, gp->level);
			covered = table ? base >= ipa && base + size <= ipa + range :
					  base < ipa + range && ipa < base + size;
		} else if (!covered) {
			uint64_t base = entry_ipa(c, gp, u->idx);
			uint64_t size = s2pt_granule_size(geom(c), gp->level);
			covered = ipa - base < size &&
				  (!s2pt_pte_is_table(gs->last_valid, gp->level) ||
				   table_empty(c, gs->last_valid));
		}
		if (covered) {
			gs->state = GHOST_TLBI_PENDING;
			u->tlbi_seq = seq;
		}
	}
}

void s2hyp_checker_dsb(struct s2hyp_checker *c)
{
	unsigned keep = 0;
	for (unsigned k = 0; k < c->unclean_n; k++) {
		struct unclean *u = &c->unclean[k];
		struct ghost_page *gp = ghost(c, u->pool_idx);
		if (!gp || !gp->ptes)
			continue;
		struct ghost_pte *gs = &gp->ptes[u->idx];
		if (gs->state == GHOST_TLBI_PENDING) {
			gs->state = GHOST_INVALID_CLEAN;
			if (s2pt_pte_is_table(gs->last_valid, gp->level))
				mark_subtree(c, gs->last_valid, gp->level, true, 0, 0);
			continue;
		}
		if (gs->state == GHOST_INVALID_UNCLEAN)
			c->unclean[keep++] = *u;
	}
	c->unclean_n = keep;
}

void s2hyp_checker_page_free(struct s2hyp_checker *c, void *page,
			     const struct s2hyp_wc_ref *refs, unsigned nr_refs)
{
	struct ghost_page *gp = ghost_of(c, page);
	uint64_t pa = s2_pa_get(s2pool_pa(c->cfg.pool, page));

	if (!gp)
		return;
	rule_tlbi_before_free(c, gp, pa);
	rule_free_before_grace(c, gp, pa);
	for (unsigned k = 0; k < nr_refs; k++) {
		struct walk_meet w = {
			.kind = WALK_CACHED, .thread = (int)refs[k].vcpu, .ipa = refs[k].ipa,
			.pa = pa, .table_pa = pa, .level = refs[k].level,
		};
		rule_walk_after_free(c, &w);
	}
}

bool s2hyp_checker_pool_errors(struct s2hyp_checker *c)
{
	const struct s2pool_errors *e = s2pool_errors(c->cfg.pool);
	bool ok = e->bad_address == c->pool_err_seen.bad_address;

	rule_double_free(c, e);
	c->pool_err_seen = *e;
	return ok;
}

void s2hyp_checker_unlock(struct s2hyp_checker *c)
{
	if (!c->in_flight)
		quiescent(c);
	c->op_seq++;
}

void s2hyp_checker_unlock_unchecked(struct s2hyp_checker *c)
{
	c->touched_n = 0;
	c->op_seq++;
}

void s2hyp_checker_unmapped(struct s2hyp_checker *c, uint64_t ipa, uint64_t size, unsigned vcpu,
			    const struct s2hyp_tlb_entry *left, unsigned nr_left)
{
	for (unsigned k = 0; k < nr_left; k++)
		rule_tlbi_after_unmap(c, vcpu, &left[k], ipa, size);
}

void s2hyp_checker_slots(struct s2hyp_checker *c, const struct s2hyp_checker_slot *slots,
			 unsigned n)
{
	c->nr_slots = n < S2HYP_MAX_SLOTS ? n : S2HYP_MAX_SLOTS;
	if (c->nr_slots)
		memcpy(c->slots, slots, c->nr_slots * sizeof(*slots));
}

void s2hyp_checker_unmap_left(struct s2hyp_checker *c, uint64_t ipa, uint64_t size,
			      const struct s2hyp_tlb_entry *left, unsigned nr_left)
{
	for (unsigned k = 0; k < nr_left; k++)
		rule_unmap_complete(c, &left[k], ipa, size);
}

void s2hyp_checker_wrprotect_left(struct s2hyp_checker *c, uint64_t ipa, uint64_t size, int vcpu,
				  const struct s2hyp_tlb_entry *left, unsigned nr_left)
{
	for (unsigned k = 0; k < nr_left; k++)
		rule_wrprotect_complete(c, vcpu, &left[k], ipa, size);
}

void s2hyp_checker_logged_write(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa)
{
	uint64_t page = s2pt_granule_size(geom(c), S2_LEVEL_MAX);
	s2_map_put(&c->logged, s2_align_down(ipa, page) + 1, vcpu + 1);
}

void s2hyp_checker_dirty_log_read(struct s2hyp_checker *c, uint64_t ipa, uint64_t size,
				  unsigned page_shift, const uint8_t *reported)
{
	uint32_t pos = 0;
	uint64_t key, val;
	uint64_t *done = NULL;
	unsigned n = 0, cap = 0;

	while (s2_map_next(&c->logged, &pos, &key, &val)) {
		uint64_t page = key - 1;
		if (page < ipa || page >= ipa + size)
			continue;
		if (!reported[(page - ipa) >> page_shift])
			rule_dirty_log_complete(c, (unsigned)(val - 1), page, ipa, ipa + size);
		if (s2_grow((void **)&done, &cap, sizeof(*done), n + 1))
			done[n++] = key;
	}
	/* Reported (or found missing): the next read starts afresh. */
	for (unsigned i = 0; i < n; i++)
		s2_map_del(&c->logged, done[i]);
	free(done);
}

void s2hyp_checker_dirty_log_stop(struct s2hyp_checker *c, uint64_t ipa, uint64_t size)
{
	uint8_t *none = NULL;
	uint64_t page_shift = geom(c)->granule_shift;
	uint32_t pos = 0;
	uint64_t key, val;
	bool any = false;

	/* Writes made while logging was on and never read are the VMM's to
	 * lose: forget them. */
	while (s2_map_next(&c->logged, &pos, &key, &val))
		any |= key - 1 >= ipa && key - 1 < ipa + size;
	if (!any)
		return;
	none = calloc((size >> page_shift) + 1, 1);
	if (!none)
		return;
	memset(none, 1, (size >> page_shift) + 1);
	s2hyp_checker_dirty_log_read(c, ipa, size, (unsigned)page_shift, none);
	free(none);
}

void s2hyp_checker_logged_writable(struct s2hyp_checker *c, int vcpu,
				   const struct s2hyp_tlb_entry *e, uint64_t clean_page)
{
	rule_dirty_log_protect(c, vcpu, e, clean_page);
}

void s2hyp_checker_aging(struct s2hyp_checker *c, bool on)
{
	c->aging = on;
}

void s2hyp_checker_no_progress(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa,
			       const char *kind, s2_level_t level, unsigned n)
{
	rule_no_progress(c, vcpu, ipa, kind, level, n);
}

void s2hyp_checker_tlb_fill(struct s2hyp_checker *c, unsigned vcpu, const struct s2hyp_tlb_entry *e,
			    const struct s2hyp_tlb_entry *overlap, unsigned nr_overlap)
{
	for (unsigned k = 0; k < nr_overlap; k++)
		rule_tlb_conflict(c, vcpu, &overlap[k], e);
}

void s2hyp_checker_walk_read(struct s2hyp_checker *c, unsigned vcpu, uint64_t ipa, uint64_t table_pa,
			     uint64_t dpa, s2_level_t level, enum s2hyp_table_state st)
{
	if (st == S2HYP_TABLE_LIVE)
		return;
	struct walk_meet w = {
		.kind = WALK_HW, .thread = (int)vcpu, .ipa = ipa, .pa = dpa, .table_pa = table_pa,
		.level = level, .st = st,
	};
	rule_walk_after_free(c, &w);
}

void s2hyp_checker_access(struct s2hyp_checker *c, unsigned vcpu, enum s2hyp_access a, uint64_t ipa,
			  uint64_t pa, s2_level_t level, bool cacheable,
			  const struct s2cache_check *cc)
{
	switch (a) {
	case S2HYP_ACC_READ:
		rule_stale_data(c, vcpu, ipa, pa, level, cacheable, cc);
		break;
	case S2HYP_ACC_EXEC:
		rule_stale_instruction(c, vcpu, ipa, pa, level, cc);
		break;
	case S2HYP_ACC_WRITE:
		break;
	}
}

bool s2hyp_checker_host_page_get(struct s2hyp_checker *c, uint64_t pa)
{
	uint64_t refs = 0;
	s2_map_get(&c->hpages, pa >> 12, &refs);
	return s2_map_put(&c->hpages, pa >> 12, refs + 1);
}

void s2hyp_checker_host_page_put(struct s2hyp_checker *c, uint64_t pa)
{
	uint64_t refs = 0;
	if (!s2_map_get(&c->hpages, pa >> 12, &refs))
		return;
	if (refs <= 1)
		s2_map_del(&c->hpages, pa >> 12);
	else
		s2_map_put(&c->hpages, pa >> 12, refs - 1);
}

void s2hyp_checker_destroying(struct s2hyp_checker *c)
{
	c->destroying = true;
}

static void leak_page(void *arg, void *page, struct s2pool_page *pg)
{
	rule_leak(arg, page, pg, 0, 0);
}

void s2hyp_checker_destroyed(struct s2hyp_checker *c)
{
	s2pool_for_each_live(c->cfg.pool, leak_page, c);
	uint32_t pos = 0;
	uint64_t pfn, refs;
	while (s2_map_next(&c->hpages, &pos, &pfn, &refs))
		rule_leak(c, NULL, NULL, pfn, refs);
}

/* host-mm: a violation the host model or KVM's notifier side found. */
static void rule_host_mm(struct s2hyp_checker *c, int thread, uint64_t ipa, uint64_t pa,
			 const char *detail)
{
	report(c, S2HYP_RULE_HOST_MM, thread, ipa, pa, S2_LEVEL_MAX, "%s", detail);
}

void s2hyp_checker_host_mm(struct s2hyp_checker *c, int thread, uint64_t ipa, uint64_t pa,
			   const char *detail)
{
	rule_host_mm(c, thread, ipa, pa, detail);
}
