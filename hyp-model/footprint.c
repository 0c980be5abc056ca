/* Footprints of scheduler choices (s2hyp_footprint.h): what a step reads
 * and writes, predicted from the machine's state, refined by observing
 * the events the step recorded. */
#include <stdio.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_footprint.h"
#include "hyp-model/s2hyp_internal.h"

static void add(struct s2hyp_footprint *fp, enum s2hyp_fp_loc loc, bool write, uint64_t lo,
		uint64_t hi)
{
	/* Merge with an access to the same kind of location it touches. */
	for (unsigned i = 0; i < fp->n; i++) {
		struct s2hyp_fp_access *a = &fp->acc[i];
		if (a->loc == loc && a->write == write && lo <= a->hi && a->lo <= hi) {
			a->lo = lo < a->lo ? lo : a->lo;
			a->hi = hi > a->hi ? hi : a->hi;
			return;
		}
	}
	if (fp->n == S2HYP_FP_MAX) {
		/* Too much to say precisely: say everything. */
		fp->global = true;
		return;
	}
	fp->acc[fp->n++] = (struct s2hyp_fp_access){ (uint8_t)loc, write, lo, hi };
}

static void add_vcpu(struct s2hyp_footprint *fp, enum s2hyp_fp_loc loc, bool write, unsigned v)
{
	add(fp, loc, write, v, (uint64_t)v + 1);
}

static void add_all_vcpus(const struct s2hyp *m, struct s2hyp_footprint *fp,
			  enum s2hyp_fp_loc loc, bool write)
{
	add(fp, loc, write, 0, m->cfg.nr_vcpus);
}

static uint64_t line_bytes(const struct s2hyp *m)
{
	return m->cfg.line_bytes ? m->cfg.line_bytes : 64;
}

static uint64_t granule(const struct s2hyp *m)
{
	return (uint64_t)1 << m->geom.granule_shift;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

unsigned s2hyp_choice_nargs(const struct s2hyp *m, const struct s2hyp_choice *c)
{
	const struct vcpu *v = c->vcpu < S2HYP_MAX_VCPUS ? &m->vcpus[c->vcpu] : NULL;
	switch (c->kind) {
	case S2HYP_CH_VCPU:
		/* A driven vCPU about to run guest code: the quantum. */
		return v && v->drv && (v->state == V_READY || v->state == V_ACCESS) ?
		       v->drv->nr_quanta : 0;
	case S2HYP_CH_PREFETCH:
		return v ? (unsigned)v->nprog : 0;
	case S2HYP_CH_TLB_EVICT:
		return v ? v->tlb_n + v->wc_n : 0;
	case S2HYP_CH_DC_EVICT:
		return (unsigned)s2cache_resident_count(m->cache);
	default:
		return 0;
	}
}

/* An entry's address is aligned to at least a page: the level and the
 * kind of cache fit in the low bits. */
static uint64_t entry_id(uint64_t ipa, s2_level_t level, bool wc)
{
	return ipa | ((uint64_t)(level + 2) << 1) | (wc ? 1u : 0u);
}

int s2hyp_choice_key(const struct s2hyp *m, const struct s2hyp_choice *c,
		     struct s2hyp_choice_key *key)
{
	*key = (struct s2hyp_choice_key){ c->kind, c->vcpu, 0 };
	if (!s2hyp_choice_is_background(c)) {
		if (c->kind >= S2HYP_NR_CHOICE_KINDS)
			return S2_EINVAL;
		if (c->kind == S2HYP_CH_VCPU && s2hyp_choice_nargs(m, c)) {
			if (c->arg >= s2hyp_choice_nargs(m, c))
				return S2_EINVAL;
			key->id = c->arg;
		}
		return 0;
	}
	if (c->arg >= s2hyp_choice_nargs(m, c))
		return S2_EINVAL;
	const struct vcpu *v = &m->vcpus[c->vcpu];
	switch (c->kind) {
	case S2HYP_CH_PREFETCH:
		/* Two items at one address make the same speculative walk. */
		key->id = v->prog[c->arg].ipa;
		return 0;
	case S2HYP_CH_TLB_EVICT:
		if (c->arg < v->tlb_n)
			key->id = entry_id(v->tlb[c->arg].ipa, (s2_level_t)v->tlb[c->arg].level, false);
		else
			key->id = entry_id(v->wc[c->arg - v->tlb_n].ipa, v->wc[c->arg - v->tlb_n].level,
					   true);
		return 0;
	case S2HYP_CH_DC_EVICT: {
		s2_pa_t line;
		if (s2cache_resident_line(m->cache, c->arg, &line))
			return S2_EINVAL;
		key->vcpu = 0;
		key->id = s2_pa_get(line);
		return 0;
	}
	}
	return S2_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Prediction                                                          */
/* ------------------------------------------------------------------ */

enum step_result { STEP_MORE, STEP_END };

/* One descriptor read of a walk, the hardware walker's own step
 * (hwwalk.c): what it reads, whether it caches a table descriptor, and
 * where it goes next (w is advanced). */
static enum step_result walk_fp(const struct s2hyp *m, unsigned vid, struct hw_walk *w,
				struct s2hyp_footprint *fp)
{
	struct hw_read r;
	enum walk_result res = s2hyp__hw_step(m, w, &r);

	add(fp, S2HYP_FP_PAGE, false, s2_align_down(r.table_pa, granule(m)),
	    s2_align_down(r.dpa, granule(m)) + granule(m));
	if (res == WALK_ABORT) {
		/* The walk aborts and forgets the cached pointers to the page. */
		add_vcpu(fp, S2HYP_FP_WC, true, vid);
		return STEP_END;
	}
	/* With the hardware access flag a leaf with AF clear gets it in this
	 * step (machine.c): a write of the descriptor. */
	bool hw_af = res == WALK_LEAF && m->cfg.hw_af && !(r.pte & S2PT_PTE_AF);
	add(fp, S2HYP_FP_DESC, hw_af, r.dpa, r.dpa + sizeof(s2_pte_t));
	if (res != WALK_MORE)
		return STEP_END;
	add(fp, S2HYP_FP_PAGE, false, s2_align_down(w->table_pa, granule(m)),
	    s2_align_down(w->table_pa, granule(m)) + granule(m));
	add_vcpu(fp, S2HYP_FP_WC, true, vid);
	return STEP_MORE;
}

static void vcpu_fp(const struct s2hyp *m, const struct vcpu *v, struct s2hyp_footprint *fp)
{
	const struct s2hyp_vcpu_op *o = v->pc < v->nprog ? &v->prog[v->pc] : NULL;

	/* Guest code under a driver may touch anything. */
	if (v->drv) {
		fp->global = true;
		return;
	}
	switch (v->state) {
	case V_FAULT:
		/* KVM's fault handler: a hypervisor operation. */
		fp->global = true;
		return;
	case V_FILL:
		add_vcpu(fp, S2HYP_FP_TLB, true, v->id);
		return;
	case V_WALK: {
		struct hw_walk w = v->walk;
		walk_fp(m, v->id, &w, fp);
		return;
	}
	case V_READY:
	case V_ACCESS: {
		if (!o) {
			fp->global = true;
			return;
		}
		/* With walked, the leaves for the address go first (a write of
		 * the TLB) and the lookup misses. */
		bool drop = s2hyp__walk_due(v);
		add_vcpu(fp, S2HYP_FP_TLB, drop, v->id);
		/* Every entry that covers the address: which one the lookup
		 * prefers is the machine's business; a conflict leaves several. */
		bool hit = false;
		for (unsigned i = 0; !drop && i < v->tlb_n; i++) {
			const struct s2hyp_tlb_entry *e = &v->tlb[i];
			if (o->ipa - e->ipa >= e->size)
				continue;
			hit = true;
			if (!s2hyp_access_allowed(e->prot, o->access))
				continue;
			/* Finishing a thread's last item may end the run, which
			 * disables every background choice (they read "run"). */
			if (v->pc + 1 >= v->nprog)
				add(fp, S2HYP_FP_RUN, true, 0, 1);
			/* An access may fill, dirty or read a line; data reads may
			 * allocate it: every access counts as a write of its line. */
			uint64_t pa = e->oa + (o->ipa - e->ipa);
			uint64_t lb = line_bytes(m);
			add(fp, S2HYP_FP_LINE, true, s2_align_down(pa, lb),
			    s2_align_up(pa + (o->size ? o->size : 1), lb));
		}
		if (hit)
			return;
		struct hw_walk w;
		add_vcpu(fp, S2HYP_FP_WC, false, v->id);
		s2hyp__hw_begin(m, v, &w, o->ipa);
		walk_fp(m, v->id, &w, fp);
		return;
	}
	case V_DONE:
		break;
	}
	fp->global = true;
}

int s2hyp_choice_footprint(const struct s2hyp *m, const struct s2hyp_choice *c,
			   struct s2hyp_footprint *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->thread = S2HYP_FP_HYP;
	if (c->kind >= S2HYP_NR_CHOICE_KINDS ||
	    (c->kind != S2HYP_CH_HYP && c->kind != S2HYP_CH_HOST && c->kind != S2HYP_CH_RCU &&
	     c->kind != S2HYP_CH_DC_EVICT && c->vcpu >= m->cfg.nr_vcpus))
		return S2_EINVAL;
	const struct vcpu *v = &m->vcpus[c->vcpu];

	switch (c->kind) {
	case S2HYP_CH_HYP:
	case S2HYP_CH_HOST:
		/* Unknown until it happens: see s2hyp_footprint_observe. */
		fp->global = true;
		return 0;
	case S2HYP_CH_RCU:
		/* Frees whole subtrees: say everything. */
		fp->global = true;
		return 0;
	case S2HYP_CH_VCPU:
		fp->thread = (int)c->vcpu;
		vcpu_fp(m, v, fp);
		return 0;
	case S2HYP_CH_PREFETCH: {
		fp->thread = S2HYP_FP_BACKGROUND;
		add(fp, S2HYP_FP_RUN, false, 0, 1);
		if (c->arg >= v->nprog)
			return S2_EINVAL;
		/* The walk start reads the TLBI sequence, which every TLBI
		 * changes: reading the TLB stands for it. */
		add_vcpu(fp, S2HYP_FP_TLB, true, v->id);
		add_vcpu(fp, S2HYP_FP_WC, true, v->id);
		struct hw_walk w;
		s2hyp__hw_begin(m, v, &w, v->prog[c->arg].ipa);
		for (int i = 0; i <= S2_LEVEL_MAX - S2_LEVEL_MIN + 1; i++)
			if (walk_fp(m, v->id, &w, fp) == STEP_END)
				return 0;
		fp->global = true;
		return 0;
	}
	case S2HYP_CH_TLB_EVICT:
		fp->thread = S2HYP_FP_BACKGROUND;
		add(fp, S2HYP_FP_RUN, false, 0, 1);
		if (c->arg >= v->tlb_n + v->wc_n)
			return S2_EINVAL;
		add_vcpu(fp, c->arg < v->tlb_n ? S2HYP_FP_TLB : S2HYP_FP_WC, true, v->id);
		return 0;
	case S2HYP_CH_DC_EVICT: {
		s2_pa_t line;
		fp->thread = S2HYP_FP_BACKGROUND;
		add(fp, S2HYP_FP_RUN, false, 0, 1);
		if (s2cache_resident_line(m->cache, c->arg, &line))
			return S2_EINVAL;
		add(fp, S2HYP_FP_LINE, true, s2_pa_get(line), s2_pa_get(line) + line_bytes(m));
		return 0;
	}
	}
	return S2_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Observation                                                         */
/* ------------------------------------------------------------------ */

static bool is_vcpu_choice(const struct s2hyp_choice *c)
{
	return c->kind == S2HYP_CH_VCPU || c->kind == S2HYP_CH_PREFETCH ||
	       c->kind == S2HYP_CH_TLB_EVICT;
}

static uint64_t pool_frees(const struct s2hyp *m)
{
	struct s2pool_stats st;
	s2pool_stats(m->pool, &st);
	return st.frees;
}

void s2hyp_footprint_mark(const struct s2hyp *m, const struct s2hyp_choice *c,
			  struct s2hyp_fp_mark *mk)
{
	*mk = (struct s2hyp_fp_mark){
		.c = *c,
		.host_events = m->host_hist_n,
		.vcpu_events = is_vcpu_choice(c) && c->vcpu < S2HYP_MAX_VCPUS ?
			       m->vcpus[c->vcpu].hist_n : 0,
		.allocated = m->stats.table_pages_allocated,
		.pool_frees = pool_frees(m),
		.hyp_ops = m->stats.hyp_ops,
		.pending_tlbis = m->pending_n,
		.locked = m->locked,
		.hyp_reads = m->hyp_reads_n,
	};
	if (c->kind == S2HYP_CH_VCPU && c->vcpu < m->cfg.nr_vcpus && m->held[c->vcpu].held) {
		mk->op_cont = true;
		mk->op_thread = c->vcpu;
	} else if (c->kind == S2HYP_CH_HOST && m->held[HOST_SLOT].held) {
		mk->op_cont = true;
		mk->op_thread = S2HYP_FP_HYP;
	}
}

/* The level of the table page holding descriptor pa, as the checker knows
 * it; -128 when unknown. */
static int desc_level(const struct s2hyp *m, uint64_t pa)
{
	s2_level_t l;
	if (!s2pool_contains_pa(m->pool, s2_pa(pa)) ||
	    !s2hyp_checker_ghost_level(m->chk, s2pool_va(m->pool, s2_pa(pa)), &l))
		return -128;
	return l >= m->geom.start_level && l <= S2_LEVEL_MAX ? l : -128;
}

static void hyp_event_fp(const struct s2hyp *m, const struct s2hyp_fp_mark *mk,
			 const struct s2hyp_event *e, struct s2hyp_footprint *fp)
{
	const struct s2pt_geom *g = &m->geom;

	switch (e->kind) {
	case EV_PTE_STORE: {
		add(fp, S2HYP_FP_DESC, true, e->a, e->a + sizeof(s2_pte_t));
		int level = desc_level(m, e->a);
		s2_pte_t pte = e->b;
		if (!s2pt_pte_valid(pte) || (level != -128 && s2pt_pte_is_table(pte, (s2_level_t)level)))
			return;
		if (level == -128 && (pte & S2PT_PTE_TYPE) && s2pt_pte_valid(pte)) {
			/* A table, or a page at level 3: either way the checker
			 * may look at the lines of a page. */
			level = S2_LEVEL_MAX;
		}
		/* A new leaf: the checker looks at the lines it maps. */
		uint64_t size = s2pt_granule_size(g, level == -128 ? g->min_block_level :
						      (s2_level_t)level);
		uint64_t oa = s2_align_down(s2_pa_get(s2pt_pte_oa(g, pte)), size);
		add(fp, S2HYP_FP_LINE, false, oa, oa + size);
		return;
	}
	case EV_TLBI:
		switch ((enum s2pt_tlbi)e->a) {
		case S2PT_TLBI_VMALLS12E1IS:
		case S2PT_TLBI_IPAS2E1IS:
		case S2PT_TLBI_RIPAS2E1IS:
			add_all_vcpus(m, fp, S2HYP_FP_TLB, true);
			add_all_vcpus(m, fp, S2HYP_FP_WC, true);
			return;
		case S2PT_TLBI_IPAS2E1:
			if (m->op_thread >= 0) {
				add_vcpu(fp, S2HYP_FP_TLB, true, (unsigned)m->op_thread);
				add_vcpu(fp, S2HYP_FP_WC, true, (unsigned)m->op_thread);
			} else {
				add_all_vcpus(m, fp, S2HYP_FP_TLB, true);
				add_all_vcpus(m, fp, S2HYP_FP_WC, true);
			}
			return;
		case S2PT_TLBI_VMALLE1IS:
			/* The leaves when they are combined entries only, never
			 * the walk cache. */
			if (m->cfg.combined_tlb)
				add_all_vcpus(m, fp, S2HYP_FP_TLB, true);
			return;
		case S2PT_TLBI_VMALLE1:
			if (!m->cfg.combined_tlb)
				return;
			if (m->op_thread >= 0)
				add_vcpu(fp, S2HYP_FP_TLB, true, (unsigned)m->op_thread);
			else
				add_all_vcpus(m, fp, S2HYP_FP_TLB, true);
			return;
		}
		fp->global = true;
		return;
	case EV_DSB:
		/* Completing broadcast TLBIs restarts walks in flight: it
		 * changes vCPUs' private state. */
		if (mk->pending_tlbis)
			fp->global = true;
		return;
	case EV_CMO: {
		enum s2cache_op op = (enum s2cache_op)e->a;
		if (op == S2CACHE_IC_IALLU || op == S2CACHE_IC_IALLUIS || e->level >= 64) {
			add(fp, S2HYP_FP_LINE, true, 0, UINT64_MAX);
			return;
		}
		uint64_t lb = line_bytes(m);
		add(fp, S2HYP_FP_LINE, true, s2_align_down(e->b, lb),
		    s2_align_up(e->b + ((uint64_t)1 << e->level), lb));
		return;
	}
	case EV_FREE:
		add(fp, S2HYP_FP_PAGE, true, e->a, e->a + granule(m));
		/* The checker looks for walk-cache entries pointing at it. */
		add_all_vcpus(m, fp, S2HYP_FP_WC, false);
		return;
	default:
		/* An operation beginning or ending, or something new. */
		fp->global = true;
		return;
	}
}

static bool covered(const struct s2hyp_footprint *fp, enum s2hyp_fp_loc loc, bool write,
		    uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < fp->n; i++) {
		const struct s2hyp_fp_access *a = &fp->acc[i];
		if (a->loc == loc && (a->write || !write) && a->lo <= lo && hi <= a->hi)
			return true;
	}
	return false;
}

static void check_vcpu_events(const struct s2hyp *m, const struct s2hyp_fp_mark *mk,
			      struct s2hyp_footprint *fp)
{
	const struct vcpu *v = &m->vcpus[mk->c.vcpu];
	unsigned n = v->hist_n - mk->vcpu_events;
	bool ok = n <= S2HYP_HISTORY && m->stats.table_pages_allocated == mk->allocated &&
		  m->stats.hyp_ops == mk->hyp_ops && pool_frees(m) == mk->pool_frees;
	uint64_t lb = line_bytes(m);

	for (unsigned i = mk->vcpu_events; ok && i != v->hist_n; i++) {
		const struct s2hyp_event *e = &v->hist[i % S2HYP_HISTORY];
		switch (e->kind) {
		case EV_WALK_READ:
			ok = covered(fp, S2HYP_FP_DESC, false, e->a, e->a + sizeof(s2_pte_t));
			break;
		case EV_ACCESS:
			ok = covered(fp, S2HYP_FP_LINE, false, s2_align_down(e->b, lb),
				     s2_align_down(e->b, lb) + lb);
			break;
		case EV_TLB_FILL:
		case EV_TLB_EVICT:
			ok = covered(fp, S2HYP_FP_TLB, true, v->id, v->id + 1);
			break;
		default:
			break;
		}
	}
	if (!ok) {
		fp->global = true;
		fp->mispredicted = true;
	}
}

void s2hyp_footprint_observe(const struct s2hyp *m, const struct s2hyp_fp_mark *mk,
			     struct s2hyp_footprint *fp)
{
	if (mk->c.kind == S2HYP_CH_HYP || mk->op_cont) {
		/* The thread of the operation whose code ran: a vCPU's fault is
		 * that vCPU's, a host operation the host's. */
		int thread = mk->op_cont ? mk->op_thread :
			     m->op_thread >= 0 ? m->op_thread : S2HYP_FP_HYP;
		*fp = (struct s2hyp_footprint){ .thread = thread };
		unsigned n = m->host_hist_n - mk->host_events;
		/* The range open at the mark may have grown since: count it. */
		uint64_t first = mk->hyp_reads ? mk->hyp_reads - 1 : 0;
		uint64_t reads = m->hyp_reads_n - first;
		/* A new operation, the end of one, or a fresh table page from
		 * the allocator (a split topping up): too much to follow. */
		bool still = !mk->op_cont ||
			     m->held[mk->op_thread >= 0 ? (unsigned)mk->op_thread : HOST_SLOT].held;
		if (!mk->locked || !m->locked || !still || m->stats.hyp_ops != mk->hyp_ops ||
		    m->stats.table_pages_allocated != mk->allocated || n > S2HYP_HISTORY ||
		    reads > S2HYP_HYP_READS) {
			fp->global = true;
			return;
		}
		for (uint64_t i = first; i != m->hyp_reads_n; i++) {
			const struct hyp_read *r = &m->hyp_reads[i % S2HYP_HYP_READS];
			add(fp, S2HYP_FP_DESC, false, r->lo, r->hi);
		}
		uint64_t frees = 0;
		for (unsigned i = mk->host_events; i != m->host_hist_n && !fp->global; i++) {
			const struct s2hyp_event *e = &m->host_hist[i % S2HYP_HISTORY];
			frees += e->kind == EV_FREE;
			hyp_event_fp(m, mk, e, fp);
		}
		/* A page freed without an event (the roots, at destroy) is a
		 * change no event describes. */
		if (pool_frees(m) - mk->pool_frees != frees)
			fp->global = true;
		return;
	}
	if (fp->global)
		return;
	if (is_vcpu_choice(&mk->c) && mk->c.vcpu < m->cfg.nr_vcpus)
		check_vcpu_events(m, mk, fp);
}

/* ------------------------------------------------------------------ */
/* Independence                                                        */
/* ------------------------------------------------------------------ */

bool s2hyp_footprints_independent(const struct s2hyp_footprint *a,
				  const struct s2hyp_footprint *b)
{
	if (a->global || b->global)
		return false;
	if (a->thread == b->thread && a->thread != S2HYP_FP_BACKGROUND)
		return false;
	for (unsigned i = 0; i < a->n; i++) {
		const struct s2hyp_fp_access *x = &a->acc[i];
		for (unsigned j = 0; j < b->n; j++) {
			const struct s2hyp_fp_access *y = &b->acc[j];
			if (x->loc == y->loc && (x->write || y->write) && x->lo < y->hi &&
			    y->lo < x->hi)
				return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* What a choice leaves enabled                                        */
/* ------------------------------------------------------------------ */

/* The lowest phase of an unfinished item, leaving out v's (sched.c's
 * min_phase, without one vCPU). */
static unsigned phase_without(const struct s2hyp *m, const struct vcpu *skip)
{
	unsigned p = ~0u;
	if (m->host_pc < m->host_n && m->host_prog[m->host_pc].phase < p)
		p = m->host_prog[m->host_pc].phase;
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		if (v != skip && v->pc < v->nprog && v->prog[v->pc].phase < p)
			p = v->prog[v->pc].phase;
	}
	return p;
}

bool s2hyp_choice_leaves_others(const struct s2hyp *m, const struct s2hyp_choice *c)
{
	if (s2hyp_choice_is_background(c))
		return c->kind == S2HYP_CH_DC_EVICT || c->vcpu < m->cfg.nr_vcpus;
	if (c->kind != S2HYP_CH_VCPU || c->vcpu >= m->cfg.nr_vcpus)
		return false;
	const struct vcpu *v = &m->vcpus[c->vcpu];
	if (v->drv || (v->state != V_READY && v->state != V_ACCESS) || v->pc + 1 != v->nprog)
		return false;
	const struct s2hyp_vcpu_op *o = &v->prog[v->pc];
	if (s2hyp__walk_due(v))
		return false;	/* the step drops the leaves first */
	/* The lookup the step makes (machine.c): a hit it may use is the
	 * access, and the item, and the vCPU's program, done. */
	const struct s2hyp_tlb_entry *e = s2hyp__tlb_lookup(m, v, o->ipa);
	if (!e || !s2hyp_access_allowed(e->prot, o->access))
		return false;
	/* With its item gone the lowest phase must stay: a higher one would
	 * let items of other threads start. */
	return phase_without(m, v) <= o->phase;
}

void s2hyp_print_footprint(FILE *f, const struct s2hyp_footprint *fp)
{
	static const char *const locs[] = { "desc", "page", "line", "tlb", "wc", "run" };

	if (fp->thread == S2HYP_FP_HYP)
		fprintf(f, "hyp");
	else if (fp->thread == S2HYP_FP_BACKGROUND)
		fprintf(f, "background");
	else
		fprintf(f, "v%d", fp->thread);
	if (fp->global)
		fprintf(f, " global%s", fp->mispredicted ? " (mispredicted)" : "");
	for (unsigned i = 0; i < fp->n; i++) {
		const struct s2hyp_fp_access *a = &fp->acc[i];
		fprintf(f, " %s %s %#llx..%#llx", a->write ? "w" : "r",
			a->loc < 6 ? locs[a->loc] : "?", (unsigned long long)a->lo,
			(unsigned long long)a->hi);
	}
	fputc('\n', f);
}
