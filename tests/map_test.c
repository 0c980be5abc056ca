/* common/s2_map.h: the map against a plain array of the same keys, and the
 * in-place references s2_map_ref and s2_map_find give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/s2_map.h"

#define KEYS 3000

/* A key absent is inserted as 0; a key present gives its own value, which
 * a write through the reference changes for get. */
static void test_ref_inserts_and_finds(void **state)
{
	(void)state;
	struct s2_map t = { 0 };
	uint64_t v;

	uint64_t *r = s2_map_ref(&t, 42);
	assert_non_null(r);
	assert_int_equal(*r, 0);
	assert_int_equal(t.n, 1);
	*r = 7;
	assert_true(s2_map_get(&t, 42, &v));
	assert_int_equal(v, 7);
	assert_true(s2_map_put(&t, 43, 9));
	r = s2_map_ref(&t, 42);
	assert_int_equal(*r, 7);
	assert_int_equal(t.n, 2);
	*r += 1;
	assert_true(s2_map_get(&t, 42, &v));
	assert_int_equal(v, 8);
	assert_true(s2_map_get(&t, 43, &v));
	assert_int_equal(v, 9);
	s2_map_free(&t);
}

/* Puts, refs, finds and deletes of many keys (the table grows several times)
 * leave the map holding exactly what an array indexed by key holds; a
 * clear empties it, and a clear of an empty map keeps it empty. */
static void test_matches_array(void **state)
{
	(void)state;
	struct s2_map t = { 0 };
	static uint64_t want[KEYS];
	static bool have[KEYS];
	uint64_t x = 12345;

	for (unsigned step = 0; step < 20000; step++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		unsigned k = (unsigned)(x >> 33) % KEYS;
		uint64_t key = (uint64_t)k * 8 + 0x7f0000001000ull;	/* pointer-like */
		switch ((x >> 20) % 4) {
		case 0:
			assert_true(s2_map_put(&t, key, x));
			want[k] = x;
			have[k] = true;
			break;
		case 1: {
			uint64_t *r = s2_map_ref(&t, key);
			assert_non_null(r);
			assert_int_equal(*r, have[k] ? want[k] : 0);
			*r = want[k] = x ^ 1;
			have[k] = true;
			break;
		}
		case 2:
			s2_map_del(&t, key);
			have[k] = false;
			break;
		default: {
			uint64_t *f = s2_map_find(&t, key), n = t.n;
			assert_int_equal(f != NULL, have[k]);
			if (f) {
				assert_int_equal(*f, want[k]);
				*f = want[k] = x;
			}
			assert_int_equal(t.n, n);	/* no insertion */
			break;
		}
		}
	}
	unsigned n = 0;
	for (unsigned k = 0; k < KEYS; k++) {
		uint64_t v;
		bool got = s2_map_get(&t, (uint64_t)k * 8 + 0x7f0000001000ull, &v);
		assert_int_equal(got, have[k]);
		if (got)
			assert_int_equal(v, want[k]);
		n += have[k];
	}
	assert_int_equal(t.n, n);
	assert_true(t.cap >= 2 * n);
	s2_map_clear(&t);
	assert_int_equal(t.n, 0);
	for (unsigned k = 0; k < KEYS; k++) {
		uint64_t v;
		assert_false(s2_map_get(&t, (uint64_t)k * 8 + 0x7f0000001000ull, &v));
	}
	s2_map_clear(&t);
	uint32_t pos = 0;
	uint64_t key, val;
	assert_false(s2_map_next(&t, &pos, &key, &val));
	assert_true(s2_map_put(&t, 5, 6));
	assert_true(s2_map_get(&t, 5, &val));
	assert_int_equal(val, 6);
	s2_map_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_inserts_and_finds),
		cmocka_unit_test(test_matches_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
