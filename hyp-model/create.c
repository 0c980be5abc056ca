/* Creating and deleting a machine: the machine (machine.c), the checker,
 * KVM's tables over it (kvm.c) and the scheduler's state (sched.c). The
 * one file that puts the parts together. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_kvm.h"
#include "hyp-model/s2hyp_sched.h"

/* Guest memory's host physical addresses start here; table pages elsewhere. */
#define RAM_PA_BASE (1ull << 32)
#define POOL_PA_BASE (1ull << 46)
#define POOL_BYTES (1ull << 30)

static int check_slots(const struct s2hyp_config *cfg, const struct s2hyp_memslot *slots,
		       unsigned n, const char **why)
{
	uint64_t page = (uint64_t)1 << cfg->granule_shift;

	if (n > S2HYP_MAX_SLOTS) {
		*why = "too many memslots";
		return S2_EINVAL;
	}
	if ((cfg->uffd_no_markers || cfg->uffd_no_wp_flush || cfg->uffd_no_fork_fix) &&
	    !cfg->host_mm) {
		*why = "userfaultfd fixes turned off (no fault markers, no write-protect "
		       "flush, no fork fix) need the host memory model";
		return S2_EINVAL;
	}
	if ((cfg->host_no_retry_check || cfg->host_map_writable_always ||
	     cfg->host_unmap_no_tlbi) && !cfg->host_mm) {
		*why = "KVM's host-mm bugs (no retry check, always-writable maps, unmap "
		       "without TLBI) need the host memory model";
		return S2_EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct s2hyp_memslot *s = &slots[i];
		if (!s->size || !s2_is_aligned(s->ipa, page) || !s2_is_aligned(s->size, page) ||
		    !s2_is_aligned(s->hva, page)) {
			*why = "memslot IPA, size and host address must be page-aligned and size non-zero";
			return S2_EINVAL;
		}
		if (s->ipa + s->size < s->ipa || s->ipa + s->size > s2_bit(cfg->ipa_bits)) {
			*why = "memslot beyond the IPA space";
			return S2_EINVAL;
		}
		if (s->hva + s->size < s->hva || s->hva + s->size > (1ull << 48)) {
			*why = "memslot host address beyond 48 bits";
			return S2_EINVAL;
		}
		if ((unsigned)s->backing > S2HYP_BACKING_MEMFD) {
			*why = "unknown memslot backing";
			return S2_EINVAL;
		}
		if ((s->backing == S2HYP_BACKING_MEMFD || s->uffd_missing || s->uffd_wp ||
		     s->uffd_minor) && !cfg->host_mm) {
			*why = "memfd and userfaultfd memslots need the host memory model";
			return S2_EINVAL;
		}
		if (s->backing == S2HYP_BACKING_HUGETLB_1G || s->backing == S2HYP_BACKING_HUGETLB_2M) {
			if (!s2_is_aligned(s->hva, s2hyp__backing_bytes(cfg->granule_shift, s->backing)) ||
			    !s2_is_aligned(s->size, s2hyp__backing_bytes(cfg->granule_shift, s->backing))) {
				*why = "a hugetlb memslot's host address and size must be aligned to its page size";
				return S2_EINVAL;
			}
		}
		for (unsigned j = 0; j < i; j++) {
			const struct s2hyp_memslot *t = &slots[j];
			if (s->ipa < t->ipa + t->size && t->ipa < s->ipa + s->size) {
				*why = "memslots overlap in IPA";
				return S2_EINVAL;
			}
			if (s->hva < t->hva + t->size && t->hva < s->hva + s->size) {
				*why = "memslots overlap in host address";
				return S2_EINVAL;
			}
		}
	}
	return 0;
}

/*
 * The table-page pool of the last machine deleted, kept for the next one,
 * and its cache model likewise.
 * A fuzzer builds a machine per schedule: reserving 1 GiB and faulting its
 * pages in again each time was a quarter of a schedule, in the kernel. A
 * pool given back is reset (s2pool_reset), so a machine on it starts as
 * on a new pool. One slot, exchanged atomically: machines may live in
 * several threads.
 */
static struct s2pool *spare_pool;

static struct s2pool *pool_take(unsigned granule_shift)
{
	struct s2pool *p = __atomic_exchange_n(&spare_pool, NULL, __ATOMIC_ACQ_REL);

	if (p && s2pool_reset(p, granule_shift, s2_pa(POOL_PA_BASE), POOL_BYTES))
		return p;
	s2pool_delete(p);
	return s2pool_new(granule_shift, s2_pa(POOL_PA_BASE), POOL_BYTES);
}

/* The same for the cache model: a reset keeps its block tables. */
static struct s2cache *spare_cache;

static int cache_take(const struct s2cache_config *cc, struct s2cache **out)
{
	struct s2cache *c = __atomic_exchange_n(&spare_cache, NULL, __ATOMIC_ACQ_REL);

	if (c && !s2cache_reset(c, cc)) {
		*out = c;
		return 0;
	}
	s2cache_destroy(c);
	return s2cache_create(cc, out);
}

static void cache_give(struct s2cache *c)
{
	if (c)
		s2cache_destroy(__atomic_exchange_n(&spare_cache, c, __ATOMIC_ACQ_REL));
}

static void pool_give(struct s2pool *p)
{
	if (p)
		s2pool_delete(__atomic_exchange_n(&spare_pool, p, __ATOMIC_ACQ_REL));
}

/*
 * Everything about a machine that follows from its configuration and
 * memslots, on m either new (zeroed, with its scheduler) or reset (zeroed
 * but for the memory it keeps: the cache model, pool, checker, TLB arrays
 * and maps, dirty bitmaps). On error m can only be deleted.
 */
static int setup(struct s2hyp *m, const struct s2hyp_config *cfg, const struct s2pt_geom *g,
		 const struct s2hyp_memslot *slots, unsigned nr_slots, const char **why)
{
	struct s2cache_config cc;
	int ret;

	m->cfg = *cfg;
	m->made_cfg = *cfg;
	if (nr_slots)
		memcpy(m->made_slots, slots, nr_slots * sizeof(*slots));
	m->parallel = s2hyp_variant_parallel(cfg->variant);
	if (!m->cfg.max_faults_per_access)
		m->cfg.max_faults_per_access = 16;
	if (!m->cfg.no_progress_faults)
		m->cfg.no_progress_faults = 4;
	m->geom = *g;
	m->op_thread = HOST_THREAD;

	s2cache_config_init(&cc);
	cc.ncpus = cfg->nr_vcpus + 1;	/* the vCPUs, and the host's CPU */
	cc.pa_bits = 48;
	cc.line_bytes = cfg->line_bytes ? cfg->line_bytes : 64;
	cc.idc = cfg->idc || cfg->fwb;	/* FWB implies IDC (Arm ARM, FEAT_S2FWB) */
	cc.dic = cfg->dic;
	ret = m->cache ? s2cache_reset(m->cache, &cc) : cache_take(&cc, &m->cache);
	if (ret) {
		*why = "bad cache configuration (line size must be a power of two, 16 to 2048)";
		return ret;
	}
	if (m->pool && !s2pool_reset(m->pool, cfg->granule_shift, s2_pa(POOL_PA_BASE), POOL_BYTES)) {
		s2pool_delete(m->pool);
		m->pool = NULL;
	}
	if (!m->pool)
		m->pool = pool_take(cfg->granule_shift);
	if (!m->pool) {
		*why = "cannot reserve table-page memory";
		return S2_ENOMEM;
	}
	struct s2hyp_checker_config chk = {
		.pt = &m->pt, .pool = m->pool, .cache = m->cache, .fwb = cfg->fwb, .dic = cfg->dic,
		.stats = &m->stats, .report = s2hyp__on_violation, .arg = m,
	};
	if (m->chk)
		s2hyp_checker_reset(m->chk, &chk);
	else
		m->chk = s2hyp_checker_new(&chk);
	if (!m->chk) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	/* Guest RAM: host physical addresses keep the host virtual alignment,
	 * as a THP or hugetlb page is physically contiguous and aligned. */
	for (unsigned i = 0; i < nr_slots; i++) {
		struct slot *s = &m->slots[i];
		size_t pages = slots[i].size >> cfg->granule_shift;
		s->d = slots[i];
		s->pa = RAM_PA_BASE + (slots[i].hva & ((1ull << 40) - 1));
		if (s->dirty)
			memset(s->dirty, 0, pages);
		else
			s->dirty = calloc(pages, 1);
		if (!s->dirty) {
			*why = "out of memory";
			return S2_ENOMEM;
		}
	}
	m->nr_slots = nr_slots;
	if (cfg->host_mm && (ret = s2hyp__hostvm_create(m, why)))
		return ret;
	{
		struct s2hyp_checker_slot cs[S2HYP_MAX_SLOTS];
		for (unsigned i = 0; i < nr_slots; i++)
			cs[i] = (struct s2hyp_checker_slot){ slots[i].ipa, slots[i].size,
							     m->hv ? S2HYP_CHECKER_ANY_PA : m->slots[i].pa,
							     slots[i].readonly };
		s2hyp_checker_slots(m->chk, cs, nr_slots);
	}
	for (unsigned i = 0; i < cfg->nr_vcpus; i++) {
		m->vcpus[i].id = i;
		m->vcpus[i].state = V_DONE;
	}
	ret = s2hyp__kvm_init(m);
	if (ret) {
		*why = "cannot allocate the root tables";
		return ret;
	}
	return 0;
}

int s2hyp_create(const struct s2hyp_config *cfg, const struct s2hyp_memslot *slots,
		 unsigned nr_slots, struct s2hyp **out, const char **why)
{
	const char *dummy;
	int ret;

	if (!why)
		why = &dummy;
	*out = NULL;
	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > S2HYP_MAX_VCPUS) {
		*why = "number of vCPUs must be 1 to 16";
		return S2_EINVAL;
	}
	if ((unsigned)cfg->variant >= S2PT_NR_VARIANTS) {
		*why = "unknown walker variant";
		return S2_EINVAL;
	}
	struct s2pt_geom g;
	ret = s2pt_geom_init(&g, cfg->granule_shift, cfg->ipa_bits, why);
	if (ret)
		return ret;
	ret = check_slots(cfg, slots, nr_slots, why);
	if (ret)
		return ret;

	struct s2hyp *m = calloc(1, sizeof(*m));
	if (!m) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	m->cfg = *cfg;
	if (!s2hyp__sched_init(m)) {
		free(m);
		*why = "out of memory";
		return S2_ENOMEM;
	}
	ret = setup(m, cfg, &g, slots, nr_slots, why);
	if (ret) {
		s2hyp_delete(m);
		return ret;
	}
	*out = m;
	return 0;
}

/*
 * A reset machine is the one s2hyp_create made, before any program, run,
 * observer or driver: the whole struct is zeroed as calloc left it, and
 * only memory is kept (nothing it holds is read before it is written
 * again: arrays by their counts, maps cleared).
 */
int s2hyp_reset(struct s2hyp *m, const char **why)
{
	const char *dummy;
	struct s2hyp_config cfg = m->made_cfg;
	struct s2hyp_memslot slots[S2HYP_MAX_SLOTS];
	unsigned nr_slots = m->nr_slots;
	struct s2pt_geom g = m->geom;
	/* What is kept: memory, by pointer and capacity. */
	struct {
		struct s2hyp_sched *sch;
		struct s2pool *pool;
		struct s2cache *cache;
		struct s2hyp_checker *chk;
		struct pending_tlbi *pending;
		struct s2hyp_tlb_entry *scratch;
		struct rcu_table *rcu;
		unsigned pending_cap, scratch_cap, rcu_cap;
		struct s2_map guest_lines;
		uint8_t *dirty[S2HYP_MAX_SLOTS];
		struct {
			struct s2hyp_tlb_entry *tlb;
			struct wc_entry *wc;
			unsigned tlb_cap, wc_cap;
			struct s2_map tlb_idx, tlb_inner, wc_idx;
		} v[S2HYP_MAX_VCPUS];
	} k = {
		m->sch, m->pool, m->cache, m->chk, m->pending, m->scratch, m->rcu,
		m->pending_cap, m->scratch_cap, m->rcu_cap, m->guest_lines, { 0 }, { { 0 } },
	};

	if (!why)
		why = &dummy;
	for (unsigned i = 0; i < nr_slots; i++)
		slots[i] = m->made_slots[i];
	for (unsigned i = 0; i < S2HYP_MAX_SLOTS; i++)
		k.dirty[i] = m->slots[i].dirty;
	s2_map_clear(&k.guest_lines);
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++) {
		struct vcpu *v = &m->vcpus[i];
		free(v->prog);
		k.v[i].tlb = v->tlb;
		k.v[i].tlb_cap = v->tlb_cap;
		k.v[i].wc = v->wc;
		k.v[i].wc_cap = v->wc_cap;
		k.v[i].tlb_idx = v->tlb_idx;
		k.v[i].tlb_inner = v->tlb_inner;
		k.v[i].wc_idx = v->wc_idx;
		s2_map_clear(&k.v[i].tlb_idx);
		s2_map_clear(&k.v[i].tlb_inner);
		s2_map_clear(&k.v[i].wc_idx);
	}
	free(m->host_prog);
	s2hyp__hostvm_delete(m);

	/* vCPUs past cfg.nr_vcpus are never written: they are as calloc left
	 * them (zero memory is most of the struct's size, and clearing it was
	 * a tenth of a small schedule). */
	memset(m, 0, offsetof(struct s2hyp, vcpus));
	memset(m->vcpus, 0, cfg.nr_vcpus * sizeof(m->vcpus[0]));
	memset(&m->vcpus[S2HYP_MAX_VCPUS], 0, sizeof(*m) - offsetof(struct s2hyp, vcpus[S2HYP_MAX_VCPUS]));
	m->sch = k.sch;
	m->pool = k.pool;
	m->cache = k.cache;
	m->chk = k.chk;
	m->pending = k.pending;
	m->pending_cap = k.pending_cap;
	m->scratch = k.scratch;
	m->scratch_cap = k.scratch_cap;
	m->rcu = k.rcu;
	m->rcu_cap = k.rcu_cap;
	m->guest_lines = k.guest_lines;
	for (unsigned i = 0; i < S2HYP_MAX_SLOTS; i++)
		m->slots[i].dirty = k.dirty[i];
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++) {
		struct vcpu *v = &m->vcpus[i];
		v->tlb = k.v[i].tlb;
		v->tlb_cap = k.v[i].tlb_cap;
		v->wc = k.v[i].wc;
		v->wc_cap = k.v[i].wc_cap;
		v->tlb_idx = k.v[i].tlb_idx;
		v->tlb_inner = k.v[i].tlb_inner;
		v->wc_idx = k.v[i].wc_idx;
	}
	s2hyp__sched_reset(m);
	return setup(m, &cfg, &g, slots, nr_slots, why);
}

void s2hyp_delete(struct s2hyp *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++) {
		free(m->vcpus[i].prog);
		free(m->vcpus[i].tlb);
		free(m->vcpus[i].wc);
		s2_map_free(&m->vcpus[i].tlb_idx);
		s2_map_free(&m->vcpus[i].tlb_inner);
		s2_map_free(&m->vcpus[i].wc_idx);
	}
	for (unsigned i = 0; i < m->nr_slots; i++)
		free(m->slots[i].dirty);
	free(m->host_prog);
	free(m->rcu);
	s2_map_free(&m->guest_lines);
	free(m->pending);
	free(m->scratch);
	s2hyp__sched_fini(m);
	s2hyp__hostvm_delete(m);
	s2hyp_checker_delete(m->chk);
	pool_give(m->pool);
	cache_give(m->cache);
	free(m);
}
