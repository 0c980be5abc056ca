/* The generic scenario generator: a seed gives a whole scenario (granule,
 * memslots, vCPU programs, host operations), so that the fuzzer can look
 * for bugs no one wrote a scenario for.
 *
 * What it varies: memslots of every backing (4K pages, THP, hugetlb 2M and,
 * with the 4K granule, 1G), some starting mid-block or with a host address
 * whose offset in a block differs from the IPA's (so blocks do not fit
 * there); pages chosen in clusters inside a few blocks and at block edges,
 * so that accesses share tables and ranges cross entries and levels;
 * several vCPUs reading, writing and executing the same pages in the same
 * phase; host operations between them over ranges that start mid-block
 * (unmap through the MMU notifier and directly, write-protect, age, flush,
 * dirty logging on, get and off, host writes, an explicit split of a
 * range's blocks, destroy); on host memory (cfg.host_mm) host-mm events
 * too (gen_mm_op) and the VMM's O_DIRECT reads (gen_dio), and with
 * S2FUZZ_GEN_UFFD memfd memory under the VMM's userfaultfd (gen_uffd).
 *
 * What it avoids, because the correct code would be blamed for the
 * guest's or the VMM's own mistakes (docs/checks.md, stale-data "Limit"):
 * each page has one class for the whole scenario. Data pages are read and
 * written with the guest's MMU on; code pages are read and executed, never
 * written by the guest; image pages are read and written with the MMU off
 * only. The host writes a page only in a phase in which no vCPU touches
 * it, and always unmaps it through the MMU notifier right after (as a VMM
 * changing guest memory behind the guest's back must).
 */
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "fuzz/s2fuzz.h"

#define GEN_IPA_BASE 0x40000000ull
#define GEN_HVA_BASE 0x7f0000000000ull
#define GEN_MAX_PAGES 24
#define GEN_MM_PHASES 3	/* host memory: phases beyond the 3 to 6 */
#define GEN_MAX_PHASES (7 + GEN_MM_PHASES)
/* Host memory (gen_mm_op): percent chances of */
#define GEN_MM_SHARE 80		/* a host operation being a host-mm event */
#define GEN_MM_KIND_ON 50	/* each kind of host-mm event in a scenario (swarm) */
#define GEN_MM_HOT_PAGE 80	/* an event on a page earlier events named */
#define GEN_MM_HOT_ACCESS 60	/* a vCPU access to such a page */
#define GEN_MM_SAME_CHILD 90	/* the child of the last event naming one */
#define GEN_MM_REF_ON_PAGE 80	/* a reference read or dropped being one on the event's page */
#define GEN_DIO_START 30	/* a phase starting an O_DIRECT read (gen_dio) */

enum page_class { PC_DATA, PC_CODE, PC_IMAGE };

struct gen_page {
	uint64_t ipa;
	unsigned slot;
	enum page_class cls;
	bool readonly_share;	/* only ever read: a page every vCPU shares read-only */
};

struct gen {
	struct s2hyp_rng rng;
	/* The explicit splits' own stream: adding them left every draw of the
	 * main stream, and so every other part of a seed's scenario, as it was. */
	struct s2hyp_rng split_rng;	/* and the retried migrations' */
	struct s2hyp_rng uffd_rng;	/* S2FUZZ_GEN_UFFD's, the same way */
	struct s2hyp_rng dio_rng;	/* the VMM's O_DIRECT I/O's (gen_dio), the same way */
	struct s2hyp_scenario *sc;
	uint64_t page, block;
	struct gen_page pages[GEN_MAX_PAGES];
	unsigned npages;
	/* per phase: pages the host writes (no vCPU may touch them then) */
	uint32_t host_written[GEN_MAX_PHASES];
	bool logging[S2HYP_MAX_SLOTS];
	/* host-mm events: processes (the VMM and its forked children alive),
	 * references taken so far */
	unsigned nprocs, nrefs;
	bool child_alive[8];
	bool ref_dropped[S2HYP_MAX_REFS];	/* unref'd: nothing may name it again */
	unsigned logging_off[S2HYP_MAX_SLOTS];	/* the phase logging last stopped in, 0: none */
	/* Host memory: a break takes several events on one page in order (a
	 * fork, a child's reference, its unmap, a write, a read through the
	 * reference), so events keep to what earlier ones named. The pages
	 * host-mm events named so far (indices into pages[], each once), from
	 * which later events and the vCPUs' accesses mostly draw; */
	unsigned hot[GEN_MAX_PAGES], nhot;
	unsigned last_child;	/* the child the last event named; */
	uint8_t ref_page[S2HYP_MAX_REFS];	/* the page reference i holds; */
	/* and the gen_mm_op cases this scenario draws at all (swarm testing:
	 * Groce et al., ISSTA 2012), so that a run without pins can show
	 * what an early fork-pin or pin-stable would otherwise cut short. */
	unsigned mm_on;
	/* The VMM's O_DIRECT I/O in flight: the references it holds. */
	unsigned dio_ref[GEN_MAX_PHASES], ndio;
	bool dio_on;	/* the scenario has any (one in two) */
};

static uint64_t rnd(struct gen *g, uint64_t n)
{
	return n ? s2hyp_rng_next(&g->rng) % n : 0;
}

static bool chance(struct gen *g, unsigned percent)
{
	return rnd(g, 100) < percent;
}

/* Memslots: 1 to 3, each in its own 4-block window of IPA and host address. */
static void gen_slots(struct gen *g)
{
	struct s2hyp_scenario *sc = g->sc;
	unsigned n = 1 + (unsigned)rnd(g, 3);
	bool small = g->page == 0x1000;

	for (unsigned i = 0; i < n; i++) {
		struct s2hyp_memslot *s = &sc->slots[i];
		uint64_t win = 4 * g->block;
		enum s2hyp_backing b = (enum s2hyp_backing)rnd(g, 3);
		/* Host memory is anonymous: THP where hugetlb would be. */
		if (sc->cfg.host_mm && b == S2HYP_BACKING_HUGETLB_2M)
			b = S2HYP_BACKING_THP;
		if (small && !sc->cfg.host_mm && chance(g, 5) && n == 1)
			b = S2HYP_BACKING_HUGETLB_1G;
		if (b == S2HYP_BACKING_HUGETLB_1G)
			win = 4ull << 30;
		*s = (struct s2hyp_memslot){
			.ipa = GEN_IPA_BASE + i * win,
			.hva = GEN_HVA_BASE + i * (win > (1ull << 32) ? win : (1ull << 32)),
			.backing = b,
			.size = (1 + rnd(g, 2)) * g->block,
		};
		if (b == S2HYP_BACKING_HUGETLB_1G) {
			s->size = 1ull << 30;
		} else if (b == S2HYP_BACKING_HUGETLB_2M) {
			/* Its host pages are 2M whatever the granule: keep the
			 * size and host address aligned to them. */
			s->size = s2_align_up(s->size, 2ull << 20);
		} else {
			/* Slot edges inside a block: blocks at the edge do not fit. */
			if (chance(g, 30)) {
				uint64_t off = (1 + rnd(g, 7)) * g->page;
				s->ipa += off;
				s->hva += off;
				s->size -= off;
			}
			if (chance(g, 20))
				s->size -= (1 + rnd(g, 7)) * g->page;
			/* Host address offset in a block unlike the IPA's: pages only. */
			if (chance(g, 15))
				s->hva += g->page;
		}
		s->readonly = chance(g, 8);
		s->dirty_log = chance(g, 30);
		g->logging[i] = s->dirty_log;
	}
	sc->nr_slots = n;
}

/* A page of a slot: in a cluster near a block's start, near a block edge,
 * or anywhere. */
static uint64_t pick_ipa(struct gen *g, const struct s2hyp_memslot *s)
{
	uint64_t first = s2_align_down(s->ipa, g->block);
	uint64_t nblocks = (s->ipa + s->size - first + g->block - 1) / g->block;
	uint64_t blk = first + rnd(g, nblocks) * g->block;
	uint64_t ipa;

	switch (rnd(g, 3)) {
	case 0:
		ipa = blk + rnd(g, 8) * g->page;
		break;
	case 1:
		ipa = blk + g->block - (1 + rnd(g, 4)) * g->page;
		break;
	default:
		ipa = blk + rnd(g, g->block / g->page) * g->page;
		break;
	}
	if (ipa < s->ipa)
		ipa = s->ipa + rnd(g, 4) * g->page;
	if (ipa >= s->ipa + s->size)
		ipa = s->ipa + s->size - (1 + rnd(g, 4)) * g->page;
	return ipa;
}

static void gen_pages(struct gen *g)
{
	unsigned want = 4 + (unsigned)rnd(g, GEN_MAX_PAGES - 8);

	for (unsigned tries = 0; g->npages < want && tries < 4 * GEN_MAX_PAGES; tries++) {
		unsigned si = (unsigned)rnd(g, g->sc->nr_slots);
		uint64_t ipa = pick_ipa(g, &g->sc->slots[si]);
		bool dup = false;
		for (unsigned i = 0; i < g->npages; i++)
			dup |= g->pages[i].ipa == ipa;
		if (dup)
			continue;
		struct gen_page *p = &g->pages[g->npages++];
		unsigned c = (unsigned)rnd(g, 10);
		p->ipa = ipa;
		p->slot = si;
		p->cls = c < 6 ? PC_DATA : c < 9 ? PC_CODE : PC_IMAGE;
		p->readonly_share = p->cls == PC_DATA && chance(g, 25);
	}
}

static enum s2hyp_access pick_access(struct gen *g, const struct gen_page *p)
{
	switch (p->cls) {
	case PC_DATA:
		return p->readonly_share || chance(g, 50) ? S2HYP_ACC_READ : S2HYP_ACC_WRITE;
	case PC_CODE:
		return chance(g, 60) ? S2HYP_ACC_EXEC : S2HYP_ACC_READ;
	case PC_IMAGE:
		return chance(g, 70) ? S2HYP_ACC_READ : S2HYP_ACC_WRITE;
	}
	return S2HYP_ACC_READ;
}

static void add_access(struct gen *g, unsigned v, unsigned phase, const struct gen_page *p,
		       enum s2hyp_access a)
{
	struct s2hyp_vcpu_op op = {
		.access = a, .phase = phase, .size = a == S2HYP_ACC_EXEC ? 4 : 8,
		.mmu_on = p->cls != PC_IMAGE,
	};
	op.ipa = p->ipa + rnd(g, g->page / 64) * 64 + (a == S2HYP_ACC_EXEC ? 4 * rnd(g, 2) : 0);
	op.value = s2hyp_rng_next(&g->rng);
	s2hyp_scenario_add_vcpu(g->sc, v, &op);
}

/* A range for a host operation: from a chosen page, often mid-block, over
 * a few pages or across a block edge, clipped to the slot. */
static void pick_range(struct gen *g, const struct s2hyp_memslot **sp, uint64_t *ipa,
		       uint64_t *size)
{
	const struct gen_page *p = &g->pages[rnd(g, g->npages)];
	const struct s2hyp_memslot *s = &g->sc->slots[p->slot];
	uint64_t start = p->ipa - rnd(g, 3) * g->page, end;

	switch (rnd(g, 4)) {
	case 0:
		end = start + g->page;
		break;
	case 1:
		end = start + (1 + rnd(g, 16)) * g->page;
		break;
	case 2:	/* across the next block edge */
		end = s2_align_down(start, g->block) + g->block + (1 + rnd(g, 4)) * g->page;
		break;
	default: /* a whole block, not aligned */
		end = start + g->block;
		break;
	}
	if (start < s->ipa)
		start = s->ipa;
	if (end > s->ipa + s->size)
		end = s->ipa + s->size;
	if (end <= start)
		end = start + g->page;
	*sp = s;
	*ipa = start;
	*size = end - start;
}

static void add_host(struct gen *g, enum s2hyp_host_kind k, unsigned phase, unsigned slot,
		     uint64_t addr, uint64_t size, uint8_t fill)
{
	struct s2hyp_host_op op = { .kind = k, .phase = phase, .slot = slot, .addr = addr,
				    .size = size, .fill = fill };
	s2hyp_scenario_add_host(g->sc, &op);
}

static unsigned slot_index(const struct gen *g, const struct s2hyp_memslot *s)
{
	return (unsigned)(s - g->sc->slots);
}

static void add_mm(struct gen *g, enum s2hyp_mm_op op, unsigned phase, uint64_t hva,
		   unsigned proc, unsigned ref)
{
	struct s2hyp_host_op o = { .kind = S2HYP_HOST_MM, .mm = op, .phase = phase, .addr = hva,
				   .size = g->page, .proc = proc, .ref = ref,
				   .value = s2hyp_rng_next(&g->rng) };
	s2hyp_scenario_add_host(g->sc, &o);
}

/* A reference taken on page pi (references are numbered in order). */
static void new_ref(struct gen *g, unsigned pi)
{
	if (g->nrefs < S2HYP_MAX_REFS)
		g->ref_page[g->nrefs] = (uint8_t)pi;
	g->nrefs++;
}

/* A reference to read or drop: mostly one held on page pi, if any. */
static unsigned pick_ref(struct gen *g, unsigned pi)
{
	unsigned on[S2HYP_MAX_REFS], n = 0;
	for (unsigned r = 0; r < g->nrefs && r < S2HYP_MAX_REFS; r++)
		if (g->ref_page[r] == pi && !g->ref_dropped[r])
			on[n++] = r;
	if (n && chance(g, GEN_MM_REF_ON_PAGE))
		return on[rnd(g, n)];
	return (unsigned)rnd(g, g->nrefs);
}

/* Page pi is named by a host-mm event. */
static void mark_hot(struct gen *g, unsigned pi)
{
	for (unsigned i = 0; i < g->nhot; i++)
		if (g->hot[i] == pi)
			return;
	g->hot[g->nhot++] = pi;
}

/* A live forked child (mostly the one the last event named), or 0 (the
 * VMM) when there is none. */
static unsigned pick_child(struct gen *g)
{
	unsigned alive[8], n = 0;
	for (unsigned i = 1; i < g->nprocs; i++)
		if (g->child_alive[i])
			alive[n++] = i;
	if (n && g->last_child && g->child_alive[g->last_child] && chance(g, GEN_MM_SAME_CHILD))
		return g->last_child;
	return n ? (g->last_child = alive[rnd(g, n)]) : 0;
}

/* A host-mm event (a machine on host memory) on one of the scenario's data
 * pages: the host's own events that replace or unmap pages, and what
 * breaks COW policies (fork, a child's GUP reference and unmap, a device's
 * long-term pin, clear_refs, reading through a reference). The VMM itself
 * never unmaps guest memory, and only children store to it. */
static void gen_mm_op(struct gen *g, unsigned phase)
{
	unsigned pi = (unsigned)rnd(g, g->npages);
	/* Mostly a page the guest writes: where a broken COW shows. */
	for (unsigned tries = 0; tries < 4 && (g->pages[pi].cls != PC_DATA ||
					      g->pages[pi].readonly_share); tries++)
		pi = (unsigned)rnd(g, g->npages);
	if (g->nhot && chance(g, GEN_MM_HOT_PAGE))
		pi = g->hot[rnd(g, g->nhot)];
	else
		mark_hot(g, pi);
	const struct gen_page *p = &g->pages[pi];
	const struct s2hyp_memslot *s = &g->sc->slots[p->slot];
	uint64_t hva = s->hva + (p->ipa - s->ipa);
	unsigned child = pick_child(g), c;

	do	/* one of the kinds this scenario draws */
		c = (unsigned)rnd(g, 16);
	while (!(g->mm_on >> c & 1));
	switch (c) {
	case 14:
		add_mm(g, S2HYP_MM_PIN_RO, phase, hva, chance(g, 50) ? child : 0, 0);
		new_ref(g, pi);
		break;
	case 15:
		add_mm(g, S2HYP_MM_CLEAR_REFS, phase, 0, 0, 0);
		break;
	case 0:
		if (g->nprocs < 8) {
			add_mm(g, S2HYP_MM_FORK, phase, 0, 0, 0);
			g->child_alive[g->nprocs++] = true;
		}
		break;
	case 1:
	case 2:
		add_mm(g, S2HYP_MM_GUP, phase, hva, chance(g, 70) ? child : 0, 0);
		new_ref(g, pi);
		break;
	case 3:
		add_mm(g, S2HYP_MM_PIN, phase, hva, 0, 0);
		new_ref(g, pi);
		break;
	case 4:
		if (child)
			add_mm(g, S2HYP_MM_MUNMAP, phase, hva, child, 0);
		else
			add_mm(g, S2HYP_MM_DONTNEED, phase, hva, 0, 0);
		break;
	case 5:
		if (g->nrefs) {
			unsigned ref = pick_ref(g, pi);
			enum s2hyp_mm_op op = chance(g, 70) ? S2HYP_MM_REF_READ : S2HYP_MM_UNREF;
			if (ref < S2HYP_MAX_REFS && !g->ref_dropped[ref]) {
				add_mm(g, op, phase, 0, 0, ref);
				g->ref_dropped[ref] = op == S2HYP_MM_UNREF;
			}
		}
		break;
	case 6:
		add_mm(g, S2HYP_MM_CLEAR_REFS, phase, 0, 0, 0);
		break;
	case 7:
		if (child)
			add_mm(g, S2HYP_MM_WRITE, phase, hva, child, 0);
		break;
	case 8:
		if (child && chance(g, 30)) {
			add_mm(g, S2HYP_MM_EXIT, phase, 0, child, 0);
			g->child_alive[child] = false;
		}
		break;
	case 9:
		add_mm(g, S2HYP_MM_SPLIT, phase, hva, 0, 0);
		break;
	case 10:
		add_mm(g, S2HYP_MM_COLLAPSE, phase, hva, 0, 0);
		break;
	case 11:
		add_mm(g, S2HYP_MM_MIGRATE, phase, hva, 0, 0);
		break;
	case 12:
		add_mm(g, S2HYP_MM_RECLAIM, phase, hva, 0, 0);
		break;
	default:
		add_mm(g, chance(g, 50) ? S2HYP_MM_KSM : S2HYP_MM_DONTNEED, phase, hva, 0, 0);
		break;
	}
}

static void gen_host_op(struct gen *g, unsigned phase)
{
	const struct s2hyp_memslot *s;
	uint64_t ipa, size;
	unsigned si;

	if (g->sc->cfg.host_mm && chance(g, GEN_MM_SHARE)) {
		gen_mm_op(g, phase);
		return;
	}
	pick_range(g, &s, &ipa, &size);
	si = slot_index(g, s);
	switch (rnd(g, 10)) {
	case 0:
		add_host(g, S2HYP_HOST_UNMAP_HVA, phase, 0, s->hva + (ipa - s->ipa), size, 0);
		break;
	case 1:
		add_host(g, S2HYP_HOST_UNMAP_IPA, phase, 0, ipa, size, 0);
		break;
	case 2:
		add_host(g, S2HYP_HOST_WRPROTECT_IPA, phase, 0, ipa, size, 0);
		break;
	case 3:
		if (chance(g, 50))
			add_host(g, S2HYP_HOST_AGE_HVA, phase, 0, s->hva + (ipa - s->ipa), size, 0);
		else
			add_host(g, S2HYP_HOST_AGE_IPA, phase, 0, ipa, size, 0);
		break;
	case 4:
		add_host(g, S2HYP_HOST_FLUSH_IPA, phase, 0, ipa, size, 0);
		break;
	case 5:
	case 6:
	case 7:
		/* Dirty logging: on, then get (any number of times), then off. */
		if (!g->logging[si]) {
			add_host(g, S2HYP_HOST_DIRTY_LOG_ON, phase, si, 0, 0, 0);
			g->logging[si] = true;
		} else if (chance(g, 40)) {
			add_host(g, S2HYP_HOST_GET_DIRTY_LOG, phase, si, 0, 0, 0);
		} else {
			if (chance(g, 50))
				add_host(g, S2HYP_HOST_GET_DIRTY_LOG, phase, si, 0, 0, 0);
			add_host(g, S2HYP_HOST_DIRTY_LOG_OFF, phase, si, 0, 0, 0);
			g->logging[si] = false;
			g->logging_off[si] = phase;
		}
		break;
	default: {
		/* The VMM rewrites a page no vCPU touches in this phase, then
		 * unmaps it through the MMU notifier. */
		unsigned pi = (unsigned)rnd(g, g->npages);
		const struct gen_page *p = &g->pages[pi];
		const struct s2hyp_memslot *ps = &g->sc->slots[p->slot];
		if (p->cls == PC_DATA && p->readonly_share)
			break;
		uint64_t hva = ps->hva + (p->ipa - ps->ipa);
		add_host(g, S2HYP_HOST_WRITE, phase, 0, hva, g->page, (uint8_t)(1 + rnd(g, 255)));
		add_host(g, S2HYP_HOST_UNMAP_HVA, phase, 0, hva, g->page, 0);
		g->host_written[phase] |= 1u << pi;
		break;
	}
	}
}

/* Sometimes (one phase in ten) the VMM splits the blocks of a range
 * (KVM_CLEAR_DIRTY_LOG's kvm_mmu_split_huge_pages, as eager splitting does
 * to a whole slot when logging starts): drawn from its own stream. */
static void gen_split(struct gen *g, unsigned phase)
{
	const struct s2hyp_memslot *s;
	uint64_t ipa, size;
	struct s2hyp_rng main_rng = g->rng;

	g->rng = g->split_rng;
	if (chance(g, 10)) {
		pick_range(g, &s, &ipa, &size);
		add_host(g, S2HYP_HOST_SPLIT_IPA, phase, 0, ipa, size, 0);
	}
	/* A migration retried: logging on again the phase after it stopped,
	 * while faults of the pause between may coalesce what it split. */
	for (unsigned si = 0; si < g->sc->nr_slots; si++) {
		if (!g->logging[si] && g->logging_off[si] && g->logging_off[si] + 1 == phase &&
		    chance(g, 50)) {
			add_host(g, S2HYP_HOST_DIRTY_LOG_ON, phase, si, 0, 0, 0);
			g->logging[si] = true;
		}
	}
	g->split_rng = g->rng;
	g->rng = main_rng;
}

/* On host memory, the VMM's O_DIRECT reads into guest memory (its block
 * backend), in one scenario in two: some phases (GEN_DIO_START percent)
 * start an I/O on a data page, mostly one that earlier host-mm events
 * named, with a writable GUP reference that is not a pin
 * (FOLL_GET|FOLL_WRITE); each later phase completes it (drops the
 * reference) one time in two. In between, the host's events (reclaim,
 * clear_refs, ...) and the guest's writes may take the page away from the
 * reference, which get-stable watches (S2.3's FOLL_GET variant). Drawn
 * from its own stream, first in each phase. The device's write itself is
 * left out: the generator lets the host write only pages no vCPU touches
 * in that phase (see the top of this file). */
static void gen_dio(struct gen *g, unsigned phase)
{
	struct s2hyp_rng main_rng = g->rng;

	g->rng = g->dio_rng;
	for (unsigned i = 0; i < g->ndio;) {
		unsigned r = g->dio_ref[i];
		if (g->ref_dropped[r] || chance(g, 50)) {
			if (!g->ref_dropped[r]) {
				add_mm(g, S2HYP_MM_UNREF, phase, 0, 0, r);
				g->ref_dropped[r] = true;
			}
			g->dio_ref[i] = g->dio_ref[--g->ndio];
		} else {
			i++;
		}
	}
	if (g->dio_on && g->ndio < GEN_MAX_PHASES && g->nrefs < S2HYP_MAX_REFS &&
	    chance(g, GEN_DIO_START)) {
		unsigned pi = (unsigned)rnd(g, g->npages);
		for (unsigned tries = 0; tries < 4 && g->pages[pi].cls != PC_DATA; tries++)
			pi = (unsigned)rnd(g, g->npages);
		if (g->nhot && chance(g, GEN_MM_HOT_PAGE))
			pi = g->hot[rnd(g, g->nhot)];
		const struct gen_page *p = &g->pages[pi];
		const struct s2hyp_memslot *s = &g->sc->slots[p->slot];
		add_mm(g, S2HYP_MM_GUP_WRITE, phase, s->hva + (p->ipa - s->ipa), 0, 0);
		g->dio_ref[g->ndio++] = g->nrefs;
		new_ref(g, pi);
	}
	g->dio_rng = g->rng;
	g->rng = main_rng;
}

/* S2FUZZ_GEN_UFFD: in slot 0 (uffd-wp registered memfd memory), the VMM
 * write-protects data pages (a live snapshot) and un-protects some, punches
 * holes by fallocate or MADV_REMOVE with the truncation later in the same
 * phase (the window of S5.1, which the phase's accesses and fault-around
 * may fall into), and its handler reads and resolves what the vCPUs'
 * faults ask (waiting only while a vCPU may still fault). Drawn from its
 * own stream. */
static void gen_uffd_handler(struct gen *g, unsigned phase)
{
	/* Under MISSING (postcopy) every first touch of a page asks: a
	 * handler round per vCPU and two more; else a few. */
	unsigned k = g->sc->slots[0].uffd_missing ? 2 + g->sc->cfg.nr_vcpus : (unsigned)rnd(g, 3);
	for (; k; k--) {
		add_mm(g, S2HYP_MM_UFFD_READ, phase, 0, 0, 0);
		add_mm(g, S2HYP_MM_UFFD_RESOLVE, phase, 0, 0, 0);
	}
}

static void gen_uffd(struct gen *g, unsigned phase)
{
	struct s2hyp_rng main_rng = g->rng;
	const struct s2hyp_memslot *s = &g->sc->slots[0];
	unsigned n = 0, in0[GEN_MAX_PAGES];

	g->rng = g->uffd_rng;
	for (unsigned i = 0; i < g->npages; i++)
		if (g->pages[i].slot == 0 && g->pages[i].cls == PC_DATA)
			in0[n++] = i;
	for (unsigned k = n ? 1 + (unsigned)rnd(g, 3) : 0; k; k--) {
		const struct gen_page *p = &g->pages[in0[rnd(g, n)]];
		uint64_t hva = s->hva + (p->ipa - s->ipa);
		switch (rnd(g, 6)) {
		case 0:
		case 1:
			add_mm(g, S2HYP_MM_UFFD_PROTECT, phase, hva, 0, 0);
			break;
		case 2:
			add_mm(g, S2HYP_MM_UFFD_UNPROTECT, phase, hva, 0, 0);
			break;
		default:
			add_mm(g, chance(g, 50) ? S2HYP_MM_PUNCH_HOLE : S2HYP_MM_MADV_REMOVE, phase,
			       hva, 0, 0);
			add_mm(g, S2HYP_MM_UFFD_READ, phase, 0, 0, 0);
			add_mm(g, S2HYP_MM_UFFD_RESOLVE, phase, 0, 0, 0);
			add_mm(g, S2HYP_MM_PUNCH_TRUNCATE, phase, hva, 0, 0);
			break;
		}
	}
	gen_uffd_handler(g, phase);
	g->uffd_rng = g->rng;
	g->rng = main_rng;
}

/* The accesses of one phase: every vCPU touches a few pages, and often two
 * vCPUs touch the same page at once with different access types. */
static void gen_accesses(struct gen *g, unsigned phase, unsigned nv)
{
	for (unsigned v = 0; v < nv; v++) {
		unsigned n = 1 + (unsigned)rnd(g, 4);
		for (unsigned i = 0; i < n; i++) {
			unsigned pi = (unsigned)rnd(g, g->npages);
			if (g->sc->cfg.host_mm && g->nhot && chance(g, GEN_MM_HOT_ACCESS))
				pi = g->hot[rnd(g, g->nhot)];
			if (g->host_written[phase] & (1u << pi))
				continue;
			const struct gen_page *p = &g->pages[pi];
			add_access(g, v, phase, p, pick_access(g, p));
			/* The same page, another vCPU, another access type. */
			if (nv > 1 && chance(g, 35)) {
				unsigned w = (v + 1 + (unsigned)rnd(g, nv - 1)) % nv;
				add_access(g, w, phase, p, pick_access(g, p));
			}
		}
	}
}

int s2fuzz_scenario_generate(struct s2hyp_scenario *sc, const struct s2hyp_config *base,
			     unsigned pick, uint64_t seed)
{
	struct gen *g = calloc(1, sizeof(*g));
	static const unsigned granules[] = { 12, 14, 16 };

	s2hyp_scenario_init(sc);
	if (!g)
		return S2_ENOMEM;
	sc->cfg = *base;
	g->sc = sc;
	s2hyp_rng_seed(&g->rng, seed ^ 0x5eed5cea7105ull);
	s2hyp_rng_seed(&g->split_rng, seed ^ 0x5b1175b1175ull);
	s2hyp_rng_seed(&g->uffd_rng, seed ^ 0x0ffdf00dull);
	s2hyp_rng_seed(&g->dio_rng, seed ^ 0xd10d10d1full);
	if ((pick & S2FUZZ_GEN_GRANULE) && !sc->cfg.host_mm)
		sc->cfg.granule_shift = granules[rnd(g, 3)];
	if (sc->cfg.host_mm)
		sc->cfg.granule_shift = 12;	/* host pages are 4K */
	g->nprocs = 1;
	if (sc->cfg.host_mm) {
		for (unsigned c = 0; c < 16; c++)
			if (chance(g, GEN_MM_KIND_ON))
				g->mm_on |= 1u << c;
		if (!g->mm_on)
			g->mm_on = 1u << rnd(g, 16);
		struct s2hyp_rng main_rng = g->rng;
		g->rng = g->dio_rng;
		g->dio_on = chance(g, 50);
		g->dio_rng = g->rng;
		g->rng = main_rng;
	}
	if (pick & S2FUZZ_GEN_VCPUS)
		sc->cfg.nr_vcpus = 2 + (unsigned)rnd(g, 3);
	if (pick & S2FUZZ_GEN_MACHINE) {
		sc->cfg.eager_split = chance(g, 15);
		sc->cfg.fwb = chance(g, 20);
	}
	g->page = 1ull << sc->cfg.granule_shift;
	g->block = 1ull << (2 * sc->cfg.granule_shift - 3);
	if (sc->cfg.ipa_bits < 40)
		sc->cfg.ipa_bits = 40;

	gen_slots(g);
	bool uffd = (pick & S2FUZZ_GEN_UFFD) && sc->cfg.host_mm;
	if (uffd) {
		/* guest RAM as QEMU's memfd backend, registered for a live
		 * snapshot (and, from the stream of its own, for postcopy) */
		struct s2hyp_rng main_rng = g->rng;
		g->rng = g->uffd_rng;
		sc->slots[0].backing = S2HYP_BACKING_MEMFD;
		sc->slots[0].readonly = false;
		sc->slots[0].uffd_wp = true;
		sc->slots[0].uffd_missing = chance(g, 30);
		g->uffd_rng = g->rng;
		g->rng = main_rng;
	}
	gen_pages(g);

	unsigned nphases = 3 + (unsigned)rnd(g, 4);
	if (sc->cfg.host_mm)
		nphases += GEN_MM_PHASES;
	/* Host operations first, so that each phase's accesses know which pages
	 * the host rewrites in it. Phase 0 is the guest's alone. */
	if (uffd && sc->slots[0].uffd_missing) {
		/* the handler answers phase 0's first touches too */
		struct s2hyp_rng main_rng = g->rng;
		g->rng = g->uffd_rng;
		gen_uffd_handler(g, 0);
		g->uffd_rng = g->rng;
		g->rng = main_rng;
	}
	for (unsigned ph = 1; ph < nphases; ph++) {
		unsigned n = (unsigned)rnd(g, sc->cfg.host_mm ? 7 : 3);
		if (sc->cfg.host_mm)
			gen_dio(g, ph);
		for (unsigned i = 0; i < n; i++)
			gen_host_op(g, ph);
		gen_split(g, ph);
		if (uffd)
			gen_uffd(g, ph);
	}
	for (unsigned ph = 0; ph < nphases; ph++)
		gen_accesses(g, ph, sc->cfg.nr_vcpus);
	/* At the end, every reference still held is read (the pipe drained,
	 * the device's buffer read back): what leaked into one shows. */
	if (sc->cfg.host_mm)
		for (unsigned r = 0; r < g->nrefs && r < S2HYP_MAX_REFS; r++)
			if (!g->ref_dropped[r])
				add_mm(g, S2HYP_MM_REF_READ, nphases, 0, 0, r);
	if (chance(g, 85))
		add_host(g, S2HYP_HOST_DESTROY, nphases, 0, 0, 0, 0);
	free(g);
	return 0;
}
