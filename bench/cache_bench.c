/* cache_bench: cost of the cache model's hot paths. One figure per line as
 * NAME VALUE UNIT; other lines start with '#'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cache-model/s2cache.h"

#define SPAN		(64ull << 20)	/* memory the random accesses cover */
#define BASE		0x40000000ull
#define ACCESSES	(8u << 20)
#define CHUNK		(2ull << 20)	/* one KVM block clean */
#define FETCH_SPAN	(1ull << 20)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* xorshift64: cheap enough not to weigh on the figure it drives. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "cache_bench: %s failed: %d\n", what, err);
	exit(1);
}

int main(void)
{
	struct s2cache_config cfg;
	struct s2cache *c;
	struct s2cache_stats st;
	static uint8_t page[4096];
	uint64_t seed = 0x9E3779B97F4A7C15ull, sink = 0;
	int err;

	s2cache_config_init(&cfg);
	cfg.ncpus = 4;
	if ((err = s2cache_create(&cfg, &c)))
		die("create", err);

	/* Touch every page so the timed loop measures hits, not allocation. */
	for (uint64_t a = 0; a < SPAN; a += sizeof(page))
		if ((err = s2cache_write(c, 0, s2_pa(BASE + a), page, sizeof(page), true)))
			die("touch", err);
	s2cache_get_stats(c, &st);
	printf("# %llu pages touched, %llu lines resident, %llu bytes\n",
	       (unsigned long long)st.frames, (unsigned long long)st.resident,
	       (unsigned long long)st.bytes);
	printf("cache.bytes_per_touched_page %.0f bytes\n", (double)st.bytes / (double)st.frames);

	/* Random 8-byte cacheable accesses, half reads, half writes. */
	double t0 = now_ns();
	for (unsigned i = 0; i < ACCESSES; i++) {
		uint64_t r = rnd(&seed);
		uint64_t a = BASE + ((r >> 8) & (SPAN - 1) & ~7ull), v = r;
		if (r & 1) {
			err = s2cache_read(c, (unsigned)(r >> 1) & 3, s2_pa(a), &v, 8, true, NULL);
			sink += v;
		} else {
			err = s2cache_write(c, (unsigned)(r >> 1) & 3, s2_pa(a), &v, 8, true);
		}
		if (err)
			die("access", err);
	}
	double t1 = now_ns();
	printf("cache.access_ns %.1f ns\n", (t1 - t0) / ACCESSES);

	/* The same with a check on every read, as the checker runs it. */
	struct s2cache_check chk;
	t0 = now_ns();
	for (unsigned i = 0; i < ACCESSES; i++) {
		uint64_t r = rnd(&seed);
		uint64_t a = BASE + ((r >> 8) & (SPAN - 1) & ~7ull), v = r;
		if (r & 1) {
			err = s2cache_read(c, 0, s2_pa(a), &v, 8, true, &chk);
			sink += v + chk.stale;
		} else {
			err = s2cache_write(c, 0, s2_pa(a), &v, 8, true);
		}
		if (err)
			die("access", err);
	}
	t1 = now_ns();
	printf("cache.checked_access_ns %.1f ns\n", (t1 - t0) / ACCESSES);

	/* Instruction fetches over 1 MiB of code from 4 CPUs (icache hits). */
	t0 = now_ns();
	for (unsigned i = 0; i < ACCESSES / 4; i++) {
		uint64_t r = rnd(&seed);
		uint32_t insn;
		err = s2cache_fetch(c, (unsigned)r & 3, s2_pa(BASE + ((r >> 8) & (FETCH_SPAN - 1) & ~3ull)),
				    &insn, NULL);
		if (err)
			die("fetch", err);
		sink += insn;
	}
	t1 = now_ns();
	printf("cache.fetch_ns %.1f ns\n", (t1 - t0) / (ACCESSES / 4));

	/* DC CIVAC over 2 MiB of dirty lines, as KVM cleans a new block. */
	double cmo_ns = 0;
	uint64_t lines = 0;
	for (uint64_t a = 0; a < SPAN; a += CHUNK) {
		for (uint64_t p = 0; p < CHUNK; p += sizeof(page))
			if ((err = s2cache_write(c, 0, s2_pa(BASE + a + p), page, sizeof(page), true)))
				die("dirty", err);
		t0 = now_ns();
		if ((err = s2cache_cmo(c, 0, S2CACHE_DC_CIVAC, s2_pa(BASE + a), CHUNK)))
			die("cmo", err);
		cmo_ns += now_ns() - t0;
		lines += CHUNK / s2cache_line_bytes(c);
	}
	printf("cache.cmo_ns_per_line %.1f ns\n", cmo_ns / (double)lines);

	printf("# sink %llu\n", (unsigned long long)sink);
	s2cache_destroy(c);
	return 0;
}
