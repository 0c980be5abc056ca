/* The effect-trace checker: each of its rules fired by a small sequence of
 * effects and not fired by the same sequence done right; VMID scoping,
 * per-CPU DSBs, TTL hints, EL2 stage 1 and locks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_err.h"
#include "hyp-model/s2hyp_effect.h"

/* A tree of the default geometry (4K, 48-bit, start level 0):
 * root R (level 0) -> L1 (level 1) -> L2 (level 2) -> L3 (level 3). */
#define R 0x10000ull
#define L1 0x11000ull
#define L2 0x12000ull
#define L3 0x13000ull
#define SPARE 0x14000ull
#define LOCK 0x900ull
#define PAGE(oa) ((oa) | 0x7c3ull)		/* a level-3 page, AF set, normal memory */
#define BLOCK2(oa) ((oa) | 0x7c1ull)		/* a level-2 block */
#define TABLE(pa) ((pa) | 3ull)

struct fx {
	struct s2eff *e;
	unsigned line;
};

static struct s2eff_at at(struct fx *f, unsigned thread)
{
	return (struct s2eff_at){ ++f->line, thread };
}

static void ok(int ret, const char *why)
{
	if (ret)
		fail_msg("unexpected error: %s", why);
}

#define DO(call) do { const char *why_ = ""; (void)why_; ok((call), why_); } while (0)
#define W(t, pa, v) DO(s2eff_write(f->e, at(f, t), (pa), (v), false, false, &why_))
#define DSB(t) s2eff_dsb(f->e, at(f, t), S2ARM_DSB_ISH)
#define TLBI(t, op, a, lvl) s2eff_tlbi(f->e, at(f, t), (op), (a), (lvl), -1)
#define LOCKED(t) DO(s2eff_lock(f->e, at(f, t), LOCK, false, &why_))
#define UNLOCKED(t) DO(s2eff_unlock(f->e, at(f, t), LOCK, &why_))

static uint64_t fired(struct fx *f, enum s2hyp_rule r)
{
	return s2eff_stats(f->e)->violations[r];
}

static uint64_t total(struct fx *f)
{
	uint64_t n = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		n += s2eff_stats(f->e)->violations[r];
	return n;
}

/* A live stage-2 tree with VMID vmid, a page mapped at IPA 0, the lock held
 * by thread 0. */
static void setup_tree(struct fx *f, unsigned vmid)
{
	for (uint64_t pa = R; pa <= SPARE; pa += 0x1000)
		DO(s2eff_init(f->e, at(f, 0), pa, 0x1000, &why_));
	DO(s2eff_hint(f->e, at(f, 0), S2EFF_HINT_SET_ROOT_LOCK, R, LOCK, &why_));
	W(0, R, TABLE(L1));
	W(0, L1, TABLE(L2));
	W(0, L2, TABLE(L3));
	W(0, L3, PAGE(0x80000000ull));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, R | (uint64_t)vmid << 48, &why_));
	LOCKED(0);
}

static int fx_setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	f.e = s2eff_new();
	*state = &f;
	return f.e ? 0 : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	s2eff_free(f->e);
	return 0;
}

/* The whole stage-2 sequence KVM uses: break, IPA TLBI, DSB, VMALLE1IS, DSB,
 * make. Nothing fires. */
static void test_bbm_good(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L3, 0);
	TLBI(0, S2ARM_TLBI_IPAS2E1IS, 0, 3);
	DSB(0);
	TLBI(0, S2ARM_TLBI_VMALLE1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	W(0, L3, PAGE(0x90000000ull));
	UNLOCKED(0);
	assert_int_equal(total(f), 0);
}

/* Valid to valid with another output address: break-before-make, with the
 * line of the store and the line that made it valid. */
static void test_bbm_valid_to_valid(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	unsigned made = f->line - 2;	/* W(0, L3, ...) in setup_tree */
	W(0, L3, PAGE(0x90000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 1);
	const struct s2eff_violation *v = s2eff_violation(f->e, 0);
	assert_int_equal(v->at.line, f->line);
	assert_int_equal(v->pa, L3);
	assert_int_equal(v->level, 3);
	assert_int_equal(v->stage, 2);
	assert_int_equal(v->nrel, 1);
	assert_int_equal(v->rel[0].line, made);
	/* Permissions alone may change in place (S2AP write cleared). */
	W(0, L3, PAGE(0x90000000ull) & ~0x80ull);
	assert_int_equal(total(f), 1);
}

/* A DSB on another CPU does not complete this CPU's TLBI; the twin has the
 * DSB on the issuing CPU. */
static void test_dsb_is_per_cpu(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L3, 0);
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL, -1);
	DSB(1);
	W(0, L3, PAGE(0x90000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 1);
	assert_non_null(strstr(s2eff_violation(f->e, 0)->detail, "not completed by a DSB"));

	W(0, L3, 0);
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL, -1);
	DSB(0);
	W(0, L3, PAGE(0xa0000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 1);
}

/* A TLBI of another VMID does not count: with the thread's VTTBR on VMID 2,
 * or with vmid=2 given; the twin names VMID 1. */
static void test_tlbi_scoped_by_vmid(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L3, 0);
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL, 2);
	DSB(0);
	W(0, L3, PAGE(0x90000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 1);

	W(0, L3, 0);
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL, 1);
	DSB(0);
	W(0, L3, PAGE(0xa0000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 1);
	/* ALLE1IS covers every VMID. */
	W(0, L3, 0);
	TLBI(0, S2ARM_TLBI_ALLE1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	W(0, L3, PAGE(0xb0000000ull));
	assert_int_equal(total(f), 1);
}

/* A wrong TTL level is a violation and does not count; the right level, or
 * no hint, is fine; ignore-ttl takes any hint as none. */
static void test_ttl_hint(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L3, 0);
	TLBI(0, S2ARM_TLBI_IPAS2E1IS, 0, 2);
	assert_int_equal(fired(f, S2HYP_RULE_TLBI_TTL), 1);
	TLBI(0, S2ARM_TLBI_IPAS2E1IS, 0, 3);
	DSB(0);
	TLBI(0, S2ARM_TLBI_VMALLE1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	W(0, L3, PAGE(0x90000000ull));
	assert_int_equal(total(f), 1);

	s2eff_set_ignore_ttl(f->e, true);
	W(0, L3, 0);
	TLBI(0, S2ARM_TLBI_IPAS2E1IS, 0, 1);
	DSB(0);
	TLBI(0, S2ARM_TLBI_VMALLE1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	W(0, L3, PAGE(0xa0000000ull));
	assert_int_equal(total(f), 1);
}

/* An IPA TLBI alone leaves combined stage-1+2 entries: the stage-1 half is
 * missing; VMALLE1IS before the IPA TLBI completed does not count either. */
static void test_stage1_after_ipa(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L3, 0);
	TLBI(0, S2ARM_TLBI_IPAS2E1IS, 0, 3);
	DSB(0);
	W(0, L3, PAGE(0x90000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_TLBI_S1_AFTER_IPA), 1);
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 0);

	W(0, L3, 0);
	TLBI(0, S2ARM_TLBI_IPAS2E1IS, 0, 3);
	TLBI(0, S2ARM_TLBI_VMALLE1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	W(0, L3, PAGE(0xa0000000ull));
	assert_int_equal(fired(f, S2HYP_RULE_TLBI_S1_AFTER_IPA), 2);
	assert_int_equal(total(f), 2);
}

/* Freeing a table page whose entry was broken but not TLBI'd; the twin
 * completes the TLBI first. */
static void test_tlbi_before_free(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L2, 0);
	DO(s2eff_release(f->e, at(f, 0), L3, 0x1000, &why_));
	assert_int_equal(fired(f, S2HYP_RULE_TLBI_BEFORE_FREE), 1);

	struct s2eff *e2 = s2eff_new();
	assert_non_null(e2);
	struct s2eff *keep = f->e;
	f->e = e2;
	setup_tree(f, 1);
	W(0, L2, 0);
	TLBI(0, S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	DO(s2eff_release(f->e, at(f, 0), L3, 0x1000, &why_));
	assert_int_equal(total(f), 0);
	s2eff_free(e2);
	f->e = keep;
}

/* Two roots on one VMID at once; the twin gives the second its own VMID. A
 * VMID reused after its root is released needs a TLBI of that VMID first. */
static void test_vmid_reuse(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, SPARE | 2ull << 48, &why_));
	assert_int_equal(total(f), 0);
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, SPARE | 1ull << 48, &why_));
	assert_int_equal(fired(f, S2HYP_RULE_VMID_CHANGE), 1);	/* SPARE had VMID 2 */
	assert_int_equal(fired(f, S2HYP_RULE_VMID_REUSE), 1);	/* VMID 1 is R's */

	/* R released (another root loaded first); VMID 1 reused by a new root
	 * after VMALLS12E1IS of VMID 1: clean. */
	struct s2eff *e2 = s2eff_new();
	struct s2eff *keep = f->e;
	f->e = e2;
	setup_tree(f, 1);
	UNLOCKED(0);
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, SPARE | 2ull << 48, &why_));
	DO(s2eff_hint(f->e, at(f, 0), S2EFF_HINT_RELEASE_TABLE, R, 0, &why_));
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL, 1);
	DSB(0);
	DO(s2eff_init(f->e, at(f, 0), 0x15000, 0x1000, &why_));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, 0x15000 | 1ull << 48, &why_));
	assert_int_equal(total(f), 0);
	/* ... and without the TLBI, a violation. */
	s2eff_free(e2);
	e2 = s2eff_new();
	f->e = e2;
	setup_tree(f, 1);
	UNLOCKED(0);
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, SPARE | 2ull << 48, &why_));
	DO(s2eff_hint(f->e, at(f, 0), S2EFF_HINT_RELEASE_TABLE, R, 0, &why_));
	DO(s2eff_init(f->e, at(f, 0), 0x15000, 0x1000, &why_));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, 0x15000 | 1ull << 48, &why_));
	assert_int_equal(fired(f, S2HYP_RULE_VMID_REUSE), 1);
	assert_int_equal(total(f), 1);
	/* Releasing a root a CPU still has loaded is freeing a live table. */
	DO(s2eff_hint(f->e, at(f, 0), S2EFF_HINT_RELEASE_TABLE, 0x15000, 0, &why_));
	assert_int_equal(fired(f, S2HYP_RULE_TLBI_BEFORE_FREE), 1);
	s2eff_free(e2);
	f->e = keep;
}

/* TTBR0_EL2's ASID must be zero without E2H; with E2H it is an ASID. */
static void test_ttbr_asid(void **state)
{
	struct fx *f = *state;
	DO(s2eff_init(f->e, at(f, 0), R, 0x1000, &why_));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_TTBR0_EL2, R | 1ull << 48, &why_));
	assert_int_equal(fired(f, S2HYP_RULE_TTBR_ASID), 1);
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_HCR_EL2, 1ull << 34, &why_));
	DO(s2eff_init(f->e, at(f, 0), L1, 0x1000, &why_));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_TTBR0_EL2, L1 | 2ull << 48, &why_));
	assert_int_equal(total(f), 1);
}

/* EL2 stage 1: break-before-make with VAE2IS, scoped by address. */
static void test_el2_stage1(void **state)
{
	struct fx *f = *state;
	DO(s2eff_init(f->e, at(f, 0), R, 0x2000, &why_));
	W(0, R, TABLE(L1));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_TTBR0_EL2, R, &why_));
	/* No set-root-lock hint: the anonymous lock protects the tree. */
	DO(s2eff_lock(f->e, at(f, 0), UINT64_MAX, false, &why_));
	W(0, L1, BLOCK2(0x40000000ull) & ~0x2ull);	/* a 1G block at level 1 */
	W(0, L1, 0);
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VAE2IS, 1ull << 30, S2PT_TLBI_NO_LEVEL, -1);	/* another VA */
	DSB(0);
	W(0, L1, 0x80000401ull);
	assert_int_equal(fired(f, S2HYP_RULE_BBM), 1);
	assert_int_equal(s2eff_violation(f->e, 0)->stage, 1);
	W(0, L1, 0);
	s2eff_tlbi(f->e, at(f, 0), S2ARM_TLBI_VAE2IS, 0, S2PT_TLBI_NO_LEVEL, -1);
	DSB(0);
	W(0, L1, 0xc0000401ull);
	assert_int_equal(total(f), 1);
}

/* A store to a live table without its lock, from another thread, or with no
 * lock named at all; tables not yet installed need none. */
static void test_unlocked_write(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(1, L3 + 8, PAGE(0x90001000ull));
	assert_int_equal(fired(f, S2HYP_RULE_UNLOCKED_WRITE), 1);
	W(0, L3 + 16, PAGE(0x90002000ull));
	assert_int_equal(total(f), 1);
	DO(s2eff_init(f->e, at(f, 1), 0x20000, 0x1000, &why_));
	W(1, 0x20000, TABLE(0x21000));	/* not linked: no lock needed */
	assert_int_equal(total(f), 1);

	struct s2eff *e2 = s2eff_new();
	struct s2eff *keep = f->e;
	f->e = e2;
	DO(s2eff_init(f->e, at(f, 0), R, 0x1000, &why_));
	DO(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, R, &why_));
	W(0, R, 0);
	assert_int_equal(fired(f, S2HYP_RULE_UNLOCKED_WRITE), 1);
	assert_non_null(strstr(s2eff_violation(f->e, 0)->detail, "no lock protects"));
	s2eff_free(e2);
	f->e = keep;
}

/* An unlock with a broken, unclean entry under it; the twin completes the
 * maintenance first. A trylock is recursive. */
static void test_unlock_unclean(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	DO(s2eff_lock(f->e, at(f, 0), LOCK, true, &why_));
	W(0, L3, 0);
	UNLOCKED(0);	/* the trylock's hold */
	assert_int_equal(total(f), 0);
	UNLOCKED(0);
	assert_int_equal(fired(f, S2HYP_RULE_UNLOCK_UNCLEAN), 1);
	LOCKED(0);
	W(0, L3 + 8, PAGE(0x1000));
	W(0, L3 + 8, 0);
	TLBI(0, S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	UNLOCKED(0);
	assert_int_equal(total(f), 1);
	/* A lock held by another thread cannot be taken. */
	const char *why = "";
	LOCKED(1);
	assert_int_equal(s2eff_lock(f->e, at(f, 0), LOCK, false, &why), S2_EINVAL);
	assert_int_equal(s2eff_unlock(f->e, at(f, 0), LOCK, &why), S2_EINVAL);
}

/* A table page linked from a second entry while the first still links it;
 * the twin unlinks it cleanly first. */
static void test_table_reuse(void **state)
{
	struct fx *f = *state;
	setup_tree(f, 1);
	W(0, L2 + 8, TABLE(L3));
	assert_int_equal(fired(f, S2HYP_RULE_TABLE_REUSE), 1);
	W(0, L2 + 8, 0);
	W(0, L2, 0);
	TLBI(0, S2ARM_TLBI_VMALLS12E1IS, 0, S2PT_TLBI_NO_LEVEL);
	DSB(0);
	W(0, L2 + 16, TABLE(L3));
	assert_int_equal(total(f), 1);
}

/* Bad events of a trace are errors, not violations. */
static void test_errors(void **state)
{
	struct fx *f = *state;
	const char *why = "";
	assert_int_equal(s2eff_write(f->e, at(f, 0), 0x5000, 1, false, false, &why), S2_EINVAL);
	assert_int_equal(s2eff_write(f->e, at(f, 0), 0x5000, 1, false, true, &why), 0);
	assert_int_equal(s2eff_stats(f->e)->untracked_writes, 1);
	assert_int_equal(s2eff_init(f->e, at(f, 0), 0x5800, 0x1000, &why), S2_EINVAL);
	assert_int_equal(s2eff_release(f->e, at(f, 0), 0x5000, 0x1000, &why), S2_EINVAL);
	assert_int_equal(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTTBR_EL2, 0x7000, &why), S2_EINVAL);
	assert_int_equal(s2eff_hint(f->e, at(f, 0), S2EFF_HINT_SET_ROOT_LOCK, 0x7000, 1, &why),
			 S2_EINVAL);
	assert_int_equal(s2eff_sysreg(f->e, at(f, 0), S2EFF_TCR_EL2, 0, &why), S2_EINVAL);
	/* casemate's VTCR_EL2 of T0SZ alone is taken; a 64-bit IPA is not. */
	assert_int_equal(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTCR_EL2, 0x10, &why), 0);
	assert_int_equal(s2eff_sysreg(f->e, at(f, 0), S2EFF_VTCR_EL2, 0, &why), S2_EINVAL);
	assert_int_equal(total(f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bbm_good, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bbm_valid_to_valid, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dsb_is_per_cpu, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tlbi_scoped_by_vmid, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ttl_hint, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stage1_after_ipa, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tlbi_before_free, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_vmid_reuse, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ttbr_asid, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_el2_stage1, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unlocked_write, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unlock_unclean, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_table_reuse, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_errors, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
