/* Stage-2 operations on top of the visitor walk, with the coalescing
 * orderings of each variant. Comments name the kernel behaviour each part
 * follows; the code is our own. */
#include "walker/s2pt.h"

#include <string.h>

#include "common/s2_bits.h"
#include "walker/s2pt_internal.h"

/* S2AP and XN: what a permission-only change touches (KVM_PTE_LEAF_ATTR_S2_PERMS). */
#define PTE_PERMS (S2PT_PTE_S2AP_R | S2PT_PTE_S2AP_W | S2PT_PTE_XN)

/* How a variant orders the replacement of a table by a block. */
enum order {
	ORDER_2021,		/* anchor: clear, TLBI; post: free, then install */
	ORDER_INSTALL_FIRST,	/* anchor: clear, TLBI, install; post: free via follow */
	ORDER_UPSTREAM,		/* pre: break, CMO, make; free the unlinked table */
};

struct variant_props {
	enum order order;
	bool cmo_on_install;	/* install-first: CMOs of the block installed in pre */
	bool cmo_on_leaf;	/* CMOs of every other newly visible leaf */
	bool put_anchor;	/* 2021: drop the anchor's reference in post */
	bool get_on_install;	/* install-first: take a reference for the block */
	bool tlbi_vmid_on_merge;/* else only the anchor's IPA (the pre-v5.12 bug) */
	bool reload_after_pre;
	bool free_last_ref;	/* free_unlinked drops the table's own reference */
	bool lock_marker;	/* break writes the locked marker instead of 0 */
	bool valid_update_leak;	/* 2021: a valid leaf updated in place takes a reference */
	bool eagain_stops;	/* EAGAIN ends every walk */
	bool defer_unmap_tlbi;	/* unmap: one TLBI after the walk, tables freed before it */
	bool relax_no_tlbi;	/* relax-perms leaves the faulting CPU's TLB alone */
	bool perm_bbm;		/* 2021: a permission-only change is remade through BBM */
	/* Bugs of the parallel (shared) path, v6.2+: */
	bool free_now;		/* the unlinked table is freed at once, not after a grace period */
	bool attr_plain;	/* shared attribute walks store plainly, no exchange */
	bool loser_put;		/* a lost break still drops the old entry's reference */
	bool relax_lost_notlbi;	/* a relax that lost its exchange skips the local TLBI */
};

/* What every variant does, by variant: looked up on every map and unmap, so
 * a table rather than code. Columns: order, cmo_on_install, cmo_on_leaf,
 * put_anchor, get_on_install, tlbi_vmid_on_merge, reload_after_pre,
 * free_last_ref, lock_marker; then the bugs of single operations
 * (valid_update_leak, eagain_stops, defer_unmap_tlbi, relax_no_tlbi) through B(). */
#define P(o, ci, cl, pa, gi, tv, rl, fl, lm) \
	{ ORDER_##o, ci, cl, pa, gi, tv, rl, fl, lm, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
#define B(o, ci, cl, pa, gi, tv, rl, fl, lm, vu, es, du, rn) \
	{ ORDER_##o, ci, cl, pa, gi, tv, rl, fl, lm, vu, es, du, rn, 0, 0, 0, 0, 0 }
/* Upstream with one bug of the parallel path: free_now, attr_plain,
 * loser_put, relax_lost_notlbi. */
#define S(fn, ap, lp, rt) { ORDER_UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, fn, ap, lp, rt }
static const struct variant_props variant_props[S2PT_NR_VARIANTS + 1] = {
	[S2PT_V_UPSTREAM_2021]       = P(2021, 1, 1, 1, 0, 1, 0, 1, 0),
	[S2PT_V_ANCHOR_LEAK]         = P(2021, 1, 1, 0, 0, 1, 0, 1, 0),
	[S2PT_V_MERGE_TLBI_IPA]      = P(2021, 1, 1, 1, 0, 0, 0, 1, 0),
	[S2PT_V_INSTALL_FIRST]       = P(INSTALL_FIRST, 1, 1, 1, 0, 1, 0, 1, 0),
	[S2PT_V_INSTALL_FIRST_NOCMO] = P(INSTALL_FIRST, 0, 1, 1, 0, 1, 0, 1, 0),
	[S2PT_V_INSTALL_FIRST_LEAK]  = P(INSTALL_FIRST, 1, 1, 1, 1, 1, 0, 1, 0),
	[S2PT_V_UPSTREAM]            = P(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1),
	[S2PT_V_UPSTREAM_EXCLUSIVE]  = P(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1),
	[S2PT_V_UPSTREAM_NOCMO]      = P(UPSTREAM, 1, 0, 1, 0, 1, 1, 1, 1),
	[S2PT_V_NO_RELOAD]           = P(UPSTREAM, 1, 1, 1, 0, 1, 0, 1, 1),
	[S2PT_V_FREE_LEAK]           = P(UPSTREAM, 1, 1, 1, 0, 1, 1, 0, 1),
	[S2PT_V_VALID_UPDATE_LEAK]   = B(2021, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0),
	[S2PT_V_EAGAIN_STOPS]        = B(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 0),
	[S2PT_V_UNMAP_DEFER_TLBI]    = B(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0),
	[S2PT_V_RELAX_NO_TLBI]       = B(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1),
	[S2PT_V_PERM_BBM]            = { ORDER_2021, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 },
	[S2PT_V_FREE_NOW]            = S(1, 0, 0, 0),
	[S2PT_V_ATTR_PLAIN]          = S(0, 1, 0, 0),
	[S2PT_V_LOSER_PUT]           = S(0, 0, 1, 0),
	[S2PT_V_RELAX_LOST_NOTLBI]   = S(0, 0, 0, 1),
	/* Bugs of KVM's fault handler and dirty logging (hyp-model/kvm.c). */
	[S2PT_V_LOG_BLOCKS]          = P(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1),
	[S2PT_V_LOG_NO_FLUSH]        = P(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1),
	[S2PT_V_HUGE_UNCHECKED]      = P(UPSTREAM, 1, 1, 1, 0, 1, 1, 1, 1),
	[S2PT_V_RELAX_STALE_LEVEL]   = P(2021, 1, 1, 1, 0, 1, 0, 1, 0),
	[S2PT_NR_VARIANTS]           = P(2021, 1, 1, 1, 0, 1, 0, 1, 0),
};
#undef P
#undef B
#undef S

static inline const struct variant_props *props_of(enum s2pt_variant v)
{
	return &variant_props[(unsigned)v < S2PT_NR_VARIANTS ? v : S2PT_NR_VARIANTS];
}

/* ------------------------------------------------------------------ */
/* Effects                                                              */
/* ------------------------------------------------------------------ */

static inline void set_pte(struct s2pt *pt, s2_pte_t *ptep, s2_pte_t pte, bool release)
{
	pt->ops->set_pte(pt->ctx, ptep, pte, release);
}

static inline void get_page(struct s2pt *pt, void *addr)
{
	pt->ops->get_page(pt->ctx, addr);
}

static void put_page(struct s2pt *pt, void *addr)
{
	pt->ops->put_page(pt->ctx, addr);
}

static void barrier(struct s2pt *pt, enum s2pt_barrier b)
{
	pt->ops->barrier(pt->ctx, b);
}

void s2pt__tlbi_ipa(struct s2pt *pt, uint64_t ipa, s2_level_t level)
{
	barrier(pt, S2PT_DSB_ISHST);
	pt->ops->tlbi(pt->ctx, S2PT_TLBI_IPAS2E1IS, s2_ipa(ipa), level);
	barrier(pt, S2PT_DSB_ISH);
	/* Stage-1 entries may combine the old stage-2 output: drop them too. */
	pt->ops->tlbi(pt->ctx, S2PT_TLBI_VMALLE1IS, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
	barrier(pt, S2PT_DSB_ISH);
	barrier(pt, S2PT_ISB);
}

void s2pt__tlbi_ipa_local(struct s2pt *pt, uint64_t ipa, s2_level_t level)
{
	barrier(pt, S2PT_DSB_NSHST);
	pt->ops->tlbi(pt->ctx, S2PT_TLBI_IPAS2E1, s2_ipa(ipa), level);
	barrier(pt, S2PT_DSB_NSH);
	pt->ops->tlbi(pt->ctx, S2PT_TLBI_VMALLE1, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
	barrier(pt, S2PT_DSB_NSH);
	barrier(pt, S2PT_ISB);
}

void s2pt__tlbi_vmid(struct s2pt *pt)
{
	barrier(pt, S2PT_DSB_ISHST);
	pt->ops->tlbi(pt->ctx, S2PT_TLBI_VMALLS12E1IS, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
	barrier(pt, S2PT_DSB_ISH);
	barrier(pt, S2PT_ISB);
}

void s2pt__tlbi_range(struct s2pt *pt, uint64_t ipa, uint64_t size)
{
	if (!pt->range_tlbi) {
		s2pt__tlbi_vmid(pt);
		return;
	}
	barrier(pt, S2PT_DSB_ISHST);
	pt->ops->tlbi_range(pt->ctx, s2_ipa(ipa), size);
	barrier(pt, S2PT_DSB_ISH);
	pt->ops->tlbi(pt->ctx, S2PT_TLBI_VMALLE1IS, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
	barrier(pt, S2PT_DSB_ISH);
	barrier(pt, S2PT_ISB);
}

static uint64_t granule(const struct s2pt *pt, s2_level_t level)
{
	return s2pt_granule_size(&pt->geom, level);
}

static void *follow(struct s2pt *pt, s2_pte_t pte)
{
	return pt->ops->phys_to_virt(pt->ctx, s2pt_pte_oa(&pt->geom, pte));
}

static bool pte_cacheable(const struct s2pt *pt, s2_pte_t pte)
{
	return s2pt_pte_memtype(pte, pt->fwb) == S2PT_MT_NORMAL;
}

static bool pte_executable(s2_pte_t pte)
{
	return s2pt_pte_valid(pte) && !(pte & S2PT_PTE_XN);
}

/*
 * Change an entry from the value the walk read (v6.2+ stage2_try_set_pte).
 * An exclusive walker owns every entry and just stores. A shared walker
 * exchanges against ctx->old: false means another walker changed the entry
 * since it was read, and the caller must back off without any other effect.
 */
static inline bool try_set_pte(const struct s2pt_visit_ctx *ctx, s2_pte_t new)
{
	struct s2pt *pt = ctx->pt;

	if (!(ctx->flags & S2PT_WALK_SHARED)) {
		set_pte(pt, ctx->ptep, new, false);
		return true;
	}
	return pt->ops->cmpxchg_pte(pt->ctx, ctx->ptep, ctx->old, new);
}

/* An attribute change (permissions, AF). Before "Atomically update stage 2
 * leaf attributes in parallel walks" (ca5de2448c3b) it was a plain store,
 * which the buggy variant keeps under the read lock. */
static bool try_set_attr(const struct s2pt_visit_ctx *ctx, s2_pte_t new)
{
	if ((ctx->flags & S2PT_WALK_SHARED) && props_of(ctx->pt->variant)->attr_plain) {
		set_pte(ctx->pt, ctx->ptep, new, false);
		return true;
	}
	return try_set_pte(ctx, new);
}

/* A lost break: nothing changes, except in the buggy variant, where the
 * loser gives back a reference the winner gives back too. */
static S2_SLOW_PATH bool break_lost(struct s2pt *pt, const struct s2pt_visit_ctx *ctx)
{
	if (props_of(pt->variant)->loser_put && s2pt_pte_is_counted(ctx->old))
		put_page(pt, ctx->ptep);
	return false;
}

/* A won break of a counted entry: the TLBI a valid one needs, then the put. */
static S2_NOINLINE void break_counted(struct s2pt *pt, const struct s2pt_visit_ctx *ctx)
{
	if (s2pt_pte_is_table(ctx->old, ctx->level))
		s2pt__tlbi_range(pt, s2_align_down(ctx->addr, granule(pt, ctx->level)),
				 granule(pt, ctx->level));
	else if (s2pt_pte_valid(ctx->old))
		s2pt__tlbi_ipa(pt, ctx->addr, ctx->level);
	put_page(pt, ctx->ptep);
}

/*
 * Break (v6.2+ stage2_try_break_pte): invalidate the entry, make every TLB
 * forget it, drop its reference. A table may hide leaves of any size below,
 * so it needs the whole VMID. DDI 0487 D8.14.1: break-before-make.
 *
 * False when the entry is not ours to break: another walker holds it locked
 * (it is between its own break and make) or changed it since we read it.
 * Only the walker whose exchange wrote the marker issues the TLBI and drops
 * the old entry's reference, so a lost race changes no refcount. The marker
 * is what makes other shared walkers back off until the make.
 */
static inline bool try_break_pte(struct s2pt *pt, const struct s2pt_visit_ctx *ctx, bool lock_marker)
{
	/* An exclusive walker never finds the marker: only a shared walk in
	 * flight leaves it, and exclusive walks exclude those. */
	if (ctx->old == S2PT_PTE_LOCKED)
		return false;
	if (!try_set_pte(ctx, lock_marker ? S2PT_PTE_LOCKED : 0))
		return break_lost(pt, ctx);
	/* Only a counted entry (valid, or an owner's) needs more. */
	if (s2pt_pte_is_counted(ctx->old))
		break_counted(pt, ctx);
	return true;
}

/* Make (v6.2+ stage2_make_pte): reference first, then publish with release
 * so that a walker that sees the entry also sees what it points to. The
 * entry holds our locked marker (or, exclusive, is ours anyway): a plain
 * store, never an exchange. */
static inline void make_pte(struct s2pt *pt, s2_pte_t *ptep, s2_pte_t new)
{
	if (s2pt_pte_is_counted(new))
		get_page(pt, ptep);
	set_pte(pt, ptep, new, true);
}

/* Clear a valid entry, TLBI it, drop its reference (stage2_put_pte). */
static void clear_put_pte(struct s2pt *pt, const struct s2pt_visit_ctx *ctx)
{
	set_pte(pt, ctx->ptep, 0, false);
	s2pt__tlbi_ipa(pt, ctx->addr, ctx->level);
	put_page(pt, ctx->ptep);
}

static void *memcache_pop(struct s2pt_memcache *mc)
{
	if (!mc || !mc->nr)
		return NULL;
	return mc->pages[--mc->nr];
}

/* The walk flag a witness asks for: shared under a read lock. */
static unsigned walk_shared(struct s2pt_locked l)
{
	return l.shared ? S2PT_WALK_SHARED : 0;
}

/* ------------------------------------------------------------------ */
/* Map                                                                 */
/* ------------------------------------------------------------------ */

struct map_data {
	uint64_t pa;		/* output address of the walk's start */
	enum s2pt_prot prot;
	s2_pte_t attrs;		/* leaf attributes, from prot */
	struct s2pt_memcache *mc;
	struct variant_props vp;
	bool dcache, icache;	/* the CMOs a new leaf needs (map_cmos_init) */
	bool break_make;	/* v6.2+ ordering, none of the older leaf bugs */
	s2_pte_t *anchor;	/* 2021 orderings: the table entry being coalesced */
	void *follow;		/* ... and the old table it pointed to */
};

/*
 * The maintenance a page needs before a guest can see it through this new
 * entry: its dirty lines cleaned to PoC (a guest with its MMU off reads
 * memory, not the cache), and with execute permission its stale icache
 * lines invalidated. FWB makes the first unnecessary. Every leaf a map
 * makes has the map's attributes, so which of the two it needs is decided
 * once per map (map_cmos_init).
 */
static inline void new_leaf_cmos(struct s2pt *pt, const struct map_data *d, s2_pte_t new,
				 s2_level_t level)
{
	if (!d->dcache && !d->icache)
		return;
	s2_pa_t pa = s2pt_pte_oa(&pt->geom, new);
	if (d->dcache)
		pt->ops->dcache_clean_inval_poc(pt->ctx, pa, granule(pt, level));
	if (d->icache)
		pt->ops->icache_inval_pou(pt->ctx, pa, granule(pt, level));
}

/* Which maintenance new_leaf_cmos does for a leaf with these attributes. */
static void map_cmos_init(const struct s2pt *pt, struct map_data *d)
{
	s2_pte_t leaf = d->attrs | S2PT_PTE_VALID;

	if (!d->vp.cmo_on_leaf)
		return;
	d->dcache = pt->ops->dcache_clean_inval_poc && pte_cacheable(pt, leaf) && !pt->fwb;
	d->icache = pt->ops->icache_inval_pou && pte_executable(leaf);
}

static uint64_t map_phys(const struct s2pt_visit_ctx *ctx, const struct map_data *d)
{
	return d->pa + (ctx->addr - ctx->start);
}

/* kvm_block_mapping_supported(): the leaf must fit the range and be aligned
 * in both address spaces. */
static inline bool leaf_fits(const struct s2pt *pt, const struct s2pt_visit_ctx *ctx,
			     uint64_t phys)
{
	uint64_t size = granule(pt, ctx->level);

	if (!s2pt_leaf_allowed_at(&pt->geom, ctx->level))
		return false;
	if (ctx->end - ctx->addr < size)
		return false;
	return s2_is_aligned(ctx->addr, size) && s2_is_aligned(phys, size);
}

static bool pte_needs_update(s2_pte_t old, s2_pte_t new)
{
	if (!s2pt_pte_valid(old) || !s2pt_pte_valid(new))
		return true;
	/* Only permissions differ: the fault path relaxes them instead. */
	return ((old ^ new) & ~PTE_PERMS) != 0;
}

/* v6.2+ stage2_map_walker_try_leaf: break, CMOs, make. */
static inline int map_break_make(const struct s2pt_visit_ctx *ctx, const struct map_data *d,
				 s2_pte_t new)
{
	/* Lost to another walker: the fault is retried from the guest. */
	if (!try_break_pte(ctx->pt, ctx, d->vp.lock_marker))
		return S2_EAGAIN;
	new_leaf_cmos(ctx->pt, d, new, ctx->level);
	make_pte(ctx->pt, ctx->ptep, new);
	return 0;
}

/* A leaf's update in every variant (map_try_leaf takes a shorter way when
 * the variant has none of the bugs below). */
static S2_NOINLINE int map_update_leaf(const struct s2pt_visit_ctx *ctx, struct map_data *d,
				       s2_pte_t new)
{
	struct s2pt *pt = ctx->pt;

	/* v5.10 stage2_map_walker_try_leaf updated a valid leaf of the same
	 * output in place (no break-before-make needed), then took the
	 * reference of a new entry all the same: the table page leaks one. */
	if (d->vp.valid_update_leak && s2pt_pte_valid(ctx->old) && ctx->old != new &&
	    ((ctx->old ^ new) & ~PTE_PERMS) == 0) {
		set_pte(pt, ctx->ptep, new, false);
		get_page(pt, ctx->ptep);
		return 0;
	}
	/* Before v5.13 a permission-only change went through break-before-make
	 * like any other (correct, but a TLBI and a fault window for nothing). */
	if (!pte_needs_update(ctx->old, new) && !(d->vp.perm_bbm && ctx->old != new))
		return S2_EAGAIN;

	if (d->vp.order == ORDER_UPSTREAM)
		return map_break_make(ctx, d, new);
	/* v5.10-v5.13 stage2_map_walker_try_leaf: put the old, store, then get. */
	if (s2pt_pte_valid(ctx->old))
		clear_put_pte(pt, ctx);
	else if (s2pt_pte_is_counted(ctx->old))
		put_page(pt, ctx->ptep);	/* an owner annotation gives its reference back */
	new_leaf_cmos(pt, d, new, ctx->level);
	set_pte(pt, ctx->ptep, new, true);
	get_page(pt, ctx->ptep);
	return 0;
}

static S2_ALWAYS_INLINE int map_try_leaf(const struct s2pt_visit_ctx *ctx, struct map_data *d)
{
	struct s2pt *pt = ctx->pt;
	uint64_t phys = map_phys(ctx, d);

	if (!leaf_fits(pt, ctx, phys))
		return S2_E2BIG;
	s2_pte_t new = s2pt__leaf_from_attrs(&pt->geom, ctx->level, s2_pa(phys), d->attrs);
	if (!d->break_make)
		return map_update_leaf(ctx, d, new);
	if (!pte_needs_update(ctx->old, new))
		return S2_EAGAIN;
	return map_break_make(ctx, d, new);
}

/* A leaf that does not fit at this level: a table in its place, to descend
 * into (map_leaf). */
static S2_NOINLINE int map_new_table(const struct s2pt_visit_ctx *ctx, struct map_data *d)
{
	struct s2pt *pt = ctx->pt;

	if (ctx->level == S2_LEVEL_MAX)
		return S2_EINVAL;

	/* Take the page before touching the entry, so ENOMEM leaves it intact. */
	void *child = memcache_pop(d->mc);
	if (!child)
		return S2_ENOMEM;
	s2_pte_t table = s2pt_pte_table(&pt->geom, pt->ops->virt_to_phys(pt->ctx, child));

	/* A block in the way becomes an empty table: the rest of it faults back
	 * in lazily. */
	if (d->vp.order == ORDER_UPSTREAM) {
		if (!try_break_pte(pt, ctx, d->vp.lock_marker)) {
			/* Lost: the page goes back unused (KVM puts it). */
			d->mc->pages[d->mc->nr++] = child;
			return S2_EAGAIN;
		}
		make_pte(pt, ctx->ptep, table);
		return 0;
	}
	if (s2pt_pte_valid(ctx->old))
		clear_put_pte(pt, ctx);
	else if (s2pt_pte_is_counted(ctx->old))
		put_page(pt, ctx->ptep);
	set_pte(pt, ctx->ptep, table, true);
	get_page(pt, ctx->ptep);
	return 0;
}

static inline int map_leaf(const struct s2pt_visit_ctx *ctx, struct map_data *d)
{
	if (d->anchor) {
		/* Under the anchor the old leaves only give back their references. */
		if (s2pt_pte_is_counted(ctx->old))
			put_page(ctx->pt, ctx->ptep);
		return 0;
	}

	int ret = map_try_leaf(ctx, d);
	if (ret != S2_E2BIG)
		return ret;
	return map_new_table(ctx, d);
}

static S2_NOINLINE int map_table_pre(const struct s2pt_visit_ctx *ctx, struct map_data *d)
{
	struct s2pt *pt = ctx->pt;
	uint64_t phys = map_phys(ctx, d);

	if (d->vp.order == ORDER_UPSTREAM) {
		if (!leaf_fits(pt, ctx, phys))
			return 0;
		void *child = follow(pt, ctx->old);
		int ret = map_try_leaf(ctx, d);
		if (ret)
			return ret;
		/* v6.2's RCU callback; before it (5c359cca1faf) the walker tore
		 * the subtree down at once, under other walkers' feet. */
		if (pt->ops->free_unlinked_table && !d->vp.free_now)
			pt->ops->free_unlinked_table(pt->ctx, pt, child, ctx->level);
		else
			s2pt_free_unlinked(pt, child, ctx->level);
		return 0;
	}

	if (d->anchor || !leaf_fits(pt, ctx, phys))
		return 0;

	d->follow = follow(pt, ctx->old);
	set_pte(pt, ctx->ptep, 0, false);
	/*
	 * The subtree may hold leaves of every size below: only a whole-VMID
	 * TLBI removes them all ("Fix handling of merging tables into a block
	 * entry"). The single-IPA TLBI of the buggy variant leaves the other
	 * pages' translations next to the new block.
	 */
	if (d->vp.tlbi_vmid_on_merge)
		s2pt__tlbi_vmid(pt);
	else
		s2pt__tlbi_ipa(pt, ctx->addr, ctx->level);
	d->anchor = ctx->ptep;

	if (d->vp.order == ORDER_INSTALL_FIRST) {
		s2_pte_t new = s2pt__leaf_from_attrs(&pt->geom, ctx->level, s2_pa(phys), d->attrs);
		/* The old tables need not have mapped the whole block, and a guest
		 * with its MMU off reads memory: the block needs its CMOs. */
		if (d->vp.cmo_on_install)
			new_leaf_cmos(pt, d, new, ctx->level);
		set_pte(pt, ctx->ptep, new, true);
		/* The entry keeps the table's reference: taking one here leaks. */
		if (d->vp.get_on_install)
			get_page(pt, ctx->ptep);
	}
	return 0;
}

static S2_NOINLINE int map_table_post(const struct s2pt_visit_ctx *ctx, struct map_data *d)
{
	struct s2pt *pt = ctx->pt;

	if (!d->anchor)
		return 0;
	if (d->anchor != ctx->ptep) {
		/* An inner table under the anchor: all its entries are put by now. */
		put_page(pt, follow(pt, ctx->old));
		put_page(pt, ctx->ptep);
		return 0;
	}

	void *child = d->follow;
	d->anchor = NULL;
	d->follow = NULL;
	put_page(pt, child);
	if (d->vp.order == ORDER_INSTALL_FIRST)
		return 0;

	/* v5.10-v5.12: free, drop the anchor's reference, install the block. */
	if (d->vp.put_anchor)
		put_page(pt, ctx->ptep);
	struct s2pt_visit_ctx leaf = *ctx;
	leaf.old = s2pt__read_pte(ctx->ptep);
	return map_leaf(&leaf, d);
}

static int map_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct map_data *d = ctx->arg;

	switch (visit) {
	case S2PT_WALK_TABLE_PRE:
		return map_table_pre(ctx, d);
	case S2PT_WALK_TABLE_POST:
		return map_table_post(ctx, d);
	case S2PT_WALK_LEAF:
		return map_leaf(ctx, d);
	case S2PT_WALK_HANDLE_FAULT:
	case S2PT_WALK_SHARED:
		break;
	}
	return S2_EINVAL;
}

static bool prot_ok(enum s2pt_prot prot)
{
	/* Device memory is never executable at stage 2. */
	return !((prot & S2PT_PROT_DEVICE) && (prot & S2PT_PROT_X)) &&
	       !((prot & S2PT_PROT_DEVICE) && (prot & S2PT_PROT_NC));
}

int s2pt_map(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size, s2_pa_t pa,
	     enum s2pt_prot prot, struct s2pt_memcache *mc)
{
	struct s2pt *pt = l.pt;
	uint64_t page = (uint64_t)1 << pt->geom.granule_shift;
	const struct variant_props *vp = props_of(pt->variant);

	/* Parallel faults came with v6.2's break/make; the older orderings
	 * (the anchor) and their bugs assume an exclusive lock. */
	if (l.shared && (vp->order != ORDER_UPSTREAM || vp->valid_update_leak || vp->perm_bbm))
		return S2_EINVAL;
	if (!prot_ok(prot) || !s2_is_aligned(s2_pa_get(pa), page) ||
	    !s2_is_aligned(s2_ipa_get(ipa), page) || !size ||
	    s2_pa_get(pa) + size > s2_bit(pt->geom.pa_bits))
		return S2_EINVAL;
	struct map_data d = {
		.pa = s2_pa_get(pa),
		.prot = prot,
		.attrs = s2pt__leaf_attrs(prot, pt->fwb),
		.mc = mc,
		.vp = *vp,
	};
	map_cmos_init(pt, &d);
	d.break_make = vp->order == ORDER_UPSTREAM && !vp->valid_update_leak && !vp->perm_bbm;
	unsigned flags = S2PT_WALK_LEAF | S2PT_WALK_TABLE_PRE | S2PT_WALK_HANDLE_FAULT |
			 walk_shared(l);
	if (d.vp.order != ORDER_UPSTREAM)
		flags |= S2PT_WALK_TABLE_POST;
	struct s2pt_walker w = { map_visitor, &d, flags };
	return s2pt_walk(pt, s2_ipa_get(ipa), size, &w);
}

/* ------------------------------------------------------------------ */
/* Freeing                                                              */
/* ------------------------------------------------------------------ */

/* stage2_free_walker: every counted entry gives its reference back; a
 * table, once its own entries are gone, gives back the child page. */
static void free_tree(struct s2pt *pt, s2_pte_t *table, s2_level_t level, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		s2_pte_t pte = s2pt__read_pte(&table[i]);
		if (!s2pt_pte_is_counted(pte))
			continue;
		if (s2pt_pte_is_table(pte, level)) {
			s2_pte_t *child = follow(pt, pte);
			free_tree(pt, child, level + 1, s2pt_ptes_per_table(&pt->geom));
			put_page(pt, &table[i]);
			put_page(pt, child);
		} else {
			put_page(pt, &table[i]);
		}
	}
}

void s2pt_free_unlinked(struct s2pt *pt, void *table, s2_level_t level)
{
	free_tree(pt, table, level + 1, s2pt_ptes_per_table(&pt->geom));
	if (props_of(pt->variant)->free_last_ref)
		put_page(pt, table);
}

void s2pt_destroy(struct s2pt_locked l)
{
	struct s2pt *pt = l.pt;

	if (!pt->pgd || l.shared)	/* destroy holds the write lock */
		return;
	free_tree(pt, pt->pgd, pt->geom.start_level,
		  s2pt_ptes_per_table(&pt->geom) * pt->geom.nr_roots);
	pt->ops->free_pages_exact(pt->ctx, pt->pgd, pt->geom.nr_roots);
	pt->pgd = NULL;
}

/* ------------------------------------------------------------------ */
/* Unmap                                                                */
/* ------------------------------------------------------------------ */

static bool unmap_defers_tlbi(const struct s2pt *pt)
{
	return pt->range_tlbi && pt->fwb;
}

struct unmap_data {
	bool defer_all;		/* the variant defers every TLBI to the end (a bug) */
	bool defer_leaves;	/* range TLBIs and FWB: leaves flushed once, by range */
};

static int unmap_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct s2pt *pt = ctx->pt;
	void *child = NULL;
	bool need_flush = false;

	(void)visit;
	if (!s2pt_pte_valid(ctx->old)) {
		if (s2pt_pte_is_counted(ctx->old)) {
			set_pte(pt, ctx->ptep, 0, false);
			put_page(pt, ctx->ptep);
		}
		return 0;
	}
	if (s2pt_pte_is_table(ctx->old, ctx->level)) {
		child = follow(pt, ctx->old);
		/* Still holds entries outside the range: keep it. */
		if (pt->ops->page_count(pt->ctx, child) != 1)
			return 0;
	} else {
		need_flush = pte_cacheable(pt, ctx->old) && !pt->fwb;
	}

	/* A block partly in the range goes whole; the rest faults back lazily.
	 * Deferred: cleared now, one TLBI after the walk. The buggy variant
	 * defers every entry's (a table page is freed below before any TLBI
	 * covers it); with range TLBIs and FWB, KVM defers a leaf's to one
	 * range flush at the end (stage2_unmap_defer_tlb_flush). */
	const struct unmap_data *d = ctx->arg;
	if (d->defer_all || (!child && d->defer_leaves)) {
		set_pte(pt, ctx->ptep, 0, false);
		put_page(pt, ctx->ptep);
	} else {
		clear_put_pte(pt, ctx);
	}
	if (need_flush && pt->ops->dcache_clean_inval_poc)
		pt->ops->dcache_clean_inval_poc(pt->ctx, s2pt_pte_oa(&pt->geom, ctx->old),
						granule(pt, ctx->level));
	if (child)
		put_page(pt, child);
	return 0;
}

int s2pt_unmap(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size)
{
	struct unmap_data d = { props_of(l.pt->variant)->defer_unmap_tlbi, unmap_defers_tlbi(l.pt) };
	if (l.shared)
		return S2_EINVAL;	/* KVM unmaps under the write lock */
	struct s2pt_walker w = { unmap_visitor, &d,
				 S2PT_WALK_LEAF | S2PT_WALK_TABLE_POST };
	int ret = s2pt_walk(l.pt, s2_ipa_get(ipa), size, &w);
	if (d.defer_all)
		s2pt__tlbi_vmid(l.pt);
	else if (d.defer_leaves)
		s2pt__tlbi_range(l.pt, s2_ipa_get(ipa), size);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Attribute changes                                                    */
/* ------------------------------------------------------------------ */

struct attr_data {
	s2_pte_t set;
	s2_pte_t clr;
	s2_pte_t old;		/* the last leaf visited */
	s2_level_t level;
	s2_level_t want_level;	/* with check_level: a leaf at another level is S2_EAGAIN */
	bool check_level;
	bool visited;
};

static int attr_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct attr_data *d = ctx->arg;
	struct s2pt *pt = ctx->pt;

	(void)visit;
	if (!s2pt_pte_valid(ctx->old))
		return S2_EAGAIN;
	if (d->check_level && ctx->level != d->want_level)
		return S2_EAGAIN;
	d->visited = true;
	d->level = ctx->level;
	d->old = ctx->old;
	s2_pte_t new = (ctx->old & ~d->clr) | d->set;
	if (new == ctx->old)
		return 0;
	/* Granting execute: the icache must not hold stale lines of the page. */
	if (pt->ops->icache_inval_pou && pte_executable(new) && !pte_executable(ctx->old))
		pt->ops->icache_inval_pou(pt->ctx, s2pt_pte_oa(&pt->geom, new),
					  granule(pt, ctx->level));
	/* Shared: lost to another walker; a fault retries, others go on. */
	if (!try_set_attr(ctx, new))
		return S2_EAGAIN;
	return 0;
}

static int update_attrs(struct s2pt *pt, uint64_t ipa, uint64_t size,
			struct attr_data *d, unsigned flags)
{
	struct s2pt_walker w = { attr_visitor, d, S2PT_WALK_LEAF | flags };
	return s2pt_walk(pt, ipa, size, &w);
}

int s2pt_wrprotect(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size)
{
	struct attr_data d = { .clr = S2PT_PTE_S2AP_W };
	if (l.shared)
		return S2_EINVAL;	/* dirty logging write-protects under the write lock */
	return update_attrs(l.pt, s2_ipa_get(ipa), size, &d, 0);
}

int s2pt_relax_perms(struct s2pt_locked l, s2_ipa_t ipa, enum s2pt_prot prot)
{
	return s2pt_relax_perms_at(l, ipa, prot, S2PT_TLBI_NO_LEVEL);
}

int s2pt_relax_perms_at(struct s2pt_locked l, s2_ipa_t ipa, enum s2pt_prot prot,
			s2_level_t level)
{
	struct s2pt *pt = l.pt;
	struct attr_data d = { .level = S2PT_TLBI_NO_LEVEL, .want_level = level,
			       .check_level = level != S2PT_TLBI_NO_LEVEL };

	if (prot & (S2PT_PROT_DEVICE | S2PT_PROT_NC))
		return S2_EINVAL;
	if (prot & S2PT_PROT_R)
		d.set |= S2PT_PTE_S2AP_R;
	if (prot & S2PT_PROT_W)
		d.set |= S2PT_PTE_S2AP_W;
	if (prot & S2PT_PROT_X)
		d.clr |= S2PT_PTE_XN;
	/* Size 1, as KVM: the page holding ipa, even when ipa is not aligned. */
	int ret = update_attrs(pt, s2_ipa_get(ipa), 1, &d,
			       S2PT_WALK_HANDLE_FAULT | walk_shared(l));
	/* Only this CPU faulted on the old permissions; others pick up the new
	 * ones on their own fault (kvm_pgtable_stage2_relax_perms). Since
	 * be097997a273 also when another walker's exchange won: this CPU's TLB
	 * may still hold the entry it faulted on. */
	const struct variant_props *vp = props_of(pt->variant);
	if ((!ret || (ret == S2_EAGAIN && !vp->relax_lost_notlbi)) && !vp->relax_no_tlbi)
		s2pt__tlbi_ipa_local(pt, s2_ipa_get(ipa), d.level);
	return ret;
}

int s2pt_mkyoung(struct s2pt_locked l, s2_ipa_t ipa, s2_pte_t *old)
{
	struct s2pt *pt = l.pt;
	struct attr_data d = { .set = S2PT_PTE_AF };

	/* No TLBI: a translation with AF clear is never cached. Size 1: the page
	 * holding ipa, even when ipa is not aligned. */
	int ret = update_attrs(pt, s2_ipa_get(ipa), 1, &d,
			       S2PT_WALK_HANDLE_FAULT | walk_shared(l));
	if (old)
		*old = d.visited ? d.old : 0;
	return ret;
}

struct age_data {
	bool mkold;
	bool young;
};

static int age_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct age_data *d = ctx->arg;

	(void)visit;
	if (!s2pt_pte_valid(ctx->old) || !(ctx->old & S2PT_PTE_AF))
		return 0;
	d->young = true;
	/* No TLBI: at worst the page stays young a little longer. */
	if (d->mkold && !try_set_attr(ctx, ctx->old & ~S2PT_PTE_AF))
		return S2_EAGAIN;	/* not a fault: the walk goes on */
	return 0;
}

int s2pt_test_clear_young(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size,
			  bool mkold, bool *young)
{
	struct age_data d = { .mkold = mkold };
	struct s2pt_walker w = { age_visitor, &d, S2PT_WALK_LEAF | walk_shared(l) };
	int ret = s2pt_walk(l.pt, s2_ipa_get(ipa), size, &w);
	if (young)
		*young = d.young;
	return ret;
}

int s2pt_mkold(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size, bool *young)
{
	return s2pt_test_clear_young(l, ipa, size, true, young);
}

/* ------------------------------------------------------------------ */
/* Flush, split, lookup, statistics                                     */
/* ------------------------------------------------------------------ */

static int flush_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct s2pt *pt = ctx->pt;

	(void)visit;
	if (!s2pt_pte_valid(ctx->old) || !pte_cacheable(pt, ctx->old))
		return 0;
	pt->ops->dcache_clean_inval_poc(pt->ctx, s2pt_pte_oa(&pt->geom, ctx->old),
					granule(pt, ctx->level));
	return 0;
}

int s2pt_flush(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size)
{
	struct s2pt *pt = l.pt;

	if (l.shared)
		return S2_EINVAL;
	if (pt->fwb || !pt->ops->dcache_clean_inval_poc)
		return 0;
	struct s2pt_walker w = { flush_visitor, NULL, S2PT_WALK_LEAF };
	return s2pt_walk(pt, s2_ipa_get(ipa), size, &w);
}

static int split_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct s2pt *pt = ctx->pt;
	struct s2pt_memcache *mc = ctx->arg;
	const struct s2pt_geom *g = &pt->geom;

	(void)visit;
	if (!s2pt_pte_valid(ctx->old) || ctx->level == S2_LEVEL_MAX)
		return 0;
	s2_pte_t *child = memcache_pop(mc);
	if (!child)
		return S2_ENOMEM;

	/* Build the next level, fully populated with the block's attributes,
	 * before it is reachable, as KVM builds it
	 * (kvm_pgtable_stage2_create_unlinked): a map walk over the new table,
	 * each (invalid) entry broken and made, with no TLBI or CMO; the
	 * parent's make_pte's release publishes it. */
	s2_level_t clevel = ctx->level + 1;
	uint64_t csize = granule(pt, clevel);
	s2_pa_t oa = s2pt_pte_oa(g, ctx->old);
	s2_pte_t attrs = ctx->old & ~s2pt__oa_to_pte(g, oa) & ~S2PT_PTE_TYPE;
	bool marker = props_of(pt->variant)->lock_marker;
	if (clevel == S2_LEVEL_MAX)
		attrs |= S2PT_PTE_TYPE;
	for (unsigned i = 0; i < s2pt_ptes_per_table(g); i++) {
		if (marker)
			set_pte(pt, &child[i], S2PT_PTE_LOCKED, false);
		make_pte(pt, &child[i], attrs | s2pt__oa_to_pte(g, s2_pa_add(oa, i * csize)));
	}
	/* Split runs exclusive (s2pt_split refuses a shared witness): the
	 * break cannot lose. */
	if (!try_break_pte(pt, ctx, props_of(pt->variant)->lock_marker))
		return S2_EINVAL;
	make_pte(pt, ctx->ptep, s2pt_pte_table(g, pt->ops->virt_to_phys(pt->ctx, child)));
	barrier(pt, S2PT_DSB_ISHST);
	return 0;
}

int s2pt_split(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size,
	       struct s2pt_memcache *mc)
{
	struct s2pt_walker w = { split_visitor, mc, S2PT_WALK_LEAF };
	if (l.shared)
		return S2_EINVAL;	/* eager splitting holds the write lock */
	return s2pt_walk(l.pt, s2_ipa_get(ipa), size, &w);
}

struct leaf_data {
	s2_pte_t pte;
	s2_level_t level;
};

static int leaf_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct leaf_data *d = ctx->arg;

	(void)visit;
	d->pte = ctx->old;
	d->level = ctx->level;
	return 0;
}

int s2pt_get_leaf(struct s2pt *pt, s2_ipa_t ipa, s2_pte_t *pte, s2_level_t *level)
{
	struct leaf_data d = { 0 };
	struct s2pt_walker w = { leaf_visitor, &d, S2PT_WALK_LEAF };
	uint64_t page = (uint64_t)1 << pt->geom.granule_shift;
	int ret = s2pt_walk(pt, s2_align_down(s2_ipa_get(ipa), page), page, &w);

	if (pte)
		*pte = d.pte;
	if (level)
		*level = d.level;
	return ret;
}

static int stats_visitor(const struct s2pt_visit_ctx *ctx, enum s2pt_walk_flags visit)
{
	struct s2pt_stats *st = ctx->arg;

	if (visit == S2PT_WALK_TABLE_PRE)
		st->tables[ctx->level + 2]++;	/* the child, one level down */
	else if (s2pt_pte_valid(ctx->old))
		st->leaves[ctx->level + 1]++;
	return 0;
}

int s2pt_stats(struct s2pt *pt, struct s2pt_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->tables[pt->geom.start_level + 1] = pt->geom.nr_roots;
	struct s2pt_walker w = { stats_visitor, st, S2PT_WALK_LEAF | S2PT_WALK_TABLE_PRE };
	return s2pt_walk(pt, 0, s2_bit(pt->geom.ipa_bits), &w);
}

struct s2pt_locked s2pt_lock(struct s2pt *pt)
{
	pt->lock_held = true;
	return (struct s2pt_locked){ .pt = pt, .shared = false };
}

struct s2pt_locked s2pt_lock_shared(struct s2pt *pt)
{
	return (struct s2pt_locked){ .pt = pt, .shared = true };
}

void s2pt_unlock(struct s2pt_locked l)
{
	if (!l.shared)
		l.pt->lock_held = false;
}

unsigned s2pt_table_counted_entries(const struct s2pt *pt, const s2_pte_t *table)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s2pt_ptes_per_table(&pt->geom); i++)
		n += s2pt_pte_is_counted(s2pt__read_pte(&table[i]));
	return n;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                               */
/* ------------------------------------------------------------------ */

int s2pt_init(struct s2pt *pt, const struct s2pt_geom *g,
	      const struct s2pt_mm_ops *ops, void *ctx,
	      enum s2pt_variant variant, unsigned flags)
{
	if ((unsigned)variant >= S2PT_NR_VARIANTS)
		return S2_EINVAL;
	if (!ops->zalloc_page || !ops->zalloc_pages_exact || !ops->free_pages_exact ||
	    !ops->get_page || !ops->put_page || !ops->page_count ||
	    !ops->phys_to_virt || !ops->virt_to_phys || !ops->set_pte ||
	    !ops->tlbi || !ops->barrier)
		return S2_EINVAL;
	*pt = (struct s2pt){
		.geom = *g,
		.ops = ops,
		.ctx = ctx,
		.variant = variant,
		.fwb = (flags & S2PT_INIT_FWB) != 0,
		.range_tlbi = (flags & S2PT_INIT_RANGE_TLBI) && ops->tlbi_range,
		.reload_after_pre = props_of(variant)->reload_after_pre,
		.eagain_stops = props_of(variant)->eagain_stops,
	};
	pt->pgd = ops->zalloc_pages_exact(ctx, g->nr_roots);
	if (!pt->pgd)
		return S2_ENOMEM;
	pt->pgd_pa = ops->virt_to_phys(ctx, pt->pgd);
	return 0;
}

int s2pt_memcache_topup(struct s2pt *pt, struct s2pt_memcache *mc, unsigned min)
{
	if (min > S2PT_MEMCACHE_MAX)
		min = S2PT_MEMCACHE_MAX;
	while (mc->nr < min) {
		void *p = pt->ops->zalloc_page(pt->ctx);
		if (!p)
			return S2_ENOMEM;
		mc->pages[mc->nr++] = p;
	}
	return 0;
}

void s2pt_memcache_free(struct s2pt *pt, struct s2pt_memcache *mc)
{
	while (mc->nr)
		put_page(pt, mc->pages[--mc->nr]);
}

unsigned s2pt_memcache_min_pages(const struct s2pt_geom *g)
{
	return (unsigned)(S2_LEVEL_MAX - g->start_level);
}
