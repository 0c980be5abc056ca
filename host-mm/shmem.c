/* Shared memory (memfd/shmem): a page cache per file, faults on shared
 * mappings with fault-around, userfaultfd write-protect markers, and the
 * two steps of a hole punch. ../shared/ref/host-mm.md section 5. */
#include <stdlib.h>
#include <string.h>

#include "common/s2_err.h"
#include "common/s2_vec.h"
#include "host-mm/s2host_cow.h"

#define FAULT_AROUND_PAGES 16	/* fault_around_bytes 64K */

int s2host_memfd_create(struct s2host *h, unsigned npages)
{
	if (!npages || npages > (1u << 24))
		return S2_EINVAL;
	if (!s2_grow((void **)&h->file, &h->cap_file, sizeof(*h->file), h->nr_file + 1))
		return S2_ENOMEM;
	struct s2host__file *f = &h->file[h->nr_file];
	f->cache = malloc(npages * sizeof(*f->cache));
	if (!f->cache)
		return S2_ENOMEM;
	for (unsigned i = 0; i < npages; i++)
		f->cache[i] = S2HOST_NO_PFN;
	f->nr_pages = npages;
	f->punching = false;
	return (int)h->nr_file++;
}

int s2host_mmap_memfd(struct s2host *h, int mm, uint64_t hva, uint64_t size, int fd,
		      unsigned off, unsigned flags)
{
	if (!s2host__mm_ok(h, mm) || fd < 0 || (unsigned)fd >= h->nr_file ||
	    hva % S2HOST_PAGE_SIZE || size % S2HOST_PAGE_SIZE || !size)
		return S2_EINVAL;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	if (vpn + n > h->cfg.nr_pages || off + n > h->file[fd].nr_pages)
		return S2_ERANGE;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	struct s2host__mm *m = &h->mm[mm];
	for (uint64_t v = vpn; v < vpn + n; v++)
		if (m->vma[v] & VMA_MAPPED)
			return s2host__end(h, S2_EBUSY);
	uint8_t bits = VMA_MAPPED | VMA_SHARED | (flags & S2HOST_PROT_WRITE ? VMA_WRITE : 0) |
		       s2host__uffd_vma_bits(flags);
	for (uint64_t i = 0; i < n; i++) {
		m->vma[vpn + i] = bits;
		m->vfile[vpn + i] = (uint16_t)(fd + 1);
		m->voff[vpn + i] = off + (unsigned)i;
		m->wp[vpn + i] = 0;
	}
	return s2host__end(h, 0);
}

void s2host_set_uffd_markers(struct s2host *h, bool on)
{
	h->cfg.uffd_markers = on;
}

void s2host_set_uffd_wp_flush(struct s2host *h, bool on)
{
	h->cfg.uffd_wp_flush = on;
}

void s2host_set_uffd_fork_fix(struct s2host *h, bool on)
{
	h->cfg.uffd_fork_fix = on;
}

bool s2host_uffd_protected(const struct s2host *h, int mm, uint64_t hva)
{
	return s2host__mm_ok(h, mm) && hva >> S2HOST_PAGE_SHIFT < h->cfg.nr_pages &&
	       h->mm[mm].wp[hva >> S2HOST_PAGE_SHIFT];
}

/* The cache page at offset off of fd, added (zeroed) if missing. */
uint64_t s2host__find_or_add(struct s2host *h, int fd, unsigned off)
{
	struct s2host__file *file = &h->file[fd];
	if (file->cache[off] == S2HOST_NO_PFN) {
		uint64_t pfn = s2host__alloc(h, 0, -1);	/* the cache's reference */
		struct s2host__folio *f = s2host__folio_of(h, pfn);
		f->anon = false;
		f->in_cache = true;
		f->file = fd;
		f->index = off;
		file->cache[off] = pfn;
	}
	return file->cache[off];
}

void s2host__map_page(struct s2host *h, int mm, uint64_t vpn, uint64_t pfn, unsigned fl)
{
	h->mm[mm].pte[vpn] = (struct s2host__pte){ pfn, PTE_PRESENT | fl };
	h->page[pfn].mapcount++;
	s2host__get(h, pfn, 1);
}

/* do_fault_around() / filemap_map_pages(): cached pages near a read fault,
 * read-only, into empty PTEs of the same mapping. */
static void fault_around(struct s2host *h, int mm, uint64_t vpn)
{
	struct s2host__mm *m = &h->mm[mm];
	uint64_t base = vpn - vpn % FAULT_AROUND_PAGES;

	/* uffd_disable_fault_around(): VM_UFFD_MINOR always (the MINOR mode
	 * came with the check), VM_UFFD_WP from 5.19 */
	if ((m->vma[vpn] & VMA_UFFD_MINOR) ||
	    (h->cfg.uffd_markers && (m->vma[vpn] & VMA_UFFD_WP)))
		return;
	for (uint64_t v = base; v < base + FAULT_AROUND_PAGES && v < h->cfg.nr_pages; v++) {
		if (v == vpn || m->vma[v] != m->vma[vpn] || m->vfile[v] != m->vfile[vpn] ||
		    m->pte[v].fl)
			continue;	/* another mapping, or a PTE or marker already there */
		uint64_t pfn = h->file[m->vfile[v] - 1].cache[m->voff[v]];
		if (pfn == S2HOST_NO_PFN)
			continue;	/* fault-around never fills a hole */
		if (m->vma[v] & VMA_UFFD_WP)
			s2host__violate(h, S2HOST_RULE_FAULT_AROUND, mm, v, pfn,
					"fault-around maps page %llu at 0x%llx in a uffd-wp registered "
					"range, without the write-protect bit",
					(unsigned long long)pfn,
					(unsigned long long)(v << S2HOST_PAGE_SHIFT));
		s2host__map_page(h, mm, v, pfn, PTE_YOUNG);
	}
}

int s2host__shmem_fault(struct s2host *h, int mm, uint64_t vpn, bool write)
{
	struct s2host__mm *m = &h->mm[mm];
	struct s2host__pte *pte = &m->pte[vpn];
	int fd = m->vfile[vpn] - 1;

	if (!(pte->fl & PTE_PRESENT)) {
		/* do_read_fault / do_shared_fault; a marker maps R/O + uffd-wp */
		unsigned wp = pte->fl & PTE_MARKER ? PTE_UFFD_WP : 0;
		h->stats.faults++;
		/* shmem_get_folio_gfp(): a hole in a MISSING-registered range,
		 * or a cached page in a MINOR-registered one, asks the monitor */
		bool cached = h->file[fd].cache[m->voff[vpn]] != S2HOST_NO_PFN;
		if (!cached && (m->vma[vpn] & VMA_UFFD_MISSING))
			return s2host__userfault(h, mm, vpn, S2HOST_UFFD_MISSING);
		if (cached && (m->vma[vpn] & VMA_UFFD_MINOR))
			return s2host__userfault(h, mm, vpn, S2HOST_UFFD_MINOR);
		*pte = (struct s2host__pte){ 0, 0 };
		uint64_t pfn = s2host__find_or_add(h, fd, m->voff[vpn]);
		s2host__map_page(h, mm, vpn, pfn, PTE_YOUNG | wp);
		if (!write) {
			fault_around(h, mm, vpn);
			return 0;
		}
	}
	if (!write) {
		pte->fl |= PTE_YOUNG;
		return 0;
	}
	if ((pte->fl & PTE_UFFD_WP) && (m->vma[vpn] & VMA_UFFD_WP))
		return s2host__userfault(h, mm, vpn, S2HOST_UFFD_WP);
	/* wp_page_shared(): no copy, the shared page becomes writable */
	pte->fl |= PTE_WRITE | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY;
	return 0;
}

static int punch_args(struct s2host *h, int fd, unsigned off, unsigned npages)
{
	if (fd < 0 || (unsigned)fd >= h->nr_file || !npages)
		return S2_EINVAL;
	if (off > h->file[fd].nr_pages || npages > h->file[fd].nr_pages - off)
		return S2_ERANGE;
	return 0;
}

/* Zap every PTE of every process that maps pages [off, off+n) of fd; a
 * uffd-wp PTE leaves a marker when markers is set. A punch is the
 * processes' own doing (as MADV_DONTNEED): long-term pins on the range no
 * longer promise them a stable mapping. */
static void unmap_mapping_range(struct s2host *h, int fd, unsigned off, unsigned n, bool markers)
{
	for (unsigned i = 0; i < h->nr_ref; i++) {
		struct s2host__ref *r = &h->ref[i];
		const struct s2host__mm *m = &h->mm[r->mm];
		if (r->live && m->vfile[r->vpn] == fd + 1 && m->voff[r->vpn] >= off &&
		    m->voff[r->vpn] < off + n)
			r->detached = true;
	}
	for (unsigned i = 0; i < h->nr_mm; i++) {
		struct s2host__mm *m = &h->mm[i];
		if (!m->alive)
			continue;
		for (unsigned v = 0; v < h->cfg.nr_pages; v++) {
			if (m->vfile[v] != fd + 1 || m->voff[v] < off || m->voff[v] >= off + n ||
			    !(m->pte[v].fl & PTE_PRESENT))
				continue;
			bool wp = m->pte[v].fl & PTE_UFFD_WP;
			s2host__inval_start(h, (int)i, v, 1, S2HOST_MN_CLEAR);
			s2host__zap_pte(h, (int)i, v);
			if (wp && markers)
				m->pte[v] = (struct s2host__pte){ 0, PTE_MARKER | PTE_UFFD_WP };
			s2host__inval_end(h, (int)i, v, 1, S2HOST_MN_CLEAR);
		}
	}
}

int s2host_punch_unmap(struct s2host *h, int fd, unsigned off, unsigned npages)
{
	int err = punch_args(h, fd, off, npages);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	h->file[fd].punching = true;	/* shmem_fallocate sets inode->i_private */
	unmap_mapping_range(h, fd, off, npages, h->cfg.uffd_markers);
	return s2host__end(h, 0);
}

int s2host_punch_truncate(struct s2host *h, int fd, unsigned off, unsigned npages)
{
	int err = punch_args(h, fd, off, npages);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	/* shmem_truncate_range: under the page lock, zap again, then drop */
	unmap_mapping_range(h, fd, off, npages, h->cfg.uffd_markers);
	struct s2host__file *file = &h->file[fd];
	for (unsigned i = off; i < off + npages; i++) {
		uint64_t pfn = file->cache[i];
		if (pfn == S2HOST_NO_PFN)
			continue;
		struct s2host__folio *f = s2host__folio_of(h, pfn);
		if (f->silent_write)
			s2host__violate(h, S2HOST_RULE_LOST_WRITE, -1, S2HOST_NO_PFN, pfn,
					"the hole punch discards page %llu of memfd %d (offset %u) with "
					"value %llu, written while write-protected without the uffd "
					"monitor being told", (unsigned long long)pfn, fd, i,
					(unsigned long long)h->page[pfn].value);
		f->in_cache = false;
		file->cache[i] = S2HOST_NO_PFN;
		s2host__put_later(h, pfn);
	}
	file->punching = false;
	return s2host__end(h, 0);
}

int s2host_madv_remove(struct s2host *h, int mm, uint64_t hva, uint64_t size,
		       struct s2host_punch *rest)
{
	int err = s2host__range_ok(h, mm, hva, size);
	if (err)
		return err;
	struct s2host__mm *m = &h->mm[mm];
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	/* madvise_remove(): one shared, writable file mapping, pages in order */
	for (uint64_t v = vpn; v < vpn + n; v++) {
		if (!(m->vma[v] & VMA_MAPPED))
			return S2_ENOMEM;
		if (!(m->vma[v] & VMA_SHARED) || m->vfile[v] != m->vfile[vpn] ||
		    m->voff[v] != m->voff[vpn] + (v - vpn))
			return S2_EINVAL;
		if (!(m->vma[v] & VMA_WRITE))
			return S2_EACCES;
	}
	struct s2host_punch p = { m->vfile[vpn] - 1, m->voff[vpn], (unsigned)n };
	/* vfs_fallocate(PUNCH_HOLE | KEEP_SIZE): shmem_fallocate's two steps */
	if ((err = s2host_punch_unmap(h, p.fd, p.off, p.npages)))
		return err;
	if (rest) {
		*rest = p;
		return 0;
	}
	return s2host_punch_truncate(h, p.fd, p.off, p.npages);
}
