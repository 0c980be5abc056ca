/* s2fuzz: searching the interleavings of a scenario for rule violations.
 *
 * Three strategies drive the machine's scheduler (docs/fuzzing.md):
 * - random: the machine's uniform-over-threads strategy, one seed a run;
 * - pct: probabilistic concurrency testing (Burckhardt et al., ASPLOS
 *   2010): random thread priorities, d-1 random priority change points;
 * - exhaustive: every interleaving up to the bounds, by a stateless
 *   depth-first search with sleep sets over the independence relation of
 *   hyp-model/s2hyp_footprint.h, so that steps on unrelated entries, pages
 *   and lines are not permuted.
 * Each run creates a machine from the scenario and runs it to its end (or
 * to the first violation). When a rule fires, the counterexample is shrunk
 * (fewer choices, fewer program items, fewer vCPUs; the same rule must
 * still fire first) and can be written as a trace that `s2emu replay`
 * reproduces exactly.
 *
 * Random and pct results depend only on the scenario, the options and the
 * seed: seed k gives the same run whatever the number of worker processes.
 * All state is behind the caller's structures: no globals.
 */
#ifndef S2FUZZ_H
#define S2FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_scenario.h"

enum s2fuzz_strategy {
	S2FUZZ_RANDOM,
	S2FUZZ_PCT,
	S2FUZZ_EXHAUSTIVE,
};

const char *s2fuzz_strategy_name(enum s2fuzz_strategy s);
/* S2_EINVAL for an unknown name. */
int s2fuzz_strategy_parse(const char *name, enum s2fuzz_strategy *s);

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

/* The built-in scenarios of s2hyp_scenario.h and the fuzzer's own small
 * ones: the i-th one's name and one line of what it does (NULL past the
 * last), and the index of a name (-1 for none). */
const char *s2fuzz_scenario_name(unsigned i);
const char *s2fuzz_scenario_desc(unsigned i);
int s2fuzz_scenario_find(const char *name);

/* Build a named scenario; S2_EINVAL for an unknown name. sc is
 * initialised either way (free it with s2hyp_scenario_free). */
int s2fuzz_scenario_build(struct s2hyp_scenario *sc, const char *name, unsigned nr_vcpus,
			  enum s2pt_variant variant);

/* The small configuration for exhaustive search: 2 vCPUs, 4K granule, one
 * 2M THP region (a level-2 block of the granule with _cfg) mapped with pages while dirty logging was on; after it is
 * turned off, vCPU 0's fault coalesces the table into a block while vCPU 1
 * reads pages inside it. Also available by name ("coalesce-race"). */
void s2fuzz_scenario_coalesce_race(struct s2hyp_scenario *sc, enum s2pt_variant variant);
/* The same with a whole configuration (2 vCPUs whatever it says): pages of
 * its granule, a block of its level 2; and any built-in by name. */
void s2fuzz_scenario_coalesce_race_cfg(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg);
/* Two vCPUs faulting at once in one 2M region of 4K pages (2 vCPUs
 * whatever cfg says): both on its first page, then vCPU 1 on the next; the
 * VM destroyed after. Also by name ("parallel-faults"). */
void s2fuzz_scenario_parallel_faults_cfg(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg);
int s2fuzz_scenario_build_cfg(struct s2hyp_scenario *sc, const char *name,
			      const struct s2hyp_config *cfg);

/*
 * The generic generator (fuzz/generate.c, docs/fuzzing.md): a whole
 * scenario from a seed, with base's configuration except what pick says
 * to choose at random. Built-in name "random". Every scenario it makes is
 * one the correct variants pass: pages keep one class (data, code, image),
 * and the host writes only pages no vCPU touches in that phase, then
 * unmaps them.
 */
enum s2fuzz_gen_pick {
	S2FUZZ_GEN_GRANULE = 1 << 0,	/* 4K, 16K or 64K */
	S2FUZZ_GEN_VCPUS = 1 << 1,	/* 2 to 4 */
	S2FUZZ_GEN_MACHINE = 1 << 2,	/* FWB, eager splitting */
	S2FUZZ_GEN_ALL = 7,
	/* On host memory: the first slot is uffd-wp registered memfd memory,
	 * and the VMM write-protects pages, punches holes (fallocate or
	 * MADV_REMOVE, the truncation a step later) and runs its userfaultfd
	 * handler; drawn from a stream of their own (a seed's other draws stay
	 * as without it). Not in S2FUZZ_GEN_ALL. */
	S2FUZZ_GEN_UFFD = 1 << 3,
};
int s2fuzz_scenario_generate(struct s2hyp_scenario *sc, const struct s2hyp_config *base,
			     unsigned pick, uint64_t seed);

/* A deep copy (dst initialised here). */
int s2fuzz_scenario_copy(struct s2hyp_scenario *dst, const struct s2hyp_scenario *src);
/* Program items of every thread. */
size_t s2fuzz_scenario_items(const struct s2hyp_scenario *sc);

/* ------------------------------------------------------------------ */
/* Options and results                                                 */
/* ------------------------------------------------------------------ */

struct s2fuzz_progress {
	uint64_t runs;
	uint64_t distinct;	/* distinct schedules so far */
	uint64_t steps;
	double secs;
	unsigned rules;		/* distinct rules fired so far */
};

struct s2fuzz_opts {
	enum s2fuzz_strategy strategy;
	uint64_t seed;		/* random, pct: the first seed */
	uint64_t runs;		/* random, pct: seeds seed .. seed+runs-1;
				 * exhaustive: schedules at most (0: no limit) */
	double time_limit;	/* seconds, 0: none */
	unsigned depth;		/* pct: the bug depth d (d-1 change points), >= 1 */
	unsigned background;	/* pct: background events a run may take;
				 * exhaustive: background choices a schedule may hold */
	int preemptions;	/* exhaustive: preemption bound, -1: none */
	bool no_reduction;	/* exhaustive: every interleaving, no sleep sets (to
				 * measure the reduction, or to check it) */
	bool no_prediction;	/* exhaustive: run the schedules predicted to stop
				 * with every choice asleep too (to check the
				 * prediction: the search is otherwise the same) */
	bool no_source_sets;	/* exhaustive: every candidate not asleep, not only
				 * those races call for (sleep sets alone) */
	unsigned jobs;		/* random, pct: worker processes (1: in this one) */
	bool shrink;		/* shrink the first counterexample */
	unsigned shrink_runs;	/* shrinking budget in runs */
	bool keep_seeds;	/* random, pct: keep every seed's result */
	void (*progress)(void *arg, const struct s2fuzz_progress *p);
	void *progress_arg;
	/* exhaustive: called on the machine of every schedule run to its end
	 * (not those the reduction stopped early), before it is deleted */
	void (*visit)(void *arg, const struct s2hyp *m);
	void *visit_arg;
	/* random, pct: a new scenario for every seed from the generic
	 * generator, with the scenario given as the base configuration
	 * (exhaustive: the scenario of the first seed) */
	bool generate;
	unsigned gen_pick;	/* enum s2fuzz_gen_pick */
	/* The reference variant for differential shrinking (-1: none; the
	 * default is upstream) */
	int against;
	/* Efficiency findings (apart from violations): needless
	 * break-before-make in every run, and, against the reference, more
	 * TLBIs or faults than it in a sequential run of the same scenario. */
	bool warn;
	/* One shard of a search split nr_shards ways (0 or 1: unsplit), so that
	 * the shards together do exactly what the whole search does (see
	 * docs/scale-out.md). random, pct: the seeds whose index from seed is
	 * shard mod nr_shards. exhaustive: the runs whose code, the ranks of
	 * the candidates taken at the first few choice points with several
	 * awake candidates on their path (split_levels, more along the path of
	 * first candidates), hashes to shard; every shard walks the tree above
	 * those points, and runs another shard's subtree one step only, for
	 * the footprint the reduction needs, uncounted. */
	unsigned shard, nr_shards;
};

/* Efficiency findings: not violations, counted only with opts.warn. */
enum s2fuzz_finding {
	S2FUZZ_FIND_NEEDLESS_BBM,	/* a leaf broken and remade for a permission,
					 * AF or software-bit change */
	S2FUZZ_FIND_EXTRA_TLBIS,	/* more TLBIs than the reference */
	S2FUZZ_FIND_EXTRA_FAULTS,	/* more stage-2 faults than the reference */
	S2FUZZ_NR_FINDINGS
};
const char *s2fuzz_finding_name(enum s2fuzz_finding f);

/* Defaults for a strategy: seed 1, 200 runs (exhaustive: 1000000
 * schedules), depth 3, background 8 for pct and 0 for exhaustive, no
 * preemption bound, 1 job, shrinking on with 20000 runs, against upstream. */
void s2fuzz_opts_init(struct s2fuzz_opts *o, enum s2fuzz_strategy s);

/* What one seed did. */
struct s2fuzz_seed_result {
	uint64_t seed;
	uint64_t steps;
	uint64_t sched_hash;	/* of the choices made */
	s2hyp_rule_set fired;		/* bit r: rule r fired */
	int16_t rule;		/* the first rule that fired (the run stops there), -1 */
	uint8_t outcome;	/* enum s2hyp_outcome */
	uint8_t findings;	/* opts.warn: bit f, enum s2fuzz_finding */
};

/* A shrunk counterexample. */
struct s2fuzz_cex {
	struct s2hyp_scenario sc;
	struct s2hyp_choice *sched;
	size_t nsched;
	enum s2hyp_rule rule;		/* the rule that fires first */
	s2hyp_rule_set fired;			/* every rule a full replay fires (bit r) */
	struct s2hyp_violation viol;	/* the first violation of rule */
	/* where it came from, and what shrinking did */
	uint64_t seed;
	size_t items_before, items_after;
	unsigned vcpus_before, vcpus_after;
	size_t choices_before, choices_after;
	unsigned shrink_runs;
	/* Differential shrinking: the reference variant (-1: none), the rules
	 * it fires on the run found and on the result (bit r; ~0: it could not
	 * run), and the shrinking steps undone because the reference fired. */
	int against;
	s2hyp_rule_set against_fired_before, against_fired;
	unsigned undone;
};

struct s2fuzz_result {
	enum s2fuzz_strategy strategy;
	uint64_t runs;			/* schedules run */
	uint64_t steps;
	uint64_t distinct;		/* distinct schedules */
	uint64_t incomplete;		/* runs that ended in an error, a livelock or the step limit */
	char error[240];		/* the first of them */
	uint64_t fired_runs[S2HYP_NR_RULES];	/* runs whose first violation was rule r */
	uint64_t first_seed[S2HYP_NR_RULES];	/* random, pct: the lowest such seed */
	double secs;
	bool limited;			/* stopped by --runs or --time before the end */
	uint64_t finding_runs[S2FUZZ_NR_FINDINGS];	/* opts.warn: runs with finding f */
	uint64_t finding_seed[S2FUZZ_NR_FINDINGS];	/* the lowest such seed */

	bool found;			/* some rule fired */
	enum s2hyp_rule rule;		/* in the lowest seed (exhaustive: the first schedule) that fired */
	uint64_t seed;
	struct s2hyp_choice *sched;	/* that run's schedule (owned) */
	size_t nsched;
	bool have_cex;			/* shrinking ran (opts.shrink) */
	struct s2fuzz_cex cex;

	/* exhaustive */
	bool complete;			/* the bounded space was covered entirely */
	uint64_t terminal;		/* schedules run to their end: one per class of
					 * equivalent interleavings */
	uint64_t blocked;		/* runs cut short: every choice left was asleep */
	uint64_t skipped;		/* ... of them, seen so before they ran and not
					 * run (predicted footprints): not in runs */
	uint64_t pruned;		/* branches the reduction did not explore */
	uint64_t bound_cut;		/* branches the preemption bound did not explore */
	uint64_t mispredicted;		/* footprints observation had to widen */
	uint64_t source_fallbacks;	/* races no initial of which was enabled at
					 * their node: every candidate explored there */
	unsigned max_depth;
	/* exhaustive, sharded: how many choice points with several candidates
	 * a path passes before the candidates taken there pick its shard (more
	 * along the path of first candidates); when a rule fired, the index of
	 * the candidate taken at every choice of that run (the
	 * lowest path over the shards, in lexicographic order, is the run an
	 * unsplit search stops at) */
	unsigned split_levels;
	unsigned *found_path;
	size_t nfound_path;

	struct s2fuzz_seed_result *seeds;	/* opts.keep_seeds: one per seed, in order */
	size_t nseeds;
};

/*
 * Fuzz a scenario. Returns 0 (res filled, whether or not a rule fired) or
 * an error with err set: S2_EINVAL for a scenario the machine refuses,
 * S2_ENOMEM, S2_EIO when a worker process failed.
 */
int s2fuzz_run(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o,
	       struct s2fuzz_result *res, char *err, size_t errlen);
void s2fuzz_result_free(struct s2fuzz_result *res);

/* One random or pct run of one seed, with its schedule if sched is non-NULL
 * (malloc'd). steps_hint is pct's estimate of a run's length (0: measure it
 * with a sequential run). */
int s2fuzz_run_seed(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o, uint64_t seed,
		    uint64_t steps_hint, struct s2fuzz_seed_result *r, struct s2hyp_choice **sched,
		    size_t *nsched);

/* ------------------------------------------------------------------ */
/* Shrinking and reports                                               */
/* ------------------------------------------------------------------ */

/*
 * Shrink a run in which rule fired first: its scenario and schedule. Every
 * candidate is run again from scratch; it is kept when the same rule still
 * fires first. At most budget runs. out is filled (and owns its data) on 0;
 * S2_EINVAL when the given run does not fire rule.
 */
int s2fuzz_shrink(const struct s2hyp_scenario *sc, const struct s2hyp_choice *sched, size_t n,
		  enum s2hyp_rule rule, unsigned budget, struct s2fuzz_cex *out);
/*
 * Differential shrinking: the same, and every candidate kept must also
 * fire nothing on the reference variant against (the same scenario and
 * schedule, followed as far as it fits, run to the end); a step that
 * breaks that is undone. When the run given already fires on the
 * reference, shrinking keeps only the rule (out->against_fired_before
 * says so). against -1, or the scenario's own variant: s2fuzz_shrink.
 */
int s2fuzz_shrink_against(const struct s2hyp_scenario *sc, const struct s2hyp_choice *sched,
			  size_t n, enum s2hyp_rule rule, int against, unsigned budget,
			  struct s2fuzz_cex *out);
void s2fuzz_cex_free(struct s2fuzz_cex *c);

/* The counterexample as a trace with its schedule and an `expect fired`
 * line for every rule a replay fires. */
int s2fuzz_cex_write(FILE *f, const struct s2fuzz_cex *c, const char *comment);
/* For people: the rule, the program of every thread in phases, the
 * schedule, the violation report and the entry or line involved. */
void s2fuzz_cex_print(FILE *f, const struct s2fuzz_cex *c);
void s2fuzz_cex_print_json(FILE *f, const struct s2fuzz_cex *c);

/* ------------------------------------------------------------------ */
/* The bug table (docs/bugs.md)                                         */
/* ------------------------------------------------------------------ */

/* A real Linux arm64 stage-2 bug, the buggy variant that reproduces it and
 * the rule that names it (by name: the table may list a rule this build
 * lacks, which then is never found). */
struct s2fuzz_bug {
	const char *variant;
	const char *rule;
	const char *commit;	/* the Linux commit that fixed it (title, release) */
	const char *what;
	/* Generated scenarios within which the generic generator must find it;
	 * 0: S2FUZZ_BUG_BOUND. */
	uint64_t bound;
};
#define S2FUZZ_BUG_BOUND 400
/* The row's bound. */
uint64_t s2fuzz_bug_bound(const struct s2fuzz_bug *b);
/* NULL-terminated. */
extern const struct s2fuzz_bug s2fuzz_bugs[];

struct s2fuzz_hunt {
	struct s2fuzz_result res;	/* the search (the counterexample if shrink) */
	bool found;			/* the table's rule fired in some run */
	uint64_t first_seed;		/* the first such seed */
	uint64_t schedules;		/* generated scenarios run up to it */
	uint64_t runs;
	double secs, secs_to_find;	/* the whole search; up to the first find */
	bool have_cex;			/* shrink: the first find, shrunk on the table's
					 * rule against upstream */
	struct s2fuzz_cex cex;
};

/*
 * Hunt for a bug from the generic generator alone: random strategy, a
 * generated scenario every seed from 1, at most runs seeds or time_limit
 * seconds (0: none); shrink the first counterexample if asked. S2_EINVAL
 * for an unknown variant.
 */
int s2fuzz_bug_hunt(const struct s2fuzz_bug *b, uint64_t runs, double time_limit, bool shrink,
		    struct s2fuzz_hunt *h, char *err, size_t errlen);
void s2fuzz_hunt_free(struct s2fuzz_hunt *h);

#endif
