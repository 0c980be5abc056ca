/* Built-in scenarios. Each is a small program per thread, in phases. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_vec.h"
#include "hyp-model/s2hyp_scenario.h"

void s2hyp_scenario_init(struct s2hyp_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	s2hyp_config_init(&sc->cfg);
}

void s2hyp_scenario_free(struct s2hyp_scenario *sc)
{
	free(sc->host);
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++)
		free(sc->vcpu[i]);
	memset(sc, 0, sizeof(*sc));
}

static int push(void **arr, size_t *n, unsigned *cap, size_t elem, const void *item)
{
	if (*n >= UINT_MAX || !s2_grow(arr, cap, elem, (unsigned)*n + 1))
		return S2_ENOMEM;
	memcpy((char *)*arr + *n * elem, item, elem);
	(*n)++;
	return 0;
}

int s2hyp_scenario_add_host(struct s2hyp_scenario *sc, const struct s2hyp_host_op *op)
{
	return push((void **)&sc->host, &sc->nhost, &sc->host_cap, sizeof(*op), op);
}

int s2hyp_scenario_add_vcpu(struct s2hyp_scenario *sc, unsigned vcpu,
			    const struct s2hyp_vcpu_op *op)
{
	if (vcpu >= S2HYP_MAX_VCPUS)
		return S2_EINVAL;
	return push((void **)&sc->vcpu[vcpu], &sc->nvcpu[vcpu], &sc->vcpu_cap[vcpu],
		    sizeof(*op), op);
}

static void host(struct s2hyp_scenario *sc, unsigned phase, enum s2hyp_host_kind k,
		 uint64_t addr, uint64_t size, uint8_t fill)
{
	struct s2hyp_host_op op = { .kind = k, .phase = phase, .addr = addr, .size = size,
				    .fill = fill };
	s2hyp_scenario_add_host(sc, &op);
}

static void acc(struct s2hyp_scenario *sc, unsigned vcpu, unsigned phase,
		enum s2hyp_access a, uint64_t ipa, bool mmu_on)
{
	struct s2hyp_vcpu_op op = { .access = a, .phase = phase, .ipa = ipa, .size = 8,
				    .mmu_on = mmu_on, .value = ipa ^ 0x5a5a5a5a };
	s2hyp_scenario_add_vcpu(sc, vcpu, &op);
}

/* The sizes a scenario is written in: its granule's page and level-2 block
 * (4K and 2M, 16K and 32M, 64K and 512M), and pages per block. */
struct geo {
	uint64_t page, block, n;
};

static struct geo geo_of(unsigned granule_shift)
{
	struct geo g = { 1ull << granule_shift, 1ull << (2 * granule_shift - 3), 0 };
	g.n = g.block / g.page;
	return g;
}

static void one_slot(struct s2hyp_scenario *sc, uint64_t size, enum s2hyp_backing b)
{
	sc->slots[0] = (struct s2hyp_memslot){
		.ipa = S2HYP_SEED_IPA, .size = size, .hva = S2HYP_SEED_HVA, .backing = b,
	};
	sc->nr_slots = 1;
}

/* Block 0's pages are named by index; the 4K figures of the comments scale
 * with the granule (page 8 of 512 is page 32 of 2048 with 16K). */
static void build_seed(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	const uint64_t base = S2HYP_SEED_IPA, P = g.page;
	const uint64_t st = g.n / 64;	/* 64 pages of block 0 written: every 8th with 4K */

	one_slot(sc, 2 * g.block, S2HYP_BACKING_THP);
	/* Phase 0: the guest touches both blocks: block mappings. */
	acc(sc, 0, 0, S2HYP_ACC_READ, base, true);
	acc(sc, 0, 0, S2HYP_ACC_READ, base + g.block, true);
	/* Phase 1: dirty logging on write-protects the slot. */
	host(sc, 1, S2HYP_HOST_DIRTY_LOG_ON, 0, 0, 0);
	/* Phase 2: every st-th page of block 0 written: the block is split. */
	for (uint64_t p = 0; p < g.n; p += st)
		acc(sc, 0, 2, S2HYP_ACC_WRITE, base + p * P, true);
	/* Phase 3: logging off; the VMM loads an image into untouched pages. */
	host(sc, 3, S2HYP_HOST_DIRTY_LOG_OFF, 0, 0, 0);
	host(sc, 3, S2HYP_HOST_WRITE, S2HYP_SEED_HVA + P, S2HYP_SEED_IMAGE_PAGES * P, 0xa5);
	/* Phase 4: vCPU 1, MMU off, reads the image: its fault coalesces the
	 * block while the other vCPUs keep using the pages already mapped. */
	for (unsigned p = 1; p <= S2HYP_SEED_IMAGE_PAGES; p++)
		acc(sc, 1 % nv, 4, S2HYP_ACC_READ, base + p * P, false);
	for (unsigned v = 0; v < nv; v++) {
		if (v == 1 % nv)
			continue;
		/* First a page of block 0 no one mapped: every vCPU faults in
		 * the block at once, and one of the faults coalesces it. */
		acc(sc, v, 4, S2HYP_ACC_READ, base + (v * st + 5) * P, true);
		for (unsigned r = 0; r < 2; r++)
			for (unsigned k = 0; k < 5; k++)
				acc(sc, v, 4, (k + v) % 2 ? S2HYP_ACC_WRITE : S2HYP_ACC_READ,
				    base + (k + v) * st * P, true);
		/* A page no one mapped: after the coalesce it needs the block,
		 * while this vCPU's TLB may still hold its page translations. */
		acc(sc, v, 4, S2HYP_ACC_READ, base + (v * st + 3) * P, true);
	}
	/* Phase 5: the VM goes away; everything must come back. */
	host(sc, 5, S2HYP_HOST_DESTROY, 0, 0, 0);
}

static void build_map_unmap_race(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	const uint64_t base = S2HYP_SEED_IPA, P = g.page, eighth = g.n / 8;

	one_slot(sc, g.block, S2HYP_BACKING_THP);
	acc(sc, 0, 0, S2HYP_ACC_WRITE, base, true);
	for (unsigned v = 0; v < nv; v++)
		for (unsigned p = 0; p < 4; p++)
			acc(sc, v, 1, p % 2 ? S2HYP_ACC_WRITE : S2HYP_ACC_READ,
			    base + (p * eighth + v) * P, true);
	host(sc, 1, S2HYP_HOST_UNMAP_IPA, base + eighth * P, eighth * P, 0);
	host(sc, 2, S2HYP_HOST_DESTROY, 0, 0, 0);
}

static void build_dirty_log_cycle(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	const uint64_t base = S2HYP_SEED_IPA, P = g.page, st = g.n / 32;

	one_slot(sc, g.block, S2HYP_BACKING_THP);
	acc(sc, 0, 0, S2HYP_ACC_READ, base, true);
	host(sc, 1, S2HYP_HOST_DIRTY_LOG_ON, 0, 0, 0);
	for (unsigned v = 0; v < nv; v++)
		for (unsigned p = 0; p < 4; p++)
			acc(sc, v, 2, S2HYP_ACC_WRITE, base + (p * st + v) * P, true);
	host(sc, 3, S2HYP_HOST_GET_DIRTY_LOG, 0, 0, 0);
	for (unsigned v = 0; v < nv; v++)
		for (unsigned p = 0; p < 4; p++)
			acc(sc, v, 4, S2HYP_ACC_WRITE, base + (p * st + v) * P, true);
	host(sc, 5, S2HYP_HOST_DIRTY_LOG_OFF, 0, 0, 0);
	/* A page never written (page 300 of 512 with 4K): its fault after
	 * logging off coalesces the block. */
	acc(sc, 0, 6, S2HYP_ACC_READ, base + (g.n * 300 / 512) * P, true);
	host(sc, 7, S2HYP_HOST_DESTROY, 0, 0, 0);
}

static void build_notifier_race(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	const uint64_t base = S2HYP_SEED_IPA, P = g.page;

	one_slot(sc, g.block, S2HYP_BACKING_4K);
	for (unsigned v = 0; v < nv; v++)
		for (unsigned p = 0; p < 3; p++)
			acc(sc, v, 0, S2HYP_ACC_WRITE, base + (p + 4 * v) * P, true);
	host(sc, 0, S2HYP_HOST_UNMAP_HVA, S2HYP_SEED_HVA, 8 * P, 0);
	for (unsigned v = 0; v < nv; v++)
		acc(sc, v, 1, S2HYP_ACC_READ, base + 4 * v * P, true);
	host(sc, 2, S2HYP_HOST_DESTROY, 0, 0, 0);
}

/* Those of uffd_scenario.c, the same way. */
static void build_uffd_punch_hole(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	(void)nv;
	(void)g;
	s2hyp__build_uffd_punch_hole(sc);
}

static void build_uffd_madv_remove(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	(void)nv;
	(void)g;
	s2hyp__build_uffd_madv_remove(sc);
}

static void build_uffd_guest_wp(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	(void)nv;
	(void)g;
	s2hyp__build_uffd_guest_wp(sc);
}

static void build_uffd_swap_fork(struct s2hyp_scenario *sc, unsigned nv, struct geo g)
{
	(void)nv;
	(void)g;
	s2hyp__build_uffd_swap_fork(sc);
}

/* The built-in scenarios: name, what it does (one line), how it is built. */
static const struct {
	const char *name;
	const char *desc;
	void (*build)(struct s2hyp_scenario *sc, unsigned nv, struct geo g);
} builtins[S2HYP_NR_SCENARIOS] = {
	[S2HYP_SC_SEED] = { "seed",
	  "THP slot mapped with 2M blocks; dirty logging splits it; every 8th page written; "
	  "logging off; a host image in untouched pages; a vCPU with its MMU off faults and "
	  "coalesces the block while the others keep accessing it",
	  build_seed },
	[S2HYP_SC_MAP_UNMAP_RACE] = { "map-unmap-race",
	  "a vCPU maps a 2M block and uses it while the host unmaps and the vCPUs fault it back",
	  build_map_unmap_race },
	[S2HYP_SC_DIRTY_LOG_CYCLE] = { "dirty-log-cycle",
	  "dirty logging on, writes, the dirty log read and reprotected, writes again, logging off",
	  build_dirty_log_cycle },
	[S2HYP_SC_NOTIFIER_RACE] = { "notifier-race",
	  "an MMU-notifier unmap of a host range racing the fault that maps it",
	  build_notifier_race },
	[S2HYP_SC_UFFD_PUNCH_HOLE] = { "vm-s5.1-punch-hole",
	  "S5.1 on memfd guest RAM: a punch of uffd-wp protected page X, a vCPU's read of Y in "
	  "its window (fault-around) and write to X, then the truncation; before the fix (no PTE "
	  "markers) the write is lost",
	  build_uffd_punch_hole },
	[S2HYP_SC_UFFD_MADV_REMOVE] = { "vm-s5.1-madv-remove",
	  "the same punched by the balloon's MADV_REMOVE",
	  build_uffd_madv_remove },
	[S2HYP_SC_UFFD_GUEST_WP] = { "vm-s5.3-guest-wp",
	  "S5.3: a guest write to a uffd-wp protected page sleeps in KVM's GUP until the handler "
	  "un-protects it; the fault retries and maps the page writable",
	  build_uffd_guest_wp },
	[S2HYP_SC_UFFD_SWAP_FORK] = { "vm-s5.4-swap-fork",
	  "S5.4: a uffd-wp protected anonymous page swapped out, the VMM forks an unregistered "
	  "child, the guest's write still waits for the handler; before the fork fix the "
	  "child's swap entry keeps the bit",
	  build_uffd_swap_fork },
};

_Static_assert(S2_ARRAY_SIZE(builtins) == S2HYP_NR_SCENARIOS, "a built-in without a row");

const char *s2hyp_scenario_name(unsigned i)
{
	return i < S2_ARRAY_SIZE(builtins) ? builtins[i].name : NULL;
}

const char *s2hyp_scenario_desc(unsigned i)
{
	return i < S2_ARRAY_SIZE(builtins) ? builtins[i].desc : NULL;
}

int s2hyp_scenario_build_cfg(struct s2hyp_scenario *sc, unsigned i,
			     const struct s2hyp_config *cfg)
{
	unsigned nv = cfg->nr_vcpus;
	struct geo g;

	s2hyp_scenario_init(sc);
	if (nv < 1 || nv > S2HYP_MAX_VCPUS)
		return S2_EINVAL;
	if (cfg->granule_shift != 12 && cfg->granule_shift != 14 && cfg->granule_shift != 16)
		return S2_EINVAL;
	sc->cfg = *cfg;
	g = geo_of(cfg->granule_shift);
	if (i >= S2HYP_NR_SCENARIOS || !builtins[i].build)
		return S2_EINVAL;
	builtins[i].build(sc, nv, g);
	return 0;
}

int s2hyp_scenario_build(struct s2hyp_scenario *sc, unsigned i, unsigned nr_vcpus,
			 enum s2pt_variant variant)
{
	struct s2hyp_config cfg;

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = nr_vcpus;
	cfg.variant = variant;
	return s2hyp_scenario_build_cfg(sc, i, &cfg);
}

static int load_programs(const struct s2hyp_scenario *sc, struct s2hyp *m, const char **why)
{
	int ret = s2hyp_set_host_program(m, sc->host, sc->nhost, why);
	for (unsigned v = 0; !ret && v < sc->cfg.nr_vcpus; v++)
		ret = s2hyp_set_vcpu_program(m, v, sc->vcpu[v], sc->nvcpu[v], why);
	return ret;
}

int s2hyp_scenario_reset(const struct s2hyp_scenario *sc, struct s2hyp *m, const char **why)
{
	const struct s2hyp_config *c = s2hyp_config(m);
	if (c->nr_vcpus != sc->cfg.nr_vcpus || c->variant != sc->cfg.variant ||
	    c->granule_shift != sc->cfg.granule_shift) {
		if (why)
			*why = "the machine was made for another configuration";
		return S2_EINVAL;
	}
	int ret = s2hyp_reset(m, why);
	return ret ? ret : load_programs(sc, m, why);
}

int s2hyp_scenario_instantiate(const struct s2hyp_scenario *sc, struct s2hyp **out,
			       const char **why)
{
	struct s2hyp *m;
	int ret = s2hyp_create(&sc->cfg, sc->slots, sc->nr_slots, &m, why);
	if (ret)
		return ret;
	ret = load_programs(sc, m, why);
	if (ret) {
		s2hyp_delete(m);
		return ret;
	}
	*out = m;
	return 0;
}
