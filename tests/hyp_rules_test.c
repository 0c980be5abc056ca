/* Every checker rule of s2hyp_rules.h, casemate-style: for each rule a bad
 * run that fires it (and only the rules that situation must fire) and a good
 * run of the same situation that fires nothing.
 *
 * Most pairs go through the whole pipeline: a small scenario, a walker
 * variant that reproduces a known bug against the correct one, run
 * sequentially, under fixed random seeds, or under a hand-written schedule.
 * Three rules have no buggy variant (double-free, tlbi-after-unmap, and a
 * hardware walk through a freed page): white-box tests drive the machine's
 * own mm ops in the buggy order a hypervisor could use, next to the same
 * sequence done right.
 *
 * The layout every scenario uses: one memslot at IPA 0x40000000, host
 * address 0x7f0000000000, one 2M region (block 0):
 *
 *   IPA 0x40000000                                     0x40200000
 *   |p0|p1|p2|p3|p4|p5|p6|p7|p8| . . . . . . . . . . . . |
 *     pN: 4K page N. Dirty logging forces page mappings at level 3; once it
 *     is off, the next fault in the region maps the 2M block at level 2 and
 *     coalesces the level-3 table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp_kvm.h"
#include "hyp-model/s2hyp_scenario.h"

#define BASE S2HYP_SEED_IPA
#define HVA S2HYP_SEED_HVA
#define PG 0x1000ull
#define SZ_2M 0x200000ull
#define GOOD_SEEDS 24		/* random schedules each good run must also pass */

#define BIT(r) (1u << (r))
#define R_REFCOUNT BIT(S2HYP_RULE_REFCOUNT)
#define R_LEAK BIT(S2HYP_RULE_LEAK)
#define R_DOUBLE_FREE BIT(S2HYP_RULE_DOUBLE_FREE)
#define R_WAF BIT(S2HYP_RULE_WALK_AFTER_FREE)
#define R_TLBI_FREE BIT(S2HYP_RULE_TLBI_BEFORE_FREE)
#define R_BBM BIT(S2HYP_RULE_BBM)
#define R_CONFLICT BIT(S2HYP_RULE_TLB_CONFLICT)
#define R_UNMAP BIT(S2HYP_RULE_TLBI_AFTER_UNMAP)
#define R_DCACHE BIT(S2HYP_RULE_DCACHE_CLEAN)
#define R_ICACHE BIT(S2HYP_RULE_ICACHE_INVAL)
#define R_STALE_DATA BIT(S2HYP_RULE_STALE_DATA)
#define R_STALE_INSN BIT(S2HYP_RULE_STALE_INSN)

/* ------------------------------------------------------------------ */
/* Reports as text and JSON                                            */
/* ------------------------------------------------------------------ */

/* A minimal JSON validator: enough to tell a well-formed object. */
struct jp {
	const char *s;
};

static void jws(struct jp *p)
{
	while (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r')
		p->s++;
}

static bool jvalue(struct jp *p, int depth);

static bool jstring(struct jp *p)
{
	if (*p->s != '"')
		return false;
	for (p->s++; *p->s != '"'; p->s++) {
		unsigned char c = (unsigned char)*p->s;
		if (!c || c < 0x20)
			return false;
		if (c != '\\')
			continue;
		p->s++;
		if (*p->s == 'u') {
			for (int i = 0; i < 4; i++) {
				char h = *++p->s;
				if (!h || !strchr("0123456789abcdefABCDEF", h))
					return false;
			}
		} else if (!*p->s || !strchr("\"\\/bfnrt", *p->s)) {
			return false;
		}
	}
	p->s++;
	return true;
}

static bool jnumber(struct jp *p)
{
	const char *start = p->s;
	if (*p->s == '-')
		p->s++;
	if (*p->s < '0' || *p->s > '9')
		return false;
	while (*p->s >= '0' && *p->s <= '9')
		p->s++;
	return p->s > start;
}

static bool jliteral(struct jp *p, const char *word)
{
	size_t n = strlen(word);
	if (strncmp(p->s, word, n))
		return false;
	p->s += n;
	return true;
}

static bool jseq(struct jp *p, int depth, char close, bool object)
{
	p->s++;
	jws(p);
	if (*p->s == close) {
		p->s++;
		return true;
	}
	for (;;) {
		if (object) {
			if (!jstring(p))
				return false;
			jws(p);
			if (*p->s++ != ':')
				return false;
		}
		if (!jvalue(p, depth + 1))
			return false;
		jws(p);
		if (*p->s == close) {
			p->s++;
			return true;
		}
		if (*p->s++ != ',')
			return false;
		jws(p);
	}
}

static bool jvalue(struct jp *p, int depth)
{
	if (depth > 16)
		return false;
	jws(p);
	switch (*p->s) {
	case '{': return jseq(p, depth, '}', true);
	case '[': return jseq(p, depth, ']', false);
	case '"': return jstring(p);
	case 't': return jliteral(p, "true");
	case 'f': return jliteral(p, "false");
	case 'n': return jliteral(p, "null");
	default: return jnumber(p);
	}
}

static char *print_to_string(void (*print)(FILE *, const struct s2hyp_violation *),
			     const struct s2hyp_violation *v)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	print(f, v);
	long n = ftell(f);
	assert_true(n > 0);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A report prints as text starting with the rule's name, step and thread,
 * and as one well-formed JSON object {"rule": "<name>", ...}. */
static void assert_printed(const struct s2hyp_violation *v)
{
	const char *name = s2hyp_rule_name(v->rule);
	char head[96];

	char *text = print_to_string(s2hyp_print_violation, v);
	snprintf(head, sizeof(head), "violation: %s at step %llu (%s", name,
		 (unsigned long long)v->step, v->thread < 0 ? "hypervisor" : "vCPU ");
	assert_memory_equal(text, head, strlen(head));
	assert_non_null(strstr(text, v->detail));
	free(text);

	char *json = print_to_string(s2hyp_print_violation_json, v);
	snprintf(head, sizeof(head), "{\"rule\": \"%s\", \"step\": %llu, \"thread\": ", name,
		 (unsigned long long)v->step);
	assert_memory_equal(json, head, strlen(head));
	struct jp p = { json };
	if (!jvalue(&p, 0))
		fail_msg("not JSON at offset %td: %s", p.s - json, json);
	jws(&p);
	assert_int_equal(*p.s, '\0');
	assert_non_null(strstr(json, "\"detail\": \""));
	assert_non_null(strstr(json, "\"events\": {"));
	free(json);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static unsigned fired(const struct s2hyp *m)
{
	unsigned mask = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (s2hyp_rule_fired(m, (enum s2hyp_rule)r))
			mask |= BIT(r);
	return mask;
}

static const char *mask_names(unsigned mask, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned r = 0; r < S2HYP_NR_RULES && n < size; r++)
		if (mask & BIT(r))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
					      s2hyp_rule_name((enum s2hyp_rule)r));
	if (!mask)
		snprintf(buf, size, "nothing");
	return buf;
}

/* Set S2HYP_RULES_VERBOSE=1 to see every report of a run (docs/checks.md
 * quotes them). */
static void show(const struct s2hyp *m, const char *what)
{
	if (!getenv("S2HYP_RULES_VERBOSE"))
		return;
	fprintf(stderr, "==== %s\n", what);
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++)
		s2hyp_print_violation(stderr, s2hyp_violation(m, i));
}

/* The run fired exactly the rules of want (each at least once). */
static void assert_fired_exactly(const struct s2hyp *m, unsigned want, const char *what)
{
	char got_s[256], want_s[256];
	unsigned got = fired(m);
	if (got != want)
		fail_msg("%s: fired {%s}, expected {%s}", what,
			 mask_names(got, got_s, sizeof(got_s)),
			 mask_names(want, want_s, sizeof(want_s)));
	/* The first report of each rule that fired, and only those. */
	unsigned reported = 0;
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++) {
		const struct s2hyp_violation *v = s2hyp_violation(m, i);
		assert_true((unsigned)v->rule < S2HYP_NR_RULES);
		assert_false(reported & BIT(v->rule));
		reported |= BIT(v->rule);
		assert_true(s2hyp_stats(m)->violations[v->rule] >= 1);
	}
	assert_int_equal(reported, want);
}

/* The report of rule r (of its first violation). */
static const struct s2hyp_violation *report_of(const struct s2hyp *m, enum s2hyp_rule r)
{
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++)
		if (s2hyp_violation(m, i)->rule == r)
			return s2hyp_violation(m, i);
	fail_msg("no report of %s", s2hyp_rule_name(r));
	return NULL;
}

/* A report names a step, a thread and what happened. */
static void assert_report_complete(const struct s2hyp *m, enum s2hyp_rule r, int thread)
{
	const struct s2hyp_violation *v = report_of(m, r);
	assert_int_equal(v->rule, r);
	assert_true(v->step > 0);
	assert_true(v->step <= s2hyp_stats(m)->steps);
	assert_int_equal(v->thread, thread);
	assert_true(strlen(v->detail) > 10);
	unsigned events = 0;
	for (unsigned t = 0; t < S2HYP_MAX_VCPUS + 2; t++)
		events += v->nr_events[t];
	assert_true(events > 0);
	assert_printed(v);
}

static void sc_init(struct s2hyp_scenario *sc, enum s2pt_variant v, unsigned nv,
		    enum s2hyp_backing b, bool dirty_log)
{
	s2hyp_scenario_init(sc);
	sc->cfg.variant = v;
	sc->cfg.nr_vcpus = nv;
	sc->slots[0] = (struct s2hyp_memslot){
		.ipa = BASE, .size = SZ_2M, .hva = HVA, .backing = b, .dirty_log = dirty_log,
	};
	sc->nr_slots = 1;
}

static void host(struct s2hyp_scenario *sc, unsigned phase, enum s2hyp_host_kind k,
		 uint64_t addr, uint64_t size, uint8_t fill)
{
	struct s2hyp_host_op op = { .kind = k, .phase = phase, .addr = addr, .size = size,
				    .fill = fill };
	assert_int_equal(s2hyp_scenario_add_host(sc, &op), 0);
}

static void acc(struct s2hyp_scenario *sc, unsigned vcpu, unsigned phase,
		enum s2hyp_access a, uint64_t ipa, bool mmu_on)
{
	struct s2hyp_vcpu_op op = { .access = a, .phase = phase, .ipa = ipa, .size = 8,
				    .mmu_on = mmu_on, .value = 0x1111 * (ipa >> 12) };
	assert_int_equal(s2hyp_scenario_add_vcpu(sc, vcpu, &op), 0);
}

/* Build the machine and run it to the end under st (NULL: sequential). */
static struct s2hyp *run_with(const struct s2hyp_scenario *sc, const struct s2hyp_strategy *st)
{
	struct s2hyp *m;
	const char *why = NULL;
	if (s2hyp_scenario_instantiate(sc, &m, &why))
		fail_msg("instantiate: %s", why ? why : "?");
	enum s2hyp_outcome o = s2hyp_run(m, st ? st : &s2hyp_strategy_sequential);
	if (o != S2HYP_DONE)
		fail_msg("run ended %s: %s", s2hyp_outcome_name(o), s2hyp_error(m));
	return m;
}

static struct s2hyp *run_seq(const struct s2hyp_scenario *sc)
{
	return run_with(sc, NULL);
}

static struct s2hyp *run_seed(const struct s2hyp_scenario *sc, uint64_t seed)
{
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;
	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	return run_with(sc, &st);
}

/* The correct code passes the situation sequentially and under every one
 * of GOOD_SEEDS random schedules (evictions and speculative walks included). */
static void assert_clean_everywhere(const struct s2hyp_scenario *sc, const char *what)
{
	for (uint64_t seed = 0; seed <= GOOD_SEEDS; seed++) {
		struct s2hyp *m = seed ? run_seed(sc, seed) : run_seq(sc);
		char buf[160];
		snprintf(buf, sizeof(buf), "%s, %s %llu", what, seed ? "seed" : "sequential",
			 (unsigned long long)seed);
		show(m, buf);
		assert_fired_exactly(m, 0, buf);
		s2hyp_delete(m);
	}
}

/*
 * The coalescing situation: dirty logging on from the start, vCPU 0 writes
 * p0 and p8 (two level-3 pages), logging goes off, vCPU 1 reads p3: its
 * fault maps the 2M block over the level-3 table. Then the VM is destroyed.
 */
static void build_coalesce(struct s2hyp_scenario *sc, enum s2pt_variant v)
{
	sc_init(sc, v, 2, S2HYP_BACKING_THP, true);
	acc(sc, 0, 0, S2HYP_ACC_WRITE, BASE, true);
	acc(sc, 0, 0, S2HYP_ACC_WRITE, BASE + 8 * PG, true);
	host(sc, 1, S2HYP_HOST_DIRTY_LOG_OFF, 0, 0, 0);
	acc(sc, 1, 2, S2HYP_ACC_READ, BASE + 3 * PG, true);
	host(sc, 3, S2HYP_HOST_DESTROY, 0, 0, 0);
}

/* The fault did replace the level-3 table by the block (once). */
static void assert_coalesced(const struct s2hyp *m)
{
	assert_int_equal(s2hyp_stats(m)->coalesces, 1);
	assert_int_equal(s2hyp_stats(m)->mappings_by_level[2 + 1], 1);
}

/* Run a bad variant of a situation and check the rules it fires. */
static struct s2hyp *run_bad(const struct s2hyp_scenario *sc, unsigned want, const char *what)
{
	struct s2hyp *m = run_seq(sc);
	show(m, what);
	assert_fired_exactly(m, want, what);
	return m;
}

/* ------------------------------------------------------------------ */
/* refcount                                                            */
/* ------------------------------------------------------------------ */

/* anchor-leak: the 2021 anchor's reference is never put: refcount at unlock, then leak. */
static void test_refcount_anchor_leak_fires(void **state)
{
	/* anchor-leak (2021 ordering without the put of the anchor) leaves the
	 * level-2 table one reference too many when the fault releases the lock,
	 * and that page is still there at destroy. */
	struct s2hyp_scenario sc;
	(void)state;
	build_coalesce(&sc, S2PT_V_ANCHOR_LEAK);
	struct s2hyp *m = run_bad(&sc, R_REFCOUNT | R_LEAK, "anchor-leak");
	assert_coalesced(m);
	/* refcount fires at the coalescing fault, long before leak at destroy. */
	assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_REFCOUNT);
	assert_int_equal(s2hyp_violation(m, 1)->rule, S2HYP_RULE_LEAK);
	assert_true(s2hyp_violation(m, 0)->step < s2hyp_violation(m, 1)->step);
	assert_int_equal(s2hyp_violation(m, 0)->level, 2);
	assert_report_complete(m, S2HYP_RULE_REFCOUNT, -1);
	assert_non_null(strstr(report_of(m, S2HYP_RULE_REFCOUNT)->detail, "refcount"));
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* install-first-anchor-leak: a reference taken for the installed block: refcount, leak. */
static void test_refcount_install_first_leak_fires(void **state)
{
	/* install-first-anchor-leak takes a reference for the block it installs
	 * without dropping the table's: the same two rules. */
	struct s2hyp_scenario sc;
	(void)state;
	build_coalesce(&sc, S2PT_V_INSTALL_FIRST_LEAK);
	struct s2hyp *m = run_bad(&sc, R_REFCOUNT | R_LEAK, "install-first-anchor-leak");
	assert_coalesced(m);
	assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_REFCOUNT);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* The correct orderings pass the same coalescing, though counts are off by one inside it. */
static void test_refcount_correct_orderings_pass(void **state)
{
	/* The correct orderings pass the same coalescing, although inside each
	 * operation the count is transiently off by one between a store and its
	 * get/put: the rule is checked only when the MMU lock is released. */
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST,
					 S2PT_V_UPSTREAM };
	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct s2hyp_scenario sc;
		build_coalesce(&sc, ok[i]);
		struct s2hyp *m = run_seq(&sc);
		assert_coalesced(m);
		s2hyp_delete(m);
		assert_clean_everywhere(&sc, s2pt_variant_name(ok[i]));
		s2hyp_scenario_free(&sc);
	}
}

/* ------------------------------------------------------------------ */
/* leak                                                                */
/* ------------------------------------------------------------------ */

/* upstream-free-leak: the unlinked table keeps its own reference: refcount, then leak. */
static void test_leak_free_leak_fires(void **state)
{
	/* upstream-free-leak never drops the unlinked table's own reference: the
	 * free walk gives back its entries' references but the page stays, its
	 * count (1) no longer matching the entries still written in it (refcount,
	 * at the fault's unlock), and destroy finds it (leak). */
	struct s2hyp_scenario sc;
	(void)state;
	build_coalesce(&sc, S2PT_V_FREE_LEAK);
	struct s2hyp *m = run_bad(&sc, R_REFCOUNT | R_LEAK, "upstream-free-leak");
	assert_int_equal(report_of(m, S2HYP_RULE_REFCOUNT)->pa, report_of(m, S2HYP_RULE_LEAK)->pa);
	assert_coalesced(m);
	assert_report_complete(m, S2HYP_RULE_LEAK, -1);
	const struct s2hyp_violation *v = report_of(m, S2HYP_RULE_LEAK);
	assert_int_equal(v->level, 3);		/* the level-3 table that was unlinked */
	assert_int_equal(v->ipa, BASE);
	assert_int_equal(s2hyp_stats(m)->violations[S2HYP_RULE_LEAK], 1);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* A fault handler that never releases its host-page pin leaks it; released, clean. */
static void test_leak_host_page_reference(void **state)
{
	/* The hypervisor's own host-page references: a fault handler that pins a
	 * page and never releases it (a missing kvm_release_pfn_clean) leaks it;
	 * with the release, destroy finds nothing. White-box: the pin is added by
	 * hand around an ordinary run. */
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		sc_init(&sc, S2PT_V_UPSTREAM, 1, S2HYP_BACKING_4K, false);
		acc(&sc, 0, 0, S2HYP_ACC_READ, BASE, true);
		struct s2hyp *m = run_seq(&sc);
		const uint64_t pa = m->slots[0].pa;
		s2hyp__host_page_get(m, pa);
		if (!buggy)
			s2hyp__host_page_put(m, pa);
		const struct s2hyp_host_op d = { .kind = S2HYP_HOST_DESTROY };
		assert_int_equal(s2hyp_set_host_program(m, &d, 1, NULL), 0);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		show(m, "host page reference");
		assert_fired_exactly(m, buggy ? R_LEAK : 0, buggy ? "pin kept" : "pin released");
		if (buggy) {
			assert_int_equal(report_of(m, S2HYP_RULE_LEAK)->pa, pa);
			assert_non_null(strstr(report_of(m, S2HYP_RULE_LEAK)->detail, "host page"));
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* ------------------------------------------------------------------ */
/* White-box: the machine's own mm ops, driven by hand                  */
/* ------------------------------------------------------------------ */

/* Where the live tables hold an address: the leaf entry, and the table
 * entry of each level on the way. */
struct path {
	s2_pte_t *leaf;
	s2_level_t leaf_level;
	s2_pte_t *entry[S2_LEVEL_MAX + 2];	/* index level + 1 */
};

static int path_cb(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct path *p = ctx->arg;
	if (visit == S2PT_WALK_TABLE_PRE) {
		p->entry[ctx->level + 1] = ctx->ptep;
	} else {
		p->leaf = ctx->ptep;
		p->leaf_level = ctx->level;
	}
	return 0;
}

static struct path path_of(struct s2hyp *m, uint64_t ipa)
{
	struct path p = { 0 };
	struct s2pt_walker w = { path_cb, &p, S2PT_WALK_LEAF | S2PT_WALK_TABLE_PRE };
	assert_int_equal(s2pt_walk(&m->pt, ipa, PG, &w), 0);
	return p;
}

/* A machine after vCPU 0 read p0 and p1 through 4K mappings: its TLB holds
 * both pages and its walk cache the level-2 and level-3 tables. */
static struct s2hyp *machine_with_pages(struct s2hyp_scenario *sc)
{
	sc_init(sc, S2PT_V_UPSTREAM, 2, S2HYP_BACKING_4K, false);
	acc(sc, 0, 0, S2HYP_ACC_READ, BASE, true);
	acc(sc, 0, 0, S2HYP_ACC_READ, BASE + PG, true);
	struct s2hyp *m = run_seq(sc);
	assert_fired_exactly(m, 0, "set-up");
	assert_int_equal(m->vcpus[0].tlb_n, 2);
	assert_int_equal(m->vcpus[0].wc_n, 2);
	return m;
}

/* Operations of our own take the MMU lock; outside a run their scheduling
 * points let nothing interleave: the hypervisor goes on at once. */
static struct s2pt_locked held;	/* between hyp_begin and hyp_end */

static void hyp_begin(struct s2hyp *m)
{
	held = s2hyp__lock(m, OP_HOST, HOST_THREAD, BASE, SZ_2M);
}

static void hyp_end(struct s2hyp *m)
{
	s2hyp__unlock(m, held);
}

/* DSB ISHST; TLBI; DSB ISH: what KVM issues around every broadcast TLBI. */
static void tlbi_sync(struct s2hyp *m, enum s2pt_tlbi op, uint64_t ipa, s2_level_t level)
{
	const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
	ops->barrier(m, S2PT_DSB_ISHST);
	ops->tlbi(m, op, s2_ipa(ipa), level);
	ops->barrier(m, S2PT_DSB_ISH);
}

/* Unlink the level-3 table under p0: clear the level-2 entry, drop its
 * reference, and (when done right) TLBI the whole VMID and wait for it,
 * as stage2_try_break_pte does for a table. Returns the table page. */
static void *unlink_l3(struct s2hyp *m, bool with_tlbi)
{
	const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
	struct path p = path_of(m, BASE);
	assert_non_null(p.entry[2 + 1]);
	s2_pte_t *l2e = p.entry[2 + 1];
	void *l3 = s2pool_va(m->pool, s2pt_pte_oa(&m->geom, *l2e));
	ops->set_pte(m, l2e, 0, false);
	if (with_tlbi)
		tlbi_sync(m, S2PT_TLBI_VMALLS12E1IS, 0, -1);
	ops->put_page(m, l2e);
	return l3;
}

/* ------------------------------------------------------------------ */
/* double-free                                                         */
/* ------------------------------------------------------------------ */

/* An unlinked table freed twice is a double free; freed once, clean. */
static void test_double_free_unlinked_table_twice(void **state)
{
	/* An unlinked table freed twice (as if its RCU callback were queued twice):
	 * the second free drops references on a freed page. Freed once, nothing. */
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		hyp_begin(m);
		void *l3 = unlink_l3(m, true);
		s2pt_free_unlinked(&m->pt, l3, 2);
		assert_int_equal(s2pool_page_of(m->pool, l3)->state, S2POOL_PAGE_FREED);
		if (buggy)
			s2pt_free_unlinked(&m->pt, l3, 2);
		hyp_end(m);
		show(m, "double free");
		assert_fired_exactly(m, buggy ? R_DOUBLE_FREE : 0,
				     buggy ? "unlinked table freed twice" : "freed once");
		if (buggy) {
			assert_report_complete(m, S2HYP_RULE_DOUBLE_FREE, -1);
			/* Two leaf references and the table's own, each dropped again. */
			assert_int_equal(s2hyp_stats(m)->violations[S2HYP_RULE_DOUBLE_FREE], 3);
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* free_page on an already freed table page is a double free; one free is clean. */
static void test_double_free_free_page_twice(void **state)
{
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		hyp_begin(m);
		void *l3 = unlink_l3(m, true);
		s2pt_free_unlinked(&m->pt, l3, 2);
		if (buggy)
			s2hyp__mm_ops.free_page(m, l3);
		hyp_end(m);
		assert_fired_exactly(m, buggy ? R_DOUBLE_FREE : 0, "free_page twice");
		if (buggy)
			assert_non_null(strstr(report_of(m, S2HYP_RULE_DOUBLE_FREE)->detail,
					       "freed twice"));
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* ------------------------------------------------------------------ */
/* tlbi-after-unmap                                                    */
/* ------------------------------------------------------------------ */

/* A leaf cleared with no TLBI stays in vCPU 0's TLB after the unmap; with TLBI + DSB, clean. */
static void test_tlbi_after_unmap_missing_tlbi(void **state)
{
	/* Clearing p0's leaf without a TLBI leaves vCPU 0's TLB translating it when
	 * the unmap returns; with DSB ISHST, TLBI IPAS2E1IS, DSB ISH in between, no
	 * TLB does. The refcount is kept right in both. */
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
		hyp_begin(m);
		struct path p = path_of(m, BASE);
		assert_int_equal(p.leaf_level, 3);
		ops->set_pte(m, p.leaf, 0, false);
		if (!buggy)
			tlbi_sync(m, S2PT_TLBI_IPAS2E1IS, BASE, 3);
		ops->put_page(m, p.leaf);
		hyp_end(m);
		s2hyp__check_unmapped(m, BASE, PG);
		show(m, "unmap without TLBI");
		assert_fired_exactly(m, buggy ? R_UNMAP : 0, buggy ? "no TLBI" : "TLBI + DSB");
		if (buggy) {
			assert_report_complete(m, S2HYP_RULE_TLBI_AFTER_UNMAP, 0);
			assert_int_equal(report_of(m, S2HYP_RULE_TLBI_AFTER_UNMAP)->ipa, BASE);
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* The real unmaps (MMU notifier, by IPA) leave no TLB entry, from every schedule. */
static void test_tlbi_after_unmap_real_unmap_passes(void **state)
{
	/* The real unmap (host MMU-notifier) of a page vCPU 0 holds passes, from
	 * every schedule. */
	struct s2hyp_scenario sc;
	(void)state;
	sc_init(&sc, S2PT_V_UPSTREAM, 2, S2HYP_BACKING_THP, false);
	acc(&sc, 0, 0, S2HYP_ACC_READ, BASE, true);
	acc(&sc, 1, 0, S2HYP_ACC_WRITE, BASE + 5 * PG, true);
	host(&sc, 1, S2HYP_HOST_UNMAP_HVA, HVA + 4 * PG, 4 * PG, 0);
	host(&sc, 1, S2HYP_HOST_UNMAP_IPA, BASE, SZ_2M, 0);
	acc(&sc, 0, 2, S2HYP_ACC_READ, BASE + 5 * PG, true);
	host(&sc, 3, S2HYP_HOST_DESTROY, 0, 0, 0);
	struct s2hyp *m = run_seq(&sc);
	assert_int_equal(s2hyp_stats(m)->unmaps, 2);
	s2hyp_delete(m);
	assert_clean_everywhere(&sc, "unmap");
	s2hyp_scenario_free(&sc);
}

/* ------------------------------------------------------------------ */
/* walk-after-free                                                     */
/* ------------------------------------------------------------------ */

/* upstream-noreload: the hypervisor's walk descends into the table it has just freed. */
static void test_walk_after_free_noreload_fires(void **state)
{
	/* upstream-noreload (v6.2-v6.3): after the pre visitor replaced the table
	 * by the block and freed it, the walk descends through the stale pointer:
	 * the hypervisor's own walk reads a freed page. upstream reloads and passes
	 * (test_refcount_correct_orderings_pass). */
	struct s2hyp_scenario sc;
	(void)state;
	build_coalesce(&sc, S2PT_V_NO_RELOAD);
	struct s2hyp *m = run_bad(&sc, R_WAF, "upstream-noreload");
	assert_coalesced(m);
	assert_report_complete(m, S2HYP_RULE_WALK_AFTER_FREE, -1);
	assert_non_null(strstr(report_of(m, S2HYP_RULE_WALK_AFTER_FREE)->detail,
			       "hypervisor's walk"));
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* A table freed without TLBI is still used by a walk cache and a hardware walk; with it, clean. */
static void test_walk_after_free_hardware_walk(void **state)
{
	/* A table unlinked and freed without a TLBI: vCPU 0's walk cache still
	 * points at it when it is freed (tlbi-before-free, and walk-after-free on
	 * vCPU 0), and vCPU 0's next walk, for p2, starts from that cached pointer
	 * and reads the freed page (walk-after-free again). The model then forgets
	 * the pointer, the walk faults and the fault maps p2 again, through the
	 * level-2 entry that was never TLBI'd (break-before-make). With the TLBI +
	 * DSB, the walk cache forgets the table at once, the walk starts higher up
	 * and p2 faults in cleanly. */
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		hyp_begin(m);
		void *l3 = unlink_l3(m, !buggy);
		s2pt_free_unlinked(&m->pt, l3, 2);
		hyp_end(m);
		show(m, "free without TLBI");
		assert_fired_exactly(m, buggy ? R_WAF | R_TLBI_FREE : 0, "unlink + free");
		uint64_t before = s2hyp_stats(m)->violations[S2HYP_RULE_WALK_AFTER_FREE];
		if (buggy) {
			assert_int_equal(before, 1);
			assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_TLBI_BEFORE_FREE);
			assert_report_complete(m, S2HYP_RULE_TLBI_BEFORE_FREE, -1);
			/* The walk-cache report is vCPU 0's. */
			assert_report_complete(m, S2HYP_RULE_WALK_AFTER_FREE, 0);
			assert_non_null(strstr(report_of(m, S2HYP_RULE_WALK_AFTER_FREE)->detail,
					       "walk cache"));
		}

		/* vCPU 0 reads p2: no TLB entry, so a hardware walk. */
		const struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .ipa = BASE + 2 * PG,
						  .size = 8, .mmu_on = true };
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, &rd, 1, NULL), 0);
		m->cfg.max_steps = m->step + 1000;	/* a retry loop would show as step-limit */
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		assert_int_equal(m->vcpus[0].state, V_DONE);
		assert_int_equal(s2hyp_stats(m)->vcpu[0].faults_translation, 3);
		if (buggy) {
			/* Exactly one more: the walk through the cached pointer. */
			assert_int_equal(s2hyp_stats(m)->violations[S2HYP_RULE_WALK_AFTER_FREE],
					 before + 1);
			/* p2: the aborted walk, the one that faults, the one that maps. */
			assert_int_equal(s2hyp_stats(m)->vcpu[0].walks, 4 + 3);
			assert_fired_exactly(m, R_WAF | R_TLBI_FREE | R_BBM, "walk after free");
		} else {
			assert_fired_exactly(m, 0, "walk after a clean unlink");
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* An extra put frees a table still linked: every later walk reads it, and the run ends. */
static void test_walk_after_free_linked_table(void **state)
{
	/* The level-3 table's count goes to zero while the level-2 entry still
	 * points at it (tlbi-before-free at the free). vCPU 0's walk for p2 reads
	 * the live level-2 entry and then the freed page, on every retry: the
	 * run ends as a livelock instead of spinning. The twin takes a
	 * reference before the same put: nothing is freed, nothing fires. */
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		struct path p = path_of(m, BASE);
		void *l3 = s2pool_page_base(m->pool, p.leaf);
		hyp_begin(m);
		if (!buggy)
			s2hyp__mm_ops.get_page(m, l3);
		s2hyp__mm_ops.put_page(m, l3);
		s2hyp__mm_ops.put_page(m, l3);
		s2hyp__mm_ops.put_page(m, l3);	/* the two leaves' references, and one more */
		if (!buggy) {
			s2hyp__mm_ops.get_page(m, l3);
			s2hyp__mm_ops.get_page(m, l3);
		}
		hyp_end(m);
		assert_int_equal(s2pool_page_of(m->pool, l3)->state,
				 buggy ? S2POOL_PAGE_FREED : S2POOL_PAGE_LIVE);
		assert_fired_exactly(m, buggy ? R_TLBI_FREE | R_WAF : 0, "extra put");

		const struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .ipa = BASE + 2 * PG,
						  .size = 8, .mmu_on = true };
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, &rd, 1, NULL), 0);
		m->cfg.max_steps = m->step + 1000;
		uint64_t before = s2hyp_stats(m)->violations[S2HYP_RULE_WALK_AFTER_FREE];
		enum s2hyp_outcome o = s2hyp_run(m, &s2hyp_strategy_sequential);
		if (buggy) {
			assert_int_equal(o, S2HYP_LIVELOCK);
			assert_non_null(strstr(s2hyp_error(m), "freed table page"));
			/* Every retry read the freed page again. */
			assert_int_equal(s2hyp_stats(m)->violations[S2HYP_RULE_WALK_AFTER_FREE] - before,
					 m->cfg.max_faults_per_access + 1);
		} else {
			assert_int_equal(o, S2HYP_DONE);
			assert_fired_exactly(m, 0, "balanced get and put");
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* ------------------------------------------------------------------ */
/* tlbi-before-free, break-before-make, tlb-conflict                   */
/* ------------------------------------------------------------------ */

/* upstream-2021-tlbi-ipa: a single-IPA TLBI: tlbi-before-free, then break-before-make. */
static void test_merge_tlbi_ipa_bbm_and_free(void **state)
{
	/* upstream-2021-tlbi-ipa (the merge before its v5.10 fix) TLBIs only the anchor's IPA:
	 * a TLBI by IPA does not cover a table entry whose subtree still maps other
	 * pages, so the level-2 entry is made a block while still unclean
	 * (break-before-make), and the old table is freed before any TLBI covering
	 * it completed (tlbi-before-free). */
	struct s2hyp_scenario sc;
	(void)state;
	build_coalesce(&sc, S2PT_V_MERGE_TLBI_IPA);
	struct s2hyp *m = run_bad(&sc, R_BBM | R_TLBI_FREE, "upstream-2021-tlbi-ipa");
	assert_coalesced(m);
	/* 2021 ordering: post frees the old table, then installs the block. */
	assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_TLBI_BEFORE_FREE);
	assert_int_equal(s2hyp_violation(m, 1)->rule, S2HYP_RULE_BBM);
	const struct s2hyp_violation *v = report_of(m, S2HYP_RULE_BBM);
	assert_int_equal(v->level, 2);
	assert_int_equal(v->ipa, BASE);
	assert_non_null(strstr(v->detail, "never issued"));
	assert_report_complete(m, S2HYP_RULE_BBM, -1);
	v = report_of(m, S2HYP_RULE_TLBI_BEFORE_FREE);
	assert_int_equal(v->level, 3);
	assert_int_equal(v->ipa, BASE);
	assert_report_complete(m, S2HYP_RULE_TLBI_BEFORE_FREE, -1);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/*
 * The tlb-conflict situation: vCPU 0 holds translations of p0 and p8 when
 * vCPU 1's fault coalesces the region; then vCPU 0 reads p5, which only the
 * new block maps. With the single-IPA TLBI, p8's translation survived next
 * to the 2M block vCPU 0 now fills: two overlapping translations.
 */
static void build_conflict(struct s2hyp_scenario *sc, enum s2pt_variant v)
{
	build_coalesce(sc, v);
	sc->nhost--;	/* destroy after the extra phase */
	acc(sc, 0, 3, S2HYP_ACC_READ, BASE + 5 * PG, true);
	host(sc, 4, S2HYP_HOST_DESTROY, 0, 0, 0);
}

/* upstream-2021-tlbi-ipa leaves p8's translation beside the block vCPU 0 fills: tlb-conflict. */
static void test_tlb_conflict_merge_tlbi_ipa_fires(void **state)
{
	/* The single-IPA TLBI of the merge leaves a page translation behind the new
	 * block: tlb-conflict, on vCPU 0, on top of the two rules above. */
	struct s2hyp_scenario sc;
	(void)state;
	build_conflict(&sc, S2PT_V_MERGE_TLBI_IPA);
	struct s2hyp *m = run_bad(&sc, R_BBM | R_TLBI_FREE | R_CONFLICT, "tlb conflict");
	assert_report_complete(m, S2HYP_RULE_TLB_CONFLICT, 0);
	const struct s2hyp_violation *v = report_of(m, S2HYP_RULE_TLB_CONFLICT);
	assert_int_equal(v->ipa, BASE);		/* the block */
	assert_int_equal(v->level, 2);
	assert_non_null(strstr(v->detail, "IPA 0x40008000"));	/* p8's translation */
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* The orderings that TLBI the whole VMID pass the conflict situation from every schedule. */
static void test_tlb_conflict_correct_orderings_pass(void **state)
{
	/* With the whole-VMID TLBI of the fixed merge (and with every later
	 * ordering), the same situation is clean from every schedule. */
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST,
					 S2PT_V_UPSTREAM };
	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct s2hyp_scenario sc;
		build_conflict(&sc, ok[i]);
		assert_clean_everywhere(&sc, s2pt_variant_name(ok[i]));
		s2hyp_scenario_free(&sc);
	}
}

/* A leaf's output address may change only through invalid + TLBI + DSB. */
static void test_bbm_leaf_orderings(void **state)
{
	/* break-before-make, white-box, on p0's leaf made to point at another page:
	 * straight from valid to valid; through invalid without a TLBI; with the
	 * TLBI not yet completed by a DSB. Only invalid + TLBI + DSB passes. */
	enum { DIRECT, NO_TLBI, NO_DSB, CORRECT };
	static const char *const what[] = { "valid to valid", "invalid without TLBI",
					    "TLBI without DSB", "invalid + TLBI + DSB" };
	static const char *const detail[] = { "without going through an invalid entry",
					      "never issued", "not yet completed by a DSB", NULL };
	const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
	(void)state;

	for (int k = DIRECT; k <= CORRECT; k++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		/* The new output is not what the memslot puts there: that is
		 * mapping-bounds' business (tests/hyp_intent_test.c), not this. */
		s2hyp_checker_slots(m->chk, NULL, 0);
		hyp_begin(m);
		struct path p = path_of(m, BASE);
		s2_pte_t old = *p.leaf;
		/* Same attributes, the output address of another page. */
		s2_pte_t new = old + 0x10 * PG;
		if (k != DIRECT) {
			ops->set_pte(m, p.leaf, 0, false);
			if (k != NO_TLBI) {
				ops->barrier(m, S2PT_DSB_ISHST);
				ops->tlbi(m, S2PT_TLBI_IPAS2E1IS, s2_ipa(BASE), 3);
				if (k == CORRECT)
					ops->barrier(m, S2PT_DSB_ISH);
			}
		}
		ops->set_pte(m, p.leaf, new, true);
		hyp_end(m);
		show(m, what[k]);
		assert_fired_exactly(m, k == CORRECT ? 0 : R_BBM, what[k]);
		if (k != CORRECT) {
			assert_report_complete(m, S2HYP_RULE_BBM, -1);
			assert_non_null(strstr(report_of(m, S2HYP_RULE_BBM)->detail, detail[k]));
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* Permission and access-flag changes in place are not break-before-make. */
static void test_bbm_permission_change_in_place(void **state)
{
	/* What break-before-make does not cover: a permission or access-flag change
	 * on the same output address may be made in place. */
	struct s2hyp_scenario sc;
	(void)state;
	struct s2hyp *m = machine_with_pages(&sc);
	hyp_begin(m);
	struct path p = path_of(m, BASE);
	s2hyp__mm_ops.set_pte(m, p.leaf, *p.leaf | S2PT_PTE_S2AP_W, false);
	s2hyp__mm_ops.set_pte(m, p.leaf, *p.leaf & ~S2PT_PTE_AF, false);
	hyp_end(m);
	assert_fired_exactly(m, 0, "permission change");
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* The machine's exchange for shared walks: a stale expected value stores
 * nothing; a shared map that moves p0 to p1's page (break by exchange to
 * the locked marker, TLBI, DSB, then make) fires no rule. */
static void test_bbm_shared_walk_through_exchange(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	struct s2hyp *m = machine_with_pages(&sc);
	s2hyp_checker_slots(m->chk, NULL, 0);	/* the alias is not this rule's business */
	hyp_begin(m);
	struct path p = path_of(m, BASE);
	s2_pte_t old = *p.leaf;
	uint64_t stores = m->stats.pte_stores;
	assert_false(s2hyp__mm_ops.cmpxchg_pte(m, p.leaf, old ^ S2PT_PTE_S2AP_W, 0));
	assert_true(*p.leaf == old);
	assert_int_equal(m->stats.pte_stores, stores);

	s2_pa_t pa1 = s2pt_pte_oa(&m->geom, *path_of(m, BASE + PG).leaf);
	struct s2pt_memcache mc = { 0 };
	struct s2pt_locked sl = s2pt_lock_shared(&m->pt);
	assert_int_equal(s2pt_map(sl, s2_ipa(BASE), PG, pa1, S2PT_PROT_RW, &mc), 0);
	s2pt_unlock(sl);
	assert_true(*p.leaf != old);
	assert_int_equal(s2_pa_get(s2pt_pte_oa(&m->geom, *p.leaf)), s2_pa_get(pa1));
	hyp_end(m);
	assert_fired_exactly(m, 0, "shared break and make");
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* A table freed between its TLBI and the DSB is tlbi-before-free; after the DSB, clean. */
static void test_tlbi_before_free_needs_the_dsb(void **state)
{
	/* A table freed right after the entry to it was cleared, with the TLBI
	 * issued but not waited for: tlbi-before-free. After the DSB: clean. */
	const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
	(void)state;
	for (int buggy = 0; buggy <= 1; buggy++) {
		struct s2hyp_scenario sc;
		struct s2hyp *m = machine_with_pages(&sc);
		hyp_begin(m);
		struct path p = path_of(m, BASE);
		s2_pte_t *l2e = p.entry[2 + 1];
		void *l3 = s2pool_va(m->pool, s2pt_pte_oa(&m->geom, *l2e));
		ops->set_pte(m, l2e, 0, false);
		ops->barrier(m, S2PT_DSB_ISHST);
		ops->tlbi(m, S2PT_TLBI_VMALLS12E1IS, s2_ipa(0), -1);
		if (!buggy)
			ops->barrier(m, S2PT_DSB_ISH);
		ops->put_page(m, l2e);
		s2pt_free_unlinked(&m->pt, l3, 2);
		if (buggy)
			ops->barrier(m, S2PT_DSB_ISH);
		hyp_end(m);
		show(m, "free before the DSB");
		/* The TLBI itself already emptied every walk cache: only the
		 * ordering rule fires. */
		assert_fired_exactly(m, buggy ? R_TLBI_FREE : 0, buggy ? "no DSB" : "DSB");
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc);
	}
}

/* ------------------------------------------------------------------ */
/* dcache-clean-before-visible and stale-data                          */
/* ------------------------------------------------------------------ */

/* The host writes p2 (the VMM loading an image), then vCPU 0 with its MMU
 * off reads p2, which its fault maps as a 4K page. */
static void build_mmu_off_read(struct s2hyp_scenario *sc, enum s2pt_variant v, uint64_t bytes)
{
	sc_init(sc, v, 2, S2HYP_BACKING_4K, false);
	host(sc, 0, S2HYP_HOST_WRITE, HVA + 2 * PG, bytes, 0xa5);
	acc(sc, 0, 1, S2HYP_ACC_READ, BASE + 2 * PG, false);
	acc(sc, 1, 1, S2HYP_ACC_READ, BASE + 2 * PG + 8, false);
	host(sc, 2, S2HYP_HOST_DESTROY, 0, 0, 0);
}

/* upstream-nocmo maps a page with dirty lines (dcache-clean); the MMU-off read is stale. */
static void test_dcache_upstream_nocmo_fires(void **state)
{
	/* upstream-nocmo maps the page without cleaning it to PoC: the mapping
	 * becomes visible with a dirty line (dcache-clean-before-visible, at the
	 * store), and the non-cacheable read returns memory's older data
	 * (stale-data, on the vCPU, later). */
	struct s2hyp_scenario sc;
	(void)state;
	build_mmu_off_read(&sc, S2PT_V_UPSTREAM_NOCMO, PG);
	struct s2hyp *m = run_bad(&sc, R_DCACHE | R_STALE_DATA, "upstream-nocmo, MMU off");
	assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_DCACHE_CLEAN);
	assert_int_equal(s2hyp_violation(m, 1)->rule, S2HYP_RULE_STALE_DATA);
	assert_report_complete(m, S2HYP_RULE_DCACHE_CLEAN, -1);
	assert_report_complete(m, S2HYP_RULE_STALE_DATA, 0);
	assert_int_equal(report_of(m, S2HYP_RULE_DCACHE_CLEAN)->ipa, BASE + 2 * PG);
	assert_int_equal(report_of(m, S2HYP_RULE_DCACHE_CLEAN)->level, 3);
	assert_int_equal(report_of(m, S2HYP_RULE_STALE_DATA)->ipa, BASE + 2 * PG);
	/* Both vCPUs read stale data. */
	assert_int_equal(s2hyp_stats(m)->violations[S2HYP_RULE_STALE_DATA], 2);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* Orderings with the CMO pass the MMU-off read of a host-written page from every schedule. */
static void test_dcache_correct_passes(void **state)
{
	/* The same with the CMO between break and make: clean from every schedule.
	 * install-first-nocmo lacks only the block's CMOs, so it passes a page
	 * fault too. */
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM, S2PT_V_UPSTREAM_2021,
					 S2PT_V_INSTALL_FIRST_NOCMO };
	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		struct s2hyp_scenario sc;
		build_mmu_off_read(&sc, ok[i], PG);
		assert_clean_everywhere(&sc, s2pt_variant_name(ok[i]));
		s2hyp_scenario_free(&sc);
	}
}

/* With FWB no clean is needed: even upstream-nocmo passes the MMU-off read. */
static void test_dcache_fwb_needs_no_clean(void **state)
{
	/* With FEAT_S2FWB stage 2 forces write-back, the MMU-off read is cacheable
	 * and no clean is needed: even upstream-nocmo passes. */
	struct s2hyp_scenario sc;
	(void)state;
	build_mmu_off_read(&sc, S2PT_V_UPSTREAM_NOCMO, PG);
	sc.cfg.fwb = true;
	assert_clean_everywhere(&sc, "upstream-nocmo with FWB");
	s2hyp_scenario_free(&sc);
}

/* The coalescing fault of a vCPU with its MMU off, on an image page no
 * mapping ever covered: install-first-nocmo installs the block without its
 * CMOs (the review thread's point), install-first with them. */
static void build_coalesce_image(struct s2hyp_scenario *sc, enum s2pt_variant v)
{
	sc_init(sc, v, 2, S2HYP_BACKING_THP, true);
	acc(sc, 0, 0, S2HYP_ACC_WRITE, BASE, true);
	host(sc, 1, S2HYP_HOST_DIRTY_LOG_OFF, 0, 0, 0);
	host(sc, 1, S2HYP_HOST_WRITE, HVA + 3 * PG, PG, 0xa5);
	acc(sc, 1, 2, S2HYP_ACC_READ, BASE + 3 * PG, false);
	host(sc, 3, S2HYP_HOST_DESTROY, 0, 0, 0);
}

/* install-first-nocmo installs the block without its CMOs; install-first and others pass. */
static void test_dcache_install_first_nocmo_fires(void **state)
{
	struct s2hyp_scenario sc;
	(void)state;
	build_coalesce_image(&sc, S2PT_V_INSTALL_FIRST_NOCMO);
	struct s2hyp *m = run_bad(&sc, R_DCACHE | R_STALE_DATA, "install-first-nocmo");
	assert_coalesced(m);
	const struct s2hyp_violation *v = report_of(m, S2HYP_RULE_DCACHE_CLEAN);
	assert_int_equal(v->level, 2);
	assert_int_equal(v->ipa, BASE);
	assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_DCACHE_CLEAN);
	assert_report_complete(m, S2HYP_RULE_STALE_DATA, 1);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);

	const enum s2pt_variant ok[] = { S2PT_V_INSTALL_FIRST, S2PT_V_UPSTREAM_2021,
					 S2PT_V_UPSTREAM };
	for (unsigned i = 0; i < 3; i++) {
		build_coalesce_image(&sc, ok[i]);
		assert_clean_everywhere(&sc, s2pt_variant_name(ok[i]));
		s2hyp_scenario_free(&sc);
	}
}

/* A hand-written schedule: an eviction hides the stale data, dcache-clean still fires. */
static void test_dcache_fires_even_when_eviction_hides_it(void **state)
{
	/* A hand-written schedule: the host writes 8 bytes (one dcache line), vCPU 0
	 * faults and upstream-nocmo maps p2 without the clean; then the memory
	 * system evicts that line (writing it back) before the MMU-off read. The
	 * symptom (stale-data) is gone, the missing CMO is still reported. */
	static const struct s2hyp_choice sched[] = {
		{ S2HYP_CH_HOST, 0, 0 },		/* the host writes p2 */
		{ S2HYP_CH_VCPU, 0, 0 },		/* vCPU 0 walks: translation fault */
		{ S2HYP_CH_VCPU, 0, 0 },		/* ... and takes the MMU lock to map p2 */
		{ S2HYP_CH_HYP, 0, 0 }, { S2HYP_CH_HYP, 0, 0 },	/* L1: break, make */
		{ S2HYP_CH_HYP, 0, 0 }, { S2HYP_CH_HYP, 0, 0 },	/* L2: break, make */
		{ S2HYP_CH_HYP, 0, 0 }, { S2HYP_CH_HYP, 0, 0 },	/* L3: break, make (no CMO) */
		{ S2HYP_CH_DC_EVICT, 0, 0 },		/* the dirty line goes to memory */
		{ S2HYP_CH_VCPU, 0, 0 }, { S2HYP_CH_VCPU, 0, 0 },
		{ S2HYP_CH_VCPU, 0, 0 },		/* walk L1, L2, L3 */
		{ S2HYP_CH_VCPU, 0, 0 },		/* TLB fill */
		{ S2HYP_CH_VCPU, 0, 0 },		/* the MMU-off read */
	};
	struct s2hyp_replay r = { .sched = sched, .n = sizeof(sched) / sizeof(sched[0]) };
	struct s2hyp_strategy st = s2hyp_strategy_replay_template;
	struct s2hyp_scenario sc;
	(void)state;

	sc_init(&sc, S2PT_V_UPSTREAM_NOCMO, 1, S2HYP_BACKING_4K, false);
	host(&sc, 0, S2HYP_HOST_WRITE, HVA + 2 * PG, 8, 0xa5);
	acc(&sc, 0, 1, S2HYP_ACC_READ, BASE + 2 * PG, false);
	st.arg = &r;
	struct s2hyp *m = run_with(&sc, &st);
	assert_false(r.diverged);
	assert_int_equal(r.pos, r.n);
	show(m, "eviction hides the stale data");
	assert_fired_exactly(m, R_DCACHE, "nocmo, line evicted before the read");
	assert_int_equal(s2hyp_stats(m)->vcpu[0].accesses, 1);
	s2hyp_delete(m);

	/* Without the eviction, the same run reads stale data. */
	struct s2hyp_replay r2 = { .sched = sched, .n = 9 };
	st.arg = &r2;
	m = run_with(&sc, &st);
	assert_fired_exactly(m, R_DCACHE | R_STALE_DATA, "nocmo, no eviction");
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* ------------------------------------------------------------------ */
/* icache-inval-before-exec and stale-instruction                      */
/* ------------------------------------------------------------------ */

/* vCPU 0 executes p0 (its icache now holds the line), the host writes new
 * code there and an MMU notifier unmaps it, and vCPU 0 executes p0 again:
 * the re-fault maps it executable. */
static void build_code_rewrite(struct s2hyp_scenario *sc, enum s2pt_variant v, bool dic)
{
	sc_init(sc, v, 2, S2HYP_BACKING_4K, false);
	sc->cfg.dic = dic;
	sc->cfg.idc = false;
	acc(sc, 0, 0, S2HYP_ACC_EXEC, BASE, true);
	host(sc, 1, S2HYP_HOST_WRITE, HVA, 64, 0xd5);
	host(sc, 1, S2HYP_HOST_UNMAP_HVA, HVA, PG, 0);
	acc(sc, 0, 2, S2HYP_ACC_EXEC, BASE, true);
	host(sc, 3, S2HYP_HOST_DESTROY, 0, 0, 0);
}

static void build_code_rewrite_nodic(struct s2hyp_scenario *sc, enum s2pt_variant v)
{
	build_code_rewrite(sc, v, false);
}

/* upstream-nocmo re-maps rewritten code with no icache invalidation: icache, stale-instruction. */
static void test_icache_upstream_nocmo_fires(void **state)
{
	/* upstream-nocmo skips the icache invalidation of the re-mapped page: the
	 * page becomes executable over vCPU 0's stale line, then vCPU 0 fetches the
	 * old instruction. No dirty line is left (the unmap cleaned it to PoC), so
	 * dcache-clean does not fire. */
	struct s2hyp_scenario sc;
	(void)state;
	build_code_rewrite(&sc, S2PT_V_UPSTREAM_NOCMO, false);
	struct s2hyp *m = run_bad(&sc, R_ICACHE | R_STALE_INSN, "upstream-nocmo, exec");
	assert_int_equal(s2hyp_violation(m, 0)->rule, S2HYP_RULE_ICACHE_INVAL);
	assert_int_equal(s2hyp_violation(m, 1)->rule, S2HYP_RULE_STALE_INSN);
	assert_report_complete(m, S2HYP_RULE_ICACHE_INVAL, -1);
	assert_report_complete(m, S2HYP_RULE_STALE_INSN, 0);
	assert_int_equal(report_of(m, S2HYP_RULE_ICACHE_INVAL)->ipa, BASE);
	assert_int_equal(report_of(m, S2HYP_RULE_STALE_INSN)->ipa, BASE);
	assert_int_equal(s2hyp_stats(m)->vcpu[0].faults_translation, 2);
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
}

/* upstream invalidates the icache before the make: clean from every schedule. */
static void test_icache_upstream_passes(void **state)
{
	/* upstream invalidates the icache to PoU before making the entry: clean
	 * from every schedule. */
	struct s2hyp_scenario sc;
	(void)state;
	build_code_rewrite(&sc, S2PT_V_UPSTREAM, false);
	assert_clean_everywhere(&sc, "upstream, exec");
	s2hyp_scenario_free(&sc);
}

/* With CTR_EL0.DIC no invalidation is needed: upstream and even upstream-nocmo pass. */
static void test_icache_dic_needs_no_invalidation(void **state)
{
	/* With CTR_EL0.DIC the icache is coherent: no invalidation is needed, and
	 * both the correct variant and even nocmo pass the icache rules. */
	const enum s2pt_variant vs[] = { S2PT_V_UPSTREAM, S2PT_V_UPSTREAM_NOCMO };
	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct s2hyp_scenario sc;
		build_code_rewrite(&sc, vs[i], true);
		assert_clean_everywhere(&sc, s2pt_variant_name(vs[i]));
		s2hyp_scenario_free(&sc);
	}
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Every bug under random schedules                                    */
/* ------------------------------------------------------------------ */

/* Each buggy variant fires its rules under every random schedule tried. */
static void test_bugs_fire_under_random_schedules(void **state)
{
	/* What each buggy variant fires in its situation whatever the schedule
	 * ("must"), and what only some schedules show ("may": tlb-conflict needs
	 * the holder of p8's translation to fill the block before an eviction;
	 * stale-data needs the dirty line not to be evicted before the read). */
	static const struct {
		enum s2pt_variant v;
		void (*build)(struct s2hyp_scenario *, enum s2pt_variant);
		unsigned must, may;
	} bugs[] = {
		{ S2PT_V_ANCHOR_LEAK, build_coalesce, R_REFCOUNT | R_LEAK, 0 },
		{ S2PT_V_INSTALL_FIRST_LEAK, build_coalesce, R_REFCOUNT | R_LEAK, 0 },
		{ S2PT_V_FREE_LEAK, build_coalesce, R_REFCOUNT | R_LEAK, 0 },
		{ S2PT_V_NO_RELOAD, build_coalesce, R_WAF, 0 },
		{ S2PT_V_MERGE_TLBI_IPA, build_coalesce, R_BBM | R_TLBI_FREE, 0 },
		{ S2PT_V_MERGE_TLBI_IPA, build_conflict, R_BBM | R_TLBI_FREE, R_CONFLICT },
		{ S2PT_V_INSTALL_FIRST_NOCMO, build_coalesce_image, R_DCACHE, R_STALE_DATA },
		{ S2PT_V_UPSTREAM_NOCMO, build_code_rewrite_nodic, R_ICACHE | R_STALE_INSN, 0 },
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(bugs) / sizeof(bugs[0]); i++) {
		unsigned seen = 0;
		for (uint64_t seed = 1; seed <= GOOD_SEEDS; seed++) {
			struct s2hyp_scenario sc;
			bugs[i].build(&sc, bugs[i].v);
			struct s2hyp *m = run_seed(&sc, seed);
			unsigned got = fired(m);
			char got_s[256];
			if ((got & bugs[i].must) != bugs[i].must ||
			    (got & ~(bugs[i].must | bugs[i].may)))
				fail_msg("%s, seed %llu: fired {%s}", s2pt_variant_name(bugs[i].v),
					 (unsigned long long)seed,
					 mask_names(got, got_s, sizeof(got_s)));
			seen |= got;
			s2hyp_delete(m);
			s2hyp_scenario_free(&sc);
		}
		/* Each "may" does show up in some schedule. */
		assert_int_equal(seen, bugs[i].must | bugs[i].may);
	}
}

/* Every report of four bad runs prints as text and as well-formed JSON. */
static void test_reports_print_as_text_and_json(void **state)
{
	/* Every report of four bad runs prints as text and as JSON (the other
	 * rules' reports are checked where they fire, by assert_report_complete). */
	struct s2hyp_scenario sc[4];
	unsigned seen = 0;
	(void)state;

	build_conflict(&sc[0], S2PT_V_MERGE_TLBI_IPA);
	build_coalesce(&sc[1], S2PT_V_ANCHOR_LEAK);
	build_mmu_off_read(&sc[2], S2PT_V_UPSTREAM_NOCMO, PG);
	build_code_rewrite(&sc[3], S2PT_V_UPSTREAM_NOCMO, false);
	for (unsigned k = 0; k < 4; k++) {
		struct s2hyp *m = run_seq(&sc[k]);
		for (unsigned i = 0; i < s2hyp_nr_violations(m); i++) {
			seen |= BIT(s2hyp_violation(m, i)->rule);
			assert_printed(s2hyp_violation(m, i));
		}
		s2hyp_delete(m);
		s2hyp_scenario_free(&sc[k]);
	}
	assert_int_equal(seen, R_BBM | R_TLBI_FREE | R_CONFLICT | R_REFCOUNT | R_LEAK |
			       R_DCACHE | R_STALE_DATA | R_ICACHE | R_STALE_INSN);
}

/* The test's JSON validator tells JSON from text that merely looks like it. */
static void test_json_validator(void **state)
{
	static const char *const good[] = {
		"{}", "{\"a\": [1, -2, \"x\\n\\u00e9\"], \"b\": {\"c\": true}}",
	};
	static const char *const bad[] = {
		"{", "{\"a\" 1}", "{\"a\": [1,]}", "{\"a\": \"\x01\"}", "{a: 1}",
	};
	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct jp p = { good[i] };
		assert_true(jvalue(&p, 0));
		assert_int_equal(*p.s, '\0');
	}
	for (unsigned i = 0; i < 5; i++) {
		struct jp p = { bad[i] };
		assert_false(jvalue(&p, 0) && *p.s == '\0');
	}
}

/* Every rule has a unique name, a meaning and a source (trace_read_test's
 * test_rule_words finds each by its name). */
static void test_rule_table(void **state)
{
	(void)state;
	assert_int_equal(S2HYP_NR_RULES, 31);
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		const char *name = s2hyp_rule_name((enum s2hyp_rule)r);
		for (unsigned q = 0; q < r; q++)
			assert_string_not_equal(s2hyp_rule_name((enum s2hyp_rule)q), name);
		assert_true(strlen(s2hyp_rule_meaning((enum s2hyp_rule)r)) > 10);
		assert_true(strlen(s2hyp_rule_source((enum s2hyp_rule)r)) > 5);
	}
	assert_string_equal(s2hyp_rule_name(S2HYP_NR_RULES), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refcount_anchor_leak_fires),
		cmocka_unit_test(test_refcount_install_first_leak_fires),
		cmocka_unit_test(test_refcount_correct_orderings_pass),
		cmocka_unit_test(test_leak_free_leak_fires),
		cmocka_unit_test(test_leak_host_page_reference),
		cmocka_unit_test(test_double_free_unlinked_table_twice),
		cmocka_unit_test(test_double_free_free_page_twice),
		cmocka_unit_test(test_tlbi_after_unmap_missing_tlbi),
		cmocka_unit_test(test_tlbi_after_unmap_real_unmap_passes),
		cmocka_unit_test(test_walk_after_free_noreload_fires),
		cmocka_unit_test(test_walk_after_free_hardware_walk),
		cmocka_unit_test(test_walk_after_free_linked_table),
		cmocka_unit_test(test_merge_tlbi_ipa_bbm_and_free),
		cmocka_unit_test(test_tlb_conflict_merge_tlbi_ipa_fires),
		cmocka_unit_test(test_tlb_conflict_correct_orderings_pass),
		cmocka_unit_test(test_bbm_leaf_orderings),
		cmocka_unit_test(test_bbm_permission_change_in_place),
		cmocka_unit_test(test_bbm_shared_walk_through_exchange),
		cmocka_unit_test(test_tlbi_before_free_needs_the_dsb),
		cmocka_unit_test(test_dcache_upstream_nocmo_fires),
		cmocka_unit_test(test_dcache_correct_passes),
		cmocka_unit_test(test_dcache_fwb_needs_no_clean),
		cmocka_unit_test(test_dcache_install_first_nocmo_fires),
		cmocka_unit_test(test_dcache_fires_even_when_eviction_hides_it),
		cmocka_unit_test(test_icache_upstream_nocmo_fires),
		cmocka_unit_test(test_icache_upstream_passes),
		cmocka_unit_test(test_icache_dic_needs_no_invalidation),
		cmocka_unit_test(test_bugs_fire_under_random_schedules),
		cmocka_unit_test(test_reports_print_as_text_and_json),
		cmocka_unit_test(test_json_validator),
		cmocka_unit_test(test_rule_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
