/* Predicted footprints prune before executing: the exhaustive search that
 * does not run the schedules it predicts would stop with every choice
 * asleep is the same search as the one that runs them (the same classes,
 * in the same order, with the same final states, the same blocked runs
 * and pruned branches, the same findings), less those runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz/s2fuzz.h"

static uint64_t mix_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The final state of every schedule run to its end, in order. */
static void visit(void *arg, const struct s2hyp *m)
{
	uint64_t *h = arg;
	*h = mix_bytes(*h, s2hyp_stats(m), sizeof(struct s2hyp_stats));
}

static void search(const struct s2hyp_scenario *sc, unsigned background, bool predict,
		   struct s2fuzz_result *r, uint64_t *finals)
{
	struct s2fuzz_opts o;
	char err[256] = "";

	s2fuzz_opts_init(&o, S2FUZZ_EXHAUSTIVE);
	o.background = background;
	o.runs = 0;
	o.no_prediction = !predict;
	*finals = 0xcbf29ce484222325ull;
	o.visit = visit;
	o.visit_arg = finals;
	if (s2fuzz_run(sc, &o, r, err, sizeof(err)))
		fail_msg("search: %s", err);
}

/* Both searches; how many runs prediction saved. */
static uint64_t compare(const struct s2hyp_scenario *sc, unsigned background, const char *what)
{
	struct s2fuzz_result a, b;
	uint64_t fa, fb;

	search(sc, background, false, &a, &fa);
	search(sc, background, true, &b, &fb);
	if (a.terminal != b.terminal || a.blocked != b.blocked || a.pruned != b.pruned ||
	    a.max_depth != b.max_depth || a.complete != b.complete || fa != fb)
		fail_msg("%s: %llu/%llu/%llu terminal/blocked/pruned without prediction, "
			 "%llu/%llu/%llu with", what, (unsigned long long)a.terminal,
			 (unsigned long long)a.blocked, (unsigned long long)a.pruned,
			 (unsigned long long)b.terminal, (unsigned long long)b.blocked,
			 (unsigned long long)b.pruned);
	assert_int_equal(a.found, b.found);
	if (a.found) {
		assert_int_equal(a.rule, b.rule);
		assert_int_equal(a.nsched, b.nsched);
		for (size_t i = 0; i < a.nsched; i++)
			assert_true(a.sched[i].kind == b.sched[i].kind &&
				    a.sched[i].vcpu == b.sched[i].vcpu && a.sched[i].arg == b.sched[i].arg);
	}
	assert_int_equal(a.skipped, 0);
	assert_int_equal(a.runs, b.runs + b.skipped);
	uint64_t saved = b.skipped;
	s2fuzz_result_free(&a);
	s2fuzz_result_free(&b);
	return saved;
}

/* Two vCPUs reading a page each of a 4K slot, then the VM destroyed:
 * small enough to search whole with a background choice. */
static void two_readers(struct s2hyp_scenario *sc, enum s2pt_variant v)
{
	struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true };
	struct s2hyp_host_op h = { .kind = S2HYP_HOST_DESTROY, .phase = 1 };

	s2hyp_scenario_init(sc);
	s2hyp_config_init(&sc->cfg);
	sc->cfg.nr_vcpus = 2;
	sc->cfg.variant = v;
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = S2HYP_SEED_IPA, .size = 1 << 21,
					       .hva = S2HYP_SEED_HVA, .backing = S2HYP_BACKING_4K };
	sc->nr_slots = 1;
	for (unsigned v2 = 0; v2 < 2; v2++) {
		rd.ipa = S2HYP_SEED_IPA + (uint64_t)v2 * 4096;
		assert_int_equal(s2hyp_scenario_add_vcpu(sc, v2, &rd), 0);
	}
	assert_int_equal(s2hyp_scenario_add_host(sc, &h), 0);
}

/* The small searches of the fuzzer's scenarios, correct and buggy walkers,
 * one vCPU at a time and parallel faults. */
static void test_prediction_same_search(void **state)
{
	static const enum s2pt_variant coalesce[] = {
		S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST,
		S2PT_V_UPSTREAM_NOCMO, S2PT_V_MERGE_TLBI_IPA, S2PT_V_NO_RELOAD,
	};
	static const enum s2pt_variant parallel[] = { S2PT_V_UPSTREAM, S2PT_V_NO_RELOAD };
	uint64_t saved = 0;
	char what[96];
	(void)state;

	for (unsigned i = 0; i < sizeof(coalesce) / sizeof(coalesce[0]); i++) {
		struct s2hyp_scenario sc;
		s2fuzz_scenario_coalesce_race(&sc, coalesce[i]);
		snprintf(what, sizeof(what), "coalesce-race on %s", s2pt_variant_name(coalesce[i]));
		saved += compare(&sc, 0, what);
		s2hyp_scenario_free(&sc);
	}
	for (unsigned i = 0; i < sizeof(parallel) / sizeof(parallel[0]); i++) {
		struct s2hyp_scenario sc;
		struct s2hyp_config cfg;
		s2hyp_config_init(&cfg);
		cfg.variant = parallel[i];
		s2fuzz_scenario_parallel_faults_cfg(&sc, &cfg);
		snprintf(what, sizeof(what), "parallel-faults on %s", s2pt_variant_name(parallel[i]));
		saved += compare(&sc, 0, what);
		s2hyp_scenario_free(&sc);
	}
	assert_true(saved > 0);
}

/* With a background choice allowed: evictions and speculative walks, and
 * the choices after the one a schedule may hold. */
static void test_prediction_same_search_background(void **state)
{
	/* (Parallel faults make this search too large for a test.) */
	static const enum s2pt_variant variants[] = { S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST };
	uint64_t saved = 0;
	char what[96];
	(void)state;

	for (unsigned i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct s2hyp_scenario sc;
		two_readers(&sc, variants[i]);
		snprintf(what, sizeof(what), "two readers on %s, one background choice",
			 s2pt_variant_name(variants[i]));
		saved += compare(&sc, 1, what);
		s2hyp_scenario_free(&sc);
	}
	assert_true(saved > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prediction_same_search),
		cmocka_unit_test(test_prediction_same_search_background),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
