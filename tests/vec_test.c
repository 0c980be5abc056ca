/* common/s2_vec.h: s2_grow's capacities, and the needs it must refuse. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/s2_text.h"
#include "common/s2_vec.h"

/* Capacity doubles from 16 to cover the need and the contents survive. */
static void test_grows(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	unsigned cap = 0;
	assert_true(s2_grow((void **)&a, &cap, sizeof(*a), 1));
	assert_int_equal(cap, 16);
	for (unsigned i = 0; i < 16; i++)
		a[i] = i * 7;
	assert_true(s2_grow((void **)&a, &cap, sizeof(*a), 100));
	assert_int_equal(cap, 128);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(a[i], i * 7);
	uint32_t *before = a;
	assert_true(s2_grow((void **)&a, &cap, sizeof(*a), 128));	/* room already */
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 128);
	free(a);
}

/* A need past the largest power-of-two capacity an unsigned holds is
 * refused, array and capacity untouched, instead of doubling to zero. */
static void test_refuses_wrap(void **state)
{
	(void)state;
	void *a = NULL;
	unsigned cap = UINT_MAX / 2 + 1;	/* pretend: nothing is allocated */
	assert_false(s2_grow(&a, &cap, 1, UINT_MAX / 2 + 2));
	assert_null(a);
	assert_int_equal(cap, UINT_MAX / 2 + 1);
	cap = 0;
	assert_false(s2_grow(&a, &cap, 1, UINT_MAX));
	assert_null(a);
	assert_int_equal(cap, 0);
}

/* s2_grow_zero keeps what the array held and zeroes only what it adds. */
static void test_grow_zero(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	unsigned cap = 0;
	assert_true(s2_grow_zero((void **)&a, &cap, sizeof(*a), 3));
	assert_int_equal(cap, 16);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(a[i], 0);
		a[i] = i + 1;
	}
	assert_true(s2_grow_zero((void **)&a, &cap, sizeof(*a), 40));
	assert_int_equal(cap, 64);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(a[i], i < 16 ? i + 1 : 0);
	free(a);
}

/* s2_find_name finds an element of a table by its leading name. */
static void test_find_name(void **state)
{
	(void)state;
	static const struct { const char *name; int v; } t[] = { { "a", 1 }, { "bc", 2 }, { "d", 3 } };
	assert_int_equal(s2_find_name(t, 3, sizeof(t[0]), "bc"), 1);
	assert_int_equal(s2_find_name(t, 3, sizeof(t[0]), "d"), 2);
	assert_int_equal(s2_find_name(t, 3, sizeof(t[0]), "b"), -1);
	assert_int_equal(s2_find_name(t, 2, sizeof(t[0]), "d"), -1);
}

static const char *three(unsigned i)
{
	static const char *const names[] = { "x", "yz", "w" };
	return i < 3 ? names[i] : NULL;
}

/* s2_find_name_by finds a name behind a function, which ends its table
 * with NULL. */
static void test_find_name_by(void **state)
{
	(void)state;
	assert_int_equal(s2_find_name_by(three, "x"), 0);
	assert_int_equal(s2_find_name_by(three, "w"), 2);
	assert_int_equal(s2_find_name_by(three, "y"), -1);
	assert_int_equal(s2_find_name_by(three, ""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows),
		cmocka_unit_test(test_refuses_wrap),
		cmocka_unit_test(test_grow_zero),
		cmocka_unit_test(test_find_name),
		cmocka_unit_test(test_find_name_by),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
