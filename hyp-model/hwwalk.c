/* The hardware walker: where a walk starts and its one step, a descriptor
 * read (DDI 0487 D8.2: one lookup per level). The machine's walks
 * (machine.c), the footprints the fuzzer's reduction predicts
 * (footprint.c) and, through the TLB they fill, the guest engine all go
 * through these two functions; neither changes the machine. */
#include "common/s2_bits.h"
#include "hyp-model/s2hyp_internal.h"

bool s2hyp_access_allowed(unsigned prot, enum s2hyp_access a)
{
	switch (a) {
	case S2HYP_ACC_READ: return prot & S2PT_PROT_R;
	case S2HYP_ACC_WRITE: return prot & S2PT_PROT_W;
	case S2HYP_ACC_EXEC: return prot & S2PT_PROT_X;
	}
	return false;
}

void s2hyp__hw_begin(const struct s2hyp *m, const struct vcpu *v, struct hw_walk *w, uint64_t ipa)
{
	const struct s2pt_geom *g = &m->geom;
	*w = (struct hw_walk){
		.ipa = ipa,
		.level = g->start_level,
		.table_pa = s2_pa_get(m->pt.pgd_pa),
	};
	struct s2pool_page *pg = s2pool_page_at(m->pool, s2_pa(w->table_pa));
	w->table_gen = pg ? pg->gen : 0;
	/* Start from the deepest cached table for this address. */
	for (s2_level_t l = S2_LEVEL_MAX; l > g->start_level && v->wc_n; l--) {
		int i = s2hyp__wc_find(m, v, ipa, l);
		if (i >= 0) {
			const struct wc_entry *e = &v->wc[i];
			w->level = e->level;
			w->table_pa = e->table_pa;
			w->table_gen = e->gen;
			break;
		}
	}
}

enum walk_result s2hyp__hw_step(const struct s2hyp *m, struct hw_walk *w, struct hw_read *r)
{
	const struct s2pt_geom *g = &m->geom;
	bool root = w->level == g->start_level && w->table_pa == s2_pa_get(m->pt.pgd_pa);
	struct s2pool_page *pg = s2pool_page_at(m->pool, s2_pa(w->table_pa));

	*r = (struct hw_read){
		.level = w->level,
		.table_pa = w->table_pa,
		.dpa = w->table_pa + s2pt_pte_index(g, w->level, w->ipa, root) * sizeof(s2_pte_t),
		.st = !pg ? S2HYP_TABLE_NOT_IN_POOL :
		      pg->state != S2POOL_PAGE_LIVE ? S2HYP_TABLE_FREED :
		      pg->gen != w->table_gen ? S2HYP_TABLE_REUSED : S2HYP_TABLE_LIVE,
	};
	if (r->st != S2HYP_TABLE_LIVE)
		return WALK_ABORT;
	r->pte = *(volatile const s2_pte_t *)s2pool_va(m->pool, s2_pa(r->dpa));
	if (!s2pt_pte_valid(r->pte)) {
		w->leaf_level = w->level;
		return WALK_FAULT;
	}
	if (!s2pt_pte_is_table(r->pte, w->level)) {
		w->leaf = r->pte;
		w->leaf_pa = r->dpa;
		w->leaf_level = w->level;
		return WALK_LEAF;
	}
	uint64_t next = s2_pa_get(s2pt_pte_oa(g, r->pte));
	struct s2pool_page *npg = s2pool_page_at(m->pool, s2_pa(next));
	w->level++;
	w->table_pa = next;
	w->table_gen = npg ? npg->gen : 0;
	return WALK_MORE;
}

s2_pte_t s2hyp_entry(const struct s2hyp *m, uint64_t ipa, s2_level_t *level)
{
	const struct s2pt_geom *g = &m->geom;
	struct hw_walk w = { .ipa = ipa, .level = g->start_level,
			     .table_pa = s2_pa_get(m->pt.pgd_pa) };
	struct s2pool_page *pg = s2pool_page_at(m->pool, s2_pa(w.table_pa));
	struct hw_read r;
	w.table_gen = pg ? pg->gen : 0;
	for (;;) {
		enum walk_result res = s2hyp__hw_step(m, &w, &r);
		if (res == WALK_MORE)
			continue;
		*level = r.level;
		return res == WALK_ABORT ? 0 : r.pte;
	}
}
