/* Effect mode: the tables are written by a trace of another hypervisor's
 * stage-2 code, and every store, TLBI, DSB, CMO and free is checked by the
 * same rules as our walker's.
 *
 * The trace names its own physical addresses. Each page it allocates stands
 * for a pool page; table descriptors are translated to the pool page's
 * address on the way in, so that the checker and the hardware walkers see
 * one consistent set of tables. Leaf output addresses are left as they are. */
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_internal.h"

/* Keys are page numbers + 1: page 0 is a valid trace address. */
static void *page_of(struct s2hyp *m, uint64_t pa)
{
	uint64_t v;
	return s2_map_get(&m->emap, (pa >> m->geom.granule_shift) + 1, &v) ?
		(void *)(uintptr_t)v : NULL;
}

int s2hyp_effect_begin(struct s2hyp *m, uint64_t vtcr, const char **why)
{
	struct s2pt_geom g;
	int ret = s2pt_geom_from_vtcr(&g, vtcr, why);
	if (ret)
		return ret;
	if (g.granule_shift != m->geom.granule_shift) {
		*why = "VTCR granule differs from the machine's";
		return S2_EINVAL;
	}
	m->geom = g;
	m->pt.geom = g;
	m->effect_mode = true;
	return 0;
}

int s2hyp_effect_alloc(struct s2hyp *m, uint64_t pa, const char **why)
{
	uint64_t page = s2pt_granule_size(&m->geom, S2_LEVEL_MAX);
	if (!s2_is_aligned(pa, page)) {
		*why = "a table page is granule-aligned";
		return S2_EINVAL;
	}
	void *cur = page_of(m, pa);
	struct s2pool_page *pg = cur ? s2pool_page_of(m->pool, cur) : NULL;
	if (pg && pg->state == S2POOL_PAGE_LIVE) {
		*why = "alloc of a page that is already a live table page";
		return S2_EINVAL;
	}
	void *p = s2hyp__mm_ops.zalloc_page(m);
	if (!p) {
		*why = "the table-page pool is exhausted";
		return S2_ENOMEM;
	}
	if (!s2_map_put(&m->emap, (pa >> m->geom.granule_shift) + 1, (uintptr_t)p)) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	s2hyp_checker_page_unlinked(m->chk, p);	/* level unknown until something links it */
	return 0;
}

int s2hyp_effect_vttbr(struct s2hyp *m, uint64_t vttbr, const char **why)
{
	const struct s2pt_geom *g = &m->geom;
	/* BADDR: VTTBR_EL2[47:1] aligned to the root's size; the VMID above. */
	uint64_t base = vttbr & s2_genmask(47, 1);
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);

	if (!s2_is_aligned(base, page * g->nr_roots)) {
		*why = "VTTBR base is not aligned to the root tables' size";
		return S2_EINVAL;
	}
	for (unsigned r = 0; r < g->nr_roots; r++) {
		void *p = page_of(m, base + r * page);
		if (!p || s2hyp_checker_page_level(m->chk, p) == -2) {
			*why = "VTTBR points at a page that was not allocated (alloc every root page first)";
			return S2_EINVAL;
		}
		s2hyp_checker_page_root(m->chk, p, g->start_level,
					(uint64_t)r << (s2pt_level_shift(g, g->start_level) + g->stride));
	}
	m->eff_root = base;
	/* Lookups (expect lines, hardware walks) go through the trace's root. */
	m->pt.pgd = page_of(m, base);
	m->pt.pgd_pa = s2pool_pa(m->pool, m->pt.pgd);
	return 0;
}

int s2hyp_effect_free(struct s2hyp *m, uint64_t pa, const char **why)
{
	void *p = page_of(m, pa & ~(s2pt_granule_size(&m->geom, S2_LEVEL_MAX) - 1));
	if (!p) {
		*why = "free of a page that was never allocated";
		return S2_EINVAL;
	}
	s2hyp__mm_ops.free_page(m, p);
	return 0;
}

int s2hyp_effect_pte_write(struct s2hyp *m, uint64_t pa, uint64_t value, bool release,
			   const char **why)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);
	uint8_t *p = page_of(m, pa & ~(page - 1));

	if (!p) {
		*why = "pte-write outside every allocated table page";
		return S2_EINVAL;
	}
	s2_pte_t *ptep = (s2_pte_t *)(p + (pa & (page - 1)));
	s2_level_t plevel = s2hyp_checker_page_level(m->chk, p);
	bool known = plevel != -2;
	s2_pte_t pte = value;
	/* A table descriptor points at a trace page: translate it. A descriptor
	 * with bit 1 set in a page whose level is not known yet is a table when
	 * what it points at is one of the trace's table pages. */
	if ((value & 3) == 3 && (!known || plevel < S2_LEVEL_MAX)) {
		void *child = page_of(m, s2_pa_get(s2pt_pte_oa(g, value)));
		if (child) {
			s2_pa_t cpa = s2pool_pa(m->pool, child);
			pte = (value & ~s2_genmask(47, g->granule_shift)) |
			      (s2_pa_get(cpa) & s2_genmask(47, g->granule_shift));
		} else if (known && plevel >= 0) {
			*why = "table descriptor pointing at a page that was never allocated";
			return S2_EINVAL;
		}
	}
	s2hyp__mm_ops.set_pte(m, ptep, pte, release);
	return 0;
}

void s2hyp_effect_barrier(struct s2hyp *m, enum s2pt_barrier b)
{
	s2hyp__mm_ops.barrier(m, b);
}

void s2hyp_effect_tlbi(struct s2hyp *m, enum s2pt_tlbi op, uint64_t ipa, int level)
{
	s2hyp__mm_ops.tlbi(m, op, s2_ipa(ipa), (s2_level_t)level);
}

int s2hyp_effect_cmo(struct s2hyp *m, unsigned op, uint64_t pa, uint64_t size, const char **why)
{
	int ret = s2cache_cmo(m->cache, (unsigned)s2hyp__host_cpu(m), (enum s2cache_op)op,
			      s2_pa(pa), size);
	if (ret) {
		*why = "cache maintenance outside the physical address space";
		return ret;
	}
	m->stats.cmos++;
	m->stats.cmo_bytes += size;
	return 0;
}
