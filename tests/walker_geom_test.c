/* Stage-2 geometry: what s2pt_geom_init chooses for every granule and IPA
 * size, what s2pt_geom_from_vtcr accepts and rejects, and the VTCR round
 * trip. Expected values are computed here from the Arm rules, not copied
 * from the walker:
 *
 *   level shift(L)   = (granule_shift - 3) * (3 - L) + granule_shift
 *   bits at start L  = ipa_bits - level shift(L)          (must be >= 1)
 *   root tables      = 2^(bits - stride) when bits > stride, else 1 (<= 16)
 *   KVM's choice     = the fewest levels (at least 2) whose start level needs
 *                      at most 16 concatenated root tables
 *
 * VTCR_EL2 (DDI 0487, VTCR_EL2): T0SZ [5:0], SL0 [7:6], TG0 [15:14] (0 4K,
 * 1 64K, 2 16K, 3 reserved), PS [18:16] (32, 36, 40, 42, 44, 48, 52 bits,
 * 7 reserved). SL0 is 0/1/2 = level 2/1/0 with 4K, level 3/2/1 with 16K and
 * 64K; 3 needs FEAT_TTST or FEAT_LPA2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_bits.h"
#include "walker/s2pt.h"

static const unsigned granules[] = { 12, 14, 16 };

/* Largest IPA without FEAT_LPA2: 52 bits only with 64K (FEAT_LPA). */
static unsigned max_ipa(unsigned gshift)
{
	return gshift == 16 ? 52 : 48;
}

static unsigned exp_shift(unsigned gshift, int level)
{
	return (gshift - 3) * (unsigned)(3 - level) + gshift;
}

/* Whether a start level can translate ipa bits (DDI 0487 AArch64.S2InconsistentSL):
 * at least one bit at the start level, at most one stride plus 4 bits of
 * concatenation. */
static bool start_level_ok(unsigned gshift, unsigned ipa, int level)
{
	unsigned shift = exp_shift(gshift, level);
	return ipa > shift && ipa - shift <= (gshift - 3) + 4;
}

static unsigned exp_roots(unsigned gshift, unsigned ipa, int level)
{
	unsigned bits = ipa - exp_shift(gshift, level);
	unsigned stride = gshift - 3;
	return bits > stride ? 1u << (bits - stride) : 1;
}

/* KVM's choice, found by search: the deepest start level (fewest levels, at
 * least two, so no level 3 start) that is consistent. */
static int exp_start_level(unsigned gshift, unsigned ipa)
{
	for (int level = 2; level >= 0; level--)
		if (start_level_ok(gshift, ipa, level))
			return level;
	return -99;
}

static uint64_t vtcr(unsigned t0sz, unsigned sl0, unsigned tg0, unsigned ps)
{
	return (uint64_t)t0sz | (uint64_t)sl0 << 6 | (uint64_t)tg0 << 14 | (uint64_t)ps << 16;
}

static unsigned tg0_of(unsigned gshift)
{
	return gshift == 12 ? 0 : gshift == 16 ? 1 : 2;
}

static const unsigned ps_table[8] = { 32, 36, 40, 42, 44, 48, 52, 0 };

static void assert_geom_equal(const struct s2pt_geom *a, const struct s2pt_geom *b)
{
	assert_int_equal(a->granule_shift, b->granule_shift);
	assert_int_equal(a->ipa_bits, b->ipa_bits);
	assert_int_equal(a->pa_bits, b->pa_bits);
	assert_int_equal(a->start_level, b->start_level);
	assert_int_equal(a->nr_roots, b->nr_roots);
	assert_int_equal(a->stride, b->stride);
	assert_int_equal(a->min_block_level, b->min_block_level);
}

static void assert_reason(const char *why)
{
	assert_non_null(why);
	assert_true(strlen(why) > 0);
}

/* Every (granule, IPA size) KVM supports gets the start level, roots, block
 * level and level sizes the Arm rules give. */
static void test_init_full_table(void **state)
{
	(void)state;
	for (unsigned gi = 0; gi < 3; gi++) {
		unsigned gs = granules[gi];
		for (unsigned ipa = 32; ipa <= max_ipa(gs); ipa++) {
			struct s2pt_geom g;
			const char *why = NULL;
			assert_int_equal(s2pt_geom_init(&g, gs, ipa, &why), 0);
			int sl = exp_start_level(gs, ipa);
			assert_int_equal(g.granule_shift, gs);
			assert_int_equal(g.ipa_bits, ipa);
			assert_int_equal(g.start_level, sl);
			assert_int_equal(g.nr_roots, exp_roots(gs, ipa, sl));
			assert_in_range(g.nr_roots, 1, 16);
			assert_int_equal(g.stride, gs - 3);
			/* Blocks: 1G at level 1 with 4K; 32M and 512M at level 2 with
			 * 16K and 64K (level-1 blocks need LPA2/LPA). */
			assert_int_equal(g.min_block_level, gs == 12 ? 1 : 2);
			assert_true(g.pa_bits >= ipa);
			assert_true(g.pa_bits == 48 || g.pa_bits == 52);
			assert_int_equal(s2pt_ptes_per_table(&g), 1u << (gs - 3));
			for (int l = sl; l <= 3; l++) {
				assert_int_equal(s2pt_level_shift(&g, (s2_level_t)l), exp_shift(gs, l));
				assert_true(s2pt_granule_size(&g, (s2_level_t)l) ==
					    (uint64_t)1 << exp_shift(gs, l));
				assert_int_equal(s2pt_leaf_allowed_at(&g, (s2_level_t)l),
						 l >= (gs == 12 ? 1 : 2));
			}
			/* The root covers the IPA space; concatenated roots exactly. */
			uint64_t cover = (uint64_t)g.nr_roots * s2pt_ptes_per_table(&g) *
					 s2pt_granule_size(&g, g.start_level);
			assert_true(cover >= (uint64_t)1 << ipa);
			if (g.nr_roots > 1)
				assert_true(cover == (uint64_t)1 << ipa);
			/* Never a level-3 start and never a level shallower than needed. */
			assert_true(g.start_level <= 2);
		}
	}
}

/* Known KVM configurations, hard-coded from kvm_get_vtcr's results. */
static void test_init_known_configs(void **state)
{
	(void)state;
	static const struct {
		unsigned gs, ipa;
		int level;
		unsigned roots;
	} known[] = {
		{ 12, 40, 1, 2 },	/* KVM's default 40-bit IPA */
		{ 12, 32, 2, 4 },
		{ 12, 33, 2, 8 },
		{ 12, 34, 2, 16 },
		{ 12, 35, 1, 1 },
		{ 12, 36, 1, 1 },
		{ 12, 44, 0, 1 },
		{ 12, 48, 0, 1 },
		{ 14, 36, 2, 1 },
		{ 14, 40, 2, 16 },
		{ 14, 41, 1, 1 },
		{ 14, 48, 1, 2 },
		{ 16, 32, 2, 1 },
		{ 16, 42, 2, 1 },
		{ 16, 46, 2, 16 },
		{ 16, 47, 1, 1 },
		{ 16, 48, 1, 1 },
		{ 16, 52, 1, 1 },
	};
	for (unsigned i = 0; i < S2_ARRAY_SIZE(known); i++) {
		struct s2pt_geom g;
		assert_int_equal(s2pt_geom_init(&g, known[i].gs, known[i].ipa, NULL), 0);
		assert_int_equal(g.start_level, known[i].level);
		assert_int_equal(g.nr_roots, known[i].roots);
	}
	struct s2pt_geom g;
	assert_int_equal(s2pt_geom_init(&g, 12, 40, NULL), 0);
	assert_true(s2pt_granule_size(&g, 1) == 1ull << 30);
	assert_true(s2pt_granule_size(&g, 2) == 2ull << 20);
	assert_true(s2pt_granule_size(&g, 3) == 4096);
	assert_int_equal(g.pa_bits, 48);
	assert_int_equal(s2pt_geom_init(&g, 14, 48, NULL), 0);
	assert_true(s2pt_granule_size(&g, 2) == 32ull << 20);
	assert_true(s2pt_granule_size(&g, 1) == 64ull << 30);
	assert_int_equal(s2pt_geom_init(&g, 16, 42, NULL), 0);
	assert_true(s2pt_granule_size(&g, 2) == 512ull << 20);
	assert_true(s2pt_granule_size(&g, 3) == 64ull << 10);
	assert_int_equal(s2pt_geom_init(&g, 16, 52, NULL), 0);
	assert_int_equal(g.pa_bits, 52);
	assert_true(s2pt_granule_size(&g, 1) == 4ull << 40);
}

/* Granules other than 4K/16K/64K and IPA sizes outside 32..48 (52 with 64K)
 * are refused with a reason, also when the caller passes no reason pointer. */
static void test_init_rejects(void **state)
{
	(void)state;
	static const unsigned bad_granules[] = { 0, 10, 11, 13, 15, 17, 20, 64 };
	for (unsigned i = 0; i < S2_ARRAY_SIZE(bad_granules); i++) {
		struct s2pt_geom g;
		const char *why = NULL;
		assert_int_equal(s2pt_geom_init(&g, bad_granules[i], 40, &why), S2_EINVAL);
		assert_reason(why);
		assert_int_equal(s2pt_geom_init(&g, bad_granules[i], 40, NULL), S2_EINVAL);
	}
	for (unsigned gi = 0; gi < 3; gi++) {
		unsigned gs = granules[gi];
		const unsigned bad_ipa[] = { 0, 25, 31, max_ipa(gs) + 1, 53, 56, 64, 65 };
		for (unsigned i = 0; i < S2_ARRAY_SIZE(bad_ipa); i++) {
			struct s2pt_geom g;
			const char *why = NULL;
			assert_int_equal(s2pt_geom_init(&g, gs, bad_ipa[i], &why), S2_EINVAL);
			assert_reason(why);
			assert_int_equal(s2pt_geom_init(&g, gs, bad_ipa[i], NULL), S2_EINVAL);
		}
	}
	/* Granule and size reasons are different messages. */
	struct s2pt_geom g;
	const char *w1 = NULL, *w2 = NULL;
	assert_int_equal(s2pt_geom_init(&g, 13, 40, &w1), S2_EINVAL);
	assert_int_equal(s2pt_geom_init(&g, 12, 49, &w2), S2_EINVAL);
	assert_string_not_equal(w1, w2);
}

/* Every VTCR value over T0SZ x SL0 x TG0 x PS is accepted exactly when the
 * Arm rules say so, and decodes to the geometry they give. */
static void test_from_vtcr_exhaustive(void **state)
{
	(void)state;
	unsigned accepted = 0;
	for (unsigned tg0 = 0; tg0 < 4; tg0++) {
		unsigned gs = tg0 == 0 ? 12 : tg0 == 1 ? 16 : tg0 == 2 ? 14 : 0;
		for (unsigned ps = 0; ps < 8; ps++) {
			for (unsigned sl0 = 0; sl0 < 4; sl0++) {
				for (unsigned t0sz = 0; t0sz < 64; t0sz++) {
					unsigned ipa = 64 - t0sz;
					int level = gs == 12 ? 2 - (int)sl0 : 3 - (int)sl0;
					bool ok = gs && ps_table[ps] && sl0 != 3 &&
						  ipa >= 25 && ipa <= max_ipa(gs) &&
						  ipa <= ps_table[ps] &&
						  start_level_ok(gs, ipa, level);
					struct s2pt_geom g;
					const char *why = NULL;
					int ret = s2pt_geom_from_vtcr(&g, vtcr(t0sz, sl0, tg0, ps), &why);
					if (!ok) {
						assert_int_equal(ret, S2_EINVAL);
						assert_reason(why);
						continue;
					}
					accepted++;
					assert_int_equal(ret, 0);
					assert_int_equal(g.granule_shift, gs);
					assert_int_equal(g.ipa_bits, ipa);
					assert_int_equal(g.pa_bits, ps_table[ps]);
					assert_int_equal(g.start_level, level);
					assert_int_equal(g.nr_roots, exp_roots(gs, ipa, level));
					assert_int_equal(g.stride, gs - 3);
					assert_int_equal(g.min_block_level, gs == 12 ? 1 : 2);
				}
			}
		}
	}
	assert_true(accepted > 0);
}

/* Fields outside T0SZ/SL0/TG0/PS (IRGN0, ORGN0, SH0, VS, HA, ...) do not
 * change the decoded geometry. */
static void test_from_vtcr_ignores_other_fields(void **state)
{
	(void)state;
	struct s2pt_geom a, b;
	uint64_t v = vtcr(64 - 40, 1, 0, 5);
	assert_int_equal(s2pt_geom_from_vtcr(&a, v, NULL), 0);
	uint64_t extra = (3ull << 8) | (3ull << 10) | (3ull << 12) | (1ull << 19) |
			 (1ull << 21) | (1ull << 31);
	assert_int_equal(s2pt_geom_from_vtcr(&b, v | extra, NULL), 0);
	assert_geom_equal(&a, &b);
}

/* Each rejection path of from_vtcr, one representative value each, with its
 * own reason. */
static void test_from_vtcr_each_rejection(void **state)
{
	(void)state;
	const struct {
		const char *what;
		uint64_t v;
	} bad[] = {
		/* TG0 = 0b11 is reserved. */
		{ "reserved TG0", vtcr(64 - 40, 1, 3, 5) },
		/* PS = 0b111 is reserved. */
		{ "reserved PS", vtcr(64 - 40, 1, 0, 7) },
		/* SL0 = 0b11 without FEAT_TTST/LPA2. */
		{ "SL0=3", vtcr(64 - 40, 3, 0, 5) },
		/* 4K, 40-bit IPA from level 2: 19 bits there = 1024 tables > 16. */
		{ ">16 concatenated", vtcr(64 - 40, 0, 0, 5) },
		/* 4K, 39-bit IPA from level 0 (shift 39): no bit left to resolve. */
		{ "start level resolves no bits", vtcr(64 - 39, 2, 0, 5) },
		/* 4K, 44-bit IPA with a 40-bit PA. */
		{ "IPA > PS", vtcr(64 - 44, 2, 0, 2) },
		/* T0SZ = 40: a 24-bit IPA, below the architecture's 25. */
		{ "T0SZ too large", vtcr(40, 0, 0, 5) },
		/* T0SZ = 15: a 49-bit IPA, above 48 for 4K without LPA2. */
		{ "T0SZ too small for 4K", vtcr(15, 2, 0, 6) },
		/* T0SZ = 11: a 53-bit IPA, above 52 even with 64K. */
		{ "T0SZ too small for 64K", vtcr(11, 2, 1, 6) },
	};
	const char *reasons[S2_ARRAY_SIZE(bad)];
	for (unsigned i = 0; i < S2_ARRAY_SIZE(bad); i++) {
		struct s2pt_geom g;
		const char *why = NULL;
		int ret = s2pt_geom_from_vtcr(&g, bad[i].v, &why);
		if (ret != S2_EINVAL)
			fail_msg("%s: accepted (ret %d)", bad[i].what, ret);
		assert_reason(why);
		reasons[i] = why;
		/* A NULL reason pointer is allowed. */
		assert_int_equal(s2pt_geom_from_vtcr(&g, bad[i].v, NULL), S2_EINVAL);
	}
	/* The first seven are different paths, so different reasons. */
	for (unsigned i = 0; i < 7; i++)
		for (unsigned j = i + 1; j < 7; j++)
			if (!strcmp(reasons[i], reasons[j]))
				fail_msg("'%s' and '%s' share the reason '%s'",
					 bad[i].what, bad[j].what, reasons[i]);
}

/* The same IPA sizes decoded from a good VTCR: the neighbours of each
 * rejection that the architecture does allow. */
static void test_from_vtcr_edges_accepted(void **state)
{
	(void)state;
	struct s2pt_geom g;
	/* 4K level 2 with 16 tables: 34 bits. */
	assert_int_equal(s2pt_geom_from_vtcr(&g, vtcr(64 - 34, 0, 0, 5), NULL), 0);
	assert_int_equal(g.nr_roots, 16);
	assert_int_equal(g.start_level, 2);
	/* 4K level 0 resolving one bit: 40 bits. */
	assert_int_equal(s2pt_geom_from_vtcr(&g, vtcr(64 - 40, 2, 0, 5), NULL), 0);
	assert_int_equal(g.start_level, 0);
	assert_int_equal(g.nr_roots, 1);
	/* IPA equal to PS: 40 and 40. */
	assert_int_equal(s2pt_geom_from_vtcr(&g, vtcr(64 - 40, 1, 0, 2), NULL), 0);
	assert_int_equal(g.pa_bits, 40);
	/* The smallest IPA: T0SZ = 39, 25 bits, 16K from level 3 (shift 14). */
	assert_int_equal(s2pt_geom_from_vtcr(&g, vtcr(39, 0, 2, 0), NULL), 0);
	assert_int_equal(g.start_level, 3);
	assert_int_equal(g.ipa_bits, 25);
	assert_int_equal(g.nr_roots, 1);
	/* 64K 52-bit from level 1 with a 52-bit PS. */
	assert_int_equal(s2pt_geom_from_vtcr(&g, vtcr(12, 2, 1, 6), NULL), 0);
	assert_int_equal(g.start_level, 1);
	assert_int_equal(g.ipa_bits, 52);
	assert_int_equal(g.pa_bits, 52);
}

/* to_vtcr encodes exactly the four fields, and from_vtcr gives back the
 * same geometry, for every geometry init produces. */
static void test_vtcr_round_trip(void **state)
{
	(void)state;
	for (unsigned gi = 0; gi < 3; gi++) {
		unsigned gs = granules[gi];
		for (unsigned ipa = 32; ipa <= max_ipa(gs); ipa++) {
			struct s2pt_geom g, back;
			assert_int_equal(s2pt_geom_init(&g, gs, ipa, NULL), 0);
			uint64_t v = s2pt_geom_to_vtcr(&g);
			unsigned ps = 0;
			while (ps < 7 && ps_table[ps] != g.pa_bits)
				ps++;
			assert_int_not_equal(ps, 7);
			unsigned sl0 = gs == 12 ? (unsigned)(2 - g.start_level) :
						 (unsigned)(3 - g.start_level);
			assert_true(v == vtcr(64 - ipa, sl0, tg0_of(gs), ps));
			const char *why = NULL;
			if (s2pt_geom_from_vtcr(&back, v, &why) != 0)
				fail_msg("%u/%u: %s", gs, ipa, why);
			assert_geom_equal(&back, &g);
		}
	}
}

/* Every geometry from_vtcr accepts also survives to_vtcr -> from_vtcr. */
static void test_vtcr_round_trip_from_decoded(void **state)
{
	(void)state;
	for (unsigned tg0 = 0; tg0 < 3; tg0++)
		for (unsigned ps = 0; ps < 7; ps++)
			for (unsigned sl0 = 0; sl0 < 3; sl0++)
				for (unsigned t0sz = 0; t0sz < 64; t0sz++) {
					struct s2pt_geom g, back;
					uint64_t v = vtcr(t0sz, sl0, tg0, ps);
					if (s2pt_geom_from_vtcr(&g, v, NULL))
						continue;
					assert_true(s2pt_geom_to_vtcr(&g) == v);
					assert_int_equal(s2pt_geom_from_vtcr(&back, s2pt_geom_to_vtcr(&g), NULL), 0);
					assert_geom_equal(&g, &back);
				}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_full_table),
		cmocka_unit_test(test_init_known_configs),
		cmocka_unit_test(test_init_rejects),
		cmocka_unit_test(test_from_vtcr_exhaustive),
		cmocka_unit_test(test_from_vtcr_ignores_other_fields),
		cmocka_unit_test(test_from_vtcr_each_rejection),
		cmocka_unit_test(test_from_vtcr_edges_accepted),
		cmocka_unit_test(test_vtcr_round_trip),
		cmocka_unit_test(test_vtcr_round_trip_from_decoded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
