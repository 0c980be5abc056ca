/* uffdvm_test: the machine over host memory with memfd memslots and the
 * VMM's userfaultfd (hyp-model/hostvm.c, ../shared/ref/host-mm.md section
 * 5): a vCPU whose fault goes to the userfaultfd sleeps until the handler
 * resolves it, stage 2 never maps a write-protected page writable
 * (s2-uffd-wp, fired by a buggy KVM and by the pre-fix S5.1, quiet after
 * the fix), and hole punches reach stage 2 through the notifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_err.h"
#include "common/s2_text.h"
#include "host-mm/s2host.h"
#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_kvmhost.h"
#include "hyp-model/s2hyp_scenario.h"
#include "fuzz/s2fuzz.h"

#define IPA 0x40000000ull
#define HVA 0x7f0000000000ull
#define K4 0x1000ull
#define X 1	/* a page of the slot, as in the built-in scenarios */

struct opts {
	bool pre_fix, writable_always, no_fork_fix;
	enum s2hyp_backing backing;
	bool missing, wp, minor;
};

static struct s2hyp *mk(const struct opts *o)
{
	struct s2hyp_config cfg;
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 16 * K4, .hva = HVA,
				      .backing = o->backing, .uffd_missing = o->missing,
				      .uffd_wp = o->wp, .uffd_minor = o->minor };

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = 1;
	cfg.host_mm = true;
	cfg.cow_policy = S2HOST_POL_AE;
	cfg.uffd_no_markers = o->pre_fix;
	cfg.host_map_writable_always = o->writable_always;
	cfg.explore_evictions = cfg.explore_prefetch = false;
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), 0);
	return m;
}

static struct s2hyp_vcpu_op acc(enum s2hyp_access a, unsigned phase, unsigned page, uint64_t value)
{
	return (struct s2hyp_vcpu_op){ .access = a, .phase = phase, .ipa = IPA + page * K4,
				       .size = 8, .mmu_on = true, .value = value };
}

static struct s2hyp_host_op mmop(enum s2hyp_mm_op op, unsigned phase, unsigned page)
{
	return (struct s2hyp_host_op){ .kind = S2HYP_HOST_MM, .mm = op, .phase = phase,
				       .addr = HVA + page * K4, .size = K4 };
}

static bool host_fired(struct s2hyp *m, enum s2host_rule r)
{
	struct s2host *h = s2hyp_host(m);
	for (unsigned i = 0; i < s2host_nr_violations(h); i++)
		if (s2host_violation(h, i)->rule == r)
			return true;
	return false;
}

static bool kvm_fired(struct s2hyp *m, enum s2hyp_kvm_rule r)
{
	return s2hyp_kvm_stats(s2hyp_host_kvm(m))->violations[r] > 0;
}

/* The host model's page at slot page (through the VMM's mapping). */
static uint64_t host_value(struct s2hyp *m, unsigned page)
{
	struct s2host_page_view pg;
	struct s2hyp_kvm_leaf lf;
	assert_int_equal(s2hyp_kvm_leaf(s2hyp_host_kvm(m), IPA + page * K4, &lf), 0);
	assert_true(lf.valid);
	assert_int_equal(s2host_page(s2hyp_host(m), lf.pfn, &pg), 0);
	return pg.value;
}

/* A built-in scenario (uffd_scenario.c) on a machine configured as o. */
static struct s2hyp *mk_scenario(const char *name, const struct opts *o)
{
	struct s2hyp_config cfg;
	struct s2hyp_scenario sc;
	struct s2hyp *m;
	const char *why = NULL;

	s2hyp_config_init(&cfg);
	cfg.nr_vcpus = 1;
	cfg.uffd_no_markers = o->pre_fix;
	cfg.uffd_no_fork_fix = o->no_fork_fix;
	cfg.host_map_writable_always = o->writable_always;
	cfg.explore_evictions = cfg.explore_prefetch = false;
	int b = s2_find_name_by(s2hyp_scenario_name, name);
	assert_true(b >= 0);
	assert_int_equal(s2hyp_scenario_build_cfg(&sc, (unsigned)b, &cfg), 0);
	assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
	s2hyp_scenario_free(&sc);
	return m;
}

/* A guest write to a write-protected page completes only after the handler
 * un-protects it, under every schedule; nothing fires. */
static void test_s53_guest_write_waits_for_handler(void **state)
{
	struct opts o = { 0 };
	(void)state;
	for (uint64_t seed = 0; seed < 200; seed++) {
		struct s2hyp *m = mk_scenario("vm-s5.3-guest-wp", &o);
		struct s2hyp_rng rng;
		struct s2hyp_strategy st = s2hyp_strategy_random_template;
		s2hyp_rng_seed(&rng, seed);
		st.arg = &rng;
		assert_int_equal(s2hyp_run(m, seed ? &st : &s2hyp_strategy_sequential), S2HYP_DONE);
		const struct s2hyp_stats *s = s2hyp_stats(m);
		assert_int_equal(s->host_uffd_waits, 1);
		assert_int_equal(s->host_uffd_hung, 0);
		assert_true(s->host_retries >= 1);
		assert_int_equal(s2hyp_nr_violations(m), 0);
		assert_int_equal(host_value(m, X), 2);
		s2hyp_delete(m);
	}
}

/* The same with a KVM that maps read faults writable: the read after the
 * protect maps the protected page writable (s2-uffd-wp, and s2-writable),
 * and the guest's write lands unseen (uffd-wp). s2-uffd-wp names the
 * page's address in the VMM (the slot's hva plus the offset), not the
 * host model's own layout. */
static void test_writable_always_fires_s2_uffd_wp(void **state)
{
	struct opts o = { .writable_always = true };
	struct s2hyp *m = mk_scenario("vm-s5.3-guest-wp", &o);
	(void)state;
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_true(s2hyp_rule_fired(m, S2HYP_RULE_HOST_MM));
	assert_true(kvm_fired(m, S2HYP_KVM_RULE_S2_UFFD_WP));
	const struct s2hyp_kvm *k = s2hyp_host_kvm(m);
	const struct s2hyp_kvm_violation *wp = NULL;
	for (unsigned i = 0; i < s2hyp_kvm_nr_violations(k); i++)
		if (s2hyp_kvm_violation(k, i)->rule == S2HYP_KVM_RULE_S2_UFFD_WP)
			wp = s2hyp_kvm_violation(k, i);
	assert_non_null(wp);
	char hva[64];
	snprintf(hva, sizeof(hva), "write-protected hva %#llx",
		 (unsigned long long)(S2HYP_SEED_HVA + (wp->ipa - S2HYP_SEED_IPA)));
	assert_non_null(strstr(wp->what, hva));
	assert_true(kvm_fired(m, S2HYP_KVM_RULE_S2_WRITABLE));
	assert_true(host_fired(m, S2HOST_RULE_UFFD_WP));
	assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 0);
	s2hyp_delete(m);
}

/* Before the fix: fault-around maps X without the bit, the vCPU's write
 * goes through stage 2 unseen, the truncation discards it: the host's
 * three S5.1 rules and s2-uffd-wp fire, for fallocate and MADV_REMOVE. */
static void test_s51_pre_fix_loses_the_guest_write(void **state)
{
	const char *names[] = { "vm-s5.1-punch-hole", "vm-s5.1-madv-remove" };
	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct opts o = { .pre_fix = true };
		struct s2hyp *m = mk_scenario(names[i], &o);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		assert_true(host_fired(m, S2HOST_RULE_FAULT_AROUND));
		assert_true(host_fired(m, S2HOST_RULE_UFFD_WP));
		assert_true(host_fired(m, S2HOST_RULE_LOST_WRITE));
		assert_true(kvm_fired(m, S2HYP_KVM_RULE_S2_UFFD_WP));
		assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 0);
		s2hyp_delete(m);
	}
}

/* With PTE markers (5.19): the write faults on the marker, the vCPU
 * sleeps until the handler un-protects X; nothing fires under any of 200
 * schedules, for fallocate and MADV_REMOVE. */
static void test_s51_markers_clean(void **state)
{
	const char *names[] = { "vm-s5.1-punch-hole", "vm-s5.1-madv-remove" };
	(void)state;
	for (unsigned i = 0; i < 2; i++)
		for (uint64_t seed = 0; seed < 200; seed++) {
			struct opts o = { 0 };
			struct s2hyp *m = mk_scenario(names[i], &o);
			struct s2hyp_rng rng;
			struct s2hyp_strategy st = s2hyp_strategy_random_template;
			s2hyp_rng_seed(&rng, seed);
			st.arg = &rng;
			assert_int_equal(s2hyp_run(m, seed ? &st : &s2hyp_strategy_sequential),
					 S2HYP_DONE);
			assert_int_equal(s2hyp_nr_violations(m), 0);
			if (!seed)
				assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 1);
			s2hyp_delete(m);
		}
}

/* S5.4 on the machine: the guest's write after swap-out and fork still
 * waits for the handler under both; before the fork fix the child's swap
 * entry keeps the bit (uffd-wp-fork), after it nothing fires. */
static void test_s54_swap_fork(void **state)
{
	(void)state;
	for (int fix = 0; fix < 2; fix++) {
		struct opts o = { .no_fork_fix = !fix };
		struct s2hyp *m = mk_scenario("vm-s5.4-swap-fork", &o);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 1);
		assert_int_equal(host_fired(m, S2HOST_RULE_UFFD_WP_FORK), !fix);
		assert_int_equal(s2hyp_nr_violations(m), !fix);
		assert_int_equal(host_value(m, X), 2);
		s2hyp_delete(m);
	}
}

/* A hole punch's first step and MADV_REMOVE unmap stage 2 through the
 * notifier; a guest read afterwards maps a new zeroed page of the file. */
static void test_punch_unmaps_stage2(void **state)
{
	enum s2hyp_mm_op punches[] = { S2HYP_MM_PUNCH_HOLE, S2HYP_MM_MADV_REMOVE };
	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct opts o = { .backing = S2HYP_BACKING_MEMFD };
		struct s2hyp *m = mk(&o);
		struct s2hyp_vcpu_op v[] = { acc(S2HYP_ACC_WRITE, 0, X, 7) };
		struct s2hyp_host_op h[] = { mmop(punches[i], 1, X) };
		struct s2hyp_kvm_leaf lf;
		assert_int_equal(s2hyp_set_vcpu_program(m, 0, v, 1, NULL), 0);
		assert_int_equal(s2hyp_set_host_program(m, h, 1, NULL), 0);
		assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
		assert_int_equal(s2hyp_kvm_leaf(s2hyp_host_kvm(m), IPA + X * K4, &lf), 0);
		assert_false(lf.valid);
		assert_true(s2hyp_stats(m)->unmaps >= 1);
		assert_int_equal(s2hyp_nr_violations(m), 0);
		s2hyp_delete(m);
	}
}

/* MISSING mode (postcopy): a guest read of a hole sleeps until the
 * handler's UFFDIO_COPY, then maps the copied page. MINOR mode: a page the
 * file holds but the VMM does not map waits for UFFDIO_CONTINUE. */
static void test_missing_copy_and_minor_continue(void **state)
{
	(void)state;
	struct opts o = { .backing = S2HYP_BACKING_MEMFD, .missing = true };
	struct s2hyp *m = mk(&o);
	struct s2hyp_vcpu_op v[] = { acc(S2HYP_ACC_READ, 0, X, 0) };
	struct s2hyp_host_op h[] = { mmop(S2HYP_MM_UFFD_READ, 0, 0), mmop(S2HYP_MM_UFFD_RESOLVE, 0, 0) };
	h[0].addr = h[1].addr = 0;
	h[1].value = 5;
	assert_int_equal(s2hyp_set_vcpu_program(m, 0, v, 1, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 2, NULL), 0);
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 1);
	assert_int_equal(host_value(m, X), 5);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);

	o.missing = false;
	o.minor = true;
	m = mk(&o);
	struct s2hyp_vcpu_op v2[] = { acc(S2HYP_ACC_WRITE, 0, X, 3), acc(S2HYP_ACC_READ, 2, X, 0) };
	struct s2hyp_host_op h2[] = { mmop(S2HYP_MM_DONTNEED, 1, X), mmop(S2HYP_MM_UFFD_READ, 2, 0),
				      mmop(S2HYP_MM_UFFD_RESOLVE, 2, 0) };
	h2[1].addr = h2[2].addr = 0;
	/* the first write fills the hole (no MISSING registration); after the
	 * DONTNEED the file holds the page the VMM no longer maps */
	assert_int_equal(s2hyp_set_vcpu_program(m, 0, v2, 2, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h2, 3, NULL), 0);
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 1);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);
}

/* No handler: the vCPU sleeps to the end of the run, counted as hung, not
 * an error of the machine; a handler's read with no fault to come finds
 * nothing and the host program goes on. */
static void test_no_handler_hangs(void **state)
{
	struct opts o = { .backing = S2HYP_BACKING_4K, .missing = true };
	struct s2hyp *m = mk(&o);
	struct s2hyp_vcpu_op v[] = { acc(S2HYP_ACC_WRITE, 1, X, 1) };
	struct s2hyp_host_op h[] = { mmop(S2HYP_MM_UFFD_READ, 0, 0), mmop(S2HYP_MM_UFFD_RESOLVE, 0, 0) };
	(void)state;
	h[0].addr = h[1].addr = 0;
	assert_int_equal(s2hyp_set_vcpu_program(m, 0, v, 1, NULL), 0);
	assert_int_equal(s2hyp_set_host_program(m, h, 2, NULL), 0);
	assert_int_equal(s2hyp_run(m, &s2hyp_strategy_sequential), S2HYP_DONE);
	assert_int_equal(s2hyp_stats(m)->host_uffd_waits, 1);
	assert_int_equal(s2hyp_stats(m)->host_uffd_hung, 1);
	assert_int_equal(s2hyp_nr_violations(m), 0);
	s2hyp_delete(m);
}

/* Bad input: a hole punch on an anonymous slot, uffd-minor on one, and
 * memfd or uffd slots without host memory. */
static void test_bad_uffd_input(void **state)
{
	struct opts o = { .backing = S2HYP_BACKING_4K };
	struct s2hyp *m = mk(&o);
	struct s2hyp_host_op h = mmop(S2HYP_MM_PUNCH_HOLE, 0, X);
	const char *why = NULL;
	(void)state;
	assert_int_equal(s2hyp_set_host_program(m, &h, 1, &why), S2_EINVAL);
	assert_non_null(why);
	s2hyp_delete(m);

	struct s2hyp_config cfg;
	struct s2hyp_memslot slot = { .ipa = IPA, .size = 16 * K4, .hva = HVA,
				      .backing = S2HYP_BACKING_4K, .uffd_minor = true };
	s2hyp_config_init(&cfg);
	cfg.host_mm = true;
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), S2_EINVAL);
	cfg.host_mm = false;
	slot.uffd_minor = false;
	slot.backing = S2HYP_BACKING_MEMFD;
	assert_int_equal(s2hyp_create(&cfg, &slot, 1, &m, &why), S2_EINVAL);
}

/* The generic generator with memfd memory under the VMM's userfaultfd
 * (S2FUZZ_GEN_UFFD), seeds 1..300 each under its own random schedule:
 * before the fix it finds S5.1's window (fault-around-uffd, and a write
 * lost to a truncation), and with the fixes nothing fires and every run
 * completes. */
static void test_generator_finds_the_window(void **state)
{
	(void)state;
	for (int pre = 1; pre >= 0; pre--) {
		unsigned any = 0, lost = 0, around = 0, s2 = 0;
		for (uint64_t seed = 1; seed <= 300; seed++) {
			struct s2hyp_config cfg;
			struct s2hyp_scenario sc;
			struct s2hyp *m;
			const char *why = NULL;
			struct s2hyp_rng rng;
			struct s2hyp_strategy st = s2hyp_strategy_random_template;

			s2hyp_config_init(&cfg);
			cfg.host_mm = true;
			cfg.cow_policy = S2HOST_POL_AE;
			cfg.uffd_no_markers = pre;
			assert_int_equal(s2fuzz_scenario_generate(&sc, &cfg, S2FUZZ_GEN_ALL |
								  S2FUZZ_GEN_UFFD, seed), 0);
			assert_int_equal(s2hyp_scenario_instantiate(&sc, &m, &why), 0);
			s2hyp_rng_seed(&rng, seed);
			st.arg = &rng;
			assert_int_equal(s2hyp_run(m, &st), S2HYP_DONE);
			any += s2hyp_nr_violations(m) > 0;
			lost += host_fired(m, S2HOST_RULE_LOST_WRITE);
			around += host_fired(m, S2HOST_RULE_FAULT_AROUND);
			s2 += kvm_fired(m, S2HYP_KVM_RULE_S2_UFFD_WP);
			s2hyp_delete(m);
			s2hyp_scenario_free(&sc);
		}
		if (pre) {
			assert_true(lost > 0);
			assert_true(around > 0);
			assert_true(s2 > 0);
		} else {
			assert_int_equal(any, 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s53_guest_write_waits_for_handler),
		cmocka_unit_test(test_writable_always_fires_s2_uffd_wp),
		cmocka_unit_test(test_s51_pre_fix_loses_the_guest_write),
		cmocka_unit_test(test_s51_markers_clean),
		cmocka_unit_test(test_s54_swap_fork),
		cmocka_unit_test(test_punch_unmaps_stage2),
		cmocka_unit_test(test_missing_copy_and_minor_continue),
		cmocka_unit_test(test_no_handler_hangs),
		cmocka_unit_test(test_bad_uffd_input),
		cmocka_unit_test(test_generator_finds_the_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
