/* Intent and liveness rules: an operation did what it was asked to do
 * (unmap-complete, wrprotect-complete, dirty-log-complete,
 * dirty-log-protect, mapping-bounds, age-only-af), and no vCPU spins on a
 * fault (no-progress). For each, a situation that fires it, from a buggy
 * variant where one exists, next to the same situation done right, which
 * fires nothing, sequentially and under 24 random schedules.
 *
 *   IPA 0x40000000        0x40001000        0x40002000
 *   |  page 0            |  page 1          | ...        one 2M slot
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp_checker.h"
#include "tests/checker_fx.h"
#include "hyp-model/s2hyp_scenario.h"

#define BASE 0x40000000ull
#define HVA 0x7f0000000000ull
#define PG 0x1000ull
#define SZ_2M 0x200000ull
#define BIT(r) (1u << (r))

static void slot(struct s2hyp_scenario *sc, enum s2pt_variant v, uint64_t ipa, uint64_t size,
		 enum s2hyp_backing b, bool log)
{
	s2hyp_scenario_init(sc);
	sc->cfg.variant = v;
	sc->cfg.nr_vcpus = 1;
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = ipa, .size = size, .hva = HVA + (ipa - BASE),
					       .backing = b, .dirty_log = log };
	sc->nr_slots = 1;
}

static void acc(struct s2hyp_scenario *sc, unsigned phase, enum s2hyp_access a, uint64_t ipa)
{
	struct s2hyp_vcpu_op op = { .access = a, .phase = phase, .ipa = ipa, .size = 8,
				    .mmu_on = true, .value = ipa };
	assert_int_equal(s2hyp_scenario_add_vcpu(sc, 0, &op), 0);
}

static void host(struct s2hyp_scenario *sc, unsigned phase, enum s2hyp_host_kind k,
		 uint64_t addr, uint64_t size)
{
	struct s2hyp_host_op op = { .kind = k, .phase = phase, .addr = addr, .size = size };
	assert_int_equal(s2hyp_scenario_add_host(sc, &op), 0);
}

static unsigned fired(const struct s2hyp *m)
{
	unsigned mask = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (s2hyp_rule_fired(m, (enum s2hyp_rule)r))
			mask |= BIT(r);
	return mask;
}

/* Run sc sequentially (seed 0) or under a random seed, to the end. */
static unsigned run(const struct s2hyp_scenario *sc, uint64_t seed)
{
	struct s2hyp *m;
	const char *why = "";
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;

	if (s2hyp_scenario_instantiate(sc, &m, &why))
		fail_msg("%s", why);
	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	enum s2hyp_outcome o = s2hyp_run(m, seed ? &st : &s2hyp_strategy_sequential);
	if (o != S2HYP_DONE)
		fail_msg("the run ended: %s (%s)", s2hyp_outcome_name(o), s2hyp_error(m));
	unsigned f = fired(m);
	for (unsigned i = 0; i < s2hyp_nr_violations(m) && getenv("S2HYP_RULES_VERBOSE"); i++)
		s2hyp_print_violation(stderr, s2hyp_violation(m, i));
	s2hyp_delete(m);
	return f;
}

/* The buggy variant fires want sequentially; the correct one fires nothing
 * sequentially and under 24 random schedules. */
static void pair(struct s2hyp_scenario *sc, enum s2pt_variant bad, enum s2pt_variant good,
		 unsigned want)
{
	sc->cfg.variant = bad;
	unsigned got = run(sc, 0);
	if (got != want)
		fail_msg("%s: fired %#x, expected %#x", s2pt_variant_name(bad), got, want);
	sc->cfg.variant = good;
	for (uint64_t seed = 0; seed <= 24; seed++) {
		got = run(sc, seed);
		if (got)
			fail_msg("%s, seed %llu: fired %#x", s2pt_variant_name(good),
				 (unsigned long long)seed, got);
	}
	s2hyp_scenario_free(sc);
}

/* wrprotect-complete: a write-protect of pages 0 and 1, with page 0 never
 * mapped: upstream-eagain-stops stops at page 0 and leaves page 1
 * writable (in the tables and in the vCPU's TLB). */
static void test_wrprotect_complete(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	slot(&sc, S2PT_V_UPSTREAM, BASE, SZ_2M, S2HYP_BACKING_4K, false);
	acc(&sc, 0, S2HYP_ACC_WRITE, BASE + PG);
	host(&sc, 1, S2HYP_HOST_WRPROTECT_IPA, BASE, 2 * PG);
	pair(&sc, S2PT_V_EAGAIN_STOPS, S2PT_V_UPSTREAM, BIT(S2HYP_RULE_WRPROTECT_COMPLETE));
}

/* dirty-log-protect: a write while logging is on; kvm-dirty-log-blocks
 * maps the whole THP block writable with one page marked dirty. */
static void test_dirty_log_protect(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	slot(&sc, S2PT_V_UPSTREAM, BASE, SZ_2M, S2HYP_BACKING_THP, true);
	acc(&sc, 0, S2HYP_ACC_WRITE, BASE + PG);
	acc(&sc, 0, S2HYP_ACC_READ, BASE + 7 * PG);
	pair(&sc, S2PT_V_LOG_BLOCKS, S2PT_V_UPSTREAM, BIT(S2HYP_RULE_DIRTY_LOG_PROTECT));
}

/* dirty-log-complete: page 0 written, logging on, page 0 written again,
 * the log read. kvm-dirty-log-noflush leaves the writable translation in
 * the TLB (wrprotect-complete), so the second write takes no fault, is not
 * marked, and the read does not report it. */
static void test_dirty_log_complete(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	slot(&sc, S2PT_V_UPSTREAM, BASE, SZ_2M, S2HYP_BACKING_4K, false);
	acc(&sc, 0, S2HYP_ACC_WRITE, BASE);
	host(&sc, 1, S2HYP_HOST_DIRTY_LOG_ON, 0, 0);
	acc(&sc, 2, S2HYP_ACC_WRITE, BASE + 8);
	host(&sc, 3, S2HYP_HOST_GET_DIRTY_LOG, 0, 0);
	host(&sc, 4, S2HYP_HOST_DIRTY_LOG_OFF, 0, 0);
	pair(&sc, S2PT_V_LOG_NO_FLUSH, S2PT_V_UPSTREAM,
	     BIT(S2HYP_RULE_WRPROTECT_COMPLETE) | BIT(S2HYP_RULE_DIRTY_LOG_COMPLETE));
}

/* mapping-bounds: a THP slot that starts one page into a 2M block; a
 * fault in it. kvm-huge-unchecked maps the whole block, below the slot's
 * start; upstream maps pages. */
static void test_mapping_bounds(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	slot(&sc, S2PT_V_UPSTREAM, BASE + PG, SZ_2M - PG, S2HYP_BACKING_4K, false);
	sc.slots[0].backing = S2HYP_BACKING_THP;
	acc(&sc, 0, S2HYP_ACC_READ, BASE + 5 * PG);
	pair(&sc, S2PT_V_HUGE_UNCHECKED, S2PT_V_UPSTREAM, BIT(S2HYP_RULE_MAPPING_BOUNDS));
}

/* no-progress: page 0 mapped read-only (dirty logging on), then written.
 * upstream-relax-notlbi makes it writable but leaves the read-only
 * translation in the TLB: the write faults again and again. */
static void test_no_progress(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	slot(&sc, S2PT_V_UPSTREAM, BASE, SZ_2M, S2HYP_BACKING_4K, true);
	acc(&sc, 0, S2HYP_ACC_READ, BASE);
	acc(&sc, 0, S2HYP_ACC_WRITE, BASE);
	acc(&sc, 0, S2HYP_ACC_READ, BASE + PG);
	pair(&sc, S2PT_V_RELAX_NO_TLBI, S2PT_V_UPSTREAM, BIT(S2HYP_RULE_NO_PROGRESS));
}

/* The bound is the configuration's: with no-progress at 17 faults (above
 * the livelock guard's 16) the same run ends as a livelock instead. */
static void test_no_progress_bound(void **state)
{
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = "";
	(void)state;
	slot(&sc, S2PT_V_RELAX_NO_TLBI, BASE, SZ_2M, S2HYP_BACKING_4K, true);
	acc(&sc, 0, S2HYP_ACC_READ, BASE);
	acc(&sc, 0, S2HYP_ACC_WRITE, BASE);
	sc.cfg.no_progress_faults = 17;
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_LIVELOCK);
	assert_false(s2hyp_rule_fired(m, S2HYP_RULE_NO_PROGRESS));
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* The checker alone, for the rules no variant breaks. */
struct fx {
	struct checker_fx x;
	unsigned fired;
};

static void sink(void *arg, enum s2hyp_rule rule, struct s2hyp_violation *v)
{
	struct fx *f = arg;
	(void)v;
	f->fired |= BIT(rule);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* A level-3 table for the 2M at BASE. */
	checker_fx_open(&f->x, &(struct checker_fx_opts){
		.pool_base = 1ull << 40, .pool_pages = 16, .fwb = true,
		.root_level = 3, .root_ipa = BASE, .report = sink, .arg = f });
	return f;
}

static void fx_free(struct fx *f)
{
	checker_fx_close(&f->x);
	free(f);
}

/* age-only-af: while aging, clearing AF passes; clearing the write
 * permission fires. */
static void test_age_only_af(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new();
		s2_pte_t *e = f->x.root;
		s2_pte_t leaf = s2pt_pte_leaf(&f->x.pt.geom, 3, s2_pa(0x80000000ull), S2PT_PROT_RW, true);
		s2hyp_checker_pte_store(f->x.c, e, 0, leaf);
		e[0] = leaf;
		s2hyp_checker_aging(f->x.c, true);
		s2_pte_t aged = bad ? leaf & ~(S2PT_PTE_AF | S2PT_PTE_S2AP_W) : leaf & ~S2PT_PTE_AF;
		s2hyp_checker_pte_store(f->x.c, e, leaf, aged);
		s2hyp_checker_aging(f->x.c, false);
		assert_int_equal(f->fired, bad ? BIT(S2HYP_RULE_AGE_ONLY_AF) : 0);
		fx_free(f);
	}
}

/* unmap-complete: an unmap that left a valid leaf in its range fires;
 * none left passes. (No variant leaves one: the machine's unmap is checked
 * by every fuzz run.) */
static void test_unmap_complete(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new();
		struct s2hyp_tlb_entry left = { .ipa = BASE + PG, .size = PG, .oa = 0x80001000ull,
						.level = 3, .prot = S2PT_PROT_RW };
		s2hyp_checker_unmap_left(f->x.c, BASE, 4 * PG, &left, bad ? 1 : 0);
		assert_int_equal(f->fired, bad ? BIT(S2HYP_RULE_UNMAP_COMPLETE) : 0);
		fx_free(f);
	}
}

/* mapping-bounds without the fault handler: a leaf at the slot's offset
 * passes; one a page off, one beyond the slot, one writable in a read-only
 * slot each fire. */
static void test_mapping_bounds_white_box(void **state)
{
	(void)state;
	const struct { uint64_t oa; bool ro; unsigned idx; bool fires; } cases[] = {
		{ 0x80000000ull, false, 0, false },
		{ 0x80001000ull, false, 0, true },
		{ 0x80000000ull + 9 * PG, false, 9, true },	/* beyond the 8-page slot */
		{ 0x80000000ull, true, 0, true },
	};
	for (unsigned i = 0; i < 4; i++) {
		struct fx *f = fx_new();
		struct s2hyp_checker_slot s = { BASE, 8 * PG, 0x80000000ull, cases[i].ro };
		s2hyp_checker_slots(f->x.c, &s, 1);
		s2_pte_t *e = f->x.root;
		s2_pte_t leaf = s2pt_pte_leaf(&f->x.pt.geom, 3, s2_pa(cases[i].oa), S2PT_PROT_RW, true);
		s2hyp_checker_pte_store(f->x.c, &e[cases[i].idx], 0, leaf);
		assert_int_equal(f->fired, cases[i].fires ? BIT(S2HYP_RULE_MAPPING_BOUNDS) : 0);
		fx_free(f);
	}
}

/* needless-bbm (an efficiency finding, not a rule): a leaf broken and made
 * again in one operation with only its write permission changed is
 * counted; the same with another output address (a real break-before-make)
 * is not, nor is a make in a later operation. */
static void test_needless_bbm_finding(void **state)
{
	(void)state;
	for (int k = 0; k < 3; k++) {
		struct fx *f = fx_new();
		s2_pte_t *e = f->x.root;
		s2_pte_t ro = s2pt_pte_leaf(&f->x.pt.geom, 3, s2_pa(0x80000000ull), S2PT_PROT_R, true);
		s2_pte_t rw = s2pt_pte_leaf(&f->x.pt.geom, 3, s2_pa(k == 1 ? 0x80001000ull : 0x80000000ull),
					    S2PT_PROT_RW, true);
		s2hyp_checker_pte_store(f->x.c, e, 0, ro);
		s2hyp_checker_unlock(f->x.c);
		s2hyp_checker_pte_store(f->x.c, e, ro, 0);
		s2hyp_checker_tlbi(f->x.c, S2PT_TLBI_IPAS2E1IS, BASE, 0, 1);
		s2hyp_checker_dsb(f->x.c);
		if (k == 2)
			s2hyp_checker_unlock(f->x.c);
		s2hyp_checker_pte_store(f->x.c, e, 0, rw);
		s2hyp_checker_unlock(f->x.c);
		assert_int_equal(f->x.stats.needless_bbm, k == 0 ? 1 : 0);
		assert_int_equal(f->fired, 0);
		fx_free(f);
	}
}

/* Faults of any kind and level a run took. */
static uint64_t faults_taken(const struct s2hyp_stats *st)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < 3; k++)
		for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
			for (unsigned a = 0; a < 3; a++)
				n += st->faults[k][l][a];
	return n;
}

/* split-ipa (the VMM's explicit split, kvm_mmu_split_huge_pages): a THP
 * block mapped by a write, then split over one page in its middle, keeps
 * mapping what it mapped with the same permissions: a write and a read of
 * other pages of the block after it take no fault, the split ran, and
 * nothing fires, sequentially and under 24 random schedules. Without the
 * split the same run takes as few faults, and 512 fewer entry stores: the
 * split only changes the shape (a table of 512 pages for the block). */
static void test_split_ipa(void **state)
{
	uint64_t stores[2] = { 0, 0 };
	(void)state;
	for (int with_split = 1; with_split >= 0; with_split--) {
		struct s2hyp_scenario sc;
		slot(&sc, S2PT_V_UPSTREAM, BASE, SZ_2M, S2HYP_BACKING_THP, false);
		acc(&sc, 0, S2HYP_ACC_WRITE, BASE);
		if (with_split)
			host(&sc, 1, S2HYP_HOST_SPLIT_IPA, BASE + 5 * PG, PG);
		acc(&sc, 2, S2HYP_ACC_WRITE, BASE + 9 * PG);
		acc(&sc, 2, S2HYP_ACC_READ, BASE + 300 * PG);
		struct s2hyp *m;
		const char *why = "";
		if (s2hyp_scenario_instantiate(&sc, &m, &why))
			fail_msg("%s", why);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		assert_int_equal(st->splits > 0, with_split);
		assert_int_equal(faults_taken(st), 1);
		assert_int_equal(fired(m), 0);
		stores[with_split] = st->pte_stores;
		s2hyp_delete(m);
		for (uint64_t seed = 1; seed <= 24; seed++)
			assert_int_equal(run(&sc, seed), 0);
		s2hyp_scenario_free(&sc);
	}
	assert_true(stores[1] >= stores[0] + 512);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrprotect_complete),
		cmocka_unit_test(test_dirty_log_protect),
		cmocka_unit_test(test_dirty_log_complete),
		cmocka_unit_test(test_mapping_bounds),
		cmocka_unit_test(test_no_progress),
		cmocka_unit_test(test_no_progress_bound),
		cmocka_unit_test(test_age_only_af),
		cmocka_unit_test(test_unmap_complete),
		cmocka_unit_test(test_mapping_bounds_white_box),
		cmocka_unit_test(test_split_ipa),
		cmocka_unit_test(test_needless_bbm_finding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
