/* The fuzzer's speed: schedules a second under the random and PCT
 * strategies on the seed scenario (2 vCPUs, upstream walker, the machine's
 * reset between schedules included), steps a second, and the exhaustive searches of
 * the small coalescing race and of two parallel faults with the reduction. NAME VALUE UNIT lines. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/s2fuzz.h"

static struct s2fuzz_result run(const struct s2hyp_scenario *sc, enum s2fuzz_strategy s,
				double secs, unsigned background)
{
	struct s2fuzz_opts o;
	struct s2fuzz_result r;
	char err[256] = "";

	s2fuzz_opts_init(&o, s);
	if (s == S2FUZZ_EXHAUSTIVE) {
		o.background = background;
		/* Room for the whole search with one background choice
		 * (1.19M schedules since read footprints), past the default. */
		o.runs = 4000000;
	}
	if (secs > 0) {
		o.runs = 1000000000;
		o.time_limit = secs;
	}
	if (s2fuzz_run(sc, &o, &r, err, sizeof(err))) {
		fprintf(stderr, "fuzz_bench: %s\n", err);
		exit(1);
	}
	if (r.found || r.incomplete) {
		fprintf(stderr, "fuzz_bench: a correct walker failed: %s\n",
			r.found ? s2hyp_rule_name(r.rule) : r.error);
		exit(1);
	}
	return r;
}

/* The generic generator: schedules a second with a new scenario each
 * (upstream, 2 s), and how many rows of the bug table (docs/bugs.md) it
 * finds, by the row's rule, within a fixed budget of scenarios each. */
#define BUGS_BUDGET 1000
static void generic(void)
{
	struct s2fuzz_bug clean = { "upstream", "refcount", "", "", 0 };
	struct s2fuzz_hunt h;
	char err[256] = "";
	unsigned found = 0, rows = 0;

	if (s2fuzz_bug_hunt(&clean, 1000000000, 2.0, false, &h, err, sizeof(err))) {
		fprintf(stderr, "fuzz_bench: generated scenarios: %s\n", err);
		exit(1);
	}
	if (h.res.found)
		printf("# note: upstream fired %s on seed %llu: a finding to look at\n",
		       s2hyp_rule_name(h.res.rule), (unsigned long long)h.res.seed);
	printf("# the generic generator (s2emu fuzz with no scenario): upstream, a new\n"
	       "# scenario every schedule\n");
	printf("fuzz.generic_schedules_per_s %.0f schedules/s\n", h.runs / h.secs);
	s2fuzz_hunt_free(&h);
	for (const struct s2fuzz_bug *b = s2fuzz_bugs; b->variant; b++, rows++) {
		if (s2fuzz_bug_hunt(b, BUGS_BUDGET, 0, false, &h, err, sizeof(err))) {
			fprintf(stderr, "fuzz_bench: %s: %s\n", b->variant, err);
			exit(1);
		}
		found += h.found;
		s2fuzz_hunt_free(&h);
	}
	printf("# rows of the bug table found by their rule within %u generated scenarios each,\n"
	       "# out of %u\n", BUGS_BUDGET, rows);
	printf("fuzz.bugs_found %u bugs\n", found);
}

int main(void)
{
	struct s2hyp_scenario seed, small, par;
	struct s2hyp_config pc;

	if (s2fuzz_scenario_build(&seed, "seed", 2, S2PT_V_UPSTREAM)) {
		fprintf(stderr, "fuzz_bench: no seed scenario\n");
		return 1;
	}
	s2fuzz_scenario_coalesce_race(&small, S2PT_V_UPSTREAM_2021);
	s2hyp_config_init(&pc);
	pc.variant = S2PT_V_UPSTREAM;
	s2fuzz_scenario_parallel_faults_cfg(&par, &pc);

	struct s2fuzz_result rnd = run(&seed, S2FUZZ_RANDOM, 2.0, 0);
	struct s2fuzz_result pct = run(&seed, S2FUZZ_PCT, 2.0, 0);
	struct s2fuzz_result ex = run(&small, S2FUZZ_EXHAUSTIVE, 0, 0);
	struct s2fuzz_result bg1 = run(&small, S2FUZZ_EXHAUSTIVE, 0, 1);
	struct s2fuzz_result pex = run(&par, S2FUZZ_EXHAUSTIVE, 0, 0);
	if (!ex.complete || !pex.complete) {
		fprintf(stderr, "fuzz_bench: the exhaustive search did not complete\n");
		return 1;
	}

	printf("# fuzz: seed scenario, 2 vCPUs, upstream walker, one process; a schedule is a\n"
	       "# whole run from the initial state (one machine, reset between schedules)\n");
	printf("fuzz.random_schedules_per_s %.0f schedules/s\n", rnd.runs / rnd.secs);
	printf("fuzz.pct_schedules_per_s %.0f schedules/s\n", pct.runs / pct.secs);
	printf("fuzz.steps_per_s %.0f steps/s\n", rnd.steps / rnd.secs);
	printf("# exhaustive search of coalesce-race (upstream-2021, 2 vCPUs, 4K, one 2M block),\n"
	       "# no background choices, sleep-set reduction\n");
	printf("fuzz.exhaustive_small_s %.2f s\n", ex.secs);
	printf("fuzz.exhaustive_small_schedules %llu schedules\n", (unsigned long long)ex.runs);
	printf("fuzz.exhaustive_small_classes %llu schedules\n", (unsigned long long)ex.terminal);
	printf("# the same with one background choice (an eviction, a TLB or walk-cache loss)\n");
	printf("fuzz.exhaustive_bg1_s %.2f s\n", bg1.secs);
	printf("fuzz.exhaustive_bg1_schedules %llu schedules\n", (unsigned long long)bg1.runs);
	/* The search is bounded (s2fuzz_opts' runs): past the bound, the time
	 * is that of the bound, not of the whole search. */
	if (!bg1.complete)
		printf("# not complete: stopped at the bound of %llu schedules\n",
		       (unsigned long long)bg1.runs);
	printf("fuzz.exhaustive_bg1_complete %d bool\n", bg1.complete ? 1 : 0);
	printf("# exhaustive search of parallel-faults (upstream, parallel faults: 2 vCPUs\n"
	       "# faulting at once in one 2M region of 4K pages), no background choices\n");
	printf("fuzz.exhaustive_parallel_s %.2f s\n", pex.secs);
	printf("fuzz.exhaustive_parallel_schedules %llu schedules\n", (unsigned long long)pex.runs);
	printf("fuzz.exhaustive_parallel_classes %llu schedules\n", (unsigned long long)pex.terminal);
	generic();
	s2fuzz_result_free(&pex);
	s2hyp_scenario_free(&par);
	s2fuzz_result_free(&rnd);
	s2fuzz_result_free(&pct);
	s2fuzz_result_free(&ex);
	s2fuzz_result_free(&bg1);
	s2hyp_scenario_free(&seed);
	s2hyp_scenario_free(&small);
	return 0;
}
