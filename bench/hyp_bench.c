/* Machine speed on the seed scenario (4 vCPUs, random schedules), with the
 * checker on and off, upstream's parallel faults against one operation at a
 * time, the most operations in flight, and the translation faults other vCPUs take per
 * coalesce under each correct 2021-era ordering. NAME VALUE UNIT lines. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/s2_clock.h"
#include "hyp-model/s2hyp_scenario.h"

struct result {
	uint64_t steps;
	uint64_t window;
	uint64_t coalesces;
	unsigned max_in_flight;	/* most operations in flight at once, any run */
	uint64_t violations;
	double secs;
};

/* Run seeds until `budget` seconds pass (at least min_runs runs), one
 * after another on one machine, reset between them (s2hyp_scenario_reset),
 * as the fuzzer runs its schedules. */
static struct result run_seed(enum s2pt_variant v, bool check, double budget, unsigned min_runs)
{
	struct result r = { 0 };
	struct s2hyp_scenario sc;
	struct s2hyp *m = NULL;
	const char *why;
	double t0 = s2_now_s();

	if (s2hyp_scenario_build(&sc, S2HYP_SC_SEED, 4, v)) {
		fprintf(stderr, "hyp_bench: cannot build the seed scenario\n");
		exit(1);
	}
	sc.cfg.check = check;
	for (uint64_t seed = 1;; seed++) {
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;

		if (m ? s2hyp_scenario_reset(&sc, m, &why) : s2hyp_scenario_instantiate(&sc, &m, &why)) {
			fprintf(stderr, "hyp_bench: cannot set up the seed scenario: %s\n", why);
			exit(1);
		}
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		if (s2hyp_run(m, &st) != S2HYP_DONE) {
			fprintf(stderr, "hyp_bench: seed %llu did not complete: %s\n",
				(unsigned long long)seed, s2hyp_error(m));
			exit(1);
		}
		const struct s2hyp_stats *s = s2hyp_stats(m);
		r.steps += s->steps;
		r.coalesces += s->coalesces;
		if (s->max_ops_in_flight > r.max_in_flight)
			r.max_in_flight = s->max_ops_in_flight;
		r.violations += s2hyp_nr_violations(m);
		for (unsigned i = 0; i < 4; i++)
			r.window += s->vcpu[i].faults_in_window;
		r.secs = s2_now_s() - t0;
		if (seed >= min_runs && r.secs >= budget)
			break;
	}
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
	return r;
}

int main(void)
{
	struct result checked = run_seed(S2PT_V_UPSTREAM, true, 2.0, 10);
	struct result exclusive = run_seed(S2PT_V_UPSTREAM_EXCLUSIVE, true, 2.0, 10);
	struct result unchecked = run_seed(S2PT_V_UPSTREAM, false, 2.0, 10);
	struct result old = run_seed(S2PT_V_UPSTREAM_2021, true, 0, 400);
	struct result first = run_seed(S2PT_V_INSTALL_FIRST, true, 0, 400);

	printf("# hyp: seed scenario, 4 vCPUs, random schedules; a step is one scheduler choice,\n"
	       "# the machine's reset between seeds included\n");
	printf("hyp.steps_per_s_checked %.0f steps/s\n", checked.steps / checked.secs);
	printf("hyp.steps_per_s_unchecked %.0f steps/s\n", unchecked.steps / unchecked.secs);
	printf("# the same under upstream-exclusive (one operation at a time), in this run\n");
	printf("hyp.steps_per_s_checked_exclusive %.0f steps/s\n", exclusive.steps / exclusive.secs);
	printf("# upstream (parallel faults): most operations in flight at once over the runs above,\n"
	       "# and the violations they reported (expected: none)\n");
	printf("hyp.max_ops_in_flight %u ops\n", checked.max_in_flight);
	printf("hyp.violations_upstream %llu violations\n", (unsigned long long)checked.violations);
	printf("# translation faults other vCPUs took inside another's map, per coalesce, 400 seeds\n");
	printf("hyp.spurious_faults_upstream_2021 %.2f faults\n",
	       (double)old.window / (double)old.coalesces);
	printf("hyp.spurious_faults_install_first %.2f faults\n",
	       (double)first.window / (double)first.coalesces);
	return 0;
}
