/* s2emu fuzz: search a scenario's interleavings for rule violations, shrink
 * the first counterexample and write it as a trace replay reproduces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fuzz/s2fuzz.h"
#include "traces/s2trace.h"
#include "traces/s2trace_load.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu fuzz [SCENARIO] [options]\n\n"
		   "Runs a scenario under many interleavings with every rule checked. When a\n"
		   "rule fires, the run is shrunk (fewer choices, program items and vCPUs, the\n"
		   "same rule firing first), written as a trace that 's2emu replay' reproduces,\n"
		   "and explained. SCENARIO is a trace file of high-level events or one of\n"
		   "these (default: random, the generic generator; the machine options given\n"
		   "fix what it would otherwise choose):\n");
	for (unsigned i = 0; s2fuzz_scenario_name(i); i++)
		fprintf(f, "  %-16s %s\n", s2fuzz_scenario_name(i), s2fuzz_scenario_desc(i));
	fprintf(f, "\noptions:\n"
		   "  --strategy random|pct|exhaustive  how to pick interleavings; default random\n"
		   "  --runs N            random, pct: run seeds S..S+N-1 (default 200);\n"
		   "                      exhaustive: run at most N schedules (default 1000000)\n"
		   "  --time SECONDS      stop after this long\n"
		   "  --seed S            the first seed; default 1\n"
		   "  --depth D           pct: bug depth, D-1 priority change points; default 3\n"
		   "  --background N      pct: background events a run may take (default 8);\n"
		   "                      exhaustive: background choices a schedule may hold (default 0)\n"
		   "  --bound N           exhaustive: at most N preemptions a schedule; default none\n"
		   "  --no-reduction      exhaustive: run every interleaving, not one per class\n"
		   "  --no-source-sets    exhaustive: sleep sets alone, every candidate not asleep (as\n"
		   "                      a sharded search explores), not only those races call for\n"
		   "  --jobs N            random, pct: worker processes; default 1\n"
		   "  --out FILE          the counterexample's trace; default\n"
		   "                      fuzz-SCENARIO-RULE.s2t in the current directory\n"
		   "  --no-shrink         report the run as found; write no trace\n"
		   "  --shrink-runs N     shrinking budget in runs; default 20000\n"
		   "  --against VARIANT   differential shrinking: every step must keep the\n"
		   "                      counterexample clean on this walker (default upstream;\n"
		   "                      none: off)\n"
		   "  --warn              efficiency findings too (apart from violations): a\n"
		   "                      break-before-make for a permission or AF change only,\n"
		   "                      more TLBIs or faults than the --against walker in a\n"
		   "                      sequential run; they count in the exit status\n"
		   "  --json              JSON instead of text\n"
		   "  --shard I/N         run shard I (0..N-1) of the search split N ways: seeds by\n"
		   "                      index mod N; exhaustive: subtrees by the candidates taken\n"
		   "                      at the first choice points (docs/scale-out.md)\n"
		   "  --merge FILE...     combine the --json results of the shards of one search\n"
		   "                      into the result of the whole search (with --json: as JSON)\n%s\n"
		   "exit status: 0 no rule fired, 1 a rule fired or a run did not complete,\n"
		   "2 bad usage or input.\n", cli_machine_options_help);
}

struct progress {
	bool tty;
	double last;
};

static void on_progress(void *arg, const struct s2fuzz_progress *p)
{
	struct progress *pr = arg;
	if (!pr->tty || p->secs - pr->last < 0.2)
		return;
	pr->last = p->secs;
	fprintf(stderr, "\rruns %llu  distinct %llu  %.0f steps/s  rules fired: %u   ",
		(unsigned long long)p->runs, (unsigned long long)p->distinct,
		p->secs > 0 ? p->steps / p->secs : 0.0, p->rules);
}

/* The scenario's name for file names: a built-in's, or a trace's base name. */
static void short_name(const char *name, char *buf, size_t n)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	snprintf(buf, n, "%s", b);
	char *dot = strrchr(buf, '.');
	if (dot && dot != buf)
		*dot = 0;
}

static bool is_builtin(const char *name)
{
	return s2fuzz_scenario_find(name) >= 0;
}

static void print_summary(const struct s2fuzz_result *r, const struct s2fuzz_opts *o,
			  const char *name, const struct s2hyp_config *cfg)
{
	double n = r->runs ? (double)r->runs : 1.0;

	if (o->generate)
		printf("fuzz %s: walker %s, a generated scenario a seed (%s%s%s chosen by the seed)\n",
		       name, s2pt_variant_name(cfg->variant),
		       o->gen_pick & S2FUZZ_GEN_GRANULE ? "granule, " : "",
		       o->gen_pick & S2FUZZ_GEN_VCPUS ? "vCPUs, " : "",
		       o->gen_pick & S2FUZZ_GEN_MACHINE ? "FWB, memslots, programs" : "memslots, programs");
	else
		printf("fuzz %s: walker %s, %u vCPU%s, %uK granule%s%s%s\n", name,
		       s2pt_variant_name(cfg->variant), cfg->nr_vcpus, cfg->nr_vcpus == 1 ? "" : "s",
		       1u << (cfg->granule_shift - 10), cfg->fwb ? ", FWB" : "", cfg->idc ? ", IDC" : "",
		       cfg->dic ? ", DIC" : "");
	if (o->nr_shards > 1)
		printf("shard:     %u of %u (merge the --json results with s2emu fuzz --merge)\n",
		       o->shard, o->nr_shards);
	printf("strategy:  %s", s2fuzz_strategy_name(o->strategy));
	if (o->strategy == S2FUZZ_PCT)
		printf(", depth %u, %u background events a run", o->depth, o->background);
	if (o->strategy == S2FUZZ_EXHAUSTIVE) {
		printf(", at most %u background choices", o->background);
		if (o->preemptions >= 0)
			printf(" and %d preemptions", o->preemptions);
		printf(" a schedule");
	} else if (r->limited) {
		/* Workers stop where they are: not one range of seeds. */
		printf(", %llu seeds from %llu before the time limit", (unsigned long long)r->runs,
		       (unsigned long long)o->seed);
	} else {
		printf(", seeds %llu..%llu", (unsigned long long)o->seed,
		       (unsigned long long)(o->seed + (r->runs ? r->runs - 1 : 0)));
	}
	printf("\n");
	printf("runs:      %llu (%llu distinct schedules), %.1f steps a run, %.0f steps/s, %.2f s\n",
	       (unsigned long long)r->runs, (unsigned long long)r->distinct, r->steps / n,
	       r->secs > 0 ? r->steps / r->secs : 0.0, r->secs);
	if (o->strategy == S2FUZZ_EXHAUSTIVE) {
		printf("coverage:  %s\n",
		       r->found ? "stopped at the first violation" :
		       r->complete ? "complete: every interleaving within the bounds is equivalent "
				     "to one that ran" :
		       "incomplete: the run or time limit came first");
		if (o->no_reduction)
			printf("           %llu schedules ran to their end: every interleaving, "
			       "without the reduction\n", (unsigned long long)r->terminal);
		else
			printf("           %llu schedules ran to their end (one per class of "
			       "equivalent interleavings), %llu stopped early with every choice "
			       "left asleep\n", (unsigned long long)r->terminal,
			       (unsigned long long)r->blocked);
		if (r->skipped)
			printf("           %llu of those seen before they ran (predicted footprints) "
			       "and not run\n", (unsigned long long)r->skipped);
		printf("           %llu branches pruned by the reduction, %llu cut by the preemption "
		       "bound; deepest schedule %u choices\n",
		       (unsigned long long)r->pruned, (unsigned long long)r->bound_cut, r->max_depth);
		if (r->mispredicted)
			printf("           %llu footprints widened after observation\n",
			       (unsigned long long)r->mispredicted);
	}
	if (r->incomplete)
		printf("incomplete: %llu runs did not finish (%s)\n", (unsigned long long)r->incomplete,
		       r->error);
	if (o->warn) {
		/* Efficiency findings: apart from the rules, only when asked. */
		unsigned nf = 0;
		for (unsigned f = 0; f < S2FUZZ_NR_FINDINGS; f++)
			nf += r->finding_runs[f] > 0;
		printf("findings:  %s\n", nf ? "(efficiency, not violations)" : "none");
		for (unsigned f = 0; f < S2FUZZ_NR_FINDINGS; f++)
			if (r->finding_runs[f])
				printf("  %-28s in %llu of %llu runs (first seed %llu)%s\n",
				       s2fuzz_finding_name((enum s2fuzz_finding)f),
				       (unsigned long long)r->finding_runs[f], (unsigned long long)r->runs,
				       (unsigned long long)r->finding_seed[f],
				       f == S2FUZZ_FIND_NEEDLESS_BBM ? "" : " against the reference");
	}
	unsigned any = 0;
	for (unsigned i = 0; i < S2HYP_NR_RULES; i++)
		any += r->fired_runs[i] > 0;
	if (!any) {
		printf("rules:     none fired\n");
		return;
	}
	printf("rules fired first:\n");
	for (unsigned i = 0; i < S2HYP_NR_RULES; i++) {
		if (!r->fired_runs[i])
			continue;
		printf("  %-28s in %llu of %llu runs", s2hyp_rule_name((enum s2hyp_rule)i),
		       (unsigned long long)r->fired_runs[i], (unsigned long long)r->runs);
		if (o->strategy != S2FUZZ_EXHAUSTIVE)
			printf(" (first seed %llu)", (unsigned long long)r->first_seed[i]);
		printf("\n");
	}
}

/* What --merge needs of a shard: for random and pct every seed's result
 * (distinct schedules are counted over the union), for exhaustive where the
 * search was split and which branch fired. */
static void print_shard_json(const struct s2fuzz_result *r, const struct s2fuzz_opts *o)
{
	printf(", \"shard\": \"%u/%u\", \"found\": ", o->shard, o->nr_shards);
	if (r->found) {
		printf("{\"rule\": \"%s\", \"seed\": %llu, \"path\": [", s2hyp_rule_name(r->rule),
		       (unsigned long long)r->seed);
		for (size_t i = 0; i < r->nfound_path; i++)
			printf("%s%u", i ? ", " : "", r->found_path[i]);
		printf("]}");
	} else {
		printf("null");
	}
	if (o->strategy == S2FUZZ_EXHAUSTIVE) {
		printf(", \"split_levels\": %u", r->split_levels);
		return;
	}
	printf(", \"seeds\": [");
	for (size_t i = 0; i < r->nseeds; i++) {
		const struct s2fuzz_seed_result *sr = &r->seeds[i];
		printf("%s\n  {\"seed\": %llu, \"hash\": \"%#llx\", \"steps\": %llu, \"rule\": ",
		       i ? "," : "", (unsigned long long)sr->seed, (unsigned long long)sr->sched_hash,
		       (unsigned long long)sr->steps);
		if (sr->rule >= 0)
			printf("\"%s\"", s2hyp_rule_name((enum s2hyp_rule)sr->rule));
		else
			printf("null");
		printf(", \"outcome\": \"%s\"}", s2hyp_outcome_name((enum s2hyp_outcome)sr->outcome));
	}
	printf("]");
}

static void print_json(const struct s2fuzz_result *r, const struct s2fuzz_opts *o,
		       const char *name, const struct s2hyp_config *cfg, const char *out,
		       bool replay_ok)
{
	printf("{\"scenario\": ");
	cli_json_string(name);
	printf(", \"walker\": ");
	cli_json_string(s2pt_variant_name(cfg->variant));
	printf(", \"vcpus\": %u, \"strategy\": \"%s\", \"seed\": %llu, \"depth\": %u, "
	       "\"background\": %u, \"preemption_bound\": %d, \"runs\": %llu, \"distinct\": %llu, "
	       "\"steps\": %llu, \"seconds\": %.3f, \"incomplete\": %llu, \"error\": ",
	       cfg->nr_vcpus, s2fuzz_strategy_name(o->strategy), (unsigned long long)o->seed,
	       o->depth, o->background, o->preemptions, (unsigned long long)r->runs,
	       (unsigned long long)r->distinct, (unsigned long long)r->steps, r->secs,
	       (unsigned long long)r->incomplete);
	cli_json_string(r->error);
	if (o->strategy == S2FUZZ_EXHAUSTIVE)
		printf(", \"complete\": %s, \"terminal\": %llu, \"blocked\": %llu, \"skipped\": %llu, "
		       "\"pruned\": %llu, \"bound_cut\": %llu, \"max_depth\": %u",
		       r->complete ? "true" : "false", (unsigned long long)r->terminal,
		       (unsigned long long)r->blocked, (unsigned long long)r->skipped,
		       (unsigned long long)r->pruned, (unsigned long long)r->bound_cut, r->max_depth);
	printf(", \"rules\": {");
	bool first = true;
	for (unsigned i = 0; i < S2HYP_NR_RULES; i++) {
		if (!r->fired_runs[i])
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ", s2hyp_rule_name((enum s2hyp_rule)i),
		       (unsigned long long)r->fired_runs[i]);
		first = false;
	}
	printf("}");
	if (o->nr_shards > 1)
		print_shard_json(r, o);
	if (o->warn) {
		printf(", \"findings\": {");
		for (unsigned f = 0, lead = 1; f < S2FUZZ_NR_FINDINGS; f++) {
			if (!r->finding_runs[f])
				continue;
			printf("%s\"%s\": {\"runs\": %llu, \"first_seed\": %llu}", lead ? "" : ", ",
			       s2fuzz_finding_name((enum s2fuzz_finding)f),
			       (unsigned long long)r->finding_runs[f],
			       (unsigned long long)r->finding_seed[f]);
			lead = 0;
		}
		printf("}");
	}
	printf(", \"counterexample\": ");
	if (r->have_cex) {
		printf("{\"trace\": ");
		cli_json_string(out ? out : "");
		printf(", \"replays\": %s, \"shrunk\": ", replay_ok ? "true" : "false");
		s2fuzz_cex_print_json(stdout, &r->cex);
		printf("}");
	} else if (r->found) {
		printf("{\"rule\": \"%s\", \"seed\": %llu, \"choices\": %zu}",
		       s2hyp_rule_name(r->rule), (unsigned long long)r->seed, r->nsched);
	} else {
		printf("null");
	}
	printf("}\n");
}

/* Write the counterexample and check that replay reproduces it. */
static int write_cex(const char *path, const struct s2fuzz_result *r, const char *name,
		     const struct s2fuzz_opts *o, bool *replay_ok)
{
	char comment[300];
	FILE *f = fopen(path, "w");

	*replay_ok = false;
	if (!f) {
		fprintf(stderr, "s2emu fuzz: cannot write %s\n", path);
		return -1;
	}
	if (o->strategy == S2FUZZ_EXHAUSTIVE)
		snprintf(comment, sizeof(comment), "found by s2emu %s fuzz %s --strategy exhaustive, "
			 "schedule %llu; shrunk", S2EMU_VERSION, name, (unsigned long long)r->runs);
	else
		snprintf(comment, sizeof(comment), "found by s2emu %s fuzz %s --strategy %s, seed %llu; "
			 "shrunk", S2EMU_VERSION, name, s2fuzz_strategy_name(o->strategy),
			 (unsigned long long)r->seed);
	int ret = s2fuzz_cex_write(f, &r->cex, comment);
	/* The writer fails only when f's error flag is set, which this reports. */
	(void)ret;
	if (cli_close_output("fuzz", f, path))
		return -1;
	struct s2trace_result tr;
	*replay_ok = s2trace_replay(path, NULL, &tr) == 0;
	s2trace_result_free(&tr);
	return 0;
}

/* Whether a strategy-specific option does anything under strategy s. */
static bool option_applies(const char *opt, enum s2fuzz_strategy s)
{
	bool r = s == S2FUZZ_RANDOM, p = s == S2FUZZ_PCT, e = s == S2FUZZ_EXHAUSTIVE;

	if (!strcmp(opt, "--depth"))
		return p;
	if (!strcmp(opt, "--bound") || !strcmp(opt, "--no-reduction") ||
	    !strcmp(opt, "--no-source-sets"))
		return e;
	if (!strcmp(opt, "--background"))
		return p || e;
	if (!strcmp(opt, "--seed") || !strcmp(opt, "--jobs"))
		return r || p;
	return true;	/* --runs, --shrink-runs: every strategy */
}

int cli_fuzz(int argc, char **argv)
{
	struct s2hyp_config cfg;
	struct s2fuzz_opts o;
	const char *name = NULL, *out = NULL;
	bool json = false, shrink = true, no_reduction = false, no_source_sets = false;
	bool shrink_runs_given = false;
	enum s2fuzz_strategy strategy = S2FUZZ_RANDOM;
	uint64_t seed = 1, runs = 0, depth = 3, background = ~0ull, bound = ~0ull, jobs = 1;
	uint64_t shrink_runs = 20000;
	int against = S2PT_V_UPSTREAM;
	bool warn = false;
	double time_limit = 0;
	const char *given[16];		/* strategy-specific options, as typed */
	unsigned ngiven = 0;
	unsigned shard = 0, nr_shards = 0;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--merge"))
			return cli_fuzz_merge(argc, argv);
	s2hyp_config_init(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int r = cli_machine_option(argc, argv, &i, &cfg, "fuzz");
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		uint64_t *num = NULL, lo = 0, hi = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--warn")) {
			warn = true;
		} else if (!strcmp(a, "--no-shrink")) {
			shrink = false;
		} else if (!strcmp(a, "--no-reduction")) {
			no_reduction = true;
			if (ngiven < 16)
				given[ngiven++] = a;
		} else if (!strcmp(a, "--no-source-sets")) {
			no_source_sets = true;
			if (ngiven < 16)
				given[ngiven++] = a;
		} else if (!strcmp(a, "--strategy")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu fuzz: --strategy needs a value\n");
				return 2;
			}
			if (s2fuzz_strategy_parse(argv[++i], &strategy)) {
				fprintf(stderr, "s2emu fuzz: unknown strategy '%s' (valid: random, pct, "
						"exhaustive)\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "--against")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu fuzz: --against needs a walker variant or none\n");
				return 2;
			}
			enum s2pt_variant v;
			if (!strcmp(argv[++i], "none")) {
				against = -1;
			} else if (s2pt_variant_parse(argv[i], &v)) {
				char list[512];
				fprintf(stderr, "s2emu fuzz: --against: unknown walker '%s' (valid: none, "
						"%s)\n", argv[i], s2pt_variant_list(list, sizeof(list)));
				return 2;
			} else {
				against = (int)v;
			}
		} else if (!strcmp(a, "--out")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "s2emu fuzz: --out needs a file\n");
				return 2;
			}
			out = argv[++i];
		} else if (!strcmp(a, "--time")) {
			char *end;
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu fuzz: --time needs a number of seconds\n");
				return 2;
			}
			time_limit = strtod(argv[++i], &end);
			if (*end || end == argv[i] || !(time_limit > 0) || time_limit > 1e7) {
				fprintf(stderr, "s2emu fuzz: --time '%s' is not a number of seconds "
						"above 0\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "--shard")) {
			if (i + 1 >= argc || cli_parse_shard(argv[++i], &shard, &nr_shards)) {
				fprintf(stderr, "s2emu fuzz: --shard needs I/N with 0 <= I < N, such as "
						"0/2, not '%s'\n", i < argc ? argv[i] : "");
				return 2;
			}
		} else if (!strcmp(a, "--seed")) {
			num = &seed, lo = 0, hi = UINT64_MAX / 2;
		} else if (!strcmp(a, "--runs")) {
			num = &runs, lo = 1, hi = 1000000000;
		} else if (!strcmp(a, "--depth")) {
			num = &depth, lo = 1, hi = 64;
		} else if (!strcmp(a, "--background")) {
			num = &background, lo = 0, hi = 1000000;
		} else if (!strcmp(a, "--bound")) {
			num = &bound, lo = 0, hi = 1000000;
		} else if (!strcmp(a, "--jobs")) {
			num = &jobs, lo = 1, hi = 64;
		} else if (!strcmp(a, "--shrink-runs")) {
			num = &shrink_runs, lo = 1, hi = 100000000;
			shrink_runs_given = true;
		} else if (a[0] == '-') {
			fprintf(stderr, "s2emu fuzz: unknown option '%s' (try 's2emu fuzz --help')\n", a);
			return 2;
		} else if (!name) {
			name = a;
		} else {
			fprintf(stderr, "s2emu fuzz: one scenario at a time ('%s' and '%s')\n", name, a);
			return 2;
		}
		if (num) {
			if (ngiven < 16)
				given[ngiven++] = a;
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu fuzz: %s needs a value\n", a);
				return 2;
			}
			if (cli_parse_u64("fuzz", a, argv[++i], lo, hi, num))
				return 2;
		}
	}
	if (!name)
		name = "random";
	/* Given at all, even as the default: nothing spends that budget. */
	if (!shrink && shrink_runs_given) {
		fprintf(stderr, "s2emu fuzz: --shrink-runs does nothing with --no-shrink\n");
		return 2;
	}
	for (unsigned k = 0; k < ngiven; k++)
		if (!option_applies(given[k], strategy)) {
			fprintf(stderr, "s2emu fuzz: %s does nothing with --strategy %s (see "
					"'s2emu fuzz --help')\n", given[k], s2fuzz_strategy_name(strategy));
			return 2;
		}
	/* Source sets are off already without reduction or under a bound. */
	if (no_source_sets && (no_reduction || bound != ~0ull)) {
		fprintf(stderr, "s2emu fuzz: --no-source-sets does nothing with %s\n",
			no_reduction ? "--no-reduction" : "--bound");
		return 2;
	}
	/* Found before the search, not after it. */
	if (out && cli_check_writable("fuzz", out))
		return 2;

	s2fuzz_opts_init(&o, strategy);
	o.seed = seed;
	if (runs)
		o.runs = runs;
	o.time_limit = time_limit;
	o.depth = (unsigned)depth;
	if (background != ~0ull)
		o.background = (unsigned)background;
	o.preemptions = bound == ~0ull ? -1 : (int)bound;
	o.jobs = (unsigned)jobs;
	o.shrink = shrink;
	o.no_reduction = no_reduction;
	o.no_source_sets = no_source_sets;
	o.shrink_runs = (unsigned)shrink_runs;
	o.against = against;
	o.warn = warn;
	o.shard = shard;
	o.nr_shards = nr_shards;
	/* --merge recounts distinct schedules over every shard's seeds. */
	o.keep_seeds = nr_shards > 1 && json;

	/* The scenario: a built-in shaped by the machine options, or a trace
	 * whose configuration the options given explicitly override. */
	struct s2hyp_scenario sc;
	char err[700] = "";
	char sname[200];
	if (!strcmp(name, "random")) {
		/* A new scenario every seed; sc is only the base configuration. */
		s2hyp_scenario_init(&sc);
		sc.cfg = cfg;
		o.generate = true;
		o.gen_pick = cli_gen_pick(argc, argv);
	} else if (is_builtin(name)) {
		/* Shaped by the options (coalesce-race keeps its two vCPUs). */
		s2fuzz_scenario_build_cfg(&sc, name, &cfg);
	} else if (access(name, F_OK) == 0) {
		if (s2trace_load_scenario(name, &sc, NULL, NULL, err, sizeof(err))) {
			fprintf(stderr, "s2emu fuzz: %s\n", err);
			s2hyp_scenario_free(&sc);
			return 2;
		}
		for (int i = 1; i < argc; i++)
			if (cli_machine_option(argc, argv, &i, &sc.cfg, "fuzz") < 0) {
				s2hyp_scenario_free(&sc);
				return 2;
			}
	} else {
		fprintf(stderr, "s2emu fuzz: '%s' is neither a built-in scenario nor a file (built-ins:",
			name);
		for (unsigned i = 0; s2fuzz_scenario_name(i); i++)
			fprintf(stderr, " %s", s2fuzz_scenario_name(i));
		fprintf(stderr, ")\n");
		return 2;
	}
	short_name(name, sname, sizeof(sname));

	struct progress pr = { .tty = isatty(STDERR_FILENO) && !json };
	o.progress = on_progress;
	o.progress_arg = &pr;
	struct s2fuzz_result *r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "s2emu fuzz: out of memory\n");
		s2hyp_scenario_free(&sc);
		return 2;
	}
	int ret = s2fuzz_run(&sc, &o, r, err, sizeof(err));
	if (pr.tty)
		fprintf(stderr, "\r%70s\r", "");
	if (ret) {
		fprintf(stderr, "s2emu fuzz: %s: %s\n", name, err);
		s2fuzz_result_free(r);
		free(r);
		s2hyp_scenario_free(&sc);
		return ret == S2_EINVAL ? 2 : 1;
	}

	char outbuf[512];
	bool replay_ok = false;
	int status = r->found || r->incomplete ? 1 : 0;
	for (unsigned f = 0; o.warn && f < S2FUZZ_NR_FINDINGS; f++)
		if (r->finding_runs[f])
			status = 1;
	if (r->have_cex) {
		if (!out) {
			snprintf(outbuf, sizeof(outbuf), "fuzz-%s-%s.s2t", sname,
				 s2hyp_rule_name(r->cex.rule));
			out = outbuf;
		}
		if (write_cex(out, r, sname, &o, &replay_ok))
			status = 2;
	}
	if (json) {
		print_json(r, &o, sname, &sc.cfg, r->have_cex ? out : NULL, replay_ok);
	} else {
		print_summary(r, &o, sname, &sc.cfg);
		if (r->have_cex) {
			printf("\n");
			s2fuzz_cex_print(stdout, &r->cex);
			if (status != 2)
				printf("\ncounterexample written to %s%s\n", out,
				       replay_ok ? "; 's2emu replay' reproduces it" :
				       " (but replay does not reproduce it: a bug of s2emu's)");
		} else if (r->found) {
			printf("\nthe run that fired %s (%zu choices) was not shrunk (--no-shrink)\n",
			       s2hyp_rule_name(r->rule), r->nsched);
		}
	}
	s2fuzz_result_free(r);
	free(r);
	s2hyp_scenario_free(&sc);
	return status;
}
