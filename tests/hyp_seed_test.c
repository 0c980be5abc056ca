/* The seed scenario end to end, for every walker variant, under the
 * sequential schedule and under random schedules; and the scheduler's
 * promise that a recorded schedule replays to the identical outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_text.h"
#include "hyp-model/s2hyp_scenario.h"
#include "traces/s2trace.h"

#define RANDOM_RUNS 40

struct outcome {
	enum s2hyp_outcome o;
	struct s2hyp_stats stats;
};

static void run(const char *name, enum s2pt_variant v, unsigned nv, uint64_t seed,
		struct outcome *out)
{
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;

	int i = s2_find_name_by(s2hyp_scenario_name, name);
	assert_true(i >= 0);
	assert_int_equal(s2hyp_scenario_build(&sc, (unsigned)i, nv, v), 0);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	out->o = s2hyp_run(m, seed ? &st : &s2hyp_strategy_sequential);
	out->stats = *s2hyp_stats(m);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

static s2hyp_rule_set fired_mask(const struct s2hyp_stats *st)
{
	s2hyp_rule_set mask = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r])
			mask |= S2HYP_RULE_BIT(r);
	return mask;
}

#define BIT(r) S2HYP_RULE_BIT(r)

/* What each variant must fire in the seed scenario, whatever the schedule
 * (a rule that may fire only in some schedules is in "may"). */
static const struct {
	enum s2pt_variant v;
	s2hyp_rule_set must;
	s2hyp_rule_set may;
} expected[] = {
	{ S2PT_V_UPSTREAM_2021, 0, 0 },
	{ S2PT_V_INSTALL_FIRST, 0, 0 },
	{ S2PT_V_UPSTREAM, 0, 0 },
	{ S2PT_V_INSTALL_FIRST_NOCMO, BIT(S2HYP_RULE_DCACHE_CLEAN),
	  BIT(S2HYP_RULE_STALE_DATA) },
	{ S2PT_V_UPSTREAM_NOCMO, BIT(S2HYP_RULE_DCACHE_CLEAN), BIT(S2HYP_RULE_STALE_DATA) },
	{ S2PT_V_ANCHOR_LEAK, BIT(S2HYP_RULE_REFCOUNT) | BIT(S2HYP_RULE_LEAK), 0 },
	{ S2PT_V_INSTALL_FIRST_LEAK, BIT(S2HYP_RULE_REFCOUNT) | BIT(S2HYP_RULE_LEAK), 0 },
	{ S2PT_V_MERGE_TLBI_IPA, BIT(S2HYP_RULE_BBM) | BIT(S2HYP_RULE_TLBI_BEFORE_FREE),
	  BIT(S2HYP_RULE_TLB_CONFLICT) },
	{ S2PT_V_NO_RELOAD, BIT(S2HYP_RULE_WALK_AFTER_FREE), 0 },
	{ S2PT_V_FREE_LEAK, BIT(S2HYP_RULE_LEAK), BIT(S2HYP_RULE_REFCOUNT) },
};

/* One run of the seed scenario (4 vCPUs, upstream) under strategy st,
 * its schedule recorded: the schedule's length, copied into sched. */
static size_t run_recorded(const struct s2hyp_strategy *st, struct s2hyp_stats *stats,
			   struct s2hyp_choice *sched, size_t cap)
{
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = NULL;
	size_t n;

	assert_int_equal(s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 4, S2PT_V_UPSTREAM), 0);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	s2hyp_record_schedule(m, true);
	assert_int_equal(s2hyp_run(m, st), S2HYP_DONE);
	const struct s2hyp_choice *s = s2hyp_schedule(m, &n);
	assert_true(n <= cap);
	memcpy(sched, s, n * sizeof(*s));
	*stats = *s2hyp_stats(m);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
	return n;
}

/* The random strategy's lazy background (choose_thread, choose_background:
 * the machine lists background choices only when drawn) makes the very
 * schedule its choose makes over the full list, background choices
 * included (fails when the halves draw differently, or the machine lists
 * another set of choices lazily). */
static void test_random_lazy_background_same_schedule(void **state)
{
	(void)state;
	static struct s2hyp_choice lazy[20000], full[20000];
	unsigned background = 0;

	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct s2hyp_rng r1, r2;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		struct s2hyp_strategy eager = s2hyp_strategy_random_template;
		struct s2hyp_stats s1, s2;

		assert_non_null(st.choose_thread);
		eager.choose_thread = NULL;
		eager.choose_background = NULL;
		s2hyp_rng_seed(&r1, seed);
		s2hyp_rng_seed(&r2, seed);
		st.arg = &r1;
		eager.arg = &r2;
		size_t n = run_recorded(&st, &s1, lazy, 20000);
		size_t k = run_recorded(&eager, &s2, full, 20000);
		assert_int_equal(n, k);
		assert_memory_equal(lazy, full, n * sizeof(*lazy));
		assert_memory_equal(&s1, &s2, sizeof(s1));
		for (size_t i = 0; i < n; i++)
			background += s2hyp_choice_is_background(&lazy[i]);
	}
	assert_true(background > 100);
}

/* Every variant fires exactly its expected rules, sequentially and under
 * random schedules with 2 and 4 vCPUs, and every run completes. */
static void test_seed_every_variant(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		for (unsigned nv = 2; nv <= 4; nv += 2) {
			for (uint64_t seed = 0; seed <= RANDOM_RUNS; seed++) {
				struct outcome out;
				run("seed", expected[i].v, nv, seed, &out);
				assert_int_equal(out.o, S2HYP_DONE);
				s2hyp_rule_set got = fired_mask(&out.stats);
				if ((got & expected[i].must) != expected[i].must ||
				    (got & ~(expected[i].must | expected[i].may)))
					fail_msg("%s, %u vCPUs, seed %llu: fired %#llx, expected %#llx (may %#llx)",
						 s2pt_variant_name(expected[i].v), nv,
						 (unsigned long long)seed, (unsigned long long)got,
						 (unsigned long long)expected[i].must,
						 (unsigned long long)expected[i].may);
				assert_int_equal(out.stats.coalesces, 1);
			}
		}
	}
}

/* With the MMU-off read after the coalesce, nocmo shows stale data in most
 * schedules (an eviction may write the line back first). */
static void test_seed_nocmo_stale_data_usually(void **state)
{
	(void)state;
	unsigned stale = 0;
	for (uint64_t seed = 1; seed <= RANDOM_RUNS; seed++) {
		struct outcome out;
		run("seed", S2PT_V_INSTALL_FIRST_NOCMO, 4, seed, &out);
		stale += out.stats.violations[S2HYP_RULE_STALE_DATA] > 0;
	}
	assert_true(stale >= RANDOM_RUNS * 3 / 4);
}

static double window_faults(enum s2pt_variant v, unsigned nv)
{
	uint64_t total = 0;
	for (uint64_t seed = 1; seed <= 4 * RANDOM_RUNS; seed++) {
		struct outcome out;
		run("seed", v, nv, seed, &out);
		for (unsigned i = 0; i < nv; i++)
			total += out.stats.vcpu[i].faults_in_window;
	}
	return (double)total / (4 * RANDOM_RUNS);
}

/* The review thread's claim: installing the block first shortens the window
 * in which other vCPUs meet the invalid entry and fault. */
static void test_install_first_shortens_window(void **state)
{
	(void)state;
	double old = window_faults(S2PT_V_UPSTREAM_2021, 4);
	double first = window_faults(S2PT_V_INSTALL_FIRST, 4);
	print_message("window faults per coalesce: upstream-2021 %.2f, install-first %.2f\n",
		      old, first);
	assert_true(old > 0);
	assert_true(first < old);
}

/* A recorded schedule replays to the identical outcome, step for step. */
static void test_record_replay_identical(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct s2hyp_scenario sc;
		struct s2hyp *a, *b;
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		struct s2hyp_strategy rp = s2hyp_strategy_replay_template;
		size_t n;

		assert_int_equal(s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 3, S2PT_V_INSTALL_FIRST_NOCMO), 0);
		assert_int_equal(s2hyp_scenario_instantiate(&sc, &a, NULL), 0);
		assert_int_equal(s2hyp_scenario_instantiate(&sc, &b, NULL), 0);
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		s2hyp_record_schedule(a, true);
		assert_int_equal(s2hyp_run(a, &st), S2HYP_DONE);
		const struct s2hyp_choice *sched = s2hyp_schedule(a, &n);
		assert_true(n > 100);
		struct s2hyp_replay r = { .sched = sched, .n = n };
		rp.arg = &r;
		assert_int_equal(s2hyp_run(b, &rp), S2HYP_DONE);
		assert_false(r.diverged);
		assert_int_equal(r.pos, n);
		assert_memory_equal(s2hyp_stats(a), s2hyp_stats(b), sizeof(struct s2hyp_stats));
		assert_int_equal(s2hyp_nr_violations(a), s2hyp_nr_violations(b));
		for (unsigned i = 0; i < s2hyp_nr_violations(a); i++) {
			assert_int_equal(s2hyp_violation(a, i)->step, s2hyp_violation(b, i)->step);
			assert_string_equal(s2hyp_violation(a, i)->detail, s2hyp_violation(b, i)->detail);
		}
		s2hyp_delete(a);
		s2hyp_delete(b);
		s2hyp_scenario_free(&sc);
	}
}

/* A schedule that names a choice that is not enabled is reported as
 * divergence, not followed blindly. */
static void test_replay_divergence_detected(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	struct s2hyp_choice bad[] = { { S2HYP_CH_VCPU, 3, 0 } };	/* only 2 vCPUs */
	struct s2hyp_replay r = { .sched = bad, .n = 1 };
	struct s2hyp_strategy rp = s2hyp_strategy_replay_template;

	rp.arg = &r;
	assert_int_equal(s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 2, S2PT_V_UPSTREAM), 0);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, NULL), 0);
	assert_int_equal(s2hyp_run(m, &rp), S2HYP_DIVERGED);
	assert_true(r.diverged);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* Choices print and parse back. */
static void test_choice_text_round_trip(void **state)
{
	(void)state;
	const struct s2hyp_choice cs[] = {
		{ S2HYP_CH_HYP, 0, 0 }, { S2HYP_CH_HOST, 0, 0 }, { S2HYP_CH_VCPU, 3, 0 },
		{ S2HYP_CH_PREFETCH, 1, 7 }, { S2HYP_CH_TLB_EVICT, 2, 4 },
		{ S2HYP_CH_DC_EVICT, 0, 99 },
	};
	for (unsigned i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		char buf[48];
		struct s2hyp_choice back;
		s2trace_format_choice(buf, sizeof(buf), &cs[i]);
		assert_int_equal(s2trace_parse_choice(buf, &back), 0);
		assert_int_equal(back.kind, cs[i].kind);
		assert_int_equal(back.vcpu, cs[i].vcpu);
		assert_int_equal(back.arg, cs[i].arg);
	}
	struct s2hyp_choice c;
	assert_int_equal(s2trace_parse_choice("v", &c), S2_EPARSE);
	assert_int_equal(s2trace_parse_choice("v99", &c), S2_EPARSE);
	assert_int_equal(s2trace_parse_choice("hypx", &c), S2_EPARSE);
	/* Signs, overflow, a vCPU past the limit, missing or extra parts. */
	const char *bad[] = { "v+1", "v-1", "v 1", "v16", "dc-evict:-1", "dc-evict:",
			      "dc-evict:4294967296", "tlb-evict:v1:99999999999",
			      "tlb-evict:v1", "prefetch:v1:", "prefetch:v1:2x", "host1", "" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (s2trace_parse_choice(bad[i], &c) != S2_EPARSE)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(s2trace_parse_choice("dc-evict:4294967295", &c), 0);
	assert_int_equal(c.arg, 4294967295u);
	assert_int_equal(s2trace_parse_choice("v15", &c), 0);
	assert_int_equal(c.vcpu, 15);
}

/* The other built-in scenarios run clean with the correct orderings. */
static void test_other_scenarios_clean(void **state)
{
	(void)state;
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST, S2PT_V_UPSTREAM };
	for (unsigned s = 1; s2hyp_scenario_name(s); s++)
		for (unsigned i = 0; i < 3; i++)
			for (uint64_t seed = 0; seed <= 20; seed++) {
				struct outcome out;
				run(s2hyp_scenario_name(s), ok[i], 3, seed, &out);
				assert_int_equal(out.o, S2HYP_DONE);
				if (fired_mask(&out.stats))
					fail_msg("%s with %s, seed %llu: fired %#llx",
						 s2hyp_scenario_name(s), s2pt_variant_name(ok[i]),
						 (unsigned long long)seed,
						 (unsigned long long)fired_mask(&out.stats));
			}
}

/* Faults carry the ESR_EL2 a real stage-2 abort would: EC, IL, WnR, and the
 * fault status code with its level; the trace reader decodes it back. */
static void test_fault_esr(void **state)
{
	(void)state;
	/* EC 0x24 (DABT, lower EL) << 26 | IL | FSC: translation level 3 */
	assert_int_equal(s2hyp_fault_esr(1, 3, S2HYP_ACC_READ), 0x92000007);
	/* a write: WnR (bit 6); permission at level 2: FSC 0b001110 */
	assert_int_equal(s2hyp_fault_esr(2, 2, S2HYP_ACC_WRITE), 0x9200004e);
	/* access flag at level 3: FSC 0b001011 */
	assert_int_equal(s2hyp_fault_esr(3, 3, S2HYP_ACC_READ), 0x9200000b);
	/* an instruction abort: EC 0x20, no WnR */
	assert_int_equal(s2hyp_fault_esr(1, 1, S2HYP_ACC_EXEC), 0x82000005);
	for (unsigned a = S2HYP_ACC_READ; a <= S2HYP_ACC_EXEC; a++)
		for (unsigned k = 1; k <= 3; k++)
			for (int l = 0; l <= 3; l++) {
				enum s2hyp_access back;
				uint64_t esr = s2hyp_fault_esr(k, (s2_level_t)l, (enum s2hyp_access)a);
				assert_int_equal(s2trace_esr_access(esr, &back), 0);
				assert_int_equal(back, a);
			}
}

/* What an observer saw of one run. */
struct seen {
	struct s2hyp *m;
	uint64_t by_kind[S2HYP_NR_EVENT_KINDS];
	uint64_t ghost_mismatch;	/* a store whose ghost state disagrees with its value */
	uint64_t with_src, host_ops;
	unsigned violations;
	enum s2hyp_rule first_rule;
	uint64_t last_step;
	bool out_of_order;
	unsigned tlb_at_violation, tlb_checked;
};

static void seen_event(void *arg, const struct s2hyp *m, const struct s2hyp_event *e,
		       const char *src)
{
	struct seen *s = arg;
	struct s2hyp_entry ent;

	s->by_kind[e->kind]++;
	if (e->step < s->last_step)
		s->out_of_order = true;
	s->last_step = e->step;
	if (src)
		s->with_src++;
	if (e->kind == S2HYP_EV_PTE_STORE) {
		assert_ptr_equal(m, s->m);
		assert_int_equal(s2hyp_entry_at(m, e->a, &ent), 0);
		assert_true(ent.value == e->b);
		bool valid = e->b & 1;
		if (valid != (ent.ghost == S2HYP_GHOST_VALID))
			s->ghost_mismatch++;
	}
}

static void seen_host(void *arg, const struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct seen *s = arg;
	(void)op;
	assert_ptr_equal(m, s->m);
	s->host_ops++;
}

static void seen_violation(void *arg, const struct s2hyp *m, const struct s2hyp_violation *v)
{
	struct seen *s = arg;
	struct s2hyp_translation t[64], one;

	if (!s->violations++)
		s->first_rule = v->rule;
	unsigned n = s2hyp_vcpu_tlb(m, 0, t, 64);
	s->tlb_at_violation = n;
	for (unsigned i = 0; i < n && i < 64; i++) {
		assert_int_equal(s2hyp_vcpu_translate(m, 0, t[i].ipa, &one), 0);
		assert_true(one.pa == t[i].pa && one.size == t[i].size);
		s->tlb_checked++;
	}
}

/* An observer sees every event the statistics count, in step order, each
 * program item's events with its src, the host's operations, the first
 * violation of each rule as it fires with the TLB of that moment, and
 * ghost states that follow the stored values. */
static void test_observer_sees_the_run(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = NULL;
	struct seen s = { 0 };
	static const char src[] = "test:1";

	assert_int_equal(s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 2, S2PT_V_INSTALL_FIRST_NOCMO), 0);
	for (size_t i = 0; i < sc.nvcpu[0]; i++)
		sc.vcpu[0][i].src = src;
	for (size_t i = 0; i < sc.nhost; i++)
		sc.host[i].src = src;
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	s.m = m;
	s2hyp_set_observer(m, &(struct s2hyp_observer){ .event = seen_event, .host_op = seen_host,
							 .violation = seen_violation, .arg = &s });
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	const struct s2hyp_stats *st = s2hyp_stats(m);
	assert_true(st->pte_stores > 0);
	assert_true(s.by_kind[S2HYP_EV_PTE_STORE] == st->pte_stores);
	assert_true(s.by_kind[S2HYP_EV_TLBI] == st->tlbis);
	assert_true(s.by_kind[S2HYP_EV_DSB] == st->dsbs);
	assert_true(s.by_kind[S2HYP_EV_CMO] == st->cmos);
	assert_true(s.by_kind[S2HYP_EV_OP_BEGIN] == st->hyp_ops);
	assert_true(s.host_ops == sc.nhost);
	assert_true(s.with_src > 0);
	assert_false(s.out_of_order);
	assert_int_equal(s.ghost_mismatch, 0);
	assert_int_equal(s.violations, s2hyp_nr_violations(m));
	assert_int_equal(s.first_rule, S2HYP_RULE_DCACHE_CLEAN);
	assert_int_equal(s.tlb_checked, s.tlb_at_violation < 64 ? s.tlb_at_violation : 64);
	/* Not a table page: no entry there. */
	struct s2hyp_entry ent;
	assert_int_equal(s2hyp_entry_at(m, 0x10, &ent), S2_ENOENT);
	s2hyp_set_observer(m, NULL);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_every_variant),
		cmocka_unit_test(test_seed_nocmo_stale_data_usually),
		cmocka_unit_test(test_install_first_shortens_window),
		cmocka_unit_test(test_record_replay_identical),
		cmocka_unit_test(test_random_lazy_background_same_schedule),
		cmocka_unit_test(test_replay_divergence_detected),
		cmocka_unit_test(test_choice_text_round_trip),
		cmocka_unit_test(test_other_scenarios_clean),
		cmocka_unit_test(test_fault_esr),
		cmocka_unit_test(test_observer_sees_the_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
