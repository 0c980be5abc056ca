/* The walker's shared walks under the checker, two walkers at once, with no
 * machine: the bugs of the parallel path (v6.2+) and the rules that name
 * them (store-unowned, lost-update, free-before-grace, refcount at
 * quiescence), each next to upstream doing the same thing right.
 *
 * Two operations are in flight: operation 0 runs a walk; just before its
 * first entry store (a plain store or an exchange) operation 1 runs a whole
 * walk of its own, then operation 0 goes on. That is one interleaving of
 * two vCPUs' faults under the read lock. The ops below tell the checker
 * every read, store (plain or exchange), RCU read-side section, TLBI, DSB,
 * reference and free, with the operation running. Unlinked tables wait on
 * a list for the grace period, which ends when the test says (after both
 * operations), as an RCU callback would.
 *
 * Geometry: 4K granule, 40-bit IPA (start level 1, two roots).
 *
 *   IPA  0        P        2P                         2M
 *        | page A | page B | page C |  ...            |   (one level-3 table T)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp_checker.h"

#define P 0x1000ull
#define M2 (2ull << 20)
#define TARGET 0x80000000ull	/* leaf output addresses, 2M aligned */
#define POOL_BASE (1ull << 40)

struct par;
typedef void (*racer_fn)(struct par *p);

struct par {
	struct s2pool *pool;
	struct s2cache *cache;
	struct s2pt pt;
	struct s2hyp_checker *c;
	struct s2hyp_stats stats;
	struct s2pt_memcache mc[2];
	uint64_t fired;		/* bit per rule */
	unsigned cur;		/* the operation running */
	racer_fn racer;		/* runs as operation 1 before operation 0's first store */
	bool raced;
	struct { void *table; s2_level_t level; } pending[8];
	unsigned npending;	/* unlinked tables awaiting the grace period */
	unsigned rcu_enters, rcu_exits, reads;
	unsigned local_tlbis[2];	/* by operation */
	bool in_rcu;
};

static void sink(void *arg, enum s2hyp_rule rule, struct s2hyp_violation *v)
{
	struct par *p = arg;
	(void)v;
	p->fired |= 1ull << rule;
}

/* Operation 0's first store: the other walker's turn. */
static void maybe_race(struct par *p)
{
	if (p->cur != 0 || p->raced || !p->racer)
		return;
	p->raced = true;
	p->cur = 1;
	p->racer(p);
	p->cur = 0;
}

static void *o_zalloc_page(void *ctx)
{
	struct par *p = ctx;
	void *pg = s2pool_alloc(p->pool);
	if (pg)
		s2hyp_checker_page_alloc(p->c, pg);
	return pg;
}

static void *o_zalloc_pages_exact(void *ctx, unsigned nr)
{
	struct par *p = ctx;
	return s2pool_alloc_exact(p->pool, nr);
}

static void o_free_page(void *ctx, void *page)
{
	struct par *p = ctx;
	s2hyp_checker_page_free(p->c, page, NULL, 0);
	s2pool_free(p->pool, page);
	s2hyp_checker_pool_errors(p->c);
}

static void o_free_pages_exact(void *ctx, void *pages, unsigned nr)
{
	struct par *p = ctx;
	for (unsigned i = 0; i < nr; i++)
		s2pool_free(p->pool, (uint8_t *)pages + i * P);
}

static void o_get_page(void *ctx, void *addr)
{
	struct par *p = ctx;
	s2pool_get(p->pool, addr);
	s2hyp_checker_page_ref(p->c, addr);
	s2hyp_checker_pool_errors(p->c);
}

static void o_put_page(void *ctx, void *addr)
{
	struct par *p = ctx;
	struct s2pool_page *pg = s2pool_page_of(p->pool, addr);
	if (pg && pg->state == S2POOL_PAGE_LIVE && pg->refcount == 1)
		s2hyp_checker_page_free(p->c, s2pool_page_base(p->pool, addr), NULL, 0);
	s2pool_put(p->pool, addr);
	s2hyp_checker_page_ref(p->c, addr);
	s2hyp_checker_pool_errors(p->c);
}

static int o_page_count(void *ctx, void *addr)
{
	struct par *p = ctx;
	struct s2pool_page *pg = s2pool_page_of(p->pool, addr);
	return pg ? pg->refcount : 0;
}

static void *o_phys_to_virt(void *ctx, s2_pa_t pa)
{
	struct par *p = ctx;
	s2hyp_checker_hyp_descend(p->c, pa);
	return s2pool_va(p->pool, pa);
}

static s2_pa_t o_virt_to_phys(void *ctx, void *va)
{
	struct par *p = ctx;
	return s2pool_pa(p->pool, va);
}

static void o_set_pte(void *ctx, s2_pte_t *ptep, s2_pte_t pte, bool release)
{
	struct par *p = ctx;
	(void)release;
	maybe_race(p);
	s2hyp_checker_op_pte_store(p->c, p->cur, ptep, *ptep, pte, false);
	*ptep = pte;
}

static bool o_cmpxchg_pte(void *ctx, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	struct par *p = ctx;
	maybe_race(p);
	if (*ptep != old)
		return false;
	s2hyp_checker_op_pte_store(p->c, p->cur, ptep, old, new, true);
	*ptep = new;
	return true;
}

static uint64_t tlbi_seq;

static void o_tlbi(void *ctx, enum s2pt_tlbi op, s2_ipa_t ipa, s2_level_t level)
{
	struct par *p = ctx;
	(void)level;
	if (op == S2PT_TLBI_IPAS2E1)
		p->local_tlbis[p->cur]++;
	s2hyp_checker_tlbi(p->c, op, s2_ipa_get(ipa), 0, ++tlbi_seq);
}

static void o_tlbi_range(void *ctx, s2_ipa_t ipa, uint64_t size)
{
	struct par *p = ctx;
	s2hyp_checker_tlbi(p->c, S2PT_TLBI_RIPAS2E1IS, s2_ipa_get(ipa), size, ++tlbi_seq);
}

static void o_barrier(void *ctx, enum s2pt_barrier b)
{
	struct par *p = ctx;
	if (b == S2PT_DSB_ISH || b == S2PT_DSB_SY)
		s2hyp_checker_dsb(p->c);
}

/* An RCU callback: the table waits for the grace period (grace()). */
static void o_free_unlinked_table(void *ctx, struct s2pt *pt, void *table, s2_level_t level)
{
	struct par *p = ctx;
	(void)pt;
	assert_true(p->npending < 8);
	p->pending[p->npending].table = table;
	p->pending[p->npending++].level = level;
}

static void o_rcu_read_lock(void *ctx, s2_ipa_t ipa, uint64_t size)
{
	struct par *p = ctx;
	p->rcu_enters++;
	p->in_rcu = true;
	s2hyp_checker_rcu_enter(p->c, p->cur, s2_ipa_get(ipa), size);
}

static void o_rcu_read_unlock(void *ctx)
{
	struct par *p = ctx;
	p->rcu_exits++;
	p->in_rcu = false;
	s2hyp_checker_rcu_exit(p->c, p->cur);
}

static void o_pte_read(void *ctx, const s2_pte_t *ptep, s2_pte_t val)
{
	struct par *p = ctx;
	p->reads += p->in_rcu;
	s2hyp_checker_pte_read(p->c, p->cur, ptep, val);
}

static const struct s2pt_mm_ops par_ops = {
	.zalloc_page = o_zalloc_page,
	.zalloc_pages_exact = o_zalloc_pages_exact,
	.free_page = o_free_page,
	.free_pages_exact = o_free_pages_exact,
	.get_page = o_get_page,
	.put_page = o_put_page,
	.page_count = o_page_count,
	.phys_to_virt = o_phys_to_virt,
	.virt_to_phys = o_virt_to_phys,
	.set_pte = o_set_pte,
	.cmpxchg_pte = o_cmpxchg_pte,
	.tlbi = o_tlbi,
	.tlbi_range = o_tlbi_range,
	.barrier = o_barrier,
	.free_unlinked_table = o_free_unlinked_table,
	.rcu_read_lock = o_rcu_read_lock,
	.rcu_read_unlock = o_rcu_read_unlock,
	.pte_read = o_pte_read,
};

static struct par *par_new(enum s2pt_variant v)
{
	struct par *p = calloc(1, sizeof(*p));
	struct s2pt_geom g;
	const char *why;
	struct s2cache_config cc;

	assert_non_null(p);
	assert_int_equal(s2pt_geom_init(&g, 12, 40, &why), 0);
	p->pool = s2pool_new(12, s2_pa(POOL_BASE), 256 * P);
	assert_non_null(p->pool);
	s2cache_config_init(&cc);
	cc.ncpus = 2;
	assert_int_equal(s2cache_create(&cc, &p->cache), 0);
	p->pt.geom = g;
	struct s2hyp_checker_config cfg = {
		.pt = &p->pt, .pool = p->pool, .cache = p->cache,
		.stats = &p->stats, .report = sink, .arg = p,
	};
	p->c = s2hyp_checker_new(&cfg);
	assert_non_null(p->c);
	assert_int_equal(s2pt_init(&p->pt, &g, &par_ops, p, v, 0), 0);
	for (unsigned r = 0; r < g.nr_roots; r++)
		s2hyp_checker_page_root(p->c, (uint8_t *)p->pt.pgd + r * P, g.start_level,
					(uint64_t)r << (s2pt_level_shift(&g, g.start_level) + g.stride));
	return p;
}

/* The grace period ends: every unlinked table is torn down. */
static void grace(struct par *p)
{
	for (unsigned i = 0; i < p->npending; i++)
		s2pt_free_unlinked(&p->pt, p->pending[i].table, p->pending[i].level);
	p->npending = 0;
}

static void par_free(struct par *p)
{
	grace(p);
	s2hyp_checker_destroying(p->c);
	struct s2pt_locked l = s2pt_lock(&p->pt);
	for (unsigned i = 0; i < 2; i++)
		s2pt_memcache_free(&p->pt, &p->mc[i]);
	s2pt_destroy(l);
	s2pt_unlock(l);
	s2hyp_checker_delete(p->c);
	s2cache_destroy(p->cache);
	s2pool_delete(p->pool);
	free(p);
}

/* The memcache of the operation running, topped up. */
static struct s2pt_memcache *mc(struct par *p)
{
	struct s2pt_memcache *m = &p->mc[p->cur];
	assert_int_equal(s2pt_memcache_topup(&p->pt, m, s2pt_memcache_min_pages(&p->pt.geom)), 0);
	return m;
}

/* Set-up under the write lock, no operation in flight. */
static void map_exclusive(struct par *p, uint64_t ipa, uint64_t size, uint64_t pa,
			  enum s2pt_prot prot)
{
	p->cur = 0;
	struct s2pt_memcache *m = mc(p);
	struct s2pt_locked l = s2pt_lock(&p->pt);
	assert_int_equal(s2pt_map(l, s2_ipa(ipa), size, s2_pa(pa), prot, m), 0);
	s2pt_unlock(l);
	s2hyp_checker_unlock(p->c);
}

/* A fault's map under the read lock, as the operation running. */
static int map_shared(struct par *p, uint64_t ipa, uint64_t size, uint64_t pa, enum s2pt_prot prot)
{
	struct s2pt_memcache *m = mc(p);
	struct s2pt_locked l = s2pt_lock_shared(&p->pt);
	int ret = s2pt_map(l, s2_ipa(ipa), size, s2_pa(pa), prot, m);
	s2pt_unlock(l);
	return ret;
}

/* Operation 0 runs fn with both operations in flight under the read lock;
 * both end after it. */
static int run_two(struct par *p, int (*fn)(struct par *p), racer_fn racer)
{
	p->racer = racer;
	p->cur = 0;
	s2hyp_checker_op_begin(p->c, 0, true);
	s2hyp_checker_op_begin(p->c, 1, true);
	int ret = fn(p);
	assert_true(p->raced);
	s2hyp_checker_op_end(p->c, 1);
	s2hyp_checker_op_end(p->c, 0);
	grace(p);
	return ret;
}

static void race_block(struct par *p)
{
	assert_int_equal(map_shared(p, 0, M2, TARGET, S2PT_PROT_RW), 0);
}

static int map_page_c(struct par *p)
{
	return map_shared(p, 2 * P, P, TARGET + 2 * P, S2PT_PROT_RW);
}

/* Operation 0 faults on page C and walks into table T; before its break
 * of C's entry, operation 1 coalesces T into a 2M block. upstream hands T
 * to the RCU callback: operation 0 finishes its map in the unlinked table,
 * which is freed after the grace period; nothing fires. upstream-free-now
 * frees T at once while operation 0 (and operation 1 itself) are still in
 * their read-side sections: free-before-grace, and operation 0's exchange
 * then writes into the freed page (walk-after-free). */
static void test_free_now(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct par *p = par_new(bad ? S2PT_V_FREE_NOW : S2PT_V_UPSTREAM);
		map_exclusive(p, 0, P, TARGET, S2PT_PROT_RW);
		map_exclusive(p, P, P, TARGET + P, S2PT_PROT_RW);
		assert_int_equal(p->fired, 0);
		run_two(p, map_page_c, race_block);
		if (bad) {
			assert_true(p->fired & (1ull << S2HYP_RULE_FREE_BEFORE_GRACE));
			assert_true(p->fired & (1ull << S2HYP_RULE_WALK_AFTER_FREE));
		} else {
			assert_int_equal(p->fired, 0);
		}
		/* Either way the 2M block is what the tables hold now. */
		s2_pte_t pte;
		s2_level_t level;
		assert_int_equal(s2pt_get_leaf(&p->pt, s2_ipa(2 * P), &pte, &level), 0);
		assert_int_equal(level, 2);
		par_free(p);
	}
}

static void race_mkold(struct par *p)
{
	struct s2pt_locked l = s2pt_lock_shared(&p->pt);
	bool young = false;
	assert_int_equal(s2pt_mkold(l, s2_ipa(0), P, &young), 0);
	s2pt_unlock(l);
	assert_true(young);
}

static int relax_page_a(struct par *p)
{
	struct s2pt_locked l = s2pt_lock_shared(&p->pt);
	int ret = s2pt_relax_perms(l, s2_ipa(0), S2PT_PROT_RW);
	s2pt_unlock(l);
	return ret;
}

/* Operation 0 relaxes page A to read-write; between its read of the leaf
 * and its store, operation 1 ages the page (clears AF by exchange).
 * upstream's exchange fails and the relax backs off with S2_EAGAIN (the
 * vCPU retries): nothing fires. upstream-attr-plain stores the leaf it
 * computed from its stale read: store-unowned (a plain store under the read
 * lock) and lost-update (the aging is undone). */
static void test_attr_plain(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct par *p = par_new(bad ? S2PT_V_ATTR_PLAIN : S2PT_V_UPSTREAM);
		map_exclusive(p, 0, P, TARGET, S2PT_PROT_R);
		int ret = run_two(p, relax_page_a, race_mkold);
		assert_int_equal(ret, bad ? 0 : S2_EAGAIN);
		assert_int_equal(p->fired, bad ? (1ull << S2HYP_RULE_STORE_UNOWNED) |
						 (1ull << S2HYP_RULE_LOST_UPDATE) : 0);
		par_free(p);
	}
}

static int map_block(struct par *p)
{
	return map_shared(p, 0, M2, TARGET, S2PT_PROT_RW);
}

/* Two vCPUs coalesce table T into the same 2M block at once: operation 1
 * wins the break of the level-2 entry, operation 0's exchange fails and it
 * backs off with S2_EAGAIN. upstream: only the winner dropped the table
 * entry's reference, and the refcounts hold when both have ended.
 * upstream-loser-put drops it in the loser too: refcount, at quiescence
 * only. */
static void test_loser_put(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct par *p = par_new(bad ? S2PT_V_LOSER_PUT : S2PT_V_UPSTREAM);
		map_exclusive(p, 0, P, TARGET, S2PT_PROT_RW);
		assert_int_equal(run_two(p, map_block, race_block), S2_EAGAIN);
		assert_int_equal(p->fired, bad ? 1ull << S2HYP_RULE_REFCOUNT : 0);
		par_free(p);
	}
}

static void race_relax(struct par *p)
{
	assert_int_equal(relax_page_a(p), 0);
}

/* Two vCPUs take the same write permission fault on page A at once:
 * operation 1's relax wins, operation 0's exchange loses (S2_EAGAIN).
 * upstream still invalidates operation 0's own TLB (its vCPU may hold the
 * read-only entry it faulted on); upstream-relax-lost-notlbi, as before
 * be097997a273, does not: the vCPU faults once more. No rule fires
 * either way: the cost is a fault, not a wrong state. */
static void test_relax_lost_notlbi(void **state)
{
	(void)state;
	for (int slow = 0; slow <= 1; slow++) {
		struct par *p = par_new(slow ? S2PT_V_RELAX_LOST_NOTLBI : S2PT_V_UPSTREAM);
		map_exclusive(p, 0, P, TARGET, S2PT_PROT_R);
		assert_int_equal(run_two(p, relax_page_a, race_relax), S2_EAGAIN);
		assert_int_equal(p->local_tlbis[1], 1);
		assert_int_equal(p->local_tlbis[0], slow ? 0 : 1);
		assert_int_equal(p->fired, 0);
		par_free(p);
	}
}

/* A shared walk enters one read-side section and leaves it, and tells
 * every entry it decides on, from inside it; an exclusive walk enters
 * none. */
static void test_walk_hooks(void **state)
{
	(void)state;
	struct par *p = par_new(S2PT_V_UPSTREAM);
	map_exclusive(p, 0, P, TARGET, S2PT_PROT_RW);
	assert_int_equal(p->rcu_enters, 0);
	p->cur = 0;
	s2hyp_checker_op_begin(p->c, 0, true);
	assert_int_equal(map_page_c(p), 0);
	s2hyp_checker_op_end(p->c, 0);
	assert_int_equal(p->rcu_enters, 1);
	assert_int_equal(p->rcu_exits, 1);
	/* The level-1 and level-2 table entries, each read again after its
	 * pre visitor (v6.4+), and C's entry, read again after its leaf visit. */
	assert_int_equal(p->reads, 6);
	assert_int_equal(p->fired, 0);
	par_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_now),
		cmocka_unit_test(test_attr_plain),
		cmocka_unit_test(test_loser_put),
		cmocka_unit_test(test_relax_lost_notlbi),
		cmocka_unit_test(test_walk_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
