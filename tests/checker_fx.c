#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/checker_fx.h"

void checker_fx_open(struct checker_fx *x, const struct checker_fx_opts *o)
{
	const char *why;
	struct s2cache_config cc;

	assert_int_equal(s2pt_geom_init(&x->pt.geom, 12, 40, &why), 0);
	x->pool = s2pool_new(12, s2_pa(o->pool_base), o->pool_pages * 0x1000ull);
	assert_non_null(x->pool);
	s2cache_config_init(&cc);
	cc.ncpus = 2;
	assert_int_equal(s2cache_create(&cc, &x->cache), 0);
	struct s2hyp_checker_config cfg = {
		.pt = &x->pt, .pool = x->pool, .cache = x->cache, .fwb = o->fwb,
		.stats = &x->stats, .report = o->report, .arg = o->arg,
	};
	x->c = s2hyp_checker_new(&cfg);
	assert_non_null(x->c);
	x->root = s2pool_alloc(x->pool);
	assert_non_null(x->root);
	s2hyp_checker_page_alloc(x->c, x->root);
	s2hyp_checker_page_root(x->c, x->root, o->root_level, o->root_ipa);
}

void checker_fx_close(struct checker_fx *x)
{
	s2hyp_checker_delete(x->c);
	s2cache_destroy(x->cache);
	s2pool_delete(x->pool);
}
