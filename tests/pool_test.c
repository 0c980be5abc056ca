/* The table-page pool: reset to a new pool's state without a new reservation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pool/s2pool.h"

#define BASE (1ull << 40)
#define SIZE (64ull << 20)

/* After a reset the pool hands out the same pages, zeroed, at the same
 * addresses, with fresh counters, generations and errors, as a new pool. */
static void test_reset_is_a_new_pool(void **state)
{
	(void)state;
	struct s2pool *fresh = s2pool_new(12, s2_pa(BASE), SIZE);
	struct s2pool *p = s2pool_new(12, s2_pa(BASE), SIZE);
	struct s2pool_stats st;

	assert_non_null(fresh);
	assert_non_null(p);
	for (int i = 0; i < 200; i++) {
		uint8_t *pg = s2pool_alloc(p);
		assert_non_null(pg);
		memset(pg, 0xab, 4096);
		if (i % 2)
			s2pool_free(p, pg);
	}
	uint8_t *last = s2pool_alloc(p);
	s2pool_free(p, last);
	s2pool_free(p, last);	/* a double free */
	assert_int_not_equal(s2pool_errors(p)->double_free, 0);

	assert_true(s2pool_reset(p, 12, s2_pa(BASE), SIZE));
	s2pool_stats(p, &st);
	assert_int_equal(st.allocs, 0);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.high_water, 0);
	assert_int_equal(s2pool_errors(p)->double_free, 0);
	assert_null(s2pool_page_by_index(p, 0));
	for (int i = 0; i < 100; i++) {
		uint8_t *a = s2pool_alloc(fresh), *b = s2pool_alloc(p);
		assert_int_equal(s2_pa_get(s2pool_pa(fresh, a)), s2_pa_get(s2pool_pa(p, b)));
		assert_int_equal(s2pool_page_of(fresh, a)->gen, s2pool_page_of(p, b)->gen);
		for (int k = 0; k < 4096; k++)
			assert_int_equal(b[k], 0);
	}
	s2pool_delete(fresh);
	s2pool_delete(p);
}

/* A pool of another geometry is refused and left as it was. */
static void test_reset_refuses_other_geometry(void **state)
{
	(void)state;
	struct s2pool *p = s2pool_new(12, s2_pa(BASE), SIZE);
	struct s2pool_stats st;

	assert_non_null(p);
	assert_non_null(s2pool_alloc(p));
	assert_false(s2pool_reset(p, 16, s2_pa(BASE), SIZE));
	assert_false(s2pool_reset(p, 12, s2_pa(BASE * 2), SIZE));
	assert_false(s2pool_reset(p, 12, s2_pa(BASE), SIZE * 2));
	s2pool_stats(p, &st);
	assert_int_equal(st.live, 1);
	s2pool_delete(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_is_a_new_pool),
		cmocka_unit_test(test_reset_refuses_other_geometry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
