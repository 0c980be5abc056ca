/* Replay: a trace drives the machine with every rule checked.
 *
 * The trace is read one event at a time and run in chunks; a chunk ends only
 * between phases (or at an expect line), so memory stays flat however long
 * the trace is, and the result is the same as running it whole. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_file.h"
#include "common/s2_text.h"
#include "common/s2_vec.h"
#include "guest/s2guest.h"
#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"

#define CHUNK_EVENTS 4096

struct chunk {
	struct s2hyp_host_op *host;
	size_t nhost;
	unsigned host_cap;
	struct s2hyp_vcpu_op *vcpu[S2HYP_MAX_VCPUS];
	size_t nvcpu[S2HYP_MAX_VCPUS];
	unsigned vcpu_cap[S2HYP_MAX_VCPUS];
	size_t n;
	char **srcs;		/* with an observer: the items' "FILE:LINE" */
	size_t nsrcs;
	unsigned srcs_cap;
};

struct replay {
	struct s2trace_reader *r;
	struct s2trace_result *res;
	const struct s2trace_replay_opts *opts;
	struct s2hyp_config cfg;
	struct s2hyp_memslot slots[S2HYP_MAX_SLOTS];
	unsigned nr_slots;
	unsigned cfg_line, slot_line[S2HYP_MAX_SLOTS];	/* to name them in errors */
	struct s2hyp_choice *sched;
	size_t nsched;
	unsigned sched_cap;
	struct s2hyp_replay rp;
	struct s2hyp_strategy st;
	struct s2hyp *m;
	struct chunk c;
	/* Internal phase numbers: an explicit `phase N` block shares one; an
	 * event outside any block gets its own. */
	unsigned ip;
	bool in_block;
	uint64_t block_n;
	bool stop;
	bool effects;		/* an effect trace */
	/* A guest-code trace: the image runs on the vCPUs; the trace holds the
	 * host program and the expectations, checked after the run. */
	bool guest;
	unsigned guest_line;
	char guest_image[1024];
	uint64_t guest_load, guest_entry, guest_size;
	struct s2hyp_scenario gsc;
	struct s2trace_event *gexp;
	size_t ngexp;
	unsigned gexp_cap;
	struct s2hyp_scenario rec;	/* with --record: every event so far */
	struct s2eff *eff;		/* an effect trace's checker */
	/* The input, converted on the way when it is not an s2emu trace; for
	 * a casemate log, the log's line of each line read (0: none). */
	struct s2trace_source *src;
	unsigned *log_line;
	size_t nlog_line;
	unsigned log_line_cap;
	uint64_t neffects;
	/* Statistics per section: the current one's index and the machine's
	 * totals when it began. */
	unsigned sec;
	struct s2hyp_stats sec_base;
	bool destroy_seen;	/* the trace tears the VM down itself */
};

/* The input line a user knows: the casemate log's, for a converted trace. */
static unsigned src_line(const struct replay *rp, unsigned line)
{
	if (!rp->log_line)
		return line;
	return line < rp->nlog_line ? rp->log_line[line] : 0;
}

static int bad(struct replay *rp, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct replay *rp, unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(rp->res->error, sizeof(rp->res->error), "%s:%u: %s", s2trace_name(rp->r),
		 src_line(rp, line), msg);
	rp->res->bad_input = true;
	rp->stop = true;
	return 2;
}

static void failure(struct replay *rp, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void failure(struct replay *rp, unsigned line, const char *fmt, ...)
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
static bool grow(void **arr, unsigned *cap, size_t elem, size_t need)
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
	if (o->set & S2T_CFG_HOST_MM) {
		c->host_mm = v->host_mm;
		c->cow_policy = v->cow_policy;
	}
}

static int make_machine(struct replay *rp, unsigned line)
{
	const char *why = "";
	if (rp->opts && rp->opts->have_walker)
		rp->cfg.variant = rp->opts->walker;
	if (rp->opts)
		apply_overrides(&rp->cfg, rp->opts);
	/* Without a schedule replay is sequential: the first enabled choice is
	 * always taken, never a background one, so listing them is waste. */
	if (!rp->nsched)
		rp->cfg.explore_evictions = rp->cfg.explore_prefetch = false;
	rp->res->cfg = rp->cfg;
	if (s2hyp_create(&rp->cfg, rp->slots, rp->nr_slots, &rp->m, &why)) {
		unsigned c = s2trace_setup_culprit(&rp->cfg, rp->slots, rp->nr_slots);
		if (c < rp->nr_slots)
			return bad(rp, rp->slot_line[c], "memslot %u: %s", c, why);
		return bad(rp, rp->cfg_line ? rp->cfg_line : line, "configuration: %s", why);
	}
	if (rp->opts && rp->opts->observer)
		s2hyp_set_observer(rp->m, rp->opts->observer);
	if (section_index(rp, "pre") < 0)
		return bad(rp, line, "out of memory");
	rp->sec = 0;
	memset(&rp->sec_base, 0, sizeof(rp->sec_base));
	if (rp->opts && rp->opts->record) {
		rp->rec.cfg = rp->cfg;
		memcpy(rp->rec.slots, rp->slots, sizeof(rp->slots));
		rp->rec.nr_slots = rp->nr_slots;
		s2hyp_record_schedule(rp->m, true);
	}
	rp->rp = (struct s2hyp_replay){ .sched = rp->sched, .n = rp->nsched,
					.lenient = rp->opts && rp->opts->check_fix };
	if (rp->nsched) {
		rp->st = s2hyp_strategy_replay_template;
		rp->st.arg = &rp->rp;
	} else {
		rp->st = s2hyp_strategy_sequential;
	}
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
	const char *name = s2trace_name(rp->r);
	size_t len = strlen(name) + 16;

	*src = NULL;
	if (!rp->opts || !rp->opts->observer)
		return true;
	if (!grow((void **)&c->srcs, &c->srcs_cap, sizeof(*c->srcs), c->nsrcs + 1))
		return false;
	char *s = malloc(len);
	if (!s)
		return false;
	snprintf(s, len, "%s:%u", name, line);
	c->srcs[c->nsrcs++] = s;
	*src = s;
	return true;
}

/* Run what the chunk holds to its end. */
static void run_chunk(struct replay *rp)
{
	struct chunk *c = &rp->c;
	const char *why = "";

	if (!c->n || rp->stop)
		return;
	if (s2hyp_set_host_program(rp->m, c->host, c->nhost, &why)) {
		bad(rp, 0, "%s", why);
		return;
	}
	for (unsigned v = 0; v < rp->cfg.nr_vcpus; v++) {
		if (s2hyp_set_vcpu_program(rp->m, v, c->vcpu[v], c->nvcpu[v], &why)) {
			bad(rp, 0, "%s", why);
			return;
		}
		c->nvcpu[v] = 0;
	}
	c->nhost = 0;
	c->n = 0;
	enum s2hyp_outcome o = s2hyp_run(rp->m, &rp->st);
	free_srcs(c);
	rp->res->outcome = o;
	if (rp->opts && rp->opts->progress)
		rp->opts->progress(rp->opts->progress_arg, rp->res->events);
	if (o != S2HYP_DONE) {
		if (o == S2HYP_DIVERGED || rp->rp.diverged)
			failure(rp, 0, "the schedule diverged at choice %zu: it names a choice that "
				       "is not possible at that point", rp->rp.diverged_at + 1);
		else
			failure(rp, 0, "the run stopped: %s: %s", s2hyp_outcome_name(o),
				s2hyp_error(rp->m));
		rp->stop = true;
	}
}

static unsigned phase_for(struct replay *rp)
{
	if (rp->in_block)
		return rp->ip;
	/* A sequential event: a chunk may end before it. */
	if (rp->c.n >= CHUNK_EVENTS)
		run_chunk(rp);
	return ++rp->ip;
}

static void on_phase(struct replay *rp, const struct s2trace_event *ev)
{
	if (rp->in_block && ev->phase.n == rp->block_n)
		return;
	if (rp->c.n >= CHUNK_EVENTS)
		run_chunk(rp);
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
		return bad(rp, ev->line, "%s", why);
	op.phase = phase_for(rp);
	rp->destroy_seen |= op.kind == S2HYP_HOST_DESTROY;
	if (!item_src(rp, ev->line, &op.src) ||
	    !grow((void **)&c->host, &c->host_cap, sizeof(op), c->nhost + 1) ||
	    (rp->opts && rp->opts->record && s2hyp_scenario_add_host(&rp->rec, &op)))
		return bad(rp, ev->line, "out of memory");
	c->host[c->nhost++] = op;
	c->n++;
	rp->res->host_events++;
	return 0;
}

static int add_vcpu(struct replay *rp, const struct s2trace_event *ev)
{
	struct chunk *c = &rp->c;
	const char *why = "";
	unsigned v = ev->vcpu.vcpu;
	struct s2hyp_vcpu_op op = ev->vcpu.op;

	if (s2hyp_check_vcpu_op(rp->m, v, &op, &why))
		return bad(rp, ev->line, "vcpu %u: %s", v, why);
	op.phase = phase_for(rp);
	if (!item_src(rp, ev->line, &op.src) ||
	    !grow((void **)&c->vcpu[v], &c->vcpu_cap[v], sizeof(op), c->nvcpu[v] + 1) ||
	    (rp->opts && rp->opts->record && s2hyp_scenario_add_vcpu(&rp->rec, v, &op)))
		return bad(rp, ev->line, "out of memory");
	c->vcpu[v][c->nvcpu[v]++] = op;
	c->n++;
	rp->res->vcpu_events++;
	return 0;
}

/* An effect trace is checked by the effect checker, in the trace's own
 * terms; the machine is made only for what every trace shares. */
static int begin_effects(struct replay *rp, const struct s2trace_event *ev)
{
	if (rp->opts && rp->opts->record)
		return bad(rp, ev->line, "an effect trace is its own record: it cannot be recorded again as a high-level trace");
	int ret = make_machine(rp, ev->line);
	if (ret)
		return ret;
	rp->eff = s2eff_new();
	if (!rp->eff)
		return bad(rp, ev->line, "out of memory");
	s2eff_set_ignore_ttl(rp->eff, rp->opts && rp->opts->ignore_ttl);
	rp->effects = true;
	return 0;
}

static int apply_effect(struct replay *rp, const struct s2trace_event *ev)
{
	const struct s2eff_at at = { ev->line, ev->effect.thread };
	struct s2eff *e = rp->eff;
	const char *why = "";
	uint64_t lock = ev->effect.have_addr ? ev->effect.pa : UINT64_MAX;
	uint64_t size = ev->effect.size ? ev->effect.size : UINT64_C(1) << s2eff_page_shift(e);
	int ret = 0;

	switch (ev->effect.kind) {
	case S2T_EFF_VTCR:
		ret = s2eff_sysreg(e, at, S2EFF_VTCR_EL2, ev->effect.value, &why);
		break;
	case S2T_EFF_VTTBR:
		ret = s2eff_sysreg(e, at, S2EFF_VTTBR_EL2, ev->effect.value, &why);
		break;
	case S2T_EFF_SYSREG:
		ret = s2eff_sysreg(e, at, (enum s2eff_sysreg)ev->effect.op, ev->effect.value, &why);
		break;
	case S2T_EFF_ALLOC:
		ret = s2eff_init(e, at, ev->effect.pa, size, &why);
		break;
	case S2T_EFF_FREE:
		ret = s2eff_release(e, at, ev->effect.pa, size, &why);
		break;
	case S2T_EFF_PTE_WRITE:
	case S2T_EFF_WRITE:
		ret = s2eff_write(e, at, ev->effect.pa, ev->effect.value, ev->effect.release,
				  ev->effect.kind == S2T_EFF_WRITE, &why);
		break;
	case S2T_EFF_PTE_READ:
		ret = s2eff_read(e, at, ev->effect.pa, ev->effect.value, &why);
		break;
	case S2T_EFF_DSB:
		s2eff_dsb(e, at, (enum s2arm_dsb)ev->effect.op);
		break;
	case S2T_EFF_ISB:
		s2eff_isb(e, at);
		break;
	case S2T_EFF_TLBI:
		s2eff_tlbi(e, at, (enum s2arm_tlbi)ev->effect.op, ev->effect.ipa,
			   ev->effect.level,
			   ev->effect.have_vmid ? (int)ev->effect.vmid : -1);
		break;
	case S2T_EFF_DC:
	case S2T_EFF_IC:
		s2eff_cmo(e, at);
		break;
	case S2T_EFF_LOCK:
	case S2T_EFF_TRYLOCK:
		ret = s2eff_lock(e, at, lock, ev->effect.kind == S2T_EFF_TRYLOCK, &why);
		break;
	case S2T_EFF_UNLOCK:
		ret = s2eff_unlock(e, at, lock, &why);
		break;
	case S2T_EFF_HINT:
		ret = s2eff_hint(e, at, (enum s2eff_hint)ev->effect.op, ev->effect.pa,
				 ev->effect.value, &why);
		break;
	}
	if (ret)
		return bad(rp, ev->line, "%s %s", "effect:", why);
	return 0;
}

static const char *const fault_kinds[] = { "translation", "permission", "access-flag" };

/* A `fired RULE` or `clean` expectation against the counts of violations
 * per rule, whichever checker kept them (the machine's or the effect one). */
static void check_rule_expect(struct replay *rp, const struct s2trace_event *ev,
			      const uint64_t violations[S2HYP_NR_RULES])
{
	if (ev->expect.kind == S2T_EXP_FIRED) {
		rp->res->expected_rule[ev->expect.rule] = true;
		if (!violations[ev->expect.rule])
			failure(rp, ev->line, "rule %s did not fire",
				s2hyp_rule_name((enum s2hyp_rule)ev->expect.rule));
		return;
	}
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (violations[r]) {
			failure(rp, ev->line, "rule %s fired", s2hyp_rule_name((enum s2hyp_rule)r));
			return;
		}
}

/* An effect trace's expectations: rules of the effect checker, and the
 * tables as the last stage-2 root installed walks them. */
static void check_effect_expect(struct replay *rp, const struct s2trace_event *ev)
{
	const struct s2eff_stats *st = s2eff_stats(rp->eff);
	unsigned line = ev->line;
	int level = 0;
	uint64_t desc = 0;

	switch (ev->expect.kind) {
	case S2T_EXP_FIRED:
	case S2T_EXP_CLEAN:
		check_rule_expect(rp, ev, st->violations);
		break;
	case S2T_EXP_MAPPED:
	case S2T_EXP_UNMAPPED: {
		int found = s2eff_lookup(rp->eff, ev->expect.ipa, &level, &desc);
		if (found < 0)
			failure(rp, line, "no stage-2 root was installed (vttbr) before this expectation");
		else if (ev->expect.kind == S2T_EXP_UNMAPPED && found)
			failure(rp, line, "ipa %#llx is mapped at level %d",
				(unsigned long long)ev->expect.ipa, level);
		else if (ev->expect.kind == S2T_EXP_MAPPED && !found)
			failure(rp, line, "ipa %#llx is not mapped", (unsigned long long)ev->expect.ipa);
		else if (ev->expect.kind == S2T_EXP_MAPPED && ev->expect.level != -128 &&
			 ev->expect.level != level)
			failure(rp, line, "ipa %#llx is mapped at level %d, not %d",
				(unsigned long long)ev->expect.ipa, level, ev->expect.level);
		break;
	}
	case S2T_EXP_FAULTS:
	case S2T_EXP_REFCOUNT:
		failure(rp, line, "an effect trace has no vCPUs and no refcounts to expect");
		break;
	}
}

static bool checking_fix(const struct replay *rp)
{
	return rp->opts && rp->opts->check_fix;
}

static void check_expect(struct replay *rp, const struct s2trace_event *ev)
{
	struct s2trace_result *res = rp->res;
	if (checking_fix(rp)) {
		/* The buggy run's outcome: only the rules it fired matter. */
		if (ev->expect.kind == S2T_EXP_FIRED)
			res->recorded_rule[ev->expect.rule] = true;
		return;
	}
	if (rp->eff) {
		unsigned before = res->expects_failed;
		res->expects++;
		check_effect_expect(rp, ev);
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
			failure(rp, line, "the VM was destroyed before this expectation");
			break;
		}
		if (ev->expect.ipa >= s2_bit(rp->cfg.ipa_bits)) {
			failure(rp, line, "ipa %#llx is beyond the IPA space",
				(unsigned long long)ev->expect.ipa);
			break;
		}
		if (ev->expect.kind == S2T_EXP_REFCOUNT) {
			int rc = 0;
			if (s2hyp_table_refcount(rp->m, ev->expect.ipa, &rc))
				failure(rp, line, "no table page holds an entry for ipa %#llx",
					(unsigned long long)ev->expect.ipa);
			else if (rc != ev->expect.value)
				failure(rp, line, "the table page holding ipa %#llx has refcount %d, not %lld",
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
				failure(rp, line, "ipa %#llx is mapped at level %d",
					(unsigned long long)ev->expect.ipa, level);
			break;
		}
		if (!mapped) {
			failure(rp, line, "ipa %#llx is not mapped", (unsigned long long)ev->expect.ipa);
			break;
		}
		if (ev->expect.level != -128 && ev->expect.level != level)
			failure(rp, line, "ipa %#llx is mapped at level %d, not %d",
				(unsigned long long)ev->expect.ipa, level, ev->expect.level);
		int prot = s2pt_pte_prot(pte, rp->cfg.fwb) & (S2PT_PROT_R | S2PT_PROT_W | S2PT_PROT_X);
		if (ev->expect.prot >= 0 && prot != ev->expect.prot)
			failure(rp, line, "ipa %#llx is mapped %s%s%s, not %s%s%s",
				(unsigned long long)ev->expect.ipa, prot & S2PT_PROT_R ? "r" : "",
				prot & S2PT_PROT_W ? "w" : "", prot & S2PT_PROT_X ? "x" : "",
				ev->expect.prot & S2PT_PROT_R ? "r" : "",
				ev->expect.prot & S2PT_PROT_W ? "w" : "",
				ev->expect.prot & S2PT_PROT_X ? "x" : "");
		break;
	}
	case S2T_EXP_FIRED:
	case S2T_EXP_CLEAN:
		check_rule_expect(rp, ev, st->violations);
		break;
	case S2T_EXP_FAULTS: {
		uint64_t n = 0;
		for (unsigned v = 0; v < rp->cfg.nr_vcpus; v++) {
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
			failure(rp, line, "%llu %s faults, more than %llu", (unsigned long long)n,
				ev->expect.fault_kind >= 0 ? fault_kinds[ev->expect.fault_kind] : "",
				(unsigned long long)ev->expect.max);
		else if (n < ev->expect.min)
			failure(rp, line, "%llu %s faults, fewer than %llu", (unsigned long long)n,
				ev->expect.fault_kind >= 0 ? fault_kinds[ev->expect.fault_kind] : "",
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
		return bad(rp, ev->line, "out of memory");
	rp->sec = (unsigned)i;
	return 0;
}

/* What the result keeps of the machine once the run is over. */
static void finish_result(struct replay *rp)
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
			v->at.line = src_line(rp, v->at.line);
			for (unsigned k = 0; k < v->nrel; k++)
				v->rel[k].line = src_line(rp, v->rel[k].line);
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

/* Guest mode: the host program is kept whole (the guest machine takes it at
 * creation), expectations wait for the end of the run. */
static int guest_event(struct replay *rp, const struct s2trace_event *ev)
{
	switch (ev->kind) {
	case S2T_PHASE:
		on_phase(rp, ev);
		return 0;
	case S2T_HOST: {
		struct s2hyp_host_op op = ev->host;
		op.phase = rp->in_block ? rp->ip : ++rp->ip;
		rp->res->events++;
		rp->res->host_events++;
		if (s2hyp_scenario_add_host(&rp->gsc, &op))
			return bad(rp, ev->line, "out of memory");
		return 0;
	}
	case S2T_SECTION:
		return 0;
	case S2T_EXPECT:
		if (!grow((void **)&rp->gexp, &rp->gexp_cap, sizeof(*ev), rp->ngexp + 1))
			return bad(rp, ev->line, "out of memory");
		rp->gexp[rp->ngexp++] = *ev;
		return 0;
	default:
		return bad(rp, ev->line, "a guest-code trace holds host events and expectations "
					 "only: its vCPUs run the image");
	}
}

/* The image beside the trace first (so that a trace replays from any
 * directory), else the path as written, from the current directory. */
static int load_image(struct replay *rp, const char *trace, uint8_t **data, size_t *n)
{
	char path[2048];
	s2_path_beside(trace, rp->guest_image, path, sizeof(path));
	if (!s2_read_file(path, data, n))
		return 0;
	return s2_read_file(rp->guest_image, data, n);
}

static void run_guest(struct replay *rp, const char *trace)
{
	uint8_t *image = NULL;
	size_t size = 0;
	char err[300];
	struct s2guest_config gc;
	struct s2guest *g;

	if (load_image(rp, trace, &image, &size)) {
		bad(rp, rp->guest_line, "cannot read the guest image %s", rp->guest_image);
		return;
	}
	if (size != rp->guest_size) {
		bad(rp, rp->guest_line, "the guest image %s has %zu bytes, not the %llu recorded",
		    rp->guest_image, size, (unsigned long long)rp->guest_size);
		free(image);
		return;
	}
	s2guest_config_init(&gc);
	gc.machine = rp->cfg;
	if (rp->opts && rp->opts->have_walker)
		gc.machine.variant = rp->opts->walker;
	memcpy(gc.slots, rp->slots, sizeof(gc.slots));
	gc.nr_slots = rp->nr_slots;
	gc.host = rp->gsc.host;
	gc.nhost = rp->gsc.nhost;
	gc.image = image;
	gc.image_size = size;
	gc.load_ipa = rp->guest_load;
	gc.entry_ipa = rp->guest_entry;
	rp->res->cfg = gc.machine;
	snprintf(rp->res->guest_image, sizeof(rp->res->guest_image), "%s", rp->guest_image);
	int ret = s2guest_create(&gc, &g, err, sizeof(err));
	free(image);
	if (ret) {
		/* A memslot the machine refuses is named by its own line. */
		unsigned c = s2trace_setup_culprit(&gc.machine, gc.slots, gc.nr_slots);
		if (c < gc.nr_slots)
			bad(rp, rp->slot_line[c], "memslot %u: %s", c, err);
		else
			bad(rp, rp->guest_line, "%s", err);
		return;
	}
	rp->rp = (struct s2hyp_replay){ .sched = rp->sched, .n = rp->nsched,
					.lenient = rp->opts && rp->opts->check_fix };
	if (rp->nsched) {
		rp->st = s2hyp_strategy_replay_template;
		rp->st.arg = &rp->rp;
	} else {
		rp->st = s2hyp_strategy_sequential;
	}
	if (rp->opts && rp->opts->observer)
		s2hyp_set_observer(s2guest_machine(g), rp->opts->observer);
	enum s2hyp_outcome o = s2guest_run(g, &rp->st);
	rp->res->outcome = o;
	rp->m = s2guest_machine(g);
	if (o != S2HYP_DONE)
		failure(rp, 0, o == S2HYP_DIVERGED || rp->rp.diverged ?
			"the schedule diverged: it names a choice that is not possible at that point" :
			"the guest run stopped early: %s", s2hyp_error(rp->m));
	else if (rp->nsched && rp->rp.pos < rp->nsched && !checking_fix(rp))
		failure(rp, 0, "the schedule has %zu of its %zu choices left unused at the end",
			rp->nsched - rp->rp.pos, rp->nsched);
	for (size_t i = 0; i < rp->ngexp; i++)
		check_expect(rp, &rp->gexp[i]);
	finish_result(rp);
	rp->m = NULL;
	s2guest_delete(g);
}

static int handle(struct replay *rp, const struct s2trace_event *ev)
{
	switch (ev->kind) {
	case S2T_CONFIG:
		rp->cfg = ev->config.cfg;
		rp->cfg_line = ev->line;
		return 0;
	case S2T_MEMSLOT:
		rp->slot_line[rp->nr_slots] = ev->line;
		rp->slots[rp->nr_slots++] = ev->memslot.slot;
		return 0;
	case S2T_SCHEDULE:
		if (!grow((void **)&rp->sched, &rp->sched_cap, sizeof(*rp->sched),
			  rp->nsched + ev->schedule.n))
			return bad(rp, ev->line, "out of memory");
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
		return guest_event(rp, ev);
	if (ev->kind == S2T_EFFECT && !rp->m) {
		int ret = begin_effects(rp, ev);
		if (ret)
			return ret;
	} else if (!rp->m) {
		int ret = make_machine(rp, ev->line);
		if (ret)
			return ret;
	}
	if ((ev->kind == S2T_EFFECT) != rp->effects &&
	    (ev->kind == S2T_EFFECT || ev->kind == S2T_HOST || ev->kind == S2T_VCPU))
		return bad(rp, ev->line, "a trace holds high-level events or effect events, not both");
	rp->res->events++;
	switch (ev->kind) {
	case S2T_PHASE:
		rp->res->events--;
		on_phase(rp, ev);
		return 0;
	case S2T_HOST:
		return add_host(rp, ev);
	case S2T_VCPU:
		return add_vcpu(rp, ev);
	case S2T_MMIO:
		if (ev->mmio.vcpu >= rp->cfg.nr_vcpus)
			return bad(rp, ev->line, "mmio vcpu=%u: the configuration has %u vCPUs",
				   ev->mmio.vcpu, rp->cfg.nr_vcpus);
		rp->res->mmio_events++;
		return 0;
	case S2T_SECTION:
		rp->res->events--;
		return on_section(rp, ev);
	case S2T_EFFECT:
		return apply_effect(rp, ev);
	case S2T_EXPECT:
		rp->res->events--;
		run_chunk(rp);
		if (!rp->stop)
			check_expect(rp, ev);
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
 * Open path in its format (s2trace_source_open): an s2emu trace as it is, a
 * casemate log or an ftrace capture converted on the way. A casemate log's
 * reports name the log's lines (see note_line); an ftrace capture's name
 * the converted trace's, so its name says so.
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
	if (fmt == S2TRACE_FMT_CASEMATE && !(rp->log_line = calloc(64, sizeof(*rp->log_line)))) {
		snprintf(res->error, sizeof(res->error), "%s: out of memory", path);
		return -1;
	}
	rp->log_line_cap = rp->log_line ? 64 : 0;
	if (!(rp->r = s2trace_reader_new(s2trace_source_file(rp->src), res->name))) {
		snprintf(res->error, sizeof(res->error), "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* A converted casemate log: the log's line of each effect line, as the
 * reader meets it (the k-th effect line comes from the k-th effect the
 * importer reported). Other lines map to no log line. */
static int note_line(struct replay *rp, const struct s2trace_event *ev)
{
	if (!rp->log_line || ev->kind != S2T_EFFECT)
		return 0;
	unsigned log = s2trace_source_effect_line(rp->src, rp->neffects++);
	if (ev->line >= rp->log_line_cap && (ev->line == UINT_MAX ||
	    !s2_grow_zero((void **)&rp->log_line, &rp->log_line_cap, sizeof(*rp->log_line),
			  ev->line + 1)))
		return bad(rp, ev->line, "out of memory");
	rp->log_line[ev->line] = log;
	if (ev->line >= rp->nlog_line)
		rp->nlog_line = ev->line + 1;
	return 0;
}

int s2trace_replay(const char *path, const struct s2trace_replay_opts *o,
		   struct s2trace_result *res)
{
	struct replay rp = { .res = res, .opts = o };
	struct s2trace_event ev;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", path);
	s2hyp_config_init(&rp.cfg);
	if (open_input(&rp, path)) {
		res->bad_input = true;
		s2trace_close(rp.r);
		s2trace_source_close(rp.src, NULL, 0);
		free(rp.log_line);
		return 2;
	}
	while (!rp.stop && (ret = s2trace_next(rp.r, &ev)) > 0)
		if (!note_line(&rp, &ev))
			handle(&rp, &ev);
	if (!rp.stop && ret < 0) {
		snprintf(res->error, sizeof(res->error), "%s", s2trace_error(rp.r));
		res->bad_input = true;
	}
	/* A conversion that failed ended its output early: the importer's
	 * error, which names the input's line, is the one to report. */
	char cerr[sizeof(res->error)];
	if (s2trace_source_close(rp.src, cerr, sizeof(cerr))) {
		memcpy(res->error, cerr, sizeof(cerr));
		res->bad_input = true;
		rp.stop = true;
	}
	rp.src = NULL;
	if (rp.guest) {
		if (!res->bad_input && !rp.stop)
			run_guest(&rp, path);
	} else {
		if (!res->bad_input && !rp.m)
			make_machine(&rp, 0);
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
	    !checking_fix(&rp))
		failure(&rp, 0, "the schedule has %zu of its %zu choices left unused at the end",
			rp.nsched - rp.rp.pos, rp.nsched);
	res->check_fix = checking_fix(&rp);
	res->sched_len = rp.nsched;
	res->sched_diverged = rp.rp.diverged;
	res->sched_applied = rp.rp.diverged ? rp.rp.diverged_at : rp.rp.pos;
	if (rp.m && o && o->record && !res->bad_input)
		write_record(&rp, path);
	if (rp.m && !res->bad_input)
		section_close(&rp);
	if (rp.m) {
		finish_result(&rp);
		s2hyp_delete(rp.m);
	}
	s2eff_free(rp.eff);
	s2trace_close(rp.r);
	free(rp.log_line);
	s2hyp_scenario_free(&rp.rec);
	s2hyp_scenario_free(&rp.gsc);
	free(rp.gexp);
	free(rp.sched);
	free_srcs(&rp.c);
	free(rp.c.srcs);
	free(rp.c.host);
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		free(rp.c.vcpu[v]);
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

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

/* The leaf size of mappings_by_level[idx] (level idx - 1). */
static const char *size_name(unsigned granule_shift, unsigned idx, char *buf, size_t n)
{
	struct s2pt_geom g = { .granule_shift = granule_shift, .stride = granule_shift - 3 };
	return s2_size_name(s2pt_granule_size(&g, (s2_level_t)(idx - 1)), buf, n);
}

static void fault_totals(const struct s2trace_result *res, uint64_t k[4])
{
	k[0] = k[1] = k[2] = k[3] = 0;
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++) {
		k[0] += res->stats.vcpu[v].faults_translation;
		k[1] += res->stats.vcpu[v].faults_permission;
		k[2] += res->stats.vcpu[v].faults_access_flag;
		k[3] += res->stats.vcpu[v].faults_in_window;
	}
}

void s2trace_print_result(FILE *f, const struct s2trace_result *res)
{
	char buf[16];
	uint64_t k[4];
	const struct s2hyp_stats *st = &res->stats;

	if (res->bad_input) {
		fprintf(f, "%s\n", res->error);
		return;
	}
	fault_totals(res, k);
	if (res->guest_image[0])
		fprintf(f, "%s: guest code %s on %u vCPUs, %llu host events, %llu expectations; "
			   "walker %s, %uK granule\n",
			res->name, res->guest_image, res->cfg.nr_vcpus,
			(unsigned long long)res->host_events, (unsigned long long)res->expects,
			s2pt_variant_name(res->cfg.variant), 1u << (res->cfg.granule_shift - 10));
	else if (res->effect_trace)
		fprintf(f, "%s: %llu effect events, %llu expectations; an effect trace, %uK granule\n",
			res->name, (unsigned long long)res->events, (unsigned long long)res->expects,
			1u << (res->cfg.granule_shift - 10));
	else
		fprintf(f, "%s: %llu events (%llu host, %llu vcpu, %llu mmio), %llu expectations; "
			   "walker %s, %u vCPUs, %uK granule\n",
			res->name, (unsigned long long)res->events, (unsigned long long)res->host_events,
			(unsigned long long)res->vcpu_events, (unsigned long long)res->mmio_events,
			(unsigned long long)res->expects, s2pt_variant_name(res->cfg.variant),
			res->cfg.nr_vcpus, 1u << (res->cfg.granule_shift - 10));
	bool any = false;
	if (res->effect_trace) {
		/* No vCPUs run: what the code stored is what there is to show. */
		fprintf(f, "  stores:      %llu to tracked memory, %llu elsewhere (ignored)\n",
			(unsigned long long)res->eff_stats.writes,
			(unsigned long long)res->eff_stats.untracked_writes);
	} else {
		fprintf(f, "  faults:      %llu translation, %llu permission, %llu access-flag "
			   "(%llu in another thread's map)\n",
			(unsigned long long)k[0], (unsigned long long)k[1], (unsigned long long)k[2],
			(unsigned long long)k[3]);
		fprintf(f, "  mappings:   ");
		for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
			if (st->mappings_by_level[l]) {
				fprintf(f, " %s x%llu",
					size_name(res->geom_granule_shift, l, buf, sizeof(buf)),
					(unsigned long long)st->mappings_by_level[l]);
				any = true;
			}
		fprintf(f, "%s\n", any ? "" : " none");
	}
	fprintf(f, "  maintenance: %llu TLBIs, %llu DSBs, %llu CMOs\n",
		(unsigned long long)st->tlbis, (unsigned long long)st->dsbs,
		(unsigned long long)st->cmos);
	fprintf(f, "  rules:      ");
	any = false;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r]) {
			fprintf(f, " %s (%s)", s2hyp_rule_name((enum s2hyp_rule)r),
				res->expected_rule[r] ? "expected" : "UNEXPECTED");
			any = true;
		}
	fprintf(f, "%s\n", any ? "" : " none fired");
	fprintf(f, "  expectations: %u met, %u failed\n", res->expects_met, res->expects_failed);
	for (unsigned i = 0; i < res->expects_failed && i < S2TRACE_MAX_FAILURES; i++) {
		if (res->failures[i].line)
			fprintf(f, "  FAILED %s:%u: %s\n", res->name, res->failures[i].line,
				res->failures[i].msg);
		else
			fprintf(f, "  FAILED %s: %s\n", res->name, res->failures[i].msg);
	}
	for (unsigned i = 0; i < res->nr_violations; i++)
		if (!res->expected_rule[res->violations[i].rule]) {
			fputc('\n', f);
			s2hyp_print_violation(f, &res->violations[i]);
		}
	for (unsigned i = 0; i < res->nr_eff_violations; i++)
		if (!res->expected_rule[res->eff_violations[i].rule]) {
			fputc('\n', f);
			s2eff_print_violation(f, res->name, &res->eff_violations[i]);
		}
	fprintf(f, "  result: %s\n", res->expects_failed || res->unexpected_rules ? "FAILED" : "ok");
}

int s2trace_fix_status(const struct s2trace_result *res)
{
	bool recorded = false, firing = false;

	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		recorded |= res->recorded_rule[r];
		firing |= res->stats.violations[r] != 0;
	}
	if (!recorded)
		return 2;
	return firing || res->outcome != S2HYP_DONE ? 1 : 0;
}

void s2trace_print_fix(FILE *f, const struct s2trace_result *res)
{
	if (res->sched_len && res->sched_diverged)
		fprintf(f, "  schedule: followed for %zu of its %zu choices; the next one names a "
			   "step this code does not take, so the run went on with the first enabled "
			   "choice at each step (as a sequential replay)\n",
			res->sched_applied, res->sched_len);
	else if (res->sched_len)
		fprintf(f, "  schedule: followed for %zu of its %zu choices%s\n", res->sched_applied,
			res->sched_len, res->sched_applied < res->sched_len ?
			" (the run needed no more)" : "");
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		const char *name = s2hyp_rule_name((enum s2hyp_rule)r);
		bool fired = res->stats.violations[r] != 0;
		if (res->recorded_rule[r])
			fprintf(f, fired ? "  not fixed: rule %s still fires\n" :
					   "  fixed: rule %s no longer fires\n", name);
		else if (fired)
			fprintf(f, "  not fixed: rule %s fires (the recorded run did not fire it)\n",
				name);
	}
	if (res->outcome != S2HYP_DONE)
		fprintf(f, "  not fixed: the run did not complete (%s)\n",
			s2hyp_outcome_name(res->outcome));
	switch (s2trace_fix_status(res)) {
	case 0: fprintf(f, "  check-fix: fixed\n"); break;
	case 1: fprintf(f, "  check-fix: NOT FIXED\n"); break;
	default: fprintf(f, "  check-fix: nothing to check (the trace records no rule that fired)\n");
	}
}

/* The "check_fix" member of a replay's JSON object. */
static void print_fix_json(FILE *f, const struct s2trace_result *res)
{
	static const char *const status[] = { "fixed", "not-fixed", "nothing-to-check" };
	fprintf(f, ", \"check_fix\": {\"status\": \"%s\", \"schedule_followed\": %zu, "
		   "\"schedule_length\": %zu, \"diverged\": %s",
		status[s2trace_fix_status(res)], res->sched_applied, res->sched_len,
		res->sched_diverged ? "true" : "false");
	for (int k = 0; k < 3; k++) {
		static const char *const key[] = { "fixed", "still_fires", "new" };
		bool first = true;
		fprintf(f, ", \"%s\": [", key[k]);
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
			bool fired = res->stats.violations[r] != 0, rec = res->recorded_rule[r];
			if ((k == 0 && rec && !fired) || (k == 1 && rec && fired) ||
			    (k == 2 && !rec && fired)) {
				fprintf(f, "%s\"%s\"", first ? "" : ", ",
					s2hyp_rule_name((enum s2hyp_rule)r));
				first = false;
			}
		}
		fputc(']', f);
	}
	fputc('}', f);
}
static void print_sections_json(FILE *f, const struct s2trace_result *res);

void s2trace_print_result_json(FILE *f, const struct s2trace_result *res)
{
	char buf[16];
	uint64_t k[4];
	const struct s2hyp_stats *st = &res->stats;

	fprintf(f, "{\"trace\": ");
	s2_json_string(f, res->name);
	if (res->bad_input) {
		fprintf(f, ", \"result\": \"bad-input\", \"error\": ");
		s2_json_string(f, res->error);
		fprintf(f, "}\n");
		return;
	}
	fault_totals(res, k);
	if (res->check_fix)
		print_fix_json(f, res);
	fprintf(f, ", \"effect_trace\": %s, \"guest_image\": ", res->effect_trace ? "true" : "false");
	s2_json_string(f, res->guest_image);
	fprintf(f, ", \"result\": \"%s\", \"walker\": \"%s\", \"vcpus\": %u, \"granule\": %u, "
		   "\"events\": %llu, \"host_events\": %llu, \"vcpu_events\": %llu, "
		   "\"mmio_events\": %llu, \"faults\": {\"translation\": %llu, \"permission\": %llu, "
		   "\"access_flag\": %llu, \"in_window\": %llu}, \"tlbis\": %llu, \"dsbs\": %llu, "
		   "\"cmos\": %llu, \"mappings\": {",
		res->expects_failed || res->unexpected_rules ? "failed" : "ok",
		s2pt_variant_name(res->cfg.variant), res->cfg.nr_vcpus, 1u << res->cfg.granule_shift,
		(unsigned long long)res->events, (unsigned long long)res->host_events,
		(unsigned long long)res->vcpu_events, (unsigned long long)res->mmio_events,
		(unsigned long long)k[0], (unsigned long long)k[1], (unsigned long long)k[2],
		(unsigned long long)k[3], (unsigned long long)st->tlbis,
		(unsigned long long)st->dsbs, (unsigned long long)st->cmos);
	bool first = true;
	for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
		if (st->mappings_by_level[l]) {
			fprintf(f, "%s\"%s\": %llu", first ? "" : ", ",
				size_name(res->geom_granule_shift, l, buf, sizeof(buf)),
				(unsigned long long)st->mappings_by_level[l]);
			first = false;
		}
	fprintf(f, "}, \"rules\": {");
	first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r]) {
			fprintf(f, "%s\"%s\": {\"count\": %llu, \"expected\": %s}", first ? "" : ", ",
				s2hyp_rule_name((enum s2hyp_rule)r),
				(unsigned long long)st->violations[r],
				res->expected_rule[r] ? "true" : "false");
			first = false;
		}
	fprintf(f, "}, \"expectations\": {\"met\": %u, \"failed\": %u, \"failures\": [",
		res->expects_met, res->expects_failed);
	for (unsigned i = 0; i < res->expects_failed && i < S2TRACE_MAX_FAILURES; i++) {
		fprintf(f, "%s{\"line\": %u, \"message\": ", i ? ", " : "", res->failures[i].line);
		s2_json_string(f, res->failures[i].msg);
		fputc('}', f);
	}
	fprintf(f, "]}, ");
	print_sections_json(f, res);
	fprintf(f, ", \"violations\": [");
	for (unsigned i = 0; i < res->nr_violations; i++) {
		if (i)
			fprintf(f, ", ");
		s2hyp_print_violation_json(f, &res->violations[i]);
	}
	for (unsigned i = 0; i < res->nr_eff_violations; i++) {
		if (i || res->nr_violations)
			fprintf(f, ", ");
		s2eff_print_violation_json(f, res->name, &res->eff_violations[i]);
	}
	fprintf(f, "]}\n");
}

/* ------------------------------------------------------------------ */
/* Statistics per section                                              */
/* ------------------------------------------------------------------ */

void s2trace_stat_pairs(const struct s2hyp_stats *st,
			void (*emit)(void *arg, const char *key, uint64_t value), void *arg)
{
	static const char *const kinds[] = { "translation", "permission", "access-flag" };
	static const char *const access[] = { "read", "write", "exec" };
	static const char *const tlbis[] = { "vmid", "ipa", "range", "local" };
	static const char *const entries[] = { "invalid", "page", "block", "table" };
	char key[64];

	for (unsigned k = 0; k < 3; k++)
		for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
			for (unsigned a = 0; a < 3; a++)
				if (st->faults[k][l][a]) {
					snprintf(key, sizeof(key), "fault.%s.L%d.%s", kinds[k],
						 (int)l - 1, access[a]);
					emit(arg, key, st->faults[k][l][a]);
				}
	const struct {
		const char *key;
		uint64_t v;
	} plain[] = {
		{ "op.map", st->maps }, { "op.relax", st->relaxes }, { "op.unmap", st->unmaps },
		{ "op.wrprotect", st->wrprotects }, { "op.mkyoung", st->mkyoungs },
		{ "op.age", st->ages }, { "op.split", st->splits }, { "op.destroy", st->destroys },
		{ "coalesce", st->coalesces },
		{ "table.alloc", st->table_pages_taken },
		{ "table.free", st->table_pages_freed },
		{ "table.free-put", st->table_pages_freed_put },
		{ "table.free-unlinked", st->unlinked_frees },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(plain); i++)
		if (plain[i].v)
			emit(arg, plain[i].key, plain[i].v);
	uint64_t breaks = 0;
	for (unsigned k = 0; k < S2HYP_NR_ENTRY_KINDS; k++)
		breaks += st->breaks[k];
	if (breaks)
		emit(arg, "break", breaks);
	for (unsigned k = 0; k < S2HYP_NR_ENTRY_KINDS; k++)
		if (st->breaks[k]) {
			snprintf(key, sizeof(key), "break.%s", entries[k]);
			emit(arg, key, st->breaks[k]);
		}
	const struct {
		const char *key;
		uint64_t v;
	} more[] = {
		{ "make", st->makes }, { "get", st->gets }, { "put", st->puts },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(more); i++)
		if (more[i].v)
			emit(arg, more[i].key, more[i].v);
	for (unsigned k = 0; k < S2HYP_NR_TLBI_KINDS; k++)
		if (st->tlbi_calls[k]) {
			snprintf(key, sizeof(key), "tlbi.%s", tlbis[k]);
			emit(arg, key, st->tlbi_calls[k]);
		}
	const struct {
		const char *key;
		uint64_t v;
	} cmos[] = {
		{ "dcache.calls", st->dcache_calls }, { "dcache.bytes", st->dcache_bytes },
		{ "icache.calls", st->icache_calls }, { "icache.bytes", st->icache_bytes },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(cmos); i++)
		if (cmos[i].v)
			emit(arg, cmos[i].key, cmos[i].v);
}

struct stat_text {
	FILE *f;
	const char *section;
};

static void emit_text(void *arg, const char *key, uint64_t v)
{
	struct stat_text *t = arg;
	fprintf(t->f, "  stat %s %s %llu\n", t->section, key, (unsigned long long)v);
}

void s2trace_print_stats(FILE *f, const struct s2trace_result *res)
{
	for (unsigned i = 0; i < res->nr_sections; i++) {
		struct stat_text t = { f, res->sections[i].name };
		s2trace_stat_pairs(&res->sections[i].stats, emit_text, &t);
	}
}

struct stat_json {
	FILE *f;
	bool first;
};

static void emit_json(void *arg, const char *key, uint64_t v)
{
	struct stat_json *j = arg;
	fprintf(j->f, "%s\"%s\": %llu", j->first ? "" : ", ", key, (unsigned long long)v);
	j->first = false;
}

/* "sections": [{"name": "pass1", "stats": {...}}, ...] */
static void print_sections_json(FILE *f, const struct s2trace_result *res)
{
	fprintf(f, "\"sections\": [");
	for (unsigned i = 0; i < res->nr_sections; i++) {
		struct stat_json j = { f, true };
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		s2_json_string(f, res->sections[i].name);
		fprintf(f, ", \"stats\": {");
		s2trace_stat_pairs(&res->sections[i].stats, emit_json, &j);
		fprintf(f, "}}");
	}
	fprintf(f, "]");
}
