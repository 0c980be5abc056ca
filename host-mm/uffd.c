/* userfaultfd: the messages of faults waiting for the monitor, the ioctls
 * that resolve them (UFFDIO_COPY, UFFDIO_CONTINUE, UFFDIO_WAKE), and the
 * host CPUs' TLBs with the flush a uffd-wp change may defer (S5.2).
 * ../shared/ref/host-mm.md section 5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_err.h"
#include "common/s2_vec.h"
#include "host-mm/s2host_cow.h"

#define MAX_CPUS 64

const char *s2host_uffd_kind_name(unsigned kind)
{
	switch (kind) {
	case S2HOST_UFFD_MISSING:
		return "missing";
	case S2HOST_UFFD_WP:
		return "wp";
	case S2HOST_UFFD_MINOR:
		return "minor";
	default:
		return "?";
	}
}

/* ---- Messages ------------------------------------------------------------ */

/* handle_userfault(): the fault waits; a second fault on the same address
 * and reason joins the message already waiting. */
int s2host__userfault(struct s2host *h, int mm, uint64_t vpn, unsigned kind)
{
	for (unsigned i = 0; i < h->nr_msg; i++) {
		const struct s2host__msg *g = &h->msg[i];
		if (g->mm == mm && g->vpn == vpn && g->kind == kind) {
			h->last_msg = g->id;
			return S2_EAGAIN;
		}
	}
	if (!s2_grow((void **)&h->msg, &h->cap_msg, sizeof(*h->msg), h->nr_msg + 1))
		return S2_ENOMEM;
	h->last_msg = ++h->next_msg;
	h->msg[h->nr_msg++] = (struct s2host__msg){ h->last_msg, mm, vpn, kind, false, false };
	h->stats.uffd_msgs++;
	return S2_EAGAIN;
}

/* wake_userfault(): every fault waiting in [vpn, vpn+n) of mm may retry. */
void s2host__uffd_wake(struct s2host *h, int mm, uint64_t vpn, uint64_t n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < h->nr_msg; i++) {
		const struct s2host__msg *g = &h->msg[i];
		if (g->mm == mm && g->vpn >= vpn && g->vpn < vpn + n)
			h->stats.uffd_resolved++;
		else
			h->msg[k++] = *g;
	}
	h->nr_msg = k;
}

unsigned s2host_uffd_last_msg(const struct s2host *h)
{
	return h->last_msg;
}

bool s2host_uffd_waiting(const struct s2host *h, unsigned id)
{
	for (unsigned i = 0; i < h->nr_msg; i++)
		if (h->msg[i].id == id)
			return true;
	return false;
}

int s2host_uffd_read(struct s2host *h, int mm, struct s2host_uffd_msg *out)
{
	if (!s2host__mm_ok(h, mm))
		return S2_EINVAL;
	for (unsigned i = 0; i < h->nr_msg; i++) {
		struct s2host__msg *g = &h->msg[i];
		if (g->mm == mm && !g->read) {
			g->read = true;
			*out = (struct s2host_uffd_msg){ g->id, mm, g->vpn << S2HOST_PAGE_SHIFT,
							 g->kind };
			return 0;
		}
	}
	return S2_EAGAIN;
}

bool s2host_uffd_pending(const struct s2host *h, int mm)
{
	for (unsigned i = 0; i < h->nr_msg; i++)
		if (h->msg[i].mm == mm && !h->msg[i].read)
			return true;
	return false;
}

int s2host_pfn_write_at(struct s2host *h, int mm, uint64_t hva, uint64_t pfn, uint64_t value)
{
	if (pfn >= h->nr_page || s2host__range_ok(h, mm, hva & ~(S2HOST_PAGE_SIZE - 1),
						  S2HOST_PAGE_SIZE))
		return S2_EINVAL;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	s2host__user_store(h, mm, hva >> S2HOST_PAGE_SHIFT, pfn, value, " through a secondary MMU");
	return s2host__end(h, 0);
}

/* ---- The resolving ioctls --------------------------------------------------- */

/* The checks UFFDIO_COPY and UFFDIO_CONTINUE share (find_dst_vma, the WP
 * mode, mfill_atomic_install_pte's "pte_none_mostly"). */
static int fill_args(struct s2host *h, int mm, uint64_t hva, bool wp, uint64_t *vpn)
{
	int err = s2host__range_ok(h, mm, hva, S2HOST_PAGE_SIZE);
	if (err)
		return err;
	*vpn = hva >> S2HOST_PAGE_SHIFT;
	unsigned vma = h->mm[mm].vma[*vpn];
	if (!(vma & VMA_MAPPED) || !(vma & (VMA_UFFD_MISSING | VMA_UFFD_WP | VMA_UFFD_MINOR)))
		return S2_ENOENT;
	if (wp && !(vma & VMA_UFFD_WP))
		return S2_EINVAL;
	return 0;
}

static bool pte_none_mostly(struct s2host *h, int mm, uint64_t vpn)
{
	unsigned fl = h->mm[mm].pte[vpn].fl;
	return !(s2host__pmd(h, mm, vpn)->fl & PTE_PRESENT) && (!fl || fl & PTE_MARKER);
}

/* The PTE bits of a page the monitor installs: writable unless MODE_WP. */
static unsigned fill_bits(const struct s2host *h, int mm, uint64_t vpn, bool wp)
{
	if (wp)
		return PTE_UFFD_WP | PTE_DIRTY | PTE_YOUNG;
	return PTE_DIRTY | PTE_YOUNG | (h->mm[mm].vma[vpn] & VMA_WRITE ? PTE_WRITE : 0);
}

static void filled(struct s2host *h, int mm, uint64_t vpn, bool wp)
{
	/* the monitor's view: protected exactly when it asked for MODE_WP */
	if (h->mm[mm].vma[vpn] & VMA_UFFD_WP)
		h->mm[mm].wp[vpn] = wp;
	s2host__uffd_wake(h, mm, vpn, 1);
}

/* shmem_mfill_atomic_pte(): a new page in the file's cache at vpn's offset,
 * holding value (UFFDIO_COPY) or zeroed (ZEROPAGE: value NULL), mapped;
 * EEXIST when the cache already has the page. */
static int shmem_fill(struct s2host *h, int mm, uint64_t vpn, const uint64_t *value, bool wp)
{
	struct s2host__mm *m = &h->mm[mm];
	int fd = m->vfile[vpn] - 1;
	if (h->file[fd].cache[m->voff[vpn]] != S2HOST_NO_PFN)
		return S2_EEXIST;
	uint64_t pfn = s2host__find_or_add(h, fd, m->voff[vpn]);
	if (value)
		s2host__store(h, mm, pfn, *value);
	s2host__map_page(h, mm, vpn, pfn, fill_bits(h, mm, vpn, wp));
	return 0;
}

/* mfill_atomic(): UFFDIO_COPY (value) or UFFDIO_ZEROPAGE (value NULL, never
 * MODE_WP) into a none or marker PTE. */
static int mfill(struct s2host *h, int mm, uint64_t hva, const uint64_t *value, bool wp)
{
	uint64_t vpn;
	int err = fill_args(h, mm, hva, wp, &vpn);
	if (err || (err = s2host__begin(h, 1, 1)))
		return err;
	struct s2host__mm *m = &h->mm[mm];
	if (!pte_none_mostly(h, mm, vpn))
		return s2host__end(h, S2_EEXIST);
	if (m->vma[vpn] & VMA_SHARED) {
		if ((err = shmem_fill(h, mm, vpn, value, wp)))
			return s2host__end(h, err);
	} else if (value) {
		/* mfill_atomic_pte_copy(): a new exclusive anonymous page */
		uint64_t pfn = s2host__alloc(h, 0, mm);
		h->page[pfn].mapcount = 1;
		h->page[pfn].ae = h->cfg.policy == S2HOST_POL_AE;
		s2host__store(h, mm, pfn, *value);
		m->pte[vpn] = (struct s2host__pte){ pfn, PTE_PRESENT | PTE_SOFT_DIRTY |
								 fill_bits(h, mm, vpn, wp) };
	} else {
		/* mfill_atomic_pte_zeropage(): the zero page, read-only; only
		 * into a none PTE */
		if (m->pte[vpn].fl)
			return s2host__end(h, S2_EEXIST);
		m->pte[vpn] = (struct s2host__pte){ S2HOST_ZERO_PFN, PTE_PRESENT | PTE_YOUNG };
		h->stats.zero_maps++;
	}
	filled(h, mm, vpn, wp);
	return s2host__end(h, 0);
}

int s2host_uffdio_copy(struct s2host *h, int mm, uint64_t hva, uint64_t value, bool wp)
{
	return mfill(h, mm, hva, &value, wp);
}

int s2host_uffdio_zeropage(struct s2host *h, int mm, uint64_t hva)
{
	return mfill(h, mm, hva, NULL, false);
}

int s2host_uffdio_continue(struct s2host *h, int mm, uint64_t hva, bool wp)
{
	uint64_t vpn;
	int err = fill_args(h, mm, hva, wp, &vpn);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	struct s2host__mm *m = &h->mm[mm];
	if (!(m->vma[vpn] & VMA_SHARED))
		return s2host__end(h, S2_EINVAL);	/* CONTINUE is for shmem only */
	uint64_t pfn = h->file[m->vfile[vpn] - 1].cache[m->voff[vpn]];
	if (pfn == S2HOST_NO_PFN)
		return s2host__end(h, S2_EFAULT);	/* shmem_get_folio(SGP_NOALLOC) */
	if (!pte_none_mostly(h, mm, vpn))
		return s2host__end(h, S2_EEXIST);
	s2host__map_page(h, mm, vpn, pfn, fill_bits(h, mm, vpn, wp));
	filled(h, mm, vpn, wp);
	return s2host__end(h, 0);
}

int s2host_uffdio_wake(struct s2host *h, int mm, uint64_t hva)
{
	int err = s2host__range_ok(h, mm, hva, S2HOST_PAGE_SIZE);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	s2host__uffd_wake(h, mm, hva >> S2HOST_PAGE_SHIFT, 1);
	return s2host__end(h, 0);
}

/* ---- TLBs ------------------------------------------------------------------- */

static struct s2host__tlb *tlb_find(struct s2host *h, int cpu, int mm, uint64_t vpn)
{
	for (unsigned i = 0; i < h->nr_tlb; i++) {
		struct s2host__tlb *t = &h->tlb[i];
		if (t->live && t->cpu == cpu && t->mm == mm && t->vpn == vpn)
			return t;
	}
	return NULL;
}

void s2host__tlb_flush(struct s2host *h, int mm, uint64_t vpn, uint64_t n)
{
	for (unsigned i = 0; i < h->nr_tlb; i++) {
		struct s2host__tlb *t = &h->tlb[i];
		if (t->live && t->mm == mm && t->vpn >= vpn && t->vpn < vpn + n)
			t->live = false;
	}
}

/* Cache the translation the access just used. */
static void tlb_fill(struct s2host *h, int cpu, int mm, uint64_t vpn)
{
	const struct s2host__mm *m = &h->mm[mm];
	const struct s2host__pte *pmd = &m->pmd[vpn / S2HOST_THP_PAGES];
	const struct s2host__pte *e = pmd->fl & PTE_PRESENT ? pmd : &m->pte[vpn];
	uint64_t pfn = s2host__mapped_pfn(h, mm, vpn);
	struct s2host__tlb *t = tlb_find(h, cpu, mm, vpn);

	if (pfn == S2HOST_NO_PFN)
		return;
	if (!t) {
		unsigned i = 0;
		while (i < h->nr_tlb && h->tlb[i].live)
			i++;
		if (i == h->nr_tlb) {
			if (!s2_grow((void **)&h->tlb, &h->cap_tlb, sizeof(*h->tlb), h->nr_tlb + 1))
				return;	/* not cached: the next access walks again */
			h->nr_tlb++;
		}
		t = &h->tlb[i];
	}
	*t = (struct s2host__tlb){ cpu, mm, vpn, pfn, e->fl & PTE_WRITE, true };
}

static int cpu_args(const struct s2host *h, int cpu, int mm, uint64_t hva)
{
	if (cpu < 0 || cpu >= MAX_CPUS)
		return S2_EINVAL;
	return s2host__range_ok(h, mm, hva & ~(S2HOST_PAGE_SIZE - 1), S2HOST_PAGE_SIZE);
}

int s2host_cpu_read(struct s2host *h, int cpu, int mm, uint64_t hva, uint64_t *value)
{
	int err = cpu_args(h, cpu, mm, hva);
	if (err)
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT;
	const struct s2host__tlb *t = tlb_find(h, cpu, mm, vpn);
	if (t)
		return s2host_pfn_read(h, mm, t->pfn, value);
	if (!(err = s2host_read(h, mm, hva, value)))
		tlb_fill(h, cpu, mm, vpn);
	return err;
}

int s2host_cpu_write(struct s2host *h, int cpu, int mm, uint64_t hva, uint64_t value)
{
	int err = cpu_args(h, cpu, mm, hva);
	if (err)
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT;
	const struct s2host__tlb *t = tlb_find(h, cpu, mm, vpn);
	if (!t || !t->writable) {
		if (!(err = s2host_write(h, mm, hva, value)))
			tlb_fill(h, cpu, mm, vpn);
		return err;
	}
	uint64_t pfn = t->pfn;
	h->window_store = h->in_window;	/* the one thing a copy's window allows */
	err = s2host__begin(h, 0, 0);
	h->window_store = false;
	if (err)
		return err;
	/* a store through the TLB: no walk, no fault, nobody told */
	char how[48];
	snprintf(how, sizeof(how), " through CPU %d's TLB", cpu);
	s2host__user_store(h, mm, vpn, pfn, value, how);
	return s2host__end(h, 0);
}

int s2host_uffd_wp_deferred(struct s2host *h, int mm, uint64_t hva, uint64_t size, bool protect)
{
	int err = s2host__range_ok(h, mm, hva, size);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	uint8_t *was = NULL;
	if (protect && (!(was = malloc(n)) ||
			!s2_grow((void **)&h->pend, &h->cap_pend, sizeof(*h->pend), h->nr_pend + 1))) {
		free(was);
		return s2host__end(h, S2_ENOMEM);
	}
	if (was)
		memcpy(was, h->mm[mm].wp + vpn, n);
	/* inc_tlb_flush_pending(): the PTEs change now, the flush comes later */
	h->deferring = true;
	err = s2host__uffd_wp_range(h, mm, vpn, n, protect);
	h->deferring = false;
	if (!err && protect) {
		/* the monitor's view changes when the ioctl returns, after the
		 * flush: until then a store through an old TLB entry is legal */
		memcpy(h->mm[mm].wp + vpn, was, n);
		h->pend[h->nr_pend++] = (struct s2host__pend){ mm, vpn, n };
	}
	free(was);
	if (!err)
		h->mm[mm].tlb_flush_pending++;
	return s2host__end(h, err);
}

void s2host__uffd_unpend(struct s2host *h, int mm, uint64_t vpn, uint64_t n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < h->nr_pend; i++) {
		const struct s2host__pend *q = &h->pend[i];
		if (q->mm != mm || q->vpn >= vpn + n || q->vpn + q->n <= vpn)
			h->pend[k++] = *q;	/* (a partly overlapped one is dropped whole) */
	}
	h->nr_pend = k;
}

int s2host_tlb_flush_deferred(struct s2host *h, int mm)
{
	if (!s2host__mm_ok(h, mm))
		return S2_EINVAL;
	if (!h->mm[mm].tlb_flush_pending)
		return S2_EAGAIN;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	s2host__tlb_flush(h, mm, 0, h->cfg.nr_pages);
	h->mm[mm].tlb_flush_pending--;
	/* the deferred protects' ioctls return */
	unsigned k = 0;
	for (unsigned i = 0; i < h->nr_pend; i++) {
		const struct s2host__pend *q = &h->pend[i];
		if (q->mm == mm)
			memset(h->mm[mm].wp + q->vpn, 1, q->n);
		else
			h->pend[k++] = *q;
	}
	h->nr_pend = k;
	return s2host__end(h, 0);
}

/* wp_page_copy() of the page old mapped at vpn: with the 2021 fix a pending
 * uffd-wp flush is done first (flush_tlb_page); then no CPU may still hold
 * a writable entry for the old page, or its stores after the copy are lost. */
void s2host__tlb_before_copy(struct s2host *h, int mm, uint64_t vpn, uint64_t old)
{
	const struct s2host__mm *m = &h->mm[mm];

	if (h->cfg.uffd_wp_flush && (m->vma[vpn] & VMA_UFFD_WP) && m->tlb_flush_pending)
		s2host__tlb_flush(h, mm, vpn, 1);
	for (unsigned i = 0; i < h->nr_tlb; i++) {
		const struct s2host__tlb *t = &h->tlb[i];
		if (t->live && t->mm == mm && t->vpn == vpn && t->pfn == old && t->writable)
			s2host__violate(h, S2HOST_RULE_TLB_BEFORE_COPY, mm, vpn, old,
					"the COW copy of page %llu at 0x%llx starts while CPU %d still "
					"holds a writable TLB entry for it (a uffd-wp flush is "
					"deferred): its stores until the PTE flush land in the old "
					"page and are lost", (unsigned long long)old,
					(unsigned long long)(vpn << S2HOST_PAGE_SHIFT), t->cpu);
	}
}

void s2host_set_copy_window(struct s2host *h, void (*fn)(void *arg, struct s2host *h), void *arg)
{
	h->copy_hook = fn;
	h->copy_hook_arg = arg;
}

void s2host__copy_window(struct s2host *h)
{
	void (*fn)(void *, struct s2host *) = h->copy_hook;

	if (!fn || h->in_window)
		return;
	h->copy_hook = NULL;
	h->in_window = true;
	fn(h->copy_hook_arg, h);
	h->in_window = false;
}
