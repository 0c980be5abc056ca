/* A machine reset in place (s2hyp_reset, as the fuzzer reuses one between
 * schedules) runs a schedule exactly as a new machine does: the same
 * schedule, outcome, statistics, violations with their reports, events,
 * tables with their ghost state, and TLBs, after the reset machine ran
 * another schedule first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz/s2fuzz.h"

/* Table pages are at this host physical address (hyp-model/create.c). */
#define POOL_PA (1ull << 46)
#define POOL_PAGES_LOOKED_AT 256

static uint64_t mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = mix(h, b[i]);
	return h;
}

/* Everything a run leaves that can be seen from outside the machine. */
struct outcome {
	enum s2hyp_outcome out;
	char error[160];
	bool destroyed;
	struct s2hyp_stats stats;
	unsigned nviol;
	struct s2hyp_violation viol[4];
	size_t nsched;
	uint64_t sched;		/* digest of the recorded schedule */
	uint64_t tables;	/* digest of every descriptor and its ghost state */
	uint64_t tlbs;		/* digest of every vCPU's TLB */
	uint64_t events, nevents;	/* digest of every event, as it happened */
};

static uint64_t tables_digest(uint64_t h, const struct s2hyp *m)
{
	uint64_t page = 1ull << s2hyp_config(m)->granule_shift;

	for (uint64_t p = 0; p < POOL_PAGES_LOOKED_AT; p++) {
		for (uint64_t off = 0; off < page; off += 8) {
			struct s2hyp_entry e;
			if (s2hyp_entry_at(m, POOL_PA + p * page + off, &e))
				break;
			h = mix(mix(mix(mix(mix(h, p * page + off), e.ipa), (uint64_t)e.level),
				    e.value), e.ghost);
		}
	}
	return h;
}

/* Every event as it happens, and the tables before every host operation
 * (the last one usually destroys them). */
static void on_event(void *arg, const struct s2hyp *m, const struct s2hyp_event *e,
		     const char *src)
{
	struct outcome *o = arg;
	(void)m;
	(void)src;
	o->events = mix_bytes(o->events, e, sizeof(*e));
	o->nevents++;
}

static void on_host_op(void *arg, const struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct outcome *o = arg;
	(void)op;
	o->tables = tables_digest(o->tables, m);
}

static void run(struct s2hyp *m, uint64_t seed, struct outcome *o)
{
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;
	const struct s2hyp_config *cfg = s2hyp_config(m);
	struct s2hyp_observer obs = { on_event, on_host_op, NULL, o };

	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	s2hyp_record_schedule(m, true);
	s2hyp_stop_on_violation(m, true);
	s2hyp_set_observer(m, &obs);
	memset(o, 0, sizeof(*o));
	o->out = s2hyp_run(m, &st);
	snprintf(o->error, sizeof(o->error), "%s", s2hyp_error(m));
	o->destroyed = s2hyp_destroyed(m);
	o->stats = *s2hyp_stats(m);
	o->nviol = s2hyp_nr_violations(m);
	for (unsigned i = 0; i < o->nviol && i < 4; i++)
		o->viol[i] = *s2hyp_violation(m, i);
	const struct s2hyp_choice *s = s2hyp_schedule(m, &o->nsched);
	o->sched = mix_bytes(0, s, o->nsched * sizeof(*s));
	o->tables = tables_digest(o->tables, m);
	for (unsigned v = 0; v < cfg->nr_vcpus; v++) {
		struct s2hyp_translation t[64];
		unsigned n = s2hyp_vcpu_tlb(m, v, t, 64);
		o->tlbs = mix(o->tlbs, n);
		for (unsigned i = 0; i < n && i < 64; i++)
			o->tlbs = mix(mix(mix(mix(o->tlbs, t[i].ipa), t[i].size), t[i].pa),
				      t[i].prot);
	}
}

static void assert_same(const struct outcome *a, const struct outcome *b, const char *what)
{
	if (a->out != b->out || strcmp(a->error, b->error) || a->destroyed != b->destroyed)
		fail_msg("%s: outcome %d '%s' new, %d '%s' reset", what, a->out, a->error, b->out,
			 b->error);
	if (memcmp(&a->stats, &b->stats, sizeof(a->stats)))
		fail_msg("%s: statistics differ (steps %llu new, %llu reset)", what,
			 (unsigned long long)a->stats.steps, (unsigned long long)b->stats.steps);
	if (a->nviol != b->nviol)
		fail_msg("%s: %u violations new, %u reset", what, a->nviol, b->nviol);
	for (unsigned i = 0; i < a->nviol && i < 4; i++)
		if (memcmp(&a->viol[i], &b->viol[i], sizeof(a->viol[i])))
			fail_msg("%s: violation %u differs: '%s' new, '%s' reset", what, i,
				 a->viol[i].detail, b->viol[i].detail);
	if (a->nsched != b->nsched || a->sched != b->sched)
		fail_msg("%s: schedules differ (%zu choices new, %zu reset)", what, a->nsched,
			 b->nsched);
	if (a->nevents != b->nevents || a->events != b->events)
		fail_msg("%s: events differ (%llu new, %llu reset)", what,
			 (unsigned long long)a->nevents, (unsigned long long)b->nevents);
	if (a->tables != b->tables)
		fail_msg("%s: tables or their ghost state differ", what);
	if (a->tlbs != b->tlbs)
		fail_msg("%s: TLBs differ", what);
}

/* Seed s on a new machine, and on one that ran seed s + 1000 first and
 * was then reset; how many of the pairs fired a rule. */
static unsigned compare(const struct s2hyp_scenario *sc, uint64_t s, const char *what)
{
	struct s2hyp *a, *b;
	struct outcome fresh, other, reused;

	assert_int_equal(s2hyp_scenario_instantiate(sc, &a, NULL), 0);
	run(a, s, &fresh);
	s2hyp_delete(a);
	assert_int_equal(s2hyp_scenario_instantiate(sc, &b, NULL), 0);
	run(b, s + 1000, &other);
	assert_int_equal(s2hyp_scenario_reset(sc, b, NULL), 0);
	run(b, s, &reused);
	/* And once more: a reset after a reset. */
	assert_int_equal(s2hyp_scenario_reset(sc, b, NULL), 0);
	struct outcome again;
	run(b, s, &again);
	s2hyp_delete(b);
	/* The digests saw something. */
	assert_true(fresh.nevents > 0 && fresh.tables != 0);
	assert_same(&fresh, &reused, what);
	assert_same(&fresh, &again, what);
	return fresh.nviol != 0;
}

/* Built-in scenarios on correct, buggy and parallel walkers: violations
 * (stopping the run), parallel operations on fibers, evictions and
 * speculative walks, dirty logging changing a memslot's flags. */
static void test_reset_same_as_new_builtin(void **state)
{
	static const char *const names[] = { "seed", "map-unmap-race", "dirty-log-cycle",
					     "notifier-race", "coalesce-race", "parallel-faults" };
	static const enum s2pt_variant variants[] = {
		S2PT_V_UPSTREAM, S2PT_V_UPSTREAM_2021, S2PT_V_MERGE_TLBI_IPA, S2PT_V_LOSER_PUT,
		S2PT_V_UPSTREAM_NOCMO, S2PT_V_FREE_NOW, S2PT_V_LOG_BLOCKS,
	};
	unsigned fired = 0, runs = 0;
	(void)state;

	for (unsigned n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		for (unsigned v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			struct s2hyp_scenario sc;
			struct s2hyp_config cfg;
			char what[128];
			s2hyp_config_init(&cfg);
			cfg.nr_vcpus = 2;
			cfg.variant = variants[v];
			assert_int_equal(s2fuzz_scenario_build_cfg(&sc, names[n], &cfg), 0);
			for (uint64_t s = 1; s <= 4; s++, runs++) {
				snprintf(what, sizeof(what), "%s on %s, seed %llu", names[n],
					 s2pt_variant_name(variants[v]), (unsigned long long)s);
				fired += compare(&sc, s, what);
			}
			s2hyp_scenario_free(&sc);
		}
	}
	/* The buggy walkers fire: the comparison covers reports too. */
	assert_true(fired > 0 && fired < runs);
}

/* Generated scenarios: every backing and granule, host operations, and
 * host memory (host-mm, whose model is made again at a reset). */
static void test_reset_same_as_new_generated(void **state)
{
	unsigned host_mm = 0;
	(void)state;

	for (uint64_t s = 1; s <= 30; s++) {
		struct s2hyp_scenario sc;
		struct s2hyp_config cfg;
		char what[96];
		s2hyp_config_init(&cfg);
		cfg.host_mm = s % 2 == 0;
		if (s2fuzz_scenario_generate(&sc, &cfg, S2FUZZ_GEN_ALL, s)) {
			s2hyp_scenario_free(&sc);
			continue;
		}
		host_mm += sc.cfg.host_mm;
		snprintf(what, sizeof(what), "generated scenario %llu%s", (unsigned long long)s,
			 sc.cfg.host_mm ? " (host-mm)" : "");
		compare(&sc, s, what);
		s2hyp_scenario_free(&sc);
	}
	assert_true(host_mm > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_same_as_new_builtin),
		cmocka_unit_test(test_reset_same_as_new_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
