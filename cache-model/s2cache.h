/* s2cache: memory at the Point of Coherency, one coherent write-back data
 * cache and per-CPU instruction caches, with the Arm cache maintenance
 * instructions (CMOs), so that the checker can tell when a guest would see
 * stale data or execute stale instructions.
 *
 * Every copy of a cache line (memory, the dcache line, the PoU copy, each
 * CPU's icache line) carries the version of the newest write it reflects and
 * a mask of the granules where it lacks the latest write. A write stamps a
 * new version and marks the granules it touched stale in every other copy,
 * so "is this copy stale?" is one AND, never a byte comparison. The bytes
 * are kept too, and the latest value of every byte stays retrievable even
 * after a lost write, so that a report can show what was returned and what
 * should have been.
 *
 * A granule is max(1, line_bytes / 64) bytes: byte-exact for 64-byte lines.
 *
 * Nothing happens behind the caller's back: lines are filled by accesses and
 * leave the dcache only by a CMO or by an eviction the caller chose.
 * All state is behind the handle; every call on one handle must come from
 * one thread at a time.
 *
 * Errors are negative enum s2_err values; bad input never aborts.
 */
#ifndef S2CACHE_H
#define S2CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/s2arm.h"
#include "common/s2_types.h"

#define S2CACHE_MAX_CPUS	64	/* icache holders are one 64-bit mask per line */
#define S2CACHE_PAGE_SIZE	4096u	/* allocation unit of the sparse memory */
#define S2CACHE_CHECK_BYTES	64	/* fresh bytes an access check carries */
#define S2CACHE_LOST_LOG	16	/* lost-write records kept for queries */
#define S2CACHE_NO_CPU		(~0u)	/* the cpu of a loss caused by an eviction */

struct s2cache;
struct s2cache_lost;

/*
 * Configuration. s2cache_config_init() gives the defaults: 1 CPU, 48-bit PA,
 * 64-byte lines, 64-byte DC ZVA blocks, IDC = DIC = 0, PoU == PoC.
 */
struct s2cache_config {
	unsigned ncpus;		/* 1..S2CACHE_MAX_CPUS */
	unsigned pa_bits;	/* 32..52 */
	unsigned line_bytes;	/* dcache and icache line, power of two, 16..2048 */
	unsigned zva_bytes;	/* DC ZVA block (DCZID_EL0.BS), power of two, 16..2048 */
	bool idc;		/* CTR_EL0.IDC: icache fills see the dcache, no DC CVAU needed */
	bool dic;		/* CTR_EL0.DIC: icaches coherent with the PoU, no IC IVAU needed */
	/*
	 * The PoU is a cache level above the PoC (a unified L2 with a system
	 * cache as PoC): DC CVAU then makes a line visible to icache fills but
	 * not to non-cacheable reads. When false, PoU and PoC are one level.
	 */
	bool pou_before_poc;
	/* Called synchronously on every lost write (see struct s2cache_lost). */
	void (*on_lost)(void *arg, const struct s2cache_lost *lost);
	void *on_lost_arg;
};

void s2cache_config_init(struct s2cache_config *cfg);
/*
 * Take line size, IDC and DIC from a CTR_EL0 value. The model has one line
 * size for both caches: the larger of DminLine and IminLine, because code
 * that strides by the real line size must not leave model lines untouched.
 * -EINVAL when the line size is outside 16..2048.
 */
int s2cache_config_from_ctr(struct s2cache_config *cfg, uint64_t ctr_el0);

/* -EINVAL on a bad configuration, -ENOMEM; *out is NULL on error. */
int s2cache_create(const struct s2cache_config *cfg, struct s2cache **out);
void s2cache_destroy(struct s2cache *c);
/*
 * Back to the state s2cache_create(cfg) gives: every line untouched, no
 * lost write, version 0. The 2 MiB block tables stay allocated for the next
 * use, so a model reset between short runs over the same memory does not
 * allocate and zero them again. -EINVAL, with c unchanged, when cfg is not
 * the configuration c was created with.
 */
int s2cache_reset(struct s2cache *c, const struct s2cache_config *cfg);

/* Memory types and how stage 1 and stage 2 combine them are Arm's, not the
 * cache model's: arch/s2arm.h (s2arm_mt_combine, s2arm_cacheable). An
 * access here is told only whether it is cacheable. */

/* ---- Accesses --------------------------------------------------------- */

/*
 * What an access returned compared with the latest writes. Filled when a
 * check is passed; the fields after `stale` are meaningful only when stale.
 */
struct s2cache_check {
	bool stale;		/* some byte returned is older than the latest write to it */
	uint32_t stale_off;	/* offset in the access of the first such byte (granule precision) */
	s2_pa_t stale_line;	/* the line that byte is in */
	uint64_t ver_returned;	/* version of the copy that returned it */
	uint64_t ver_latest;	/* latest write to that line */
	uint32_t fresh_len;	/* min(access size, S2CACHE_CHECK_BYTES) */
	uint8_t fresh[S2CACHE_CHECK_BYTES]; /* latest-written bytes from the start of the access */
};

/*
 * Byte-granular accesses of any size, spanning lines and pages. Cacheable
 * ones go through the dcache (a miss fills the line from memory);
 * non-cacheable ones go to memory and ignore the dcache. `cpu` is checked
 * and recorded; the dcache itself is shared by all CPUs.
 * buf may be NULL: the versions-only fast path, which updates versions and
 * masks but no bytes (a NULL write stores the bytes already there).
 * -EINVAL for a bad cpu, -ERANGE beyond the PA space, -ENOMEM.
 */
int s2cache_read(struct s2cache *c, unsigned cpu, s2_pa_t pa, void *buf,
		 size_t n, bool cacheable, struct s2cache_check *chk);
int s2cache_write(struct s2cache *c, unsigned cpu, s2_pa_t pa, const void *buf,
		  size_t n, bool cacheable);

/*
 * Fetch one A64 instruction (4 bytes, little-endian, pa 4-aligned) for
 * `cpu`: from its icache, filling the line from the PoU on a miss. With DIC
 * the icache is coherent and the fetch reads the PoU directly. A fetch whose
 * result is ignored models a speculative icache fill. insn may be NULL.
 */
int s2cache_fetch(struct s2cache *c, unsigned cpu, s2_pa_t pa, uint32_t *insn,
		  struct s2cache_check *chk);

/* DC ZVA: zero the zva_bytes block containing pa, as a store. */
int s2cache_dc_zva(struct s2cache *c, unsigned cpu, s2_pa_t pa, bool cacheable);

/* ---- Cache maintenance ------------------------------------------------ */

/* The architecture's DC and IC operations (arch/s2arm.h, in its order),
 * then the model's own eviction. */
enum s2cache_op {
#define S2CACHE_DC_ENUM(op, lower) S2CACHE_DC_##op = S2ARM_DC_##op,
	S2ARM_DC_TABLE(S2CACHE_DC_ENUM)
#undef S2CACHE_DC_ENUM
#define S2CACHE_IC_ENUM(op, lower) S2CACHE_IC_##op = S2ARM_NR_DC + S2ARM_IC_##op,
	S2ARM_IC_TABLE(S2CACHE_IC_ENUM)
#undef S2CACHE_IC_ENUM
	S2CACHE_EVICT = S2ARM_NR_DC + S2ARM_NR_IC,	/* not an instruction: a chosen eviction */
	S2CACHE_OP_COUNT
};

/* "DC CIVAC", ..., "evict"; "?" out of range. */
const char *s2cache_op_name(enum s2cache_op op);
/* The cache operation of a DC or IC operation. */
static inline enum s2cache_op s2cache_op_of_dc(enum s2arm_dc op)
{
	return (enum s2cache_op)op;
}

static inline enum s2cache_op s2cache_op_of_ic(enum s2arm_ic op)
{
	return (enum s2cache_op)(S2ARM_NR_DC + op);
}

/*
 * The operation an instruction executed at EL1 really performs: with
 * stage 2 enabled DC IVAC is a DC CIVAC (a guest must not discard the
 * host's dirty data), and with HCR_EL2.FB IC IALLU is broadcast.
 */
enum s2cache_op s2cache_op_at_el1(enum s2cache_op op, bool stage2_on, bool hcr_fb);

/*
 * Apply op to every line overlapping [pa, pa + size), one line at a time in
 * address order (size = line size gives one step of a scheduler). The IC
 * IALLU/IALLUIS forms ignore pa and size. Each call completes the
 * operation: a scheduler models an incomplete CMO by delaying the call to
 * its DSB. -EINVAL bad cpu or op, -ERANGE beyond the PA space.
 */
int s2cache_cmo(struct s2cache *c, unsigned cpu, enum s2cache_op op, s2_pa_t pa,
		uint64_t size);

/* ---- Eviction: the scheduler's choice --------------------------------- */

/* Lines held by the dcache, in a deterministic order. */
size_t s2cache_resident_count(const struct s2cache *c);
/* Address of the k-th resident line; -ENOENT when k is out of range. */
int s2cache_resident_line(const struct s2cache *c, size_t k, s2_pa_t *line);
/* Evict (write back if dirty, then drop) the line holding pa; -ENOENT when
 * it is not resident. */
int s2cache_evict(struct s2cache *c, s2_pa_t pa);
int s2cache_evict_kth(struct s2cache *c, size_t k);

/* ---- Questions, O(1) per line, never allocating ----------------------- */

/* A non-cacheable read of the line would return data older than the
 * latest write to it. */
bool s2cache_nc_read_stale(const struct s2cache *c, s2_pa_t pa);
/* A cacheable read of the line would return data older than the latest
 * write (from a resident line, or from memory on a miss). */
bool s2cache_cached_read_stale(const struct s2cache *c, s2_pa_t pa);
/* The resident line lacks data that memory holds: a cacheable read hits a
 * line older than memory. */
bool s2cache_dc_older_than_mem(const struct s2cache *c, s2_pa_t pa);
/* cpu's icache holds the line and it is older than the latest write. */
bool s2cache_ic_stale(const struct s2cache *c, unsigned cpu, s2_pa_t pa);
/* cpu's icache holds the line and it is older than what the PoU holds, so
 * only an icache invalidation would fix it. */
bool s2cache_ic_older_than_pou(const struct s2cache *c, unsigned cpu, s2_pa_t pa);

struct s2cache_line_info {
	s2_pa_t line;
	bool resident;		/* in the dcache */
	bool dirty;		/* holds data not written back to PoC */
	bool unclean_pou;	/* holds data an icache fill would not see yet */
	uint64_t ver_latest;	/* newest write to the line, 0 if none */
	uint64_t ver_mem, ver_dc, ver_pou;	/* newest write each copy reflects */
	uint64_t stale_mem, stale_dc, stale_pou; /* granules lacking the latest write */
	uint64_t icache_cpus;	/* CPUs whose icache holds the line */
};
int s2cache_line_info(const struct s2cache *c, s2_pa_t pa, struct s2cache_line_info *out);

/* Per-range counts from per-page and per-2M counters kept incrementally:
 * cost is per 2M block and per partial page, not per line. */
struct s2cache_summary {
	uint64_t resident;	/* dcache lines */
	uint64_t dirty;		/* lines not cleaned to PoC */
	uint64_t unclean_pou;	/* lines not cleaned to PoU (0 with IDC) */
	uint64_t stale_icache;	/* (cpu, line) icache entries older than the latest write */
};
int s2cache_summarize(const struct s2cache *c, s2_pa_t pa, uint64_t size,
		      struct s2cache_summary *out);

/* ---- Raw views, for reports and tests; no side effects ---------------- */

enum s2cache_view {
	S2CACHE_VIEW_FRESH,	/* the latest write to every byte */
	S2CACHE_VIEW_MEM,	/* memory at the PoC */
	S2CACHE_VIEW_DCACHE,	/* what a cacheable read would return */
	S2CACHE_VIEW_POU,	/* what an icache fill would read */
	S2CACHE_VIEW_ICACHE,	/* cpu's icache, or the PoU where it misses */
};
int s2cache_peek(const struct s2cache *c, enum s2cache_view view, unsigned cpu,
		 s2_pa_t pa, void *buf, size_t n);

/* ---- Lost writes ------------------------------------------------------ */

enum s2cache_lost_kind {
	/* An invalidation dropped a dirty line holding the latest write. */
	S2CACHE_LOST_DISCARD,
	/* A write-back overwrote newer data in memory (a non-cacheable write
	 * made while a dirty line for it existed). */
	S2CACHE_LOST_CLOBBER,
};

struct s2cache_lost {
	uint64_t seq;		/* 0, 1, ... in order of loss */
	enum s2cache_lost_kind kind;
	enum s2cache_op op;	/* what caused it */
	unsigned cpu;
	s2_pa_t line;
	uint64_t lost_mask;	/* granules whose latest write now exists in no copy */
	uint64_t ver_lost;	/* version of the copy that was destroyed */
	unsigned line_bytes;
	const uint8_t *lost_bytes; /* the destroyed copy */
	const uint8_t *kept_bytes; /* memory after the loss */
};

/* Number of lost writes so far. */
uint64_t s2cache_lost_count(const struct s2cache *c);
/* Record seq, kept for the last S2CACHE_LOST_LOG losses (-ENOENT otherwise).
 * The bytes stay valid until S2CACHE_LOST_LOG more losses. */
int s2cache_lost_get(const struct s2cache *c, uint64_t seq, struct s2cache_lost *out);

/* ---- Statistics ------------------------------------------------------- */

struct s2cache_stats {
	uint64_t frames;	/* 4 KiB pages touched */
	uint64_t bytes;		/* memory the model's state uses, data included (state
			 * given back by a reset is kept for reuse, not counted) */
	uint64_t version;	/* writes so far (the global version counter) */
	uint64_t resident, dirty, lost;
};
void s2cache_get_stats(const struct s2cache *c, struct s2cache_stats *out);
unsigned s2cache_line_bytes(const struct s2cache *c);

/*
 * Check every internal invariant (counters against line states, masks,
 * the resident and icache lists, every granule's latest value held
 * somewhere). O(model size): for tests and fuzzers. -EIO when broken.
 */
int s2cache_verify(const struct s2cache *c);

#endif
