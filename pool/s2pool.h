/* s2pool: the machine's table pages.
 *
 * A pool hands out granule-sized, zeroed pages at known physical addresses,
 * keeps KVM-style refcounts on them, and never gives host memory back while
 * the pool lives: a freed page stays readable (quarantined) so that a walk
 * through it is something the checker can observe and report, not undefined
 * behaviour in the emulator. Freed pages are reused only after a quarantine
 * of later frees, and every reuse bumps the page's generation so that a TLB
 * entry remembering an older generation is recognisably stale.
 *
 * s2pool_mm_ops is a complete s2pt_mm_ops with no machine behind it
 * (stores are plain, TLBIs and barriers do nothing): for unit tests and the
 * walker benchmark. Misuse (a put below zero, a get on a freed page, a free
 * of a freed page) is counted, never fatal.
 */
#ifndef S2POOL_H
#define S2POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/s2_types.h"
#include "walker/s2pt.h"

enum s2pool_page_state {
	S2POOL_PAGE_UNUSED = 0,	/* never allocated */
	S2POOL_PAGE_LIVE,
	S2POOL_PAGE_FREED,	/* quarantined or on the free list */
};

struct s2pool_errors {
	unsigned long put_below_zero;
	unsigned long get_on_freed;
	unsigned long put_on_freed;
	unsigned long double_free;
	unsigned long bad_address;	/* a pointer or PA outside the pool */
};

struct s2pool_page {
	int32_t refcount;
	uint8_t state;		/* enum s2pool_page_state */
	uint32_t gen;		/* bumped on every allocation */
};

struct s2pool;

/* Pages at PA base.. (base aligned to 16 granules), at most max_bytes. NULL
 * on a bad argument or when the host has no memory. */
struct s2pool *s2pool_new(unsigned granule_shift, s2_pa_t base,
				  uint64_t max_bytes);
void s2pool_delete(struct s2pool *p);
/*
 * Make p what s2pool_new(granule_shift, base, max_bytes) would return,
 * without a new reservation: no page allocated, counters and errors zero,
 * generations restarted; the host memory already committed stays (up to
 * 64 MiB). False, with p unchanged, when p has another geometry.
 */
bool s2pool_reset(struct s2pool *p, unsigned granule_shift, s2_pa_t base, uint64_t max_bytes);

void *s2pool_alloc(struct s2pool *p);
/* nr contiguous pages aligned to nr pages, for concatenated roots. */
void *s2pool_alloc_exact(struct s2pool *p, unsigned nr);
void s2pool_free(struct s2pool *p, void *page);
void s2pool_get(struct s2pool *p, void *addr);
/* Returns true when this put freed the page. */
bool s2pool_put(struct s2pool *p, void *addr);

/* NULL outside the pool. */
struct s2pool_page *s2pool_page_of(struct s2pool *p, const void *addr);
struct s2pool_page *s2pool_page_at(struct s2pool *p, s2_pa_t pa);
void *s2pool_va(struct s2pool *p, s2_pa_t pa);
s2_pa_t s2pool_pa(struct s2pool *p, const void *va);
bool s2pool_contains_pa(const struct s2pool *p, s2_pa_t pa);
/* Pages are numbered from 0 in address order; false outside the pool. */
bool s2pool_index(const struct s2pool *p, const void *addr, uint64_t *idx);
void *s2pool_page_by_index(struct s2pool *p, uint64_t idx);

/* The page-aligned start of the page holding addr. */
void *s2pool_page_base(struct s2pool *p, const void *addr);

struct s2pool_stats {
	unsigned long allocs;
	unsigned long frees;
	unsigned long live;		/* pages allocated and not freed */
	unsigned long high_water;	/* pages ever carved from the arena */
};
void s2pool_stats(const struct s2pool *p, struct s2pool_stats *st);
const struct s2pool_errors *s2pool_errors(const struct s2pool *p);
/* Call fn on every live page. */
void s2pool_for_each_live(struct s2pool *p,
			      void (*fn)(void *arg, void *page, struct s2pool_page *pg),
			      void *arg);

/* mm ops over a pool; ctx is the struct s2pool *. */
extern const struct s2pt_mm_ops s2pool_mm_ops;

#endif
