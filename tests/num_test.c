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

/* Around the digits read without an overflow check (16 hex, 19 decimal):
 * leading zeros past them, the 64-bit edge and one digit beyond it. */
static void test_long_numbers(void **state)
{
	uint64_t v = 7;
	(void)state;
	assert_int_equal(ok("0xffffffffffffffff", 0), UINT64_MAX);
	assert_int_equal(ok("0x00000000000000000001", 0), 1);
	assert_int_equal(ok("0x0000000000000000fK", S2_NUM_SIZE), 15 << 10);
	assert_int_equal(ok("9999999999999999999", 0), 9999999999999999999ull);
	assert_int_equal(ok("00000000000000000000000042", 0), 42);
	assert_int_equal(ok("0001000000000000000000", 0), 1000000000000000000ull);
	assert_int_equal(s2_parse_u64("0x1ffffffffffffffff", 0, &v), S2_ERANGE);
	assert_int_equal(s2_parse_u64("99999999999999999999", 0, &v), S2_ERANGE);
	assert_int_equal(s2_parse_u64("00000000000000000001x", 0, &v), S2_EPARSE);
	assert_int_equal(v, 7);
}

/* The inline common case reads what s2_parse_u64 reads, the same, and
 * leaves everything else (suffixes, 0X, long digit runs, refusals) to it. */
static void test_quick(void **state)
{
	static const char *const taken[] = {
		"0", "7", "4096", "010", "0x0", "0x1F", "0xc0540000", "0xffffffffffffffff",
		"9999999999999999999",
	};
	static const char *const left[] = {
		"", "-1", "+1", " 5", "0x", "0x0x5", "5x", "64K", "0X1F", "0x00000000000000001",
		"18446744073709551615", "00000000000000000001", "12a", "1 ",
	};
	uint64_t v, w;
	(void)state;
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		assert_true(s2_parse_u64_quick(taken[i], &v));
		assert_int_equal(s2_parse_u64(taken[i], S2_NUM_SIZE, &w), 0);
		assert_int_equal(v, w);
	}
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
		assert_false(s2_parse_u64_quick(left[i], &v));
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
		cmocka_unit_test(test_long_numbers),
		cmocka_unit_test(test_quick),
		cmocka_unit_test(test_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
