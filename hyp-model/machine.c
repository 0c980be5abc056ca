/* The machine: vCPUs with their TLBs, walk caches and hardware walkers,
 * TLBI/DSB semantics, guest accesses, events and the checker's sink. It
 * calls nothing above it: KVM (kvm.c, mmops.c) works on it, the scheduler
 * (sched.c) moves its vCPUs one hardware step at a time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "arch/s2arm.h"
#include "hyp-model/s2hyp_internal.h"

void s2hyp_config_init(struct s2hyp_config *cfg)
{
	/* Member by member after a memset, so that padding is zero too and
	 * two defaults compare equal byte for byte (a compound literal's
	 * padding may be anything). */
	memset(cfg, 0, sizeof(*cfg));
	cfg->granule_shift = 12;
	cfg->ipa_bits = 40;
	cfg->nr_vcpus = 2;
	cfg->line_bytes = 64;
	cfg->variant = S2PT_V_UPSTREAM;
	cfg->check = true;
	cfg->footprints = true;
	cfg->explore_evictions = true;
	cfg->explore_prefetch = true;
	cfg->max_faults_per_access = 16;
}

void s2hyp__fail(struct s2hyp *m, const char *fmt, ...)
{
	va_list ap;

	if (m->outcome == S2HYP_DONE) {
		va_start(ap, fmt);
		vsnprintf(m->error, sizeof(m->error), fmt, ap);
		va_end(ap);
		m->outcome = S2HYP_ERROR;
	}
	m->stopped = true;
}

void s2hyp__fail_host_op(struct s2hyp *m, const struct s2hyp_host_op *op, const char *fmt, ...)
{
	va_list ap;

	if (m->outcome == S2HYP_DONE) {
		va_start(ap, fmt);
		vsnprintf(m->error, sizeof(m->error), fmt, ap);
		va_end(ap);
		m->outcome = S2HYP_ERROR;
		if (op >= m->host_prog && op < m->host_prog + m->host_n)
			m->error_op = (size_t)(op - m->host_prog) + 1;
	}
	m->stopped = true;
}

uint64_t s2hyp__host_cpu(const struct s2hyp *m)
{
	return m->cfg.nr_vcpus;
}

void s2hyp__host_wrote(struct s2hyp *m, uint64_t pa, uint64_t size)
{
	if (!m->guest_lines.n)
		return;
	for (uint64_t l = s2_align_down(pa, m->cfg.line_bytes); l < pa + size; l += m->cfg.line_bytes)
		s2_map_del(&m->guest_lines, l / m->cfg.line_bytes + 1);
}

/* ------------------------------------------------------------------ */
/* The checker's reports                                               */
/* ------------------------------------------------------------------ */

static void copy_ring(struct s2hyp_event *dst, unsigned *n, const struct s2hyp_event *ring,
		      unsigned total)
{
	unsigned k = total < S2HYP_HISTORY ? total : S2HYP_HISTORY;
	for (unsigned i = 0; i < k; i++)
		dst[i] = ring[(total - k + i) % S2HYP_HISTORY];
	*n = k;
}

/* The checker's sink: a violation stops the run when asked to; the first
 * of each rule gets the step and every thread's last events. */
void s2hyp__on_violation(void *arg, enum s2hyp_rule rule, struct s2hyp_violation *v)
{
	struct s2hyp *m = arg;

	(void)rule;
	if (m->stop_on_violation)
		m->stopped = true;
	if (!v)
		return;
	v->step = m->step;
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
	return s2hyp_checker_nr_violations(m->chk);
}

const struct s2hyp_violation *s2hyp_violation(const struct s2hyp *m, unsigned i)
{
	return s2hyp_checker_violation(m->chk, i);
}

bool s2hyp_rule_fired(const struct s2hyp *m, enum s2hyp_rule r)
{
	return (unsigned)r < S2HYP_NR_RULES && m->stats.violations[r] > 0;
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
	struct s2hyp_checker_entry ce;
	s2hyp_checker_entry(m->chk, ptep, &ce);
	*e = (struct s2hyp_entry){ .level = ce.level, .ipa = ce.ipa, .value = *ptep, .ghost = ce.ghost };
	return 0;
}

uint64_t s2hyp__backing_bytes(unsigned granule_shift, enum s2hyp_backing b)
{
	switch (b) {
	case S2HYP_BACKING_THP:
		/* A PMD-sized page of the host's granule. */
		return 1ull << (2 * granule_shift - 3);
	case S2HYP_BACKING_HUGETLB_2M:
		return 2ull << 20;
	case S2HYP_BACKING_HUGETLB_1G:
		return 1ull << 30;
	case S2HYP_BACKING_4K:
	case S2HYP_BACKING_MEMFD:
		break;
	}
	return 1ull << granule_shift;
}

struct slot *s2hyp__slot_of_ipa(struct s2hyp *m, uint64_t ipa)
{
	for (unsigned i = 0; i < m->nr_slots; i++)
		if (ipa >= m->slots[i].d.ipa && ipa - m->slots[i].d.ipa < m->slots[i].d.size)
			return &m->slots[i];
	return NULL;
}

struct slot *s2hyp__slot_of_hva(struct s2hyp *m, uint64_t hva)
{
	for (unsigned i = 0; i < m->nr_slots; i++)
		if (hva >= m->slots[i].d.hva && hva - m->slots[i].d.hva < m->slots[i].d.size)
			return &m->slots[i];
	return NULL;
}

int s2hyp_check_host_op(const struct s2hyp *m, const struct s2hyp_host_op *o, const char **why)
{
	switch (o->kind) {
	case S2HYP_HOST_WRITE: {
		struct slot *s = s2hyp__slot_of_hva((struct s2hyp *)m, o->addr);
		if (!s || !o->size || o->addr + o->size > s->d.hva + s->d.size) {
			*why = "host write outside any memslot";
			return S2_EINVAL;
		}
		return 0;
	}
	case S2HYP_HOST_DIRTY_LOG_ON:
	case S2HYP_HOST_DIRTY_LOG_OFF:
	case S2HYP_HOST_GET_DIRTY_LOG:
		if (o->slot >= m->nr_slots) {
			*why = "no such memslot";
			return S2_EINVAL;
		}
		return 0;
	case S2HYP_HOST_UNMAP_HVA:
	case S2HYP_HOST_AGE_HVA:
		if (!o->size || o->addr + o->size < o->addr) {
			*why = "empty or wrapping host address range";
			return S2_EINVAL;
		}
		return 0;
	case S2HYP_HOST_UNMAP_IPA:
	case S2HYP_HOST_WRPROTECT_IPA:
	case S2HYP_HOST_FLUSH_IPA:
	case S2HYP_HOST_AGE_IPA:
	case S2HYP_HOST_SPLIT_IPA:
		if (!o->size || o->addr + o->size > s2_bit(m->cfg.ipa_bits) ||
		    o->addr + o->size < o->addr) {
			*why = "IPA range empty or beyond the IPA space";
			return S2_EINVAL;
		}
		return 0;
	case S2HYP_HOST_DESTROY:
	case S2HYP_HOST_RCU_CALLBACK:
		return 0;
	case S2HYP_HOST_INVALIDATE_BEGIN:
	case S2HYP_HOST_INVALIDATE_END:
		if (m->hv) {
			*why = "with host-mm, the host's own events invalidate (through its notifier)";
			return S2_EINVAL;
		}
		return 0;
	case S2HYP_HOST_MM:
		if (!m->hv_check_op) {
			*why = "host-mm events need a machine whose memory is the host's (host-mm)";
			return S2_EINVAL;
		}
		return m->hv_check_op(m, o, why);
	}
	*why = "unknown host operation";
	return S2_EINVAL;
}

int s2hyp_set_host_program(struct s2hyp *m, const struct s2hyp_host_op *ops, size_t n,
			   const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	for (size_t i = 0; i < n; i++) {
		int ret = s2hyp_check_host_op(m, &ops[i], why);
		if (ret)
			return ret;
	}
	struct s2hyp_host_op *copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (n && !copy) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	if (n)
		memcpy(copy, ops, n * sizeof(*copy));
	free(m->host_prog);
	m->host_prog = copy;
	m->host_n = n;
	m->host_pc = 0;
	m->minp_valid = false;
	return 0;
}

int s2hyp_check_vcpu_op(const struct s2hyp *m, unsigned vcpu, const struct s2hyp_vcpu_op *o,
			const char **why)
{
	unsigned size = o->access == S2HYP_ACC_EXEC ? 4 : o->size;

	if (vcpu >= m->cfg.nr_vcpus) {
		*why = "no such vCPU (see the vcpus of the configuration)";
		return S2_EINVAL;
	}
	if (size < 1 || size > 8 || (o->ipa & (size - 1)) || (size & (size - 1))) {
		*why = "guest access size must be 1, 2, 4 or 8 and naturally aligned";
		return S2_EINVAL;
	}
	if (o->ipa >= s2_bit(m->cfg.ipa_bits)) {
		*why = "guest access beyond the IPA space";
		return S2_EINVAL;
	}
	if ((unsigned)o->access > S2HYP_ACC_EXEC) {
		*why = "unknown guest access";
		return S2_EINVAL;
	}
	return 0;
}

int s2hyp_set_vcpu_program(struct s2hyp *m, unsigned vcpu, const struct s2hyp_vcpu_op *ops,
			   size_t n, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	if (vcpu >= m->cfg.nr_vcpus) {
		*why = "no such vCPU";
		return S2_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		int ret = s2hyp_check_vcpu_op(m, vcpu, &ops[i], why);
		if (ret)
			return ret;
	}
	struct vcpu *v = &m->vcpus[vcpu];
	struct s2hyp_vcpu_op *copy = n ? malloc(n * sizeof(*copy)) : NULL;
	if (n && !copy) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	if (n)
		memcpy(copy, ops, n * sizeof(*copy));
	for (size_t i = 0; i < n; i++)
		if (copy[i].access == S2HYP_ACC_EXEC)
			copy[i].size = 4;
	free(v->prog);
	v->prog = copy;
	v->nprog = n;
	v->pc = 0;
	v->state = n ? V_READY : V_DONE;
	v->drv = NULL;
	m->minp_valid = false;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/* The program item an event of thread serves, for observers. */
static const char *event_src(const struct s2hyp *m, int thread)
{
	const struct vcpu *v = NULL;

	if (thread >= 0)
		v = &m->vcpus[thread];
	else if (thread == HOST_THREAD && m->locked && m->op_thread >= 0)
		v = &m->vcpus[m->op_thread];
	else if (thread == HOST_THREAD && m->locked)
		return m->host_pc < m->host_n ? m->host_prog[m->host_pc].src : NULL;
	if (!v || v->drv || v->pc >= v->nprog)
		return NULL;
	return v->prog[v->pc].src;
}

void s2hyp__event_observed(struct s2hyp *m, int thread, const struct s2hyp_event *e)
{
	m->obs.event(m->obs.arg, m, e, event_src(m, thread));
}

void s2hyp_set_observer(struct s2hyp *m, const struct s2hyp_observer *obs)
{
	m->obs = obs ? *obs : (struct s2hyp_observer){ 0 };
}

/* ------------------------------------------------------------------ */
/* TLB and walk cache                                                  */
/* ------------------------------------------------------------------ */

static int idx_get(const struct s2_map *t, uint64_t key)
{
	uint64_t v;
	return s2_map_get(t, key, &v) ? (int)v : -1;
}

static uint64_t entry_key(uint64_t ipa, s2_level_t level)
{
	return ipa | (uint64_t)(level + 1);
}

int s2hyp__tlb_find(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa_aligned,
		    s2_level_t level)
{
	(void)m;
	return idx_get(&v->tlb_idx, entry_key(ipa_aligned, level));
}

int s2hyp__wc_find(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa, s2_level_t level)
{
	uint64_t size = s2pt_granule_size(&m->geom, (s2_level_t)(level - 1));
	return idx_get(&v->wc_idx, entry_key(s2_align_down(ipa, size), level));
}

/* One probe per level a leaf can sit at. */
struct s2hyp_tlb_entry *s2hyp__tlb_lookup(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa)
{
	const struct s2pt_geom *g = &m->geom;
	for (s2_level_t l = S2_LEVEL_MAX; l >= g->min_block_level; l--) {
		if (!v->tlb_per_level[l])
			continue;
		int i = s2hyp__tlb_find(m, v, s2_align_down(ipa, s2pt_granule_size(g, l)), l);
		if (i >= 0)
			return &v->tlb[i];
	}
	return NULL;
}

/* Entries of v's TLB smaller than the region of level l holding ipa,
 * inside it (l a block level). */
static uint64_t tlb_inner_count(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa,
				s2_level_t l)
{
	uint64_t n;
	return s2_map_get(&v->tlb_inner, entry_key(s2_align_down(ipa, s2pt_granule_size(&m->geom, l)), l),
			  &n) ? n : 0;
}

/* Count e into (add) or out of the block-sized regions above it. False
 * when out of memory. */
static bool tlb_inner_update(const struct s2hyp *m, struct vcpu *v,
			     const struct s2hyp_tlb_entry *e, bool add)
{
	for (s2_level_t l = m->geom.min_block_level; l < (s2_level_t)e->level; l++) {
		uint64_t key = entry_key(s2_align_down(e->ipa, s2pt_granule_size(&m->geom, l)), l);
		uint64_t *n = add ? s2_map_ref(&v->tlb_inner, key) : s2_map_find(&v->tlb_inner, key);
		if (add && !n)
			return false;
		if (add)
			(*n)++;
		else if (n && *n > 1)
			(*n)--;
		else
			s2_map_del(&v->tlb_inner, key);
	}
	return true;
}

/* The walk cache's capacity: a sixteenth of the TLB's, at least 16. */
static unsigned wc_capacity(const struct s2hyp *m)
{
	unsigned n = m->cfg.tlb_entries / 16;
	return !m->cfg.tlb_entries ? 0 : n < 16 ? 16 : n;
}

static void tlb_remove(const struct s2hyp *m, struct vcpu *v, unsigned i)
{
	struct s2hyp_tlb_entry *e = &v->tlb[i];
	s2_map_del(&v->tlb_idx, entry_key(e->ipa, (s2_level_t)e->level));
	tlb_inner_update(m, v, e, false);	/* only deletes or lowers: no allocation */
	v->tlb_per_level[e->level]--;
	v->tlb_gen++;
	if (i != --v->tlb_n) {
		v->tlb[i] = v->tlb[v->tlb_n];
		*s2_map_find(&v->tlb_idx, entry_key(v->tlb[i].ipa, (s2_level_t)v->tlb[i].level)) = i;
	}
}

static void wc_remove(struct vcpu *v, unsigned i)
{
	struct wc_entry *e = &v->wc[i];
	s2_map_del(&v->wc_idx, entry_key(e->ipa, e->level));
	if (i != --v->wc_n) {
		v->wc[i] = v->wc[v->wc_n];
		*s2_map_find(&v->wc_idx, entry_key(v->wc[i].ipa, v->wc[i].level)) = i;
	}
}

/* The TLB's leaf entries, not the walk cache. */
static void tlb_clear_leaves(struct vcpu *v)
{
	v->tlb_gen++;
	v->tlb_n = 0;
	memset(v->tlb_per_level, 0, sizeof(v->tlb_per_level));
	s2_map_clear(&v->tlb_idx);
	s2_map_clear(&v->tlb_inner);
}

static void tlb_clear(struct vcpu *v)
{
	tlb_clear_leaves(v);
	v->wc_n = 0;
	s2_map_clear(&v->wc_idx);
}

/* Whether a TLBI by IPA (or over [ipa, ipa + size) for a range TLBI) hits
 * an entry covering [e_ipa, e_ipa + e_size). The level hint is ignored: an
 * implementation may, and the model does. */
static bool tlbi_hits(enum s2pt_tlbi op, uint64_t ipa, uint64_t size, uint64_t e_ipa,
		      uint64_t e_size)
{
	switch (op) {
	case S2PT_TLBI_VMALLS12E1IS:
		return true;
	case S2PT_TLBI_RIPAS2E1IS:
		return ipa < e_ipa + e_size && e_ipa < ipa + size;
	case S2PT_TLBI_IPAS2E1IS:
	case S2PT_TLBI_IPAS2E1:
		return ipa - e_ipa < e_size;
	case S2PT_TLBI_VMALLE1IS:
	case S2PT_TLBI_VMALLE1:
		break;	/* stage 1 by VMID: no stage-2-only entry (tlbi_vcpu) */
	}
	return false;
}

static void tlbi_vcpu(const struct s2hyp *m, struct vcpu *v, enum s2pt_tlbi op, uint64_t ipa,
		      uint64_t size)
{
	const struct s2pt_geom *g = &m->geom;

	if (op == S2PT_TLBI_VMALLS12E1IS) {
		tlb_clear(v);
		return;
	}
	if (op == S2PT_TLBI_VMALLE1IS || op == S2PT_TLBI_VMALLE1) {
		/* Every stage-1 entry of the VMID, those that combine stage 1
		 * with stage 2 included, and no stage-2-only entry: the leaves
		 * when they are combined entries only, never the walk cache's
		 * stage-2 table descriptors. */
		if (m->cfg.combined_tlb)
			tlb_clear_leaves(v);
		return;
	}
	if (op == S2PT_TLBI_RIPAS2E1IS) {
		/* Every leaf and cached table descriptor used for an address in
		 * the range. */
		for (unsigned i = 0; i < v->tlb_n;)
			if (tlbi_hits(op, ipa, size, v->tlb[i].ipa, v->tlb[i].size))
				tlb_remove(m, v, i);
			else
				i++;
		for (unsigned i = 0; i < v->wc_n;)
			if (tlbi_hits(op, ipa, size, v->wc[i].ipa, v->wc[i].size))
				wc_remove(v, i);
			else
				i++;
		return;
	}
	if (!tlbi_hits(op, ipa, 1, ipa, 1))
		return;
	/* By IPA: the leaf translating ipa at each size, and the cached table
	 * descriptors on its path. */
	for (s2_level_t l = g->min_block_level; l <= S2_LEVEL_MAX; l++) {
		if (!v->tlb_per_level[l])
			continue;
		int i = s2hyp__tlb_find(m, v, s2_align_down(ipa, s2pt_granule_size(g, l)), l);
		if (i >= 0)
			tlb_remove(m, v, (unsigned)i);
	}
	for (s2_level_t l = (s2_level_t)(g->start_level + 1); l <= S2_LEVEL_MAX && v->wc_n; l++) {
		uint64_t span = s2pt_granule_size(g, (s2_level_t)(l - 1));
		int i = idx_get(&v->wc_idx, entry_key(s2_align_down(ipa, span), l));
		if (i >= 0)
			wc_remove(v, (unsigned)i);
	}
}

/*
 * A TLBI takes effect on every TLB at once, but a walk already in flight may
 * still fill the old translation until the DSB that completes the TLBI: keep
 * it pending, and apply it again then (DDI 0487 D8.13.5).
 */
void s2hyp__tlbi_apply(struct s2hyp *m, enum s2pt_tlbi op, uint64_t ipa, uint64_t size)
{
	m->tlbi_seq++;
	if ((op == S2PT_TLBI_VMALLE1IS || op == S2PT_TLBI_VMALLE1) && !m->cfg.combined_tlb)
		return;	/* every leaf also stands for a stage-2-only copy */
	bool local = op == S2PT_TLBI_IPAS2E1 || op == S2PT_TLBI_VMALLE1;
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		/* A local TLBI runs on the faulting vCPU's physical CPU. */
		if (local && (int)i != m->op_thread)
			continue;
		tlbi_vcpu(m, &m->vcpus[i], op, ipa, size);
	}
	if (local)
		return;
	if (!s2_grow((void **)&m->pending, &m->pending_cap, sizeof(*m->pending), m->pending_n + 1)) {
		s2hyp__fail(m, "out of memory");
		return;
	}
	m->pending[m->pending_n++] = (struct pending_tlbi){ op, ipa, m->tlbi_seq, size };
}

/*
 * A TLBI by IPA X invalidates every descriptor used to translate X, from the
 * start level down. A walk in flight for another address Y that used one of
 * the same descriptors (Y in the same start-level region) depends on an
 * invalidated entry: the DSB completing the TLBI waits for it, which the
 * model renders as a restart (DDI 0487 D8.13.5). KVM relies on this when it
 * frees an emptied table after a TLBI of one address under it.
 */
static bool walk_hit_by(const struct s2pt_geom *g, const struct hw_walk *w,
			const struct pending_tlbi *p)
{
	uint64_t region = s2pt_granule_size(g, g->start_level);
	return w->start_seq < p->seq &&
	       tlbi_hits(p->op, p->ipa, p->size, s2_align_down(w->ipa, region), region);
}

void s2hyp__dsb_complete(struct s2hyp *m)
{
	for (unsigned k = 0; k < m->pending_n; k++) {
		const struct pending_tlbi *p = &m->pending[k];
		/* A TLBI by address or range removed, when issued, every entry it
		 * hits: only one filled since can be hit now. */
		bool by_addr = p->op == S2PT_TLBI_IPAS2E1IS || p->op == S2PT_TLBI_RIPAS2E1IS;
		for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
			struct vcpu *v = &m->vcpus[i];
			if (!by_addr || v->fill_seq >= p->seq)
				tlbi_vcpu(m, v, p->op, p->ipa, p->size);
			if ((v->state == V_WALK || v->state == V_FILL) && walk_hit_by(&m->geom, &v->walk, p)) {
				v->state = V_READY;
				m->stats.vcpu[i].walk_restarts++;
			}
		}
	}
	m->pending_n = 0;
}

/* ------------------------------------------------------------------ */
/* The hardware walker and accesses                                    */
/* ------------------------------------------------------------------ */

static const struct s2hyp_vcpu_op *cur_op(const struct vcpu *v)
{
	return v->pc < v->nprog ? &v->prog[v->pc] : NULL;
}

static uint8_t prot_of_leaf(const struct s2hyp *m, s2_pte_t pte)
{
	return (uint8_t)s2pt_pte_prot(pte, m->cfg.fwb);
}

static void walk_start(struct s2hyp *m, struct vcpu *v, struct hw_walk *w, uint64_t ipa,
		       bool speculative)
{
	s2hyp__hw_begin(m, v, w, ipa);
	w->start_seq = m->tlbi_seq;
	w->speculative = speculative;
	if (!speculative)
		m->stats.vcpu[v->id].walks++;
}

/* One step of a vCPU's walk: the hardware walker's step (hwwalk.c), then
 * what it does to the machine: the event, the walk cache, the checker. */
static enum walk_result walk_step(struct s2hyp *m, struct vcpu *v, struct hw_walk *w)
{
	const struct s2pt_geom *g = &m->geom;
	struct hw_read r;
	enum walk_result res = s2hyp__hw_step(m, w, &r);

	if (res == WALK_ABORT) {
		if (m->cfg.check)
			s2hyp_checker_walk_read(m->chk, v->id, w->ipa, r.table_pa, r.dpa, r.level, r.st);
		/* Forget the cached pointer that led here (reported above), or
		 * every retry of the access would take the same path forever. */
		for (unsigned i = 0; i < v->wc_n;) {
			if (v->wc[i].table_pa == r.table_pa)
				wc_remove(v, i);
			else
				i++;
		}
		return WALK_ABORT;
	}
	s2hyp__event(m, (int)v->id, EV_WALK_READ, r.dpa, r.pte, (unsigned)r.level, 0);
	if (res != WALK_MORE)
		return res;
	uint64_t size = s2pt_granule_size(g, r.level);
	if (s2_grow((void **)&v->wc, &v->wc_cap, sizeof(*v->wc), v->wc_n + 1)) {
		/* One cached descriptor per table: replace an older one. */
		uint64_t key = entry_key(s2_align_down(w->ipa, size), w->level);
		int i = idx_get(&v->wc_idx, key);
		if (i < 0 && wc_capacity(m) && v->wc_n >= wc_capacity(m))
			wc_remove(v, v->wc_victim++ % v->wc_n);
		if (i < 0) {
			/* Index first: a failed put leaves no uncounted entry. */
			if (!s2_map_put(&v->wc_idx, key, v->wc_n)) {
				s2hyp__fail(m, "out of memory");
				return WALK_ABORT;
			}
			i = (int)v->wc_n++;
		}
		v->wc[i] = (struct wc_entry){
			.ipa = s2_align_down(w->ipa, size), .size = size, .table_pa = w->table_pa,
			.gen = w->table_gen, .level = w->level,
		};
		v->fill_seq = m->tlbi_seq;
	}
	return WALK_MORE;
}

/* Room for n entries in m->scratch. */
static bool scratch_room(struct s2hyp *m, unsigned n)
{
	return s2_grow((void **)&m->scratch, &m->scratch_cap, sizeof(*m->scratch), n);
}

/* The entries of v's TLB that overlap e, a new entry: into m->scratch, as
 * large or larger ones containing it first (by level), then smaller ones
 * inside it (in TLB order). */
static unsigned tlb_fill_overlaps(struct s2hyp *m, const struct vcpu *v,
				  const struct s2hyp_tlb_entry *e)
{
	const struct s2pt_geom *g = &m->geom;
	bool smaller = false;
	unsigned n = 0;

	for (s2_level_t l = g->min_block_level; l <= (s2_level_t)e->level; l++) {
		if (!v->tlb_per_level[l])
			continue;
		int k = s2hyp__tlb_find(m, v, s2_align_down(e->ipa, s2pt_granule_size(g, l)), l);
		if (k >= 0 && scratch_room(m, n + 1))
			m->scratch[n++] = v->tlb[k];
	}
	for (s2_level_t l = (s2_level_t)(e->level + 1); l <= S2_LEVEL_MAX; l++)
		smaller |= v->tlb_per_level[l] != 0;
	if (!smaller || !tlb_inner_count(m, v, e->ipa, (s2_level_t)e->level))
		return n;
	for (unsigned k = 0; k < v->tlb_n; k++) {
		const struct s2hyp_tlb_entry *t = &v->tlb[k];
		if (t->size < e->size && t->ipa - e->ipa < e->size && scratch_room(m, n + 1))
			m->scratch[n++] = *t;
	}
	return n;
}

/* The entries of v's TLB in [ipa, ipa + size) by probing each leaf
 * position (by level, then address), past block-sized regions that hold no
 * smaller entry. */
static unsigned tlb_probe_range(struct s2hyp *m, const struct vcpu *v, uint64_t ipa,
				uint64_t size)
{
	const struct s2pt_geom *g = &m->geom;
	unsigned n = 0;

	for (s2_level_t l = g->min_block_level; l <= S2_LEVEL_MAX; l++) {
		uint64_t gs = s2pt_granule_size(g, l);
		uint64_t rs = l > g->min_block_level ? s2pt_granule_size(g, (s2_level_t)(l - 1)) : 0;
		if (!v->tlb_per_level[l])
			continue;
		for (uint64_t a = s2_align_down(ipa, gs); a < ipa + size; a += gs) {
			if (rs && !tlb_inner_count(m, v, a, (s2_level_t)(l - 1))) {
				a = s2_align_down(a, rs) + rs - gs;
				continue;
			}
			int k = s2hyp__tlb_find(m, v, a, l);
			if (k >= 0 && scratch_room(m, n + 1))
				m->scratch[n++] = v->tlb[k];
		}
	}
	return n;
}

unsigned s2hyp__tlb_overlaps(struct s2hyp *m, const struct vcpu *v, uint64_t ipa, uint64_t size)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);
	uint64_t region = s2pt_granule_size(g, S2_LEVEL_MAX - 1);
	unsigned n = 0;

	/* Probe every leaf position in the range when that is cheaper than
	 * looking at every entry. */
	if (size / page < v->tlb_n)
		return tlb_probe_range(m, v, ipa, size);
	/* Otherwise the answer is in TLB order; but a range of a few regions
	 * is most often empty (after its TLBIs), which probing tells cheaply. */
	if (size / region < v->tlb_n / 16 && !tlb_probe_range(m, v, ipa, size))
		return 0;
	for (unsigned k = 0; k < v->tlb_n; k++) {
		const struct s2hyp_tlb_entry *e = &v->tlb[k];
		if (e->ipa < ipa + size && ipa < e->ipa + e->size && scratch_room(m, n + 1))
			m->scratch[n++] = *e;
	}
	return n;
}

static void collect_leaves(struct s2hyp *m, const s2_pte_t *table, s2_level_t level,
			   uint64_t base, unsigned entries, uint64_t ipa, uint64_t end,
			   bool writable_only, unsigned *n)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t gs = s2pt_granule_size(g, level);

	/* Only the entries that overlap [ipa, end): addresses rise with i. */
	uint64_t first = ipa > base ? (ipa - base) / gs : 0;
	for (unsigned i = first < entries ? (unsigned)first : entries; i < entries; i++) {
		uint64_t a = base + (uint64_t)i * gs;
		if (a >= end)
			break;
		if (a + gs <= ipa)
			continue;
		s2_pte_t pte = table[i];
		if (!s2pt_pte_valid(pte))
			continue;
		if (s2pt_pte_is_table(pte, level)) {
			const s2_pte_t *child = s2pool_va(m->pool, s2pt_pte_oa(g, pte));
			if (child)
				collect_leaves(m, child, (s2_level_t)(level + 1), a,
					       s2pt_ptes_per_table(g), ipa, end, writable_only, n);
			continue;
		}
		if (writable_only && !(pte & S2PT_PTE_S2AP_W))
			continue;
		if (!scratch_room(m, *n + 1))
			return;
		m->scratch[(*n)++] = (struct s2hyp_tlb_entry){
			.ipa = a, .size = gs, .oa = s2_pa_get(s2pt_pte_oa(g, pte)),
			.level = (uint8_t)level, .prot = prot_of_leaf(m, pte),
		};
	}
}

unsigned s2hyp__leaves(struct s2hyp *m, uint64_t ipa, uint64_t size, bool writable_only)
{
	const struct s2pt_geom *g = &m->geom;
	unsigned n = 0;

	if (!m->pt.pgd)
		return 0;
	collect_leaves(m, m->pt.pgd, g->start_level, 0, s2pt_ptes_per_table(g) * g->nr_roots,
		       ipa, ipa + size, writable_only, &n);
	return n;
}

unsigned s2hyp__tlb_writable(struct s2hyp *m, const struct vcpu *v, uint64_t ipa, uint64_t size)
{
	unsigned n = s2hyp__tlb_overlaps(m, v, ipa, size), w = 0;
	for (unsigned k = 0; k < n; k++)
		if (m->scratch[k].prot & S2PT_PROT_W)
			m->scratch[w++] = m->scratch[k];
	return w;
}

void s2hyp__check_logged(struct s2hyp *m, int vcpu, const struct s2hyp_tlb_entry *e)
{
	uint64_t page = s2pt_granule_size(&m->geom, S2_LEVEL_MAX);

	if (!(e->prot & S2PT_PROT_W))
		return;
	for (unsigned i = 0; i < m->nr_slots; i++) {
		const struct slot *s = &m->slots[i];
		if (!s->d.dirty_log || e->ipa >= s->d.ipa + s->d.size || s->d.ipa >= e->ipa + e->size)
			continue;
		uint64_t lo = e->ipa > s->d.ipa ? e->ipa : s->d.ipa;
		uint64_t hi = e->ipa + e->size < s->d.ipa + s->d.size ? e->ipa + e->size :
									s->d.ipa + s->d.size;
		for (uint64_t a = lo; a < hi; a += page)
			if (!s->dirty[(a - s->d.ipa) >> m->geom.granule_shift]) {
				s2hyp_checker_logged_writable(m->chk, vcpu, e, a);
				return;
			}
	}
}

/* A full TLB makes room: round-robin over its slots, a deterministic
 * stand-in for a core's pseudo-random replacement. */
static void tlb_make_room(struct s2hyp *m, struct vcpu *v)
{
	unsigned i = v->tlb_victim++ % v->tlb_n;
	s2hyp__event(m, (int)v->id, EV_TLB_EVICT, v->tlb[i].ipa, 0, v->tlb[i].level, 0);
	tlb_remove(m, v, i);
}

static void tlb_fill(struct s2hyp *m, struct vcpu *v, const struct hw_walk *w)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t size = s2pt_granule_size(g, w->leaf_level);
	struct s2hyp_tlb_entry e = {
		.ipa = s2_align_down(w->ipa, size),
		.size = size,
		.oa = s2_pa_get(s2pt_pte_oa(g, w->leaf)),
		.level = (uint8_t)w->leaf_level,
		.prot = prot_of_leaf(m, w->leaf),
	};
	/* The same translation again replaces itself. */
	int same = s2hyp__tlb_find(m, v, e.ipa, (s2_level_t)e.level);
	if (same >= 0 && v->tlb[same].oa == e.oa) {
		if (v->tlb[same].prot != e.prot)
			v->tlb_gen++;
		v->tlb[same].prot = e.prot;
		return;
	}
	if (m->cfg.check) {
		unsigned n = tlb_fill_overlaps(m, v, &e);	/* first: it fills m->scratch */
		s2hyp_checker_tlb_fill(m->chk, v->id, &e, m->scratch, n);
		/* Inside an operation the entry may be one its TLBI will take
		 * away before it returns (what it leaves is checked then). */
		if (!m->locked)
			s2hyp__check_logged(m, (int)v->id, &e);
	}
	if (!s2_grow((void **)&v->tlb, &v->tlb_cap, sizeof(*v->tlb), v->tlb_n + 1)) {
		s2hyp__fail(m, "out of memory");
		return;
	}
	if (same >= 0) {
		/* Another translation of the same range (reported as a conflict
		 * above): it takes the old one's place. */
		v->tlb[same] = e;
		v->tlb_gen++;
	} else {
		if (m->cfg.tlb_entries && v->tlb_n >= m->cfg.tlb_entries)
			tlb_make_room(m, v);
		uint64_t key = entry_key(e.ipa, (s2_level_t)e.level);
		if (!s2_map_put(&v->tlb_idx, key, v->tlb_n)) {
			s2hyp__fail(m, "out of memory");
			return;
		}
		if (!tlb_inner_update(m, v, &e, true)) {
			/* Take the index back: it names no entry. */
			s2_map_del(&v->tlb_idx, key);
			s2hyp__fail(m, "out of memory");
			return;
		}
		v->tlb[v->tlb_n++] = e;
		v->tlb_per_level[e.level]++;
	}
	v->fill_seq = m->tlbi_seq;
	m->stats.vcpu[v->id].tlb_fills++;
	s2hyp__event(m, (int)v->id, EV_TLB_FILL, e.ipa, e.oa, (unsigned)e.level, 0);
}

enum s2arm_mt s2hyp__leaf_mt(unsigned prot)
{
	if (prot & S2PT_PROT_DEVICE)
		return S2ARM_MT_DEVICE;
	if (prot & S2PT_PROT_NC)
		return S2ARM_MT_NORMAL_NC;
	return S2ARM_MT_NORMAL_WB;
}

/* ESR_EL2 of a stage-2 abort from a lower EL: a data or instruction abort,
 * WnR for a write, the fault status of kind at level (arch/s2arm.h). */
uint64_t s2hyp_fault_esr(unsigned kind, s2_level_t level, enum s2hyp_access a)
{
	static const enum s2arm_fault_type types[] = {
		[FAULT_TRANSLATION] = S2ARM_FAULT_TRANSLATION,
		[FAULT_ACCESS_FLAG] = S2ARM_FAULT_ACCESS_FLAG,
		[FAULT_PERMISSION] = S2ARM_FAULT_PERMISSION,
	};
	if (kind == FAULT_NONE || kind >= S2_ARRAY_SIZE(types))
		return 0;
	struct s2arm_fault f = { .type = types[kind], .has_level = true, .level = level,
				 .insn = a == S2HYP_ACC_EXEC, .lower_el = true,
				 .write = a == S2HYP_ACC_WRITE };
	return s2arm_esr_encode(&f);
}

static void take_fault(struct s2hyp *m, struct vcpu *v, enum fault_kind kind, s2_level_t level)
{
	const struct s2hyp_vcpu_op *o = cur_op(v);
	v->state = V_FAULT;
	v->fault = kind;
	v->fault_level = level;
	/* Met an entry another thread is changing under the lock right now. */
	v->fault_in_window = false;
	for (unsigned i = 0; kind == FAULT_TRANSLATION && m->locked && i < m->cfg.nr_vcpus; i++) {
		const struct hyp_op *h = &m->held[i];
		if (i != v->id && h->held && h->op == OP_FAULT_MAP && o->ipa - h->ipa < h->size)
			v->fault_in_window = true;
	}
	v->esr = s2hyp_fault_esr(kind, level, o->access);
	s2hyp__event(m, (int)v->id, EV_FAULT, o->ipa, v->esr, (unsigned)level, kind);
	struct s2hyp_vcpu_stats *vs = &m->stats.vcpu[v->id];
	if (o->deferred && v->last_faulted)
		return;		/* the previous item's fault, counted there */
	if (kind != FAULT_NONE && level >= -1 && level <= S2_LEVEL_MAX)
		m->stats.faults[kind - 1][level + 1][o->access]++;
	switch (kind) {
	case FAULT_TRANSLATION: vs->faults_translation++; break;
	case FAULT_PERMISSION: vs->faults_permission++; break;
	case FAULT_ACCESS_FLAG: vs->faults_access_flag++; break;
	case FAULT_NONE: break;
	}
	if (v->fault_in_window)
		vs->faults_in_window++;
}

void s2hyp__finish_item(struct s2hyp *m, struct vcpu *v)
{
	m->minp_valid = false;
	v->pc++;
	v->last_faulted = v->faults_this_access > 0;
	v->faults_this_access = 0;
	v->np_count = 0;
	v->state = v->pc < v->nprog ? V_READY : V_DONE;
}

int s2hyp__guest_access(struct s2hyp *m, struct vcpu *v, const struct s2hyp_tlb_entry *e,
			enum s2hyp_access a, uint64_t ipa, void *buf, unsigned size, bool mmu_on,
			bool speculative, struct s2cache_check *cc)
{
	uint64_t pa = e->oa + (ipa - e->ipa);
	bool cacheable = s2arm_cacheable(s2hyp__leaf_mt(e->prot), mmu_on, m->cfg.fwb);
	struct s2cache_check own = { 0 };
	int ret = 0;

	if (!cc && m->cfg.check)
		cc = &own;
	if (cc)
		*cc = (struct s2cache_check){ 0 };
	if (!speculative) {
		s2hyp__event(m, (int)v->id, EV_ACCESS, ipa, pa, e->level,
			     (unsigned)a | (cacheable ? 4u : 0u));
		m->stats.vcpu[v->id].accesses++;
	}
	switch (a) {
	case S2HYP_ACC_READ:
		ret = s2cache_read(m->cache, v->id, s2_pa(pa), buf, size, cacheable, cc);
		break;
	case S2HYP_ACC_WRITE: {
		ret = s2cache_write(m->cache, v->id, s2_pa(pa), buf, size, cacheable);
		/* dirty-log-complete: the next get-dirty-log must report it. */
		const struct slot *sl = s2hyp__slot_of_ipa(m, ipa);
		if (!ret && m->cfg.check && sl && sl->d.dirty_log && !sl->log_starting)
			s2hyp_checker_logged_write(m->chk, v->id, ipa);
		break;
	}
	case S2HYP_ACC_EXEC: {
		uint32_t insn = 0;
		ret = s2cache_fetch(m->cache, v->id, s2_pa(pa), &insn, cc);
		memcpy(buf, &insn, 4);
		break;
	}
	}
	if (!ret && !speculative && m->hv_access)
		m->hv_access(m, v, ipa, pa, a, buf);
	if (ret) {
		s2hyp__fail(m, "memory access at PA %#llx failed: %s", (unsigned long long)pa,
			    s2_err_msg(ret));
		return ret;
	}
	if (!speculative && m->cfg.check)
		s2hyp_checker_access(m->chk, v->id, a, ipa, pa, (s2_level_t)e->level, cacheable, cc);
	return 0;
}

/* A program item's access, through the one guest-access path. */
static void do_access(struct s2hyp *m, struct vcpu *v, const struct s2hyp_tlb_entry *e)
{
	const struct s2hyp_vcpu_op *o = cur_op(v);
	uint8_t buf[8];

	uint64_t pa = e->oa + (o->ipa - e->ipa), one;
	uint64_t line = s2_align_down(pa, m->cfg.line_bytes), key = line / m->cfg.line_bytes + 1;

	for (unsigned i = 0; i < 8; i++)
		buf[i] = (uint8_t)(o->value >> (8 * i));
	if (o->access == S2HYP_ACC_EXEC && o->observed && s2_map_get(&m->guest_lines, key, &one)) {
		/* The guest's own maintenance of code it wrote (see observed). */
		s2cache_cmo(m->cache, v->id, S2CACHE_DC_CVAU, s2_pa(line), m->cfg.line_bytes);
		s2cache_cmo(m->cache, v->id, S2CACHE_IC_IVAU, s2_pa(line), m->cfg.line_bytes);
		s2_map_del(&m->guest_lines, key);
	}
	int ret = s2hyp__guest_access(m, v, e, o->access, o->ipa, buf,
				      o->access == S2HYP_ACC_EXEC ? 4 : o->size, o->mmu_on, false, NULL);
	if (!ret && o->access == S2HYP_ACC_WRITE && m->cfg.check &&
	    !s2_map_put(&m->guest_lines, key, 1))
		s2hyp__fail(m, "out of memory");
	s2hyp__finish_item(m, v);
}

bool s2hyp__walk_due(const struct vcpu *v)
{
	const struct s2hyp_vcpu_op *o = cur_op(v);
	return v->state == V_READY && !v->drv && o && o->walked;
}

/* One hardware step of v's current item: a TLB lookup and the access it
 * allows, one descriptor read of a walk, or the TLB fill. A fault waits
 * for KVM (s2hyp__vcpu_abort); a driven vCPU's driver has run first. */
void s2hyp__vcpu_hw_step(struct s2hyp *m, struct vcpu *v)
{
	const struct s2hyp_vcpu_op *o = cur_op(v);

	switch (v->state) {
	case V_READY:
	case V_ACCESS: {
		if (s2hyp__walk_due(v)) {
			/* The real access walked (walked): no leaf of ours serves it. */
			struct s2hyp_tlb_entry *e;
			while ((e = s2hyp__tlb_lookup(m, v, o->ipa)))
				tlb_remove(m, v, (unsigned)(e - v->tlb));
		}
		struct s2hyp_tlb_entry *e = s2hyp__tlb_lookup(m, v, o->ipa);
		if (e) {
			if (!s2hyp_access_allowed(e->prot, o->access)) {
				take_fault(m, v, FAULT_PERMISSION, (s2_level_t)e->level);
				return;
			}
			if (v->drv) {
				/* Usable now: the driver retries it on its next run. */
				v->state = V_ACCESS;
				return;
			}
			do_access(m, v, e);
			return;
		}
		walk_start(m, v, &v->walk, o->ipa, false);
		v->state = V_WALK;
		/* fall through: the first descriptor read is part of this step */
	}
	/* fall through */
	case V_WALK:
		switch (walk_step(m, v, &v->walk)) {
		case WALK_MORE:
			return;
		case WALK_LEAF:
			if (!(v->walk.leaf & S2PT_PTE_AF) && m->cfg.hw_af) {
				/* FEAT_HAFDBS: the walker sets the flag itself, atomically,
				 * in the descriptor it read. */
				s2_pte_t *p = s2pool_va(m->pool, s2_pa(v->walk.leaf_pa));
				__atomic_fetch_or(p, S2PT_PTE_AF, __ATOMIC_RELAXED);
				v->walk.leaf |= S2PT_PTE_AF;
			}
			if (!(v->walk.leaf & S2PT_PTE_AF)) {
				/* A descriptor with AF clear faults and is never cached. */
				take_fault(m, v, FAULT_ACCESS_FLAG, v->walk.leaf_level);
				return;
			}
			v->state = V_FILL;
			return;
		case WALK_FAULT:
			take_fault(m, v, FAULT_TRANSLATION, v->walk.leaf_level);
			return;
		case WALK_ABORT:
			/* The walk read a freed page (reported): retry, but not
			 * forever when a live entry still points there. */
			if (++v->faults_this_access > m->cfg.max_faults_per_access) {
				snprintf(m->error, sizeof(m->error),
					 "vCPU %u: the walk for IPA %#llx read a freed table page %u times",
					 v->id, (unsigned long long)o->ipa,
					 m->cfg.max_faults_per_access);
				m->outcome = S2HYP_LIVELOCK;
				m->stopped = true;
				return;
			}
			v->state = V_READY;
			return;
		}
		return;
	case V_FILL:
		tlb_fill(m, v, &v->walk);
		v->state = V_ACCESS;
		return;
	case V_FAULT:	/* KVM handles it (s2hyp__vcpu_abort) */
	case V_DONE:
		return;
	}
}

/* A speculative walk, done in one step: it fills the TLB or gives up
 * silently, never faults (DDI 0487 D8.16: speculative walks). */
void s2hyp__prefetch(struct s2hyp *m, struct vcpu *v, uint64_t ipa)
{
	struct hw_walk w;
	walk_start(m, v, &w, ipa, true);
	s2hyp__event(m, (int)v->id, EV_PREFETCH, ipa, 0, 0, 0);
	for (;;) {
		enum walk_result r = walk_step(m, v, &w);
		if (r == WALK_MORE)
			continue;
		if (r == WALK_LEAF && (w.leaf & S2PT_PTE_AF))
			tlb_fill(m, v, &w);
		return;
	}
}

void s2hyp_stop_on_violation(struct s2hyp *m, bool on)
{
	m->stop_on_violation = on;
}

const struct s2hyp_stats *s2hyp_stats(const struct s2hyp *m)
{
	return &m->stats;
}

bool s2hyp_destroyed(const struct s2hyp *m)
{
	return m->destroyed;
}

const struct s2hyp_config *s2hyp_config(const struct s2hyp *m)
{
	return &m->cfg;
}

const char *s2hyp_error(const struct s2hyp *m)
{
	return m->error;
}

bool s2hyp_error_host_op(const struct s2hyp *m, size_t *index)
{
	if (!m->error_op)
		return false;
	*index = m->error_op - 1;
	return true;
}

struct s2pt *s2hyp_pgtable(struct s2hyp *m)
{
	return &m->pt;
}

void s2hyp__tlb_evict(struct s2hyp *m, struct vcpu *v, unsigned i)
{
	if (i < v->tlb_n) {
		s2hyp__event(m, (int)v->id, EV_TLB_EVICT, v->tlb[i].ipa, 0, v->tlb[i].level, 0);
		tlb_remove(m, v, i);
	} else {
		wc_remove(v, i - v->tlb_n);
	}
}

void s2hyp__op_current(struct s2hyp *m, unsigned slot)
{
	const struct hyp_op *h = &m->held[slot];
	if (!h->held) {
		m->op = OP_NONE;
		m->op_thread = HOST_THREAD;
		return;
	}
	m->op = h->op;
	m->op_thread = slot == HOST_SLOT ? HOST_THREAD : (int)slot;
	m->op_ipa = h->ipa;
	m->op_size = h->size;
}

bool s2hyp_variant_parallel(enum s2pt_variant v)
{
	/* Today's KVM (v6.2+): faults under the read lock, and the bugs of
	 * that path. The other variants model kernels or bugs of one operation
	 * at a time. */
	return v == S2PT_V_UPSTREAM || s2pt_variant_needs_parallel(v);
}

void s2hyp__dc_evict(struct s2hyp *m, unsigned i)
{
	s2_pa_t line;
	if (!s2cache_resident_line(m->cache, i, &line)) {
		s2hyp__event(m, MACHINE_THREAD, EV_DC_EVICT, s2_pa_get(line), 0, 0, 0);
		s2cache_evict(m->cache, line);
	}
}

const char *s2hyp_outcome_name(enum s2hyp_outcome o)
{
	switch (o) {
	case S2HYP_DONE: return "done";
	case S2HYP_STEP_LIMIT: return "step-limit";
	case S2HYP_LIVELOCK: return "livelock";
	case S2HYP_DIVERGED: return "diverged";
	case S2HYP_ERROR: return "error";
	}
	return "?";
}

