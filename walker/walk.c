/* The generic visitor walk, and the table of walker variants. */
#include "walker/s2pt.h"

#include <stdio.h>
#include <string.h>

#include "common/s2_bits.h"
#include "walker/s2pt_internal.h"

struct walk_data {
	struct s2pt *pt;
	const struct s2pt_walker *w;
	/* ops->pte_read, looked up once per walk */
	void (*pte_read)(void *ctx, const s2_pte_t *ptep, s2_pte_t val);
	uint64_t start;
	uint64_t addr;
	uint64_t end;
};

static int walk_table(struct walk_data *d, s2_pte_t *table, s2_level_t level, bool root);

/* A walk's read of an entry, the value its visitor decides on: told to the
 * ops when they ask (a checker of several walkers at once). */
static inline s2_pte_t walk_read(const struct walk_data *d, const s2_pte_t *ptep)
{
	s2_pte_t v = s2pt__read_pte(ptep);
	if (d->pte_read)
		d->pte_read(d->pt->ctx, ptep, v);
	return v;
}

static bool walk_continue(const struct s2pt_walker *w, int ret)
{
	/* Outside a fault, EAGAIN only means "this entry needed nothing". */
	if (ret == S2_EAGAIN)
		return !(w->flags & S2PT_WALK_HANDLE_FAULT);
	return ret == 0;
}

/*
 * Visit the entry ctx->ptep (KVM's __kvm_pgtable_visit). The context holds
 * what every entry of this table shares (walk_table); this fills in the
 * entry's own value. size is the level's block size.
 */
static int visit(struct walk_data *d, struct s2pt_visit_ctx *ctx, uint64_t size)
{
	struct s2pt *pt = d->pt;
	const struct s2pt_walker *w = d->w;
	s2_pte_t *ptep = ctx->ptep;
	ctx->old = walk_read(d, ptep);
	bool table = s2pt_pte_is_table(ctx->old, ctx->level);
	int ret = 0;

	if (table && (w->flags & S2PT_WALK_TABLE_PRE)) {
		ret = w->cb(ctx, S2PT_WALK_TABLE_PRE);
		/*
		 * v6.4+ re-reads the entry so that a pre visitor that replaced the
		 * table is not followed into the freed subtree. The 2021 code
		 * descends through the value read before the visitor, which the
		 * anchor/follow scheme relies on.
		 */
		if (pt->reload_after_pre) {
			ctx->old = walk_read(d, ptep);
			table = s2pt_pte_is_table(ctx->old, ctx->level);
		}
	} else if (!table && (w->flags & S2PT_WALK_LEAF)) {
		ret = w->cb(ctx, S2PT_WALK_LEAF);
		/* A leaf visitor may have installed a table: descend into it. */
		ctx->old = walk_read(d, ptep);
		table = s2pt_pte_is_table(ctx->old, ctx->level);
	}

	if (!walk_continue(w, ret))
		return ret;
	if (!table) {
		d->addr = s2_align_down(d->addr, size) + size;
		return 0;
	}

	s2_pte_t *child = pt->ops->phys_to_virt(pt->ctx, s2pt_pte_oa(&pt->geom, ctx->old));
	ret = walk_table(d, child, ctx->level + 1, false);
	if (!walk_continue(w, ret))
		return ret;

	if (w->flags & S2PT_WALK_TABLE_POST) {
		ret = w->cb(ctx, S2PT_WALK_TABLE_POST);
		if (!walk_continue(w, ret))
			return ret;
	}
	return 0;
}

static int walk_table(struct walk_data *d, s2_pte_t *table, s2_level_t level, bool root)
{
	const struct s2pt_geom *g = &d->pt->geom;
	unsigned nr_entries = s2pt_ptes_per_table(g) * (root ? g->nr_roots : 1);
	unsigned idx = s2pt_pte_index(g, level, d->addr, root);
	uint64_t size = s2pt_granule_size(g, level);
	/* A visit changes only the entry's own fields: the rest is set once. */
	struct s2pt_visit_ctx ctx = {
		.arg = d->w->arg,
		.pt = d->pt,
		.start = d->start,
		.end = d->end,
		.level = level,
		.flags = d->w->flags,
	};

	for (; idx < nr_entries && d->addr < d->end; idx++) {
		ctx.ptep = &table[idx];
		ctx.addr = d->addr;
		int ret = visit(d, &ctx, size);
		if (ret && !walk_continue(d->w, ret))
			return ret;
	}
	return 0;
}

int s2pt_walk(struct s2pt *pt, uint64_t addr, uint64_t size,
	      const struct s2pt_walker *w)
{
	const struct s2pt_geom *g = &pt->geom;
	uint64_t page = (uint64_t)1 << g->granule_shift;
	uint64_t limit = s2_bit(g->ipa_bits);
	uint64_t end = addr + size;

	if (end < addr || end > limit)
		return S2_ERANGE;
	if ((w->flags & S2PT_WALK_SHARED) && !pt->ops->cmpxchg_pte)
		return S2_EINVAL;
	/* The bug "Ignore EAGAIN for walks outside of a fault" fixed: every
	 * walk behaved as a fault's. */
	struct s2pt_walker stops;
	if (pt->eagain_stops && !(w->flags & S2PT_WALK_HANDLE_FAULT)) {
		stops = *w;
		stops.flags |= S2PT_WALK_HANDLE_FAULT;
		w = &stops;
	}
	struct walk_data d = {
		.pt = pt,
		.w = w,
		.pte_read = pt->ops->pte_read,
		.start = s2_align_down(addr, page),
		.addr = s2_align_down(addr, page),
		.end = s2_align_up(end, page),
	};
	/* A shared walk runs inside an RCU read-side section: a table another
	 * walker unlinks meanwhile is freed only after it leaves. */
	bool rcu = (w->flags & S2PT_WALK_SHARED) && pt->ops->rcu_read_lock;
	if (rcu)
		pt->ops->rcu_read_lock(pt->ctx, s2_ipa(d.start), d.end - d.start);
	/* Concatenated roots form one table of nr_roots pages at the start level. */
	int ret = walk_table(&d, pt->pgd, g->start_level, true);
	if (rcu && pt->ops->rcu_read_unlock)
		pt->ops->rcu_read_unlock(pt->ctx);
	return ret == S2_EAGAIN && !(w->flags & S2PT_WALK_HANDLE_FAULT) ? 0 : ret;
}

/* ------------------------------------------------------------------ */

struct variant_info {
	const char *name;
	const char *desc;
};

static const struct variant_info variants[S2PT_NR_VARIANTS] = {
#define S2PT_VARIANT_INFO(id, vname, vdesc) [id] = { vname, vdesc },
	S2PT_VARIANT_TABLE(S2PT_VARIANT_INFO)
#undef S2PT_VARIANT_INFO
};

const char *s2pt_variant_name(enum s2pt_variant v)
{
	return (unsigned)v < S2PT_NR_VARIANTS ? variants[v].name : "?";
}

const char *s2pt_variant_desc(enum s2pt_variant v)
{
	return (unsigned)v < S2PT_NR_VARIANTS ? variants[v].desc : "?";
}

bool s2pt_variant_is_buggy(enum s2pt_variant v)
{
	return strncmp(s2pt_variant_desc(v), "BUGGY", 5) == 0;
}

bool s2pt_variant_needs_parallel(enum s2pt_variant v)
{
	const char *d = s2pt_variant_desc(v);
	return strncmp(d, "BUGGY (parallel)", 16) == 0 || strncmp(d, "SLOW (parallel)", 15) == 0;
}

int s2pt_variant_parse(const char *name, enum s2pt_variant *v)
{
	for (unsigned i = 0; i < S2PT_NR_VARIANTS; i++) {
		if (strcmp(name, variants[i].name) == 0) {
			*v = (enum s2pt_variant)i;
			return 0;
		}
	}
	return S2_EINVAL;
}

const char *s2pt_variant_list(char *buf, size_t size)
{
	size_t off = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < S2PT_NR_VARIANTS && off < size; i++) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
				 variants[i].name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}
