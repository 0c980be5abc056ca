/* s2host: folios, page tables, faults, GUP and the host events that replace
 * or unmap pages. The reuse decisions of each policy are in cow.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/s2_err.h"
#include "common/s2_vec.h"
#include "host-mm/s2host_cow.h"

/* ---- Tables ---------------------------------------------------------------- */

static const struct {
	const char *name, *kernels, *rule;
} policies[S2HOST_NR_POLICIES] = {
#define S2HOST_POL_INFO(id, name, kernels, rule) [id] = { name, kernels, rule },
	S2HOST_POLICY_TABLE(S2HOST_POL_INFO)
#undef S2HOST_POL_INFO
};

const char *s2host_policy_name(enum s2host_policy p)
{
	return (unsigned)p < S2HOST_NR_POLICIES ? policies[p].name : "?";
}

const char *s2host_policy_kernels(enum s2host_policy p)
{
	return (unsigned)p < S2HOST_NR_POLICIES ? policies[p].kernels : "?";
}

const char *s2host_policy_rule(enum s2host_policy p)
{
	return (unsigned)p < S2HOST_NR_POLICIES ? policies[p].rule : "?";
}

int s2host_policy_parse(const char *name)
{
	if (!strncasecmp(name, "POL-", 4))
		name += 4;
	for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++)
		if (!strcasecmp(name, policies[p].name))
			return (int)p;
	if (!strcasecmp(name, "MAP2F"))
		return S2HOST_POL_MAP2F;
	return -1;
}

/* ---- Storage --------------------------------------------------------------- */

/* The page array has a 64-bit count; the others use grow32. */
static bool grow(void **p, uint64_t *cap, uint64_t need, size_t size)
{
	if (need <= *cap)
		return true;
	uint64_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* s2_grow for an unsigned count, refusing a need its doubling could wrap. */
static bool grow32(void **p, unsigned *cap, uint64_t need, size_t size)
{
	return need <= UINT32_MAX / 2 && s2_grow(p, cap, size, (unsigned)need);
}

/* Room for what one operation may allocate, so that it never fails half way. */
int s2host__reserve(struct s2host *h, uint64_t pages, unsigned folios)
{
	uint64_t np = h->cfg.nr_pages;

	/* room for one THP's alignment padding too */
	if (!grow((void **)&h->page, &h->cap_page, h->nr_page + pages + 2 * S2HOST_THP_PAGES,
		  sizeof(*h->page)) ||
	    !grow32((void **)&h->folio, &h->cap_folio, (uint64_t)h->nr_folio + folios + 2,
		    sizeof(*h->folio)) ||
	    !grow32((void **)&h->ref, &h->cap_ref, h->nr_ref + 1ull, sizeof(*h->ref)) ||
	    !grow32((void **)&h->slot, &h->cap_slot, h->nr_slot + 1ull, sizeof(*h->slot)) ||
	    !grow32((void **)&h->wlog, &h->cap_wlog, h->nr_wlog + 2ull, sizeof(*h->wlog)) ||
	    !grow32((void **)&h->puts, &h->cap_puts, np + S2HOST_THP_PAGES, sizeof(*h->puts)) ||
	    !grow32((void **)&h->scratch, &h->cap_scratch, (uint64_t)h->nr_folio + folios + 2,
		    sizeof(*h->scratch)))
		return S2_ENOMEM;
	return 0;
}

/* ---- Violations ---------------------------------------------------------- */

void s2host__violate(struct s2host *h, enum s2host_rule rule, int mm, uint64_t vpn,
		     uint64_t pfn, const char *fmt, ...)
{
	h->stats.violations[rule]++;
	if (!grow32((void **)&h->viol, &h->cap_viol, h->nr_viol + 1ull, sizeof(*h->viol)))
		return;
	struct s2host_violation *v = &h->viol[h->nr_viol++];
	va_list ap;

	v->rule = rule;
	v->op = h->stats.ops;
	v->mm = mm;
	v->hva = vpn == S2HOST_NO_PFN ? S2HOST_NO_PFN : vpn << S2HOST_PAGE_SHIFT;
	v->pfn = pfn;
	va_start(ap, fmt);
	vsnprintf(v->what, sizeof(v->what), fmt, ap);
	va_end(ap);
}

unsigned s2host_nr_violations(const struct s2host *h)
{
	return h->nr_viol;
}

const struct s2host_violation *s2host_violation(const struct s2host *h, unsigned i)
{
	return i < h->nr_viol ? &h->viol[i] : NULL;
}

const struct s2host_stats *s2host_stats(const struct s2host *h)
{
	return &h->stats;
}

const struct s2host_config *s2host_config(const struct s2host *h)
{
	return &h->cfg;
}

/* ---- Folios ------------------------------------------------------------------ */

struct s2host__folio *s2host__folio_of(struct s2host *h, uint64_t pfn)
{
	return &h->folio[h->page[pfn].folio];
}

/* A new anonymous folio of 1 << order zeroed pages, refcount 1 (the
 * caller's), physically aligned to its size as the buddy allocator's are
 * (a stage-2 block needs that). The operation reserved the room. */
uint64_t s2host__alloc(struct s2host *h, unsigned order, int owner)
{
	uint64_t align = 1ull << order;
	if (h->nr_page % align) {
		/* the gap: pages of a folio that is never used */
		unsigned gi = h->nr_folio++;
		memset(&h->folio[gi], 0, sizeof(h->folio[gi]));
		h->folio[gi].head = h->nr_page;
		h->folio[gi].dead = true;
		while (h->nr_page % align) {
			memset(&h->page[h->nr_page], 0, sizeof(h->page[0]));
			h->page[h->nr_page++].folio = gi;
		}
	}
	if (h->nr_page + align > h->cap_page || h->nr_folio >= h->cap_folio ||
	    h->nr_folio >= h->cap_scratch)
		abort();	/* an operation reserved too little: an emulator bug */
	unsigned fi = h->nr_folio++;
	uint64_t head = h->nr_page;
	struct s2host__folio *f = &h->folio[fi];

	memset(f, 0, sizeof(*f));
	f->head = head;
	f->order = order;
	f->ref = 1;
	f->anon = true;
	f->owner = owner;
	f->file = -1;
	for (uint64_t i = 0; i < (1ull << order); i++) {
		struct s2host__page *p = &h->page[h->nr_page++];
		memset(p, 0, sizeof(*p));
		p->folio = fi;
	}
	h->stats.folios_allocated++;
	return head;
}

unsigned s2host__total_mapcount(const struct s2host *h, const struct s2host__folio *f)
{
	unsigned n = (unsigned)f->entire << f->order;
	for (uint64_t i = 0; i < (1ull << f->order); i++)
		n += (unsigned)h->page[f->head + i].mapcount;
	return n;
}

/* Mapping references: one per PTE and one per PMD mapping. */
static int mapping_refs(const struct s2host *h, const struct s2host__folio *f)
{
	int n = f->entire;
	for (uint64_t i = 0; i < (1ull << f->order); i++)
		n += h->page[f->head + i].mapcount;
	return n;
}

bool s2host__maybe_dma_pinned(const struct s2host__folio *f)
{
	if (f->zero)
		return false;
	if (f->order)
		return f->pincount > 0;
	return f->ref >= S2HOST_PIN_BIAS;
}

static void free_folio(struct s2host *h, struct s2host__folio *f)
{
	f->freed = true;
	h->stats.folios_freed++;
	if (mapping_refs(h, f) > 0 || f->pincount > 0)
		s2host__violate(h, S2HOST_RULE_USE_AFTER_FREE, -1, S2HOST_NO_PFN, f->head,
				"folio %llu freed while still mapped %d time(s) or pinned",
				(unsigned long long)f->head, mapping_refs(h, f));
	for (unsigned i = 0; i < h->nr_ref; i++)
		if (h->ref[i].live && h->folio[h->page[h->ref[i].pfn].folio].head == f->head)
			s2host__violate(h, S2HOST_RULE_USE_AFTER_FREE, h->ref[i].mm, h->ref[i].vpn,
					h->ref[i].pfn,
					"folio %llu freed while GUP reference %u still holds it",
					(unsigned long long)f->head, i);
}

void s2host__get(struct s2host *h, uint64_t pfn, int n)
{
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	if (f->zero)
		return;
	f->ref += n;
}

void s2host__put(struct s2host *h, uint64_t pfn, int n)
{
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	if (f->zero)
		return;
	if (f->freed) {
		s2host__violate(h, S2HOST_RULE_USE_AFTER_FREE, -1, S2HOST_NO_PFN, pfn,
				"put_page on freed folio %llu", (unsigned long long)f->head);
		return;
	}
	f->ref -= n;
	if (f->ref <= 0) {
		if (f->ref < 0)
			s2host__violate(h, S2HOST_RULE_REFCOUNT, -1, S2HOST_NO_PFN, pfn,
					"refcount of folio %llu went negative (%d)",
					(unsigned long long)f->head, f->ref);
		free_folio(h, f);
	}
}

/* A mapping reference dropped once the invalidation around it has ended. */
void s2host__put_later(struct s2host *h, uint64_t pfn)
{
	if (h->nr_puts < h->cap_puts)
		h->puts[h->nr_puts++] = pfn;
	else
		s2host__put(h, pfn, 1);
}

void s2host__flush_puts(struct s2host *h)
{
	for (unsigned i = 0; i < h->nr_puts; i++)
		s2host__put(h, h->puts[i], 1);
	h->nr_puts = 0;
}

/* ---- Contents and who may see them ------------------------------------- */

static unsigned log_write(struct s2host *h, int mm)
{
	h->wlog[h->nr_wlog] = (struct s2host__write){ mm };
	return h->nr_wlog++;
}

/* Whether process reader may legitimately see write w (an index into the
 * write log) by process writer: its own writes, and its ancestors' writes
 * made before its line forked off theirs. */
static bool visible(const struct s2host *h, unsigned w, int reader)
{
	if (!w)
		return true;
	int writer = h->wlog[w].mm;

	for (int r = reader; r >= 0; r = h->mm[r].parent) {
		if (r == writer)
			return true;
		if (h->mm[r].parent == writer)
			return w < h->mm[r].fork_w;
		if (h->mm[r].parent >= 0 && w >= h->mm[r].fork_w)
			return false;	/* written after this line forked off */
	}
	return false;
}

/* Whether process mm descends from ancestor through a child forked off it
 * at or after the process count since (a fork after that moment). */
static bool forked_off_since(const struct s2host *h, int mm, int ancestor, unsigned since)
{
	for (int m = mm; m >= 0; m = h->mm[m].parent)
		if (h->mm[m].parent == ancestor)
			return (unsigned)m >= since;
	return false;
}

/* reader reads pfn (at vpn) through 'how'; r: the GUP reference it reads
 * through, NULL for a mapping. INV-COW-NOLEAK covers what the reader
 * obtained after the fork: a reference taken before its own process forked
 * the writer off may see the writer's later writes (FOLL_GET across fork
 * was never reliable; docs/host-mm.md). */
static void observe(struct s2host *h, int reader, uint64_t vpn, uint64_t pfn, const char *how,
		    const struct s2host__ref *r)
{
	const struct s2host__page *p = &h->page[pfn];

	if (s2host__folio_of(h, pfn)->freed)
		s2host__violate(h, S2HOST_RULE_USE_AFTER_FREE, reader, vpn, pfn,
				"process %d reads freed page %llu through %s", reader,
				(unsigned long long)pfn, how);
	/* shared memory is shared on purpose: only private pages are isolated */
	if (s2host__folio_of(h, pfn)->anon && !visible(h, p->writer, reader) &&
	    !(r && forked_off_since(h, h->wlog[p->writer].mm, reader, r->mms)))
		s2host__violate(h, S2HOST_RULE_COW_ISOLATION, reader, vpn, pfn,
				"process %d reads, through %s, value %llu that process %d wrote "
				"after they forked apart", reader, how,
				(unsigned long long)p->value, h->wlog[p->writer].mm);
}

void s2host__store(struct s2host *h, int writer, uint64_t pfn, uint64_t value)
{
	if (s2host__folio_of(h, pfn)->freed)
		s2host__violate(h, S2HOST_RULE_USE_AFTER_FREE, writer, S2HOST_NO_PFN, pfn,
				"write to freed page %llu", (unsigned long long)pfn);
	h->page[pfn].value = value;
	h->page[pfn].writer = log_write(h, writer);
}

/* A process's own store at vpn into pfn; 'how' names the path in a report.
 * uffd-wp: the monitor's view protects vpn, and nobody told it. */
void s2host__user_store(struct s2host *h, int mm, uint64_t vpn, uint64_t pfn, uint64_t value,
			const char *how)
{
	if ((h->mm[mm].vma[vpn] & VMA_UFFD_WP) && h->mm[mm].wp[vpn]) {
		s2host__folio_of(h, pfn)->silent_write = true;
		s2host__violate(h, S2HOST_RULE_UFFD_WP, mm, vpn, pfn,
				"process %d writes %llu at 0x%llx%s, which its uffd monitor "
				"write-protected, without the handler being told", mm,
				(unsigned long long)value,
				(unsigned long long)(vpn << S2HOST_PAGE_SHIFT), how);
	}
	s2host__store(h, mm, pfn, value);
}

void s2host__copy_page(struct s2host *h, uint64_t to, uint64_t from)
{
	h->page[to].value = h->page[from].value;
	h->page[to].writer = h->page[from].writer;
}

/* ---- Create and destroy ---------------------------------------------------- */

void s2host_config_init(struct s2host_config *cfg, enum s2host_policy policy)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = policy;
	cfg->nr_pages = 4096;
	cfg->clear_refs_skips_pinned = policy >= S2HOST_POL_CNT2;
	cfg->swap_skips_pinned = policy >= S2HOST_POL_CNT2;
	cfg->check_every_op = true;
	cfg->uffd_markers = true;
	cfg->uffd_wp_flush = true;
	cfg->uffd_fork_fix = true;
}

int s2host_create(const struct s2host_config *cfg, struct s2host **out)
{
	*out = NULL;
	if ((unsigned)cfg->policy >= S2HOST_NR_POLICIES || !cfg->nr_pages ||
	    cfg->nr_pages % S2HOST_THP_PAGES || cfg->nr_pages > (1u << 24))
		return S2_EINVAL;
	struct s2host *h = calloc(1, sizeof(*h));
	if (!h)
		return S2_ENOMEM;
	h->cfg = *cfg;
	if (s2host__reserve(h, 1, 1)) {
		s2host_destroy(h);
		return S2_ENOMEM;
	}
	uint64_t z = s2host__alloc(h, 0, -1);	/* the shared zero page */
	struct s2host__folio *f = s2host__folio_of(h, z);
	f->zero = true;
	f->anon = false;
	h->nr_wlog = 1;	/* entry 0: never written */
	h->wlog[0] = (struct s2host__write){ -1 };
	*out = h;
	return 0;
}

void s2host_destroy(struct s2host *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->nr_mm; i++) {
		free(h->mm[i].pte);
		free(h->mm[i].pmd);
		free(h->mm[i].vma);
		free(h->mm[i].vfile);
		free(h->mm[i].voff);
		free(h->mm[i].wp);
	}
	for (unsigned i = 0; i < h->nr_file; i++)
		free(h->file[i].cache);
	free(h->file);
	free(h->msg);
	free(h->tlb);
	free(h->pend);
	free(h->mm);
	free(h->folio);
	free(h->page);
	free(h->ref);
	free(h->slot);
	free(h->wlog);
	free(h->puts);
	free(h->viol);
	free(h->scratch);
	free(h);
}

/* ---- Notifiers -------------------------------------------------------------- */

int s2host_notifier_register(struct s2host *h, int mm, const struct s2host_notifier *n,
			     void *arg)
{
	if (mm < 0 || (unsigned)mm >= h->nr_mm || !h->mm[mm].alive)
		return S2_EINVAL;
	struct s2host__mm *m = &h->mm[mm];
	if (m->nr_mn == S2HOST_MAX_NOTIFIERS)
		return S2_EBUSY;
	m->mn[m->nr_mn] = *n;
	m->mn_arg[m->nr_mn++] = arg;
	return 0;
}

void s2host__inval_start(struct s2host *h, int mm, uint64_t vpn, uint64_t n,
			 enum s2host_mn_event ev)
{
	struct s2host__mm *m = &h->mm[mm];
	h->stats.invalidations++;
	for (unsigned i = 0; i < m->nr_mn; i++)
		if (m->mn[i].invalidate_start)
			m->mn[i].invalidate_start(m->mn_arg[i], mm, vpn << S2HOST_PAGE_SHIFT,
						  (vpn + n) << S2HOST_PAGE_SHIFT, ev);
}

void s2host__inval_end(struct s2host *h, int mm, uint64_t vpn, uint64_t n,
		       enum s2host_mn_event ev)
{
	struct s2host__mm *m = &h->mm[mm];
	/* the TLB flush of the change comes before the invalidation ends,
	 * unless a uffd-wp change defers it (mm->tlb_flush_pending) */
	if (!h->deferring)
		s2host__tlb_flush(h, mm, vpn, n);
	for (unsigned i = 0; i < m->nr_mn; i++)
		if (m->mn[i].invalidate_end)
			m->mn[i].invalidate_end(m->mn_arg[i], mm, vpn << S2HOST_PAGE_SHIFT,
						(vpn + n) << S2HOST_PAGE_SHIFT, ev);
}

/* ---- Operations: begin and end ------------------------------------------- */

bool s2host__mm_ok(const struct s2host *h, int mm)
{
	return mm >= 0 && (unsigned)mm < h->nr_mm && h->mm[mm].alive;
}

static int range_ok(const struct s2host *h, int mm, uint64_t hva, uint64_t size)
{
	if (!s2host__mm_ok(h, mm))
		return S2_EINVAL;
	if (hva % S2HOST_PAGE_SIZE || size % S2HOST_PAGE_SIZE || !size)
		return S2_EINVAL;
	uint64_t lim = (uint64_t)h->cfg.nr_pages << S2HOST_PAGE_SHIFT;
	if (hva >= lim || size > lim - hva)
		return S2_ERANGE;
	return 0;
}

int s2host__begin(struct s2host *h, uint64_t pages, unsigned folios)
{
	if (h->in_window && !h->window_store)
		return S2_EBUSY;	/* inside a COW copy's window: the PTL is held */
	if (h->in_split_window && h->split_page_locked)
		return S2_EBUSY;	/* a COW decision would wait for the page lock */
	int err = s2host__reserve(h, pages, folios);
	if (!err)
		h->stats.ops++;
	return err;
}

int s2host__end(struct s2host *h, int ret)
{
	s2host__flush_puts(h);
	if (h->cfg.check_every_op)
		s2host_check(h);
	return ret;
}

/* ---- Processes ------------------------------------------------------------ */

int s2host__new_mm(struct s2host *h, int parent)
{
	if (!grow32((void **)&h->mm, &h->cap_mm, h->nr_mm + 1ull, sizeof(*h->mm)))
		return S2_ENOMEM;
	struct s2host__mm *m = &h->mm[h->nr_mm];
	unsigned n = h->cfg.nr_pages;

	memset(m, 0, sizeof(*m));
	m->pte = calloc(n, sizeof(*m->pte));
	m->pmd = calloc(n / S2HOST_THP_PAGES, sizeof(*m->pmd));
	m->vma = calloc(n, 1);
	m->vfile = calloc(n, sizeof(*m->vfile));
	m->voff = calloc(n, sizeof(*m->voff));
	m->wp = calloc(n, 1);
	if (!m->pte || !m->pmd || !m->vma || !m->vfile || !m->voff || !m->wp) {
		free(m->pte);
		free(m->pmd);
		free(m->vma);
		free(m->vfile);
		free(m->voff);
		free(m->wp);
		return S2_ENOMEM;
	}
	m->alive = true;
	m->parent = parent;
	m->fork_w = h->nr_wlog;
	return (int)h->nr_mm++;
}

int s2host_mm_create(struct s2host *h)
{
	return s2host__new_mm(h, -1);
}

bool s2host_mm_has_pinned(const struct s2host *h, int mm)
{
	return s2host__mm_ok(h, mm) && h->mm[mm].has_pinned;
}

/* ---- Page-table helpers ------------------------------------------------------ */

struct s2host__pte *s2host__pmd(struct s2host *h, int mm, uint64_t vpn)
{
	return &h->mm[mm].pmd[vpn / S2HOST_THP_PAGES];
}

/* The pfn mapped at vpn (PTE or PMD), or S2HOST_NO_PFN. */
uint64_t s2host__mapped_pfn(const struct s2host *h, int mm, uint64_t vpn)
{
	const struct s2host__mm *m = &h->mm[mm];
	const struct s2host__pte *pmd = &m->pmd[vpn / S2HOST_THP_PAGES];

	if (pmd->fl & PTE_PRESENT)
		return pmd->pfn + vpn % S2HOST_THP_PAGES;
	if (m->pte[vpn].fl & PTE_PRESENT)
		return m->pte[vpn].pfn;
	return S2HOST_NO_PFN;
}

/* Run the split window's hook, if one is set. From 5.8 the split holds the
 * folio's page lock, so a COW decision in the window waits (-EBUSY). */
static void split_window(struct s2host *h)
{
	void (*fn)(void *, struct s2host *) = h->split_hook;

	if (!fn || h->in_split_window || h->in_window)
		return;
	h->split_hook = NULL;
	h->in_split_window = true;
	h->split_page_locked = h->cfg.policy >= S2HOST_POL_MAP2F;
	fn(h->split_hook_arg, h);
	h->in_split_window = false;
}

void s2host__split_pmd_locked(struct s2host *h, int mm, uint64_t vpn)
{
	struct s2host__mm *m = &h->mm[mm];
	struct s2host__pte *pmd = s2host__pmd(h, mm, vpn);
	uint64_t base = vpn - vpn % S2HOST_THP_PAGES;
	struct s2host__folio *f = s2host__folio_of(h, pmd->pfn);

	/* 4.5-6.1: another PMD still maps the folio, so its subpages' PTE
	 * mapcounts get PageDoubleMap's +1 (set first, then the offsets: the
	 * window c444eb564fb1 closed with the page lock, 5.8) */
	if (h->cfg.policy >= S2HOST_POL_MAP1 && f->entire > 1 && !f->double_map) {
		f->double_map = true;
		split_window(h);
		for (unsigned i = 0; i < S2HOST_THP_PAGES; i++)
			h->page[f->head + i].dm_offset = 1;
	}
	/* __split_huge_pmd_locked: one mapping reference per PTE */
	f->entire--;
	f->ref += S2HOST_THP_PAGES - 1;
	for (unsigned i = 0; i < S2HOST_THP_PAGES; i++) {
		m->pte[base + i] = (struct s2host__pte){ pmd->pfn + i, pmd->fl };
		h->page[pmd->pfn + i].mapcount++;
	}
	*pmd = (struct s2host__pte){ 0, 0 };
	s2host__entire_dropped(h, f);
}

void s2host__entire_dropped(struct s2host *h, struct s2host__folio *f)
{
	if (f->entire || !f->double_map)
		return;
	f->double_map = false;
	for (unsigned i = 0; i < S2HOST_THP_PAGES; i++)
		h->page[f->head + i].dm_offset = 0;
}

void s2host_set_split_window(struct s2host *h, void (*fn)(void *arg, struct s2host *h), void *arg)
{
	h->split_hook = fn;
	h->split_hook_arg = arg;
}

/* Split the PMD mapping vpn (if any) under its own invalidation. */
static void split_pmd(struct s2host *h, int mm, uint64_t vpn)
{
	uint64_t base = vpn - vpn % S2HOST_THP_PAGES;

	if (!(s2host__pmd(h, mm, vpn)->fl & PTE_PRESENT))
		return;
	s2host__inval_start(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
	s2host__split_pmd_locked(h, mm, vpn);
	s2host__inval_end(h, mm, base, S2HOST_THP_PAGES, S2HOST_MN_CLEAR);
}

/* Split the PMDs that [vpn, vpn+n) covers only in part. */
static void split_partial(struct s2host *h, int mm, uint64_t vpn, uint64_t n)
{
	if (vpn % S2HOST_THP_PAGES)
		split_pmd(h, mm, vpn);
	if ((vpn + n) % S2HOST_THP_PAGES)
		split_pmd(h, mm, vpn + n - 1);
}

/* Remove one PTE's mapping (reference dropped after the invalidation). */
static void zap_pte(struct s2host *h, int mm, uint64_t vpn)
{
	struct s2host__pte *pte = &h->mm[mm].pte[vpn];

	if (pte->fl & PTE_PRESENT) {
		struct s2host__page *p = &h->page[pte->pfn];
		if (!s2host__folio_of(h, pte->pfn)->zero) {
			p->mapcount--;
			if (h->cfg.policy == S2HOST_POL_AE && !p->mapcount)
				p->ae = false;
			s2host__put_later(h, pte->pfn);
		}
	} else if (pte->fl & PTE_SWAP) {
		s2host__swap_entry_free(h, (unsigned)pte->pfn);
	}
	*pte = (struct s2host__pte){ 0, 0 };
}

void s2host__zap_pte(struct s2host *h, int mm, uint64_t vpn)
{
	zap_pte(h, mm, vpn);
}

/* The process unmaps [vpn, vpn+n) itself: its long-term pins there no
 * longer promise a stable mapping. */
static void detach_pins(struct s2host *h, int mm, uint64_t vpn, uint64_t n)
{
	for (unsigned i = 0; i < h->nr_ref; i++)
		if (h->ref[i].live && h->ref[i].mm == mm && h->ref[i].vpn >= vpn &&
		    h->ref[i].vpn < vpn + n)
			h->ref[i].detached = true;
}

void s2host__zap(struct s2host *h, int mm, uint64_t vpn, uint64_t n, enum s2host_mn_event ev)
{
	split_partial(h, mm, vpn, n);
	s2host__inval_start(h, mm, vpn, n, ev);
	for (uint64_t v = vpn; v < vpn + n; v++) {
		struct s2host__pte *pmd = s2host__pmd(h, mm, v);
		if (pmd->fl & PTE_PRESENT) {
			struct s2host__folio *f = s2host__folio_of(h, pmd->pfn);
			f->entire--;
			s2host__entire_dropped(h, f);
			if (h->cfg.policy == S2HOST_POL_AE && !f->entire)
				for (unsigned i = 0; i < S2HOST_THP_PAGES; i++)
					if (!h->page[f->head + i].mapcount)
						h->page[f->head + i].ae = false;
			s2host__put_later(h, pmd->pfn);
			*pmd = (struct s2host__pte){ 0, 0 };
		}
		zap_pte(h, mm, v);
	}
	s2host__inval_end(h, mm, vpn, n, ev);
	detach_pins(h, mm, vpn, n);
}

/* ---- mmap, munmap, madvise, mprotect, clear_refs, uffd-wp -------------- */

/* The VMA bits of a registration (UFFDIO_REGISTER's modes and EVENT_FORK). */
uint8_t s2host__uffd_vma_bits(unsigned flags)
{
	return (uint8_t)((flags & S2HOST_MAP_UFFD_WP ? VMA_UFFD_WP : 0) |
			 (flags & S2HOST_MAP_UFFD_MISSING ? VMA_UFFD_MISSING : 0) |
			 (flags & S2HOST_MAP_UFFD_MINOR ? VMA_UFFD_MINOR : 0) |
			 (flags & S2HOST_MAP_UFFD_FORK ? VMA_UFFD_FORK : 0));
}

int s2host_mmap(struct s2host *h, int mm, uint64_t hva, uint64_t size, unsigned flags)
{
	int err = range_ok(h, mm, hva, size);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	for (uint64_t v = vpn; v < vpn + n; v++)
		if (h->mm[mm].vma[v] & VMA_MAPPED)
			return s2host__end(h, S2_EBUSY);	/* MAP_FIXED_NOREPLACE */
	uint8_t bits = VMA_MAPPED | (flags & S2HOST_PROT_WRITE ? VMA_WRITE : 0) |
		       (flags & S2HOST_MAP_THP ? VMA_THP : 0) | s2host__uffd_vma_bits(flags);
	if (flags & S2HOST_MAP_UFFD_MINOR)
		return s2host__end(h, S2_EINVAL);	/* MINOR is for shmem and hugetlb */
	for (uint64_t v = vpn; v < vpn + n; v++) {
		h->mm[mm].vma[v] = bits;
		h->mm[mm].vfile[v] = 0;
		h->mm[mm].wp[v] = 0;
	}
	return s2host__end(h, 0);
}

int s2host_munmap(struct s2host *h, int mm, uint64_t hva, uint64_t size)
{
	int err = range_ok(h, mm, hva, size);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	s2host__zap(h, mm, vpn, n, S2HOST_MN_UNMAP);
	memset(h->mm[mm].vma + vpn, 0, n);
	memset(h->mm[mm].wp + vpn, 0, n);
	return s2host__end(h, 0);
}

int s2host_madv_dontneed(struct s2host *h, int mm, uint64_t hva, uint64_t size)
{
	int err = range_ok(h, mm, hva, size);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	struct s2host__mm *m = &h->mm[mm];
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	s2host__zap(h, mm, vpn, n, S2HOST_MN_CLEAR);
	/* 999dad824c39: a zap keeps uffd-wp of file-backed PTEs as a marker
	 * (only destroying the VMA or punching a hole drops it) */
	for (uint64_t v = vpn; v < vpn + n && h->cfg.uffd_markers; v++)
		if ((m->vma[v] & (VMA_SHARED | VMA_UFFD_WP)) == (VMA_SHARED | VMA_UFFD_WP) && m->wp[v])
			m->pte[v] = (struct s2host__pte){ 0, PTE_MARKER | PTE_UFFD_WP };
	return s2host__end(h, 0);
}

/* Clear the write bit (and set 'set') on every present mapping in the range
 * that keep() accepts, under one invalidation. */
static void wrprotect_range(struct s2host *h, int mm, uint64_t vpn, uint64_t n,
			    enum s2host_mn_event ev, unsigned set, unsigned clear,
			    bool (*keep)(struct s2host *, int, const struct s2host__pte *))
{
	struct s2host__mm *m = &h->mm[mm];

	s2host__inval_start(h, mm, vpn, n, ev);
	for (uint64_t v = vpn; v < vpn + n; v++) {
		struct s2host__pte *pmd = s2host__pmd(h, mm, v);
		struct s2host__pte *e = pmd->fl & PTE_PRESENT ? pmd : &m->pte[v];
		if (!(e->fl & PTE_PRESENT) || (keep && keep(h, mm, e)))
			continue;
		if (e == pmd && v % S2HOST_THP_PAGES)
			continue;	/* once per PMD */
		e->fl = (e->fl & ~(PTE_WRITE | clear)) | set;
	}
	s2host__inval_end(h, mm, vpn, n, ev);
}

int s2host_mprotect(struct s2host *h, int mm, uint64_t hva, uint64_t size, unsigned prot)
{
	int err = range_ok(h, mm, hva, size);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT, n = size >> S2HOST_PAGE_SHIFT;
	for (uint64_t v = vpn; v < vpn + n; v++)
		if (!(h->mm[mm].vma[v] & VMA_MAPPED))
			return s2host__end(h, S2_ENOENT);
	split_partial(h, mm, vpn, n);
	for (uint64_t v = vpn; v < vpn + n; v++) {
		h->mm[mm].vma[v] &= (uint8_t)~VMA_WRITE;
		if (prot & S2HOST_PROT_WRITE)
			h->mm[mm].vma[v] |= VMA_WRITE;
	}
	if (!(prot & S2HOST_PROT_WRITE))
		wrprotect_range(h, mm, vpn, n, S2HOST_MN_PROTECTION_VMA, 0, 0, NULL);
	return s2host__end(h, 0);
}

/* fs/proc/task_mmu.c pte_is_pinned(): a pinned page keeps its W bit. */
static bool pte_is_pinned(struct s2host *h, int mm, const struct s2host__pte *e)
{
	return h->cfg.clear_refs_skips_pinned && (e->fl & PTE_WRITE) && h->mm[mm].has_pinned &&
	       s2host__maybe_dma_pinned(s2host__folio_of(h, e->pfn));
}

int s2host_clear_refs(struct s2host *h, int mm)
{
	if (!s2host__mm_ok(h, mm))
		return S2_EINVAL;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	wrprotect_range(h, mm, 0, h->cfg.nr_pages, S2HOST_MN_SOFT_DIRTY, 0, PTE_SOFT_DIRTY,
			pte_is_pinned);
	return s2host__end(h, 0);
}

int s2host__range_ok(const struct s2host *h, int mm, uint64_t hva, uint64_t size)
{
	return range_ok(h, mm, hva, size);
}

int s2host_uffd_wp(struct s2host *h, int mm, uint64_t hva, uint64_t size, bool protect)
{
	int err = range_ok(h, mm, hva, size);
	if (err || (err = s2host__begin(h, 0, 0)))
		return err;
	return s2host__end(h, s2host__uffd_wp_range(h, mm, hva >> S2HOST_PAGE_SHIFT,
						   size >> S2HOST_PAGE_SHIFT, protect));
}

/* mwriteprotect_range(): -ENOENT unless all of it is uffd-wp registered. */
int s2host__uffd_wp_range(struct s2host *h, int mm, uint64_t vpn, uint64_t n, bool protect)
{
	for (uint64_t v = vpn; v < vpn + n; v++)
		if (!(h->mm[mm].vma[v] & VMA_UFFD_WP))
			return S2_ENOENT;
	/* The monitor's view: un-protected from the ioctl's start, protected
	 * from its return (set at the end below: a write racing the ioctl,
	 * as a vCPU's through stage 2 while the notifier unmaps, is legal). */
	if (!protect) {
		memset(h->mm[mm].wp + vpn, 0, n);
		s2host__uffd_unpend(h, mm, vpn, n);
	}
	if (protect) {
		wrprotect_range(h, mm, vpn, n, S2HOST_MN_PROTECTION_PAGE, PTE_UFFD_WP, 0, NULL);
		/* change_pte_range(): a swap entry keeps the bit as
		 * _PAGE_SWP_UFFD_WP (5.7, with uffd-wp itself) */
		for (uint64_t v = vpn; v < vpn + n; v++)
			if (h->mm[mm].pte[v].fl & PTE_SWAP)
				h->mm[mm].pte[v].fl |= PTE_UFFD_WP;
		/* fe2567eb5521: file-backed none PTEs get a marker */
		for (uint64_t v = vpn; v < vpn + n && h->cfg.uffd_markers; v++)
			if ((h->mm[mm].vma[v] & VMA_SHARED) && !h->mm[mm].pte[v].fl)
				h->mm[mm].pte[v] = (struct s2host__pte){ 0, PTE_MARKER | PTE_UFFD_WP };
		/* the monitor may count on what the kernel protected: an empty
		 * anonymous PTE (or, before the markers, an empty file PTE) is
		 * not (UFFD_FEATURE_WP_UNPOPULATED, 6.4, is not modelled) */
		for (uint64_t v = vpn; v < vpn + n; v++)
			h->mm[mm].wp[v] = ((s2host__pmd(h, mm, v)->fl & (PTE_PRESENT | PTE_UFFD_WP)) ==
					   (PTE_PRESENT | PTE_UFFD_WP)) ||
					  (h->mm[mm].pte[v].fl & PTE_UFFD_WP);
	} else {
		/* mm/mprotect.c MM_CP_UFFD_WP_RESOLVE: the write bit is left to
		 * the fault handler, so that COW is decided there. It is still
		 * change_protection(): a secondary MMU's invalidation brackets
		 * the populated range (KVM unmaps and its faults retry, S5.3).
		 * No permission is removed: the host CPUs' TLBs need no flush
		 * (so none is done: a deferred one stays pending). */
		bool populated = false, deferring = h->deferring;
		for (uint64_t v = vpn; v < vpn + n; v++)
			populated |= (h->mm[mm].pte[v].fl | s2host__pmd(h, mm, v)->fl) & PTE_PRESENT;
		h->deferring = true;
		if (populated)
			s2host__inval_start(h, mm, vpn, n, S2HOST_MN_PROTECTION_PAGE);
		for (uint64_t v = vpn; v < vpn + n; v++) {
			struct s2host__pte *pte = &h->mm[mm].pte[v];
			pte->fl &= ~(unsigned)PTE_UFFD_WP;
			if (pte->fl & PTE_MARKER)
				*pte = (struct s2host__pte){ 0, 0 };
			s2host__pmd(h, mm, v)->fl &= ~(unsigned)PTE_UFFD_WP;
		}
		if (populated)
			s2host__inval_end(h, mm, vpn, n, S2HOST_MN_PROTECTION_PAGE);
		h->deferring = deferring;
		/* userfaultfd_writeprotect(): un-protecting wakes the waiters */
		s2host__uffd_wake(h, mm, vpn, n);
	}
	return 0;
}

/* ---- Faults ------------------------------------------------------------------ */

/* do_anonymous_page: a THP if the VMA allows and the aligned 2 MiB around vpn
 * is empty and writable-mapped, else a small page; reads map the zero page. */
static int anon_fault(struct s2host *h, int mm, uint64_t vpn, bool write)
{
	struct s2host__mm *m = &h->mm[mm];
	uint64_t base = vpn - vpn % S2HOST_THP_PAGES;
	bool ae = h->cfg.policy == S2HOST_POL_AE;
	unsigned w = m->vma[vpn] & VMA_WRITE ? PTE_WRITE : 0;

	h->stats.faults++;
	/* do_anonymous_page(): a MISSING-registered range asks the monitor,
	 * for a read (no zero page) as for a write */
	if (m->vma[vpn] & VMA_UFFD_MISSING)
		return s2host__userfault(h, mm, vpn, S2HOST_UFFD_MISSING);
	if (!write) {
		m->pte[vpn] = (struct s2host__pte){ S2HOST_ZERO_PFN, PTE_PRESENT | PTE_YOUNG };
		h->stats.zero_maps++;
		return 0;
	}
	bool thp = true;
	for (unsigned i = 0; i < S2HOST_THP_PAGES && thp; i++)
		thp = (m->vma[base + i] & (VMA_THP | VMA_MAPPED | VMA_WRITE)) ==
			      (VMA_THP | VMA_MAPPED | VMA_WRITE) &&
		      !m->pte[base + i].fl;
	if (thp) {
		uint64_t pfn = s2host__alloc(h, S2HOST_THP_ORDER, mm);
		s2host__folio_of(h, pfn)->entire = 1;
		for (unsigned i = 0; i < S2HOST_THP_PAGES; i++)
			h->page[pfn + i].ae = ae;
		*s2host__pmd(h, mm, vpn) = (struct s2host__pte){
			pfn, PTE_PRESENT | PTE_WRITE | PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY };
		return 0;
	}
	uint64_t pfn = s2host__alloc(h, 0, mm);
	h->page[pfn].mapcount = 1;
	h->page[pfn].ae = ae;
	m->pte[vpn] = (struct s2host__pte){ pfn, PTE_PRESENT | w | PTE_DIRTY | PTE_YOUNG |
						    PTE_SOFT_DIRTY };
	return 0;
}

/* A fault on a present entry (PMD or PTE) that needs no new page: a read
 * marks it young, a write to a writable entry dirties it, a write to a
 * uffd-wp one in a uffd-wp registered range waits for the handler
 * (userfaultfd_pte_wp: S2_EAGAIN, a message queued). 1: the fault goes on
 * (a write the entry does not allow, or an unshare). */
static int fault_on_present(struct s2host *h, int mm, uint64_t vpn, struct s2host__pte *e,
			    bool write, bool unshare)
{
	if (!write && !unshare) {
		e->fl |= PTE_YOUNG;
		return 0;
	}
	if (write && (e->fl & PTE_UFFD_WP) && (h->mm[mm].vma[vpn] & VMA_UFFD_WP))
		return s2host__userfault(h, mm, vpn, S2HOST_UFFD_WP);
	if (write && (e->fl & PTE_WRITE)) {
		e->fl |= PTE_DIRTY | PTE_YOUNG | PTE_SOFT_DIRTY;
		return 0;
	}
	return 1;
}

/*
 * The fault handler for one access. unshare: FAULT_FLAG_UNSHARE (an R/O pin
 * of a possibly shared anon page under AE). force: FOLL_FORCE lets a write
 * fault break COW in a read-only mapping; the PTE then stays read-only.
 */
int s2host__fault(struct s2host *h, int mm, uint64_t vpn, bool write, bool unshare, bool force)
{
	struct s2host__mm *m = &h->mm[mm];
	unsigned vma = m->vma[vpn];

	if (!(vma & VMA_MAPPED))
		return S2_EFAULT;
	if (write && !(vma & VMA_WRITE) && !force)
		return S2_EFAULT;
	if (vma & VMA_SHARED)
		return s2host__shmem_fault(h, mm, vpn, write);
	struct s2host__pte *pmd = s2host__pmd(h, mm, vpn);
	if (pmd->fl & PTE_PRESENT) {
		int ret = fault_on_present(h, mm, vpn, pmd, write, unshare);
		if (ret <= 0)
			return ret;
		h->stats.faults++;
		if (s2host__huge_wp_fault(h, mm, vpn, unshare, force))
			return 0;
		/* fell back to the PTEs of the split PMD */
	}
	struct s2host__pte *pte = &m->pte[vpn];
	if (pte->fl & PTE_SWAP) {
		s2host__swap_in(h, mm, vpn, write);
		if (!write || (pte->fl & PTE_WRITE))
			return 0;
	} else if (!(pte->fl & PTE_PRESENT)) {
		return anon_fault(h, mm, vpn, write);
	}
	int ret = fault_on_present(h, mm, vpn, pte, write, unshare);
	if (ret <= 0)
		return ret;
	h->stats.faults++;
	s2host__wp_fault(h, mm, vpn, unshare, force);
	return 0;
}

int s2host_read(struct s2host *h, int mm, uint64_t hva, uint64_t *value)
{
	int err = range_ok(h, mm, hva & ~(S2HOST_PAGE_SIZE - 1), S2HOST_PAGE_SIZE);
	if (err || (err = s2host__begin(h, 1, 1)))
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT;
	err = s2host__fault(h, mm, vpn, false, false, false);
	if (!err) {
		uint64_t pfn = s2host__mapped_pfn(h, mm, vpn);
		observe(h, mm, vpn, pfn, "its mapping", NULL);
		*value = h->page[pfn].value;
	}
	return s2host__end(h, err);
}

int s2host_write(struct s2host *h, int mm, uint64_t hva, uint64_t value)
{
	int err = range_ok(h, mm, hva & ~(S2HOST_PAGE_SIZE - 1), S2HOST_PAGE_SIZE);
	if (err || (err = s2host__begin(h, S2HOST_THP_PAGES, 2)))
		return err;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT;
	err = s2host__fault(h, mm, vpn, true, false, false);
	if (!err) {
		s2host__user_store(h, mm, vpn, s2host__mapped_pfn(h, mm, vpn), value, "");
	}
	return s2host__end(h, err);
}

/* ---- GUP ------------------------------------------------------------------- */

int s2host_gup(struct s2host *h, int mm, uint64_t hva, unsigned foll,
	       struct s2host_gup_result *out)
{
	int err = range_ok(h, mm, hva & ~(S2HOST_PAGE_SIZE - 1), S2HOST_PAGE_SIZE);
	if (err || (err = s2host__begin(h, S2HOST_THP_PAGES, 2)))
		return err;
	struct s2host__mm *m = &h->mm[mm];
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT;
	unsigned vma = m->vma[vpn];
	bool write = foll & S2HOST_FOLL_WRITE, force = foll & S2HOST_FOLL_FORCE;
	bool pin = foll & S2HOST_FOLL_PIN;
	bool fast = foll & S2HOST_FOLL_FAST_ONLY;

	if (!(vma & VMA_MAPPED) || (write && !(vma & VMA_WRITE) && !force))
		return s2host__end(h, S2_EFAULT);
	/* 5.8 should_force_cow_break(): FOLL_GET on a COW mapping faults for write */
	bool cow_break = h->cfg.policy == S2HOST_POL_MAP2F && !pin && (vma & VMA_WRITE) &&
			 !(vma & VMA_SHARED);
	bool forced = false;
	for (unsigned tries = 0;; tries++) {
		if (tries > 3)
			return s2host__end(h, S2_EAGAIN);	/* the model's own livelock guard */
		struct s2host__pte *pmd = s2host__pmd(h, mm, vpn);
		struct s2host__pte *e = pmd->fl & PTE_PRESENT ? pmd : &m->pte[vpn];
		bool need = !(e->fl & PTE_PRESENT) ||
			    ((write || cow_break) && !(e->fl & PTE_WRITE) && !forced);
		bool unshare = false;
		if (!need && h->cfg.policy == S2HOST_POL_AE && pin && !write) {
			/* gup_must_unshare(): R/O pin of a not-exclusive anon page */
			uint64_t pfn = s2host__mapped_pfn(h, mm, vpn);
			struct s2host__folio *f = s2host__folio_of(h, pfn);
			/* a KSM page is never exclusive, so it is unshared too */
			unshare = f->anon && (f->ksm || !h->page[pfn].ae);
			/* 6.2 "extend FAULT_FLAG_UNSHARE support to anything in a
			 * COW mapping": a long-term R/O pin of the zero page gets
			 * an exclusive page instead */
			if (f->zero && (foll & S2HOST_FOLL_LONGTERM) && (vma & VMA_WRITE))
				unshare = true;
			need = unshare;
		}
		if (!need)
			break;
		if (fast)
			return s2host__end(h, S2_EAGAIN);
		err = s2host__fault(h, mm, vpn, write || cow_break, unshare, force);
		if (err)
			return s2host__end(h, err);
		forced = force && !(vma & VMA_WRITE);
	}
	if (!grow32((void **)&h->ref, &h->cap_ref, h->nr_ref + 1ull, sizeof(*h->ref)))
		return s2host__end(h, S2_ENOMEM);
	uint64_t pfn = s2host__mapped_pfn(h, mm, vpn);
	struct s2host__folio *f = s2host__folio_of(h, pfn);
	if (pin) {
		if (f->order) {
			f->pincount++;
			s2host__get(h, pfn, 1);
		} else {
			s2host__get(h, pfn, S2HOST_PIN_BIAS);
		}
		m->has_pinned = true;
	} else {
		s2host__get(h, pfn, 1);
	}
	struct s2host__ref *r = &h->ref[h->nr_ref];
	*r = (struct s2host__ref){ .live = true, .pin = pin,
				   .longterm = foll & S2HOST_FOLL_LONGTERM, .write = write,
				   .notified = foll & S2HOST_FOLL_NOTIFIED,
				   .mm = mm, .mms = h->nr_mm, .vpn = vpn, .pfn = pfn };
	const struct s2host__pte *pmd = s2host__pmd(h, mm, vpn);
	out->id = h->nr_ref++;
	out->pfn = pfn;
	out->huge = pmd->fl & PTE_PRESENT;
	out->writable = (out->huge ? pmd->fl : m->pte[vpn].fl) & PTE_WRITE;
	return s2host__end(h, 0);
}

static struct s2host__ref *ref_of(struct s2host *h, unsigned id)
{
	return id < h->nr_ref && h->ref[id].live ? &h->ref[id] : NULL;
}

int s2host_unref(struct s2host *h, unsigned id)
{
	if (!ref_of(h, id))
		return S2_ENOENT;
	int err = s2host__begin(h, 0, 0);	/* may move the reference table */
	if (err)
		return err;
	struct s2host__ref *r = ref_of(h, id);
	struct s2host__folio *f = s2host__folio_of(h, r->pfn);
	r->live = false;
	if (r->pin && f->order) {
		f->pincount--;
		s2host__put(h, r->pfn, 1);
	} else {
		s2host__put(h, r->pfn, r->pin ? S2HOST_PIN_BIAS : 1);
	}
	return s2host__end(h, 0);
}

int s2host_ref_read(struct s2host *h, unsigned id, uint64_t *value)
{
	if (!ref_of(h, id))
		return S2_ENOENT;
	int err = s2host__begin(h, 0, 0);	/* may move the reference table */
	if (err)
		return err;
	struct s2host__ref *r = ref_of(h, id);
	observe(h, r->mm, r->vpn, r->pfn, "a GUP reference", r);
	*value = h->page[r->pfn].value;
	return s2host__end(h, 0);
}

int s2host_ref_write(struct s2host *h, unsigned id, uint64_t value)
{
	struct s2host__ref *r = ref_of(h, id);
	if (!r)
		return S2_ENOENT;
	if (!r->write)
		return S2_EINVAL;
	int mm = r->mm;
	uint64_t pfn = r->pfn;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	s2host__store(h, mm, pfn, value);
	return s2host__end(h, 0);
}

int s2host_pfn_read(struct s2host *h, int mm, uint64_t pfn, uint64_t *value)
{
	if (pfn >= h->nr_page || !s2host__mm_ok(h, mm))
		return S2_EINVAL;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	observe(h, mm, S2HOST_NO_PFN, pfn, "a secondary MMU", NULL);
	*value = h->page[pfn].value;
	return s2host__end(h, 0);
}

int s2host_pfn_write(struct s2host *h, int mm, uint64_t pfn, uint64_t value)
{
	if (pfn >= h->nr_page || !s2host__mm_ok(h, mm))
		return S2_EINVAL;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	s2host__store(h, mm, pfn, value);
	return s2host__end(h, 0);
}

int s2host_put_page(struct s2host *h, uint64_t pfn)
{
	if (pfn >= h->nr_page)
		return S2_EINVAL;
	int err = s2host__begin(h, 0, 0);
	if (err)
		return err;
	s2host__put(h, pfn, 1);
	return s2host__end(h, 0);
}

/* ---- Inspection ------------------------------------------------------------- */

int s2host_lookup(const struct s2host *h, int mm, uint64_t hva, struct s2host_pte_view *out)
{
	if (range_ok(h, mm, hva & ~(S2HOST_PAGE_SIZE - 1), S2HOST_PAGE_SIZE))
		return S2_EINVAL;
	uint64_t vpn = hva >> S2HOST_PAGE_SHIFT;
	const struct s2host__mm *m = &h->mm[mm];
	const struct s2host__pte *pmd = &m->pmd[vpn / S2HOST_THP_PAGES];
	const struct s2host__pte *e = pmd->fl & PTE_PRESENT ? pmd : &m->pte[vpn];

	memset(out, 0, sizeof(*out));
	out->present = e->fl & PTE_PRESENT;
	out->writable = e->fl & PTE_WRITE;
	out->dirty = e->fl & PTE_DIRTY;
	out->young = e->fl & PTE_YOUNG;
	out->soft_dirty = e->fl & PTE_SOFT_DIRTY;
	out->uffd_wp = e->fl & PTE_UFFD_WP;
	out->swap = e->fl & PTE_SWAP;
	out->huge = e == pmd;
	out->pfn = s2host__mapped_pfn(h, mm, vpn);
	return 0;
}

int s2host_page(const struct s2host *h, uint64_t pfn, struct s2host_page_view *out)
{
	if (pfn >= h->nr_page)
		return S2_EINVAL;
	const struct s2host__page *p = &h->page[pfn];
	const struct s2host__folio *f = &h->folio[p->folio];

	memset(out, 0, sizeof(*out));
	out->freed = f->freed;
	out->anon = f->anon;
	out->ksm = f->ksm;
	out->zero = f->zero;
	out->large = f->order > 0;
	out->swapcache = f->swapcache;
	out->anon_exclusive = p->ae;
	out->maybe_dma_pinned = s2host__maybe_dma_pinned(f);
	out->refcount = f->ref;
	out->entire_mapcount = f->entire;
	out->pincount = f->pincount;
	out->mapcount = p->mapcount;
	out->double_map = f->double_map;
	/* page_mapcount(): the encoded _mapcount, less PageDoubleMap's offset,
	 * plus the compound mapcount */
	out->page_mapcount = p->mapcount + p->dm_offset - f->double_map + f->entire;
	out->head = f->head;
	out->value = p->value;
	return 0;
}

/* ---- Checks ------------------------------------------------------------------ */

unsigned s2host_check(struct s2host *h)
{
	unsigned before = h->nr_viol;

	/* pin-stable: every long-term pin still mapped where it was taken */
	for (unsigned i = 0; i < h->nr_ref; i++) {
		struct s2host__ref *r = &h->ref[i];
		if (!r->live || !r->longterm || r->detached || r->broken || !h->mm[r->mm].alive)
			continue;
		uint64_t now = s2host__mapped_pfn(h, r->mm, r->vpn);
		if (now != S2HOST_NO_PFN && now != r->pfn) {
			r->broken = true;
			s2host__violate(h, S2HOST_RULE_PIN_STABLE, r->mm, r->vpn, r->pfn,
					"process %d maps page %llu at 0x%llx, but its long-term pin "
					"%u holds page %llu: the device and the process no longer "
					"share memory", r->mm, (unsigned long long)now,
					(unsigned long long)(r->vpn << S2HOST_PAGE_SHIFT), i,
					(unsigned long long)r->pfn);
		}
	}
	/* get-stable: every writable non-pin reference still mapped where it
	 * was taken, unless its process forked since (FOLL_GET across fork
	 * was never reliable) */
	for (unsigned i = 0; i < h->nr_ref; i++) {
		struct s2host__ref *r = &h->ref[i];
		if (!r->live || r->pin || !r->write || r->notified || r->detached || r->broken ||
		    !h->mm[r->mm].alive || !s2host__folio_of(h, r->pfn)->anon)
			continue;
		bool forked = false;
		for (unsigned c = r->mms; c < h->nr_mm && !forked; c++)
			forked = h->mm[c].parent == r->mm;
		uint64_t now = s2host__mapped_pfn(h, r->mm, r->vpn);
		if (!forked && now != S2HOST_NO_PFN && now != r->pfn) {
			r->broken = true;
			s2host__violate(h, S2HOST_RULE_GET_STABLE, r->mm, r->vpn, r->pfn,
					"process %d maps page %llu at 0x%llx, but its writable GUP "
					"reference %u (O_DIRECT) holds page %llu: what the I/O "
					"writes is lost to the process", r->mm,
					(unsigned long long)now,
					(unsigned long long)(r->vpn << S2HOST_PAGE_SHIFT), i,
					(unsigned long long)r->pfn);
		}
	}
	/* refcount: the encoded count covers mappings, pins, refs, swap cache */
	int *need = h->scratch;
	memset(need, 0, h->nr_folio * sizeof(*need));
	for (unsigned i = 0; i < h->nr_ref; i++) {
		const struct s2host__ref *r = &h->ref[i];
		if (!r->live)
			continue;
		unsigned fi = h->page[r->pfn].folio;
		need[fi] += r->pin && !h->folio[fi].order ? S2HOST_PIN_BIAS : 1;
	}
	for (unsigned fi = 0; fi < h->nr_folio; fi++) {
		struct s2host__folio *f = &h->folio[fi];
		if (f->zero || f->dead || f->freed || f->reported)
			continue;
		int n = need[fi] + mapping_refs(h, f) + f->swapcache + f->lru_batch + f->in_cache;
		if (f->ref < n || f->pincount > f->ref) {
			f->reported = true;
			s2host__violate(h, S2HOST_RULE_REFCOUNT, -1, S2HOST_NO_PFN, f->head,
					"folio %llu has refcount %d but %d mapping(s), pins, GUP "
					"references and swap cache hold it (pincount %d)",
					(unsigned long long)f->head, f->ref, n, f->pincount);
		}
	}
	return h->nr_viol - before;
}
