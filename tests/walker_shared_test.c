/* Shared walks (the MMU lock held for read, Linux v6.2+): entries change
 * only by compare-and-exchange against the value the walk read, a walker
 * that loses the exchange or finds the locked marker backs off with
 * S2_EAGAIN and changes no refcount, a fault's walk reports S2_EAGAIN while
 * other walks go on, and exclusive walks never exchange at all.
 *
 * Another CPU is played by tests/fake_mm's before_cas hook: it runs between
 * the walker's read of an entry and its exchange, with recording off, so
 * the log holds only the effects of the walker under test.
 *
 * Geometry: 4K granule, 40-bit IPA (start level 1, two roots); upstream.
 *
 *   IPA  0         P        2P       3P
 *        | page A  | page B | page C |   (P = 4K, all in one level-3 table)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_bits.h"
#include "tests/fake_mm.h"
#include "walker/s2pt.h"

#define P 0x1000ull
#define TARGET 0x80000000ull	/* leaf output addresses: below fake_mm's pool */

struct fx {
	struct fake_mm fm;
	struct s2pt pt;
	struct s2pt_memcache mc;
};

static struct fx *fx_new(enum s2pt_variant v)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(fake_mm_init(&f->fm, &f->pt, 12, 40, v, 0), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	struct s2pt_locked l = s2pt_lock(&f->pt);
	s2pt_memcache_free(&f->pt, &f->mc);
	s2pt_destroy(l);
	s2pt_unlock(l);
	fake_mm_fini(&f->fm);
	test_free(f);
}

static void topup(struct fx *f)
{
	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, s2pt_memcache_min_pages(&f->pt.geom)), 0);
}

/* A map under the exclusive lock, for set-up. */
static void map_exclusive(struct fx *f, uint64_t ipa, uint64_t pa, enum s2pt_prot prot)
{
	topup(f);
	struct s2pt_locked l = s2pt_lock(&f->pt);
	assert_int_equal(s2pt_map(l, s2_ipa(ipa), P, s2_pa(pa), prot, &f->mc), 0);
	s2pt_unlock(l);
}

static int map_shared(struct fx *f, uint64_t ipa, uint64_t pa, enum s2pt_prot prot)
{
	topup(f);
	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	int ret = s2pt_map(l, s2_ipa(ipa), P, s2_pa(pa), prot, &f->mc);
	s2pt_unlock(l);
	return ret;
}

static int ptep_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	(void)visit;
	*(s2_pte_t **)ctx->arg = ctx->ptep;
	return 0;
}

/* The deepest entry on the path to ipa (a leaf or an invalid entry). */
static s2_pte_t *ptep_of(struct fx *f, uint64_t ipa)
{
	s2_pte_t *ptep = NULL;
	struct s2pt_walker w = { ptep_visitor, &ptep, S2PT_WALK_LEAF };
	assert_int_equal(s2pt_walk(&f->pt, ipa, P, &w), 0);
	assert_non_null(ptep);
	return ptep;
}

static int count_of(struct fx *f, s2_pte_t *ptep)
{
	return f->pt.ops->page_count(f->pt.ctx, ptep);
}

/* ------------------------------------------------------------------ */
/* Racers: what another CPU does between our read and our exchange      */
/* ------------------------------------------------------------------ */

/* Stores value at target (taking the reference a counted entry needs, as a
 * winning walker would), once. */
struct store_racer {
	s2_pte_t *target;
	s2_pte_t value;
	unsigned fired;
};

static void store_race(struct fake_mm *fm, s2_pte_t *ptep, void *arg)
{
	struct store_racer *r = arg;
	if (ptep != r->target || r->fired)
		return;
	r->fired++;
	bool rec = fm->record;
	fm->record = false;
	s2_pte_t old = *ptep;
	fake_mm_ops.set_pte(fm, ptep, r->value, true);
	if (s2pt_pte_is_counted(r->value) && !s2pt_pte_is_counted(old))
		fake_mm_ops.get_page(fm, ptep);
	fm->record = rec;
}

/* Runs a whole shared map of the same page on another vCPU, once: it
 * completes before our exchange. */
struct map_racer {
	struct fx *f;
	struct s2pt_memcache mc;
	uint64_t ipa, pa;
	unsigned fired;
	int ret;
};

static void map_race(struct fake_mm *fm, s2_pte_t *ptep, void *arg)
{
	struct map_racer *r = arg;
	(void)ptep;
	if (r->fired)
		return;
	r->fired++;
	bool rec = fm->record;
	fm->record = false;
	fm->before_cas = NULL;
	struct s2pt_locked l = s2pt_lock_shared(&r->f->pt);
	r->ret = s2pt_map(l, s2_ipa(r->ipa), P, s2_pa(r->pa), S2PT_PROT_RW, &r->mc);
	s2pt_unlock(l);
	fm->record = rec;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* Exclusive walks store directly: map, relax, mkyoung and mkold never call
 * the exchange (the exclusive path is unchanged). */
static void test_exclusive_never_exchanges(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	fake_mm_clear_log(&f->fm);
	map_exclusive(f, 0, TARGET, S2PT_PROT_R);
	struct s2pt_locked l = s2pt_lock(&f->pt);
	assert_int_equal(s2pt_relax_perms(l, s2_ipa(0), S2PT_PROT_RW), 0);
	bool young = false;
	assert_int_equal(s2pt_mkold(l, s2_ipa(0), P, &young), 0);
	assert_true(young);
	assert_int_equal(s2pt_mkyoung(l, s2_ipa(0), NULL), 0);
	s2pt_unlock(l);
	assert_string_equal(fake_mm_log(&f->fm, "cas"), "");
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* A shared map into an empty tree breaks each empty entry by exchange (the
 * locked marker), then makes it with a plain store-release: one get per
 * make, refcounts right afterwards. */
static void test_shared_map_breaks_by_exchange(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	fake_mm_clear_log(&f->fm);
	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), 0);
	/* Level 1 and 2 get tables, level 3 the page. */
	assert_string_equal(fake_mm_log(&f->fm, "cas,set,get,put"),
			    "cas:locked get set.rel:table cas:locked get set.rel:table "
			    "cas:locked get set.rel:page");
	s2_pte_t pte;
	s2_level_t level;
	assert_int_equal(s2pt_get_leaf(&f->pt, s2_ipa(0), &pte, &level), 0);
	assert_int_equal(level, 3);
	assert_int_equal(s2_pa_get(s2pt_pte_oa(&f->pt.geom, pte)), TARGET);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* An entry changed between the walker's read and its exchange: the exchange
 * fails, the map returns S2_EAGAIN (the fault is retried), and the loser
 * stores, TLBIs and counts nothing: the table holds only the racer's
 * reference. */
static void test_changed_entry_fails_exchange(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, P, TARGET + P, S2PT_PROT_RW);	/* the level-3 table exists */
	s2_pte_t *ptep = ptep_of(f, 0);
	int before = count_of(f, ptep);
	struct store_racer r = {
		.target = ptep,
		.value = s2pt_pte_leaf(&f->pt.geom, 3, s2_pa(TARGET + 8 * P), S2PT_PROT_R, false),
	};
	f->fm.before_cas = store_race;
	f->fm.before_cas_arg = &r;
	topup(f);
	unsigned mc_before = f->mc.nr;
	fake_mm_clear_log(&f->fm);

	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), S2_EAGAIN);
	assert_int_equal(r.fired, 1);
	assert_string_equal(fake_mm_log(&f->fm, ""), "cas-lost");
	assert_true(*ptep == r.value);
	assert_int_equal(count_of(f, ptep), before + 1);
	assert_int_equal(f->mc.nr, mc_before);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	f->fm.before_cas = NULL;
	fx_free(f);
}

/* Its twin: the same map with nobody racing wins the exchange and counts
 * the new entry once. */
static void test_unchanged_entry_wins_exchange(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, P, TARGET + P, S2PT_PROT_RW);
	s2_pte_t *ptep = ptep_of(f, 0);
	int before = count_of(f, ptep);
	fake_mm_clear_log(&f->fm);

	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), 0);
	assert_string_equal(fake_mm_log(&f->fm, "cas,set,get,put"),
			    "cas:locked get set.rel:page");
	assert_int_equal(count_of(f, ptep), before + 1);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* An entry holding the locked marker (another walker between its break and
 * its make) makes a fault's map, relax and mkyoung back off with S2_EAGAIN,
 * touching nothing: no exchange, store, TLBI or refcount change. */
static void test_locked_entry_backs_off(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, P, TARGET + P, S2PT_PROT_RW);
	s2_pte_t *ptep = ptep_of(f, 0);
	f->pt.ops->set_pte(f->pt.ctx, ptep, S2PT_PTE_LOCKED, false);
	int before = count_of(f, ptep);
	fake_mm_clear_log(&f->fm);

	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), S2_EAGAIN);
	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	assert_int_equal(s2pt_relax_perms(l, s2_ipa(0), S2PT_PROT_RW), S2_EAGAIN);
	assert_int_equal(s2pt_mkyoung(l, s2_ipa(0), NULL), S2_EAGAIN);
	s2pt_unlock(l);
	/* relax's local TLBI after an S2_EAGAIN is KVM's too; nothing else. */
	assert_string_equal(fake_mm_log(&f->fm, "cas,set,get,put,tlbi:ipas2e1is,tlbi:vmalls12e1is"),
			    "");
	assert_true(*ptep == S2PT_PTE_LOCKED);
	assert_int_equal(count_of(f, ptep), before);

	/* The other walker's make: refcounts agree again. */
	f->pt.ops->set_pte(f->pt.ctx, ptep, 0, false);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* Outside a fault a locked entry is not a failure: a shared mkold over
 * [locked A, young B, young C) returns 0 and ages B and C. */
static void test_locked_entry_outside_fault_goes_on(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, P, TARGET + P, S2PT_PROT_RW);
	map_exclusive(f, 2 * P, TARGET + 2 * P, S2PT_PROT_RW);
	s2_pte_t *ptep = ptep_of(f, 0);
	f->pt.ops->set_pte(f->pt.ctx, ptep, S2PT_PTE_LOCKED, false);
	fake_mm_clear_log(&f->fm);

	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	bool young = false;
	assert_int_equal(s2pt_mkold(l, s2_ipa(0), 3 * P, &young), 0);
	s2pt_unlock(l);
	assert_true(young);
	/* (fake_mm names a page with AF clear "table".) */
	assert_string_equal(fake_mm_log(&f->fm, "cas"), "cas:table cas:table");
	assert_false(*ptep_of(f, P) & S2PT_PTE_AF);
	assert_false(*ptep_of(f, 2 * P) & S2PT_PTE_AF);
	assert_true(*ptep == S2PT_PTE_LOCKED);
	f->pt.ops->set_pte(f->pt.ctx, ptep, 0, false);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* A lost exchange in a walk outside a fault: mkold skips A (changed under
 * it) without failing and still ages B. */
static void test_lost_exchange_outside_fault_goes_on(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, 0, TARGET, S2PT_PROT_RW);
	map_exclusive(f, P, TARGET + P, S2PT_PROT_RW);
	s2_pte_t *a = ptep_of(f, 0);
	struct store_racer r = { .target = a, .value = *a & ~S2PT_PTE_S2AP_W };
	f->fm.before_cas = store_race;
	f->fm.before_cas_arg = &r;
	fake_mm_clear_log(&f->fm);

	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	assert_int_equal(s2pt_mkold(l, s2_ipa(0), 2 * P, NULL), 0);
	s2pt_unlock(l);
	assert_string_equal(fake_mm_log(&f->fm, "cas"), "cas-lost cas:table");
	assert_true(*a == r.value);	/* the racer's value, AF still set */
	assert_false(*ptep_of(f, P) & S2PT_PTE_AF);
	f->fm.before_cas = NULL;
	fx_free(f);
}

/* A relax that loses its exchange returns S2_EAGAIN and leaves the
 * racer's entry as it found it (no write permission added). */
static void test_lost_relax_returns_eagain(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, 0, TARGET, S2PT_PROT_R);
	s2_pte_t *a = ptep_of(f, 0);
	struct store_racer r = { .target = a, .value = *a & ~S2PT_PTE_AF };
	f->fm.before_cas = store_race;
	f->fm.before_cas_arg = &r;

	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	assert_int_equal(s2pt_relax_perms(l, s2_ipa(0), S2PT_PROT_RW), S2_EAGAIN);
	s2pt_unlock(l);
	assert_true(*a == r.value);
	assert_false(*a & S2PT_PTE_S2AP_W);
	f->fm.before_cas = NULL;
	fx_free(f);
}

/* Two vCPUs fault on the same page of an empty tree: the other one maps it
 * whole between our read and our exchange. We lose at the first entry,
 * return S2_EAGAIN and give the table page back to the memcache; the
 * winner's references are counted once; our retry finds the page mapped. */
static void test_race_winner_counts_once(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	struct map_racer r = { .f = f, .ipa = 0, .pa = TARGET };
	assert_int_equal(s2pt_memcache_topup(&f->pt, &r.mc, s2pt_memcache_min_pages(&f->pt.geom)), 0);
	f->fm.before_cas = map_race;
	f->fm.before_cas_arg = &r;
	topup(f);
	unsigned mc_before = f->mc.nr;
	unsigned racer_mc_before = r.mc.nr;
	fake_mm_clear_log(&f->fm);

	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), S2_EAGAIN);
	assert_int_equal(r.fired, 1);
	assert_int_equal(r.ret, 0);
	/* We popped a table page, lost, and gave it back. */
	assert_string_equal(fake_mm_log(&f->fm, ""), "cas-lost");
	assert_int_equal(f->mc.nr, mc_before);
	assert_int_equal(r.mc.nr, racer_mc_before - 2);	/* level-2 and level-3 tables */
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	s2_pte_t *leaf = ptep_of(f, 0);
	assert_int_equal(count_of(f, leaf), 2);	/* allocation + the one page */

	/* The retry: the page is there with these permissions, nothing to do. */
	fake_mm_clear_log(&f->fm);
	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), S2_EAGAIN);
	assert_string_equal(fake_mm_log(&f->fm, "cas,set,get,put,tlbi"), "");
	assert_int_equal(count_of(f, leaf), 2);
	s2pt_memcache_free(&f->pt, &r.mc);
	fx_free(f);
}

#define SZ_2M (2ull << 20)

/* Pages A and B mapped exclusively (one level-3 table under the level-2
 * entry of [0, 2M)); returns that level-2 entry. */
static s2_pte_t *table_entry_with_two_pages(struct fx *f)
{
	map_exclusive(f, 0, TARGET, S2PT_PROT_RW);
	map_exclusive(f, P, TARGET + P, S2PT_PROT_RW);
	s2_pte_t *l2e = NULL;
	struct s2pt_walker w = { ptep_visitor, &l2e, S2PT_WALK_TABLE_PRE };
	assert_int_equal(s2pt_walk(&f->pt, 0, P, &w), 0);	/* the last pre visit: level 2 */
	assert_true(s2pt_pte_is_table(*l2e, 2));
	return l2e;
}

static int map_block_shared(struct fx *f)
{
	topup(f);
	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	int ret = s2pt_map(l, s2_ipa(0), SZ_2M, s2_pa(TARGET), S2PT_PROT_RW, &f->mc);
	s2pt_unlock(l);
	return ret;
}

/* A shared map of a 2M block over the level-3 table breaks the table entry
 * by exchange (TLBI of the whole VMID), makes the block, then frees the
 * unlinked table: its two pages and its own reference are put. */
static void test_shared_coalesce_wins(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	table_entry_with_two_pages(f);
	topup(f);
	fake_mm_clear_log(&f->fm);
	assert_int_equal(map_block_shared(f), 0);
	assert_string_equal(fake_mm_log(&f->fm, "cas,set,tlbi:vmalls12e1is,get,put,freed"),
			    "cas:locked tlbi:vmalls12e1is put get set.rel:block put put put freed");
	s2_pte_t pte;
	s2_level_t level;
	assert_int_equal(s2pt_get_leaf(&f->pt, s2_ipa(P), &pte, &level), 0);
	assert_int_equal(level, 2);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* Another walker locks the table entry between our read and our exchange:
 * we lose, return S2_EAGAIN, and neither TLBI, put nor free the table
 * (it is the other walker's to free). */
static void test_shared_coalesce_loses_to_locker(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	s2_pte_t *l2e = table_entry_with_two_pages(f);
	s2_pte_t table = *l2e;
	void *l3 = f->pt.ops->phys_to_virt(f->pt.ctx, s2pt_pte_oa(&f->pt.geom, table));
	struct store_racer r = { .target = l2e, .value = S2PT_PTE_LOCKED };
	f->fm.before_cas = store_race;
	f->fm.before_cas_arg = &r;
	topup(f);
	fake_mm_clear_log(&f->fm);

	assert_int_equal(map_block_shared(f), S2_EAGAIN);
	assert_int_equal(r.fired, 1);
	assert_string_equal(fake_mm_log(&f->fm, ""), "cas-lost");
	assert_int_equal(count_of(f, l3), 3);	/* allocation + A + B */
	f->fm.before_cas = NULL;
	/* The other walker puts the table back as it was. */
	f->pt.ops->set_pte(f->pt.ctx, l2e, table, true);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	fx_free(f);
}

/* What a shared witness may not do: operations KVM runs under the write
 * lock, the pre-v6.2 orderings, and a shared walk over ops with no
 * exchange are refused with S2_EINVAL, changing nothing. */
static void test_shared_refusals(void **state)
{
	(void)state;
	struct fx *f = fx_new(S2PT_V_UPSTREAM);
	map_exclusive(f, 0, TARGET, S2PT_PROT_RW);
	s2_pte_t before = *ptep_of(f, 0);
	fake_mm_clear_log(&f->fm);
	struct s2pt_locked l = s2pt_lock_shared(&f->pt);
	assert_int_equal(s2pt_unmap(l, s2_ipa(0), P), S2_EINVAL);
	assert_int_equal(s2pt_wrprotect(l, s2_ipa(0), P), S2_EINVAL);
	assert_int_equal(s2pt_flush(l, s2_ipa(0), P), S2_EINVAL);
	assert_int_equal(s2pt_split(l, s2_ipa(0), P, &f->mc), S2_EINVAL);
	s2pt_unlock(l);
	assert_int_equal(f->fm.n, 0);
	assert_true(*ptep_of(f, 0) == before);

	struct s2pt_mm_ops no_cas = fake_mm_ops;
	no_cas.cmpxchg_pte = NULL;
	f->pt.ops = &no_cas;
	assert_int_equal(map_shared(f, P, TARGET + P, S2PT_PROT_RW), S2_EINVAL);
	f->pt.ops = &fake_mm_ops;
	fx_free(f);

	f = fx_new(S2PT_V_UPSTREAM_2021);
	assert_int_equal(map_shared(f, 0, TARGET, S2PT_PROT_RW), S2_EINVAL);
	assert_int_equal(count_of(f, f->pt.pgd), 1);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exclusive_never_exchanges),
		cmocka_unit_test(test_shared_map_breaks_by_exchange),
		cmocka_unit_test(test_changed_entry_fails_exchange),
		cmocka_unit_test(test_unchanged_entry_wins_exchange),
		cmocka_unit_test(test_locked_entry_backs_off),
		cmocka_unit_test(test_locked_entry_outside_fault_goes_on),
		cmocka_unit_test(test_lost_exchange_outside_fault_goes_on),
		cmocka_unit_test(test_lost_relax_returns_eagain),
		cmocka_unit_test(test_race_winner_counts_once),
		cmocka_unit_test(test_shared_coalesce_wins),
		cmocka_unit_test(test_shared_coalesce_loses_to_locker),
		cmocka_unit_test(test_shared_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
