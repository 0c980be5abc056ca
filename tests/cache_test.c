/* cache_test: the cache model, one test per CMO and feature bit, and the
 * scenarios KVM's CMOs exist for (guest with its MMU off, code loading). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cache-model/s2cache.h"
#include "common/s2_err.h"

#define HOST 0		/* the CPU the host runs on in these scenarios */
#define GUEST 1
#define PAGE 4096u
#define IMG 0x80000000ull	/* where "images" are loaded */

static struct s2cache_config cfg_n(unsigned ncpus)
{
	struct s2cache_config cfg;

	s2cache_config_init(&cfg);
	cfg.ncpus = ncpus;
	return cfg;
}

static struct s2cache *mk(const struct s2cache_config *cfg)
{
	struct s2cache *c = NULL;

	assert_int_equal(s2cache_create(cfg, &c), S2_OK);
	assert_non_null(c);
	return c;
}

static int setup2(void **state)
{
	struct s2cache_config cfg = cfg_n(2);

	return s2cache_create(&cfg, (struct s2cache **)state);
}

static int teardown(void **state)
{
	int err = s2cache_verify(*state);

	s2cache_destroy(*state);
	return err ? -1 : 0;
}

/* Destroy a model made by mk(), its invariants intact. */
static void done(struct s2cache *c)
{
	assert_int_equal(s2cache_verify(c), S2_OK);
	s2cache_destroy(c);
}

static void wr64(struct s2cache *c, unsigned cpu, uint64_t pa, uint64_t v, bool cacheable)
{
	assert_int_equal(s2cache_write(c, cpu, s2_pa(pa), &v, 8, cacheable), S2_OK);
}

static uint64_t rd64(struct s2cache *c, unsigned cpu, uint64_t pa, bool cacheable,
		     bool *stale)
{
	struct s2cache_check chk;
	uint64_t v = 0;

	assert_int_equal(s2cache_read(c, cpu, s2_pa(pa), &v, 8, cacheable, &chk), S2_OK);
	*stale = chk.stale;
	if (chk.stale) {
		/* A stale read carries the bytes it should have returned. */
		uint64_t fresh;
		assert_int_equal(chk.fresh_len, 8);
		assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(pa), &fresh, 8), S2_OK);
		assert_memory_equal(chk.fresh, &fresh, 8);
		assert_true(chk.ver_returned <= chk.ver_latest);
	}
	return v;
}

static uint32_t fetch(struct s2cache *c, unsigned cpu, uint64_t pa, bool *stale)
{
	struct s2cache_check chk;
	uint32_t insn = 0;

	assert_int_equal(s2cache_fetch(c, cpu, s2_pa(pa), &insn, &chk), S2_OK);
	*stale = chk.stale;
	return insn;
}

static void cmo(struct s2cache *c, unsigned cpu, enum s2cache_op op, uint64_t pa, uint64_t size)
{
	assert_int_equal(s2cache_cmo(c, cpu, op, s2_pa(pa), size), S2_OK);
}

/* Host writes a 4 KiB image with cacheable stores. */
static void host_writes_image(struct s2cache *c, uint64_t pa, uint8_t seed)
{
	uint8_t img[PAGE];

	for (unsigned i = 0; i < PAGE; i++)
		img[i] = (uint8_t)(seed + i * 7);
	assert_int_equal(s2cache_write(c, HOST, s2_pa(pa), img, PAGE, true), S2_OK);
}

static bool guest_nc_read_page_stale(struct s2cache *c, uint64_t pa)
{
	uint8_t buf[PAGE], fresh[PAGE];
	struct s2cache_check chk;

	assert_int_equal(s2cache_read(c, GUEST, s2_pa(pa), buf, PAGE, false, &chk), S2_OK);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(pa), fresh, PAGE), S2_OK);
	/* The check agrees with the bytes: stale exactly when they differ. */
	assert_int_equal(chk.stale, memcmp(buf, fresh, PAGE) != 0);
	return chk.stale;
}

/* ---- Configuration ---------------------------------------------------- */

/* Bad configurations are refused with an error, never an abort. */
static void test_bad_configs(void **state)
{
	struct s2cache_config cfg;
	struct s2cache *c = (struct s2cache *)state;	/* any non-NULL: must be cleared */

	cfg = cfg_n(1);
	cfg.line_bytes = 48;
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	assert_null(c);
	cfg.line_bytes = 8;
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	cfg.line_bytes = 4096;
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	cfg = cfg_n(0);
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	cfg = cfg_n(S2CACHE_MAX_CPUS + 1);
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	cfg = cfg_n(1);
	cfg.pa_bits = 53;
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	cfg.pa_bits = 31;
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	cfg = cfg_n(1);
	cfg.zva_bytes = 100;
	assert_int_equal(s2cache_create(&cfg, &c), S2_EINVAL);
	assert_int_equal(s2cache_create(NULL, &c), S2_EINVAL);

	/* The extremes are accepted. */
	cfg = cfg_n(S2CACHE_MAX_CPUS);
	cfg.line_bytes = 16;
	c = mk(&cfg);
	done(c);
	cfg.line_bytes = 2048;
	c = mk(&cfg);
	done(c);
}

/* CTR_EL0 decoding takes DminLine (the larger of D/IminLine), IDC and DIC. */
static void test_config_from_ctr(void **state)
{
	struct s2cache_config cfg = cfg_n(1);
	(void)state;

	/* DminLine = 4 (64 B), IminLine = 4, IDC = 1, DIC = 0 */
	assert_int_equal(s2cache_config_from_ctr(&cfg, (4u << 16) | 4u | (1u << 28)), S2_OK);
	assert_int_equal(cfg.line_bytes, 64);
	assert_true(cfg.idc);
	assert_false(cfg.dic);
	/* DminLine = 5 (128 B), IminLine = 3 (32 B), DIC = 1 */
	assert_int_equal(s2cache_config_from_ctr(&cfg, (5u << 16) | 3u | (1u << 29)), S2_OK);
	assert_int_equal(cfg.line_bytes, 128);
	assert_false(cfg.idc);
	assert_true(cfg.dic);
	/* IminLine larger than DminLine sets the model's line. */
	assert_int_equal(s2cache_config_from_ctr(&cfg, (4u << 16) | 5u), S2_OK);
	assert_int_equal(cfg.line_bytes, 128);
	/* 4 KiB lines and 8-byte lines are outside 16..2048. */
	assert_int_equal(s2cache_config_from_ctr(&cfg, (10u << 16) | 4u), S2_EINVAL);
	assert_int_equal(s2cache_config_from_ctr(&cfg, (1u << 16) | 1u), S2_EINVAL);
}

/* Addresses beyond the PA space and unknown CPUs are errors. */
static void test_bad_arguments(void **state)
{
	struct s2cache *c = *state;
	uint64_t top = 1ull << 48, v = 0;
	uint32_t insn;

	assert_int_equal(s2cache_write(c, 0, s2_pa(top), &v, 8, true), S2_ERANGE);
	assert_int_equal(s2cache_write(c, 0, s2_pa(top - 4), &v, 8, true), S2_ERANGE);
	assert_int_equal(s2cache_read(c, 0, s2_pa(top), &v, 8, false, NULL), S2_ERANGE);
	assert_int_equal(s2cache_read(c, 0, s2_pa(UINT64_MAX - 3), &v, 8, false, NULL), S2_ERANGE);
	assert_int_equal(s2cache_fetch(c, 0, s2_pa(top), &insn, NULL), S2_ERANGE);
	assert_int_equal(s2cache_cmo(c, 0, S2CACHE_DC_CVAC, s2_pa(top - 64), 128), S2_ERANGE);
	assert_int_equal(s2cache_write(c, 2, s2_pa(0), &v, 8, true), S2_EINVAL);
	assert_int_equal(s2cache_read(c, 7, s2_pa(0), &v, 8, true, NULL), S2_EINVAL);
	assert_int_equal(s2cache_fetch(c, 0, s2_pa(2), &insn, NULL), S2_EINVAL);
	assert_int_equal(s2cache_cmo(c, 2, S2CACHE_IC_IALLU, s2_pa(0), 0), S2_EINVAL);
	assert_int_equal(s2cache_cmo(c, 0, S2CACHE_OP_COUNT, s2_pa(0), 64), S2_EINVAL);
	assert_int_equal(s2cache_evict(c, s2_pa(top)), S2_ERANGE);
	/* Nothing was allocated by the failed calls. */
	struct s2cache_stats st;
	s2cache_get_stats(c, &st);
	assert_int_equal(st.frames, 0);
}

/* The last bytes of a 48-bit and of a 52-bit PA space are usable. */
static void test_wide_pa(void **state)
{
	struct s2cache *c = *state;
	uint64_t pa = (1ull << 48) - 8;
	bool stale;

	wr64(c, 0, pa, 0x1122334455667788ull, true);
	wr64(c, 0, 0, 1, true);	/* far away from the top: a different frame */
	assert_int_equal(rd64(c, 1, pa, true, &stale), 0x1122334455667788ull);
	assert_false(stale);
	cmo(c, 0, S2CACHE_DC_CVAC, pa, 8);
	assert_int_equal(rd64(c, 1, pa, false, &stale), 0x1122334455667788ull);
	assert_false(stale);

	struct s2cache_config cfg = cfg_n(1);
	cfg.pa_bits = 52;
	struct s2cache *w = mk(&cfg);
	pa = (1ull << 52) - 8;
	wr64(w, 0, pa, 42, false);
	assert_int_equal(rd64(w, 0, pa, false, &stale), 42);
	done(w);
}

/* Memory is sparse: frames appear on first touch, and the model grows with
 * the lines touched, not with the address span nor with whole pages. */
static void test_sparse_memory(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_stats st0, st1, st2, st3;
	bool stale;

	s2cache_get_stats(c, &st0);
	assert_int_equal(st0.frames, 0);
	/* An untouched page reads as zero and stays untouched. */
	assert_int_equal(rd64(c, 0, 0x123456789000ull, false, &stale), 0);
	assert_false(stale);
	s2cache_get_stats(c, &st1);
	assert_int_equal(st1.frames, 0);

	for (unsigned i = 0; i < 16; i++)
		wr64(c, 0, (uint64_t)i << 40, i, true);
	s2cache_get_stats(c, &st1);
	assert_int_equal(st1.frames, 16);
	/* Writing again to the same lines adds nothing. */
	for (unsigned i = 0; i < 16; i++)
		wr64(c, 0, ((uint64_t)i << 40) + 8, i, true);
	s2cache_get_stats(c, &st2);
	assert_int_equal(st2.frames, 16);
	assert_int_equal(st2.bytes, st1.bytes);
	/* Per page alone in its 2M block: the block's table and a few lines,
	 * whatever the span (16 TiB here). */
	uint64_t per_page = (st1.bytes - st0.bytes) / 16;
	assert_true(per_page < 8 * PAGE);
	/* Another line of each page costs a line's state, not a page's. */
	for (unsigned i = 0; i < 16; i++)
		wr64(c, 0, ((uint64_t)i << 40) + 256, i, true);
	s2cache_get_stats(c, &st2);
	assert_int_equal(st2.frames, 16);
	assert_true(st2.bytes > st1.bytes);
	assert_true(st2.bytes - st1.bytes <= 16 * 1024);
	/* A neighbouring page in the same block costs less than 1 KiB. */
	for (unsigned i = 0; i < 16; i++)
		wr64(c, 0, ((uint64_t)i << 40) + PAGE, i, true);
	s2cache_get_stats(c, &st3);
	assert_int_equal(st3.frames, 32);
	assert_true(st3.bytes - st2.bytes <= 16 * 1024);
	assert_int_equal(s2cache_verify(c), 0);
}

/* ---- The CMOs at EL1 --------------------------------------------------- */

/* At EL1 under stage 2, DC IVAC is a clean and invalidate, and HCR_EL2.FB
 * broadcasts IC IALLU. */
static void test_op_at_el1(void **state)
{
	(void)state;
	assert_int_equal(s2cache_op_at_el1(S2CACHE_DC_IVAC, true, false), S2CACHE_DC_CIVAC);
	assert_int_equal(s2cache_op_at_el1(S2CACHE_DC_IVAC, false, false), S2CACHE_DC_IVAC);
	assert_int_equal(s2cache_op_at_el1(S2CACHE_IC_IALLU, true, true), S2CACHE_IC_IALLUIS);
	assert_int_equal(s2cache_op_at_el1(S2CACHE_IC_IALLU, true, false), S2CACHE_IC_IALLU);
	assert_int_equal(s2cache_op_at_el1(S2CACHE_DC_CVAC, true, true), S2CACHE_DC_CVAC);
	assert_string_equal(s2cache_op_name(S2CACHE_DC_CIVAC), "DC CIVAC");
	assert_string_equal(s2cache_op_name(S2CACHE_IC_IALLUIS), "IC IALLUIS");
	assert_string_equal(s2cache_op_name(S2CACHE_OP_COUNT), "?");
}

/* ---- One test per CMO -------------------------------------------------- */

/* DC CVAC writes a dirty line back and leaves it resident and clean. */
static void test_dc_cvac(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_line_info li;
	bool stale;

	wr64(c, 0, IMG, 7, true);
	assert_true(s2cache_nc_read_stale(c, s2_pa(IMG)));
	cmo(c, 0, S2CACHE_DC_CVAC, IMG, 8);
	assert_false(s2cache_nc_read_stale(c, s2_pa(IMG)));
	assert_int_equal(s2cache_line_info(c, s2_pa(IMG + 3), &li), S2_OK);
	assert_int_equal(s2_pa_get(li.line), IMG);
	assert_true(li.resident);
	assert_false(li.dirty);
	assert_int_equal(li.ver_mem, li.ver_latest);
	assert_int_equal(rd64(c, 1, IMG, false, &stale), 7);
	assert_false(stale);
	assert_int_equal(s2cache_lost_count(c), 0);
}

/* DC CIVAC writes a dirty line back and drops it. */
static void test_dc_civac(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_line_info li;
	bool stale;

	wr64(c, 0, IMG, 9, true);
	assert_int_equal(s2cache_resident_count(c), 1);
	cmo(c, 1, S2CACHE_DC_CIVAC, IMG, 1);
	assert_int_equal(s2cache_resident_count(c), 0);
	assert_int_equal(s2cache_line_info(c, s2_pa(IMG), &li), S2_OK);
	assert_false(li.resident);
	assert_int_equal(rd64(c, 1, IMG, false, &stale), 9);
	assert_false(stale);
	assert_int_equal(s2cache_lost_count(c), 0);
}

/* DC IVAC drops a clean line without loss, so a later cacheable read
 * refetches memory. */
static void test_dc_ivac_clean(void **state)
{
	struct s2cache *c = *state;
	bool stale;

	wr64(c, 0, IMG, 1, false);
	assert_int_equal(rd64(c, 0, IMG, true, &stale), 1);	/* line now resident, clean */
	wr64(c, 1, IMG, 2, false);
	assert_true(s2cache_dc_older_than_mem(c, s2_pa(IMG)));
	cmo(c, 0, S2CACHE_DC_IVAC, IMG, 64);
	assert_false(s2cache_dc_older_than_mem(c, s2_pa(IMG)));
	assert_int_equal(rd64(c, 0, IMG, true, &stale), 2);
	assert_false(stale);
	assert_int_equal(s2cache_lost_count(c), 0);
}

static unsigned lost_calls;
static struct s2cache_lost lost_seen;

static void on_lost(void *arg, const struct s2cache_lost *l)
{
	(void)arg;
	lost_calls++;
	lost_seen = *l;
}

/* Invalidating a dirty line without cleaning loses the write, and the model
 * says so: counter, record with both contents, callback, stale reads. */
static void test_dc_ivac_loses_dirty_write(void **state)
{
	struct s2cache_config cfg = cfg_n(2);
	struct s2cache_lost rec;
	uint64_t old = 0x1111, neu = 0x2222;
	bool stale;
	(void)state;

	cfg.on_lost = on_lost;
	lost_calls = 0;
	struct s2cache *c = mk(&cfg);
	wr64(c, 0, IMG + 8, old, false);
	wr64(c, 0, IMG + 8, neu, true);
	cmo(c, 1, S2CACHE_DC_IVAC, IMG, 64);

	assert_int_equal(s2cache_lost_count(c), 1);
	assert_int_equal(lost_calls, 1);
	assert_int_equal(s2cache_lost_get(c, 0, &rec), S2_OK);
	assert_int_equal(rec.kind, S2CACHE_LOST_DISCARD);
	assert_int_equal(rec.op, S2CACHE_DC_IVAC);
	assert_int_equal(rec.cpu, 1);
	assert_int_equal(s2_pa_get(rec.line), IMG);
	assert_int_equal(rec.lost_mask, 0xffull << 8);	/* bytes 8..15 */
	assert_memory_equal(rec.lost_bytes + 8, &neu, 8);
	assert_memory_equal(rec.kept_bytes + 8, &old, 8);
	assert_int_equal(lost_seen.seq, 0);
	assert_int_equal(s2cache_lost_get(c, 1, &rec), S2_ENOENT);

	/* Every later read sees the old value and is reported stale. */
	assert_int_equal(rd64(c, 0, IMG + 8, true, &stale), old);
	assert_true(stale);
	assert_int_equal(rd64(c, 0, IMG + 8, false, &stale), old);
	assert_true(stale);
	/* The untouched bytes of the same line are not. */
	assert_int_equal(rd64(c, 0, IMG, true, &stale), 0);
	assert_false(stale);

	/* A guest's DC IVAC under stage 2 is a CIVAC: nothing lost. */
	wr64(c, 0, IMG + 64, neu, true);
	cmo(c, 1, s2cache_op_at_el1(S2CACHE_DC_IVAC, true, false), IMG + 64, 64);
	assert_int_equal(s2cache_lost_count(c), 1);
	done(c);
}

/* DC CVAU with the PoU at the PoC is a clean to memory. */
static void test_dc_cvau_pou_is_poc(void **state)
{
	struct s2cache *c = *state;
	bool stale;

	wr64(c, 0, IMG, 5, true);
	cmo(c, 0, S2CACHE_DC_CVAU, IMG, 8);
	assert_int_equal(rd64(c, 1, IMG, false, &stale), 5);
	assert_false(stale);
	assert_int_equal(fetch(c, 1, IMG, &stale), 5);
	assert_false(stale);
}

/* DC CVAU with the PoU above the PoC makes a line visible to icache fills
 * but not to non-cacheable reads; DC CVAC then reaches memory. */
static void test_dc_cvau_pou_before_poc(void **state)
{
	struct s2cache_config cfg = cfg_n(2);
	struct s2cache_line_info li;
	bool stale;
	(void)state;

	cfg.pou_before_poc = true;
	struct s2cache *c = mk(&cfg);
	wr64(c, 0, IMG, 0xd503201f, true);	/* a NOP */
	assert_int_equal(fetch(c, 1, IMG, &stale), 0);
	assert_true(stale);
	cmo(c, 0, S2CACHE_DC_CVAU, IMG, 4);
	cmo(c, 0, S2CACHE_IC_IVAU, IMG, 4);
	assert_int_equal(fetch(c, 1, IMG, &stale), 0xd503201f);
	assert_false(stale);
	/* Still dirty to the PoC. */
	assert_int_equal(s2cache_line_info(c, s2_pa(IMG), &li), S2_OK);
	assert_true(li.dirty);
	assert_false(li.unclean_pou);
	assert_true(s2cache_nc_read_stale(c, s2_pa(IMG)));
	assert_int_equal(rd64(c, 1, IMG, false, &stale), 0);
	assert_true(stale);

	/* A later write is not at the PoU until the next DC CVAU: the PoU
	 * keeps the previous clean, not memory's copy. */
	uint32_t b = 0x14000000;	/* B . */
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG), &b, 4, true), S2_OK);
	assert_int_equal(s2cache_line_info(c, s2_pa(IMG), &li), S2_OK);
	assert_true(li.unclean_pou);
	cmo(c, 0, S2CACHE_IC_IVAU, IMG, 4);
	assert_int_equal(fetch(c, 1, IMG, &stale), 0xd503201f);
	assert_true(stale);
	assert_false(s2cache_ic_older_than_pou(c, 1, s2_pa(IMG)));

	cmo(c, 0, S2CACHE_DC_CVAC, IMG, 4);
	assert_int_equal(rd64(c, 1, IMG, false, &stale), 0x14000000);
	assert_false(stale);
	/* The icache still holds the NOP and now the PoU has better. */
	assert_true(s2cache_ic_older_than_pou(c, 1, s2_pa(IMG)));
	done(c);
}

/* DC ZVA zeroes one aligned block as a store, cacheable or not. */
static void test_dc_zva(void **state)
{
	struct s2cache *c = *state;
	uint8_t buf[128];
	bool stale;

	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG), buf, 128, false), S2_OK);
	assert_int_equal(s2cache_dc_zva(c, 0, s2_pa(IMG + 70), true), S2_OK);
	assert_int_equal(rd64(c, 0, IMG + 64, true, &stale), 0);
	assert_false(stale);
	assert_int_equal(rd64(c, 0, IMG + 120, true, &stale), 0);
	assert_int_equal(rd64(c, 0, IMG, true, &stale), 0xababababababababull);
	assert_false(stale);
	/* The zeroes are in the dcache only. */
	assert_int_equal(rd64(c, 1, IMG + 64, false, &stale), 0xababababababababull);
	assert_true(stale);
	/* The by-range form zeroes every block the range overlaps. */
	cmo(c, 0, S2CACHE_DC_ZVA, IMG + 10, 1);
	assert_int_equal(rd64(c, 0, IMG, true, &stale), 0);
	/* Non-cacheable: memory is zeroed, a resident line hides it. */
	wr64(c, 0, IMG + 256, 3, true);
	cmo(c, 0, S2CACHE_DC_CVAC, IMG + 256, 64);
	assert_int_equal(s2cache_dc_zva(c, 1, s2_pa(IMG + 256), false), S2_OK);
	assert_int_equal(rd64(c, 1, IMG + 256, false, &stale), 0);
	assert_false(stale);
	assert_int_equal(rd64(c, 0, IMG + 256, true, &stale), 3);
	assert_true(stale);
}

/* IC IVAU drops the line from every CPU's icache (broadcast). */
static void test_ic_ivau_broadcast(void **state)
{
	struct s2cache *c = *state;
	uint32_t insn = 0xd65f03c0;	/* RET */
	bool stale;

	fetch(c, 0, IMG, &stale);
	fetch(c, 1, IMG, &stale);
	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG), &insn, 4, true), S2_OK);
	cmo(c, HOST, S2CACHE_DC_CVAU, IMG, 4);
	assert_true(s2cache_ic_stale(c, 0, s2_pa(IMG)));
	assert_true(s2cache_ic_stale(c, 1, s2_pa(IMG)));
	cmo(c, HOST, S2CACHE_IC_IVAU, IMG, 4);
	assert_false(s2cache_ic_stale(c, 0, s2_pa(IMG)));
	assert_false(s2cache_ic_stale(c, 1, s2_pa(IMG)));
	assert_int_equal(fetch(c, 1, IMG, &stale), insn);
	assert_false(stale);
	assert_int_equal(fetch(c, 0, IMG, &stale), insn);
	assert_false(stale);
}

/* IC IALLU is local to one CPU; IC IALLUIS reaches every CPU. */
static void test_ic_iallu_local_vs_iallu_is(void **state)
{
	struct s2cache_config cfg = cfg_n(3);
	uint32_t insn = 0xd65f03c0;
	bool stale;
	(void)state;

	struct s2cache *c = mk(&cfg);
	for (unsigned cpu = 0; cpu < 3; cpu++) {
		fetch(c, cpu, IMG, &stale);
		fetch(c, cpu, IMG + 2 * PAGE, &stale);
	}
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG), &insn, 4, true), S2_OK);
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG + 2 * PAGE), &insn, 4, true), S2_OK);
	cmo(c, 0, S2CACHE_DC_CVAU, IMG, 3 * PAGE);

	cmo(c, 1, S2CACHE_IC_IALLU, 0, 0);
	assert_int_equal(fetch(c, 1, IMG + 2 * PAGE, &stale), insn);
	assert_false(stale);
	assert_int_equal(fetch(c, 0, IMG, &stale), 0);
	assert_true(stale);
	assert_int_equal(fetch(c, 2, IMG + 2 * PAGE, &stale), 0);
	assert_true(stale);

	cmo(c, 0, S2CACHE_IC_IALLUIS, 0, 0);
	for (unsigned cpu = 0; cpu < 3; cpu++) {
		assert_int_equal(fetch(c, cpu, IMG, &stale), insn);
		assert_false(stale);
		assert_int_equal(fetch(c, cpu, IMG + 2 * PAGE, &stale), insn);
		assert_false(stale);
	}
	/* HCR_EL2.FB turns a guest's IALLU into the broadcast form. */
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG), &insn, 2, true), S2_OK);
	cmo(c, 0, S2CACHE_DC_CVAU, IMG, 4);
	cmo(c, 2, s2cache_op_at_el1(S2CACHE_IC_IALLU, true, true), 0, 0);
	for (unsigned cpu = 0; cpu < 3; cpu++)
		assert_false(s2cache_ic_stale(c, cpu, s2_pa(IMG)));
	done(c);
}

/* ---- Feature bits ------------------------------------------------------ */

/* IDC: icache fills see the dcache, so no DC CVAU is needed; the icache
 * still keeps what it holds until invalidated. */
static void test_idc(void **state)
{
	struct s2cache_config cfg = cfg_n(2);
	uint32_t insn = 0xd503201f;
	struct s2cache_summary s;
	bool stale;
	(void)state;

	cfg.idc = true;
	struct s2cache *c = mk(&cfg);
	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG), &insn, 4, true), S2_OK);
	assert_int_equal(fetch(c, GUEST, IMG, &stale), insn);
	assert_false(stale);
	assert_int_equal(s2cache_summarize(c, s2_pa(IMG), PAGE, &s), S2_OK);
	assert_int_equal(s.unclean_pou, 0);
	assert_int_equal(s.dirty, 1);
	/* A new write is not fetched until IC IVAU, but needs no DC CVAU. */
	insn = 0x14000000;
	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG), &insn, 4, true), S2_OK);
	fetch(c, GUEST, IMG, &stale);
	assert_true(stale);
	cmo(c, HOST, S2CACHE_IC_IVAU, IMG, 4);
	assert_int_equal(fetch(c, GUEST, IMG, &stale), insn);
	assert_false(stale);
	done(c);
}

/* DIC: icaches are coherent with the PoU, no IC IVAU is needed; without
 * IDC the dcache must still be cleaned to the PoU. */
static void test_dic(void **state)
{
	struct s2cache_config cfg = cfg_n(2);
	uint32_t insn = 0xd503201f;
	bool stale;
	(void)state;

	cfg.dic = true;
	struct s2cache *c = mk(&cfg);
	fetch(c, GUEST, IMG, &stale);
	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG), &insn, 4, true), S2_OK);
	assert_int_equal(fetch(c, GUEST, IMG, &stale), 0);
	assert_true(stale);
	cmo(c, HOST, S2CACHE_DC_CVAU, IMG, 4);
	assert_int_equal(fetch(c, GUEST, IMG, &stale), insn);
	assert_false(stale);
	assert_false(s2cache_ic_stale(c, GUEST, s2_pa(IMG)));
	done(c);

	/* DIC and IDC together: fully coherent, no CMO at all. */
	cfg.idc = true;
	c = mk(&cfg);
	fetch(c, GUEST, IMG, &stale);
	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG), &insn, 4, true), S2_OK);
	assert_int_equal(fetch(c, GUEST, IMG, &stale), insn);
	assert_false(stale);
	done(c);
}

/* ---- Scenarios --------------------------------------------------------- */

/* Host loads an image with cacheable stores, guest with its MMU off reads
 * it: stale without a clean to PoC, fresh with DC CVAC or CIVAC, and fresh
 * with FWB because the guest's reads become cacheable. */
static void test_image_load_guest_mmu_off(void **state)
{
	struct s2cache *c = *state;
	bool cacheable = s2arm_cacheable(S2ARM_MT_NORMAL_WB, false, false);

	assert_false(cacheable);
	host_writes_image(c, IMG, 1);
	assert_true(guest_nc_read_page_stale(c, IMG));

	host_writes_image(c, IMG + PAGE, 2);
	cmo(c, HOST, S2CACHE_DC_CVAC, IMG + PAGE, PAGE);
	assert_false(guest_nc_read_page_stale(c, IMG + PAGE));

	host_writes_image(c, IMG + 2 * PAGE, 3);
	cmo(c, HOST, S2CACHE_DC_CIVAC, IMG + 2 * PAGE, PAGE);
	assert_false(guest_nc_read_page_stale(c, IMG + 2 * PAGE));

	/* Cleaning half the page is not enough. */
	host_writes_image(c, IMG + 3 * PAGE, 4);
	cmo(c, HOST, S2CACHE_DC_CVAC, IMG + 3 * PAGE, PAGE / 2);
	assert_true(guest_nc_read_page_stale(c, IMG + 3 * PAGE));

	/* FWB: the same stage-2 mapping is cacheable for a guest with MMU off. */
	host_writes_image(c, IMG + 4 * PAGE, 5);
	cacheable = s2arm_cacheable(S2ARM_MT_NORMAL_WB, false, true);
	assert_true(cacheable);
	uint8_t buf[PAGE];
	struct s2cache_check chk;
	assert_int_equal(s2cache_read(c, GUEST, s2_pa(IMG + 4 * PAGE), buf, PAGE, cacheable,
				      &chk), S2_OK);
	assert_false(chk.stale);
	assert_int_equal(buf[1], (uint8_t)(5 + 7));
}

/* Guest with its MMU off writes, host reads cacheable: a clean line left
 * from before hides the write until DC IVAC or CIVAC. */
static void test_guest_mmu_off_write_host_reads(void **state)
{
	struct s2cache *c = *state;
	bool stale;

	for (unsigned i = 0; i < 2; i++) {
		uint64_t pa = IMG + i * 64;
		wr64(c, HOST, pa, 100, true);
		cmo(c, HOST, S2CACHE_DC_CVAC, pa, 64);	/* host did clean; line stays */
		wr64(c, GUEST, pa, 200, false);
		assert_true(s2cache_dc_older_than_mem(c, s2_pa(pa)));
		assert_true(s2cache_cached_read_stale(c, s2_pa(pa)));
		assert_int_equal(rd64(c, HOST, pa, true, &stale), 100);
		assert_true(stale);
		cmo(c, HOST, i ? S2CACHE_DC_CIVAC : S2CACHE_DC_IVAC, pa, 64);
		assert_int_equal(rd64(c, HOST, pa, true, &stale), 200);
		assert_false(stale);
	}
	assert_int_equal(s2cache_lost_count(c), 0);
}

/* A dirty line written back over a newer non-cacheable write clobbers it,
 * and the model records the loss. */
static void test_writeback_clobbers_nc_write(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_lost rec;
	bool stale;

	wr64(c, HOST, IMG, 1, true);	/* dirty, never cleaned */
	wr64(c, GUEST, IMG + 8, 2, false);	/* guest, MMU off */
	assert_int_equal(rd64(c, GUEST, IMG + 8, false, &stale), 2);
	assert_false(stale);
	assert_int_equal(s2cache_evict(c, s2_pa(IMG)), S2_OK);
	assert_int_equal(rd64(c, GUEST, IMG + 8, false, &stale), 0);
	assert_true(stale);
	assert_int_equal(s2cache_lost_count(c), 1);
	assert_int_equal(s2cache_lost_get(c, 0, &rec), S2_OK);
	assert_int_equal(rec.kind, S2CACHE_LOST_CLOBBER);
	assert_int_equal(rec.op, S2CACHE_EVICT);
	assert_int_equal(rec.cpu, S2CACHE_NO_CPU);
	assert_int_equal(rec.lost_mask, 0xffull << 8);
	assert_int_equal(rec.lost_bytes[8], 2);
	assert_int_equal(rec.kept_bytes[0], 1);
}

/* Code written through the dcache and fetched: stale without DC CVAU and
 * IC IVAU, stale with only one of them, fresh with both in order. */
static void test_code_load_needs_cvau_and_ivau(void **state)
{
	struct s2cache *c = *state;
	uint32_t insn[4] = { 0xd503201f, 0xd503201f, 0x14000000, 0xd65f03c0 };
	bool stale;

	/* The guest ran old code here: its icache holds the line. */
	assert_int_equal(fetch(c, GUEST, IMG, &stale), 0);
	assert_false(stale);

	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG), insn, sizeof(insn), true), S2_OK);
	assert_int_equal(fetch(c, GUEST, IMG, &stale), 0);
	assert_true(stale);

	/* IC IVAU alone: the refill reads a PoU that does not have the code. */
	cmo(c, HOST, S2CACHE_IC_IVAU, IMG, sizeof(insn));
	assert_int_equal(fetch(c, GUEST, IMG + 8, &stale), 0);
	assert_true(stale);
	assert_false(s2cache_ic_older_than_pou(c, GUEST, s2_pa(IMG)));

	/* DC CVAU alone: the icache keeps its stale line. */
	cmo(c, HOST, S2CACHE_DC_CVAU, IMG, sizeof(insn));
	assert_true(s2cache_ic_older_than_pou(c, GUEST, s2_pa(IMG)));
	assert_int_equal(fetch(c, GUEST, IMG + 8, &stale), 0);
	assert_true(stale);

	/* Both, in order. */
	cmo(c, HOST, S2CACHE_IC_IVAU, IMG, sizeof(insn));
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fetch(c, GUEST, IMG + 4 * i, &stale), insn[i]);
		assert_false(stale);
	}
}

/* The fetch check carries the fresh instruction next to the stale one. */
static void test_fetch_check_shows_fresh_bytes(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_check chk;
	uint32_t insn = 0xd65f03c0, got = 1;

	assert_int_equal(s2cache_fetch(c, GUEST, s2_pa(IMG + 4), &got, NULL), S2_OK);
	assert_int_equal(s2cache_write(c, HOST, s2_pa(IMG + 4), &insn, 4, true), S2_OK);
	assert_int_equal(s2cache_fetch(c, GUEST, s2_pa(IMG + 4), &got, &chk), S2_OK);
	assert_true(chk.stale);
	assert_int_equal(got, 0);
	assert_int_equal(chk.fresh_len, 4);
	assert_memory_equal(chk.fresh, &insn, 4);
	assert_int_equal(chk.stale_off, 0);
	assert_int_equal(s2_pa_get(chk.stale_line), IMG);
	assert_true(chk.ver_returned < chk.ver_latest);
}

/* ---- Eviction ---------------------------------------------------------- */

/* Lines never leave the dcache unless the caller evicts them; evicting a
 * chosen line writes it back. */
static void test_eviction_only_when_asked(void **state)
{
	struct s2cache *c = *state;
	s2_pa_t line;
	bool stale;

	/* Far more data than any real cache holds. */
	for (uint64_t i = 0; i < 4096; i++)
		wr64(c, HOST, IMG + i * 64, i + 1, true);
	assert_int_equal(s2cache_resident_count(c), 4096);
	for (uint64_t i = 0; i < 4096; i += 97)
		assert_true(s2cache_nc_read_stale(c, s2_pa(IMG + i * 64)));

	/* Evict the 10th resident line. */
	assert_int_equal(s2cache_resident_line(c, 10, &line), S2_OK);
	uint64_t i10 = (s2_pa_get(line) - IMG) / 64;
	assert_int_equal(s2cache_evict_kth(c, 10), S2_OK);
	assert_int_equal(s2cache_resident_count(c), 4095);
	assert_int_equal(rd64(c, GUEST, s2_pa_get(line), false, &stale), i10 + 1);
	assert_false(stale);

	/* Evict by address; a second eviction finds nothing. */
	assert_int_equal(s2cache_evict(c, s2_pa(IMG + 64 * 3 + 5)), S2_OK);
	assert_int_equal(s2cache_evict(c, s2_pa(IMG + 64 * 3)), S2_ENOENT);
	assert_int_equal(s2cache_evict(c, s2_pa(0x1000)), S2_ENOENT);
	assert_int_equal(s2cache_resident_count(c), 4094);
	assert_int_equal(rd64(c, GUEST, IMG + 64 * 3, false, &stale), 4);
	assert_false(stale);

	/* Every resident line can be enumerated and evicted. */
	while (s2cache_resident_count(c))
		assert_int_equal(s2cache_evict_kth(c, s2cache_resident_count(c) - 1), S2_OK);
	assert_int_equal(s2cache_evict_kth(c, 0), S2_ENOENT);
	assert_int_equal(s2cache_resident_line(c, 0, &line), S2_ENOENT);
	for (uint64_t i = 0; i < 4096; i += 97) {
		assert_int_equal(rd64(c, GUEST, IMG + i * 64, false, &stale), i + 1);
		assert_false(stale);
	}
	assert_int_equal(s2cache_lost_count(c), 0);
}

/* ---- Summaries and checks ----------------------------------------------- */

/* Per-page and per-2M counters answer range questions and follow CMOs. */
static void test_summaries(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_summary s;
	const uint64_t blk = 0x40000000ull, M2 = 2u << 20;
	bool stale;

	/* 3 dirty lines in page 0, 1 in page 5, 1 in the next 2M block. */
	wr64(c, 0, blk, 1, true);
	wr64(c, 0, blk + 64, 1, true);
	wr64(c, 0, blk + 200, 1, true);
	wr64(c, 0, blk + 5 * PAGE + 8, 1, true);
	wr64(c, 0, blk + M2, 1, true);

	assert_int_equal(s2cache_summarize(c, s2_pa(blk), PAGE, &s), S2_OK);
	assert_int_equal(s.dirty, 3);
	assert_int_equal(s.unclean_pou, 3);
	assert_int_equal(s.resident, 3);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), M2, &s), S2_OK);
	assert_int_equal(s.dirty, 4);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), 2 * M2, &s), S2_OK);
	assert_int_equal(s.dirty, 5);
	/* Partial pages count the lines they overlap. */
	assert_int_equal(s2cache_summarize(c, s2_pa(blk + 60), 8, &s), S2_OK);
	assert_int_equal(s.dirty, 2);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk + 128), M2, &s), S2_OK);
	assert_int_equal(s.dirty, 3);

	/* PoU == PoC here: DC CVAU is a clean to memory. */
	cmo(c, 0, S2CACHE_DC_CVAU, blk, PAGE);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), M2, &s), S2_OK);
	assert_int_equal(s.dirty, 1);
	assert_int_equal(s.unclean_pou, 1);
	cmo(c, 0, S2CACHE_DC_CIVAC, blk, 2 * M2);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), 2 * M2, &s), S2_OK);
	assert_int_equal(s.dirty, 0);
	assert_int_equal(s.resident, 0);

	/* Stale icache lines are counted per CPU and line. */
	fetch(c, 0, blk, &stale);
	fetch(c, 1, blk, &stale);
	fetch(c, 1, blk + 64, &stale);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), PAGE, &s), S2_OK);
	assert_int_equal(s.stale_icache, 0);
	wr64(c, 0, blk, 9, false);
	wr64(c, 0, blk + 64, 9, false);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), M2, &s), S2_OK);
	assert_int_equal(s.stale_icache, 3);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk + 64), 4, &s), S2_OK);
	assert_int_equal(s.stale_icache, 1);
	cmo(c, 0, S2CACHE_IC_IALLU, 0, 0);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), M2, &s), S2_OK);
	assert_int_equal(s.stale_icache, 2);
	cmo(c, 0, S2CACHE_IC_IVAU, blk, 128);
	assert_int_equal(s2cache_summarize(c, s2_pa(blk), M2, &s), S2_OK);
	assert_int_equal(s.stale_icache, 0);
}

/* Accesses span lines and pages; the check points at the first stale byte. */
static void test_spanning_access(void **state)
{
	struct s2cache *c = *state;
	uint8_t src[300], dst[300];
	struct s2cache_check chk;
	uint64_t pa = IMG + PAGE - 100;

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 3 + 1);
	assert_int_equal(s2cache_write(c, 0, s2_pa(pa), src, sizeof(src), false), S2_OK);
	assert_int_equal(s2cache_read(c, 1, s2_pa(pa), dst, sizeof(dst), true, &chk), S2_OK);
	assert_memory_equal(src, dst, sizeof(src));
	assert_false(chk.stale);

	/* Bytes 150..151 of the access change in memory only: the cached
	 * copy is stale there and nowhere else. */
	assert_int_equal(s2cache_write(c, 0, s2_pa(pa + 150), "xy", 2, false), S2_OK);
	assert_int_equal(s2cache_read(c, 1, s2_pa(pa), dst, sizeof(dst), true, &chk), S2_OK);
	assert_true(chk.stale);
	assert_int_equal(chk.stale_off, 150);
	assert_int_equal(s2_pa_get(chk.stale_line), (pa + 150) & ~63ull);
	assert_int_equal(chk.fresh_len, S2CACHE_CHECK_BYTES);
	assert_memory_equal(dst, src, sizeof(src));
	/* Reading around the stale bytes is fresh. */
	assert_int_equal(s2cache_read(c, 1, s2_pa(pa), dst, 150, true, &chk), S2_OK);
	assert_false(chk.stale);
	assert_int_equal(s2cache_read(c, 1, s2_pa(pa + 152), dst, 100, true, &chk), S2_OK);
	assert_false(chk.stale);
}

/* The versions-only path (NULL buffers) tracks staleness like the full one. */
static void test_versions_only(void **state)
{
	struct s2cache *c = *state;
	struct s2cache_check chk;

	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG), NULL, 8, true), S2_OK);
	assert_int_equal(s2cache_read(c, 1, s2_pa(IMG), NULL, 8, false, &chk), S2_OK);
	assert_true(chk.stale);
	assert_int_equal(s2cache_read(c, 1, s2_pa(IMG), NULL, 8, true, &chk), S2_OK);
	assert_false(chk.stale);
	cmo(c, 0, S2CACHE_DC_CVAC, IMG, 8);
	assert_int_equal(s2cache_read(c, 1, s2_pa(IMG), NULL, 8, false, &chk), S2_OK);
	assert_false(chk.stale);
	assert_int_equal(s2cache_lost_count(c), 0);
}

/* With lines longer than 64 bytes staleness is tracked per granule: a
 * partial write to a granule keeps other copies conservative. */
static void test_wide_lines_granules(void **state)
{
	struct s2cache_config cfg = cfg_n(1);
	struct s2cache_check chk;
	struct s2cache_line_info li;
	uint8_t b = 5;
	(void)state;

	cfg.line_bytes = 256;	/* granule = 4 bytes */
	struct s2cache *c = mk(&cfg);
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG + 9), &b, 1, true), S2_OK);
	assert_int_equal(s2cache_line_info(c, s2_pa(IMG), &li), S2_OK);
	assert_int_equal(li.stale_mem, 1ull << 2);
	assert_int_equal(li.stale_dc, 0);
	assert_int_equal(s2cache_read(c, 0, s2_pa(IMG + 8), NULL, 4, false, &chk), S2_OK);
	assert_true(chk.stale);
	assert_int_equal(s2cache_read(c, 0, s2_pa(IMG + 12), NULL, 4, false, &chk), S2_OK);
	assert_false(chk.stale);
	/* A non-cacheable write to part of the granule does not make memory
	 * fresh there: byte 9 is still only in the dcache. */
	assert_int_equal(s2cache_write(c, 0, s2_pa(IMG + 8), &b, 1, false), S2_OK);
	assert_int_equal(s2cache_line_info(c, s2_pa(IMG), &li), S2_OK);
	assert_int_equal(li.stale_mem, 1ull << 2);
	assert_int_equal(li.stale_dc, 1ull << 2);
	done(c);
}

/* Peek shows each level without changing any. */
static void test_peek_views(void **state)
{
	struct s2cache *c = *state;
	uint64_t v;
	struct s2cache_stats st0, st1;

	wr64(c, 0, IMG, 1, false);
	fetch(c, 1, IMG, &(bool){ false });
	wr64(c, 0, IMG, 2, true);
	s2cache_get_stats(c, &st0);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(IMG), &v, 8), S2_OK);
	assert_int_equal(v, 2);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_DCACHE, 0, s2_pa(IMG), &v, 8), S2_OK);
	assert_int_equal(v, 2);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_MEM, 0, s2_pa(IMG), &v, 8), S2_OK);
	assert_int_equal(v, 1);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_POU, 0, s2_pa(IMG), &v, 8), S2_OK);
	assert_int_equal(v, 1);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_ICACHE, 1, s2_pa(IMG), &v, 8), S2_OK);
	assert_int_equal(v, 1);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_MEM, 0, s2_pa(0x7000000), &v, 8), S2_OK);
	assert_int_equal(v, 0);
	assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_MEM, 9, s2_pa(IMG), &v, 8), S2_EINVAL);
	s2cache_get_stats(c, &st1);
	assert_memory_equal(&st0, &st1, sizeof(st0));
}

/* Many models in one process do not share anything. */
static void test_independent_models(void **state)
{
	struct s2cache_config cfg = cfg_n(1);
	struct s2cache *a = mk(&cfg), *b = mk(&cfg);
	bool stale;
	(void)state;

	wr64(a, 0, IMG, 1, true);
	assert_int_equal(rd64(b, 0, IMG, false, &stale), 0);
	assert_false(stale);
	assert_int_equal(s2cache_resident_count(b), 0);
	done(a);
	assert_int_equal(rd64(b, 0, IMG, true, &stale), 0);
	done(b);
}

/* A reset model is a new one: memory reads zero, nothing resident, no
 * icache line, no lost write, version 0, and it works again after. */
static void test_reset_is_a_new_model(void **state)
{
	struct s2cache_config cfg = cfg_n(2);
	struct s2cache *c = mk(&cfg);
	struct s2cache_stats st;
	uint32_t insn;
	bool stale;
	(void)state;

	for (unsigned i = 0; i < 64; i++)
		wr64(c, HOST, IMG + i * 520, i + 1, true);
	assert_int_equal(s2cache_cmo(c, HOST, S2CACHE_DC_CVAC, s2_pa(IMG), 4096), 0);
	assert_int_equal(s2cache_fetch(c, GUEST, s2_pa(IMG), &insn, NULL), 0);
	wr64(c, HOST, IMG + 8, 7, true);
	assert_int_equal(s2cache_cmo(c, HOST, S2CACHE_DC_IVAC, s2_pa(IMG), 64), 0);
	assert_int_equal(s2cache_lost_count(c), 1);

	struct s2cache_config other = cfg;
	other.line_bytes = 128;
	assert_int_equal(s2cache_reset(c, &other), S2_EINVAL);
	assert_int_equal(s2cache_lost_count(c), 1);	/* refused: unchanged */
	assert_int_equal(s2cache_reset(c, &cfg), 0);
	assert_int_equal(s2cache_verify(c), 0);
	s2cache_get_stats(c, &st);
	assert_int_equal(st.frames, 0);
	assert_int_equal(st.resident, 0);
	assert_int_equal(st.dirty, 0);
	assert_int_equal(st.version, 0);
	assert_int_equal(s2cache_lost_count(c), 0);
	assert_false(s2cache_ic_stale(c, GUEST, s2_pa(IMG)));
	assert_int_equal(rd64(c, HOST, IMG + 520, false, &stale), 0);
	assert_false(stale);
	/* And it models again. */
	wr64(c, HOST, IMG, 5, true);
	assert_true(s2cache_nc_read_stale(c, s2_pa(IMG)));
	assert_int_equal(rd64(c, GUEST, IMG, true, &stale), 5);
	assert_int_equal(s2cache_verify(c), 0);
	done(c);
}

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Random accesses, CMOs and evictions under every configuration keep the
 * invariants, the model's latest bytes match a shadow of every write, and
 * an access not reported stale returned the latest bytes. */
static void test_random_ops_keep_invariants(void **state)
{
	static const struct { unsigned line; bool pou_before_poc, idc, dic; } cfgs[] = {
		{ 64, false, false, false }, { 64, true, false, false },
		{ 64, false, true, false }, { 64, false, false, true },
		{ 256, false, false, false }, { 128, true, false, false },
		{ 16, false, false, false }, { 2048, true, true, false },
	};
	static const enum s2cache_op ops[] = {
		S2CACHE_DC_CIVAC, S2CACHE_DC_CVAC, S2CACHE_DC_IVAC, S2CACHE_DC_CVAU,
		S2CACHE_DC_ZVA, S2CACHE_IC_IVAU, S2CACHE_IC_IALLU, S2CACHE_IC_IALLUIS,
		S2CACHE_EVICT,
	};
	const uint64_t base = IMG + PAGE - 512;	/* straddles a page boundary */
	(void)state;

	for (unsigned k = 0; k < sizeof(cfgs) / sizeof(cfgs[0]); k++) {
		struct s2cache_config cfg = cfg_n(3);
		uint64_t seed = 0x243F6A8885A308D3ull + k;
		uint8_t shadow[2048] = { 0 }, model[2048];	/* from base */
		unsigned stale_reads = 0, lost_before = 0;

		cfg.line_bytes = cfgs[k].line;
		cfg.pou_before_poc = cfgs[k].pou_before_poc;
		cfg.idc = cfgs[k].idc;
		cfg.dic = cfgs[k].dic;
		struct s2cache *c = mk(&cfg);
		for (unsigned step = 0; step < 4000; step++) {
			uint64_t r = xs(&seed);
			unsigned cpu = (unsigned)(r >> 8) % 3;
			uint64_t pa = base + (r >> 16) % 1024;
			size_t n = 1 + (size_t)((r >> 32) % 40);
			uint8_t buf[40], fresh[40];
			struct s2cache_check chk;

			switch (r % 8) {
			case 0:
			case 1:
				for (size_t i = 0; i < n; i++)
					buf[i] = (uint8_t)xs(&seed);
				assert_int_equal(s2cache_write(c, cpu, s2_pa(pa), buf, n, r & 64), S2_OK);
				memcpy(shadow + (pa - base), buf, n);
				break;
			case 2:
			case 3:
				assert_int_equal(s2cache_read(c, cpu, s2_pa(pa), buf, n, r & 64, &chk),
						 S2_OK);
				assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(pa), fresh, n),
						 S2_OK);
				if (!chk.stale) {
					assert_memory_equal(buf, fresh, n);
				} else {
					stale_reads++;
					assert_true(chk.stale_off < n);
					assert_memory_equal(chk.fresh, fresh, chk.fresh_len);
				}
				break;
			case 4: {
				uint32_t insn;
				pa &= ~3ull;
				assert_int_equal(s2cache_fetch(c, cpu, s2_pa(pa), &insn, &chk), S2_OK);
				assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(pa), fresh, 4),
						 S2_OK);
				if (!chk.stale)
					assert_memory_equal(&insn, fresh, 4);
				break;
			}
			case 5:
			case 6: {
				enum s2cache_op op = ops[(r >> 40) % (sizeof(ops) / sizeof(ops[0]))];
				uint64_t size = (r >> 48) % 300;
				cmo(c, cpu, op, pa, size);
				if (op == S2CACHE_DC_ZVA && size)
					for (uint64_t z = pa & ~63ull; z < pa + size; z += 64)
						memset(shadow + (z - base), 0, 64);
				break;
			}
			default:
				if (s2cache_resident_count(c))
					assert_int_equal(s2cache_evict_kth(c, (size_t)(r >> 20) %
									     s2cache_resident_count(c)),
							 S2_OK);
				break;
			}
			assert_int_equal(s2cache_verify(c), S2_OK);
			assert_int_equal(s2cache_peek(c, S2CACHE_VIEW_FRESH, 0, s2_pa(base), model,
						      sizeof(model)), S2_OK);
			assert_memory_equal(model, shadow, sizeof(model));
			assert_true(s2cache_lost_count(c) >= lost_before);
			lost_before = (unsigned)s2cache_lost_count(c);
		}
		/* The run did exercise staleness and losses. */
		assert_true(stale_reads > 0);
		assert_true(s2cache_lost_count(c) > 0);
		done(c);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup2, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_config_from_ctr),
		T(test_bad_arguments),
		T(test_wide_pa),
		T(test_sparse_memory),
		cmocka_unit_test(test_op_at_el1),
		T(test_dc_cvac),
		T(test_dc_civac),
		T(test_dc_ivac_clean),
		cmocka_unit_test(test_dc_ivac_loses_dirty_write),
		T(test_dc_cvau_pou_is_poc),
		cmocka_unit_test(test_dc_cvau_pou_before_poc),
		T(test_dc_zva),
		T(test_ic_ivau_broadcast),
		cmocka_unit_test(test_ic_iallu_local_vs_iallu_is),
		cmocka_unit_test(test_idc),
		cmocka_unit_test(test_dic),
		T(test_image_load_guest_mmu_off),
		T(test_guest_mmu_off_write_host_reads),
		T(test_writeback_clobbers_nc_write),
		T(test_code_load_needs_cvau_and_ivau),
		T(test_fetch_check_shows_fresh_bytes),
		T(test_eviction_only_when_asked),
		T(test_summaries),
		T(test_spanning_access),
		T(test_versions_only),
		cmocka_unit_test(test_wide_lines_granules),
		T(test_peek_views),
		cmocka_unit_test(test_independent_models),
		cmocka_unit_test(test_reset_is_a_new_model),
		cmocka_unit_test(test_random_ops_keep_invariants),
	};
#undef T
	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
