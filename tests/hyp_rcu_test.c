/* hyp_rcu_test: unlinked tables wait for an RCU grace period whose end is
 * a choice of the scheduler (cfg.rcu_free, S2HYP_CH_RCU), enabled only
 * once no walker that entered its read-side section before the table was
 * queued is still inside.
 *
 * Program: one vCPU writes a page of a THP slot (a 2M block), dirty logging
 * on splits it at the next write, logging off and a third write coalesce
 * the level-3 table back into a block: that table is unlinked and queued.
 * The white-box tests play a walker's read-side section through the
 * machine's own mm ops (hyp-model/s2hyp_kvm.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_kvm.h"

#define IPA 0x40000000ull
#define HVA 0x7f0000000000ull
#define PG 0x1000ull

struct prog {
	struct s2hyp_host_op host[4];
	size_t nh;
	struct s2hyp_vcpu_op vcpu[4];
	size_t nv;
	unsigned phase;
};

static void vop(struct prog *p, uint64_t ipa)
{
	p->vcpu[p->nv++] = (struct s2hyp_vcpu_op){ .access = S2HYP_ACC_WRITE, .phase = ++p->phase,
						    .ipa = ipa, .size = 8, .mmu_on = true,
						    .value = ipa };
}

static void coalesce_program(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	vop(p, IPA);
	p->host[p->nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_ON,
						   .phase = ++p->phase };
	vop(p, IPA + PG);
	p->host[p->nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_OFF,
						   .phase = ++p->phase };
	vop(p, IPA + 2 * PG);
}

static struct s2hyp *machine(void)
{
	struct s2hyp_config cfg;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 2u << 20, .hva = HVA, .backing = S2HYP_BACKING_THP };
	struct s2hyp *m;
	const char *why = "";
	struct prog p;

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = 2;
	cfg.explore_evictions = cfg.explore_prefetch = false;
	cfg.rcu_free = true;
	coalesce_program(&p);
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
	assert_int_equal(s2hyp_set_host_program(m, p.host, p.nh, &why), 0);
	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p.vcpu, p.nv, &why), 0);
	return m;
}

static unsigned fired(const struct s2hyp *m)
{
	unsigned n = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		n += s2hyp_stats(m)->violations[r] != 0;
	return n;
}

/* Takes the grace period whenever it is offered, else the first choice. */
static unsigned eager_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			     uint64_t step)
{
	(void)arg;
	(void)step;
	for (unsigned i = 0; i < n; i++)
		if (choices[i].kind == S2HYP_CH_RCU)
			return i;
	return 0;
}

static unsigned first_pick(void *arg, unsigned n)
{
	(void)arg;
	(void)n;
	return 0;
}

static const struct s2hyp_strategy eager = { .choose = eager_choose, .pick_arg = first_pick, .arg = NULL };

/* A strategy that takes the grace period frees the unlinked table during
 * the run, in one recorded step; the sequential one never chooses it (the
 * table waits for the VM's end). Replaying the recorded schedule, "rcu"
 * included, frees it at the same point; no rule fires. */
static void test_grace_is_a_choice(void **state)
{
	(void)state;
	struct s2hyp *m = machine();
	s2hyp_record_schedule(m, true);
	assert_int_equal(s2hyp_run(m, &eager), S2HYP_DONE);
	assert_int_equal(s2hyp_stats(m)->coalesces, 1);
	assert_int_equal(s2hyp_stats(m)->unlinked_frees, 1);
	assert_int_equal(fired(m), 0);
	size_t n;
	const struct s2hyp_choice *sched = s2hyp_schedule(m, &n);
	unsigned rcu = 0;
	for (size_t i = 0; i < n; i++)
		rcu += sched[i].kind == S2HYP_CH_RCU;
	assert_int_equal(rcu, 1);

	struct s2hyp *again = machine();
	struct s2hyp_replay r = { .sched = sched, .n = n };
	struct s2hyp_strategy st = s2hyp_strategy_replay_template;
	st.arg = &r;
	assert_int_equal(s2hyp_run(again, &st), S2HYP_DONE);
	assert_false(r.diverged);
	assert_int_equal(s2hyp_stats(again)->unlinked_frees, 1);
	assert_int_equal(s2hyp_stats(again)->table_pages_freed, s2hyp_stats(m)->table_pages_freed);
	s2hyp_delete(again);
	s2hyp_delete(m);

	m = machine();
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_int_equal(s2hyp_stats(m)->unlinked_frees, 0);
	assert_int_equal(m->rcu_n, 1);
	assert_true(s2hyp__rcu_ready(m));
	s2hyp_delete(m);
}

/* vCPU 1's walk enters its read-side section over the slot before the
 * table is queued: the grace period cannot end (no choice is offered) until
 * it leaves; a reader that entered after the queue does not hold it up. */
static void test_grace_waits_for_readers(void **state)
{
	(void)state;
	for (int late = 0; late <= 1; late++) {
		struct s2hyp *m = machine();
		m->op_thread = 1;
		if (!late)
			s2hyp__mm_ops.rcu_read_lock(m, s2_ipa(IPA), 2u << 20);
		m->op_thread = HOST_THREAD;
		/* Eager takes every grace period offered: with the early reader
		 * inside, none is. */
		assert_int_equal(s2hyp_run(m, late ? &s2hyp_strategy_sequential : &eager),
				 S2HYP_DONE);
		assert_int_equal(m->rcu_n, 1);
		m->op_thread = 1;
		if (late)
			s2hyp__mm_ops.rcu_read_lock(m, s2_ipa(IPA), 2u << 20);
		assert_int_equal(s2hyp__rcu_ready(m), late);
		s2hyp__mm_ops.rcu_read_unlock(m);
		m->op_thread = HOST_THREAD;
		assert_true(s2hyp__rcu_ready(m));
		s2hyp__rcu_grace(m);
		assert_int_equal(m->rcu_n, 0);
		assert_int_equal(s2hyp_stats(m)->unlinked_frees, 1);
		assert_int_equal(fired(m), 0);
		s2hyp_delete(m);
	}
}

/* The checker agrees: freeing the queued table while that early reader is
 * still inside (what the choice never does) fires free-before-grace. */
static void test_free_inside_grace_fires(void **state)
{
	(void)state;
	struct s2hyp *m = machine();
	m->op_thread = 1;
	s2hyp__mm_ops.rcu_read_lock(m, s2_ipa(IPA), 2u << 20);
	m->op_thread = HOST_THREAD;
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_int_equal(fired(m), 0);
	s2hyp__rcu_free_all(m);
	assert_int_equal(s2hyp_stats(m)->violations[S2HYP_RULE_FREE_BEFORE_GRACE], 1);
	assert_int_equal(fired(m), 1);
	s2hyp_delete(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grace_is_a_choice),
		cmocka_unit_test(test_grace_waits_for_readers),
		cmocka_unit_test(test_free_inside_grace_fires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
