/*
 * Shrinking a counterexample: fewer choices, fewer program items, fewer
 * vCPUs, smaller host writes. Every candidate is run from scratch under
 * the forgiving follower (strategy.c) and kept when the same rule still
 * fires first; what the follower really chose becomes the new schedule,
 * so the schedule kept is always exact, whatever the candidate was.
 *
 * The passes are greedy chunk removals in the manner of delta debugging:
 * first everything sequential, then without background choices, then
 * chunks of halving size from the end (late choices matter least), then
 * each remaining choice replaced by the sequential one; the same chunk
 * removal over program items, then whole vCPUs (dropped, or merged into
 * vCPU 0), then smaller host writes, then memslots and configuration
 * the run does not need (a slot dropped, a feature or a slot's flag turned
 * off). Rounds repeat until nothing shrinks or the budget is spent.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/s2fuzz_internal.h"

struct shrinker {
	struct s2hyp_scenario sc;
	struct s2hyp_choice *sched;
	size_t n;
	struct s2fuzz__step *steps;	/* the kept run's steps, up to n */
	enum s2hyp_rule rule;
	/* host-mm: the host rule its report names ("cow-isolation:"), kept
	 * too, so that shrinking does not trade a leak for an easier break */
	char host_rule[40];
	unsigned runs, budget;
	bool oom;
	int against;		/* the reference variant a candidate must pass, -1: none */
	unsigned undone;	/* candidates that fired but also fired on the reference */
};

/*
 * The candidate's scenario and schedule on the reference variant, the
 * schedule followed as far as it fits (the reference's walker makes other
 * effects) and to the end: the rules that fire there (bit r), or ~0 when
 * the run cannot be made.
 */
static s2hyp_rule_set reference_fires(const struct s2hyp_scenario *sc, int against,
				const struct s2hyp_choice *sched, size_t n)
{
	struct s2hyp_scenario ref = *sc;
	struct s2fuzz__follow f;
	struct s2hyp_strategy st = s2fuzz__follow_template;
	struct s2hyp *m;
	s2hyp_rule_set fired = 0;

	/* Only the configuration differs: the programs are shared, not owned. */
	ref.cfg.variant = (enum s2pt_variant)against;
	if (s2fuzz__instantiate(&ref, &m, NULL, 0))
		return ~0u;
	s2hyp_stop_on_violation(m, false);
	s2fuzz__follow_init(&f, sched, n);
	st.arg = &f;
	s2hyp_run(m, &st);
	const struct s2hyp_stats *stats = s2hyp_stats(m);
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (stats->violations[r])
			fired |= S2HYP_RULE_BIT(r);
	if (f.oom)
		fired = ~(s2hyp_rule_set)0;
	s2fuzz__follow_free(&f);
	s2hyp_delete(m);
	return fired;
}

/* Whether m's first violation is the finding being shrunk; the first call
 * (host_rule still empty) takes the host rule of a host-mm report. */
static bool same_finding(struct shrinker *s, const struct s2hyp *m)
{
	if (!s2hyp_nr_violations(m) || s2hyp_violation(m, 0)->rule != s->rule)
		return false;
	if (s->rule != S2HYP_RULE_HOST_MM)
		return true;
	const char *d = s2hyp_violation(m, 0)->detail;
	size_t n = strcspn(d, ":");
	if (!s->host_rule[0] && n < sizeof(s->host_rule)) {
		memcpy(s->host_rule, d, n);
		s->host_rule[n] = 0;
	}
	return n == strlen(s->host_rule) && !strncmp(d, s->host_rule, n);
}

/* Run a candidate (cand: a scenario to adopt, or NULL for the current one
 * with another schedule). Adopted on success, freed otherwise. */
static bool try(struct shrinker *s, struct s2hyp_scenario *cand, const struct s2hyp_choice *want,
		size_t nwant)
{
	const struct s2hyp_scenario *sc = cand ? cand : &s->sc;
	struct s2fuzz__follow f;
	struct s2hyp_strategy st = s2fuzz__follow_template;
	struct s2hyp *m;
	bool ok = false;

	if (s->runs >= s->budget || s->oom)
		goto reject;
	s->runs++;
	if (s2fuzz__instantiate(sc, &m, NULL, 0))
		goto reject;
	s2fuzz__follow_init(&f, want, nwant);
	st.arg = &f;
	s2hyp_run(m, &st);
	ok = !f.oom && same_finding(s, m);
	s2hyp_delete(m);
	if (!ok) {
		s2fuzz__follow_free(&f);
		goto reject;
	}
	size_t n = s2fuzz__follow_exact_len(&f);
	/* Differential: a step that makes the reference fire too no longer
	 * shows the bug; it is undone. */
	if (s->against >= 0) {
		struct s2hyp_choice *exact = malloc((n ? n : 1) * sizeof(*exact));
		if (!exact) {
			s->oom = true;
			s2fuzz__follow_free(&f);
			goto reject;
		}
		for (size_t i = 0; i < n; i++)
			exact[i] = f.steps[i].c;
		s->runs++;
		s2hyp_rule_set ref = reference_fires(sc, s->against, exact, n);
		free(exact);
		if (ref) {
			s->undone++;
			s2fuzz__follow_free(&f);
			goto reject;
		}
	}
	struct s2hyp_choice *sched = malloc((n ? n : 1) * sizeof(*sched));
	if (!sched) {
		s->oom = true;
		s2fuzz__follow_free(&f);
		goto reject;
	}
	for (size_t i = 0; i < n; i++)
		sched[i] = f.steps[i].c;
	free(s->sched);
	free(s->steps);
	s->sched = sched;
	s->n = n;
	s->steps = f.steps;
	if (cand) {
		s2hyp_scenario_free(&s->sc);
		s->sc = *cand;
	}
	return true;
reject:
	if (cand)
		s2hyp_scenario_free(cand);
	return false;
}

static bool budget_left(const struct shrinker *s)
{
	return s->runs < s->budget && !s->oom;
}

/* The current schedule without [lo, hi), or with choices filtered. */
static struct s2hyp_choice *copy_without(const struct shrinker *s, size_t lo, size_t hi,
					 bool drop_background, size_t *n)
{
	struct s2hyp_choice *c = malloc((s->n ? s->n : 1) * sizeof(*c));
	*n = 0;
	if (!c)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (i >= lo && i < hi)
			continue;
		if (drop_background && s2hyp_choice_is_background(&s->sched[i]))
			continue;
		c[(*n)++] = s->sched[i];
	}
	return c;
}

static bool shrink_schedule(struct shrinker *s)
{
	bool progress = false;
	size_t n;

	if (!s->n)
		return false;
	if (try(s, NULL, NULL, 0))
		return true;
	struct s2hyp_choice *c = copy_without(s, 0, 0, true, &n);
	if (c && n < s->n)
		progress |= try(s, NULL, c, n);
	free(c);
	for (size_t k = s->n / 2 ? s->n / 2 : 1; budget_left(s); k /= 2) {
		for (size_t i = s->n; i > 0 && budget_left(s);) {
			size_t lo = i > k ? i - k : 0;
			c = copy_without(s, lo, i, false, &n);
			if (c && try(s, NULL, c, n)) {
				progress = true;
				i = lo < s->n ? lo : s->n;
			} else {
				i = lo;
			}
			free(c);
		}
		if (k <= 1)
			break;
	}
	/* A preemption replaced by what the sequential schedule would do. */
	for (size_t i = s->n; i-- > 0 && budget_left(s);) {
		if (i >= s->n || !s->steps || s->steps[i].idx == 0)
			continue;
		c = copy_without(s, 0, 0, false, &n);
		if (!c)
			break;
		c[i] = s->steps[i].first;
		if (try(s, NULL, c, n))
			progress = true;
		free(c);
	}
	return progress;
}

/* Items are numbered host first, then vCPU 0, 1, ... */
static bool copy_program_without(const struct shrinker *s, size_t lo, size_t hi,
				 struct s2hyp_scenario *out)
{
	const struct s2hyp_scenario *sc = &s->sc;
	size_t k = 0;

	s2hyp_scenario_init(out);
	out->cfg = sc->cfg;
	memcpy(out->slots, sc->slots, sizeof(out->slots));
	out->nr_slots = sc->nr_slots;
	for (size_t i = 0; i < sc->nhost; i++, k++)
		if ((k < lo || k >= hi) && s2hyp_scenario_add_host(out, &sc->host[i]))
			return false;
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		for (size_t i = 0; i < sc->nvcpu[v]; i++, k++)
			if ((k < lo || k >= hi) && s2hyp_scenario_add_vcpu(out, v, &sc->vcpu[v][i]))
				return false;
	return true;
}

static bool shrink_items(struct shrinker *s)
{
	bool progress = false;
	size_t total = s2fuzz_scenario_items(&s->sc);

	for (size_t k = total / 2 ? total / 2 : 1; budget_left(s); k /= 2) {
		for (size_t i = s2fuzz_scenario_items(&s->sc); i > 0 && budget_left(s);) {
			size_t lo = i > k ? i - k : 0;
			struct s2hyp_scenario cand;
			if (!copy_program_without(s, lo, i, &cand)) {
				s2hyp_scenario_free(&cand);
				s->oom = true;
				break;
			}
			if (try(s, &cand, s->sched, s->n))
				progress = true;
			i = lo;
		}
		if (k <= 1)
			break;
	}
	return progress;
}

/* Without vCPU v: the later ones move down, and so do their choices. With
 * merge, v's items join vCPU 0's program first (in phase order, vCPU 0's
 * first within a phase): one thread may show what two did. */
static bool drop_vcpu(struct shrinker *s, unsigned v, bool merge)
{
	struct s2hyp_scenario cand;
	unsigned nv = s->sc.cfg.nr_vcpus;

	if (s2fuzz_scenario_copy(&cand, &s->sc)) {
		s2hyp_scenario_free(&cand);
		return false;
	}
	if (merge) {
		const struct s2hyp_vcpu_op *a = s->sc.vcpu[0], *b = s->sc.vcpu[v];
		size_t na = s->sc.nvcpu[0], nb = s->sc.nvcpu[v], i = 0, j = 0;
		cand.nvcpu[0] = 0;
		while (i < na || j < nb) {
			bool take_a = j == nb || (i < na && a[i].phase <= b[j].phase);
			if (s2hyp_scenario_add_vcpu(&cand, 0, take_a ? &a[i++] : &b[j++])) {
				s2hyp_scenario_free(&cand);
				return false;
			}
		}
	}
	free(cand.vcpu[v]);
	for (unsigned i = v; i + 1 < S2HYP_MAX_VCPUS; i++) {
		cand.vcpu[i] = cand.vcpu[i + 1];
		cand.nvcpu[i] = cand.nvcpu[i + 1];
		cand.vcpu_cap[i] = cand.vcpu_cap[i + 1];
	}
	cand.vcpu[S2HYP_MAX_VCPUS - 1] = NULL;
	cand.nvcpu[S2HYP_MAX_VCPUS - 1] = cand.vcpu_cap[S2HYP_MAX_VCPUS - 1] = 0;
	cand.cfg.nr_vcpus = nv - 1;

	struct s2hyp_choice *c = malloc((s->n ? s->n : 1) * sizeof(*c));
	size_t n = 0;
	if (!c) {
		s2hyp_scenario_free(&cand);
		return false;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct s2hyp_choice ch = s->sched[i];
		bool per_vcpu = ch.kind == S2HYP_CH_VCPU || ch.kind == S2HYP_CH_PREFETCH ||
				ch.kind == S2HYP_CH_TLB_EVICT;
		if (per_vcpu && ch.vcpu == v)
			continue;
		if (per_vcpu && ch.vcpu > v)
			ch.vcpu--;
		c[n++] = ch;
	}
	bool ok = try(s, &cand, c, n);
	free(c);
	return ok;
}

static bool shrink_vcpus(struct shrinker *s)
{
	bool progress = false;
	for (unsigned v = s->sc.cfg.nr_vcpus; v-- > 0 && s->sc.cfg.nr_vcpus > 1 && budget_left(s);)
		progress |= drop_vcpu(s, v, false);
	for (unsigned v = s->sc.cfg.nr_vcpus; v-- > 1 && budget_left(s);)
		progress |= drop_vcpu(s, v, true);
	return progress;
}

/* A host write of one line may show what one of many pages did. */
static bool shrink_writes(struct shrinker *s)
{
	bool progress = false;
	uint64_t line = s->sc.cfg.line_bytes ? s->sc.cfg.line_bytes : 64;

	for (size_t i = 0; i < s->sc.nhost && budget_left(s); i++) {
		const uint64_t sizes[] = { 4096, line };
		for (unsigned j = 0; j < 2; j++) {
			if (s->sc.host[i].kind != S2HYP_HOST_WRITE || s->sc.host[i].size <= sizes[j])
				continue;
			struct s2hyp_scenario cand;
			if (s2fuzz_scenario_copy(&cand, &s->sc)) {
				s2hyp_scenario_free(&cand);
				return progress;
			}
			cand.host[i].size = sizes[j];
			progress |= try(s, &cand, s->sched, s->n);
		}
	}
	return progress;
}

/* Without memslot k: the later slots move down, and so do the slot numbers
 * of the dirty-log events; those naming k go with it. A slot that no
 * remaining event uses always goes; one in use goes when the rule still
 * fires without it (its accesses become MMIO exits). */
static bool drop_slot(struct shrinker *s, unsigned k)
{
	struct s2hyp_scenario cand;

	s2hyp_scenario_init(&cand);
	cand.cfg = s->sc.cfg;
	for (unsigned i = 0; i < s->sc.nr_slots; i++)
		if (i != k)
			cand.slots[cand.nr_slots++] = s->sc.slots[i];
	for (size_t i = 0; i < s->sc.nhost; i++) {
		struct s2hyp_host_op h = s->sc.host[i];
		bool names_slot = h.kind == S2HYP_HOST_DIRTY_LOG_ON ||
				  h.kind == S2HYP_HOST_DIRTY_LOG_OFF ||
				  h.kind == S2HYP_HOST_GET_DIRTY_LOG;
		if (names_slot && h.slot == k)
			continue;
		if (names_slot && h.slot > k)
			h.slot--;
		if (s2hyp_scenario_add_host(&cand, &h)) {
			s2hyp_scenario_free(&cand);
			s->oom = true;
			return false;
		}
	}
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		for (size_t i = 0; i < s->sc.nvcpu[v]; i++)
			if (s2hyp_scenario_add_vcpu(&cand, v, &s->sc.vcpu[v][i])) {
				s2hyp_scenario_free(&cand);
				s->oom = true;
				return false;
			}
	return try(s, &cand, s->sched, s->n);
}

/* Configuration the counterexample does not need: each feature or option
 * that is on, turned off when the rule still fires without it; so is a
 * slot's dirty logging from the start, and its read-only flag. */
static bool shrink_config(struct shrinker *s)
{
	bool progress = false;

	for (unsigned k = s->sc.nr_slots; k-- > 0 && s->sc.nr_slots > 1 && budget_left(s);)
		progress |= drop_slot(s, k);
	for (unsigned f = 0; budget_left(s); f++) {
		struct s2hyp_scenario cand;
		if (s2fuzz_scenario_copy(&cand, &s->sc)) {
			s2hyp_scenario_free(&cand);
			s->oom = true;
			break;
		}
		struct s2hyp_config *c = &cand.cfg;
		bool *flags[] = { &c->fwb, &c->idc, &c->dic, &c->eager_split, &c->rcu_free,
				  &c->range_tlbi, &c->hw_af };
		unsigned nflags = sizeof(flags) / sizeof(flags[0]);
		bool *flag = NULL;
		if (f < nflags)
			flag = flags[f];
		else if (f - nflags < 2 * cand.nr_slots)
			flag = (f - nflags) % 2 ? &cand.slots[(f - nflags) / 2].readonly
						: &cand.slots[(f - nflags) / 2].dirty_log;
		if (!flag) {
			s2hyp_scenario_free(&cand);
			break;
		}
		if (!*flag) {
			s2hyp_scenario_free(&cand);
			continue;
		}
		*flag = false;
		progress |= try(s, &cand, s->sched, s->n);
	}
	return progress;
}

/* Phases renumbered 0, 1, ... in order: the same ordering, easier to read. */
static void compact_phases(struct s2hyp_scenario *sc)
{
	unsigned next = 0;
	for (;;) {
		unsigned p = ~0u, q;
		for (size_t i = 0; i < sc->nhost; i++)
			if (sc->host[i].phase >= next && sc->host[i].phase < p)
				p = sc->host[i].phase;
		for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
			for (size_t i = 0; i < sc->nvcpu[v]; i++)
				if (sc->vcpu[v][i].phase >= next && sc->vcpu[v][i].phase < p)
					p = sc->vcpu[v][i].phase;
		if (p == ~0u)
			return;
		q = next;
		for (size_t i = 0; i < sc->nhost; i++)
			if (sc->host[i].phase == p)
				sc->host[i].phase = q;
		for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
			for (size_t i = 0; i < sc->nvcpu[v]; i++)
				if (sc->vcpu[v][i].phase == p)
					sc->vcpu[v][i].phase = q;
		next = q + 1;
	}
}

/* The final run, as replay will do it: the schedule then sequential to the
 * end, without stopping at the first violation. */
static int final_run(struct s2fuzz_cex *out)
{
	struct s2hyp *m;
	struct s2hyp_replay rp = { .sched = out->sched, .n = out->nsched };
	struct s2hyp_strategy st = s2hyp_strategy_replay_template;
	int ret = s2fuzz__instantiate(&out->sc, &m, NULL, 0);

	if (ret)
		return ret;
	s2hyp_stop_on_violation(m, false);
	st.arg = &rp;
	s2hyp_run(m, &st);
	const struct s2hyp_stats *stats = s2hyp_stats(m);
	out->fired = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (stats->violations[r])
			out->fired |= S2HYP_RULE_BIT(r);
	ret = S2_EINVAL;
	if (!rp.diverged && s2hyp_nr_violations(m) && s2hyp_violation(m, 0)->rule == out->rule) {
		out->viol = *s2hyp_violation(m, 0);
		ret = 0;
	}
	s2hyp_delete(m);
	return ret;
}

int s2fuzz_shrink(const struct s2hyp_scenario *sc, const struct s2hyp_choice *sched, size_t n,
		  enum s2hyp_rule rule, unsigned budget, struct s2fuzz_cex *out)
{
	return s2fuzz_shrink_against(sc, sched, n, rule, -1, budget, out);
}

int s2fuzz_shrink_against(const struct s2hyp_scenario *sc, const struct s2hyp_choice *sched,
			  size_t n, enum s2hyp_rule rule, int against, unsigned budget,
			  struct s2fuzz_cex *out)
{
	struct shrinker s = { .rule = rule, .budget = budget + 1, .against = -1 };
	int ret;

	memset(out, 0, sizeof(*out));
	out->against = -1;
	if (against >= 0 && against == (int)sc->cfg.variant)
		against = -1;	/* nothing to compare with */
	if ((ret = s2fuzz_scenario_copy(&s.sc, sc))) {
		s2hyp_scenario_free(&s.sc);
		return ret;
	}
	/* The run as given, which also makes its schedule exact. */
	if (!try(&s, NULL, sched, n)) {
		s2hyp_scenario_free(&s.sc);
		return S2_EINVAL;
	}
	/* From here on every step must keep the reference clean, if the run
	 * found keeps it clean (else the scenario shows nothing the reference
	 * does not, and shrinking keeps only the rule). */
	if (against >= 0) {
		out->against = against;
		out->against_fired_before = reference_fires(&s.sc, against, s.sched, s.n);
		if (!out->against_fired_before)
			s.against = against;
	}
	out->items_before = s2fuzz_scenario_items(sc);
	out->vcpus_before = sc->cfg.nr_vcpus;
	out->choices_before = n;
	for (unsigned round = 0; round < 8 && budget_left(&s); round++) {
		bool progress = shrink_schedule(&s);
		progress |= shrink_items(&s);
		progress |= shrink_vcpus(&s);
		progress |= shrink_writes(&s);
		progress |= shrink_config(&s);
		if (!progress)
			break;
	}
	compact_phases(&s.sc);
	free(s.steps);
	out->sc = s.sc;
	out->sched = s.sched;
	out->nsched = s.n;
	out->rule = rule;
	out->items_after = s2fuzz_scenario_items(&out->sc);
	out->vcpus_after = out->sc.cfg.nr_vcpus;
	out->choices_after = s.n;
	out->shrink_runs = s.runs;
	out->undone = s.undone;
	if (against >= 0)
		out->against_fired = reference_fires(&out->sc, against, out->sched, out->nsched);
	if ((ret = final_run(out))) {
		s2fuzz_cex_free(out);
		return ret;
	}
	return 0;
}

void s2fuzz_cex_free(struct s2fuzz_cex *c)
{
	s2hyp_scenario_free(&c->sc);
	free(c->sched);
	c->sched = NULL;
	c->nsched = 0;
}
