/* Walker speed with an mm-ops that only allocates, counts references and
 * stores: the cost of the walk and the visitors themselves.
 * Prints NAME VALUE UNIT lines; comments start with '#'. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/s2_clock.h"
#include "pool/s2pool.h"
#include "walker/s2pt.h"

#define GIB (1ull << 30)
#define SZ_2M (2ull << 20)
#define IPA_BASE (1ull << 32)
#define PA_BASE (1ull << 36)

struct run {
	struct s2pool *pool;
	struct s2pt pt;
	struct s2pt_memcache mc;
};

static void setup(struct run *r)
{
	struct s2pt_geom g;
	r->pool = s2pool_new(12, s2_pa(1ull << 44), 64ull << 20);
	if (!r->pool || s2pt_geom_init(&g, 12, 40, NULL) ||
	    s2pt_init(&r->pt, &g, &s2pool_mm_ops, r->pool, S2PT_V_UPSTREAM, 0)) {
		fprintf(stderr, "walker_bench: set-up failed\n");
		exit(1);
	}
	r->mc.nr = 0;
}

static void teardown(struct run *r)
{
	s2pt_memcache_free(&r->pt, &r->mc);
	s2pt_destroy(s2pt_lock(&r->pt));
	s2pool_delete(r->pool);
}

/* Map 1 GiB in 2M steps (one memcache top-up each, as a fault would), with
 * leaves of the given size: PA misaligned by a page forces 4K leaves. */
static double map_gib(struct run *r, uint64_t pa_skew)
{
	struct s2pt_locked l = s2pt_lock(&r->pt);
	double t0 = s2_now_ns();
	for (uint64_t off = 0; off < GIB; off += SZ_2M) {
		if (s2pt_memcache_topup(&r->pt, &r->mc, 4) ||
		    s2pt_map(l, s2_ipa(IPA_BASE + off), SZ_2M, s2_pa(PA_BASE + pa_skew + off),
			     S2PT_PROT_RW, &r->mc)) {
			fprintf(stderr, "walker_bench: map failed\n");
			exit(1);
		}
	}
	return s2_now_ns() - t0;
}

static double unmap_gib(struct run *r)
{
	double t0 = s2_now_ns();
	if (s2pt_unmap(s2pt_lock(&r->pt), s2_ipa(IPA_BASE), GIB)) {
		fprintf(stderr, "walker_bench: unmap failed\n");
		exit(1);
	}
	return s2_now_ns() - t0;
}

/* The floor: a plain loop storing as many 4K descriptors (output address
 * and attributes) into as many table pages, per descriptor. */
static double store_loop(uint64_t *tables)
{
	double t0 = s2_now_ns();
	for (uint64_t i = 0; i < GIB / 4096; i++)
		*(volatile uint64_t *)&tables[i] = (PA_BASE + 4096 + (i << 12)) | 0x4ffull;
	return (s2_now_ns() - t0) / (GIB / 4096);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	enum { REPS = 5 };
	double m4[REPS], u4[REPS], m2[REPS], u2[REPS], st[REPS];
	uint64_t *tables = calloc(GIB / 4096, sizeof(uint64_t));

	if (!tables) {
		fprintf(stderr, "walker_bench: no memory\n");
		return 1;
	}

	/* The median of a few repetitions: the machine is shared and noisy. */
	for (int i = 0; i < REPS; i++) {
		struct run r;
		setup(&r);
		st[i] = store_loop(tables);
		m4[i] = map_gib(&r, 4096) / (GIB / 4096);
		u4[i] = unmap_gib(&r) / (GIB / 4096);
		m2[i] = map_gib(&r, 0) / (GIB / SZ_2M);
		u2[i] = unmap_gib(&r) / (GIB / SZ_2M);
		teardown(&r);
	}
	qsort(m4, REPS, sizeof(double), cmp_double);
	qsort(u4, REPS, sizeof(double), cmp_double);
	qsort(m2, REPS, sizeof(double), cmp_double);
	qsort(u2, REPS, sizeof(double), cmp_double);
	qsort(st, REPS, sizeof(double), cmp_double);
	free(tables);
	printf("# walker: variant upstream, 4K granule, 40-bit IPA, 1 GiB, median of %d\n", REPS);
	printf("walker.map_4k_ns_per_pte %.1f ns\n", m4[REPS / 2]);
	printf("# a plain loop storing as many descriptors: %.2f ns each\n", st[REPS / 2]);
	printf("walker.map_ratio_to_store_loop %.1f ratio\n", m4[REPS / 2] / st[REPS / 2]);
	printf("walker.unmap_4k_ns_per_pte %.1f ns\n", u4[REPS / 2]);
	printf("walker.map_2m_ns_per_block %.1f ns\n", m2[REPS / 2]);
	printf("walker.unmap_2m_ns_per_block %.1f ns\n", u2[REPS / 2]);
	return 0;
}
