/* The host-side scenarios of ../shared/ref/host-mm.md, step by step, with
 * the rules its matrix (section 6) says fire under each policy. */
#include <stdio.h>
#include <string.h>

#include "common/s2_err.h"
#include "common/s2_text.h"
#include "host-mm/s2host_scenario.h"

#define K4 S2HOST_PAGE_SIZE
#define M1 (S2HOST_THP_SIZE / 2)
#define M2 S2HOST_THP_SIZE
#define RW (S2HOST_PROT_READ | S2HOST_PROT_WRITE)
#define PIN_LT_W (S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM | S2HOST_FOLL_WRITE)

#define TRY S2HOST_TRY

#define PS (1u << S2HOST_RULE_PIN_STABLE)
#define FP (1u << S2HOST_RULE_FORK_PIN)
#define CI (1u << S2HOST_RULE_COW_ISOLATION)
#define RM (1u << S2HOST_RULE_RMAP_OWNER)
#define GS (1u << S2HOST_RULE_GET_STABLE)

unsigned s2host_fired(const struct s2host *h)
{
	const struct s2host_stats *st = s2host_stats(h);
	unsigned mask = 0;
	for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
		if (st->violations[r])
			mask |= 1u << r;
	return mask;
}

static int new_process(struct s2host *h, uint64_t size, unsigned flags)
{
	int p = s2host_mm_create(h);
	if (p < 0)
		return p;
	int err = s2host_mmap(h, p, 0, size, flags);
	return err < 0 ? err : p;
}

/* S1.1: vfio pins a page of a PMD-mapped THP; a write-protect (here
 * mprotect RO then RW) makes the PMD read-only; the process writes. */
static int s1_1(struct s2host *h, char *out, size_t n)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = new_process(h, M2, RW | S2HOST_MAP_THP);

	TRY(p);
	TRY(s2host_write(h, p, K4, 1));
	TRY(s2host_gup(h, p, K4, PIN_LT_W, &g));
	TRY(s2host_ref_write(h, g.id, 2));
	TRY(s2host_mprotect(h, p, 0, M2, S2HOST_PROT_READ));
	TRY(s2host_mprotect(h, p, 0, M2, RW));
	TRY(s2host_write(h, p, K4, 3));
	TRY(s2host_ref_write(h, g.id, 4));
	TRY(s2host_read(h, p, K4, &v));
	snprintf(out, n, "after the device's DMA write of 4 the process reads %llu (%s)",
		 (unsigned long long)v, v == 4 ? "one page" : "it COWed away from the pinned THP");
	return 0;
}

/* S1.2: a PTE-mapped THP shared by fork, each half unmapped by one side;
 * the child's write finds every subpage mapcount at 1. */
static int s1_2(struct s2host *h, char *out, size_t n)
{
	int p = new_process(h, M2, RW | S2HOST_MAP_THP);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_split_pmd(h, p, 0));
	int c = s2host_fork(h, p);
	TRY(c);
	TRY(s2host_munmap(h, c, 0, M1));
	TRY(s2host_munmap(h, p, M1, M1));
	uint64_t reuses = s2host_stats(h)->cow_reuses;
	TRY(s2host_write(h, c, M1 + K4, 2));
	snprintf(out, n, "the child's write %s the shared THP's subpage",
		 s2host_stats(h)->cow_reuses > reuses ? "reused" : "copied");
	return 0;
}

/* S1.3: the child takes a read GUP reference (vmsplice) and unmaps; the
 * parent writes; the child reads the pipe. how: 0 small, 1 THP, 2 swap. */
static int vmsplice(struct s2host *h, char *out, size_t n, int how)
{
	struct s2host_gup_result g;
	uint64_t v, size = how == 1 ? M2 : K4;
	int p = new_process(h, size, RW | (how == 1 ? S2HOST_MAP_THP : 0));

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	int c = s2host_fork(h, p);
	TRY(c);
	TRY(s2host_gup(h, c, 0, 0, &g));
	TRY(s2host_munmap(h, c, 0, size));
	if (how == 2)
		TRY(s2host_swap_out(h, p, 0));
	TRY(s2host_write(h, p, 0, 2));
	TRY(s2host_ref_read(h, g.id, &v));
	snprintf(out, n, "the child reads %llu from the pipe (%s)", (unsigned long long)v,
		 v == 2 ? "the parent's write after fork leaked" : "its own snapshot");
	return 0;
}

static int s1_3(struct s2host *h, char *out, size_t n)
{
	return vmsplice(h, out, n, 0);
}

static int s1_3_thp(struct s2host *h, char *out, size_t n)
{
	return vmsplice(h, out, n, 1);
}

static int s1_3_swap(struct s2host *h, char *out, size_t n)
{
	return vmsplice(h, out, n, 2);
}

/* S1.4: a device pins a page; a write-protect that is not fork (how: 0
 * clear_refs, 1 mprotect RO then RW, 2 uffd-wp then unprotect); the process
 * writes; the device reads. */
static int wp_pinned(struct s2host *h, char *out, size_t n, int how)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = new_process(h, K4, RW | (how == 2 ? S2HOST_MAP_UFFD_WP : 0));

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_gup(h, p, 0, PIN_LT_W, &g));
	if (how == 0) {
		TRY(s2host_clear_refs(h, p));
	} else if (how == 1) {
		TRY(s2host_mprotect(h, p, 0, K4, S2HOST_PROT_READ));
		TRY(s2host_mprotect(h, p, 0, K4, RW));
	} else {
		TRY(s2host_uffd_wp(h, p, 0, K4, true));
		TRY(s2host_uffd_wp(h, p, 0, K4, false));
	}
	TRY(s2host_write(h, p, 0, 2));
	TRY(s2host_ref_read(h, g.id, &v));
	snprintf(out, n, "the device reads %llu after the process wrote 2 (%s)",
		 (unsigned long long)v, v == 2 ? "one page" : "the process moved to a copy");
	return 0;
}

static int s1_4_clear_refs(struct s2host *h, char *out, size_t n)
{
	return wp_pinned(h, out, n, 0);
}

static int s1_4_mprotect(struct s2host *h, char *out, size_t n)
{
	return wp_pinned(h, out, n, 1);
}

static int s1_4_uffd_wp(struct s2host *h, char *out, size_t n)
{
	return wp_pinned(h, out, n, 2);
}

/* S1.5: a fresh page still in a CPU's LRU batch (a transient reference)
 * is write-protected by clear_refs and written again. */
static int s1_5(struct s2host *h, char *out, size_t n)
{
	int p = new_process(h, K4, RW);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_lru_add(h, p, 0));
	TRY(s2host_clear_refs(h, p));
	TRY(s2host_write(h, p, 0, 2));
	snprintf(out, n, "%llu COW copies, %llu reuses (a copy here costs only time)",
		 (unsigned long long)s2host_stats(h)->cow_copies,
		 (unsigned long long)s2host_stats(h)->cow_reuses);
	return 0;
}

/* S2.1: the VMM pins guest RAM for vfio and forks; then writes. */
static int s2_1(struct s2host *h, char *out, size_t n)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = new_process(h, K4, RW);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_gup(h, p, 0, PIN_LT_W, &g));
	TRY(s2host_fork(h, p));
	TRY(s2host_write(h, p, 0, 2));
	TRY(s2host_ref_read(h, g.id, &v));
	snprintf(out, n, "the device reads %llu after the parent wrote 2 (%s)",
		 (unsigned long long)v, v == 2 ? "one page" : "the parent moved to a copy");
	return 0;
}

/* S2.2: a read-only long-term pin of a page shared with a child. */
static int s2_2(struct s2host *h, char *out, size_t n)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = new_process(h, K4, RW);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_fork(h, p));
	TRY(s2host_gup(h, p, 0, S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM, &g));
	TRY(s2host_write(h, p, 0, 2));
	TRY(s2host_ref_read(h, g.id, &v));
	snprintf(out, n, "the device reads %llu after the process wrote 2 (%s)",
		 (unsigned long long)v, v == 2 ? "one page" : "stale: the pin is on the old page");
	return 0;
}

/* S2.3: a device pins A (foll; or O_DIRECT takes a writable FOLL_GET
 * reference); reclaim adds A to the swap cache and unmaps it (race: the
 * pin is taken by GUP-fast after shrink_page_list's pinned check, between
 * add_to_swap and try_to_unmap); the process faults A back read-only,
 * writes, and the device reads. */
static int swap_referenced(struct s2host *h, char *out, size_t n, bool race, unsigned foll)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = new_process(h, K4, RW);
	int err;

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	if (race) {
		TRY(s2host_swap_add(h, p, 0));
		TRY(s2host_gup(h, p, 0, foll, &g));
		err = s2host_swap_unmap(h, p, 0);
	} else {
		TRY(s2host_gup(h, p, 0, foll, &g));
		err = s2host_swap_out(h, p, 0);
	}
	TRY(s2host_read(h, p, 0, &v));
	TRY(s2host_write(h, p, 0, 2));
	TRY(s2host_ref_read(h, g.id, &v));
	snprintf(out, n, "reclaim %s; the device reads %llu after the process wrote 2 (%s)",
		 err ? "left the referenced page mapped" : "unmapped the referenced page",
		 (unsigned long long)v, v == 2 ? "one page" : "the process moved to a copy");
	return 0;
}

static int s2_3(struct s2host *h, char *out, size_t n)
{
	return swap_referenced(h, out, n, false, PIN_LT_W);
}

static int s2_3_race(struct s2host *h, char *out, size_t n)
{
	return swap_referenced(h, out, n, true, PIN_LT_W);
}

/* S2.3's FOLL_GET variant: O_DIRECT vs swap-out. */
static int s2_3_get(struct s2host *h, char *out, size_t n)
{
	return swap_referenced(h, out, n, false, S2HOST_FOLL_WRITE);
}

/* S2.4: migration and KSM try to replace a pinned page. */
static int s2_4(struct s2host *h, char *out, size_t n)
{
	struct s2host_gup_result g;
	int p = new_process(h, 2 * K4, RW);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_write(h, p, K4, 1));
	TRY(s2host_gup(h, p, 0, PIN_LT_W, &g));
	int mig = s2host_migrate(h, p, 0);
	int ksm = s2host_ksm_merge(h, p, 0);
	int other = s2host_migrate(h, p, K4);
	snprintf(out, n, "pinned page: migration %s, KSM %s; unpinned page: migration %s",
		 mig ? "refused" : "moved it", ksm ? "refused" : "merged it",
		 other ? "refused" : "moved it");
	return 0;
}

/* S4.2: a pinned PMD-mapped THP; mprotect of half splits the PMD; a
 * split of the folio must fail; DMA and the process still share the page. */
static int s4_2(struct s2host *h, char *out, size_t n)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = new_process(h, M2, RW | S2HOST_MAP_THP);

	TRY(p);
	TRY(s2host_write(h, p, K4, 1));
	TRY(s2host_gup(h, p, K4, PIN_LT_W, &g));
	TRY(s2host_mprotect(h, p, M1, M1, S2HOST_PROT_READ));
	int split = s2host_split_folio(h, g.pfn);
	TRY(s2host_ref_write(h, g.id, 5));
	TRY(s2host_read(h, p, K4, &v));
	snprintf(out, n, "split_huge_page %s; the process reads %llu after the device wrote 5",
		 split ? "refused" : "split the pinned folio", (unsigned long long)v);
	return 0;
}

/* S4.4: a PMD-mapped THP shared by fork; the parent splits its PMD
 * (PageDoubleMap set from 4.5 to 6.1: each subpage's mapcount carries +1
 * while the child's PMD remains); then the child unmaps its PMD. */
static int s4_4(struct s2host *h, char *out, size_t n)
{
	struct s2host_pte_view pv;
	struct s2host_page_view a, b;
	int p = new_process(h, M2, RW | S2HOST_MAP_THP);

	TRY(p);
	TRY(s2host_write(h, p, K4, 1));
	int c = s2host_fork(h, p);
	TRY(c);
	TRY(s2host_split_pmd(h, p, 0));
	TRY(s2host_lookup(h, c, K4, &pv));
	TRY(s2host_page(h, pv.pfn, &a));
	TRY(s2host_munmap(h, c, 0, M2));
	TRY(s2host_page(h, pv.pfn, &b));
	snprintf(out, n, "after the parent's split: PageDoubleMap %s, page_mapcount %d (the "
		 "child's PMD and the parent's PTE); after the child's munmap: PageDoubleMap %s, "
		 "page_mapcount %d", a.double_map ? "set" : "clear", a.page_mapcount,
		 b.double_map ? "set" : "clear", b.page_mapcount);
	return 0;
}

/* S4.4's race (c444eb564fb1): the parent's PMD split sets PageDoubleMap;
 * before it adds the subpages' offsets, the child's write fault on its own
 * PMD reads page_trans_huge_mapcount; then the parent reads its page. */
struct split_race {
	int c, err;
};

static void child_writes(void *arg, struct s2host *h)
{
	struct split_race *r = arg;
	r->err = s2host_write(h, r->c, K4, 2);
}

static int s4_4_race(struct s2host *h, char *out, size_t n)
{
	uint64_t v;
	int p = new_process(h, M2, RW | S2HOST_MAP_THP);

	TRY(p);
	TRY(s2host_write(h, p, K4, 1));
	struct split_race r = { s2host_fork(h, p), 0 };
	TRY(r.c);
	s2host_set_split_window(h, child_writes, &r);
	TRY(s2host_split_pmd(h, p, 0));
	s2host_set_split_window(h, NULL, NULL);
	if (r.err)	/* it waited for the page lock: it runs after the split */
		TRY(s2host_write(h, r.c, K4, 2));
	TRY(s2host_read(h, p, K4, &v));
	snprintf(out, n, "the child's write %s; the parent reads %llu",
		 r.err ? "waited for the split's page lock, then copied" :
		 v == 2 ? "reused the shared THP (its mapcount read one short)" : "copied",
		 (unsigned long long)v);
	return 0;
}

/* S4.3: khugepaged meets a transient GUP reference, then retries. */
static int s4_3(struct s2host *h, char *out, size_t n)
{
	struct s2host_gup_result g;
	int p = new_process(h, M2, RW);

	TRY(p);
	for (uint64_t a = 0; a < M2; a += K4)
		TRY(s2host_write(h, p, a, a / K4));
	TRY(s2host_gup(h, p, 5 * K4, 0, &g));
	int first = s2host_collapse(h, p, 0);
	TRY(s2host_unref(h, g.id));
	int second = s2host_collapse(h, p, 0);
	struct s2host_pte_view pv;
	TRY(s2host_lookup(h, p, 0, &pv));
	snprintf(out, n, "collapse with the reference held: %s; after it is dropped: %s (%s)",
		 first ? "refused" : "done", second ? "refused" : "done",
		 pv.huge ? "PMD-mapped" : "still PTEs");
	return 0;
}

/* S5.1: a hole punch in a uffd-wp protected memfd range races a read of
 * a neighbour (fault-around) and a write. markers: the 5.19 fix. remove:
 * the punch is a balloon's MADV_REMOVE through the mapping instead of
 * fallocate on the file. */
static int punch(struct s2host *h, char *out, size_t n, bool markers, bool remove)
{
	enum { X = 1, Y = 2, PAGES = 16 };
	uint64_t v;

	s2host_set_uffd_markers(h, markers);
	int fd = s2host_memfd_create(h, PAGES);
	TRY(fd);
	int p = s2host_mm_create(h);
	TRY(p);
	TRY(s2host_mmap_memfd(h, p, 0, PAGES * K4, fd, 0, RW | S2HOST_MAP_UFFD_WP));
	TRY(s2host_write(h, p, X * K4, 1));
	TRY(s2host_write(h, p, Y * K4, 2));
	TRY(s2host_madv_dontneed(h, p, Y * K4, K4));	/* Y: cached, not mapped */
	TRY(s2host_uffd_wp(h, p, X * K4, K4, true));	/* the monitor protects X */
	if (remove) {
		struct s2host_punch rest;
		TRY(s2host_madv_remove(h, p, X * K4, K4, &rest));	/* T0: pre-unmap */
	} else {
		TRY(s2host_punch_unmap(h, fd, X, 1));	/* T0: pre-unmap of the hole */
	}
	TRY(s2host_read(h, p, Y * K4, &v));		/* T1: read fault near X */
	int w = s2host_write(h, p, X * K4, 99);		/* T1: write X */
	TRY(s2host_punch_truncate(h, fd, X, 1));	/* T0: truncation */
	TRY(s2host_read(h, p, X * K4, &v));
	snprintf(out, n, "T1's write of 99 to X %s; after the punch X reads %llu",
		 w == 0 ? "went through, the monitor never told: then the truncation discarded it"
			: "stopped at the uffd handler (the monitor is told)",
		 (unsigned long long)v);
	return 0;
}

static int s5_1(struct s2host *h, char *out, size_t n)
{
	return punch(h, out, n, true, false);
}

static int s5_1_pre(struct s2host *h, char *out, size_t n)
{
	return punch(h, out, n, false, false);
}

static int s5_1_remove(struct s2host *h, char *out, size_t n)
{
	return punch(h, out, n, true, true);
}

static int s5_1_remove_pre(struct s2host *h, char *out, size_t n)
{
	return punch(h, out, n, false, true);
}

/* S5.2: CPU 2 caches a writable translation of A; two monitor threads
 * protect and un-protect A with their TLB flushes deferred; CPU 1's write
 * fault copies A (a transient LRU-batch reference makes the refcount test
 * copy) and CPU 2 stores in the copy's window; only then the flushes.
 * fix: the flush before the copy (2021). */
struct window {
	int p, err;
	bool ran;
};

/* Inside CPU 1's copy: CPU 2 stores 3 through its TLB, if it still can. */
static void cpu2_store(void *arg, struct s2host *h)
{
	struct window *w = arg;
	w->ran = true;
	w->err = s2host_cpu_write(h, 2, w->p, 0, 3);
}

static int deferred_flush(struct s2host *h, char *out, size_t n, bool fix)
{
	enum { CPU1 = 1, CPU2 = 2 };
	uint64_t v;

	s2host_set_uffd_wp_flush(h, fix);
	int p = new_process(h, K4, RW | S2HOST_MAP_UFFD_WP);
	TRY(p);
	struct window w = { p, 0, false };
	TRY(s2host_cpu_write(h, CPU2, p, 0, 1));	/* CPU 2: writable TLB entry */
	TRY(s2host_lru_add(h, p, 0));			/* a transient reference */
	TRY(s2host_uffd_wp_deferred(h, p, 0, K4, true));	/* CPU 0: protect */
	TRY(s2host_uffd_wp_deferred(h, p, 0, K4, false));	/* CPU 3: un-protect */
	s2host_set_copy_window(h, cpu2_store, &w);
	TRY(s2host_cpu_write(h, CPU1, p, 0, 2));	/* CPU 1: write fault */
	s2host_set_copy_window(h, NULL, NULL);
	if (!w.ran || w.err)	/* CPU 2 faults: after the copy, on the new page */
		TRY(s2host_cpu_write(h, CPU2, p, 0, 3));
	TRY(s2host_tlb_flush_deferred(h, p));
	TRY(s2host_tlb_flush_deferred(h, p));
	TRY(s2host_cpu_read(h, CPU1, p, 0, &v));
	snprintf(out, n, "CPU 1's write fault %s; A reads %llu",
		 !w.ran ? "reused A (no copy: the window stays latent), then CPU 2 wrote 3"
		 : !w.err ? "copied A while CPU 2 still held a writable TLB entry: CPU 2's "
			    "store of 3 in the copy's window went to the old page and is lost"
			  : "flushed the pending uffd-wp flush before copying: CPU 2 faulted "
			    "and wrote 3 to the copy",
		 (unsigned long long)v);
	return 0;
}

static int s5_2(struct s2host *h, char *out, size_t n)
{
	return deferred_flush(h, out, n, true);
}

static int s5_2_pre(struct s2host *h, char *out, size_t n)
{
	return deferred_flush(h, out, n, false);
}

/* S5.4: A is protected, swapped out, and the process forks a child that
 * is not registered (no UFFD_FEATURE_EVENT_FORK); both write A after the
 * swap-in. fix: 8f34f1eac382 clears the bit in the child's swap entry. */
static int swap_fork(struct s2host *h, char *out, size_t n, bool fix)
{
	struct s2host_pte_view pv;

	s2host_set_uffd_fork_fix(h, fix);
	int p = new_process(h, K4, RW | S2HOST_MAP_UFFD_WP);
	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_uffd_wp(h, p, 0, K4, true));
	TRY(s2host_swap_out(h, p, 0));
	int c = s2host_fork(h, p);
	TRY(c);
	int pw = s2host_write(h, p, 0, 2);	/* swap-in, then the wp fault */
	TRY(s2host_read(h, c, 0, &(uint64_t){ 0 }));	/* the child's swap-in */
	TRY(s2host_lookup(h, c, 0, &pv));
	int cw = s2host_write(h, c, 0, 3);
	snprintf(out, n, "the parent's write %s; the child's swapped-in PTE %s uffd-wp and its "
		 "write %s", pw == S2_EAGAIN ? "waits for the handler" : "went through",
		 pv.uffd_wp ? "still carries" : "has no", cw ? "failed" : "went through");
	return 0;
}

static int s5_4(struct s2host *h, char *out, size_t n)
{
	return swap_fork(h, out, n, true);
}

static int s5_4_pre(struct s2host *h, char *out, size_t n)
{
	return swap_fork(h, out, n, false);
}

#define UW ((1u << S2HOST_RULE_UFFD_WP) | (1u << S2HOST_RULE_FAULT_AROUND) | \
	    (1u << S2HOST_RULE_LOST_WRITE))
#define TC (1u << S2HOST_RULE_TLB_BEFORE_COPY)
#define UF (1u << S2HOST_RULE_UFFD_WP_FORK)
#define TM ((1u << S2HOST_RULE_THP_MAPSUM) | CI | RM)

/*                         MAP0 MAP1 MAP2 MAP2F CNT CNT2 AE */
static const struct s2host_scenario scenarios[] = {
	{ "s1.1-vfio-thp", "S1.1",
	  "a pinned THP is write-protected and written: 4.5 and 5.18 copy it away from the device",
	  { 0, PS, 0, 0, 0, PS, 0 }, s1_1 },
	{ "s1.2-kirill", "S1.2",
	  "a PTE-mapped THP half-unmapped by parent and child: reuse moves the folio to one anon_vma",
	  { 0, 0, RM, RM, 0, 0, 0 }, s1_2 },
	{ "s1.3-vmsplice", "S1.3",
	  "the child vmsplices a page and unmaps it; the parent's later write leaks to the pipe",
	  { CI, CI, CI, 0, 0, 0, 0 }, s1_3 },
	{ "s1.3-vmsplice-thp", "S1.3",
	  "the same with a PMD-mapped THP: still leaks under the mapcount PMD rule until 5.18",
	  { CI, 0, CI, 0, CI, 0, 0 }, s1_3_thp },
	{ "s1.3-vmsplice-swap", "S1.3",
	  "the same with the page swapped out before the write: swap-in reuses by mapcount until 5.18",
	  { CI, CI, CI, 0, CI, 0, 0 }, s1_3_swap },
	{ "s1.4-clear-refs", "S1.4",
	  "clear_refs write-protects a pinned page; the write copies it under page_count == 1",
	  { 0, 0, 0, 0, PS, 0, 0 }, s1_4_clear_refs },
	{ "s1.4-mprotect", "S1.4",
	  "mprotect RO then RW of a pinned page; the write copies it under page_count == 1",
	  { 0, 0, 0, 0, PS, PS, 0 }, s1_4_mprotect },
	{ "s1.4-uffd-wp", "S1.4",
	  "uffd-wp protect then unprotect of a pinned page; the write copies it under page_count == 1",
	  { 0, 0, 0, 0, PS, PS, 0 }, s1_4_uffd_wp },
	{ "s1.5-lru-batch", "S1.5",
	  "a transient LRU-batch reference at a write fault: an unnecessary COW under CNT only",
	  { 0, 0, 0, 0, 0, 0, 0 }, s1_5 },
	{ "s2.1-fork-pin", "S2.1",
	  "fork with a pinned page: before 5.9 the parent's next write copies it away from the device",
	  { FP | PS, FP | PS, FP | PS, FP | PS, 0, 0, 0 }, s2_1 },
	{ "s2.2-ro-pin", "S2.2",
	  "a read-only pin of a page shared with a child: only AE's unshare keeps it coherent",
	  { PS, PS, PS, PS, PS, PS, 0 }, s2_2 },
	{ "s2.3-swap-pin", "S2.3",
	  "reclaim of a pinned page, refaulted read-only and written: 5.9-5.10 copy it (page_count)",
	  { 0, 0, 0, 0, PS, 0, 0 }, s2_3 },
	{ "s2.3-swap-pin-race", "S2.3",
	  "the same with the pin taken after reclaim's pinned check: copied from 5.9 until AE",
	  { 0, 0, 0, 0, PS, PS, 0 }, s2_3_race },
	{ "s2.3-swap-get", "S2.3",
	  "the same with O_DIRECT's writable FOLL_GET instead of a pin: copied from 5.9 until 5.19's swap-PTE exclusive bit",
	  { 0, 0, 0, 0, GS, GS, 0 }, s2_3_get },
	{ "s2.4-migrate-pin", "S2.4",
	  "migration and KSM refuse a pinned page (the refcount check) and move an unpinned one",
	  { 0, 0, 0, 0, 0, 0, 0 }, s2_4 },
	{ "s4.2-split-pin", "S4.2",
	  "a pinned THP: a PMD split is allowed, split_huge_page is refused, DMA stays coherent",
	  { 0, 0, 0, 0, 0, 0, 0 }, s4_2 },
	{ "s5.1-punch-hole", "S5.1",
	  "punch hole + fault-around + write on a uffd-wp memfd with PTE markers (5.19): the handler is told",
	  { 0, 0, 0, 0, 0, 0, 0 }, s5_1 },
	{ "s5.1-punch-hole-pre-fix", "S5.1",
	  "the same before the fix: fault-around drops uffd-wp, the write is silent, the truncation loses it",
	  { UW, UW, UW, UW, UW, UW, UW }, s5_1_pre },
	{ "s5.1-madv-remove", "S5.1",
	  "S5.1 with the hole punched by a balloon's MADV_REMOVE through the mapping, with PTE markers",
	  { 0, 0, 0, 0, 0, 0, 0 }, s5_1_remove },
	{ "s5.1-madv-remove-pre-fix", "S5.1",
	  "the same before the fix: MADV_REMOVE is the same two-step punch, the write is lost",
	  { UW, UW, UW, UW, UW, UW, UW }, s5_1_remove_pre },
	{ "s5.2-deferred-flush", "S5.2",
	  "deferred uffd-wp TLB flush + COW with the 2021 fix: the fault flushes before copying",
	  { 0, 0, 0, 0, 0, 0, 0 }, s5_2 },
	{ "s5.2-deferred-flush-pre-fix", "S5.2",
	  "the same before the fix: the refcount rule copies with a writable TLB entry alive",
	  { 0, 0, 0, 0, TC, 0, 0 }, s5_2_pre },
	{ "s5.4-swap-fork", "S5.4",
	  "uffd-wp across swap-out and fork into an unregistered child: parent protected, child clear",
	  { 0, 0, 0, 0, 0, 0, 0 }, s5_4 },
	{ "s5.4-swap-fork-pre-fix", "S5.4",
	  "the same before 8f34f1eac382: the child's swap entry keeps the parent's uffd-wp bit",
	  { UF, UF, UF, UF, UF, UF, UF }, s5_4_pre },
	{ "s4.4-double-map", "S4.4",
	  "a forked THP split by one side: PageDoubleMap's offsets while the other PMD remains",
	  { 0, 0, 0, 0, 0, 0, 0 }, s4_4 },
	{ "s4.4-split-race", "S4.4",
	  "a COW decision inside a PMD split reads the mapcount one short until 5.8 (c444eb564fb1)",
	  { 0, 0, TM, 0, 0, 0, 0 }, s4_4_race },
	{ "s4.3-collapse-ref", "S4.3",
	  "khugepaged refuses to collapse while a GUP reference is held and collapses after",
	  { 0, 0, 0, 0, 0, 0, 0 }, s4_3 },
};

unsigned s2host_nr_scenarios(void)
{
	return sizeof(scenarios) / sizeof(scenarios[0]);
}

const struct s2host_scenario *s2host_scenario(unsigned i)
{
	return i < s2host_nr_scenarios() ? &scenarios[i] : NULL;
}

int s2host_scenario_find(const char *name)
{
	return s2_find_name(scenarios, s2host_nr_scenarios(), sizeof(scenarios[0]), name);
}
