/* The walker's view of the machine: every effect is a scheduling point
 * (vCPUs may move first), then happens, then is checked. */
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_kvm.h"

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
	m->stats.table_pages_freed_put += m->in_put;
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
	m->stats.gets++;
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
	m->stats.puts++;
	if (m->cfg.check && pg && pg->state == S2POOL_PAGE_LIVE && pg->refcount == 1)
		check_free(m, base);
	if (s2pool_put(m->pool, addr)) {
		m->in_put = true;
		freed(m, base);
		m->in_put = false;
	}
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

/* Breaks and makes as the kernel's stage2_try_break_pte and stage2_make_pte
 * count them: a break writes the lock marker over an entry, a make replaces
 * the marker. The old entry's level is its table page's (the checker's). */
static s2_level_t entry_level(struct s2hyp *m, s2_pte_t *ptep, bool *known)
{
	s2_level_t level = S2_LEVEL_MAX;
	*known = m->chk && s2hyp_checker_ghost_level(m->chk, s2pool_page_base(m->pool, ptep),
						     &level);
	return level;
}

static void count_store(struct s2hyp *m, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	bool known;

	if (old == S2PT_PTE_LOCKED && new != S2PT_PTE_LOCKED) {
		m->stats.makes++;
		/* KVM calls its clean-to-PoC helper for every cacheable leaf a
		 * fault maps; with FWB it returns at once, and our walker does
		 * not call it at all: count the call the kernel makes. */
		if (m->cfg.fwb && m->op == OP_FAULT_MAP && s2pt_pte_valid(new) &&
		    s2pt_pte_memtype(new, true) == S2PT_MT_NORMAL) {
			s2_level_t level = entry_level(m, ptep, &known);
			if (!known || !s2pt_pte_is_table(new, level))
				m->stats.dcache_calls++;
		}
		return;
	}
	if (new != S2PT_PTE_LOCKED || old == S2PT_PTE_LOCKED)
		return;
	enum s2hyp_entry_kind k = S2HYP_ENTRY_INVALID;
	if (s2pt_pte_valid(old)) {
		s2_level_t level = entry_level(m, ptep, &known);
		k = s2pt_pte_is_table(old, level) ? S2HYP_ENTRY_TABLE :
		    level == S2_LEVEL_MAX ? S2HYP_ENTRY_PAGE : S2HYP_ENTRY_BLOCK;
	}
	m->stats.breaks[k]++;
}

/*
 * KVM frees a table a map unlinked (a coalesce) from an RCU callback, after
 * a grace period: walkers that started before the unlink may still read
 * it. With cfg.rcu_free the table waits on a list; the grace period ends
 * when the scheduler chooses (S2HYP_CH_RCU, enabled once no walker that
 * entered its read-side section before the table was queued is still
 * inside), or at the latest when the VM is torn down; until then the
 * subtree stays allocated and its entries counted. Without, the table is
 * freed at once (as pKVM does), except with parallel faults: another
 * walker may be inside it, so it waits for its grace period as with
 * rcu_free.
 */
static void mm_free_unlinked_table(void *ctx, struct s2pt *pt, void *table, s2_level_t level)
{
	struct s2hyp *m = ctx;
	if (!m->cfg.rcu_free && !m->parallel) {
		m->stats.unlinked_frees++;
		s2pt_free_unlinked(pt, table, level);
		return;
	}
	if (!s2_grow((void **)&m->rcu, &m->rcu_cap, sizeof(*m->rcu), m->rcu_n + 1)) {
		s2hyp__fail(m, "out of memory for a pending RCU free");
		return;
	}
	m->rcu[m->rcu_n++] = (struct rcu_table){ table, level, ++m->rcu_clock };
}

/* The operation thread whose code runs now: a vCPU, or the host. */
static unsigned op_slot(const struct s2hyp *m)
{
	return m->op_thread >= 0 ? (unsigned)m->op_thread : S2HYP_MAX_VCPUS;
}

/* A shared walk's read-side section (kvm_pgtable_walk_begin/end). */
static void mm_rcu_read_lock(void *ctx, s2_ipa_t ipa, uint64_t size)
{
	struct s2hyp *m = ctx;
	m->rcu_inside[op_slot(m)] = ++m->rcu_clock;
	if (m->cfg.check)
		s2hyp_checker_rcu_enter(m->chk, op_slot(m), s2_ipa_get(ipa), size);
}

static void mm_rcu_read_unlock(void *ctx)
{
	struct s2hyp *m = ctx;
	m->rcu_inside[op_slot(m)] = 0;
	if (m->cfg.check)
		s2hyp_checker_rcu_exit(m->chk, op_slot(m));
}

/* Whether the grace period of table i has ended: no reader inside since
 * before it was queued. */
static bool rcu_table_ready(const struct s2hyp *m, unsigned i)
{
	for (unsigned t = 0; t <= S2HYP_MAX_VCPUS; t++)
		if (m->rcu_inside[t] && m->rcu_inside[t] < m->rcu[i].queued)
			return false;
	return true;
}

bool s2hyp__rcu_ready(const struct s2hyp *m)
{
	for (unsigned i = 0; i < m->rcu_n; i++)
		if (rcu_table_ready(m, i))
			return true;
	return false;
}

void s2hyp__rcu_grace(struct s2hyp *m)
{
	/* The callbacks run in one step: their frees are no scheduling
	 * points (RCU runs them on another CPU, after the walkers that could
	 * see the tables have gone). */
	void (*point)(struct s2hyp *) = m->sched_point;
	int thread = m->op_thread;
	unsigned keep = 0;

	m->sched_point = NULL;
	m->op_thread = HOST_THREAD;
	for (unsigned i = 0; i < m->rcu_n; i++) {
		if (!rcu_table_ready(m, i)) {
			m->rcu[keep++] = m->rcu[i];
			continue;
		}
		m->stats.unlinked_frees++;
		s2pt_free_unlinked(&m->pt, m->rcu[i].table, m->rcu[i].level);
	}
	m->rcu_n = keep;
	m->op_thread = thread;
	m->sched_point = point;
}

/* One RCU callback, as a capture's function trace shows it
 * (kvm_pgtable_stage2_free_unlinked): the oldest table queued whose grace
 * period has ended is freed; none when none is ready. */
void s2hyp__rcu_callback(struct s2hyp *m)
{
	for (unsigned i = 0; i < m->rcu_n; i++) {
		if (!rcu_table_ready(m, i))
			continue;
		struct rcu_table t = m->rcu[i];
		memmove(&m->rcu[i], &m->rcu[i + 1], (m->rcu_n - i - 1) * sizeof(*m->rcu));
		m->rcu_n--;
		m->stats.unlinked_frees++;
		s2pt_free_unlinked(&m->pt, t.table, t.level);
		return;
	}
}

void s2hyp__rcu_free_all(struct s2hyp *m)
{
	/* The batch is taken off the list first: freeing has scheduling
	 * points, where a grace period (S2HYP_CH_RCU) must not find the same
	 * tables still queued and free them again. */
	unsigned n = m->rcu_n;
	struct rcu_table *batch = n ? malloc(n * sizeof(*batch)) : NULL;
	if (n && !batch) {
		s2hyp__fail(m, "out of memory freeing unlinked tables");
		return;
	}
	if (n)
		memcpy(batch, m->rcu, n * sizeof(*batch));
	m->rcu_n = 0;
	for (unsigned i = 0; i < n; i++) {
		m->stats.unlinked_frees++;
		s2pt_free_unlinked(&m->pt, batch[i].table, batch[i].level);
	}
	free(batch);
}

/* The store itself, once the scheduling point before it has passed; by
 * the operation running (the checker knows which, and whether it was an
 * exchange). */
static void store_pte(struct s2hyp *m, s2_pte_t *ptep, s2_pte_t pte, bool release, bool exchange)
{
	s2_pte_t old = *ptep;
	if (m->cfg.check)
		s2hyp_checker_op_pte_store(m->chk, op_slot(m), ptep, old, pte, exchange);
	if (release)
		__atomic_store_n(ptep, pte, __ATOMIC_RELEASE);
	else
		*(volatile s2_pte_t *)ptep = pte;
	m->stats.pte_stores++;
	count_store(m, ptep, old, pte);
	s2hyp__event(m, HOST_THREAD, EV_PTE_STORE, s2_pa_get(s2pool_pa(m->pool, ptep)), pte,
		     0, release);
}

/* The hypervisor read the descriptor at ptep: footprints know. (Out of
 * line: the common read, in the last range's page, then saves no
 * registers.) */
static __attribute__((noinline)) void hyp_read_new(struct s2hyp *m, const s2_pte_t *ptep)
{
	uintptr_t page = (uintptr_t)ptep & ~(((uintptr_t)1 << m->geom.granule_shift) - 1);
	uint64_t pa = s2_pa_get(s2pool_pa(m->pool, (void *)(uintptr_t)ptep));
	struct hyp_read *r = &m->hyp_reads[m->hyp_reads_n++ % S2HYP_HYP_READS];

	*r = (struct hyp_read){ pa, pa + sizeof(s2_pte_t) };
	/* Table pages are granule-aligned in the pool's arena, whose PAs
	 * follow its host addresses. (Not an address of the pool: no PA, and
	 * the next read looks up again, as the pool counts each.) */
	m->hyp_read_page = pa ? page : 0;
	m->hyp_read_cur = r;
	m->hyp_read_delta = pa - (uint64_t)(uintptr_t)ptep;
}

/* A read in the page of the last range extends it: true, else false. */
static inline bool hyp_read_extend(struct s2hyp *m, const s2_pte_t *ptep)
{
	uintptr_t va = (uintptr_t)ptep;

	if (!m->hyp_read_page || (va ^ m->hyp_read_page) >> m->geom.granule_shift)
		return false;
	struct hyp_read *r = m->hyp_read_cur;
	uint64_t pa = (uint64_t)va + m->hyp_read_delta;
	if (pa < r->lo)
		r->lo = pa;
	if (pa + sizeof(s2_pte_t) > r->hi)
		r->hi = pa + sizeof(s2_pte_t);
	return true;
}

static inline void hyp_read(struct s2hyp *m, const s2_pte_t *ptep)
{
	if (!hyp_read_extend(m, ptep))
		hyp_read_new(m, ptep);
}

/* A fault's map that finds another walker's marker tries to break it and
 * loses at once (s2hyp__fault_map counts it). */
static inline void read_marker(struct s2hyp *m, s2_pte_t val)
{
	if (val == S2PT_PTE_LOCKED && m->op == OP_FAULT_MAP && m->op_thread >= 0)
		m->vcpus[m->op_thread].break_lost = true;
}

/* A walk's load of an entry it decides on: for footprints, for the
 * checker when the operation holds the lock for read (only such a one keeps
 * what it read: s2hyp_checker_pte_read), and to count a fault's lost break. */
static void mm_pte_read(void *ctx, const s2_pte_t *ptep, s2_pte_t val)
{
	struct s2hyp *m = ctx;
	if (m->cfg.footprints)
		hyp_read(m, ptep);
	if (m->cfg.check) {
		unsigned slot = op_slot(m);
		if (m->held[slot].held && m->held[slot].shared)
			s2hyp_checker_pte_read(m->chk, slot, ptep, val);
	}
	read_marker(m, val);
}

static __attribute__((noinline)) void pte_read_footprint_new(struct s2hyp *m,
							      const s2_pte_t *ptep, s2_pte_t val)
{
	hyp_read_new(m, ptep);
	read_marker(m, val);
}

/* The same when only footprints keep a read (no operation holds the lock
 * for read, or the checker is off): the exhaustive search's walks, a
 * thousand reads a run. A read in the last range's page is a leaf call;
 * the rest is a tail call. */
static void mm_pte_read_footprint(void *ctx, const s2_pte_t *ptep, s2_pte_t val)
{
	struct s2hyp *m = ctx;

	if (!hyp_read_extend(m, ptep)) {
		pte_read_footprint_new(m, ptep, val);
		return;
	}
	read_marker(m, val);
}

static void mm_set_pte(void *ctx, s2_pte_t *ptep, s2_pte_t pte, bool release)
{
	struct s2hyp *m = ctx;
	s2hyp__sched_point(m);
	store_pte(m, ptep, pte, release, false);
}

/* Shared walks' exchange: one step, like the instruction. The compare
 * happens when the step runs, after the scheduling point, so another
 * operation's store in between makes it fail (storing nothing), as a
 * CAS that lost does. */
static bool mm_cmpxchg_pte(void *ctx, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	struct s2hyp *m = ctx;
	s2hyp__sched_point(m);
	if (*(volatile s2_pte_t *)ptep != old) {
		/* A lost exchange stores nothing but read the entry: it conflicts
		 * with any store to it. */
		if (m->cfg.footprints)
			hyp_read(m, ptep);
		if (new == S2PT_PTE_LOCKED && m->op == OP_FAULT_MAP && m->op_thread >= 0)
			m->vcpus[m->op_thread].break_lost = true;
		return false;
	}
	store_pte(m, ptep, new, true, true);
	return true;
}

static void mm_tlbi(void *ctx, enum s2pt_tlbi op, s2_ipa_t ipa, s2_level_t level)
{
	struct s2hyp *m = ctx;
	(void)level;
	if (m->drop_tlbi)
		return;
	s2hyp__sched_point(m);
	s2hyp__tlbi_apply(m, op, s2_ipa_get(ipa), 0);
	if (m->cfg.check)
		s2hyp_checker_tlbi(m->chk, op, s2_ipa_get(ipa), 0, m->tlbi_seq);
	m->stats.tlbis++;
	/* Each KVM helper issues one stage-2 TLBI (and stage-1 ones after it). */
	if (op == S2PT_TLBI_VMALLS12E1IS)
		m->stats.tlbi_calls[S2HYP_TLBI_VMID]++;
	else if (op == S2PT_TLBI_IPAS2E1IS)
		m->stats.tlbi_calls[S2HYP_TLBI_IPA]++;
	else if (op == S2PT_TLBI_IPAS2E1)
		m->stats.tlbi_calls[S2HYP_TLBI_LOCAL]++;
	s2hyp__event(m, HOST_THREAD, EV_TLBI, op, s2_ipa_get(ipa), 0, 0);
}

/* FEAT_TLBIRANGE: one TLBI RIPAS2E1IS over the range (__kvm_tlb_flush_vmid_range). */
static void mm_tlbi_range(void *ctx, s2_ipa_t ipa, uint64_t size)
{
	struct s2hyp *m = ctx;
	if (m->drop_tlbi)
		return;
	s2hyp__sched_point(m);
	s2hyp__tlbi_apply(m, S2PT_TLBI_RIPAS2E1IS, s2_ipa_get(ipa), size);
	if (m->cfg.check)
		s2hyp_checker_tlbi(m->chk, S2PT_TLBI_RIPAS2E1IS, s2_ipa_get(ipa), size,
				   m->tlbi_seq);
	m->stats.tlbis++;
	m->stats.tlbi_calls[S2HYP_TLBI_RANGE]++;
	s2hyp__event(m, HOST_THREAD, EV_TLBI, S2PT_TLBI_RIPAS2E1IS, s2_ipa_get(ipa), 0, 0);
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
	struct s2hyp *m = ctx;
	m->stats.dcache_calls++;
	m->stats.dcache_bytes += size;
	cmo(m, S2CACHE_DC_CIVAC, pa, size);
}

/* KVM's invalidate_icache_guest_page: clean to PoU unless IDC, invalidate
 * the icache unless DIC. */
static void mm_icache_inval_pou(void *ctx, s2_pa_t pa, uint64_t size)
{
	struct s2hyp *m = ctx;
	m->stats.icache_calls++;
	m->stats.icache_bytes += size;
	if (!m->cfg.idc && !m->cfg.fwb)
		cmo(m, S2CACHE_DC_CVAU, pa, size);
	if (!m->cfg.dic)
		cmo(m, S2CACHE_IC_IVAU, pa, size);
}

/* The mm-ops, with pte_read as given. */
#define MM_OPS(read) { \
	.zalloc_page = mm_zalloc_page, \
	.zalloc_pages_exact = mm_zalloc_pages_exact, \
	.free_page = mm_free_page, \
	.free_pages_exact = mm_free_pages_exact, \
	.get_page = mm_get_page, \
	.put_page = mm_put_page, \
	.page_count = mm_page_count, \
	.phys_to_virt = mm_phys_to_virt, \
	.virt_to_phys = mm_virt_to_phys, \
	.set_pte = mm_set_pte, \
	.cmpxchg_pte = mm_cmpxchg_pte, \
	.tlbi = mm_tlbi, \
	.tlbi_range = mm_tlbi_range, \
	.barrier = mm_barrier, \
	.dcache_clean_inval_poc = mm_dcache_clean_inval_poc, \
	.free_unlinked_table = mm_free_unlinked_table, \
	.rcu_read_lock = mm_rcu_read_lock, \
	.rcu_read_unlock = mm_rcu_read_unlock, \
	.pte_read = (read), \
	.icache_inval_pou = mm_icache_inval_pou, \
}

const struct s2pt_mm_ops s2hyp__mm_ops = MM_OPS(mm_pte_read);

/* The same without pte_read: the walker then tells of no read. */
static const struct s2pt_mm_ops mm_ops_unread = MM_OPS(NULL);
/* The same telling footprints alone. */
static const struct s2pt_mm_ops mm_ops_footprint = MM_OPS(mm_pte_read_footprint);

/* The walker tells of its reads only when someone keeps them (mm_pte_read):
 * footprints, or the checker while an operation holds the lock for read. */
void s2hyp__mm_ops_update(struct s2hyp *m)
{
	bool checker = m->cfg.check && m->readers;
	m->pt.ops = checker ? &s2hyp__mm_ops :
		    m->cfg.footprints ? &mm_ops_footprint : &mm_ops_unread;
}

