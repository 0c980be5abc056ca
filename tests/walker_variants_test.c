/* The walker variant table: parsing by name, the name list, descriptions,
 * and which variants are marked as reproducing a known bug. The expected
 * names and bug flags are written out here from the design (DESIGN.md,
 * "Known bugs the emulator should be able to show"), not taken from the
 * table itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_bits.h"
#include "tests/fake_mm.h"
#include "walker/s2pt.h"

static const struct {
	const char *name;
	enum s2pt_variant id;
	bool buggy;
} expected[] = {
	{ "upstream-2021", S2PT_V_UPSTREAM_2021, false },
	{ "install-first", S2PT_V_INSTALL_FIRST, false },
	{ "upstream", S2PT_V_UPSTREAM, false },
	{ "upstream-exclusive", S2PT_V_UPSTREAM_EXCLUSIVE, false },
	{ "install-first-nocmo", S2PT_V_INSTALL_FIRST_NOCMO, true },
	{ "upstream-nocmo", S2PT_V_UPSTREAM_NOCMO, true },
	{ "anchor-leak", S2PT_V_ANCHOR_LEAK, true },
	{ "install-first-anchor-leak", S2PT_V_INSTALL_FIRST_LEAK, true },
	{ "upstream-2021-tlbi-ipa", S2PT_V_MERGE_TLBI_IPA, true },
	{ "upstream-noreload", S2PT_V_NO_RELOAD, true },
	{ "upstream-free-leak", S2PT_V_FREE_LEAK, true },
	{ "upstream-2021-valid-leak", S2PT_V_VALID_UPDATE_LEAK, true },
	{ "upstream-eagain-stops", S2PT_V_EAGAIN_STOPS, true },
	{ "upstream-unmap-defer-tlbi", S2PT_V_UNMAP_DEFER_TLBI, true },
	{ "kvm-dirty-log-blocks", S2PT_V_LOG_BLOCKS, true },
	{ "kvm-dirty-log-noflush", S2PT_V_LOG_NO_FLUSH, true },
	{ "upstream-2021-perm-bbm", S2PT_V_PERM_BBM, false },
	{ "upstream-relax-notlbi", S2PT_V_RELAX_NO_TLBI, true },
	{ "kvm-huge-unchecked", S2PT_V_HUGE_UNCHECKED, true },
	{ "upstream-free-now", S2PT_V_FREE_NOW, true },
	{ "upstream-attr-plain", S2PT_V_ATTR_PLAIN, true },
	{ "upstream-loser-put", S2PT_V_LOSER_PUT, true },
	{ "upstream-relax-lost-notlbi", S2PT_V_RELAX_LOST_NOTLBI, false },
	{ "kvm-relax-stale-level", S2PT_V_RELAX_STALE_LEVEL, true },
};

/* The table has exactly the variants listed above. */
static void test_variant_count(void **state)
{
	(void)state;
	assert_int_equal(S2PT_NR_VARIANTS, S2_ARRAY_SIZE(expected));
}

/* Every name parses to its variant, and the variant names itself back. */
static void test_parse_every_name(void **state)
{
	(void)state;
	for (unsigned i = 0; i < S2_ARRAY_SIZE(expected); i++) {
		enum s2pt_variant v = S2PT_NR_VARIANTS;
		assert_int_equal(s2pt_variant_parse(expected[i].name, &v), 0);
		assert_int_equal(v, expected[i].id);
		assert_string_equal(s2pt_variant_name(v), expected[i].name);
	}
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++) {
		enum s2pt_variant back;
		assert_int_equal(s2pt_variant_parse(s2pt_variant_name((enum s2pt_variant)v), &back), 0);
		assert_int_equal(back, v);
	}
}

/* Unknown names, prefixes, case changes and padding are refused and leave
 * the output untouched. */
static void test_parse_rejects_unknown(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "upstream-2022", "Upstream", "UPSTREAM", "upstream ", " upstream",
		"upstream-", "install", "install-first-", "anchor", "leak", "?",
		"upstream-2021,install-first",
	};
	for (unsigned i = 0; i < S2_ARRAY_SIZE(bad); i++) {
		enum s2pt_variant v = S2PT_V_INSTALL_FIRST;
		if (s2pt_variant_parse(bad[i], &v) != S2_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(v, S2PT_V_INSTALL_FIRST);
	}
}

/* The list names every variant once, in table order, separated by ", ". */
static void test_list_contains_every_name(void **state)
{
	(void)state;
	char buf[1024];
	const char *list = s2pt_variant_list(buf, sizeof(buf));
	assert_ptr_equal(list, buf);
	char want[1024] = "";
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++) {
		if (v)
			strcat(want, ", ");
		strcat(want, expected[v].name);
	}
	assert_string_equal(list, want);
	/* Each name appears as a whole item. */
	for (unsigned i = 0; i < S2_ARRAY_SIZE(expected); i++) {
		const char *item = expected[i].name;
		unsigned hits = 0;
		const char *p = buf;
		while ((p = strstr(p, item)) != NULL) {
			bool starts = p == buf || p[-1] == ' ';
			bool ends = p[strlen(item)] == ',' || p[strlen(item)] == '\0';
			hits += starts && ends;
			p++;
		}
		assert_int_equal(hits, 1);
	}
}

/* A short buffer gets a terminated prefix of the full list, never an
 * overrun. */
static void test_list_truncates(void **state)
{
	(void)state;
	char full[1024];
	s2pt_variant_list(full, sizeof(full));
	for (size_t size = 1; size < strlen(full) + 2; size++) {
		char buf[1100];
		memset(buf, 'Z', sizeof(buf));
		s2pt_variant_list(buf, size);
		assert_true(strlen(buf) < size);
		assert_memory_equal(buf, full, strlen(buf));
		for (size_t i = size; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 'Z');
	}
}

/* Buggy variants are exactly the bug reproductions listed above; each one's
 * description says BUGGY, the correct ones' do not. */
static void test_buggy_flags(void **state)
{
	(void)state;
	unsigned buggy = 0;
	for (unsigned i = 0; i < S2_ARRAY_SIZE(expected); i++) {
		enum s2pt_variant v = expected[i].id;
		assert_int_equal(s2pt_variant_is_buggy(v), expected[i].buggy);
		const char *desc = s2pt_variant_desc(v);
		assert_non_null(desc);
		assert_true(strlen(desc) > 20);
		assert_int_equal(strstr(desc, "BUGGY") != NULL, expected[i].buggy);
		buggy += expected[i].buggy;
	}
	assert_int_equal(buggy, 18);
}

/* The bugs of the parallel path, and only they, need two walkers at once
 * to show (tests/walker_parallel_test.c shows each). */
static void test_parallel_bugs(void **state)
{
	(void)state;
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++)
		assert_int_equal(s2pt_variant_needs_parallel((enum s2pt_variant)v),
				 v == S2PT_V_FREE_NOW || v == S2PT_V_ATTR_PLAIN ||
				 v == S2PT_V_LOSER_PUT || v == S2PT_V_RELAX_LOST_NOTLBI);
	assert_false(s2pt_variant_needs_parallel(S2PT_NR_VARIANTS));
}

/* Names and descriptions are distinct, and out-of-range ids are "?". */
static void test_names_distinct_and_out_of_range(void **state)
{
	(void)state;
	for (unsigned a = 0; a < S2PT_NR_VARIANTS; a++)
		for (unsigned b = a + 1; b < S2PT_NR_VARIANTS; b++) {
			assert_string_not_equal(s2pt_variant_name((enum s2pt_variant)a),
						s2pt_variant_name((enum s2pt_variant)b));
			assert_string_not_equal(s2pt_variant_desc((enum s2pt_variant)a),
						s2pt_variant_desc((enum s2pt_variant)b));
		}
	assert_string_equal(s2pt_variant_name(S2PT_NR_VARIANTS), "?");
	assert_string_equal(s2pt_variant_desc(S2PT_NR_VARIANTS), "?");
	assert_false(s2pt_variant_is_buggy(S2PT_NR_VARIANTS));
}

/* s2pt_init accepts every variant and refuses an id past the table; only
 * the v6.4+ ordering (and its buggy twins other than noreload) re-reads an
 * entry after the pre visitor. */
static void test_init_every_variant(void **state)
{
	(void)state;
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++) {
		struct fake_mm *fm = test_calloc(1, sizeof(*fm));
		struct s2pt pt;
		assert_int_equal(fake_mm_init(fm, &pt, 12, 40, (enum s2pt_variant)v, 0), 0);
		assert_int_equal(pt.variant, v);
		bool reload = v == S2PT_V_UPSTREAM || v == S2PT_V_UPSTREAM_EXCLUSIVE || v == S2PT_V_FREE_LEAK ||
			      v == S2PT_V_UPSTREAM_NOCMO || v == S2PT_V_EAGAIN_STOPS ||
			      v == S2PT_V_UNMAP_DEFER_TLBI || v == S2PT_V_LOG_BLOCKS ||
			      v == S2PT_V_RELAX_NO_TLBI ||
			      v == S2PT_V_LOG_NO_FLUSH || v == S2PT_V_HUGE_UNCHECKED ||
			      v == S2PT_V_FREE_NOW || v == S2PT_V_ATTR_PLAIN || v == S2PT_V_LOSER_PUT ||
			      v == S2PT_V_RELAX_LOST_NOTLBI;
		assert_int_equal(pt.reload_after_pre, reload);
		s2pt_destroy(s2pt_lock(&pt));
		fake_mm_fini(fm);
		test_free(fm);
	}
	struct fake_mm *fm = test_calloc(1, sizeof(*fm));
	struct s2pt pt;
	assert_int_equal(fake_mm_init(fm, &pt, 12, 40, S2PT_NR_VARIANTS, 0), S2_EINVAL);
	fake_mm_fini(fm);
	test_free(fm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variant_count),
		cmocka_unit_test(test_parallel_bugs),
		cmocka_unit_test(test_parse_every_name),
		cmocka_unit_test(test_parse_rejects_unknown),
		cmocka_unit_test(test_list_contains_every_name),
		cmocka_unit_test(test_list_truncates),
		cmocka_unit_test(test_buggy_flags),
		cmocka_unit_test(test_names_distinct_and_out_of_range),
		cmocka_unit_test(test_init_every_variant),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
