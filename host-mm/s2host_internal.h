/* s2host internals shared by the files of host-mm/. */
#ifndef S2HOST_INTERNAL_H
#define S2HOST_INTERNAL_H

#include "host-mm/s2host.h"

/* PTE and PMD bits. */
enum {
	PTE_PRESENT = 1u << 0,
	PTE_WRITE = 1u << 1,
	PTE_DIRTY = 1u << 2,
	PTE_YOUNG = 1u << 3,
	PTE_SOFT_DIRTY = 1u << 4,
	PTE_UFFD_WP = 1u << 5,
	PTE_SWAP = 1u << 6,	/* not present; pfn holds the swap slot */
	PTE_MARKER = 1u << 7,	/* not present: PTE_MARKER_UFFD_WP (with PTE_UFFD_WP) */
	PTE_SWP_EXCL = 1u << 8,	/* with PTE_SWAP under AE: the page was AnonExclusive
				 * when unmapped (pte_swp_exclusive, 1493a1913e34) */
};

/* Per-page VMA bits (a VMA is the run of pages with equal bits). */
enum {
	VMA_MAPPED = 1u << 0,
	VMA_WRITE = 1u << 1,
	VMA_THP = 1u << 2,
	VMA_UFFD_WP = 1u << 3,
	VMA_SHARED = 1u << 4,	/* a shared mapping of a memfd (vfile, voff) */
	VMA_UFFD_MISSING = 1u << 5,	/* registered in missing mode */
	VMA_UFFD_MINOR = 1u << 6,	/* registered in minor mode (shmem) */
	VMA_UFFD_FORK = 1u << 7,	/* UFFD_FEATURE_EVENT_FORK: a child stays registered */
	VMA_UFFD_ANY = VMA_UFFD_WP | VMA_UFFD_MISSING | VMA_UFFD_MINOR | VMA_UFFD_FORK,
};

struct s2host__folio {
	uint64_t head;		/* first pfn */
	unsigned order;		/* 0 or S2HOST_THP_ORDER */
	int ref;		/* _refcount */
	int entire;		/* PMD mappings (entire / compound mapcount) */
	int pincount;		/* _pincount, large folios only */
	int owner;		/* the mm whose anon_vma holds it (rmap) */
	unsigned slot;		/* swap slot while in the swap cache */
	bool anon, ksm, zero, swapcache, lru_batch;
	bool double_map;	/* PageDoubleMap (4.5-6.1: MAP1 to AE here) */
	bool in_cache;		/* in its file's page cache (one reference) */
	bool silent_write;	/* written while uffd-wp protected, unseen by the monitor */
	int file;		/* the memfd it belongs to, -1 for anonymous */
	unsigned index;		/* its page offset in that file */
	bool freed;		/* refcount reached 0 */
	bool dead;		/* split into small folios (not freed) */
	bool reported;		/* a refcount violation was reported */
};

struct s2host__page {
	unsigned folio;
	int mapcount;		/* PTE mappings of this page */
	int dm_offset;		/* PageDoubleMap's +1 in its encoded _mapcount */
	bool ae;		/* PageAnonExclusive (kept under POL-AE only) */
	uint64_t value;		/* contents */
	unsigned writer;	/* index into the write log; 0: never written */
};

struct s2host__pte {
	uint64_t pfn;
	unsigned fl;
};

struct s2host__mm {
	bool alive;
	int parent;
	/* the write log's length when fork copied the page tables: the
	 * writes logged before it are the child's history too */
	unsigned fork_w;
	bool has_pinned;	/* MMF_HAS_PINNED */
	struct s2host__pte *pte;	/* nr_pages */
	struct s2host__pte *pmd;	/* nr_pages / 512 */
	uint8_t *vma;		/* nr_pages */
	uint16_t *vfile;	/* shared mappings: memfd + 1 of each page, 0 if anonymous */
	uint32_t *voff;		/* and the page offset in it */
	uint8_t *wp;		/* the uffd monitor's view: page write-protected */
	int tlb_flush_pending;	/* mm->tlb_flush_pending: deferred uffd-wp flushes */
	struct s2host_notifier mn[S2HOST_MAX_NOTIFIERS];
	void *mn_arg[S2HOST_MAX_NOTIFIERS];
	unsigned nr_mn;
};

struct s2host__ref {
	bool live;
	bool pin, longterm, write;
	bool notified;		/* S2HOST_FOLL_NOTIFIED: not watched by get-stable */
	bool detached;		/* its process unmapped the address itself */
	bool broken;		/* pin-stable already reported */
	int mm;
	unsigned mms;		/* processes that existed when it was taken */
	uint64_t vpn, pfn;
};

struct s2host__slot {
	uint64_t value;
	unsigned writer;
	uint64_t pfn;		/* in the swap cache, or S2HOST_NO_PFN */
	int count;		/* swap PTEs naming it */
};

struct s2host__write {
	int mm;			/* the writer (for a device: the process it works for) */
};

struct s2host__file {
	unsigned nr_pages;
	uint64_t *cache;	/* pfn per page offset, or S2HOST_NO_PFN */
	bool punching;		/* inode->i_private: a hole punch in progress */
};

/* A userfaultfd message: a fault waiting for the handler (handle_userfault). */
struct s2host__msg {
	unsigned id;
	int mm;
	uint64_t vpn;
	unsigned kind;		/* S2HOST_UFFD_MISSING, _WP or _MINOR */
	bool read;		/* the handler has read it */
	bool woken;		/* resolved: the faulting thread may retry */
};

/* A CPU's TLB entry for a process's page (the host's own CPUs). */
struct s2host__tlb {
	int cpu, mm;
	uint64_t vpn, pfn;
	bool writable, live;
};

struct s2host {
	struct s2host_config cfg;
	struct s2host__msg *msg;	/* waiting faults, oldest first */
	unsigned nr_msg, cap_msg;
	unsigned next_msg, last_msg;	/* message ids: the next, the last -EAGAIN's */
	struct s2host__tlb *tlb;
	unsigned nr_tlb, cap_tlb;
	bool deferring;		/* a uffd-wp change is deferring its TLB flush */
	void (*copy_hook)(void *, struct s2host *);	/* the next COW copy's window */
	void *copy_hook_arg;
	bool in_window, window_store;	/* inside it; a TLB store inside it */
	void (*split_hook)(void *, struct s2host *);	/* the next PMD split's window */
	void *split_hook_arg;
	bool in_split_window, split_page_locked;	/* inside it; c444eb564fb1's page lock */
	struct s2host__pend {	/* protects whose ioctl has not returned */
		int mm;
		uint64_t vpn, n;
	} *pend;
	unsigned nr_pend, cap_pend;
	struct s2host__file *file;
	unsigned nr_file, cap_file;
	struct s2host__folio *folio;
	unsigned nr_folio, cap_folio;
	struct s2host__page *page;
	uint64_t nr_page, cap_page;
	struct s2host__mm *mm;
	unsigned nr_mm, cap_mm;
	struct s2host__ref *ref;
	unsigned nr_ref, cap_ref;
	struct s2host__slot *slot;
	unsigned nr_slot, cap_slot;
	struct s2host__write *wlog;
	unsigned nr_wlog, cap_wlog;
	uint64_t *puts;		/* pfns whose mapping reference drops after the invalidation */
	unsigned nr_puts, cap_puts;
	struct s2host_violation *viol;
	unsigned nr_viol, cap_viol;
	int *scratch;		/* per folio, for the checks */
	unsigned cap_scratch;
	struct s2host_stats stats;
	bool oom;
};

#endif
