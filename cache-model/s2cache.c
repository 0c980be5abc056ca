/* s2cache: the cache model's state, accesses, CMOs and questions.
 *
 * Layout. Memory is a hash of 2 MiB blocks, each a table of 4 KiB frames
 * allocated on first touch; a block's counters mirror its frames', so
 * range questions cost per block. A line exists only once it is touched
 * (written, read cacheably or fetched): its record holds its metadata (64
 * bytes), its dcache data and its memory at the PoC, contiguous so that an
 * access touches adjacent host cache lines. A line without a record is in
 * the initial state: zero in memory, in no cache. The records of one page
 * sit in one array in line order; the block's entry for the page holds
 * that array and a bitmap of the lines that have a record, so a line's
 * record is found by a popcount, without reading the frame. Random
 * accesses over a large memory are bound by host cache misses: the block
 * table stays in the host caches, so an access costs about one miss. The
 * frame (counters, PoU copies, icache blocks, ghost) is read only off the
 * fast paths. The PoU copies (only when the PoU is above the PoC and IDC
 * is 0), each CPU's icache lines for the page and the ghost page are
 * separate allocations made on first use.
 *
 * Staleness. Every copy of a line has `ver`, the newest write it reflects,
 * and `stale`, the granules where it lacks the latest write. A write clears
 * the bits it fully covers in the copy it goes to and sets the bits it
 * touches in every other copy of the line: memory, the dcache line, the PoU
 * copy and the icache lines of the CPUs in `icpu`. Copying a line (fill,
 * write-back, icache fill) copies the bytes, ver and stale together, so a
 * copy's mask is exact at granule precision without any byte comparison.
 *
 * The latest value of a granule is in the dcache line, memory or the PoU
 * copy, whichever is fresh there. Only when an operation destroys the last
 * fresh copy (a lost write, or a partial write to a granule of a stale
 * copy with long lines) is the value saved in the frame's ghost page and
 * the granule marked in `orphan`. So the hot paths never write a ghost.
 * Icache copies do not count: they are dropped too often to be a source.
 */
#include "cache-model/s2cache.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_err.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	((size_t)1 << PAGE_SHIFT)
#define BLK_SHIFT	21	/* 2 MiB summaries */
#define BLK_FRAMES	((size_t)1 << (BLK_SHIFT - PAGE_SHIFT))
#define HOST_LINE	64	/* host cache line: alignment of hot structures */
#define BCACHE		256	/* direct-mapped block cache entries (512 MiB of blocks) */
#define MAP_EMPTY	UINT64_MAX
#define REC_CLASSES	16	/* record arrays of up to 1 << 15 lines (a page has 256 at most) */

/* Line flags. */
enum {
	L_VALID = 1u << 0,	/* the dcache holds the line */
	L_DIRTY = 1u << 1,	/* ... with data not yet written back to the PoC */
	L_UNPOU = 1u << 2,	/* ... with data an icache fill would not see (IDC = 0) */
};

/* Per-frame and per-2M counters, kept equal to the line states below them. */
enum { CNT_RES, CNT_DIRTY, CNT_UNPOU, CNT_ISTALE, CNT_N };
struct s2cache__counts {
	uint32_t v[CNT_N];
};

/* The always-present state of one line, one host cache line: memory,
 * dcache and ghost metadata. Followed in its slab by the dcache data and
 * memory. */
struct s2cache__line {
	uint64_t latest;	/* newest write to the line */
	uint64_t mem_ver, mem_stale;
	uint64_t dc_ver, dc_stale;	/* meaningful while L_VALID */
	uint64_t icpu;		/* CPUs whose icache holds the line */
	uint16_t flags;
	uint16_t li;		/* the line's index in its page */
	uint32_t res_idx;	/* index in the resident array while L_VALID */
	uint64_t orphan;	/* granules whose latest value only the ghost holds */
};

/* Metadata of a PoU copy or of one CPU's icache line. */
struct s2cache__copy {
	uint64_t ver, stale;
};

/* A page's line records: the array (line order) and which lines have one.
 * Followed by c->have_words - 1 more words of the bitmap when lines are
 * shorter than 64 bytes. */
struct s2cache__ent {
	uint8_t *recs;
	uint64_t have[];
};

/* Followed by the BLK_FRAMES page entries, c->ent_size bytes each. */
struct s2cache__blk {
	uint64_t bn;
	struct s2cache__counts cnt;
	uint64_t resmap[BLK_FRAMES / 64];	/* frames holding a resident line */
	uint64_t icmap[BLK_FRAMES / 64];	/* frames some icache holds a line of */
	struct s2cache__frame *fr[BLK_FRAMES];
};

/* Followed by the icache block pointers (one per CPU) and, at an offset
 * kept in the handle, the line slabs. */
struct s2cache__frame {
	uint64_t fn;
	struct s2cache__blk *blk;
	struct s2cache__ent *ent;	/* the page's entry in its block */
	struct s2cache__copy *pou;	/* PoU copies: metadata then data */
	uint8_t *ghost;		/* latest values of orphan granules, by page offset */
	uint32_t ilines;	/* (CPU, line) icache entries of the page */
	struct s2cache__counts cnt;
};

/* One CPU's icache lines for one frame; followed by the line copies'
 * metadata and data. */
struct s2cache__iblk {
	struct s2cache__frame *fr;
	uint32_t nlines;	/* lines held */
	uint32_t list_idx;	/* position in the CPU's list while nlines > 0 */
};

struct s2cache__slot {
	uint64_t key;
	void *val;
};

/* Open addressing, linear probing, never deletes: blocks live until destroy. */
struct s2cache__map {
	struct s2cache__slot *slot;
	size_t cap, n;
	unsigned shift;
};

/* A resident line: its page and its record, kept up to date when the
 * page's records move, so that the line whose entry moves when another
 * leaves the array is reached in one load (its res_idx changes). */
struct s2cache__res {
	struct s2cache__frame *fr;
	struct s2cache__line *l;
};

struct s2cache__iblks {
	struct s2cache__iblk **v;
	size_t n, cap;
};

/* A block cache entry; bn is never a real block number while unused. */
struct s2cache__bce {
	uint64_t bn;
	struct s2cache__blk *blk;
};

struct s2cache {
	/* What the fast paths read, first: one host cache line. */
	unsigned ncpus;
	unsigned line;		/* bytes */
	unsigned line_shift;
	uint32_t hot_flags;	/* flags of a line a write can update in place */
	size_t off_ents, ent_size, slab;
	uint64_t ver;
	bool fast_write;	/* byte granules and no PoU copies: writes can go in place */

	struct s2cache_config cfg;
	unsigned nlines;	/* lines per frame */
	unsigned gshift;	/* log2 of the granule */
	uint64_t gall;		/* granule bits that exist in a line */
	uint64_t pa_limit;
	bool split;		/* PoU copies are tracked: PoU above PoC and IDC = 0 */
	bool track_unpou;	/* IDC = 0: the dcache must be cleaned to PoU for fetches */

	size_t frame_size, blk_size;
	unsigned have_words;	/* 64-bit words of a page's line bitmap */
	uint64_t have_all;	/* the first word when every line of a page exists */
	struct s2cache__line *dflt;	/* an untouched line: read-only, all zero */
	size_t off_pou_data, pou_size;
	size_t off_il, off_il_data, iblk_size;

	uint64_t ndirty;
	uint64_t bytes;
	uint64_t nframes;
	struct s2cache__map blks;
	struct s2cache__bce bcache[BCACHE];	/* recently used blocks, by bn % BCACHE */
	struct s2cache__res *res;
	size_t nres, rescap;
	struct s2cache__iblks icl[S2CACHE_MAX_CPUS];	/* icache blocks per CPU */

	/* State given back (a record array outgrown, a page's state at a
	 * reset), kept for reuse until destroy: one list for each size, linked
	 * through each block's first word (keep_push, keep_pop). */
	void *kept_frames, *kept_pou, *kept_ghost, *kept_iblk;
	void *kept_recs[REC_CLASSES];	/* record arrays of 1 << k records */

	uint64_t nlost;
	struct s2cache_lost lost[S2CACHE_LOST_LOG];
	uint8_t *lostbuf;	/* two lines per record: lost and kept bytes */
};

static const uint8_t zeros[2048];	/* DC ZVA source; the largest block */

/* ---- Allocation, counted so the model can report its size ------------- */

static void *zalloc(struct s2cache *c, size_t size)
{
	size = s2_align_up(size, HOST_LINE);
	void *p = aligned_alloc(HOST_LINE, size);
	if (p) {
		memset(p, 0, size);
		c->bytes += size;
	}
	return p;
}

static void zfree(struct s2cache *c, void *p, size_t size)
{
	if (!p)
		return;
	c->bytes -= s2_align_up(size, HOST_LINE);
	free(p);
}

/* Blocks of one size given back for reuse: the model's state over many
 * resets (a search runs thousands of schedules on one machine) costs no
 * allocator call once the lists hold what a schedule needs. Not counted in
 * c->bytes, which is the state in use. */
static void keep_push(void **list, void *p)
{
	*(void **)p = *list;
	*list = p;
}

static void *keep_pop(void **list)
{
	void *p = *list;

	if (p)
		*list = *(void **)p;
	return p;
}

static void keep_free_all(void **list)
{
	for (void *p; (p = keep_pop(list));)
		free(p);
}

/* zalloc from a list of blocks of this size first. */
static void *zalloc_kept(struct s2cache *c, void **list, size_t size)
{
	size = s2_align_up(size, HOST_LINE);
	void *p = keep_pop(list);
	if (!p)
		return zalloc(c, size);
	memset(p, 0, size);
	c->bytes += size;
	return p;
}

/* zfree onto a list for zalloc_kept. */
static void zfree_kept(struct s2cache *c, void **list, void *p, size_t size)
{
	if (!p)
		return;
	c->bytes -= s2_align_up(size, HOST_LINE);
	keep_push(list, p);
}

/* v (n elements of size sz used, *cap allocated) able to hold one more;
 * NULL, with v untouched, when out of memory. */
static void *grow(struct s2cache *c, void *v, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(v, ncap * sz);
	if (!p)
		return NULL;
	c->bytes += (ncap - *cap) * sz;
	*cap = ncap;
	return p;
}

/* ---- Hash map --------------------------------------------------------- */

static size_t map_hash(const struct s2cache__map *m, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> m->shift);
}

static void *map_get(const struct s2cache__map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = map_hash(m, key);; i = (i + 1) & mask) {
		if (m->slot[i].key == key)
			return m->slot[i].val;
		if (m->slot[i].key == MAP_EMPTY)
			return NULL;
	}
}

static void map_insert(struct s2cache__map *m, uint64_t key, void *val)
{
	size_t mask = m->cap - 1, i = map_hash(m, key);

	while (m->slot[i].key != MAP_EMPTY)
		i = (i + 1) & mask;
	m->slot[i] = (struct s2cache__slot){ key, val };
	m->n++;
}

/* key must be absent. */
static int map_put(struct s2cache *c, struct s2cache__map *m, uint64_t key, void *val)
{
	/* Half full at most, so probes stay short. */
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct s2cache__slot *ns = malloc(ncap * sizeof(*ns));
		if (!ns)
			return S2_ENOMEM;
		for (size_t i = 0; i < ncap; i++)
			ns[i].key = MAP_EMPTY;
		struct s2cache__map nm = { ns, ncap, 0, 0 };
		unsigned lg = 0;
		while (((size_t)1 << lg) < ncap)
			lg++;
		nm.shift = 64 - lg;
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i].key != MAP_EMPTY)
				map_insert(&nm, m->slot[i].key, m->slot[i].val);
		c->bytes += (ncap - m->cap) * sizeof(*ns);
		free(m->slot);
		*m = nm;
	}
	map_insert(m, key, val);
	return S2_OK;
}

/* ---- Frame layout helpers --------------------------------------------- */

static inline struct s2cache__ent *blk_ent(const struct s2cache *c,
					   const struct s2cache__blk *b, size_t k)
{
	return (struct s2cache__ent *)((uintptr_t)b + c->off_ents + k * c->ent_size);
}

/* Portable popcount: the baseline x86-64 target has no instruction. */
static inline unsigned popcount64(uint64_t x)
{
#ifdef __POPCNT__
	return (unsigned)__builtin_popcountll(x);
#endif
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* Records before line li in the page's array. */
static inline size_t ent_rank(const struct s2cache__ent *e, size_t li)
{
	size_t w = li >> 6, n = popcount64(e->have[w] & (s2_bit((unsigned)(li & 63)) - 1));

	while (w--)
		n += popcount64(e->have[w]);
	return n;
}

static inline bool ent_has(const struct s2cache__ent *e, size_t li)
{
	return (e->have[li >> 6] >> (li & 63)) & 1;
}

static inline size_t ent_count(const struct s2cache *c, const struct s2cache__ent *e)
{
	size_t n = 0;

	for (unsigned w = 0; w < c->have_words; w++)
		n += popcount64(e->have[w]);
	return n;
}

/* Records an array of n has room for: the next power of two. */
static inline size_t rec_cap(size_t n)
{
	size_t cap = 1;

	while (cap < n)
		cap <<= 1;
	return n ? cap : 0;
}

static inline unsigned rec_class(size_t cap)
{
	unsigned k = 0;

	while (((size_t)1 << k) < cap)
		k++;
	return k;
}

/* A page's record array with room for cap (a power of two) records,
 * uninitialised; NULL when out of memory. */
static uint8_t *recs_alloc(struct s2cache *c, size_t cap)
{
	uint8_t *r = keep_pop(&c->kept_recs[rec_class(cap)]);

	if (!r)
		r = aligned_alloc(HOST_LINE, cap * c->slab);
	if (r)
		c->bytes += cap * c->slab;
	return r;
}

static void recs_free(struct s2cache *c, uint8_t *r, size_t cap)
{
	if (!r)
		return;
	c->bytes -= cap * c->slab;
	keep_push(&c->kept_recs[rec_class(cap)], r);
}

/* The record of line li of a page, or NULL while the line is untouched. */
static inline struct s2cache__line *ent_line(const struct s2cache *c,
					     const struct s2cache__ent *e, size_t li)
{
	if (!ent_has(e, li))
		return NULL;
	return (struct s2cache__line *)(e->recs + ent_rank(e, li) * c->slab);
}

static inline struct s2cache__line *fr_line(const struct s2cache *c,
					    const struct s2cache__frame *f, size_t li)
{
	return ent_line(c, f->ent, li);
}

/* The line, or the all-zero untouched line: for paths that only read. */
static inline const struct s2cache__line *fr_line_ro(const struct s2cache *c,
						     const struct s2cache__frame *f, size_t li)
{
	const struct s2cache__line *l = fr_line(c, f, li);

	return l ? l : c->dflt;
}

static inline struct s2cache__iblk **fr_ic(const struct s2cache *c,
					   const struct s2cache__frame *f)
{
	(void)c;
	return (struct s2cache__iblk **)((uintptr_t)f + sizeof(*f));
}

static inline uint8_t *l_dc(const struct s2cache__line *l)
{
	return (uint8_t *)(uintptr_t)(l + 1);
}

static inline uint8_t *l_mem(const struct s2cache *c, const struct s2cache__line *l)
{
	return l_dc(l) + c->line;
}

static inline struct s2cache__copy *ib_copy(const struct s2cache *c,
					    const struct s2cache__iblk *ib, size_t li)
{
	return (struct s2cache__copy *)((uintptr_t)ib + c->off_il) + li;
}

static inline uint8_t *ib_data(const struct s2cache *c, const struct s2cache__iblk *ib)
{
	return (uint8_t *)((uintptr_t)ib + c->off_il_data);
}

static inline void cnt_add(struct s2cache__frame *f, unsigned id, int d)
{
	f->cnt.v[id] += (uint32_t)d;
	f->blk->cnt.v[id] += (uint32_t)d;
}

/* A frame's bit in one of its block's maps (resmap, icmap). */
static inline void fmap_set(uint64_t *map, const struct s2cache__frame *f, bool on)
{
	size_t k = f->fn % BLK_FRAMES;
	uint64_t bit = s2_bit((unsigned)(k & 63));

	if (on)
		map[k / 64] |= bit;
	else
		map[k / 64] &= ~bit;
}

static inline void resmap_set(struct s2cache__frame *f, bool on)
{
	fmap_set(f->blk->resmap, f, on);
}

/* The first frame at or after k with its bit set; BLK_FRAMES if none. */
static size_t fmap_next(const uint64_t *map, size_t k)
{
	for (size_t w = k / 64; w < BLK_FRAMES / 64; w++) {
		uint64_t m = map[w] & (w == k / 64 ? ~(s2_bit((unsigned)(k & 63)) - 1) : ~0ull);
		if (m)
			return w * 64 + (size_t)__builtin_ctzll(m);
	}
	return BLK_FRAMES;
}

static inline uint64_t line_pa(const struct s2cache *c, const struct s2cache__frame *f, size_t li)
{
	return (f->fn << PAGE_SHIFT) | ((uint64_t)li << c->line_shift);
}

/* Bits [last:first], last < 64, without a branch. */
static inline uint64_t span_mask(unsigned first, unsigned last)
{
	return (~(uint64_t)0 >> (63 - last)) & (~(uint64_t)0 << first);
}

/* Granules of a line touched by bytes [off, off + len); len > 0. */
static inline uint64_t touch_mask(const struct s2cache *c, unsigned off, size_t len)
{
	return span_mask(off >> c->gshift, (unsigned)((off + len - 1) >> c->gshift));
}

/* memcpy, with the common access and line sizes inlined. */
static inline void copy(void *dst, const void *src, size_t n)
{
	if (n == 8)
		memcpy(dst, src, 8);
	else if (n == 64)
		memcpy(dst, src, 64);
	else
		memcpy(dst, src, n);
}

/* Granules entirely covered by bytes [off, off + len). */
static inline uint64_t full_mask(const struct s2cache *c, unsigned off, size_t len)
{
	if (!c->gshift)
		return touch_mask(c, off, len);
	unsigned first = (off + (1u << c->gshift) - 1) >> c->gshift;
	unsigned end = (unsigned)((off + len) >> c->gshift);
	return end > first ? span_mask(first, end - 1) : 0;
}

/* ---- Frames ------------------------------------------------------------ */

static inline struct s2cache__blk *blk_find(const struct s2cache *c, uint64_t bn)
{
	const struct s2cache__bce *e = &c->bcache[bn % BCACHE];

	if (e->bn == bn)
		return e->blk;
	return map_get(&c->blks, bn);
}

static struct s2cache__frame *frame_find(const struct s2cache *c, uint64_t fn)
{
	const struct s2cache__blk *b = blk_find(c, fn / BLK_FRAMES);

	return b ? b->fr[fn % BLK_FRAMES] : NULL;
}

/* The frame, allocated on first touch; NULL only when out of memory. */
static inline struct s2cache__frame *frame_get(struct s2cache *c, uint64_t fn)
{
	uint64_t bn = fn / BLK_FRAMES;
	struct s2cache__blk *b = blk_find(c, bn);

	if (!b) {
		b = zalloc(c, c->blk_size);
		if (!b)
			return NULL;
		b->bn = bn;
		if (map_put(c, &c->blks, bn, b)) {
			zfree(c, b, c->blk_size);
			return NULL;
		}
	}
	c->bcache[bn % BCACHE] = (struct s2cache__bce){ bn, b };
	struct s2cache__frame *f = b->fr[fn % BLK_FRAMES];
	if (!f) {
		f = zalloc_kept(c, &c->kept_frames, c->frame_size);
		if (!f)
			return NULL;
		f->fn = fn;
		f->blk = b;
		f->ent = blk_ent(c, b, fn % BLK_FRAMES);
		b->fr[fn % BLK_FRAMES] = f;
		c->nframes++;
	}
	return f;
}

/* The bits of word w of a page's line bitmap for lines [first, last]. */
static inline uint64_t have_span(size_t w, size_t first, size_t last)
{
	size_t lo = first > w * 64 ? first : w * 64, hi = last < w * 64 + 63 ? last : w * 64 + 63;

	return span_mask((unsigned)(lo & 63), (unsigned)(hi & 63));
}

/*
 * Records for lines [first, last] of a page, made where missing (untouched
 * lines), all in one step: one array of the final size, not a growth and a
 * move per line. Moves the page's records: a pointer to a record of this
 * page taken before the call must be looked up again (the resident array's
 * are updated here). S2_ENOMEM.
 */
static int lines_make(struct s2cache *c, struct s2cache__frame *f, size_t first, size_t last)
{
	struct s2cache__ent *e = f->ent;
	size_t add = 0, slab = c->slab;

	for (size_t w = first >> 6; w <= last >> 6; w++)
		add += popcount64(~e->have[w] & have_span(w, first, last));
	if (!add)
		return S2_OK;
	size_t n = ent_count(c, e), cap = rec_cap(n), ncap = rec_cap(n + add);
	size_t at = ent_rank(e, first), in = last - first + 1 - add, tail = n - at - in;
	uint8_t *old = e->recs, *r = old;
	if (ncap != cap) {
		r = recs_alloc(c, ncap);
		if (!r)
			return S2_ENOMEM;
		if (at)
			memcpy(r, old, at * slab);
	}
	/* From the top down, so that a move within the array never
	 * overwrites a record not yet moved. */
	if (tail)
		memmove(r + (at + in + add) * slab, old + (at + in) * slab, tail * slab);
	for (size_t li = last + 1, s = at + in, d = at + in + add; li-- > first;) {
		uint8_t *to = r + --d * slab;
		if (ent_has(e, li)) {
			if (--s != d || r != old)
				memmove(to, old + s * slab, slab);
		} else {
			memset(to, 0, slab);
			((struct s2cache__line *)to)->li = (uint16_t)li;
		}
	}
	for (size_t w = first >> 6; w <= last >> 6; w++)
		e->have[w] |= have_span(w, first, last);
	if (r != old) {
		recs_free(c, old, cap);
		e->recs = r;
		at = 0;
	}
	for (size_t k = at; k < n + add; k++) {
		struct s2cache__line *l = (struct s2cache__line *)(r + k * slab);
		if (l->flags & L_VALID)
			c->res[l->res_idx].l = l;
	}
	return S2_OK;
}

/*
 * The record of line li, made on first touch; NULL only when out of
 * memory. Making one moves the page's other records (lines_make).
 */
static struct s2cache__line *line_get(struct s2cache *c, struct s2cache__frame *f, size_t li)
{
	if (!ent_has(f->ent, li) && lines_make(c, f, li, li))
		return NULL;
	return ent_line(c, f->ent, li);
}

/* ---- Flags with their counters ---------------------------------------- */

static void flag_set(struct s2cache *c, struct s2cache__frame *f,
		     struct s2cache__line *l, uint32_t flag)
{
	if (l->flags & flag)
		return;
	l->flags |= flag;
	if (flag == L_DIRTY) {
		cnt_add(f, CNT_DIRTY, 1);
		c->ndirty++;
	} else if (flag == L_UNPOU) {
		cnt_add(f, CNT_UNPOU, 1);
	}
}

static void flag_clear(struct s2cache *c, struct s2cache__frame *f,
		       struct s2cache__line *l, uint32_t flag)
{
	if (!(l->flags & flag))
		return;
	l->flags &= ~flag;
	if (flag == L_DIRTY) {
		cnt_add(f, CNT_DIRTY, -1);
		c->ndirty--;
	} else if (flag == L_UNPOU) {
		cnt_add(f, CNT_UNPOU, -1);
	}
}

/* ---- Ghost: latest values no copy holds -------------------------------- */

/* Copy the granules in mask between two lines (pointers to first bytes). */
static void copy_granules(const struct s2cache *c, uint8_t *dst, const uint8_t *src,
			  uint64_t mask)
{
	size_t g = (size_t)1 << c->gshift;

	for (; mask; mask &= mask - 1) {
		size_t i = (size_t)__builtin_ctzll(mask) << c->gshift;
		memcpy(dst + i, src + i, g);
	}
}

static inline uint8_t *pou_line(const struct s2cache *c, const struct s2cache__frame *f,
				size_t li)
{
	return (uint8_t *)((uintptr_t)f->pou + c->off_pou_data) + (li << c->line_shift);
}

/*
 * Save the granules in mask of a line, whose latest value is about to be
 * in no copy, from src. Without memory for the ghost the masks stay right
 * and only reports lose those bytes (they read as zero).
 */
static void ghost_save(struct s2cache *c, struct s2cache__frame *f, size_t li,
		       struct s2cache__line *l, uint64_t mask, const uint8_t *src)
{
	if (!f->ghost)
		f->ghost = zalloc_kept(c, &c->kept_ghost, PAGE_SIZE);
	if (f->ghost)
		copy_granules(c, f->ghost + (li << c->line_shift), src, mask);
	l->orphan |= mask;
}

/* The line copy holding the latest value of granule bit g. */
static const uint8_t *fresh_src(const struct s2cache *c, const struct s2cache__frame *f,
				size_t li, const struct s2cache__line *l, uint64_t g)
{
	if ((l->flags & L_VALID) && !(l->dc_stale & g))
		return l_dc(l);
	if (!(l->mem_stale & g))
		return l_mem(c, l);
	if (c->split && (l->flags & L_UNPOU) && !(f->pou[li].stale & g))
		return pou_line(c, f, li);
	assert(l->orphan & g);
	return f->ghost ? f->ghost + (li << c->line_shift) : zeros;
}

/* The latest values of bytes [off, off + len) of a line. */
static void fresh_read(const struct s2cache *c, const struct s2cache__frame *f, size_t li,
		       const struct s2cache__line *l, size_t off, size_t len, uint8_t *dst)
{
	size_t end = off + len;

	while (off < end) {
		size_t gi = off >> c->gshift;
		size_t gend = (gi + 1) << c->gshift;
		if (gend > end)
			gend = end;
		memcpy(dst, fresh_src(c, f, li, l, s2_bit((unsigned)gi)) + off, gend - off);
		dst += gend - off;
		off = gend;
	}
}

/* ---- Lost writes ------------------------------------------------------- */

static void record_lost(struct s2cache *c, enum s2cache_lost_kind kind,
			enum s2cache_op op, unsigned cpu, struct s2cache__frame *f,
			size_t li, uint64_t mask, const uint8_t *lost,
			uint64_t ver_lost, const uint8_t *kept)
{
	size_t slot = (size_t)(c->nlost % S2CACHE_LOST_LOG);
	struct s2cache_lost *r = &c->lost[slot];

	if (!c->lostbuf)
		c->lostbuf = zalloc(c, (size_t)S2CACHE_LOST_LOG * 2 * c->line);
	*r = (struct s2cache_lost){
		.seq = c->nlost,
		.kind = kind,
		.op = op,
		.cpu = cpu,
		.line = s2_pa(line_pa(c, f, li)),
		.lost_mask = mask,
		.ver_lost = ver_lost,
		.line_bytes = c->line,
	};
	/* Losing the bytes to an allocation failure must not lose the count. */
	if (c->lostbuf) {
		uint8_t *p = c->lostbuf + slot * 2 * c->line;
		memcpy(p, lost, c->line);
		memcpy(p + c->line, kept, c->line);
		r->lost_bytes = p;
		r->kept_bytes = p + c->line;
	}
	c->nlost++;
	if (c->cfg.on_lost)
		c->cfg.on_lost(c->cfg.on_lost_arg, r);
}

/* ---- Dcache line transitions ------------------------------------------ */

/* Fill the line from memory; with bytes false the caller overwrites the
 * whole line at once, so memory's bytes need not be copied. */
static int dc_fill(struct s2cache *c, struct s2cache__frame *f, struct s2cache__line *l,
		   bool bytes)
{
	if (c->nres == c->rescap) {
		struct s2cache__res *res = grow(c, c->res, &c->rescap, c->nres, sizeof(*res));
		if (!res)
			return S2_ENOMEM;
		c->res = res;
	}
	assert(c->nres < UINT32_MAX);
	c->res[c->nres] = (struct s2cache__res){ f, l };
	l->res_idx = (uint32_t)c->nres++;
	if (bytes)
		copy(l_dc(l), l_mem(c, l), c->line);
	l->dc_ver = l->mem_ver;
	l->dc_stale = l->mem_stale;
	l->flags |= L_VALID;
	cnt_add(f, CNT_RES, 1);
	if (f->cnt.v[CNT_RES] == 1)
		resmap_set(f, true);
	return S2_OK;
}

/* Clean to PoC: the line's bytes, version and staleness become memory's. */
static void dc_writeback(struct s2cache *c, unsigned cpu, enum s2cache_op op,
			 struct s2cache__frame *f, size_t li, struct s2cache__line *l)
{
	uint64_t clobber = l->dc_stale & ~l->mem_stale & c->gall;

	assert((l->flags & (L_VALID | L_DIRTY)) == (L_VALID | L_DIRTY));
	/* The whole line is written back, so memory loses any non-cacheable
	 * write the line does not have: mismatched attributes made visible. */
	if (clobber) {
		record_lost(c, S2CACHE_LOST_CLOBBER, op, cpu, f, li, clobber,
			    l_mem(c, l), l->mem_ver, l_dc(l));
		ghost_save(c, f, li, l, clobber, l_mem(c, l));
	}
	copy(l_mem(c, l), l_dc(l), c->line);
	l->mem_ver = l->dc_ver;
	l->mem_stale = l->dc_stale;
	flag_clear(c, f, l, L_DIRTY);
	flag_clear(c, f, l, L_UNPOU);	/* the PoU is on the way to the PoC */
}

/* Invalidate: drop the line, losing whatever was dirty in it. */
static void dc_drop(struct s2cache *c, unsigned cpu, enum s2cache_op op,
		    struct s2cache__frame *f, size_t li, struct s2cache__line *l)
{
	if (l->flags & L_DIRTY) {
		/* The PoU copy is dropped too, but it never holds a latest
		 * write the line lacks, so the line alone decides the loss. */
		uint64_t lost = ~l->dc_stale & l->mem_stale & c->gall;
		if (lost) {
			record_lost(c, S2CACHE_LOST_DISCARD, op, cpu, f, li, lost,
				    l_dc(l), l->dc_ver, l_mem(c, l));
			ghost_save(c, f, li, l, lost, l_dc(l));
		}
		flag_clear(c, f, l, L_DIRTY);
	}
	flag_clear(c, f, l, L_UNPOU);

	size_t i = l->res_idx, last = --c->nres;
	if (i != last) {
		c->res[i] = c->res[last];
		c->res[i].l->res_idx = (uint32_t)i;
	}
	l->flags &= ~L_VALID;
	cnt_add(f, CNT_RES, -1);
	if (!f->cnt.v[CNT_RES])
		resmap_set(f, false);
}

static void dc_clean_pou(struct s2cache *c, unsigned cpu, struct s2cache__frame *f,
			 size_t li, struct s2cache__line *l)
{
	if (!(l->flags & L_VALID))
		return;
	if (!c->cfg.pou_before_poc) {
		if (l->flags & L_DIRTY)
			dc_writeback(c, cpu, S2CACHE_DC_CVAU, f, li, l);
		return;
	}
	/* The PoU copy now equals the line; the line stays dirty to the PoC. */
	flag_clear(c, f, l, L_UNPOU);
}

/* Before the first write that makes the line differ from the PoU, keep
 * what the PoU holds: the line as it is now. */
static int pou_keep(struct s2cache *c, struct s2cache__frame *f, size_t li,
		    const struct s2cache__line *l)
{
	if (!f->pou) {
		f->pou = zalloc_kept(c, &c->kept_pou, c->pou_size);
		if (!f->pou)
			return S2_ENOMEM;
	}
	f->pou[li] = (struct s2cache__copy){ l->dc_ver, l->dc_stale };
	memcpy(pou_line(c, f, li), l_dc(l), c->line);
	return S2_OK;
}

struct view {
	const uint8_t *data;	/* the line's first byte */
	uint64_t ver, stale;
};

/*
 * What an icache fill reads. With IDC the dcache is seen directly. With the
 * PoU at the PoC it is memory. With the PoU above the PoC it is the level
 * the dcache writes into on DC CVAU: a resident line's data up to its last
 * clean to PoU; clean lines are assumed to be held there too, which can
 * show a clean line that is older than memory.
 */
static struct view pou_view(const struct s2cache *c, const struct s2cache__frame *f,
			    size_t li, const struct s2cache__line *l)
{
	if (l->flags & L_VALID) {
		if (c->cfg.idc || (c->split && !(l->flags & L_UNPOU)))
			return (struct view){ l_dc(l), l->dc_ver, l->dc_stale };
		if (c->split)
			return (struct view){ pou_line(c, f, li), f->pou[li].ver,
					      f->pou[li].stale };
	}
	return (struct view){ l_mem(c, l), l->mem_ver, l->mem_stale };
}

/* ---- Icache line transitions ------------------------------------------ */

static void ic_mark_stale(const struct s2cache *c, struct s2cache__frame *f,
			  size_t li, const struct s2cache__line *l, uint64_t touch)
{
	struct s2cache__iblk *const *ic = fr_ic(c, f);

	for (uint64_t cpus = l->icpu; cpus; cpus &= cpus - 1) {
		struct s2cache__copy *il = ib_copy(c, ic[__builtin_ctzll(cpus)], li);
		if (!il->stale)
			cnt_add(f, CNT_ISTALE, 1);
		il->stale |= touch;
	}
}

static void ic_drop(struct s2cache *c, struct s2cache__frame *f, size_t li,
		    struct s2cache__line *l, unsigned cpu)
{
	struct s2cache__iblk *ib = fr_ic(c, f)[cpu];
	struct s2cache__copy *il = ib_copy(c, ib, li);
	struct s2cache__iblks *list = &c->icl[cpu];

	if (il->stale)
		cnt_add(f, CNT_ISTALE, -1);
	*il = (struct s2cache__copy){ 0, 0 };
	l->icpu &= ~s2_bit(cpu);
	if (!--f->ilines)
		fmap_set(f->blk->icmap, f, false);
	if (--ib->nlines == 0) {
		size_t last = --list->n;
		if (ib->list_idx != last) {
			list->v[ib->list_idx] = list->v[last];
			list->v[ib->list_idx]->list_idx = ib->list_idx;
		}
	}
}

static int ic_fill(struct s2cache *c, struct s2cache__frame *f, size_t li,
		   struct s2cache__line *l, unsigned cpu)
{
	struct s2cache__iblk **slot = &fr_ic(c, f)[cpu];
	struct s2cache__iblks *list = &c->icl[cpu];

	if (!*slot) {
		*slot = zalloc_kept(c, &c->kept_iblk, c->iblk_size);
		if (!*slot)
			return S2_ENOMEM;
		(*slot)->fr = f;
	}
	struct s2cache__iblk *ib = *slot;
	if (ib->nlines == 0) {
		struct s2cache__iblk **v = grow(c, list->v, &list->cap, list->n, sizeof(*v));
		if (!v)
			return S2_ENOMEM;
		list->v = v;
		ib->list_idx = (uint32_t)list->n;
		list->v[list->n++] = ib;
	}
	ib->nlines++;

	struct view v = pou_view(c, f, li, l);
	struct s2cache__copy *il = ib_copy(c, ib, li);
	memcpy(ib_data(c, ib) + (li << c->line_shift), v.data, c->line);
	*il = (struct s2cache__copy){ v.ver, v.stale };
	if (il->stale)
		cnt_add(f, CNT_ISTALE, 1);
	l->icpu |= s2_bit(cpu);
	if (!f->ilines++)
		fmap_set(f->blk->icmap, f, true);
	return S2_OK;
}

static void ic_inval_all(struct s2cache *c, unsigned cpu)
{
	struct s2cache__iblks *list = &c->icl[cpu];

	while (list->n) {
		struct s2cache__iblk *ib = list->v[list->n - 1];
		struct s2cache__frame *f = ib->fr;
		/* ic_drop takes ib off the list with its last line. */
		for (size_t li = 0; li < c->nlines && ib->nlines; li++) {
			struct s2cache__line *l = fr_line(c, f, li);
			if (l && (l->icpu & s2_bit(cpu)))
				ic_drop(c, f, li, l, cpu);
		}
	}
}

/* ---- Creation ---------------------------------------------------------- */

static bool pow2_in(unsigned v, unsigned lo, unsigned hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

static unsigned log2u(unsigned v)
{
	unsigned n = 0;

	while ((1u << n) < v)
		n++;
	return n;
}

int s2cache_create(const struct s2cache_config *cfg, struct s2cache **out)
{
	if (!out)
		return S2_EINVAL;
	*out = NULL;
	if (!cfg || cfg->ncpus < 1 || cfg->ncpus > S2CACHE_MAX_CPUS ||
	    cfg->pa_bits < 32 || cfg->pa_bits > 52 ||
	    !pow2_in(cfg->line_bytes, 16, 2048) || !pow2_in(cfg->zva_bytes, 16, 2048))
		return S2_EINVAL;

	/* Aligned so that the fields the fast paths read share a host line. */
	size_t hsize = s2_align_up(sizeof(struct s2cache), HOST_LINE);
	struct s2cache *c = aligned_alloc(HOST_LINE, hsize);
	if (!c)
		return S2_ENOMEM;
	memset(c, 0, hsize);
	c->bytes = hsize;
	c->cfg = *cfg;
	c->line = cfg->line_bytes;
	c->line_shift = log2u(c->line);
	c->nlines = (unsigned)(PAGE_SIZE >> c->line_shift);
	c->gshift = c->line_shift > 6 ? c->line_shift - 6 : 0;
	unsigned ngran = c->line >> c->gshift;
	c->gall = ngran >= 64 ? ~(uint64_t)0 : s2_bit(ngran) - 1;
	c->pa_limit = s2_bit(cfg->pa_bits);
	c->split = cfg->pou_before_poc && !cfg->idc;
	c->track_unpou = !cfg->idc;
	c->hot_flags = L_VALID | L_DIRTY | (c->track_unpou ? L_UNPOU : 0);
	c->ncpus = cfg->ncpus;
	c->fast_write = !c->split && !c->gshift;
	for (size_t i = 0; i < BCACHE; i++)
		c->bcache[i].bn = MAP_EMPTY;

	c->slab = s2_align_up(sizeof(struct s2cache__line) + 2 * (size_t)c->line, HOST_LINE);
	c->frame_size = sizeof(struct s2cache__frame) + cfg->ncpus * sizeof(struct s2cache__iblk *);
	c->have_words = (c->nlines + 63) / 64;
	c->have_all = c->nlines >= 64 ? ~(uint64_t)0 : s2_bit(c->nlines) - 1;
	c->ent_size = sizeof(struct s2cache__ent) + c->have_words * sizeof(uint64_t);
	c->off_ents = s2_align_up(sizeof(struct s2cache__blk), HOST_LINE);
	c->blk_size = c->off_ents + BLK_FRAMES * c->ent_size;
	c->dflt = zalloc(c, c->slab);
	if (!c->dflt) {
		free(c);
		return S2_ENOMEM;
	}
	c->off_pou_data = s2_align_up(c->nlines * sizeof(struct s2cache__copy), HOST_LINE);
	c->pou_size = c->off_pou_data + PAGE_SIZE;
	c->off_il = s2_align_up(sizeof(struct s2cache__iblk), sizeof(struct s2cache__copy));
	c->off_il_data = s2_align_up(c->off_il + c->nlines * sizeof(struct s2cache__copy),
				     HOST_LINE);
	c->iblk_size = c->off_il_data + PAGE_SIZE;
	*out = c;
	return S2_OK;
}

static bool cfg_equal(const struct s2cache_config *a, const struct s2cache_config *b)
{
	return a->ncpus == b->ncpus && a->pa_bits == b->pa_bits &&
	       a->line_bytes == b->line_bytes && a->zva_bytes == b->zva_bytes &&
	       a->idc == b->idc && a->dic == b->dic && a->pou_before_poc == b->pou_before_poc &&
	       a->on_lost == b->on_lost && a->on_lost_arg == b->on_lost_arg;
}

int s2cache_reset(struct s2cache *c, const struct s2cache_config *cfg)
{
	if (!cfg || !cfg_equal(cfg, &c->cfg))
		return S2_EINVAL;
	for (size_t i = 0; i < c->blks.cap; i++) {
		if (c->blks.slot[i].key == MAP_EMPTY)
			continue;
		struct s2cache__blk *b = c->blks.slot[i].val;
		for (size_t k = 0; k < BLK_FRAMES; k++) {
			struct s2cache__frame *f = b->fr[k];
			if (!f)
				continue;
			for (unsigned cpu = 0; cpu < c->cfg.ncpus; cpu++)
				zfree_kept(c, &c->kept_iblk, fr_ic(c, f)[cpu], c->iblk_size);
			zfree_kept(c, &c->kept_pou, f->pou, c->pou_size);
			zfree_kept(c, &c->kept_ghost, f->ghost, PAGE_SIZE);
			recs_free(c, f->ent->recs, rec_cap(ent_count(c, f->ent)));
			memset(f->ent, 0, c->ent_size);
			zfree_kept(c, &c->kept_frames, f, c->frame_size);
			b->fr[k] = NULL;
		}
		b->cnt = (struct s2cache__counts){ { 0 } };
		memset(b->resmap, 0, sizeof(b->resmap));
		memset(b->icmap, 0, sizeof(b->icmap));
	}
	for (unsigned cpu = 0; cpu < S2CACHE_MAX_CPUS; cpu++)
		c->icl[cpu].n = 0;
	c->nres = 0;
	c->ndirty = 0;
	c->nframes = 0;
	c->ver = 0;
	c->nlost = 0;
	memset(c->lost, 0, sizeof(c->lost));
	return S2_OK;
}

static void map_free(struct s2cache__map *m)
{
	free(m->slot);
	*m = (struct s2cache__map){ 0 };
}

void s2cache_destroy(struct s2cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->blks.cap; i++) {
		if (c->blks.slot[i].key == MAP_EMPTY)
			continue;
		struct s2cache__blk *b = c->blks.slot[i].val;
		for (size_t k = 0; k < BLK_FRAMES; k++) {
			struct s2cache__frame *f = b->fr[k];
			if (!f)
				continue;
			for (unsigned cpu = 0; cpu < c->cfg.ncpus; cpu++)
				zfree(c, fr_ic(c, f)[cpu], c->iblk_size);
			zfree(c, f->pou, c->pou_size);
			zfree(c, f->ghost, PAGE_SIZE);
			zfree(c, f->ent->recs, rec_cap(ent_count(c, f->ent)) * c->slab);
			zfree(c, f, c->frame_size);
		}
		zfree(c, b, c->blk_size);
	}
	map_free(&c->blks);
	keep_free_all(&c->kept_frames);
	keep_free_all(&c->kept_pou);
	keep_free_all(&c->kept_ghost);
	keep_free_all(&c->kept_iblk);
	for (unsigned k = 0; k < REC_CLASSES; k++)
		keep_free_all(&c->kept_recs[k]);
	for (unsigned cpu = 0; cpu < S2CACHE_MAX_CPUS; cpu++)
		free(c->icl[cpu].v);
	free(c->res);
	zfree(c, c->lostbuf, (size_t)S2CACHE_LOST_LOG * 2 * c->line);
	zfree(c, c->dflt, c->slab);
	free(c);
}

/* ---- Accesses ---------------------------------------------------------- */

static int check_range(const struct s2cache *c, uint64_t pa, uint64_t n)
{
	if (pa >= c->pa_limit || n > c->pa_limit - pa)
		return S2_ERANGE;
	return S2_OK;
}

/* One write to bytes [off, off + len) of line li of page f, whose record
 * is l. src NULL stores the writer copy's own bytes. */
static int line_write(struct s2cache *c, struct s2cache__frame *f, size_t li,
		      struct s2cache__line *l, unsigned off, const uint8_t *src, size_t len,
		      bool cacheable)
{
	size_t poff = (li << c->line_shift) + off;
	uint64_t touch = touch_mask(c, off, len);
	uint64_t full = full_mask(c, off, len);
	uint64_t orphaned = 0;
	uint8_t *dst;
	int err;

	if (cacheable) {
		/* A whole line written needs no copy of memory's bytes first
		 * (unless a PoU copy keeps them). */
		bool whole = src && len == c->line && !c->split;
		if (!(l->flags & L_VALID) && (err = dc_fill(c, f, l, !whole)))
			return err;
		if (c->split && !(l->flags & L_UNPOU) && (err = pou_keep(c, f, li, l)))
			return err;
	}
	if (touch != full) {
		/*
		 * Long lines: a granule partly written in a copy that lacks its
		 * latest value stays stale there and becomes stale everywhere
		 * else, so its value (old bytes plus these) goes to the ghost.
		 */
		orphaned = (touch & ~full) & (cacheable ? l->dc_stale : l->mem_stale);
		for (uint64_t m = orphaned & ~l->orphan; m; m &= m - 1) {
			uint64_t g = m & -m;
			ghost_save(c, f, li, l, g, fresh_src(c, f, li, l, g));
		}
	}
	if (cacheable) {
		dst = l_dc(l) + off;
		l->dc_ver = c->ver + 1;
		l->dc_stale &= ~full;
		l->mem_stale |= touch;
		if (c->split)
			f->pou[li].stale |= touch;
		flag_set(c, f, l, L_DIRTY);
		if (c->track_unpou)
			flag_set(c, f, l, L_UNPOU);
	} else {
		dst = l_mem(c, l) + off;
		l->mem_ver = c->ver + 1;
		l->mem_stale &= ~full;
		if (l->flags & L_VALID)
			l->dc_stale |= touch;
		if (c->split && (l->flags & L_UNPOU))
			f->pou[li].stale |= touch;
	}
	if (src)
		copy(dst, src, len);
	if (orphaned && f->ghost)
		memcpy(f->ghost + poff, dst, len);
	l->orphan &= ~full;
	l->latest = ++c->ver;
	if (l->icpu)
		ic_mark_stale(c, f, li, l, touch);
	return S2_OK;
}

/*
 * line_write of a whole line, cacheable, to a line the dcache does not hold,
 * with no PoU copy kept: every granule is written, so the masks are the
 * line's (the invariants keep every mask within c->gall) and no ghost is
 * involved; the effect is line_write's.
 */
static inline int line_write_whole(struct s2cache *c, struct s2cache__frame *f, size_t li,
				   struct s2cache__line *l, const uint8_t *src)
{
	int err = dc_fill(c, f, l, false);

	if (err)
		return err;
	l->dc_ver = c->ver + 1;
	l->dc_stale &= ~c->gall;
	l->mem_stale |= c->gall;
	flag_set(c, f, l, L_DIRTY);
	if (c->track_unpou)
		flag_set(c, f, l, L_UNPOU);
	copy(l_dc(l), src, c->line);
	l->orphan &= ~c->gall;
	l->latest = ++c->ver;
	if (l->icpu)
		ic_mark_stale(c, f, li, l, c->gall);
	return S2_OK;
}

static S2_SLOW_PATH int write_slow(struct s2cache *c, unsigned cpu, uint64_t a,
				   const uint8_t *src, size_t n, bool cacheable)
{
	int err;

	if (cpu >= c->cfg.ncpus)
		return S2_EINVAL;
	if ((err = check_range(c, a, n)))
		return err;
	/* A page at a time: its records made at once, then its lines in
	 * order, each record next to the previous one. */
	while (n) {
		struct s2cache__frame *f = frame_get(c, a >> PAGE_SHIFT);
		if (!f)
			return S2_ENOMEM;
		size_t poff = a & (PAGE_SIZE - 1);
		size_t in_page = PAGE_SIZE - poff < n ? PAGE_SIZE - poff : n;
		size_t li = poff >> c->line_shift, last = (poff + in_page - 1) >> c->line_shift;
		if ((err = lines_make(c, f, li, last)))
			return err;
		uint8_t *rec = (uint8_t *)ent_line(c, f->ent, li);
		for (; li <= last; li++, rec += c->slab) {
			unsigned off = (unsigned)(a & (c->line - 1));
			size_t len = c->line - off < n ? c->line - off : n;
			struct s2cache__line *l = (struct s2cache__line *)rec;
			if (cacheable && src && len == c->line && !c->split && !(l->flags & L_VALID))
				err = line_write_whole(c, f, li, l, src);
			else
				err = line_write(c, f, li, l, off, src, len, cacheable);
			if (err)
				return err;
			a += len;
			n -= len;
			if (src)
				src += len;
		}
	}
	return S2_OK;
}

/* ent_line for lines shorter than 64 bytes (a bitmap of several words),
 * out of line: the fast paths that call it keep few registers. */
static S2_NOINLINE struct s2cache__line *ent_line_long(const struct s2cache *c,
							const struct s2cache__ent *e, size_t li)
{
	return ent_line(c, e, li);
}

/*
 * The line a cacheable access within one line can use without any state
 * change but the access itself, or NULL. Kept to a few instructions: over
 * a large memory each access waits for a host cache miss on the line, and
 * the host overlaps the misses of consecutive accesses only when each
 * access is short. A hit in the block cache means the address was valid
 * when the block was made, and a line never crosses the PA limit.
 */
static inline struct s2cache__line *hot_line(const struct s2cache *c, unsigned cpu,
					     uint64_t a, size_t n)
{
	uint64_t fn = a >> PAGE_SHIFT;
	const struct s2cache__bce *e = &c->bcache[(fn / BLK_FRAMES) % BCACHE];

	if (cpu >= c->ncpus || n - 1 >= c->line - (a & (c->line - 1)) ||
	    e->bn != fn / BLK_FRAMES)
		return NULL;
	const struct s2cache__ent *pe = blk_ent(c, e->blk, fn % BLK_FRAMES);
	size_t li = (a & (PAGE_SIZE - 1)) >> c->line_shift;
	if (c->have_words != 1)
		return ent_line_long(c, pe, li);
	/* Lines of 64 bytes or more: one bitmap word, and in a page whose
	 * every line exists the record's index is the line's. */
	uint64_t have = pe->have[0];
	if (!((have >> li) & 1))
		return NULL;
	size_t k = have == c->have_all ? li : popcount64(have & (s2_bit((unsigned)li) - 1));
	return (struct s2cache__line *)(pe->recs + k * c->slab);
}

static S2_NOINLINE int write_any(struct s2cache *c, unsigned cpu, uint64_t a, const void *buf,
				 size_t n, bool cacheable)
{
	struct s2cache__line *l;

	/* Fast path: a dirty resident line no icache holds, byte granules,
	 * no PoU copy to keep. */
	if (cacheable && buf && c->fast_write && (l = hot_line(c, cpu, a, n)) &&
	    l->flags == c->hot_flags && !l->icpu) {
		unsigned off = (unsigned)(a & (c->line - 1));
		uint64_t touch = span_mask(off, (unsigned)(off + n - 1));
		copy(l_dc(l) + off, buf, n);
		l->dc_stale &= ~touch;
		l->orphan &= ~touch;
		l->mem_stale |= touch;
		l->dc_ver = l->latest = ++c->ver;
		return S2_OK;
	}
	return write_slow(c, cpu, a, buf, n, cacheable);
}

int s2cache_write(struct s2cache *c, unsigned cpu, s2_pa_t pa, const void *buf,
		  size_t n, bool cacheable)
{
	uint64_t a = s2_pa_get(pa);
	struct s2cache__line *l;

	/* write_any's fast path for 8 bytes and 64-byte lines, with no call on
	 * its way (as s2cache_read's). */
	if (cacheable && buf && n == 8 && c->fast_write && c->have_words == 1 &&
	    (l = hot_line(c, cpu, a, n)) && l->flags == c->hot_flags && !l->icpu) {
		unsigned off = (unsigned)(a & (c->line - 1));
		uint64_t touch = span_mask(off, off + 7);
		memcpy(l_dc(l) + off, buf, 8);
		l->dc_stale &= ~touch;
		l->orphan &= ~touch;
		l->mem_stale |= touch;
		l->dc_ver = l->latest = ++c->ver;
		return S2_OK;
	}
	return write_any(c, cpu, a, buf, n, cacheable);
}

static void check_init(struct s2cache_check *chk)
{
	if (chk) {
		chk->stale = false;
		chk->fresh_len = 0;
	}
}

/* Note the first stale byte of an access: acc_off is where this line's
 * part of the access starts, off where it starts in the line. */
static void check_note(const struct s2cache *c, struct s2cache_check *chk,
		       uint64_t line, unsigned off, size_t len, size_t acc_off,
		       uint64_t stale, uint64_t ver, uint64_t latest)
{
	uint64_t hit = stale & touch_mask(c, off, len);
	if (!hit || chk->stale)
		return;
	size_t first = (size_t)__builtin_ctzll(hit) << c->gshift;
	chk->stale = true;
	chk->stale_off = (uint32_t)(acc_off + (first > off ? first - off : 0));
	chk->stale_line = s2_pa(line);
	chk->ver_returned = ver;
	chk->ver_latest = latest;
}

static void peek_fresh(const struct s2cache *c, uint64_t a, uint8_t *buf, size_t n);

static void check_finish(const struct s2cache *c, struct s2cache_check *chk,
			 uint64_t a, size_t n)
{
	if (!chk || !chk->stale)
		return;
	chk->fresh_len = (uint32_t)(n < S2CACHE_CHECK_BYTES ? n : S2CACHE_CHECK_BYTES);
	peek_fresh(c, a, chk->fresh, chk->fresh_len);
}

static S2_SLOW_PATH int read_slow(struct s2cache *c, unsigned cpu, uint64_t a, uint8_t *dst,
				  size_t n, bool cacheable, struct s2cache_check *chk)
{
	uint64_t start = a;
	size_t done = 0;
	int err;

	check_init(chk);
	if (cpu >= c->cfg.ncpus)
		return S2_EINVAL;
	if ((err = check_range(c, a, n)))
		return err;
	while (done < n) {
		unsigned off = (unsigned)(a & (c->line - 1));
		size_t len = c->line - off;
		if (len > n - done)
			len = n - done;
		/* A non-cacheable read of untouched memory changes nothing. */
		struct s2cache__frame *f = cacheable ? frame_get(c, a >> PAGE_SHIFT)
						     : frame_find(c, a >> PAGE_SHIFT);
		if (f) {
			size_t poff = a & (PAGE_SIZE - 1);
			size_t li = poff >> c->line_shift;
			const struct s2cache__line *l = fr_line_ro(c, f, li);
			const uint8_t *src;
			uint64_t stale, ver;
			if (cacheable) {
				struct s2cache__line *w = line_get(c, f, li);
				if (!w)
					return S2_ENOMEM;
				if (!(w->flags & L_VALID) && (err = dc_fill(c, f, w, true)))
					return err;
				l = w;
				src = l_dc(l);
				stale = l->dc_stale;
				ver = l->dc_ver;
			} else {
				src = l_mem(c, l);
				stale = l->mem_stale;
				ver = l->mem_ver;
			}
			if (dst)
				copy(dst + done, src + off, len);
			if (chk && stale)
				check_note(c, chk, a - off, off, len, done, stale, ver, l->latest);
		} else if (!cacheable) {
			if (dst)
				memset(dst + done, 0, len);
		} else {
			return S2_ENOMEM;
		}
		a += len;
		done += len;
	}
	check_finish(c, chk, start, n);
	return S2_OK;
}

static S2_NOINLINE int read_any(struct s2cache *c, unsigned cpu, uint64_t a, void *buf,
				size_t n, bool cacheable, struct s2cache_check *chk)
{
	struct s2cache__line *l;

	/* Fast path: a resident line that is entirely fresh. */
	if (cacheable && (l = hot_line(c, cpu, a, n)) && (l->flags & L_VALID) && !l->dc_stale) {
		if (buf)
			copy(buf, l_dc(l) + (a & (c->line - 1)), n);
		check_init(chk);
		return S2_OK;
	}
	return read_slow(c, cpu, a, buf, n, cacheable, chk);
}

int s2cache_read(struct s2cache *c, unsigned cpu, s2_pa_t pa, void *buf, size_t n,
		 bool cacheable, struct s2cache_check *chk)
{
	uint64_t a = s2_pa_get(pa);
	struct s2cache__line *l;

	/* The commonest access of read_any's fast path (8 bytes, lines of 64
	 * bytes or more) with no call on its way, so that the host saves no
	 * registers for it: the same effect, a few instructions. */
	if (cacheable && buf && n == 8 && c->have_words == 1 &&
	    (l = hot_line(c, cpu, a, n)) && (l->flags & L_VALID) && !l->dc_stale) {
		memcpy(buf, l_dc(l) + (a & (c->line - 1)), 8);
		check_init(chk);
		return S2_OK;
	}
	return read_any(c, cpu, a, buf, n, cacheable, chk);
}

int s2cache_fetch(struct s2cache *c, unsigned cpu, s2_pa_t pa, uint32_t *insn,
		  struct s2cache_check *chk)
{
	uint64_t a = s2_pa_get(pa);
	int err;

	check_init(chk);
	if (cpu >= c->cfg.ncpus || (a & 3))
		return S2_EINVAL;
	if ((err = check_range(c, a, 4)))
		return err;
	struct s2cache__frame *f = frame_get(c, a >> PAGE_SHIFT);
	if (!f)
		return S2_ENOMEM;
	size_t poff = a & (PAGE_SIZE - 1);
	size_t li = poff >> c->line_shift;
	unsigned off = (unsigned)(a & (c->line - 1));
	const struct s2cache__line *l = fr_line_ro(c, f, li);
	const uint8_t *p;
	uint64_t stale, ver;

	if (c->cfg.dic) {
		/* DIC: nothing to hold stale, fetches see the PoU as it is now. */
		struct view v = pou_view(c, f, li, l);
		p = v.data + off;
		stale = v.stale;
		ver = v.ver;
	} else {
		if (!(l->icpu & s2_bit(cpu))) {
			struct s2cache__line *w = line_get(c, f, li);
			if (!w)
				return S2_ENOMEM;
			if ((err = ic_fill(c, f, li, w, cpu)))
				return err;
			l = w;
		}
		struct s2cache__iblk *ib = fr_ic(c, f)[cpu];
		p = ib_data(c, ib) + poff;
		stale = ib_copy(c, ib, li)->stale;
		ver = ib_copy(c, ib, li)->ver;
	}
	/* A64 instructions are little-endian whatever the data endianness. */
	if (insn)
		*insn = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			(uint32_t)p[3] << 24;
	if (chk && stale)
		check_note(c, chk, a - off, off, 4, 0, stale, ver, l->latest);
	check_finish(c, chk, a, 4);
	return S2_OK;
}

int s2cache_dc_zva(struct s2cache *c, unsigned cpu, s2_pa_t pa, bool cacheable)
{
	uint64_t a = s2_align_down(s2_pa_get(pa), c->cfg.zva_bytes);

	return s2cache_write(c, cpu, s2_pa(a), zeros, c->cfg.zva_bytes, cacheable);
}

/* ---- Cache maintenance ------------------------------------------------- */

/* op on line li of page f, whose record is l (an untouched line, with no
 * record, is in no cache: nothing to maintain). */
static void line_op(struct s2cache *c, unsigned cpu, enum s2cache_op op,
		    struct s2cache__frame *f, size_t li, struct s2cache__line *l)
{
	switch (op) {
	case S2CACHE_DC_CVAC:
		if (l->flags & L_DIRTY)
			dc_writeback(c, cpu, op, f, li, l);
		break;
	case S2CACHE_DC_CIVAC:
	case S2CACHE_EVICT:
		if (l->flags & L_DIRTY)
			dc_writeback(c, cpu, op, f, li, l);
		if (l->flags & L_VALID)
			dc_drop(c, cpu, op, f, li, l);
		break;
	case S2CACHE_DC_IVAC:
		if (l->flags & L_VALID)
			dc_drop(c, cpu, op, f, li, l);
		break;
	case S2CACHE_DC_CVAU:
		dc_clean_pou(c, cpu, f, li, l);
		break;
	case S2CACHE_IC_IVAU:
		/* Broadcast: every CPU is in the Inner Shareable domain. */
		while (l->icpu)
			ic_drop(c, f, li, l, (unsigned)__builtin_ctzll(l->icpu));
		break;
	default:
		assert(0 && "not a by-line operation");
	}
}

int s2cache_cmo(struct s2cache *c, unsigned cpu, enum s2cache_op op, s2_pa_t pa,
		uint64_t size)
{
	uint64_t a = s2_pa_get(pa);
	int err;

	if (cpu >= c->cfg.ncpus || (unsigned)op >= S2CACHE_OP_COUNT)
		return S2_EINVAL;
	if (op == S2CACHE_IC_IALLU) {
		ic_inval_all(c, cpu);
		return S2_OK;
	}
	if (op == S2CACHE_IC_IALLUIS) {
		for (unsigned i = 0; i < c->cfg.ncpus; i++)
			ic_inval_all(c, i);
		return S2_OK;
	}
	if (!size)
		return S2_OK;
	if ((err = check_range(c, a, size)))
		return err;
	uint64_t end = a + size;
	if (op == S2CACHE_DC_ZVA) {
		for (uint64_t z = s2_align_down(a, c->cfg.zva_bytes); z < end;
		     z += c->cfg.zva_bytes)
			if ((err = s2cache_dc_zva(c, cpu, s2_pa(z), true)))
				return err;
		return S2_OK;
	}
	/* Data-cache operations only act on resident lines: a 2M block or a
	 * page without one has nothing to maintain, which makes a clean of a
	 * 1G block cost what is resident in it, not 16M line look-ups. */
	bool dc_only = op != S2CACHE_IC_IVAU;
	for (uint64_t la = s2_align_down(a, c->line); la < end;) {
		uint64_t bsize = (uint64_t)BLK_FRAMES << PAGE_SHIFT;
		uint64_t bend = s2_align_down(la, bsize) + bsize;
		const struct s2cache__blk *b = blk_find(c, la >> BLK_SHIFT);
		if (!b || (dc_only && !b->cnt.v[CNT_RES])) {
			la = bend;
			continue;
		}
		{
			/* Straight to the next page holding a resident line (an
			 * icache line for IC IVAU). */
			size_t k = (la >> PAGE_SHIFT) % BLK_FRAMES;
			size_t next = fmap_next(dc_only ? b->resmap : b->icmap, k);
			if (next == BLK_FRAMES) {
				la = bend;
				continue;
			}
			if (next > k)
				la = s2_align_down(la, bsize) + ((uint64_t)next << PAGE_SHIFT);
			if (la >= end)
				break;
		}
		uint64_t pend = s2_align_down(la, PAGE_SIZE) + PAGE_SIZE;
		if (pend > end)
			pend = end;
		/* Untouched pages hold nothing to maintain, nor do the
		 * untouched lines of a page: visit only the lines with a
		 * record (line_op would return at once on the others). */
		struct s2cache__frame *f = b->fr[(la >> PAGE_SHIFT) % BLK_FRAMES];
		if (f && (!dc_only || f->cnt.v[CNT_RES])) {
			/* The records of the lines visited are consecutive, and no
			 * operation here moves them. */
			const struct s2cache__ent *e = f->ent;
			size_t li = (la & (PAGE_SIZE - 1)) >> c->line_shift;
			size_t last = ((pend - 1) & (PAGE_SIZE - 1)) >> c->line_shift;
			uint8_t *rec = e->recs + ent_rank(e, li) * c->slab;
			while (li <= last) {
				uint64_t w = e->have[li >> 6] >> (li & 63);
				if (!w) {
					li = (li | 63) + 1;
					continue;
				}
				li += (size_t)__builtin_ctzll(w);
				if (li > last)
					break;
				line_op(c, cpu, op, f, li++, (struct s2cache__line *)rec);
				rec += c->slab;
			}
		}
		la = s2_align_up(pend, c->line);
	}
	return S2_OK;
}

/* ---- Eviction ---------------------------------------------------------- */

size_t s2cache_resident_count(const struct s2cache *c)
{
	return c->nres;
}

int s2cache_resident_line(const struct s2cache *c, size_t k, s2_pa_t *line)
{
	if (k >= c->nres)
		return S2_ENOENT;
	*line = s2_pa(line_pa(c, c->res[k].fr, c->res[k].l->li));
	return S2_OK;
}

int s2cache_evict_kth(struct s2cache *c, size_t k)
{
	if (k >= c->nres)
		return S2_ENOENT;
	line_op(c, S2CACHE_NO_CPU, S2CACHE_EVICT, c->res[k].fr, c->res[k].l->li, c->res[k].l);
	return S2_OK;
}

int s2cache_evict(struct s2cache *c, s2_pa_t pa)
{
	uint64_t a = s2_pa_get(pa);

	if (check_range(c, a, 1))
		return S2_ERANGE;
	struct s2cache__frame *f = frame_find(c, a >> PAGE_SHIFT);
	size_t li = (a & (PAGE_SIZE - 1)) >> c->line_shift;
	struct s2cache__line *l = f ? fr_line(c, f, li) : NULL;
	if (!l || !(l->flags & L_VALID))
		return S2_ENOENT;
	line_op(c, S2CACHE_NO_CPU, S2CACHE_EVICT, f, li, l);
	return S2_OK;
}

/* ---- Questions --------------------------------------------------------- */

/* The line holding pa, or NULL when its page was never touched. */
static const struct s2cache__line *line_find(const struct s2cache *c, uint64_t a,
					     const struct s2cache__frame **fp, size_t *lip)
{
	if (a >= c->pa_limit)
		return NULL;
	const struct s2cache__frame *f = frame_find(c, a >> PAGE_SHIFT);
	if (!f)
		return NULL;
	size_t li = (a & (PAGE_SIZE - 1)) >> c->line_shift;
	if (fp)
		*fp = f;
	if (lip)
		*lip = li;
	return fr_line(c, f, li);
}

bool s2cache_nc_read_stale(const struct s2cache *c, s2_pa_t pa)
{
	const struct s2cache__line *l = line_find(c, s2_pa_get(pa), NULL, NULL);

	return l && l->mem_stale;
}

bool s2cache_cached_read_stale(const struct s2cache *c, s2_pa_t pa)
{
	const struct s2cache__line *l = line_find(c, s2_pa_get(pa), NULL, NULL);

	if (!l)
		return false;
	return (l->flags & L_VALID) ? l->dc_stale != 0 : l->mem_stale != 0;
}

bool s2cache_dc_older_than_mem(const struct s2cache *c, s2_pa_t pa)
{
	const struct s2cache__line *l = line_find(c, s2_pa_get(pa), NULL, NULL);

	return l && (l->flags & L_VALID) && (l->dc_stale & ~l->mem_stale);
}

static const struct s2cache__copy *ic_find(const struct s2cache *c, unsigned cpu,
					   uint64_t a, const struct s2cache__frame **fp,
					   size_t *lip, const struct s2cache__line **lp)
{
	if (cpu >= c->cfg.ncpus)
		return NULL;
	const struct s2cache__line *l = line_find(c, a, fp, lip);
	if (!l || !(l->icpu & s2_bit(cpu)))
		return NULL;
	*lp = l;
	return ib_copy(c, fr_ic(c, *fp)[cpu], *lip);
}

bool s2cache_ic_stale(const struct s2cache *c, unsigned cpu, s2_pa_t pa)
{
	const struct s2cache__frame *f;
	const struct s2cache__line *l;
	size_t li;
	const struct s2cache__copy *il = ic_find(c, cpu, s2_pa_get(pa), &f, &li, &l);

	return il && il->stale;
}

bool s2cache_ic_older_than_pou(const struct s2cache *c, unsigned cpu, s2_pa_t pa)
{
	const struct s2cache__frame *f;
	const struct s2cache__line *l;
	size_t li;
	const struct s2cache__copy *il = ic_find(c, cpu, s2_pa_get(pa), &f, &li, &l);

	if (!il)
		return false;
	/* Older: it lacks a latest write the PoU has, or the PoU reflects a
	 * newer write than it does. */
	struct view v = pou_view(c, f, li, l);
	return (il->stale & ~v.stale) || il->ver < v.ver;
}

int s2cache_line_info(const struct s2cache *c, s2_pa_t pa, struct s2cache_line_info *out)
{
	uint64_t a = s2_pa_get(pa);
	const struct s2cache__frame *f;
	size_t li;

	if (check_range(c, a, 1))
		return S2_ERANGE;
	*out = (struct s2cache_line_info){ .line = s2_pa(s2_align_down(a, c->line)) };
	const struct s2cache__line *l = line_find(c, a, &f, &li);
	if (!l)
		return S2_OK;
	struct view v = pou_view(c, f, li, l);
	out->resident = l->flags & L_VALID;
	out->dirty = l->flags & L_DIRTY;
	out->unclean_pou = l->flags & L_UNPOU;
	out->ver_latest = l->latest;
	out->ver_mem = l->mem_ver;
	out->stale_mem = l->mem_stale;
	if (out->resident) {
		out->ver_dc = l->dc_ver;
		out->stale_dc = l->dc_stale;
	}
	out->ver_pou = v.ver;
	out->stale_pou = v.stale;
	out->icache_cpus = l->icpu;
	return S2_OK;
}

static void sum_counts(struct s2cache_summary *s, const struct s2cache__counts *n)
{
	s->resident += n->v[CNT_RES];
	s->dirty += n->v[CNT_DIRTY];
	s->unclean_pou += n->v[CNT_UNPOU];
	s->stale_icache += n->v[CNT_ISTALE];
}

int s2cache_summarize(const struct s2cache *c, s2_pa_t pa, uint64_t size,
		      struct s2cache_summary *out)
{
	uint64_t a = s2_pa_get(pa);
	const uint64_t blk = (uint64_t)1 << BLK_SHIFT;

	*out = (struct s2cache_summary){ 0 };
	if (!size)
		return S2_OK;
	if (check_range(c, a, size))
		return S2_ERANGE;
	uint64_t end = a + size;
	a = s2_align_down(a, c->line);
	while (a < end) {
		if (s2_is_aligned(a, blk) && end - a >= blk) {
			const struct s2cache__blk *b = map_get(&c->blks, a >> BLK_SHIFT);
			if (b)
				sum_counts(out, &b->cnt);
			a += blk;
			continue;
		}
		const struct s2cache__frame *f = frame_find(c, a >> PAGE_SHIFT);
		uint64_t pend = s2_align_down(a, PAGE_SIZE) + PAGE_SIZE;
		if (f && s2_is_aligned(a, PAGE_SIZE) && end >= pend) {
			sum_counts(out, &f->cnt);
		} else if (f) {
			/* A partial page: count its lines one by one. */
			for (uint64_t la = a; la < end && la < pend; la += c->line) {
				size_t li = (la & (PAGE_SIZE - 1)) >> c->line_shift;
				const struct s2cache__line *l = fr_line(c, f, li);
				if (!l)
					continue;
				out->resident += !!(l->flags & L_VALID);
				out->dirty += !!(l->flags & L_DIRTY);
				out->unclean_pou += !!(l->flags & L_UNPOU);
				for (uint64_t cpus = l->icpu; cpus; cpus &= cpus - 1) {
					unsigned cpu = (unsigned)__builtin_ctzll(cpus);
					out->stale_icache += !!ib_copy(c, fr_ic(c, f)[cpu], li)->stale;
				}
			}
		}
		a = pend;
	}
	return S2_OK;
}

/* ---- Raw views --------------------------------------------------------- */

static void peek_fresh(const struct s2cache *c, uint64_t a, uint8_t *buf, size_t n)
{
	(void)s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(a), buf, n);
}

int s2cache_peek(const struct s2cache *c, enum s2cache_view view, unsigned cpu,
		 s2_pa_t pa, void *buf, size_t n)
{
	uint64_t a = s2_pa_get(pa);
	uint8_t *dst = buf;

	if (cpu >= c->cfg.ncpus || (unsigned)view > S2CACHE_VIEW_ICACHE)
		return S2_EINVAL;
	if (check_range(c, a, n))
		return S2_ERANGE;
	while (n) {
		size_t poff = a & (PAGE_SIZE - 1);
		size_t len = c->line - (a & (c->line - 1));
		if (len > n)
			len = n;
		const struct s2cache__frame *f = frame_find(c, a >> PAGE_SHIFT);
		if (!f) {
			memset(dst, 0, len);
		} else {
			size_t li = poff >> c->line_shift;
			size_t off = poff & (c->line - 1);
			const struct s2cache__line *l = fr_line_ro(c, f, li);
			const uint8_t *src;
			switch (view) {
			case S2CACHE_VIEW_FRESH:
				fresh_read(c, f, li, l, off, len, dst);
				src = dst;
				break;
			case S2CACHE_VIEW_MEM:
				src = l_mem(c, l) + off;
				break;
			case S2CACHE_VIEW_DCACHE:
				src = ((l->flags & L_VALID) ? l_dc(l) : l_mem(c, l)) + off;
				break;
			case S2CACHE_VIEW_ICACHE:
				/* A miss would fill from the PoU. */
				if (!c->cfg.dic && (l->icpu & s2_bit(cpu)))
					src = ib_data(c, fr_ic(c, f)[cpu]) + poff;
				else
					src = pou_view(c, f, li, l).data + off;
				break;
			default:
				src = pou_view(c, f, li, l).data + off;
				break;
			}
			if (src != dst)
				memcpy(dst, src, len);
		}
		a += len;
		dst += len;
		n -= len;
	}
	return S2_OK;
}

/* ---- Lost writes and statistics --------------------------------------- */

uint64_t s2cache_lost_count(const struct s2cache *c)
{
	return c->nlost;
}

int s2cache_lost_get(const struct s2cache *c, uint64_t seq, struct s2cache_lost *out)
{
	if (seq >= c->nlost || c->nlost - seq > S2CACHE_LOST_LOG)
		return S2_ENOENT;
	*out = c->lost[seq % S2CACHE_LOST_LOG];
	return S2_OK;
}

void s2cache_get_stats(const struct s2cache *c, struct s2cache_stats *out)
{
	*out = (struct s2cache_stats){
		.frames = c->nframes,
		.bytes = c->bytes,
		.version = c->ver,
		.resident = c->nres,
		.dirty = c->ndirty,
		.lost = c->nlost,
	};
}

unsigned s2cache_line_bytes(const struct s2cache *c)
{
	return c->line;
}

/* ---- Invariants -------------------------------------------------------- */

static bool verify_line(const struct s2cache *c, const struct s2cache__frame *f, size_t li,
			struct s2cache__counts *sum)
{
	const struct s2cache__line *l = fr_line(c, f, li);
	if (!l)
		return true;	/* untouched: counts nothing */
	uint32_t fl = l->flags;
	bool valid = fl & L_VALID, unpou = fl & L_UNPOU;

	if (l->li != li || (fl & ~(uint32_t)(L_VALID | L_DIRTY | L_UNPOU)))
		return false;
	if (((fl & L_DIRTY) && !valid) || (unpou && !(fl & L_DIRTY)) ||
	    (unpou && !c->track_unpou))
		return false;
	if ((l->mem_stale | l->orphan | (valid ? l->dc_stale : 0)) & ~c->gall)
		return false;
	if (l->mem_ver > l->latest || (valid && l->dc_ver > l->latest))
		return false;
	/* A clean line is never fresher than memory. */
	if (valid && !(fl & L_DIRTY) && (~l->dc_stale & l->mem_stale & c->gall))
		return false;
	/* Every granule's latest value is somewhere, and in the ghost only
	 * when nowhere else. */
	uint64_t fresh = ~l->mem_stale | (valid ? ~l->dc_stale : 0);
	if (c->split && unpou) {
		if (~f->pou[li].stale & l->dc_stale & c->gall)
			return false;	/* the PoU copy is never fresher than the line */
		fresh |= ~f->pou[li].stale;
	}
	if (((fresh | l->orphan) & c->gall) != c->gall || (fresh & l->orphan))
		return false;
	if (valid) {
		if (l->res_idx >= c->nres || c->res[l->res_idx].fr != f ||
		    c->res[l->res_idx].l != l)
			return false;
		sum->v[CNT_RES]++;
	}
	sum->v[CNT_DIRTY] += !!(fl & L_DIRTY);
	sum->v[CNT_UNPOU] += unpou;
	if (l->icpu & ~(s2_bit(c->cfg.ncpus) - 1))
		return false;
	if (c->cfg.dic && l->icpu)
		return false;
	for (uint64_t cpus = l->icpu; cpus; cpus &= cpus - 1) {
		const struct s2cache__iblk *ib = fr_ic(c, f)[__builtin_ctzll(cpus)];
		if (!ib || ib->fr != f || (ib_copy(c, ib, li)->stale & ~c->gall))
			return false;
		sum->v[CNT_ISTALE] += !!ib_copy(c, ib, li)->stale;
	}
	return true;
}

static bool verify_frame(const struct s2cache *c, const struct s2cache__blk *b,
			 const struct s2cache__frame *f, struct s2cache__counts *bsum)
{
	struct s2cache__counts sum = { { 0 } };

	if (f->blk != b || f->fn / BLK_FRAMES != b->bn ||
	    f->ent != blk_ent(c, b, f->fn % BLK_FRAMES))
		return false;
	/* Line bits only for lines that exist, and an array when any is set. */
	if (c->nlines < 64 && (f->ent->have[0] >> c->nlines))
		return false;
	if (!ent_count(c, f->ent) != !f->ent->recs)
		return false;
	for (size_t li = 0; li < c->nlines; li++)
		if (!verify_line(c, f, li, &sum))
			return false;
	uint32_t ilines = 0;
	for (unsigned cpu = 0; cpu < c->cfg.ncpus; cpu++) {
		const struct s2cache__iblk *ib = fr_ic(c, f)[cpu];
		uint32_t held = 0;
		if (!ib)
			continue;
		for (size_t li = 0; li < c->nlines; li++)
			held += fr_line(c, f, li) && (fr_line(c, f, li)->icpu & s2_bit(cpu));
		if (ib->nlines != held)
			return false;
		if (held && (ib->list_idx >= c->icl[cpu].n || c->icl[cpu].v[ib->list_idx] != ib))
			return false;
		ilines += held;
	}
	if (ilines != f->ilines)
		return false;
	if (memcmp(&sum, &f->cnt, sizeof(sum)))
		return false;
	for (unsigned i = 0; i < CNT_N; i++)
		bsum->v[i] += sum.v[i];
	return true;
}

int s2cache_verify(const struct s2cache *c)
{
	uint64_t nframes = 0, nres = 0, ndirty = 0;

	for (size_t i = 0; i < c->blks.cap; i++) {
		const struct s2cache__blk *b = c->blks.slot[i].val;
		struct s2cache__counts sum = { { 0 } };
		if (c->blks.slot[i].key == MAP_EMPTY)
			continue;
		if (b->bn != c->blks.slot[i].key)
			return S2_EIO;
		for (size_t k = 0; k < BLK_FRAMES; k++) {
			bool res_bit = (b->resmap[k / 64] >> (k & 63)) & 1;
			bool ic_bit = (b->icmap[k / 64] >> (k & 63)) & 1;
			if (!b->fr[k]) {
				if (blk_ent(c, b, k)->recs || res_bit || ic_bit)
					return S2_EIO;
				continue;
			}
			if (res_bit != !!b->fr[k]->cnt.v[CNT_RES] || ic_bit != !!b->fr[k]->ilines)
				return S2_EIO;
			nframes++;
			if (!verify_frame(c, b, b->fr[k], &sum))
				return S2_EIO;
		}
		if (memcmp(&sum, &b->cnt, sizeof(sum)))
			return S2_EIO;
		nres += sum.v[CNT_RES];
		ndirty += sum.v[CNT_DIRTY];
	}
	if (nframes != c->nframes || nres != c->nres || ndirty != c->ndirty)
		return S2_EIO;
	/* The untouched line every read-only path may return stays untouched. */
	for (size_t i = 0; i < c->slab; i++)
		if (((const uint8_t *)c->dflt)[i])
			return S2_EIO;
	for (unsigned cpu = 0; cpu < S2CACHE_MAX_CPUS; cpu++)
		for (size_t i = 0; i < c->icl[cpu].n; i++)
			if (cpu >= c->cfg.ncpus || !c->icl[cpu].v[i]->nlines ||
			    c->icl[cpu].v[i]->list_idx != i)
				return S2_EIO;
	return S2_OK;
}
