/* Stage-2 operations through the recording mm-ops (tests/fake_mm): tree
 * shapes after map and unmap, block selection, refcounts, TLB and cache
 * maintenance, attribute changes, split, lookups, errors and destroy.
 *
 * Every test runs for the three correct coalescing orderings (upstream,
 * upstream-2021, install-first), whose behaviour outside coalescing is the
 * same; most also run for four geometries:
 *
 *   4K/40   start level 1, 2 roots   blocks 1G (L1), 2M (L2)
 *   16K/48  start level 1, 2 roots   blocks 32M (L2); no L1 block
 *   64K/42  start level 2, 1 root    blocks 512M (L2); the root holds them
 *   64K/52  start level 1, 1 root    blocks 512M (L2); PA[51:48] in [15:12]
 *
 * In the diagrams B is the level-2 block size of the geometry (2M, 32M,
 * 512M), p the page size, and IPA/PA the test's bases (8B and 16B, so every
 * block of the range is aligned in both spaces).
 *
 * After every operation the refcount of every live table page must be
 * 1 + its counted entries and the pool must have seen no misuse; at the end
 * destroy must give back every page. Expected shapes are checked three ways:
 * s2pt_stats, an independent walk of the raw table memory in this file, and
 * the pool's count of live pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_bits.h"
#include "tests/fake_mm.h"

#define SZ_4K 0x1000ull
#define SZ_2M (2ull << 20)
#define SZ_1G (1ull << 30)

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

struct param {
	enum s2pt_variant v;
	unsigned gs, ipa;
};

struct fx {
	struct fake_mm fm;
	struct s2pt pt;
	struct s2pt_memcache mc;
	struct s2pt_locked l;
	unsigned gs;
	uint64_t page;	/* level-3 size */
	uint64_t blk;	/* level-2 block size */
	uint64_t ipa;	/* test base IPA, 8 blocks */
	uint64_t pa;	/* test base PA, 16 blocks */
	bool fwb;
};

static struct fx *fx_new(enum s2pt_variant v, unsigned gs, unsigned ipa, unsigned flags)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(fake_mm_init(&f->fm, &f->pt, gs, ipa, v, flags), 0);
	f->l = s2pt_lock(&f->pt);
	f->gs = gs;
	f->page = 1ull << gs;
	f->blk = s2pt_granule_size(&f->pt.geom, 2);
	f->ipa = 8 * f->blk;
	f->pa = 16 * f->blk;
	f->fwb = flags & S2PT_INIT_FWB;
	return f;
}

static struct fx *fx_param(void **state, unsigned flags)
{
	const struct param *p = *state;
	return fx_new(p->v, p->gs, p->ipa, flags);
}

static enum s2pt_variant variant_of(void **state)
{
	return ((const struct param *)*state)->v;
}

static void assert_pool_clean(struct fx *f)
{
	const struct s2pool_errors *e = s2pool_errors(f->fm.pool);
	if (e->put_below_zero || e->get_on_freed || e->put_on_freed ||
	    e->double_free || e->bad_address)
		fail_msg("pool misuse: put<0 %lu get-freed %lu put-freed %lu double-free %lu bad-addr %lu",
			 e->put_below_zero, e->get_on_freed, e->put_on_freed,
			 e->double_free, e->bad_address);
}

/* The invariants that hold after every operation. */
static void check(struct fx *f)
{
	assert_int_equal(fake_mm_refcount_mismatches(&f->fm), 0);
	assert_pool_clean(f);
	assert_int_equal(fake_mm_find(&f->fm, "walk-freed", 0), -1);
}

/* Run an operation's result through check(): every call in this file goes
 * through it. */
static int chk(struct fx *f, int ret)
{
	check(f);
	return ret;
}

/* Destroy: every page (tables, roots, memcache) back, no misuse. */
static void fx_done(struct fx *f)
{
	struct s2pool_stats st;
	check(f);
	s2pt_memcache_free(&f->pt, &f->mc);
	s2pt_destroy(f->l);
	assert_null(f->pt.pgd);
	s2pool_stats(f->fm.pool, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.allocs, st.frees);
	assert_pool_clean(f);
	fake_mm_fini(&f->fm);
	test_free(f);
}

static void topup(struct fx *f)
{
	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, S2PT_MEMCACHE_MAX), 0);
}

static int map(struct fx *f, uint64_t ipa, uint64_t size, uint64_t pa, unsigned prot)
{
	topup(f);
	return chk(f, s2pt_map(f->l, s2_ipa(ipa), size, s2_pa(pa), (enum s2pt_prot)prot, &f->mc));
}

static int unmap(struct fx *f, uint64_t ipa, uint64_t size)
{
	return chk(f, s2pt_unmap(f->l, s2_ipa(ipa), size));
}

/* Topped up, then the log cleared: only the operation's own effects. */
static void quiet(struct fx *f)
{
	topup(f);
	fake_mm_clear_log(&f->fm);
}

static unsigned count_tok(struct fx *f, const char *prefix)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->fm.n; i++)
		n += strncmp(f->fm.log[i], prefix, strlen(prefix)) == 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* Shapes                                                              */
/* ------------------------------------------------------------------ */

/* Table pages and valid leaves per level 0..3. */
struct shape {
	unsigned t[4];
	unsigned l[4];
};

static unsigned lshift(const struct fx *f, int level)
{
	return (f->gs - 3) * (unsigned)(3 - level) + f->gs;
}

/* Output address of a raw descriptor, from the Arm layout. */
static uint64_t raw_oa(const struct fx *f, s2_pte_t pte)
{
	uint64_t pa = pte & (s2_bit(48) - 1) & ~(f->page - 1);
	if (f->gs == 16 && f->pt.geom.pa_bits == 52)
		pa |= ((pte >> 12) & 0xf) << 48;
	return pa;
}

typedef void (*leaf_fn)(struct fx *f, uint64_t ipa, int level, s2_pte_t pte, void *arg);

/* Walk the table memory directly, without the walker. */
static void raw_walk(struct fx *f, const s2_pte_t *table, int level, unsigned nr,
		     uint64_t base, struct shape *s, leaf_fn fn, void *arg)
{
	for (unsigned i = 0; i < nr; i++) {
		s2_pte_t pte = table[i];
		uint64_t ipa = base + ((uint64_t)i << lshift(f, level));
		if (!(pte & 1))
			continue;
		if (level < 3 && (pte & 2)) {
			s2_pa_t cpa = s2_pa(raw_oa(f, pte));
			struct s2pool_page *pg = s2pool_page_at(f->fm.pool, cpa);
			assert_non_null(pg);
			if (pg->state != S2POOL_PAGE_LIVE)
				fail_msg("table entry at IPA %#llx L%d points to a freed page",
					 (unsigned long long)ipa, level);
			s->t[level + 1]++;
			raw_walk(f, s2pool_va(f->fm.pool, cpa), level + 1,
				 1u << (f->gs - 3), ipa, s, fn, arg);
		} else {
			s->l[level]++;
			if (fn)
				fn(f, ipa, level, pte, arg);
		}
	}
}

static struct shape raw_shape(struct fx *f, leaf_fn fn, void *arg)
{
	struct shape s = { 0 };
	const struct s2pt_geom *g = &f->pt.geom;
	s.t[g->start_level] = g->nr_roots;
	raw_walk(f, f->pt.pgd, g->start_level, g->nr_roots << (f->gs - 3), 0, &s, fn, arg);
	return s;
}

/* Just the roots. */
static struct shape empty_shape(const struct fx *f)
{
	struct shape s = { 0 };
	s.t[f->pt.geom.start_level] = f->pt.geom.nr_roots;
	return s;
}

/* One table per level from below the start level down to `to`. */
static void add_path(struct shape *s, const struct fx *f, int to)
{
	for (int l = f->pt.geom.start_level + 1; l <= to; l++)
		s->t[l]++;
}

static void assert_shape(struct fx *f, const struct shape *want);

/* Back to just the roots, every other table freed. */
static void assert_empty(struct fx *f)
{
	struct shape s = empty_shape(f);
	assert_shape(f, &s);
}

static unsigned live_tables(struct fx *f)
{
	struct s2pool_stats st;
	s2pool_stats(f->fm.pool, &st);
	return (unsigned)st.live - f->mc.nr;
}

static void fmt_shape(char *buf, size_t n, const struct shape *s)
{
	snprintf(buf, n, "tables[%u %u %u %u] leaves[%u %u %u %u]",
		 s->t[0], s->t[1], s->t[2], s->t[3], s->l[0], s->l[1], s->l[2], s->l[3]);
}

static void assert_shape(struct fx *f, const struct shape *want)
{
	char w[128], g[128];
	struct shape raw = raw_shape(f, NULL, NULL);
	struct s2pt_stats st;
	struct shape stats = { 0 };

	assert_int_equal(chk(f, s2pt_stats(&f->pt, &st)), 0);
	assert_int_equal(st.tables[0], 0);	/* no level -1 */
	assert_int_equal(st.leaves[0], 0);
	for (int l = 0; l < 4; l++) {
		stats.t[l] = st.tables[l + 1];
		stats.l[l] = st.leaves[l + 1];
	}
	fmt_shape(w, sizeof(w), want);
	if (memcmp(&raw, want, sizeof(raw))) {
		fmt_shape(g, sizeof(g), &raw);
		fail_msg("raw tables: want %s, got %s", w, g);
	}
	if (memcmp(&stats, want, sizeof(stats))) {
		fmt_shape(g, sizeof(g), &stats);
		fail_msg("s2pt_stats: want %s, got %s", w, g);
	}
	unsigned sum = 0;
	for (int l = 0; l < 4; l++)
		sum += want->t[l];
	assert_int_equal(live_tables(f), sum);
}

/* ------------------------------------------------------------------ */
/* Leaves                                                              */
/* ------------------------------------------------------------------ */

/* What prot reads back as: device memory is never executable. */
static unsigned norm_prot(unsigned prot)
{
	if (prot & S2PT_PROT_DEVICE)
		prot &= ~(unsigned)(S2PT_PROT_X | S2PT_PROT_NC);
	return prot;
}

static s2_pte_t leaf(struct fx *f, uint64_t ipa, s2_level_t *level)
{
	s2_pte_t pte = 0;
	assert_int_equal(chk(f, s2pt_get_leaf(&f->pt, s2_ipa(ipa), &pte, level)), 0);
	return pte;
}

/* ipa is translated by a leaf at `level` whose output address (its base) is
 * pa, with prot. */
static void assert_leaf(struct fx *f, uint64_t ipa, int level, uint64_t pa, unsigned prot)
{
	s2_level_t lv = -9;
	s2_pte_t pte = leaf(f, ipa, &lv);
	if (!s2pt_pte_is_leaf(pte, lv) || lv != level)
		fail_msg("IPA %#llx: want a leaf at L%d, got pte %#llx at L%d",
			 (unsigned long long)ipa, level, (unsigned long long)pte, lv);
	if (raw_oa(f, pte) != pa)
		fail_msg("IPA %#llx: want OA %#llx, got %#llx", (unsigned long long)ipa,
			 (unsigned long long)pa, (unsigned long long)raw_oa(f, pte));
	assert_int_equal(s2pt_pte_prot(pte, f->fwb), norm_prot(prot));
	assert_true(pte & S2PT_PTE_AF);
}

/* Nothing translates ipa; the walk stopped at `level`. */
static void assert_unmapped(struct fx *f, uint64_t ipa, int level)
{
	s2_level_t lv = -9;
	s2_pte_t pte = leaf(f, ipa, &lv);
	if (s2pt_pte_valid(pte) || lv != level)
		fail_msg("IPA %#llx: want nothing at L%d, got pte %#llx at L%d",
			 (unsigned long long)ipa, level, (unsigned long long)pte, lv);
}

/* The entry for ipa at `level`, found through the raw tables. */
static s2_pte_t *raw_ptep(struct fx *f, uint64_t ipa, int level)
{
	const struct s2pt_geom *g = &f->pt.geom;
	s2_pte_t *table = f->pt.pgd;
	for (int l = g->start_level;; l++) {
		unsigned nr = (l == g->start_level ? g->nr_roots : 1u) << (f->gs - 3);
		s2_pte_t *ptep = &table[(ipa >> lshift(f, l)) & (nr - 1)];
		if (l == level)
			return ptep;
		assert_true((*ptep & 3) == 3);
		table = s2pool_va(f->fm.pool, s2_pa(raw_oa(f, *ptep)));
	}
}

/* What pKVM's set_owner does to an empty entry: an owner id, counted. */
static void inject_owner(struct fx *f, uint64_t ipa, int level, unsigned owner)
{
	s2_pte_t *ptep = raw_ptep(f, ipa, level);
	assert_true(*ptep == 0);
	f->pt.ops->set_pte(f->pt.ctx, ptep, s2pt_pte_owner(owner), false);
	f->pt.ops->get_page(f->pt.ctx, ptep);
	check(f);
}

/* Every leaf of the tree maps ipa -> base_pa + (ipa - base_ipa) at `level`
 * with the attributes (all bits but the address and type) of `attrs`. */
struct linear {
	uint64_t base_ipa, base_pa;
	int level;
	s2_pte_t attrs;
	unsigned seen;
};

static s2_pte_t attr_bits(const struct fx *f, s2_pte_t pte)
{
	s2_pte_t oa = pte & (s2_bit(48) - 1) & ~(f->page - 1);
	if (f->gs == 16 && f->pt.geom.pa_bits == 52)
		oa |= 0xf000;
	return pte & ~oa & ~S2PT_PTE_TYPE;
}

static void check_linear(struct fx *f, uint64_t ipa, int level, s2_pte_t pte, void *arg)
{
	struct linear *lin = arg;
	if (level != lin->level || raw_oa(f, pte) != lin->base_pa + (ipa - lin->base_ipa) ||
	    attr_bits(f, pte) != lin->attrs ||
	    ((pte & S2PT_PTE_TYPE) != 0) != (level == 3))
		fail_msg("leaf IPA %#llx L%d pte %#llx: want L%d OA %#llx attrs %#llx",
			 (unsigned long long)ipa, level, (unsigned long long)pte, lin->level,
			 (unsigned long long)(lin->base_pa + (ipa - lin->base_ipa)),
			 (unsigned long long)lin->attrs);
	lin->seen++;
}

/* ------------------------------------------------------------------ */
/* Map: shapes and block selection                                      */
/* ------------------------------------------------------------------ */

/* A single page in an empty tree: one table per level below the root, one
 * level-3 leaf, its neighbours unmapped at the level where the walk stops.
 *
 *   IPA+3p
 *   |p|        one page -> PA+5p
 */
static void test_map_page_shape(void **state)
{
	struct fx *f = fx_param(state, 0);
	int sl = f->pt.geom.start_level;
	assert_int_equal(map(f, f->ipa + 3 * f->page, f->page, f->pa + 5 * f->page, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = 1;
	assert_shape(f, &want);
	assert_leaf(f, f->ipa + 3 * f->page, 3, f->pa + 5 * f->page, S2PT_PROT_RW);
	/* Same level-3 table, another page. */
	assert_unmapped(f, f->ipa + 4 * f->page, 3);
	/* Another block-sized region: the level-2 entry is empty. */
	assert_unmapped(f, f->ipa + f->blk, 2);
	/* Far away: empty at the start level. */
	uint64_t far = f->ipa + s2pt_granule_size(&f->pt.geom, (s2_level_t)sl) *
				(sl == 2 ? 4 : 1);
	assert_unmapped(f, far, sl);
	fx_done(f);
}

/* A block-aligned range in both spaces gets level-2 blocks, no level-3
 * tables.
 *
 *   IPA        IPA+B       IPA+2B
 *   |=== B ====|=== B =====|          -> PA, PA+B
 */
static void test_map_blocks(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, f->ipa, 2 * f->blk, f->pa, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 2);
	want.l[2] = 2;
	assert_shape(f, &want);
	assert_leaf(f, f->ipa, 2, f->pa, S2PT_PROT_RW);
	assert_leaf(f, f->ipa + f->blk + 7 * f->page, 2, f->pa + f->blk, S2PT_PROT_RW);
	fx_done(f);
}

/* A block in the middle with pages on both ends, as far as alignment allows.
 *
 *   IPA+B-2p    IPA+B                 IPA+2B      IPA+2B+2p
 *       |p|p|   |========= B =========|   |p|p|
 *        level 3       level 2             level 3
 */
static void test_map_block_middle_pages_ends(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	uint64_t start = f->ipa + b - 2 * p, end = f->ipa + 2 * b + 2 * p;
	uint64_t pa = f->pa + b - 2 * p;
	assert_int_equal(map(f, start, end - start, pa, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 2);
	want.t[3] = 2;
	want.l[3] = 4;
	want.l[2] = 1;
	assert_shape(f, &want);
	assert_leaf(f, start, 3, pa, S2PT_PROT_RW);
	assert_leaf(f, start + p, 3, pa + p, S2PT_PROT_RW);
	assert_leaf(f, f->ipa + b + 5 * p, 2, pa + 2 * p, S2PT_PROT_RW);
	assert_leaf(f, f->ipa + 2 * b, 3, pa + 2 * p + b, S2PT_PROT_RW);
	assert_leaf(f, f->ipa + 2 * b + p, 3, pa + 3 * p + b, S2PT_PROT_RW);
	assert_unmapped(f, start - p, 3);
	assert_unmapped(f, end, 3);
	fx_done(f);
}

/* An IPA that is block-aligned over a PA that is not (or the reverse)
 * forces pages: a block cannot translate a misaligned offset.
 *
 *   IPA                 IPA+B
 *   |p|p|p| ... |p|p|p|          -> PA+p ...   (PA not B-aligned)
 */
static void test_map_misaligned_pa_forces_pages(void **state)
{
	struct fx *f = fx_param(state, 0);
	unsigned ptes = s2pt_ptes_per_table(&f->pt.geom);
	assert_int_equal(map(f, f->ipa, f->blk, f->pa + f->page, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = ptes;
	assert_shape(f, &want);
	struct linear lin = { f->ipa, f->pa + f->page, 3,
			      attr_bits(f, leaf(f, f->ipa, NULL)), 0 };
	raw_shape(f, check_linear, &lin);
	assert_int_equal(lin.seen, ptes);
	assert_int_equal(chk(f, s2pt_unmap(f->l, s2_ipa(f->ipa), f->blk)), 0);

	/* IPA misaligned by a page, PA aligned: pages again, two tables. */
	assert_int_equal(map(f, f->ipa + f->page, f->blk, f->pa, S2PT_PROT_RW), 0);
	want = empty_shape(f);
	add_path(&want, f, 3);
	want.t[3]++;
	want.l[3] = ptes;
	assert_shape(f, &want);
	assert_leaf(f, f->ipa + f->blk, 3, f->pa + f->blk - f->page, S2PT_PROT_RW);
	fx_done(f);
}

/* A size that is a block plus a page: the block, then one page; a size that
 * is not a page multiple is rounded up to the page.
 *
 *   IPA           IPA+B
 *   |===== B =====|p|
 */
static void test_map_unaligned_size(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, f->ipa, f->blk + f->page, f->pa, S2PT_PROT_R), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[2] = 1;
	want.l[3] = 1;
	assert_shape(f, &want);
	assert_leaf(f, f->ipa + f->blk, 3, f->pa + f->blk, S2PT_PROT_R);
	assert_unmapped(f, f->ipa + f->blk + f->page, 3);

	/* 100 bytes at IPA+4B map one whole page. */
	assert_int_equal(map(f, f->ipa + 4 * f->blk, 100, f->pa, S2PT_PROT_R), 0);
	assert_leaf(f, f->ipa + 4 * f->blk, 3, f->pa, S2PT_PROT_R);
	assert_unmapped(f, f->ipa + 4 * f->blk + f->page, 3);
	fx_done(f);
}

/* A page mapped over a block (to another PA) breaks the block with a TLBI at
 * level 2 and leaves a table holding just that page: the rest of the block
 * faults back lazily.
 *
 *   IPA                      IPA+B
 *   |=========== B ==========|     block -> PA
 *          |p|                     then IPA+3p -> PA+B+3p
 *   . . . .|p|. . . . . . . .      result: one page, the rest unmapped
 */
static void test_map_page_over_block(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, f->ipa, f->blk, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa + 3 * f->page), f->page,
					 s2_pa(f->pa + f->blk + 3 * f->page), S2PT_PROT_RW, &f->mc)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi"), "tlbi:ipas2e1is@2 tlbi:vmalle1is");
	/* Nothing frees here: the block had no table. */
	assert_int_equal(fake_mm_find(&f->fm, "freed", 0), -1);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = 1;
	assert_shape(f, &want);
	assert_leaf(f, f->ipa + 3 * f->page, 3, f->pa + f->blk + 3 * f->page, S2PT_PROT_RW);
	assert_unmapped(f, f->ipa, 3);
	assert_unmapped(f, f->ipa + f->blk - f->page, 3);
	fx_done(f);
}

/* Pages over pages with a new PA: each replaced page is broken and TLBI'd
 * at level 3; the new ones are simply made.
 *
 *   IPA   +p   +2p  +3p  +4p  +5p
 *   |P0  |P1  |P2  |P3  |              first map -> PA
 *             |Q0  |Q1  |Q2  |Q3  |    second map -> PA+B
 *   |P0  |P1  |Q0  |Q1  |Q2  |Q3  |    result
 */
static void test_map_pages_over_pages(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, q = f->pa + f->blk;
	assert_int_equal(map(f, f->ipa, 4 * p, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa + 2 * p), 4 * p, s2_pa(q),
					 S2PT_PROT_RW, &f->mc)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi:ipas2e1is"),
			    "tlbi:ipas2e1is@3 tlbi:ipas2e1is@3");
	assert_int_equal(count_tok(f, "set.rel:page"), 4);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = 6;
	assert_shape(f, &want);
	assert_leaf(f, f->ipa, 3, f->pa, S2PT_PROT_RW);
	assert_leaf(f, f->ipa + p, 3, f->pa + p, S2PT_PROT_RW);
	for (unsigned i = 0; i < 4; i++)
		assert_leaf(f, f->ipa + (2 + i) * p, 3, q + i * p, S2PT_PROT_RW);
	fx_done(f);
}

/* Blocks over a mixed range: an empty region, a region holding pages (its
 * table coalesced into a block and freed) and a region holding a block to
 * another PA (replaced).
 *
 *   IPA          IPA+B         IPA+2B        IPA+3B
 *   |   empty    |p p  p       |== old B ===|          before
 *   |==== B =====|==== B ======|==== B =====|          after -> PA..PA+3B
 */
static void test_map_blocks_over_mixed(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	assert_int_equal(map(f, f->ipa + b, 2 * p, f->pa + b, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, f->ipa + b + 9 * p, p, f->pa + b + 9 * p, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, f->ipa + 2 * b, b, f->pa + 5 * b, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = 3;
	want.l[2] = 1;
	assert_shape(f, &want);
	assert_int_equal(map(f, f->ipa, 3 * b, f->pa, S2PT_PROT_RW), 0);
	want = empty_shape(f);
	add_path(&want, f, 2);
	want.l[2] = 3;
	assert_shape(f, &want);
	for (unsigned i = 0; i < 3; i++)
		assert_leaf(f, f->ipa + i * b + 9 * p, 2, f->pa + i * b, S2PT_PROT_RW);
	fx_done(f);
}

/* 4K: a 1G range aligned in both spaces is one level-1 block, held by the
 * root itself; aligned to 2M only in PA, it is 512 level-2 blocks.
 *
 *   IPA 1G                        2G
 *   |============ 1G =============|      -> PA 2G        (one L1 block)
 *   IPA 3G                        4G
 *   |==2M==|==2M==| ... |==2M==|         -> PA 4G+2M     (512 L2 blocks)
 */
static void test_map_1g_block(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, SZ_1G, SZ_1G, 2 * SZ_1G, S2PT_PROT_RWX), 0);
	struct shape want = empty_shape(f);
	want.l[1] = 1;
	assert_shape(f, &want);
	assert_leaf(f, SZ_1G + 0x12345000, 1, 2 * SZ_1G, S2PT_PROT_RWX);

	assert_int_equal(map(f, 3 * SZ_1G, SZ_1G, 4 * SZ_1G + SZ_2M, S2PT_PROT_RW), 0);
	want.t[2] = 1;
	want.l[2] = 512;
	assert_shape(f, &want);
	assert_leaf(f, 3 * SZ_1G + 5 * SZ_2M, 2, 4 * SZ_1G + 6 * SZ_2M, S2PT_PROT_RW);

	/* Less than 1G, 1G-aligned both sides: 2M blocks. */
	assert_int_equal(map(f, 5 * SZ_1G, SZ_1G - SZ_2M, 6 * SZ_1G, S2PT_PROT_RW), 0);
	want.t[2]++;
	want.l[2] += 511;
	assert_shape(f, &want);
	fx_done(f);
}

/* 16K and 64K have no level-1 blocks: a range aligned to a level-1 entry
 * (64G, 4T) is a full table of level-2 blocks.
 *
 *   IPA L1              IPA 2*L1
 *   |==B==|==B==| ... |==B==|       -> PA 2*L1 (all L2 blocks)
 */
static void test_map_no_level1_block(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t l1 = s2pt_granule_size(&f->pt.geom, 1);
	assert_int_equal(map(f, l1, l1, 2 * l1, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	want.t[2] = 1;
	want.l[2] = s2pt_ptes_per_table(&f->pt.geom);
	assert_shape(f, &want);
	assert_leaf(f, l1 + 3 * f->blk, 2, 2 * l1 + 3 * f->blk, S2PT_PROT_RW);
	fx_done(f);
}

/* 4K/40 has two concatenated root pages: a range across their boundary at
 * 512G gets a table under each, each root page counting its own entries.
 *
 *   512G-2M        512G          512G+2M
 *   |==== 2M ====|==== 2M ====|          root page 0 | root page 1
 *   511G                      513G
 *   |==== 1G ====|==== 1G ====|          two L1 blocks, one per root page
 */
static void test_map_across_roots(void **state)
{
	struct fx *f = fx_param(state, 0);
	const struct s2pt_geom *g = &f->pt.geom;
	assert_true(g->nr_roots > 1);
	uint64_t edge = (uint64_t)s2pt_ptes_per_table(g) * s2pt_granule_size(g, g->start_level);
	uint64_t b = f->blk;
	assert_int_equal(map(f, edge - b, 2 * b, f->pa, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	want.t[2] = 2;
	want.l[2] = 2;
	assert_shape(f, &want);
	assert_leaf(f, edge - b, 2, f->pa, S2PT_PROT_RW);
	assert_leaf(f, edge, 2, f->pa + b, S2PT_PROT_RW);
	assert_int_equal(s2pt_table_counted_entries(&f->pt, f->pt.pgd), 1);
	assert_int_equal(s2pt_table_counted_entries(&f->pt,
			 f->pt.pgd + s2pt_ptes_per_table(g)), 1);
	assert_int_equal(unmap(f, edge - b, 2 * b), 0);
	assert_empty(f);
	if (s2pt_leaf_allowed_at(g, g->start_level)) {
		uint64_t l1 = s2pt_granule_size(g, g->start_level);
		assert_int_equal(map(f, edge - l1, 2 * l1, 4 * l1, S2PT_PROT_RW), 0);
		want = empty_shape(f);
		want.l[g->start_level] = 2;
		assert_shape(f, &want);
		assert_leaf(f, edge, g->start_level, 5 * l1, S2PT_PROT_RW);
	}
	fx_done(f);
}

/* The CMOs of a new mapping come before it is visible: dcache clean to PoC
 * for cacheable memory (not with FWB), icache invalidate for executable
 * memory, neither for device memory; NC needs no clean. */
static void test_map_cmos(void **state)
{
	for (int fwb = 0; fwb < 2; fwb++) {
		struct fx *f = fx_param(state, fwb ? S2PT_INIT_FWB : 0);
		const char *filt = "dc,ic,set.rel:page,set.rel:block";
		uint64_t p = f->page;
		struct {
			unsigned prot;
			const char *log;
			const char *log_fwb;
		} cases[] = {
			{ S2PT_PROT_RW, "dc.civac set.rel:page", "set.rel:page" },
			{ S2PT_PROT_RWX, "dc.civac ic.ivau set.rel:page", "ic.ivau set.rel:page" },
			{ S2PT_PROT_R | S2PT_PROT_X, "dc.civac ic.ivau set.rel:page", "ic.ivau set.rel:page" },
			{ S2PT_PROT_RW | S2PT_PROT_DEVICE, "set.rel:page", "set.rel:page" },
			{ S2PT_PROT_RW | S2PT_PROT_NC, "set.rel:page", "set.rel:page" },
			{ S2PT_PROT_RWX | S2PT_PROT_NC, "ic.ivau set.rel:page", "ic.ivau set.rel:page" },
		};
		for (unsigned i = 0; i < S2_ARRAY_SIZE(cases); i++) {
			quiet(f);
			assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa + i * p), p,
							 s2_pa(f->pa + i * p), (enum s2pt_prot)cases[i].prot,
							 &f->mc)), 0);
			assert_string_equal(fake_mm_log(&f->fm, filt),
					    fwb ? cases[i].log_fwb : cases[i].log);
			assert_int_equal(f->fm.dc_bytes, strstr(fwb ? cases[i].log_fwb : cases[i].log,
								"dc.civac") ? p : 0);
			assert_leaf(f, f->ipa + i * p, 3, f->pa + i * p, cases[i].prot);
		}
		/* A block is cleaned whole. */
		quiet(f);
		assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa + 2 * f->blk), f->blk,
						 s2_pa(f->pa), S2PT_PROT_RWX, &f->mc)), 0);
		assert_string_equal(fake_mm_log(&f->fm, filt),
				    fwb ? "ic.ivau set.rel:block" : "dc.civac ic.ivau set.rel:block");
		assert_int_equal(f->fm.dc_bytes, fwb ? 0 : f->blk);
		assert_int_equal(f->fm.ic_bytes, f->blk);
		fx_done(f);
	}
}

/* ------------------------------------------------------------------ */
/* Unmap                                                               */
/* ------------------------------------------------------------------ */

/* Unmapping one page among four clears it with a TLBI at level 3 and a
 * clean of that page; the table keeps the others.
 *
 *   IPA  +p   +2p  +3p
 *   |p   |p   |p   |p   |     mapped
 *        |xxxx|               unmapped
 */
static void test_unmap_page_keeps_table(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	assert_int_equal(map(f, f->ipa, 4 * p, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(unmap(f, f->ipa + p, p), 0);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi,dc,freed,put"),
			    "set:0 tlbi:ipas2e1is@3 tlbi:vmalle1is put dc.civac");
	assert_int_equal(f->fm.dc_bytes, p);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = 3;
	assert_shape(f, &want);
	assert_unmapped(f, f->ipa + p, 3);
	assert_leaf(f, f->ipa + 2 * p, 3, f->pa + 2 * p, S2PT_PROT_RW);
	fx_done(f);
}

static void append(char *buf, size_t n, const char *tok)
{
	size_t len = strlen(buf);
	snprintf(buf + len, n - len, "%s%s", len ? " " : "", tok);
}

/* Unmapping the only page frees every table on its path, each after its
 * entry is cleared and TLBI'd at the entry's level, deepest first.
 *
 *   IPA
 *   |p|     mapped, then unmapped: back to just the roots
 */
static void test_unmap_last_page_frees_tables(void **state)
{
	struct fx *f = fx_param(state, 0);
	struct s2pool_stats before, after;
	s2pool_stats(f->fm.pool, &before);
	assert_int_equal(map(f, f->ipa, f->page, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(unmap(f, f->ipa, f->page), 0);
	char want_log[256] = "";
	append(want_log, sizeof(want_log), "tlbi:ipas2e1is@3");
	append(want_log, sizeof(want_log), "dc.civac");
	for (int l = 2; l >= f->pt.geom.start_level; l--) {
		char tok[32];
		snprintf(tok, sizeof(tok), "tlbi:ipas2e1is@%d", l);
		append(want_log, sizeof(want_log), tok);
		append(want_log, sizeof(want_log), "freed");
	}
	assert_string_equal(fake_mm_log(&f->fm, "tlbi:ipas2e1is,dc,freed"), want_log);
	assert_empty(f);
	s2pool_stats(f->fm.pool, &after);
	assert_int_equal(after.live - f->mc.nr, before.live);
	assert_unmapped(f, f->ipa, f->pt.geom.start_level);
	fx_done(f);
}

/* Unmapping one page of a block removes the whole block (KVM: the rest
 * faults back lazily), TLBI'd at the block's level, cleaned whole; the
 * emptied table above it is freed.
 *
 *   IPA                  IPA+B
 *   |========= B ========|     mapped
 *        |x|                  unmap one page
 *   . . . . . . . . . . .      nothing left
 */
static void test_unmap_part_of_block(void **state)
{
	struct fx *f = fx_param(state, 0);
	int sl = f->pt.geom.start_level;
	assert_int_equal(map(f, f->ipa, f->blk, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(unmap(f, f->ipa + 3 * f->page, f->page), 0);
	char want_log[256] = "tlbi:ipas2e1is@2 dc.civac";
	if (sl < 2)
		append(want_log, sizeof(want_log), "tlbi:ipas2e1is@1 freed");
	assert_string_equal(fake_mm_log(&f->fm, "tlbi:ipas2e1is,dc,freed"), want_log);
	assert_int_equal(f->fm.dc_bytes, f->blk);
	assert_empty(f);
	assert_unmapped(f, f->ipa, sl);
	fx_done(f);
}

/* 4K: one page of a 1G block removes the 1G block, TLBI at level 1, 1G
 * cleaned.
 *
 *   1G                                  2G
 *   |=============== 1G ================|
 *              |x|
 */
static void test_unmap_part_of_1g_block(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, SZ_1G, SZ_1G, SZ_1G, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(unmap(f, SZ_1G + 77 * SZ_4K, SZ_4K), 0);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi,dc,freed"),
			    "tlbi:ipas2e1is@1 tlbi:vmalle1is dc.civac");
	assert_int_equal(f->fm.dc_bytes, SZ_1G);
	assert_empty(f);
	fx_done(f);
}

/* A range that takes a page from each end and the block in the middle:
 * the outer pages survive, and so do their tables.
 *
 *   IPA+B-2p    IPA+B                 IPA+2B      IPA+2B+2p
 *       |p|p|   |========= B =========|   |p|p|       mapped
 *         |xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx|         unmapped
 *       |p|                                 |p|       left
 */
static void test_unmap_range_block_and_pages(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	uint64_t start = f->ipa + b - 2 * p, end = f->ipa + 2 * b + 2 * p;
	uint64_t pa = f->pa + b - 2 * p;
	assert_int_equal(map(f, start, end - start, pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(unmap(f, start + p, end - start - 2 * p), 0);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi:ipas2e1is,dc,freed"),
			    "tlbi:ipas2e1is@3 dc.civac tlbi:ipas2e1is@2 dc.civac "
			    "tlbi:ipas2e1is@3 dc.civac");
	assert_int_equal(f->fm.dc_bytes, b + 2 * p);
	struct shape want = empty_shape(f);
	add_path(&want, f, 2);
	want.t[3] = 2;
	want.l[3] = 2;
	assert_shape(f, &want);
	assert_leaf(f, start, 3, pa, S2PT_PROT_RW);
	assert_leaf(f, end - p, 3, pa + (end - start) - p, S2PT_PROT_RW);
	assert_unmapped(f, start + p, 3);
	assert_unmapped(f, f->ipa + b, 2);
	assert_unmapped(f, end - 2 * p, 3);
	fx_done(f);
}

/* No clean to PoC on unmap for device or non-cacheable leaves, nor for any
 * leaf with FWB; the TLBIs are the same.
 *
 *   IPA  +p   +2p
 *   |RW  |dev |NC  |      unmapped together
 */
static void test_unmap_cmo_only_cacheable(void **state)
{
	for (int fwb = 0; fwb < 2; fwb++) {
		struct fx *f = fx_param(state, fwb ? S2PT_INIT_FWB : 0);
		uint64_t p = f->page;
		assert_int_equal(map(f, f->ipa, p, f->pa, S2PT_PROT_RW), 0);
		assert_int_equal(map(f, f->ipa + p, p, f->pa + p, S2PT_PROT_RW | S2PT_PROT_DEVICE), 0);
		assert_int_equal(map(f, f->ipa + 2 * p, p, f->pa + 2 * p, S2PT_PROT_RW | S2PT_PROT_NC), 0);
		quiet(f);
		assert_int_equal(unmap(f, f->ipa, 3 * p), 0);
		assert_int_equal(count_tok(f, "tlbi:ipas2e1is@3"), 3);
		assert_int_equal(count_tok(f, "dc.civac"), fwb ? 0 : 1);
		assert_int_equal(f->fm.dc_bytes, fwb ? 0 : p);
		assert_empty(f);
		fx_done(f);
	}
}

/* Unmapping what was never mapped does nothing at all. */
static void test_unmap_empty_is_noop(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, f->ipa, f->page, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(unmap(f, f->ipa + 4 * f->blk, 3 * f->blk), 0);
	assert_int_equal(unmap(f, f->ipa + f->page, f->page), 0);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");
	fx_done(f);
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */
/* ------------------------------------------------------------------ */

/* wrprotect clears write on every leaf of the range, holes included, keeps
 * read and execute, issues no TLBI or CMO, and stores nothing the second
 * time.
 *
 *   IPA          IPA+B  +p   +2p  +3p  +4p
 *   |==== B =====|p   |p   |    |p   |        B RWX, pages RW, a hole
 *   |xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx|        wrprotect
 */
static void test_wrprotect(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	assert_int_equal(map(f, f->ipa, b, f->pa, S2PT_PROT_RWX), 0);
	assert_int_equal(map(f, f->ipa + b, 2 * p, f->pa + b, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, f->ipa + b + 3 * p, p, f->pa + b + 3 * p, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_wrprotect(f->l, s2_ipa(f->ipa), b + 4 * p)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi,dc,ic,dsb,isb"), "");
	assert_int_equal(count_tok(f, "set"), 4);
	assert_leaf(f, f->ipa, 2, f->pa, S2PT_PROT_R | S2PT_PROT_X);
	assert_leaf(f, f->ipa + b, 3, f->pa + b, S2PT_PROT_R);
	assert_leaf(f, f->ipa + b + p, 3, f->pa + b + p, S2PT_PROT_R);
	assert_leaf(f, f->ipa + b + 3 * p, 3, f->pa + b + 3 * p, S2PT_PROT_R);
	quiet(f);
	assert_int_equal(chk(f, s2pt_wrprotect(f->l, s2_ipa(f->ipa), b + 4 * p)), 0);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");
	fx_done(f);
}

/* relax_perms adds permissions to the leaf and TLBIs that IPA on this CPU
 * only (non-shareable barriers), at the leaf's level, after the store;
 * adding X first invalidates the icache. */
static void test_relax_perms(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	assert_int_equal(map(f, f->ipa, p, f->pa, S2PT_PROT_R), 0);

	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa), S2PT_PROT_W)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi,dsb,isb,ic,dc"),
			    "set:page dsb:nshst tlbi:ipas2e1@3 dsb:nsh tlbi:vmalle1 dsb:nsh isb");
	assert_leaf(f, f->ipa, 3, f->pa, S2PT_PROT_RW);

	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa + 5), S2PT_PROT_X)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi:ipas2e1,ic,dc"),
			    "ic.ivau set:page tlbi:ipas2e1@3");
	assert_int_equal(f->fm.ic_bytes, p);
	assert_leaf(f, f->ipa, 3, f->pa, S2PT_PROT_RWX);

	/* A block: the TLBI carries the block's level; R|W|X at once. */
	assert_int_equal(map(f, f->ipa + 2 * f->blk, f->blk, f->pa, S2PT_PROT_R), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa + 2 * f->blk + 9 * p),
						 S2PT_PROT_RWX)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi:ipas2e1,ic"),
			    "ic.ivau set:block tlbi:ipas2e1@2");
	assert_int_equal(f->fm.ic_bytes, f->blk);
	assert_leaf(f, f->ipa + 2 * f->blk, 2, f->pa, S2PT_PROT_RWX);

	/* Nothing to relax: no store, still the TLBI. */
	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa), S2PT_PROT_RW)), 0);
	assert_string_equal(fake_mm_log(&f->fm, "set,tlbi:ipas2e1,ic"), "tlbi:ipas2e1@3");
	fx_done(f);
}

/* relax_perms on an unmapped IPA finds no leaf (EAGAIN, nothing stored);
 * memory types are not permissions (EINVAL, nothing at all). */
static void test_relax_perms_errors(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, f->ipa, f->page, f->pa, S2PT_PROT_R), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa + f->page), S2PT_PROT_W)),
			 S2_EAGAIN);
	assert_int_equal(count_tok(f, "set"), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa), S2PT_PROT_DEVICE)), S2_EINVAL);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(f->ipa), S2PT_PROT_NC | S2PT_PROT_W)),
			 S2_EINVAL);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");
	assert_leaf(f, f->ipa, 3, f->pa, S2PT_PROT_R);
	fx_done(f);
}

/* relax_perms_at relaxes only a leaf at the fault's level: a block where a
 * page fault was taken (the table coalesced since) is left alone with
 * EAGAIN and no store, still with the TLBI; the same call at the block's
 * level relaxes it. */
static void test_relax_perms_at_level(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	assert_int_equal(map(f, f->ipa, f->blk, f->pa, S2PT_PROT_R), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms_at(f->l, s2_ipa(f->ipa + 3 * p), S2PT_PROT_W, 3)),
			 S2_EAGAIN);
	assert_int_equal(count_tok(f, "set"), 0);
	assert_int_equal(count_tok(f, "tlbi:ipas2e1"), 1);
	assert_leaf(f, f->ipa, 2, f->pa, S2PT_PROT_R);
	quiet(f);
	assert_int_equal(chk(f, s2pt_relax_perms_at(f->l, s2_ipa(f->ipa + 3 * p), S2PT_PROT_W, 2)), 0);
	assert_leaf(f, f->ipa, 2, f->pa, S2PT_PROT_RW);
	fx_done(f);
}

/* Access flag: new mappings are young; test_clear_young reports without
 * changing, mkold clears, mkyoung sets and returns the old entry; never a
 * TLBI or CMO.
 *
 *   IPA  +p   +2p
 *   |p   |    |p   |     two pages, a hole between
 */
static void test_access_flag(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	bool young = false;
	assert_int_equal(map(f, f->ipa, p, f->pa, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, f->ipa + 2 * p, p, f->pa + 2 * p, S2PT_PROT_RW), 0);
	quiet(f);

	assert_int_equal(chk(f, s2pt_test_clear_young(f->l, s2_ipa(f->ipa), 3 * p, false, &young)), 0);
	assert_true(young);
	assert_true(leaf(f, f->ipa, NULL) & S2PT_PTE_AF);
	assert_int_equal(count_tok(f, "set"), 0);

	assert_int_equal(chk(f, s2pt_mkold(f->l, s2_ipa(f->ipa), 3 * p, &young)), 0);
	assert_true(young);
	assert_int_equal(count_tok(f, "set"), 2);
	assert_false(leaf(f, f->ipa, NULL) & S2PT_PTE_AF);
	assert_false(leaf(f, f->ipa + 2 * p, NULL) & S2PT_PTE_AF);

	young = true;
	assert_int_equal(chk(f, s2pt_test_clear_young(f->l, s2_ipa(f->ipa), 3 * p, false, &young)), 0);
	assert_false(young);
	young = true;
	assert_int_equal(chk(f, s2pt_mkold(f->l, s2_ipa(f->ipa), 3 * p, &young)), 0);
	assert_false(young);
	assert_int_equal(count_tok(f, "set"), 2);

	s2_pte_t old = 0;
	s2_pte_t before = leaf(f, f->ipa + 2 * p, NULL);
	assert_int_equal(chk(f, s2pt_mkyoung(f->l, s2_ipa(f->ipa + 2 * p), &old)), 0);
	assert_true(old == before);
	assert_true(leaf(f, f->ipa + 2 * p, NULL) == (before | S2PT_PTE_AF));
	assert_false(leaf(f, f->ipa, NULL) & S2PT_PTE_AF);

	/* An IPA inside the page (the next page being a hole) is that page. */
	assert_int_equal(chk(f, s2pt_mkold(f->l, s2_ipa(f->ipa + 2 * p), p, &young)), 0);
	assert_int_equal(chk(f, s2pt_mkyoung(f->l, s2_ipa(f->ipa + 2 * p + 5), &old)), 0);
	assert_true(leaf(f, f->ipa + 2 * p, NULL) & S2PT_PTE_AF);

	/* test_clear_young with mkold clears just like mkold. */
	assert_int_equal(chk(f, s2pt_test_clear_young(f->l, s2_ipa(f->ipa), 3 * p, true, &young)), 0);
	assert_true(young);
	assert_false(leaf(f, f->ipa + 2 * p, NULL) & S2PT_PTE_AF);

	/* mkyoung of a hole: a fault walk, so EAGAIN and no old entry. */
	old = 123;
	assert_int_equal(chk(f, s2pt_mkyoung(f->l, s2_ipa(f->ipa + p), &old)), S2_EAGAIN);
	assert_true(old == 0);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi,dc,ic,dsb,isb"), "");
	/* Ageing never touched permissions or addresses. */
	s2_pte_t pte = leaf(f, f->ipa, NULL);
	assert_int_equal(s2pt_pte_prot(pte, false), S2PT_PROT_RW);
	assert_true(raw_oa(f, pte) == f->pa);
	fx_done(f);
}

/* flush cleans every cacheable leaf of the range to PoC, whole blocks
 * included, and skips device and NC; with FWB it does nothing.
 *
 *   IPA          IPA+B  +p   +2p  +3p
 *   |==== B =====|RW  |dev |NC  |RWX |
 */
static void test_flush(void **state)
{
	for (int fwb = 0; fwb < 2; fwb++) {
		struct fx *f = fx_param(state, fwb ? S2PT_INIT_FWB : 0);
		uint64_t p = f->page, b = f->blk;
		assert_int_equal(map(f, f->ipa, b, f->pa, S2PT_PROT_RW), 0);
		assert_int_equal(map(f, f->ipa + b, p, f->pa + b, S2PT_PROT_RW), 0);
		assert_int_equal(map(f, f->ipa + b + p, p, f->pa, S2PT_PROT_RW | S2PT_PROT_DEVICE), 0);
		assert_int_equal(map(f, f->ipa + b + 2 * p, p, f->pa, S2PT_PROT_RW | S2PT_PROT_NC), 0);
		assert_int_equal(map(f, f->ipa + b + 3 * p, p, f->pa, S2PT_PROT_RWX), 0);
		quiet(f);
		assert_int_equal(chk(f, s2pt_flush(f->l, s2_ipa(f->ipa), b + 4 * p)), 0);
		if (fwb) {
			assert_string_equal(fake_mm_log(&f->fm, ""), "");
		} else {
			assert_string_equal(fake_mm_log(&f->fm, ""), "dc.civac dc.civac dc.civac");
			assert_int_equal(f->fm.dc_bytes, b + 2 * p);
		}
		fx_done(f);
	}
}

/* ------------------------------------------------------------------ */
/* Split                                                               */
/* ------------------------------------------------------------------ */

/* A block split to pages: one table, fully populated, every page at the
 * block's address plus its offset with the block's attributes; the block
 * is broken with a TLBI at its level. Pages are left alone.
 *
 *   IPA                  IPA+B
 *   |========= B ========|        RW block (XN set)
 *   |p|p|p|p| ...  |p|p|p|        after split
 */
static void test_split_block(void **state)
{
	struct fx *f = fx_param(state, 0);
	unsigned ptes = s2pt_ptes_per_table(&f->pt.geom);
	assert_int_equal(map(f, f->ipa, f->blk, f->pa, S2PT_PROT_RW), 0);
	s2_pte_t block = leaf(f, f->ipa, NULL);
	quiet(f);
	unsigned mc_before = f->mc.nr;
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(f->ipa + f->page), f->page, &f->mc)), 0);
	assert_int_equal(f->mc.nr, mc_before - 1);
	/* One break: TLBI IPA + VMALLE1IS. (A 64K table fills fake_mm's log
	 * with its 2 x 8192 stores and gets before the break: check the level
	 * where the log has room.) */
	assert_int_equal(f->fm.tlbis, 2);
	if (f->fm.n < FAKE_LOG_MAX)
		assert_string_equal(fake_mm_log(&f->fm, "tlbi"), "tlbi:ipas2e1is@2 tlbi:vmalle1is");
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = ptes;
	assert_shape(f, &want);
	struct linear lin = { f->ipa, f->pa, 3, attr_bits(f, block), 0 };
	raw_shape(f, check_linear, &lin);
	assert_int_equal(lin.seen, ptes);
	assert_leaf(f, f->ipa + 7 * f->page, 3, f->pa + 7 * f->page, S2PT_PROT_RW);

	/* Splitting pages changes nothing and takes no page. */
	quiet(f);
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(f->ipa), f->blk, &f->mc)), 0);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");
	fx_done(f);
}

/* 4K: a 1G block splits to 2M blocks, then pages. With a single page in
 * the memcache the split stops (ENOMEM) after the first step with a
 * consistent tree of 512 2M blocks; retries with more pages finish it:
 * 512 tables of 512 pages, addresses and attributes preserved.
 *
 *   1G                                  2G
 *   |=============== 1G ================|        R+X, NC
 *   |=2M=|=2M=| ...             |=2M=|=2M=|       after the first page
 *   |pppp|pppp| ...             |pppp|pppp|       after the retries
 */
static void test_split_1g_enomem_retry(void **state)
{
	struct fx *f = fx_param(state, 0);
	const unsigned prot = S2PT_PROT_R | S2PT_PROT_X | S2PT_PROT_NC;
	assert_int_equal(map(f, SZ_1G, SZ_1G, 3 * SZ_1G, prot), 0);
	s2_pte_t block = leaf(f, SZ_1G, NULL);
	s2pt_memcache_free(&f->pt, &f->mc);

	/* Nothing in the memcache: nothing happens. */
	fake_mm_clear_log(&f->fm);
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(SZ_1G), SZ_1G, &f->mc)), S2_ENOMEM);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");

	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, 1), 0);
	fake_mm_clear_log(&f->fm);
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(SZ_1G), SZ_1G, &f->mc)), S2_ENOMEM);
	assert_string_equal(fake_mm_log(&f->fm, "tlbi:ipas2e1is"), "tlbi:ipas2e1is@1");
	struct shape want = empty_shape(f);
	want.t[2] = 1;
	want.l[2] = 512;
	assert_shape(f, &want);
	struct linear lin = { SZ_1G, 3 * SZ_1G, 2, attr_bits(f, block), 0 };
	raw_shape(f, check_linear, &lin);
	assert_int_equal(lin.seen, 512);

	unsigned rounds = 0;
	int ret;
	do {
		topup(f);
		ret = chk(f, s2pt_split(f->l, s2_ipa(SZ_1G), SZ_1G, &f->mc));
		rounds++;
		assert_true(ret == 0 || ret == S2_ENOMEM);
		assert_true(rounds < 100);
	} while (ret == S2_ENOMEM);
	assert_int_equal(rounds, (512 + S2PT_MEMCACHE_MAX - 1) / S2PT_MEMCACHE_MAX);
	want.t[3] = 512;
	want.l[2] = 0;
	want.l[3] = 512 * 512;
	assert_shape(f, &want);
	lin = (struct linear){ SZ_1G, 3 * SZ_1G, 3, attr_bits(f, block), 0 };
	raw_shape(f, check_linear, &lin);
	assert_int_equal(lin.seen, 512 * 512);
	assert_leaf(f, SZ_1G + 0x3456789a, 3, 3 * SZ_1G + 0x34567000, prot);
	fx_done(f);
}

/* ------------------------------------------------------------------ */
/* Lookups and errors                                                   */
/* ------------------------------------------------------------------ */

/* get_leaf returns the leaf and its level for mapped addresses, and the
 * empty entry where the walk stopped for unmapped ones. */
static void test_get_leaf(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	assert_int_equal(map(f, f->ipa, b, f->pa, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, f->ipa + b + 2 * p, p, f->pa + 9 * p, S2PT_PROT_R), 0);
	s2_level_t lv;
	s2_pte_t pte;
	pte = leaf(f, f->ipa + b - 1, &lv);
	assert_int_equal(lv, 2);
	assert_true(pte == s2pt_pte_leaf(&f->pt.geom, 2, s2_pa(f->pa), S2PT_PROT_RW, false));
	pte = leaf(f, f->ipa + b + 2 * p + 17, &lv);
	assert_int_equal(lv, 3);
	assert_true(pte == s2pt_pte_leaf(&f->pt.geom, 3, s2_pa(f->pa + 9 * p), S2PT_PROT_R, false));
	assert_unmapped(f, f->ipa + b + 3 * p, 3);
	assert_unmapped(f, f->ipa + 2 * b, 2);
	/* NULL outputs are allowed. */
	assert_int_equal(chk(f, s2pt_get_leaf(&f->pt, s2_ipa(f->ipa), NULL, NULL)), 0);
	/* Beyond the IPA space. */
	uint64_t top = s2_bit(f->pt.geom.ipa_bits);
	assert_int_equal(chk(f, s2pt_get_leaf(&f->pt, s2_ipa(top), &pte, &lv)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_get_leaf(&f->pt, s2_ipa(top - 1), &pte, &lv)), 0);
	fx_done(f);
}

/* Every operation refuses a range that is not inside the IPA space, and
 * does nothing to the tables. */
static void test_erange(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t top = s2_bit(f->pt.geom.ipa_bits), p = f->page;
	bool young;
	s2_pte_t old;
	assert_int_equal(map(f, top - p, p, f->pa, S2PT_PROT_RW), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(top), p, s2_pa(f->pa), S2PT_PROT_RW, &f->mc)),
			 S2_ERANGE);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(top - 2 * p), 3 * p, s2_pa(f->pa),
					 S2PT_PROT_RW, &f->mc)), S2_ERANGE);
	assert_int_equal(unmap(f, top - p, 2 * p), S2_ERANGE);
	assert_int_equal(unmap(f, p, UINT64_MAX - 2), S2_ERANGE);	/* wraps */
	assert_int_equal(chk(f, s2pt_wrprotect(f->l, s2_ipa(top - p), 2 * p)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_flush(f->l, s2_ipa(top), p)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(top), p, &f->mc)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_mkold(f->l, s2_ipa(top), p, &young)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_test_clear_young(f->l, s2_ipa(top), p, false, &young)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_mkyoung(f->l, s2_ipa(top), &old)), S2_ERANGE);
	assert_int_equal(chk(f, s2pt_relax_perms(f->l, s2_ipa(top), S2PT_PROT_W)), S2_ERANGE);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");
	assert_leaf(f, top - p, 3, f->pa, S2PT_PROT_RW);
	assert_unmapped(f, top - 2 * p, 3);
	fx_done(f);
}

/* Bad map arguments are refused before anything happens: unaligned PA or
 * IPA, device memory that is executable or non-cacheable, an empty range,
 * an output beyond the PA size. */
static void test_map_einval(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	uint64_t pa_top = s2_bit(f->pt.geom.pa_bits);
	const struct {
		uint64_t ipa, size, pa;
		unsigned prot;
	} bad[] = {
		{ f->ipa, p, f->pa + 0x800, S2PT_PROT_RW },
		{ f->ipa, p, f->pa + p / 2, S2PT_PROT_RW },
		{ f->ipa, p, f->pa + 8, S2PT_PROT_RW },
		{ f->ipa + 0x10, p, f->pa, S2PT_PROT_RW },
		{ f->ipa, p, f->pa, S2PT_PROT_RWX | S2PT_PROT_DEVICE },
		{ f->ipa, p, f->pa, S2PT_PROT_R | S2PT_PROT_X | S2PT_PROT_DEVICE },
		{ f->ipa, p, f->pa, S2PT_PROT_RW | S2PT_PROT_DEVICE | S2PT_PROT_NC },
		{ f->ipa, 0, f->pa, S2PT_PROT_RW },
		{ f->ipa, 2 * p, pa_top - p, S2PT_PROT_RW },
		{ f->ipa, p, pa_top, S2PT_PROT_RW },
	};
	topup(f);
	unsigned mc = f->mc.nr;
	for (unsigned i = 0; i < S2_ARRAY_SIZE(bad); i++) {
		fake_mm_clear_log(&f->fm);
		int ret = chk(f, s2pt_map(f->l, s2_ipa(bad[i].ipa), bad[i].size, s2_pa(bad[i].pa),
					  (enum s2pt_prot)bad[i].prot, &f->mc));
		if (ret != S2_EINVAL)
			fail_msg("case %u: %s", i, s2_err_name(ret));
		assert_string_equal(fake_mm_log(&f->fm, ""), "");
		assert_int_equal(f->mc.nr, mc);
	}
	assert_empty(f);
	/* The last page of the PA space is fine. */
	assert_int_equal(map(f, f->ipa, p, pa_top - p, S2PT_PROT_RW), 0);
	assert_leaf(f, f->ipa, 3, pa_top - p, S2PT_PROT_RW);
	fx_done(f);
}

/* ------------------------------------------------------------------ */
/* Memcache                                                            */
/* ------------------------------------------------------------------ */

/* A page map into an empty tree needs one table per level below the root
 * (KVM's minimum); one fewer gives ENOMEM with the tables it could install
 * empty and consistent and no leaf; topping up finishes the job. A leaf
 * that needs no table needs no page. */
static void test_memcache_min_pages(void **state)
{
	struct fx *f = fx_param(state, 0);
	int sl = f->pt.geom.start_level;
	unsigned need = (unsigned)(3 - sl);
	assert_int_equal(s2pt_memcache_min_pages(&f->pt.geom), need);

	/* Empty memcache: nothing at all happens. */
	fake_mm_clear_log(&f->fm);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), f->page, s2_pa(f->pa),
					 S2PT_PROT_RW, &f->mc)), S2_ENOMEM);
	assert_int_equal(count_tok(f, "set"), 0);
	assert_empty(f);
	assert_unmapped(f, f->ipa, sl);
	/* NULL memcache: the same. */
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), f->page, s2_pa(f->pa),
					 S2PT_PROT_RW, NULL)), S2_ENOMEM);

	/* One short. */
	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, need - 1), 0);
	fake_mm_clear_log(&f->fm);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), f->page, s2_pa(f->pa),
					 S2PT_PROT_RW, &f->mc)), S2_ENOMEM);
	assert_int_equal(f->mc.nr, 0);
	assert_int_equal(count_tok(f, "set.rel:page"), 0);
	struct shape want = empty_shape(f);
	add_path(&want, f, 2);
	assert_shape(f, &want);
	assert_unmapped(f, f->ipa, 2);

	/* Enough: the map completes with the tables already there. */
	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, need), 0);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), f->page, s2_pa(f->pa),
					 S2PT_PROT_RW, &f->mc)), 0);
	assert_int_equal(f->mc.nr, need - 1);
	assert_leaf(f, f->ipa, 3, f->pa, S2PT_PROT_RW);

	/* Exactly `need` pages suffice for a fresh path. */
	s2pt_memcache_free(&f->pt, &f->mc);
	uint64_t far = f->ipa + s2pt_granule_size(&f->pt.geom, (s2_level_t)sl) *
				(sl == 2 ? 2 : 1);
	assert_int_equal(s2pt_memcache_topup(&f->pt, &f->mc, need), 0);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(far), f->page, s2_pa(f->pa),
					 S2PT_PROT_RW, &f->mc)), 0);
	assert_int_equal(f->mc.nr, 0);
	assert_leaf(f, far, 3, f->pa, S2PT_PROT_RW);

	/* A block in the root needs no page at all. */
	if (s2pt_leaf_allowed_at(&f->pt.geom, (s2_level_t)sl)) {
		uint64_t g = s2pt_granule_size(&f->pt.geom, (s2_level_t)sl);
		assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(16 * g), g, s2_pa(2 * g),
						 S2PT_PROT_RW, &f->mc)), 0);
		assert_leaf(f, 16 * g, sl, 2 * g, S2PT_PROT_RW);
	}
	fx_done(f);
}

/* A range needing more tables than the memcache holds stops with ENOMEM
 * part way: what was mapped is whole and correct, the rest is untouched;
 * mapping the rest afterwards completes it.
 *
 *   IPA     +B      +2B             +nB
 *   |ppp...|ppp...|ppp...| ... |ppp...|       PA misaligned by a page:
 *   (one level-3 table per B)                 pages only
 */
static void test_memcache_runs_dry_mid_range(void **state)
{
	struct fx *f = fx_param(state, 0);
	unsigned ptes = s2pt_ptes_per_table(&f->pt.geom);
	unsigned above = (unsigned)(2 - f->pt.geom.start_level);	/* L2 table or none */
	unsigned nblk = S2PT_MEMCACHE_MAX + 2;
	uint64_t pa = f->pa + f->page, size = nblk * f->blk;
	topup(f);
	assert_int_equal(f->mc.nr, S2PT_MEMCACHE_MAX);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), size, s2_pa(pa), S2PT_PROT_RW,
					 &f->mc)), S2_ENOMEM);
	unsigned done = S2PT_MEMCACHE_MAX - above;	/* level-3 tables installed */
	struct shape want = empty_shape(f);
	add_path(&want, f, 2);
	want.t[3] = done;
	want.l[3] = done * ptes;
	assert_shape(f, &want);
	struct linear lin = { f->ipa, pa, 3, attr_bits(f, leaf(f, f->ipa, NULL)), 0 };
	raw_shape(f, check_linear, &lin);
	assert_int_equal(lin.seen, done * ptes);
	assert_unmapped(f, f->ipa + done * f->blk, 2);

	uint64_t rest = done * f->blk;
	assert_int_equal(map(f, f->ipa + rest, size - rest, pa + rest, S2PT_PROT_RW), 0);
	want.t[3] = nblk;
	want.l[3] = nblk * ptes;
	assert_shape(f, &want);
	lin.seen = 0;
	raw_shape(f, check_linear, &lin);
	assert_int_equal(lin.seen, nblk * ptes);
	fx_done(f);
}

/* ------------------------------------------------------------------ */
/* The walk and EAGAIN                                                 */
/* ------------------------------------------------------------------ */

struct visit_count {
	unsigned leaves, valid;
	int ret_on_valid;
};

static int count_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct visit_count *c = ctx->arg;
	assert_int_equal(visit, S2PT_WALK_LEAF);
	c->leaves++;
	if (!s2pt_pte_valid(ctx->old))
		return 0;
	c->valid++;
	return c->ret_on_valid;
}

/* A visitor's EAGAIN is ignored outside a fault (the walk goes on and
 * returns 0) and ends a fault walk (returned); any other error ends both.
 *
 *   IPA  +p   +2p  +3p  +4p ... +8p
 *   |p   |    |p   |    |p   |        three pages, holes between
 */
static void test_walk_eagain_rule(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(map(f, f->ipa + 2 * i * p, p, f->pa, S2PT_PROT_RW), 0);

	struct visit_count c = { .ret_on_valid = S2_EAGAIN };
	struct s2pt_walker w = { count_visitor, &c, S2PT_WALK_LEAF };
	assert_int_equal(chk(f, s2pt_walk(&f->pt, f->ipa, 8 * p, &w)), 0);
	assert_int_equal(c.leaves, 8);
	assert_int_equal(c.valid, 3);

	c = (struct visit_count){ .ret_on_valid = S2_EAGAIN };
	w.flags = S2PT_WALK_LEAF | S2PT_WALK_HANDLE_FAULT;
	assert_int_equal(chk(f, s2pt_walk(&f->pt, f->ipa, 8 * p, &w)), S2_EAGAIN);
	assert_int_equal(c.leaves, 1);
	assert_int_equal(c.valid, 1);

	c = (struct visit_count){ .ret_on_valid = S2_ENOENT };
	w.flags = S2PT_WALK_LEAF;
	assert_int_equal(chk(f, s2pt_walk(&f->pt, f->ipa, 8 * p, &w)), S2_ENOENT);
	assert_int_equal(c.leaves, 1);

	/* The walk covers [align_down(addr), page_align(addr + size)). */
	c = (struct visit_count){ 0 };
	assert_int_equal(chk(f, s2pt_walk(&f->pt, f->ipa + 3, 2 * p, &w)), 0);
	assert_int_equal(c.leaves, 3);
	fx_done(f);
}

/* map is a fault path: meeting a leaf that already maps the address (or
 * differs only in permissions) stops it with EAGAIN, leaving the rest of
 * the range unmapped and storing nothing.
 *
 *   IPA  +p
 *   |P0  |         mapped
 *   |P0  |P1  |    mapped again: EAGAIN at IPA, IPA+p stays unmapped
 */
static void test_map_stops_on_eagain(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page;
	assert_int_equal(map(f, f->ipa, p, f->pa, S2PT_PROT_R), 0);
	quiet(f);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), 2 * p, s2_pa(f->pa),
					 S2PT_PROT_R, &f->mc)), S2_EAGAIN);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(f->ipa), 2 * p, s2_pa(f->pa),
					 S2PT_PROT_RWX, &f->mc)), S2_EAGAIN);
	assert_string_equal(fake_mm_log(&f->fm, ""), "");
	assert_leaf(f, f->ipa, 3, f->pa, S2PT_PROT_R);
	assert_unmapped(f, f->ipa + p, 3);
	/* Starting past it maps the page. */
	assert_int_equal(map(f, f->ipa + p, p, f->pa + p, S2PT_PROT_R), 0);
	assert_leaf(f, f->ipa + p, 3, f->pa + p, S2PT_PROT_R);
	fx_done(f);
}

/* ------------------------------------------------------------------ */
/* Destroy and whole-geometry checks                                    */
/* ------------------------------------------------------------------ */

/* Destroy after a mixed history frees every table and root page exactly
 * once, and a second destroy is harmless. */
static void test_destroy_frees_everything(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	const struct s2pt_geom *g = &f->pt.geom;
	uint64_t top = s2_bit(g->ipa_bits);
	assert_int_equal(map(f, f->ipa, 3 * b, f->pa, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, f->ipa + 3 * b + p, 5 * p, f->pa, S2PT_PROT_RWX), 0);
	assert_int_equal(map(f, top - b, b, f->pa, S2PT_PROT_R | S2PT_PROT_DEVICE), 0);
	assert_int_equal(map(f, top - b - 3 * p, p, f->pa, S2PT_PROT_RW), 0);
	assert_int_equal(unmap(f, f->ipa + b, p), 0);
	topup(f);
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(f->ipa), p, &f->mc)), 0);
	struct s2pool_stats st;
	s2pool_stats(f->fm.pool, &st);
	assert_true(st.live > g->nr_roots + f->mc.nr);
	s2pt_memcache_free(&f->pt, &f->mc);
	fake_mm_clear_log(&f->fm);
	s2pt_destroy(f->l);
	s2pool_stats(f->fm.pool, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.allocs, st.frees);
	assert_pool_clean(f);
	/* Destroy gives back references only; it neither stores nor TLBIs. */
	assert_int_equal(count_tok(f, "set"), 0);
	assert_int_equal(count_tok(f, "tlbi"), 0);
	s2pt_destroy(f->l);
	assert_pool_clean(f);
	fx_done(f);
}

/* Every geometry (all granules, all IPA sizes): the first and the last
 * page of the IPA space map through a full path each, the concatenated
 * root counting its entries per page; unmapping both leaves the roots. */
static void test_every_geometry_first_last_page(void **state)
{
	enum s2pt_variant v = variant_of(state);
	static const unsigned gss[] = { 12, 14, 16 };
	for (unsigned gi = 0; gi < 3; gi++) {
		unsigned gs = gss[gi];
		for (unsigned ipa = 32; ipa <= (gs == 16 ? 52u : 48u); ipa++) {
			struct fx *f = fx_new(v, gs, ipa, 0);
			uint64_t p = f->page, top = s2_bit(ipa);
			assert_int_equal(map(f, 0, p, 7 * p, S2PT_PROT_RW), 0);
			assert_int_equal(map(f, top - p, p, 9 * p, S2PT_PROT_RW), 0);
			struct shape want = empty_shape(f);
			for (int l = f->pt.geom.start_level + 1; l <= 3; l++)
				want.t[l] = 2;
			want.l[3] = 2;
			assert_shape(f, &want);
			assert_leaf(f, 0, 3, 7 * p, S2PT_PROT_RW);
			assert_leaf(f, top - 1, 3, 9 * p, S2PT_PROT_RW);
			assert_int_equal(unmap(f, 0, top), 0);
			assert_empty(f);
			fx_done(f);
		}
	}
}

/* 64K with a 52-bit IPA and PA: a block and a page at the top of both
 * spaces, PA[51:48] carried in descriptor bits [15:12]; ERANGE at 2^52.
 *
 *   2^51+64K                                 2^52-512M          2^52
 *   |p|  -> PA 0xa_0000_0001_0000            |====== 512M ======|  -> PA 2^52-512M
 */
static void test_64k_52bit(void **state)
{
	struct fx *f = fx_new(variant_of(state), 16, 52, 0);
	uint64_t top = s2_bit(52), b = f->blk, p = f->page;
	assert_int_equal(f->pt.geom.pa_bits, 52);
	assert_int_equal(map(f, top - b, b, top - b, S2PT_PROT_RW), 0);
	uint64_t pg_pa = 0x000a000000010000ull;
	assert_int_equal(map(f, s2_bit(51) + p, p, pg_pa, S2PT_PROT_R), 0);
	struct shape want = empty_shape(f);
	want.t[2] = 2;
	want.t[3] = 1;
	want.l[2] = 1;
	want.l[3] = 1;
	assert_shape(f, &want);
	assert_leaf(f, top - 1, 2, top - b, S2PT_PROT_RW);
	assert_leaf(f, s2_bit(51) + p, 3, pg_pa, S2PT_PROT_R);
	s2_pte_t pte = leaf(f, s2_bit(51) + p, NULL);
	assert_int_equal((pte >> 12) & 0xf, 0xa);
	assert_true(s2_pa_get(s2pt_pte_oa(&f->pt.geom, pte)) == pg_pa);
	pte = leaf(f, top - b, NULL);
	assert_int_equal((pte >> 12) & 0xf, 0xf);
	assert_int_equal(chk(f, s2pt_map(f->l, s2_ipa(top), p, s2_pa(0), S2PT_PROT_R, &f->mc)),
			 S2_ERANGE);
	topup(f);
	assert_int_equal(chk(f, s2pt_split(f->l, s2_ipa(top - b), p, &f->mc)), 0);
	want.t[3] = 2;
	want.l[2] = 0;
	want.l[3] = 1 + s2pt_ptes_per_table(&f->pt.geom);
	assert_shape(f, &want);
	assert_leaf(f, top - p, 3, top - p, S2PT_PROT_RW);
	assert_int_equal(unmap(f, top - b, b), 0);
	assert_int_equal(unmap(f, s2_bit(51), b), 0);
	assert_empty(f);
	fx_done(f);
}

/* Owner-annotated invalid entries are counted: map over one (page or
 * block) trades its reference for the leaf's, unmap clears and puts it and
 * frees the emptied table, destroy gives it back.
 *
 *   IPA  +p   +2p  +3p        IPA+2B        IPA+3B
 *   |P0  |own5|    |own7|     |==== own9 ===|       before
 *   |P0  |P1  |    |own7|     |===== B =====|       after two maps
 *   . . . . . . . . . . .     |===== B =====|       after unmap [IPA, IPA+B)
 */
static void test_owner_annotations(void **state)
{
	struct fx *f = fx_param(state, 0);
	uint64_t p = f->page, b = f->blk;
	assert_int_equal(map(f, f->ipa, p, f->pa, S2PT_PROT_RW), 0);
	inject_owner(f, f->ipa + p, 3, 5);
	inject_owner(f, f->ipa + 3 * p, 3, 7);
	inject_owner(f, f->ipa + 2 * b, 2, 9);
	s2_level_t lv;
	assert_true(leaf(f, f->ipa + p, &lv) == s2pt_pte_owner(5));
	assert_int_equal(lv, 3);

	assert_int_equal(map(f, f->ipa + p, p, f->pa + p, S2PT_PROT_RW), 0);
	assert_leaf(f, f->ipa + p, 3, f->pa + p, S2PT_PROT_RW);
	assert_int_equal(map(f, f->ipa + 2 * b, b, f->pa + 2 * b, S2PT_PROT_RW), 0);
	assert_leaf(f, f->ipa + 2 * b, 2, f->pa + 2 * b, S2PT_PROT_RW);
	struct shape want = empty_shape(f);
	add_path(&want, f, 3);
	want.l[3] = 2;
	want.l[2] = 1;
	assert_shape(f, &want);

	quiet(f);
	assert_int_equal(unmap(f, f->ipa, b), 0);
	/* Two valid pages TLBI'd, the owner entry just cleared; table freed. */
	assert_int_equal(count_tok(f, "tlbi:ipas2e1is@3"), 2);
	assert_true(*raw_ptep(f, f->ipa + 2 * b, 2) != 0);
	want = empty_shape(f);
	add_path(&want, f, 2);
	want.l[2] = 1;
	assert_shape(f, &want);

	/* Left for destroy. */
	assert_int_equal(map(f, f->ipa, p, f->pa, S2PT_PROT_RW), 0);
	inject_owner(f, f->ipa + 4 * p, 3, 11);
	fx_done(f);
}

/* 4K: a 1G block over a region holding tables two levels deep (pages in
 * two 2M regions, a 2M block in a third) replaces them all; every table
 * under it is freed.
 *
 *   1G     +2M    +4M    +6M                     2G
 *   |pp    |  p   |==2M==|  . . . . . . . . . . . |    before
 *   |====================== 1G ===================|    after
 */
static void test_map_1g_over_tables(void **state)
{
	struct fx *f = fx_param(state, 0);
	assert_int_equal(map(f, SZ_1G, 2 * SZ_4K, SZ_1G, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, SZ_1G + SZ_2M + 9 * SZ_4K, SZ_4K, SZ_1G, S2PT_PROT_RW), 0);
	assert_int_equal(map(f, SZ_1G + 2 * SZ_2M, SZ_2M, 7 * SZ_1G, S2PT_PROT_RW), 0);
	struct shape want = empty_shape(f);
	want.t[2] = 1;
	want.t[3] = 2;
	want.l[2] = 1;
	want.l[3] = 3;
	assert_shape(f, &want);
	assert_int_equal(map(f, SZ_1G, SZ_1G, 2 * SZ_1G, S2PT_PROT_RW), 0);
	want = empty_shape(f);
	want.l[1] = 1;
	assert_shape(f, &want);
	assert_leaf(f, SZ_1G + SZ_2M + 9 * SZ_4K, 1, 2 * SZ_1G, S2PT_PROT_RW);
	fx_done(f);
}

/* ------------------------------------------------------------------ */
/* Registration: each test x variant x geometry                         */
/* ------------------------------------------------------------------ */

/* GOWN: the test chooses its own geometries; run once per variant. */
enum { G4K = 1, G16K = 2, G64K42 = 4, G64K52 = 8, GALL = 15, GOWN = 16 };

static const struct {
	unsigned mask, gs, ipa;
	const char *name;
} geoms[] = {
	{ G4K, 12, 40, "4K/40" },
	{ G16K, 14, 48, "16K/48" },
	{ G64K42, 16, 42, "64K/42" },
	{ G64K52, 16, 52, "64K/52" },
};

static const enum s2pt_variant shared_variants[] = {
	S2PT_V_UPSTREAM, S2PT_V_UPSTREAM_2021, S2PT_V_INSTALL_FIRST,
};

#define T(fn, mask) { #fn, fn, mask }
static const struct {
	const char *name;
	CMUnitTestFunction fn;
	unsigned geoms;
} table[] = {
	T(test_map_page_shape, GALL),
	T(test_map_blocks, GALL),
	T(test_map_block_middle_pages_ends, GALL),
	T(test_map_misaligned_pa_forces_pages, GALL),
	T(test_map_unaligned_size, GALL),
	T(test_map_page_over_block, GALL),
	T(test_map_pages_over_pages, GALL),
	T(test_map_blocks_over_mixed, GALL),
	T(test_map_1g_block, G4K),
	T(test_map_1g_over_tables, G4K),
	T(test_owner_annotations, GALL),
	T(test_map_no_level1_block, G16K | G64K52),
	T(test_map_across_roots, G4K | G16K),
	T(test_map_cmos, GALL),
	T(test_unmap_page_keeps_table, GALL),
	T(test_unmap_last_page_frees_tables, GALL),
	T(test_unmap_part_of_block, GALL),
	T(test_unmap_part_of_1g_block, G4K),
	T(test_unmap_range_block_and_pages, GALL),
	T(test_unmap_cmo_only_cacheable, GALL),
	T(test_unmap_empty_is_noop, GALL),
	T(test_wrprotect, GALL),
	T(test_relax_perms, GALL),
	T(test_relax_perms_errors, G4K),
	T(test_relax_perms_at_level, GALL),
	T(test_access_flag, GALL),
	T(test_flush, GALL),
	T(test_split_block, GALL),
	T(test_split_1g_enomem_retry, G4K),
	T(test_get_leaf, GALL),
	T(test_erange, GALL),
	T(test_map_einval, GALL),
	T(test_memcache_min_pages, GALL),
	T(test_memcache_runs_dry_mid_range, GALL),
	T(test_walk_eagain_rule, G4K),
	T(test_map_stops_on_eagain, GALL),
	T(test_destroy_frees_everything, GALL),
	T(test_every_geometry_first_last_page, GOWN),
	T(test_64k_52bit, GOWN),
};
#undef T

#define MAX_TESTS (S2_ARRAY_SIZE(table) * S2_ARRAY_SIZE(shared_variants) * S2_ARRAY_SIZE(geoms))

int main(void)
{
	static struct CMUnitTest tests[MAX_TESTS];
	static struct param params[MAX_TESTS];
	static char names[MAX_TESTS][96];
	size_t n = 0;

	for (unsigned t = 0; t < S2_ARRAY_SIZE(table); t++)
		for (unsigned v = 0; v < S2_ARRAY_SIZE(shared_variants); v++)
			for (unsigned g = 0; g < S2_ARRAY_SIZE(geoms); g++) {
				bool own = table[t].geoms == GOWN;
				if (own ? g != 0 : !(table[t].geoms & geoms[g].mask))
					continue;
				params[n] = (struct param){ shared_variants[v], geoms[g].gs, geoms[g].ipa };
				snprintf(names[n], sizeof(names[n]), "%s[%s%s%s]", table[t].name,
					 s2pt_variant_name(shared_variants[v]),
					 own ? "" : ",", own ? "" : geoms[g].name);
				tests[n] = (struct CMUnitTest){ names[n], table[t].fn, NULL, NULL,
								&params[n] };
				n++;
			}
	return _cmocka_run_group_tests("walker_ops", tests, n, NULL, NULL);
}
