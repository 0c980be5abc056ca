/* Table-to-block coalescing: the exact effects each variant produces, and
 * the refcount/leak consequences of the buggy ones.
 *
 *   IPA 0x40000000                      0x40200000
 *   |p|p|p|p|p|p|p|p| . . . . . . . . . |           one 2M region, 8 of its
 *    ^ 8 pages mapped at level 3                    4K pages mapped first;
 *   |=============== 2M block ===========|           then the block is mapped
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fake_mm.h"

#define BASE 0x40000000ull
#define SZ_2M (2ull << 20)
#define SZ_4K 4096ull
#define PA_BASE 0x80000000ull

struct fx {
	struct fake_mm fm;
	struct s2pt pt;
	struct s2pt_memcache mc;
};

static struct fx *setup_variant(enum s2pt_variant v)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	assert_int_equal(fake_mm_init(&f->fm, &f->pt, 12, 40, v, 0), 0);
	return f;
}

static void teardown_fx(struct fx *f)
{
	fake_mm_fini(&f->fm);
	test_free(f);
}

static void topup(struct fx *f)
{
	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, 8), 0);
}

/* Map 8 pages of the region, then record only what the block map does. */
static void populate_then_coalesce(struct fx *f)
{
	struct s2pt_locked l = s2pt_lock(&f->pt);
	for (unsigned i = 0; i < 8; i++) {
		topup(f);
		assert_int_equal(s2pt_map(l, s2_ipa(BASE + i * SZ_4K), SZ_4K,
					  s2_pa(PA_BASE + i * SZ_4K), S2PT_PROT_RW, &f->mc), 0);
	}
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	topup(f);
	fake_mm_clear_log(&f->fm);
	assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_2M, s2_pa(PA_BASE),
				  S2PT_PROT_RW, &f->mc), 0);
}

static void assert_block_mapped(struct fx *f)
{
	s2_pte_t pte;
	s2_level_t level;
	assert_int_equal(s2pt_get_leaf(&f->pt, s2_ipa(BASE + 5 * SZ_4K), &pte, &level), 0);
	assert_int_equal(level, 2);
	assert_true(s2pt_pte_is_leaf(pte, level));
	assert_int_equal(s2_pa_get(s2pt_pte_oa(&f->pt.geom, pte)), PA_BASE);
}

static unsigned long live_after_destroy(struct fx *f)
{
	struct s2pool_stats st;
	s2pt_memcache_free(&f->pt, &f->mc);
	s2pt_destroy(s2pt_lock(&f->pt));
	s2pool_stats(f->fm.pool, &st);
	return st.live;
}

/* upstream-2021: clear + TLBI VMID in pre, then puts, frees, and the block
 * installed last through the leaf path with its CMOs. */
static void test_upstream_2021_order(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_UPSTREAM_2021);
	populate_then_coalesce(f);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi,dc,ic,freed"),
			    "set:0 tlbi:vmalls12e1is freed dc.civac set.rel:block");
	/* 8 leaf puts, the table page's own put, the anchor's put, the block's get */
	assert_string_equal(fake_mm_log(&f->fm, "put,get,freed"),
			    "put put put put put put put put put freed put get");
	assert_block_mapped(f);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	assert_int_equal(live_after_destroy(f), 0);
	teardown_fx(f);
}

/* install-first: the block is visible before the old table is freed, CMO
 * first, and no reference moves on the anchor. */
static void test_install_first_order(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_INSTALL_FIRST);
	populate_then_coalesce(f);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi,dc,ic,freed"),
			    "set:0 tlbi:vmalls12e1is dc.civac set.rel:block freed");
	assert_string_equal(fake_mm_log(&f->fm, "put,get,freed"),
			    "put put put put put put put put put freed");
	assert_block_mapped(f);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	assert_int_equal(live_after_destroy(f), 0);
	teardown_fx(f);
}

/* upstream (v6.4+): break with the lock marker, TLBI VMID for a table,
 * put, CMO, get, make; then the unlinked table is freed. */
static void test_upstream_order(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_UPSTREAM);
	populate_then_coalesce(f);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi,dc,ic,freed,get,put"),
			    "set:locked tlbi:vmalls12e1is put dc.civac get set.rel:block "
			    "put put put put put put put put put freed");
	assert_block_mapped(f);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	assert_int_equal(live_after_destroy(f), 0);
	teardown_fx(f);
}

/* install-first-nocmo: same order, but no dcache maintenance at all. */
static void test_install_first_nocmo_skips_cmo(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_INSTALL_FIRST_NOCMO);
	populate_then_coalesce(f);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi,dc,ic,freed"),
			    "set:0 tlbi:vmalls12e1is set.rel:block freed");
	assert_int_equal(f->fm.dc_bytes, 0);
	assert_block_mapped(f);
	teardown_fx(f);
}

/* anchor-leak: the level-2 table keeps a reference too many and is never
 * freed at destroy. */
static void test_anchor_leak_leaks(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_ANCHOR_LEAK);
	populate_then_coalesce(f);
	assert_block_mapped(f);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 1);
	assert_int_equal(live_after_destroy(f), 1);
	teardown_fx(f);
}

/* install-first-anchor-leak: an extra get on the anchor's page. */
static void test_install_first_leak_leaks(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_INSTALL_FIRST_LEAK);
	populate_then_coalesce(f);
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 1);
	assert_int_equal(live_after_destroy(f), 1);
	teardown_fx(f);
}

/* upstream-2021-tlbi-ipa: the merge only invalidates the anchor's IPA. */
static void test_merge_tlbi_ipa_is_single_ipa(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_MERGE_TLBI_IPA);
	populate_then_coalesce(f);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi"), "tlbi:ipas2e1is@2 tlbi:vmalle1is");
	teardown_fx(f);
}

/* upstream-free-leak: the unlinked level-3 table is emptied but never freed. */
static void test_free_leak_leaks(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_FREE_LEAK);
	populate_then_coalesce(f);
	assert_int_equal(fake_mm_find(&f->fm, "freed", 0), -1);
	assert_int_equal(live_after_destroy(f), 1);
	teardown_fx(f);
}

/* upstream-noreload: the walk follows the table pointer it read before the
 * pre visitor freed that table. */
static void test_noreload_walks_freed_table(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_NO_RELOAD);
	struct s2pt_locked l = s2pt_lock(&f->pt);
	topup(f);
	assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_4K, s2_pa(PA_BASE), S2PT_PROT_RW, &f->mc), 0);
	topup(f);
	s2_pte_t pte;
	s2_level_t lv;
	assert_int_equal(s2pt_get_leaf(&f->pt, s2_ipa(BASE), &pte, &lv), 0);
	assert_int_equal(lv, 3);
	fake_mm_clear_log(&f->fm);
	int ret = s2pt_map(l, s2_ipa(BASE), SZ_2M, s2_pa(PA_BASE), S2PT_PROT_RW, &f->mc);
	/* The stale walk meets the freed table's old page entry, which already
	 * maps this address: the fault path stops with EAGAIN. */
	assert_int_equal(ret, S2_EAGAIN);
	int freed = fake_mm_find(&f->fm, "freed", 0);
	assert_true(freed >= 0);
	assert_true(fake_mm_find(&f->fm, "walk-freed", (unsigned)freed) > freed);
	assert_block_mapped(f);
	teardown_fx(f);
}

/* upstream, the fixed twin: the walk re-reads the entry and never descends
 * into the table it just unlinked. */
static void test_upstream_never_walks_freed_table(void **state)
{
	(void)state;
	struct fx *f = setup_variant(S2PT_V_UPSTREAM);
	struct s2pt_locked l = s2pt_lock(&f->pt);
	topup(f);
	assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_4K, s2_pa(PA_BASE), S2PT_PROT_RW, &f->mc), 0);
	topup(f);
	fake_mm_clear_log(&f->fm);
	assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_2M, s2_pa(PA_BASE), S2PT_PROT_RW, &f->mc), 0);
	assert_true(fake_mm_find(&f->fm, "freed", 0) >= 0);
	assert_int_equal(fake_mm_find(&f->fm, "walk-freed", 0), -1);
	assert_block_mapped(f);
	teardown_fx(f);
}

/* A map of the same block twice, or with other permissions only, is EAGAIN
 * and changes nothing (except in upstream-2021-valid-leak, whose bug is to
 * update the leaf in place: test_valid_update_leaks, and
 * upstream-2021-perm-bbm, which remakes it: tests/fuzz_gen_test.c). */
static void test_same_mapping_is_eagain(void **state)
{
	(void)state;
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++) {
		if (v == S2PT_V_VALID_UPDATE_LEAK || v == S2PT_V_PERM_BBM)
			continue;
		struct fx *f = setup_variant((enum s2pt_variant)v);
		struct s2pt_locked l = s2pt_lock(&f->pt);
		topup(f);
		assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_2M, s2_pa(PA_BASE), S2PT_PROT_R, &f->mc), 0);
		fake_mm_clear_log(&f->fm);
		assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_2M, s2_pa(PA_BASE), S2PT_PROT_RW, &f->mc),
				 S2_EAGAIN);
		assert_string_equal(fake_mm_log(&f->fm, ""), "");
		teardown_fx(f);
	}
}

/* The correct variants keep every refcount and free everything, across a
 * split to pages and a coalesce back, repeated. */
static void test_correct_variants_split_coalesce_cycles(void **state)
{
	(void)state;
	const enum s2pt_variant ok[] = { S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST, S2PT_V_UPSTREAM };
	for (unsigned i = 0; i < 3; i++) {
		struct fx *f = setup_variant(ok[i]);
		struct s2pt_locked l = s2pt_lock(&f->pt);
		for (unsigned round = 0; round < 3; round++) {
			topup(f);
			assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_2M, s2_pa(PA_BASE),
						  S2PT_PROT_RW, &f->mc), round ? 0 : 0);
			assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
			topup(f);
			assert_int_equal(s2pt_split(l, s2_ipa(BASE), SZ_2M, &f->mc), 0);
			assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
			s2_pte_t pte;
			s2_level_t lv;
			assert_int_equal(s2pt_get_leaf(&f->pt, s2_ipa(BASE + 17 * SZ_4K), &pte, &lv), 0);
			assert_int_equal(lv, 3);
			assert_int_equal(s2_pa_get(s2pt_pte_oa(&f->pt.geom, pte)), PA_BASE + 17 * SZ_4K);
		}
		assert_int_equal(live_after_destroy(f), 0);
		teardown_fx(f);
	}
}

/* upstream-2021-valid-leak: a map that only adds permissions to a valid
 * page updates it in place and takes a reference as for a new entry, so
 * the table page's count is one too many; upstream-2021 returns EAGAIN
 * and leaves the count right. */
static void test_valid_update_leaks(void **state)
{
	(void)state;
	const enum s2pt_variant vs[] = { S2PT_V_UPSTREAM_2021, S2PT_V_VALID_UPDATE_LEAK };
	for (unsigned i = 0; i < 2; i++) {
		struct fx *f = setup_variant(vs[i]);
		struct s2pt_locked l = s2pt_lock(&f->pt);
		topup(f);
		assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_4K, s2_pa(PA_BASE), S2PT_PROT_R,
					  &f->mc), 0);
		topup(f);
		int ret = s2pt_map(l, s2_ipa(BASE), SZ_4K, s2_pa(PA_BASE), S2PT_PROT_RW, &f->mc);
		assert_int_equal(ret, i ? 0 : S2_EAGAIN);
		assert_int_equal(fake_mm_refcount_mismatches(&f->fm), i ? 1 : 0);
		teardown_fx(f);
	}
}

/* upstream-eagain-stops: a write-protect of a range whose first page is
 * unmapped stops there and leaves the page after it writable; upstream
 * goes on and protects it. */
static void test_eagain_stops_wrprotect(void **state)
{
	(void)state;
	const enum s2pt_variant vs[] = { S2PT_V_UPSTREAM, S2PT_V_EAGAIN_STOPS };
	for (unsigned i = 0; i < 2; i++) {
		struct fx *f = setup_variant(vs[i]);
		struct s2pt_locked l = s2pt_lock(&f->pt);
		s2_pte_t pte;
		topup(f);
		assert_int_equal(s2pt_map(l, s2_ipa(BASE + SZ_4K), SZ_4K, s2_pa(PA_BASE + SZ_4K),
					  S2PT_PROT_RW, &f->mc), 0);
		assert_int_equal(s2pt_wrprotect(l, s2_ipa(BASE), 2 * SZ_4K), i ? S2_EAGAIN : 0);
		assert_int_equal(s2pt_get_leaf(&f->pt, s2_ipa(BASE + SZ_4K), &pte, NULL), 0);
		assert_int_equal((pte & S2PT_PTE_S2AP_W) != 0, i == 1);
		teardown_fx(f);
	}
}

/* upstream-unmap-defer-tlbi: unmapping the only page of a table frees the
 * table before any TLBI (one VMID TLBI comes after the walk); upstream
 * TLBIs the page before the table is freed. */
static void test_unmap_defer_tlbi_frees_first(void **state)
{
	(void)state;
	const enum s2pt_variant vs[] = { S2PT_V_UPSTREAM, S2PT_V_UNMAP_DEFER_TLBI };
	for (unsigned i = 0; i < 2; i++) {
		struct fx *f = setup_variant(vs[i]);
		struct s2pt_locked l = s2pt_lock(&f->pt);
		topup(f);
		assert_int_equal(s2pt_map(l, s2_ipa(BASE), SZ_4K, s2_pa(PA_BASE), S2PT_PROT_RW,
					  &f->mc), 0);
		fake_mm_clear_log(&f->fm);
		assert_int_equal(s2pt_unmap(l, s2_ipa(BASE), SZ_4K), 0);
		int freed = fake_mm_find(&f->fm, "freed", 0);
		int tlbi = fake_mm_find(&f->fm, "tlbi:ipas2e1is@3", 0);
		int vmid = fake_mm_find(&f->fm, "tlbi:vmalls12e1is", 0);
		assert_true(freed >= 0);
		if (i) {
			assert_int_equal(tlbi, -1);
			assert_true(vmid > freed);
		} else {
			assert_true(tlbi >= 0 && tlbi < freed);
		}
		assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
		teardown_fx(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_2021_order),
		cmocka_unit_test(test_install_first_order),
		cmocka_unit_test(test_upstream_order),
		cmocka_unit_test(test_install_first_nocmo_skips_cmo),
		cmocka_unit_test(test_anchor_leak_leaks),
		cmocka_unit_test(test_install_first_leak_leaks),
		cmocka_unit_test(test_merge_tlbi_ipa_is_single_ipa),
		cmocka_unit_test(test_free_leak_leaks),
		cmocka_unit_test(test_noreload_walks_freed_table),
		cmocka_unit_test(test_upstream_never_walks_freed_table),
		cmocka_unit_test(test_same_mapping_is_eagain),
		cmocka_unit_test(test_valid_update_leaks),
		cmocka_unit_test(test_eagain_stops_wrprotect),
		cmocka_unit_test(test_unmap_defer_tlbi_frees_first),
		cmocka_unit_test(test_correct_variants_split_coalesce_cycles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
