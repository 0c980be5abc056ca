/* The table-page pool: one reserved arena, a bump pointer, and a FIFO of
 * freed pages that is only drawn from once it is longer than the quarantine. */
#include "pool/s2pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/s2_bits.h"

/* Frees that must happen after a page's free before it is reused. */
#define POOL_QUARANTINE 64
#define POOL_MAX_ROOTS 16

struct s2pool {
	unsigned shift;
	uint64_t page_size;
	uint8_t *arena;		/* aligned to POOL_MAX_ROOTS pages */
	void *map;		/* what mmap returned */
	size_t map_len;
	uint64_t base;		/* PA of arena[0] */
	uint64_t nr_pages;	/* capacity */
	uint64_t next;		/* bump index */
	struct s2pool_page *pages;	/* metadata of pages [0, meta_cap) */
	uint64_t *fifo;		/* freed page indices, a ring of meta_cap slots */
	uint64_t meta_cap;
	uint64_t fifo_head, fifo_len;
	struct s2pool_stats st;
	struct s2pool_errors err;
};

struct s2pool *s2pool_new(unsigned granule_shift, s2_pa_t base,
				  uint64_t max_bytes)
{
	uint64_t page = (uint64_t)1 << granule_shift;
	uint64_t align = page * POOL_MAX_ROOTS;

	if ((granule_shift != 12 && granule_shift != 14 && granule_shift != 16) ||
	    !s2_is_aligned(s2_pa_get(base), align) || max_bytes < align)
		return NULL;
	struct s2pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->shift = granule_shift;
	p->page_size = page;
	p->base = s2_pa_get(base);
	p->nr_pages = s2_align_down(max_bytes, align) >> granule_shift;
	/* Reserve address space only; the host commits what is touched. */
	p->map_len = (size_t)(p->nr_pages * page + align);
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	/* Metadata grows with the pages carved out (see grow_meta): a machine
	 * that uses a few tables pays for a few. */
	p->meta_cap = 64;
	p->pages = calloc(p->meta_cap, sizeof(*p->pages));
	p->fifo = calloc(p->meta_cap, sizeof(*p->fifo));
	if (p->map == MAP_FAILED || !p->pages || !p->fifo) {
		if (p->map != MAP_FAILED)
			munmap(p->map, p->map_len);
		free(p->pages);
		free(p->fifo);
		free(p);
		return NULL;
	}
	p->arena = (uint8_t *)s2_align_up((uint64_t)(uintptr_t)p->map, align);
	return p;
}

void s2pool_delete(struct s2pool *p)
{
	if (!p)
		return;
	munmap(p->map, p->map_len);
	free(p->pages);
	free(p->fifo);
	free(p);
}

/* Committed memory a reset keeps: what a typical machine uses, so that a
 * machine built on a reset pool touches no new host pages. */
#define POOL_KEEP_BYTES (64ull << 20)

bool s2pool_reset(struct s2pool *p, unsigned granule_shift, s2_pa_t base, uint64_t max_bytes)
{
	uint64_t align = ((uint64_t)1 << granule_shift) * POOL_MAX_ROOTS;

	if (granule_shift != p->shift || s2_pa_get(base) != p->base ||
	    s2_align_down(max_bytes, align) >> granule_shift != p->nr_pages)
		return false;
	uint64_t used = p->next << p->shift;
	if (used > POOL_KEEP_BYTES)
		madvise(p->arena + POOL_KEEP_BYTES, (size_t)(used - POOL_KEEP_BYTES), MADV_DONTNEED);
	memset(p->pages, 0, (size_t)p->meta_cap * sizeof(*p->pages));
	p->next = 0;
	p->fifo_head = p->fifo_len = 0;
	p->st = (struct s2pool_stats){ 0 };
	p->err = (struct s2pool_errors){ 0 };
	return true;
}

/* Room for metadata of pages [0, need). */
static bool grow_meta(struct s2pool *p, uint64_t need)
{
	if (need <= p->meta_cap)
		return true;
	uint64_t ncap = p->meta_cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > p->nr_pages)
		ncap = p->nr_pages;
	struct s2pool_page *pages = realloc(p->pages, ncap * sizeof(*pages));
	if (!pages)
		return false;
	memset(pages + p->meta_cap, 0, (ncap - p->meta_cap) * sizeof(*pages));
	p->pages = pages;
	uint64_t *fifo = malloc(ncap * sizeof(*fifo));
	if (!fifo)
		return false;
	for (uint64_t i = 0; i < p->fifo_len; i++)
		fifo[i] = p->fifo[(p->fifo_head + i) % p->meta_cap];
	free(p->fifo);
	p->fifo = fifo;
	p->fifo_head = 0;
	p->meta_cap = ncap;
	return true;
}

static bool index_of(const struct s2pool *p, const void *addr, uint64_t *idx)
{
	uintptr_t a = (uintptr_t)addr, lo = (uintptr_t)p->arena;
	if (a < lo || a >= lo + p->next * p->page_size)
		return false;
	*idx = (uint64_t)(a - lo) >> p->shift;
	return true;
}

static void *page_va(const struct s2pool *p, uint64_t idx)
{
	return p->arena + (idx << p->shift);
}

static void take(struct s2pool *p, uint64_t idx)
{
	struct s2pool_page *pg = &p->pages[idx];
	pg->state = S2POOL_PAGE_LIVE;
	pg->refcount = 1;
	pg->gen++;
	memset(page_va(p, idx), 0, p->page_size);
	p->st.allocs++;
	p->st.live++;
}

void *s2pool_alloc(struct s2pool *p)
{
	uint64_t idx;

	if (p->fifo_len > POOL_QUARANTINE) {
		idx = p->fifo[p->fifo_head];
		p->fifo_head = (p->fifo_head + 1) % p->meta_cap;
		p->fifo_len--;
	} else if (p->next < p->nr_pages && grow_meta(p, p->next + 1)) {
		idx = p->next++;
		p->st.high_water = p->next;
	} else {
		return NULL;
	}
	take(p, idx);
	return page_va(p, idx);
}

void *s2pool_alloc_exact(struct s2pool *p, unsigned nr)
{
	if (nr == 0 || nr > POOL_MAX_ROOTS)
		return NULL;
	/* Roots are rare: carve them fresh, aligned, from the bump pointer. The
	 * pages skipped for alignment simply stay unused. */
	uint64_t idx = s2_align_up(p->next, nr);
	if (idx + nr > p->nr_pages || !grow_meta(p, idx + nr))
		return NULL;
	p->next = idx + nr;
	p->st.high_water = p->next;
	for (unsigned i = 0; i < nr; i++)
		take(p, idx + i);
	return page_va(p, idx);
}

static void release(struct s2pool *p, uint64_t idx)
{
	struct s2pool_page *pg = &p->pages[idx];
	pg->state = S2POOL_PAGE_FREED;
	pg->refcount = 0;
	p->fifo[(p->fifo_head + p->fifo_len) % p->meta_cap] = idx;
	p->fifo_len++;
	p->st.frees++;
	p->st.live--;
}

void s2pool_free(struct s2pool *p, void *page)
{
	uint64_t idx;

	if (!index_of(p, page, &idx)) {
		p->err.bad_address++;
		return;
	}
	if (p->pages[idx].state != S2POOL_PAGE_LIVE) {
		p->err.double_free++;
		return;
	}
	release(p, idx);
}

void s2pool_get(struct s2pool *p, void *addr)
{
	uint64_t idx;

	if (!index_of(p, addr, &idx)) {
		p->err.bad_address++;
		return;
	}
	if (p->pages[idx].state != S2POOL_PAGE_LIVE) {
		p->err.get_on_freed++;
		return;
	}
	p->pages[idx].refcount++;
}

bool s2pool_put(struct s2pool *p, void *addr)
{
	uint64_t idx;

	if (!index_of(p, addr, &idx)) {
		p->err.bad_address++;
		return false;
	}
	struct s2pool_page *pg = &p->pages[idx];
	if (pg->state != S2POOL_PAGE_LIVE) {
		p->err.put_on_freed++;
		return false;
	}
	if (pg->refcount <= 0) {
		p->err.put_below_zero++;
		return false;
	}
	if (--pg->refcount == 0) {
		release(p, idx);
		return true;
	}
	return false;
}

struct s2pool_page *s2pool_page_of(struct s2pool *p, const void *addr)
{
	uint64_t idx;
	return index_of(p, addr, &idx) ? &p->pages[idx] : NULL;
}

bool s2pool_contains_pa(const struct s2pool *p, s2_pa_t pa)
{
	uint64_t v = s2_pa_get(pa);
	return v >= p->base && v - p->base < (p->next << p->shift);
}

struct s2pool_page *s2pool_page_at(struct s2pool *p, s2_pa_t pa)
{
	if (!s2pool_contains_pa(p, pa))
		return NULL;
	return &p->pages[(s2_pa_get(pa) - p->base) >> p->shift];
}

void *s2pool_va(struct s2pool *p, s2_pa_t pa)
{
	if (!s2pool_contains_pa(p, pa)) {
		p->err.bad_address++;
		return NULL;
	}
	return p->arena + (s2_pa_get(pa) - p->base);
}

s2_pa_t s2pool_pa(struct s2pool *p, const void *va)
{
	uint64_t idx;
	if (!index_of(p, va, &idx)) {
		p->err.bad_address++;
		return s2_pa(0);
	}
	return s2_pa(p->base + (uint64_t)((const uint8_t *)va - p->arena));
}

bool s2pool_index(const struct s2pool *p, const void *addr, uint64_t *idx)
{
	return index_of(p, addr, idx);
}

void *s2pool_page_by_index(struct s2pool *p, uint64_t idx)
{
	return idx < p->next ? page_va(p, idx) : NULL;
}

void *s2pool_page_base(struct s2pool *p, const void *addr)
{
	uint64_t idx;
	return index_of(p, addr, &idx) ? page_va(p, idx) : NULL;
}

void s2pool_stats(const struct s2pool *p, struct s2pool_stats *st)
{
	*st = p->st;
}

const struct s2pool_errors *s2pool_errors(const struct s2pool *p)
{
	return &p->err;
}

void s2pool_for_each_live(struct s2pool *p,
			      void (*fn)(void *arg, void *page, struct s2pool_page *pg),
			      void *arg)
{
	for (uint64_t i = 0; i < p->next; i++)
		if (p->pages[i].state == S2POOL_PAGE_LIVE)
			fn(arg, page_va(p, i), &p->pages[i]);
}

/* ------------------------------------------------------------------ */

static void *op_zalloc_page(void *ctx)
{
	return s2pool_alloc(ctx);
}

static void *op_zalloc_pages_exact(void *ctx, unsigned nr)
{
	return s2pool_alloc_exact(ctx, nr);
}

static void op_free_page(void *ctx, void *page)
{
	s2pool_free(ctx, page);
}

static void op_free_pages_exact(void *ctx, void *pages, unsigned nr)
{
	struct s2pool *p = ctx;
	for (unsigned i = 0; i < nr; i++)
		s2pool_free(p, (uint8_t *)pages + ((uint64_t)i << p->shift));
}

static void op_get_page(void *ctx, void *addr)
{
	s2pool_get(ctx, addr);
}

static void op_put_page(void *ctx, void *addr)
{
	s2pool_put(ctx, addr);
}

static int op_page_count(void *ctx, void *addr)
{
	struct s2pool_page *pg = s2pool_page_of(ctx, addr);
	return pg ? pg->refcount : 0;
}

static void *op_phys_to_virt(void *ctx, s2_pa_t pa)
{
	return s2pool_va(ctx, pa);
}

static s2_pa_t op_virt_to_phys(void *ctx, void *va)
{
	return s2pool_pa(ctx, va);
}

static void op_set_pte(void *ctx, s2_pte_t *ptep, s2_pte_t pte, bool release)
{
	(void)ctx;
	if (release)
		__atomic_store_n(ptep, pte, __ATOMIC_RELEASE);
	else
		*(volatile s2_pte_t *)ptep = pte;
}

static void op_tlbi(void *ctx, enum s2pt_tlbi op, s2_ipa_t ipa, s2_level_t level)
{
	(void)ctx; (void)op; (void)ipa; (void)level;
}

static void op_barrier(void *ctx, enum s2pt_barrier b)
{
	(void)ctx; (void)b;
}

const struct s2pt_mm_ops s2pool_mm_ops = {
	.zalloc_page = op_zalloc_page,
	.zalloc_pages_exact = op_zalloc_pages_exact,
	.free_page = op_free_page,
	.free_pages_exact = op_free_pages_exact,
	.get_page = op_get_page,
	.put_page = op_put_page,
	.page_count = op_page_count,
	.phys_to_virt = op_phys_to_virt,
	.virt_to_phys = op_virt_to_phys,
	.set_pte = op_set_pte,
	.tlbi = op_tlbi,
	.barrier = op_barrier,
};
