/* Built-in scenarios of KVM on memfd memory and the VMM's userfaultfd
 * (../shared/ref/host-mm.md section 5, on the machine): S5.1's hole punch
 * racing fault-around and a guest write, by fallocate or MADV_REMOVE,
 * S5.3's guest write to a write-protected page, and S5.4's protected page
 * across swap and fork (anonymous memory). */
#include "common/s2_err.h"
#include "host-mm/s2host.h"
#include "hyp-model/s2hyp_scenario.h"

#define K4 0x1000ull
#define X 1	/* pages of the slot */
#define Y 2

static void acc(struct s2hyp_scenario *sc, unsigned phase, enum s2hyp_access a, unsigned page,
		uint64_t value)
{
	struct s2hyp_vcpu_op op = { .access = a, .phase = phase, .mmu_on = true, .size = 8,
				    .ipa = S2HYP_SEED_IPA + page * K4, .value = value };
	s2hyp_scenario_add_vcpu(sc, 0, &op);
}

/* A host-mm event on slot page (~0u: none) */
static void mm(struct s2hyp_scenario *sc, unsigned phase, enum s2hyp_mm_op op, unsigned page)
{
	struct s2hyp_host_op o = { .kind = S2HYP_HOST_MM, .mm = op, .phase = phase };
	if (page != ~0u) {
		o.addr = S2HYP_SEED_HVA + page * K4;
		o.size = op == S2HYP_MM_RECLAIM ? 0 : K4;
	}
	s2hyp_scenario_add_host(sc, &o);
}

/* X and Y cached, X protected, Y not mapped; the punch's first step zaps
 * X; vCPU 0 reads Y (its GUP faults around) and writes X; the handler
 * answers what it is asked; the truncation drops X. */
static void build_s51(struct s2hyp_scenario *sc, enum s2hyp_mm_op punch)
{
	acc(sc, 0, S2HYP_ACC_WRITE, X, 1);
	acc(sc, 0, S2HYP_ACC_WRITE, Y, 2);
	mm(sc, 1, S2HYP_MM_DONTNEED, Y);
	mm(sc, 1, S2HYP_MM_UFFD_PROTECT, X);
	mm(sc, 2, punch, X);
	acc(sc, 3, S2HYP_ACC_READ, Y, 0);
	acc(sc, 3, S2HYP_ACC_WRITE, X, 99);
	mm(sc, 3, S2HYP_MM_UFFD_READ, ~0u);
	mm(sc, 3, S2HYP_MM_UFFD_RESOLVE, ~0u);
	mm(sc, 3, S2HYP_MM_PUNCH_TRUNCATE, X);
}

/* X written, then protected (a live snapshot); the guest reads and writes
 * it while the handler waits for the message. */
static void build_s53(struct s2hyp_scenario *sc)
{
	acc(sc, 0, S2HYP_ACC_WRITE, X, 1);
	mm(sc, 1, S2HYP_MM_UFFD_PROTECT, X);
	acc(sc, 2, S2HYP_ACC_READ, X, 0);
	acc(sc, 2, S2HYP_ACC_WRITE, X, 2);
	mm(sc, 2, S2HYP_MM_UFFD_READ, ~0u);
	mm(sc, 2, S2HYP_MM_UFFD_RESOLVE, ~0u);
}

/* Guest memory on the host (AE unless a COW policy was given), 4K pages,
 * one uffd-wp registered slot (memfd: a shared memfd mapping, else
 * private anonymous memory) at the seed scenario's addresses. */
static void uffd_machine_of(struct s2hyp_scenario *sc, enum s2hyp_backing b)
{
	if (!sc->cfg.host_mm) {
		sc->cfg.host_mm = true;
		sc->cfg.cow_policy = (unsigned)S2HOST_POL_AE;
	}
	sc->cfg.granule_shift = 12;
	sc->slots[0] = (struct s2hyp_memslot){ .ipa = S2HYP_SEED_IPA, .size = 16 * K4,
					       .hva = S2HYP_SEED_HVA,
					       .backing = b, .uffd_wp = true };
	sc->nr_slots = 1;
}

static void uffd_machine(struct s2hyp_scenario *sc)
{
	uffd_machine_of(sc, S2HYP_BACKING_MEMFD);
}

/* S5.4: X written, protected, swapped out (the bit goes into the swap
 * entry), then the VMM forks a child that is not registered; the guest's
 * write swaps X in and still waits for the handler. Before 8f34f1eac382
 * the child's swap entry keeps the parent's bit (uffd-wp-fork). */
void s2hyp__build_uffd_swap_fork(struct s2hyp_scenario *sc)
{
	uffd_machine_of(sc, S2HYP_BACKING_4K);
	acc(sc, 0, S2HYP_ACC_WRITE, X, 1);
	mm(sc, 1, S2HYP_MM_UFFD_PROTECT, X);
	mm(sc, 1, S2HYP_MM_RECLAIM, X);
	mm(sc, 1, S2HYP_MM_FORK, ~0u);
	acc(sc, 2, S2HYP_ACC_WRITE, X, 2);
	mm(sc, 2, S2HYP_MM_UFFD_READ, ~0u);
	mm(sc, 2, S2HYP_MM_UFFD_RESOLVE, ~0u);
}

void s2hyp__build_uffd_punch_hole(struct s2hyp_scenario *sc)
{
	uffd_machine(sc);
	build_s51(sc, S2HYP_MM_PUNCH_HOLE);
}

void s2hyp__build_uffd_madv_remove(struct s2hyp_scenario *sc)
{
	uffd_machine(sc);
	build_s51(sc, S2HYP_MM_MADV_REMOVE);
}

void s2hyp__build_uffd_guest_wp(struct s2hyp_scenario *sc)
{
	uffd_machine(sc);
	build_s53(sc);
}
