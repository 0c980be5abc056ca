/* s2emu run: a built-in scenario, once or over many seeds, with every rule
 * checked; a summary for people or JSON for programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "cli/cli.h"
#include "common/s2_text.h"
#include "fuzz/s2fuzz.h"
#include "host-mm/s2host_scenario.h"
#include "hyp-model/s2hyp_kvmhost.h"
#include "hyp-model/s2hyp_scenario.h"
#include "traces/s2trace.h"

struct totals {
	unsigned runs;
	unsigned outcomes[S2HYP_ERROR + 1];
	unsigned fired[S2HYP_NR_RULES];		/* runs in which each rule fired */
	struct s2hyp_violation first[S2HYP_NR_RULES];
	uint64_t first_seed[S2HYP_NR_RULES];
	uint64_t steps, faults[3], window, coalesces, tlbis, dsbs, cmos, cmo_bytes, maps, eagain;
	uint64_t mappings[S2_LEVEL_MAX + 2];
	char error[200];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu run SCENARIO [options]\n\n"
		   "Runs a built-in scenario with every rule checked and prints what happened:\n"
		   "faults by kind, faults other vCPUs took inside another's map (the window),\n"
		   "mappings by size, TLBIs and CMOs, and the rules that fired with a report\n"
		   "of the first violation of each.\n\nscenarios:\n");
	for (unsigned i = 0; s2hyp_scenario_name(i); i++)
		fprintf(f, "  %-16s %s\n", s2hyp_scenario_name(i), s2hyp_scenario_desc(i));
	fprintf(f, "  %-16s %s\n", "random",
		"the generic generator: seed S+k makes run k's scenario (granule, vCPUs, FWB\n"
		"                   and eager splitting too, unless given as options)");
	fprintf(f, "\nhost memory-management scenarios (s2emu host --help; option --cow-policy P):\n");
	for (unsigned i = 0; i < s2host_nr_scenarios(); i++)
		fprintf(f, "  %-20s %s\n", s2host_scenario(i)->name, s2host_scenario(i)->spec);
	for (unsigned i = 0; i < s2hyp_kvm_nr_scenarios(); i++)
		fprintf(f, "  %-20s %s\n", s2hyp_kvm_scenario(i)->name, s2hyp_kvm_scenario(i)->spec);
	fprintf(f, "\noptions:\n"
		   "  --strategy sequential|random  how steps interleave; default random\n"
		   "  --seed S            first seed of the random strategy; default 1\n"
		   "  --runs N            run N seeds (S, S+1, ...); default 1\n"
		   "  --schedule          print the schedule of a single run (one choice a line)\n"
		   "  --record FILE       write the run (the first in which a rule fired, else the\n"
		   "                      first) as a trace with its schedule and expect lines;\n"
		   "                      's2emu replay FILE' reproduces it exactly\n"
		   "  --json              JSON instead of text\n%s\n"
		   "exit status: 0 no rule fired, 1 a rule fired or a run did not complete,\n"
		   "2 bad usage.\n", cli_machine_options_help);
}

static void add_run(struct totals *t, struct s2hyp *m, enum s2hyp_outcome o, uint64_t seed)
{
	const struct s2hyp_stats *st = s2hyp_stats(m);
	t->runs++;
	t->outcomes[o]++;
	if (o != S2HYP_DONE && !t->error[0])
		snprintf(t->error, sizeof(t->error), "seed %llu: %s: %s", (unsigned long long)seed,
			 s2hyp_outcome_name(o), s2hyp_error(m));
	t->steps += st->steps;
	t->coalesces += st->coalesces;
	t->tlbis += st->tlbis;
	t->dsbs += st->dsbs;
	t->cmos += st->cmos;
	t->cmo_bytes += st->cmo_bytes;
	t->maps += st->maps;
	t->eagain += st->map_eagain;
	for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
		t->mappings[l] += st->mappings_by_level[l];
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++) {
		t->faults[0] += st->vcpu[i].faults_translation;
		t->faults[1] += st->vcpu[i].faults_permission;
		t->faults[2] += st->vcpu[i].faults_access_flag;
		t->window += st->vcpu[i].faults_in_window;
	}
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++) {
		const struct s2hyp_violation *v = s2hyp_violation(m, i);
		if (!t->fired[v->rule]) {
			t->first[v->rule] = *v;
			t->first_seed[v->rule] = seed;
		}
	}
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		t->fired[r] += st->violations[r] > 0;
}

/* A mapping size by its level index (level + 1); g NULL: the runs had
 * different granules, name the level instead. */
static const char *size_name(const struct s2pt_geom *g, unsigned idx, char *buf, size_t n)
{
	if (!g) {
		snprintf(buf, n, "L%d", (int)idx - 1);
		return buf;
	}
	return s2_size_name(s2pt_granule_size(g, (s2_level_t)(idx - 1)), buf, n);
}

static void print_text(const struct totals *t, const char *name, const struct s2hyp_config *cfg,
		       const struct s2pt_geom *g, bool random, uint64_t seed)
{
	double n = t->runs ? t->runs : 1;
	char buf[16];

	if (!g)
		printf("scenario %s: walker %s, a generated scenario a seed (granule, vCPUs, FWB, "
		       "memslots and programs chosen by the seed)\n", name,
		       s2pt_variant_name(cfg->variant));
	else
		printf("scenario %s: walker %s, %u vCPUs, %uK granule, %u-bit IPA%s%s%s\n", name,
		       s2pt_variant_name(cfg->variant), cfg->nr_vcpus,
		       1u << (cfg->granule_shift - 10), cfg->ipa_bits, cfg->fwb ? ", FWB" : "",
		       cfg->idc ? ", IDC" : "", cfg->dic ? ", DIC" : "");
	if (random)
		printf("strategy random, seeds %llu..%llu\n", (unsigned long long)seed,
		       (unsigned long long)(seed + t->runs - 1));
	else
		printf("strategy sequential\n");
	printf("runs:        %u (%u completed)\n", t->runs, t->outcomes[S2HYP_DONE]);
	if (t->error[0])
		printf("first incomplete run: %s\n", t->error);
	printf("steps:       %.1f per run\n", t->steps / n);
	printf("faults:      %.1f translation, %.1f permission, %.1f access-flag per run\n",
	       t->faults[0] / n, t->faults[1] / n, t->faults[2] / n);
	printf("window:      %.2f translation faults per coalesce taken by other vCPUs inside "
	       "another's map (%llu coalesces)\n",
	       t->coalesces ? (double)t->window / t->coalesces : 0.0,
	       (unsigned long long)t->coalesces);
	printf("maps:        %.1f per run (%.1f found nothing to do)\n", t->maps / n, t->eagain / n);
	printf("mappings:   ");
	for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
		if (t->mappings[l])
			printf(" %s x%.1f", size_name(g, l, buf, sizeof(buf)), t->mappings[l] / n);
	printf(" per run\n");
	printf("maintenance: %.1f TLBIs, %.1f DSBs, %.1f CMOs (%.0f KiB) per run\n", t->tlbis / n,
	       t->dsbs / n, t->cmos / n, t->cmo_bytes / n / 1024);
	unsigned any = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		any += t->fired[r] > 0;
	if (!any) {
		printf("rules:       none fired\n");
		return;
	}
	printf("rules fired:\n");
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (t->fired[r])
			printf("  %-28s in %u of %u runs\n", s2hyp_rule_name((enum s2hyp_rule)r),
			       t->fired[r], t->runs);
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		if (!t->fired[r])
			continue;
		printf("\n");
		if (random)
			printf("(seed %llu) ", (unsigned long long)t->first_seed[r]);
		s2hyp_print_violation(stdout, &t->first[r]);
	}
}

static void print_json(const struct totals *t, const char *name, const struct s2hyp_config *cfg,
		       const struct s2pt_geom *g, bool random, uint64_t seed)
{
	char buf[16];

	printf("{\"scenario\": ");
	cli_json_string(name);
	printf(", \"walker\": ");
	cli_json_string(s2pt_variant_name(cfg->variant));
	printf(", \"vcpus\": %u, \"granule\": %u, \"ipa_bits\": %u, \"fwb\": %s, \"idc\": %s, "
	       "\"dic\": %s, \"strategy\": \"%s\", \"first_seed\": %llu, \"runs\": %u, "
	       "\"completed\": %u, ",
	       cfg->nr_vcpus, 1u << cfg->granule_shift, cfg->ipa_bits, cfg->fwb ? "true" : "false",
	       cfg->idc ? "true" : "false", cfg->dic ? "true" : "false",
	       random ? "random" : "sequential", (unsigned long long)seed, t->runs,
	       t->outcomes[S2HYP_DONE]);
	printf("\"error\": ");
	cli_json_string(t->error);
	printf(", \"steps\": %llu, \"faults\": {\"translation\": %llu, \"permission\": %llu, "
	       "\"access_flag\": %llu, \"in_window\": %llu}, \"coalesces\": %llu, \"maps\": %llu, "
	       "\"maps_eagain\": %llu, \"tlbis\": %llu, \"dsbs\": %llu, \"cmos\": %llu, "
	       "\"cmo_bytes\": %llu, \"mappings\": {",
	       (unsigned long long)t->steps, (unsigned long long)t->faults[0],
	       (unsigned long long)t->faults[1], (unsigned long long)t->faults[2],
	       (unsigned long long)t->window, (unsigned long long)t->coalesces,
	       (unsigned long long)t->maps, (unsigned long long)t->eagain,
	       (unsigned long long)t->tlbis, (unsigned long long)t->dsbs,
	       (unsigned long long)t->cmos, (unsigned long long)t->cmo_bytes);
	bool first = true;
	for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++) {
		if (!t->mappings[l])
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ", size_name(g, l, buf, sizeof(buf)),
		       (unsigned long long)t->mappings[l]);
		first = false;
	}
	printf("}, \"rules\": {");
	first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		if (!t->fired[r])
			continue;
		printf("%s\"%s\": %u", first ? "" : ", ", s2hyp_rule_name((enum s2hyp_rule)r),
		       t->fired[r]);
		first = false;
	}
	printf("}, \"violations\": [");
	first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		if (!t->fired[r])
			continue;
		printf("%s", first ? "" : ", ");
		s2hyp_print_violation_json(stdout, &t->first[r]);
		first = false;
	}
	printf("]}\n");
}

/* The run as a trace: its scenario, its schedule, and expect lines for what
 * happened, so that replaying it checks it is still the same. */
static int write_record(const char *path, const struct s2hyp_scenario *sc, const struct s2hyp *m,
			const char *name, uint64_t seed, bool random)
{
	FILE *f = fopen(path, "w");
	char comment[200];
	size_t n;

	if (!f) {
		fprintf(stderr, "s2emu run: cannot write %s\n", path);
		return -1;
	}
	snprintf(comment, sizeof(comment), "recorded by s2emu %s: run %s, %s seed %llu",
		 S2EMU_VERSION, name, random ? "random" : "sequential", (unsigned long long)seed);
	const struct s2hyp_choice *sched = s2hyp_schedule(m, &n);
	/* Replay is sequential by default: a sequential run needs no schedule. */
	int ret = s2trace_write_scenario(f, sc, sched, random ? n : 0, comment);
	ret |= s2trace_write_outcome(f, s2hyp_stats(m));
	/* The writers fail only when f's error flag is set, which this reports. */
	(void)ret;
	return cli_close_output("run", f, path);
}

int cli_run(int argc, char **argv)
{
	struct s2hyp_config cfg;
	const char *name = NULL;
	int builtin;
	bool json = false, random = true, show_sched = false;
	const char *record = NULL;
	bool recorded = false;
	uint64_t seed = 1, runs = 1;
	const char *seed_opt = NULL;	/* --seed or --runs as typed */

	/* host memory-management scenarios run on host-mm alone (cli/host.c) */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-' &&
		    (s2host_scenario_find(argv[i]) >= 0 ||
		     s2_find_name_by(s2hyp_kvm_scenario_name, argv[i]) >= 0))
			return cli_host(argc, argv);
	s2hyp_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		int r = cli_machine_option(argc, argv, &i, &cfg, "run");
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--json")) {
			json = true;
		} else if (!strcmp(o, "--schedule")) {
			show_sched = true;
		} else if (!strcmp(o, "--record")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu run: --record needs a file\n");
				return 2;
			}
			record = argv[++i];
		} else if (!strcmp(o, "--strategy")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu run: --strategy needs a value\n");
				return 2;
			}
			const char *v = argv[++i];
			if (!strcmp(v, "random"))
				random = true;
			else if (!strcmp(v, "sequential"))
				random = false;
			else {
				fprintf(stderr, "s2emu run: unknown strategy '%s' (valid: sequential, random)\n", v);
				return 2;
			}
		} else if (!strcmp(o, "--seed") || !strcmp(o, "--runs")) {
			uint64_t *dst = o[2] == 's' ? &seed : &runs;
			seed_opt = o;
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu run: %s needs a value\n", o);
				return 2;
			}
			if (cli_parse_u64("run", o, argv[++i], o[2] == 's' ? 0 : 1,
					  o[2] == 's' ? UINT64_MAX / 2 : 100000000, dst))
				return 2;
		} else if (o[0] == '-') {
			fprintf(stderr, "s2emu run: unknown option '%s' (try 's2emu run --help')\n", o);
			return 2;
		} else if (!name) {
			name = o;
		} else {
			fprintf(stderr, "s2emu run: one scenario at a time ('%s' and '%s')\n", name, o);
			return 2;
		}
	}
	if (!name) {
		usage(stderr);
		return 2;
	}
	/* Options that would do nothing are usage errors. */
	if (!random && seed_opt) {
		fprintf(stderr, "s2emu run: %s does nothing with --strategy sequential\n", seed_opt);
		return 2;
	}
	if (show_sched && (runs > 1 || json)) {
		fprintf(stderr, "s2emu run: --schedule prints the schedule of a single run as text "
				"(not with %s)\n", json ? "--json" : "--runs N above 1");
		return 2;
	}
	if (record && cli_check_writable("run", record))
		return 2;
	unsigned gen_pick = cli_gen_pick(argc, argv);
	/* What the summary shows: the first run's configuration (the generic
	 * generator may choose the granule, vCPUs, FWB per seed). */
	struct s2hyp_config shown = cfg;

	struct totals *t = calloc(1, sizeof(*t));
	struct s2pt_geom g;
	const char *why = NULL;
	if (!t || s2pt_geom_init(&g, cfg.granule_shift, cfg.ipa_bits, &why)) {
		fprintf(stderr, "s2emu run: %s\n", t ? why : "out of memory");
		free(t);
		return 2;
	}
	bool tty = isatty(STDERR_FILENO) && runs > 1;
	double t0 = s2_now_s(), last = t0;
	for (uint64_t k = 0; k < runs; k++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m;
		if (!strcmp(name, "random")) {
			/* The generic generator: seed S+k makes the scenario, and
			 * the same seed drives the random strategy. */
			if (s2fuzz_scenario_generate(&sc, &cfg, gen_pick, seed + k)) {
				fprintf(stderr, "s2emu run: out of memory\n");
				s2hyp_scenario_free(&sc);
				free(t);
				return 2;
			}
		} else if ((builtin = s2_find_name_by(s2hyp_scenario_name, name)) < 0 ||
			   s2hyp_scenario_build_cfg(&sc, (unsigned)builtin, &cfg)) {
			fprintf(stderr, "s2emu run: unknown scenario '%s' (valid:", name);
			for (unsigned i = 0; s2hyp_scenario_name(i); i++)
				fprintf(stderr, " %s", s2hyp_scenario_name(i));
			fprintf(stderr, " random)\n");
			s2hyp_scenario_free(&sc);
			free(t);
			return 2;
		}
		if (k == 0)
			shown = sc.cfg;
		if (s2hyp_scenario_instantiate(&sc, &m, &why)) {
			fprintf(stderr, "s2emu run: %s: %s\n", name, why);
			s2hyp_scenario_free(&sc);
			free(t);
			return 2;
		}
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		s2hyp_rng_seed(&rng, seed + k);
		st.arg = &rng;
		s2hyp_record_schedule(m, (show_sched && runs == 1) || (record && !recorded));
		enum s2hyp_outcome o = s2hyp_run(m, random ? &st : &s2hyp_strategy_sequential);
		add_run(t, m, o, seed + k);
		if (record && !recorded && (s2hyp_nr_violations(m) || k + 1 == runs || k == 0)) {
			/* Keep the first run; replace it by the first one that fires. */
			if (k == 0 || s2hyp_nr_violations(m)) {
				if (write_record(record, &sc, m, name, seed + k, random)) {
					s2hyp_delete(m);
					s2hyp_scenario_free(&sc);
					free(t);
					return 2;
				}
			}
			if (s2hyp_nr_violations(m))
				recorded = true;
		}
		if (show_sched && runs == 1 && !json) {
			size_t n;
			const struct s2hyp_choice *s = s2hyp_schedule(m, &n);
			printf("schedule (%zu choices):\n", n);
			for (size_t j = 0; j < n; j++) {
				s2trace_print_choice(stdout, &s[j]);
				putchar('\n');
			}
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
		double now = s2_now_s();
		if (tty && now - last > 0.2) {
			unsigned fired = 0;
			for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
				fired += t->fired[r] > 0;
			fprintf(stderr, "\rrun %llu/%llu  %.0f steps/s  rules fired: %u   ",
				(unsigned long long)(k + 1), (unsigned long long)runs,
				t->steps / (now - t0), fired);
			last = now;
		}
	}
	if (tty)
		fprintf(stderr, "\r%60s\r", "");
	if (s2pt_geom_init(&g, shown.granule_shift, shown.ipa_bits, &why)) {
		fprintf(stderr, "s2emu run: %s\n", why);
		free(t);
		return 2;
	}
	/* Generated runs may differ in granule: mappings by level then. */
	const struct s2pt_geom *gp = !strcmp(name, "random") && runs > 1 &&
				     (gen_pick & S2FUZZ_GEN_GRANULE) ? NULL : &g;
	if (json)
		print_json(t, name, &shown, gp, random, seed);
	else
		print_text(t, name, &shown, gp, random, seed);
	int status = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (t->fired[r])
			status = 1;
	if (t->outcomes[S2HYP_DONE] != t->runs)
		status = 1;
	free(t);
	return status;
}
