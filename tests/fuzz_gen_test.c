/* The generic scenario generator: a seed gives one scenario, always the
 * same; the scenarios are valid and cover every granule, backing and the
 * sharing patterns the generator promises; the correct variants fire
 * nothing over many of them, and every known-buggy variant is found from
 * the generator alone, with the rule docs/checks.md names for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_text.h"
#include "fuzz/s2fuzz.h"
#include "host-mm/s2host.h"
#include "hyp-model/s2hyp_scenario.h"
#include "traces/s2trace.h"

static void generate(struct s2hyp_scenario *sc, uint64_t seed)
{
	struct s2hyp_config cfg;
	s2hyp_config_init(&cfg);
	assert_int_equal(s2fuzz_scenario_generate(sc, &cfg, S2FUZZ_GEN_ALL, seed), 0);
}

static bool same_scenario(const struct s2hyp_scenario *a, const struct s2hyp_scenario *b)
{
	if (memcmp(&a->cfg, &b->cfg, sizeof(a->cfg)) || a->nr_slots != b->nr_slots ||
	    memcmp(a->slots, b->slots, a->nr_slots * sizeof(a->slots[0])) || a->nhost != b->nhost)
		return false;
	if (a->nhost && memcmp(a->host, b->host, a->nhost * sizeof(a->host[0])))
		return false;
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		if (a->nvcpu[v] != b->nvcpu[v] ||
		    (a->nvcpu[v] && memcmp(a->vcpu[v], b->vcpu[v], a->nvcpu[v] * sizeof(a->vcpu[v][0]))))
			return false;
	return true;
}

/* The same seed gives the same scenario; another seed another one. */
static void test_generate_deterministic(void **state)
{
	struct s2hyp_scenario a, b, c;
	(void)state;

	generate(&a, 7);
	generate(&b, 7);
	generate(&c, 8);
	assert_true(same_scenario(&a, &b));
	assert_false(same_scenario(&a, &c));
	s2hyp_scenario_free(&a);
	s2hyp_scenario_free(&b);
	s2hyp_scenario_free(&c);
}

/* Over 300 seeds every scenario is accepted by the machine, and together
 * they hold every granule and backing, slots that start mid-block, two
 * vCPUs touching one page in one phase with different access types, a
 * page several vCPUs only read, MMU-off accesses, eager splitting, FWB,
 * and every host operation the generator promises. */
static void test_generate_covers(void **state)
{
	bool granule[17] = { 0 }, backing[4] = { 0 }, mid_block = false, mixed = false;
	bool shared_ro = false, mmu_off = false, host[S2HYP_HOST_SPLIT_IPA + 1] = { 0 };
	bool eager = false, fwb = false;
	(void)state;

	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m;
		const char *why = "";
		generate(&sc, seed);
		if (s2hyp_scenario_instantiate(&sc, &m, &why))
			fail_msg("seed %llu: %s", (unsigned long long)seed, why);
		s2hyp_delete(m);
		uint64_t page = 1ull << sc.cfg.granule_shift, block = page << (sc.cfg.granule_shift - 3);
		granule[sc.cfg.granule_shift] = true;
		eager |= sc.cfg.eager_split;
		fwb |= sc.cfg.fwb;
		for (unsigned i = 0; i < sc.nr_slots; i++) {
			backing[sc.slots[i].backing] = true;
			mid_block |= (sc.slots[i].ipa & (block - 1)) != 0;
		}
		for (size_t i = 0; i < sc.nhost; i++)
			host[sc.host[i].kind] = true;
		for (unsigned v = 0; v < sc.cfg.nr_vcpus; v++) {
			for (size_t i = 0; i < sc.nvcpu[v]; i++) {
				const struct s2hyp_vcpu_op *x = &sc.vcpu[v][i];
				mmu_off |= !x->mmu_on;
				for (unsigned w = v + 1; w < sc.cfg.nr_vcpus; w++) {
					for (size_t j = 0; j < sc.nvcpu[w]; j++) {
						const struct s2hyp_vcpu_op *y = &sc.vcpu[w][j];
						if (x->phase != y->phase || x->ipa / page != y->ipa / page)
							continue;
						mixed |= x->access != y->access;
						shared_ro |= x->access == S2HYP_ACC_READ &&
							     y->access == S2HYP_ACC_READ;
					}
				}
			}
		}
		s2hyp_scenario_free(&sc);
	}
	assert_true(granule[12] && granule[14] && granule[16]);
	for (unsigned b = 0; b < 4; b++)
		assert_true(backing[b]);
	assert_true(mid_block);
	assert_true(eager && fwb);
	assert_true(mixed);
	assert_true(shared_ro);
	assert_true(mmu_off);
	const enum s2hyp_host_kind kinds[] = {
		S2HYP_HOST_WRITE, S2HYP_HOST_DIRTY_LOG_ON, S2HYP_HOST_DIRTY_LOG_OFF,
		S2HYP_HOST_GET_DIRTY_LOG, S2HYP_HOST_UNMAP_HVA, S2HYP_HOST_AGE_HVA,
		S2HYP_HOST_UNMAP_IPA, S2HYP_HOST_WRPROTECT_IPA, S2HYP_HOST_FLUSH_IPA,
		S2HYP_HOST_DESTROY, S2HYP_HOST_AGE_IPA, S2HYP_HOST_SPLIT_IPA,
	};
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		assert_true(host[kinds[k]]);
}

static void fuzz_generated(enum s2pt_variant v, uint64_t runs, struct s2fuzz_result *r)
{
	struct s2hyp_scenario base;
	struct s2fuzz_opts o;
	char err[256] = "";

	s2hyp_scenario_init(&base);
	base.cfg.variant = v;
	s2fuzz_opts_init(&o, S2FUZZ_RANDOM);
	o.generate = true;
	o.gen_pick = S2FUZZ_GEN_ALL;
	o.runs = runs;
	o.shrink = false;
	if (s2fuzz_run(&base, &o, r, err, sizeof(err)))
		fail_msg("%s: %s", s2pt_variant_name(v), err);
	s2hyp_scenario_free(&base);
}

/* The correct variants fire nothing over 400 generated scenarios, and
 * every run completes. */
static void test_generate_correct_variants_clean(void **state)
{
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM, S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST };
	(void)state;

	for (unsigned i = 0; i < 3; i++) {
		struct s2fuzz_result r;
		fuzz_generated(ok[i], 400, &r);
		if (r.found)
			fail_msg("%s: %s fired (seed %llu)", s2pt_variant_name(ok[i]),
				 s2hyp_rule_name(r.rule), (unsigned long long)r.seed);
		assert_int_equal(r.incomplete, 0);
		assert_int_equal(r.runs, 400);
		s2fuzz_result_free(&r);
	}
}

/* Every row of the bug table (every buggy variant) is found from generated
 * scenarios alone, by the rule the table names (the first to fire in some
 * run), within 400 seeds; a row with a larger bound (a race of several
 * steps the generator reaches once in thousands of scenarios) is hunted by
 * make bugs, and its shrunk trace replays in make test (tests/cli/corpus.sh). */
static void test_generate_finds_every_buggy_variant(void **state)
{
	(void)state;
	unsigned rows = 0;
	for (const struct s2fuzz_bug *b = s2fuzz_bugs; b->variant; b++, rows++) {
		struct s2fuzz_result r;
		enum s2pt_variant v;
		int rule = s2trace_word_parse(S2T_W_RULE, b->rule);
		assert_int_equal(s2pt_variant_parse(b->variant, &v), 0);
		assert_true(rule >= 0);
		assert_true(s2pt_variant_is_buggy(v));
		if (s2fuzz_bug_bound(b) > S2FUZZ_BUG_BOUND)
			continue;
		fuzz_generated(v, 400, &r);
		if (!r.fired_runs[rule])
			fail_msg("%s: %s not found in 400 generated scenarios", b->variant, b->rule);
		s2fuzz_result_free(&r);
	}
	/* The table has every buggy variant (those of the parallel path
	 * included: the machine runs them with faults in flight together), and
	 * at least 12 of them. */
	unsigned buggy = 0;
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++)
		buggy += s2pt_variant_is_buggy((enum s2pt_variant)v);
	assert_int_equal(rows, buggy);
	assert_true(rows >= 12);
}

/* Every built-in scenario, under 4K, 16K and 64K granules, fires nothing
 * with upstream over 10 random schedules and does what its description
 * says: the seed and dirty-log-cycle scenarios coalesce a table into a
 * block in every run, map-unmap-race maps blocks, and an exhaustive search
 * of coalesce-race covers hundreds of interleaving classes. */
static void test_builtins_every_granule(void **state)
{
	const char *const names[] = { "seed", "map-unmap-race", "dirty-log-cycle", "notifier-race" };
	const unsigned shifts[] = { 12, 14, 16 };
	(void)state;

	for (unsigned gi = 0; gi < 3; gi++) {
		struct s2hyp_config cfg;
		s2hyp_config_init(&cfg);
		cfg.granule_shift = shifts[gi];
		cfg.nr_vcpus = 3;
		for (unsigned i = 0; i < 4; i++) {
			for (uint64_t seed = 1; seed <= 10; seed++) {
				struct s2hyp_scenario sc;
				struct s2hyp *m;
				struct s2hyp_rng rng;
				struct s2hyp_strategy st = s2hyp_strategy_random_template;
				const char *why = "";
				int b = s2_find_name_by(s2hyp_scenario_name, names[i]);
				assert_true(b >= 0);
				assert_int_equal(s2hyp_scenario_build_cfg(&sc, (unsigned)b, &cfg), 0);
				if (s2hyp_scenario_instantiate(&sc, &m, &why))
					fail_msg("%s: %s", names[i], why);
				s2hyp_rng_seed(&rng, seed);
				st.arg = &rng;
				assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
				const struct s2hyp_stats *stats = s2hyp_stats(m);
				if (s2hyp_nr_violations(m))
					fail_msg("%s, granule %u, seed %llu: %s fired", names[i],
						 1u << shifts[gi], (unsigned long long)seed,
						 s2hyp_rule_name(s2hyp_violation(m, 0)->rule));
				if (!strcmp(names[i], "seed") || !strcmp(names[i], "dirty-log-cycle"))
					assert_true(stats->coalesces >= 1);
				if (!strcmp(names[i], "map-unmap-race"))
					assert_true(stats->mappings_by_level[2 + 1] >= 1);
				s2hyp_delete(m);
				s2hyp_scenario_free(&sc);
			}
		}

		struct s2hyp_scenario sc;
		struct s2fuzz_opts o;
		struct s2fuzz_result r;
		char err[256] = "";
		cfg.variant = S2PT_V_UPSTREAM_2021;
		s2fuzz_scenario_coalesce_race_cfg(&sc, &cfg);
		s2fuzz_opts_init(&o, S2FUZZ_EXHAUSTIVE);
		assert_int_equal(s2fuzz_run(&sc, &o, &r, err, sizeof(err)), 0);
		print_message("coalesce-race, granule %u: %llu schedules, %llu classes\n",
			      1u << shifts[gi], (unsigned long long)r.runs,
			      (unsigned long long)r.terminal);
		assert_false(r.found);
		assert_true(r.complete);
		assert_true(r.terminal > 200);
		s2fuzz_result_free(&r);
		s2hyp_scenario_free(&sc);
	}
}

/*
 * Differential shrinking. install-first-anchor-leak breaks the refcount on
 * a coalescing fault. The program: vCPU 0 writes page 0 while dirty
 * logging is on (a page mapping, a dirty line), the host flushes page 0
 * (the line is clean again), logging off, vCPU 0's read of page 2
 * coalesces. Reference upstream-nocmo has no CMO on a new mapping: it is
 * clean on the program, but fires dcache-clean-before-visible once the
 * flush is gone. Shrinking without a reference drops the flush; against
 * upstream-nocmo the step is undone, and the result still fires refcount
 * and fires nothing on the reference.
 */
static void diff_scenario(struct s2hyp_scenario *sc)
{
	struct s2hyp_vcpu_op w = { .access = S2HYP_ACC_WRITE, .ipa = 0x40000000, .size = 8,
				   .mmu_on = true, .value = 1 };
	struct s2hyp_vcpu_op r = { .access = S2HYP_ACC_READ, .phase = 2, .ipa = 0x40002000,
				   .size = 8, .mmu_on = true };
	struct s2hyp_host_op h[] = {
		{ .kind = S2HYP_HOST_FLUSH_IPA, .phase = 1, .addr = 0x40000000, .size = 0x1000 },
		{ .kind = S2HYP_HOST_DIRTY_LOG_OFF, .phase = 1 },
		{ .kind = S2HYP_HOST_DESTROY, .phase = 3 },
	};

	s2hyp_scenario_init(sc);
	sc->cfg.variant = S2PT_V_INSTALL_FIRST_LEAK;
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = 0x40000000, .size = 0x200000,
					       .hva = 0x7f0000000000, .backing = S2HYP_BACKING_THP,
					       .dirty_log = true };
	sc->nr_slots = 1;
	s2hyp_scenario_add_vcpu(sc, 0, &w);
	s2hyp_scenario_add_vcpu(sc, 0, &r);
	r.ipa = 0x40000000;
	s2hyp_scenario_add_vcpu(sc, 1, &r);
	for (unsigned i = 0; i < 3; i++)
		s2hyp_scenario_add_host(sc, &h[i]);
}

static bool has_flush(const struct s2hyp_scenario *sc)
{
	for (size_t i = 0; i < sc->nhost; i++)
		if (sc->host[i].kind == S2HYP_HOST_FLUSH_IPA)
			return true;
	return false;
}

static void test_differential_shrinking(void **state)
{
	struct s2hyp_scenario sc;
	struct s2fuzz_cex plain, diff;
	(void)state;

	diff_scenario(&sc);
	assert_int_equal(s2fuzz_shrink(&sc, NULL, 0, S2HYP_RULE_REFCOUNT, 1000, &plain), 0);
	assert_int_equal(plain.against, -1);
	assert_false(has_flush(&plain.sc));

	assert_int_equal(s2fuzz_shrink_against(&sc, NULL, 0, S2HYP_RULE_REFCOUNT,
					       S2PT_V_UPSTREAM_NOCMO, 1000, &diff), 0);
	assert_int_equal(diff.against, S2PT_V_UPSTREAM_NOCMO);
	assert_int_equal(diff.against_fired_before, 0);
	assert_int_equal(diff.against_fired, 0);
	assert_true(diff.undone > 0);
	assert_true(has_flush(&diff.sc));
	assert_int_equal(diff.rule, S2HYP_RULE_REFCOUNT);
	assert_true(diff.items_after < diff.items_before);

	/* The reference is the variant under test: nothing to compare. */
	struct s2fuzz_cex same;
	assert_int_equal(s2fuzz_shrink_against(&sc, NULL, 0, S2HYP_RULE_REFCOUNT,
					       S2PT_V_INSTALL_FIRST_LEAK, 1000, &same), 0);
	assert_int_equal(same.against, -1);
	s2fuzz_cex_free(&same);
	s2fuzz_cex_free(&plain);
	s2fuzz_cex_free(&diff);
	s2hyp_scenario_free(&sc);
}

/* A run that already fires on the reference is shrunk on its rule alone,
 * and the counterexample says so. */
static void test_differential_reference_fires_too(void **state)
{
	struct s2hyp_scenario sc;
	struct s2fuzz_cex c;
	(void)state;

	diff_scenario(&sc);
	sc.nhost = 2;	/* no destroy */
	sc.host[0].kind = S2HYP_HOST_AGE_IPA;	/* no flush: the line stays dirty */
	assert_int_equal(s2fuzz_shrink_against(&sc, NULL, 0, S2HYP_RULE_REFCOUNT,
					       S2PT_V_UPSTREAM_NOCMO, 1000, &c), 0);
	assert_int_equal(c.against, S2PT_V_UPSTREAM_NOCMO);
	assert_true(c.against_fired_before & S2HYP_RULE_BIT(S2HYP_RULE_DCACHE_CLEAN));
	assert_int_equal(c.undone, 0);
	s2fuzz_cex_free(&c);
	s2hyp_scenario_free(&sc);
}

/* A row of the bug table is hunted from generated scenarios: found by its
 * rule, and its first find shrinks on that rule, clean on upstream; an
 * unknown variant is refused. */
static void test_bug_hunt(void **state)
{
	struct s2fuzz_hunt h;
	char err[256] = "";
	(void)state;

	const struct s2fuzz_bug *b = NULL;
	for (const struct s2fuzz_bug *x = s2fuzz_bugs; x->variant; x++)
		if (!strcmp(x->variant, "upstream-noreload"))
			b = x;
	assert_non_null(b);
	assert_int_equal(s2fuzz_bug_hunt(b, 300, 0, true, &h, err, sizeof(err)), 0);
	assert_true(h.found);
	assert_true(h.schedules >= 1 && h.schedules <= 300);
	assert_true(h.have_cex);
	assert_int_equal(h.cex.rule, S2HYP_RULE_WALK_AFTER_FREE);
	assert_int_equal(h.cex.against, S2PT_V_UPSTREAM);
	assert_int_equal(h.cex.against_fired, 0);
	s2fuzz_hunt_free(&h);

	struct s2fuzz_bug bad = { "no-such-variant", "refcount", "", "", 0 };
	assert_int_equal(s2fuzz_bug_hunt(&bad, 10, 0, false, &h, err, sizeof(err)), S2_EINVAL);
}

/* Efficiency findings with --warn: upstream-2021-perm-bbm (a permission
 * change remade through break-before-make, before Linux filtered it out)
 * shows needless-bbm, and more TLBIs and faults than upstream-2021 on the
 * same scenarios and seeds; upstream-2021 against itself shows none of
 * the comparisons, and without warn nothing is counted. */
static void test_efficiency_findings(void **state)
{
	(void)state;
	for (int k = 0; k < 3; k++) {
		struct s2hyp_scenario base;
		struct s2fuzz_opts o;
		struct s2fuzz_result r;
		char err[256] = "";
		s2hyp_scenario_init(&base);
		base.cfg.variant = k == 1 ? S2PT_V_UPSTREAM_2021 : S2PT_V_PERM_BBM;
		s2fuzz_opts_init(&o, S2FUZZ_RANDOM);
		o.generate = true;
		o.gen_pick = S2FUZZ_GEN_ALL;
		o.runs = 200;
		o.shrink = false;
		o.against = S2PT_V_UPSTREAM_2021;
		o.warn = k != 2;
		assert_int_equal(s2fuzz_run(&base, &o, &r, err, sizeof(err)), 0);
		assert_false(r.found);
		if (k == 0) {
			assert_true(r.finding_runs[S2FUZZ_FIND_NEEDLESS_BBM] > 0);
			assert_true(r.finding_runs[S2FUZZ_FIND_EXTRA_TLBIS] > 0);
			assert_true(r.finding_runs[S2FUZZ_FIND_EXTRA_FAULTS] > 0);
		} else {
			assert_int_equal(r.finding_runs[S2FUZZ_FIND_EXTRA_TLBIS], 0);
			assert_int_equal(r.finding_runs[S2FUZZ_FIND_EXTRA_FAULTS], 0);
		}
		if (k == 2)
			assert_int_equal(r.finding_runs[S2FUZZ_FIND_NEEDLESS_BBM], 0);
		s2fuzz_result_free(&r);
		s2hyp_scenario_free(&base);
	}
}

/* Over the seeds 1..N of the generic generator on host memory, the runs
 * (random schedules) in which host-mm fires, and whether every scenario
 * kept to host memory's limits (4K granule, no hugetlb, host-mm events);
 * *found gets the host model's rules that broke (a bit per s2host_rule),
 * *leaks the runs whose first report is the vmsplice leak's (S1.3): a
 * child reads, through its GUP reference, what the VMM wrote after the
 * fork (cow-isolation). */
static unsigned host_mm_fires(enum s2host_policy pol, uint64_t n, unsigned *found,
			      unsigned *leaks)
{
	struct s2hyp_config cfg;
	unsigned fired = 0, with_events = 0;

	s2hyp_config_init(&cfg);
	cfg.host_mm = true;
	cfg.cow_policy = pol;
	for (uint64_t seed = 1; seed <= n; seed++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m;
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		const char *why = "";
		bool mm = false;
		assert_int_equal(s2fuzz_scenario_generate(&sc, &cfg, S2FUZZ_GEN_ALL, seed), 0);
		assert_int_equal(sc.cfg.granule_shift, 12);
		for (unsigned i = 0; i < sc.nr_slots; i++)
			assert_true(sc.slots[i].backing == S2HYP_BACKING_4K ||
				    sc.slots[i].backing == S2HYP_BACKING_THP);
		for (size_t i = 0; i < sc.nhost; i++)
			mm |= sc.host[i].kind == S2HYP_HOST_MM;
		with_events += mm;
		if (s2hyp_scenario_instantiate(&sc, &m, &why))
			fail_msg("seed %llu: %s", (unsigned long long)seed, why);
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		/* never a bad event: no reference named after its unref */
		if (s2hyp_run(m, &st) == S2HYP_ERROR)
			fail_msg("seed %llu: %s", (unsigned long long)seed, s2hyp_error(m));
		for (unsigned i = 0; i < s2hyp_nr_violations(m); i++)
			if (s2hyp_violation(m, i)->rule != S2HYP_RULE_HOST_MM)
				fail_msg("seed %llu: %s fired", (unsigned long long)seed,
					 s2hyp_rule_name(s2hyp_violation(m, i)->rule));
		fired += s2hyp_rule_fired(m, S2HYP_RULE_HOST_MM);
		if (s2hyp_nr_violations(m)) {
			const char *d = s2hyp_violation(m, 0)->detail;
			*leaks += !strncmp(d, "cow-isolation: process ", 23) && d[23] != '0' &&
				  strstr(d, "through a GUP reference") &&
				  strstr(d, "that process 0 wrote");
		}
		for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
			if (s2host_stats(s2hyp_host(m))->violations[r])
				*found |= 1u << r;
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
	assert_true(with_events > n / 2);
	return fired;
}

/* On host memory the generator draws host-mm events, and over seeds 1..100
 * the runs find each policy's known break: before 5.9 (MAP0 to MAP2+F) a
 * pinned page shared with a forked child (fork-pin, S2.1) and pins broken
 * (pin-stable); under page_count (CNT, CNT2) pins broken by a
 * write-protect and a write, but never fork-pin (fork copies pinned pages
 * since 70e806e4e645), and the VMM's O_DIRECT reference (a writable GUP
 * that is not a pin) broken by a swap-out and the guest's write, or a
 * write-protect and a write (get-stable; S2.3's FOLL_GET variant, which
 * 5.19's swap-PTE exclusive bit closed); under MAP1 that reference broken
 * too, by 4.5's copy of a huge page with an extra reference, as its pins
 * are; under AnonExclusive nothing. No other rule fires.
 * Over seeds 1..250, under the mapcount rule without 5.8's break of COW in
 * GUP (MAP0 to MAP2) also the leak into a forked child (cow-isolation):
 * the vmsplice leak itself (a child reading through its GUP reference what
 * the VMM wrote) is some run's first report under MAP0 to MAP2 and no
 * run's under the others. A VMM's reference taken before the fork that
 * sees the child's write is not a leak (INV-COW-NOLEAK covers references
 * obtained after the fork): within 1..100 it was MAP0-MAP2's only
 * cow-isolation, and no longer fires. */
static void test_host_mm_events_find_policy_breaks(void **state)
{
	enum { PS = 1u << S2HOST_RULE_PIN_STABLE, FP = 1u << S2HOST_RULE_FORK_PIN,
	       CI = 1u << S2HOST_RULE_COW_ISOLATION, GS = 1u << S2HOST_RULE_GET_STABLE };
	static const unsigned want[S2HOST_NR_POLICIES] = {
		[S2HOST_POL_MAP0] = PS | FP, [S2HOST_POL_MAP1] = PS | FP | GS,
		[S2HOST_POL_MAP2] = PS | FP, [S2HOST_POL_MAP2F] = PS | FP,
		[S2HOST_POL_CNT] = PS | GS, [S2HOST_POL_CNT2] = PS | GS, [S2HOST_POL_AE] = 0,
	};
	(void)state;

	for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++) {
		unsigned found = 0, leaks = 0;
		unsigned runs = host_mm_fires((enum s2host_policy)p, 100, &found, &leaks);
		if (found != want[p])
			print_error("%s: broke %#x, expected %#x\n", s2host_policy_name(p), found,
				    want[p]);
		assert_int_equal(found, want[p]);
		assert_int_equal(runs > 0, want[p] != 0);
		found = leaks = 0;
		host_mm_fires((enum s2host_policy)p, 250, &found, &leaks);
		assert_int_equal((found & CI) != 0, p <= S2HOST_POL_MAP2);
		if ((leaks > 0) != (p <= S2HOST_POL_MAP2))
			print_error("%s: %u vmsplice leaks in 250 seeds\n", s2host_policy_name(p), leaks);
		assert_int_equal(leaks > 0, p <= S2HOST_POL_MAP2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_deterministic),
		cmocka_unit_test(test_generate_covers),
		cmocka_unit_test(test_generate_correct_variants_clean),
		cmocka_unit_test(test_generate_finds_every_buggy_variant),
		cmocka_unit_test(test_builtins_every_granule),
		cmocka_unit_test(test_differential_shrinking),
		cmocka_unit_test(test_differential_reference_fires_too),
		cmocka_unit_test(test_bug_hunt),
		cmocka_unit_test(test_efficiency_findings),
		cmocka_unit_test(test_host_mm_events_find_policy_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
