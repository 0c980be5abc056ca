/* The effect-trace checker: ghost state in the trace's own terms and the
 * rules for another hypervisor's page-table code (see s2hyp_effect.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_err.h"
#include "common/s2_text.h"
#include "hyp-model/s2hyp_effect.h"
#include "hyp-model/s2hyp_internal.h"

#define NONE UINT64_MAX		/* no parent entry; the anonymous lock */
#define MAX_DEPTH 6

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

/* One page of memory the trace initialised. Once something links it (or a
 * VTTBR/TTBR names it) it is a table of one tree, at one level. */
struct epage {
	uint64_t pa;
	uint64_t *mem;
	int level;		/* -1: not (yet) a table */
	int root;		/* the tree it belongs to, -1 none */
	uint64_t ia;		/* input address of entry 0 */
	uint64_t parent;	/* the entry linking it, NONE for a root or nothing */
	bool linked;		/* a valid (or not yet clean) entry points at it */
	unsigned link_line;
	bool has_lock;		/* set-root-lock: the lock of the tree it roots */
	uint64_t lock;
	unsigned lock_line;
	uint8_t *unclean;	/* per entry: broken and not yet clean */
	uint32_t *wline;	/* per entry: line of its last store */
};

struct eroot {
	uint64_t pa;		/* the first (or only) root page */
	unsigned nr_pages;
	int stage;		/* 1: EL2 stage 1 (TTBR0_EL2), 2: stage 2 (VTTBR_EL2) */
	struct s2pt_geom g;
	bool has_tag;
	unsigned tag;		/* VMID, or ASID at EL2 */
	unsigned tag_line;
	bool released, dead;
	unsigned release_line;
};

struct etag {
	int stage;
	unsigned id;
	int owner;		/* the root that last used it */
	bool dirty;		/* entries may be cached under it */
	uint64_t pend[4];	/* threads whose whole-tag TLBI awaits their DSB */
	unsigned line;
};

enum progress { P_NONE, P_PENDING, P_DONE };

/* An entry broken while its table was live, until it is clean. */
struct eunclean {
	uint64_t pa;		/* the entry */
	uint64_t page;		/* its page */
	unsigned idx;
	uint64_t old;		/* the last valid value: what a TLB may hold */
	int level, stage, root;
	uint64_t ia, size;
	struct s2eff_at brk;
	uint8_t inv, comb;	/* stage-2 (or EL2) invalidation; combined stage 1+2 */
	uint64_t inv_pend[4], comb_pend[4];
	unsigned inv_line, comb_line;
	unsigned miss_line, miss_tag;	/* the last TLBI of the right kind for another tag */
};

struct elock {
	uint64_t addr;
	int holder;		/* -1 free */
	unsigned count;
	unsigned line;		/* last taken or released */
};

struct ethread {
	int vroot, sroot;	/* loaded in VTTBR_EL2 / TTBR0_EL2, -1 none */
	unsigned vmid, asid;
	bool have_vttbr;
};

struct s2eff {
	struct s2_map pages;	/* page number + 1 -> struct epage * */
	unsigned gshift;		/* tracked memory comes in these pages */
	struct s2pt_geom s2g, s1g;
	bool ignore_ttl;
	uint64_t hcr;
	struct eroot *roots;
	unsigned nroots, roots_cap;
	struct etag *tags;
	unsigned ntags, tags_cap;
	struct eunclean *uc;
	unsigned nuc, uc_cap;
	struct elock *locks;
	unsigned nlocks, locks_cap;
	bool anon_used;
	struct ethread th[S2EFF_MAX_THREADS];
	int last_vroot;
	unsigned last_vmid;
	bool any_vttbr;
	struct s2eff_stats st;
	struct s2eff_violation *viol;
	unsigned nviol, viol_cap;
	struct s2eff_violation cur;	/* the report being built */
};


static void default_geom(struct s2pt_geom *g, unsigned gshift, unsigned ia_bits, int stage)
{
	const char *why;
	if (s2pt_geom_init(g, gshift, ia_bits, &why))
		s2pt_geom_init(g, 12, 48, &why);
	if (stage == 1) {
		/* Stage 1 never concatenates: the level whose table covers it. */
		unsigned levels = (g->ipa_bits - g->granule_shift + g->stride - 1) / g->stride;
		g->start_level = (s2_level_t)(S2_LEVEL_MAX + 1 - (int)levels);
		g->nr_roots = 1;
	}
}

struct s2eff *s2eff_new(void)
{
	struct s2eff *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->gshift = 12;
	default_geom(&e->s2g, 12, 48, 2);
	default_geom(&e->s1g, 12, 48, 1);
	for (unsigned t = 0; t < S2EFF_MAX_THREADS; t++)
		e->th[t] = (struct ethread){ -1, -1, 0, 0, false };
	e->last_vroot = -1;
	return e;
}

static void page_free(struct epage *p)
{
	if (!p)
		return;
	free(p->mem);
	free(p->unclean);
	free(p->wline);
	free(p);
}

void s2eff_free(struct s2eff *e)
{
	if (!e)
		return;
	uint32_t pos = 0;
	uint64_t k, v;
	while (s2_map_next(&e->pages, &pos, &k, &v))
		page_free((struct epage *)(uintptr_t)v);
	s2_map_free(&e->pages);
	free(e->roots);
	free(e->tags);
	free(e->uc);
	free(e->locks);
	free(e->viol);
	free(e);
}

unsigned s2eff_page_shift(const struct s2eff *e)
{
	return e->gshift;
}

void s2eff_set_ignore_ttl(struct s2eff *e, bool ignore)
{
	e->ignore_ttl = ignore;
}

const struct s2eff_stats *s2eff_stats(const struct s2eff *e)
{
	return &e->st;
}

unsigned s2eff_nr_violations(const struct s2eff *e)
{
	return e->nviol;
}

const struct s2eff_violation *s2eff_violation(const struct s2eff *e, unsigned i)
{
	return i < e->nviol ? &e->viol[i] : NULL;
}

static uint64_t page_size(const struct s2eff *e)
{
	return s2_bit(e->gshift);
}

static unsigned nr_entries(const struct s2eff *e)
{
	return (unsigned)(page_size(e) / 8);
}

static struct epage *page_at(const struct s2eff *e, uint64_t pa)
{
	uint64_t v;
	return s2_map_get(&e->pages, (pa >> e->gshift) + 1, &v) ? (struct epage *)(uintptr_t)v :
		NULL;
}

static bool bit_has(const uint64_t *set, unsigned t)
{
	return set[t / 64] & s2_bit(t % 64);
}

static void bit_set(uint64_t *set, unsigned t)
{
	set[t / 64] |= s2_bit(t % 64);
}

static void bit_clear(uint64_t *set, unsigned t)
{
	set[t / 64] &= ~s2_bit(t % 64);
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

/* Start a report; add related lines with related(); file it with fire(). */
static struct s2eff_violation *begin(struct s2eff *e, enum s2hyp_rule rule, struct s2eff_at at,
				     uint64_t pa, uint64_t ia, int level, int stage,
				     const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static struct s2eff_violation *begin(struct s2eff *e, enum s2hyp_rule rule, struct s2eff_at at,
				     uint64_t pa, uint64_t ia, int level, int stage,
				     const char *fmt, ...)
{
	struct s2eff_violation *v = &e->cur;
	memset(v, 0, sizeof(*v));
	v->rule = rule;
	v->step = e->st.events;
	v->at = at;
	v->pa = pa;
	v->ia = ia;
	v->level = level;
	v->stage = stage;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	return v;
}

static void related(struct s2eff_violation *v, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void related(struct s2eff_violation *v, unsigned line, const char *fmt, ...)
{
	if (!line || v->nrel == S2EFF_MAX_RELATED)
		return;
	v->rel[v->nrel].line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->rel[v->nrel].what, sizeof(v->rel[v->nrel].what), fmt, ap);
	va_end(ap);
	v->nrel++;
}

static void fire(struct s2eff *e)
{
	struct s2eff_violation *v = &e->cur;
	if (e->st.violations[v->rule]++)
		return;	/* the first of each rule carries the report */
	if (!s2_grow((void **)&e->viol, &e->viol_cap, sizeof(*e->viol), e->nviol + 1))
		return;
	e->viol[e->nviol++] = *v;
}

static const char *stage_name(int stage)
{
	return stage == 1 ? "EL2 stage 1" : "stage 2";
}

static const char *tag_kind(int stage)
{
	return stage == 1 ? "ASID" : "VMID";
}

static const char *ia_name(int stage)
{
	return stage == 1 ? "VA" : "IPA";
}

void s2eff_print_violation(FILE *f, const char *name, const struct s2eff_violation *v)
{
	fprintf(f, "%s:%u: violation: %s (thread %u, step %llu)\n", name, v->at.line,
		s2hyp_rule_name(v->rule), v->at.thread, (unsigned long long)v->step);
	fprintf(f, "  rule: %s\n", s2hyp_rule_meaning(v->rule));
	fprintf(f, "  what: %s\n", v->detail);
	for (unsigned i = 0; i < v->nrel; i++)
		fprintf(f, "  %s:%u: %s\n", name, v->rel[i].line, v->rel[i].what);
}

void s2eff_print_violation_json(FILE *f, const char *name, const struct s2eff_violation *v)
{
	fprintf(f, "{\"rule\": ");
	s2_json_string(f, s2hyp_rule_name(v->rule));
	fprintf(f, ", \"file\": ");
	s2_json_string(f, name);
	fprintf(f, ", \"line\": %u, \"step\": %llu, \"thread\": %u, \"pa\": \"%#llx\", "
		   "\"ia\": \"%#llx\", \"level\": %d, \"stage\": %d, \"detail\": ",
		v->at.line, (unsigned long long)v->step, v->at.thread, (unsigned long long)v->pa,
		(unsigned long long)v->ia, v->level, v->stage);
	s2_json_string(f, v->detail);
	fprintf(f, ", \"related\": [");
	for (unsigned i = 0; i < v->nrel; i++) {
		fprintf(f, "%s{\"line\": %u, \"what\": ", i ? ", " : "", v->rel[i].line);
		s2_json_string(f, v->rel[i].what);
		fputc('}', f);
	}
	fprintf(f, "]}");
}

/* ------------------------------------------------------------------ */
/* Descriptors                                                         */
/* ------------------------------------------------------------------ */

static const struct s2pt_geom *geom_of(const struct s2eff *e, const struct epage *p)
{
	return p->root >= 0 ? &e->roots[p->root].g : &e->s2g;
}

static int stage_of(const struct s2eff *e, const struct epage *p)
{
	return p->root >= 0 ? e->roots[p->root].stage : 2;
}

static bool is_table(uint64_t d, int level)
{
	return s2pt_pte_is_table(d, (s2_level_t)level);
}

static uint64_t oa_of(const struct s2pt_geom *g, uint64_t d)
{
	return s2_pa_get(s2pt_pte_oa(g, d));
}

/* What break-before-make protects (DDI 0487 D8.14.1): the kind (table or
 * block/page), the output address, and for a leaf the memory type and
 * shareability (stage 2: MemAttr [5:2], SH [9:8]; stage 1: AttrIndx [4:2],
 * SH [9:8], nG [11]). Permissions, AF and software bits may change in place. */
static bool bbm_differs(const struct s2pt_geom *g, int stage, uint64_t a, uint64_t b, int level)
{
	if (is_table(a, level) != is_table(b, level))
		return true;
	if (oa_of(g, a) != oa_of(g, b))
		return true;
	if (is_table(a, level))
		return false;
	uint64_t attrs = stage == 1 ? 0xb1c : 0x33c;
	return (a & attrs) != (b & attrs);
}

/* ------------------------------------------------------------------ */
/* Trees                                                               */
/* ------------------------------------------------------------------ */

static int make_table_state(struct s2eff *e, struct epage *p)
{
	if (!p->unclean)
		p->unclean = calloc(nr_entries(e), 1);
	return p->unclean ? 0 : S2_ENOMEM;
}

static uint64_t entry_ia(const struct s2eff *e, const struct epage *p, unsigned idx)
{
	return p->ia + (uint64_t)idx * s2pt_granule_size(geom_of(e, p), (s2_level_t)p->level);
}

/* The tree's lock: its root page's, else the anonymous lock if the trace
 * uses it; false when nothing protects the tree. */
static bool tree_lock(const struct s2eff *e, int root, uint64_t *lock, unsigned *line)
{
	const struct epage *rp = root >= 0 ? page_at(e, e->roots[root].pa) : NULL;
	if (rp && rp->has_lock) {
		*lock = rp->lock;
		*line = rp->lock_line;
		return true;
	}
	*lock = NONE;
	*line = 0;
	return e->anon_used;
}

/* Whether a hardware walk of a live root can still reach the page (through
 * valid entries, or broken ones not yet clean). */
static bool reachable(const struct s2eff *e, const struct epage *p)
{
	for (int depth = 0; p && depth < MAX_DEPTH; depth++) {
		if (p->level < 0 || p->root < 0)
			return false;
		if (p->parent == NONE) {
			const struct eroot *r = &e->roots[p->root];
			return !r->dead && r->has_tag && !r->released;
		}
		if (!p->linked)
			return false;
		p = page_at(e, p->parent);
	}
	return false;
}

static bool root_loaded(const struct s2eff *e, int root, unsigned *thread)
{
	for (unsigned t = 0; t < S2EFF_MAX_THREADS; t++)
		if (e->th[t].vroot == root || e->th[t].sroot == root) {
			*thread = t;
			return true;
		}
	return false;
}

static void link_child(struct s2eff *e, struct s2eff_at at, struct epage *parent, unsigned idx,
		       uint64_t desc, int depth);

/* A page becomes a table of root at level, translating from ia. What it
 * already holds is linked below it. */
static void adopt(struct s2eff *e, struct s2eff_at at, struct epage *p, int root, int level,
		  uint64_t ia, int depth)
{
	if (make_table_state(e, p))
		return;
	p->root = root;
	p->level = level;
	p->ia = ia;
	if (level >= S2_LEVEL_MAX || depth >= MAX_DEPTH)
		return;
	for (unsigned i = 0; i < nr_entries(e); i++)
		if (is_table(p->mem[i], level))
			link_child(e, at, p, i, p->mem[i], depth + 1);
}

/* DDI 0487 D8.14: a table page has one parent. Entry idx of parent is about
 * to link page c: true when c is the root of a live tree (the link is then
 * not followed). */
static bool rule_table_reuse(struct s2eff *e, struct s2eff_at at, struct epage *parent,
			     unsigned idx, struct epage *c)
{
	uint64_t entry = parent->pa + idx * 8ull;

	if (c->level >= 0 && c->parent == NONE && c->root >= 0 && !e->roots[c->root].dead &&
	    !e->roots[c->root].released) {
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_TABLE_REUSE, at, entry, entry_ia(e, parent, idx),
			      parent->level, stage_of(e, parent),
			      "entry %#llx links page %#llx, which is the root of a live tree",
			      (unsigned long long)entry, (unsigned long long)c->pa);
		related(v, e->roots[c->root].tag_line, "it was installed as a root here");
		fire(e);
		return true;
	}
	if (c->level >= 0 && c->linked && c->parent != entry && c->parent != NONE) {
		const struct epage *op = page_at(e, c->parent);
		bool old_live = op && op->root >= 0 && !e->roots[op->root].dead &&
				!e->roots[op->root].released;
		if (old_live) {
			struct s2eff_violation *v =
				begin(e, S2HYP_RULE_TABLE_REUSE, at, entry, entry_ia(e, parent, idx),
				      parent->level, stage_of(e, parent),
				      "entry %#llx links table page %#llx, still linked from entry "
				      "%#llx (valid, or invalid without a completed TLBI)",
				      (unsigned long long)entry, (unsigned long long)c->pa,
				      (unsigned long long)c->parent);
			related(v, c->link_line, "it is linked from entry %#llx since here",
				(unsigned long long)c->parent);
			fire(e);
		}
	}
	return false;
}

/* Entry idx of parent now holds the table descriptor desc. */
static void link_child(struct s2eff *e, struct s2eff_at at, struct epage *parent, unsigned idx,
		       uint64_t desc, int depth)
{
	const struct s2pt_geom *g = geom_of(e, parent);
	uint64_t entry = parent->pa + idx * 8ull;
	struct epage *c = page_at(e, oa_of(g, desc));

	if (!c || c == parent)
		return;	/* memory the trace does not track: nothing to follow */
	if (rule_table_reuse(e, at, parent, idx, c))
		return;
	c->parent = entry;
	c->linked = true;
	c->link_line = at.line;
	adopt(e, at, c, parent->root, parent->level + 1, entry_ia(e, parent, idx), depth);
}

/* ------------------------------------------------------------------ */
/* Unclean entries                                                     */
/* ------------------------------------------------------------------ */

static struct eunclean *find_unclean(struct s2eff *e, uint64_t entry)
{
	for (unsigned i = 0; i < e->nuc; i++)
		if (e->uc[i].pa == entry)
			return &e->uc[i];
	return NULL;
}

static void drop_unclean(struct s2eff *e, unsigned i)
{
	struct epage *p = page_at(e, e->uc[i].page);
	if (p && p->unclean)
		p->unclean[e->uc[i].idx] = 0;
	e->uc[i] = e->uc[--e->nuc];
}

/* The entry is clean: whatever its old table held is out of reach. */
static void clean_done(struct s2eff *e, unsigned i)
{
	struct eunclean *u = &e->uc[i];
	struct epage *p = page_at(e, u->page);
	if (p && is_table(u->old, u->level)) {
		struct epage *c = page_at(e, oa_of(geom_of(e, p), u->old));
		if (c && c->parent == u->pa)
			c->linked = false;
	}
	drop_unclean(e, i);
}

static void break_entry(struct s2eff *e, struct s2eff_at at, struct epage *p, unsigned idx,
			uint64_t old)
{
	uint64_t entry = p->pa + idx * 8ull;
	if (p->unclean[idx])
		return;	/* still broken from before: its old value stays */
	if (!s2_grow((void **)&e->uc, &e->uc_cap, sizeof(*e->uc), e->nuc + 1))
		return;
	struct eunclean *u = &e->uc[e->nuc++];
	memset(u, 0, sizeof(*u));
	u->pa = entry;
	u->page = p->pa;
	u->idx = idx;
	u->old = old;
	u->level = p->level;
	u->stage = stage_of(e, p);
	u->root = p->root;
	u->ia = entry_ia(e, p, idx);
	u->size = s2pt_granule_size(geom_of(e, p), (s2_level_t)p->level);
	u->brk = at;
	u->comb = u->stage == 1 ? P_DONE : P_NONE;
	p->unclean[idx] = 1;
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */
/* ------------------------------------------------------------------ */

/* A store to a live table's entry idx of p: its thread holds the tree's lock. */
static void rule_unlocked_write(struct s2eff *e, struct s2eff_at at, const struct epage *p,
				unsigned idx)
{
	uint64_t lock, entry = p->pa + idx * 8ull;
	unsigned line;
	int stage = stage_of(e, p);

	if (!tree_lock(e, p->root, &lock, &line)) {
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_UNLOCKED_WRITE, at, entry, entry_ia(e, p, idx), p->level,
			      stage, "store to entry %#llx of a live %s table, and no lock protects "
			      "its tree (root %#llx): no set-root-lock hint names one",
			      (unsigned long long)entry, stage_name(stage),
			      (unsigned long long)e->roots[p->root].pa);
		related(v, e->roots[p->root].tag_line, "the root was installed here");
		fire(e);
		return;
	}
	for (unsigned i = 0; i < e->nlocks; i++)
		if (e->locks[i].addr == lock) {
			if (e->locks[i].holder == (int)at.thread)
				return;
			break;
		}
	char name[40];
	if (lock == NONE)
		snprintf(name, sizeof(name), "the lock");
	else
		snprintf(name, sizeof(name), "lock %#llx", (unsigned long long)lock);
	struct s2eff_violation *v =
		begin(e, S2HYP_RULE_UNLOCKED_WRITE, at, entry, entry_ia(e, p, idx), p->level, stage,
		      "thread %u stores to entry %#llx of a live %s table without holding %s, "
		      "which protects its tree", at.thread, (unsigned long long)entry,
		      stage_name(stage), name);
	related(v, line, "%s was made the tree's lock here", name);
	for (unsigned i = 0; i < e->nlocks; i++)
		if (e->locks[i].addr == lock)
			related(v, e->locks[i].line, "%s was last taken or released here", name);
	fire(e);
}

/* The lines that explain an entry made while broken at u. */
static void related_break(const struct s2eff *e, struct s2eff_violation *v,
			  const struct eunclean *u)
{
	related(v, u->brk.line, "thread %u broke it here (%#llx -> invalid)", u->brk.thread,
		(unsigned long long)u->old);
	related(v, u->inv_line, "the TLBI that covered it");
	if (u->miss_line)
		related(v, u->miss_line, "this TLBI applied to %s %u, not the entry's %s %u",
			tag_kind(u->stage), u->miss_tag, tag_kind(u->stage),
			u->root >= 0 ? e->roots[u->root].tag : 0);
	related(v, u->comb_line, "the stage-1 TLBI, issued before the IPA TLBI completed");
}

/* DDI 0487 D8.14.1: a valid entry changes its translation only through an
 * invalid entry, a TLBI covering it and a DSB. Either the store replaces
 * the valid value old in place (u NULL; wline: where old was stored), or
 * it makes an entry broken at u with value before u is clean. */
static void rule_break_before_make(struct s2eff *e, struct s2eff_at at, const struct epage *p,
				   unsigned idx, uint64_t old, uint64_t value, unsigned wline,
				   const struct eunclean *u)
{
	struct s2eff_violation *v;

	if (!u) {
		uint64_t entry = p->pa + idx * 8ull;
		int stage = stage_of(e, p);
		v = begin(e, S2HYP_RULE_BBM, at, entry, entry_ia(e, p, idx), p->level, stage,
			  "entry %#llx (%s %#llx, level %d) changes from %#llx to "
			  "%#llx without going through an invalid entry and a TLBI",
			  (unsigned long long)entry, ia_name(stage),
			  (unsigned long long)entry_ia(e, p, idx), p->level,
			  (unsigned long long)old, (unsigned long long)value);
		related(v, wline, "it was made %#llx here", (unsigned long long)old);
		fire(e);
		return;
	}
	v = begin(e, S2HYP_RULE_BBM, at, u->pa, u->ia, u->level, u->stage,
		  "entry %#llx (%s %#llx, level %d) is made %#llx while its old value "
		  "%#llx may still be cached: %s",
		  (unsigned long long)u->pa, ia_name(u->stage), (unsigned long long)u->ia, u->level,
		  (unsigned long long)value, (unsigned long long)u->old,
		  u->inv == P_NONE ? "no TLBI covering it was issued after the break" :
		  u->inv == P_PENDING ? "its TLBI was not completed by a DSB on the thread "
					"that issued it" : "");
	related_break(e, v, u);
	fire(e);
}

/* DDI 0487 D8.14: an entry broken at u, whose TLBI by IPA completed, is
 * made value before the VMID's stage-1 (combined) entries were invalidated. */
static void rule_tlbi_stage1_after_ipa(struct s2eff *e, struct s2eff_at at,
				       const struct eunclean *u, uint64_t value)
{
	struct s2eff_violation *v =
		begin(e, S2HYP_RULE_TLBI_S1_AFTER_IPA, at, u->pa, u->ia, u->level, u->stage,
		      "entry %#llx (%s %#llx, level %d) is made %#llx after a TLBI by IPA "
		      "of its old value %#llx, but the VMID's stage-1 entries were never "
		      "invalidated after it (VMALLE1IS): combined entries may still hold it",
		      (unsigned long long)u->pa, ia_name(u->stage), (unsigned long long)u->ia, u->level,
		      (unsigned long long)value, (unsigned long long)u->old);
	related_break(e, v, u);
	fire(e);
}

/* Entry idx of p, broken and not yet clean, is made value. */
static void make_entry(struct s2eff *e, struct s2eff_at at, struct epage *p, unsigned idx,
		       uint64_t value)
{
	struct eunclean *u = find_unclean(e, p->pa + idx * 8ull);
	if (!u)
		return;
	const struct s2pt_geom *g = geom_of(e, p);
	if (!bbm_differs(g, u->stage, u->old, value, u->level)) {
		/* The same translation back: nothing stale can differ. */
		clean_done(e, (unsigned)(u - e->uc));
		return;
	}
	if (u->inv == P_DONE && u->comb != P_DONE)
		rule_tlbi_stage1_after_ipa(e, at, u, value);
	else
		rule_break_before_make(e, at, p, idx, 0, value, 0, u);
	clean_done(e, (unsigned)(u - e->uc));
}

/* A store to entry idx of table page p, which held old. */
static void table_store(struct s2eff *e, struct s2eff_at at, struct epage *p, unsigned idx,
			uint64_t old, uint64_t value, unsigned wline)
{
	const struct s2pt_geom *g = geom_of(e, p);
	int stage = stage_of(e, p);
	bool live = reachable(e, p);
	bool ov = s2pt_pte_valid(old), nv = s2pt_pte_valid(value);
	uint64_t entry = p->pa + idx * 8ull;

	if (live)
		rule_unlocked_write(e, at, p, idx);
	if (ov && nv && bbm_differs(g, stage, old, value, p->level)) {
		if (live)
			rule_break_before_make(e, at, p, idx, old, value, wline, NULL);
	} else if (ov && !nv) {
		if (live)
			break_entry(e, at, p, idx, old);
	} else if (!ov && nv) {
		if (p->unclean[idx])
			make_entry(e, at, p, idx, value);
	}
	/* The old table below a replaced table entry. */
	if (ov && is_table(old, p->level) && (!nv || oa_of(g, old) != oa_of(g, value)) &&
	    !p->unclean[idx]) {
		struct epage *c = page_at(e, oa_of(g, old));
		if (c && c->parent == entry)
			c->linked = false;
	}
	if (nv && is_table(value, p->level) && !(ov && old == value))
		link_child(e, at, p, idx, value, 0);
}

int s2eff_write(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t value, bool release,
		bool any, const char **why)
{
	(void)release;
	e->st.events++;
	struct epage *p = page_at(e, pa);
	if (!p) {
		if (any) {
			e->st.untracked_writes++;
			return 0;
		}
		*why = "pte-write outside every page the trace initialised (alloc)";
		return S2_EINVAL;
	}
	if (pa & 7) {
		*why = "a descriptor store is 8-byte aligned";
		return S2_EINVAL;
	}
	e->st.writes++;
	unsigned idx = (unsigned)((pa & (page_size(e) - 1)) / 8);
	uint64_t old = p->mem[idx];
	unsigned wline = p->wline[idx];
	p->mem[idx] = value;
	p->wline[idx] = at.line;
	if (p->level >= 0)
		table_store(e, at, p, idx, old, value, wline);
	return 0;
}

int s2eff_read(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t value, const char **why)
{
	(void)at;
	(void)value;
	e->st.events++;
	if (pa & 7) {
		*why = "a descriptor read is 8-byte aligned";
		return S2_EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

/* DDI 0487 D8.14: the page stops being ours (free), is given back zeroed
 * (init) or released: a table a walk can still reach must not be. With
 * tree (p released as a root), none of its tree's entries may be unclean. */
static void rule_tlbi_before_free(struct s2eff *e, struct s2eff_at at, struct epage *p,
				  const char *how, bool tree)
{
	unsigned t;
	if (p->level < 0)
		return;
	if (p->parent == NONE && p->root >= 0 && !e->roots[p->root].dead &&
	    root_loaded(e, p->root, &t)) {
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_TLBI_BEFORE_FREE, at, p->pa, 0, p->level, stage_of(e, p),
			      "root table %#llx is %s while thread %u's %s still points at it",
			      (unsigned long long)p->pa, how, t,
			      e->roots[p->root].stage == 1 ? "TTBR0_EL2" : "VTTBR_EL2");
		related(v, e->roots[p->root].tag_line, "it was installed here");
		fire(e);
	} else if (p->parent != NONE && reachable(e, p)) {
		struct eunclean *u = find_unclean(e, p->parent);
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_TLBI_BEFORE_FREE, at, p->pa, p->ia, p->level,
			      stage_of(e, p),
			      "table page %#llx (level %d, %s %#llx) is %s while entry %#llx %s",
			      (unsigned long long)p->pa, p->level, ia_name(stage_of(e, p)),
			      (unsigned long long)p->ia, how, (unsigned long long)p->parent,
			      !u ? "still links it" : u->inv == P_PENDING ?
			      "that linked it is invalid but its TLBI is not completed by a DSB" :
			      "that linked it is invalid but no TLBI covering it was issued");
		related(v, p->link_line, "it is linked from entry %#llx since here",
			(unsigned long long)p->parent);
		if (u)
			related(v, u->brk.line, "the entry was made invalid here");
		fire(e);
	}
	if (!tree || p->parent != NONE || p->root < 0)
		return;
	for (unsigned i = 0; i < e->nuc; i++) {
		const struct eunclean *u = &e->uc[i];
		if (u->root != p->root)
			continue;
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_TLBI_BEFORE_FREE, at, u->pa, u->ia, u->level, u->stage,
			      "the tree of root %#llx is released while its entry %#llx "
			      "is invalid without a completed TLBI",
			      (unsigned long long)e->roots[p->root].pa, (unsigned long long)u->pa);
		related(v, u->brk.line, "the entry was made invalid here");
		fire(e);
		break;
	}
}

static void forget_page(struct s2eff *e, struct epage *p)
{
	for (unsigned i = 0; i < e->nuc;) {
		if (e->uc[i].page == p->pa)
			e->uc[i] = e->uc[--e->nuc];
		else
			i++;
	}
	if (p->parent == NONE && p->root >= 0 && p->level >= 0 && e->roots[p->root].pa == p->pa)
		e->roots[p->root].dead = true;
}

int s2eff_init(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t size, const char **why)
{
	uint64_t pg = page_size(e);
	e->st.events++;
	if (!size || (pa | size) & (pg - 1) || pa + size < pa) {
		*why = "initialised memory is whole pages of the granule";
		return S2_EINVAL;
	}
	for (uint64_t a = pa; a < pa + size; a += pg) {
		struct epage *p = page_at(e, a);
		if (p) {
			rule_tlbi_before_free(e, at, p, "initialised again", false);
			forget_page(e, p);
			memset(p->mem, 0, pg);
			memset(p->wline, 0, nr_entries(e) * sizeof(*p->wline));
			free(p->unclean);
			p->unclean = NULL;
		} else {
			p = calloc(1, sizeof(*p));
			if (!p || !(p->mem = calloc(nr_entries(e), 8)) ||
			    !(p->wline = calloc(nr_entries(e), sizeof(*p->wline))) ||
			    !s2_map_put(&e->pages, (a >> e->gshift) + 1, (uintptr_t)p)) {
				page_free(p);
				*why = "out of memory";
				return S2_ENOMEM;
			}
		}
		p->pa = a;
		p->level = -1;
		p->root = -1;
		p->ia = 0;
		p->parent = NONE;
		p->linked = false;
		p->has_lock = false;
	}
	return 0;
}

int s2eff_release(struct s2eff *e, struct s2eff_at at, uint64_t pa, uint64_t size,
		  const char **why)
{
	uint64_t pg = page_size(e);
	e->st.events++;
	if (!size || (pa | size) & (pg - 1) || pa + size < pa) {
		*why = "freed memory is whole pages of the granule";
		return S2_EINVAL;
	}
	for (uint64_t a = pa; a < pa + size; a += pg) {
		struct epage *p = page_at(e, a);
		if (!p) {
			*why = "free of a page that was never initialised (alloc)";
			return S2_EINVAL;
		}
		rule_tlbi_before_free(e, at, p, "freed", false);
		forget_page(e, p);
		s2_map_del(&e->pages, (a >> e->gshift) + 1);
		page_free(p);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Roots, VMIDs and ASIDs                                              */
/* ------------------------------------------------------------------ */

static struct etag *tag_get(struct s2eff *e, int stage, unsigned id)
{
	for (unsigned i = 0; i < e->ntags; i++)
		if (e->tags[i].stage == stage && e->tags[i].id == id)
			return &e->tags[i];
	if (!s2_grow((void **)&e->tags, &e->tags_cap, sizeof(*e->tags), e->ntags + 1))
		return NULL;
	struct etag *t = &e->tags[e->ntags++];
	memset(t, 0, sizeof(*t));
	t->stage = stage;
	t->id = id;
	t->owner = -1;
	return t;
}

/* The live root record of page pa at stage, or a new one. */
static int root_for(struct s2eff *e, struct s2eff_at at, uint64_t pa, int stage, const char **why)
{
	for (unsigned i = 0; i < e->nroots; i++)
		if (e->roots[i].pa == pa && !e->roots[i].dead && e->roots[i].stage == stage)
			return (int)i;
	const struct s2pt_geom *g = stage == 1 ? &e->s1g : &e->s2g;
	uint64_t pg = page_size(e);
	if (!s2_is_aligned(pa, pg * g->nr_roots)) {
		*why = "the table base is not aligned to the size of its root tables";
		return -1;
	}
	for (unsigned r = 0; r < g->nr_roots; r++) {
		struct epage *p = page_at(e, pa + r * pg);
		if (!p) {
			*why = g->nr_roots > 1 ?
				"the table base names memory the trace never initialised (alloc each "
				"concatenated root page)" :
				"the table base names memory the trace never initialised (alloc)";
			return -1;
		}
		if (p->level >= 0 && p->parent != NONE && reachable(e, p)) {
			*why = "the table base names a page that is a lower-level table of a live tree";
			return -1;
		}
	}
	if (!s2_grow((void **)&e->roots, &e->roots_cap, sizeof(*e->roots), e->nroots + 1)) {
		*why = "out of memory";
		return -1;
	}
	int idx = (int)e->nroots++;
	struct eroot *rt = &e->roots[idx];
	memset(rt, 0, sizeof(*rt));
	rt->pa = pa;
	rt->nr_pages = g->nr_roots;
	rt->stage = stage;
	rt->g = *g;
	for (unsigned r = 0; r < g->nr_roots; r++) {
		struct epage *p = page_at(e, pa + r * pg);
		p->parent = NONE;
		p->linked = true;
		p->link_line = at.line;
		uint64_t ia = (uint64_t)r << (s2pt_level_shift(g, g->start_level) + g->stride);
		adopt(e, at, p, idx, g->start_level, ia, 0);
	}
	return idx;
}

/* Root idx (at base) is loaded with tag tagid: the tag it had before must
 * have been invalidated (DDI 0487: VMIDs and ASIDs tag TLB entries). */
static void rule_vmid_change(struct s2eff *e, struct s2eff_at at, int idx, uint64_t base,
			     unsigned tagid, int stage)
{
	const struct eroot *rt = &e->roots[idx];
	const char *kind = tag_kind(stage);

	if (!rt->has_tag || rt->tag == tagid)
		return;
	struct etag *old = tag_get(e, stage, rt->tag);
	if (old && old->dirty && old->owner == idx) {
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_VMID_CHANGE, at, base, 0, -1, stage,
			      "root %#llx is loaded with %s %u, but it was used with %s %u "
			      "and that %s's entries were not invalidated since",
			      (unsigned long long)base, kind, tagid, kind, rt->tag, kind);
		related(v, rt->tag_line, "it was loaded with %s %u here", kind, rt->tag);
		fire(e);
	}
}

/* Root idx (at base) is loaded with tag t: another root that used t must
 * have had t's entries invalidated since. */
static void rule_vmid_reuse(struct s2eff *e, struct s2eff_at at, const struct etag *t, int idx,
			    uint64_t base, int stage)
{
	const char *kind = tag_kind(stage);

	if (t->owner < 0 || t->owner == idx || !t->dirty)
		return;
	const struct eroot *o = &e->roots[t->owner];
	struct s2eff_violation *v =
		begin(e, S2HYP_RULE_VMID_REUSE, at, base, 0, -1, stage,
		      "root %#llx is loaded with %s %u, which root %#llx used%s, and that "
		      "%s's entries were not invalidated (TLBI and DSB) since",
		      (unsigned long long)base, kind, t->id, (unsigned long long)o->pa,
		      o->released || o->dead ? " before it was released" : " and still uses",
		      kind);
	related(v, t->line, "root %#llx was loaded with %s %u here",
		(unsigned long long)o->pa, kind, t->id);
	related(v, o->release_line, "root %#llx was released here", (unsigned long long)o->pa);
	fire(e);
}

/* Thread at loads root with tag (a VMID, or an ASID at EL2). */
static int install(struct s2eff *e, struct s2eff_at at, uint64_t base, unsigned tagid, int stage,
		   const char **why)
{
	int idx = root_for(e, at, base, stage, why);
	if (idx < 0)
		return S2_EINVAL;
	struct eroot *rt = &e->roots[idx];

	rule_vmid_change(e, at, idx, base, tagid, stage);
	struct etag *t = tag_get(e, stage, tagid);
	if (!t) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	rule_vmid_reuse(e, at, t, idx, base, stage);
	t->owner = idx;
	t->dirty = true;
	t->line = at.line;
	rt->has_tag = true;
	rt->tag = tagid;
	rt->tag_line = at.line;
	rt->released = false;
	if (stage == 2) {
		e->th[at.thread].vroot = idx;
		e->th[at.thread].vmid = tagid;
		e->th[at.thread].have_vttbr = true;
		e->last_vroot = idx;
		e->last_vmid = tagid;
		e->any_vttbr = true;
	} else {
		e->th[at.thread].sroot = idx;
		e->th[at.thread].asid = tagid;
	}
	return 0;
}

/* DDI 0487 TTBR0_EL2: ASID [63:48] is RES0 unless HCR_EL2.E2H is 1. */
static void rule_ttbr_asid(struct s2eff *e, struct s2eff_at at, uint64_t value)
{
	unsigned asid = (unsigned)(value >> 48);
	if (!asid || (e->hcr & s2_bit(34)))
		return;
	begin(e, S2HYP_RULE_TTBR_ASID, at, value & s2_genmask(47, 1), 0, -1, 1,
	      "TTBR0_EL2 is written with ASID %u while HCR_EL2.E2H is 0 (HCR_EL2 %#llx): "
	      "the field is RES0", asid, (unsigned long long)e->hcr);
	fire(e);
}

int s2eff_sysreg(struct s2eff *e, struct s2eff_at at, enum s2eff_sysreg r, uint64_t value,
		 const char **why)
{
	e->st.events++;
	switch (r) {
	case S2EFF_VTCR_EL2: {
		struct s2pt_geom g;
		if (s2pt_geom_from_vtcr(&g, value, why)) {
			/* casemate's logs give T0SZ alone (0x10): the start level and
			 * concatenation follow from the IPA size, as KVM picks them. */
			unsigned t0sz = (unsigned)s2_field_get(value, 5, 0);
			unsigned tg = (unsigned)s2_field_get(value, 15, 14);
			unsigned gshift = tg == 1 ? 16 : tg == 2 ? 14 : 12;
			if (t0sz < 16 || t0sz > 64 - 21 || s2pt_geom_init(&g, gshift, 64 - t0sz, why))
				return S2_EINVAL;
		}
		if (g.granule_shift != e->gshift && e->pages.n) {
			*why = "the granule changes after memory was initialised in the old one";
			return S2_EINVAL;
		}
		e->gshift = g.granule_shift;
		e->s2g = g;
		return 0;
	}
	case S2EFF_TCR_EL2: {
		unsigned t0sz = (unsigned)s2_field_get(value, 5, 0);
		unsigned tg = (unsigned)s2_field_get(value, 15, 14);
		unsigned gshift = tg == 1 ? 16 : tg == 2 ? 14 : 12;
		if (t0sz < 16 || t0sz > 39) {
			*why = "TCR_EL2.T0SZ outside 16..39";
			return S2_EINVAL;
		}
		if (gshift != e->gshift && e->pages.n) {
			*why = "the granule changes after memory was initialised in the old one";
			return S2_EINVAL;
		}
		e->gshift = gshift;
		default_geom(&e->s1g, gshift, 64 - t0sz, 1);
		return 0;
	}
	case S2EFF_VTTBR_EL2:
		/* BADDR [47:1] (CnP is bit 0), VMID [63:48]. */
		return install(e, at, value & s2_genmask(47, 1), (unsigned)(value >> 48), 2, why);
	case S2EFF_TTBR0_EL2: {
		unsigned asid = (unsigned)(value >> 48);
		bool e2h = e->hcr & s2_bit(34);
		rule_ttbr_asid(e, at, value);
		return install(e, at, value & s2_genmask(47, 1), e2h ? asid : 0, 1, why);
	}
	case S2EFF_HCR_EL2:
		e->hcr = value;
		return 0;
	case S2EFF_SCTLR_EL2:
	case S2EFF_MAIR_EL2:
	case S2EFF_NR_SYSREG:
		return 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* TLBIs and barriers                                                  */
/* ------------------------------------------------------------------ */

/* Whether a child table holds any valid entry. */
static bool table_empty(const struct s2eff *e, const struct epage *p, uint64_t desc)
{
	const struct epage *c = page_at(e, oa_of(geom_of(e, p), desc));
	if (!c)
		return true;
	for (unsigned i = 0; i < nr_entries(e); i++)
		if (s2pt_pte_valid(c->mem[i]))
			return false;
	return true;
}

enum cover { C_NO, C_INV, C_COMB, C_BOTH };

/* DDI 0487 FEAT_TTL: a by-address TLBI of the leaf broken at u whose TTL
 * hint names another level may leave it cached: true when it does (the
 * TLBI then does not cover u). With ignore_ttl a hint is no hint. */
static bool rule_tlbi_ttl(struct s2eff *e, struct s2eff_at at, const struct eunclean *u,
			  enum s2arm_tlbi op, uint64_t addr, int level)
{
	if (level == S2PT_TLBI_NO_LEVEL || level == u->level || e->ignore_ttl)
		return false;
	struct s2eff_violation *v =
		begin(e, S2HYP_RULE_TLBI_TTL, at, u->pa, u->ia, u->level, u->stage,
		      "TLBI %s of %s %#llx gives TTL level %d, but the entry it must remove "
		      "(%#llx, old value %#llx) is at level %d: it may stay cached",
		      s2arm_tlbi_mnemonic(op), ia_name(u->stage), (unsigned long long)addr, level,
		      (unsigned long long)u->pa, (unsigned long long)u->old, u->level);
	related(v, u->brk.line, "the entry was made invalid here");
	fire(e);
	return true;
}

static enum cover covers(struct s2eff *e, struct s2eff_at at, struct eunclean *u,
			 enum s2arm_tlbi op, uint64_t addr, int level, unsigned tag)
{
	const struct eroot *rt = u->root >= 0 ? &e->roots[u->root] : NULL;
	bool table = is_table(u->old, u->level);
	bool by_addr = false, last_level = false;

	if (!rt)
		return C_NO;
	if (u->stage == 2) {
		switch (op) {
		case S2ARM_TLBI_ALLE1IS:
			return C_BOTH;
		case S2ARM_TLBI_VMALLS12E1IS:
			if (rt->tag != tag)
				goto other_tag;
			return C_BOTH;
		case S2ARM_TLBI_VMALLE1IS:
			if (rt->tag != tag)
				goto other_tag;
			return u->inv == P_DONE ? C_COMB : C_NO;
		case S2ARM_TLBI_IPAS2E1IS:
			by_addr = true;
			break;
		case S2ARM_TLBI_IPAS2LE1IS:
			by_addr = last_level = true;
			break;
		default:
			return C_NO;	/* EL2 regime, or this CPU only */
		}
		if (rt->tag != tag)
			goto other_tag;
	} else {
		switch (op) {
		case S2ARM_TLBI_ALLE2IS:
			return C_INV;
		case S2ARM_TLBI_VAE2IS:
			by_addr = true;
			break;
		case S2ARM_TLBI_VALE2IS:
			by_addr = last_level = true;
			break;
		default:
			return C_NO;
		}
		/* Global entries (nG clear) match any ASID. */
		if ((e->hcr & s2_bit(34)) && (u->old & s2_bit(11)) && rt->tag != tag)
			goto other_tag;
	}
	(void)by_addr;
	if (addr - u->ia >= u->size)
		return C_NO;
	if (table && (last_level || !table_empty(e, page_at(e, u->page), u->old)))
		return C_NO;
	if (!table && rule_tlbi_ttl(e, at, u, op, addr, level))
		return C_NO;
	return C_INV;

other_tag:
	/* Kept for the report: maintenance that went to another VMID. */
	u->miss_line = at.line;
	u->miss_tag = tag;
	return C_NO;
}

void s2eff_tlbi(struct s2eff *e, struct s2eff_at at, enum s2arm_tlbi op, uint64_t addr, int level,
		int tag)
{
	const struct ethread *th = &e->th[at.thread];
	bool el2 = s2arm_tlbi_flags(op) & S2ARM_TLBI_EL2;
	unsigned id;

	e->st.events++;
	e->st.tlbis++;
	if (tag >= 0)
		id = (unsigned)tag;
	else if (el2)
		id = th->asid;
	else
		id = th->have_vttbr ? th->vmid : e->last_vmid;
	if (el2 && !(e->hcr & s2_bit(34)) && tag < 0)
		id = 0;
	for (unsigned i = 0; i < e->nuc; i++) {
		struct eunclean *u = &e->uc[i];
		enum cover c = covers(e, at, u, op, addr, level, id);
		if ((c == C_INV || c == C_BOTH) && u->inv != P_DONE) {
			u->inv = P_PENDING;
			bit_set(u->inv_pend, at.thread);
			u->inv_line = at.line;
		}
		if ((c == C_COMB || c == C_BOTH) && u->comb != P_DONE) {
			u->comb = P_PENDING;
			bit_set(u->comb_pend, at.thread);
			u->comb_line = at.line;
		}
	}
	/* Whole-tag invalidations clean the tag for reuse once complete. */
	for (unsigned i = 0; i < e->ntags; i++) {
		struct etag *t = &e->tags[i];
		bool all = (t->stage == 2 && op == S2ARM_TLBI_ALLE1IS) ||
			   (t->stage == 1 && op == S2ARM_TLBI_ALLE2IS) ||
			   (t->stage == 2 && op == S2ARM_TLBI_VMALLS12E1IS && t->id == id);
		if (all)
			bit_set(t->pend, at.thread);
	}
}

void s2eff_dsb(struct s2eff *e, struct s2eff_at at, enum s2arm_dsb kind)
{
	e->st.events++;
	e->st.dsbs++;
	/* Only a full DSB of the inner shareable domain (or the whole system)
	 * completes this CPU's broadcast TLBIs (the barrier KVM issues after one). */
	if (kind != S2ARM_DSB_ISH && kind != S2ARM_DSB_SY)
		return;
	for (unsigned i = 0; i < e->nuc;) {
		struct eunclean *u = &e->uc[i];
		if (u->inv == P_PENDING && bit_has(u->inv_pend, at.thread))
			u->inv = P_DONE;
		if (u->comb == P_PENDING && bit_has(u->comb_pend, at.thread))
			u->comb = P_DONE;
		bit_clear(u->inv_pend, at.thread);
		bit_clear(u->comb_pend, at.thread);
		if (u->inv == P_DONE && u->comb == P_DONE) {
			clean_done(e, i);
			continue;
		}
		i++;
	}
	for (unsigned i = 0; i < e->ntags; i++)
		if (bit_has(e->tags[i].pend, at.thread)) {
			bit_clear(e->tags[i].pend, at.thread);
			e->tags[i].dirty = false;
		}
}

void s2eff_isb(struct s2eff *e, struct s2eff_at at)
{
	(void)at;
	e->st.events++;
}

void s2eff_cmo(struct s2eff *e, struct s2eff_at at)
{
	(void)at;
	e->st.events++;
	e->st.cmos++;
}

/* ------------------------------------------------------------------ */
/* Locks and hints                                                     */
/* ------------------------------------------------------------------ */

static struct elock *lock_get(struct s2eff *e, uint64_t addr)
{
	for (unsigned i = 0; i < e->nlocks; i++)
		if (e->locks[i].addr == addr)
			return &e->locks[i];
	if (!s2_grow((void **)&e->locks, &e->locks_cap, sizeof(*e->locks), e->nlocks + 1))
		return NULL;
	struct elock *l = &e->locks[e->nlocks++];
	*l = (struct elock){ addr, -1, 0, 0 };
	return l;
}

int s2eff_lock(struct s2eff *e, struct s2eff_at at, uint64_t lock, bool try, const char **why)
{
	e->st.events++;
	if (lock == NONE)
		e->anon_used = true;
	struct elock *l = lock_get(e, lock);
	if (!l) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	if (l->holder >= 0 && l->holder != (int)at.thread) {
		*why = "the lock is taken while another thread holds it";
		return S2_EINVAL;
	}
	/* A lock the thread already holds: a trylock takes it recursively (as
	 * casemate counts it); a plain lock cannot deadlock on itself in a real
	 * run, so the trylock before it failed and this is the one acquisition. */
	if (l->holder == (int)at.thread && !try) {
		l->line = at.line;
		return 0;
	}
	l->holder = (int)at.thread;
	l->count++;
	l->line = at.line;
	return 0;
}

/* The last unlock of lock: what the lock published must be clean by now
 * (TLB maintenance finishes before the MMU lock is dropped). */
static void rule_unlock_unclean(struct s2eff *e, struct s2eff_at at, uint64_t lock)
{
	for (unsigned i = 0; i < e->nuc; i++) {
		const struct eunclean *u = &e->uc[i];
		uint64_t tl;
		unsigned line;
		if (!tree_lock(e, u->root, &tl, &line) || tl != lock)
			continue;
		struct s2eff_violation *v =
			begin(e, S2HYP_RULE_UNLOCK_UNCLEAN, at, u->pa, u->ia, u->level, u->stage,
			      "thread %u releases the lock while entry %#llx (%s %#llx, level %d), "
			      "broken under it, %s", at.thread, (unsigned long long)u->pa,
			      ia_name(u->stage), (unsigned long long)u->ia, u->level,
			      u->inv == P_NONE ? "has had no TLBI covering it" :
			      u->inv == P_PENDING ? "has a TLBI not yet completed by a DSB" :
			      "still lacks the stage-1 invalidation (VMALLE1IS) of its VMID");
		related(v, u->brk.line, "it was made invalid here (old value %#llx)",
			(unsigned long long)u->old);
		related(v, u->inv_line, "its TLBI");
		fire(e);
		break;
	}
}

int s2eff_unlock(struct s2eff *e, struct s2eff_at at, uint64_t lock, const char **why)
{
	e->st.events++;
	struct elock *l = lock_get(e, lock);
	if (!l) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	if (l->holder != (int)at.thread) {
		*why = "unlock of a lock this thread does not hold";
		return S2_EINVAL;
	}
	l->line = at.line;
	if (--l->count)
		return 0;
	l->holder = -1;
	rule_unlock_unclean(e, at, lock);
	return 0;
}

int s2eff_hint(struct s2eff *e, struct s2eff_at at, enum s2eff_hint kind, uint64_t location,
	       uint64_t value, const char **why)
{
	e->st.events++;
	struct epage *p = page_at(e, location);
	switch (kind) {
	case S2EFF_HINT_SET_ROOT_LOCK:
		if (!p) {
			*why = "set-root-lock names a page the trace never initialised (alloc)";
			return S2_EINVAL;
		}
		p->has_lock = true;
		p->lock = value;
		p->lock_line = at.line;
		return 0;
	case S2EFF_HINT_SET_OWNER_ROOT:
		/* Ownership before a page is linked: our trees come from the
		 * links themselves, so this only has to name known memory. */
		if (!p) {
			*why = "set-owner-root names a page the trace never initialised (alloc)";
			return S2_EINVAL;
		}
		return 0;
	case S2EFF_HINT_RELEASE_TABLE:
		if (!p) {
			*why = "release-table names a page the trace never initialised (alloc)";
			return S2_EINVAL;
		}
		if (p->level < 0)
			return 0;
		/* A root: the whole tree goes. */
		rule_tlbi_before_free(e, at, p, "released", true);
		if (p->parent == NONE && p->root >= 0) {
			struct eroot *rt = &e->roots[p->root];
			rt->released = true;
			rt->release_line = at.line;
		} else {
			p->linked = false;
			p->level = -1;
			p->root = -1;
			p->parent = NONE;
		}
		return 0;
	}
	return 0;
}

int s2eff_lookup(const struct s2eff *e, uint64_t ipa, int *level, uint64_t *desc)
{
	if (e->last_vroot < 0)
		return -1;
	const struct eroot *rt = &e->roots[e->last_vroot];
	const struct s2pt_geom *g = &rt->g;
	unsigned top = s2pt_level_shift(g, g->start_level) + g->stride;
	uint64_t r = ipa >> top;
	if (r >= rt->nr_pages)
		return 0;
	const struct epage *p = page_at(e, rt->pa + r * page_size(e));
	for (int l = g->start_level; p && l <= S2_LEVEL_MAX; l++) {
		unsigned idx = (unsigned)((ipa >> s2pt_level_shift(g, (s2_level_t)l)) &
					  (nr_entries(e) - 1));
		uint64_t d = p->mem[idx];
		if (!s2pt_pte_valid(d))
			return 0;
		if (!is_table(d, l)) {
			*level = l;
			*desc = d;
			return 1;
		}
		p = page_at(e, oa_of(g, d));
	}
	return 0;
}
