/* The fuzzer's driver: seeds, worker processes, the summary, and the
 * counterexample handed to the shrinker. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "common/s2_err.h"
#include "common/s2_map.h"
#include "common/s2_vec.h"
#include "fuzz/s2fuzz_internal.h"

const char *s2fuzz_strategy_name(enum s2fuzz_strategy s)
{
	switch (s) {
	case S2FUZZ_RANDOM: return "random";
	case S2FUZZ_PCT: return "pct";
	case S2FUZZ_EXHAUSTIVE: return "exhaustive";
	}
	return "?";
}

int s2fuzz_strategy_parse(const char *name, enum s2fuzz_strategy *s)
{
	for (int i = S2FUZZ_RANDOM; i <= S2FUZZ_EXHAUSTIVE; i++)
		if (!strcmp(name, s2fuzz_strategy_name((enum s2fuzz_strategy)i))) {
			*s = (enum s2fuzz_strategy)i;
			return 0;
		}
	return S2_EINVAL;
}

void s2fuzz_opts_init(struct s2fuzz_opts *o, enum s2fuzz_strategy s)
{
	*o = (struct s2fuzz_opts){
		.strategy = s,
		.seed = 1,
		.runs = s == S2FUZZ_EXHAUSTIVE ? 1000000 : 200,
		.depth = 3,
		.background = s == S2FUZZ_PCT ? 8 : 0,
		.preemptions = -1,
		.jobs = 1,
		.shrink = true,
		.shrink_runs = 20000,
		.against = S2PT_V_UPSTREAM,
	};
}

const char *s2fuzz_finding_name(enum s2fuzz_finding f)
{
	switch (f) {
	case S2FUZZ_FIND_NEEDLESS_BBM: return "needless-bbm";
	case S2FUZZ_FIND_EXTRA_TLBIS: return "extra-tlbis";
	case S2FUZZ_FIND_EXTRA_FAULTS: return "extra-faults";
	case S2FUZZ_NR_FINDINGS: break;
	}
	return "?";
}

/* A run of sc on variant v under the random strategy with seed, to its
 * end: its TLBIs and faults. */
static void run_work(const struct s2hyp_scenario *sc, enum s2pt_variant v, uint64_t seed,
		     uint64_t *tlbis, uint64_t *faults)
{
	struct s2hyp_scenario ref = *sc;	/* programs shared, not owned */
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;
	struct s2hyp *m;

	*tlbis = *faults = 0;
	ref.cfg.variant = v;
	if (s2fuzz__instantiate(&ref, &m, NULL, 0))
		return;
	s2hyp_stop_on_violation(m, false);
	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	s2hyp_run(m, &st);
	const struct s2hyp_stats *ms = s2hyp_stats(m);
	*tlbis = ms->tlbis;
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++)
		*faults += ms->vcpu[i].faults_translation + ms->vcpu[i].faults_permission +
			   ms->vcpu[i].faults_access_flag;
	s2hyp_delete(m);
}

/* The efficiency findings of the run of seed (its stats) of sc: needless
 * break-before-make in it; more TLBIs or faults than the reference with the
 * same scenario and seed, both run to their end under the random strategy. */
static uint8_t findings_of(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o,
			   uint64_t seed, const struct s2hyp_stats *stats)
{
	uint8_t f = 0;

	if (stats->needless_bbm)
		f |= 1u << S2FUZZ_FIND_NEEDLESS_BBM;
	if (o->against >= 0 && o->against != (int)sc->cfg.variant) {
		uint64_t t, fl, rt, rf;
		run_work(sc, sc->cfg.variant, seed, &t, &fl);
		run_work(sc, (enum s2pt_variant)o->against, seed, &rt, &rf);
		if (t > rt)
			f |= 1u << S2FUZZ_FIND_EXTRA_TLBIS;
		if (fl > rf)
			f |= 1u << S2FUZZ_FIND_EXTRA_FAULTS;
	}
	return f;
}

/* ------------------------------------------------------------------ */
/* One seed                                                            */
/* ------------------------------------------------------------------ */

/* One seed on *keep when it is not NULL (the machine of the seed before,
 * reset), leaving the machine there for the next; a generated scenario
 * gets a machine of its own. */
static int run_seed(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o, uint64_t seed,
		    uint64_t steps_hint, struct s2fuzz_seed_result *r, struct s2hyp_choice **sched,
		    size_t *nsched, struct s2hyp **keep)
{
	struct s2hyp *m = NULL;
	struct s2hyp_rng rng;
	struct s2fuzz__pct pct;
	struct s2hyp_strategy inner;
	struct s2fuzz__hashing hs = { .inner = &inner, .h = 0xcbf29ce484222325ull };
	struct s2hyp_strategy st = s2fuzz__hashing_template;
	int ret;

	struct s2hyp_scenario gen;

	memset(r, 0, sizeof(*r));
	r->seed = seed;
	r->rule = -1;
	if (o->generate) {
		if ((ret = s2fuzz_scenario_generate(&gen, &sc->cfg, o->gen_pick, seed))) {
			s2hyp_scenario_free(&gen);
			return ret;
		}
		sc = &gen;
		steps_hint = 0;
	}
	if (o->generate)
		keep = NULL;
	if (keep) {
		ret = s2fuzz__reinstantiate(sc, keep, NULL, 0);
		m = *keep;
	} else {
		ret = s2fuzz__instantiate(sc, &m, NULL, 0);
	}
	if (ret) {
		if (o->generate)
			s2hyp_scenario_free(&gen);
		return ret;
	}
	if (o->strategy == S2FUZZ_PCT) {
		uint64_t k = steps_hint ? steps_hint : s2fuzz__sequential_steps(sc);
		s2fuzz__pct_init(&pct, sc->cfg.nr_vcpus, o->depth, k + o->background, o->background,
				 seed);
		inner = s2fuzz__pct_template;
		inner.arg = &pct;
	} else {
		s2hyp_rng_seed(&rng, seed);
		inner = s2hyp_strategy_random_template;
		inner.arg = &rng;
	}
	st.arg = &hs;
	s2fuzz__hashing_lazy(&st, &inner);
	s2hyp_record_schedule(m, sched != NULL);
	r->outcome = (uint8_t)s2hyp_run(m, &st);
	const struct s2hyp_stats *stats = s2hyp_stats(m);
	r->steps = stats->steps;
	r->sched_hash = s2fuzz__mix(hs.h, r->steps);
	for (unsigned i = 0; i < S2HYP_NR_RULES; i++)
		if (stats->violations[i])
			r->fired |= S2HYP_RULE_BIT(i);
	if (s2hyp_nr_violations(m))
		r->rule = (int16_t)s2hyp_violation(m, 0)->rule;
	if (o->warn)
		r->findings = findings_of(sc, o, seed, stats);
	if (sched) {
		size_t n;
		const struct s2hyp_choice *s = s2hyp_schedule(m, &n);
		*sched = malloc((n ? n : 1) * sizeof(**sched));
		if (!*sched) {
			if (!keep)
				s2hyp_delete(m);
			if (o->generate)
				s2hyp_scenario_free(&gen);
			return S2_ENOMEM;
		}
		memcpy(*sched, s, n * sizeof(**sched));
		*nsched = n;
	}
	if (!keep)
		s2hyp_delete(m);
	if (o->generate)
		s2hyp_scenario_free(&gen);
	return 0;
}

int s2fuzz_run_seed(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o, uint64_t seed,
		    uint64_t steps_hint, struct s2fuzz_seed_result *r, struct s2hyp_choice **sched,
		    size_t *nsched)
{
	return run_seed(sc, o, seed, steps_hint, r, sched, nsched, NULL);
}

/* ------------------------------------------------------------------ */
/* The summary                                                         */
/* ------------------------------------------------------------------ */

struct driver {
	const struct s2hyp_scenario *sc;
	const struct s2fuzz_opts *o;
	struct s2fuzz_result *res;
	struct s2_map seen;		/* distinct schedule hashes (0 kept as 1) */
	unsigned rules;
	double t0;
	unsigned seeds_cap;
};

static void absorb(struct driver *d, const struct s2fuzz_seed_result *r)
{
	struct s2fuzz_result *res = d->res;

	res->runs++;
	res->steps += r->steps;
	uint64_t key = r->sched_hash ? r->sched_hash : 1, one;
	if (!s2_map_get(&d->seen, key, &one) && !s2_map_put(&d->seen, key, 1) && !res->error[0])
		snprintf(res->error, sizeof(res->error),
			 "out of memory counting distinct schedules: the count is a lower bound");
	res->distinct = d->seen.n;
	if (r->rule >= 0 && r->rule < S2HYP_NR_RULES) {
		if (!res->fired_runs[r->rule]++) {
			d->rules++;
			res->first_seed[r->rule] = r->seed;
		} else if (r->seed < res->first_seed[r->rule]) {
			res->first_seed[r->rule] = r->seed;
		}
		if (!res->found || r->seed < res->seed) {
			res->found = true;
			res->seed = r->seed;
			res->rule = (enum s2hyp_rule)r->rule;
		}
	} else if (r->outcome != S2HYP_DONE) {
		if (!res->incomplete++)
			snprintf(res->error, sizeof(res->error), "seed %llu: the run ended: %s",
				 (unsigned long long)r->seed,
				 s2hyp_outcome_name((enum s2hyp_outcome)r->outcome));
	}
	for (unsigned f = 0; f < S2FUZZ_NR_FINDINGS; f++)
		if (r->findings & (1u << f)) {
			if (!res->finding_runs[f]++ || r->seed < res->finding_seed[f])
				res->finding_seed[f] = r->seed;
		}
	if (d->o->keep_seeds) {
		if (res->nseeds < UINT_MAX &&
		    s2_grow((void **)&res->seeds, &d->seeds_cap, sizeof(*res->seeds),
			    (unsigned)res->nseeds + 1))
			res->seeds[res->nseeds++] = *r;
	}
	if (d->o->progress) {
		struct s2fuzz_progress p = { res->runs, res->distinct, res->steps,
					     s2_now_s() - d->t0, d->rules };
		d->o->progress(d->o->progress_arg, &p);
	}
}

static bool out_of_time(const struct driver *d)
{
	return d->o->time_limit > 0 && s2_now_s() - d->t0 >= d->o->time_limit;
}

/* Sharding: this shard's t-th seed index, and how many it has. */
static unsigned nr_shards(const struct s2fuzz_opts *o)
{
	return o->nr_shards > 1 ? o->nr_shards : 1;
}

static uint64_t owned_runs(const struct s2fuzz_opts *o)
{
	uint64_t n = nr_shards(o), s = o->nr_shards > 1 ? o->shard : 0;
	return o->runs > s ? (o->runs - s + n - 1) / n : 0;
}

static uint64_t owned_index(const struct s2fuzz_opts *o, uint64_t t)
{
	return (o->nr_shards > 1 ? o->shard : 0) + t * nr_shards(o);
}

/* Seeds one after another on one machine, reset between them. */
static int run_here(struct driver *d, uint64_t k)
{
	struct s2hyp *m = NULL;
	int ret = 0;

	for (uint64_t t = 0; t < owned_runs(d->o); t++) {
		uint64_t i = owned_index(d->o, t);
		struct s2fuzz_seed_result r;
		if (out_of_time(d)) {
			d->res->limited = true;
			break;
		}
		ret = run_seed(d->sc, d->o, d->o->seed + i, k, &r, NULL, NULL, &m);
		if (ret)
			break;
		absorb(d, &r);
	}
	s2hyp_delete(m);
	return ret;
}

static bool write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* A worker runs seeds seed+j, seed+j+jobs, ... and writes each result;
 * a result is one record per seed, so the parent's summary does not
 * depend on how the seeds were shared out. */
static void worker(struct driver *d, unsigned j, unsigned jobs, uint64_t k, int fd)
{
	struct s2hyp *m = NULL;

	for (uint64_t t = j; t < owned_runs(d->o); t += jobs) {
		uint64_t i = owned_index(d->o, t);
		struct s2fuzz_seed_result r;
		if (out_of_time(d))
			break;
		if (run_seed(d->sc, d->o, d->o->seed + i, k, &r, NULL, NULL, &m) ||
		    !write_all(fd, &r, sizeof(r)))
			_exit(1);
	}
	_exit(0);
}

static int run_workers(struct driver *d, uint64_t k, char *err, size_t errlen)
{
	unsigned jobs = d->o->jobs;
	struct pollfd pfd[64];
	pid_t pid[64];
	size_t have[64] = { 0 };
	struct s2fuzz_seed_result buf[64];
	unsigned live = 0;
	int ret = 0;

	if (jobs > 64)
		jobs = 64;
	if ((uint64_t)jobs > owned_runs(d->o))
		jobs = (unsigned)owned_runs(d->o);
	if (!jobs)
		return 0;
	for (unsigned j = 0; j < jobs; j++) {
		int p[2];
		if (pipe(p)) {
			snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
			ret = S2_EIO;
			jobs = j;
			break;
		}
		fflush(NULL);
		pid[j] = fork();
		if (pid[j] < 0) {
			snprintf(err, errlen, "cannot fork a worker: %s", strerror(errno));
			close(p[0]);
			close(p[1]);
			ret = S2_EIO;
			jobs = j;
			break;
		}
		if (!pid[j]) {
			close(p[0]);
			for (unsigned i = 0; i < j; i++)
				close(pfd[i].fd);
			worker(d, j, jobs, k, p[1]);
		}
		close(p[1]);
		pfd[j] = (struct pollfd){ .fd = p[0], .events = POLLIN };
		live++;
	}
	while (live) {
		if (poll(pfd, jobs, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			ret = S2_EIO;
			break;
		}
		for (unsigned j = 0; j < jobs; j++) {
			if (pfd[j].fd < 0 || !(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = read(pfd[j].fd, (char *)&buf[j] + have[j], sizeof(buf[j]) - have[j]);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pfd[j].fd);
				pfd[j].fd = -1;
				live--;
				continue;
			}
			have[j] += (size_t)r;
			if (have[j] == sizeof(buf[j])) {
				absorb(d, &buf[j]);
				have[j] = 0;
			}
		}
	}
	for (unsigned j = 0; j < jobs; j++) {
		int status;
		if (pfd[j].fd >= 0)
			close(pfd[j].fd);
		while (waitpid(pid[j], &status, 0) < 0 && errno == EINTR)
			;
		if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			snprintf(err, errlen, "worker %u failed", j);
			ret = S2_EIO;
		}
	}
	if (!ret && out_of_time(d) && d->res->runs < owned_runs(d->o))
		d->res->limited = true;
	return ret;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

static int cmp_seed(const void *a, const void *b)
{
	const struct s2fuzz_seed_result *x = a, *y = b;
	return x->seed < y->seed ? -1 : x->seed > y->seed;
}

int s2fuzz_run(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o,
	       struct s2fuzz_result *res, char *err, size_t errlen)
{
	struct driver d = { .sc = sc, .o = o, .res = res, .t0 = s2_now_s() };
	struct s2hyp *m;
	int ret;

	struct s2hyp_scenario gen;
	bool have_gen = false;

	memset(res, 0, sizeof(*res));
	res->strategy = o->strategy;
	if (o->generate) {
		/* Exhaustive search covers the first seed's scenario; random and
		 * pct make one a seed, and the one that fired is shrunk. */
		if ((ret = s2fuzz_scenario_generate(&gen, &sc->cfg, o->gen_pick, o->seed))) {
			s2hyp_scenario_free(&gen);
			return ret;
		}
		have_gen = true;
		if (o->strategy == S2FUZZ_EXHAUSTIVE) {
			struct s2fuzz_opts eo = *o;
			eo.generate = false;
			ret = s2fuzz_run(&gen, &eo, res, err, errlen);
			s2hyp_scenario_free(&gen);
			return ret;
		}
	}
	/* A scenario the machine refuses is bad input, not a failed run. */
	if ((ret = s2fuzz__instantiate(have_gen ? &gen : sc, &m, err, errlen))) {
		if (have_gen)
			s2hyp_scenario_free(&gen);
		return ret;
	}
	s2hyp_delete(m);

	if (o->strategy == S2FUZZ_EXHAUSTIVE) {
		ret = s2fuzz__explore(sc, o, res, err, errlen);
	} else {
		uint64_t k = o->strategy == S2FUZZ_PCT ? s2fuzz__sequential_steps(sc) : 0;
		ret = o->jobs > 1 && owned_runs(o) > 1 ? run_workers(&d, k, err, errlen)
						       : run_here(&d, k);
		if (!ret && res->found) {
			struct s2fuzz_seed_result r;
			ret = s2fuzz_run_seed(sc, o, res->seed, k, &r, &res->sched, &res->nsched);
		}
		if (res->seeds)
			qsort(res->seeds, res->nseeds, sizeof(*res->seeds), cmp_seed);
	}
	s2_map_free(&d.seen);
	res->secs = s2_now_s() - d.t0;
	if (have_gen)
		s2hyp_scenario_free(&gen);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "%s", s2_err_msg(ret));
		return ret;
	}
	if (res->found && o->shrink) {
		const struct s2hyp_scenario *fired = sc;
		/* Generated: the scenario of the seed that fired. */
		if (o->generate) {
			if ((ret = s2fuzz_scenario_generate(&gen, &sc->cfg, o->gen_pick, res->seed))) {
				s2hyp_scenario_free(&gen);
				return ret;
			}
			fired = &gen;
		}
		ret = s2fuzz_shrink_against(fired, res->sched, res->nsched, res->rule, o->against,
					    o->shrink_runs, &res->cex);
		if (o->generate)
			s2hyp_scenario_free(&gen);
		if (ret) {
			snprintf(err, errlen, "the counterexample does not reproduce: %s",
				 s2_err_msg(ret));
			return ret;
		}
		res->cex.seed = res->seed;
		res->have_cex = true;
	}
	return 0;
}

void s2fuzz_result_free(struct s2fuzz_result *res)
{
	free(res->sched);
	free(res->seeds);
	free(res->found_path);
	if (res->have_cex)
		s2fuzz_cex_free(&res->cex);
	memset(res, 0, sizeof(*res));
}
