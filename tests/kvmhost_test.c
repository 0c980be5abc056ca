/* kvmhost_test: KVM's stage 2 over the host model (hyp-model/kvmhost.c):
 * fault-in through GUP, the notifier's sequence and in-progress count, the
 * retry; each KVM rule fired and its passing twin; the S3.x scenarios. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_err.h"
#include "host-mm/s2host.h"
#include "host-mm/s2host_scenario.h"
#include "hyp-model/s2hyp_kvmhost.h"

#define K4 S2HOST_PAGE_SIZE
#define M2 S2HOST_THP_SIZE
#define RW (S2HOST_PROT_READ | S2HOST_PROT_WRITE)
#define GPA 0x80000000ull

struct vm {
	struct s2host *h;
	struct s2hyp_kvm *k;
	int p;
};

/* The VMM with size bytes of guest RAM at hva 0, a memslot at GPA. */
static struct vm mk(enum s2host_policy pol, uint64_t size, unsigned flags, bool no_retry,
		    bool writable_always)
{
	struct s2host_config cfg;
	struct s2hyp_kvm_config kc;
	struct vm v;

	s2host_config_init(&cfg, pol);
	cfg.nr_pages = 1024;
	assert_int_equal(s2host_create(&cfg, &v.h), 0);
	v.p = s2host_mm_create(v.h);
	assert_int_equal(s2host_mmap(v.h, v.p, 0, size, RW | flags), 0);
	s2hyp_kvm_config_init(&kc);
	kc.no_retry_check = no_retry;
	kc.map_writable_always = writable_always;
	assert_int_equal(s2hyp_kvm_create(v.h, v.p, &kc, &v.k), 0);
	assert_int_equal(s2hyp_kvm_add_memslot(v.k, GPA, size, 0, 0), 0);
	return v;
}

static void done(struct vm *v)
{
	s2hyp_kvm_destroy(v->k);
	s2host_destroy(v->h);
}

static struct s2hyp_kvm_leaf leaf(struct vm *v, uint64_t ipa)
{
	struct s2hyp_kvm_leaf lf;
	assert_int_equal(s2hyp_kvm_leaf(v->k, ipa, &lf), 0);
	return lf;
}

static uint64_t kfired(struct vm *v, enum s2hyp_kvm_rule r)
{
	return s2hyp_kvm_stats(v->k)->violations[r];
}

/* A read of never-written guest RAM maps the zero page read-only; the
 * first write is a permission fault whose COW invalidates stage 2, so the
 * fault retries and a translation fault maps the new page writable (the
 * pattern of real 6.12 captures). */
static void test_zero_page_read_then_write(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, 4 * K4, 0, false, false);
	uint64_t x = 1;

	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA, &x), 0);
	assert_int_equal(x, 0);
	struct s2hyp_kvm_leaf lf = leaf(&v, GPA);
	assert_true(lf.valid && !lf.writable && lf.pfn == S2HOST_ZERO_PFN);
	assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA, 9), 0);
	const struct s2hyp_kvm_stats *st = s2hyp_kvm_stats(v.k);
	assert_int_equal(st->faults_translation, 2);
	assert_int_equal(st->faults_permission, 1);
	assert_int_equal(st->retries, 1);
	assert_int_equal(st->seq, 1);
	assert_int_equal(st->in_progress, 0);
	lf = leaf(&v, GPA);
	struct s2host_pte_view pv;
	assert_int_equal(s2host_lookup(v.h, v.p, 0, &pv), 0);
	assert_true(lf.writable && lf.pfn == pv.pfn && pv.writable);
	assert_int_equal(s2host_read(v.h, v.p, 0, &x), 0);
	assert_int_equal(x, 9);	/* the VMM sees the guest's write */
	assert_int_equal(s2hyp_kvm_nr_violations(v.k) + s2host_nr_violations(v.h), 0);
	done(&v);
}

/* The capture kit's seq4k scenario on a real 6.12 kernel (VHE, 8 MiB of
 * MADV_NOHUGEPAGE guest RAM, a read pass then a write pass at a 4K
 * stride) counts, per page, one read translation fault, one write
 * permission fault, one stage-2 unmap by the notifier and one write
 * translation fault: 2048 of each, and 4096 maps (the fidelity helper's
 * traces/real/vhe-seq4k_ft.facts). The model gives the same counts. */
static void test_seq4k_counts_match_capture(void **state)
{
	(void)state;
	enum { PAGES = 2048 };
	struct s2host_config cfg;
	struct s2hyp_kvm_config kc;
	struct vm v;
	uint64_t x;

	s2host_config_init(&cfg, S2HOST_POL_AE);
	cfg.nr_pages = PAGES;
	cfg.check_every_op = false;	/* checked once at the end */
	assert_int_equal(s2host_create(&cfg, &v.h), 0);
	v.p = s2host_mm_create(v.h);
	assert_int_equal(s2host_mmap(v.h, v.p, 0, PAGES * K4, RW), 0);
	s2hyp_kvm_config_init(&kc);
	assert_int_equal(s2hyp_kvm_create(v.h, v.p, &kc, &v.k), 0);
	assert_int_equal(s2hyp_kvm_add_memslot(v.k, GPA, PAGES * K4, 0, 0), 0);
	for (unsigned i = 0; i < PAGES; i++)
		assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA + i * K4, &x), 0);
	uint64_t read_faults = s2hyp_kvm_stats(v.k)->faults_translation;
	for (unsigned i = 0; i < PAGES; i++)
		assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA + i * K4, i), 0);
	const struct s2hyp_kvm_stats *st = s2hyp_kvm_stats(v.k);
	assert_int_equal(read_faults, PAGES);
	assert_int_equal(st->faults_permission, PAGES);
	assert_int_equal(st->faults_translation - read_faults, PAGES);
	assert_int_equal(st->unmaps, PAGES);
	assert_int_equal(st->maps, 2 * PAGES);
	assert_int_equal(s2host_check(v.h), 0);
	assert_int_equal(s2hyp_kvm_check(v.k), 0);
	done(&v);
}

/* The fault handler keeps no reference: after a fault the page's refcount
 * is its mapping's alone. */
static void test_no_reference_kept(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, false, false);
	struct s2host_page_view pg;

	assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA, 1), 0);
	assert_int_equal(s2host_page(v.h, leaf(&v, GPA).pfn, &pg), 0);
	assert_int_equal(pg.refcount, 1);
	done(&v);
}

/* A PMD-mapped THP is mapped with a 2M block; a PMD split unmaps it and
 * refaults map 4K leaves (INV-S2-BLOCK). */
static void test_block_and_split(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, M2, S2HOST_MAP_THP, false, false);
	uint64_t x;

	assert_int_equal(s2host_write(v.h, v.p, 5 * K4, 4), 0);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA + 5 * K4, &x), 0);
	assert_int_equal(x, 4);
	assert_int_equal(leaf(&v, GPA).size, M2);
	assert_int_equal(s2host_split_pmd(v.h, v.p, 0), 0);
	assert_false(leaf(&v, GPA).valid);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA + 5 * K4, &x), 0);
	assert_int_equal(leaf(&v, GPA + 5 * K4).size, K4);
	done(&v);
}

/* Aging reaches stage 2 through clear_young: young once, then old. */
static void test_aging(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, false, false);
	uint64_t x;

	assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA, 1), 0);
	assert_true(s2host_age(v.h, v.p, 0, K4));
	assert_false(s2host_age(v.h, v.p, 0, K4));
	assert_true(leaf(&v, GPA).valid);	/* aging never unmaps */
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA, &x), 0);
	assert_true(s2hyp_kvm_stats(v.k)->young_tests >= 2);
	done(&v);
}

/* A fault that finishes while an invalidation is in progress retries
 * (the in_progress half of mmu_invalidate_retry). */
struct inside {
	struct s2hyp_kvm *k;
	struct s2hyp_kvm_fault *f;
	int ret;
	unsigned in_progress;
};

static void inside_start(void *arg, int mm, uint64_t start, uint64_t end, enum s2host_mn_event ev)
{
	struct inside *in = arg;
	(void)mm;
	(void)start;
	(void)end;
	(void)ev;
	if (in->f) {
		in->in_progress = s2hyp_kvm_stats(in->k)->in_progress;
		in->ret = s2hyp_kvm_fault_finish(in->k, in->f);
		in->f = NULL;
	}
}

static void test_retry_in_progress(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, 2 * K4, 0, false, false);
	struct s2hyp_kvm_fault f;
	struct inside in = { v.k, &f, 0, 0 };
	const struct s2host_notifier n = { inside_start, NULL, NULL, NULL, NULL };

	assert_int_equal(s2host_write(v.h, v.p, K4, 1), 0);
	assert_int_equal(s2host_notifier_register(v.h, v.p, &n, &in), 0);
	assert_int_equal(s2hyp_kvm_fault_begin(v.k, GPA + K4, false, &f), 0);
	assert_int_equal(s2host_madv_dontneed(v.h, v.p, 0, K4), 0);	/* another page */
	assert_int_equal(in.in_progress, 1);
	assert_int_equal(in.ret, S2_EAGAIN);
	assert_false(leaf(&v, GPA + K4).valid);
	assert_int_equal(s2hyp_kvm_stats(v.k)->retries, 1);
	done(&v);
}

/* s2-retry, s2-subset and s2-noref fire when the fault installs a page an
 * invalidation raced (retry check removed): stage 2 maps a freed page... */
static void test_rules_race_fire(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, true, false);
	struct s2hyp_kvm_fault f;
	uint64_t x;

	assert_int_equal(s2host_write(v.h, v.p, 0, 7), 0);
	assert_int_equal(s2hyp_kvm_fault_begin(v.k, GPA, false, &f), 0);
	assert_int_equal(s2host_madv_dontneed(v.h, v.p, 0, K4), 0);
	assert_int_equal(kfired(&v, S2HYP_KVM_RULE_S2_RETRY), 0);
	assert_int_equal(s2hyp_kvm_fault_finish(v.k, &f), 0);
	assert_int_equal(kfired(&v, S2HYP_KVM_RULE_S2_RETRY), 1);
	assert_int_equal(kfired(&v, S2HYP_KVM_RULE_S2_SUBSET), 1);
	assert_int_equal(kfired(&v, S2HYP_KVM_RULE_S2_NOREF), 1);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA, &x), 0);
	assert_int_equal(x, 7);
	assert_int_equal(s2host_stats(v.h)->violations[S2HOST_RULE_USE_AFTER_FREE], 1);
	done(&v);
}

/* ...and none fires with the check: the fault retries, the refault maps
 * the zero page. */
static void test_rules_race_pass(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, false, false);
	struct s2hyp_kvm_fault f;
	uint64_t x;

	assert_int_equal(s2host_write(v.h, v.p, 0, 7), 0);
	assert_int_equal(s2hyp_kvm_fault_begin(v.k, GPA, false, &f), 0);
	assert_int_equal(s2host_madv_dontneed(v.h, v.p, 0, K4), 0);
	assert_int_equal(s2hyp_kvm_fault_finish(v.k, &f), S2_EAGAIN);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA, &x), 0);
	assert_int_equal(x, 0);
	assert_int_equal(s2hyp_kvm_check(v.k), 0);
	assert_int_equal(s2hyp_kvm_nr_violations(v.k) + s2host_nr_violations(v.h), 0);
	done(&v);
}

/* s2-writable fires when a read fault maps a KSM page writable... */
static void test_rule_writable_fires(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, false, true);
	uint64_t x;

	assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA, 3), 0);
	assert_int_equal(kfired(&v, S2HYP_KVM_RULE_S2_WRITABLE), 0);
	assert_int_equal(s2host_ksm_merge(v.h, v.p, 0), 0);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA, &x), 0);
	assert_int_equal(kfired(&v, S2HYP_KVM_RULE_S2_WRITABLE), 1);
	done(&v);
}

/* ...and not with the real handler: read-only until a write copies it. */
static void test_rule_writable_passes(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, false, false);
	struct s2host_page_view pg;
	uint64_t x;

	assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA, 3), 0);
	assert_int_equal(s2host_ksm_merge(v.h, v.p, 0), 0);
	assert_false(leaf(&v, GPA).valid);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA, &x), 0);
	assert_false(leaf(&v, GPA).writable);
	assert_int_equal(s2host_page(v.h, leaf(&v, GPA).pfn, &pg), 0);
	assert_true(pg.ksm);
	assert_int_equal(s2hyp_kvm_guest_write(v.k, GPA, 4), 0);
	assert_int_equal(s2host_page(v.h, leaf(&v, GPA).pfn, &pg), 0);
	assert_false(pg.ksm);
	assert_int_equal(s2hyp_kvm_nr_violations(v.k) + s2host_nr_violations(v.h), 0);
	done(&v);
}

/* Every KVM scenario under every policy fires what its table lists. */
static void test_scenario_matrix(void **state)
{
	(void)state;
	for (unsigned i = 0; i < s2hyp_kvm_nr_scenarios(); i++) {
		const struct s2hyp_kvm_scenario *sc = s2hyp_kvm_scenario(i);
		for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++) {
			struct s2host_config cfg;
			struct s2host *h;
			struct s2hyp_kvm *k = NULL;
			char out[256];
			s2host_config_init(&cfg, p);
			assert_int_equal(s2host_create(&cfg, &h), 0);
			int err = sc->run(h, &k, out, sizeof(out));
			unsigned fired = s2host_fired(h) | (k ? s2hyp_kvm_fired(k) : 0);
			if (err || fired != sc->expect[p])
				print_error("%s under %s: err %d, fired %#x, expected %#x\n", sc->name,
					    s2host_policy_name(p), err, fired, sc->expect[p]);
			assert_int_equal(err, 0);
			assert_int_equal(fired, sc->expect[p]);
			s2hyp_kvm_destroy(k);
			s2host_destroy(h);
		}
	}
}

/* Bad memslots and addresses outside them are errors. */
static void test_bad_arguments(void **state)
{
	(void)state;
	struct vm v = mk(S2HOST_POL_AE, K4, 0, false, false);
	struct s2hyp_kvm_fault f;
	uint64_t x;

	assert_int_equal(s2hyp_kvm_add_memslot(v.k, GPA, K4, 0, 0), S2_EBUSY);
	assert_int_equal(s2hyp_kvm_add_memslot(v.k, 1, K4, 0, 0), S2_EINVAL);
	assert_int_equal(s2hyp_kvm_add_memslot(v.k, 1ull << 41, K4, 0, 0), S2_EINVAL);
	assert_int_equal(s2hyp_kvm_guest_read(v.k, GPA + K4, &x), S2_EFAULT);
	assert_int_equal(s2hyp_kvm_fault_begin(v.k, 0, true, &f), S2_EFAULT);
	done(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_page_read_then_write),
		cmocka_unit_test(test_seq4k_counts_match_capture),
		cmocka_unit_test(test_no_reference_kept),
		cmocka_unit_test(test_block_and_split),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_retry_in_progress),
		cmocka_unit_test(test_rules_race_fire),
		cmocka_unit_test(test_rules_race_pass),
		cmocka_unit_test(test_rule_writable_fires),
		cmocka_unit_test(test_rule_writable_passes),
		cmocka_unit_test(test_scenario_matrix),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
