/* s2host: the host's memory management under a VM, as Linux does it for
 * anonymous memory: folios (small and 2 MiB THP) with refcount, per-subpage
 * and entire mapcounts, pincount and AnonExclusive; the shared zero page; the
 * swap cache as a reference; processes with page tables (PTE and PMD
 * mappings); fork, munmap, MADV_DONTNEED, mprotect, clear_refs, uffd-wp;
 * THP split and khugepaged collapse; migration and KSM as "replace the page";
 * GUP (get and pin) and a DMA device that uses pinned pages; the COW write
 * fault with the page-reuse policy of a chosen kernel era; and MMU-notifier
 * callbacks announced on every unmap or replacement.
 *
 * It knows nothing of stage 2: a secondary MMU (KVM in hyp-model) registers
 * a notifier and takes pages through s2host_gup().
 *
 * Addresses (hva) are bytes in a process's address space of
 * cfg.nr_pages * 4 KiB; page frame numbers (pfn) are model-internal and are
 * never reused, so a stale one always names the folio it named before.
 * Page contents are one 64-bit value per 4 KiB page, enough to tell who
 * wrote what.
 *
 * Every host invariant of ../shared/ref/host-mm.md that the model can break
 * is a rule (s2host_rules.h); the model records violations and goes on.
 * All state is behind the handle; errors are negative enum s2_err values.
 */
#ifndef S2HOST_H
#define S2HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host-mm/s2host_rules.h"

#define S2HOST_PAGE_SHIFT	12
#define S2HOST_PAGE_SIZE	(1ull << S2HOST_PAGE_SHIFT)
#define S2HOST_THP_ORDER	9
#define S2HOST_THP_PAGES	(1u << S2HOST_THP_ORDER)
#define S2HOST_THP_SIZE		(S2HOST_PAGE_SIZE << S2HOST_THP_ORDER)
#define S2HOST_PIN_BIAS		1024	/* GUP_PIN_COUNTING_BIAS, 1U << 10 */
#define S2HOST_ZERO_PFN		0	/* the shared zero page */
#define S2HOST_NO_PFN		UINT64_MAX

/*
 * The COW reuse policy: when a write fault on a read-only anonymous page
 * reuses the page (makes it writable in place) instead of copying it. Each is
 * a kernel era (docs/host-mm.md):
 *   MAP0   2.6-4.4   mapcount + swapcount == 1
 *   MAP1   4.5       MAP0 for small pages; a PTE-mapped THP subpage always
 *                    copied; a PMD THP needs mapcount == 1 && refcount == 1
 *   MAP2   4.6-5.7   THP by page_trans_huge_mapcount (max over subpages)
 *   MAP2F  5.8       MAP2, and a FOLL_GET GUP on a COW mapping breaks COW
 *   CNT    5.9-5.17  small pages: refcount == 1; PMD THP and swap-in still
 *                    by mapcount; pinned pages copied for the child at fork
 *   CNT2   5.18      refcount everywhere (PMD THP PTE-mapped and the subpage
 *                    copied); LRU batches drained before the test
 *   AE     5.19+     AnonExclusive: an exclusive page is always reused; R/O
 *                    pins unshare (KSM pages too, and, as from 6.2, the
 *                    zero page of a COW mapping); fork, KSM, swap-out and
 *                    migration refuse to drop exclusivity of a pinned page
 */
#define S2HOST_POLICY_TABLE(X) \
	X(S2HOST_POL_MAP0, "MAP0", "2.6-4.4", "reuse if mapcount + swapcount == 1") \
	X(S2HOST_POL_MAP1, "MAP1", "4.5", "THP refcount redesign: PTE-mapped THP always copied, PMD THP reused only if refcount == 1") \
	X(S2HOST_POL_MAP2, "MAP2", "4.6-5.7", "THP reuse by page_trans_huge_mapcount") \
	X(S2HOST_POL_MAP2F, "MAP2+F", "5.8", "MAP2, and GUP with FOLL_GET on a COW mapping breaks COW first") \
	X(S2HOST_POL_CNT, "CNT", "5.9-5.17", "small pages reused only if refcount == 1; PMD THP and swap-in by mapcount") \
	X(S2HOST_POL_CNT2, "CNT2", "5.18", "refcount rule everywhere, LRU batches drained first") \
	X(S2HOST_POL_AE, "AE", "5.19+", "AnonExclusive pages reused; R/O pins unshare; exclusivity survives write-protection")

enum s2host_policy {
#define S2HOST_POL_ENUM(id, name, kernels, rule) id,
	S2HOST_POLICY_TABLE(S2HOST_POL_ENUM)
#undef S2HOST_POL_ENUM
	S2HOST_NR_POLICIES
};

const char *s2host_policy_name(enum s2host_policy p);
const char *s2host_policy_kernels(enum s2host_policy p);
const char *s2host_policy_rule(enum s2host_policy p);
/* "CNT", "cnt" and "POL-CNT" all name S2HOST_POL_CNT; -1 if unknown. */
int s2host_policy_parse(const char *name);

struct s2host;

struct s2host_config {
	enum s2host_policy policy;
	unsigned nr_pages;	/* pages of each process's address space, a multiple of 512 */
	/*
	 * clear_refs leaves pinned PTEs writable (fs/proc/task_mmu.c
	 * pte_is_pinned, 5.11). s2host_config_init sets it from the policy:
	 * false before CNT2 (the era before it was added), true from CNT2.
	 */
	bool clear_refs_skips_pinned;
	/*
	 * Reclaim leaves a maybe-pinned page out of the swap cache
	 * (feb889fb40fa "mm: don't put pinned pages into the swap cache",
	 * 5.11-rc4 with pte_is_pinned, stable 5.10.y). Set from the policy as
	 * clear_refs_skips_pinned: false before CNT2, true from CNT2.
	 */
	bool swap_skips_pinned;
	/* Check the whole model (refcounts, pins) after every operation. */
	bool check_every_op;
	/*
	 * userfaultfd write-protect on memfd mappings: true (the default) is
	 * 5.19+: PTE markers keep uffd-wp across a zap and fault-around stays
	 * out of registered ranges; false is the series before the fix, where
	 * a hole punch drops the bit and fault-around maps the page again.
	 */
	bool uffd_markers;
	/*
	 * do_wp_page flushes the TLB before a COW copy when a uffd-wp
	 * change has a flush pending ("mm/userfaultfd: fix memory corruption
	 * due to writeprotect", Nadav Amit, March 2021, stable 5.9+). false:
	 * the copy may start while another CPU still holds a writable TLB
	 * entry for the old page (S5.2).
	 */
	bool uffd_wp_flush;
	/*
	 * fork drops uffd-wp from the child's present and swap PTEs when the
	 * child's VMA is not registered, and keeps it on pages copied for a
	 * registered child (8f34f1eac382 "mm/userfaultfd: fix uffd-wp special
	 * cases for fork()", 5.14, stable 5.13.y). false: the older code that
	 * tested the parent's VMA and left swap entries alone (S5.4).
	 */
	bool uffd_fork_fix;
};

/* Defaults for a policy: 4096 pages (16 MiB) per process, full checks. */
void s2host_config_init(struct s2host_config *cfg, enum s2host_policy policy);

/* -EINVAL on a bad configuration, -ENOMEM. */
int s2host_create(const struct s2host_config *cfg, struct s2host **out);
void s2host_destroy(struct s2host *h);
const struct s2host_config *s2host_config(const struct s2host *h);

/* ---- MMU notifiers ------------------------------------------------------ */

/* Why an invalidation happens (include/linux/mmu_notifier.h). KVM unmaps on
 * every kind; the kind is for reports. */
#define S2HOST_MN_TABLE(X) \
	X(S2HOST_MN_UNMAP, "unmap") \
	X(S2HOST_MN_CLEAR, "clear") \
	X(S2HOST_MN_PROTECTION_VMA, "protection-vma") \
	X(S2HOST_MN_PROTECTION_PAGE, "protection-page") \
	X(S2HOST_MN_SOFT_DIRTY, "soft-dirty") \
	X(S2HOST_MN_MIGRATE, "migrate")

enum s2host_mn_event {
#define S2HOST_MN_ENUM(id, name) id,
	S2HOST_MN_TABLE(S2HOST_MN_ENUM)
#undef S2HOST_MN_ENUM
	S2HOST_NR_MN_EVENTS
};

/*
 * A secondary MMU's callbacks. Ranges are [start, end) in hva bytes of
 * process mm. invalidate_start is called before the host changes or removes
 * any PTE in the range, invalidate_end after; between them the old page is
 * still allocated, after end it may be freed. clear_young clears the
 * secondary MMU's access flags and tells whether any was set; test_young
 * only tests. release: the process is gone.
 */
struct s2host_notifier {
	void (*invalidate_start)(void *arg, int mm, uint64_t start, uint64_t end,
				 enum s2host_mn_event ev);
	void (*invalidate_end)(void *arg, int mm, uint64_t start, uint64_t end,
			       enum s2host_mn_event ev);
	bool (*clear_young)(void *arg, int mm, uint64_t start, uint64_t end);
	bool (*test_young)(void *arg, int mm, uint64_t start, uint64_t end);
	void (*release)(void *arg, int mm);
};

#define S2HOST_MAX_NOTIFIERS 4	/* per process */

/* -EBUSY when the process has S2HOST_MAX_NOTIFIERS already. */
int s2host_notifier_register(struct s2host *h, int mm, const struct s2host_notifier *n,
			     void *arg);

/* ---- Processes and their address space --------------------------------- */

/* A new process with an empty address space; its id (>= 0) or -ENOMEM. */
int s2host_mm_create(struct s2host *h);
/* fork(): the child's id, or a negative error. */
int s2host_fork(struct s2host *h, int parent);
/* exit(): everything unmapped, notifiers released. */
int s2host_exit(struct s2host *h, int mm);

enum {
	S2HOST_PROT_READ = 1u << 0,
	S2HOST_PROT_WRITE = 1u << 1,
	S2HOST_MAP_THP = 1u << 2,	/* write faults on whole empty 2 MiB ranges get a THP */
	S2HOST_MAP_UFFD_WP = 1u << 3,	/* registered with userfaultfd in write-protect mode */
	S2HOST_MAP_UFFD_MISSING = 1u << 4, /* registered in missing mode */
	S2HOST_MAP_UFFD_MINOR = 1u << 5, /* registered in minor mode (memfd mappings only) */
	S2HOST_MAP_UFFD_FORK = 1u << 6,	/* UFFD_FEATURE_EVENT_FORK: a fork child stays registered */
};

/* Private anonymous mapping of [hva, hva + size), page aligned. */
int s2host_mmap(struct s2host *h, int mm, uint64_t hva, uint64_t size, unsigned flags);
int s2host_munmap(struct s2host *h, int mm, uint64_t hva, uint64_t size);
int s2host_madv_dontneed(struct s2host *h, int mm, uint64_t hva, uint64_t size);
/* Changes the protection; PMDs partly covered are split first. Making a
 * range writable leaves its PTEs read-only (the write fault decides). */
int s2host_mprotect(struct s2host *h, int mm, uint64_t hva, uint64_t size, unsigned prot);
/* echo 4 > /proc/PID/clear_refs: soft-dirty tracking write-protects every
 * writable PTE (pinned ones left alone if clear_refs_skips_pinned). */
int s2host_clear_refs(struct s2host *h, int mm);
/* UFFDIO_WRITEPROTECT: protect sets uffd-wp and write-protects; unprotect
 * clears uffd-wp and leaves the write bit to the fault handler. */
int s2host_uffd_wp(struct s2host *h, int mm, uint64_t hva, uint64_t size, bool protect);

/* ---- Shared memory (memfd) ------------------------------------------------ */

/* A memfd of npages pages: its id (>= 0) or a negative error. */
int s2host_memfd_create(struct s2host *h, unsigned npages);
/* A shared mapping of pages [off, off + size/4K) of memfd fd at hva;
 * flags as s2host_mmap (S2HOST_MAP_THP is ignored). Faults find the page in
 * the file's cache or add a zeroed one; a read fault also maps nearby cached
 * pages read-only (fault-around, a window of 16 pages), except in uffd-wp
 * registered ranges under uffd_markers. */
int s2host_mmap_memfd(struct s2host *h, int mm, uint64_t hva, uint64_t size, int fd,
		      unsigned off, unsigned flags);
/* fallocate(PUNCH_HOLE) in its two steps: unmap_mapping_range over every
 * mapping (a uffd-wp PTE leaves a marker under uffd_markers), then, as a
 * separate operation, the truncation: each page is unmapped again and
 * removed from the cache. */
int s2host_punch_unmap(struct s2host *h, int fd, unsigned off, unsigned npages);
int s2host_punch_truncate(struct s2host *h, int fd, unsigned off, unsigned npages);
/* Switch uffd_markers (before the first operation that uses uffd). */
void s2host_set_uffd_markers(struct s2host *h, bool on);
/* Switch uffd_wp_flush and uffd_fork_fix the same way. */
void s2host_set_uffd_wp_flush(struct s2host *h, bool on);
void s2host_set_uffd_fork_fix(struct s2host *h, bool on);
/* uffd-wp state of process mm's page at hva as its monitor sees it. */
bool s2host_uffd_protected(const struct s2host *h, int mm, uint64_t hva);

/* madvise(MADV_REMOVE) on a shared memfd mapping: the hole punch of the
 * file range behind [hva, hva+size). -EINVAL on a private mapping, -EACCES
 * on a read-only one, -ENOMEM where nothing is mapped. With rest NULL both
 * steps run; otherwise only the unmap, and rest names the range whose
 * truncation (s2host_punch_truncate) is the caller's second step. */
struct s2host_punch {
	int fd;
	unsigned off, npages;
};
int s2host_madv_remove(struct s2host *h, int mm, uint64_t hva, uint64_t size,
		       struct s2host_punch *rest);

/* ---- userfaultfd: messages and the handler's ioctls ---------------------- */

/*
 * A fault in a registered range that needs the monitor (a missing page in
 * MISSING mode, a page present in the file but not mapped in MINOR mode, a
 * write to a uffd-wp PTE) queues a message on the process's userfaultfd and
 * fails with -EAGAIN: the faulting thread blocks until the handler resolves
 * the address (UFFDIO_COPY, UFFDIO_CONTINUE, un-protect, UFFDIO_WAKE) and
 * then retries. A second fault on the same unresolved address joins the
 * same message. The handler is a thread of the caller's: it reads messages
 * and resolves them as separate steps, so anything may run in between.
 */
enum {
	S2HOST_UFFD_MISSING = 1u << 0,
	S2HOST_UFFD_WP = 1u << 1,
	S2HOST_UFFD_MINOR = 1u << 2,
};
const char *s2host_uffd_kind_name(unsigned kind);

struct s2host_uffd_msg {
	unsigned id;		/* > 0 */
	int mm;
	uint64_t hva;
	unsigned kind;
};
/* The message the last -EAGAIN fault queued or joined; 0 if none. */
unsigned s2host_uffd_last_msg(const struct s2host *h);
/* Whether the fault behind message id still waits for the handler. */
bool s2host_uffd_waiting(const struct s2host *h, unsigned id);
/* read(2) on process mm's userfaultfd: the oldest message not read yet;
 * -EAGAIN when there is none. */
int s2host_uffd_read(struct s2host *h, int mm, struct s2host_uffd_msg *out);
/* Whether process mm's userfaultfd has a message not read yet (poll). */
bool s2host_uffd_pending(const struct s2host *h, int mm);
/* UFFDIO_COPY of one page holding value to hva (a new anonymous page, or a
 * new page of the memfd's cache for a shared mapping); wp: MODE_WP, the
 * page arrives write-protected. -ENOENT outside a registered range, -EINVAL
 * for wp without uffd-wp registration, -EEXIST when a PTE (or a huge PMD)
 * is already there or, for a memfd, the file already has the page. Wakes
 * the faults waiting on hva. */
int s2host_uffdio_copy(struct s2host *h, int mm, uint64_t hva, uint64_t value, bool wp);
/* UFFDIO_ZEROPAGE: the zero page, read-only, for an anonymous mapping (a
 * none PTE only); a new zeroed page of the file for a memfd. Errors as
 * UFFDIO_COPY's; wakes the faults waiting on hva. */
int s2host_uffdio_zeropage(struct s2host *h, int mm, uint64_t hva);
/* UFFDIO_CONTINUE: map the page the memfd already holds (MINOR mode).
 * -EINVAL on an anonymous mapping, -EFAULT when the file has no page there,
 * -EEXIST when a PTE is already there. Wakes the faults waiting on hva. */
int s2host_uffdio_continue(struct s2host *h, int mm, uint64_t hva, bool wp);
/* UFFDIO_WAKE: wake the faults waiting on hva without resolving anything. */
int s2host_uffdio_wake(struct s2host *h, int mm, uint64_t hva);

/* ---- The host's CPUs and their TLBs (deferred flushes, S5.2) -------------- */

/* CPU cpu (0..63) loads or stores through its TLB: a hit uses the cached
 * translation, even a stale one a deferred flush has not removed yet; a miss
 * takes the access as s2host_read/s2host_write do and caches the result.
 * Every change that ends an invalidation flushes the TLBs for its range,
 * except a uffd-wp change made with s2host_uffd_wp_deferred. */
int s2host_cpu_read(struct s2host *h, int cpu, int mm, uint64_t hva, uint64_t *value);
int s2host_cpu_write(struct s2host *h, int cpu, int mm, uint64_t hva, uint64_t value);
/* UFFDIO_WRITEPROTECT as mwriteprotect_range() does it under the mmap read
 * lock: the PTEs change now, the TLB flush is deferred (tlb_flush_pending
 * raised) until s2host_tlb_flush_deferred(h, mm). */
int s2host_uffd_wp_deferred(struct s2host *h, int mm, uint64_t hva, uint64_t size, bool protect);
int s2host_tlb_flush_deferred(struct s2host *h, int mm);
/* fn runs once, inside the next COW copy of a small page, after the copy
 * is taken and before the new PTE replaces the old one and is flushed:
 * the window of S5.2. Only stores through a CPU's TLB (s2host_cpu_write
 * hits) can happen there; any other operation fails with -EBUSY, as a
 * faulting CPU would wait for the page-table lock. */
void s2host_set_copy_window(struct s2host *h, void (*fn)(void *arg, struct s2host *h), void *arg);
/* fn runs once, inside the next PMD split that sets PageDoubleMap (another
 * PMD still maps the folio; MAP1 to AE), after the flag and before the
 * subpages' mapcount offsets: a COW decision there reads a mapcount one
 * short (before c444eb564fb1, 5.8); from MAP2+F the split holds the page
 * lock and any operation there fails with -EBUSY. */
void s2host_set_split_window(struct s2host *h, void (*fn)(void *arg, struct s2host *h), void *arg);

/* ---- CPU accesses (with the fault handler) ------------------------------ */

/*
 * A process's load or store at hva: faults are taken as the host would
 * (anonymous fault, zero page for reads, COW write fault, swap-in). -EFAULT
 * with no mapping or no permission, -EAGAIN when a write hits a uffd-wp
 * protected page (the userfaultfd handler would be told; nothing written).
 */
int s2host_read(struct s2host *h, int mm, uint64_t hva, uint64_t *value);
int s2host_write(struct s2host *h, int mm, uint64_t hva, uint64_t value);

/* ---- GUP and the DMA device --------------------------------------------- */

enum {
	S2HOST_FOLL_WRITE = 1u << 0,
	S2HOST_FOLL_PIN = 1u << 1,	/* pin_user_pages (else get_user_pages) */
	S2HOST_FOLL_LONGTERM = 1u << 2,
	S2HOST_FOLL_FORCE = 1u << 3,
	S2HOST_FOLL_FAST_ONLY = 1u << 4, /* get_user_page_fast_only: no fault, -EAGAIN instead */
	/* The model's, not Linux's: a reference its holder checks against the
	 * MMU notifier's sequence before use and drops at once (KVM's fault
	 * handler); get-stable does not watch it. */
	S2HOST_FOLL_NOTIFIED = 1u << 5,
};

/* A GUP result: the reference is released with s2host_unref(h, id). */
struct s2host_gup_result {
	unsigned id;		/* the reference */
	uint64_t pfn;
	bool writable;		/* the host PTE was writable when taken */
	bool huge;		/* mapped by a PMD (a 2 MiB block could map it) */
};

/*
 * get_user_pages / pin_user_pages for one page of process mm: faults the
 * page in as the policy's GUP did (write fault for FOLL_WRITE, forced COW
 * break under MAP2+F, unshare of an R/O pin under AE), then takes the
 * reference. -EFAULT without a mapping or permission; -EAGAIN for
 * FOLL_FAST_ONLY when a fault would be needed.
 */
int s2host_gup(struct s2host *h, int mm, uint64_t hva, unsigned foll,
	       struct s2host_gup_result *out);
/* put_page / unpin_user_page of a GUP reference. -ENOENT if not held. */
int s2host_unref(struct s2host *h, unsigned id);
/* Access through a held reference: a pipe read (vmsplice), O_DIRECT or a
 * DMA device. Writes need a reference taken with FOLL_WRITE. */
int s2host_ref_read(struct s2host *h, unsigned id, uint64_t *value);
int s2host_ref_write(struct s2host *h, unsigned id, uint64_t value);
/* A secondary MMU (a vCPU through stage 2) reads or writes page pfn
 * directly, on behalf of process mm: checked like the process's own
 * accesses (a freed page, another process's post-fork write). */
int s2host_pfn_read(struct s2host *h, int mm, uint64_t pfn, uint64_t *value);
int s2host_pfn_write(struct s2host *h, int mm, uint64_t pfn, uint64_t value);
/* s2host_pfn_write for a secondary MMU that translated process mm's
 * address hva to pfn (a vCPU's store through stage 2): checked as the
 * process's own store at hva too (uffd-wp: the monitor protected hva). */
int s2host_pfn_write_at(struct s2host *h, int mm, uint64_t hva, uint64_t pfn, uint64_t value);
/* A driver's put_page on a page it holds no reference to (a bug to catch). */
int s2host_put_page(struct s2host *h, uint64_t pfn);

/* ---- Host events that replace or unmap pages ---------------------------- */

/* __split_huge_pmd: the PMD covering hva becomes 512 PTEs of the same folio. */
int s2host_split_pmd(struct s2host *h, int mm, uint64_t hva);
/* split_huge_page of the folio holding pfn: -EBUSY with unexpected
 * references (pins, GUP); PMD mappings are split first. */
int s2host_split_folio(struct s2host *h, uint64_t pfn);
/* khugepaged: collapse the 2 MiB range at hva into a new THP. -EBUSY when a
 * page has references beyond its mappings, -ENOENT when not all populated. */
int s2host_collapse(struct s2host *h, int mm, uint64_t hva);
/* Migrate (or NUMA-balance) the small page mapped at hva to a new page.
 * -EBUSY with unexpected references. */
int s2host_migrate(struct s2host *h, int mm, uint64_t hva);
/* KSM merges the page at hva into a (read-only, shared) KSM page. */
int s2host_ksm_merge(struct s2host *h, int mm, uint64_t hva);
/* Reclaim: add the page at hva to the swap cache and unmap it everywhere;
 * free it if nothing else holds it. -EBUSY if it may be pinned and
 * swap_skips_pinned is set, or under AE when it is exclusive and may be
 * pinned (try_to_unmap fails; the page then stays in the swap cache). */
int s2host_swap_out(struct s2host *h, int mm, uint64_t hva);
/* The same in its two steps, for what runs between them (a GUP-fast pin
 * after shrink_page_list's pinned check): add_to_swap (the page stays
 * mapped) and try_to_unmap (-ENOENT if the page is not in the swap cache). */
int s2host_swap_add(struct s2host *h, int mm, uint64_t hva);
int s2host_swap_unmap(struct s2host *h, int mm, uint64_t hva);
/* A fresh page waits in a CPU's LRU batch: one transient reference
 * (lru_cache_add), until s2host_lru_drain() (lru_add_drain). */
int s2host_lru_add(struct s2host *h, int mm, uint64_t hva);
int s2host_lru_drain(struct s2host *h);
/* Reclaim aging of [hva, hva+size): clears young bits and the secondary
 * MMUs' access flags; true if anything was young. */
bool s2host_age(struct s2host *h, int mm, uint64_t hva, uint64_t size);

/* ---- Inspection ----------------------------------------------------------- */

struct s2host_pte_view {
	bool present, writable, dirty, young, soft_dirty, uffd_wp;
	bool huge;	/* mapped by a PMD */
	bool swap;	/* a swap entry */
	uint64_t pfn;	/* S2HOST_NO_PFN when not present */
};
int s2host_lookup(const struct s2host *h, int mm, uint64_t hva, struct s2host_pte_view *out);

struct s2host_page_view {
	bool freed, anon, ksm, zero, large, swapcache, anon_exclusive, maybe_dma_pinned;
	int refcount, entire_mapcount, pincount, mapcount;	/* mapcount: of this subpage */
	bool double_map;	/* PageDoubleMap (4.5-6.1) */
	int page_mapcount;	/* page_mapcount(): read from the encoding */
	uint64_t head;
	uint64_t value;
};
int s2host_page(const struct s2host *h, uint64_t pfn, struct s2host_page_view *out);
bool s2host_mm_has_pinned(const struct s2host *h, int mm);

struct s2host_stats {
	uint64_t ops, faults, cow_copies, cow_reuses, unshares, zero_maps;
	uint64_t uffd_msgs, uffd_resolved;
	uint64_t invalidations, folios_allocated, folios_freed;
	uint64_t violations[S2HOST_NR_RULES];
};
const struct s2host_stats *s2host_stats(const struct s2host *h);

struct s2host_violation {
	enum s2host_rule rule;
	uint64_t op;		/* the operation (s2host_stats.ops) it fired in */
	int mm;			/* -1 if none */
	uint64_t hva, pfn;
	char what[200];
};
unsigned s2host_nr_violations(const struct s2host *h);
const struct s2host_violation *s2host_violation(const struct s2host *h, unsigned i);

/* Check every invariant now (done after each operation unless
 * check_every_op is off); returns the number of new violations. */
unsigned s2host_check(struct s2host *h);

#endif
