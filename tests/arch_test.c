/* arch_test: what is Arm's (arch/s2arm.h). ESR decoding and encoding
 * checked against the Arm layout of ESR_EL2 for stage-2 aborts (DDI 0487
 * D24.2.45):
 *
 *   63    56 55      32 31  26 25 24  23 22 21 20  16 15 14 13 12 11 10  9  8  7    6    5      0
 *   | RES0  |   ISS2   |  EC  |IL|ISV| SAS |SSE| SRT |SF|AR|VN| SET |FnV|EA|CM|S1PTW|WnR| DFSC  |
 *
 *   EC 0x20/0x21 instruction abort (lower EL / same EL), 0x24/0x25 data abort;
 *   DFSC 0b0001LL translation, 0b0010LL access flag, 0b0011LL permission at
 *   level LL; 0b101011 translation at level -1 (FEAT_LPA2).
 *
 * then the maintenance instructions' names and the memory-type combining.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <cmocka.h>

#include "arch/s2arm.h"
#include "common/s2_err.h"

/* ------------------------------------------------------------------ */
/* ESR decoding                                                        */
/* ------------------------------------------------------------------ */

#define IL (1u << 25)

static uint64_t esr_of(unsigned ec, uint32_t iss)
{
	return (uint64_t)ec << 26 | IL | iss;
}

/* Each abort class decodes to its kind and EL; other classes are refused. */
static void test_esr_classes(void **state)
{
	static const struct {
		unsigned ec;
		int ret;
		bool insn;
		bool lower;
	} cases[] = {
		{ 0x20, 0, true, true },
		{ 0x21, 0, true, false },
		{ 0x24, 0, false, true },
		{ 0x25, 0, false, false },
		{ 0x00, S2_EINVAL, 0, false },	/* unknown */
		{ 0x01, S2_EINVAL, 0, false },	/* WFx */
		{ 0x16, S2_EINVAL, 0, false },	/* HVC64 */
		{ 0x18, S2_EINVAL, 0, false },	/* SYS64 */
		{ 0x22, S2_EINVAL, 0, false },	/* PC alignment */
		{ 0x26, S2_EINVAL, 0, false },	/* SP alignment */
		{ 0x3c, S2_EINVAL, 0, false },	/* BRK64 */
		{ 0x3f, S2_EINVAL, 0, false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct s2arm_fault d;
		int ret = s2arm_esr_decode(esr_of(cases[i].ec, 0x07), &d);
		assert_int_equal(ret, cases[i].ret);
		if (ret)
			continue;
		assert_int_equal(d.ec, cases[i].ec);
		assert_int_equal(d.insn, cases[i].insn);
		assert_int_equal(d.lower_el, cases[i].lower);
		assert_int_equal(d.type, S2ARM_FAULT_TRANSLATION);
		assert_int_equal(d.level, 3);
	}
}

/* Every one of the 64 fault status codes, data and instruction aborts alike. */
static void test_esr_fsc_every_code(void **state)
{
	struct want {
		enum s2arm_fault_type type;
		bool has_level;
		int level;
	} want[64];
	(void)state;
	for (unsigned c = 0; c < 64; c++)
		want[c] = (struct want){ S2ARM_FAULT_RESERVED, false, 0 };
	/* 0b00TTLL: type TT (address size, translation, access flag,
	 * permission) at level LL. */
	for (unsigned ll = 0; ll < 4; ll++) {
		want[0x00 | ll] = (struct want){ S2ARM_FAULT_ADDR_SIZE, true, (int)ll };
		want[0x04 | ll] = (struct want){ S2ARM_FAULT_TRANSLATION, true, (int)ll };
		want[0x08 | ll] = (struct want){ S2ARM_FAULT_ACCESS_FLAG, true, (int)ll };
		want[0x0c | ll] = (struct want){ S2ARM_FAULT_PERMISSION, true, (int)ll };
		want[0x14 | ll] = (struct want){ S2ARM_FAULT_EXTERNAL_WALK, true, (int)ll };
		want[0x1c | ll] = (struct want){ S2ARM_FAULT_ECC_WALK, true, (int)ll };
		want[0x24 | ll] = (struct want){ S2ARM_FAULT_GPF_WALK, true, (int)ll };
	}
	want[0x10] = (struct want){ S2ARM_FAULT_EXTERNAL, false, 0 };
	want[0x11] = (struct want){ S2ARM_FAULT_TAG_CHECK, false, 0 };
	want[0x12] = (struct want){ S2ARM_FAULT_EXTERNAL_WALK, false, 0 };	/* level -2 */
	want[0x13] = (struct want){ S2ARM_FAULT_EXTERNAL_WALK, true, -1 };
	want[0x18] = (struct want){ S2ARM_FAULT_ECC, false, 0 };
	want[0x1b] = (struct want){ S2ARM_FAULT_ECC_WALK, true, -1 };
	want[0x21] = (struct want){ S2ARM_FAULT_ALIGNMENT, false, 0 };
	want[0x22] = (struct want){ S2ARM_FAULT_GPF_WALK, false, 0 };	/* level -2 */
	want[0x23] = (struct want){ S2ARM_FAULT_GPF_WALK, true, -1 };
	want[0x28] = (struct want){ S2ARM_FAULT_GPF, false, 0 };
	want[0x29] = (struct want){ S2ARM_FAULT_ADDR_SIZE, true, -1 };
	want[0x2a] = (struct want){ S2ARM_FAULT_TRANSLATION, false, 0 };	/* level -2 */
	want[0x2b] = (struct want){ S2ARM_FAULT_TRANSLATION, true, -1 };
	want[0x2c] = (struct want){ S2ARM_FAULT_ADDR_SIZE, false, 0 };	/* level -2 */
	want[0x30] = (struct want){ S2ARM_FAULT_TLB_CONFLICT, false, 0 };
	want[0x31] = (struct want){ S2ARM_FAULT_ATOMIC_HW_UPDATE, false, 0 };
	want[0x34] = (struct want){ S2ARM_FAULT_IMPDEF, false, 0 };
	want[0x35] = (struct want){ S2ARM_FAULT_IMPDEF, false, 0 };

	for (unsigned ec = 0x20; ec <= 0x25; ec++) {
		if (ec == 0x22 || ec == 0x23)
			continue;
		for (unsigned c = 0; c < 64; c++) {
			struct s2arm_fault d;
			assert_int_equal(s2arm_esr_decode(esr_of(ec, c), &d), 0);
			assert_int_equal(d.fsc, c);
			assert_int_equal(d.type, want[c].type);
			assert_int_equal(d.has_level, want[c].has_level);
			assert_int_equal(d.level, want[c].level);
		}
	}
}

/* WnR is the guest's write only on a data abort not on a stage-1 walk; the
 * other ISS bits decode where they exist. */
static void test_esr_iss_bits(void **state)
{
	static const struct {
		unsigned ec;
		uint32_t iss;
		bool write, s1ptw, cm, fnv, isv;
		unsigned bytes;
	} cases[] = {
		{ 0x24, 0x06, false, false, false, false, false, 0 },
		{ 0x24, 1u << 6 | 0x06, true, false, false, false, false, 0 },
		{ 0x24, 1u << 7 | 1u << 6 | 0x06, false, true, false, false, false, 0 },
		{ 0x24, 1u << 8 | 1u << 6 | 0x0f, true, false, true, false, false, 0 },
		{ 0x24, 1u << 10 | 0x07, false, false, false, true, false, 0 },
		{ 0x24, 1u << 24 | 0u << 22 | 0x07, false, false, false, false, true, 1 },
		{ 0x24, 1u << 24 | 1u << 22 | 0x07, false, false, false, false, true, 2 },
		{ 0x24, 1u << 24 | 2u << 22 | 0x07, false, false, false, false, true, 4 },
		{ 0x24, 1u << 24 | 3u << 22 | 1u << 6 | 0x07, true, false, false, false, true, 8 },
		/* SAS without ISV means nothing. */
		{ 0x24, 3u << 22 | 0x07, false, false, false, false, false, 0 },
		{ 0x25, 1u << 6 | 0x0e, true, false, false, false, false, 0 },
		/* Instruction aborts: bit 6, 8 and 24 are not WnR, CM, ISV. */
		{ 0x20, 1u << 24 | 1u << 8 | 1u << 6 | 0x06, false, false, false, false, false, 0 },
		{ 0x20, 1u << 7 | 0x07, false, true, false, false, false, 0 },
		{ 0x21, 1u << 10 | 0x0f, false, false, false, true, false, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct s2arm_fault d;
		assert_int_equal(s2arm_esr_decode(esr_of(cases[i].ec, cases[i].iss), &d), 0);
		assert_int_equal(d.write, cases[i].write);
		assert_int_equal(d.s1ptw, cases[i].s1ptw);
		assert_int_equal(d.cm, cases[i].cm);
		assert_int_equal(d.fnv, cases[i].fnv);
		assert_int_equal(d.isv, cases[i].isv);
		assert_int_equal(d.access_bytes, cases[i].bytes);
	}
}

/* Syndromes as a 6.12 host prints them in kvm_guest_fault. */
static void test_esr_real_values(void **state)
{
	struct s2arm_fault d;
	(void)state;

	/* str x1, [x0]: ISV, 8 bytes, X1, 64-bit, write, translation L2. */
	assert_int_equal(s2arm_esr_decode(0x93c18046, &d), 0);
	assert_true(d.isv && d.write && d.access_bytes == 8 && d.lower_el);
	assert_int_equal(d.type, S2ARM_FAULT_TRANSLATION);
	assert_int_equal(d.level, 2);
	/* The first fetch of a guest with its MMU off: translation at L1. */
	assert_int_equal(s2arm_esr_decode(0x82000005, &d), 0);
	assert_true(d.insn);
	assert_int_equal(d.level, 1);
	assert_false(d.write);
	/* stp to a write-protected block: permission at L2, no ISV. */
	assert_int_equal(s2arm_esr_decode(0x9200004e, &d), 0);
	assert_true(d.write && !d.isv);
	assert_int_equal(d.type, S2ARM_FAULT_PERMISSION);
	/* A read that finds the access flag clear at L2. */
	assert_int_equal(s2arm_esr_decode(0x93c3800a, &d), 0);
	assert_false(d.write);
	assert_int_equal(d.type, S2ARM_FAULT_ACCESS_FLAG);
	/* ISS2 bits above 31 do not change the decoding. */
	assert_int_equal(s2arm_esr_decode(0x0000001293c18046ull, &d), 0);
	assert_int_equal(d.type, S2ARM_FAULT_TRANSLATION);
	assert_true(d.write);
}

/* Every class has a distinct name; beyond the enum is "?". */
static void test_fsc_names(void **state)
{
	(void)state;
	for (unsigned i = 0; i < S2ARM_NR_FAULT_TYPES; i++) {
		const char *n = s2arm_fault_name((enum s2arm_fault_type)i);
		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(n, s2arm_fault_name((enum s2arm_fault_type)j));
	}
	assert_string_equal(s2arm_fault_name(S2ARM_NR_FAULT_TYPES), "?");
	assert_string_equal(s2arm_fault_name(S2ARM_FAULT_PERMISSION), "permission");
}

/* Encoding gives back what decoding reads, for every type at every level
 * it has a code for; a type at a level without a code encodes to 0. */
static void test_esr_encode_round_trip(void **state)
{
	(void)state;
	for (unsigned t = 0; t < S2ARM_NR_FAULT_TYPES; t++)
		for (int level = -1; level <= 3; level++)
			for (unsigned k = 0; k < 4; k++) {
				struct s2arm_fault f = { .type = (enum s2arm_fault_type)t,
							 .has_level = true, .level = (s2_level_t)level,
							 .insn = k & 1, .lower_el = true,
							 .write = !(k & 1) && (k & 2) }, d;
				uint64_t esr = s2arm_esr_encode(&f);
				if (!esr)
					continue;
				assert_int_equal(s2arm_esr_decode(esr, &d), 0);
				assert_int_equal(d.type, f.type);
				assert_true(d.has_level);
				assert_int_equal(d.level, f.level);
				assert_int_equal(d.insn, f.insn);
				assert_int_equal(d.write, f.write);
				assert_true(d.lower_el);
			}
	/* The machine's three kinds, as KVM reads them. */
	struct s2arm_fault f = { .type = S2ARM_FAULT_TRANSLATION, .has_level = true, .level = 2,
				 .lower_el = true, .write = true };
	assert_int_equal(s2arm_esr_encode(&f), 0x92000046);
	f.level = -1;	/* FEAT_LPA2: 0b101011, not level 3's code */
	assert_int_equal(s2arm_esr_encode(&f) & 0x3f, 0x2b);
	f.type = S2ARM_FAULT_PERMISSION;
	assert_int_equal(s2arm_esr_encode(&f), 0);
	f = (struct s2arm_fault){ .type = S2ARM_FAULT_ACCESS_FLAG, .has_level = true, .level = 3,
				  .insn = true, .lower_el = true };
	assert_int_equal(s2arm_esr_encode(&f), 0x8200000b);
}

/* TLBI, DC, IC and DSB names: both spellings, parsed in either case, and
 * the flags that tell their operands. */
static void test_op_names(void **state)
{
	(void)state;
	assert_string_equal(s2arm_tlbi_name(S2ARM_TLBI_IPAS2E1IS), "IPAS2E1IS");
	assert_string_equal(s2arm_tlbi_mnemonic(S2ARM_TLBI_IPAS2E1IS), "ipas2e1is");
	assert_string_equal(s2arm_tlbi_name(S2ARM_NR_TLBI), "?");
	for (unsigned i = 0; i < S2ARM_NR_TLBI; i++) {
		assert_int_equal(s2arm_tlbi_parse(s2arm_tlbi_mnemonic((enum s2arm_tlbi)i)), (int)i);
		assert_int_equal(s2arm_tlbi_parse(s2arm_tlbi_name((enum s2arm_tlbi)i)), (int)i);
	}
	assert_int_equal(s2arm_tlbi_parse("ipas2e2is"), -1);
	assert_true(s2arm_tlbi_flags(S2ARM_TLBI_VALE2IS) & S2ARM_TLBI_EL2);
	assert_true(s2arm_tlbi_flags(S2ARM_TLBI_VALE2IS) & S2ARM_TLBI_LAST);
	assert_false(s2arm_tlbi_flags(S2ARM_TLBI_VMALLS12E1IS) & S2ARM_TLBI_BY_ADDR);
	assert_true(s2arm_tlbi_flags(S2ARM_TLBI_RIPAS2E1IS) & S2ARM_TLBI_RANGE);
	assert_string_equal(s2arm_dc_name(S2ARM_DC_CIVAC), "DC CIVAC");
	assert_string_equal(s2arm_dc_mnemonic(S2ARM_DC_CVAU), "cvau");
	assert_int_equal(s2arm_dc_parse("IVAC"), S2ARM_DC_IVAC);
	assert_int_equal(s2arm_dc_parse("ivau"), -1);
	assert_string_equal(s2arm_ic_name(S2ARM_IC_IALLUIS), "IC IALLUIS");
	assert_int_equal(s2arm_ic_parse("ivau"), S2ARM_IC_IVAU);
	assert_string_equal(s2arm_ic_name(S2ARM_NR_IC), "?");
	assert_string_equal(s2arm_dsb_mnemonic(S2ARM_DSB_ISHST), "ishst");
	assert_int_equal(s2arm_dsb_parse("sy"), S2ARM_DSB_SY);
	assert_int_equal(s2arm_dsb_parse("osh"), -1);
}

/* ---- Memory types ----------------------------------------------------- */

/* FEAT_S2FWB forces stage-2 Normal attributes; without it the stricter
 * of stage 1 and stage 2 wins. */
static void test_attr_combine_fwb(void **state)
{
	(void)state;
	/* Guest MMU off: Device at stage 1 hides the dcache unless FWB. */
	assert_false(s2arm_cacheable(S2ARM_MT_NORMAL_WB, false, false));
	assert_true(s2arm_cacheable(S2ARM_MT_NORMAL_WB, false, true));
	assert_true(s2arm_cacheable(S2ARM_MT_NORMAL_WB, true, false));
	assert_true(s2arm_cacheable(S2ARM_MT_NORMAL_WB, true, true));
	/* Stage-2 Device or NC is never cacheable. */
	assert_false(s2arm_cacheable(S2ARM_MT_DEVICE, true, false));
	assert_false(s2arm_cacheable(S2ARM_MT_DEVICE, true, true));
	assert_false(s2arm_cacheable(S2ARM_MT_NORMAL_NC, true, false));
	assert_false(s2arm_cacheable(S2ARM_MT_NORMAL_NC, true, true));
	/* Combine keeps the stricter without FWB ... */
	assert_int_equal(s2arm_mt_combine(S2ARM_MT_NORMAL_NC, S2ARM_MT_NORMAL_WB, false),
			 S2ARM_MT_NORMAL_NC);
	assert_int_equal(s2arm_mt_combine(S2ARM_MT_DEVICE, S2ARM_MT_NORMAL_NC, false),
			 S2ARM_MT_DEVICE);
	/* ... and stage 2 decides with it, except for Device and "as stage 1". */
	assert_int_equal(s2arm_mt_combine(S2ARM_MT_DEVICE, S2ARM_MT_NORMAL_NC, true),
			 S2ARM_MT_NORMAL_NC);
	assert_int_equal(s2arm_mt_combine(S2ARM_MT_NORMAL_WB, S2ARM_MT_DEVICE, true),
			 S2ARM_MT_DEVICE);
	assert_int_equal(s2arm_mt_combine(S2ARM_MT_DEVICE, S2ARM_MT_AS_S1, true),
			 S2ARM_MT_DEVICE);
	assert_int_equal(s2arm_mt_combine(S2ARM_MT_NORMAL_NC, S2ARM_MT_AS_S1, false),
			 S2ARM_MT_NORMAL_NC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esr_classes),
		cmocka_unit_test(test_esr_fsc_every_code),
		cmocka_unit_test(test_esr_iss_bits),
		cmocka_unit_test(test_esr_real_values),
		cmocka_unit_test(test_fsc_names),
		cmocka_unit_test(test_esr_encode_round_trip),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_attr_combine_fwb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
