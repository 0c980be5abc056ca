/* The fuzzer's scheduling strategies: PCT, a hashing wrapper, and the
 * forgiving schedule follower that shrinking runs candidates with. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/s2_vec.h"
#include "fuzz/s2fuzz_internal.h"

uint64_t s2fuzz__mix(uint64_t h, uint64_t v)
{
	/* A word at a time (a schedule's hash takes one or two a step): for
	 * each v a bijection of h (xor, an odd multiplier, an xorshift), so
	 * two schedules of one length differ in hash unless by chance. */
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

int s2fuzz__instantiate(const struct s2hyp_scenario *sc, struct s2hyp **m, char *err,
			size_t errlen)
{
	const char *why = "";
	int ret = s2hyp_scenario_instantiate(sc, m, &why);
	if (ret) {
		if (err)
			snprintf(err, errlen, "%s", why);
		return ret;
	}
	s2hyp_stop_on_violation(*m, true);
	return 0;
}

int s2fuzz__reinstantiate(const struct s2hyp_scenario *sc, struct s2hyp **m, char *err,
			  size_t errlen)
{
	const char *why = "";

	if (!*m)
		return s2fuzz__instantiate(sc, m, err, errlen);
	int ret = s2hyp_scenario_reset(sc, *m, &why);
	if (ret) {
		s2hyp_delete(*m);
		*m = NULL;
		if (err)
			snprintf(err, errlen, "%s", why);
		return ret;
	}
	s2hyp_stop_on_violation(*m, true);
	return 0;
}

uint64_t s2fuzz__sequential_steps(const struct s2hyp_scenario *sc)
{
	struct s2hyp *m;
	if (s2fuzz__instantiate(sc, &m, NULL, 0))
		return 1;
	s2hyp_stop_on_violation(m, false);
	s2hyp_run(m, &s2hyp_strategy_sequential);
	uint64_t n = s2hyp_stats(m)->steps;
	s2hyp_delete(m);
	return n ? n : 1;
}

/* ------------------------------------------------------------------ */
/* PCT                                                                 */
/* ------------------------------------------------------------------ */

static unsigned below(struct s2hyp_rng *r, uint64_t n)
{
	return (unsigned)(s2hyp_rng_next(r) % n);
}

void s2fuzz__pct_init(struct s2fuzz__pct *p, unsigned nr_vcpus, unsigned depth, uint64_t k,
		      unsigned budget, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	s2hyp_rng_seed(&p->rng, seed);
	p->nthreads = nr_vcpus + 2;
	if (depth < 1)
		depth = 1;
	if (depth > S2FUZZ_MAX_DEPTH)
		depth = S2FUZZ_MAX_DEPTH;
	/* Initial priorities d .. d+n-1 in random order; change points
	 * demote to 1 .. d-1, below every initial priority. */
	for (unsigned i = 0; i < p->nthreads; i++)
		p->prio[i] = (int)(depth + i);
	for (unsigned i = p->nthreads; i > 1; i--) {
		unsigned j = below(&p->rng, i);
		int t = p->prio[i - 1];
		p->prio[i - 1] = p->prio[j];
		p->prio[j] = t;
	}
	if (!k)
		k = 1;
	for (unsigned i = 0; i + 1 < depth; i++) {
		uint64_t c;
		bool dup;
		/* Distinct steps while there are enough of them. */
		do {
			c = 1 + s2hyp_rng_next(&p->rng) % k;
			dup = false;
			for (unsigned j = 0; j < p->nchange; j++)
				dup |= p->change[j] == c;
		} while (dup && k >= depth);
		p->change[p->nchange++] = c;
	}
	p->bg_left = budget;
}

static unsigned pct_thread(const struct s2fuzz__pct *p, const struct s2hyp_choice *c)
{
	if (s2hyp_choice_is_background(c))
		return p->nthreads - 1;
	if (c->kind == S2HYP_CH_VCPU)
		return 1u + c->vcpu;
	return 0;
}

static unsigned pct_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			   uint64_t step)
{
	struct s2fuzz__pct *p = arg;
	unsigned best = n, fg = 0, bt = 0;
	int bestp = INT_MIN;
	(void)step;

	for (unsigned i = 0; i < n; i++) {
		const struct s2hyp_choice *c = &choices[i];
		bool bg = s2hyp_choice_is_background(c);
		fg += !bg;
		if (bg && !p->bg_left)
			continue;
		unsigned t = pct_thread(p, c);
		if (p->prio[t] > bestp) {
			bestp = p->prio[t];
			best = i;
			bt = t;
		}
	}
	if (best == n)
		return 0;	/* only background left, out of budget: cannot happen */
	p->step++;
	for (unsigned i = 0; i < p->nchange; i++)
		if (p->change[i] == p->step)
			p->prio[bt] = (int)i + 1;
	if (bt == p->nthreads - 1) {
		p->bg_left--;
		return fg + below(&p->rng, n - fg);
	}
	return best;
}

static unsigned pct_pick(void *arg, unsigned n)
{
	struct s2fuzz__pct *p = arg;
	return below(&p->rng, n);
}

const struct s2hyp_strategy s2fuzz__pct_template = { .choose = pct_choose, .pick_arg = pct_pick, .arg = NULL };

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

/* The inner strategy's choice i of n, mixed into the hash when it is one. */
static unsigned hash_chosen(struct s2fuzz__hashing *h, const struct s2hyp_choice *choices,
			    unsigned n, unsigned i)
{
	if (i < n)
		h->h = s2fuzz__mix(h->h, choices[i].kind | (uint64_t)choices[i].vcpu << 8);
	return i;
}

static unsigned hash_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			    uint64_t step)
{
	struct s2fuzz__hashing *h = arg;
	unsigned i = h->inner->choose(h->inner->arg, choices, n, step);
	return hash_chosen(h, choices, n, i);
}

static unsigned hash_pick(void *arg, unsigned n)
{
	struct s2fuzz__hashing *h = arg;
	unsigned a = h->inner->pick_arg ? h->inner->pick_arg(h->inner->arg, n) : 0;
	h->h = s2fuzz__mix(h->h, a | 1ull << 40);
	return a;
}

/* The same for an inner strategy that lists background choices when it
 * draws them (s2fuzz__hashing_lazy sets these only then). */
static unsigned hash_choose_thread(void *arg, const struct s2hyp_choice *choices, unsigned n,
				   bool background, uint64_t step)
{
	struct s2fuzz__hashing *h = arg;
	unsigned i = h->inner->choose_thread(h->inner->arg, choices, n, background, step);
	return hash_chosen(h, choices, n, i);
}

static unsigned hash_choose_background(void *arg, const struct s2hyp_choice *choices,
				       unsigned n, uint64_t step)
{
	struct s2fuzz__hashing *h = arg;
	unsigned i = h->inner->choose_background(h->inner->arg, choices, n, step);
	return hash_chosen(h, choices, n, i);
}

const struct s2hyp_strategy s2fuzz__hashing_template = { .choose = hash_choose, .pick_arg = hash_pick, .arg = NULL };

void s2fuzz__hashing_lazy(struct s2hyp_strategy *st, const struct s2hyp_strategy *inner)
{
	if (inner->choose_thread && inner->choose_background) {
		st->choose_thread = hash_choose_thread;
		st->choose_background = hash_choose_background;
	}
}

/* ------------------------------------------------------------------ */
/* Following a schedule as far as it fits                              */
/* ------------------------------------------------------------------ */

void s2fuzz__follow_init(struct s2fuzz__follow *f, const struct s2hyp_choice *want, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->want = want;
	f->n = n;
}

void s2fuzz__follow_free(struct s2fuzz__follow *f)
{
	free(f->steps);
	f->steps = NULL;
	f->nsteps = f->cap = 0;
}

static void follow_record(struct s2fuzz__follow *f, const struct s2hyp_choice *choices,
			  unsigned idx)
{
	if (f->nsteps >= UINT_MAX ||
	    !s2_grow((void **)&f->steps, &f->cap, sizeof(*f->steps), (unsigned)f->nsteps + 1)) {
		f->oom = true;
		return;
	}
	struct s2fuzz__step *s = &f->steps[f->nsteps++];
	s->c = choices[idx];
	s->c.arg = 0;
	s->first = choices[0];
	s->first.arg = 0;
	s->idx = idx;
}

static unsigned follow_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			      uint64_t step)
{
	struct s2fuzz__follow *f = arg;
	(void)step;
	while (f->pos < f->n) {
		const struct s2hyp_choice *w = &f->want[f->pos++];
		for (unsigned i = 0; i < n; i++) {
			if (choices[i].kind == w->kind && choices[i].vcpu == w->vcpu) {
				follow_record(f, choices, i);
				if (f->nsteps)
					f->steps[f->nsteps - 1].c.arg = w->arg;
				return i;
			}
		}
	}
	follow_record(f, choices, 0);
	return 0;
}

static unsigned follow_pick(void *arg, unsigned n)
{
	struct s2fuzz__follow *f = arg;
	if (!f->nsteps)
		return 0;
	struct s2fuzz__step *s = &f->steps[f->nsteps - 1];
	if (s->c.arg >= n)
		s->c.arg %= n;
	return s->c.arg;
}

const struct s2hyp_strategy s2fuzz__follow_template = { .choose = follow_choose, .pick_arg = follow_pick, .arg = NULL };

size_t s2fuzz__follow_exact_len(const struct s2fuzz__follow *f)
{
	size_t n = f->nsteps;
	while (n && f->steps[n - 1].idx == 0)
		n--;
	return n;
}
