/* The checker: ghost state for every entry and table page, the rules of
 * s2hyp_rules.h, and violation reports. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_text.h"
#include "hyp-model/s2hyp_internal.h"

struct rule_info {
	const char *name;
	const char *meaning;
	const char *source;
};

static const struct rule_info rules[S2HYP_NR_RULES] = {
#define S2HYP_RULE_INFO(id, name, meaning, source) [id] = { name, meaning, source },
	S2HYP_RULE_TABLE(S2HYP_RULE_INFO)
#undef S2HYP_RULE_INFO
};

const char *s2hyp_rule_name(enum s2hyp_rule r)
{
	return (unsigned)r < S2HYP_NR_RULES ? rules[r].name : "?";
}

const char *s2hyp_rule_meaning(enum s2hyp_rule r)
{
	return (unsigned)r < S2HYP_NR_RULES ? rules[r].meaning : "?";
}

const char *s2hyp_rule_source(enum s2hyp_rule r)
{
	return (unsigned)r < S2HYP_NR_RULES ? rules[r].source : "?";
}

int s2hyp_rule_parse(const char *name)
{
	for (unsigned i = 0; i < S2HYP_NR_RULES; i++)
		if (!strcmp(name, rules[i].name))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Violations                                                          */
/* ------------------------------------------------------------------ */

static void copy_ring(struct s2hyp_event *dst, unsigned *n, const struct s2hyp_event *ring,
		      unsigned total)
{
	unsigned k = total < S2HYP_HISTORY ? total : S2HYP_HISTORY;
	for (unsigned i = 0; i < k; i++)
		dst[i] = ring[(total - k + i) % S2HYP_HISTORY];
	*n = k;
}

void s2hyp__violation(struct s2hyp *m, enum s2hyp_rule rule, int thread, uint64_t ipa,
		      uint64_t pa, s2_level_t level, const char *fmt, ...)
{
	m->stats.violations[rule]++;
	if (m->stop_on_violation)
		m->stopped = true;
	if (m->stats.violations[rule] > 1)
		return;	/* the first of each rule carries the report */
	if (!s2_grow((void **)&m->viol, &m->viol_cap, sizeof(*m->viol), m->viol_n + 1))
		return;
	struct s2hyp_violation *v = &m->viol[m->viol_n++];
	memset(v, 0, sizeof(*v));
	v->rule = rule;
	v->step = m->step;
	v->thread = thread;
	v->ipa = ipa;
	v->pa = pa;
	v->level = level;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	copy_ring(v->events[0], &v->nr_events[0], m->host_hist, m->host_hist_n);
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++)
		copy_ring(v->events[i + 1], &v->nr_events[i + 1], m->vcpus[i].hist,
			  m->vcpus[i].hist_n);
	copy_ring(v->events[S2HYP_MAX_VCPUS + 1], &v->nr_events[S2HYP_MAX_VCPUS + 1],
		  m->mach_hist, m->mach_hist_n);
	if (m->obs.violation)
		m->obs.violation(m->obs.arg, m, v);
}

unsigned s2hyp_nr_violations(const struct s2hyp *m)
{
	return m->viol_n;
}

const struct s2hyp_violation *s2hyp_violation(const struct s2hyp *m, unsigned i)
{
	return i < m->viol_n ? &m->viol[i] : NULL;
}

bool s2hyp_rule_fired(const struct s2hyp *m, enum s2hyp_rule r)
{
	return (unsigned)r < S2HYP_NR_RULES && m->stats.violations[r] > 0;
}

/* ------------------------------------------------------------------ */
/* Ghost state                                                         */
/* ------------------------------------------------------------------ */

struct ghost_page *s2hyp__ghost(struct s2hyp *m, uint64_t idx)
{
	if (idx == UINT64_MAX)
		return NULL;
	if (idx >= m->ghost_cap) {
		uint64_t ncap = m->ghost_cap ? m->ghost_cap : 64;
		while (ncap <= idx)
			ncap *= 2;
		void *p = realloc(m->ghost, ncap * sizeof(*m->ghost));
		if (!p)
			return NULL;
		m->ghost = p;
		memset(m->ghost + m->ghost_cap, 0, (ncap - m->ghost_cap) * sizeof(*m->ghost));
		m->ghost_cap = ncap;
	}
	return &m->ghost[idx];
}

static struct ghost_pte *ghost_ptes(struct s2hyp *m, struct ghost_page *gp)
{
	if (!gp->ptes)
		gp->ptes = calloc(s2pt_ptes_per_table(&m->geom), sizeof(*gp->ptes));
	return gp->ptes;
}

void s2hyp__checker_free(struct s2hyp *m)
{
	for (uint64_t i = 0; i < m->ghost_cap; i++)
		free(m->ghost[i].ptes);
	free(m->ghost);
	free(m->unclean);
	free(m->touched);
	s2_map_free(&m->hpages);
}

void s2hyp__touch(struct s2hyp *m, uint64_t idx)
{
	struct ghost_page *gp = s2hyp__ghost(m, idx);
	if (!gp || gp->touched)
		return;
	if (!s2_grow((void **)&m->touched, &m->touched_cap, sizeof(*m->touched),
			 m->touched_n + 1))
		return;
	gp->touched = true;
	m->touched[m->touched_n++] = idx;
}

static unsigned entry_index(const struct s2hyp *m, const s2_pte_t *ptep)
{
	uint64_t page = (uint64_t)1 << m->geom.granule_shift;
	return (unsigned)(((uintptr_t)ptep & (page - 1)) / sizeof(s2_pte_t));
}

static uint64_t entry_ipa(const struct s2hyp *m, const struct ghost_page *gp, unsigned idx)
{
	return gp->ipa + (uint64_t)idx * s2pt_granule_size(&m->geom, gp->level);
}

int s2hyp_entry_at(const struct s2hyp *m, uint64_t pa, struct s2hyp_entry *e)
{
	uint64_t pidx;
	s2_pa_t at = s2_pa(pa & ~(uint64_t)7);

	/* Asked first: a miss in s2pool_va counts as a pool error. */
	if (!s2pool_contains_pa(m->pool, at))
		return S2_ENOENT;
	const s2_pte_t *ptep = s2pool_va(m->pool, at);
	if (!ptep || !s2pool_index(m->pool, ptep, &pidx))
		return S2_ENOENT;
	unsigned idx = entry_index(m, ptep);
	const struct ghost_page *gp = pidx < m->ghost_cap ? &m->ghost[pidx] : NULL;
	*e = (struct s2hyp_entry){ .level = -2, .value = *ptep, .ghost = S2HYP_GHOST_INVALID_CLEAN };
	if (gp && (gp->linked_ever || gp->root)) {
		e->level = gp->level;
		e->ipa = entry_ipa(m, gp, idx);
	}
	switch (gp && gp->ptes ? gp->ptes[idx].state : GHOST_INVALID_CLEAN) {
	case GHOST_VALID: e->ghost = S2HYP_GHOST_VALID; break;
	case GHOST_INVALID_UNCLEAN: e->ghost = S2HYP_GHOST_INVALID_UNCLEAN; break;
	case GHOST_TLBI_PENDING: e->ghost = S2HYP_GHOST_TLBI_PENDING; break;
	default: break;
	}
	return 0;
}

/* What break-before-make protects: the output address, the size (a table
 * and a block differ), the memory type. Permissions and AF may change in
 * place (DDI 0487 D8.14.1). */
static bool bbm_differs(const struct s2hyp *m, s2_pte_t a, s2_pte_t b, s2_level_t level)
{
	if (s2pt_pte_is_table(a, level) != s2pt_pte_is_table(b, level))
		return true;
	if (s2_pa_get(s2pt_pte_oa(&m->geom, a)) != s2_pa_get(s2pt_pte_oa(&m->geom, b)))
		return true;
	if (s2pt_pte_is_table(a, level))
		return false;
	return s2pt_pte_memtype(a, m->cfg.fwb) != s2pt_pte_memtype(b, m->cfg.fwb);
}

static void add_unclean(struct s2hyp *m, uint64_t pidx, unsigned idx)
{
	if (!s2_grow((void **)&m->unclean, &m->unclean_cap, sizeof(*m->unclean),
			 m->unclean_n + 1))
		return;
	m->unclean[m->unclean_n++] = (struct unclean){ pidx, idx, 0 };
}

static void new_leaf_checks(struct s2hyp *m, s2_pte_t old, s2_pte_t new, uint64_t ipa,
			    s2_level_t level)
{
	uint64_t size = s2pt_granule_size(&m->geom, level);
	s2_pa_t oa = s2pt_pte_oa(&m->geom, new);
	struct s2cache_summary sum;
	bool newly_visible = !s2pt_pte_valid(old);
	bool newly_exec = !(new & S2PT_PTE_XN) && (newly_visible || (old & S2PT_PTE_XN));

	if (newly_visible)
		m->stats.mappings_by_level[level + 1]++;
	if (!newly_visible && !newly_exec)
		return;
	if (s2cache_summarize(m->cache, oa, size, &sum))
		return;
	if (newly_visible && !m->cfg.fwb && s2pt_pte_memtype(new, false) == S2PT_MT_NORMAL &&
	    sum.dirty)
		s2hyp__violation(m, S2HYP_RULE_DCACHE_CLEAN, HOST_THREAD, ipa, s2_pa_get(oa), level,
				 "a %s mapping of IPA %#llx -> PA %#llx becomes visible while %llu "
				 "dirty dcache line(s) of it were never cleaned to PoC: a guest with "
				 "its MMU off reads stale memory",
				 level == S2_LEVEL_MAX ? "page" : "block", (unsigned long long)ipa,
				 (unsigned long long)s2_pa_get(oa), (unsigned long long)sum.dirty);
	if (newly_exec && !m->cfg.dic && sum.stale_icache)
		s2hyp__violation(m, S2HYP_RULE_ICACHE_INVAL, HOST_THREAD, ipa, s2_pa_get(oa), level,
				 "IPA %#llx -> PA %#llx becomes executable while %llu icache "
				 "line(s) of it are older than memory",
				 (unsigned long long)ipa, (unsigned long long)s2_pa_get(oa),
				 (unsigned long long)sum.stale_icache);
}

/* A table becomes reachable at level with base ipa; so does everything an
 * unlinked subtree under it already holds. */
static void link_subtree(struct s2hyp *m, s2_pte_t table, s2_level_t level, uint64_t ipa,
			 int depth)
{
	s2_pa_t pa = s2pt_pte_oa(&m->geom, table);
	struct s2pool_page *pg = s2pool_page_at(m->pool, pa);
	if (!pg || pg->state != S2POOL_PAGE_LIVE || level > S2_LEVEL_MAX || depth > 4)
		return;
	void *va = s2pool_va(m->pool, pa);
	struct ghost_page *child = s2hyp__ghost(m, s2hyp__pool_idx(m, va));
	if (!child)
		return;
	bool was_unknown = child->level < 0;
	child->level = level;
	child->ipa = ipa;
	child->linked_ever = true;
	child->unlink_clean = false;
	if (!was_unknown || level == S2_LEVEL_MAX)
		return;
	const s2_pte_t *t = va;
	for (unsigned i = 0; i < s2pt_ptes_per_table(&m->geom); i++)
		if (s2pt_pte_is_table(t[i], level))
			link_subtree(m, t[i], (s2_level_t)(level + 1),
				     ipa + (uint64_t)i * s2pt_granule_size(&m->geom, level), depth + 1);
}

void s2hyp__check_store(struct s2hyp *m, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	uint64_t pidx = s2hyp__pool_idx(m, ptep);
	struct ghost_page *gp = s2hyp__ghost(m, pidx);
	struct s2pool_page *pg = s2pool_page_of(m->pool, ptep);

	if (!gp || !pg)
		return;
	unsigned idx = entry_index(m, ptep);
	uint64_t pa = s2_pa_get(s2pool_pa(m->pool, ptep));
	if (pg->state != S2POOL_PAGE_LIVE) {
		s2hyp__violation(m, S2HYP_RULE_WALK_AFTER_FREE, HOST_THREAD, 0, pa, -1,
				 "the hypervisor writes entry %#llx in table page %#llx, which has been freed",
				 (unsigned long long)pa,
				 (unsigned long long)s2_pa_get(s2pool_pa(m->pool,
					s2pool_page_base(m->pool, ptep))));
		return;
	}
	s2hyp__touch(m, pidx);
	gp->counted += (int32_t)s2pt_pte_is_counted(new) - (int32_t)s2pt_pte_is_counted(old);
	/* A page no entry links yet (an effect trace building a subtree before
	 * publishing it) is invisible to every walker: nothing to check. */
	if (gp->level < 0)
		return;
	struct ghost_pte *ptes = ghost_ptes(m, gp);
	if (!ptes)
		return;
	struct ghost_pte *gs = &ptes[idx];
	s2_level_t level = gp->level;
	uint64_t ipa = entry_ipa(m, gp, idx);
	bool ov = s2pt_pte_valid(old), nv = s2pt_pte_valid(new);

	if (ov && nv) {
		if (bbm_differs(m, old, new, level))
			s2hyp__violation(m, S2HYP_RULE_BBM, HOST_THREAD, ipa, pa, level,
					 "entry for IPA %#llx (level %d) changed from %#llx to %#llx "
					 "without going through an invalid entry",
					 (unsigned long long)ipa, level, (unsigned long long)old,
					 (unsigned long long)new);
		gs->state = GHOST_VALID;
		gs->last_valid = new;
	} else if (ov && !nv) {
		gs->state = GHOST_INVALID_UNCLEAN;
		gs->last_valid = old;
		add_unclean(m, pidx, idx);
	} else if (!ov && nv) {
		if ((gs->state == GHOST_INVALID_UNCLEAN || gs->state == GHOST_TLBI_PENDING) &&
		    bbm_differs(m, gs->last_valid, new, level))
			s2hyp__violation(m, S2HYP_RULE_BBM, HOST_THREAD, ipa, pa, level,
					 "entry for IPA %#llx (level %d) made %#llx while the TLBI "
					 "of its old value %#llx %s",
					 (unsigned long long)ipa, level, (unsigned long long)new,
					 (unsigned long long)gs->last_valid,
					 gs->state == GHOST_INVALID_UNCLEAN ?
					 "covering all of it was never issued" :
					 "was not yet completed by a DSB");
		if (s2pt_pte_is_table(gs->last_valid, level) && !s2pt_pte_is_table(new, level) &&
		    gs->state != GHOST_VALID)
			m->stats.coalesces++;
		gs->state = GHOST_VALID;
		gs->last_valid = new;
	}
	if (nv && s2pt_pte_is_table(new, level)) {
		link_subtree(m, new, (s2_level_t)(level + 1), ipa, 0);
	} else if (nv) {
		new_leaf_checks(m, ov ? old : 0, new, ipa, level);
	}
}

/* A TLBI by IPA removes the walk-cache entries for that address and the
 * leaf translating it; for a table entry that only covers everything it
 * held when the table below is empty. */
static bool table_empty(struct s2hyp *m, s2_pte_t table)
{
	struct s2pool_page *pg = s2pool_page_at(m->pool, s2pt_pte_oa(&m->geom, table));
	if (!pg || pg->state != S2POOL_PAGE_LIVE)
		return true;
	const s2_pte_t *t = s2pool_va(m->pool, s2pt_pte_oa(&m->geom, table));
	for (unsigned i = 0; i < s2pt_ptes_per_table(&m->geom); i++)
		if (s2pt_pte_valid(t[i]))
			return false;
	return true;
}

void s2hyp__check_tlbi(struct s2hyp *m, enum s2pt_tlbi op, uint64_t ipa)
{
	if (op != S2PT_TLBI_VMALLS12E1IS && op != S2PT_TLBI_IPAS2E1IS)
		return;	/* stage-1 only, or local: cannot clean a shared entry */
	for (unsigned k = 0; k < m->unclean_n; k++) {
		struct unclean *u = &m->unclean[k];
		struct ghost_page *gp = s2hyp__ghost(m, u->pool_idx);
		if (!gp || !gp->ptes || gp->ptes[u->idx].state != GHOST_INVALID_UNCLEAN)
			continue;
		struct ghost_pte *gs = &gp->ptes[u->idx];
		bool covered = op == S2PT_TLBI_VMALLS12E1IS;
		if (!covered) {
			uint64_t base = entry_ipa(m, gp, u->idx);
			uint64_t size = s2pt_granule_size(&m->geom, gp->level);
			covered = ipa - base < size &&
				  (!s2pt_pte_is_table(gs->last_valid, gp->level) ||
				   table_empty(m, gs->last_valid));
		}
		if (covered) {
			gs->state = GHOST_TLBI_PENDING;
			u->tlbi_seq = m->tlbi_seq;
		}
	}
}

/* Everything reachable below a table that has been cleanly unlinked may be
 * freed: no walk can reach it any more. */
static void mark_subtree_clean(struct s2hyp *m, s2_pte_t table, s2_level_t level, int depth)
{
	s2_pa_t pa = s2pt_pte_oa(&m->geom, table);
	struct s2pool_page *pg = s2pool_page_at(m->pool, pa);
	if (!pg || pg->state != S2POOL_PAGE_LIVE || depth > 4)
		return;
	void *va = s2pool_va(m->pool, pa);
	struct ghost_page *gp = s2hyp__ghost(m, s2hyp__pool_idx(m, va));
	if (!gp)
		return;
	gp->unlink_clean = true;
	const s2_pte_t *t = va;
	for (unsigned i = 0; i < s2pt_ptes_per_table(&m->geom); i++)
		if (s2pt_pte_is_table(t[i], (s2_level_t)(level + 1)))
			mark_subtree_clean(m, t[i], (s2_level_t)(level + 1), depth + 1);
}

void s2hyp__check_dsb(struct s2hyp *m)
{
	unsigned keep = 0;
	for (unsigned k = 0; k < m->unclean_n; k++) {
		struct unclean *u = &m->unclean[k];
		struct ghost_page *gp = s2hyp__ghost(m, u->pool_idx);
		if (!gp || !gp->ptes)
			continue;
		struct ghost_pte *gs = &gp->ptes[u->idx];
		if (gs->state == GHOST_TLBI_PENDING) {
			gs->state = GHOST_INVALID_CLEAN;
			if (s2pt_pte_is_table(gs->last_valid, gp->level))
				mark_subtree_clean(m, gs->last_valid, gp->level, 0);
			continue;
		}
		if (gs->state == GHOST_INVALID_UNCLEAN)
			m->unclean[keep++] = *u;
	}
	m->unclean_n = keep;
}

void s2hyp__check_free(struct s2hyp *m, void *page)
{
	struct ghost_page *gp = s2hyp__ghost(m, s2hyp__pool_idx(m, page));
	uint64_t pa = s2_pa_get(s2pool_pa(m->pool, page));

	if (!gp)
		return;
	if (gp->linked_ever && !gp->unlink_clean && !m->destroyed)
		s2hyp__violation(m, S2HYP_RULE_TLBI_BEFORE_FREE, HOST_THREAD, gp->ipa, pa, gp->level,
				 "table page %#llx (level %d, IPA %#llx) is freed before the entry "
				 "that pointed to it was invalidated, TLBI'd and the TLBI completed",
				 (unsigned long long)pa, gp->level, (unsigned long long)gp->ipa);
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		for (unsigned k = 0; k < v->wc_n; k++)
			if (v->wc[k].table_pa == pa)
				s2hyp__violation(m, S2HYP_RULE_WALK_AFTER_FREE, (int)i, v->wc[k].ipa, pa,
						 v->wc[k].level,
						 "table page %#llx is freed while vCPU %u's walk cache "
						 "still points at it for IPA %#llx",
						 (unsigned long long)pa, i,
						 (unsigned long long)v->wc[k].ipa);
	}
}

void s2hyp__check_refcounts(struct s2hyp *m)
{
	for (unsigned k = 0; k < m->touched_n; k++) {
		uint64_t idx = m->touched[k];
		struct ghost_page *gp = s2hyp__ghost(m, idx);
		void *page = s2pool_page_by_index(m->pool, idx);
		struct s2pool_page *pg = page ? s2pool_page_of(m->pool, page) : NULL;
		if (gp)
			gp->touched = false;
		if (!pg || pg->state != S2POOL_PAGE_LIVE)
			continue;
		/* Kept per store (every store goes through the checker); the
		 * recount confirms a mismatch before it is reported. */
		if (gp && pg->refcount == 1 + gp->counted)
			continue;
		unsigned counted = s2pt_table_counted_entries(&m->pt, page);
		if (pg->refcount != (int32_t)(1 + counted)) {
			uint64_t pa = s2_pa_get(s2pool_pa(m->pool, page));
			s2hyp__violation(m, S2HYP_RULE_REFCOUNT, HOST_THREAD, gp ? gp->ipa : 0, pa,
					 gp ? gp->level : -1,
					 "table page %#llx (level %d, IPA %#llx) has refcount %d but "
					 "holds %u counted entries (expected %u)",
					 (unsigned long long)pa, gp ? gp->level : -1,
					 (unsigned long long)(gp ? gp->ipa : 0), pg->refcount, counted,
					 counted + 1);
		}
	}
	m->touched_n = 0;
}

static void report_stale_after_unmap(struct s2hyp *m, unsigned i, const struct tlb_entry *e,
				     uint64_t ipa, uint64_t size)
{
	s2hyp__violation(m, S2HYP_RULE_TLBI_AFTER_UNMAP, (int)i, e->ipa, e->oa, (s2_level_t)e->level,
			 "after unmapping [%#llx, %#llx) vCPU %u's TLB still translates IPA %#llx -> "
			 "PA %#llx (level %u)",
			 (unsigned long long)ipa, (unsigned long long)(ipa + size), i,
			 (unsigned long long)e->ipa, (unsigned long long)e->oa, e->level);
}

void s2hyp__check_unmapped(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);

	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		/* Probe every leaf position in the range when that is cheaper than
		 * looking at every entry. */
		if (size / page < v->tlb_n) {
			for (s2_level_t l = g->min_block_level; l <= S2_LEVEL_MAX; l++) {
				uint64_t gs = s2pt_granule_size(g, l);
				if (!v->tlb_per_level[l])
					continue;
				for (uint64_t a = s2_align_down(ipa, gs); a < ipa + size; a += gs) {
					int k = s2hyp__tlb_find(m, v, a, l);
					if (k >= 0)
						report_stale_after_unmap(m, i, &v->tlb[k], ipa, size);
				}
			}
			continue;
		}
		for (unsigned k = 0; k < v->tlb_n; k++) {
			const struct tlb_entry *e = &v->tlb[k];
			if (e->ipa < ipa + size && ipa < e->ipa + e->size)
				report_stale_after_unmap(m, i, e, ipa, size);
		}
	}
}

static void conflict(struct s2hyp *m, const struct vcpu *v, const struct tlb_entry *t,
		     const struct tlb_entry *e)
{
	bool same_map = t->oa - t->ipa == e->oa - e->ipa;
	uint8_t mt = S2PT_PROT_DEVICE | S2PT_PROT_NC;
	if (t->size == e->size && same_map && (t->prot & mt) == (e->prot & mt))
		return;
	s2hyp__violation(m, S2HYP_RULE_TLB_CONFLICT, (int)v->id, e->ipa, e->oa, (s2_level_t)e->level,
			 "vCPU %u's TLB holds IPA %#llx -> PA %#llx (%s) and now also "
			 "IPA %#llx -> PA %#llx (%s)",
			 v->id, (unsigned long long)t->ipa, (unsigned long long)t->oa,
			 t->size >= (1ull << 21) ? "block" : "page",
			 (unsigned long long)e->ipa, (unsigned long long)e->oa,
			 e->size >= (1ull << 21) ? "block" : "page");
}

void s2hyp__check_tlb_fill(struct s2hyp *m, struct vcpu *v, const struct tlb_entry *e)
{
	const struct s2pt_geom *g = &m->geom;
	bool smaller = false;

	/* Entries as large or larger than the new one that contain it. */
	for (s2_level_t l = g->min_block_level; l <= (s2_level_t)e->level; l++) {
		if (!v->tlb_per_level[l])
			continue;
		int k = s2hyp__tlb_find(m, v, s2_align_down(e->ipa, s2pt_granule_size(g, l)), l);
		if (k >= 0)
			conflict(m, v, &v->tlb[k], e);
	}
	for (s2_level_t l = (s2_level_t)(e->level + 1); l <= S2_LEVEL_MAX; l++)
		smaller |= v->tlb_per_level[l] != 0;
	if (!smaller)
		return;
	/* Smaller entries inside a new block. */
	for (unsigned k = 0; k < v->tlb_n; k++) {
		const struct tlb_entry *t = &v->tlb[k];
		if (t->size < e->size && t->ipa - e->ipa < e->size)
			conflict(m, v, t, e);
	}
}

void s2hyp__check_pool_errors(struct s2hyp *m)
{
	const struct s2pool_errors *e = s2pool_errors(m->pool);
	struct s2pool_errors *seen = &m->pool_err_seen;
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
		s2hyp__violation(m, S2HYP_RULE_DOUBLE_FREE, HOST_THREAD, 0, 0, -1, "%s", what);
	if (e->bad_address != seen->bad_address)
		s2hyp__fail(m, "the walker passed an address outside the table pool");
	*seen = *e;
}

struct leak_scan {
	struct s2hyp *m;
	unsigned n;
};

static void leak_page(void *arg, void *page, struct s2pool_page *pg)
{
	struct leak_scan *ls = arg;
	struct s2hyp *m = ls->m;
	struct ghost_page *gp = s2hyp__ghost(m, s2hyp__pool_idx(m, page));
	uint64_t pa = s2_pa_get(s2pool_pa(m->pool, page));

	ls->n++;
	s2hyp__violation(m, S2HYP_RULE_LEAK, HOST_THREAD, gp ? gp->ipa : 0, pa,
			 gp ? gp->level : -1,
			 "table page %#llx (level %d, IPA %#llx) is still allocated with refcount "
			 "%d after the VM was destroyed",
			 (unsigned long long)pa, gp ? gp->level : -1,
			 (unsigned long long)(gp ? gp->ipa : 0), pg->refcount);
}

void s2hyp__check_leaks(struct s2hyp *m)
{
	struct leak_scan ls = { m, 0 };
	s2pool_for_each_live(m->pool, leak_page, &ls);
	uint32_t pos = 0;
	uint64_t pfn, refs;
	while (s2_map_next(&m->hpages, &pos, &pfn, &refs))
		s2hyp__violation(m, S2HYP_RULE_LEAK, HOST_THREAD, 0, pfn << 12, -1,
				 "host page %#llx still holds %llu reference(s) taken by the "
				 "fault handler after the VM was destroyed",
				 (unsigned long long)(pfn << 12), (unsigned long long)refs);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

static const char *const event_names[EV_NR] = {
	[EV_PTE_STORE] = "pte-store", [EV_TLBI] = "tlbi", [EV_DSB] = "dsb",
	[EV_CMO] = "cmo", [EV_FREE] = "free-table", [EV_WALK_READ] = "walk-read",
	[EV_TLB_FILL] = "tlb-fill", [EV_TLB_EVICT] = "tlb-evict", [EV_ACCESS] = "access",
	[EV_FAULT] = "fault", [EV_OP_BEGIN] = "op-begin", [EV_OP_END] = "op-end",
	[EV_DC_EVICT] = "dc-evict", [EV_PREFETCH] = "prefetch",
};

static const char *const tlbi_names[] = {
	[S2PT_TLBI_VMALLS12E1IS] = "VMALLS12E1IS", [S2PT_TLBI_IPAS2E1IS] = "IPAS2E1IS",
	[S2PT_TLBI_IPAS2E1] = "IPAS2E1", [S2PT_TLBI_VMALLE1IS] = "VMALLE1IS",
	[S2PT_TLBI_VMALLE1] = "VMALLE1",
};

static const char *const fault_names[] = {
	[FAULT_NONE] = "none", [FAULT_TRANSLATION] = "translation",
	[FAULT_PERMISSION] = "permission", [FAULT_ACCESS_FLAG] = "access-flag",
};

static const char *const access_names[] = { "read", "write", "exec" };

static const char *const op_names[] = {
	[OP_NONE] = "none", [OP_FAULT_MAP] = "fault-map", [OP_FAULT_RELAX] = "fault-relax",
	[OP_FAULT_AF] = "fault-af", [OP_HOST] = "host",
};

int s2hyp_format_event(char *buf, size_t size, const struct s2hyp_event *e)
{
	const char *name = e->kind < EV_NR ? event_names[e->kind] : "?";
	unsigned long long a = (unsigned long long)e->a, b = (unsigned long long)e->b;

	switch (e->kind) {
	case EV_PTE_STORE:
		return snprintf(buf, size, "%s [%#llx] = %#llx%s", name, a, b, e->flags ? " (release)" : "");
	case EV_TLBI:
		return snprintf(buf, size, "%s %s %#llx", name,
				e->a < S2_ARRAY_SIZE(tlbi_names) ? tlbi_names[e->a] : "?", b);
	case EV_DSB:
		return snprintf(buf, size, "%s %s", name, e->a == S2PT_DSB_SY ? "sy" : "ish");
	case EV_CMO:
		return snprintf(buf, size, "%s %s %#llx+%#llx", name,
				s2cache_op_name((enum s2cache_op)e->a), b, 1ull << e->level);
	case EV_FREE:
	case EV_DC_EVICT:
	case EV_PREFETCH:
	case EV_TLB_EVICT:
		return snprintf(buf, size, "%s %#llx", name, a);
	case EV_WALK_READ:
		return snprintf(buf, size, "%s L%u [%#llx] -> %#llx", name, e->level, a, b);
	case EV_TLB_FILL:
		return snprintf(buf, size, "%s L%u IPA %#llx -> PA %#llx", name, e->level, a, b);
	case EV_ACCESS:
		return snprintf(buf, size, "%s %s%s IPA %#llx PA %#llx", name,
				access_names[e->flags & 3], e->flags & 4 ? "" : " (non-cacheable)", a, b);
	case EV_FAULT:
		return snprintf(buf, size, "%s %s L%u IPA %#llx ESR %#llx", name,
				e->flags < S2_ARRAY_SIZE(fault_names) ? fault_names[e->flags] : "?",
				e->level, a, b);
	case EV_OP_BEGIN:
		return snprintf(buf, size, "%s %s %#llx+%#llx (%s)", name,
				e->flags < S2_ARRAY_SIZE(op_names) ? op_names[e->flags] : "?", a, b,
				e->level ? "from a vCPU" : "from the host");
	case EV_OP_END:
		return snprintf(buf, size, "%s %s", name, s2_err_name((int)(int64_t)e->a));
	}
	return snprintf(buf, size, "%s", name);
}

void s2hyp_print_event(FILE *f, const struct s2hyp_event *e)
{
	char buf[160];
	s2hyp_format_event(buf, sizeof(buf), e);
	fprintf(f, "step %llu: %s", (unsigned long long)e->step, buf);
}

static void thread_name(char *buf, size_t size, int t)
{
	if (t == MACHINE_THREAD)
		snprintf(buf, size, "memory system");
	else if (t < 0)
		snprintf(buf, size, "hypervisor");
	else
		snprintf(buf, size, "vCPU %d", t);
}

void s2hyp_print_violation(FILE *f, const struct s2hyp_violation *v)
{
	char who[24];

	thread_name(who, sizeof(who), v->thread);
	fprintf(f, "violation: %s at step %llu (%s)\n", s2hyp_rule_name(v->rule),
		(unsigned long long)v->step, who);
	fprintf(f, "  rule: %s\n", s2hyp_rule_meaning(v->rule));
	fprintf(f, "  what: %s\n", v->detail);
	for (unsigned t = 0; t <= S2HYP_MAX_VCPUS + 1; t++) {
		if (!v->nr_events[t])
			continue;
		thread_name(who, sizeof(who), t == S2HYP_MAX_VCPUS + 1 ? MACHINE_THREAD : (int)t - 1);
		fprintf(f, "  last events of the %s:\n", who);
		for (unsigned i = 0; i < v->nr_events[t]; i++) {
			fprintf(f, "    ");
			s2hyp_print_event(f, &v->events[t][i]);
			fputc('\n', f);
		}
	}
}

void s2hyp_print_violation_json(FILE *f, const struct s2hyp_violation *v)
{
	char buf[160];

	fprintf(f, "{\"rule\": ");
	s2_json_string(f, s2hyp_rule_name(v->rule));
	fprintf(f, ", \"step\": %llu, \"thread\": ", (unsigned long long)v->step);
	if (v->thread < 0)
		fprintf(f, "\"hypervisor\"");
	else
		fprintf(f, "\"vcpu%d\"", v->thread);
	fprintf(f, ", \"ipa\": \"%#llx\", \"pa\": \"%#llx\", \"level\": %d, \"detail\": ",
		(unsigned long long)v->ipa, (unsigned long long)v->pa, v->level);
	s2_json_string(f, v->detail);
	fprintf(f, ", \"events\": {");
	bool first = true;
	for (unsigned t = 0; t <= S2HYP_MAX_VCPUS + 1; t++) {
		if (!v->nr_events[t])
			continue;
		if (t == S2HYP_MAX_VCPUS + 1)
			fprintf(f, "%s\"memory\": [", first ? "" : ", ");
		else if (t == 0)
			fprintf(f, "%s\"hypervisor\": [", first ? "" : ", ");
		else
			fprintf(f, "%s\"vcpu%u\": [", first ? "" : ", ", t - 1);
		first = false;
		for (unsigned i = 0; i < v->nr_events[t]; i++) {
			s2hyp_format_event(buf, sizeof(buf), &v->events[t][i]);
			fprintf(f, "%s{\"step\": %llu, \"event\": ", i ? ", " : "",
				(unsigned long long)v->events[t][i].step);
			s2_json_string(f, buf);
			fputc('}', f);
		}
		fputc(']', f);
	}
	fprintf(f, "}}");
}
