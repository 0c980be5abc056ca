/* s2hyp_scenario: a machine configuration with its memslots and programs,
 * and the named built-in scenarios (the seed coalescing scenario, a
 * map/unmap race, a dirty-logging cycle, an MMU-notifier unmap racing a
 * fault). Traces build the same structure. */
#ifndef S2HYP_SCENARIO_H
#define S2HYP_SCENARIO_H

#include "hyp-model/s2hyp.h"

struct s2hyp_scenario {
	struct s2hyp_config cfg;
	struct s2hyp_memslot slots[S2HYP_MAX_SLOTS];
	unsigned nr_slots;
	struct s2hyp_host_op *host;
	size_t nhost;
	unsigned host_cap;
	struct s2hyp_vcpu_op *vcpu[S2HYP_MAX_VCPUS];
	size_t nvcpu[S2HYP_MAX_VCPUS];
	unsigned vcpu_cap[S2HYP_MAX_VCPUS];
};

/* The built-in scenarios, in the order of their table. The machine names
 * them (s2hyp_scenario_name); finding one by its name is the text layer's
 * (common's s2_find_name_by). */
enum s2hyp_builtin {
	S2HYP_SC_SEED, S2HYP_SC_MAP_UNMAP_RACE, S2HYP_SC_DIRTY_LOG_CYCLE, S2HYP_SC_NOTIFIER_RACE,
	S2HYP_SC_UFFD_PUNCH_HOLE, S2HYP_SC_UFFD_MADV_REMOVE, S2HYP_SC_UFFD_GUEST_WP,
	S2HYP_SC_UFFD_SWAP_FORK, S2HYP_NR_SCENARIOS
};

/* The i-th built-in scenario's name and one line of what it does; NULL
 * past the last. */
const char *s2hyp_scenario_name(unsigned i);
const char *s2hyp_scenario_desc(unsigned i);

void s2hyp_scenario_init(struct s2hyp_scenario *sc);
void s2hyp_scenario_free(struct s2hyp_scenario *sc);
int s2hyp_scenario_add_host(struct s2hyp_scenario *sc, const struct s2hyp_host_op *op);
int s2hyp_scenario_add_vcpu(struct s2hyp_scenario *sc, unsigned vcpu,
			    const struct s2hyp_vcpu_op *op);

/* Build built-in scenario i (enum s2hyp_builtin) for nr_vcpus vCPUs (2..4
 * typical) and a variant; S2_EINVAL for another i. cfg is set to the
 * defaults with these. */
int s2hyp_scenario_build(struct s2hyp_scenario *sc, unsigned i, unsigned nr_vcpus,
			 enum s2pt_variant variant);

/* The same for a whole configuration (cfg is copied into sc->cfg): the
 * scenario's addresses and sizes follow its granule (pages of it, blocks
 * of its level 2), so that each does what it says with 4K, 16K and 64K. */
int s2hyp_scenario_build_cfg(struct s2hyp_scenario *sc, unsigned i,
			     const struct s2hyp_config *cfg);

/* A machine running the scenario's programs; *why on failure. */
int s2hyp_scenario_instantiate(const struct s2hyp_scenario *sc, struct s2hyp **m,
			       const char **why);
/* The same on m, reset (s2hyp_reset): m must have been made from a
 * scenario with sc's configuration and memslots. On error m can only be
 * deleted. */
int s2hyp_scenario_reset(const struct s2hyp_scenario *sc, struct s2hyp *m, const char **why);

/* The built-in scenarios of KVM on memfd memory and the VMM's userfaultfd
 * (uffd_scenario.c; in the table of scenario.c): guest memory on the host
 * (AE unless sc->cfg has a COW policy), 4K, one uffd-wp memfd slot at the
 * seed scenario's addresses, vCPU 0's program. */
void s2hyp__build_uffd_punch_hole(struct s2hyp_scenario *sc);
void s2hyp__build_uffd_madv_remove(struct s2hyp_scenario *sc);
void s2hyp__build_uffd_guest_wp(struct s2hyp_scenario *sc);
/* S5.4 on an anonymous uffd-wp slot instead. */
void s2hyp__build_uffd_swap_fork(struct s2hyp_scenario *sc);

/* The seed scenario's layout, for tests and reports. */
#define S2HYP_SEED_IPA   0x40000000ull
#define S2HYP_SEED_HVA   0x7f0000000000ull
#define S2HYP_SEED_IMAGE_PAGES 4	/* pages 1..4 of block 0 hold the host's image */

#endif
