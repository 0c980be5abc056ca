/* host_test: the host memory model (host-mm/): counters, faults, GUP and
 * pins, fork, THP, notifiers; each host rule fired and its passing twin;
 * every scenario under every COW policy against the specification's matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_err.h"
#include "host-mm/s2host.h"
#include "host-mm/s2host_scenario.h"

#define K4 S2HOST_PAGE_SIZE
#define M2 S2HOST_THP_SIZE
#define RW (S2HOST_PROT_READ | S2HOST_PROT_WRITE)
#define PIN_LT_W (S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM | S2HOST_FOLL_WRITE)

static struct s2host *mk(enum s2host_policy pol)
{
	struct s2host_config cfg;
	struct s2host *h = NULL;

	s2host_config_init(&cfg, pol);
	cfg.nr_pages = 1024;
	assert_int_equal(s2host_create(&cfg, &h), 0);
	return h;
}

/* A process with [0, size) mapped. */
static int proc(struct s2host *h, uint64_t size, unsigned flags)
{
	int p = s2host_mm_create(h);
	assert_true(p >= 0);
	assert_int_equal(s2host_mmap(h, p, 0, size, flags), 0);
	return p;
}

static struct s2host_pte_view pte(struct s2host *h, int mm, uint64_t hva)
{
	struct s2host_pte_view v;
	assert_int_equal(s2host_lookup(h, mm, hva, &v), 0);
	return v;
}

static struct s2host_page_view page(struct s2host *h, uint64_t pfn)
{
	struct s2host_page_view v;
	assert_int_equal(s2host_page(h, pfn, &v), 0);
	return v;
}

static unsigned fired(struct s2host *h, enum s2host_rule r)
{
	return (unsigned)s2host_stats(h)->violations[r];
}

/* ---- Counters and faults ---------------------------------------------------- */

/* A read of never-written anonymous memory maps the shared zero page
 * read-only; the first write replaces it with a fresh exclusive page. */
static void test_zero_page_then_write(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW);
	uint64_t v = 99;

	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_true(pte(h, p, 0).pfn == S2HOST_ZERO_PFN);
	assert_false(pte(h, p, 0).writable);
	assert_int_equal(s2host_write(h, p, 0, 7), 0);
	struct s2host_pte_view e = pte(h, p, 0);
	assert_true(e.writable && e.dirty);
	assert_true(e.pfn != S2HOST_ZERO_PFN);
	struct s2host_page_view pg = page(h, e.pfn);
	assert_int_equal(pg.refcount, 1);
	assert_int_equal(pg.mapcount, 1);
	assert_true(pg.anon_exclusive);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* A pin on a small folio adds GUP_PIN_COUNTING_BIAS to the refcount; on a
 * large folio it adds 1 and counts in pincount. Both read as maybe pinned,
 * a plain GUP reference does not. */
static void test_pin_bias(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW);
	int q = s2host_mm_create(h);
	struct s2host_gup_result g, pin, big;

	assert_int_equal(s2host_mmap(h, q, 0, M2, RW | S2HOST_MAP_THP), 0);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
	assert_int_equal(page(h, g.pfn).refcount, 2);
	assert_false(page(h, g.pfn).maybe_dma_pinned);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &pin), 0);
	assert_int_equal(page(h, g.pfn).refcount, 2 + S2HOST_PIN_BIAS);
	assert_true(page(h, g.pfn).maybe_dma_pinned);
	assert_true(s2host_mm_has_pinned(h, p));

	assert_int_equal(s2host_write(h, q, K4, 1), 0);
	assert_true(pte(h, q, K4).huge);
	assert_int_equal(s2host_gup(h, q, K4, PIN_LT_W, &big), 0);
	assert_true(big.huge && big.writable);
	struct s2host_page_view pg = page(h, big.pfn);
	assert_true(pg.large);
	assert_int_equal(pg.refcount, 2);
	assert_int_equal(pg.pincount, 1);
	assert_true(pg.maybe_dma_pinned);

	assert_int_equal(s2host_unref(h, pin.id), 0);
	assert_int_equal(s2host_unref(h, big.id), 0);
	assert_int_equal(page(h, g.pfn).refcount, 2);
	assert_int_equal(page(h, big.pfn).pincount, 0);
	assert_int_equal(s2host_unref(h, pin.id), S2_ENOENT);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* Fork shares each page read-only (mapcount and refcount 2) and clears
 * AnonExclusive; a PMD is shared whole. */
static void test_fork_shares(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, M2 + K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	uint64_t pfn = pte(h, p, 0).pfn;
	int c = s2host_fork(h, p);
	assert_true(c > p);
	assert_false(pte(h, p, 0).writable);
	assert_false(pte(h, c, 0).writable);
	assert_true(pte(h, c, 0).pfn == pfn);
	assert_int_equal(page(h, pfn).mapcount, 2);
	assert_int_equal(page(h, pfn).refcount, 2);
	assert_false(page(h, pfn).anon_exclusive);
	s2host_destroy(h);

	h = mk(S2HOST_POL_AE);
	p = proc(h, M2, RW | S2HOST_MAP_THP);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	c = s2host_fork(h, p);
	struct s2host_page_view pg = page(h, pte(h, c, 0).pfn);
	assert_true(pte(h, c, 0).huge);
	assert_int_equal(pg.entire_mapcount, 2);
	assert_int_equal(pg.refcount, 2);
	s2host_destroy(h);
}

/* split_huge_pmd keeps the folio: the PMD mapping becomes 512 PTE
 * mappings, one reference each; split_huge_page then makes small folios. */
static void test_thp_split(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, M2, RW | S2HOST_MAP_THP);

	assert_int_equal(s2host_write(h, p, 3 * K4, 5), 0);
	uint64_t pfn = pte(h, p, 3 * K4).pfn;
	assert_int_equal(s2host_split_pmd(h, p, 0), 0);
	struct s2host_page_view pg = page(h, pfn);
	assert_true(pg.large);
	assert_int_equal(pg.entire_mapcount, 0);
	assert_int_equal(pg.mapcount, 1);
	assert_int_equal(pg.refcount, (int)S2HOST_THP_PAGES);
	assert_true(pte(h, p, 3 * K4).writable && !pte(h, p, 3 * K4).huge);
	assert_int_equal(s2host_munmap(h, p, 0, K4), 0);
	assert_int_equal(s2host_split_folio(h, pfn), 0);
	pg = page(h, pfn);
	assert_false(pg.large);
	assert_int_equal(pg.refcount, 1);
	assert_int_equal(pg.value, 5);
	assert_true(page(h, pfn - 3).freed);	/* the unmapped first subpage */
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* khugepaged refuses a range with a GUP reference and collapses it after;
 * the contents move into the new THP. */
static void test_collapse(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_CNT);
	int p = proc(h, M2, RW);
	struct s2host_gup_result g;

	for (uint64_t a = 0; a < M2; a += K4)
		assert_int_equal(s2host_write(h, p, a, a), 0);
	uint64_t old = pte(h, p, 8 * K4).pfn;
	assert_int_equal(s2host_gup(h, p, 8 * K4, 0, &g), 0);
	assert_int_equal(s2host_collapse(h, p, 0), S2_EBUSY);
	assert_int_equal(s2host_unref(h, g.id), 0);
	assert_int_equal(s2host_collapse(h, p, 0), 0);
	assert_true(pte(h, p, 8 * K4).huge);
	assert_int_equal(page(h, pte(h, p, 8 * K4).pfn).value, 8 * K4);
	assert_true(page(h, old).freed);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* Swap-out leaves a page someone else references in the swap cache (one
 * more reference); a read fault maps it back read-only. */
static void test_swap_cache_reference(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, 2 * K4, RW);
	struct s2host_gup_result g;
	uint64_t v;

	assert_int_equal(s2host_write(h, p, 0, 3), 0);
	assert_int_equal(s2host_write(h, p, K4, 4), 0);
	uint64_t alone = pte(h, p, K4).pfn;
	assert_int_equal(s2host_swap_out(h, p, K4), 0);
	assert_true(pte(h, p, K4).swap);
	assert_true(page(h, alone).freed);
	assert_int_equal(s2host_read(h, p, K4, &v), 0);
	assert_int_equal(v, 4);

	assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
	assert_int_equal(s2host_swap_out(h, p, 0), 0);
	struct s2host_page_view pg = page(h, g.pfn);
	assert_true(pg.swapcache && !pg.freed);
	assert_int_equal(pg.refcount, 2);	/* swap cache + GUP */
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_true(pte(h, p, 0).pfn == g.pfn && !pte(h, p, 0).writable);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* S2.3 by era: a pinned page swapped out and faulted back read-only is
 * reused by reuse_swap_page's mapcount + swapcount (the pin does not count,
 * and the reuse takes it out of the swap cache); 5.9's page_count rule
 * copies it; feb889fb40fa keeps it out of the swap cache; under AE a pin
 * taken after that check still stops try_to_unmap. */
static void test_swap_pinned_by_era(void **state)
{
	(void)state;
	struct s2host_gup_result g;
	uint64_t v;

	struct s2host *h = mk(S2HOST_POL_MAP2);
	int p = proc(h, K4, RW);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_swap_out(h, p, 0), 0);
	assert_true(pte(h, p, 0).swap && page(h, g.pfn).swapcache);
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_false(pte(h, p, 0).writable);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_true(pte(h, p, 0).pfn == g.pfn && pte(h, p, 0).writable);
	assert_false(page(h, g.pfn).swapcache);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);

	struct s2host_config cfg;
	s2host_config_init(&cfg, S2HOST_POL_CNT);
	assert_false(cfg.swap_skips_pinned);	/* 5.9-5.10 */
	cfg.nr_pages = 512;
	cfg.swap_skips_pinned = true;	/* 5.11 */
	assert_int_equal(s2host_create(&cfg, &h), 0);
	p = proc(h, K4, RW);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_swap_out(h, p, 0), S2_EBUSY);
	assert_false(page(h, g.pfn).swapcache);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);

	h = mk(S2HOST_POL_AE);
	p = proc(h, K4, RW);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_swap_unmap(h, p, 0), S2_ENOENT);
	assert_int_equal(s2host_swap_add(h, p, 0), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_swap_unmap(h, p, 0), S2_EBUSY);
	assert_true(pte(h, p, 0).pfn == g.pfn && pte(h, p, 0).writable);
	assert_true(page(h, g.pfn).anon_exclusive);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* O_DIRECT (a writable FOLL_GET reference) vs swap-out, S2.3's FOLL_GET
 * variant: h's process writes, takes the reference, is swapped out,
 * faults back read-only and writes again (after a fork of the swapped-out
 * process when fork is set). Returns the violations of get-stable. */
static unsigned get_swap_write(enum s2host_policy pol, bool fork, bool *same_page)
{
	struct s2host *h = mk(pol);
	struct s2host_gup_result g;
	uint64_t v;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, S2HOST_FOLL_WRITE, &g), 0);
	assert_int_equal(s2host_swap_out(h, p, 0), 0);
	assert_true(pte(h, p, 0).swap);
	if (fork)
		assert_true(s2host_fork(h, p) > 0);
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	*same_page = pte(h, p, 0).pfn == g.pfn;
	unsigned n = fired(h, S2HOST_RULE_GET_STABLE);
	assert_int_equal(s2host_nr_violations(h), n);
	s2host_destroy(h);
	return n;
}

/* get-stable fires when the write after swap-in copies the process away
 * from O_DIRECT's page: from 5.9 (page_count) to 5.18, where the pinned
 * check of feb889fb40fa cannot see a FOLL_GET... */
static void test_rule_get_stable_fires(void **state)
{
	(void)state;
	bool same;
	assert_int_equal(get_swap_write(S2HOST_POL_CNT, false, &same), 1);
	assert_false(same);
	assert_int_equal(get_swap_write(S2HOST_POL_CNT2, false, &same), 1);
	assert_false(same);
}

/* ...and not under the mapcount rule (the reference does not count) nor
 * under AE, whose swap PTE keeps PageAnonExclusive (1493a1913e34) so the
 * swap-in maps the page exclusive and the write reuses it; a fork while
 * swapped out clears the bit (the write then copies, which get-stable
 * excuses: FOLL_GET across fork was never reliable). */
static void test_rule_get_stable_passes(void **state)
{
	(void)state;
	bool same;
	assert_int_equal(get_swap_write(S2HOST_POL_MAP2, false, &same), 0);
	assert_true(same);
	assert_int_equal(get_swap_write(S2HOST_POL_AE, false, &same), 0);
	assert_true(same);
	assert_int_equal(get_swap_write(S2HOST_POL_AE, true, &same), 0);
	assert_false(same);
}

/* FOLL_FAST_ONLY never faults: it fails on a read-only PTE for a write. */
static void test_gup_fast_only(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW);
	struct s2host_gup_result g;
	uint64_t v;

	assert_int_equal(s2host_gup(h, p, 0, S2HOST_FOLL_FAST_ONLY, &g), S2_EAGAIN);
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_int_equal(s2host_gup(h, p, 0, S2HOST_FOLL_FAST_ONLY | S2HOST_FOLL_WRITE, &g),
			 S2_EAGAIN);
	assert_int_equal(s2host_gup(h, p, 0, S2HOST_FOLL_FAST_ONLY, &g), 0);
	assert_true(g.pfn == S2HOST_ZERO_PFN && !g.writable);
	assert_int_equal(s2host_gup(h, p, 0, S2HOST_FOLL_WRITE, &g), 0);
	assert_true(g.writable && g.pfn != S2HOST_ZERO_PFN);
	s2host_destroy(h);
}

/* uffd-wp: a write to a protected page is refused (the handler would be
 * told); after unprotect the write fault makes it writable. */
static void test_uffd_wp(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW | S2HOST_MAP_UFFD_WP);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, true), 0);
	assert_true(pte(h, p, 0).uffd_wp && !pte(h, p, 0).writable);
	assert_int_equal(s2host_write(h, p, 0, 2), S2_EAGAIN);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, false), 0);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_true(pte(h, p, 0).writable);
	s2host_destroy(h);
}

/* ---- Notifiers -------------------------------------------------------------- */

struct mn_log {
	unsigned starts, ends, depth, max_depth, young, releases;
	uint64_t start, end;
	enum s2host_mn_event last;
};

static void mn_start(void *arg, int mm, uint64_t start, uint64_t end, enum s2host_mn_event ev)
{
	struct mn_log *l = arg;
	(void)mm;
	l->starts++;
	l->depth++;
	if (l->depth > l->max_depth)
		l->max_depth = l->depth;
	l->start = start;
	l->end = end;
	l->last = ev;
}

static void mn_end(void *arg, int mm, uint64_t start, uint64_t end, enum s2host_mn_event ev)
{
	struct mn_log *l = arg;
	(void)mm;
	(void)start;
	(void)end;
	(void)ev;
	l->ends++;
	l->depth--;
}

static bool mn_young(void *arg, int mm, uint64_t start, uint64_t end)
{
	struct mn_log *l = arg;
	(void)mm;
	(void)start;
	(void)end;
	l->young++;
	return true;
}

static void mn_release(void *arg, int mm)
{
	(void)mm;
	((struct mn_log *)arg)->releases++;
}

static const struct s2host_notifier mn = { mn_start, mn_end, mn_young, NULL, mn_release };

/* Every unmap and every replacement is bracketed by invalidate start and
 * end over the page; aging asks the secondary MMU; exit releases. */
static void test_notifier_brackets(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, 4 * K4, RW);
	struct mn_log l = { 0 };

	assert_int_equal(s2host_notifier_register(h, p, &mn, &l), 0);
	assert_int_equal(s2host_write(h, p, K4, 1), 0);
	assert_int_equal(l.starts, 0);
	int c = s2host_fork(h, p);
	assert_int_equal(l.starts, 1);
	assert_int_equal(l.last, S2HOST_MN_PROTECTION_PAGE);
	assert_int_equal(s2host_write(h, p, K4, 2), 0);	/* COW copy */
	assert_int_equal(l.starts, 2);
	assert_int_equal(l.last, S2HOST_MN_CLEAR);
	assert_true(l.start == K4 && l.end == 2 * K4);
	assert_int_equal(s2host_migrate(h, p, K4), 0);
	assert_int_equal(l.starts, 3);
	assert_int_equal(s2host_munmap(h, p, K4, K4), 0);
	assert_int_equal(l.last, S2HOST_MN_UNMAP);
	assert_int_equal(l.starts, l.ends);
	assert_int_equal(l.max_depth, 1);
	assert_true(s2host_age(h, p, 0, 4 * K4));
	assert_int_equal(l.young, 1);
	assert_int_equal(s2host_exit(h, p), 0);
	assert_int_equal(l.releases, 1);
	assert_int_equal(l.starts, l.ends);
	(void)c;
	s2host_destroy(h);
}

/* ---- Rules: each fired, each with its passing twin ---------------------- */

/* pin-stable fires when clear_refs + a write copies a pinned page (CNT)... */
static void test_rule_pin_stable_fires(void **state)
{
	(void)state;
	struct s2host_config cfg;
	struct s2host *h;
	struct s2host_gup_result g;

	s2host_config_init(&cfg, S2HOST_POL_CNT);
	cfg.nr_pages = 512;
	assert_int_equal(s2host_create(&cfg, &h), 0);
	int p = proc(h, K4, RW);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_clear_refs(h, p), 0);
	assert_int_equal(fired(h, S2HOST_RULE_PIN_STABLE), 0);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_int_equal(fired(h, S2HOST_RULE_PIN_STABLE), 1);
	assert_true(pte(h, p, 0).pfn != g.pfn);
	s2host_destroy(h);
}

/* ...and not when clear_refs leaves pinned pages alone, nor when the
 * process itself unmaps the pinned address and maps something new. */
static void test_rule_pin_stable_passes(void **state)
{
	(void)state;
	struct s2host_config cfg;
	struct s2host *h;
	struct s2host_gup_result g;

	s2host_config_init(&cfg, S2HOST_POL_CNT);
	cfg.nr_pages = 512;
	cfg.clear_refs_skips_pinned = true;
	assert_int_equal(s2host_create(&cfg, &h), 0);
	int p = proc(h, K4, RW);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_clear_refs(h, p), 0);
	assert_true(pte(h, p, 0).writable);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_int_equal(s2host_munmap(h, p, 0, K4), 0);
	assert_int_equal(s2host_mmap(h, p, 0, K4, RW), 0);
	assert_int_equal(s2host_write(h, p, 0, 3), 0);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* fork-pin fires when fork shares a pinned page (before 5.9)... */
static void test_rule_fork_pin_fires(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_MAP2);
	struct s2host_gup_result g;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	int c = s2host_fork(h, p);
	assert_int_equal(fired(h, S2HOST_RULE_FORK_PIN), 1);
	assert_true(pte(h, c, 0).pfn == g.pfn);
	s2host_destroy(h);
}

/* ...and not when fork copies it for the child at once (5.9+). */
static void test_rule_fork_pin_passes(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_CNT);
	struct s2host_gup_result g;
	uint64_t v;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	int c = s2host_fork(h, p);
	assert_true(pte(h, c, 0).pfn != g.pfn);
	assert_true(pte(h, p, 0).writable);
	assert_int_equal(s2host_read(h, c, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* cow-isolation fires when a child reads, through a GUP reference, a value
 * its parent wrote after the fork (MAP0 reuses the page by mapcount although
 * the child still references it: the vmsplice leak)... */
static void test_rule_cow_isolation_fires(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_MAP0);
	struct s2host_gup_result g;
	uint64_t v;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	int c = s2host_fork(h, p);
	assert_int_equal(s2host_gup(h, c, 0, 0, &g), 0);
	assert_int_equal(s2host_munmap(h, c, 0, K4), 0);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_int_equal(fired(h, S2HOST_RULE_COW_ISOLATION), 0);
	assert_int_equal(s2host_ref_read(h, g.id, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(fired(h, S2HOST_RULE_COW_ISOLATION), 1);
	s2host_destroy(h);
}

/* ...and not for values written before the fork, nor for a process's own
 * writes, nor under a refcount policy where the parent copies. */
static void test_rule_cow_isolation_passes(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_CNT);
	struct s2host_gup_result g;
	uint64_t v;
	int p = proc(h, 2 * K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	int c = s2host_fork(h, p);
	assert_int_equal(s2host_read(h, c, 0, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(s2host_write(h, c, K4, 5), 0);
	assert_int_equal(s2host_read(h, c, K4, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(s2host_gup(h, c, 0, 0, &g), 0);
	assert_int_equal(s2host_munmap(h, c, 0, K4), 0);
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_int_equal(s2host_ref_read(h, g.id, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* "COW goes the other way" under MAP2: the VMM's GUP reference, taken
 * before it forks, sees the child's later write once the VMM's own write
 * copied away and the child's reused the page. INV-COW-NOLEAK covers only
 * what a process obtained after the fork (FOLL_GET across fork was never
 * reliable): not a cow-isolation. The same reference taken after the fork
 * is the leak, under MAP2 and not under MAP2+F, whose GUP breaks COW. */
static void test_rule_cow_isolation_prefork_reference(void **state)
{
	(void)state;
	for (int after = 0; after < 2; after++) {
		for (int pol = S2HOST_POL_MAP2; pol <= S2HOST_POL_MAP2F; pol++) {
			struct s2host *h = mk((enum s2host_policy)pol);
			struct s2host_gup_result g;
			uint64_t v;
			int p = proc(h, K4, RW);

			assert_int_equal(s2host_write(h, p, 0, 1), 0);
			if (!after)
				assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
			int c = s2host_fork(h, p);
			if (after)
				assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
			assert_int_equal(s2host_write(h, p, 0, 2), 0);
			assert_int_equal(s2host_write(h, c, 0, 3), 0);
			assert_int_equal(s2host_ref_read(h, g.id, &v), 0);
			bool leak = after && pol == S2HOST_POL_MAP2;
			/* before the fork the reference is on the page the
			 * child reuses, under both policies */
			assert_int_equal(v, after && pol == S2HOST_POL_MAP2F ? 2 : 3);
			assert_int_equal(fired(h, S2HOST_RULE_COW_ISOLATION), leak);
			assert_int_equal(s2host_nr_violations(h), leak);
			s2host_destroy(h);
		}
	}
}

/* rmap-owner fires on Kirill's counterexample under MAP2, not under CNT2. */
static void test_rule_rmap_owner(void **state)
{
	(void)state;
	for (int pol = S2HOST_POL_MAP2; pol <= S2HOST_POL_CNT2; pol += S2HOST_POL_CNT2 - S2HOST_POL_MAP2) {
		struct s2host *h = mk((enum s2host_policy)pol);
		int p = proc(h, M2, RW | S2HOST_MAP_THP);
		assert_int_equal(s2host_write(h, p, 0, 1), 0);
		assert_int_equal(s2host_split_pmd(h, p, 0), 0);
		int c = s2host_fork(h, p);
		assert_int_equal(s2host_munmap(h, c, 0, M2 / 2), 0);
		assert_int_equal(s2host_munmap(h, p, M2 / 2, M2 / 2), 0);
		assert_int_equal(s2host_write(h, c, M2 / 2, 2), 0);
		assert_int_equal(fired(h, S2HOST_RULE_RMAP_OWNER), pol == S2HOST_POL_MAP2);
		s2host_destroy(h);
	}
}

/* refcount fires when a driver drops a reference it never took while the
 * page is still mapped and GUP-referenced (refcount below what holds it)... */
static void test_rule_refcount_fires(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	struct s2host_gup_result g;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
	assert_int_equal(s2host_put_page(h, g.pfn), 0);
	assert_int_equal(fired(h, S2HOST_RULE_REFCOUNT), 1);
	assert_int_equal(fired(h, S2HOST_RULE_USE_AFTER_FREE), 0);
	s2host_destroy(h);
}

/* ...and stays quiet through GUP, pins, fork, COW, split and unmap. */
static void test_rule_refcount_passes(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	struct s2host_gup_result g, q;
	int p = proc(h, M2, RW | S2HOST_MAP_THP);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
	assert_int_equal(s2host_gup(h, p, K4, PIN_LT_W, &q), 0);
	int c = s2host_fork(h, p);
	assert_int_equal(s2host_write(h, c, 0, 2), 0);
	assert_false(pte(h, p, 0).huge);	/* a pinned THP is split at fork */
	assert_int_equal(s2host_unref(h, g.id), 0);
	assert_int_equal(s2host_munmap(h, c, 0, M2), 0);
	assert_int_equal(s2host_unref(h, q.id), 0);
	assert_int_equal(s2host_munmap(h, p, 0, M2), 0);
	assert_int_equal(s2host_check(h), 0);
	assert_int_equal(s2host_nr_violations(h), 0);
	assert_true(s2host_stats(h)->folios_freed >= 2);
	s2host_destroy(h);
}

/* use-after-free fires when extra puts free a mapped page and the process
 * then reads it... */
static void test_rule_use_after_free_fires(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	uint64_t v;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	uint64_t pfn = pte(h, p, 0).pfn;
	assert_int_equal(s2host_put_page(h, pfn), 0);
	assert_true(page(h, pfn).freed);
	assert_int_equal(fired(h, S2HOST_RULE_USE_AFTER_FREE), 1);
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_int_equal(fired(h, S2HOST_RULE_USE_AFTER_FREE), 2);
	s2host_destroy(h);
}

/* ...and not when a GUP reference outlives the unmap: the page is freed
 * only when the last reference goes. */
static void test_rule_use_after_free_passes(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	struct s2host_gup_result g;
	uint64_t v;
	int p = proc(h, K4, RW);

	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, 0, &g), 0);
	assert_int_equal(s2host_munmap(h, p, 0, K4), 0);
	assert_false(page(h, g.pfn).freed);
	assert_int_equal(s2host_ref_read(h, g.id, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(s2host_unref(h, g.id), 0);
	assert_true(page(h, g.pfn).freed);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* S4.4: a forked PMD-mapped THP split by the parent gets PageDoubleMap
 * (4.5-6.1): the child's subpage reads page_mapcount 2 (its PMD and the
 * parent's PTE) through the offsets; the child's munmap of its PMD clears
 * the flag and the offsets; refcount and mapcounts stay true throughout. */
static void test_double_map(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_MAP2);
	int p = proc(h, M2, RW | S2HOST_MAP_THP);

	assert_int_equal(s2host_write(h, p, K4, 1), 0);
	int c = s2host_fork(h, p);
	assert_true(c > 0);
	uint64_t pfn = pte(h, c, K4).pfn;
	assert_false(page(h, pfn).double_map);
	assert_int_equal(page(h, pfn).page_mapcount, 2);	/* two PMDs */
	assert_int_equal(s2host_split_pmd(h, p, 0), 0);
	struct s2host_page_view pg = page(h, pfn);
	assert_true(pg.double_map);
	assert_int_equal(pg.entire_mapcount, 1);
	assert_int_equal(pg.mapcount, 1);
	assert_int_equal(pg.page_mapcount, 2);
	assert_int_equal(s2host_munmap(h, c, 0, M2), 0);
	pg = page(h, pfn);
	assert_false(pg.double_map);
	assert_int_equal(pg.page_mapcount, 1);
	/* the parent's write reads page_trans_huge_mapcount 1 and reuses */
	uint64_t reuses = s2host_stats(h)->cow_reuses;
	assert_int_equal(s2host_write(h, p, K4, 2), 0);
	assert_int_equal(s2host_stats(h)->cow_reuses, reuses + 1);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);

	h = mk(S2HOST_POL_MAP0);	/* before 4.5: no PageDoubleMap */
	p = proc(h, M2, RW | S2HOST_MAP_THP);
	assert_int_equal(s2host_write(h, p, K4, 1), 0);
	c = s2host_fork(h, p);
	assert_int_equal(s2host_split_pmd(h, p, 0), 0);
	pg = page(h, pte(h, c, K4).pfn);
	assert_false(pg.double_map);
	assert_int_equal(pg.page_mapcount, 2);
	s2host_destroy(h);
}

/* thp-mapsum fires when a COW decision reads a large folio's mapcount
 * inside a PMD split, between PageDoubleMap and its offsets (4.6-5.7): the
 * child's write reuses the THP the parent still maps... */
static void test_rule_thp_mapsum_fires(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_MAP2);
	char out[256];

	assert_int_equal(s2host_scenario(s2host_scenario_find("s4.4-split-race"))->run(
				 h, out, sizeof(out)), 0);
	assert_int_equal(fired(h, S2HOST_RULE_THP_MAPSUM), 1);
	assert_int_equal(fired(h, S2HOST_RULE_COW_ISOLATION), 1);
	s2host_destroy(h);
}

/* ...and not from 5.8, whose split holds the page lock: the write waits,
 * then reads the settled count and copies. */
static void test_rule_thp_mapsum_passes(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_MAP2F);
	char out[256];

	assert_int_equal(s2host_scenario(s2host_scenario_find("s4.4-split-race"))->run(
				 h, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "waited for the split's page lock"));
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* ---- Shared memory, uffd-wp, fault-around ---------------------------------- */

/* A memfd page written through one process's shared mapping is read
 * through another's; a read fault maps cached neighbours read-only
 * (fault-around) and never fills holes. */
static void test_memfd_shared_and_fault_around(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int fd = s2host_memfd_create(h, 32);
	int p = s2host_mm_create(h), q = s2host_mm_create(h);
	uint64_t v;

	assert_true(fd >= 0);
	assert_int_equal(s2host_mmap_memfd(h, p, 0, 32 * K4, fd, 0, RW), 0);
	assert_int_equal(s2host_mmap_memfd(h, q, 0, 32 * K4, fd, 0, RW), 0);
	assert_int_equal(s2host_write(h, p, 3 * K4, 5), 0);
	assert_int_equal(s2host_write(h, p, 4 * K4, 6), 0);
	assert_int_equal(s2host_read(h, q, 3 * K4, &v), 0);
	assert_int_equal(v, 5);
	struct s2host_pte_view e = pte(h, q, 4 * K4);
	assert_true(e.present && !e.writable);	/* fault-around, read-only */
	assert_false(pte(h, q, 5 * K4).present);	/* a hole stays a hole */
	assert_int_equal(s2host_write(h, q, 4 * K4, 7), 0);	/* wp_page_shared: no copy */
	assert_true(pte(h, q, 4 * K4).pfn == pte(h, p, 4 * K4).pfn);
	assert_int_equal(s2host_read(h, p, 4 * K4, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* uffd-wp, fault-around-uffd and lost-write fire in S5.1 before the fix
 * (the hole punch drops the bit, fault-around maps the page back without
 * it, the write is silent, the truncation discards it)... */
static void test_rules_uffd_fire(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	char out[256];

	assert_int_equal(s2host_scenario(s2host_scenario_find("s5.1-punch-hole-pre-fix"))->run(
				 h, out, sizeof(out)), 0);
	assert_int_equal(fired(h, S2HOST_RULE_FAULT_AROUND), 1);
	assert_int_equal(fired(h, S2HOST_RULE_UFFD_WP), 1);
	assert_int_equal(fired(h, S2HOST_RULE_LOST_WRITE), 1);
	s2host_destroy(h);
}

/* ...and none with markers: the marker keeps uffd-wp across the zap,
 * fault-around stays out, the write reaches the handler; after unprotect
 * it goes through. */
static void test_rules_uffd_pass(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int fd = s2host_memfd_create(h, 16);
	int p = s2host_mm_create(h);
	uint64_t v;

	assert_int_equal(s2host_mmap_memfd(h, p, 0, 16 * K4, fd, 0, RW | S2HOST_MAP_UFFD_WP), 0);
	assert_int_equal(s2host_write(h, p, K4, 1), 0);
	assert_int_equal(s2host_write(h, p, 2 * K4, 2), 0);
	assert_int_equal(s2host_madv_dontneed(h, p, 2 * K4, K4), 0);
	assert_int_equal(s2host_uffd_wp(h, p, K4, K4, true), 0);
	assert_int_equal(s2host_punch_unmap(h, fd, 1, 1), 0);
	assert_true(s2host_uffd_protected(h, p, K4));
	assert_false(pte(h, p, K4).present);
	assert_int_equal(s2host_read(h, p, 2 * K4, &v), 0);
	assert_false(pte(h, p, K4).present);	/* no fault-around here */
	assert_int_equal(s2host_write(h, p, K4, 99), S2_EAGAIN);
	assert_true(pte(h, p, K4).uffd_wp);	/* the marker's fault kept the bit */
	assert_int_equal(s2host_uffd_wp(h, p, K4, K4, false), 0);
	assert_int_equal(s2host_write(h, p, K4, 99), 0);
	assert_int_equal(s2host_punch_truncate(h, fd, 1, 1), 0);
	assert_int_equal(s2host_read(h, p, K4, &v), 0);
	assert_int_equal(v, 0);	/* punched after the write: a plain discard */
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* ---- userfaultfd: missing and minor modes, the ioctls, MADV_REMOVE --------- */

/* MISSING mode on anonymous memory: a read of an empty page asks the
 * monitor instead of mapping the zero page; UFFDIO_COPY installs the page
 * and wakes the fault, which then reads it; a second COPY finds the PTE. */
static void test_uffd_missing_anon(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, 2 * K4, RW | S2HOST_MAP_UFFD_MISSING);
	int q = proc(h, K4, RW);
	struct s2host_uffd_msg msg;
	uint64_t v;

	assert_int_equal(s2host_read(h, p, K4, &v), S2_EAGAIN);
	unsigned id = s2host_uffd_last_msg(h);
	assert_true(id > 0 && s2host_uffd_waiting(h, id));
	assert_int_equal(s2host_write(h, p, K4, 5), S2_EAGAIN);	/* joins the same message */
	assert_int_equal(s2host_uffd_last_msg(h), id);
	assert_int_equal(s2host_uffd_read(h, p, &msg), 0);
	assert_int_equal(msg.id, id);
	assert_int_equal(msg.hva, K4);
	assert_int_equal(msg.kind, S2HOST_UFFD_MISSING);
	assert_int_equal(s2host_uffd_read(h, p, &msg), S2_EAGAIN);	/* read once */
	assert_int_equal(s2host_uffdio_copy(h, p, K4, 42, false), 0);
	assert_false(s2host_uffd_waiting(h, id));
	assert_int_equal(s2host_read(h, p, K4, &v), 0);
	assert_int_equal(v, 42);
	assert_true(pte(h, p, K4).writable && !page(h, pte(h, p, K4).pfn).zero);
	assert_int_equal(s2host_uffdio_copy(h, p, K4, 43, false), S2_EEXIST);
	assert_int_equal(s2host_uffdio_copy(h, q, 0, 1, false), S2_ENOENT);	/* not registered */
	assert_int_equal(s2host_uffdio_copy(h, p, 0, 1, true), S2_EINVAL);	/* WP mode, no WP */
	assert_int_equal(s2host_uffdio_continue(h, p, 0, false), S2_EINVAL);	/* anon */
	assert_int_equal(s2host_uffdio_copy(h, p, 0, 1, false), 0);	/* no fault needed */
	assert_int_equal(s2host_nr_violations(h), 0);
	/* UFFDIO_ZEROPAGE: the zero page, read-only; a write then copies it */
	int z = proc(h, K4, RW | S2HOST_MAP_UFFD_MISSING);
	assert_int_equal(s2host_read(h, z, 0, &v), S2_EAGAIN);
	assert_int_equal(s2host_uffdio_zeropage(h, z, 0), 0);
	assert_true(page(h, pte(h, z, 0).pfn).zero && !pte(h, z, 0).writable);
	assert_int_equal(s2host_uffdio_zeropage(h, z, 0), S2_EEXIST);
	assert_int_equal(s2host_write(h, z, 0, 6), 0);
	assert_false(page(h, pte(h, z, 0).pfn).zero);
	/* exit releases the userfaultfd: nothing waits on it any more */
	int r = proc(h, K4, RW | S2HOST_MAP_UFFD_MISSING);
	assert_int_equal(s2host_read(h, r, 0, &v), S2_EAGAIN);
	id = s2host_uffd_last_msg(h);
	assert_true(s2host_uffd_waiting(h, id));
	assert_int_equal(s2host_exit(h, r), 0);
	assert_false(s2host_uffd_waiting(h, id));
	s2host_destroy(h);
}

/* A memfd in MISSING mode in one process and MINOR mode in another (the
 * postcopy and the shared-memory VMM): a hole faults as missing, COPY
 * fills the file; a cached page not mapped faults as minor, CONTINUE maps
 * the file's own page; MINOR ranges get no fault-around. */
static void test_uffd_memfd_missing_minor(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int fd = s2host_memfd_create(h, 16);
	int p = s2host_mm_create(h), q = s2host_mm_create(h);
	struct s2host_uffd_msg msg;
	uint64_t v;

	assert_int_equal(s2host_mmap_memfd(h, p, 0, 16 * K4, fd, 0, RW | S2HOST_MAP_UFFD_MISSING), 0);
	assert_int_equal(s2host_mmap_memfd(h, q, 0, 16 * K4, fd, 0, RW | S2HOST_MAP_UFFD_MINOR), 0);
	assert_int_equal(s2host_write(h, p, 2 * K4, 1), S2_EAGAIN);
	assert_int_equal(s2host_uffd_read(h, p, &msg), 0);
	assert_int_equal(msg.kind, S2HOST_UFFD_MISSING);
	assert_int_equal(s2host_uffdio_continue(h, p, 2 * K4, false), S2_EFAULT);	/* a hole */
	assert_int_equal(s2host_uffdio_copy(h, p, 2 * K4, 7, false), 0);
	assert_int_equal(s2host_write(h, p, 3 * K4, 8), S2_EAGAIN);
	assert_int_equal(s2host_uffdio_copy(h, p, 3 * K4, 8, false), 0);
	assert_int_equal(s2host_write(h, p, 4 * K4, 1), S2_EAGAIN);
	assert_int_equal(s2host_uffdio_zeropage(h, p, 4 * K4), 0);	/* a zeroed file page */
	assert_int_equal(s2host_read(h, q, 4 * K4, &v), S2_EAGAIN);	/* now minor for q */
	assert_int_equal(s2host_uffdio_continue(h, q, 4 * K4, false), 0);
	assert_int_equal(s2host_write(h, q, 4 * K4, 11), 0);
	assert_int_equal(s2host_read(h, p, 4 * K4, &v), 0);
	assert_int_equal(v, 11);
	/* q: the pages are in the file, not in q's page table */
	assert_int_equal(s2host_read(h, q, 2 * K4, &v), S2_EAGAIN);
	assert_int_equal(s2host_uffd_read(h, q, &msg), 0);
	assert_int_equal(msg.kind, S2HOST_UFFD_MINOR);
	assert_int_equal(s2host_uffdio_copy(h, q, 2 * K4, 9, false), S2_EEXIST);	/* the file has it */
	assert_int_equal(s2host_uffdio_continue(h, q, 2 * K4, false), 0);
	assert_int_equal(s2host_read(h, q, 2 * K4, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pte(h, q, 2 * K4).pfn, pte(h, p, 2 * K4).pfn);
	assert_false(pte(h, q, 3 * K4).present);	/* no fault-around in MINOR mode */
	assert_int_equal(s2host_uffdio_continue(h, q, 2 * K4, false), S2_EEXIST);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* UFFDIO_COPY in write-protect mode resolves a missing fault and leaves
 * the page protected: the next write is a wp message; un-protecting
 * wakes it and the write lands. */
static void test_uffd_copy_wp_and_unprotect_wakes(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW | S2HOST_MAP_UFFD_MISSING | S2HOST_MAP_UFFD_WP);
	struct s2host_uffd_msg msg;
	uint64_t v;

	assert_int_equal(s2host_write(h, p, 0, 1), S2_EAGAIN);
	unsigned id = s2host_uffd_last_msg(h);
	assert_int_equal(s2host_uffd_read(h, p, &msg), 0);
	assert_int_equal(s2host_uffdio_copy(h, p, 0, 5, true), 0);
	assert_false(s2host_uffd_waiting(h, id));	/* the copy woke the missing fault */
	assert_true(s2host_uffd_protected(h, p, 0));
	assert_true(pte(h, p, 0).uffd_wp && !pte(h, p, 0).writable);
	assert_int_equal(s2host_write(h, p, 0, 2), S2_EAGAIN);
	id = s2host_uffd_last_msg(h);
	assert_int_equal(s2host_uffd_read(h, p, &msg), 0);
	assert_int_equal(msg.kind, S2HOST_UFFD_WP);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, false), 0);
	assert_false(s2host_uffd_waiting(h, id));
	assert_int_equal(s2host_write(h, p, 0, 2), 0);
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* MADV_REMOVE punches the file range behind a shared writable mapping,
 * in the same two steps as fallocate; private, read-only and unmapped
 * ranges are refused as madvise_remove() refuses them. */
static void test_madv_remove(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int fd = s2host_memfd_create(h, 8);
	int p = s2host_mm_create(h), q = s2host_mm_create(h);
	struct s2host_punch rest;
	uint64_t v;

	assert_int_equal(s2host_mmap_memfd(h, p, 0, 8 * K4, fd, 0, RW), 0);
	assert_int_equal(s2host_mmap_memfd(h, q, 4 * K4, 4 * K4, fd, 4, S2HOST_PROT_READ), 0);
	assert_int_equal(s2host_mmap(h, q, 0, K4, RW), 0);
	assert_int_equal(s2host_write(h, p, 5 * K4, 3), 0);
	assert_int_equal(s2host_write(h, p, 6 * K4, 4), 0);
	assert_int_equal(s2host_read(h, q, 5 * K4, &v), 0);
	assert_int_equal(s2host_madv_remove(h, q, 0, K4, NULL), S2_EINVAL);	/* private */
	assert_int_equal(s2host_madv_remove(h, q, 5 * K4, K4, NULL), S2_EACCES);	/* read-only */
	assert_int_equal(s2host_madv_remove(h, q, 2 * K4, K4, NULL), S2_ENOMEM);	/* nothing */
	assert_int_equal(s2host_madv_remove(h, p, 5 * K4, K4, &rest), 0);
	assert_int_equal(rest.fd, fd);
	assert_int_equal(rest.off, 5);
	assert_int_equal(rest.npages, 1);
	assert_false(pte(h, p, 5 * K4).present);	/* unmapped in every process */
	assert_false(pte(h, q, 5 * K4).present);
	assert_int_equal(s2host_read(h, q, 5 * K4, &v), 0);	/* the window: still cached */
	assert_int_equal(v, 3);
	assert_int_equal(s2host_punch_truncate(h, rest.fd, rest.off, rest.npages), 0);
	assert_int_equal(s2host_read(h, p, 5 * K4, &v), 0);
	assert_int_equal(v, 0);	/* a new zeroed page */
	assert_int_equal(s2host_madv_remove(h, p, 6 * K4, K4, NULL), 0);	/* both steps */
	assert_int_equal(s2host_read(h, q, 6 * K4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* tlb-before-copy fires when a COW copy starts while another CPU holds a
 * writable TLB entry a deferred uffd-wp flush left (S5.2 under CNT before
 * the 2021 fix). */
static void test_rules_tlb_before_copy_fire(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_CNT);
	char out[256];

	uint64_t v;

	assert_int_equal(s2host_scenario(s2host_scenario_find("s5.2-deferred-flush-pre-fix"))->run(
				 h, out, sizeof(out)), 0);
	assert_int_equal(fired(h, S2HOST_RULE_TLB_BEFORE_COPY), 1);
	assert_int_equal(s2host_nr_violations(h), 1);
	assert_int_equal(s2host_read(h, 0, 0, &v), 0);
	assert_int_equal(v, 2);	/* CPU 2's store in the copy's window is lost */
	s2host_destroy(h);

}

/* ...and stays quiet with the fix (the fault flushes first), when the flush
 * is not deferred, and when the page is reused rather than copied. */
static void test_rules_tlb_before_copy_pass(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_CNT);
	char out[256];
	uint64_t v;

	assert_int_equal(s2host_scenario(s2host_scenario_find("s5.2-deferred-flush"))->run(
				 h, out, sizeof(out)), 0);
	assert_int_equal(s2host_nr_violations(h), 0);
	assert_true(s2host_stats(h)->cow_copies > 0);
	assert_int_equal(s2host_read(h, 0, 0, &v), 0);
	assert_int_equal(v, 3);	/* CPU 2 faulted and wrote the copy */
	s2host_destroy(h);

	h = mk(S2HOST_POL_CNT);
	s2host_set_uffd_wp_flush(h, false);
	int p = proc(h, K4, RW | S2HOST_MAP_UFFD_WP);
	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 1), 0);
	assert_int_equal(s2host_lru_add(h, p, 0), 0);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, true), 0);	/* flushed at once */
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, false), 0);
	assert_int_equal(s2host_cpu_write(h, 1, p, 0, 2), 0);	/* copies */
	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 3), 0);	/* misses, faults */
	assert_int_equal(s2host_cpu_read(h, 1, p, 0, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(s2host_tlb_flush_deferred(h, p), S2_EAGAIN);	/* none pending */
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* Inside a COW copy's window only a store through a CPU's TLB can happen;
 * anything else fails with -EBUSY (it would wait for the page-table lock). */
struct window_ops {
	int p, read, write, copy, tlb;
};

static void window_ops(void *arg, struct s2host *h)
{
	struct window_ops *w = arg;
	uint64_t v;
	w->read = s2host_read(h, w->p, 0, &v);
	w->write = s2host_write(h, w->p, 0, 9);
	w->copy = s2host_uffdio_copy(h, w->p, K4, 9, false);
	w->tlb = s2host_cpu_write(h, 2, w->p, 0, 8);
}

static void test_copy_window(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_CNT);
	int p = proc(h, 2 * K4, RW | S2HOST_MAP_UFFD_WP | S2HOST_MAP_UFFD_MISSING);
	struct window_ops w = { p, 1, 1, 1, 1 };
	uint64_t v;

	s2host_set_uffd_wp_flush(h, false);
	assert_int_equal(s2host_uffdio_copy(h, p, 0, 1, false), 0);
	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 1), 0);	/* a writable entry */
	assert_int_equal(s2host_lru_add(h, p, 0), 0);
	assert_int_equal(s2host_clear_refs(h, p), 0);	/* read-only, flushed */
	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 1), 0);	/* faults: copies, no hook */
	assert_int_equal(s2host_lru_add(h, p, 0), 0);
	assert_int_equal(s2host_uffd_wp_deferred(h, p, 0, K4, true), 0);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, false), 0);
	s2host_set_copy_window(h, window_ops, &w);
	assert_int_equal(s2host_cpu_write(h, 1, p, 0, 5), 0);
	assert_int_equal(w.read, S2_EBUSY);
	assert_int_equal(w.write, S2_EBUSY);
	assert_int_equal(w.copy, S2_EBUSY);
	assert_int_equal(w.tlb, 0);	/* CPU 2's stale entry: allowed, and lost */
	assert_int_equal(s2host_read(h, p, 0, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(fired(h, S2HOST_RULE_TLB_BEFORE_COPY), 1);
	s2host_destroy(h);
}

/* A deferred protect: until its flush (the ioctl's return) a store through
 * an old TLB entry is still legal and the monitor's view is unprotected; a
 * walk already sees the bit; after the flush the CPU faults and waits. */
static void test_uffd_wp_deferred_view(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW | S2HOST_MAP_UFFD_WP);

	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 1), 0);
	assert_int_equal(s2host_uffd_wp_deferred(h, p, 0, K4, true), 0);
	assert_false(s2host_uffd_protected(h, p, 0));
	assert_int_equal(s2host_write(h, p, 0, 2), S2_EAGAIN);	/* a walk sees the bit */
	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 3), 0);	/* the old entry does not */
	assert_int_equal(s2host_tlb_flush_deferred(h, p), 0);
	assert_true(s2host_uffd_protected(h, p, 0));
	assert_int_equal(s2host_cpu_write(h, 2, p, 0, 4), S2_EAGAIN);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* uffd-wp-fork fires when fork leaves uffd-wp on an unregistered child's
 * swap entry (before 8f34f1eac382), and when a registered child's early
 * copy of a pinned protected page loses the bit. */
static void test_rules_uffd_wp_fork_fire(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	char out[256];
	struct s2host_gup_result g;

	assert_int_equal(s2host_scenario(s2host_scenario_find("s5.4-swap-fork-pre-fix"))->run(
				 h, out, sizeof(out)), 0);
	assert_int_equal(fired(h, S2HOST_RULE_UFFD_WP_FORK), 1);
	assert_int_equal(s2host_nr_violations(h), 1);
	s2host_destroy(h);

	/* a protected PMD-mapped THP goes to an unregistered child with its bit */
	h = mk(S2HOST_POL_AE);
	s2host_set_uffd_fork_fix(h, false);
	int t = proc(h, M2, RW | S2HOST_MAP_THP | S2HOST_MAP_UFFD_WP);
	assert_int_equal(s2host_write(h, t, 0, 1), 0);
	assert_true(pte(h, t, 0).huge);
	assert_int_equal(s2host_uffd_wp(h, t, 0, M2, true), 0);
	assert_true(s2host_fork(h, t) >= 0);
	assert_int_equal(fired(h, S2HOST_RULE_UFFD_WP_FORK), 1);	/* once per PMD */
	s2host_destroy(h);

	h = mk(S2HOST_POL_AE);
	s2host_set_uffd_fork_fix(h, false);
	int p = proc(h, K4, RW | S2HOST_MAP_UFFD_WP | S2HOST_MAP_UFFD_FORK);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, true), 0);
	int c = s2host_fork(h, p);
	assert_true(c >= 0);
	assert_int_equal(fired(h, S2HOST_RULE_UFFD_WP_FORK), 1);
	assert_int_equal(s2host_write(h, c, 0, 2), 0);	/* the copy is writable */
	assert_int_equal(fired(h, S2HOST_RULE_UFFD_WP), 1);
	s2host_destroy(h);
}

/* ...and not with the fix: the unregistered child's entry is clean, the
 * parent stays protected across swap; a registered child (EVENT_FORK)
 * keeps the protection on its early copy and its write waits. */
static void test_rules_uffd_wp_fork_pass(void **state)
{
	(void)state;
	struct s2host *h = mk(S2HOST_POL_AE);
	char out[256];
	struct s2host_gup_result g;

	assert_int_equal(s2host_scenario(s2host_scenario_find("s5.4-swap-fork"))->run(
				 h, out, sizeof(out)), 0);
	assert_int_equal(s2host_nr_violations(h), 0);
	assert_true(s2host_stats(h)->uffd_msgs > 0);	/* the parent's write asked */
	s2host_destroy(h);

	h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW | S2HOST_MAP_UFFD_WP | S2HOST_MAP_UFFD_FORK);
	assert_int_equal(s2host_write(h, p, 0, 1), 0);
	assert_int_equal(s2host_gup(h, p, 0, PIN_LT_W, &g), 0);
	assert_int_equal(s2host_uffd_wp(h, p, 0, K4, true), 0);
	int c = s2host_fork(h, p);
	assert_true(c >= 0);
	assert_true(s2host_uffd_protected(h, c, 0));
	assert_true(pte(h, c, 0).uffd_wp && pte(h, c, 0).pfn != g.pfn);
	assert_int_equal(s2host_write(h, c, 0, 2), S2_EAGAIN);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);

	/* the same THP with the fix: the child's PMD has no bit */
	h = mk(S2HOST_POL_AE);
	int t = proc(h, M2, RW | S2HOST_MAP_THP | S2HOST_MAP_UFFD_WP);
	assert_int_equal(s2host_write(h, t, 0, 1), 0);
	assert_int_equal(s2host_uffd_wp(h, t, 0, M2, true), 0);
	int tc = s2host_fork(h, t);
	assert_true(tc >= 0);
	assert_true(pte(h, tc, 0).huge && !pte(h, tc, 0).uffd_wp);
	assert_true(pte(h, t, 0).uffd_wp);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

/* ---- Names and scenarios --------------------------------------------------- */

/* Policies parse by their spec names, with or without POL-, any case. */
static void test_policy_names(void **state)
{
	(void)state;
	assert_int_equal(s2host_policy_parse("POL-MAP2+F"), S2HOST_POL_MAP2F);
	assert_int_equal(s2host_policy_parse("cnt2"), S2HOST_POL_CNT2);
	assert_int_equal(s2host_policy_parse("AE"), S2HOST_POL_AE);
	assert_int_equal(s2host_policy_parse("CNT3"), -1);
	for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++)
		assert_int_equal(s2host_policy_parse(s2host_policy_name(p)), (int)p);
}

/* Every scenario under every policy completes and fires exactly the rules
 * the specification's matrix lists; every rule fires in some scenario. */
static void test_scenario_matrix(void **state)
{
	(void)state;
	unsigned seen = 0;

	for (unsigned i = 0; i < s2host_nr_scenarios(); i++) {
		const struct s2host_scenario *sc = s2host_scenario(i);
		for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++) {
			struct s2host_config cfg;
			struct s2host *h;
			char out[256];
			s2host_config_init(&cfg, p);
			assert_int_equal(s2host_create(&cfg, &h), 0);
			int err = sc->run(h, out, sizeof(out));
			if (err || s2host_fired(h) != sc->expect[p])
				print_error("%s under %s: err %d, fired %#x, expected %#x\n", sc->name,
					    s2host_policy_name(p), err, s2host_fired(h), sc->expect[p]);
			assert_int_equal(err, 0);
			assert_int_equal(s2host_fired(h), sc->expect[p]);
			seen |= s2host_fired(h);
			s2host_destroy(h);
		}
	}
	assert_int_equal(seen & ((1u << S2HOST_RULE_REFCOUNT) - 1),
			 (1u << S2HOST_RULE_REFCOUNT) - 1);
}

/* The generic generator finds each policy's known breaks without being
 * told the scenario, and nothing under AE: over 400 seeds the mapcount
 * policies leak across fork and share pinned pages with children, the
 * refcount policies break pins, AE is clean. */
static void test_random_finds_breaks(void **state)
{
	(void)state;
	const unsigned want[S2HOST_NR_POLICIES] = {
		[S2HOST_POL_MAP0] = 7, [S2HOST_POL_MAP1] = 7, [S2HOST_POL_MAP2] = 7,
		[S2HOST_POL_MAP2F] = 7, [S2HOST_POL_CNT] = 1, [S2HOST_POL_CNT2] = 1,
		[S2HOST_POL_AE] = 0,
	};	/* 1 pin-stable, 2 fork-pin, 4 cow-isolation */

	for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++) {
		unsigned seen = 0;
		for (uint64_t seed = 1; seed <= 400; seed++) {
			struct s2host *h = mk((enum s2host_policy)p);
			assert_int_equal(s2host_random(h, seed, 40, NULL, NULL), 0);
			seen |= s2host_fired(h);
			s2host_destroy(h);
		}
		if (seen != want[p])
			print_error("%s: fired %#x, expected %#x\n", s2host_policy_name(p), seen, want[p]);
		assert_int_equal(seen, want[p]);
	}
}

/* The memfd generator (handler thread, missing/minor/wp faults, punches,
 * deferred flushes, swap and fork) finds each uffd window with its fix
 * off, and nothing with every fix on: before the markers the hole-punch
 * data loss; without the 2021 flush the COW copy under a stale writable
 * TLB entry (refcount policy CNT only); without 8f34f1eac382 the child's
 * stale uffd-wp. */
static void test_random_memfd(void **state)
{
	(void)state;
	static const struct {
		enum s2host_policy pol;
		bool markers, wp_flush, fork_fix;
		unsigned want;
	} runs[] = {
		{ S2HOST_POL_AE, true, true, true, 0 },
		{ S2HOST_POL_CNT, true, true, true, 0 },
		{ S2HOST_POL_AE, false, true, true,
		  (1u << S2HOST_RULE_UFFD_WP) | (1u << S2HOST_RULE_FAULT_AROUND) |
			  (1u << S2HOST_RULE_LOST_WRITE) },
		{ S2HOST_POL_CNT, true, false, true, 1u << S2HOST_RULE_TLB_BEFORE_COPY },
		{ S2HOST_POL_AE, true, false, true, 0 },
		{ S2HOST_POL_AE, true, true, false, 1u << S2HOST_RULE_UFFD_WP_FORK },
	};
	for (unsigned i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		unsigned seen = 0;
		for (uint64_t seed = 1; seed <= 400; seed++) {
			struct s2host *h = mk(runs[i].pol);
			s2host_set_uffd_markers(h, runs[i].markers);
			s2host_set_uffd_wp_flush(h, runs[i].wp_flush);
			s2host_set_uffd_fork_fix(h, runs[i].fork_fix);
			assert_int_equal(s2host_random_memfd(h, seed, 80, NULL, NULL), 0);
			seen |= s2host_fired(h);
			s2host_destroy(h);
		}
		if (seen != runs[i].want)
			print_error("run %u: fired %#x, expected %#x\n", i, seen, runs[i].want);
		assert_int_equal(seen, runs[i].want);
	}
}

/* Bad arguments are errors, never crashes. */
static void test_bad_arguments(void **state)
{
	(void)state;
	struct s2host_config cfg;
	struct s2host *h;
	struct s2host_gup_result g;

	s2host_config_init(&cfg, S2HOST_POL_AE);
	cfg.nr_pages = 100;
	assert_int_equal(s2host_create(&cfg, &h), S2_EINVAL);
	assert_null(h);
	h = mk(S2HOST_POL_AE);
	int p = proc(h, K4, RW);
	assert_int_equal(s2host_mmap(h, p, 1, K4, RW), S2_EINVAL);
	assert_int_equal(s2host_mmap(h, p, 0, 1ull << 40, RW), S2_ERANGE);
	assert_int_equal(s2host_mmap(h, p, 0, K4, RW), S2_EBUSY);
	assert_int_equal(s2host_write(h, p, K4, 1), S2_EFAULT);
	assert_int_equal(s2host_write(h, 7, 0, 1), S2_EINVAL);
	assert_int_equal(s2host_gup(h, p, 2 * K4, 0, &g), S2_EFAULT);
	assert_int_equal(s2host_mprotect(h, p, 0, 2 * K4, RW), S2_ENOENT);
	assert_int_equal(s2host_fork(h, -1), S2_EINVAL);
	assert_int_equal(s2host_split_folio(h, 1ull << 40), S2_EINVAL);
	assert_int_equal(s2host_mprotect(h, p, 0, K4, S2HOST_PROT_READ), 0);
	assert_int_equal(s2host_write(h, p, 0, 1), S2_EFAULT);
	assert_int_equal(s2host_nr_violations(h), 0);
	s2host_destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_page_then_write),
		cmocka_unit_test(test_pin_bias),
		cmocka_unit_test(test_fork_shares),
		cmocka_unit_test(test_thp_split),
		cmocka_unit_test(test_collapse),
		cmocka_unit_test(test_swap_cache_reference),
		cmocka_unit_test(test_swap_pinned_by_era),
		cmocka_unit_test(test_rule_get_stable_fires),
		cmocka_unit_test(test_rule_get_stable_passes),
		cmocka_unit_test(test_gup_fast_only),
		cmocka_unit_test(test_uffd_wp),
		cmocka_unit_test(test_notifier_brackets),
		cmocka_unit_test(test_rule_pin_stable_fires),
		cmocka_unit_test(test_rule_pin_stable_passes),
		cmocka_unit_test(test_rule_fork_pin_fires),
		cmocka_unit_test(test_rule_fork_pin_passes),
		cmocka_unit_test(test_rule_cow_isolation_fires),
		cmocka_unit_test(test_rule_cow_isolation_passes),
		cmocka_unit_test(test_rule_cow_isolation_prefork_reference),
		cmocka_unit_test(test_rule_rmap_owner),
		cmocka_unit_test(test_rule_refcount_fires),
		cmocka_unit_test(test_rule_refcount_passes),
		cmocka_unit_test(test_rule_use_after_free_fires),
		cmocka_unit_test(test_rule_use_after_free_passes),
		cmocka_unit_test(test_memfd_shared_and_fault_around),
		cmocka_unit_test(test_rules_uffd_fire),
		cmocka_unit_test(test_rules_uffd_pass),
		cmocka_unit_test(test_uffd_missing_anon),
		cmocka_unit_test(test_uffd_memfd_missing_minor),
		cmocka_unit_test(test_uffd_copy_wp_and_unprotect_wakes),
		cmocka_unit_test(test_madv_remove),
		cmocka_unit_test(test_rules_tlb_before_copy_fire),
		cmocka_unit_test(test_rules_tlb_before_copy_pass),
		cmocka_unit_test(test_uffd_wp_deferred_view),
		cmocka_unit_test(test_copy_window),
		cmocka_unit_test(test_rules_uffd_wp_fork_fire),
		cmocka_unit_test(test_rules_uffd_wp_fork_pass),
		cmocka_unit_test(test_double_map),
		cmocka_unit_test(test_rule_thp_mapsum_fires),
		cmocka_unit_test(test_rule_thp_mapsum_passes),
		cmocka_unit_test(test_policy_names),
		cmocka_unit_test(test_scenario_matrix),
		cmocka_unit_test(test_random_finds_breaks),
		cmocka_unit_test(test_random_memfd),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
