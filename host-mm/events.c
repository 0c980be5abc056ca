/* Host events: fork and exit, THP split and collapse, migration, KSM,
 * swap-out, LRU batches and reclaim aging. */
#include <string.h>

#include "common/s2_err.h"
#include "host-mm/s2host_cow.h"

static int page_arg(struct s2host *h, int mm, uint64_t hva, uint64_t *vpn)
{
	if (!s2host__mm_ok(h, mm) || hva % S2HOST_PAGE_SIZE)
		return S2_EINVAL;
	if (hva >> S2HOST_PAGE_SHIFT >= h->cfg.nr_pages)
		return S2_ERANGE;
	*vpn = hva >> S2HOST_PAGE_SHIFT;
	return 0;
}

/* References beyond mappings and the swap cache: pins, GUP, LRU batches. */
static int extra_refs(const struct s2host *h, const struct s2host__folio *f)
{
	int n = f->entire;
	for (unsigned i = 0; i < (1u << f->order); i++)
		n += h->page[f->head + i].mapcount;
	return f->ref - n - f->swapcache;
}

/* ---- fork and exit --------------------------------------------------------- */

int s2host_fork(struct s2host *h, int parent)
{
	if (!s2host__mm_ok(h, parent))
		return S2_EINVAL;
	int err = s2host__begin(h, h->cfg.nr_pages, h->cfg.nr_pages);
	if (err)
		return err;
	int child = s2host__new_mm(h, parent);
	if (child < 0)
		return s2host__end(h, child);
	struct s2host__mm *P = &h->mm[parent], *C = &h->mm[child];
	unsigned n = h->cfg.nr_pages;
	bool ae = h->cfg.policy == S2HOST_POL_AE;
	/* 70e806e4e645 (5.9): a maybe-pinned page is copied for the child at
	 * once; under AE page_try_dup_anon_rmap() fails for it the same way */
	bool early_cow = h->cfg.policy >= S2HOST_POL_CNT;

	memcpy(C->vma, P->vma, n);
	memcpy(C->vfile, P->vfile, n * sizeof(*C->vfile));
	memcpy(C->voff, P->voff, n * sizeof(*C->voff));
	memcpy(C->wp, P->wp, n);
	/* dup_userfaultfd(): without UFFD_FEATURE_EVENT_FORK the child's
	 * VMAs are not registered and its monitor sees nothing */
	for (unsigned v = 0; v < n; v++)
		if (!(C->vma[v] & VMA_UFFD_FORK)) {
			C->vma[v] &= (uint8_t)~VMA_UFFD_ANY;
			C->wp[v] = 0;
		}
	s2host__inval_start(h, parent, 0, n, S2HOST_MN_PROTECTION_PAGE);
	/* The copy starts once the secondary MMUs are invalidated: a guest's
	 * store through stage 2 while KVM unmapped was before the fork. */
	C->fork_w = h->nr_wlog;
	for (unsigned i = 0; i < n / S2HOST_THP_PAGES; i++) {
		struct s2host__pte *pmd = &P->pmd[i];
		if (!(pmd->fl & PTE_PRESENT))
			continue;
		struct s2host__folio *f = s2host__folio_of(h, pmd->pfn);
		if (early_cow && P->has_pinned && s2host__maybe_dma_pinned(f)) {
			/* "mm/thp: Split huge pmds/puds if they're pinned when fork()" */
			s2host__split_pmd_locked(h, parent, (uint64_t)i * S2HOST_THP_PAGES);
			continue;
		}
		pmd->fl &= ~(unsigned)PTE_WRITE;
		C->pmd[i] = *pmd;
		/* copy_huge_pmd(): the same uffd-wp test as for PTEs below */
		unsigned b = i * S2HOST_THP_PAGES;
		if (!((h->cfg.uffd_fork_fix ? C->vma[b] : P->vma[b]) & VMA_UFFD_WP))
			C->pmd[i].fl &= ~(unsigned)PTE_UFFD_WP;
		f->entire++;
		f->ref++;
		if (ae)
			for (unsigned j = 0; j < S2HOST_THP_PAGES; j++)
				h->page[f->head + j].ae = false;
	}
	for (unsigned v = 0; v < n; v++) {
		struct s2host__pte *pte = &P->pte[v];
		/* userfaultfd_wp(dst_vma); before 8f34f1eac382 the parent's VMA
		 * was tested, so its uffd-wp bits always went to the child */
		bool child_wp = h->cfg.uffd_fork_fix ? C->vma[v] & VMA_UFFD_WP
						     : P->vma[v] & VMA_UFFD_WP;
		if (P->vma[v] & VMA_SHARED) {
			/* shared file pages: the child faults them in; a registered
			 * child keeps a protected page's state as a marker */
			if (h->cfg.uffd_markers && (C->vma[v] & VMA_UFFD_WP) &&
			    (pte->fl & PTE_UFFD_WP))
				C->pte[v] = (struct s2host__pte){ 0, PTE_MARKER | PTE_UFFD_WP };
			continue;
		}
		if (pte->fl & PTE_SWAP) {
			h->slot[pte->pfn].count++;
			/* copy_nonpresent_pte(): the entry is shared now */
			pte->fl &= ~(unsigned)PTE_SWP_EXCL;
			C->pte[v] = *pte;
			/* copy_nonpresent_pte() kept the bit on swap entries
			 * until 8f34f1eac382 */
			if (h->cfg.uffd_fork_fix && !(C->vma[v] & VMA_UFFD_WP))
				C->pte[v].fl &= ~(unsigned)PTE_UFFD_WP;
			continue;
		}
		if (!(pte->fl & PTE_PRESENT))
			continue;
		struct s2host__folio *f = s2host__folio_of(h, pte->pfn);
		if (f->zero) {
			C->pte[v] = *pte;
		} else if (early_cow && P->has_pinned && s2host__maybe_dma_pinned(f)) {
			/* copy_present_page(): the child gets its own copy now */
			uint64_t new = s2host__alloc(h, 0, child);
			s2host__copy_page(h, new, pte->pfn);
			h->page[new].mapcount = 1;
			h->page[new].ae = ae;
			/* a protected page stays protected in a registered child
			 * (8f34f1eac382); before, copy_present_page() made the
			 * copy writable without the bit */
			unsigned wp = h->cfg.uffd_fork_fix && (C->vma[v] & VMA_UFFD_WP)
					      ? pte->fl & PTE_UFFD_WP : 0;
			C->pte[v] = (struct s2host__pte){
				new, PTE_PRESENT | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY | wp |
					     (C->vma[v] & VMA_WRITE && !wp ? PTE_WRITE : 0) };
			continue;
		} else {
			pte->fl &= ~(unsigned)PTE_WRITE;
			C->pte[v] = *pte;
			h->page[pte->pfn].mapcount++;
			s2host__get(h, pte->pfn, 1);
			if (ae)
				h->page[pte->pfn].ae = false;
		}
		if (!child_wp)
			C->pte[v].fl &= ~(unsigned)PTE_UFFD_WP;
	}
	s2host__inval_end(h, parent, 0, n, S2HOST_MN_PROTECTION_PAGE);

	/* uffd-wp-fork: the child's uffd-wp state is its own registration's */
	for (unsigned v = 0; v < n; v++) {
		const struct s2host__pte *pmd = &C->pmd[v / S2HOST_THP_PAGES];
		const struct s2host__pte *pte = pmd->fl & PTE_PRESENT ? pmd : &C->pte[v];
		if (pte == pmd && v % S2HOST_THP_PAGES)
			continue;	/* once per PMD */
		if (!(C->vma[v] & VMA_UFFD_WP) && (pte->fl & PTE_UFFD_WP))
			s2host__violate(h, S2HOST_RULE_UFFD_WP_FORK, child, v, S2HOST_NO_PFN,
					"child %d's %s at 0x%llx keeps uffd-wp though its VMA is not "
					"registered (no UFFD_FEATURE_EVENT_FORK)", child,
					pte->fl & PTE_SWAP ? "swap entry" : "PTE",
					(unsigned long long)((uint64_t)v << S2HOST_PAGE_SHIFT));
		else if ((C->vma[v] & VMA_UFFD_WP) && C->wp[v] && (pte->fl & PTE_PRESENT) &&
			 !(pte->fl & PTE_UFFD_WP))
			s2host__violate(h, S2HOST_RULE_UFFD_WP_FORK, child, v, pte->pfn,
					"child %d's page at 0x%llx lost uffd-wp at fork though its "
					"monitor (EVENT_FORK) protected it", child,
					(unsigned long long)((uint64_t)v << S2HOST_PAGE_SHIFT));
	}

	/* fork-pin: the child never shares a page the parent holds pinned */
	for (unsigned i = 0; i < h->nr_ref; i++) {
		const struct s2host__ref *r = &h->ref[i];
		if (r->live && r->pin && r->mm == parent && r->pfn != S2HOST_ZERO_PFN &&
		    s2host__mapped_pfn(h, child, r->vpn) == r->pfn)
			s2host__violate(h, S2HOST_RULE_FORK_PIN, child, r->vpn, r->pfn,
					"child %d shares page %llu that parent %d holds pinned "
					"(pin %u): the parent's next write will copy it away from "
					"the device", child, (unsigned long long)r->pfn, parent, i);
	}
	return s2host__end(h, child);
}

int s2host_exit(struct s2host *h, int mm)
{
	if (!s2host__mm_ok(h, mm))
		return S2_EINVAL;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	s2host__zap(h, mm, 0, h->cfg.nr_pages, S2HOST_MN_UNMAP);
	struct s2host__mm *m = &h->mm[mm];
	memset(m->vma, 0, h->cfg.nr_pages);
	for (unsigned i = 0; i < m->nr_mn; i++)
		if (m->mn[i].release)
			m->mn[i].release(m->mn_arg[i], mm);
	m->nr_mn = 0;
	/* the userfaultfd goes with it: nothing waits on it any more */
	s2host__uffd_wake(h, mm, 0, h->cfg.nr_pages);
	s2host__uffd_unpend(h, mm, 0, h->cfg.nr_pages);
	m->tlb_flush_pending = 0;
	m->alive = false;
	return s2host__end(h, 0);
}

/* ---- THP ------------------------------------------------------------------ */

int s2host_split_pmd(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	if (!(s2host__pmd(h, mm, vpn)->fl & PTE_PRESENT))
		return s2host__end(h, S2_ENOENT);
	uint64_t base = vpn - vpn % S2HOST_THP_PAGES;
	s2host__inval_start(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	s2host__split_pmd_locked(h, mm, vpn);
	s2host__inval_end(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	return s2host__end(h, 0);
}

int s2host_split_folio(struct s2host *h, uint64_t pfn)
{
	if (pfn >= h->nr_page)
		return S2_EINVAL;
	int err = s2host__begin(h, 0, S2HOST_THP_PAGES);
	if (err)
		return err;
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	if (!f->order || f->freed || f->dead)
		return s2host__end(h, S2_EINVAL);
	/* can_split_folio(): no references beyond the mappings */
	if (extra_refs(h, f))
		return s2host__end(h, S2_EBUSY);
	unsigned fi = h->page[pfn].folio;
	uint64_t head = f->head, last = head + S2HOST_THP_PAGES;

	/* Unmap through migration entries and remap: every mapper hears of it. */
	for (unsigned mm = 0; mm < h->nr_mm; mm++) {
		struct s2host__mm *m = &h->mm[mm];
		if (!m->alive)
			continue;
		for (unsigned i = 0; i < h->cfg.nr_pages / S2HOST_THP_PAGES; i++)
			if ((m->pmd[i].fl & PTE_PRESENT) && m->pmd[i].pfn == head) {
				uint64_t base = (uint64_t)i * S2HOST_THP_PAGES;
				s2host__inval_start(h, (int)mm, base, S2HOST_THP_PAGES,
						    S2HOST_MN_CLEAR);
				s2host__split_pmd_locked(h, (int)mm, base);
				s2host__inval_end(h, (int)mm, base, S2HOST_THP_PAGES,
						  S2HOST_MN_CLEAR);
			}
		for (unsigned v = 0; v < h->cfg.nr_pages; v++)
			if ((m->pte[v].fl & PTE_PRESENT) && m->pte[v].pfn >= head &&
			    m->pte[v].pfn < last) {
				s2host__inval_start(h, (int)mm, v, 1, S2HOST_MN_CLEAR);
				s2host__inval_end(h, (int)mm, v, 1, S2HOST_MN_CLEAR);
			}
	}
	f = &h->folio[fi];
	int owner = f->owner;
	f->dead = true;
	for (unsigned i = 0; i < S2HOST_THP_PAGES; i++) {
		unsigned ni = h->nr_folio++;
		struct s2host__folio *nf = &h->folio[ni];
		memset(nf, 0, sizeof(*nf));
		nf->head = head + i;
		nf->anon = true;
		nf->owner = owner;
		nf->ref = h->page[head + i].mapcount;
		h->page[head + i].folio = ni;
		if (!nf->ref) {
			nf->freed = true;	/* an unmapped part of the THP */
			h->stats.folios_freed++;
		}
	}
	return s2host__end(h, 0);
}

int s2host_collapse(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t base;
	int err = page_arg(h, mm, hva, &base);
	if (err)
		return err;
	if (base % S2HOST_THP_PAGES)
		return S2_EINVAL;
	if ((err = s2host__begin(h, S2HOST_THP_PAGES, 1)))
		return err;
	struct s2host__mm *m = &h->mm[mm];
	if (s2host__pmd(h, mm, base)->fl & PTE_PRESENT)
		return s2host__end(h, S2_EAGAIN);	/* already huge */
	for (unsigned i = 0; i < S2HOST_THP_PAGES; i++) {
		const struct s2host__pte *pte = &m->pte[base + i];
		if (m->vma[base + i] != m->vma[base] || !(pte->fl & PTE_PRESENT))
			return s2host__end(h, S2_ENOENT);
		struct s2host__folio *f = s2host__folio_of(h, pte->pfn);
		if (f->zero || f->ksm || !f->anon || (pte->fl & PTE_UFFD_WP))
			return s2host__end(h, S2_ENOENT);
		/* before 5.8 khugepaged refused pages shared across fork */
		if (h->cfg.policy < S2HOST_POL_MAP2F && h->page[pte->pfn].mapcount != 1)
			return s2host__end(h, S2_EBUSY);
		/* is_refcount_suitable(): no pins, no GUP, no transient refs */
		if (extra_refs(h, f))
			return s2host__end(h, S2_EBUSY);
	}
	s2host__inval_start(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	uint64_t new = s2host__alloc(h, S2HOST_THP_ORDER, mm);
	s2host__folio_of(h, new)->entire = 1;
	for (unsigned i = 0; i < S2HOST_THP_PAGES; i++) {
		struct s2host__pte *pte = &m->pte[base + i];
		s2host__copy_page(h, new + i, pte->pfn);
		h->page[new + i].ae = h->cfg.policy == S2HOST_POL_AE;
		h->page[pte->pfn].mapcount--;
		if (!h->page[pte->pfn].mapcount)
			h->page[pte->pfn].ae = false;
		s2host__put_later(h, pte->pfn);
		*pte = (struct s2host__pte){ 0, 0 };
	}
	*s2host__pmd(h, mm, base) = (struct s2host__pte){
		new, PTE_PRESENT | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY |
			     (m->vma[base] & VMA_WRITE ? PTE_WRITE : 0) };
	s2host__inval_end(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	return s2host__end(h, 0);
}

/* ---- Replace the page: migration and KSM ------------------------------- */

/* The rmap walk: fn on every present PTE of every live process that maps
 * pfn, each inside its own invalidation. */
static void rmap_walk(struct s2host *h, uint64_t pfn,
		      void (*fn)(struct s2host *, struct s2host__pte *, uint64_t old, void *),
		      void *arg)
{
	for (unsigned i = 0; i < h->nr_mm; i++) {
		struct s2host__mm *m = &h->mm[i];
		if (!m->alive)
			continue;
		for (unsigned v = 0; v < h->cfg.nr_pages; v++) {
			if (!(m->pte[v].fl & PTE_PRESENT) || m->pte[v].pfn != pfn)
				continue;
			s2host__inval_start(h, (int)i, v, 1, S2HOST_MN_CLEAR);
			h->page[pfn].mapcount--;
			s2host__put_later(h, pfn);
			fn(h, &m->pte[v], pfn, arg);
			s2host__inval_end(h, (int)i, v, 1, S2HOST_MN_CLEAR);
		}
	}
}

/* Migration: the PTE points at the new page, flags kept. */
static void move_pte(struct s2host *h, struct s2host__pte *pte, uint64_t old, void *arg)
{
	uint64_t new = *(uint64_t *)arg;
	(void)old;
	pte->pfn = new;
	h->page[new].mapcount++;
	s2host__get(h, new, 1);
}

/* Swap-out: the PTE becomes a swap entry naming the slot. */
static void swap_pte(struct s2host *h, struct s2host__pte *pte, uint64_t old, void *arg)
{
	unsigned si = *(unsigned *)arg;
	/* 5.19 (1493a1913e34, arm64 with it): try_to_unmap() keeps
	 * PageAnonExclusive in the swap PTE, so swap-in restores it even
	 * when a FOLL_GET reference (O_DIRECT) raises the refcount */
	unsigned excl = h->cfg.policy == S2HOST_POL_AE && h->page[old].ae ? PTE_SWP_EXCL : 0;
	*pte = (struct s2host__pte){ si, PTE_SWAP | excl | (pte->fl & PTE_UFFD_WP) };
	h->slot[si].count++;
}

/* The small anon page mapped at vpn, or an error. */
static int small_anon(struct s2host *h, int mm, uint64_t vpn, uint64_t *pfn)
{
	*pfn = s2host__mapped_pfn(h, mm, vpn);
	if (*pfn == S2HOST_NO_PFN)
		return S2_ENOENT;
	const struct s2host__folio *f = s2host__folio_of(h, *pfn);
	if (f->zero || f->order || !f->anon)
		return S2_EINVAL;
	return 0;
}

int s2host_migrate(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn, old;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 1, 1)))
		return err;
	if ((err = small_anon(h, mm, vpn, &old)))
		return s2host__end(h, err);
	struct s2host__folio *f = s2host__folio_of(h, old);
	/* folio_migrate_mapping(): the refcount must be exactly the expected one */
	if (f->ksm || f->swapcache || extra_refs(h, f))
		return s2host__end(h, S2_EBUSY);
	uint64_t new = s2host__alloc(h, 0, f->owner);
	s2host__copy_page(h, new, old);
	h->page[new].ae = h->page[old].ae;
	s2host__folio_of(h, new)->ref = 0;
	rmap_walk(h, old, move_pte, &new);
	h->page[old].ae = false;
	return s2host__end(h, 0);
}

int s2host_ksm_merge(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn, old;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 1, 1)))
		return err;
	if ((err = small_anon(h, mm, vpn, &old)))
		return s2host__end(h, err);
	struct s2host__folio *f = s2host__folio_of(h, old);
	if (f->ksm)
		return s2host__end(h, S2_EAGAIN);
	/* write_protect_page(): mapcount + swapped must equal the refcount
	 * (under AE, page_try_share_anon_rmap() also refuses a pinned page) */
	if (extra_refs(h, f))
		return s2host__end(h, S2_EBUSY);
	uint64_t kpfn = S2HOST_NO_PFN;
	for (unsigned i = 0; i < h->nr_folio && kpfn == S2HOST_NO_PFN; i++)
		if (h->folio[i].ksm && !h->folio[i].freed &&
		    h->page[h->folio[i].head].value == h->page[old].value)
			kpfn = h->folio[i].head;
	if (kpfn == S2HOST_NO_PFN) {
		kpfn = s2host__alloc(h, 0, -1);
		s2host__copy_page(h, kpfn, old);
		s2host__folio_of(h, kpfn)->ksm = true;
		s2host__folio_of(h, kpfn)->ref = 0;
	}
	struct s2host__pte *pte = &h->mm[mm].pte[vpn];
	s2host__inval_start(h, mm, vpn, 1, S2HOST_MN_CLEAR);
	h->page[old].mapcount--;
	h->page[old].ae = false;
	s2host__put_later(h, old);
	*pte = (struct s2host__pte){ kpfn, PTE_PRESENT | PTE_YOUNG | (pte->fl & PTE_UFFD_WP) };
	h->page[kpfn].mapcount++;
	s2host__get(h, kpfn, 1);
	s2host__inval_end(h, mm, vpn, 1, S2HOST_MN_CLEAR);
	return s2host__end(h, 0);
}

/* ---- Reclaim ----------------------------------------------------------------- */

/* add_to_swap(): the small anonymous page at vpn enters the swap cache
 * (one reference) and stays mapped. */
static int swap_add(struct s2host *h, int mm, uint64_t vpn)
{
	uint64_t pfn;
	int err = small_anon(h, mm, vpn, &pfn);
	if (err)
		return err;
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	if (f->ksm || f->swapcache)
		return S2_EBUSY;
	/* feb889fb40fa (5.11-rc4, stable 5.10.y): shrink_page_list() keeps a
	 * maybe-pinned page out of the swap cache */
	if (h->cfg.swap_skips_pinned && s2host__maybe_dma_pinned(f))
		return S2_EBUSY;
	unsigned si = h->nr_slot++;
	h->slot[si] = (struct s2host__slot){ h->page[pfn].value, h->page[pfn].writer, pfn, 0 };
	f->swapcache = true;
	f->slot = si;
	s2host__get(h, pfn, 1);
	return 0;
}

/* try_to_unmap() of a swap-cache page: every PTE mapping it becomes its
 * swap entry; the page is freed once only the cache holds it (written out:
 * pageout() runs only when nothing else holds a reference). */
static int swap_unmap(struct s2host *h, uint64_t pfn)
{
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	/* 5.19: an exclusive page's exclusivity cannot be dropped while it may
	 * be pinned (page_try_share_anon_rmap), so try_to_unmap() fails */
	if (h->cfg.policy == S2HOST_POL_AE && h->page[pfn].ae && s2host__maybe_dma_pinned(f))
		return S2_EBUSY;
	unsigned si = f->slot;
	rmap_walk(h, pfn, swap_pte, &si);
	h->page[pfn].ae = false;
	s2host__flush_puts(h);
	if (f->ref == 1) {
		f->swapcache = false;
		h->slot[si].pfn = S2HOST_NO_PFN;
		s2host__put(h, pfn, 1);
	}
	return 0;
}

int s2host_swap_out(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	if ((err = swap_add(h, mm, vpn)))
		return s2host__end(h, err);
	return s2host__end(h, swap_unmap(h, s2host__mapped_pfn(h, mm, vpn)));
}

int s2host_swap_add(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	return s2host__end(h, swap_add(h, mm, vpn));
}

int s2host_swap_unmap(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn, pfn;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	if ((err = small_anon(h, mm, vpn, &pfn)))
		return s2host__end(h, err);
	if (!s2host__folio_of(h, pfn)->swapcache)
		return s2host__end(h, S2_ENOENT);
	return s2host__end(h, swap_unmap(h, pfn));
}

int s2host_lru_add(struct s2host *h, int mm, uint64_t hva)
{
	uint64_t vpn;
	int err = page_arg(h, mm, hva, &vpn);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	uint64_t pfn = s2host__mapped_pfn(h, mm, vpn);
	if (pfn == S2HOST_NO_PFN)
		return s2host__end(h, S2_ENOENT);
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	if (f->zero || f->lru_batch)
		return s2host__end(h, S2_EAGAIN);
	f->lru_batch = true;
	s2host__get(h, pfn, 1);
	return s2host__end(h, 0);
}

int s2host_lru_drain(struct s2host *h)
{
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	for (unsigned i = 0; i < h->nr_folio; i++)
		if (h->folio[i].lru_batch && !h->folio[i].freed) {
			h->folio[i].lru_batch = false;
			s2host__put(h, h->folio[i].head, 1);
		}
	return s2host__end(h, 0);
}

bool s2host_age(struct s2host *h, int mm, uint64_t hva, uint64_t size)
{
	if (!s2host__mm_ok(h, mm) || hva % S2HOST_PAGE_SIZE || size % S2HOST_PAGE_SIZE ||
	    (hva + size) >> S2HOST_PAGE_SHIFT > h->cfg.nr_pages || s2host__begin(h, 0, 0))
		return false;
	struct s2host__mm *m = &h->mm[mm];
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	bool young = false;

	for (uint64_t v = vpn; v < vpn + n; v++) {
		struct s2host__pte *pmd = s2host__pmd(h, mm, v);
		struct s2host__pte *e = pmd->fl & PTE_PRESENT ? pmd : &m->pte[v];
		if ((e->fl & PTE_PRESENT) && (e->fl & PTE_YOUNG)) {
			young = true;
			e->fl &= ~(unsigned)PTE_YOUNG;
		}
	}
	for (unsigned i = 0; i < m->nr_mn; i++)
		if (m->mn[i].clear_young &&
		    m->mn[i].clear_young(m->mn_arg[i], mm, hva, hva + size))
			young = true;
	s2host__end(h, 0);
	return young;
}
