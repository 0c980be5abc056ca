/* Replay: a trace drives the machine with every rule checked.
 *
 * The driver for every kind of trace: it reads the trace one event at a
 * time, decides the machine (configuration and options, in one place) and
 * runs fault traces in chunks; a chunk ends only between phases (or at an
 * expect line), so memory stays flat however long the trace is, and the
 * result is the same as running it whole. Effect traces go to
 * replay_effect.c, guest-code traces to replay_guest.c; result.c prints
 * the result. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arch/s2arm.h"
#include "common/s2_bits.h"
#include "common/s2_file.h"
#include "common/s2_text.h"
#include "common/s2_vec.h"
#include "guest/s2guest.h"
#include "traces/replay_internal.h"
#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"


int s2trace__bad(struct replay *rp, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(rp->res->error, sizeof(rp->res->error), "%s:%u: %s", rp->name, line, msg);
	rp->res->bad_input = true;
	rp->stop = true;
	return 2;
}

void s2trace__failure(struct replay *rp, unsigned line, const char *fmt, ...)
{
	struct s2trace_result *res = rp->res;
	if (res->expects_failed + 1 <= S2TRACE_MAX_FAILURES) {
		struct s2trace_failure *f = &res->failures[res->expects_failed];
		f->line = line;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
		va_end(ap);
	}
	res->expects_failed++;
}

/* Room for one more of *n elements (counts stay size_t, capacities are
 * s2_grow's). */
bool s2trace__grow(void **arr, unsigned *cap, size_t elem, size_t need)
{
	return need <= UINT_MAX && s2_grow(arr, cap, elem, (unsigned)need);
}

static int section_index(struct replay *rp, const char *name);

/* The options' machine settings over the trace's. */
static void apply_overrides(struct s2hyp_config *c, const struct s2trace_replay_opts *o)
{
	const struct s2hyp_config *v = &o->cfg;
	if (o->set & S2T_CFG_FWB)
		c->fwb = v->fwb;
	if (o->set & S2T_CFG_IDC)
		c->idc = v->idc;
	if (o->set & S2T_CFG_DIC)
		c->dic = v->dic;
	if (o->set & S2T_CFG_RCU)
		c->rcu_free = v->rcu_free;
	if (o->set & S2T_CFG_RANGE_TLBI)
		c->range_tlbi = v->range_tlbi;
	if (o->set & S2T_CFG_HW_AF)
		c->hw_af = v->hw_af;
	if (o->set & S2T_CFG_TLB_ENTRIES)
		c->tlb_entries = v->tlb_entries;
	if (o->set & S2T_CFG_COMBINED_TLB)
		c->combined_tlb = v->combined_tlb;
	if (o->set & S2T_CFG_HOST_MM) {
		c->host_mm = v->host_mm;
		c->cow_policy = v->cow_policy;
	}
	if (o->set & S2T_CFG_UFFD) {
		c->uffd_no_markers = v->uffd_no_markers;
		c->uffd_no_wp_flush = v->uffd_no_wp_flush;
		c->uffd_no_fork_fix = v->uffd_no_fork_fix;
	}
}

void s2trace__machine_config(struct replay *rp, struct s2hyp_config *cfg)
{
	*cfg = rp->sc.cfg;
	if (rp->opts && rp->opts->have_walker)
		cfg->variant = rp->opts->walker;
	if (rp->opts)
		apply_overrides(cfg, rp->opts);
	/* Without a schedule replay is sequential: the first enabled choice is
	 * always taken, never a background one, so listing them is waste. */
	if (!rp->nsched)
		cfg->explore_evictions = cfg->explore_prefetch = false;
	/* Nothing observes footprints here. */
	cfg->footprints = false;
	rp->res->cfg = *cfg;
}

static bool shared_phase(const struct overlap *ov, unsigned p)
{
	size_t lo = 0, hi = ov->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ov->phase[mid] == p)
			return true;
		if (ov->phase[mid] < p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Whether the entry that translates ipa is locked: a handler's break is
 * done and its make is not. */
static bool entry_locked(const struct s2hyp *m, uint64_t ipa)
{
	s2_level_t level;
	return s2hyp_entry(m, ipa, &level) == S2PT_PTE_LOCKED;
}

/* Whether vCPU c's access cur, whose fault line names a deeper level than
 * the tables reach yet, is to wait for another fault's map to build them. */
static bool deep_waits(const struct overlap *ov, unsigned c, const struct s2hyp_vcpu_op *cur)
{
	for (size_t i = 0; i < ov->ndeep; i++) {
		const struct deep_access *d = &ov->deep[i];
		if (d->vcpu != c || d->phase != cur->phase || d->page != cur->ipa >> 12)
			continue;
		s2_level_t level;
		s2_pte_t pte = s2hyp_entry(ov->m, cur->ipa, &level);
		return !s2pt_pte_valid(pte) && level < d->level;
	}
	return false;
}

/* How soon vCPU c moves among the vCPUs of a shared phase (lower first;
 * UINT_MAX: not in one). */
static unsigned overlap_rank(const struct overlap *ov, unsigned c)
{
	const struct s2hyp_vcpu_op *cur = s2hyp_vcpu_item(ov->m, c, 0);
	if (!cur || !shared_phase(ov, cur->phase))
		return UINT_MAX;
	if (s2hyp_vcpu_access_phase(ov->m, c) == cur->phase)
		return deep_waits(ov, c, cur) ? 6 : 0;	/* its access walks */
	const struct s2hyp_vcpu_op *next = s2hyp_vcpu_item(ov->m, c, 1);
	bool more = next && next->phase == cur->phase;
	/* It faulted again on the page (the trace's next line), or a
	 * function trace shows its handler's break lost. */
	bool loses = cur->lost_break || (more && next->ipa >> 12 == cur->ipa >> 12);
	bool locked = entry_locked(ov->m, cur->ipa);
	if (more && !loses)
		return 1;			/* handled, its next access walks */
	if (loses)
		return locked ? 2 : 5;		/* loses to the handler holding the entry */
	if (locked && !s2hyp_vcpu_handling(ov->m, c))
		return 7;			/* waits for the make, then finds it done */
	return locked ? 4 : 3;		/* maps; holds the entry while others retry */
}

/* Sequential, except among the vCPUs of a shared phase (add_vcpu): every
 * access walks, and faults, before any fault is handled (one maps, the
 * others find it done); a vCPU with another access in the phase has its
 * fault handled first, so that the access walks before the other faults
 * are handled; and a vCPU that faulted again on the same page (the trace's
 * next line) lost to a handler that held the entry locked, its break done
 * and its make not: that handler runs to its break and waits there while
 * the other vCPU faults, loses and faults again. */
static unsigned overlap_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			       uint64_t step)
{
	const struct overlap *ov = arg;
	unsigned best = 0, rank = UINT_MAX;
	(void)step;
	if (!ov->n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		/* The operation in flight of a machine that runs one at a time
		 * goes on as a handler that maps would. */
		unsigned r = choices[i].kind == S2HYP_CH_HYP ? 3 :
			     choices[i].kind == S2HYP_CH_VCPU ? overlap_rank(ov, choices[i].vcpu) :
			     UINT_MAX;
		if (r < rank) {
			rank = r;
			best = i;
		}
	}
	return best;
}

static unsigned overlap_pick(void *arg, unsigned n)
{
	(void)arg;
	(void)n;
	return 0;
}

void s2trace__strategy(struct replay *rp)
{
	rp->rp = (struct s2hyp_replay){ .sched = rp->sched, .n = rp->nsched,
					.lenient = rp->opts && rp->opts->check_fix };
	if (rp->nsched) {
		rp->st = s2hyp_strategy_replay_template;
		rp->st.arg = &rp->rp;
	} else {
		rp->ov.m = rp->m;
		rp->st = (struct s2hyp_strategy){ .choose = overlap_choose, .pick_arg = overlap_pick,
						  .arg = &rp->ov };
	}
}

int s2trace__make_machine(struct replay *rp, unsigned line)
{
	const char *why = "";
	s2trace__machine_config(rp, &rp->sc.cfg);
	if (s2hyp_create(&rp->sc.cfg, rp->sc.slots, rp->sc.nr_slots, &rp->m, &why)) {
		unsigned c = s2trace_setup_culprit(&rp->sc.cfg, rp->sc.slots, rp->sc.nr_slots);
		char keys[96];
		s2trace_setup_keys(&rp->sc.cfg, c < rp->sc.nr_slots, keys, sizeof(keys));
		if (c < rp->sc.nr_slots)
			return s2trace__bad(rp, rp->slot_line[c], "memslot %u: %s%s", c, why, keys);
		return s2trace__bad(rp, rp->cfg_line ? rp->cfg_line : line, "configuration: %s%s",
				    why, keys);
	}
	if (rp->opts && rp->opts->observer)
		s2hyp_set_observer(rp->m, rp->opts->observer);
	if (section_index(rp, "pre") < 0)
		return s2trace__bad(rp, line, "out of memory");
	rp->sec = 0;
	memset(&rp->sec_base, 0, sizeof(rp->sec_base));
	if (rp->opts && rp->opts->record) {
		rp->rec.cfg = rp->sc.cfg;
		memcpy(rp->rec.slots, rp->sc.slots, sizeof(rp->sc.slots));
		rp->rec.nr_slots = rp->sc.nr_slots;
		s2hyp_record_schedule(rp->m, true);
	}
	s2trace__strategy(rp);
	return 0;
}

static void free_srcs(struct chunk *c)
{
	for (size_t i = 0; i < c->nsrcs; i++)
		free(c->srcs[i]);
	c->nsrcs = 0;
}

/* An item's place in the trace, for an observer; false when out of memory. */
static bool item_src(struct replay *rp, unsigned line, const char **src)
{
	struct chunk *c = &rp->c;

	*src = NULL;
	if (!rp->opts || !rp->opts->observer)
		return true;
	const char *name = rp->name;
	size_t len = strlen(name) + 16;
	if (!s2trace__grow((void **)&c->srcs, &c->srcs_cap, sizeof(*c->srcs), c->nsrcs + 1))
		return false;
	char *s = malloc(len);
	if (!s)
		return false;
	snprintf(s, len, "%s:%u", name, line);
	c->srcs[c->nsrcs++] = s;
	*src = s;
	return true;
}

/* The first of the n items with a phase at or after limit (they are in
 * phase order). */
static size_t upto_host(const struct s2hyp_host_op *a, size_t n, unsigned limit)
{
	size_t i = 0;
	while (i < n && a[i].phase < limit)
		i++;
	return i;
}

static size_t upto_vcpu(const struct s2hyp_vcpu_op *a, size_t n, unsigned limit)
{
	size_t i = 0;
	while (i < n && a[i].phase < limit)
		i++;
	return i;
}

/* Where a full chunk may end: before the earliest access whose span is
 * still open (see add_host), so that no later invalidation can belong to
 * an access already run; the rest waits for the next chunk. A vCPU idle
 * for longer than half a chunk no longer holds it back (its span is taken
 * as closed). UINT_MAX: the whole chunk. */
static unsigned cut_phase(struct replay *rp)
{
	struct s2hyp_scenario *sc = &rp->sc;
	if (!rp->invalidations || (rp->opts && rp->opts->observer))
		return UINT_MAX;
	for (;;) {
		unsigned limit = UINT_MAX, who = 0;
		for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++)
			if (rp->span_open[v] && sc->nvcpu[v] &&
			    sc->vcpu[v][sc->nvcpu[v] - 1].phase < limit) {
				limit = sc->vcpu[v][sc->nvcpu[v] - 1].phase;
				who = v;
			}
		if (limit == UINT_MAX)
			return limit;
		size_t held = sc->nhost - upto_host(sc->host, sc->nhost, limit);
		for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++)
			held += sc->nvcpu[v] - upto_vcpu(sc->vcpu[v], sc->nvcpu[v], limit);
		if (held <= CHUNK_EVENTS / 2)
			return limit;
		rp->span_open[who] = false;
	}
}

/* Move the items from index k of a chunk array to its front. */
static void keep_tail(void *arr, size_t elem, size_t k, size_t n)
{
	if (k && k < n)
		memmove(arr, (char *)arr + k * elem, (n - k) * elem);
}

/* Run what the chunk holds to its end (whole), or, for a chunk that is
 * full, up to its cut_phase. */
static void run_chunk_part(struct replay *rp, bool whole)
{
	struct chunk *c = &rp->c;
	const char *why = "";

	if (!c->n || rp->stop)
		return;
	struct s2hyp_scenario *sc = &rp->sc;
	unsigned limit = whole ? UINT_MAX : cut_phase(rp);
	rp->handed = whole ? rp->ip + 1 : limit;
	size_t nhost = upto_host(sc->host, sc->nhost, limit), bad;
	size_t nv[S2HYP_MAX_VCPUS];
	if (s2hyp_set_host_program(rp->m, sc->host, nhost, &why)) {
		s2trace__bad(rp, 0, "%s", why);
		return;
	}
	for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++) {
		nv[v] = upto_vcpu(sc->vcpu[v], sc->nvcpu[v], limit);
		if (s2hyp_set_vcpu_program(rp->m, v, sc->vcpu[v], nv[v], &why)) {
			s2trace__bad(rp, 0, "%s", why);
			return;
		}
		if (nv[v] == sc->nvcpu[v])
			rp->span_open[v] = false;	/* its last access runs now */
	}
	/* Without shared phases (so far) the overlap strategy would always
	 * take the first choice: say so, and the machine lists no other. */
	if (!rp->nsched)
		rp->st.choose = rp->ov.n ? overlap_choose : NULL;
	enum s2hyp_outcome o = s2hyp_run(rp->m, &rp->st);
	rp->res->outcome = o;
	if (rp->opts && rp->opts->progress)
		rp->opts->progress(rp->opts->progress_arg, rp->res->events);
	if (o == S2HYP_ERROR && s2hyp_error_host_op(rp->m, &bad) && bad < nhost) {
		/* Bad input only the run could see: the line it came from. */
		s2trace__bad(rp, c->host_line[bad], "%s", s2hyp_error(rp->m));
		rp->stop = true;
	} else if (o != S2HYP_DONE) {
		if (o == S2HYP_DIVERGED || rp->rp.diverged)
			s2trace__failure(rp, 0, "the schedule diverged at choice %zu: it names a choice that "
				       "is not possible at that point", rp->rp.diverged_at + 1);
		else
			s2trace__failure(rp, 0, "the run stopped: %s: %s", s2hyp_outcome_name(o),
				s2hyp_error(rp->m));
		rp->stop = true;
	}
	/* What the run did not take moves to the front, for the next. */
	keep_tail(sc->host, sizeof(*sc->host), nhost, sc->nhost);
	keep_tail(c->host_line, sizeof(*c->host_line), nhost, sc->nhost);
	sc->nhost -= nhost;
	c->n = sc->nhost;
	for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++) {
		keep_tail(sc->vcpu[v], sizeof(*sc->vcpu[v]), nv[v], sc->nvcpu[v]);
		sc->nvcpu[v] -= nv[v];
		c->n += sc->nvcpu[v];
	}
	if (!c->n)
		free_srcs(c);
}

static void run_chunk(struct replay *rp)
{
	run_chunk_part(rp, true);
}

static unsigned phase_for(struct replay *rp)
{
	if (rp->in_block)
		return rp->ip;
	/* A sequential event: a chunk may end before it. */
	if (rp->c.n >= CHUNK_EVENTS)
		run_chunk_part(rp, false);
	return ++rp->ip;
}

void s2trace__on_phase(struct replay *rp, const struct s2trace_event *ev)
{
	if (rp->in_block && ev->phase.n == rp->block_n)
		return;
	if (rp->c.n >= CHUNK_EVENTS)
		run_chunk_part(rp, false);
	rp->in_block = true;
	rp->block_n = ev->phase.n;
	rp->ip++;
}

static int add_host(struct replay *rp, const struct s2trace_event *ev)
{
	struct chunk *c = &rp->c;
	const char *why = "";
	struct s2hyp_host_op op = ev->host;

	if (s2hyp_check_host_op(rp->m, &op, &why))
		return s2trace__bad(rp, ev->line, "%s", why);
	if (op.kind == S2HYP_HOST_INVALIDATE_END && !rp->invalidating)
		return s2trace__bad(rp, ev->line, "invalidate-end without an invalidate-begin");
	rp->invalidating += op.kind == S2HYP_HOST_INVALIDATE_BEGIN;
	rp->invalidating -= op.kind == S2HYP_HOST_INVALIDATE_END;
	op.phase = phase_for(rp);
	if (op.kind == S2HYP_HOST_INVALIDATE_BEGIN || op.kind == S2HYP_HOST_INVALIDATE_END) {
		/* Inside each vCPU's last access's span: its fault, if it took
		 * one, was still being handled (see host_invalidated). */
		struct s2hyp_scenario *sc = &rp->sc;
		rp->invalidations = true;
		for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++)
			if (rp->span_open[v] && sc->nvcpu[v]) {
				sc->vcpu[v][sc->nvcpu[v] - 1].host_invalidated = true;
				if (op.kind == S2HYP_HOST_INVALIDATE_END)
					rp->span_end[v][0] = op.phase;
			}
	}
	rp->destroy_seen |= op.kind == S2HYP_HOST_DESTROY;
	rp->host_seen = true;
	rp->host_changes += op.kind != S2HYP_HOST_INVALIDATE_BEGIN &&
			    op.kind != S2HYP_HOST_INVALIDATE_END;
	size_t i = rp->sc.nhost;
	if (!item_src(rp, ev->line, &op.src) ||
	    !s2trace__grow((void **)&c->host_line, &c->host_line_cap, sizeof(unsigned), i + 1) ||
	    s2hyp_scenario_add_host(&rp->sc, &op) ||
	    (rp->opts && rp->opts->record && s2hyp_scenario_add_host(&rp->rec, &op)))
		return s2trace__bad(rp, ev->line, "out of memory");
	c->host_line[i] = ev->line;
	c->n++;
	rp->res->host_events++;
	return 0;
}

/* The level of translation fault esr when other is the same fault at a
 * shallower level: the access walked while another fault's map had linked
 * tables down to it, and not yet the page. -1 otherwise. */
static int deeper(uint64_t esr, uint64_t other)
{
	struct s2arm_fault f, g;
	if (s2arm_esr_decode(esr, &f) || s2arm_esr_decode(other, &g) ||
	    f.type != S2ARM_FAULT_TRANSLATION || g.type != S2ARM_FAULT_TRANSLATION ||
	    (esr & ~(uint64_t)3) != (other & ~(uint64_t)3) || f.level <= g.level)
		return -1;
	return f.level;
}

/* The phase of another vCPU's recent fault line with this ESR on this
 * page, after the last host event that may change an entry, with its
 * item still in the chunk (the latest such); 0 if none. The line is after
 * vCPU v's last line, or, when v has had lines since, the other vCPU's
 * last line of all (*window: v's lines since then, and every other line
 * of the chunk from that phase on, join it). */
static unsigned in_flight(const struct replay *rp, unsigned v, uint64_t esr, uint64_t page,
			  bool *window, uint64_t *other)
{
	const struct s2hyp_scenario *sc = &rp->sc;
	unsigned after = rp->lastv[v].phase, best = 0;
	*window = false;
	for (unsigned a = 0; a < sc->cfg.nr_vcpus; a++) {
		if (a == v || !sc->nvcpu[a])
			continue;
		/* newest first, back to v's last line */
		unsigned n = rp->nrecent[a], size = S2_ARRAY_SIZE(rp->recent[a]);
		for (unsigned k = 0; k < size && k < n; k++) {
			const struct last_line *l = &rp->recent[a][(n - 1 - k) % size];
			if (l->phase <= best || sc->vcpu[a][0].phase > l->phase ||
			    l->hosts != rp->host_changes)
				break;
			bool span = l->phase <= after;
			if (span && (k || l->seq != rp->lastv[a].seq))
				break;
			if (l->page == page && (l->esr == esr || deeper(esr, l->esr) >= 0)) {
				best = l->phase;
				*window = span;
				*other = l->esr;
				break;
			}
			if (span)
				break;
		}
	}
	return best;
}

/* Phases from..to of the items in ops[0..n) become from. */
static void merge_items(struct s2hyp_vcpu_op *ops, size_t n, unsigned from, unsigned to)
{
	for (size_t k = n; k-- && ops[k].phase > from;)
		if (ops[k].phase <= to)
			ops[k].phase = from;
}

static void merge_lines(struct last_line *l, unsigned from, unsigned to)
{
	if (l->phase > from && l->phase <= to)
		l->phase = from;
}

/* Every line of the chunk from phase from to the last joins phase from. */
static void merge_window(struct replay *rp, unsigned from)
{
	struct s2hyp_scenario *sc = &rp->sc;
	for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++) {
		merge_items(sc->vcpu[v], sc->nvcpu[v], from, rp->ip);
		if (rp->opts && rp->opts->record)
			merge_items(rp->rec.vcpu[v], rp->rec.nvcpu[v], from, rp->ip);
		merge_lines(&rp->lastv[v], from, rp->ip);
		for (unsigned k = 0; k < S2_ARRAY_SIZE(rp->recent[v]); k++)
			merge_lines(&rp->recent[v][k], from, rp->ip);
	}
}

/* Phase p into the ascending list of shared phases; nonzero when out of
 * memory. */
static int shared_phase_add(struct overlap *ov, unsigned p)
{
	size_t i = ov->n;
	while (i && ov->phase[i - 1] > p)
		i--;
	if (i && ov->phase[i - 1] == p)
		return 0;
	if (!s2trace__grow((void **)&ov->phase, &ov->cap, sizeof(*ov->phase), ov->n + 1))
		return 1;
	memmove(&ov->phase[i + 1], &ov->phase[i], (ov->n - i) * sizeof(*ov->phase));
	ov->phase[i] = p;
	ov->n++;
	return 0;
}

/* A fault on the guest's stage-1 walk (ESR's S1PTW). */
static bool on_s1_walk(uint64_t esr)
{
	struct s2arm_fault f;
	return !s2arm_esr_decode(esr, &f) && f.s1ptw;
}

/* vCPU v's access of shared phase p on page waits for the tables to reach
 * level (none when level < 0); the entries of phases the chunk no longer
 * holds go. Nonzero when out of memory. */
static int deep_add(struct replay *rp, unsigned v, unsigned p, uint64_t page, int level)
{
	struct overlap *ov = &rp->ov;
	if (level < 0)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < ov->ndeep; i++) {
		const struct deep_access *d = &ov->deep[i];
		const struct s2hyp_scenario *sc = &rp->sc;
		if (sc->nvcpu[d->vcpu] && sc->vcpu[d->vcpu][0].phase <= d->phase)
			ov->deep[k++] = *d;
	}
	ov->ndeep = k;
	if (!s2trace__grow((void **)&ov->deep, &ov->deep_cap, sizeof(*ov->deep), ov->ndeep + 1))
		return 1;
	ov->deep[ov->ndeep++] = (struct deep_access){ v, p, page, (s2_level_t)level };
	return 0;
}

/* vCPU v's item k - 1 faulted, an invalidation ended before the vCPU
 * went back to the guest (in its span: host_invalidated), and the vCPU's
 * later lines show that the handler did not give up: it sampled the
 * sequence after that end (the last one in the span) and mapped then,
 * before any later begin, so the guest's retry found the page mapped
 * even where the invalidation unmapped it. The item gives up, as the
 * sequence check would have made it, and its fault is handled again,
 * uncounted, by a deferred item in the end's phase (after the end: host
 * items of a phase run first), before item k; unless item k shares an
 * earlier phase with another vCPU. Nonzero when out of memory. */
static int defer_handler(struct replay *rp, unsigned v, size_t k)
{
	struct s2hyp_scenario *sc = &rp->sc;
	size_t n = sc->nvcpu[v];
	unsigned *ends = rp->span_end[v], at = (unsigned)(n - k);
	if (k < n && sc->vcpu[v][k].phase < ends[at])
		return 0;
	struct s2hyp_vcpu_op late = sc->vcpu[v][k - 1];
	sc->vcpu[v][k - 1].not_retried = false;
	late.host_invalidated = false;
	late.deferred = true;
	late.phase = ends[at];
	if (s2hyp_scenario_add_vcpu(sc, v, &late))
		return 1;
	struct s2hyp_vcpu_op *ops = sc->vcpu[v];
	memmove(&ops[k + 1], &ops[k], (n - k) * sizeof(*ops));
	ops[k] = late;
	/* The items' bits and ends keep their places from the end; the
	 * deferred item's are clear. */
	uint16_t low = (uint16_t)(rp->s1_walks[v] & ((1u << at) - 1));
	rp->s1_walks[v] = (uint16_t)((unsigned)rp->s1_walks[v] >> at << (at + 1) | low);
	memmove(&ends[at + 1], &ends[at], (S2_ARRAY_SIZE(rp->span_end[v]) - at - 1) * sizeof(*ends));
	ends[at] = 0;
	rp->c.n++;
	return 0;
}

/* Bookkeeping of one more item of vCPU v (the newest). */
static void shift_item(struct replay *rp, unsigned v, bool s1_walk)
{
	rp->s1_walks[v] = (uint16_t)(rp->s1_walks[v] << 1 | s1_walk);
	memmove(&rp->span_end[v][1], &rp->span_end[v][0],
		(S2_ARRAY_SIZE(rp->span_end[v]) - 1) * sizeof(rp->span_end[v][0]));
	rp->span_end[v][0] = 0;
}

/* vCPU v's fault line op, with host changes since the vCPU went back to
 * the guest: its walk came a few guest instructions after the entry, and
 * the line is traced after the exit (between them, qemu's threads may
 * stall while the other CPU unmaps); its handling is at the line. The
 * walk is an item in the entry's phase that faults and gives up; op
 * handles the fault, deferred (its fault is counted only if the walk took
 * none). Nonzero when out of memory. */
static int walk_at_entry(struct replay *rp, unsigned v, struct s2hyp_vcpu_op *op, bool s1_walk)
{
	struct s2hyp_vcpu_op walk = *op;
	walk.phase = rp->entry_phase[v];
	walk.host_invalidated = true;
	if (s2hyp_scenario_add_vcpu(&rp->sc, v, &walk))
		return 1;
	shift_item(rp, v, s1_walk);
	rp->c.n++;
	op->deferred = true;
	return 0;
}

/* vCPU v's item back lines back (1: its last) was a fault whose handler
 * did not give up, as the vCPU's later lines show: no invalidation makes
 * it retry, and with entry lines one that ended in its span defers it
 * (defer_handler; with: the new line shares another vCPU's phase).
 * Nonzero when out of memory. */
static int went_through(struct replay *rp, unsigned v, size_t back, unsigned with)
{
	size_t n = rp->sc.nvcpu[v];
	struct s2hyp_vcpu_op *prev = &rp->sc.vcpu[v][n - back];
	if (prev->not_retried)
		return 0;
	prev->not_retried = true;
	if (prev->host_invalidated && rp->span_end[v][back - 1] && !with && !rp->in_block &&
	    rp->entries)
		return defer_handler(rp, v, n - back + 1);
	return 0;
}

/* The vCPU of the newest fault line on page among the vCPUs' recent
 * ones; UINT_MAX: none. */
static unsigned last_faulter(const struct replay *rp, uint64_t page)
{
	unsigned who = UINT_MAX;
	uint64_t seq = 0;
	for (unsigned a = 0; a < rp->sc.cfg.nr_vcpus; a++) {
		unsigned n = rp->nrecent[a], size = S2_ARRAY_SIZE(rp->recent[a]);
		for (unsigned k = 0; k < size && k < n; k++) {
			const struct last_line *l = &rp->recent[a][(n - 1 - k) % size];
			if (l->seq <= seq)
				break;
			if (l->page == page) {
				who = a;
				seq = l->seq;
				break;
			}
		}
	}
	return who;
}

static int add_vcpu(struct replay *rp, const struct s2trace_event *ev)
{
	struct chunk *c = &rp->c;
	const char *why = "";
	unsigned v = ev->vcpu.vcpu;
	struct s2hyp_vcpu_op op = ev->vcpu.op;

	if (s2hyp_check_vcpu_op(rp->m, v, &op, &why))
		return s2trace__bad(rp, ev->line, "vcpu %u: %s", v, why);
	uint64_t page = op.ipa >> 12;
	struct s2hyp_scenario *sc = &rp->sc;
	/* An access-flag fault's handler (mkyoung) never gives up for an
	 * invalidation: a second one with no host change since (an ageing
	 * would clear the flag again) proves overlap even once the host has
	 * acted. */
	struct s2arm_fault f;
	bool decoded = ev->vcpu.fault && !s2arm_esr_decode(ev->vcpu.esr, &f);
	bool af = decoded && f.type == S2ARM_FAULT_ACCESS_FLAG;
	/* A translation or access-flag fault came from a walk. */
	op.walked = af || (decoded && f.type == S2ARM_FAULT_TRANSLATION);
	bool window = false;
	uint64_t other = 0;
	unsigned with = ev->vcpu.fault && (!rp->host_seen || af) && !rp->in_block ?
				in_flight(rp, v, ev->vcpu.esr, page, &window, &other) : 0;
	if (ev->vcpu.fault && op.access != S2HYP_ACC_EXEC && !on_s1_walk(ev->vcpu.esr)) {
		/* The same access on another page as the vCPU's last one of
		 * that kind, with only fetches and other accesses (stage-1
		 * walks) between: the guest's retry of it went through (the
		 * faults between were the retry's own fetch and walk), so
		 * KVM's handler of it did not give up, whatever invalidation
		 * was in progress or in its span (it sampled the sequence
		 * after one ended). Every line looked at is judged alike (a
		 * stage-1 walk's read is no data read, however far back), over
		 * the vCPU's last LOOKBACK lines: the kernel bounds nothing (a
		 * retried fetch or walk may fault again and again), the bound
		 * is the look-back's cost. */
		struct s2hyp_vcpu_op *ops = sc->vcpu[v];
		size_t n = sc->nvcpu[v];
		for (size_t back = 1; back <= n && back <= LOOKBACK; back++) {
			struct s2hyp_vcpu_op *prev = &ops[n - back];
			if (prev->access != op.access || (rp->s1_walks[v] >> (back - 1) & 1))
				continue;
			if (prev->ipa >> 12 != page && went_through(rp, v, back, with))
				return s2trace__bad(rp, ev->line, "out of memory");
			break;
		}
	}
	/* An access-flag fault: the page was mapped (and aged since), so the
	 * handler of the page's last fault line before it, a translation
	 * fault of any vCPU, mapped it and did not give up, whatever
	 * invalidation was in its span (the guest's retry would have faulted
	 * again, and no one else faulted there since). */
	if (af && !on_s1_walk(ev->vcpu.esr)) {
		unsigned a = last_faulter(rp, page);
		size_t n = a < sc->cfg.nr_vcpus ? sc->nvcpu[a] : 0;
		for (size_t back = 1; back <= n && back <= LOOKBACK; back++) {
			const struct s2hyp_vcpu_op *prev = &sc->vcpu[a][n - back];
			if (prev->ipa >> 12 != page)
				continue;
			if (prev->walked && went_through(rp, a, back, with))
				return s2trace__bad(rp, ev->line, "out of memory");
			break;
		}
	}
	/* A translation fault with host changes since the vCPU went back to
	 * the guest (with entry lines): its walk came before them. */
	if (rp->entered[v] && rp->host_changes != rp->entry_changes[v] && op.walked && !af &&
	    !sc->cfg.host_mm &&
	    !with && !rp->in_block && rp->entry_phase[v] >= rp->handed &&
	    (!sc->nvcpu[v] || rp->entry_phase[v] >= sc->vcpu[v][sc->nvcpu[v] - 1].phase) &&
	    walk_at_entry(rp, v, &op, on_s1_walk(ev->vcpu.esr)))
		return s2trace__bad(rp, ev->line, "out of memory");
	rp->entered[v] = false;
	if (with) {
		/* Another vCPU's fault on the page with this ESR, and none of
		 * this vCPU's lines since: this access walked the tables
		 * before that fault's handling changed them (else it would
		 * not have faulted), so the two were in flight at once and
		 * share a phase. The same holds when this vCPU has faulted on
		 * other pages since, if the other vCPU has had no line since
		 * its fault (its handler was still mapping: KVM returns to the
		 * guest only once it is done); then this vCPU's lines since,
		 * and the other lines of that span, join the phase too, and
		 * the strategy handles their faults first (overlap_choose).
		 * Once the host has acted, the first fault may have mapped
		 * nothing (an invalidation made it retry), and the second is
		 * then no evidence of overlap. */
		if (window)
			merge_window(rp, with);
		op.phase = with;
		if (shared_phase_add(&rp->ov, op.phase) ||
		    deep_add(rp, v, op.phase, page, deeper(ev->vcpu.esr, other)))
			return s2trace__bad(rp, ev->line, "out of memory");
	} else {
		op.phase = phase_for(rp);
	}
	rp->lastv[v] = (struct last_line){ ev->vcpu.fault, op.phase, ev->vcpu.esr, page,
					   rp->host_changes, ++rp->lines };
	if (ev->vcpu.fault)
		rp->recent[v][rp->nrecent[v]++ % S2_ARRAY_SIZE(rp->recent[v])] = rp->lastv[v];
	if (!item_src(rp, ev->line, &op.src) || s2hyp_scenario_add_vcpu(&rp->sc, v, &op) ||
	    (rp->opts && rp->opts->record && s2hyp_scenario_add_vcpu(&rp->rec, v, &op)))
		return s2trace__bad(rp, ev->line, "out of memory");
	shift_item(rp, v, ev->vcpu.fault && on_s1_walk(ev->vcpu.esr));
	rp->span_open[v] = true;
	c->n++;
	rp->res->vcpu_events++;
	return 0;
}

/* A `fired RULE` or `clean` expectation against the counts of violations
 * per rule, whichever checker kept them (the machine's or the effect one). */
void s2trace__check_rule_expect(struct replay *rp, const struct s2trace_event *ev,
			      const uint64_t violations[S2HYP_NR_RULES])
{
	if (ev->expect.kind == S2T_EXP_FIRED) {
		rp->res->expected_rule[ev->expect.rule] = true;
		if (!violations[ev->expect.rule])
			s2trace__failure(rp, ev->line, "rule %s did not fire",
				s2hyp_rule_name((enum s2hyp_rule)ev->expect.rule));
		return;
	}
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (violations[r]) {
			s2trace__failure(rp, ev->line, "rule %s fired", s2hyp_rule_name((enum s2hyp_rule)r));
			return;
		}
}

bool s2trace__checking_fix(const struct replay *rp)
{
	return rp->opts && rp->opts->check_fix;
}

void s2trace__check_expect(struct replay *rp, const struct s2trace_event *ev)
{
	struct s2trace_result *res = rp->res;
	if (s2trace__checking_fix(rp)) {
		/* The buggy run's outcome: only the rules it fired matter. */
		if (ev->expect.kind == S2T_EXP_FIRED)
			res->recorded_rule[ev->expect.rule] = true;
		return;
	}
	if (rp->eff) {
		unsigned before = res->expects_failed;
		res->expects++;
		s2trace__check_effect_expect(rp, ev);
		if (res->expects_failed == before)
			res->expects_met++;
		return;
	}
	const struct s2hyp_stats *st = s2hyp_stats(rp->m);
	unsigned line = ev->line;
	unsigned before = res->expects_failed;

	res->expects++;
	switch (ev->expect.kind) {
	case S2T_EXP_MAPPED:
	case S2T_EXP_UNMAPPED:
	case S2T_EXP_REFCOUNT: {
		if (s2hyp_destroyed(rp->m)) {
			s2trace__failure(rp, line, "the VM was destroyed before this expectation");
			break;
		}
		if (ev->expect.ipa >= s2_bit(rp->sc.cfg.ipa_bits)) {
			s2trace__failure(rp, line, "ipa %#llx is beyond the IPA space",
				(unsigned long long)ev->expect.ipa);
			break;
		}
		if (ev->expect.kind == S2T_EXP_REFCOUNT) {
			int rc = 0;
			if (s2hyp_table_refcount(rp->m, ev->expect.ipa, &rc))
				s2trace__failure(rp, line, "no table page holds an entry for ipa %#llx",
					(unsigned long long)ev->expect.ipa);
			else if (rc != ev->expect.value)
				s2trace__failure(rp, line, "the table page holding ipa %#llx has refcount %d, not %lld",
					(unsigned long long)ev->expect.ipa, rc,
					(long long)ev->expect.value);
			break;
		}
		s2_pte_t pte;
		s2_level_t level;
		struct s2pt *pt = s2hyp_pgtable(rp->m);
		s2pt_get_leaf(pt, s2_ipa(ev->expect.ipa), &pte, &level);
		bool mapped = s2pt_pte_is_leaf(pte, level);
		if (ev->expect.kind == S2T_EXP_UNMAPPED) {
			if (mapped)
				s2trace__failure(rp, line, "ipa %#llx is mapped at level %d",
					(unsigned long long)ev->expect.ipa, level);
			break;
		}
		if (!mapped) {
			s2trace__failure(rp, line, "ipa %#llx is not mapped", (unsigned long long)ev->expect.ipa);
			break;
		}
		if (ev->expect.level != -128 && ev->expect.level != level)
			s2trace__failure(rp, line, "ipa %#llx is mapped at level %d, not %d",
				(unsigned long long)ev->expect.ipa, level, ev->expect.level);
		int prot = s2pt_pte_prot(pte, rp->sc.cfg.fwb) & (S2PT_PROT_R | S2PT_PROT_W | S2PT_PROT_X);
		if (ev->expect.prot >= 0 && prot != ev->expect.prot)
			s2trace__failure(rp, line, "ipa %#llx is mapped %s%s%s, not %s%s%s",
				(unsigned long long)ev->expect.ipa, prot & S2PT_PROT_R ? "r" : "",
				prot & S2PT_PROT_W ? "w" : "", prot & S2PT_PROT_X ? "x" : "",
				ev->expect.prot & S2PT_PROT_R ? "r" : "",
				ev->expect.prot & S2PT_PROT_W ? "w" : "",
				ev->expect.prot & S2PT_PROT_X ? "x" : "");
		break;
	}
	case S2T_EXP_FIRED:
	case S2T_EXP_CLEAN:
		s2trace__check_rule_expect(rp, ev, st->violations);
		break;
	case S2T_EXP_FAULTS: {
		uint64_t n = 0;
		for (unsigned v = 0; v < rp->sc.cfg.nr_vcpus; v++) {
			if (ev->expect.vcpu >= 0 && (unsigned)ev->expect.vcpu != v)
				continue;
			const struct s2hyp_vcpu_stats *vs = &st->vcpu[v];
			uint64_t k[3] = { vs->faults_translation, vs->faults_permission,
					  vs->faults_access_flag };
			for (unsigned i = 0; i < 3; i++)
				if (ev->expect.fault_kind < 0 || (unsigned)ev->expect.fault_kind == i)
					n += k[i];
		}
		if (n > ev->expect.max)
			s2trace__failure(rp, line, "%llu %s faults, more than %llu", (unsigned long long)n,
				ev->expect.fault_kind >= 0 ?
				s2trace_word(S2T_W_FAULT_KIND, (unsigned)ev->expect.fault_kind) : "",
				(unsigned long long)ev->expect.max);
		else if (n < ev->expect.min)
			s2trace__failure(rp, line, "%llu %s faults, fewer than %llu", (unsigned long long)n,
				ev->expect.fault_kind >= 0 ?
				s2trace_word(S2T_W_FAULT_KIND, (unsigned)ev->expect.fault_kind) : "",
				(unsigned long long)ev->expect.min);
		break;
	}
	}
	if (res->expects_failed == before)
		res->expects_met++;
}

/* Every counter of the statistics is a uint64_t: a section's share is the
 * difference of two snapshots, counter by counter. */
_Static_assert(sizeof(struct s2hyp_stats) % sizeof(uint64_t) == 0, "s2hyp_stats holds counters");

static void stats_add_diff(struct s2hyp_stats *acc, const struct s2hyp_stats *now,
			   const struct s2hyp_stats *base)
{
	uint64_t a[sizeof(*acc) / sizeof(uint64_t)], n[sizeof(a) / sizeof(a[0])],
		 b[sizeof(a) / sizeof(a[0])];

	memcpy(a, acc, sizeof(a));
	memcpy(n, now, sizeof(n));
	memcpy(b, base, sizeof(b));
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		a[i] += n[i] - b[i];
	memcpy(acc, a, sizeof(a));
}

/* The section named name: found, or added. -1 when out of memory. */
static int section_index(struct replay *rp, const char *name)
{
	struct s2trace_result *res = rp->res;
	for (unsigned i = 0; i < res->nr_sections; i++)
		if (!strcmp(res->sections[i].name, name))
			return (int)i;
	struct s2trace_section *p = realloc(res->sections, (res->nr_sections + 1) * sizeof(*p));
	if (!p)
		return -1;
	res->sections = p;
	memset(&p[res->nr_sections], 0, sizeof(*p));
	snprintf(p[res->nr_sections].name, sizeof(p->name), "%s", name);
	return (int)res->nr_sections++;
}

/* Close the current section: what the machine counted since it began. */
static void section_close(struct replay *rp)
{
	if (!rp->m || !rp->res->nr_sections)
		return;
	run_chunk(rp);
	const struct s2hyp_stats *now = s2hyp_stats(rp->m);
	stats_add_diff(&rp->res->sections[rp->sec].stats, now, &rp->sec_base);
	rp->sec_base = *now;
}

static int on_section(struct replay *rp, const struct s2trace_event *ev)
{
	section_close(rp);
	int i = section_index(rp, ev->section.name);
	if (i < 0)
		return s2trace__bad(rp, ev->line, "out of memory");
	rp->sec = (unsigned)i;
	return 0;
}

/* What the result keeps of the machine once the run is over. */
void s2trace__finish_result(struct replay *rp)
{
	struct s2trace_result *res = rp->res;
	const struct s2hyp_stats *st = s2hyp_stats(rp->m);

	res->stats = *st;
	res->cfg = *s2hyp_config(rp->m);
	res->geom_granule_shift = res->cfg.granule_shift;
	res->effect_trace = rp->effects;
	if (rp->eff) {
		const struct s2eff_stats *es = s2eff_stats(rp->eff);
		res->eff_stats = *es;
		memcpy(res->stats.violations, es->violations, sizeof(es->violations));
		res->stats.tlbis = es->tlbis;
		res->stats.dsbs = es->dsbs;
		res->stats.cmos = es->cmos;
		res->geom_granule_shift = s2eff_page_shift(rp->eff);
		res->cfg.granule_shift = res->geom_granule_shift;
		res->nr_eff_violations = s2eff_nr_violations(rp->eff);
		res->eff_violations = calloc(res->nr_eff_violations ? res->nr_eff_violations : 1,
					     sizeof(*res->eff_violations));
		for (unsigned i = 0; res->eff_violations && i < res->nr_eff_violations; i++) {
			struct s2eff_violation *v = &res->eff_violations[i];
			*v = *s2eff_violation(rp->eff, i);
		}
	}
	st = &res->stats;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r] && !res->expected_rule[r])
			res->unexpected_rules++;
	res->nr_violations = s2hyp_nr_violations(rp->m);
	res->violations = calloc(res->nr_violations ? res->nr_violations : 1,
				 sizeof(*res->violations));
	for (unsigned i = 0; res->violations && i < res->nr_violations; i++)
		res->violations[i] = *s2hyp_violation(rp->m, i);
}

static int handle(struct replay *rp, const struct s2trace_event *ev)
{
	switch (ev->kind) {
	case S2T_CONFIG:
		rp->sc.cfg = ev->config.cfg;
		rp->cfg_line = ev->line;
		return 0;
	case S2T_MEMSLOT:
		rp->slot_line[rp->sc.nr_slots] = ev->line;
		rp->sc.slots[rp->sc.nr_slots++] = ev->memslot.slot;
		return 0;
	case S2T_SCHEDULE:
		if (!s2trace__grow((void **)&rp->sched, &rp->sched_cap, sizeof(*rp->sched),
			  rp->nsched + ev->schedule.n))
			return s2trace__bad(rp, ev->line, "out of memory");
		memcpy(rp->sched + rp->nsched, ev->schedule.choices,
		       ev->schedule.n * sizeof(*rp->sched));
		rp->nsched += ev->schedule.n;
		return 0;
	case S2T_GUEST:
		rp->guest = true;
		rp->guest_line = ev->line;
		snprintf(rp->guest_image, sizeof(rp->guest_image), "%s", ev->guest.image);
		rp->guest_load = ev->guest.load;
		rp->guest_entry = ev->guest.entry;
		rp->guest_size = ev->guest.size;
		return 0;
	default:
		break;
	}
	if (rp->guest)
		return s2trace__guest_event(rp, ev);
	if (ev->kind == S2T_EFFECT && !rp->m) {
		int ret = s2trace__begin_effects(rp, ev);
		if (ret)
			return ret;
	} else if (!rp->m) {
		int ret = s2trace__make_machine(rp, ev->line);
		if (ret)
			return ret;
	}
	if ((ev->kind == S2T_EFFECT) != rp->effects &&
	    (ev->kind == S2T_EFFECT || ev->kind == S2T_HOST || ev->kind == S2T_VCPU))
		return s2trace__bad(rp, ev->line, "a trace holds high-level events or effect events, not both");
	rp->res->events++;
	switch (ev->kind) {
	case S2T_PHASE:
		rp->res->events--;
		s2trace__on_phase(rp, ev);
		return 0;
	case S2T_HOST:
		return add_host(rp, ev);
	case S2T_VCPU:
		return add_vcpu(rp, ev);
	case S2T_MMIO:
		if (ev->mmio.vcpu >= rp->sc.cfg.nr_vcpus)
			return s2trace__bad(rp, ev->line, "mmio vcpu=%u: the configuration has %u vCPUs",
				   ev->mmio.vcpu, rp->sc.cfg.nr_vcpus);
		rp->res->mmio_events++;
		/* The vCPU is back from its last fault's handling. */
		rp->lastv[ev->mmio.vcpu].seq = ++rp->lines;
		return 0;
	case S2T_ENTRY:
		rp->res->events--;
		if (ev->entry.vcpu >= rp->sc.cfg.nr_vcpus)
			return s2trace__bad(rp, ev->line, "entry vcpu=%u: the configuration has %u vCPUs",
				   ev->entry.vcpu, rp->sc.cfg.nr_vcpus);
		/* Back in the guest: KVM's handling of the vCPU's last fault is
		 * over, and no later invalidation is inside its span. */
		rp->span_open[ev->entry.vcpu] = false;
		rp->entries = true;
		rp->entered[ev->entry.vcpu] = true;
		rp->entry_phase[ev->entry.vcpu] = rp->ip;
		rp->entry_changes[ev->entry.vcpu] = rp->host_changes;
		return 0;
	case S2T_SECTION:
		rp->res->events--;
		return on_section(rp, ev);
	case S2T_EFFECT:
		return s2trace__apply_effect(rp, ev);
	case S2T_EXPECT:
		rp->res->events--;
		if (!rp->effects && ev->expect.kind == S2T_EXP_FAULTS && ev->expect.vcpu >= 0 &&
		    (unsigned)ev->expect.vcpu >= rp->sc.cfg.nr_vcpus)
			return s2trace__bad(rp, ev->line, "expect faults vcpu=%d: the configuration "
					    "has %u vCPUs", ev->expect.vcpu, rp->sc.cfg.nr_vcpus);
		run_chunk(rp);
		if (!rp->stop)
			s2trace__check_expect(rp, ev);
		return 0;
	default:
		return 0;
	}
}

/* The replayed run as a trace of its own: the events in their phases, the
 * schedule the machine took, and its outcome as expect lines. */
static void write_record(struct replay *rp, const char *path)
{
	FILE *f = fopen(rp->opts->record, "w");
	char comment[320];
	size_t n;
	int ret = 0;

	if (f) {
		snprintf(comment, sizeof(comment), "recorded by s2emu replay of %s", path);
		const struct s2hyp_choice *sched = s2hyp_schedule(rp->m, &n);
		ret = s2trace_write_scenario(f, &rp->rec, sched, n, comment);
		ret |= s2trace_write_outcome(f, s2hyp_stats(rp->m));
		errno = 0;
		if (fflush(f) && !ret)
			ret = S2_EIO;
		if (fclose(f) && !ret)
			ret = S2_EIO;
	}
	if (!f || ret) {
		/* The output's fault, not the trace's: no FILE:LINE. */
		snprintf(rp->res->error, sizeof(rp->res->error), "cannot write %s: %s",
			 rp->opts->record, errno ? strerror(errno) : s2_err_msg(ret));
		rp->res->bad_input = true;
		rp->stop = true;
	}
}

/*
 * Open path in its format (s2trace_source_open): an s2emu trace as it is, an
 * ftrace capture converted on the way, a casemate log's events handed over
 * by the importer (casemate_event). A casemate log's reports name the log's
 * lines; an ftrace capture's name the converted trace's, so its name says
 * so.
 */
static int open_input(struct replay *rp, const char *path)
{
	const struct s2trace_replay_opts *o = rp->opts;
	struct s2trace_result *res = rp->res;

	if (s2trace_source_open(path, o ? o->from : S2TRACE_FMT_AUTO, o ? o->ftrace_layout : NULL,
				&rp->src, res->error, sizeof(res->error)))
		return -1;
	enum s2trace_format fmt = s2trace_source_format(rp->src);
	if (fmt == S2TRACE_FMT_FTRACE) {
		char name[sizeof(res->name)];
		snprintf(name, sizeof(name), "%s (imported)", path);
		memcpy(res->name, name, sizeof(name));
	}
	rp->name = res->name;
	if (fmt != S2TRACE_FMT_CASEMATE &&
	    !(rp->r = s2trace_reader_new(s2trace_source_file(rp->src), res->name))) {
		snprintf(res->error, sizeof(res->error), "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* An effect of a casemate log, as the importer hands it over: after bad
 * input the importer still reads the log to its end, and its own error,
 * if it finds one, is the one reported (as for a converted trace). */
static void casemate_event(void *arg, const struct s2trace_event *ev)
{
	struct replay *rp = arg;

	if (!rp->stop)
		handle(rp, ev);
}

int s2trace_replay(const char *path, const struct s2trace_replay_opts *o,
		   struct s2trace_result *res)
{
	struct replay rp = { .res = res, .opts = o };
	struct s2trace_event ev;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", path);
	s2hyp_scenario_init(&rp.sc);
	if (open_input(&rp, path)) {
		res->bad_input = true;
		s2trace_close(rp.r);
		s2trace_source_close(rp.src, NULL, 0);
		return 2;
	}
	char cerr[sizeof(res->error)];
	if (!rp.r) {
		if (s2trace_source_casemate(rp.src, casemate_event, &rp, cerr, sizeof(cerr))) {
			memcpy(res->error, cerr, sizeof(cerr));
			res->bad_input = true;
			rp.stop = true;
		}
	} else {
		while (!rp.stop && (ret = s2trace_next(rp.r, &ev)) > 0)
			handle(&rp, &ev);
	}
	if (!rp.stop && ret < 0) {
		snprintf(res->error, sizeof(res->error), "%s", s2trace_error(rp.r));
		res->bad_input = true;
	}
	/* A conversion that failed ended its output early: the importer's
	 * error, which names the input's line, is the one to report. */
	if (s2trace_source_close(rp.src, cerr, sizeof(cerr))) {
		memcpy(res->error, cerr, sizeof(cerr));
		res->bad_input = true;
		rp.stop = true;
	}
	rp.src = NULL;
	if (rp.guest) {
		if (!res->bad_input && !rp.stop)
			s2trace__run_guest(&rp, path);
	} else {
		if (!res->bad_input && !rp.m)
			s2trace__make_machine(&rp, 0);
		/* The end of the VM, as every real run ends: the leak rule runs. */
		if (o && o->teardown && rp.m && !rp.stop && !res->bad_input && !rp.effects &&
		    !rp.destroy_seen) {
			struct s2trace_event td = { .kind = S2T_HOST };
			td.host.kind = S2HYP_HOST_DESTROY;
			add_host(&rp, &td);
			res->host_events--;	/* not an event of the trace */
		}
		run_chunk(&rp);
	}
	/* A recorded schedule is used to its end when the run reproduces; what
	 * is left means the trace and its schedule no longer fit. */
	if (rp.m && !res->bad_input && !rp.stop && rp.nsched && rp.rp.pos < rp.nsched &&
	    !s2trace__checking_fix(&rp))
		s2trace__failure(&rp, 0, "the schedule has %zu of its %zu choices left unused at the end",
			rp.nsched - rp.rp.pos, rp.nsched);
	res->check_fix = s2trace__checking_fix(&rp);
	res->sched_len = rp.nsched;
	res->sched_diverged = rp.rp.diverged;
	res->sched_applied = rp.rp.diverged ? rp.rp.diverged_at : rp.rp.pos;
	if (rp.m && o && o->record && !res->bad_input)
		write_record(&rp, path);
	if (rp.m && !res->bad_input)
		section_close(&rp);
	if (rp.m) {
		s2trace__finish_result(&rp);
		s2hyp_delete(rp.m);
	}
	s2eff_free(rp.eff);
	s2trace_close(rp.r);
	s2hyp_scenario_free(&rp.rec);
	s2hyp_scenario_free(&rp.gsc);
	free(rp.gexp);
	free(rp.sched);
	free(rp.ov.phase);
	free(rp.ov.deep);
	free_srcs(&rp.c);
	free(rp.c.srcs);
	free(rp.c.host_line);
	s2hyp_scenario_free(&rp.sc);
	if (res->bad_input)
		return 2;
	return res->expects_failed || res->unexpected_rules ? 1 : 0;
}

void s2trace_result_free(struct s2trace_result *res)
{
	free(res->violations);
	res->violations = NULL;
	free(res->eff_violations);
	res->eff_violations = NULL;
	free(res->sections);
	res->sections = NULL;
	res->nr_sections = 0;
}

