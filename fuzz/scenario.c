/* Scenarios for the fuzzer: the machine's built-ins, the small
 * coalescing race that exhaustive search covers, and deep copies. */
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_text.h"
#include "fuzz/s2fuzz.h"

void s2fuzz_scenario_coalesce_race_cfg(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg)
{
	const uint64_t base = S2HYP_SEED_IPA;
	const uint64_t page = 1ull << cfg->granule_shift;
	const uint64_t block = 1ull << (2 * cfg->granule_shift - 3);
	struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true };
	struct s2hyp_host_op h = { .kind = S2HYP_HOST_DIRTY_LOG_OFF, .phase = 1 };

	s2hyp_scenario_init(sc);
	sc->cfg = *cfg;
	sc->cfg.nr_vcpus = 2;
	/* Logging on from the start: the first faults map pages, not the block. */
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = base, .size = block, .hva = S2HYP_SEED_HVA,
					       .backing = S2HYP_BACKING_THP, .dirty_log = true };
	sc->nr_slots = 1;
	for (unsigned p = 0; p < 2; p++) {
		rd.ipa = base + p * page;
		s2hyp_scenario_add_vcpu(sc, 0, &rd);
	}
	s2hyp_scenario_add_host(sc, &h);
	/* Phase 2: page 2 was never mapped; its fault finds a table where a
	 * block fits and replaces it, while vCPU 1 walks into that table. */
	rd.phase = 2;
	rd.ipa = base + 2 * page;
	s2hyp_scenario_add_vcpu(sc, 0, &rd);
	for (unsigned p = 2; p-- > 0;) {
		rd.ipa = base + p * page;
		s2hyp_scenario_add_vcpu(sc, 1, &rd);
	}
	h = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DESTROY, .phase = 3 };
	s2hyp_scenario_add_host(sc, &h);
}

void s2fuzz_scenario_coalesce_race(struct s2hyp_scenario *sc, enum s2pt_variant variant)
{
	struct s2hyp_config cfg;

	s2hyp_config_init(&cfg);
	cfg.variant = variant;
	s2fuzz_scenario_coalesce_race_cfg(sc, &cfg);
}

void s2fuzz_scenario_parallel_faults_cfg(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg)
{
	const uint64_t base = S2HYP_SEED_IPA;
	const uint64_t page = 1ull << cfg->granule_shift;
	const uint64_t block = 1ull << (2 * cfg->granule_shift - 3);
	struct s2hyp_vcpu_op rd = { .access = S2HYP_ACC_READ, .size = 8, .mmu_on = true };
	struct s2hyp_host_op h = { .kind = S2HYP_HOST_DESTROY, .phase = 1 };

	s2hyp_scenario_init(sc);
	sc->cfg = *cfg;
	sc->cfg.nr_vcpus = 2;
	/* Pages, not a block: every fault builds or fills the same tables. */
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = base, .size = block, .hva = S2HYP_SEED_HVA,
					       .backing = S2HYP_BACKING_4K };
	sc->nr_slots = 1;
	/* Phase 0: a page at the end of the region: its tables exist. */
	rd.ipa = base + block - page;
	s2hyp_scenario_add_vcpu(sc, 0, &rd);
	/* Phase 1: both vCPUs fault on the first page at once; then vCPU 1
	 * on the next, while vCPU 0 may still be in its fault. */
	rd.phase = 1;
	rd.ipa = base;
	s2hyp_scenario_add_vcpu(sc, 0, &rd);
	s2hyp_scenario_add_vcpu(sc, 1, &rd);
	rd.ipa = base + page;
	s2hyp_scenario_add_vcpu(sc, 1, &rd);
	h.phase = 2;
	s2hyp_scenario_add_host(sc, &h);
}

static int build_random(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg)
{
	return s2fuzz_scenario_generate(sc, cfg, S2FUZZ_GEN_ALL & ~S2FUZZ_GEN_VCPUS, 1);
}

static int build_coalesce_race(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg)
{
	s2fuzz_scenario_coalesce_race_cfg(sc, cfg);
	return 0;
}

static int build_parallel_faults(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg)
{
	s2fuzz_scenario_parallel_faults_cfg(sc, cfg);
	return 0;
}

/* The fuzzer's own scenarios: name, what it does (one line), how it is
 * built. The machine's built-ins (s2hyp_scenario_name) follow them. */
static const struct {
	const char *name;
	const char *desc;
	int (*build)(struct s2hyp_scenario *sc, const struct s2hyp_config *cfg);
} scenarios[] = {
	{ "random",
	  "the generic generator: a new scenario every seed (slots of every backing, every "
	  "granule, vCPUs sharing pages, host operations between them); the default",
	  build_random },
	{ "coalesce-race",
	  "small enough for exhaustive search: vCPU 0's fault coalesces a table of two pages "
	  "into a 2M block while vCPU 1 reads those pages",
	  build_coalesce_race },
	{ "parallel-faults",
	  "small enough for exhaustive search: two vCPUs fault in one 2M region at once, both "
	  "on its first page, then vCPU 1 on the next (parallel faults with upstream)",
	  build_parallel_faults },
};

#define NR_OWN S2_ARRAY_SIZE(scenarios)

const char *s2fuzz_scenario_name(unsigned i)
{
	return i < NR_OWN ? scenarios[i].name : s2hyp_scenario_name(i - NR_OWN);
}

const char *s2fuzz_scenario_desc(unsigned i)
{
	return i < NR_OWN ? scenarios[i].desc : s2hyp_scenario_desc(i - NR_OWN);
}

int s2fuzz_scenario_find(const char *name)
{
	int i = s2_find_name(scenarios, NR_OWN, sizeof(scenarios[0]), name);
	if (i >= 0)
		return i;
	i = s2_find_name_by(s2hyp_scenario_name, name);
	return i < 0 ? -1 : (int)NR_OWN + i;
}

int s2fuzz_scenario_build_cfg(struct s2hyp_scenario *sc, const char *name,
			      const struct s2hyp_config *cfg)
{
	int i = s2_find_name(scenarios, NR_OWN, sizeof(scenarios[0]), name);
	if (i >= 0)
		return scenarios[i].build(sc, cfg);
	i = s2_find_name_by(s2hyp_scenario_name, name);
	return i < 0 ? S2_EINVAL : s2hyp_scenario_build_cfg(sc, (unsigned)i, cfg);
}

int s2fuzz_scenario_build(struct s2hyp_scenario *sc, const char *name, unsigned nr_vcpus,
			  enum s2pt_variant variant)
{
	struct s2hyp_config cfg;

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = nr_vcpus;
	cfg.variant = variant;
	return s2fuzz_scenario_build_cfg(sc, name, &cfg);
}

int s2fuzz_scenario_copy(struct s2hyp_scenario *dst, const struct s2hyp_scenario *src)
{
	s2hyp_scenario_init(dst);
	dst->cfg = src->cfg;
	memcpy(dst->slots, src->slots, sizeof(dst->slots));
	dst->nr_slots = src->nr_slots;
	for (size_t i = 0; i < src->nhost; i++)
		if (s2hyp_scenario_add_host(dst, &src->host[i]))
			return S2_ENOMEM;
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		for (size_t i = 0; i < src->nvcpu[v]; i++)
			if (s2hyp_scenario_add_vcpu(dst, v, &src->vcpu[v][i]))
				return S2_ENOMEM;
	return 0;
}

size_t s2fuzz_scenario_items(const struct s2hyp_scenario *sc)
{
	size_t n = sc->nhost;
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		n += sc->nvcpu[v];
	return n;
}
