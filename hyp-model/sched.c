/* The scheduler: the threads (the host, each vCPU, and the background
 * choices of the memory system), which of them are enabled, the choice
 * among them a strategy makes at every step and at every scheduling point
 * inside a hypervisor operation, the recorded schedule, and the built-in
 * strategies. It sits on top: it moves the machine's vCPUs (machine.c),
 * runs KVM's fault handler and host operations (kvm.c) and drivers
 * (driver.c); KVM reaches it only through the machine's sched_point. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/s2_fiber.h"
#include "common/s2_vec.h"
#include "hyp-model/s2hyp_driver.h"
#include "hyp-model/s2hyp_kvm.h"
#include "hyp-model/s2hyp_sched.h"

#define NO_SLOT (-1)
/* A fiber's stack: an operation's frames, and whatever a scheduling point
 * inside it runs (vCPU steps, guest code, observers, reports). Pages are
 * only committed as they are touched. */
#define FIBER_STACK (2u << 20)
#define MAX_CTX (S2HYP_MAX_VCPUS + 2)

/*
 * A context hypervisor operations run on: the caller's own stack (main) or
 * a fiber. A context is free when no operation in flight runs on it; a
 * free context runs the scheduler's loop (run_loop). An operation starts
 * on the context that chose it when that one is free (no switch: one
 * operation at a time never leaves the caller's stack), else on a fiber of
 * its own.
 */
struct sctx {
	struct s2_fiber f;
	int slot;		/* the operation running on it, NO_SLOT: free */
	bool have;		/* f has a stack (fibers) */
};

struct s2hyp_sched {
	const struct s2hyp_strategy *st;	/* during a run */
	bool recording;
	struct s2hyp_choice *log;		/* the recorded schedule */
	size_t log_n;
	unsigned log_cap;
	struct s2hyp_choice *choices;		/* the enabled ones, this step */
	unsigned choices_cap;
	/* Parallel operations: where each thread's operation in flight runs
	 * (index: vCPU or HOST_SLOT; NULL: none), the contexts, the running
	 * one, and how many operations are in flight. */
	struct sctx *op_ctx[S2HYP_MAX_VCPUS + 1];
	struct sctx main;
	struct sctx fib[MAX_CTX];
	struct sctx *cur;
	unsigned in_flight;
	/* This step, for a strategy that lists background choices when it
	 * draws them (choose_thread): whether any is enabled. */
	bool any_background;
};

bool s2hyp__sched_init(struct s2hyp *m)
{
	struct s2hyp_sched *s = calloc(1, sizeof(*s));
	if (!s)
		return false;
	/* hyp or host, a step per vCPU, an RCU grace period, and the
	 * background choices. */
	s->choices_cap = 2 + 3 * m->cfg.nr_vcpus + 2;
	s->choices = calloc(s->choices_cap, sizeof(*s->choices));
	if (!s->choices) {
		free(s);
		return false;
	}
	s->main.slot = NO_SLOT;
	for (unsigned i = 0; i < MAX_CTX; i++)
		s->fib[i].slot = NO_SLOT;
	m->sch = s;
	return true;
}

void s2hyp__sched_reset(struct s2hyp *m)
{
	struct s2hyp_sched *s = m->sch;

	/* After a run every operation has ended and every fiber is free
	 * (run_loop); one still in use holds a stack of a run that is over. */
	for (unsigned i = 0; i < MAX_CTX; i++) {
		if (s->fib[i].have && (s->in_flight || s->fib[i].slot != NO_SLOT)) {
			s2_fiber_delete(&s->fib[i].f);
			s->fib[i].have = false;
		}
		s->fib[i].slot = NO_SLOT;
	}
	for (unsigned i = 0; i <= HOST_SLOT; i++)
		s->op_ctx[i] = NULL;
	s->in_flight = 0;
	s->main.slot = NO_SLOT;
	s->cur = NULL;
	s->st = NULL;
	s->recording = false;
	s->log_n = 0;
}

void s2hyp__sched_fini(struct s2hyp *m)
{
	if (!m->sch)
		return;
	for (unsigned i = 0; i < MAX_CTX; i++)
		if (m->sch->fib[i].have)
			s2_fiber_delete(&m->sch->fib[i].f);
	free(m->sch->log);
	free(m->sch->choices);
	free(m->sch);
	m->sch = NULL;
}

static unsigned min_phase(struct s2hyp *m)
{
	/* Only finishing an item (or loading programs) changes it. */
	if (m->minp_valid)
		return m->minp;
	unsigned p = ~0u;
	if (m->host_pc < m->host_n && m->host_prog[m->host_pc].phase < p)
		p = m->host_prog[m->host_pc].phase;
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		if (v->pc < v->nprog && v->prog[v->pc].phase < p)
			p = v->prog[v->pc].phase;
	}
	m->minp = p;
	m->minp_valid = true;
	return p;
}

static bool vcpu_enabled(const struct s2hyp *m, const struct vcpu *v, unsigned minp)
{
	switch (v->state) {
	case V_READY:
		return v->prog[v->pc].phase <= minp;
	case V_ACCESS:
	case V_WALK:
	case V_FILL:
		return true;
	case V_FAULT:
		return !m->locked && !(v->uffd_msg && s2hyp__hostvm_vcpu_waits(m, v));
	case V_DONE:
		break;
	}
	return false;
}

/* The host's next operation may start (a userfaultfd handler's read waits
 * for a message). */
static bool host_enabled(const struct s2hyp *m, unsigned minp)
{
	return m->host_pc < m->host_n && m->host_prog[m->host_pc].phase <= minp &&
	       !(m->hv && s2hyp__hostvm_host_waits(m));
}

/* The list is sized at creation for every choice that can be enabled at
 * once: no check on the hot path. The enumerations write it through a
 * local pointer and count in a local: a choice's bytes may alias anything,
 * so every store through m would reload m's members. */
static inline struct s2hyp_choice choice_of(enum s2hyp_choice_kind k, unsigned vcpu)
{
	return (struct s2hyp_choice){ (uint8_t)k, (uint8_t)vcpu, 0 };
}

/* Whether vCPU v may walk speculatively, or lose a TLB or walk-cache
 * entry: push_background lists these and any_background asks for them. */
static inline bool can_prefetch(const struct vcpu *v)
{
	return v->nprog && v->state != V_DONE;
}

static inline bool can_evict(const struct vcpu *v)
{
	return v->tlb_n + v->wc_n;
}

/* The background choices after the others: speculative walks and
 * evictions. */
static unsigned push_background(struct s2hyp *m, unsigned n)
{
	struct s2hyp_choice *ch = m->sch->choices;
	const unsigned nr = m->cfg.nr_vcpus;
	const bool prefetch = m->cfg.explore_prefetch, evict = m->cfg.explore_evictions;
	const struct vcpu *vs = m->vcpus;

	if (!prefetch && !evict)
		return n;
	for (unsigned i = 0; i < nr; i++) {
		const struct vcpu *v = &vs[i];
		if (prefetch && can_prefetch(v))
			ch[n++] = choice_of(S2HYP_CH_PREFETCH, i);
		if (evict && can_evict(v))
			ch[n++] = choice_of(S2HYP_CH_TLB_EVICT, i);
	}
	if (evict && s2cache_resident_count(m->cache))
		ch[n++] = choice_of(S2HYP_CH_DC_EVICT, 0);
	return n;
}

/* Whether push_background would list any. */
static bool any_background(const struct s2hyp *m)
{
	const bool prefetch = m->cfg.explore_prefetch, evict = m->cfg.explore_evictions;

	if (!prefetch && !evict)
		return false;
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		if ((prefetch && can_prefetch(v)) || (evict && can_evict(v)))
			return true;
	}
	return evict && s2cache_resident_count(m->cache);
}

/* The optional choices after the n threads' ones: the end of a grace
 * period, then the background ones, unless the strategy lists those only
 * when it draws them (then whether there are any). */
static unsigned push_optional(struct s2hyp *m, unsigned n)
{
	struct s2hyp_sched *s = m->sch;

	/* The end of a grace period is a thread of its own, but optional: a
	 * run does not go on for it (what is still queued at the end is freed
	 * when the VM is torn down). */
	if (m->rcu_n && s2hyp__rcu_ready(m))
		s->choices[n++] = choice_of(S2HYP_CH_RCU, 0);
	if (s->st->choose_thread) {
		s->any_background = any_background(m);
		return n;
	}
	return push_background(m, n);
}

/* The enabled choices; *mandatory counts those that are not optional
 * (evictions and speculation alone do not keep a run going). */
static unsigned enumerate(struct s2hyp *m, bool in_op, unsigned *mandatory)
{
	struct s2hyp_choice *ch = m->sch->choices;
	const unsigned nr = m->cfg.nr_vcpus;
	unsigned n = 0;
	/* A strategy taking the first choice needs no other (the first is
	 * never a background one). */
	unsigned want = m->sch->st->choose || m->sch->st->choose_thread ? UINT_MAX : 1;

	if (in_op) {
		ch[n++] = choice_of(S2HYP_CH_HYP, 0);
		if (n >= want)
			return *mandatory = n;
	}
	unsigned minp = min_phase(m);
	if (!in_op && host_enabled(m, minp))
		ch[n++] = choice_of(S2HYP_CH_HOST, 0);
	for (unsigned i = 0; i < nr && n < want; i++)
		if (vcpu_enabled(m, &m->vcpus[i], minp))
			ch[n++] = choice_of(S2HYP_CH_VCPU, i);
	*mandatory = n;
	if ((!n && !in_op) || n >= want)
		return n;
	return push_optional(m, n);
}

static unsigned arg_candidates(struct s2hyp *m, const struct s2hyp_choice *c)
{
	const struct vcpu *v = &m->vcpus[c->vcpu];
	switch (c->kind) {
	case S2HYP_CH_PREFETCH: return (unsigned)v->nprog;
	/* A driven vCPU about to run guest code: the quantum is a choice. */
	case S2HYP_CH_VCPU:
		return v->drv && (v->state == V_READY || v->state == V_ACCESS) ?
		       v->drv->nr_quanta : 0;
	case S2HYP_CH_TLB_EVICT: return v->tlb_n + v->wc_n;
	case S2HYP_CH_DC_EVICT: return (unsigned)s2cache_resident_count(m->cache);
	default: return 0;
	}
}

static void record(struct s2hyp *m, const struct s2hyp_choice *c)
{
	struct s2hyp_sched *s = m->sch;
	if (!s->recording)
		return;
	if (s->log_n >= UINT_MAX ||
	    !s2_grow((void **)&s->log, &s->log_cap, sizeof(*s->log), (unsigned)s->log_n + 1)) {
		s2hyp__fail(m, "out of memory recording the schedule");
		return;
	}
	s->log[s->log_n++] = *c;
}

/* Choose among n enabled choices; fills *c with the decision (arg included). */
static bool decide(struct s2hyp *m, unsigned n, struct s2hyp_choice *c)
{
	struct s2hyp_sched *s = m->sch;
	const struct s2hyp_strategy *st = s->st;
	unsigned idx;
	if (st->choose_thread) {
		/* The background choices are listed once drawn. */
		idx = st->choose_thread(st->arg, s->choices, n, s->any_background, m->step);
		if (idx == n && s->any_background) {
			unsigned all = push_background(m, n);
			idx = n + st->choose_background(st->arg, s->choices + n, all - n, m->step);
			n = all;
		}
	} else {
		idx = st->choose ? st->choose(st->arg, s->choices, n, m->step) : 0;
	}
	if (idx >= n) {
		m->outcome = S2HYP_DIVERGED;
		snprintf(m->error, sizeof(m->error), "the schedule diverged at step %llu",
			 (unsigned long long)m->step);
		m->stopped = true;
		return false;
	}
	*c = s->choices[idx];
	unsigned cand = arg_candidates(m, c);
	if (cand) {
		unsigned a = st->pick_arg ? st->pick_arg(st->arg, cand) : 0;
		if (a >= cand) {
			m->outcome = S2HYP_DIVERGED;
			snprintf(m->error, sizeof(m->error), "the schedule diverged at step %llu",
				 (unsigned long long)m->step);
			m->stopped = true;
			return false;
		}
		c->arg = a;
	}
	record(m, c);
	m->step++;
	m->stats.steps++;
	return true;
}

/* A vCPU thread's step: a driven vCPU's driver runs guest code first
 * (driver.c); a vCPU waiting on a fault has KVM handle it (kvm.c), which
 * is then an operation with scheduling points of its own; otherwise the
 * hardware does one step of its current item (machine.c). */
static void vcpu_step(struct s2hyp *m, struct vcpu *v)
{
	switch (v->state) {
	case V_READY:
	case V_ACCESS:
		/* A driven vCPU runs guest code until an access its TLB cannot
		 * serve; that access then takes the path of a program item. */
		if (v->drv && !s2hyp__drv_next(m, v))
			return;
		break;
	case V_FAULT:
		if (s2hyp__vcpu_abort(m, v)) {
			if (v->drv)
				s2hyp__drv_finish(m, v);
			else
				s2hyp__finish_item(m, v);
		}
		return;
	default:
		break;
	}
	s2hyp__vcpu_hw_step(m, v);
}

/* The host thread's step: its next operation. */
static void host_step(struct s2hyp *m)
{
	const struct s2hyp_host_op *op = &m->host_prog[m->host_pc];
	if (m->obs.host_op)
		m->obs.host_op(m->obs.arg, m, op);
	s2hyp__run_host_op(m, op);
	m->host_pc++;
	m->minp_valid = false;
}

static void exec_choice(struct s2hyp *m, const struct s2hyp_choice *c)
{
	struct vcpu *v = &m->vcpus[c->vcpu];

	switch (c->kind) {
	case S2HYP_CH_HYP:
		return;
	case S2HYP_CH_HOST:
		host_step(m);
		return;
	case S2HYP_CH_VCPU:
		v->drv_q = c->arg;
		vcpu_step(m, v);
		return;
	case S2HYP_CH_PREFETCH:
		s2hyp__prefetch(m, v, v->prog[c->arg].ipa);
		return;
	case S2HYP_CH_TLB_EVICT:
		s2hyp__tlb_evict(m, v, c->arg);
		return;
	case S2HYP_CH_DC_EVICT:
		s2hyp__dc_evict(m, c->arg);
		return;
	case S2HYP_CH_RCU:
		s2hyp__rcu_grace(m);
		return;
	}
}

static bool limit_reached(const struct s2hyp *m)
{
	return m->cfg.max_steps && m->step >= m->cfg.max_steps;
}

/* A scheduling point inside a hypervisor operation (the machine's
 * sched_point during a run): other threads may move, until the choice is
 * to let the operation's effect happen. */
static void sched_point(struct s2hyp *m)
{
	struct s2hyp_choice c;
	unsigned mandatory;

	while (!m->stopped && !limit_reached(m)) {
		unsigned n = enumerate(m, true, &mandatory);
		if (!decide(m, n, &c) || c.kind == S2HYP_CH_HYP)
			return;
		exec_choice(m, &c);
	}
}


/* ------------------------------------------------------------------ */
/* Several operations in flight (parallel faults)                       */
/* ------------------------------------------------------------------ */

/*
 * Each operation in flight is its thread's: vCPU N's fault handler moves
 * with the choice vN, the host's operation with host (a machine without
 * parallel faults names its one operation hyp instead). An operation runs
 * on the context that chose to start it when that one is free, else on a
 * fiber of its own; a scheduling point decides on the operation's own
 * stack, and switches only when the choice is another operation's.
 */

/* As vcpu_enabled, for the parallel machine: a fault may start whenever no
 * operation holds the lock for write (faults hold it for read), and a vCPU
 * whose fault lost a race waits for another store before it retries
 * (retrying earlier would see the same tables). */
static bool vcpu_enabled_par(const struct s2hyp *m, const struct vcpu *v, unsigned minp)
{
	if (v->backoff && m->locked && m->stats.pte_stores == v->backoff_stores)
		return false;
	if (v->state != V_FAULT)
		return vcpu_enabled(m, v, minp);
	if (v->uffd_msg && s2hyp__hostvm_vcpu_waits(m, v))
		return false;
	/* Over host-mm, a fault's first half (GUP) may invalidate, which
	 * takes the lock for write in the MMU notifier: it waits for every
	 * fault in flight. */
	if (m->hv && !v->gup_pending && m->sch->in_flight)
		return false;
	return !m->writer && !m->sch->op_ctx[HOST_SLOT];
}

/* The enabled choices when self (a slot, or NO_SLOT) is the operation at
 * whose scheduling point the choice is made. Its own next effect comes
 * first: the sequential strategy lets every operation run to its end. */
static unsigned enumerate_par(struct s2hyp *m, int self, unsigned *mandatory)
{
	struct s2hyp_sched *s = m->sch;
	struct s2hyp_choice *ch = s->choices;
	const unsigned nr = m->cfg.nr_vcpus;
	unsigned n = 0;
	/* As in enumerate: a strategy taking the first choice needs no other. */
	unsigned want = s->st->choose || s->st->choose_thread ? UINT_MAX : 1;

	if (self == HOST_SLOT)
		ch[n++] = choice_of(S2HYP_CH_HOST, 0);
	else if (self >= 0)
		ch[n++] = choice_of(S2HYP_CH_VCPU, (unsigned)self);
	if (n >= want)
		return *mandatory = n;
	unsigned minp = min_phase(m);
	if (self != HOST_SLOT &&
	    (s->op_ctx[HOST_SLOT] || (!s->in_flight && host_enabled(m, minp))))
		ch[n++] = choice_of(S2HYP_CH_HOST, 0);
	for (unsigned i = 0; i < nr && n < want; i++)
		if ((int)i != self && (s->op_ctx[i] || vcpu_enabled_par(m, &m->vcpus[i], minp)))
			ch[n++] = choice_of(S2HYP_CH_VCPU, i);
	*mandatory = n;
	if (!n || n >= want)
		return n;
	return push_optional(m, n);
}

/* An operation, whole: the host's next one, or KVM's handling of a vCPU's
 * fault. */
static void op_body(struct s2hyp *m, unsigned slot)
{
	if (slot == HOST_SLOT)
		host_step(m);
	else
		vcpu_step(m, &m->vcpus[slot]);
}

static void op_begin(struct s2hyp_sched *s, unsigned slot, struct sctx *c)
{
	s->op_ctx[slot] = c;
	c->slot = (int)slot;
	s->in_flight++;
}

static void op_end(struct s2hyp_sched *s, unsigned slot)
{
	s->op_ctx[slot]->slot = NO_SLOT;
	s->op_ctx[slot] = NULL;
	s->in_flight--;
}

/* Switch to context to. The running context, when free and a fiber, is
 * never switched back to: its stack is given to the next operation. */
static void switch_to(struct s2hyp *m, struct sctx *to)
{
	struct s2hyp_sched *s = m->sch;
	struct sctx *self = s->cur;
	bool dying = self != &s->main && self->slot == NO_SLOT;

	s->cur = to;
	if (to->slot >= 0) {
		s2hyp__op_current(m, (unsigned)to->slot);
	} else {
		m->op = OP_NONE;
		m->op_thread = HOST_THREAD;
	}
	s2_fiber_switch(&self->f, &to->f, dying);
}

static void run_loop(struct s2hyp *m);

/* A fiber's life: its operation, then the scheduler's loop as a free
 * context, which ends by switching away for good. */
static void fiber_main(void *arg)
{
	struct s2hyp *m = arg;
	struct s2hyp_sched *s = m->sch;
	unsigned slot = (unsigned)s->cur->slot;

	op_body(m, slot);
	op_end(s, slot);
	run_loop(m);
}

/* A fiber no operation runs on, other than the running context. */
static struct sctx *free_fiber(struct s2hyp *m)
{
	struct s2hyp_sched *s = m->sch;
	for (unsigned i = 0; i < MAX_CTX; i++) {
		struct sctx *c = &s->fib[i];
		if (c == s->cur || c->slot != NO_SLOT)
			continue;
		if (!c->have && !(c->have = s2_fiber_new(&c->f, FIBER_STACK)))
			return NULL;
		return c;
	}
	return NULL;
}

/* Start slot's operation; true when this context switched away (and has
 * been switched back to since). */
static bool start_op(struct s2hyp *m, unsigned slot)
{
	struct s2hyp_sched *s = m->sch;
	struct sctx *self = s->cur;

	if (self->slot == NO_SLOT) {
		op_begin(s, slot, self);
		op_body(m, slot);
		op_end(s, slot);
		return false;
	}
	struct sctx *f = free_fiber(m);
	if (!f) {
		s2hyp__fail(m, "out of memory for an operation's stack");
		return false;
	}
	op_begin(s, slot, f);
	s2_fiber_start(&f->f, fiber_main, m);
	switch_to(m, f);
	return true;
}

/* Run choice c; true when this context switched away (and has been
 * switched back to since). */
static bool exec_par(struct s2hyp *m, const struct s2hyp_choice *c)
{
	struct s2hyp_sched *s = m->sch;

	switch (c->kind) {
	case S2HYP_CH_HOST:
		if (s->op_ctx[HOST_SLOT]) {
			switch_to(m, s->op_ctx[HOST_SLOT]);
			return true;
		}
		return start_op(m, HOST_SLOT);
	case S2HYP_CH_VCPU: {
		struct vcpu *v = &m->vcpus[c->vcpu];
		if (s->op_ctx[c->vcpu]) {
			switch_to(m, s->op_ctx[c->vcpu]);
			return true;
		}
		v->backoff = false;
		if (v->state == V_FAULT)
			return start_op(m, c->vcpu);
		v->drv_q = c->arg;
		vcpu_step(m, v);
		return false;
	}
	default:
		exec_choice(m, c);
		return false;
	}
}

/* A scheduling point inside the operation running on this context. */
static void sched_point_par(struct s2hyp *m)
{
	struct s2hyp_sched *s = m->sch;
	int self = s->cur->slot;
	struct s2hyp_choice c;
	unsigned mandatory;

	if (self == NO_SLOT)
		return;
	enum s2hyp_choice_kind own = self == HOST_SLOT ? S2HYP_CH_HOST : S2HYP_CH_VCPU;
	while (!m->stopped && !limit_reached(m)) {
		unsigned n = enumerate_par(m, self, &mandatory);
		if (!decide(m, n, &c))
			return;
		if (c.kind == own && (self == HOST_SLOT || c.vcpu == self))
			return;
		if (exec_par(m, &c))
			return;
	}
}

/* The scheduler's loop on a free context, to the end of the run; a fiber
 * then switches back to the caller's stack for good. */
static void run_loop(struct s2hyp *m)
{
	struct s2hyp_sched *s = m->sch;
	struct s2hyp_choice c;
	unsigned mandatory;

	for (;;) {
		if (m->stopped || limit_reached(m)) {
			/* Every operation in flight runs to its end without
			 * interleaving, one after the other. */
			unsigned i = 0;
			while (i <= HOST_SLOT && !s->op_ctx[i])
				i++;
			if (i > HOST_SLOT)
				break;
			switch_to(m, s->op_ctx[i]);
			continue;
		}
		unsigned n = enumerate_par(m, NO_SLOT, &mandatory);
		if (!mandatory)
			break;
		if (decide(m, n, &c))
			exec_par(m, &c);
	}
	if (s->cur != &s->main)
		switch_to(m, &s->main);
}

enum s2hyp_outcome s2hyp_run(struct s2hyp *m, const struct s2hyp_strategy *st)
{
	struct s2hyp_sched *s = m->sch;
	struct s2hyp_choice c;
	unsigned mandatory;

	s->st = st;
	if (m->parallel) {
		s2_fiber_main(&s->main.f);
		s->main.slot = NO_SLOT;
		s->cur = &s->main;
		m->sched_point = sched_point_par;
		run_loop(m);
		if (!m->stopped && limit_reached(m))
			m->outcome = S2HYP_STEP_LIMIT;
	} else {
		m->sched_point = sched_point;
	}
	while (!m->parallel && !m->stopped) {
		if (limit_reached(m)) {
			m->outcome = S2HYP_STEP_LIMIT;
			break;
		}
		unsigned n = enumerate(m, false, &mandatory);
		if (!mandatory)
			break;
		if (!decide(m, n, &c))
			break;
		exec_choice(m, &c);
	}
	if (!m->stopped && m->outcome == S2HYP_DONE) {
		/* Nothing is enabled, yet something has not finished: a bug of
		 * ours, unless a thread sleeps on the VMM's userfaultfd (a vCPU
		 * whose fault no handler resolved, a handler no fault woke):
		 * then the program hangs, and whatever waits behind it for its
		 * phase to end hangs with it (counted, not an error). */
		bool hung = m->host_pc < m->host_n && m->hv && s2hyp__hostvm_host_waits(m);
		for (unsigned i = 0; i < m->cfg.nr_vcpus; i++)
			hung |= m->vcpus[i].uffd_msg && s2hyp__hostvm_vcpu_waits(m, &m->vcpus[i]);
		for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
			if (m->vcpus[i].state == V_DONE)
				continue;
			if (hung && (m->vcpus[i].state == V_READY || m->vcpus[i].uffd_msg))
				m->stats.host_uffd_hung++;
			else
				s2hyp__fail(m, "vCPU %u cannot make progress", i);
		}
		if (m->host_pc < m->host_n && hung)
			m->stats.host_uffd_hung++;
		else if (m->host_pc < m->host_n)
			s2hyp__fail(m, "the host program cannot make progress");
	}
	m->sch->st = NULL;
	/* Effects applied outside a run (an effect trace) have no one to
	 * interleave with. */
	m->sched_point = NULL;
	return m->outcome;
}
void s2hyp_record_schedule(struct s2hyp *m, bool on)
{
	m->sch->recording = on;
}

const struct s2hyp_choice *s2hyp_schedule(const struct s2hyp *m, size_t *n)
{
	*n = m->sch->log_n;
	return m->sch->log;
}

/* ------------------------------------------------------------------ */
/* Strategies                                                          */
/* ------------------------------------------------------------------ */

void s2hyp_rng_seed(struct s2hyp_rng *r, uint64_t seed)
{
	/* splitmix64 to spread any seed over both words */
	for (int i = 0; i < 2; i++) {
		seed += 0x9e3779b97f4a7c15ull;
		uint64_t z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		r->s[i] = z ^ (z >> 31);
	}
	if (!r->s[0] && !r->s[1])
		r->s[0] = 1;
}

uint64_t s2hyp_rng_next(struct s2hyp_rng *r)
{
	/* xorshift128+ */
	uint64_t a = r->s[0], b = r->s[1];
	r->s[0] = b;
	a ^= a << 23;
	r->s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return r->s[1] + b;
}

unsigned s2hyp_vcpu_access_phase(const struct s2hyp *m, unsigned vcpu)
{
	const struct vcpu *v = &m->vcpus[vcpu];
	if (v->drv || v->pc >= v->nprog || v->state == V_FAULT || v->state == V_DONE)
		return ~0u;
	return v->prog[v->pc].phase;
}

bool s2hyp_vcpu_handling(const struct s2hyp *m, unsigned vcpu)
{
	return m->sch && m->sch->op_ctx[vcpu];
}

const struct s2hyp_vcpu_op *s2hyp_vcpu_item(const struct s2hyp *m, unsigned vcpu,
					    unsigned ahead)
{
	const struct vcpu *v = &m->vcpus[vcpu];
	if (v->drv || v->pc >= v->nprog || v->nprog - v->pc <= ahead)
		return NULL;
	return &v->prog[v->pc + ahead];
}

unsigned s2hyp_open_phase(struct s2hyp *m)
{
	return min_phase(m);
}

uint32_t s2hyp_ready_threads(struct s2hyp *m)
{
	unsigned minp = min_phase(m);
	uint32_t r = 0;

	if (m->host_pc < m->host_n && m->host_prog[m->host_pc].phase <= minp)
		r |= 1;
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		if (v->state == V_DONE || (v->state == V_READY && v->prog[v->pc].phase > minp))
			continue;
		r |= 2u << i;
	}
	if (!m->parallel && m->locked)
		r &= ~(m->op_thread >= 0 ? 2u << m->op_thread : 1u);
	return r;
}

bool s2hyp_choice_is_background(const struct s2hyp_choice *c)
{
	return c->kind == S2HYP_CH_PREFETCH || c->kind == S2HYP_CH_TLB_EVICT ||
	       c->kind == S2HYP_CH_DC_EVICT;
}

/* Uniform over the threads that can move, with all background events
 * (evictions, speculative walks) together counting as one more thread:
 * otherwise they would outnumber real progress and empty every TLB. The
 * enumeration lists background choices last. */
static unsigned random_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			      uint64_t step)
{
	unsigned fg = 0;
	(void)step;
	while (fg < n && !s2hyp_choice_is_background(&choices[fg]))
		fg++;
	unsigned r = (unsigned)(s2hyp_rng_next(arg) % (fg + (fg < n)));
	if (r < fg)
		return r;
	return fg + (unsigned)(s2hyp_rng_next(arg) % (n - fg));
}

/* random_choose in two halves: the threads and, drawn as one, the
 * background; then which background choice. The same draws. */
static unsigned random_choose_thread(void *arg, const struct s2hyp_choice *choices, unsigned n,
				     bool background, uint64_t step)
{
	(void)choices;
	(void)step;
	return (unsigned)(s2hyp_rng_next(arg) % (n + background));
}

static unsigned random_choose_background(void *arg, const struct s2hyp_choice *choices,
					 unsigned n, uint64_t step)
{
	(void)choices;
	(void)step;
	return (unsigned)(s2hyp_rng_next(arg) % n);
}

static unsigned random_pick(void *arg, unsigned n)
{
	return (unsigned)(s2hyp_rng_next(arg) % n);
}

const struct s2hyp_strategy s2hyp_strategy_random_template = {
	.choose = random_choose,
	.pick_arg = random_pick,
	.choose_thread = random_choose_thread,
	.choose_background = random_choose_background,
};

/* The first enabled choice at every step (see struct s2hyp_strategy). */
const struct s2hyp_strategy s2hyp_strategy_sequential = { .choose = NULL, .pick_arg = NULL, .arg = NULL };

static unsigned replay_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			      uint64_t step)
{
	struct s2hyp_replay *r = arg;
	(void)step;
	if (r->pos >= r->n || (r->lenient && r->diverged)) {
		/* Past the recorded schedule (or off it): finish without
		 * interleaving, as the sequential strategy does. */
		return 0;
	}
	const struct s2hyp_choice *want = &r->sched[r->pos];
	for (unsigned i = 0; i < n; i++) {
		if (choices[i].kind == want->kind && choices[i].vcpu == want->vcpu) {
			r->pos++;
			return i;
		}
	}
	r->diverged = true;
	r->diverged_at = r->pos;
	return r->lenient ? 0 : n;
}

static unsigned replay_pick(void *arg, unsigned n)
{
	struct s2hyp_replay *r = arg;
	if (!r->pos || r->pos > r->n || (r->lenient && r->diverged))
		return 0;
	unsigned a = r->sched[r->pos - 1].arg;
	if (a >= n) {
		r->diverged = true;
		r->diverged_at = r->pos - 1;
		if (r->lenient)
			return 0;
	}
	return a;
}

const struct s2hyp_strategy s2hyp_strategy_replay_template = {
	.choose = replay_choose, .pick_arg = replay_pick,
};
