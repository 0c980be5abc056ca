/* The checker on its own (hyp-model/s2hyp_checker.h): no machine, no
 * walker operations. Each test feeds it events by hand, over a table-page
 * pool and a cache model, and looks at what comes out of its sink: for each
 * rule a situation that fires it (and nothing else) next to the same
 * situation done right, which fires nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp_checker.h"
#include "tests/checker_fx.h"

#define POOL_BASE (1ull << 40)
#define RAM 0x80000000ull
#define IPA 0x40000000ull
#define PG 0x1000ull

struct fx {
	struct checker_fx x;		/* x.root: a level-2 table for IPA 0x40000000 */
	uint64_t fired;			/* bit per rule, every violation */
	unsigned calls;			/* sink calls */
	unsigned recorded;		/* of which carried a report */
};

static void sink(void *arg, enum s2hyp_rule rule, struct s2hyp_violation *v)
{
	struct fx *f = arg;
	f->fired |= 1ull << rule;
	f->calls++;
	if (v) {
		assert_int_equal(v->rule, rule);
		f->recorded++;
	}
}

static struct fx *fx_new(bool fwb)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	checker_fx_open(&f->x, &(struct checker_fx_opts){
		.pool_base = POOL_BASE, .pool_pages = 64, .fwb = fwb,
		.root_level = 2, .root_ipa = IPA, .report = sink, .arg = f });
	return f;
}

static void fx_free(struct fx *f)
{
	checker_fx_close(&f->x);
	free(f);
}

static s2_pte_t *entry(struct fx *f, void *table, unsigned i)
{
	(void)f;
	return (s2_pte_t *)table + i;
}

/* The hypervisor stores pte at *p, the checker seeing it first. */
static void store(struct fx *f, s2_pte_t *p, s2_pte_t pte)
{
	s2hyp_checker_pte_store(f->x.c, p, *p, pte);
	*p = pte;
}

static s2_pte_t leaf(struct fx *f, s2_level_t level, uint64_t pa, unsigned prot)
{
	return s2pt_pte_leaf(&f->x.pt.geom, level, s2_pa(pa), (enum s2pt_prot)prot, false);
}

/* A level-3 table linked from root entry 0 (for IPA 0x40000000). */
static void *linked_table(struct fx *f)
{
	void *t = s2pool_alloc(f->x.pool);
	s2hyp_checker_page_alloc(f->x.c, t);
	s2pool_get(f->x.pool, f->x.root);
	store(f, entry(f, f->x.root, 0), s2pt_pte_table(&f->x.pt.geom, s2pool_pa(f->x.pool, t)));
	return t;
}

static void invalidate(struct fx *f, uint64_t ipa)
{
	s2hyp_checker_tlbi(f->x.c, S2PT_TLBI_IPAS2E1IS, ipa, 0, 1);
	s2hyp_checker_dsb(f->x.c);
}

/* A valid block changed to another output address in place breaks
 * break-before-make; a permission change in place does not. */
static void test_bbm_in_place(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		s2_pte_t *p = entry(f, f->x.root, 1);
		store(f, p, leaf(f, 2, RAM, S2PT_PROT_R));
		store(f, p, leaf(f, 2, bad ? RAM + (2ull << 20) : RAM, S2PT_PROT_RW));
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_BBM : 0);
		if (bad)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       "without going through an invalid entry"));
		fx_free(f);
	}
}

/* Invalid, then a new output address before the TLBI and DSB, breaks
 * break-before-make; after TLBI + DSB it is clean. */
static void test_bbm_through_invalid(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		s2_pte_t *p = entry(f, f->x.root, 1);
		store(f, p, leaf(f, 2, RAM, S2PT_PROT_RW));
		store(f, p, 0);
		if (!bad)
			invalidate(f, IPA + (2ull << 20));
		store(f, p, leaf(f, 2, RAM + (2ull << 20), S2PT_PROT_RW));
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_BBM : 0);
		if (bad)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       "was never issued"));
		fx_free(f);
	}
}

/* A table page freed after its entry was cleared but never TLBI'd fires
 * tlbi-before-free; with TLBI + DSB first it passes. */
static void test_tlbi_before_free(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		store(f, entry(f, f->x.root, 0), 0);
		if (!bad)
			invalidate(f, IPA);
		s2hyp_checker_page_free(f->x.c, t, NULL, 0);
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_TLBI_BEFORE_FREE : 0);
		fx_free(f);
	}
}

/* Teardown frees are not checked for TLBIs. */
static void test_tlbi_before_free_teardown(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	void *t = linked_table(f);
	s2hyp_checker_destroying(f->x.c);
	s2hyp_checker_page_free(f->x.c, t, NULL, 0);
	assert_int_equal(f->fired, 0);
	fx_free(f);
}

/* Every way of meeting a freed table page fires walk-after-free: a
 * hardware walk, the hypervisor's walk, a store, a walk cache at the free;
 * a live page meets nothing. */
static void test_walk_after_free(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	void *t = linked_table(f);
	uint64_t tpa = s2_pa_get(s2pool_pa(f->x.pool, t));

	s2hyp_checker_walk_read(f->x.c, 0, IPA, tpa, tpa, 3, S2HYP_TABLE_LIVE);
	s2hyp_checker_hyp_descend(f->x.c, s2_pa(tpa));
	store(f, entry(f, t, 0), leaf(f, 3, RAM, S2PT_PROT_RW));
	assert_int_equal(f->fired, 0);

	s2hyp_checker_walk_read(f->x.c, 1, IPA, tpa, tpa + 8, 3, S2HYP_TABLE_FREED);
	assert_int_equal(f->fired, 1u << S2HYP_RULE_WALK_AFTER_FREE);
	assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
			       "vCPU 1's hardware walk reads a descriptor"));
	assert_int_equal(s2hyp_checker_violation(f->x.c, 0)->thread, 1);

	s2pool_free(f->x.pool, t);
	s2hyp_checker_hyp_descend(f->x.c, s2_pa(tpa));
	store(f, entry(f, t, 1), 0);
	struct s2hyp_wc_ref ref = { 0, IPA, 3 };
	s2hyp_checker_page_free(f->x.c, f->x.root, &ref, 1);
	/* Four violations of one rule: counted, the first one reported. */
	assert_int_equal(f->x.stats.violations[S2HYP_RULE_WALK_AFTER_FREE], 4);
	assert_int_equal(f->recorded, 1);
	assert_int_equal(s2hyp_checker_nr_violations(f->x.c), 1);
	fx_free(f);
}

/* A refcount that does not equal 1 + counted entries when the lock is
 * released fires refcount; the matching get passes. */
static void test_refcount(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		store(f, entry(f, t, 3), leaf(f, 3, RAM, S2PT_PROT_RW));
		if (!bad)
			s2pool_get(f->x.pool, t);
		s2hyp_checker_unlock(f->x.c);
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_REFCOUNT : 0);
		fx_free(f);
	}
}

/* Effect traces release the lock unchecked: no refcount rule. */
static void test_refcount_unchecked(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	void *t = linked_table(f);
	store(f, entry(f, t, 3), leaf(f, 3, RAM, S2PT_PROT_RW));
	s2hyp_checker_unlock_unchecked(f->x.c);
	s2hyp_checker_unlock(f->x.c);
	assert_int_equal(f->fired, 0);
	fx_free(f);
}

/* A page freed twice fires double-free; freed once it passes. An address
 * outside the pool is the caller's error, not a rule. */
static void test_double_free(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		void *t = s2pool_alloc(f->x.pool);
		s2pool_free(f->x.pool, t);
		if (bad)
			s2pool_free(f->x.pool, t);
		assert_true(s2hyp_checker_pool_errors(f->x.c));
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_DOUBLE_FREE : 0);
		fx_free(f);
	}
	struct fx *f = fx_new(false);
	assert_null(s2pool_va(f->x.pool, s2_pa(RAM)));
	assert_false(s2hyp_checker_pool_errors(f->x.c));
	assert_int_equal(f->fired, 0);
	fx_free(f);
}

/* A table page or a host page reference left when the VM is gone fires
 * leak; none left passes. */
static void test_leak(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 2; bad++) {
		struct fx *f = fx_new(false);
		s2hyp_checker_host_page_get(f->x.c, RAM);
		if (bad != 2)
			s2hyp_checker_host_page_put(f->x.c, RAM);
		if (bad != 1)
			s2pool_free(f->x.pool, f->x.root);
		s2hyp_checker_destroyed(f->x.c);
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_LEAK : 0);
		if (bad)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       bad == 1 ? "table page" : "host page"));
		fx_free(f);
	}
}

/* A TLB fill overlapping an entry of another size or output fires
 * tlb-conflict; the same translation again passes. */
static void test_tlb_conflict(void **state)
{
	(void)state;
	struct s2hyp_tlb_entry block = { IPA, 2ull << 20, RAM, 2, S2PT_PROT_RW };
	struct s2hyp_tlb_entry page = { IPA + PG, PG, RAM + PG, 3, S2PT_PROT_RW };
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		s2hyp_checker_tlb_fill(f->x.c, 0, &block, bad ? &page : &block, 1);
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_TLB_CONFLICT : 0);
		fx_free(f);
	}
}

/* A TLB entry left in an unmapped range fires tlbi-after-unmap; none
 * left passes. */
static void test_tlbi_after_unmap(void **state)
{
	(void)state;
	struct s2hyp_tlb_entry page = { IPA, PG, RAM, 3, S2PT_PROT_RW };
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		s2hyp_checker_unmapped(f->x.c, IPA, PG, 1, &page, bad ? 1 : 0);
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_TLBI_AFTER_UNMAP : 0);
		if (bad)
			assert_int_equal(s2hyp_checker_violation(f->x.c, 0)->thread, 1);
		fx_free(f);
	}
}

/* A mapping made visible over a dirty line never cleaned to PoC fires
 * dcache-clean-before-visible; cleaned first, or with FWB, it passes. */
static void test_dcache_clean(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 2; bad++) {
		struct fx *f = fx_new(bad == 2);
		uint8_t b = 0x5a;
		assert_int_equal(s2cache_write(f->x.cache, 1, s2_pa(RAM), &b, 1, true), 0);
		if (bad == 0)
			assert_int_equal(s2cache_cmo(f->x.cache, 1, S2CACHE_DC_CIVAC, s2_pa(RAM), PG), 0);
		void *t = linked_table(f);
		store(f, entry(f, t, 0), leaf(f, 3, RAM, S2PT_PROT_RW));
		assert_int_equal(f->fired, bad == 1 ? 1u << S2HYP_RULE_DCACHE_CLEAN : 0);
		assert_int_equal(f->x.stats.mappings_by_level[3 + 1], 1);
		fx_free(f);
	}
}

/* A page made executable while a CPU's icache holds an older copy fires
 * icache-inval-before-exec; after IC IALLUIS it passes. */
static void test_icache_inval(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		uint32_t insn;
		uint8_t b = 0x5a;
		assert_int_equal(s2cache_fetch(f->x.cache, 0, s2_pa(RAM), &insn, NULL), 0);
		assert_int_equal(s2cache_write(f->x.cache, 1, s2_pa(RAM), &b, 1, true), 0);
		assert_int_equal(s2cache_cmo(f->x.cache, 1, S2CACHE_DC_CIVAC, s2_pa(RAM), PG), 0);
		if (!bad)
			assert_int_equal(s2cache_cmo(f->x.cache, 1, S2CACHE_IC_IALLUIS, s2_pa(0), 0), 0);
		void *t = linked_table(f);
		store(f, entry(f, t, 0), leaf(f, 3, RAM, S2PT_PROT_RWX));
		assert_int_equal(f->fired, bad ? 1u << S2HYP_RULE_ICACHE_INVAL : 0);
		fx_free(f);
	}
}

/* A read or a fetch the cache model found stale fires stale-data or
 * stale-instruction; a fresh one, or a write, passes. */
static void test_stale_access(void **state)
{
	(void)state;
	struct s2cache_check stale = { .stale = true, .ver_returned = 1, .ver_latest = 2 };
	struct s2cache_check fresh = { 0 };
	struct fx *f = fx_new(false);

	s2hyp_checker_access(f->x.c, 0, S2HYP_ACC_READ, IPA, RAM, 3, true, &fresh);
	s2hyp_checker_access(f->x.c, 0, S2HYP_ACC_EXEC, IPA, RAM, 3, true, &fresh);
	s2hyp_checker_access(f->x.c, 0, S2HYP_ACC_WRITE, IPA, RAM, 3, true, &stale);
	assert_int_equal(f->fired, 0);
	s2hyp_checker_access(f->x.c, 0, S2HYP_ACC_READ, IPA, RAM, 3, false, &stale);
	assert_int_equal(f->fired, 1u << S2HYP_RULE_STALE_DATA);
	assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail, "non-cacheable (MMU off)"));
	s2hyp_checker_access(f->x.c, 1, S2HYP_ACC_EXEC, IPA, RAM, 3, true, &stale);
	assert_int_equal(f->fired, 1u << S2HYP_RULE_STALE_DATA | 1u << S2HYP_RULE_STALE_INSN);
	assert_int_equal(s2hyp_checker_nr_violations(f->x.c), 2);
	fx_free(f);
}

/* ------------------------------------------------------------------ */
/* Several operations in flight                                        */
/* ------------------------------------------------------------------ */

/* Operation op reads *p (its walk's one load). */
static s2_pte_t op_read(struct fx *f, unsigned op, s2_pte_t *p)
{
	s2hyp_checker_pte_read(f->x.c, op, p, *p);
	return *p;
}

/* Operation op stores pte at *p: by an exchange that succeeded, or plain. */
static void op_store(struct fx *f, unsigned op, s2_pte_t *p, s2_pte_t pte, bool exchange)
{
	s2hyp_checker_op_pte_store(f->x.c, op, p, *p, pte, exchange);
	*p = pte;
}

/* Operation op holds entry *p locked (read, exchanged for the marker). */
static void op_lock(struct fx *f, unsigned op, s2_pte_t *p)
{
	op_read(f, op, p);
	op_store(f, op, p, S2PT_PTE_LOCKED, true);
}

/* A store over the locked marker of another operation in flight fires
 * store-unowned, by exchange or plainly; the locker's own make over its
 * marker passes, and so does a store after the locker ended (its make
 * done). */
static void test_store_unowned_locked(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 2; bad++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		s2_pte_t *p = entry(f, t, 2);
		s2hyp_checker_op_begin(f->x.c, 0, true);
		s2hyp_checker_op_begin(f->x.c, 1, true);
		op_lock(f, 0, p);
		if (bad) {
			op_read(f, 1, p);
			op_store(f, 1, p, leaf(f, 3, RAM, S2PT_PROT_RW), bad == 1);
		} else {
			op_store(f, 0, p, leaf(f, 3, RAM, S2PT_PROT_RW), false);
		}
		assert_int_equal(f->fired, bad ? 1ull << S2HYP_RULE_STORE_UNOWNED : 0);
		if (bad)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       "which operation 0 holds locked"));
		fx_free(f);
	}
}

/* Under the read lock, a plain store into an entry the operation did not
 * lock fires store-unowned; an exchange passes, as does a plain store
 * under the write lock or into a table page nothing links yet. */
static void test_store_unowned_plain(void **state)
{
	(void)state;
	for (int k = 0; k <= 3; k++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		void *fresh = s2pool_alloc(f->x.pool);
		s2hyp_checker_page_alloc(f->x.c, fresh);
		s2hyp_checker_op_begin(f->x.c, 0, k != 2);
		s2_pte_t *p = entry(f, k == 3 ? fresh : t, 4);
		op_read(f, 0, p);
		op_store(f, 0, p, leaf(f, 3, RAM, S2PT_PROT_RW), k == 1);
		assert_int_equal(f->fired, k == 0 ? 1ull << S2HYP_RULE_STORE_UNOWNED : 0);
		if (k == 0)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       "without an exchange"));
		fx_free(f);
	}
}

/* Operation 0 (under the read lock) reads a leaf, operation 1 relaxes it
 * by exchange, and operation 0's store of what it computed from the old
 * value loses the relax: lost-update. By an exchange against the value
 * that is there now, which operation 0 never read (k 0), only that rule;
 * by a plain store (k 1), store-unowned too. Reading the entry again first
 * (k 2), or the entry holding again what operation 0 saw (k 3), passes;
 * an operation under the write lock keeps no reads (k 4): no other walker
 * can be there. */
static void test_lost_update(void **state)
{
	(void)state;
	for (int k = 0; k <= 4; k++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		s2_pte_t *p = entry(f, t, 6);
		store(f, p, leaf(f, 3, RAM, S2PT_PROT_R));
		s2hyp_checker_op_begin(f->x.c, 0, k != 4);
		s2hyp_checker_op_begin(f->x.c, 1, true);
		s2_pte_t seen = op_read(f, 0, p);
		s2_pte_t relaxed = op_read(f, 1, p) | S2PT_PTE_S2AP_W;
		op_store(f, 1, p, relaxed, true);
		if (k == 2)
			seen = op_read(f, 0, p);
		if (k == 3)
			op_store(f, 1, p, seen, true);	/* back to what operation 0 saw */
		op_store(f, 0, p, seen & ~S2PT_PTE_AF, k != 1);
		uint64_t want = k == 0 ? 1ull << S2HYP_RULE_LOST_UPDATE :
				k == 1 ? (1ull << S2HYP_RULE_LOST_UPDATE) |
					 (1ull << S2HYP_RULE_STORE_UNOWNED) : 0;
		if (f->fired != want)
			fail_msg("k=%d fired %#llx", k, (unsigned long long)f->fired);
		if (k == 0)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       "loses that change"));
		fx_free(f);
	}
}

/* A table unlinked (break, TLBI, DSB) and freed while a walker that
 * entered its read-side section before the unlink, over a range covering
 * the table, is still inside fires free-before-grace: another walker (k 0)
 * or the unlinking walker itself, freeing at once (k 4). The same free
 * passes once every such walker has left, when the walker entered after
 * the unlink, and when its walk covers another range. */
static void test_free_before_grace(void **state)
{
	(void)state;
	for (int k = 0; k <= 4; k++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		s2_pte_t *parent = entry(f, f->x.root, 0);
		s2hyp_checker_op_begin(f->x.c, 0, true);
		s2hyp_checker_op_begin(f->x.c, 1, true);
		if (k != 2 && k != 4)
			s2hyp_checker_rcu_enter(f->x.c, 0, k == 3 ? IPA + (4ull << 20) : IPA + PG, PG);
		s2hyp_checker_rcu_enter(f->x.c, 1, IPA, 2ull << 20);
		op_lock(f, 1, parent);
		invalidate(f, IPA);
		op_store(f, 1, parent, leaf(f, 2, RAM, S2PT_PROT_RW), false);
		if (k != 4)
			s2hyp_checker_rcu_exit(f->x.c, 1);
		if (k == 1)
			s2hyp_checker_rcu_exit(f->x.c, 0);
		if (k == 2)
			s2hyp_checker_rcu_enter(f->x.c, 0, IPA + PG, PG);
		s2hyp_checker_page_free(f->x.c, t, NULL, 0);
		bool fires = k == 0 || k == 4;
		assert_int_equal(f->fired, fires ? 1ull << S2HYP_RULE_FREE_BEFORE_GRACE : 0);
		if (fires)
			assert_non_null(strstr(s2hyp_checker_violation(f->x.c, 0)->detail,
					       k ? "operation 1" : "operation 0"));
		fx_free(f);
	}
}

/* With two operations in flight the refcount is checked only when the
 * last one ends (an unlock in between defers it): a store whose get never
 * comes fires then; a get by the other operation before the end passes. */
static void test_refcount_at_quiescence(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		struct fx *f = fx_new(false);
		void *t = linked_table(f);
		s2hyp_checker_op_begin(f->x.c, 0, true);
		s2hyp_checker_op_begin(f->x.c, 1, true);
		op_lock(f, 0, entry(f, t, 3));
		op_store(f, 0, entry(f, t, 3), leaf(f, 3, RAM, S2PT_PROT_RW), false);
		s2hyp_checker_op_end(f->x.c, 0);
		s2hyp_checker_unlock(f->x.c);
		assert_int_equal(s2hyp_checker_in_flight(f->x.c), 1);
		assert_int_equal(f->fired, 0);
		if (!bad)
			s2pool_get(f->x.pool, t);
		s2hyp_checker_op_end(f->x.c, 1);
		assert_int_equal(s2hyp_checker_in_flight(f->x.c), 0);
		assert_int_equal(f->fired, bad ? 1ull << S2HYP_RULE_REFCOUNT : 0);
		fx_free(f);
	}
}

/* The ghost view of an entry follows its stores, TLBIs and DSBs. */
static void test_entry_ghost_state(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	struct s2hyp_checker_entry e;
	s2_pte_t *p = entry(f, f->x.root, 5);

	store(f, p, leaf(f, 2, RAM, S2PT_PROT_RW));
	s2hyp_checker_entry(f->x.c, p, &e);
	assert_int_equal(e.ghost, S2HYP_GHOST_VALID);
	assert_int_equal(e.level, 2);
	assert_int_equal(e.ipa, IPA + 5 * (2ull << 20));
	store(f, p, 0);
	s2hyp_checker_entry(f->x.c, p, &e);
	assert_int_equal(e.ghost, S2HYP_GHOST_INVALID_UNCLEAN);
	s2hyp_checker_tlbi(f->x.c, S2PT_TLBI_VMALLS12E1IS, 0, 0, 1);
	s2hyp_checker_entry(f->x.c, p, &e);
	assert_int_equal(e.ghost, S2HYP_GHOST_TLBI_PENDING);
	s2hyp_checker_dsb(f->x.c);
	s2hyp_checker_entry(f->x.c, p, &e);
	assert_int_equal(e.ghost, S2HYP_GHOST_INVALID_CLEAN);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bbm_in_place),
		cmocka_unit_test(test_bbm_through_invalid),
		cmocka_unit_test(test_tlbi_before_free),
		cmocka_unit_test(test_tlbi_before_free_teardown),
		cmocka_unit_test(test_walk_after_free),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_refcount_unchecked),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_leak),
		cmocka_unit_test(test_tlb_conflict),
		cmocka_unit_test(test_tlbi_after_unmap),
		cmocka_unit_test(test_dcache_clean),
		cmocka_unit_test(test_icache_inval),
		cmocka_unit_test(test_stale_access),
		cmocka_unit_test(test_entry_ghost_state),
		cmocka_unit_test(test_store_unowned_locked),
		cmocka_unit_test(test_store_unowned_plain),
		cmocka_unit_test(test_lost_update),
		cmocka_unit_test(test_free_before_grace),
		cmocka_unit_test(test_refcount_at_quiescence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
