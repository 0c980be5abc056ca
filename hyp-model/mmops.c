/* The walker's view of the machine: every effect is a scheduling point
 * (vCPUs may move first), then happens, then is checked. */
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_internal.h"

uint64_t s2hyp__pool_idx(struct s2hyp *m, const void *addr)
{
	uint64_t idx;
	return s2pool_index(m->pool, addr, &idx) ? idx : UINT64_MAX;
}

static void *mm_zalloc_page(void *ctx)
{
	struct s2hyp *m = ctx;
	void *p = s2pool_alloc(m->pool);
	if (p) {
		m->stats.table_pages_allocated++;
		s2hyp_checker_page_alloc(m->chk, p);
	}
	return p;
}

static void *mm_zalloc_pages_exact(void *ctx, unsigned nr)
{
	struct s2hyp *m = ctx;
	return s2pool_alloc_exact(m->pool, nr);
}

/* The checker is told of a free, with the walk caches still pointing at
 * the page. */
static void check_free(struct s2hyp *m, void *page)
{
	struct s2hyp_wc_ref *refs = NULL;
	unsigned n = 0, cap = 0;
	uint64_t pa = s2_pa_get(s2pool_pa(m->pool, page));

	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		for (unsigned k = 0; k < v->wc_n; k++)
			if (v->wc[k].table_pa == pa && s2_grow((void **)&refs, &cap, sizeof(*refs), n + 1))
				refs[n++] = (struct s2hyp_wc_ref){ i, v->wc[k].ipa, v->wc[k].level };
	}
	s2hyp_checker_page_free(m->chk, page, refs, n);
	free(refs);
}

static void check_pool_errors(struct s2hyp *m)
{
	if (!s2hyp_checker_pool_errors(m->chk))
		s2hyp__fail(m, "the walker passed an address outside the table pool");
}

static void freed(struct s2hyp *m, void *page)
{
	m->stats.table_pages_freed++;
	s2hyp__event(m, HOST_THREAD, EV_FREE, s2_pa_get(s2pool_pa(m->pool, page)), 0, 0, 0);
}

static void mm_free_page(void *ctx, void *page)
{
	struct s2hyp *m = ctx;
	s2hyp__sched_point(m);
	if (m->cfg.check)
		check_free(m, page);
	s2pool_free(m->pool, page);
	freed(m, page);
	if (m->cfg.check)
		check_pool_errors(m);
}

static void mm_free_pages_exact(void *ctx, void *pages, unsigned nr)
{
	struct s2hyp *m = ctx;
	for (unsigned i = 0; i < nr; i++)
		s2pool_free(m->pool, (uint8_t *)pages + ((uint64_t)i << m->geom.granule_shift));
	if (m->cfg.check)
		check_pool_errors(m);
}

static void mm_get_page(void *ctx, void *addr)
{
	struct s2hyp *m = ctx;
	s2pool_get(m->pool, addr);
	if (m->cfg.check) {
		s2hyp_checker_page_ref(m->chk, addr);
		check_pool_errors(m);
	}
}

static void mm_put_page(void *ctx, void *addr)
{
	struct s2hyp *m = ctx;
	struct s2pool_page *pg = s2pool_page_of(m->pool, addr);
	void *base = s2pool_page_base(m->pool, addr);

	/* Every put is a step: it is how long a walk over the old subtree
	 * takes that makes the 2021 ordering's invalid window long. The put
	 * that frees a page is a free, which vCPUs may observe. */
	s2hyp__sched_point(m);
	if (m->cfg.check && pg && pg->state == S2POOL_PAGE_LIVE && pg->refcount == 1)
		check_free(m, base);
	if (s2pool_put(m->pool, addr))
		freed(m, base);
	if (m->cfg.check) {
		s2hyp_checker_page_ref(m->chk, addr);
		check_pool_errors(m);
	}
}

static int mm_page_count(void *ctx, void *addr)
{
	struct s2hyp *m = ctx;
	struct s2pool_page *pg = s2pool_page_of(m->pool, addr);
	return pg ? pg->refcount : 0;
}

static void *mm_phys_to_virt(void *ctx, s2_pa_t pa)
{
	struct s2hyp *m = ctx;
	if (m->cfg.check)
		s2hyp_checker_hyp_descend(m->chk, pa);
	return s2pool_va(m->pool, pa);
}

static s2_pa_t mm_virt_to_phys(void *ctx, void *va)
{
	struct s2hyp *m = ctx;
	return s2pool_pa(m->pool, va);
}

static void mm_set_pte(void *ctx, s2_pte_t *ptep, s2_pte_t pte, bool release)
{
	struct s2hyp *m = ctx;
	s2hyp__sched_point(m);
	s2_pte_t old = *ptep;
	if (m->cfg.check)
		s2hyp_checker_pte_store(m->chk, ptep, old, pte);
	if (release)
		__atomic_store_n(ptep, pte, __ATOMIC_RELEASE);
	else
		*(volatile s2_pte_t *)ptep = pte;
	m->stats.pte_stores++;
	s2hyp__event(m, HOST_THREAD, EV_PTE_STORE, s2_pa_get(s2pool_pa(m->pool, ptep)), pte,
		     0, release);
}

/* Shared walks' exchange. Hypervisor operations run one at a time under the
 * exclusive lock today, so nothing else writes the entry between the compare
 * and the store (vCPUs' hardware walks only read it). */
static bool mm_cmpxchg_pte(void *ctx, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	if (*(volatile s2_pte_t *)ptep != old)
		return false;
	mm_set_pte(ctx, ptep, new, true);
	return true;
}

static void mm_tlbi(void *ctx, enum s2pt_tlbi op, s2_ipa_t ipa, s2_level_t level)
{
	struct s2hyp *m = ctx;
	(void)level;
	s2hyp__sched_point(m);
	s2hyp__tlbi_apply(m, op, s2_ipa_get(ipa));
	if (m->cfg.check)
		s2hyp_checker_tlbi(m->chk, op, s2_ipa_get(ipa), m->tlbi_seq);
	m->stats.tlbis++;
	s2hyp__event(m, HOST_THREAD, EV_TLBI, op, s2_ipa_get(ipa), 0, 0);
}

static void mm_barrier(void *ctx, enum s2pt_barrier b)
{
	struct s2hyp *m = ctx;
	/* Only a DSB that reaches the inner shareable domain completes
	 * broadcast TLBIs (DDI 0487 D8.13.5); an ISB does nothing here. */
	if (b != S2PT_DSB_ISH && b != S2PT_DSB_SY)
		return;
	s2hyp__sched_point(m);
	s2hyp__dsb_complete(m);
	if (m->cfg.check)
		s2hyp_checker_dsb(m->chk);
	m->stats.dsbs++;
	s2hyp__event(m, HOST_THREAD, EV_DSB, b, 0, 0, 0);
}

static void cmo(struct s2hyp *m, enum s2cache_op op, s2_pa_t pa, uint64_t size)
{
	s2hyp__sched_point(m);
	int ret = s2cache_cmo(m->cache, (unsigned)s2hyp__host_cpu(m), op, pa, size);
	if (ret)
		s2hyp__fail(m, "%s of %#llx+%#llx failed: %s", s2cache_op_name(op),
			    (unsigned long long)s2_pa_get(pa), (unsigned long long)size,
			    s2_err_msg(ret));
	m->stats.cmos++;
	m->stats.cmo_bytes += size;
	unsigned lg = 0;
	while (lg < 63 && (1ull << lg) < size)
		lg++;
	s2hyp__event(m, HOST_THREAD, EV_CMO, op, s2_pa_get(pa), lg, 0);
}

static void mm_dcache_clean_inval_poc(void *ctx, s2_pa_t pa, uint64_t size)
{
	cmo(ctx, S2CACHE_DC_CIVAC, pa, size);
}

/* KVM's invalidate_icache_guest_page: clean to PoU unless IDC, invalidate
 * the icache unless DIC. */
static void mm_icache_inval_pou(void *ctx, s2_pa_t pa, uint64_t size)
{
	struct s2hyp *m = ctx;
	if (!m->cfg.idc && !m->cfg.fwb)
		cmo(m, S2CACHE_DC_CVAU, pa, size);
	if (!m->cfg.dic)
		cmo(m, S2CACHE_IC_IVAU, pa, size);
}

const struct s2pt_mm_ops s2hyp__mm_ops = {
	.zalloc_page = mm_zalloc_page,
	.zalloc_pages_exact = mm_zalloc_pages_exact,
	.free_page = mm_free_page,
	.free_pages_exact = mm_free_pages_exact,
	.get_page = mm_get_page,
	.put_page = mm_put_page,
	.page_count = mm_page_count,
	.phys_to_virt = mm_phys_to_virt,
	.virt_to_phys = mm_virt_to_phys,
	.set_pte = mm_set_pte,
	.cmpxchg_pte = mm_cmpxchg_pte,
	.tlbi = mm_tlbi,
	.barrier = mm_barrier,
	.dcache_clean_inval_poc = mm_dcache_clean_inval_poc,
	.icache_inval_pou = mm_icache_inval_pou,
};
