/*
 * Exhaustive search: a stateless depth-first search over schedules with
 * sleep sets (Godefroid, "Partial-Order Methods for the Verification of
 * Concurrent Systems", LNCS 1032, chapter 5).
 *
 * The search tree's nodes are decision points; a path is a schedule
 * prefix. Each run starts from the initial state (the machine of the run
 * before, reset: nothing else can restore one), follows the current path,
 * then extends it with the first choice that is neither asleep nor beyond a
 * bound, to the end of the run. Backtracking moves the deepest node to its
 * next candidate.
 *
 * Sleep sets: after the subtree of transition t at node s is explored,
 * every later sibling u's subtree starts with t asleep if t and u are
 * independent: any schedule u..t.. there is equivalent to one t..u.. that
 * was already explored. A transition stays asleep down the path for as
 * long as the transitions taken are independent of it, and is never taken
 * while asleep. Each class of equivalent interleavings (Mazurkiewicz
 * trace) is then run to its end once; a run whose every enabled choice is
 * asleep stops early ("blocked").
 *
 * Source sets (below, before blocked_after): a node takes only the
 * candidates races call for, not every one awake.
 *
 * Footprints come from hyp-model/s2hyp_footprint.h. The footprint of a
 * transition at a node is the one observed when it ran there; a sleeping
 * transition keeps the footprint it had where it was explored, which is
 * still its footprint wherever it sleeps, since only transitions
 * independent of it have run since.
 *
 * Bounds. The number of background choices in a schedule, and its length
 * (--max-steps), are the same for every interleaving of a class, so sleep
 * sets stay sound under them. A preemption bound is not: a schedule within
 * the bound may be equivalent only to schedules beyond it. So a transition
 * whose subtree lost a branch to the preemption bound is never put to
 * sleep for its siblings: what it stands for was not covered.
 */
#include <stdlib.h>
#include <string.h>

#include "common/s2_vec.h"
#include "common/s2_clock.h"
#include "fuzz/s2fuzz_internal.h"
#include "hyp-model/s2hyp_footprint.h"

enum { T_UNTRIED, T_EXPLORED, T_ASLEEP, T_CUT };

struct xt {
	struct s2hyp_choice_key key;
	uint32_t idx;		/* index among the machine's enabled choices */
	uint32_t arg;
	int thread;		/* for preemptions: 0 the hypervisor, 1 + v, -1 background */
};

/* What a candidate will do, predicted when its node was made (the machine
 * was in the node's state then): whether nothing but its own choice
 * changes after it, and its footprint. */
struct xpred {
	bool leaves_others;
	struct s2hyp_footprint fp;
};

struct xs {
	struct s2hyp_choice_key key;
	struct s2hyp_footprint fp;
	bool complete;		/* its subtree lost nothing to the preemption bound */
};

struct xnode {
	struct xt *en;
	struct xpred *pred;	/* per candidate, when the search predicts */
	uint8_t *state;
	unsigned nen;
	unsigned cur;
	unsigned nchoices;	/* the machine's count, to notice nondeterminism */
	struct xs *sleep;
	unsigned nsleep;
	struct xs *done;
	unsigned ndone, done_cap;
	unsigned preempts, bg;
	int last_thread;
	bool last_enabled;
	bool subtree_cut;
	bool fp_valid;
	struct s2hyp_footprint fp;	/* of en[cur] */
	/* Sharding: the choice points with several candidates above this node
	 * on its path, and the code of the ordinals taken at them. */
	unsigned level;
	uint64_t code;
	unsigned nawake;	/* candidates not asleep when it was made */
	/* Source sets: which candidates are to be explored (sched), the
	 * path's steps that happen before its current one (hb, a bitset over
	 * depths), and the open phase when it was made. */
	uint8_t *sched;
	uint64_t *hb;
	unsigned phase;
	uint32_t waiting;	/* threads with a next step not enabled (bit 0
				 * the host, 1 + v vCPU v) */
	bool have_pred;		/* pred holds this node's predictions */
	/* The arrays' room: a slot of the path keeps them for the next node
	 * made at its depth (node_reuse). */
	unsigned en_cap, state_cap, sched_cap, pred_cap, sleep_cap;
};

struct explorer {
	const struct s2hyp_scenario *sc;
	const struct s2fuzz_opts *o;
	struct s2fuzz_result *res;
	struct s2hyp *m;
	struct xnode *nodes;
	unsigned nnodes, cap;
	unsigned depth;		/* decisions made in this run */
	struct s2hyp_fp_mark mark;
	bool marked;
	uint32_t pick;
	bool blocked, end_cut, broken, oom;
	/* Sharding: how many choice points with several candidates a path
	 * passes before its code picks its shard; whether a run stopped in
	 * another shard's subtree. */
	unsigned split_levels;
	bool probe;
	/* Predicted footprints prune before executing (blocked_after); off
	 * under a preemption bound (a blocked run's cut matters there) and
	 * without the reduction. */
	bool predict;
	/* Source sets (source_sets below): on without a preemption bound,
	 * shards or --no-reduction; the shallowest node whose current
	 * transition the run under way is the first to take. */
	bool source;
	unsigned fresh;
	uint64_t *hb_tmp, *cov, *vset;
	unsigned bits_cap;		/* words of each of the three */
	struct xt *tmp;
	unsigned ntmp, tmp_cap;
};

static void node_free(struct xnode *nd)
{
	free(nd->en);
	free(nd->pred);
	free(nd->state);
	free(nd->sleep);
	free(nd->done);
	free(nd->sched);
	free(nd->hb);
}

/* A new node at a slot of the path: cleared, with the arrays of the node
 * that was there before (node_free frees them at the end). */
static void node_reuse(struct xnode *nd)
{
	struct xnode k = *nd;

	memset(nd, 0, sizeof(*nd));
	nd->en = k.en;
	nd->pred = k.pred;
	nd->state = k.state;
	nd->sched = k.sched;
	nd->hb = k.hb;
	nd->sleep = k.sleep;
	nd->done = k.done;
	nd->en_cap = k.en_cap;
	nd->state_cap = k.state_cap;
	nd->sched_cap = k.sched_cap;
	nd->pred_cap = k.pred_cap;
	nd->sleep_cap = k.sleep_cap;
	nd->done_cap = k.done_cap;
}

/* Room for need elements of elem bytes in *arr (which has *cap). */
static bool room(void **arr, unsigned *cap, unsigned need, size_t elem)
{
	if (need <= *cap && *arr)
		return true;
	if (need < 1)
		need = 1;
	void *a = realloc(*arr, need * elem);
	if (!a)
		return false;
	*arr = a;
	*cap = need;
	return true;
}

static bool in_list(const struct xs *l, unsigned n, const struct s2hyp_choice_key *k)
{
	for (unsigned i = 0; i < n; i++)
		if (s2hyp_choice_key_equal(&l[i].key, k))
			return true;
	return false;
}

static bool in_tmp(const struct explorer *x, const struct s2hyp_choice_key *k)
{
	for (unsigned i = 0; i < x->ntmp; i++)
		if (s2hyp_choice_key_equal(&x->tmp[i].key, k))
			return true;
	return false;
}

static bool push_tmp(struct explorer *x, const struct xt *t)
{
	if (!s2_grow((void **)&x->tmp, &x->tmp_cap, sizeof(*x->tmp), x->ntmp + 1))
		return false;
	x->tmp[x->ntmp++] = *t;
	return true;
}

/* Every enabled transition: a choice with arguments once per argument
 * (two speculative walks of one address are one transition). */
static bool expand(struct explorer *x, const struct s2hyp_choice *choices, unsigned n)
{
	x->ntmp = 0;
	for (unsigned i = 0; i < n; i++) {
		struct s2hyp_choice c = choices[i];
		bool bg = s2hyp_choice_is_background(&c);
		struct xt t = { .idx = i, .thread = bg ? -1 : c.kind == S2HYP_CH_VCPU ? 1 + c.vcpu : 0 };
		/* Without a background budget they are never enabled anyway. */
		unsigned na = bg && !x->o->background ? 0 : s2hyp_choice_nargs(x->m, &c);
		if (bg && !na)
			continue;
		unsigned first = x->ntmp;
		for (unsigned a = 0; a < (na ? na : 1); a++) {
			c.arg = a;
			t.arg = a;
			if (s2hyp_choice_key(x->m, &c, &t.key))
				return false;
			bool dup = false;
			if (c.kind == S2HYP_CH_PREFETCH)
				for (unsigned j = first; j < x->ntmp && !dup; j++)
					dup = s2hyp_choice_key_equal(&x->tmp[j].key, &t.key);
			if (!dup && !push_tmp(x, &t))
				return false;
		}
	}
	return true;
}

static bool is_preemption(const struct xnode *nd, const struct xt *t)
{
	return t->thread >= 0 && nd->last_thread >= 0 && t->thread != nd->last_thread &&
	       nd->last_enabled;
}

static bool allowed(const struct explorer *x, const struct xnode *nd, const struct xt *t)
{
	return x->o->preemptions < 0 || !is_preemption(nd, t) ||
	       nd->preempts < (unsigned)x->o->preemptions;
}

static bool sharded(const struct explorer *x)
{
	return x->o->nr_shards > 1;
}

/* A choice point that can go two ways: two candidates not asleep. */
static bool branching(const struct xnode *nd)
{
	return nd->nawake >= 2;
}

/* Whether a path's code is final at a node: past split_levels choice
 * points, unless every candidate taken so far was the first. That path
 * leads to the largest subtrees (with sleep sets the first candidate's
 * subtree is the biggest at every point), so it is cut further, up to
 * MAX_SPLIT_LEVELS points, for the shards to get comparable shares. */
#define MAX_SPLIT_LEVELS 64

static bool code_final(const struct explorer *x, unsigned level, uint64_t code)
{
	return level >= x->split_levels && (code != 0 || level >= MAX_SPLIT_LEVELS);
}

/* The code of a path that takes nd's current candidate: its rank among
 * the candidates not asleep (the first one explored is 0). */
static uint64_t code_after(const struct explorer *x, const struct xnode *nd)
{
	if (code_final(x, nd->level, nd->code) || !branching(nd))
		return nd->code;
	unsigned rank = 0;
	for (unsigned i = 0; i < nd->cur; i++)
		rank += !in_list(nd->sleep, nd->nsleep, &nd->en[i].key);
	return nd->code * nd->nawake + rank;
}

static bool mine(const struct explorer *x, uint64_t code)
{
	code ^= code >> 30;
	code *= 0xbf58476d1ce4e5b9ull;
	code ^= code >> 27;
	code *= 0x94d049bb133111ebull;
	code ^= code >> 31;
	return !sharded(x) || code % x->o->nr_shards == x->o->shard;
}

/* Whether the run under way is another shard's: its code, once final (or
 * at its end), names the shard. */
static bool foreign_run(const struct explorer *x)
{
	if (!sharded(x))
		return false;
	return !mine(x, x->depth ? code_after(x, &x->nodes[x->depth - 1]) : 0);
}

/* Whether what is skipped at nd is this shard's to count: below the split
 * only one shard comes; above it every shard does, and nd's code picks one. */
static bool counts_here(const struct explorer *x, const struct xnode *nd)
{
	return !sharded(x) || code_final(x, nd->level, nd->code) || mine(x, nd->code);
}

static bool add_done(struct xnode *nd, const struct s2hyp_choice_key *key,
		     const struct s2hyp_footprint *fp, bool complete)
{
	if (!s2_grow((void **)&nd->done, &nd->done_cap, sizeof(*nd->done), nd->ndone + 1))
		return false;
	struct xs *s = &nd->done[nd->ndone++];
	s->key = *key;
	s->fp = *fp;
	s->complete = complete;
	return true;
}

/* Whether key, enabled after a choice of footprint fp at nd, sleeps there
 * (new_node's rule). */
static bool asleep_after(const struct xnode *nd, const struct s2hyp_choice_key *key,
			 const struct s2hyp_footprint *fp)
{
	for (unsigned i = 0; i < nd->nsleep; i++)
		if (s2hyp_choice_key_equal(&nd->sleep[i].key, key) &&
		    s2hyp_footprints_independent(&nd->sleep[i].fp, fp))
			return true;
	for (unsigned i = 0; i < nd->ndone; i++)
		if (nd->done[i].complete && s2hyp_choice_key_equal(&nd->done[i].key, key) &&
		    s2hyp_footprints_independent(&nd->done[i].fp, fp))
			return true;
	return false;
}

/*
 * Source sets (Abdulla, Aronis, Jonsson, Sagonas, "Optimal dynamic partial
 * order reduction", POPL 2014: source-DPOR with sleep sets). A node does
 * not explore every candidate that is awake: only those in its source set,
 * which starts with the first one and grows when a run shows a race.
 * After each run, every step it was the first to take (at or below
 * x->fresh) is compared with the steps before it on the path: step i
 * happens before step j when they are dependent (their footprints, as for
 * sleep sets), or i opened a phase (items of a later phase wait for it:
 * it enables steps it shares nothing with), or through a chain of such
 * pairs. Two dependent steps i < j of different threads with no step
 * between them ordered after i and before j race: their order could be
 * the other one. Then the steps after i not ordered after it, followed by
 * j (v), could run from node i; a step of v that nothing before it in v
 * happens before (an initial) may go first. When no initial is already
 * explored, in the source set or asleep at node i, one that is enabled
 * there joins the source set; when none of them is enabled there (a model
 * this reasoning does not cover), every candidate of node i does.
 */
static unsigned hb_words(unsigned n)
{
	return n / 64 + 1;
}

static bool bit(const uint64_t *b, unsigned i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *b, unsigned i)
{
	b[i / 64] |= 1ull << (i % 64);
}

/* The highest index below i whose bit is clear, or -1. */
static int prev_clear(const uint64_t *b, unsigned i)
{
	while (i) {
		unsigned w = (i - 1) / 64, top = (i - 1) % 64;
		uint64_t clear = ~b[w] & (top == 63 ? ~0ull : (2ull << top) - 1);
		if (clear)
			return (int)(w * 64 + 63 - (unsigned)__builtin_clzll(clear));
		i = w * 64;
	}
	return -1;
}

static bool bits_grow(struct explorer *x, unsigned words)
{
	if (words <= x->bits_cap)
		return true;
	uint64_t *a = realloc(x->hb_tmp, words * sizeof(*a));
	if (a)
		x->hb_tmp = a;
	uint64_t *b = a ? realloc(x->cov, words * sizeof(*b)) : NULL;
	if (b)
		x->cov = b;
	uint64_t *c = b ? realloc(x->vset, words * sizeof(*c)) : NULL;
	if (c)
		x->vset = c;
	if (!c)
		return false;
	x->bits_cap = words;
	return true;
}

/* The thread a step belongs to for program order, in the footprints'
 * numbering (a vCPU, S2HYP_FP_HYP); background choices belong to none
 * (S2HYP_FP_BACKGROUND). A footprint names the operation's thread; a
 * global one does not, and the choice's thread stands for it. */
static int thread_of(const struct xt *t, const struct s2hyp_footprint *fp, bool valid)
{
	if (valid && !fp->global)
		return fp->thread;
	return t->thread > 0 ? t->thread - 1 : t->thread == 0 ? S2HYP_FP_HYP : S2HYP_FP_BACKGROUND;
}

static int step_thread(const struct xnode *nd)
{
	return thread_of(&nd->en[nd->cur], &nd->fp, nd->fp_valid);
}

/* Whether path step i (followed by i + 1, or the end) opened a phase. */
static bool opened_phase(const struct explorer *x, unsigned i, unsigned end)
{
	return i + 1 < end && x->nodes[i + 1].phase != x->nodes[i].phase;
}

static bool step_dep(const struct xnode *a, const struct s2hyp_footprint *fp)
{
	return !a->fp_valid || !s2hyp_footprints_independent(&a->fp, fp);
}

/* Node i's candidate with this key, or nen. */
static unsigned cand_index(const struct xnode *nd, const struct s2hyp_choice_key *k)
{
	for (unsigned c = 0; c < nd->nen; c++)
		if (s2hyp_choice_key_equal(&nd->en[c].key, k))
			return c;
	return nd->nen;
}

/* The race of path step i with step j (key kj, the steps before j that
 * happen before it in hbj): see that node i's source set holds an
 * initial of v. */
static void race(struct explorer *x, unsigned i, unsigned j, const struct s2hyp_choice_key *kj,
		 const uint64_t *hbj)
{
	struct xnode *ni = &x->nodes[i];
	unsigned add = ni->nen;

	memset(x->vset, 0, hb_words(j) * sizeof(*x->vset));
	for (unsigned k = i + 1; k <= j; k++) {
		const uint64_t *hbk = k < j ? x->nodes[k].hb : hbj;
		if (k < j && bit(hbk, i))
			continue;	/* after i: not in v */
		bool initial = true;
		for (unsigned w = 0; w < hb_words(k) && initial; w++)
			initial = !(hbk[w] & x->vset[w]);
		if (k < j)
			bit_set(x->vset, k);
		if (!initial)
			continue;
		const struct s2hyp_choice_key *key =
			k < j ? &x->nodes[k].en[x->nodes[k].cur].key : kj;
		unsigned c = cand_index(ni, key);
		if (c == ni->nen)
			continue;
		if (ni->sched[c] || ni->state[c] != T_UNTRIED ||
		    in_list(ni->sleep, ni->nsleep, key))
			return;		/* covered */
		if (add == ni->nen)
			add = c;
	}
	if (add < ni->nen) {
		ni->sched[add] = 1;
		return;
	}
	x->res->source_fallbacks++;
	for (unsigned c = 0; c < ni->nen; c++)
		ni->sched[c] = 1;
}

/* Step j of the path (node j's current transition, or with fp and key
 * given, a candidate of node j not run): its races with the steps before
 * it, and into hb the steps before it that happen before it. */
static bool analyze_step(struct explorer *x, unsigned j, const struct s2hyp_footprint *fp,
			 const struct s2hyp_choice_key *key, int thread, uint64_t *hb)
{
	unsigned words = hb_words(j);

	if (!bits_grow(x, words))
		return false;
	memset(hb, 0, words * sizeof(*hb));
	memset(x->cov, 0, words * sizeof(*x->cov));
	/* The steps before j, last first, but for those before a step that
	 * happens before j (cov): so are they, and they race with nothing. */
	for (int k = prev_clear(x->cov, j); k >= 0; k = prev_clear(x->cov, (unsigned)k)) {
		unsigned i = (unsigned)k;
		const struct xnode *ni = &x->nodes[i];
		bool dep = fp->global || step_dep(ni, fp);
		if (!dep && !bit(hb, i) && !opened_phase(x, i, j + 1))
			continue;
		if (dep && (thread == S2HYP_FP_BACKGROUND || step_thread(ni) != thread))
			race(x, i, j, key, hb);
		bit_set(hb, i);
		for (unsigned w = 0; w < hb_words(i); w++) {
			hb[w] |= ni->hb[w];
			x->cov[w] |= ni->hb[w];
		}
	}
	return true;
}

/* After a run: the steps it was the first to take. */
static bool analyze_run(struct explorer *x)
{
	for (unsigned j = x->fresh; j < x->depth && j < x->nnodes; j++) {
		struct xnode *nd = &x->nodes[j];
		/* A thread waiting at node j (for the lock, say) has a next
		 * step no run shows before what it waits for: as in Flanagan
		 * and Godefroid's DPOR, that step, of unknown footprint, races
		 * with the steps before node j. */
		for (uint32_t w = nd->waiting; w; w &= w - 1) {
			unsigned t = (unsigned)__builtin_ctz(w);
			struct s2hyp_footprint g = { .thread = t ? (int)t - 1 : S2HYP_FP_HYP,
						     .global = true };
			struct s2hyp_choice_key k = { t ? S2HYP_CH_VCPU : S2HYP_CH_HOST,
						      (uint8_t)(t ? t - 1 : 0), 0 };
			if (!bits_grow(x, hb_words(j)) ||
			    !analyze_step(x, j, &g, &k, g.thread, x->hb_tmp))
				return false;
		}
		static const struct s2hyp_footprint global = { .global = true };
		if (!analyze_step(x, j, nd->fp_valid ? &nd->fp : &global, &nd->en[nd->cur].key,
				  step_thread(nd), nd->hb))
			return false;
	}
	return true;
}

/*
 * Predicted footprints prune before executing: whether the run that takes
 * candidate i at nd would stop at the next choice point with every choice
 * asleep. Then it is not run: it would find nothing the search needs (a
 * blocked run's classes are all covered by runs that end; the footprint
 * its siblings' sleep sets need is the predicted one, which observation
 * confirms for the choices predicted: vCPU steps and background choices),
 * only what it counts. nd->pred says, from nd's state, that after
 * candidate i the enabled foreground choices are nd's others and no
 * background one is allowed (the bound); blocked when they are all asleep
 * there and one of them would keep the run going.
 */
static bool blocked_after(struct explorer *x, struct xnode *nd, unsigned i)
{
	if (!nd->have_pred || !nd->pred[i].leaves_others)
		return false;
	const struct s2hyp_footprint *fp = &nd->pred[i].fp;
	unsigned asleep = 0;
	bool mandatory = false;
	for (unsigned j = 0; j < nd->nen; j++) {
		const struct xt *t = &nd->en[j];
		if (j == i || t->thread < 0)
			continue;
		if (!asleep_after(nd, &t->key, fp))
			return false;
		asleep++;
		mandatory |= t->key.kind != S2HYP_CH_RCU;
	}
	if (!mandatory)
		return false;
	/* The run would have taken candidate i, then stopped: its races with
	 * the path, as the analysis after that run would have found them. */
	if (x->source) {
		unsigned n = (unsigned)(nd - x->nodes);
		if (!bits_grow(x, hb_words(n)) ||
		    !analyze_step(x, n, fp, &nd->en[i].key, thread_of(&nd->en[i], fp, true),
				  x->hb_tmp)) {
			x->oom = true;
			return false;
		}
	}
	/* As the blocked run would have counted it, in the shard its code
	 * names (another shard's run stops before, at its probe). */
	if (mine(x, code_after(x, nd))) {
		unsigned depth = (unsigned)(nd - x->nodes) + 1;
		x->res->blocked++;
		x->res->skipped++;
		x->res->pruned += asleep;
		if (depth > x->res->max_depth)
			x->res->max_depth = depth;
	}
	return true;
}

/* The next candidate at a node, marking what it passes over; when
 * backtracking, the candidates whose runs would be blocked too. */
static bool next_candidate(struct explorer *x, struct xnode *nd, bool backtracking)
{
	bool count = counts_here(x, nd);
	for (unsigned i = 0; i < nd->nen; i++) {
		if (nd->state[i] != T_UNTRIED)
			continue;
		if (in_list(nd->sleep, nd->nsleep, &nd->en[i].key)) {
			nd->state[i] = T_ASLEEP;
			x->res->pruned += count;
			continue;
		}
		if (!allowed(x, nd, &nd->en[i])) {
			nd->state[i] = T_CUT;
			nd->subtree_cut = true;
			x->res->bound_cut += count;
			continue;
		}
		/* Source sets: a node's first candidate starts its set; later
		 * ones only when a race put them there. */
		if (x->source && backtracking && !nd->sched[i])
			continue;
		if (x->source)
			nd->sched[i] = 1;
		nd->cur = i;
		nd->fp_valid = false;
		/* (A node the run just made is under way: its first
		 * candidate's run is this one, nothing to save.) */
		if (backtracking && blocked_after(x, nd, i)) {
			/* Explored as its run would have been: a blocked run
			 * counts nothing but itself and what it found asleep. */
			nd->state[i] = T_EXPLORED;
			if (!add_done(nd, &nd->en[i].key, &nd->pred[i].fp, true)) {
				x->oom = true;
				return false;
			}
			continue;
		}
		return true;
	}
	return false;
}

static bool add_sleep(struct xnode *nd, const struct xs *s, unsigned cap)
{
	if (nd->nsleep == cap)
		return false;
	nd->sleep[nd->nsleep] = *s;
	nd->sleep[nd->nsleep].complete = true;
	nd->nsleep++;
	return true;
}

/* Only background choices read "run" (a thread finishing its last item may
 * end the run and disable them all): without them, it orders nothing. */
static void drop_run(struct s2hyp_footprint *fp)
{
	unsigned k = 0;
	for (unsigned i = 0; i < fp->n; i++)
		if (fp->acc[i].loc != S2HYP_FP_RUN)
			fp->acc[k++] = fp->acc[i];
	fp->n = k;
}

/* A candidate's footprint, predicted from the state before it. */
static void predict_fp(const struct explorer *x, const struct s2hyp_choice *c,
		       struct s2hyp_footprint *fp)
{
	if (s2hyp_choice_footprint(x->m, c, fp))
		fp->global = true;
	if (!x->o->background)
		drop_run(fp);
}

/* nd's predictions (struct xpred), from the machine in nd's state. */
static bool predict_node(struct explorer *x, struct xnode *nd, const struct s2hyp_choice *choices,
			 unsigned index)
{
	uint64_t max = s2hyp_config(x->m)->max_steps;

	/* At the step limit the run ends there: not blocked. */
	if (max && index + 1 >= max)
		return true;
	if (!room((void **)&nd->pred, &nd->pred_cap, nd->nen, sizeof(*nd->pred)))
		return false;
	nd->have_pred = true;
	for (unsigned i = 0; i < nd->nen; i++) {
		const struct xt *t = &nd->en[i];
		struct xpred *p = &nd->pred[i];
		p->leaves_others = false;
		struct s2hyp_choice c = choices[t->idx];
		c.arg = t->arg;
		/* Background choices must be past their bound after it. */
		if (nd->bg + (t->thread < 0) < x->o->background ||
		    !s2hyp_choice_leaves_others(x->m, &c))
			continue;
		predict_fp(x, &c, &p->fp);
		p->leaves_others = !p->fp.global;
	}
	return true;
}

/* A new node at the end of the path, from the machine's enabled choices. */
static bool new_node(struct explorer *x, const struct s2hyp_choice *choices, unsigned n)
{
	if (!s2_grow_zero((void **)&x->nodes, &x->cap, sizeof(*x->nodes), x->nnodes + 1))
		return false;
	struct xnode *nd = &x->nodes[x->nnodes];
	node_reuse(nd);
	nd->last_thread = -1;
	nd->nchoices = n;
	unsigned bound = x->o->background;
	if (x->nnodes) {
		const struct xnode *p = &x->nodes[x->nnodes - 1];
		const struct xt *t = &p->en[p->cur];
		nd->preempts = p->preempts + is_preemption(p, t);
		nd->level = p->level + (!code_final(x, p->level, p->code) && branching(p));
		nd->code = code_after(x, p);
		nd->bg = p->bg + (t->thread < 0);
		nd->last_thread = t->thread >= 0 ? t->thread : p->last_thread;
	}
	if (x->nnodes && !x->o->no_reduction) {
		/* What slept at the parent, and what it explored before its
		 * current choice, sleep here if independent of that choice. */
		const struct xnode *p = &x->nodes[x->nnodes - 1];
		unsigned cap = p->nsleep + p->ndone;
		if (!room((void **)&nd->sleep, &nd->sleep_cap, cap, sizeof(*nd->sleep)))
			return false;
		for (unsigned i = 0; i < p->nsleep; i++)
			if (s2hyp_footprints_independent(&p->sleep[i].fp, &p->fp) &&
			    in_tmp(x, &p->sleep[i].key))
				add_sleep(nd, &p->sleep[i], cap);
		for (unsigned i = 0; i < p->ndone; i++)
			if (p->done[i].complete &&
			    s2hyp_footprints_independent(&p->done[i].fp, &p->fp) &&
			    in_tmp(x, &p->done[i].key))
				add_sleep(nd, &p->done[i], cap);
	}
	/* (The words of hb depend only on the node's depth.) */
	if (!room((void **)&nd->en, &nd->en_cap, x->ntmp, sizeof(*nd->en)) ||
	    !room((void **)&nd->state, &nd->state_cap, x->ntmp, 1) ||
	    !room((void **)&nd->sched, &nd->sched_cap, x->ntmp, 1) ||
	    (x->source && !nd->hb && !(nd->hb = calloc(hb_words(x->nnodes), sizeof(*nd->hb)))))
		return false;
	memset(nd->state, 0, x->ntmp);
	memset(nd->sched, 0, x->ntmp);
	nd->phase = s2hyp_open_phase(x->m);
	nd->waiting = s2hyp_ready_threads(x->m);
	for (unsigned i = 0; i < x->ntmp; i++) {
		const struct xt *t = &x->tmp[i];
		/* Beyond the background bound a background choice is not
		 * enabled at all: the bound is the same for a whole class. */
		if (t->thread < 0 && nd->bg >= bound)
			continue;
		nd->last_enabled |= t->thread >= 0 && t->thread == nd->last_thread;
		nd->en[nd->nen++] = *t;
		nd->nawake += !in_list(nd->sleep, nd->nsleep, &t->key);
	}
	for (unsigned i = 0; i < nd->nen; i++) {
		const struct s2hyp_choice_key *k = &nd->en[i].key;
		if (k->kind == S2HYP_CH_HOST)
			nd->waiting &= ~1u;
		else if (k->kind == S2HYP_CH_VCPU)
			nd->waiting &= ~(2u << k->vcpu);
		/* Optional choices (background, a grace period) are in every
		 * source set: a run that does not take one shows no race of
		 * it. */
		else if (k->kind != S2HYP_CH_HYP)
			nd->sched[i] = 1;
	}
	if (x->predict && !predict_node(x, nd, choices, x->nnodes))
		return false;
	x->nnodes++;
	return true;
}

/* The footprint of the choice just run, now that it has happened. */
static void finish_previous(struct explorer *x)
{
	if (!x->marked)
		return;
	struct xnode *nd = &x->nodes[x->depth - 1];
	s2hyp_footprint_observe(x->m, &x->mark, &nd->fp);
	x->res->mispredicted += nd->fp.mispredicted;
	nd->fp_valid = true;
	x->marked = false;
}

static unsigned take(struct explorer *x, struct xnode *nd, const struct s2hyp_choice *choices)
{
	const struct xt *t = &nd->en[nd->cur];
	x->pick = t->arg;
	if (!nd->fp_valid) {
		struct s2hyp_choice c = choices[t->idx];
		c.arg = t->arg;
		predict_fp(x, &c, &nd->fp);
		s2hyp_footprint_mark(x->m, &c, &x->mark);
		x->marked = true;
	}
	x->depth++;
	return t->idx;
}

static unsigned x_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			 uint64_t step)
{
	struct explorer *x = arg;
	(void)step;

	finish_previous(x);
	const struct xnode *pn = x->depth ? &x->nodes[x->depth - 1] : NULL;
	if (sharded(x) && pn && branching(pn) && !code_final(x, pn->level, pn->code) &&
	    code_final(x, pn->level + 1, code_after(x, pn)) && foreign_run(x)) {
		/* The path's code is final, and another shard's: the first step
		 * into its subtree has run and shown its footprint (its siblings'
		 * sleep sets need it); stop here. */
		x->probe = true;
		return n;
	}
	if (x->depth < x->nnodes) {
		/* Replaying the path: the machine must offer what it offered. */
		struct xnode *nd = &x->nodes[x->depth];
		const struct xt *t = &nd->en[nd->cur];
		if (nd->nchoices != n || t->idx >= n || choices[t->idx].kind != t->key.kind ||
		    (t->key.kind != S2HYP_CH_DC_EVICT && choices[t->idx].vcpu != t->key.vcpu)) {
			x->broken = true;
			return n;
		}
		return take(x, nd, choices);
	}
	if (!expand(x, choices, n) || !new_node(x, choices, n)) {
		x->oom = true;
		return n;
	}
	struct xnode *nd = &x->nodes[x->nnodes - 1];
	if (!next_candidate(x, nd, false)) {
		/* Everything enabled is asleep or beyond the bound. */
		x->blocked = true;
		x->end_cut = nd->subtree_cut;
		x->nnodes--;
		return n;
	}
	return take(x, nd, choices);
}

static unsigned x_pick(void *arg, unsigned n)
{
	struct explorer *x = arg;
	(void)n;
	return x->pick;
}

/* After a run: record the deepest choice as explored and move on to the
 * next candidate, popping exhausted nodes. False when the search is over. */
static bool backtrack(struct explorer *x)
{
	bool child_cut = x->end_cut;

	while (x->nnodes) {
		struct xnode *nd = &x->nodes[x->nnodes - 1];
		nd->subtree_cut |= child_cut;
		struct s2hyp_footprint fp = nd->fp;
		if (!nd->fp_valid)
			fp.global = true;
		if (!add_done(nd, &nd->en[nd->cur].key, &fp, !child_cut)) {
			x->oom = true;
			return false;
		}
		nd->state[nd->cur] = T_EXPLORED;
		if (next_candidate(x, nd, true)) {
			x->fresh = x->nnodes - 1;
			return true;
		}
		if (x->oom)
			return false;
		/* Candidates no race put in the source set: not explored. */
		for (unsigned i = 0; i < nd->nen; i++)
			x->res->pruned += nd->state[i] == T_UNTRIED;
		child_cut = nd->subtree_cut;
		x->nnodes--;
	}
	return false;
}

static int path_schedule(const struct explorer *x, struct s2fuzz_result *res)
{
	res->sched = malloc((x->depth ? x->depth : 1) * sizeof(*res->sched));
	if (!res->sched)
		return S2_ENOMEM;
	for (unsigned d = 0; d < x->depth; d++) {
		const struct xt *t = &x->nodes[d].en[x->nodes[d].cur];
		res->sched[d] = (struct s2hyp_choice){ t->key.kind, t->key.vcpu, t->arg };
	}
	res->nsched = x->depth;
	return 0;
}

/* Where the run sits in the search's order: the candidate taken at each
 * node (the search takes them in increasing order). */
static int path_ordinals(const struct explorer *x, struct s2fuzz_result *res)
{
	res->found_path = malloc((x->depth ? x->depth : 1) * sizeof(*res->found_path));
	if (!res->found_path)
		return S2_ENOMEM;
	for (unsigned d = 0; d < x->depth; d++)
		res->found_path[d] = x->nodes[d].cur;
	res->nfound_path = x->depth;
	return 0;
}

int s2fuzz__explore(const struct s2hyp_scenario *sc, const struct s2fuzz_opts *o,
		    struct s2fuzz_result *res, char *err, size_t errlen)
{
	struct explorer x = { .sc = sc, .o = o, .res = res };
	struct s2hyp_strategy st = { .choose = x_choose, .pick_arg = x_pick, .arg = &x };
	double t0 = s2_now_s();
	int ret = 0;

	x.predict = !o->no_reduction && !o->no_prediction && o->preemptions < 0;
	x.source = !o->no_reduction && !o->no_source_sets && o->preemptions < 0 &&
		   o->nr_shards <= 1;
	/* Enough choice points that N shards get many subtrees each. */
	if (sharded(&x)) {
		x.split_levels = 9;
		for (unsigned n = o->nr_shards - 1; n; n >>= 1)
			x.split_levels++;
		res->split_levels = x.split_levels;
	}
	for (;;) {
		if ((o->runs && res->runs >= o->runs) ||
		    (o->time_limit > 0 && s2_now_s() - t0 >= o->time_limit)) {
			res->limited = true;
			break;
		}
		/* The machine of the run before, reset: cheaper than a new one,
		 * and the same (tests/fuzz_test.c compares the two). */
		if ((ret = s2fuzz__reinstantiate(sc, &x.m, err, errlen)))
			break;
		x.depth = 0;
		x.blocked = x.end_cut = x.marked = x.probe = false;
		enum s2hyp_outcome out = s2hyp_run(x.m, &st);
		finish_previous(&x);
		const struct s2hyp_stats *stats = s2hyp_stats(x.m);
		if (!x.broken && !x.oom && foreign_run(&x)) {
			/* Another shard's: not counted. Under a preemption bound,
			 * what its subtree lost is unknown here, so it never sleeps
			 * for its siblings (sound, but not the same search). */
			x.end_cut = o->preemptions >= 0;
			goto next;
		}
		res->runs++;
		res->distinct = res->runs;
		res->steps += stats->steps;
		if (x.depth > res->max_depth)
			res->max_depth = x.depth;
		if (x.broken || x.oom) {
			snprintf(err, errlen, "%s", x.oom ? "out of memory" :
				 "a run did not repeat the choices of the one before: the machine "
				 "is not deterministic");
			ret = x.oom ? S2_ENOMEM : S2_EIO;
			break;
		}
		/* A blocked run is abandoned at its last decision; whatever
		 * the machine did after that was not scheduled. */
		if (!x.blocked && s2hyp_nr_violations(x.m)) {
			res->found = true;
			res->rule = s2hyp_violation(x.m, 0)->rule;
			res->fired_runs[res->rule]++;
			res->terminal++;
			ret = path_schedule(&x, res);
			if (!ret && sharded(&x))
				ret = path_ordinals(&x, res);
			break;
		}
		if (x.source && !analyze_run(&x)) {
			snprintf(err, errlen, "out of memory");
			ret = S2_ENOMEM;
			break;
		}
		if (x.blocked) {
			res->blocked++;
		} else {
			if (o->visit)
				o->visit(o->visit_arg, x.m);
			res->terminal++;
			if (out != S2HYP_DONE && !res->incomplete++)
				snprintf(res->error, sizeof(res->error), "schedule %llu: %s: %s",
					 (unsigned long long)res->runs, s2hyp_outcome_name(out),
					 s2hyp_error(x.m));
		}
		if (o->progress) {
			struct s2fuzz_progress p = { res->runs, res->runs, res->steps,
						     s2_now_s() - t0, 0 };
			o->progress(o->progress_arg, &p);
		}
next:
		if (!backtrack(&x)) {
			if (x.oom) {
				snprintf(err, errlen, "out of memory");
				ret = S2_ENOMEM;
			} else {
				res->complete = true;
			}
			break;
		}
	}
	s2hyp_delete(x.m);
	for (unsigned i = 0; i < x.cap; i++)
		node_free(&x.nodes[i]);
	free(x.nodes);
	free(x.tmp);
	free(x.hb_tmp);
	free(x.cov);
	free(x.vset);
	return ret;
}
