/* The COW write fault (do_wp_page, do_huge_pmd_wp_page) and swap-in
 * (do_swap_page): whether to reuse the faulting page or copy it, as each
 * policy's kernels decided. docs/host-mm.md has the table. */
#include "host-mm/s2host_cow.h"

static bool is_ae(const struct s2host *h)
{
	return h->cfg.policy == S2HOST_POL_AE;
}

static int swapcount(const struct s2host *h, const struct s2host__folio *f)
{
	return f->swapcache ? h->slot[f->slot].count : 0;
}

/* page_trans_huge_mapcount() (4.6-5.17): the largest mapcount of any
 * subpage, PMD mappings included. Not the total. Read, as the kernel reads
 * it, from the encoding: the largest subpage _mapcount (PageDoubleMap's
 * offset included), less one under PageDoubleMap, plus the compound
 * mapcount; and checked against the page tables of every process
 * (thp-mapsum), which it misses inside a PMD split before c444eb564fb1. */
static int thp_mapcount(struct s2host *h, int mm, uint64_t vpn, const struct s2host__folio *f)
{
	int max = 0, enc = 0, pte[S2HOST_THP_PAGES] = { 0 }, pmds = 0;
	for (unsigned i = 0; i < (1u << f->order); i++) {
		const struct s2host__page *p = &h->page[f->head + i];
		if (p->mapcount + p->dm_offset > enc)
			enc = p->mapcount + p->dm_offset;
	}
	enc += f->entire - f->double_map;
	for (unsigned i = 0; i < h->nr_mm; i++) {
		const struct s2host__mm *m = &h->mm[i];
		if (!m->alive)
			continue;
		for (unsigned v = 0; v < h->cfg.nr_pages; v++) {
			if (!(v % S2HOST_THP_PAGES) && (m->pmd[v / S2HOST_THP_PAGES].fl & PTE_PRESENT) &&
			    m->pmd[v / S2HOST_THP_PAGES].pfn == f->head)
				pmds++;
			if ((m->pte[v].fl & PTE_PRESENT) && m->pte[v].pfn >= f->head &&
			    m->pte[v].pfn < f->head + (1u << f->order))
				pte[m->pte[v].pfn - f->head]++;
		}
	}
	for (unsigned i = 0; i < (1u << f->order); i++)
		if (pte[i] > max)
			max = pte[i];
	if (enc != max + pmds)
		s2host__violate(h, S2HOST_RULE_THP_MAPSUM, mm, vpn, f->head,
				"page_trans_huge_mapcount() of folio %llu reads %d from its "
				"encoding (PageDoubleMap %s, compound %d) but its page tables map "
				"it %d time(s): a PMD split is moving the count", (unsigned long long)f->head,
				enc, f->double_map ? "set" : "clear", f->entire, max + pmds);
	return enc;
}

/* Mappings of folio f in process mm (ground truth, by walking its tables). */
static unsigned mappings_in(const struct s2host *h, int mm, const struct s2host__folio *f)
{
	const struct s2host__mm *m = &h->mm[mm];
	uint64_t last = f->head + (1ull << f->order);
	unsigned n = 0;

	for (unsigned v = 0; v < h->cfg.nr_pages; v++) {
		const struct s2host__pte *pmd = &m->pmd[v / S2HOST_THP_PAGES];
		if ((pmd->fl & PTE_PRESENT) && !(v % S2HOST_THP_PAGES) && pmd->pfn == f->head)
			n += S2HOST_THP_PAGES;
		if ((m->pte[v].fl & PTE_PRESENT) && m->pte[v].pfn >= f->head && m->pte[v].pfn < last)
			n++;
	}
	return n;
}

/* page_move_anon_rmap() on reuse of a large folio: the whole folio moves to
 * the faulting process's anon_vma, which is wrong while another maps it. */
static void move_anon_rmap(struct s2host *h, int mm, uint64_t vpn, struct s2host__folio *f)
{
	unsigned total = s2host__total_mapcount(h, f), mine = mappings_in(h, mm, f);

	if (total > mine)
		s2host__violate(h, S2HOST_RULE_RMAP_OWNER, mm, vpn, f->head,
				"large folio %llu moved to process %d's anon_vma while %u of its "
				"%u mappings belong to other processes: their rmap walks miss it",
				(unsigned long long)f->head, mm, total - mine, total);
	f->owner = mm;
}

static void drain_lru(struct s2host *h, struct s2host__folio *f)
{
	if (f->lru_batch) {
		f->lru_batch = false;
		s2host__put(h, f->head, 1);
	}
}

static void free_swap(struct s2host *h, struct s2host__folio *f)
{
	if (!f->swapcache || h->slot[f->slot].count)
		return;
	f->swapcache = false;
	h->slot[f->slot].pfn = S2HOST_NO_PFN;
	s2host__put(h, f->head, 1);
}

/* reuse_swap_page() up to 5.17 for a small page: reuse if its mapcount
 * plus the swap entries still naming it is 1 (a GUP reference or pin does
 * not count), and then delete it from the swap cache. Its one other
 * refusal, a page under writeback to a swap device that needs stable
 * pages (4.10, f05714293a59), cannot meet a referenced page: pageout()
 * writes only pages nothing else holds (is_page_cache_freeable). */
static bool map_reuse(struct s2host *h, const struct s2host__page *p, struct s2host__folio *f)
{
	if (p->mapcount + swapcount(h, f) != 1)
		return false;
	free_swap(h, f);
	return true;
}

/* The refcount test of 5.18 and of wp_can_reuse_anon_folio() in 6.x. */
static bool refcount_reuse(struct s2host *h, struct s2host__folio *f)
{
	if (f->ref > 3)
		return false;
	drain_lru(h, f);	/* lru_add_drain() for a page not on the LRU yet */
	if (f->ref > 1 + f->swapcache)
		return false;
	free_swap(h, f);
	return f->ref == 1;
}

static bool can_reuse(struct s2host *h, int mm, uint64_t vpn, uint64_t pfn,
		      struct s2host__folio *f)
{
	const struct s2host__page *p = &h->page[pfn];

	if (f->ksm)
		return false;
	switch (h->cfg.policy) {
	case S2HOST_POL_MAP0:
		return map_reuse(h, p, f);
	case S2HOST_POL_MAP1:
		/* reuse_swap_page() returns 0 for PageTransCompound */
		return !f->order && map_reuse(h, p, f);
	case S2HOST_POL_MAP2:
	case S2HOST_POL_MAP2F:
		if (!f->order)
			return map_reuse(h, p, f);
		if (thp_mapcount(h, mm, vpn, f) + swapcount(h, f) != 1)
			return false;
		move_anon_rmap(h, mm, vpn, f);
		return true;
	case S2HOST_POL_CNT:
		return f->ref == 1;
	case S2HOST_POL_CNT2:
		return refcount_reuse(h, f);
	case S2HOST_POL_AE:
		if (p->ae)
			return true;
		if (f->order)
			return false;	/* a large folio's subpage is never reused */
		return refcount_reuse(h, f);
	case S2HOST_NR_POLICIES:
		break;
	}
	return false;
}

void s2host__wp_fault(struct s2host *h, int mm, uint64_t vpn, bool unshare, bool force)
{
	struct s2host__mm *m = &h->mm[mm];
	struct s2host__pte *pte = &m->pte[vpn];
	uint64_t old = pte->pfn;
	struct s2host__folio *f = s2host__folio_of(h, old);
	bool vma_w = m->vma[vpn] & VMA_WRITE;

	(void)force;
	if (!f->zero && can_reuse(h, mm, vpn, old, f)) {
		if (is_ae(h))
			h->page[old].ae = true;
		if (!unshare && vma_w)
			pte->fl |= PTE_WRITE | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY;
		h->stats.cow_reuses++;
		return;
	}
	/* wp_page_copy(): the copy is taken first (checked against TLB
	 * entries a deferred flush left), then a new page replaces the old
	 * under an invalidation */
	if (!unshare)
		s2host__tlb_before_copy(h, mm, vpn, old);
	/* wp_page_copy(): a new page replaces the old under an invalidation */
	s2host__inval_start(h, mm, vpn, 1, S2HOST_MN_CLEAR);
	uint64_t new = s2host__alloc(h, 0, mm);
	s2host__copy_page(h, new, old);
	s2host__copy_window(h);
	h->page[new].mapcount = 1;
	h->page[new].ae = is_ae(h);
	unsigned fl = PTE_PRESENT | PTE_YOUNG | (pte->fl & PTE_UFFD_WP);
	if (!unshare)
		fl |= PTE_DIRTY | PTE_SOFT_DIRTY | (vma_w ? PTE_WRITE : 0);
	if (!f->zero) {
		h->page[old].mapcount--;
		if (!h->page[old].mapcount)
			h->page[old].ae = false;
		s2host__put_later(h, old);
	}
	*pte = (struct s2host__pte){ new, fl };
	s2host__inval_end(h, mm, vpn, 1, S2HOST_MN_CLEAR);
	if (unshare)
		h->stats.unshares++;
	else
		h->stats.cow_copies++;
}

bool s2host__huge_wp_fault(struct s2host *h, int mm, uint64_t vpn, bool unshare, bool force)
{
	struct s2host__mm *m = &h->mm[mm];
	struct s2host__pte *pmd = s2host__pmd(h, mm, vpn);
	uint64_t base = vpn - vpn % S2HOST_THP_PAGES;
	struct s2host__folio *f = s2host__folio_of(h, pmd->pfn);
	const struct s2host__page *head = &h->page[f->head];
	bool vma_w = m->vma[vpn] & VMA_WRITE;
	bool reuse = false;

	(void)force;
	switch (h->cfg.policy) {
	case S2HOST_POL_MAP0:
		reuse = f->entire + head->mapcount == 1;
		break;
	case S2HOST_POL_MAP1:
		/* "false negative if somebody pinned the page" */
		reuse = f->entire + head->mapcount == 1 && f->ref == 1;
		break;
	case S2HOST_POL_MAP2:
	case S2HOST_POL_MAP2F:
	case S2HOST_POL_CNT:
		reuse = thp_mapcount(h, mm, vpn, f) == 1;
		if (reuse)
			move_anon_rmap(h, mm, vpn, f);
		break;
	case S2HOST_POL_CNT2:
		drain_lru(h, f);
		reuse = f->ref == 1;
		break;
	case S2HOST_POL_AE:
		drain_lru(h, f);
		reuse = head->ae || f->ref == 1;
		break;
	case S2HOST_NR_POLICIES:
		break;
	}
	if (unshare && !is_ae(h))
		return true;
	if (reuse) {
		if (is_ae(h))
			for (unsigned i = 0; i < S2HOST_THP_PAGES; i++)
				h->page[f->head + i].ae = true;
		if (!unshare && vma_w)
			pmd->fl |= PTE_WRITE | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY;
		h->stats.cow_reuses++;
		return true;
	}
	if (h->cfg.policy >= S2HOST_POL_MAP2F) {
		/* 5.8 "thp: change CoW semantics for anon-THP": split the PMD and
		 * let the PTE fault copy the one subpage */
		s2host__inval_start(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
		s2host__split_pmd_locked(h, mm, vpn);
		s2host__inval_end(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
		return false;
	}
	/* up to 5.7: copy the whole huge page */
	s2host__inval_start(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	uint64_t old = pmd->pfn;
	uint64_t new = s2host__alloc(h, S2HOST_THP_ORDER, mm);
	for (unsigned i = 0; i < S2HOST_THP_PAGES; i++)
		s2host__copy_page(h, new + i, old + i);
	s2host__folio_of(h, new)->entire = 1;
	f->entire--;
	s2host__entire_dropped(h, f);
	s2host__put_later(h, old);
	*pmd = (struct s2host__pte){ new, PTE_PRESENT | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY |
						  (vma_w ? PTE_WRITE : 0) };
	s2host__inval_end(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	h->stats.cow_copies++;
	return true;
}

void s2host__swap_entry_free(struct s2host *h, unsigned slot)
{
	struct s2host__slot *s = &h->slot[slot];

	s->count--;
	if (!s->count && s->pfn != S2HOST_NO_PFN) {
		/* free_swap_and_cache(): the last entry takes the cache page along */
		struct s2host__folio *f = s2host__folio_of(h, s->pfn);
		f->swapcache = false;
		s2host__put_later(h, s->pfn);
		s->pfn = S2HOST_NO_PFN;
	}
}

void s2host__swap_in(struct s2host *h, int mm, uint64_t vpn, bool write)
{
	struct s2host__mm *m = &h->mm[mm];
	struct s2host__pte *pte = &m->pte[vpn];
	unsigned si = (unsigned)pte->pfn;
	struct s2host__slot *s = &h->slot[si];
	bool vma_w = m->vma[vpn] & VMA_WRITE;

	h->stats.faults++;
	if (s->pfn == S2HOST_NO_PFN) {
		/* read from swap into a new swap-cache page */
		uint64_t pfn = s2host__alloc(h, 0, mm);
		h->page[pfn].value = s->value;
		h->page[pfn].writer = s->writer;
		s2host__folio_of(h, pfn)->swapcache = true;
		s2host__folio_of(h, pfn)->slot = si;
		s->pfn = pfn;
	}
	uint64_t pfn = s->pfn;
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	struct s2host__page *p = &h->page[pfn];
	s->count--;
	p->mapcount++;
	s2host__get(h, pfn, 1);

	bool excl;
	if (h->cfg.policy <= S2HOST_POL_CNT) {
		/* reuse_swap_page(): mapcount + swapcount */
		excl = write && !f->ksm && p->mapcount + s->count == 1;
		if (excl)
			free_swap(h, f);
	} else {
		/* 5.18 streamlined do_swap_page(): refcount; under AE also
		 * the exclusive bit the swap PTE kept (1493a1913e34) */
		if (write && !s->count && f->ref == 2)
			free_swap(h, f);
		excl = !f->ksm && (f->ref == 1 || (pte->fl & PTE_SWP_EXCL));
	}
	unsigned fl = PTE_PRESENT | PTE_YOUNG | (pte->fl & PTE_UFFD_WP);
	if (excl && write && vma_w && !(fl & PTE_UFFD_WP))
		fl |= PTE_WRITE | PTE_DIRTY | PTE_SOFT_DIRTY;
	if (is_ae(h))
		p->ae = excl;
	*pte = (struct s2host__pte){ pfn, fl };
}
