/* Several hypervisor operations in flight at once (upstream's parallel
 * faults): two vCPUs faulting on one page both complete, the MMU lock's
 * read/write split, the exchange comparing when it runs, the seed
 * scenario with up to four faults in flight firing nothing, and a
 * recorded parallel schedule replaying to the same run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp_kvm.h"
#include "hyp-model/s2hyp_scenario.h"

#define BASE S2HYP_SEED_IPA
#define PG 0x1000ull
#define SZ_2M 0x200000ull

/* Two vCPUs, one 2M slot of 4K pages, each vCPU reading the IPAs given
 * (0: none), under variant v. */
static struct s2hyp *two_readers(enum s2pt_variant v, uint64_t ipa0, uint64_t ipa1)
{
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true };

	s2hyp_scenario_init(&sc);
	s2hyp_config_init(&sc.cfg);
	sc.cfg.variant = v;
	sc.cfg.nr_vcpus = 2;
	sc.cfg.explore_evictions = false;
	sc.cfg.explore_prefetch = false;
	sc.slots[0] = (struct s2hyp_memslot){ .ipa = BASE, .size = SZ_2M, .hva = S2HYP_SEED_HVA,
					      .backing = S2HYP_BACKING_4K };
	sc.nr_slots = 1;
	rd.ipa = ipa0;
	assert_int_equal(s2hyp_scenario_add_vcpu(&sc, 0, &rd), 0);
	rd.ipa = ipa1;
	assert_int_equal(s2hyp_scenario_add_vcpu(&sc, 1, &rd), 0);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	s2hyp_scenario_free(&sc);
	return m;
}

/* Take turns: the first enabled choice of a thread other than the last
 * one's, so that whatever one vCPU starts, the other moves next. */
struct turns {
	unsigned last;
};

static unsigned turns_choose(void *arg, const struct s2hyp_choice *c, unsigned n, uint64_t step)
{
	struct turns *t = arg;
	(void)step;
	for (unsigned i = 0; i < n; i++) {
		if (c[i].kind == S2HYP_CH_VCPU && c[i].vcpu != t->last) {
			t->last = c[i].vcpu;
			return i;
		}
	}
	t->last = c[0].vcpu;
	return 0;
}

static unsigned turns_pick(void *arg, unsigned n)
{
	(void)arg;
	(void)n;
	return 0;
}

/* Two vCPUs fault on the same page at the same moment: both faults are in
 * flight together, one maps the page, the other finds it done (S2_EAGAIN)
 * and retries its access, which then hits; nothing fires. */
static void test_same_page_both_complete(void **state)
{
	(void)state;
	struct s2hyp *m = two_readers(S2PT_V_UPSTREAM, BASE, BASE);
	struct turns t = { 1 };
	struct s2hyp_strategy st = { .choose = turns_choose, .pick_arg = turns_pick, .arg = &t };

	assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
	const struct s2hyp_stats *s = s2hyp_stats(m);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	assert_int_equal(s->max_ops_in_flight, 2);
	/* Every map but the one that made the leaf lost its race: met the
	 * entry locked, or found it made. */
	assert_true(s->maps >= 2);
	assert_int_equal(s->map_eagain, s->maps - 1);
	assert_int_equal(s->mappings_by_level[S2_LEVEL_MAX + 1], 1);
	assert_int_equal(s->vcpu[0].accesses, 1);
	assert_int_equal(s->vcpu[1].accesses, 1);
	s2hyp_delete(m);
}

/* The same turns under upstream-exclusive: the second fault waits for the
 * lock, so no two operations are ever in flight; it then finds the page
 * mapped. */
static void test_exclusive_one_at_a_time(void **state)
{
	(void)state;
	struct s2hyp *m = two_readers(S2PT_V_UPSTREAM_EXCLUSIVE, BASE, BASE);
	struct turns t = { 1 };
	struct s2hyp_strategy st = { .choose = turns_choose, .pick_arg = turns_pick, .arg = &t };

	assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
	const struct s2hyp_stats *s = s2hyp_stats(m);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	assert_int_equal(s->max_ops_in_flight, 1);
	assert_int_equal(s->maps, 2);
	assert_int_equal(s->map_eagain, 1);
	assert_int_equal(s->mappings_by_level[S2_LEVEL_MAX + 1], 1);
	s2hyp_delete(m);
}

/* Under the sequential strategy every operation runs to its end before
 * another starts, parallel faults or not. */
static void test_sequential_runs_each_to_its_end(void **state)
{
	(void)state;
	struct s2hyp *m = two_readers(S2PT_V_UPSTREAM, BASE, BASE + PG);

	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_int_equal(s2hyp_stats(m)->max_ops_in_flight, 1);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);
}

/* Faults take the MMU lock for read and walk shared; everything else takes
 * it for write, which a read holder excludes (reported as an error of the
 * model); without parallel faults every operation takes it alone. */
static void test_lock_split(void **state)
{
	(void)state;
	struct s2hyp *m = two_readers(S2PT_V_UPSTREAM, BASE, BASE);
	struct s2pt_locked a = s2hyp__lock(m, OP_FAULT_MAP, 0, BASE, PG);
	struct s2pt_locked b = s2hyp__lock(m, OP_FAULT_RELAX, 1, BASE, PG);
	assert_true(a.shared);
	assert_true(b.shared);
	assert_int_equal(m->readers, 2);
	assert_int_equal(s2hyp_stats(m)->max_ops_in_flight, 2);
	s2hyp__unlock(m, b);
	assert_true(m->locked);
	s2hyp__op_current(m, 0);
	s2hyp__unlock(m, a);
	assert_false(m->locked);
	assert_int_equal(m->outcome, S2HYP_DONE);

	struct s2pt_locked w = s2hyp__lock(m, OP_HOST, HOST_THREAD, BASE, PG);
	assert_false(w.shared);
	assert_true(m->writer);
	s2hyp__unlock(m, w);
	/* A write lock while a fault holds it for read: the model's bug. */
	a = s2hyp__lock(m, OP_FAULT_MAP, 0, BASE, PG);
	w = s2hyp__lock(m, OP_HOST, HOST_THREAD, BASE, PG);
	assert_int_equal(m->outcome, S2HYP_ERROR);
	s2hyp_delete(m);

	m = two_readers(S2PT_V_UPSTREAM_EXCLUSIVE, BASE, BASE);
	a = s2hyp__lock(m, OP_FAULT_MAP, 0, BASE, PG);
	assert_false(a.shared);
	s2hyp__unlock(m, a);
	s2hyp_delete(m);
}

/* Both ends of the fault handler give the MMU lock back, as
 * user_mem_abort's kvm_fault_unlock does: after a map and after a relax
 * nothing holds it, and a writer can take it at once. */
static void test_fault_map_and_relax_release_lock(void **state)
{
	(void)state;
	struct s2hyp *m = two_readers(S2PT_V_UPSTREAM, BASE, BASE);
	struct vcpu *v = &m->vcpus[0];

	struct s2pt_locked l = s2hyp__lock(m, OP_FAULT_MAP, 0, BASE, PG);
	s2hyp__fault_map(m, v, l, BASE, PG, m->slots[0].pa, S2PT_PROT_R, false);
	assert_false(m->locked);
	assert_int_equal(m->readers, 0);
	assert_int_equal(s2hyp_stats(m)->maps, 1);

	v->fault_level = S2_LEVEL_MAX;
	l = s2hyp__lock(m, OP_FAULT_RELAX, 0, BASE, PG);
	s2hyp__fault_relax(m, v, l, BASE, S2PT_PROT_W);
	assert_false(m->locked);
	assert_int_equal(m->readers, 0);
	assert_int_equal(s2hyp_stats(m)->relaxes, 1);

	struct s2pt_locked w = s2hyp__lock(m, OP_HOST, HOST_THREAD, BASE, PG);
	s2hyp__unlock(m, w);
	assert_int_equal(m->outcome, S2HYP_DONE);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);
}

/* What another operation stores at the exchange's scheduling point. */
static s2_pte_t *racing_ptep;
static void racing_store(struct s2hyp *m)
{
	(void)m;
	*racing_ptep = 0x100;	/* invalid, and neither value compared */
}

/* The machine's cmpxchg compares when its step runs, after its scheduling
 * point: a store another operation makes there fails it and it stores
 * nothing; with no store in between it succeeds. */
static void test_cmpxchg_compares_at_its_step(void **state)
{
	(void)state;
	struct s2hyp *m = two_readers(S2PT_V_UPSTREAM, BASE, BASE);
	s2_pte_t *ptep = &m->pt.pgd[1];

	assert_int_equal(*ptep, 0);
	racing_ptep = ptep;
	m->sched_point = racing_store;
	assert_false(s2hyp__mm_ops.cmpxchg_pte(m, ptep, 0, S2PT_PTE_LOCKED));
	assert_int_equal(*ptep, 0x100);
	m->sched_point = NULL;
	*ptep = 0;
	assert_true(s2hyp__mm_ops.cmpxchg_pte(m, ptep, 0, S2PT_PTE_LOCKED));
	assert_int_equal(*ptep, S2PT_PTE_LOCKED);
	s2hyp__mm_ops.set_pte(m, ptep, 0, false);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);
}

static struct s2hyp *seed_machine(enum s2pt_variant v)
{
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = NULL;

	assert_int_equal(s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 4, v), 0);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	s2hyp_scenario_free(&sc);
	return m;
}

/* The seed scenario with 4 vCPUs under random schedules: faults overlap
 * with the coalescing one (three or more in flight at some point), every
 * run completes and nothing fires. */
static void test_seed_parallel_clean(void **state)
{
	(void)state;
	unsigned most = 0;
	for (uint64_t seed = 1; seed <= 60; seed++) {
		struct s2hyp *m = seed_machine(S2PT_V_UPSTREAM);
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		if (s2hyp_run(m, &st) != S2HYP_DONE || s2hyp_nr_violations(m))
			fail_msg("seed %llu: %s, %u violations", (unsigned long long)seed,
				 s2hyp_error(m), s2hyp_nr_violations(m));
		if (s2hyp_stats(m)->max_ops_in_flight > most)
			most = s2hyp_stats(m)->max_ops_in_flight;
		s2hyp_delete(m);
	}
	assert_true(most >= 3);
}

/* A random parallel run's recorded schedule replays to the same run: the
 * same steps, stores, maps and races lost, operations in flight. */
static void test_parallel_schedule_replays(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct s2hyp *a = seed_machine(S2PT_V_UPSTREAM);
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		s2hyp_record_schedule(a, true);
		assert_int_equal(s2hyp_run(a, &st), S2HYP_DONE);
		size_t n;
		const struct s2hyp_choice *sched = s2hyp_schedule(a, &n);

		struct s2hyp *b = seed_machine(S2PT_V_UPSTREAM);
		struct s2hyp_replay r = { .sched = sched, .n = n };
		struct s2hyp_strategy rs = s2hyp_strategy_replay_template;
		rs.arg = &r;
		assert_int_equal(s2hyp_run(b, &rs), S2HYP_DONE);
		assert_false(r.diverged);
		assert_int_equal(r.pos, n);
		const struct s2hyp_stats *x = s2hyp_stats(a), *y = s2hyp_stats(b);
		assert_int_equal(x->steps, y->steps);
		assert_int_equal(x->pte_stores, y->pte_stores);
		assert_int_equal(x->maps, y->maps);
		assert_int_equal(x->map_eagain, y->map_eagain);
		assert_int_equal(x->max_ops_in_flight, y->max_ops_in_flight);
		assert_int_equal(s2hyp_nr_violations(b), 0);
		s2hyp_delete(a);
		s2hyp_delete(b);
	}
}

/* A step limit reached while several faults are in flight ends the run
 * cleanly: each runs to its end, the outcome says why. */
static void test_step_limit_drains_operations(void **state)
{
	(void)state;
	for (uint64_t limit = 20; limit <= 400; limit += 20) {
		struct s2hyp_scenario sc;
		struct s2hyp *m;
		const char *why = NULL;
		assert_int_equal(s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 4, S2PT_V_UPSTREAM), 0);
		sc.cfg.max_steps = limit;
		assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
		s2hyp_scenario_free(&sc);
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		s2hyp_rng_seed(&rng, limit);
		st.arg = &rng;
		assert_int_equal(s2hyp_run(m, &st), S2HYP_STEP_LIMIT);
		assert_false(m->locked);
		s2hyp_delete(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_page_both_complete),
		cmocka_unit_test(test_exclusive_one_at_a_time),
		cmocka_unit_test(test_sequential_runs_each_to_its_end),
		cmocka_unit_test(test_lock_split),
		cmocka_unit_test(test_fault_map_and_relax_release_lock),
		cmocka_unit_test(test_cmpxchg_compares_at_its_step),
		cmocka_unit_test(test_seed_parallel_clean),
		cmocka_unit_test(test_parallel_schedule_replays),
		cmocka_unit_test(test_step_limit_drains_operations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
