/* One vCPU's Unicorn engine: its view of the IPA space, the hooks that
 * send every access, fetch and maintenance instruction to the model, and
 * the run loop between two scheduler decisions.
 *
 * Unicorn 2.0.1 constraints shape this file (docs/guest.md): an engine
 * stops precisely only in a block hook (before the block runs), in an
 * invalid-memory hook that returns false, or on an exception; a stop asked
 * anywhere else leaves the PC at the start of the block. So an access the
 * TLB cannot serve must find no Unicorn mapping (regions mirror TLB
 * entries), and anything else that needs the machine waits for the next
 * block boundary. */
#include <stdlib.h>
#include <string.h>

#include "cache-model/s2cache.h"
#include "common/s2_bits.h"
#include "guest/s2guest_internal.h"

/* QEMU's exception numbers, as Unicorn passes them to interrupt hooks. */
#define EXCP_UDEF 1
#define EXCP_SWI 2
#define EXCP_PREFETCH_ABORT 3
#define EXCP_DATA_ABORT 4
#define EXCP_BKPT 7
#define EXCP_HVC 11
#define EXCP_SMC 13

static const char *excp_name(uint32_t n)
{
	switch (n) {
	case EXCP_UDEF: return "undefined instruction";
	case EXCP_SWI: return "supervisor call";
	case EXCP_PREFETCH_ABORT: return "instruction abort";
	case EXCP_DATA_ABORT: return "data abort";
	case EXCP_BKPT: return "breakpoint";
	case EXCP_HVC: return "hypervisor call";
	case EXCP_SMC: return "secure monitor call";
	}
	return "exception";
}

static struct s2hyp *machine(const struct gcpu *c)
{
	return c->g->m;
}

static void internal(struct gcpu *c, const char *what, uc_err err)
{
	if (c->stop != STOP_INTERNAL)
		s2guest__end(c, S2GUEST_ERROR, "Unicorn: %s: %s", what, uc_strerror(err));
	c->stop = STOP_INTERNAL;
}

static void remove_cache(struct gcpu *c, uint64_t lo, uint64_t hi)
{
	uc_err err = uc_ctl_remove_cache(c->uc, lo, hi);
	if (err)
		internal(c, "dropping translated code", err);
}

/* ------------------------------------------------------------------ */
/* Guest memory as the memslots hold it                                */
/* ------------------------------------------------------------------ */

static uint8_t *ram_of_hva(struct s2guest *g, uint64_t hva, uint64_t n)
{
	for (unsigned i = 0; i < g->cfg.nr_slots; i++) {
		const struct s2hyp_memslot *s = &g->cfg.slots[i];
		if (hva >= s->hva && hva - s->hva < s->size && n <= s->size - (hva - s->hva))
			return g->ram[i] + (hva - s->hva);
	}
	return NULL;
}

/* What memory holds at ipa through the memslots (reports only). */
uint32_t s2guest__insn_at(struct gcpu *c, uint64_t ipa)
{
	const struct s2guest_config *cfg = &c->g->cfg;
	uint32_t insn = 0;
	for (unsigned i = 0; i < cfg->nr_slots; i++) {
		const struct s2hyp_memslot *s = &cfg->slots[i];
		if (ipa >= s->ipa && ipa - s->ipa + 4 <= s->size) {
			memcpy(&insn, c->g->ram[i] + (ipa - s->ipa), 4);
			break;
		}
	}
	return insn;
}

uint64_t s2guest__reg(const struct gcpu *c, unsigned n)
{
	uint64_t v = 0;
	if (n <= 28)
		uc_reg_read(c->uc, UC_ARM64_REG_X0 + (int)n, &v);
	else if (n == 29)
		uc_reg_read(c->uc, UC_ARM64_REG_X29, &v);
	else if (n == 30)
		uc_reg_read(c->uc, UC_ARM64_REG_X30, &v);
	return v;
}

static uint64_t pc_now(struct gcpu *c)
{
	uint64_t pc = 0;
	uc_reg_read(c->uc, UC_ARM64_REG_PC, &pc);
	return pc;
}

/* ------------------------------------------------------------------ */
/* Code pages: which engines translated code where, and which pages     */
/* each runs without checks                                            */
/* ------------------------------------------------------------------ */

/* The engines that ran code in page, as a mask; 0 for none. */
static uint32_t code_cpus(const struct s2guest *g, uint64_t page)
{
	uint64_t cpus;
	return s2_map_get(&g->code, page + 1, &cpus) ? (uint32_t)cpus : 0;
}

/* Out of memory, the page is not remembered: a later write to it then
 * leaves Unicorn's translation in place, as before the map existed. */
static void code_add(struct s2guest *g, uint64_t page, unsigned cpu)
{
	s2_map_put(&g->code, page + 1, code_cpus(g, page) | 1u << cpu);
}

static int find_page(const uint64_t *set, unsigned n, uint64_t page, bool *found)
{
	unsigned lo = 0, hi = n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (set[mid] < page)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && set[lo] == page;
	return (int)lo;
}

static bool set_add(uint64_t **set, unsigned *n, unsigned *cap, uint64_t page)
{
	bool found;
	int at = find_page(*set, *n, page, &found);
	if (found)
		return true;
	if (*n == *cap) {
		unsigned ncap = *cap ? *cap * 2 : 16;
		uint64_t *p = realloc(*set, ncap * sizeof(*p));
		if (!p)
			return false;
		*set = p;
		*cap = ncap;
	}
	memmove(*set + at + 1, *set + at, (*n - (unsigned)at) * sizeof(**set));
	(*set)[at] = page;
	(*n)++;
	return true;
}

static bool set_del(uint64_t *set, unsigned *n, uint64_t page)
{
	bool found;
	int at = find_page(set, *n, page, &found);
	if (!found)
		return false;
	memmove(set + at, set + at + 1, (*n - (unsigned)at - 1) * sizeof(*set));
	(*n)--;
	return true;
}

static bool is_verified(const struct gcpu *c, uint64_t page)
{
	bool found;
	find_page(c->verified, c->nverified, page, &found);
	return found;
}

static void add_block_hook(struct gcpu *c, uint64_t lo, uint64_t hi);

/*
 * Running, with verified pages uninstrumented, this engine must see every
 * block from now on: hook the whole space and drop the code translated
 * without the hook (the block running now finishes; Unicorn keeps its host
 * code until a flush). The next quantum rebuilds the hooks.
 */
static void instrument_now(struct gcpu *c)
{
	if (c->built_whole || c->emergency)
		return;
	for (unsigned i = 0; i < c->nbhooks; i++)
		uc_hook_del(c->uc, c->bhooks[i]);
	c->nbhooks = 0;
	add_block_hook(c, 1, 0);
	c->emergency = true;
	c->hooks_valid = false;
	for (unsigned i = 0; i < c->nbuilt; i++)
		remove_cache(c, c->built[i], c->built[i] + UPAGE);
}

/* Take page back from c's verified set (its icache view may be stale). */
static void unverify(struct gcpu *c, uint64_t page, bool running)
{
	if (!set_del(c->verified, &c->nverified, page))
		return;
	c->hooks_valid = false;
	if (running)
		instrument_now(c);
}

/* Forget every verified page of c in [lo, hi) and the code Unicorn
 * translated there. */
static void drop_code(struct gcpu *c, uint64_t lo, uint64_t hi, bool running)
{
	uint64_t key, cpus;
	for (uint32_t pos = 0; s2_map_next(&c->g->code, &pos, &key, &cpus);) {
		uint64_t page = key - 1;
		if (!(cpus & (1u << c->id)) || page < lo || page >= hi)
			continue;
		unverify(c, page, running);
		remove_cache(c, page, page + UPAGE);
	}
}

/* A write to [ipa, ipa + n) by writer (NULL: the host). Every engine that
 * translated code there drops it, so that Unicorn runs what memory holds,
 * and checks the page again. */
static void note_write(struct s2guest *g, const struct gcpu *writer, uint64_t ipa, uint64_t n)
{
	if (!g->code.n)
		return;
	for (uint64_t page = ipa & ~(UPAGE - 1); page < ipa + n; page += UPAGE) {
		uint32_t cpus = code_cpus(g, page);
		if (!cpus)
			continue;
		for (unsigned i = 0; i < g->nr_vcpus; i++) {
			if (!(cpus & (1u << i)))
				continue;
			struct gcpu *e = &g->cpu[i];
			/* Unicorn sees its own engine's writes to code. */
			if (e != writer)
				remove_cache(e, page, page + UPAGE);
			unverify(e, page, e == writer);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Regions                                                             */
/* ------------------------------------------------------------------ */

static struct region *region_at(struct gcpu *c, uint64_t ipa)
{
	if (c->last < c->nregions) {
		struct region *r = &c->regions[c->last];
		if (ipa - r->ipa < r->size) {
			r->used = ++c->clock;
			return r;
		}
	}
	for (unsigned i = 0; i < c->nregions; i++) {
		struct region *r = &c->regions[i];
		if (ipa - r->ipa < r->size) {
			c->last = i;
			r->used = ++c->clock;
			return r;
		}
	}
	return NULL;
}

static bool unmap_region(struct gcpu *c, unsigned i)
{
	struct region *r = &c->regions[i];
	if (r->uprot & UC_PROT_EXEC)
		drop_code(c, r->ipa, r->ipa + r->size, false);
	uc_err err = uc_mem_unmap(c->uc, r->ipa, r->size);
	if (err) {
		internal(c, "unmapping a region", err);
		return false;
	}
	c->regions[i] = c->regions[--c->nregions];
	return true;
}

/* The least recently used region, data before code, never the one the
 * PC is in. */
static bool evict_one(struct gcpu *c)
{
	int best = -1;
	for (int pass = 0; pass < 2 && best < 0; pass++) {
		for (unsigned i = 0; i < c->nregions; i++) {
			const struct region *r = &c->regions[i];
			if (c->pc - r->ipa < r->size || (!pass && (r->uprot & UC_PROT_EXEC)))
				continue;
			if (best < 0 || r->used < c->regions[best].used)
				best = (int)i;
		}
	}
	if (best < 0)
		best = 0;
	c->res.regions_evicted++;
	return unmap_region(c, (unsigned)best);
}

static uint32_t uc_prot_of(unsigned prot)
{
	return ((prot & S2PT_PROT_R) ? UC_PROT_READ : 0) | ((prot & S2PT_PROT_W) ? UC_PROT_WRITE : 0) |
	       ((prot & S2PT_PROT_X) ? UC_PROT_EXEC : 0);
}

/* Mirror one TLB entry as a Unicorn region (the engine is stopped). */
static bool map_region(struct gcpu *c, const struct s2hyp_translation *t)
{
	struct s2guest *g = c->g;
	uint64_t lo = t->ipa, hi = t->ipa + t->size;
	uint8_t *host = ram_of_hva(g, t->hva, t->size);

	if (!host) {
		s2guest__end(c, S2GUEST_BAD_ACCESS, "stage 2 maps IPA %#llx to PA %#llx, not guest RAM",
			     (unsigned long long)t->ipa, (unsigned long long)t->pa);
		c->stop = STOP_BAD;
		return false;
	}
	for (unsigned i = 0; i < c->nregions;) {
		const struct region *r = &c->regions[i];
		if (r->ipa < hi && lo < r->ipa + r->size) {
			if (!unmap_region(c, i))
				return false;
		} else {
			i++;
		}
	}
	while (c->nregions >= g->cfg.max_regions)
		if (!evict_one(c))
			return false;
	uint32_t uprot = uc_prot_of(t->prot);
	uc_err err = uc_mem_map_ptr(c->uc, lo, t->size, uprot, host);
	if (err) {
		internal(c, "mapping a region", err);
		return false;
	}
	c->regions[c->nregions++] = (struct region){
		.ipa = lo, .size = t->size, .pa = t->pa, .host = host, .tprot = t->prot,
		.uprot = uprot, .used = ++c->clock,
	};
	c->res.regions_mapped++;
	return true;
}

/* The TLB may have lost or changed entries since the engine last ran:
 * regions that no longer mirror one go. */
static void reconcile(struct gcpu *c)
{
	uint64_t gen = s2hyp_vcpu_tlb_gen(machine(c), c->id);
	if (gen == c->tlb_gen)
		return;
	for (unsigned i = 0; i < c->nregions;) {
		const struct region *r = &c->regions[i];
		struct s2hyp_translation t;
		if (s2hyp_vcpu_translate(machine(c), c->id, r->ipa, &t) || t.ipa != r->ipa ||
		    t.size != r->size || t.pa != r->pa || t.prot != r->tprot) {
			if (!unmap_region(c, i))
				return;
		} else {
			i++;
		}
	}
	c->tlb_gen = gen;
}

static uint64_t mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *arg)
{
	struct gcpu *c = arg;
	(void)uc;
	(void)offset;
	(void)size;
	c->res.mmio++;
	return 0;
}

static void mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *arg)
{
	struct gcpu *c = arg;
	(void)uc;
	(void)offset;
	(void)size;
	(void)value;
	c->res.mmio++;
}

void s2guest__engine_mmio(struct gcpu *c, const struct s2hyp_vcpu_op *op)
{
	uint64_t page = op->ipa & ~(UPAGE - 1);
	for (unsigned i = 0; i < c->nmmio; i++)
		if (c->mmio[i].ipa == page)
			return;
	if (c->nmmio == MAX_MMIO) {
		s2guest__end(c, S2GUEST_BAD_ACCESS, "more than %u MMIO pages", MAX_MMIO);
		return;
	}
	/* Reads as zero, writes ignored: the model has no devices. */
	uc_err err = uc_mmio_map(c->uc, page, UPAGE, mmio_read, c, mmio_write, c);
	if (err) {
		internal(c, "mapping an MMIO page", err);
		return;
	}
	c->mmio[c->nmmio++] = (struct region){ .ipa = page, .size = UPAGE };
}

/* ------------------------------------------------------------------ */
/* Block hooks: quanta and fetch checks                                 */
/* ------------------------------------------------------------------ */

/*
 * Stop the engine from a block or code hook, before the instruction at
 * addr: none of it (nor, for a block hook, of its block) has run. The run
 * resumes at addr, whatever PC Unicorn reports: after a stop at a block
 * boundary Unicorn 2.0.1 puts the PC back to the start of the block only
 * while the engine has no code hook, and a deleted hook stays on its list
 * until the end of the next uc_emu_start. Without one, a block entered by
 * a direct jump (no PC store) leaves the PC where the last load or store of
 * an earlier block synced it, on instructions that have already run.
 */
static void stop_engine(struct gcpu *c, enum stop_reason why, uint64_t addr)
{
	c->stop = why;
	c->hook_stop = true;
	c->hook_pc = addr;
	uc_emu_stop(c->uc);
}

/* At the next block boundary: the only place a stop is precise. */
static void stop_soon(struct gcpu *c, enum stop_reason why)
{
	if (!c->want_stop) {
		c->want_stop = true;
		c->want_reason = why;
	}
	instrument_now(c);
}

static bool seen_stale(struct gcpu *c, uint64_t pc)
{
	for (unsigned i = 0; i < c->nstale; i++)
		if (c->stale_pcs[i] == pc)
			return true;
	if (c->nstale < STALE_SEEN)
		c->stale_pcs[c->nstale++] = pc;
	return false;
}

static void check_fetches(struct gcpu *c, uint64_t lo, uint64_t hi)
{
	struct s2guest *g = c->g;
	for (uint64_t a = lo; a < hi; a += 4) {
		uint32_t insn;
		struct s2hyp_access_check chk;
		/* One report per line: a stale line is usually stale throughout. */
		if (s2hyp_vcpu_access(g->m, c->id, S2HYP_ACC_EXEC, a, &insn, 4, false, 0, &chk) ||
		    !chk.stale || seen_stale(c, a & ~(uint64_t)(g->line_bytes - 1)))
			continue;
		struct s2guest_report *r = s2guest__report(g, S2GUEST_REP_STALE_INSN, c, a);
		if (!r)
			continue;
		r->ipa = a;
		r->pa = chk.pa;
		r->access = S2HYP_ACC_EXEC;
		r->size = 4;
		r->stale_insn = insn;
		memcpy(&r->fresh_insn, chk.fresh, 4);
		s2guest__disasm(g, r->stale_insn, a, r->stale_text, sizeof(r->stale_text));
		s2guest__disasm(g, r->fresh_insn, a, r->fresh_text, sizeof(r->fresh_text));
	}
}

static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *arg)
{
	struct gcpu *c = arg;
	(void)uc;

	if (c->want_stop) {
		c->want_stop = false;
		stop_engine(c, c->want_reason, addr);
		return;
	}
	if (c->counted) {
		if (!c->blocks_left) {
			stop_engine(c, STOP_QUANTUM, addr);
			return;
		}
		c->blocks_left--;
	}
	uint64_t end = addr + (size ? size : 4);
	bool unchecked = false;
	for (uint64_t p = addr & ~(UPAGE - 1); p < end; p += UPAGE)
		unchecked |= !is_verified(c, p);
	if (!unchecked)
		return;
	if (!c->counted) {
		/* Checked blocks cost: end the quantum soon, so that the page
		 * can be verified and run without hooks. */
		if (!c->checked_left) {
			stop_engine(c, STOP_QUANTUM, addr);
			return;
		}
		c->checked_left--;
	}
	c->res.blocks_checked++;
	for (uint64_t p = addr & ~(UPAGE - 1); p < end; p += UPAGE) {
		if (is_verified(c, p))
			continue;
		uint64_t lo = p > addr ? p : addr, hi = p + UPAGE < end ? p + UPAGE : end;
		check_fetches(c, lo, hi);
		code_add(c->g, p, c->id);
		set_add(&c->cand, &c->ncand, &c->cand_cap, p);
	}
}

static void add_block_hook(struct gcpu *c, uint64_t lo, uint64_t hi)
{
	if (c->nbhooks == c->bhooks_cap) {
		unsigned ncap = c->bhooks_cap ? c->bhooks_cap * 2 : 8;
		uc_hook *p = realloc(c->bhooks, ncap * sizeof(*p));
		if (!p) {
			c->stop = STOP_INTERNAL;
			s2guest__end(c, S2GUEST_ERROR, "out of memory");
			return;
		}
		c->bhooks = p;
		c->bhooks_cap = ncap;
	}
	uc_err err = uc_hook_add(c->uc, &c->bhooks[c->nbhooks], UC_HOOK_BLOCK, (void *)on_block, c,
				 lo, hi);
	if (err)
		internal(c, "adding a block hook", err);
	else
		c->nbhooks++;
}

/*
 * Block hooks for the coming quantum: everywhere, or everywhere but the
 * verified pages. Hooks are compiled into translated code, so the pages
 * whose instrumentation changes lose their translations.
 */
static void build_hooks(struct gcpu *c, bool whole)
{
	bool same = c->hooks_valid && c->built_whole == whole && c->nbuilt == c->nverified &&
		    (!c->nverified || !memcmp(c->built, c->verified, c->nverified * sizeof(*c->built)));
	if (same)
		return;
	for (unsigned i = 0; i < c->nbhooks; i++)
		uc_hook_del(c->uc, c->bhooks[i]);
	c->nbhooks = 0;
	if (whole) {
		add_block_hook(c, 1, 0);
	} else {
		uint64_t from = 0;
		for (unsigned i = 0; i < c->nverified; i++) {
			uint64_t p = c->verified[i];
			if (p > from)
				add_block_hook(c, from, p - 1);
			from = p + UPAGE;
		}
		add_block_hook(c, from, UINT64_MAX);
	}
	for (unsigned i = 0; i < c->nbuilt; i++)
		remove_cache(c, c->built[i], c->built[i] + UPAGE);
	for (unsigned i = 0; i < c->nverified; i++)
		remove_cache(c, c->verified[i], c->verified[i] + UPAGE);
	if (c->nverified > c->built_cap) {
		uint64_t *p = realloc(c->built, c->nverified * sizeof(*p));
		if (!p) {
			c->stop = STOP_INTERNAL;
			s2guest__end(c, S2GUEST_ERROR, "out of memory");
			return;
		}
		c->built = p;
		c->built_cap = c->nverified;
	}
	if (c->nverified)
		memcpy(c->built, c->verified, c->nverified * sizeof(*c->built));
	c->nbuilt = c->nverified;
	c->built_whole = whole;
	c->hooks_valid = true;
	c->emergency = false;
}

/*
 * A page checked during the last quanta is verified when a fetch of every
 * line in it would return what memory holds. Lines the icache model does
 * not hold are filled speculatively (a CPU may prefetch any line of an
 * executable page), so the model knows every line the engine may now run
 * without a check: a later write to any of them makes it stale there.
 */
static void verify_candidates(struct gcpu *c)
{
	struct s2guest *g = c->g;
	for (unsigned i = 0; i < c->ncand; i++) {
		uint64_t page = c->cand[i];
		bool fresh = true;
		for (uint64_t a = page; a < page + UPAGE && fresh; a += g->line_bytes) {
			uint32_t insn;
			struct s2hyp_access_check chk;
			fresh = !s2hyp_vcpu_access(g->m, c->id, S2HYP_ACC_EXEC, a, &insn, 4, false,
						   S2HYP_ACCESS_SPECULATIVE, &chk) &&
				!chk.stale;
		}
		if (fresh && set_add(&c->verified, &c->nverified, &c->verified_cap, page)) {
			c->res.pages_verified++;
			c->hooks_valid = false;
		}
	}
	c->ncand = 0;
}

/* ------------------------------------------------------------------ */
/* Data accesses                                                       */
/* ------------------------------------------------------------------ */

static void report_stale_read(struct gcpu *c, uint64_t ipa, const uint8_t *got, unsigned n,
			      const struct s2hyp_access_check *chk)
{
	uint64_t pc = pc_now(c);
	if (seen_stale(c, pc | 1))	/* data reports: odd keys, fetches are aligned */
		return;
	struct s2guest_report *r = s2guest__report(c->g, S2GUEST_REP_STALE_DATA, c, pc);
	if (!r)
		return;
	r->ipa = ipa;
	r->pa = chk->pa;
	r->access = S2HYP_ACC_READ;
	r->size = n;
	memcpy(&r->got, got, n < 8 ? n : 8);
	memcpy(&r->want, chk->fresh, n < 8 ? n : 8);
}

static void on_mem(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		   void *arg)
{
	struct gcpu *c = arg;
	struct s2guest *g = c->g;
	bool write = type == UC_MEM_WRITE;
	uint8_t bytes[16] = { 0 };
	(void)uc;

	if (size <= 0 || size > 16)
		return;
	for (int i = 0; i < size && i < 8; i++)
		bytes[i] = (uint8_t)((uint64_t)value >> (8 * i));
	for (uint64_t done = 0; done < (uint64_t)size;) {
		uint64_t a = addr + done;
		struct region *r = region_at(c, a);
		/* Unmapped or MMIO: the invalid-access hook or the device takes it. */
		if (!r || !r->host)
			return;
		uint64_t n = (uint64_t)size - done;
		if (n > r->ipa + r->size - a)
			n = r->ipa + r->size - a;
		struct s2hyp_access_check chk;
		uint8_t got[16];
		int ret = s2hyp_vcpu_access(g->m, c->id, write ? S2HYP_ACC_WRITE : S2HYP_ACC_READ, a,
					    write ? bytes + done : got, (unsigned)n, false, 0, &chk);
		if (ret)	/* not permitted: the permission hook takes it */
			return;
		if (write) {
			note_write(g, c, a, n);
		} else {
			/* Unicorn loads after this hook: it gets what the model returned. */
			memcpy(r->host + (a - r->ipa), got, n);
			if (chk.stale)
				report_stale_read(c, a, got, (unsigned)n, &chk);
		}
		done += n;
	}
	if (!c->counted && c->accesses_left && !--c->accesses_left)
		stop_soon(c, STOP_QUANTUM);
}

static enum s2hyp_access access_of(uc_mem_type type)
{
	switch (type) {
	case UC_MEM_WRITE_UNMAPPED:
	case UC_MEM_WRITE_PROT:
		return S2HYP_ACC_WRITE;
	case UC_MEM_FETCH_UNMAPPED:
	case UC_MEM_FETCH_PROT:
		return S2HYP_ACC_EXEC;
	default:
		return S2HYP_ACC_READ;
	}
}

/* Unicorn has no mapping allowing the access: map the TLB's, or hand the
 * access to the machine. Returning false stops the engine at the faulting
 * instruction, which is what both need. */
static bool on_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		       void *arg)
{
	struct gcpu *c = arg;
	const struct s2hyp_config *mc = &c->g->cfg.machine;
	enum s2hyp_access a = access_of(type);
	(void)uc;

	c->stop_pc = pc_now(c);
	/* A CMO earlier in this block waits for its fault: it goes first. */
	if (c->ncmoq) {
		c->stop = STOP_CMO;
		return false;
	}
	if (addr >= s2_bit(mc->ipa_bits)) {
		s2guest__end(c, S2GUEST_BAD_ACCESS,
			     "%s of IPA %#llx, beyond the %u-bit IPA space (an address size fault)",
			     a == S2HYP_ACC_EXEC ? "fetch" : a == S2HYP_ACC_WRITE ? "write" : "read",
			     (unsigned long long)addr, mc->ipa_bits);
		c->stop = STOP_BAD;
		return false;
	}
	struct s2hyp_translation t;
	if (!s2hyp_vcpu_translate(c->g->m, c->id, addr, &t) && s2hyp_access_allowed(t.prot, a)) {
		c->map = t;
		c->stop = STOP_MAP;
		return false;
	}
	c->miss = (struct s2hyp_vcpu_op){
		.access = a, .ipa = addr, .size = a == S2HYP_ACC_EXEC ? 4 : (unsigned)size,
		.value = (uint64_t)value, .phase = c->phase,
	};
	c->miss_pc = c->stop_pc;
	c->stop = STOP_MISS;
	return false;
}

static void on_intr(uc_engine *uc, uint32_t intno, void *arg)
{
	struct gcpu *c = arg;
	uint64_t pc = pc_now(c);
	uint32_t insn = s2guest__insn_at(c, pc);

	c->stop_pc = pc;
	c->intno = intno;
	/* Unicorn's CPU has no EL2: HVC at EL1 is undefined, and arrives here
	 * with the PC on it. */
	if ((intno == EXCP_UDEF || intno == EXCP_HVC) && (insn & 0xffe0001fu) == 0xd4000002u) {
		c->hvc_imm = (insn >> 5) & 0xffff;
		c->stop = STOP_HVC;
	} else {
		c->stop = STOP_EXCEPTION;
	}
	uc_emu_stop(uc);
}

/* ------------------------------------------------------------------ */
/* System instructions                                                 */
/* ------------------------------------------------------------------ */

/* The cache maintenance instruction SYS #op1, C7, Cm, #op2 encodes, or -1
 * (address translation, set/way: -2). */
static int cmo_of(uint32_t op1, uint32_t crm, uint32_t op2)
{
	if (op1 == 0 && op2 == 0 && crm == 1)
		return S2CACHE_IC_IALLUIS;
	if (op1 == 0 && op2 == 0 && crm == 5)
		return S2CACHE_IC_IALLU;
	if (op1 == 0 && op2 == 1 && crm == 6)
		return S2CACHE_DC_IVAC;
	if (op1 == 0 && op2 == 2 && (crm == 6 || crm == 10 || crm == 14))
		return -2;
	if (op1 == 3 && op2 == 1) {
		switch (crm) {
		case 4: return S2CACHE_DC_ZVA;
		case 5: return S2CACHE_IC_IVAU;
		case 10: return S2CACHE_DC_CVAC;
		case 11: return S2CACHE_DC_CVAU;
		case 12: /* DC CVAP: to the point of persistence, here PoC */
		case 13: /* DC CVADP */
			return S2CACHE_DC_CVAC;
		case 14: return S2CACHE_DC_CIVAC;
		}
	}
	return -1;
}

/* What a completed guest CMO means for the engines' translated code. */
static void after_cmo(struct gcpu *c, unsigned op, uint64_t ipa, bool running)
{
	struct s2guest *g = c->g;

	if (op == S2CACHE_DC_ZVA) {
		uint64_t lo = ipa & ~63ull;
		struct region *r = region_at(c, lo);
		if (r && r->host && lo + 64 <= r->ipa + r->size)
			memset(r->host + (lo - r->ipa), 0, 64);
		note_write(g, running ? c : NULL, lo, 64);
		return;
	}
	if (op == S2CACHE_IC_IVAU) {
		uint64_t page = ipa & ~(UPAGE - 1);
		for (unsigned i = 0; i < g->nr_vcpus; i++) {
			struct gcpu *e = &g->cpu[i];
			remove_cache(e, page, page + UPAGE);
			unverify(e, page, running && e == c);
		}
		return;
	}
	if (op == S2CACHE_IC_IALLU || op == S2CACHE_IC_IALLUIS) {
		for (unsigned i = 0; i < g->nr_vcpus; i++)
			drop_code(&g->cpu[i], 0, UINT64_MAX, running && &g->cpu[i] == c);
	}
}

static uint32_t on_sys(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *cp, void *arg)
{
	struct gcpu *c = arg;
	(void)uc;
	(void)reg;

	if (cp->op0 != 1)
		return 0;
	if (cp->crn == 8) {
		/* TLBI at EL1 names stage-1 entries; the model keeps none. */
		c->res.tlbis++;
		return 1;
	}
	if (cp->crn != 7)
		return 0;
	int op = cmo_of(cp->op1, cp->crm, cp->op2);
	if (op == -1)
		return 0;
	c->res.cmos++;
	/* Set/way operations: KVM traps and emulates them; not modelled. */
	if (op == -2)
		return 1;
	/* Behind a CMO that waits, every CMO waits: they complete in order. */
	int ret = c->ncmoq ? S2_ENOENT : s2hyp_vcpu_cmo(c->g->m, c->id, (unsigned)op, cp->val, false);
	if (ret == S2_ENOENT) {
		/* A stage-2 fault on a CMO: the machine handles it as a read
		 * (a write for DC ZVA), then the CMO completes. Until the next
		 * block the engine goes on; data accesses to the same page
		 * fault, so the order that matters is kept. */
		if (c->ncmoq == c->cmoq_cap) {
			unsigned ncap = c->cmoq_cap ? c->cmoq_cap * 2 : 8;
			struct pending_cmo *q = realloc(c->cmoq, ncap * sizeof(*q));
			if (!q) {
				c->stop = STOP_INTERNAL;
				s2guest__end(c, S2GUEST_ERROR, "out of memory");
				uc_emu_stop(uc);
				return 1;
			}
			c->cmoq = q;
			c->cmoq_cap = ncap;
		}
		c->cmoq[c->ncmoq++] = (struct pending_cmo){ (unsigned)op, cp->val, pc_now(c) };
		stop_soon(c, STOP_CMO);
		return 1;
	}
	if (!ret)
		after_cmo(c, (unsigned)op, cp->val, true);
	return 1;
}

static uint32_t on_msr(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *cp, void *arg)
{
	struct gcpu *c = arg;
	(void)uc;
	(void)reg;

	/* SCTLR_EL1.M = 1 would need stage 1 walked through our tables, which
	 * Unicorn cannot hand us (no TLB-fill hook): refuse, stop the run. */
	if (cp->op0 == 3 && cp->op1 == 0 && cp->crn == 1 && cp->crm == 0 && cp->op2 == 0 &&
	    (cp->val & 1)) {
		c->mmu_value = cp->val;
		c->stop_pc = pc_now(c);
		stop_soon(c, STOP_MMU_ON);
		return 1;
	}
	return 0;
}

/* CTR_EL0 tells a guest whether it may skip maintenance (Linux reads IDC
 * and DIC): it must describe the modelled caches, not Unicorn's. */
static uint32_t on_mrs(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *cp, void *arg)
{
	struct gcpu *c = arg;
	if (cp->op0 == 3 && cp->op1 == 3 && cp->crn == 0 && cp->crm == 0 && cp->op2 == 1) {
		uint64_t v = c->g->ctr_el0;
		uc_reg_write(uc, reg, &v);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Life cycle and the run loop                                         */
/* ------------------------------------------------------------------ */

int s2guest__engine_init(struct gcpu *c, char *err, size_t errlen)
{
	struct s2guest *g = c->g;
	uc_hook h;
	uc_err e = uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &c->uc);
	if (e) {
		snprintf(err, errlen, "Unicorn: cannot open an AArch64 engine: %s", uc_strerror(e));
		c->uc = NULL;
		return S2_EINVAL;
	}
	/* The "max" CPU: v8.x instructions (LSE atomics among them) that a
	 * guest built for a recent core uses. */
	if ((e = uc_ctl_set_cpu_model(c->uc, UC_CPU_ARM64_MAX))) {
		snprintf(err, errlen, "Unicorn: cannot select the max CPU model: %s", uc_strerror(e));
		return S2_EINVAL;
	}
	c->regions = calloc(g->cfg.max_regions, sizeof(*c->regions));
	if (!c->regions) {
		snprintf(err, errlen, "out of memory");
		return S2_ENOMEM;
	}
	if ((e = uc_hook_add(c->uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, (void *)on_mem, c, 1,
			     0)) ||
	    (e = uc_hook_add(c->uc, &h, UC_HOOK_MEM_INVALID, (void *)on_invalid, c, 1, 0)) ||
	    (e = uc_hook_add(c->uc, &h, UC_HOOK_INTR, (void *)on_intr, c, 1, 0)) ||
	    (e = uc_hook_add(c->uc, &h, UC_HOOK_INSN, (void *)on_sys, c, 1, 0, UC_ARM64_INS_SYS)) ||
	    (e = uc_hook_add(c->uc, &h, UC_HOOK_INSN, (void *)on_msr, c, 1, 0, UC_ARM64_INS_MSR)) ||
	    (e = uc_hook_add(c->uc, &h, UC_HOOK_INSN, (void *)on_mrs, c, 1, 0, UC_ARM64_INS_MRS))) {
		snprintf(err, errlen, "Unicorn: cannot add hooks: %s", uc_strerror(e));
		return S2_EINVAL;
	}
	uint64_t x0 = c->id, cpacr = 0;
	/* FP/SIMD untrapped at EL1, as firmware leaves it for a kernel. */
	uc_reg_read(c->uc, UC_ARM64_REG_CPACR_EL1, &cpacr);
	cpacr |= 3ull << 20;
	if ((e = uc_reg_write(c->uc, UC_ARM64_REG_CPACR_EL1, &cpacr)) ||
	    (e = uc_reg_write(c->uc, UC_ARM64_REG_X0, &x0)) ||
	    (e = uc_reg_write(c->uc, UC_ARM64_REG_PC, &g->cfg.entry_ipa))) {
		snprintf(err, errlen, "Unicorn: cannot set registers: %s", uc_strerror(e));
		return S2_EINVAL;
	}
	c->pc = g->cfg.entry_ipa;
	c->tlb_gen = UINT64_MAX;
	return 0;
}

void s2guest__engine_fini(struct gcpu *c)
{
	if (c->uc)
		uc_close(c->uc);
	free(c->regions);
	free(c->verified);
	free(c->cand);
	free(c->built);
	free(c->bhooks);
	free(c->rec);
	free(c->cmoq);
	c->uc = NULL;
}

/* Apply the CMOs that waited for translations, in order; S2_ENOENT when
 * the first still has none. */
static int finish_cmos(struct gcpu *c)
{
	unsigned done = 0;
	int ret = 0;
	for (; done < c->ncmoq; done++) {
		const struct pending_cmo *p = &c->cmoq[done];
		ret = s2hyp_vcpu_cmo(c->g->m, c->id, p->op, p->ipa, false);
		if (ret == S2_ENOENT)
			break;
		if (!ret)
			after_cmo(c, p->op, p->ipa, false);
	}
	memmove(c->cmoq, c->cmoq + done, (c->ncmoq - done) * sizeof(*c->cmoq));
	c->ncmoq -= done;
	return c->ncmoq ? S2_ENOENT : 0;
}

static void hand_over(struct gcpu *c, const struct s2hyp_vcpu_op *op)
{
	c->handed = true;
	c->before = s2hyp_stats(c->g->m)->vcpu[c->id];
	c->res.handovers++;
	/* The same instruction handing the same access over again is the
	 * retry of one access (its fault was handled, the walk restarted),
	 * as a program item retries until it completes. */
	bool retry = c->nrec && c->rec_pc == c->miss_pc && c->rec[c->nrec - 1].access == op->access &&
		     c->rec[c->nrec - 1].ipa == op->ipa;
	c->rec_pc = c->miss_pc;
	if (!c->g->cfg.record || retry)
		return;
	if (c->nrec == c->rec_cap) {
		size_t ncap = c->rec_cap ? c->rec_cap * 2 : 64;
		struct s2hyp_vcpu_op *p = realloc(c->rec, ncap * sizeof(*p));
		if (!p)
			return;
		c->rec = p;
		c->rec_cap = ncap;
	}
	c->rec[c->nrec++] = *op;
}

/* Hand over the access the first waiting CMO stands for. */
static void cmo_access(struct gcpu *c, struct s2hyp_vcpu_op *op)
{
	const struct pending_cmo *p = &c->cmoq[0];
	*op = c->miss = (struct s2hyp_vcpu_op){
		.access = p->op == S2CACHE_DC_ZVA ? S2HYP_ACC_WRITE : S2HYP_ACC_READ,
		.ipa = p->ipa, .size = 1, .phase = c->phase,
	};
	c->miss_pc = p->pc;
}

/* -1: go on running; otherwise what run() returns. */
static int hypercall(struct gcpu *c, struct s2hyp_vcpu_op *op)
{
	uint64_t x0 = s2guest__reg(c, 0);
	uint64_t hvc_pc = c->pc;

	/* Resume after the HVC: it was taken as undefined, PC on it. */
	c->pc += 4;
	switch (c->hvc_imm) {
	case S2GUEST_HVC_EXIT:
		c->res.exit_code = x0;
		c->pc = hvc_pc;
		s2guest__end(c, S2GUEST_EXITED, NULL);
		return S2HYP_DRV_DONE;
	case S2GUEST_HVC_LOG:
		if (c->res.nlog < S2GUEST_LOG)
			c->res.log[c->res.nlog++] = x0;
		return -1;
	case S2GUEST_HVC_PHASE:
		if (x0 < c->phase || x0 > UINT32_MAX) {
			c->pc = hvc_pc;
			s2guest__end(c, S2GUEST_EXCEPTION, "hvc #2 to phase %llu from phase %u: "
				     "phases never decrease", (unsigned long long)x0, c->phase);
			return S2HYP_DRV_DONE;
		}
		if (x0 == c->phase)
			return -1;
		c->phase = (unsigned)x0;
		op->phase = c->phase;
		return S2HYP_DRV_YIELD;
	case S2GUEST_HVC_YIELD:
		return S2HYP_DRV_YIELD;
	}
	c->pc = hvc_pc;
	s2guest__end(c, S2GUEST_EXCEPTION, "unknown hypercall hvc #%u", c->hvc_imm);
	return S2HYP_DRV_DONE;
}

static void set_quantum(struct gcpu *c, unsigned q)
{
	static const uint64_t blocks[S2GUEST_NR_QUANTA] = { 0, 4096, 256, 16, 1, 0 };
	c->counted = q >= S2GUEST_Q_4096_BLOCKS && q <= S2GUEST_Q_1_BLOCK;
	c->blocks_left = blocks[q < S2GUEST_NR_QUANTA ? q : 0];
	c->accesses_left = RUN_ACCESSES;
	c->checked_left = RUN_CHECKED_BLOCKS;
	c->want_stop = false;
}

/* One-instruction quanta: a code hook stops the engine precisely before
 * the second instruction. (Unicorn's own instruction count would do, but
 * leaving it flushes every translation, which costs milliseconds.) */
static void on_code(uc_engine *uc, uint64_t addr, uint32_t size, void *arg)
{
	struct gcpu *c = arg;
	(void)uc;
	(void)size;
	if (c->want_stop) {
		c->want_stop = false;
		stop_engine(c, c->want_reason, addr);
	} else if (!c->insns_left--) {
		stop_engine(c, STOP_QUANTUM, addr);
	}
}

static void set_code_hook(struct gcpu *c, bool on)
{
	if (on == !!c->code_hook)
		return;
	if (on) {
		uc_err err = uc_hook_add(c->uc, &c->code_hook, UC_HOOK_CODE, (void *)on_code, c, 1, 0);
		if (err) {
			c->code_hook = 0;
			internal(c, "adding a code hook", err);
		}
	} else {
		uc_hook_del(c->uc, c->code_hook);
		c->code_hook = 0;
	}
	/* Hooks are compiled into translations: retranslate the code this
	 * engine ran (every page it ran is in the code map). */
	uint64_t key, cpus;
	for (uint32_t pos = 0; s2_map_next(&c->g->code, &pos, &key, &cpus);)
		if (cpus & (1u << c->id))
			remove_cache(c, key - 1, key - 1 + UPAGE);
}

enum s2hyp_drv_status s2guest__engine_run(struct gcpu *c, unsigned q, struct s2hyp_vcpu_op *op)
{
	struct s2guest *g = c->g;
	bool one_insn = q == S2GUEST_Q_1_INSN;

	op->phase = c->phase;
	c->res.quanta++;
	c->stop = STOP_NONE;
	reconcile(c);
	if (c->stop == STOP_INTERNAL)
		return S2HYP_DRV_DONE;
	if (c->ncmoq && finish_cmos(c) == S2_ENOENT) {
		cmo_access(c, op);
		hand_over(c, op);
		return S2HYP_DRV_ACCESS;
	}
	verify_candidates(c);
	set_quantum(c, q);
	build_hooks(c, g->cfg.instrument_all || q != S2GUEST_Q_RUN);
	set_code_hook(c, one_insn);
	c->insns_left = 1;

	for (;;) {
		if (c->stop == STOP_INTERNAL)
			return S2HYP_DRV_DONE;
		if (atomic_load(&g->expired)) {
			s2guest__end(c, S2GUEST_TIMEOUT, "the run's time budget ran out");
			return S2HYP_DRV_DONE;
		}
		c->stop = STOP_NONE;
		c->want_stop = false;
		c->hook_stop = false;
		atomic_store(&g->running, c->uc);
		uc_err err = uc_emu_start(c->uc, c->pc, SENTINEL, 0, 0);
		atomic_store(&g->running, NULL);
		/* A hook's stop is where the hook was; any other stop (a fault,
		 * an exception) leaves the PC Unicorn synced on the instruction. */
		c->pc = c->hook_stop ? c->hook_pc : pc_now(c);
		/* One instruction may end before the next block hook. */
		if (c->stop == STOP_NONE && c->want_stop)
			c->stop = c->want_reason;
		switch (c->stop) {
		case STOP_NONE:
			if (atomic_load(&g->expired))
				continue;
			if (err) {
				s2guest__end(c, S2GUEST_ERROR, "Unicorn stopped: %s", uc_strerror(err));
				return S2HYP_DRV_DONE;
			}
			return S2HYP_DRV_YIELD;
		case STOP_QUANTUM:
			return S2HYP_DRV_YIELD;
		case STOP_MAP:
			if (!map_region(c, &c->map))
				return S2HYP_DRV_DONE;
			/* The instruction did not complete: it is still the one. */
			c->insns_left = 1;
			continue;
		case STOP_MISS:
			*op = c->miss;
			hand_over(c, op);
			return S2HYP_DRV_ACCESS;
		case STOP_CMO:
			cmo_access(c, op);
			hand_over(c, op);
			return S2HYP_DRV_ACCESS;
		case STOP_HVC: {
			int r = hypercall(c, op);
			if (r >= 0)
				return (enum s2hyp_drv_status)r;
			if (one_insn)
				return S2HYP_DRV_YIELD;
			continue;
		}
		case STOP_EXCEPTION:
			c->pc = c->stop_pc;
			s2guest__end(c, S2GUEST_EXCEPTION, "%s (Unicorn exception %u)",
				     excp_name(c->intno), c->intno);
			return S2HYP_DRV_DONE;
		case STOP_MMU_ON:
			c->pc = c->stop_pc;
			s2guest__end(c, S2GUEST_MMU_ON,
				     "the guest wrote SCTLR_EL1 = %#llx, enabling its MMU: stage 1 "
				     "cannot be modelled under Unicorn (no TLB-fill hook), so the run stops",
				     (unsigned long long)c->mmu_value);
			return S2HYP_DRV_ERROR;
		case STOP_BAD:
			c->pc = c->stop_pc;
			return S2HYP_DRV_DONE;
		case STOP_INTERNAL:
			return S2HYP_DRV_DONE;
		}
	}
}
