/* hyp_fidelity_test: what the machine does so that real traces replay as
 * the kernel ran them: TLBs of a real size losing entries (access-flag
 * faults after ageing), the hardware access flag, unlinked tables freed
 * after an RCU grace period, and the statistics a kernel engineer compares
 * (faults by class/level/access, breaks and makes, TLBIs by kind).
 *
 * Layout: one 4K-backed memslot of 2M at IPA 0x40000000 (32 pages used),
 * or a THP one for coalescing; one vCPU; sequential runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_kvm.h"

#define IPA 0x40000000ull
#define HVA 0x7f0000000000ull
#define PG 0x1000ull
#define NPAGES 32

struct prog {
	struct s2hyp_host_op host[16];
	size_t nh;
	struct s2hyp_vcpu_op vcpu[4 * NPAGES];
	size_t nv;
	unsigned phase;
};

static void vop(struct prog *p, enum s2hyp_access a, uint64_t ipa)
{
	p->vcpu[p->nv++] = (struct s2hyp_vcpu_op){ .access = a, .phase = ++p->phase, .ipa = ipa,
						    .size = 8, .mmu_on = true, .value = ipa };
}

static void hop(struct prog *p, enum s2hyp_host_kind k, uint64_t addr, uint64_t size)
{
	p->host[p->nh++] = (struct s2hyp_host_op){ .kind = k, .phase = ++p->phase, .addr = addr,
						   .size = size };
}

static struct s2hyp *run(const struct s2hyp_config *cfg, enum s2hyp_backing b, struct prog *p)
{
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 2u << 20, .hva = HVA, .backing = b };
	struct s2hyp *m;
	const char *why = "";

	assert_int_equal(s2hyp_create(cfg, &slot, 1, &m, &why), 0);
	assert_int_equal(s2hyp_set_host_program(m, p->host, p->nh, &why), 0);
	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p->vcpu, p->nv, &why), 0);
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	return m;
}

/* No rule fired. */
static void assert_clean(const struct s2hyp_stats *st)
{
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		assert_int_equal(st->violations[r], 0);
}

/* Tear the VM down (a host destroy, run to the end) and return the stats. */
static const struct s2hyp_stats *destroy(struct s2hyp *m)
{
	struct s2hyp_host_op d = { .kind = S2HYP_HOST_DESTROY, .phase = 1 };
	const char *why = "";

	assert_int_equal(s2hyp_set_host_program(m, &d, 1, &why), 0);
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	return s2hyp_stats(m);
}

static void base_config(struct s2hyp_config *cfg)
{
	s2hyp_config_init(cfg);
	cfg->nr_vcpus = 1;
	cfg->explore_evictions = cfg->explore_prefetch = false;
}

/* Write 32 pages, age them all (which clears AF without a TLBI, as KVM
 * does), read them again. */
static void age_program(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < NPAGES; i++)
		vop(p, S2HYP_ACC_WRITE, IPA + i * PG);
	hop(p, S2HYP_HOST_AGE_IPA, IPA, NPAGES * PG);
	for (unsigned i = 0; i < NPAGES; i++)
		vop(p, S2HYP_ACC_READ, IPA + i * PG);
}

/* Write 32 pages, read them again. */
static void reread_program(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < NPAGES; i++)
		vop(p, S2HYP_ACC_WRITE, IPA + i * PG);
	for (unsigned i = 0; i < NPAGES; i++)
		vop(p, S2HYP_ACC_READ, IPA + i * PG);
}

/* Run p, which first writes the 32 pages, under cfg: it fills the TLB this
 * many times, takes one translation fault a page and fires nothing. */
static struct s2hyp *run_fills(const struct s2hyp_config *cfg, struct prog *p, uint64_t fills)
{
	struct s2hyp *m = run(cfg, S2HYP_BACKING_4K, p);
	const struct s2hyp_stats *st = s2hyp_stats(m);
	assert_int_equal(st->vcpu[0].tlb_fills, fills);
	assert_int_equal(st->vcpu[0].faults_translation, NPAGES);
	assert_clean(st);
	return m;
}

/* A 16-entry TLB cannot hold 32 pages: every page's entry is gone by the
 * time it is read again, so each read walks and fills again; an unlimited
 * TLB keeps them all and serves the reads. */
static void test_tlb_capacity_loses_entries(void **state)
{
	(void)state;
	for (unsigned entries = 0; entries <= 16; entries += 16) {
		struct s2hyp_config cfg;
		struct prog p;
		reread_program(&p);
		base_config(&cfg);
		cfg.tlb_entries = entries;
		s2hyp_delete(run_fills(&cfg, &p, entries ? 2 * NPAGES : NPAGES));
	}
}

/* A read a trace shows walked (its line is a translation or access-flag
 * fault) finds no leaf of the vCPU's for its address: after ageing, which
 * flushes nothing (KVM's clear_young, MGLRU's path), each such read of an
 * aged page takes an access-flag fault even in an unlimited TLB; the same
 * reads unmarked keep using their entries and take none. */
static void test_walked_access_drops_its_leaves(void **state)
{
	(void)state;
	for (int walked = 0; walked <= 1; walked++) {
		struct s2hyp_config cfg;
		struct prog p;
		age_program(&p);
		for (size_t i = NPAGES; i < p.nv; i++)
			p.vcpu[i].walked = walked;
		base_config(&cfg);
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		assert_int_equal(st->vcpu[0].faults_access_flag, walked ? NPAGES : 0);
		assert_int_equal(st->faults[2][S2_LEVEL_MAX + 1][S2HYP_ACC_READ], walked ? NPAGES : 0);
		assert_int_equal(st->mkyoungs, walked ? NPAGES : 0);
		assert_int_equal(st->tlbi_calls[S2HYP_TLBI_VMID], 0);
		assert_clean(st);
		s2hyp_delete(m);
	}
}

/* Ageing with flush (the notifier's clear_flush_young, reclaim without the
 * multi-gen LRU) flushes the VMID when it found a young entry: even an
 * unlimited TLB then loses every aged page and each plain read takes an
 * access-flag fault. Ageing again at once finds nothing young and flushes
 * nothing; without flush (clear_young) no ageing flushes. */
static void test_age_flush_flushes_vmid_when_young(void **state)
{
	(void)state;
	for (int flush = 0; flush <= 1; flush++) {
		struct s2hyp_config cfg;
		struct prog p;
		age_program(&p);
		hop(&p, S2HYP_HOST_AGE_IPA, IPA, NPAGES * PG);
		hop(&p, S2HYP_HOST_AGE_IPA, IPA, NPAGES * PG);
		for (size_t i = 0; i < p.nh; i++)
			p.host[i].flush = flush;
		base_config(&cfg);
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		assert_int_equal(st->vcpu[0].faults_access_flag, flush ? NPAGES : 0);
		/* the first ageing and the one after the reads made the pages
		 * young again flush; the last finds every page old */
		assert_int_equal(st->tlbi_calls[S2HYP_TLBI_VMID], flush ? 2 : 0);
		assert_clean(st);
		s2hyp_delete(m);
	}
}

/* Write 32 pages, unmap the last one (KVM's IPA flush: TLBI IPAS2E1IS,
 * DSB, TLBI VMALLE1IS), read the other 31. */
static void unmap_reread_program(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < NPAGES; i++)
		vop(p, S2HYP_ACC_WRITE, IPA + i * PG);
	hop(p, S2HYP_HOST_UNMAP_IPA, IPA + (NPAGES - 1) * PG, PG);
	for (unsigned i = 0; i + 1 < NPAGES; i++)
		vop(p, S2HYP_ACC_READ, IPA + i * PG);
}

/* With combined-tlb (qemu's TCG) the VMALLE1IS after one page's unmap drops
 * every other page's entry: the 31 reads walk and fill again; without it
 * the entries also stand for stage-2-only copies and stay: no refill. */
static void test_vmalle1is_after_unmap_drops_combined_entries(void **state)
{
	(void)state;
	for (int combined = 0; combined <= 1; combined++) {
		struct s2hyp_config cfg;
		struct prog p;
		unmap_reread_program(&p);
		base_config(&cfg);
		cfg.combined_tlb = combined;
		struct s2hyp *m = run_fills(&cfg, &p, combined ? 2 * NPAGES - 1 : NPAGES);
		assert_int_equal(s2hyp_stats(m)->tlbi_calls[S2HYP_TLBI_IPA], 1);
		s2hyp_delete(m);
	}
}

/* Leaves in vCPU v's TLB. */
static unsigned tlb_leaves(const struct s2hyp *m, unsigned v)
{
	struct s2hyp_translation t[2 * NPAGES];
	return s2hyp_vcpu_tlb(m, v, t, 2 * NPAGES);
}

/* VMALLE1 (on vCPU 1's CPU) and VMALLE1IS remove leaves, the first only
 * vCPU 1's, and keep the walk caches' stage-2 table descriptors; without
 * combined-tlb neither removes anything. */
static void test_vmalle1_keeps_walk_cache(void **state)
{
	(void)state;
	for (int combined = 0; combined <= 1; combined++) {
		struct s2hyp_memslot slot = { .ipa = IPA, .size = 2u << 20, .hva = HVA,
					      .backing = S2HYP_BACKING_4K };
		struct s2hyp_config cfg;
		struct prog p[2];
		struct s2hyp *m;
		const char *why = "";
		base_config(&cfg);
		cfg.nr_vcpus = 2;
		cfg.combined_tlb = combined;
		for (unsigned v = 0; v < 2; v++) {
			memset(&p[v], 0, sizeof(p[v]));
			for (unsigned i = 0; i < 4; i++)
				vop(&p[v], S2HYP_ACC_WRITE, IPA + (v * 4 + i) * PG);
		}
		assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
		for (unsigned v = 0; v < 2; v++)
			assert_int_equal(s2hyp_set_vcpu_program(m, v, p[v].vcpu, p[v].nv, &why), 0);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		unsigned wc0 = m->vcpus[0].wc_n, wc1 = m->vcpus[1].wc_n;
		assert_int_equal(tlb_leaves(m, 0), 4);
		assert_int_equal(tlb_leaves(m, 1), 4);
		assert_true(wc0 > 0 && wc1 > 0);

		const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
		m->op_thread = 1;	/* a relax on vCPU 1's physical CPU */
		ops->tlbi(m, S2PT_TLBI_VMALLE1, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
		ops->barrier(m, S2PT_DSB_NSH);
		assert_int_equal(tlb_leaves(m, 0), 4);
		assert_int_equal(tlb_leaves(m, 1), combined ? 0 : 4);
		m->op_thread = -1;
		ops->tlbi(m, S2PT_TLBI_VMALLE1IS, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
		ops->barrier(m, S2PT_DSB_ISH);
		assert_int_equal(tlb_leaves(m, 0), combined ? 0 : 4);
		assert_int_equal(tlb_leaves(m, 1), combined ? 0 : 4);
		assert_int_equal(m->vcpus[0].wc_n, wc0);
		assert_int_equal(m->vcpus[1].wc_n, wc1);
		assert_clean(s2hyp_stats(m));
		s2hyp_delete(m);
	}
}

/* With the hardware access flag the walker sets AF itself: no fault, and
 * the entries are young again afterwards. */
static void test_hw_af_sets_flag(void **state)
{
	struct s2hyp_config cfg;
	struct prog p;
	(void)state;

	age_program(&p);
	base_config(&cfg);
	cfg.tlb_entries = 16;
	cfg.hw_af = true;
	struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
	assert_int_equal(s2hyp_stats(m)->vcpu[0].faults_access_flag, 0);
	for (unsigned i = 0; i < NPAGES; i++) {
		s2_pte_t pte;
		s2_level_t level;
		s2pt_get_leaf(s2hyp_pgtable(m), s2_ipa(IPA + i * PG), &pte, &level);
		assert_true(s2pt_pte_valid(pte));
		assert_true(pte & S2PT_PTE_AF);
	}
	s2hyp_delete(m);
}

/* Dirty logging splits the block, logging off and one more fault coalesces
 * it: the unlinked level-3 table waits for its grace period (the end of
 * the VM) with rcu, or with parallel faults (another walker may be inside
 * it), and is freed at once with neither; no rule fires either way,
 * nothing leaks. */
static void test_rcu_defers_unlinked_free(void **state)
{
	(void)state;
	for (int k = 0; k < 3; k++) {
		int rcu = k == 1;
		bool parallel = k == 2;
		struct s2hyp_config cfg;
		struct prog p;
		memset(&p, 0, sizeof(p));
		vop(&p, S2HYP_ACC_WRITE, IPA);
		p.host[p.nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_ON,
							 .phase = ++p.phase };
		vop(&p, S2HYP_ACC_WRITE, IPA + PG);
		p.host[p.nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_OFF,
							 .phase = ++p.phase };
		vop(&p, S2HYP_ACC_WRITE, IPA + 2 * PG);
		base_config(&cfg);
		cfg.rcu_free = rcu;
		cfg.variant = parallel ? S2PT_V_UPSTREAM : S2PT_V_UPSTREAM_EXCLUSIVE;
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_THP, &p);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		assert_int_equal(st->coalesces, 1);
		assert_int_equal(st->unlinked_frees, rcu || parallel ? 0 : 1);
		uint64_t freed = st->table_pages_freed;

		st = destroy(m);
		assert_int_equal(st->unlinked_frees, 1);
		assert_true(st->table_pages_freed > freed);
		assert_clean(st);
		s2hyp_delete(m);
	}
}

/* A host rcu-callback (a capture's kvm_pgtable_stage2_free_unlinked) frees
 * the oldest unlinked table whose grace period has ended, one a callback,
 * and nothing when none waits; without rcu (and one fault at a time:
 * upstream-exclusive) tables are freed at once and the callback finds none. */
static void test_rcu_callback_frees_oldest(void **state)
{
	(void)state;
	for (int rcu = 0; rcu < 2; rcu++) {
		struct s2hyp_config cfg;
		struct prog p;
		memset(&p, 0, sizeof(p));
		vop(&p, S2HYP_ACC_WRITE, IPA);
		hop(&p, S2HYP_HOST_RCU_CALLBACK, 0, 0);		/* nothing waits */
		for (unsigned k = 0; k < 2; k++) {		/* split and coalesce, twice */
			hop(&p, S2HYP_HOST_DIRTY_LOG_ON, 0, 0);
			vop(&p, S2HYP_ACC_WRITE, IPA + (1 + 2 * k) * PG);
			hop(&p, S2HYP_HOST_DIRTY_LOG_OFF, 0, 0);
			vop(&p, S2HYP_ACC_WRITE, IPA + (2 + 2 * k) * PG);
		}
		hop(&p, S2HYP_HOST_RCU_CALLBACK, 0, 0);
		base_config(&cfg);
		cfg.rcu_free = rcu;
		cfg.variant = rcu ? S2PT_V_UPSTREAM : S2PT_V_UPSTREAM_EXCLUSIVE;
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_THP, &p);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		assert_int_equal(st->coalesces, 2);
		assert_int_equal(st->unlinked_frees, rcu ? 1 : 2);

		st = destroy(m);
		assert_int_equal(st->unlinked_frees, 2);
		assert_clean(st);
		s2hyp_delete(m);
	}
}

/* The statistics of one write fault on a 4K slot and of a relax: the fault
 * counted by class, level and access; a break of the invalid entry and a
 * make; the permission fault's relax; a local TLBI for it. */
static void test_stats_of_map_and_relax(void **state)
{
	struct s2hyp_config cfg;
	struct prog p;
	(void)state;

	memset(&p, 0, sizeof(p));
	vop(&p, S2HYP_ACC_READ, IPA);
	p.host[p.nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_ON,
						 .phase = ++p.phase };
	vop(&p, S2HYP_ACC_WRITE, IPA);
	base_config(&cfg);
	struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
	const struct s2hyp_stats *st = s2hyp_stats(m);
	assert_int_equal(st->faults[0][S2_LEVEL_MAX + 1][S2HYP_ACC_READ], 0);
	/* A fresh VM has no level-2 table yet: the read faults at level 1. */
	assert_int_equal(st->faults[0][1 + 1][S2HYP_ACC_READ], 1);
	assert_int_equal(st->faults[1][S2_LEVEL_MAX + 1][S2HYP_ACC_WRITE], 1);
	assert_int_equal(st->maps, 1);
	assert_int_equal(st->relaxes, 1);
	assert_int_equal(st->breaks[S2HYP_ENTRY_INVALID] + st->breaks[S2HYP_ENTRY_PAGE] +
			 st->breaks[S2HYP_ENTRY_BLOCK] + st->breaks[S2HYP_ENTRY_TABLE], st->makes);
	assert_true(st->makes >= 1);
	/* Two tables (levels 2 and 3) came from the memcache. */
	assert_int_equal(st->table_pages_taken, 2);
	assert_int_equal(st->tlbi_calls[S2HYP_TLBI_LOCAL], 1);
	assert_int_equal(st->tlbi_calls[S2HYP_TLBI_VMID], 1);
	s2hyp_delete(m);
}

/* A guest that writes code and runs it maintains its caches itself; a
 * trace of its faults cannot show that. An observed fetch (from a trace's
 * fault line) of a line a vCPU wrote last is therefore clean, while the same
 * program written as plain accesses fires stale-instruction (the guest did
 * no maintenance), and a line the host wrote keeps needing KVM's. */
static void test_observed_guest_code(void **state)
{
	(void)state;
	for (int observed = 0; observed < 2; observed++) {
		struct s2hyp_config cfg;
		struct prog p;
		memset(&p, 0, sizeof(p));
		vop(&p, S2HYP_ACC_EXEC, IPA);		/* mapped executable */
		vop(&p, S2HYP_ACC_WRITE, IPA + 0x40);	/* new code */
		vop(&p, S2HYP_ACC_EXEC, IPA + 0x40);	/* run it */
		for (size_t i = 0; i < p.nv; i++)
			p.vcpu[i].observed = observed;
		base_config(&cfg);
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
		assert_int_equal(s2hyp_rule_fired(m, S2HYP_RULE_STALE_INSN), !observed);
		s2hyp_delete(m);
	}
	/* The host writes code the guest then fetches, observed: without
	 * KVM's icache invalidation it is stale all the same. */
	struct s2hyp_config cfg;
	struct prog p;
	memset(&p, 0, sizeof(p));
	vop(&p, S2HYP_ACC_EXEC, IPA);
	p.host[p.nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_WRITE, .phase = ++p.phase,
						 .addr = HVA + PG, .size = PG, .fill = 0x5a };
	vop(&p, S2HYP_ACC_EXEC, IPA + PG);
	for (size_t i = 0; i < p.nv; i++)
		p.vcpu[i].observed = true;
	for (int nocmo = 0; nocmo < 2; nocmo++) {
		base_config(&cfg);
		cfg.variant = nocmo ? S2PT_V_UPSTREAM_NOCMO : S2PT_V_UPSTREAM;
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
		assert_int_equal(s2hyp_rule_fired(m, S2HYP_RULE_STALE_INSN), nocmo);
		s2hyp_delete(m);
	}
}

/* KVM's retry check is VM-wide: while an MMU-notifier invalidation is in
 * progress, a fault anywhere maps nothing and the access is over (the
 * guest's next attempt faults again); after its end the same access maps.
 * Without the begin, every attempt after the first finds the page mapped. */
static void test_fault_retries_during_invalidation(void **state)
{
	(void)state;
	for (int open = 0; open < 2; open++) {
		struct s2hyp_config cfg;
		struct prog p;
		memset(&p, 0, sizeof(p));
		if (open)
			hop(&p, S2HYP_HOST_INVALIDATE_BEGIN, 0, 0);
		hop(&p, S2HYP_HOST_UNMAP_HVA, HVA + 16 * PG, PG);	/* far from the faults */
		vop(&p, S2HYP_ACC_WRITE, IPA);
		vop(&p, S2HYP_ACC_WRITE, IPA);
		vop(&p, S2HYP_ACC_WRITE, IPA);
		if (open)
			hop(&p, S2HYP_HOST_INVALIDATE_END, 0, 0);
		vop(&p, S2HYP_ACC_WRITE, IPA);
		vop(&p, S2HYP_ACC_WRITE, IPA);
		for (size_t i = 0; i < p.nv; i++)
			p.vcpu[i].observed = true;
		base_config(&cfg);
		struct s2hyp *m = run(&cfg, S2HYP_BACKING_4K, &p);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		uint64_t faults = 0;
		for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
			faults += st->faults[0][l][S2HYP_ACC_WRITE];
		assert_int_equal(faults, open ? 4 : 1);
		assert_int_equal(st->host_retries, open ? 3 : 0);
		assert_int_equal(st->maps, 1);
		assert_int_equal(st->vcpu[0].mmio, 0);
		s2hyp_delete(m);
	}
}

/* Eager splitting as KVM does it: one split call per chunk of the slot
 * (KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE), and each new table built by a map
 * walk over it (kvm_pgtable_stage2_create_unlinked), so that every one of
 * its entries is broken and made; without a chunk, one call for the slot. */
static void test_eager_split_chunks(void **state)
{
	(void)state;
	for (int chunked = 0; chunked < 2; chunked++) {
		struct s2hyp_config cfg;
		struct prog p;
		struct s2hyp_memslot slot = { .ipa = IPA, .size = 8u << 20, .hva = HVA,
					      .backing = S2HYP_BACKING_THP };
		struct s2hyp *m;
		const char *why = "";

		memset(&p, 0, sizeof(p));
		for (unsigned i = 0; i < 4; i++)
			vop(&p, S2HYP_ACC_WRITE, IPA + i * (2u << 20));	/* four blocks */
		p.host[p.nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_ON,
							 .phase = ++p.phase };
		base_config(&cfg);
		cfg.eager_split = true;
		cfg.split_chunk = chunked ? 2u << 20 : 0;
		assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
		assert_int_equal(s2hyp_set_host_program(m, p.host, p.nh, &why), 0);
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, p.vcpu, p.nv, &why), 0);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		const struct s2hyp_stats *st = s2hyp_stats(m);
		assert_int_equal(st->splits, chunked ? 4 : 1);
		assert_int_equal(st->breaks[S2HYP_ENTRY_BLOCK], 4);
		/* 4 new tables of 512 entries, each broken while invalid */
		assert_true(st->breaks[S2HYP_ENTRY_INVALID] >= 4 * 512);
		assert_int_equal(st->breaks[S2HYP_ENTRY_INVALID] + st->breaks[S2HYP_ENTRY_BLOCK] +
				 st->breaks[S2HYP_ENTRY_PAGE] + st->breaks[S2HYP_ENTRY_TABLE], st->makes);
		assert_clean(st);
		s2hyp_delete(m);
	}
}

/* Turning dirty logging on with eager splitting takes two mmu_lock
 * sections, as kvm_arch_commit_memory_region does: write-protect and flush,
 * then split. A write the guest makes meanwhile can find the block
 * write-protected and not yet split: a permission fault at level 2, which
 * maps the page (the block broken, a table in its place) before the split
 * comes. Some random schedule takes that window, and none fires a rule;
 * in one section (split, then protect) the window would not exist. */
static void test_dirty_log_on_protects_before_split(void **state)
{
	unsigned in_window = 0;
	(void)state;
	for (uint64_t seed = 1; seed <= 60; seed++) {
		struct s2hyp_config cfg;
		struct prog p;
		struct s2hyp_memslot slot = { .ipa = IPA, .size = 2u << 20, .hva = HVA,
					      .backing = S2HYP_BACKING_THP };
		struct s2hyp *m;
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		const char *why = "";

		memset(&p, 0, sizeof(p));
		vop(&p, S2HYP_ACC_WRITE, IPA);				/* the block */
		p.host[p.nh++] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_ON,
							 .phase = ++p.phase };
		/* the same phase: the write runs alongside the host's ioctl */
		p.vcpu[p.nv++] = (struct s2hyp_vcpu_op){ .access = S2HYP_ACC_WRITE,
							 .phase = p.phase, .ipa = IPA + 5 * PG,
							 .size = 8, .mmu_on = true, .value = 1 };
		base_config(&cfg);
		cfg.eager_split = true;
		cfg.split_chunk = 2u << 20;
		assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
		assert_int_equal(s2hyp_set_host_program(m, p.host, p.nh, &why), 0);
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, p.vcpu, p.nv, &why), 0);
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
		const struct s2hyp_stats *s = s2hyp_stats(m);
		assert_clean(s);
		in_window += s->faults[1][2 + 1][S2HYP_ACC_WRITE] > 0;
		s2hyp_delete(m);
	}
	assert_true(in_window > 0);
}

/* An end without a begin is an error of the run, not a count gone below zero. */
static void test_invalidate_end_needs_begin(void **state)
{
	struct s2hyp_config cfg;
	struct prog p;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 2u << 20, .hva = HVA, .backing = S2HYP_BACKING_4K };
	struct s2hyp *m;
	const char *why = "";
	(void)state;

	memset(&p, 0, sizeof(p));
	hop(&p, S2HYP_HOST_INVALIDATE_END, 0, 0);
	base_config(&cfg);
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
	assert_int_equal(s2hyp_set_host_program(m, p.host, p.nh, &why), 0);
	assert_int_not_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	s2hyp_delete(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlb_capacity_loses_entries),
		cmocka_unit_test(test_walked_access_drops_its_leaves),
		cmocka_unit_test(test_age_flush_flushes_vmid_when_young),
		cmocka_unit_test(test_hw_af_sets_flag),
		cmocka_unit_test(test_vmalle1is_after_unmap_drops_combined_entries),
		cmocka_unit_test(test_vmalle1_keeps_walk_cache),
		cmocka_unit_test(test_rcu_defers_unlinked_free),
		cmocka_unit_test(test_rcu_callback_frees_oldest),
		cmocka_unit_test(test_stats_of_map_and_relax),
		cmocka_unit_test(test_observed_guest_code),
		cmocka_unit_test(test_fault_retries_during_invalidation),
		cmocka_unit_test(test_invalidate_end_needs_begin),
		cmocka_unit_test(test_eager_split_chunks),
		cmocka_unit_test(test_dirty_log_on_protects_before_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
