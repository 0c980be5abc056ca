/* cache_bench: cost of the cache model's hot paths. One figure per line as
 * NAME VALUE UNIT; other lines start with '#'. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/s2_clock.h"
#include "cache-model/s2cache.h"
#include "common/s2_err.h"

#define SPAN		(64ull << 20)	/* memory the random accesses cover */
#define BASE		0x40000000ull
#define ACCESSES	(8u << 20)
#define ROUND		(1u << 20)	/* accesses per timed round */
#define ROUNDS		8		/* rounds of each, interleaved */
#define CHUNK		(2ull << 20)	/* one KVM block clean */
#define FETCH_SPAN	(1ull << 20)

/* xorshift64: cheap enough not to weigh on the figure it drives. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* The same random 8-byte accesses on a plain array: what the host's
 * memory allows, so cache.access_ns can be read against it. */
static double array_round(uint8_t *m, uint64_t *seed, uint64_t *sink)
{
	double t0 = s2_now_ns();
	for (unsigned i = 0; i < ROUND; i++) {
		uint64_t r = rnd(seed), v = r;
		uint8_t *p = m + ((r >> 8) & (SPAN - 1) & ~7ull);
		if (r & 1) {
			memcpy(&v, p, 8);
			*sink += v;
		} else {
			memcpy(p, &v, 8);
		}
	}
	return (s2_now_ns() - t0) / ROUND;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "cache_bench: %s failed: %d\n", what, err);
	exit(1);
}

/*
 * What a layout of line records could reach at best, whatever the model
 * does besides: each 64-byte line's data beside 16 bytes of state, the same
 * accesses, one read or update of the state each and no other work. Two
 * levels (a per-page index of pointers to the page's records, as the model
 * has) or one (a direct-mapped array of records over the whole span).
 */
struct floor_line {
	uint64_t state, version;
	uint8_t data[64];
};

static double floor_round(struct floor_line *const *index, struct floor_line *flat,
			  uint64_t *seed, uint64_t *sink)
{
	double t0 = s2_now_ns();
	for (unsigned i = 0; i < ROUND; i++) {
		uint64_t r = rnd(seed), v = r, a = (r >> 8) & (SPAN - 1) & ~7ull;
		struct floor_line *l = index ? &index[a >> 12][(a >> 6) & 63] : &flat[a >> 6];
		if (r & 1) {
			memcpy(&v, l->data + (a & 63), 8);
			*sink += v + l->state;
		} else {
			memcpy(l->data + (a & 63), &v, 8);
			l->state |= 2;
			l->version++;
		}
	}
	return (s2_now_ns() - t0) / ROUND;
}

/* The floors' ratios to the plain array, best round of each. */
static void layout_floors(uint8_t *arr, uint64_t *seed, uint64_t *sink)
{
	size_t npages = SPAN >> 12;
	struct floor_line **index = calloc(npages, sizeof(*index));
	struct floor_line *flat = calloc(SPAN >> 6, sizeof(*flat));
	double best_arr = 1e30, best_two = 1e30, best_flat = 1e30;

	if (!index || !flat)
		die("floor", S2_ENOMEM);
	for (size_t i = 0; i < npages; i++)
		if (!(index[i] = calloc(64, sizeof(**index))))
			die("floor", S2_ENOMEM);
	for (unsigned round = 0; round < ROUNDS; round++) {
		double t = array_round(arr, seed, sink);
		if (t < best_arr)
			best_arr = t;
		if ((t = floor_round(index, NULL, seed, sink)) < best_two)
			best_two = t;
		if ((t = floor_round(NULL, flat, seed, sink)) < best_flat)
			best_flat = t;
	}
	printf("# the floor of a layout of line records (data and state together, nothing else\n"
	       "# done), the same accesses: a per-page index to each page's records, and one\n"
	       "# direct-mapped array of records\n");
	printf("cache.floor_two_level_ratio_to_array %.2f ratio\n", best_two / best_arr);
	printf("cache.floor_flat_ratio_to_array %.2f ratio\n", best_flat / best_arr);
	for (size_t i = 0; i < npages; i++)
		free(index[i]);
	free(index);
	free(flat);
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

	/* First touch as a run makes it: one 8-byte write per page (a
	 * descriptor, a guest's first store) over 64 MiB. */
	for (uint64_t a = 0; a < SPAN; a += sizeof(page))
		if ((err = s2cache_write(c, 0, s2_pa(BASE + a), &seed, 8, true)))
			die("touch", err);
	s2cache_get_stats(c, &st);
	printf("# one line written in each of %llu pages: %llu bytes\n",
	       (unsigned long long)st.frames, (unsigned long long)st.bytes);
	printf("cache.bytes_per_touched_page %.0f bytes\n", (double)st.bytes / (double)st.frames);

	/* Then every line, so the timed loop measures hits, not allocation. */
	for (uint64_t a = 0; a < SPAN; a += sizeof(page))
		if ((err = s2cache_write(c, 0, s2_pa(BASE + a), page, sizeof(page), true)))
			die("touch", err);
	s2cache_get_stats(c, &st);
	printf("# every line written: %llu pages, %llu lines resident, %llu bytes\n",
	       (unsigned long long)st.frames, (unsigned long long)st.resident,
	       (unsigned long long)st.bytes);
	printf("cache.bytes_per_resident_line %.0f bytes\n", (double)st.bytes / (double)st.resident);

	/* Random 8-byte cacheable accesses, half reads, half writes, in rounds
	 * interleaved with the same accesses to a plain 64 MiB array, so that
	 * both see the same load from other processes; the best round of each. */
	uint8_t *arr = malloc(SPAN);
	if (!arr)
		die("array", S2_ENOMEM);
	memset(arr, 1, SPAN);
	double best = 1e30, best_arr = 1e30;
	for (unsigned round = 0; round < ROUNDS; round++) {
		double t0 = s2_now_ns();
		for (unsigned i = 0; i < ROUND; i++) {
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
		double t = (s2_now_ns() - t0) / ROUND;
		if (t < best)
			best = t;
		t = array_round(arr, &seed, &sink);
		if (t < best_arr)
			best_arr = t;
	}
	printf("cache.access_ns %.1f ns\n", best);
	printf("# the same accesses to a plain 64 MiB array: %.1f ns\n", best_arr);
	printf("cache.access_ratio_to_array %.2f ratio\n", best / best_arr);
	layout_floors(arr, &seed, &sink);
	free(arr);

	/* The same with a check on every read, as the checker runs it. */
	struct s2cache_check chk;
	double t0 = s2_now_ns();
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
	double t1 = s2_now_ns();
	printf("cache.checked_access_ns %.1f ns\n", (t1 - t0) / ACCESSES);

	/* Instruction fetches over 1 MiB of code from 4 CPUs (icache hits). */
	t0 = s2_now_ns();
	for (unsigned i = 0; i < ACCESSES / 4; i++) {
		uint64_t r = rnd(&seed);
		uint32_t insn;
		err = s2cache_fetch(c, (unsigned)r & 3, s2_pa(BASE + ((r >> 8) & (FETCH_SPAN - 1) & ~3ull)),
				    &insn, NULL);
		if (err)
			die("fetch", err);
		sink += insn;
	}
	t1 = s2_now_ns();
	printf("cache.fetch_ns %.1f ns\n", (t1 - t0) / (ACCESSES / 4));

	/* DC CIVAC over 2 MiB of dirty lines, as KVM cleans a new block. */
	double cmo_ns = 0;
	uint64_t lines = 0;
	for (uint64_t a = 0; a < SPAN; a += CHUNK) {
		for (uint64_t p = 0; p < CHUNK; p += sizeof(page))
			if ((err = s2cache_write(c, 0, s2_pa(BASE + a + p), page, sizeof(page), true)))
				die("dirty", err);
		t0 = s2_now_ns();
		if ((err = s2cache_cmo(c, 0, S2CACHE_DC_CIVAC, s2_pa(BASE + a), CHUNK)))
			die("cmo", err);
		cmo_ns += s2_now_ns() - t0;
		lines += CHUNK / s2cache_line_bytes(c);
	}
	printf("cache.cmo_ns_per_line %.1f ns\n", cmo_ns / (double)lines);

	printf("# sink %llu\n", (unsigned long long)sink);
	s2cache_destroy(c);
	return 0;
}
