/* common/s2_num.h: the one number parser, on what it takes and what it
 * refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/s2_err.h"
#include "common/s2_num.h"

static uint64_t ok(const char *s, unsigned flags)
{
	uint64_t v = 0;
	assert_int_equal(s2_parse_u64(s, flags, &v), 0);
	return v;
}

/* Decimal, hex after 0x, and size suffixes when asked for. */
static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(ok("0", 0), 0);
	assert_int_equal(ok("4096", 0), 4096);
	assert_int_equal(ok("0x1F", 0), 0x1f);
	assert_int_equal(ok("010", 0), 10);	/* never octal */
	assert_int_equal(ok("64K", S2_NUM_SIZE), 64 << 10);
	assert_int_equal(ok("2m", S2_NUM_SIZE), 2 << 20);
	assert_int_equal(ok("0x1G", S2_NUM_SIZE), 1ull << 30);
	assert_int_equal(ok("18446744073709551615", 0), UINT64_MAX);
	assert_int_equal(ok("ff", S2_NUM_HEX), 0xff);
	assert_int_equal(ok("0xff", S2_NUM_HEX), 0xff);
}

/* Signs, spaces, empty digits, a second 0x, trailing text: not numbers;
 * beyond 64 bits: out of range. */
static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 5", "0x", "0x0x5", "5x", "K", "64K", "12a", "1 ",
	};
	uint64_t v = 7;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(s2_parse_u64(bad[i], 0, &v), S2_EPARSE);
	assert_int_equal(s2_parse_u64("5Kx", S2_NUM_SIZE, &v), S2_EPARSE);
	assert_int_equal(s2_parse_u64("0x5", S2_NUM_DEC, &v), S2_EPARSE);
	assert_int_equal(v, 7);
	assert_int_equal(s2_parse_u64("18446744073709551616", 0, &v), S2_ERANGE);
	assert_int_equal(s2_parse_u64("0x10000000000000000", 0, &v), S2_ERANGE);
	assert_int_equal(s2_parse_u64("17179869184G", S2_NUM_SIZE, &v), S2_ERANGE);
	assert_int_equal(v, 7);
}

/* Scanning stops after the number and says where. */
static void test_scan(void **state)
{
	const char *s = "12:34";
	uint64_t v;
	(void)state;
	assert_int_equal(s2_scan_u64(&s, S2_NUM_DEC, &v), 0);
	assert_int_equal(v, 12);
	assert_string_equal(s, ":34");
	assert_int_equal(s2_scan_u64(&s, S2_NUM_DEC, &v), S2_EPARSE);
	assert_string_equal(s, ":34");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
