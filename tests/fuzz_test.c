/* The fuzzer: every strategy catches the seed scenario's known bugs and
 * shrinks them into traces replay reproduces; exhaustive search covers
 * the small coalescing race; runs are deterministic per seed whatever the
 * number of workers; the independence relation behind the reduction is
 * sound on examples, and the reduction loses no outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fuzz/s2fuzz.h"
#include "hyp-model/s2hyp_footprint.h"
#include "hyp-model/s2hyp_internal.h"
#include "hyp-model/s2hyp_kvm.h"
#include "traces/s2trace.h"
#include "traces/s2trace_load.h"

static char tmpdir[] = "/tmp/s2fuzz-test-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void build(struct s2hyp_scenario *sc, const char *name, enum s2pt_variant v)
{
	assert_int_equal(s2fuzz_scenario_build(sc, name, 2, v), 0);
}

/* Write the counterexample, replay it, and check it says what fired. */
static void check_replays(const struct s2fuzz_cex *c, const char *file)
{
	char path[256];
	struct s2trace_result tr;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(s2fuzz_cex_write(f, c, "test"), 0);
	assert_int_equal(fclose(f), 0);
	int ret = s2trace_replay(path, NULL, &tr);
	if (ret)
		fail_msg("%s does not replay: %s (%u expectations failed: %s)", path, tr.error,
			 tr.expects_failed, tr.expects_failed ? tr.failures[0].msg : "");
	assert_true(tr.expected_rule[c->rule]);
	assert_true(tr.stats.violations[c->rule] > 0);
	s2trace_result_free(&tr);
}

/* install-first-nocmo and anchor-leak are caught by every strategy within
 * the default budget, and each shrinks to a few events that replay. */
static void test_seed_bugs_caught_by_every_strategy(void **state)
{
	(void)state;
	const struct {
		enum s2pt_variant v;
		enum s2hyp_rule rule;
	} bugs[] = {
		{ S2PT_V_INSTALL_FIRST_NOCMO, S2HYP_RULE_DCACHE_CLEAN },
		{ S2PT_V_ANCHOR_LEAK, S2HYP_RULE_REFCOUNT },
	};
	for (unsigned b = 0; b < 2; b++) {
		for (int s = S2FUZZ_RANDOM; s <= S2FUZZ_EXHAUSTIVE; s++) {
			struct s2hyp_scenario sc;
			struct s2fuzz_opts o;
			struct s2fuzz_result r;
			char err[256] = "", file[64];

			build(&sc, "seed", bugs[b].v);
			s2fuzz_opts_init(&o, (enum s2fuzz_strategy)s);
			assert_int_equal(s2fuzz_run(&sc, &o, &r, err, sizeof(err)), 0);
			assert_true(r.found);
			assert_int_equal(r.rule, bugs[b].rule);
			assert_true(r.have_cex);
			assert_int_equal(r.cex.rule, bugs[b].rule);
			print_message("%s, %s: %zu items, %u vCPUs, %zu choices -> %zu items, %u vCPU, "
				      "%zu choices in %u runs\n", s2pt_variant_name(bugs[b].v),
				      s2fuzz_strategy_name((enum s2fuzz_strategy)s), r.cex.items_before,
				      r.cex.vcpus_before, r.cex.choices_before, r.cex.items_after,
				      r.cex.vcpus_after, r.cex.choices_after, r.cex.shrink_runs);
			assert_true(r.cex.items_after <= 40);
			assert_true(r.cex.items_after < r.cex.items_before);
			snprintf(file, sizeof(file), "%s-%d.s2t", s2pt_variant_name(bugs[b].v), s);
			check_replays(&r.cex, file);
			s2fuzz_result_free(&r);
			s2hyp_scenario_free(&sc);
		}
	}
}

/* The correct 2021-era orderings survive every interleaving of the small
 * coalescing race, and the search says it covered them all. */
static void test_exhaustive_small_complete(void **state)
{
	(void)state;
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST };
	for (unsigned i = 0; i < 2; i++) {
		struct s2hyp_scenario sc;
		struct s2fuzz_opts o;
		struct s2fuzz_result r;
		char err[256] = "";

		s2fuzz_scenario_coalesce_race(&sc, ok[i]);
		s2fuzz_opts_init(&o, S2FUZZ_EXHAUSTIVE);
		assert_int_equal(s2fuzz_run(&sc, &o, &r, err, sizeof(err)), 0);
		print_message("%s: %llu schedules (%llu to the end, %llu blocked), %llu pruned, "
			      "%.2f s\n", s2pt_variant_name(ok[i]), (unsigned long long)r.runs,
			      (unsigned long long)r.terminal, (unsigned long long)r.blocked,
			      (unsigned long long)r.pruned, r.secs);
		assert_false(r.found);
		assert_true(r.complete);
		assert_false(r.limited);
		assert_int_equal(r.incomplete, 0);
		assert_int_equal(r.mispredicted, 0);
		assert_true(r.terminal > 100);
		assert_true(r.pruned > 0);
		assert_true(r.secs < 60);
		s2fuzz_result_free(&r);
		s2hyp_scenario_free(&sc);
	}
}

/* The same seed gives the same result and the same schedule. */
static void test_same_seed_same_run(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;

	build(&sc, "seed", S2PT_V_INSTALL_FIRST_NOCMO);
	for (int s = S2FUZZ_RANDOM; s <= S2FUZZ_PCT; s++) {
		struct s2fuzz_opts o;
		s2fuzz_opts_init(&o, (enum s2fuzz_strategy)s);
		for (uint64_t seed = 1; seed <= 5; seed++) {
			struct s2fuzz_seed_result a, b;
			struct s2hyp_choice *sa, *sb;
			size_t na, nb;
			assert_int_equal(s2fuzz_run_seed(&sc, &o, seed, 0, &a, &sa, &na), 0);
			assert_int_equal(s2fuzz_run_seed(&sc, &o, seed, 0, &b, &sb, &nb), 0);
			assert_memory_equal(&a, &b, sizeof(a));
			assert_int_equal(na, nb);
			assert_memory_equal(sa, sb, na * sizeof(*sa));
			assert_int_equal(a.rule, S2HYP_RULE_DCACHE_CLEAN);
			free(sa);
			free(sb);
		}
		/* Different seeds do different things. */
		struct s2fuzz_seed_result a, b;
		assert_int_equal(s2fuzz_run_seed(&sc, &o, 1, 0, &a, NULL, NULL), 0);
		assert_int_equal(s2fuzz_run_seed(&sc, &o, 2, 0, &b, NULL, NULL), 0);
		assert_true(a.sched_hash != b.sched_hash);
	}
	s2hyp_scenario_free(&sc);
}

/* Worker processes change nothing: seed k's result depends only on k. */
static void test_jobs_do_not_change_results(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;

	build(&sc, "seed", S2PT_V_UPSTREAM);
	for (int s = S2FUZZ_RANDOM; s <= S2FUZZ_PCT; s++) {
		struct s2fuzz_result r1, r2;
		struct s2fuzz_opts o;
		char err[256] = "";

		s2fuzz_opts_init(&o, (enum s2fuzz_strategy)s);
		o.runs = 24;
		o.seed = 100;
		o.keep_seeds = true;
		assert_int_equal(s2fuzz_run(&sc, &o, &r1, err, sizeof(err)), 0);
		o.jobs = 2;
		assert_int_equal(s2fuzz_run(&sc, &o, &r2, err, sizeof(err)), 0);
		assert_int_equal(r1.nseeds, 24);
		assert_int_equal(r2.nseeds, 24);
		assert_memory_equal(r1.seeds, r2.seeds, 24 * sizeof(*r1.seeds));
		assert_int_equal(r1.distinct, r2.distinct);
		assert_int_equal(r1.steps, r2.steps);
		assert_false(r1.found);
		s2fuzz_result_free(&r1);
		s2fuzz_result_free(&r2);
	}
	/* And with a rule firing, the same counterexample. */
	s2hyp_scenario_free(&sc);
	build(&sc, "seed", S2PT_V_ANCHOR_LEAK);
	struct s2fuzz_result r1, r2;
	struct s2fuzz_opts o;
	char err[256] = "";
	s2fuzz_opts_init(&o, S2FUZZ_RANDOM);
	o.runs = 8;
	assert_int_equal(s2fuzz_run(&sc, &o, &r1, err, sizeof(err)), 0);
	o.jobs = 3;
	assert_int_equal(s2fuzz_run(&sc, &o, &r2, err, sizeof(err)), 0);
	assert_int_equal(r1.seed, r2.seed);
	assert_int_equal(r1.nsched, r2.nsched);
	assert_memory_equal(r1.sched, r2.sched, r1.nsched * sizeof(*r1.sched));
	assert_int_equal(r1.cex.nsched, r2.cex.nsched);
	assert_int_equal(r1.cex.items_after, r2.cex.items_after);
	s2fuzz_result_free(&r1);
	s2fuzz_result_free(&r2);
	s2hyp_scenario_free(&sc);
}

/* ------------------------------------------------------------------ */
/* Independence                                                        */
/* ------------------------------------------------------------------ */

static struct s2hyp_footprint fp_of(int thread, enum s2hyp_fp_loc loc, bool write, uint64_t lo,
				    uint64_t hi)
{
	struct s2hyp_footprint fp = { .thread = thread, .n = 1 };
	fp.acc[0] = (struct s2hyp_fp_access){ (uint8_t)loc, write, lo, hi };
	return fp;
}

/* The relation itself: reads commute, a write conflicts with anything on
 * the same location, one thread is always ordered, global is dependent. */
static void test_independence_relation(void **state)
{
	(void)state;
	struct s2hyp_footprint r0 = fp_of(0, S2HYP_FP_DESC, false, 0x1000, 0x1008);
	struct s2hyp_footprint r1 = fp_of(1, S2HYP_FP_DESC, false, 0x1000, 0x1008);
	struct s2hyp_footprint wl = fp_of(0, S2HYP_FP_LINE, true, 0x2000, 0x2040);
	struct s2hyp_footprint rl = fp_of(1, S2HYP_FP_LINE, false, 0x2000, 0x2040);
	struct s2hyp_footprint other = fp_of(1, S2HYP_FP_LINE, true, 0x2040, 0x2080);
	struct s2hyp_footprint hyp = fp_of(S2HYP_FP_HYP, S2HYP_FP_DESC, true, 0x1000, 0x1008);
	struct s2hyp_footprint bg1 = fp_of(S2HYP_FP_BACKGROUND, S2HYP_FP_LINE, true, 0x3000, 0x3040);
	struct s2hyp_footprint bg2 = fp_of(S2HYP_FP_BACKGROUND, S2HYP_FP_LINE, true, 0x4000, 0x4040);
	struct s2hyp_footprint g = { .thread = 1, .global = true };

	assert_true(s2hyp_footprints_independent(&r0, &r1));
	assert_false(s2hyp_footprints_independent(&wl, &rl));
	assert_false(s2hyp_footprints_independent(&rl, &wl));
	assert_true(s2hyp_footprints_independent(&wl, &other));
	assert_false(s2hyp_footprints_independent(&hyp, &r1));
	assert_false(s2hyp_footprints_independent(&r0, &wl));	/* one thread */
	assert_true(s2hyp_footprints_independent(&bg1, &bg2));
	assert_false(s2hyp_footprints_independent(&g, &r0));
	/* A TLB write of every vCPU meets any vCPU's TLB read. */
	struct s2hyp_footprint tlbi = fp_of(S2HYP_FP_HYP, S2HYP_FP_TLB, true, 0, 2);
	struct s2hyp_footprint look = fp_of(1, S2HYP_FP_TLB, false, 1, 2);
	assert_false(s2hyp_footprints_independent(&tlbi, &look));
}

/* A strategy that follows a random one until two vCPU steps of a given
 * shape are enabled together, keeps their footprints, and stops. */
struct probe {
	struct s2hyp *m;
	struct s2hyp_rng rng;
	bool (*shape)(const struct s2hyp_footprint *fp);
	bool found;
	struct s2hyp_footprint fp[2];
};

static unsigned probe_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			     uint64_t step)
{
	struct probe *p = arg;
	struct s2hyp_footprint fp[2];
	unsigned k = 0;
	(void)step;

	for (unsigned i = 0; i < n && k < 2; i++) {
		if (choices[i].kind != S2HYP_CH_VCPU)
			continue;
		assert_int_equal(s2hyp_choice_footprint(p->m, &choices[i], &fp[k]), 0);
		if (p->shape(&fp[k]))
			k++;
	}
	if (k == 2) {
		p->found = true;
		p->fp[0] = fp[0];
		p->fp[1] = fp[1];
		return n;	/* stop here */
	}
	/* No background choices: the state stays easy to reproduce. */
	unsigned fg = 0;
	while (fg < n && !s2hyp_choice_is_background(&choices[fg]))
		fg++;
	return (unsigned)(s2hyp_rng_next(&p->rng) % fg);
}

static unsigned probe_pick(void *arg, unsigned n)
{
	(void)arg;
	(void)n;
	return 0;
}

static bool walk_read_only(const struct s2hyp_footprint *fp)
{
	bool desc = false;
	if (fp->global)
		return false;
	for (unsigned i = 0; i < fp->n; i++) {
		if (fp->acc[i].loc == S2HYP_FP_LINE || fp->acc[i].write)
			return false;
		desc |= fp->acc[i].loc == S2HYP_FP_DESC;
	}
	return desc;
}

static bool data_access(const struct s2hyp_footprint *fp)
{
	if (fp->global)
		return false;
	for (unsigned i = 0; i < fp->n; i++)
		if (fp->acc[i].loc == S2HYP_FP_LINE)
			return true;
	return false;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

/* What the hypervisor did, in order: only it writes this log. */
static uint64_t ring_hash(uint64_t h, const struct s2hyp_event *ring, unsigned n)
{
	for (unsigned i = n > S2HYP_HISTORY ? n - S2HYP_HISTORY : 0; i < n; i++) {
		const struct s2hyp_event *e = &ring[i % S2HYP_HISTORY];
		h = mix(h, e->kind);
		h = mix(h, e->a);
		h = mix(h, e->b);
		h = mix(h, (uint64_t)e->level * 256 + e->flags);
	}
	return mix(h, n);
}

struct pages {
	const struct s2hyp *m;
	uint64_t sum;
};

static void page_hash(void *arg, void *page, struct s2pool_page *pg)
{
	struct pages *p = arg;
	uint64_t h = mix(mix(0, s2_pa_get(s2pool_pa(p->m->pool, page))), (uint64_t)pg->refcount);
	const uint64_t *w = page;
	for (unsigned i = 0; i < 512; i++)
		h = mix(h, w[i]);
	p->sum += h;	/* a set: the order pages are visited in does not matter */
}

/*
 * An outcome, as far as the rules can tell: counts, rules fired, the
 * hypervisor's effects, every vCPU's state, TLB and walk cache, the
 * tables, the cache lines. Not the vCPUs' event logs, which a vCPU's
 * steps and its speculative walks both write (a log is not state), nor
 * write versions, which number writes machine-wide.
 */
static uint64_t outcome_hash(const struct s2hyp *m)
{
	const struct s2hyp_stats *st = s2hyp_stats(m);
	uint64_t h = 0;
	const uint64_t v[] = { st->maps, st->map_eagain, st->relaxes, st->unmaps, st->coalesces,
			       st->pte_stores, st->tlbis, st->dsbs, st->cmos, st->cmo_bytes,
			       st->table_pages_allocated, st->table_pages_freed, st->hyp_ops };
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		h = mix(h, v[i]);
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		h = mix(h, st->violations[r] > 0);
	h = ring_hash(h, m->host_hist, m->host_hist_n);
	for (unsigned i = 0; i < s2hyp_config(m)->nr_vcpus; i++) {
		const struct s2hyp_vcpu_stats *vs = &st->vcpu[i];
		const struct vcpu *vc = &m->vcpus[i];
		const uint64_t w[] = { vs->accesses, vs->faults_translation, vs->faults_permission,
				       vs->faults_access_flag, vs->faults_in_window, vs->walks,
				       vs->walk_restarts, vs->tlb_fills, vs->mmio, vc->state, vc->pc };
		uint64_t set = 0;
		for (unsigned j = 0; j < sizeof(w) / sizeof(w[0]); j++)
			h = mix(h, w[j]);
		for (unsigned j = 0; j < vc->tlb_n; j++)
			set += mix(mix(mix(1, vc->tlb[j].ipa), vc->tlb[j].oa),
				   vc->tlb[j].size * 64 + vc->tlb[j].prot);
		for (unsigned j = 0; j < vc->wc_n; j++)
			set += mix(mix(mix(2, vc->wc[j].ipa), vc->wc[j].table_pa),
				   vc->wc[j].size * 8 + (uint64_t)(vc->wc[j].level + 1));
		h = mix(h, set);
	}
	uint64_t lines = 0;
	struct pages pages = { m, 0 };
	for (size_t k = 0; k < s2cache_resident_count(m->cache); k++) {
		s2_pa_t pa;
		struct s2cache_line_info li;
		if (s2cache_resident_line(m->cache, k, &pa) || s2cache_line_info(m->cache, pa, &li))
			continue;
		lines += mix(mix(mix(s2_pa_get(pa), li.dirty), li.stale_mem * 3 + li.stale_dc),
			     li.icache_cpus);
	}
	s2pool_for_each_live(m->pool, page_hash, &pages);
	return mix(mix(h, lines), pages.sum);
}

/* Run prefix + tail, then sequentially to the end. */
static uint64_t run_with(const struct s2hyp_scenario *sc, const struct s2hyp_choice *prefix,
			 size_t n, const struct s2hyp_choice *tail, size_t nt)
{
	struct s2hyp_choice *s = malloc((n + nt) * sizeof(*s));
	struct s2hyp *m;
	struct s2hyp_replay rp = { .sched = s, .n = n + nt };
	struct s2hyp_strategy st = s2hyp_strategy_replay_template;

	assert_non_null(s);
	memcpy(s, prefix, n * sizeof(*s));
	memcpy(s + n, tail, nt * sizeof(*s));
	assert_int_equal(s2hyp_scenario_instantiate(sc, &m, NULL), 0);
	st.arg = &rp;
	assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
	assert_false(rp.diverged);
	uint64_t h = outcome_hash(m);
	s2hyp_delete(m);
	free(s);
	return h;
}

/* Find, under some seed, a state where two vCPUs' next steps have the
 * given shape; return the schedule that leads there. */
static bool probe_state(const struct s2hyp_scenario *sc, bool (*shape)(const struct s2hyp_footprint *),
			struct probe *p, struct s2hyp_choice **prefix, size_t *n)
{
	for (uint64_t seed = 1; seed < 200; seed++) {
		struct s2hyp_strategy st = { .choose = probe_choose, .pick_arg = probe_pick, .arg = p };
		assert_int_equal(s2hyp_scenario_instantiate(sc, &p->m, NULL), 0);
		s2hyp_rng_seed(&p->rng, seed);
		p->shape = shape;
		p->found = false;
		s2hyp_record_schedule(p->m, true);
		s2hyp_run(p->m, &st);
		if (p->found) {
			const struct s2hyp_choice *s = s2hyp_schedule(p->m, n);
			*prefix = malloc((*n ? *n : 1) * sizeof(**prefix));
			memcpy(*prefix, s, *n * sizeof(**prefix));
		}
		s2hyp_delete(p->m);
		if (p->found)
			return true;
	}
	return false;
}

/* Two vCPUs' walk reads are independent, and they do commute: either
 * order leads to the same outcome. */
static void test_walk_reads_commute(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	struct probe p;
	struct s2hyp_choice *prefix;
	size_t n;

	s2fuzz_scenario_coalesce_race(&sc, S2PT_V_UPSTREAM_2021);
	assert_true(probe_state(&sc, walk_read_only, &p, &prefix, &n));
	assert_true(s2hyp_footprints_independent(&p.fp[0], &p.fp[1]));
	const struct s2hyp_choice ab[] = { { S2HYP_CH_VCPU, 0, 0 }, { S2HYP_CH_VCPU, 1, 0 } };
	const struct s2hyp_choice ba[] = { { S2HYP_CH_VCPU, 1, 0 }, { S2HYP_CH_VCPU, 0, 0 } };
	assert_int_equal(run_with(&sc, prefix, n, ab, 2), run_with(&sc, prefix, n, ba, 2));
	free(prefix);
	s2hyp_scenario_free(&sc);
}

/* A write and a read of the same line do not commute. */
static void test_same_line_write_read_dependent(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	struct s2hyp_vcpu_op op = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true,
				    .ipa = S2HYP_SEED_IPA };
	struct probe p;
	struct s2hyp_choice *prefix;
	size_t n;

	/* Both vCPUs map the page; then one writes a line the other reads. */
	s2hyp_scenario_init(&sc);
	sc.slots[0] = (struct s2hyp_memslot){ .ipa = S2HYP_SEED_IPA, .size = 0x200000,
					      .hva = S2HYP_SEED_HVA, .backing = S2HYP_BACKING_4K };
	sc.nr_slots = 1;
	s2hyp_scenario_add_vcpu(&sc, 0, &op);
	s2hyp_scenario_add_vcpu(&sc, 1, &op);
	op.phase = 1;
	op.access = S2HYP_ACC_WRITE;
	s2hyp_scenario_add_vcpu(&sc, 0, &op);
	op.access = S2HYP_ACC_READ;
	op.ipa += 8;
	s2hyp_scenario_add_vcpu(&sc, 1, &op);
	assert_true(probe_state(&sc, data_access, &p, &prefix, &n));
	assert_false(s2hyp_footprints_independent(&p.fp[0], &p.fp[1]));
	free(prefix);
	s2hyp_scenario_free(&sc);
}

/* Every predicted footprint of a vCPU step and of a speculative walk
 * agrees with what the step then did, in every scenario. */
struct checker {
	struct s2hyp *m;
	struct s2hyp_rng rng;
	struct s2hyp_fp_mark mk;
	struct s2hyp_footprint fp;
	bool marked;
	unsigned checked, mispredicted, hyp_precise;
	unsigned hyp_reads, hyp_vcpu;	/* precise HYP footprints with a descriptor
					 * read; of a vCPU's operation */
	unsigned pick;
};

static void checker_finish(struct checker *c)
{
	if (!c->marked)
		return;
	s2hyp_footprint_observe(c->m, &c->mk, &c->fp);
	c->checked++;
	c->mispredicted += c->fp.mispredicted;
	c->hyp_precise += c->mk.c.kind == S2HYP_CH_HYP && !c->fp.global;
	if (c->mk.c.kind == S2HYP_CH_HYP && !c->fp.global) {
		bool read = false;
		for (unsigned i = 0; i < c->fp.n; i++)
			read |= c->fp.acc[i].loc == S2HYP_FP_DESC && !c->fp.acc[i].write;
		c->hyp_reads += read;
		c->hyp_vcpu += c->fp.thread >= 0;
	}
	c->marked = false;
}

static unsigned checker_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
			       uint64_t step)
{
	struct checker *c = arg;
	(void)step;
	checker_finish(c);
	unsigned i = (unsigned)(s2hyp_rng_next(&c->rng) % n);
	struct s2hyp_choice ch = choices[i];
	unsigned na = s2hyp_choice_nargs(c->m, &ch);
	c->pick = na ? (unsigned)(s2hyp_rng_next(&c->rng) % na) : 0;
	ch.arg = c->pick;
	assert_int_equal(s2hyp_choice_footprint(c->m, &ch, &c->fp), 0);
	s2hyp_footprint_mark(c->m, &ch, &c->mk);
	c->marked = true;
	return i;
}

static unsigned checker_pick(void *arg, unsigned n)
{
	struct checker *c = arg;
	assert_true(c->pick < n);
	return c->pick;
}

static void test_footprints_match_observation(void **state)
{
	(void)state;
	unsigned checked = 0, hyp_precise = 0, hyp_reads = 0, hyp_vcpu = 0;
	for (unsigned s = 0; s2fuzz_scenario_name(s); s++) {
		for (uint64_t seed = 1; seed <= 8; seed++) {
			struct s2hyp_scenario sc;
			struct checker c = { 0 };
			struct s2hyp_strategy st = { .choose = checker_choose, .pick_arg = checker_pick, .arg = &c };
			/* Odd seeds: one operation at a time, whose hyp steps are
			 * refined by observation; even: parallel faults. */
			build(&sc, s2fuzz_scenario_name(s),
			      seed & 1 ? S2PT_V_UPSTREAM_EXCLUSIVE : S2PT_V_UPSTREAM);
			assert_int_equal(s2hyp_scenario_instantiate(&sc, &c.m, NULL), 0);
			s2hyp_rng_seed(&c.rng, seed);
			s2hyp_run(c.m, &st);
			checker_finish(&c);
			if (c.mispredicted)
				fail_msg("%s seed %llu: %u of %u footprints mispredicted",
					 s2fuzz_scenario_name(s), (unsigned long long)seed,
					 c.mispredicted, c.checked);
			checked += c.checked;
			hyp_precise += c.hyp_precise;
			hyp_reads += c.hyp_reads;
			hyp_vcpu += c.hyp_vcpu;
			s2hyp_delete(c.m);
			s2hyp_scenario_free(&sc);
		}
	}
	assert_true(checked > 1000);
	assert_true(hyp_precise > 100);
	/* HYP steps carry the descriptors their walks read, and a fault's
	 * steps are its vCPU's thread. */
	assert_true(hyp_reads > 50);
	assert_true(hyp_vcpu > 50);
}

/* An exchange that loses stores nothing, yet its step read the entry: its
 * footprint conflicts with a store to that entry by another operation (and
 * not with one elsewhere). */
static void test_lost_exchange_reads(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	build(&sc, "coalesce-race", S2PT_V_UPSTREAM);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, NULL), 0);
	s2_pte_t *ptep = m->pt.pgd;
	uint64_t pa = s2_pa_get(s2pool_pa(m->pool, ptep));

	/* Inside vCPU 1's operation, between two scheduling points. */
	struct s2hyp_choice hyp = { S2HYP_CH_HYP, 0, 0 };
	struct s2hyp_fp_mark mk;
	struct s2hyp_footprint fp;
	m->locked = true;
	m->op_thread = 1;
	s2hyp_footprint_mark(m, &hyp, &mk);
	assert_false(s2hyp__mm_ops.cmpxchg_pte(m, ptep, *ptep + 1, 0));
	s2hyp_footprint_observe(m, &mk, &fp);
	m->locked = false;
	m->op_thread = HOST_THREAD;

	assert_false(fp.global);
	assert_int_equal(fp.thread, 1);
	struct s2hyp_footprint store = { .thread = 0, .n = 1 };
	store.acc[0] = (struct s2hyp_fp_access){ S2HYP_FP_DESC, true, pa, pa + 8 };
	assert_false(s2hyp_footprints_independent(&fp, &store));
	store.acc[0].lo += 8;
	store.acc[0].hi += 8;
	assert_true(s2hyp_footprints_independent(&fp, &store));
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* Whether fp holds an access of loc (a write if write) covering [lo, hi). */
static bool fp_has(const struct s2hyp_footprint *fp, enum s2hyp_fp_loc loc, bool write,
		   uint64_t lo, uint64_t hi)
{
	for (unsigned i = 0; i < fp->n; i++) {
		const struct s2hyp_fp_access *a = &fp->acc[i];
		if (a->loc == loc && a->write == write && a->lo <= lo && hi <= a->hi)
			return true;
	}
	return false;
}

static bool fp_has_loc(const struct s2hyp_footprint *fp, enum s2hyp_fp_loc loc)
{
	for (unsigned i = 0; i < fp->n; i++)
		if (fp->acc[i].loc == loc)
			return true;
	return false;
}

/* A strategy that runs in order, and at vCPU 0's second item (its TLB
 * holding the first's leaf) predicts and marks vCPU 0's step, takes it,
 * and observes it. */
struct second_step {
	struct s2hyp *m;
	struct s2hyp_fp_mark mk;
	struct s2hyp_footprint fp;
	bool marked, done, leaf_before, leaf_after;
	unsigned walk_reads;
	uint64_t read_lo, read_hi;	/* the descriptors the step read */
};

/* Observe the marked step once it is taken. */
static void second_step_finish(struct second_step *p)
{
	const struct vcpu *v = &p->m->vcpus[0];

	if (!p->marked)
		return;
	s2hyp_footprint_observe(p->m, &p->mk, &p->fp);
	p->leaf_after = s2hyp__tlb_lookup(p->m, v, v->prog[1].ipa) != NULL;
	p->read_lo = UINT64_MAX;
	for (unsigned i = p->mk.vcpu_events; i != v->hist_n; i++) {
		const struct s2hyp_event *e = &v->hist[i % S2HYP_HISTORY];
		if (e->kind != EV_WALK_READ)
			continue;
		p->walk_reads++;
		p->read_lo = e->a < p->read_lo ? e->a : p->read_lo;
		p->read_hi = e->a + sizeof(s2_pte_t) > p->read_hi ? e->a + sizeof(s2_pte_t) :
								      p->read_hi;
	}
	p->marked = false;
	p->done = true;
}

static unsigned second_step_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
				   uint64_t step)
{
	struct second_step *p = arg;
	const struct vcpu *v = &p->m->vcpus[0];
	(void)step;

	second_step_finish(p);
	for (unsigned i = 0; !p->done && i < n; i++) {
		if (choices[i].kind != S2HYP_CH_VCPU || choices[i].vcpu != 0 || v->pc != 1 ||
		    v->state != V_READY)
			continue;
		p->leaf_before = s2hyp__tlb_lookup(p->m, v, v->prog[1].ipa) != NULL;
		assert_int_equal(s2hyp_choice_footprint(p->m, &choices[i], &p->fp), 0);
		s2hyp_footprint_mark(p->m, &choices[i], &p->mk);
		p->marked = true;
		return i;
	}
	return 0;	/* the first choice is never a background one */
}

/* vCPU 0 reads a page twice, the second time as a replayed fault line
 * that counts as a walk (walked) or as a plain access; the footprint of
 * that second step. */
static void second_read_fp(bool walked, struct second_step *p)
{
	struct s2hyp_scenario sc;
	struct s2hyp_vcpu_op op = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true,
				    .ipa = S2HYP_SEED_IPA + 0x3000 };
	struct s2hyp_strategy st = { .choose = second_step_choose, .pick_arg = probe_pick, .arg = p };

	s2hyp_scenario_init(&sc);
	sc.slots[0] = (struct s2hyp_memslot){ .ipa = S2HYP_SEED_IPA, .size = 0x200000,
					      .hva = S2HYP_SEED_HVA, .backing = S2HYP_BACKING_4K };
	sc.nr_slots = 1;
	s2hyp_scenario_add_vcpu(&sc, 0, &op);
	op.phase = 1;
	op.walked = walked;
	s2hyp_scenario_add_vcpu(&sc, 0, &op);
	*p = (struct second_step){ 0 };
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &p->m, NULL), 0);
	assert_int_equal(s2hyp_run(p->m, &st), S2HYP_DONE);
	second_step_finish(p);	/* the last step ends the run */
	assert_true(p->done);
	assert_true(p->leaf_before);
	s2hyp_scenario_free(&sc);
}

/* The step of a walked access (a replayed fault line that counts as a
 * walk) writes its vCPU's TLB (the leaves of the address go), reads the
 * descriptors its walk reads, and makes no data access: the prediction
 * the reduction uses says so, and the observation agrees. A plain access
 * to the same cached page only reads the TLB and touches the line. */
static void test_walked_step_footprint(void **state)
{
	(void)state;
	struct second_step p;

	second_read_fp(true, &p);
	assert_false(p.fp.global);
	assert_false(p.fp.mispredicted);
	assert_int_equal(p.fp.thread, 0);
	assert_false(p.leaf_after);		/* the leaf went, and the walk goes on */
	assert_true(p.walk_reads >= 1);
	assert_true(fp_has(&p.fp, S2HYP_FP_TLB, true, 0, 1));
	assert_true(fp_has(&p.fp, S2HYP_FP_DESC, false, p.read_lo, p.read_hi));
	assert_false(fp_has_loc(&p.fp, S2HYP_FP_LINE));
	/* A store to the descriptor the walk read does not commute with it. */
	struct s2hyp_footprint store = { .thread = S2HYP_FP_HYP, .n = 1 };
	store.acc[0] = (struct s2hyp_fp_access){ S2HYP_FP_DESC, true, p.read_lo, p.read_lo + 8 };
	assert_false(s2hyp_footprints_independent(&p.fp, &store));
	/* Nor does whatever reads vCPU 0's TLB. */
	struct s2hyp_footprint fill = { .thread = S2HYP_FP_BACKGROUND, .n = 1 };
	fill.acc[0] = (struct s2hyp_fp_access){ S2HYP_FP_TLB, false, 0, 1 };
	assert_false(s2hyp_footprints_independent(&p.fp, &fill));
	s2hyp_delete(p.m);

	second_read_fp(false, &p);
	assert_false(p.fp.global);
	assert_false(p.fp.mispredicted);
	assert_true(p.leaf_after);
	assert_int_equal(p.walk_reads, 0);
	assert_true(fp_has(&p.fp, S2HYP_FP_TLB, false, 0, 1));
	assert_false(fp_has(&p.fp, S2HYP_FP_TLB, true, 0, 1));
	assert_false(fp_has_loc(&p.fp, S2HYP_FP_DESC));
	assert_true(fp_has_loc(&p.fp, S2HYP_FP_LINE));
	assert_true(s2hyp_footprints_independent(&p.fp, &fill));
	s2hyp_delete(p.m);
}

/* vCPU 0's walk steps of its second read (after an ageing with flush made
 * the page old): whether one is predicted to write a descriptor. */
struct af_steps {
	struct s2hyp *m;
	unsigned walk_steps, desc_writes;
};

static unsigned af_steps_choose(void *arg, const struct s2hyp_choice *choices, unsigned n,
				uint64_t step)
{
	struct af_steps *p = arg;
	const struct vcpu *v = &p->m->vcpus[0];
	(void)step;

	for (unsigned i = 0; i < n; i++) {
		struct s2hyp_footprint fp;
		if (choices[i].kind != S2HYP_CH_VCPU || choices[i].vcpu != 0 || v->pc != 1 ||
		    v->state != V_WALK)
			continue;
		assert_int_equal(s2hyp_choice_footprint(p->m, &choices[i], &fp), 0);
		assert_false(fp.global);
		p->walk_steps++;
		for (unsigned j = 0; j < fp.n; j++)
			p->desc_writes += fp.acc[j].loc == S2HYP_FP_DESC && fp.acc[j].write;
		return i;
	}
	return 0;	/* the first choice is never a background one */
}

/* With the hardware access flag, the walk step that finds the page's access
 * flag clear sets it (no fault): that step writes the descriptor, and the
 * reduction must order it against anything reading it (an ageing's test of
 * the flag, a walker's compare-and-exchange). Without the flag the same
 * walk only reads, and the access takes an access-flag fault. */
static void test_hw_af_walk_writes(void **state)
{
	(void)state;
	for (int hw = 0; hw < 2; hw++) {
		struct s2hyp_scenario sc;
		struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true,
					    .ipa = S2HYP_SEED_IPA };
		struct s2hyp_host_op age = { .kind = S2HYP_HOST_AGE_IPA, .phase = 1,
					     .addr = S2HYP_SEED_IPA, .size = 0x1000, .flush = true };
		struct af_steps p = { 0 };
		struct s2hyp_strategy st = { .choose = af_steps_choose, .pick_arg = probe_pick,
					       .arg = &p };

		s2hyp_scenario_init(&sc);
		sc.cfg.hw_af = hw;
		sc.slots[0] = (struct s2hyp_memslot){ .ipa = S2HYP_SEED_IPA, .size = 0x200000,
						      .hva = S2HYP_SEED_HVA,
						      .backing = S2HYP_BACKING_4K };
		sc.nr_slots = 1;
		assert_int_equal(s2hyp_scenario_add_vcpu(&sc, 0, &rd), 0);
		assert_int_equal(s2hyp_scenario_add_host(&sc, &age), 0);
		rd.phase = 2;
		assert_int_equal(s2hyp_scenario_add_vcpu(&sc, 0, &rd), 0);
		assert_int_equal(s2hyp_scenario_instantiate(&sc, &p.m, NULL), 0);
		assert_int_equal(s2hyp_run(p.m, &st), S2HYP_DONE);
		assert_true(p.walk_steps > 0);
		assert_int_equal(p.desc_writes, hw ? 1 : 0);
		assert_int_equal(s2hyp_stats(p.m)->vcpu[0].faults_access_flag, hw ? 0 : 1);
		s2hyp_delete(p.m);
		s2hyp_scenario_free(&sc);
	}
}

/* The reduction loses no outcome: exhaustive search with and without it
 * reaches the same set of outcomes (with and without a preemption bound,
 * with background choices). */
struct outcomes {
	uint64_t *h;
	size_t n, cap;
};

static void visit(void *arg, const struct s2hyp *m)
{
	struct outcomes *o = arg;
	uint64_t h = outcome_hash(m);
	for (size_t i = 0; i < o->n; i++)
		if (o->h[i] == h)
			return;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->h = realloc(o->h, o->cap * sizeof(*o->h));
		assert_non_null(o->h);
	}
	o->h[o->n++] = h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void outcomes_src(const struct s2hyp_scenario *sc, bool reduce, bool source, int bound,
			 unsigned bg, struct outcomes *out, uint64_t *runs, uint64_t *terminal)
{
	struct s2fuzz_opts o;
	struct s2fuzz_result r;
	char err[256] = "";

	memset(out, 0, sizeof(*out));
	s2fuzz_opts_init(&o, S2FUZZ_EXHAUSTIVE);
	o.no_reduction = !reduce;
	o.no_source_sets = !source;
	o.preemptions = bound;
	o.background = bg;
	o.visit = visit;
	o.visit_arg = out;
	assert_int_equal(s2fuzz_run(sc, &o, &r, err, sizeof(err)), 0);
	assert_true(r.complete);
	assert_false(r.found);
	*runs = r.runs;
	if (terminal)
		*terminal = r.terminal;
	qsort(out->h, out->n, sizeof(*out->h), cmp_u64);
	s2fuzz_result_free(&r);
}

static void outcomes_of(const struct s2hyp_scenario *sc, bool reduce, int bound, unsigned bg,
			struct outcomes *out, uint64_t *runs)
{
	outcomes_src(sc, reduce, true, bound, bg, out, runs, NULL);
}

static bool subset(const struct outcomes *a, const struct outcomes *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!bsearch(&a->h[i], b->h, b->n, sizeof(*b->h), cmp_u64))
			return false;
	return true;
}

/* Two faults racing to map neighbouring pages of one 2M region, under
 * variant v. */
static void two_faults(struct s2hyp_scenario *sc, enum s2pt_variant v)
{
	struct s2hyp_vcpu_op op = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true };

	s2hyp_scenario_init(sc);
	sc->cfg.variant = v;
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = S2HYP_SEED_IPA, .size = 0x200000,
					       .hva = S2HYP_SEED_HVA,
					       .backing = S2HYP_BACKING_4K };
	sc->nr_slots = 1;
	op.ipa = S2HYP_SEED_IPA;
	s2hyp_scenario_add_vcpu(sc, 0, &op);
	op.ipa += 0x1000;
	s2hyp_scenario_add_vcpu(sc, 1, &op);
}

/* The coalescing race, with one page and one reader. */
static void small_coalesce(struct s2hyp_scenario *sc)
{
	s2fuzz_scenario_coalesce_race(sc, S2PT_V_UPSTREAM_2021);
	sc->vcpu[0][1] = sc->vcpu[0][2];
	sc->nvcpu[0] = 2;
	sc->vcpu[1][0] = sc->vcpu[1][1];
	sc->nvcpu[1] = 1;
}

static void test_reduction_loses_no_outcome(void **state)
{
	(void)state;
	struct s2hyp_scenario race, coal, par;
	const struct {
		struct s2hyp_scenario *sc;
		int bound;
		unsigned bg;
	} cases[] = { { &race, -1, 0 }, { &race, 1, 1 }, { &coal, 2, 0 }, { &coal, 3, 0 },
		      { &coal, 1, 1 }, { &par, 4, 0 } };

	two_faults(&race, S2PT_V_UPSTREAM_2021);
	/* The same race with parallel faults: two operations in flight, each
	 * step of one observed as its vCPU's thread. */
	two_faults(&par, S2PT_V_UPSTREAM);
	small_coalesce(&coal);

	/* The same bounds, with and without the reduction: the same outcomes. */
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcomes a, b;
		uint64_t ra, rb;
		outcomes_of(cases[i].sc, true, cases[i].bound, cases[i].bg, &a, &ra);
		outcomes_of(cases[i].sc, false, cases[i].bound, cases[i].bg, &b, &rb);
		print_message("case %u: %zu outcomes; %llu schedules with the reduction, %llu "
			      "without\n", i, a.n, (unsigned long long)ra, (unsigned long long)rb);
		assert_true(a.n > 1);
		assert_int_equal(a.n, b.n);
		assert_memory_equal(a.h, b.h, a.n * sizeof(*a.h));
		assert_true(ra <= rb);
		free(a.h);
		free(b.h);
	}
	/* With background choices and no bound, too many interleavings to run
	 * them all; but whatever one preemption reaches, the reduced search
	 * without a bound reaches too. (This is what caught a run's last step
	 * disabling every background choice.) */
	struct outcomes all, one;
	uint64_t r1, r2;
	outcomes_of(&race, true, -1, 1, &all, &r1);
	outcomes_of(&race, false, 1, 1, &one, &r2);
	print_message("background 1: %zu outcomes in %llu reduced schedules, %zu with one "
		      "preemption\n", all.n, (unsigned long long)r1, one.n);
	assert_true(subset(&one, &all));
	free(all.h);
	free(one.h);
	s2hyp_scenario_free(&race);
	s2hyp_scenario_free(&coal);
	s2hyp_scenario_free(&par);
}

/* Source sets lose no outcome: the exhaustive search exploring only the
 * candidates races call for reaches the same set of outcomes, and runs the
 * same number of schedules to their end (one per class), as the one
 * exploring every candidate not asleep (sleep sets alone), in fewer
 * schedules: two faults racing (where a vCPU waits for the other's lock),
 * the coalescing race, parallel faults, with and without a background
 * choice. */
static void test_source_sets_lose_no_outcome(void **state)
{
	(void)state;
	struct s2hyp_scenario race, small, coal, par;
	struct s2hyp_config pc;
	const struct {
		struct s2hyp_scenario *sc;
		unsigned bg;
	} cases[] = { { &race, 0 }, { &race, 1 }, { &small, 1 }, { &coal, 0 }, { &par, 0 } };

	two_faults(&race, S2PT_V_UPSTREAM_2021);
	s2fuzz_scenario_coalesce_race(&coal, S2PT_V_UPSTREAM_2021);
	small_coalesce(&small);
	s2hyp_config_init(&pc);
	pc.variant = S2PT_V_UPSTREAM;
	s2fuzz_scenario_parallel_faults_cfg(&par, &pc);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct outcomes a, b;
		uint64_t ra, rb, ta, tb;
		outcomes_src(cases[i].sc, true, true, -1, cases[i].bg, &a, &ra, &ta);
		outcomes_src(cases[i].sc, true, false, -1, cases[i].bg, &b, &rb, &tb);
		print_message("case %u: %zu outcomes; %llu schedules (%llu to their end) with "
			      "source sets, %llu (%llu) without\n", i, a.n,
			      (unsigned long long)ra, (unsigned long long)ta,
			      (unsigned long long)rb, (unsigned long long)tb);
		assert_true(a.n > 1);
		assert_int_equal(a.n, b.n);
		assert_memory_equal(a.h, b.h, a.n * sizeof(*a.h));
		assert_int_equal(ta, tb);
		assert_true(ra < rb);
		free(a.h);
		free(b.h);
	}
	s2hyp_scenario_free(&race);
	s2hyp_scenario_free(&small);
	s2hyp_scenario_free(&coal);
	s2hyp_scenario_free(&par);
}

/* ------------------------------------------------------------------ */
/* Traces as scenarios                                                 */
/* ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A trace loads into the scenario replay would run, phases numbered as
 * replay numbers them, and its schedule comes with it. */
static void test_load_trace(void **state)
{
	(void)state;
	char path[256], err[512];
	struct s2hyp_scenario sc;
	struct s2hyp_choice *sched;
	size_t n;

	snprintf(path, sizeof(path), "%s/load.s2t", tmpdir);
	write_file(path, "s2emu-trace 1\n"
			 "config vcpus=2 walker=install-first\n"
			 "memslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=thp\n"
			 "schedule v0 v1 hyp\n"
			 "vcpu 0 read ipa=0x40000000\n"
			 "phase 5\n"
			 "vcpu 1 write ipa=0x40001000 value=7\n"
			 "host unmap-ipa ipa=0x40000000 size=4K\n"
			 "phase 6\n"
			 "mmio vcpu=0 ipa=0x9000000\n"
			 "vcpu 0 exec ipa=0x40002000\n"
			 "expect clean\n");
	assert_int_equal(s2trace_load_scenario(path, &sc, &sched, &n, err, sizeof(err)), 0);
	assert_int_equal(sc.cfg.nr_vcpus, 2);
	assert_int_equal(sc.cfg.variant, S2PT_V_INSTALL_FIRST);
	assert_int_equal(sc.nr_slots, 1);
	assert_int_equal(sc.nvcpu[0], 2);
	assert_int_equal(sc.nvcpu[1], 1);
	assert_int_equal(sc.nhost, 1);
	assert_int_equal(sc.vcpu[0][0].phase, 1);
	assert_int_equal(sc.vcpu[1][0].phase, 2);
	assert_int_equal(sc.host[0].phase, 2);
	assert_int_equal(sc.vcpu[0][1].phase, 3);
	assert_int_equal(sc.vcpu[0][1].access, S2HYP_ACC_EXEC);
	assert_int_equal(sc.vcpu[1][0].value, 7);
	assert_int_equal(n, 3);
	assert_int_equal(sched[2].kind, S2HYP_CH_HYP);
	free(sched);
	s2hyp_scenario_free(&sc);

	/* Bad input names the file and line. */
	write_file(path, "s2emu-trace 1\nconfig vcpus=1\nvcpu 1 read ipa=0x1000\n");
	assert_int_not_equal(s2trace_load_scenario(path, &sc, NULL, NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "load.s2t:3: "));
	assert_null(strchr(err, '\n'));
	s2hyp_scenario_free(&sc);
	write_file(path, "s2emu-trace 1\neffect 0 vtcr value=0x80023558\n");
	assert_int_not_equal(s2trace_load_scenario(path, &sc, NULL, NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "load.s2t:2: effect events"));
	s2hyp_scenario_free(&sc);
}

/* A shrunk counterexample of a trace scenario, written and loaded again,
 * is the same scenario. */
static void test_cex_round_trip(void **state)
{
	(void)state;
	struct s2hyp_scenario sc, back;
	struct s2fuzz_opts o;
	struct s2fuzz_result r;
	char path[256], err[512] = "";
	struct s2hyp_choice *sched;
	size_t n;

	build(&sc, "seed", S2PT_V_INSTALL_FIRST_NOCMO);
	s2fuzz_opts_init(&o, S2FUZZ_RANDOM);
	o.runs = 3;
	assert_int_equal(s2fuzz_run(&sc, &o, &r, err, sizeof(err)), 0);
	assert_true(r.have_cex);
	snprintf(path, sizeof(path), "%s/cex.s2t", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(s2fuzz_cex_write(f, &r.cex, NULL), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(s2trace_load_scenario(path, &back, &sched, &n, err, sizeof(err)), 0);
	assert_int_equal(n, r.cex.nsched);
	assert_int_equal(s2fuzz_scenario_items(&back), r.cex.items_after);
	assert_int_equal(back.cfg.nr_vcpus, r.cex.vcpus_after);
	free(sched);
	s2hyp_scenario_free(&back);
	s2fuzz_result_free(&r);
	s2hyp_scenario_free(&sc);
}

/* Shards split a search exactly: random and pct shards run disjoint seeds
 * whose union is the whole range, with the same per-seed results; the
 * exhaustive shards of the small race add up to the whole search with
 * sleep sets alone (as shards search), class for class, and each shard
 * does only part of it. */
static void test_shards_add_up(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	char err[256] = "";

	build(&sc, "seed", S2PT_V_UPSTREAM);
	for (int s = S2FUZZ_RANDOM; s <= S2FUZZ_PCT; s++) {
		struct s2fuzz_result all, part[3];
		struct s2fuzz_opts o;
		s2fuzz_opts_init(&o, (enum s2fuzz_strategy)s);
		o.runs = 10;
		o.seed = 7;
		o.keep_seeds = true;
		assert_int_equal(s2fuzz_run(&sc, &o, &all, err, sizeof(err)), 0);
		uint64_t runs = 0, steps = 0;
		for (unsigned k = 0; k < 3; k++) {
			o.shard = k;
			o.nr_shards = 3;
			o.jobs = k == 1 ? 2 : 1;
			assert_int_equal(s2fuzz_run(&sc, &o, &part[k], err, sizeof(err)), 0);
			runs += part[k].runs;
			steps += part[k].steps;
			for (size_t i = 0; i < part[k].nseeds; i++) {
				const struct s2fuzz_seed_result *p = &part[k].seeds[i];
				assert_int_equal((p->seed - 7) % 3, k);
				assert_memory_equal(p, &all.seeds[p->seed - 7], sizeof(*p));
			}
		}
		assert_int_equal(runs, all.runs);
		assert_int_equal(steps, all.steps);
		assert_int_equal(part[0].runs, 4);	/* seeds 7, 10, 13, 16 */
		for (unsigned k = 0; k < 3; k++)
			s2fuzz_result_free(&part[k]);
		s2fuzz_result_free(&all);
	}
	s2hyp_scenario_free(&sc);

	s2fuzz_scenario_coalesce_race(&sc, S2PT_V_INSTALL_FIRST);
	for (unsigned n = 2; n <= 3; n++) {
		struct s2fuzz_result all, part;
		struct s2fuzz_opts o;
		s2fuzz_opts_init(&o, S2FUZZ_EXHAUSTIVE);
		/* Shards explore with sleep sets alone (source sets need every
		 * run's races at the nodes above the split). */
		o.no_source_sets = true;
		assert_int_equal(s2fuzz_run(&sc, &o, &all, err, sizeof(err)), 0);
		uint64_t runs = 0, steps = 0, terminal = 0, blocked = 0, pruned = 0;
		for (unsigned k = 0; k < n; k++) {
			o.shard = k;
			o.nr_shards = n;
			assert_int_equal(s2fuzz_run(&sc, &o, &part, err, sizeof(err)), 0);
			assert_true(part.complete);
			assert_true(part.runs < all.runs);
			runs += part.runs;
			steps += part.steps;
			terminal += part.terminal;
			blocked += part.blocked;
			pruned += part.pruned;
			s2fuzz_result_free(&part);
		}
		assert_int_equal(runs, all.runs);
		assert_int_equal(steps, all.steps);
		assert_int_equal(terminal, all.terminal);
		assert_int_equal(blocked, all.blocked);
		assert_int_equal(pruned, all.pruned);
		s2fuzz_result_free(&all);
	}
	s2hyp_scenario_free(&sc);
}

/* The shrinker drops a memslot no event needs and the features the bug
 * does not need: upstream-eagain-stops leaves a page writable after a
 * write-protect that starts at an unmapped page of one slot; a second,
 * THP slot with dirty logging on, FWB and eager splitting are all dropped,
 * and whichever slot the program uses is the one kept (renumbered 0 when
 * the unused slot came first). The result still fires, nothing fires on
 * upstream, and it replays. */
static void test_shrink_drops_unused_config(void **state)
{
	(void)state;
	const uint64_t base[2] = { 0x40000000ull, 0x80000000ull };
	for (unsigned used = 0; used < 2; used++) {
		struct s2hyp_scenario sc;
		struct s2fuzz_cex cex;
		char file[64];

		s2hyp_scenario_init(&sc);
		sc.cfg.variant = S2PT_V_EAGAIN_STOPS;
		sc.cfg.nr_vcpus = 1;
		sc.cfg.fwb = true;
		sc.cfg.eager_split = true;
		for (unsigned i = 0; i < 2; i++)
			sc.slots[i] = (struct s2hyp_memslot){
				.ipa = base[i], .size = 0x200000, .hva = 0x7f0000000000ull + i * (1ull << 32),
				.backing = i == used ? S2HYP_BACKING_4K : S2HYP_BACKING_THP,
				.dirty_log = i != used };
		sc.nr_slots = 2;
		struct s2hyp_vcpu_op w = { .access = S2HYP_ACC_WRITE, .ipa = base[used] + 0x1000,
					   .size = 8, .mmu_on = true, .value = 1 };
		struct s2hyp_host_op wp = { .kind = S2HYP_HOST_WRPROTECT_IPA, .phase = 1,
					    .addr = base[used], .size = 0x2000 };
		assert_int_equal(s2hyp_scenario_add_vcpu(&sc, 0, &w), 0);
		assert_int_equal(s2hyp_scenario_add_host(&sc, &wp), 0);
		assert_int_equal(s2fuzz_shrink_against(&sc, NULL, 0, S2HYP_RULE_WRPROTECT_COMPLETE,
						       S2PT_V_UPSTREAM, 2000, &cex), 0);
		assert_int_equal(cex.sc.nr_slots, 1);
		assert_int_equal(cex.sc.slots[0].ipa, base[used]);
		assert_false(cex.sc.slots[0].dirty_log);
		assert_false(cex.sc.cfg.fwb);
		assert_false(cex.sc.cfg.eager_split);
		assert_int_equal(cex.against_fired, 0);
		snprintf(file, sizeof(file), "shrink-config-%u.s2t", used);
		check_replays(&cex, file);
		s2fuzz_cex_free(&cex);
		s2hyp_scenario_free(&sc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_bugs_caught_by_every_strategy),
		cmocka_unit_test(test_exhaustive_small_complete),
		cmocka_unit_test(test_same_seed_same_run),
		cmocka_unit_test(test_jobs_do_not_change_results),
		cmocka_unit_test(test_independence_relation),
		cmocka_unit_test(test_walk_reads_commute),
		cmocka_unit_test(test_same_line_write_read_dependent),
		cmocka_unit_test(test_footprints_match_observation),
		cmocka_unit_test(test_walked_step_footprint),
		cmocka_unit_test(test_hw_af_walk_writes),
		cmocka_unit_test(test_lost_exchange_reads),
		cmocka_unit_test(test_reduction_loses_no_outcome),
		cmocka_unit_test(test_source_sets_lose_no_outcome),
		cmocka_unit_test(test_load_trace),
		cmocka_unit_test(test_cex_round_trip),
		cmocka_unit_test(test_shards_add_up),
		cmocka_unit_test(test_shrink_drops_unused_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
