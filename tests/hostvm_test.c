/* hostvm_test: the machine with its guest memory on the host model
 * (s2hyp_config.host_mm, hyp-model/hostvm.c): the zero page and the COW
 * during a permission fault, the retry when an invalidation races a fault's
 * GUP, host events reaching stage 2 and the TLBs, and the host-mm rule fired
 * by a policy's break with its passing twin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_bits.h"
#include "common/s2_err.h"
#include "host-mm/s2host.h"
#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_kvmhost.h"

#define IPA 0x40000000ull
#define HVA 0x7f0000000000ull
#define K4 0x1000ull

static struct s2hyp *mk_bug(enum s2host_policy pol, unsigned vcpus, enum s2hyp_backing b,
			   bool no_retry, bool writable_always);

static struct s2hyp *mk(enum s2host_policy pol, unsigned vcpus, enum s2hyp_backing b)
{
	return mk_bug(pol, vcpus, b, false, false);
}

static struct s2hyp *mk_bug(enum s2host_policy pol, unsigned vcpus, enum s2hyp_backing b,
			   bool no_retry, bool writable_always)
{
	struct s2hyp_config cfg;
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 0x400000, .hva = HVA, .backing = b };

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = vcpus;
	cfg.host_mm = true;
	cfg.cow_policy = pol;
	cfg.host_no_retry_check = no_retry;
	cfg.host_map_writable_always = writable_always;
	cfg.explore_evictions = cfg.explore_prefetch = false;
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
	return m;
}

static struct s2hyp_vcpu_op acc(enum s2hyp_access a, unsigned phase, uint64_t ipa, uint64_t value)
{
	return (struct s2hyp_vcpu_op){ .access = a, .phase = phase, .ipa = ipa, .size = 8,
				       .mmu_on = true, .value = value };
}

static struct s2hyp_host_op mmop(enum s2hyp_mm_op op, unsigned phase, uint64_t hva, unsigned proc,
				 unsigned ref)
{
	return (struct s2hyp_host_op){ .kind = S2HYP_HOST_MM, .mm = op, .phase = phase,
				       .addr = hva, .size = K4, .proc = proc, .ref = ref };
}

static void run_seq(struct s2hyp *m)
{
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
}

static const struct s2hyp_violation *host_mm_violation(struct s2hyp *m)
{
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++)
		if (s2hyp_violation(m, i)->rule == S2HYP_RULE_HOST_MM)
			return s2hyp_violation(m, i);
	return NULL;
}

/* A read of never-written memory maps the zero page read-only; the first
 * write is a permission fault whose GUP COWs the page: the notifier unmaps,
 * the retry check fails, and the refault maps the new page writable. */
static void test_zero_page_then_cow_on_write(void **state)
{
	struct s2hyp *m = mk(S2HOST_POL_AE, 1, S2HYP_BACKING_4K);
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_READ, 0, IPA, 0), acc(S2HYP_ACC_WRITE, 1, IPA, 7) };
	struct s2hyp_kvm_leaf lf;
	struct s2host_pte_view pv;
	(void)state;

	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 2, NULL), 0);
	run_seq(m);
	const struct s2hyp_stats *st = s2hyp_stats(m);
	assert_int_equal(st->vcpu[0].faults_permission, 1);
	assert_int_equal(st->vcpu[0].faults_translation, 2);
	assert_int_equal(st->host_retries, 1);
	assert_int_equal(st->maps, 2);
	assert_int_equal(st->unmaps, 1);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	assert_int_equal(s2host_stats(s2hyp_host(m))->zero_maps, 1);
	assert_int_equal(s2host_stats(s2hyp_host(m))->cow_copies, 1);
	/* Stage 2 maps, writable, the page the VMM maps now. */
	assert_int_equal(s2hyp_kvm_leaf(s2hyp_host_kvm(m), IPA, &lf), 0);
	assert_true(lf.valid && lf.writable);
	assert_int_not_equal(lf.pfn, S2HOST_ZERO_PFN);
	assert_int_equal(s2host_lookup(s2hyp_host(m), 0, HVA & 0x1fffff, &pv), 0);
	assert_int_equal(pv.pfn, lf.pfn);
	s2hyp_delete(m);
}

/* DONTNEED and a migration racing faults over seeds 1..300 of the random
 * strategy: the faults retried, and the runs whose first host-mm report
 * names rule (NULL: must be none). */
static void race(bool no_retry, uint64_t *retries, unsigned *fired, const char *rule)
{
	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct s2hyp *m = mk_bug(S2HOST_POL_AE, 2, S2HYP_BACKING_4K, no_retry, false);
		struct s2hyp_vcpu_op p0[] = { acc(S2HYP_ACC_WRITE, 0, IPA, 1),
					      acc(S2HYP_ACC_WRITE, 1, IPA, 2),
					      acc(S2HYP_ACC_READ, 1, IPA, 0) };
		struct s2hyp_vcpu_op p1[] = { acc(S2HYP_ACC_READ, 1, IPA, 0),
					      acc(S2HYP_ACC_WRITE, 1, IPA + 8, 3) };
		struct s2hyp_host_op h[] = { mmop(S2HYP_MM_DONTNEED, 1, HVA, 0, 0),
					     mmop(S2HYP_MM_MIGRATE, 1, HVA, 0, 0),
					     { .kind = S2HYP_HOST_DESTROY, .phase = 2 } };
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, p0, 3, NULL), 0);
		assert_int_equal(s2hyp_set_vcpu_program(m, 1, p1, 2, NULL), 0);
		assert_int_equal(s2hyp_set_host_program(m, h, 3, NULL), 0);
		s2hyp_run(m, &st);
		const struct s2hyp_violation *v = host_mm_violation(m);
		if (!rule && s2hyp_nr_violations(m))
			fail_msg("seed %llu: %s", (unsigned long long)seed,
				 s2hyp_violation(m, 0)->detail);
		if (rule && v && !strncmp(v->detail, rule, strlen(rule)))
			(*fired)++;
		*retries += s2hyp_stats(m)->host_retries;
		s2hyp_delete(m);
	}
}

/* DONTNEED and a migration racing faults: under random schedules some
 * fault's GUP comes before an invalidation and its install after, and
 * retries; no schedule leaves stage 2 or a TLB on a page the host dropped. */
static void test_invalidate_race_retries(void **state)
{
	uint64_t retries = 0;
	unsigned fired = 0;
	(void)state;

	race(false, &retries, &fired, NULL);
	assert_true(retries > 0);
}

/* The same races with KVM's retry check left out: some schedule installs
 * a page the invalidation took away (host-mm, s2-retry first). */
static void test_no_retry_check_fires_s2_retry(void **state)
{
	uint64_t retries = 0;
	unsigned fired = 0;
	(void)state;

	race(true, &retries, &fired, "s2-retry:");
	assert_int_equal(retries, 0);
	assert_true(fired > 0);
}

/* A read of never-written memory mapped writable whatever GUP found (the
 * zero page, read-only): host-mm fires s2-writable at the install; the
 * correct handler maps it read-only (test_zero_page_then_cow_on_write). */
static void test_read_mapped_writable_fires_s2_writable(void **state)
{
	struct s2hyp *m = mk_bug(S2HOST_POL_AE, 1, S2HYP_BACKING_4K, false, true);
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_READ, 0, IPA, 0) };
	(void)state;

	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 1, NULL), 0);
	run_seq(m);
	const struct s2hyp_violation *v = host_mm_violation(m);
	assert_non_null(v);
	assert_true(strncmp(v->detail, "s2-writable:", 12) == 0);
	s2hyp_delete(m);
}

/* The TLB half of s2-subset: the guest writes a page (its vCPU's TLB caches
 * the translation), then the host drops or migrates it. When the notifier's
 * unmap issues no TLB invalidation (injected), the invalidation ends with the
 * TLB still naming the old page: host-mm fires s2-subset on "a vCPU's TLB"
 * (the leaf itself is gone), naming the page's address in the VMM (the
 * memslot's hva plus the offset, not the host model's own); with the
 * invalidations nothing fires. */
static unsigned tlb_after_invalidate(enum s2hyp_mm_op ev, bool drop_tlbi)
{
	struct s2hyp_config cfg;
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 0x400000, .hva = HVA,
				      .backing = S2HYP_BACKING_4K };
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_WRITE, 0, IPA + 0x3000, 1) };
	struct s2hyp_host_op h[] = { mmop(ev, 1, HVA + 0x3000, 0, 0) };
	unsigned fired = 0;

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = 1;
	cfg.host_mm = true;
	cfg.cow_policy = S2HOST_POL_AE;
	cfg.host_unmap_no_tlbi = drop_tlbi;
	cfg.explore_evictions = cfg.explore_prefetch = false;
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 1, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 1, NULL), 0);
	s2hyp_run(m, &s2hyp_strategy_sequential);
	assert_int_equal(s2hyp_stats(m)->unmaps, 1);
	const struct s2hyp_violation *v = host_mm_violation(m);
	if (v) {
		assert_non_null(strstr(v->detail, "s2-subset: a vCPU's TLB maps IPA 0x40003000"));
		assert_non_null(strstr(v->detail, "at hva 0x7f0000003000"));
		fired++;
	}
	if (!drop_tlbi)
		assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);
	return fired;
}

static void test_tlb_kept_past_invalidation_fires_s2_subset(void **state)
{
	(void)state;
	assert_int_equal(tlb_after_invalidate(S2HYP_MM_DONTNEED, true), 1);
	assert_int_equal(tlb_after_invalidate(S2HYP_MM_MIGRATE, true), 1);
}

/* ...and its twin: the same events with the notifier's TLBIs. */
static void test_tlb_flushed_by_invalidation_passes(void **state)
{
	(void)state;
	assert_int_equal(tlb_after_invalidate(S2HYP_MM_DONTNEED, false), 0);
	assert_int_equal(tlb_after_invalidate(S2HYP_MM_MIGRATE, false), 0);
}

/* The vmsplice leak (S1.3) with the guest as the parent's writer: under the
 * mapcount rule the guest's write reuses the page the child's pipe still
 * holds, and reading the pipe shows it (host-mm: cow-isolation). */
static void vmsplice(enum s2host_policy pol, bool fires)
{
	struct s2hyp *m = mk(pol, 1, S2HYP_BACKING_4K);
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_WRITE, 0, IPA, 1), acc(S2HYP_ACC_WRITE, 4, IPA, 2) };
	struct s2hyp_host_op h[] = {
		mmop(S2HYP_MM_FORK, 1, 0, 0, 0), mmop(S2HYP_MM_GUP, 2, HVA, 1, 0),
		mmop(S2HYP_MM_MUNMAP, 3, HVA, 1, 0), mmop(S2HYP_MM_REF_READ, 5, 0, 0, 0),
		{ .kind = S2HYP_HOST_DESTROY, .phase = 6 },
	};

	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 2, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 5, NULL), 0);
	run_seq(m);
	const struct s2hyp_violation *v = host_mm_violation(m);
	if (fires) {
		assert_non_null(v);
		assert_true(strncmp(v->detail, "cow-isolation:", 14) == 0);
	} else {
		assert_null(v);
		assert_int_equal(s2hyp_nr_violations(m), 0);
	}
	s2hyp_delete(m);
}

/* The vmsplice leak fires host-mm under MAP2 (4.6-5.7). */
static void test_vmsplice_fires_under_map2(void **state)
{
	(void)state;
	vmsplice(S2HOST_POL_MAP2, true);
}

/* The same run is clean under AnonExclusive (5.19+). */
static void test_vmsplice_clean_under_ae(void **state)
{
	(void)state;
	vmsplice(S2HOST_POL_AE, false);
}

/* A guest write racing the VMM's fork, under random schedules (seeds
 * 1..300): a write through stage 2 while the fork's invalidation unmaps it
 * is before the fork (the page tables are copied after the notifier's
 * start), so the child may read it; one after faults and copies. No
 * schedule fires cow-isolation when the child reads through its GUP
 * reference, and some schedule's child sees the racing write. */
static void test_write_racing_fork_is_before_it(void **state)
{
	unsigned child_saw_it = 0;
	(void)state;

	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct s2hyp *m = mk(S2HOST_POL_AE, 1, S2HYP_BACKING_4K);
		struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_WRITE, 0, IPA, 1),
					     acc(S2HYP_ACC_WRITE, 1, IPA, 2) };
		struct s2hyp_host_op h[] = { mmop(S2HYP_MM_FORK, 1, 0, 0, 0),
					     mmop(S2HYP_MM_GUP, 2, HVA, 1, 0),
					     mmop(S2HYP_MM_REF_READ, 3, 0, 0, 0) };
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		struct s2host_pte_view pv;
		struct s2host_page_view pg;
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 2, NULL), 0);
		assert_int_equal(s2hyp_set_host_program(m, h, 3, NULL), 0);
		assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
		if (s2hyp_nr_violations(m))
			fail_msg("seed %llu: %s", (unsigned long long)seed,
				 s2hyp_violation(m, 0)->detail);
		/* the child (host mm 1) maps the page with the value it had at the fork */
		assert_int_equal(s2host_lookup(s2hyp_host(m), 1, HVA & 0x1fffff, &pv), 0);
		assert_int_equal(s2host_page(s2hyp_host(m), pv.pfn, &pg), 0);
		child_saw_it += pg.value == 2;
		s2hyp_delete(m);
	}
	assert_true(child_saw_it > 0);
}

/* A vfio pin, then clear_refs, then the guest writes: under page_count
 * (CNT, 5.9-5.17) the write fault copies the pinned page, and the device
 * and the guest stop sharing memory (pin-stable); AE keeps the page. */
static void pin_clear_refs(enum s2host_policy pol, bool fires)
{
	struct s2hyp *m = mk(pol, 1, S2HYP_BACKING_4K);
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_WRITE, 0, IPA, 1), acc(S2HYP_ACC_WRITE, 3, IPA, 2) };
	struct s2hyp_host_op h[] = {
		mmop(S2HYP_MM_PIN, 1, HVA, 0, 0), mmop(S2HYP_MM_CLEAR_REFS, 2, 0, 0, 0),
		{ .kind = S2HYP_HOST_DESTROY, .phase = 4 },
	};

	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 2, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 3, NULL), 0);
	run_seq(m);
	const struct s2hyp_violation *v = host_mm_violation(m);
	if (fires) {
		assert_non_null(v);
		assert_true(strncmp(v->detail, "pin-stable:", 11) == 0);
	} else {
		assert_null(v);
	}
	s2hyp_delete(m);
}

/* clear_refs breaks a long-term pin under CNT. */
static void test_clear_refs_breaks_pin_under_cnt(void **state)
{
	(void)state;
	pin_clear_refs(S2HOST_POL_CNT, true);
}

/* ... and not under AE. */
static void test_clear_refs_keeps_pin_under_ae(void **state)
{
	(void)state;
	pin_clear_refs(S2HOST_POL_AE, false);
}

/* Host events reach stage 2 through the notifier: a THP block goes with
 * the PMD split and DONTNEED, a small page with migration and reclaim; no
 * leaf or TLB entry is left on a page the VMM no longer maps there, and the
 * guest's next accesses fault the pages back in. */
static void host_events(enum s2hyp_backing b, enum s2hyp_mm_op e1, enum s2hyp_mm_op e2,
			uint64_t blocks)
{
	struct s2hyp *m = mk(S2HOST_POL_AE, 1, b);
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_WRITE, 0, IPA, 1), acc(S2HYP_ACC_WRITE, 0, IPA + K4, 2),
				     acc(S2HYP_ACC_READ, 2, IPA, 0), acc(S2HYP_ACC_READ, 2, IPA + K4, 0) };
	struct s2hyp_host_op h[] = {
		mmop(e1, 1, HVA, 0, 0), mmop(e2, 1, HVA + K4, 0, 0),
		{ .kind = S2HYP_HOST_DESTROY, .phase = 3 },
	};

	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 4, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 3, NULL), 0);
	run_seq(m);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	assert_int_equal(s2hyp_kvm_stats(s2hyp_host_kvm(m))->invalidations, 2);
	assert_int_equal(s2hyp_stats(m)->mappings_by_level[2 + 1], blocks);
	assert_int_equal(s2hyp_stats(m)->unmaps, 2);
	/* Both reads fault again: the writes' leaves went with the events. */
	assert_int_equal(s2hyp_stats(m)->vcpu[0].faults_translation, 4 - blocks);
	s2hyp_delete(m);
}

/* A PMD split, then DONTNEED, each unmap the block the THP was mapped by. */
static void test_thp_split_and_dontneed_unmap_stage2(void **state)
{
	(void)state;
	host_events(S2HYP_BACKING_THP, S2HYP_MM_SPLIT, S2HYP_MM_DONTNEED, 1);
}

/* Migration and reclaim each unmap the page they move. */
static void test_migrate_and_reclaim_unmap_stage2(void **state)
{
	(void)state;
	host_events(S2HYP_BACKING_4K, S2HYP_MM_MIGRATE, S2HYP_MM_RECLAIM, 0);
}

/* A host-mm event is refused without host memory, and outside a memslot. */
static void test_mm_events_checked(void **state)
{
	struct s2hyp_config cfg;
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 0x200000, .hva = HVA };
	struct s2hyp_host_op h = mmop(S2HYP_MM_MIGRATE, 0, HVA, 0, 0);
	(void)state;

	s2hyp_config_init(&cfg);
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
	assert_int_equal(s2hyp_set_host_program(m, &h, 1, &why), S2_EINVAL);
	assert_non_null(strstr(why, "host-mm"));
	s2hyp_delete(m);
	m = mk(S2HOST_POL_AE, 1, S2HYP_BACKING_4K);
	assert_int_equal(s2hyp_set_host_program(m, &h, 1, &why), 0);
	h.addr = HVA - K4;
	assert_int_equal(s2hyp_set_host_program(m, &h, 1, &why), S2_EINVAL);
	s2hyp_delete(m);
	cfg.host_mm = true;
	slot.backing = S2HYP_BACKING_HUGETLB_2M;
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), S2_EINVAL);
}

/* O_DIRECT's reference to a guest page (gup-write: FOLL_GET|FOLL_WRITE,
 * not a pin), the page swapped out, then read and written by the guest
 * (S2.3's FOLL_GET variant): whether get-stable fired. The report names
 * the page's address in the host model and in the VMM (the memslot's hva
 * plus the offset). */
static bool odirect_swap_breaks(enum s2host_policy pol, enum s2hyp_mm_op gup)
{
	struct s2hyp *m = mk(pol, 1, S2HYP_BACKING_4K);
	struct s2hyp_vcpu_op p[] = { acc(S2HYP_ACC_READ, 1, IPA + 0x5000, 0),
				     acc(S2HYP_ACC_WRITE, 2, IPA + 0x5000, 7) };
	struct s2hyp_host_op h[] = { mmop(gup, 0, HVA + 0x5000, 0, 0),
				     mmop(S2HYP_MM_RECLAIM, 0, HVA + 0x5000, 0, 0) };

	assert_int_equal(s2hyp_set_vcpu_program(m, 0, p, 2, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 2, NULL), 0);
	run_seq(m);
	bool fired = s2host_stats(s2hyp_host(m))->violations[S2HOST_RULE_GET_STABLE] > 0;
	assert_int_equal(s2hyp_rule_fired(m, S2HYP_RULE_HOST_MM), fired);
	if (fired) {
		const char *d = host_mm_violation(m)->detail;
		assert_non_null(strstr(d, "get-stable: process 0 maps page"));
		assert_non_null(strstr(d, " at 0x5000, "));
		assert_non_null(strstr(d, " [0x5000 is the VMM's hva 0x7f0000005000]"));
	}
	s2hyp_delete(m);
	return fired;
}

/* Under CNT (5.9, the page count) the guest's write copies the swapped-in
 * page away from the reference: get-stable fires. */
static void test_odirect_swap_fires_get_stable_under_cnt(void **state)
{
	(void)state;
	assert_true(odirect_swap_breaks(S2HOST_POL_CNT, S2HYP_MM_GUP_WRITE));
	assert_true(odirect_swap_breaks(S2HOST_POL_CNT2, S2HYP_MM_GUP_WRITE));
}

/* ...and its twins: under AE the swap PTE kept the page exclusive, so the
 * write reuses it; a read reference (gup, vmsplice) promises nothing. */
static void test_odirect_swap_clean_under_ae(void **state)
{
	(void)state;
	assert_false(odirect_swap_breaks(S2HOST_POL_AE, S2HYP_MM_GUP_WRITE));
	assert_false(odirect_swap_breaks(S2HOST_POL_CNT, S2HYP_MM_GUP));
}

/* An mm event naming a process never forked, one that exited, a
 * reference never taken or one an unref dropped stops the run with an error
 * naming that event's index; a valid twin runs to the end. */
static void test_mm_event_names_checked(void **state)
{
	const struct {
		struct s2hyp_host_op h[3];
		size_t n, bad;	/* bad == n: none */
		const char *why;
	} c[] = {
		{ { mmop(S2HYP_MM_DONTNEED, 0, HVA, 7, 0) }, 1, 0, "no such process" },
		{ { mmop(S2HYP_MM_FORK, 0, 0, 0, 0), mmop(S2HYP_MM_EXIT, 1, 0, 1, 0),
		    mmop(S2HYP_MM_WRITE, 2, HVA, 1, 0) }, 3, 2, "exited" },
		{ { mmop(S2HYP_MM_GUP, 0, HVA, 0, 0), mmop(S2HYP_MM_UNREF, 1, 0, 0, 1) }, 2, 1,
		  "no such reference" },
		{ { mmop(S2HYP_MM_GUP, 0, HVA, 0, 0), mmop(S2HYP_MM_UNREF, 1, 0, 0, 0),
		    mmop(S2HYP_MM_UNREF, 2, 0, 0, 0) }, 3, 2, "dropped by an earlier unref" },
		{ { mmop(S2HYP_MM_GUP, 0, HVA, 0, 0), mmop(S2HYP_MM_UNREF, 1, 0, 0, 0),
		    mmop(S2HYP_MM_REF_READ, 2, 0, 0, 0) }, 3, 2, "dropped by an earlier unref" },
		{ { mmop(S2HYP_MM_FORK, 0, 0, 0, 0), mmop(S2HYP_MM_GUP, 1, HVA, 1, 0),
		    mmop(S2HYP_MM_UNREF, 2, 0, 0, 0) }, 3, 3, NULL },
	};
	(void)state;

	for (size_t i = 0; i < S2_ARRAY_SIZE(c); i++) {
		struct s2hyp *m = mk(S2HOST_POL_AE, 1, S2HYP_BACKING_4K);
		size_t bad = 99;
		assert_int_equal(s2hyp_set_host_program(m, c[i].h, c[i].n, NULL), 0);
		enum s2hyp_outcome o = s2hyp_run(m, &s2hyp_strategy_sequential);
		if (!c[i].why) {
			assert_int_equal(o, S2HYP_DONE);
			assert_false(s2hyp_error_host_op(m, &bad));
		} else {
			assert_int_equal(o, S2HYP_ERROR);
			assert_true(s2hyp_error_host_op(m, &bad));
			assert_int_equal(bad, c[i].bad);
			assert_non_null(strstr(s2hyp_error(m), c[i].why));
		}
		s2hyp_delete(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_page_then_cow_on_write),
		cmocka_unit_test(test_invalidate_race_retries),
		cmocka_unit_test(test_no_retry_check_fires_s2_retry),
		cmocka_unit_test(test_read_mapped_writable_fires_s2_writable),
		cmocka_unit_test(test_tlb_kept_past_invalidation_fires_s2_subset),
		cmocka_unit_test(test_tlb_flushed_by_invalidation_passes),
		cmocka_unit_test(test_vmsplice_fires_under_map2),
		cmocka_unit_test(test_vmsplice_clean_under_ae),
		cmocka_unit_test(test_odirect_swap_fires_get_stable_under_cnt),
		cmocka_unit_test(test_odirect_swap_clean_under_ae),
		cmocka_unit_test(test_write_racing_fork_is_before_it),
		cmocka_unit_test(test_clear_refs_breaks_pin_under_cnt),
		cmocka_unit_test(test_clear_refs_keeps_pin_under_ae),
		cmocka_unit_test(test_thp_split_and_dontneed_unmap_stage2),
		cmocka_unit_test(test_migrate_and_reclaim_unmap_stage2),
		cmocka_unit_test(test_mm_events_checked),
		cmocka_unit_test(test_mm_event_names_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
