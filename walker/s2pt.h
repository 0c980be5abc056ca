/* s2pt: an independent reimplementation of arm64 KVM's stage-2 page-table
 * code (arch/arm64/kvm/hyp/pgtable.c), written for emulation.
 *
 * What it offers:
 *  - geometry for the 4K, 16K and 64K granules, 32- to 48-bit IPA spaces
 *    (52 with 64K), start level and concatenated roots as VTCR_EL2 defines;
 *  - the stage-2 descriptor format (encode/decode);
 *  - a generic visitor walk, the same shape as KVM's;
 *  - the stage-2 operations: map, unmap, wrprotect, relax, mkyoung/mkold/
 *    test-and-clear-young, flush, split, lookup, destroy;
 *  - table-to-block coalescing in several orderings ("variants"), including
 *    known-buggy ones, selectable by name at run time.
 *
 * The walker never touches the machine: every allocation, refcount change,
 * PTE store, TLBI, barrier and cache maintenance goes through struct
 * s2pt_mm_ops. It reads entries directly (as KVM's READ_ONCE does) from table
 * memory that the ops own. The caller holds the MMU lock for every call; the
 * lock-held witness type makes that explicit. A witness taken for a shared
 * (read) lock makes the walks of map, relax-perms and the access-flag calls
 * shared walks (S2PT_WALK_SHARED): other walkers may change entries under
 * them, so they update entries by compare-and-exchange and back off with
 * S2_EAGAIN when they lose.
 */
#ifndef S2PT_H
#define S2PT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/s2arm.h"
#include "common/s2_bits.h"
#include "common/s2_err.h"
#include "common/s2_types.h"

typedef uint64_t s2_pte_t;

struct s2pt;

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

#define S2PT_MAX_ROOTS 16	/* DDI 0487 D8.2: up to 16 concatenated tables at stage 2 */

struct s2pt_geom {
	unsigned granule_shift;	/* 12, 14 or 16 */
	unsigned ipa_bits;	/* 32..48, or 52 with 64K */
	unsigned pa_bits;	/* output address size, 48 or 52 */
	s2_level_t start_level;
	unsigned nr_roots;	/* concatenated root tables, 1..16 */
	unsigned stride;	/* index bits per full level: granule_shift - 3 */
	s2_level_t min_block_level;	/* shallowest level allowed to hold a block */
};

/*
 * KVM's choice for an IPA size: the fewest levels such that the start level
 * needs at most 16 concatenated tables. Returns S2_EINVAL with *why set for a
 * granule or IPA size we do not support.
 */
int s2pt_geom_init(struct s2pt_geom *g, unsigned granule_shift,
		   unsigned ipa_bits, const char **why);

/*
 * Decode a VTCR_EL2 value (T0SZ [5:0], SL0 [7:6], TG0 [15:14], PS [18:16])
 * into a geometry, rejecting what the architecture calls a misconfiguration
 * (more than 16 concatenated tables, a start level that resolves no bit,
 * reserved encodings) with a reason.
 */
int s2pt_geom_from_vtcr(struct s2pt_geom *g, uint64_t vtcr, const char **why);

/* The VTCR_EL2 value (T0SZ, SL0, TG0, PS) that describes g. */
uint64_t s2pt_geom_to_vtcr(const struct s2pt_geom *g);

/* Bit position of the lowest IPA bit resolved at level (its block size). */
static inline unsigned s2pt_level_shift(const struct s2pt_geom *g, s2_level_t level)
{
	return g->stride * (unsigned)(S2_LEVEL_MAX - level) + g->granule_shift;
}

static inline uint64_t s2pt_granule_size(const struct s2pt_geom *g, s2_level_t level)
{
	return (uint64_t)1 << s2pt_level_shift(g, level);
}

static inline unsigned s2pt_ptes_per_table(const struct s2pt_geom *g)
{
	return 1u << g->stride;
}

/* The table-index formula, the one copy: the index of the entry
 * translating addr in a table at level. A root table at the start level is
 * the nr_roots concatenated pages, indexed as one. */
static inline unsigned s2pt_pte_index(const struct s2pt_geom *g, s2_level_t level, uint64_t addr,
				      bool root)
{
	unsigned nr = s2pt_ptes_per_table(g) * (root ? g->nr_roots : 1);
	return (unsigned)((addr >> s2pt_level_shift(g, level)) & (nr - 1));
}

/* Whether a block or page descriptor may appear at this level. */
static inline bool s2pt_leaf_allowed_at(const struct s2pt_geom *g, s2_level_t level)
{
	return level >= g->min_block_level && level <= S2_LEVEL_MAX;
}

/* ------------------------------------------------------------------ */
/* Descriptors                                                         */
/* ------------------------------------------------------------------ */

#define S2PT_PTE_VALID		((s2_pte_t)1 << 0)
#define S2PT_PTE_TYPE		((s2_pte_t)1 << 1)	/* table (levels < 3) or page (level 3) */
#define S2PT_PTE_MEMATTR_SHIFT	2			/* MemAttr [5:2] */
#define S2PT_PTE_S2AP_R		((s2_pte_t)1 << 6)
#define S2PT_PTE_S2AP_W		((s2_pte_t)1 << 7)
#define S2PT_PTE_SH_SHIFT	8			/* SH [9:8] */
#define S2PT_PTE_SH_IS		((s2_pte_t)3 << 8)	/* inner shareable; KVM's only choice */
#define S2PT_PTE_AF		((s2_pte_t)1 << 10)
#define S2PT_PTE_XN		((s2_pte_t)1 << 54)
#define S2PT_PTE_SW_SHIFT	55			/* software bits [58:55] */

/* An invalid entry whose bits [9:2] are non-zero carries an owner id (pKVM). */
#define S2PT_INVALID_OWNER_SHIFT 2
/* Written during break-before-make by newer kernels; not a counted entry. */
#define S2PT_PTE_LOCKED		((s2_pte_t)1 << 10)

enum s2pt_memtype {
	S2PT_MT_NORMAL = 0,	/* normal, inner/outer write-back */
	S2PT_MT_NORMAL_NC,	/* normal, non-cacheable */
	S2PT_MT_DEVICE,		/* device nGnRE */
};

/* What a leaf grants, as KVM's enum kvm_pgtable_prot. */
enum s2pt_prot {
	S2PT_PROT_R = 1 << 0,
	S2PT_PROT_W = 1 << 1,
	S2PT_PROT_X = 1 << 2,
	S2PT_PROT_DEVICE = 1 << 3,
	S2PT_PROT_NC = 1 << 4,
	S2PT_PROT_RW = S2PT_PROT_R | S2PT_PROT_W,
	S2PT_PROT_RWX = S2PT_PROT_R | S2PT_PROT_W | S2PT_PROT_X,
};

/* A decoded descriptor; the inverse of s2pt_pte_encode for leaves. */
struct s2pt_desc {
	bool valid;
	bool table;		/* valid table descriptor (only at levels < 3) */
	s2_pa_t oa;		/* output (or next-table) address */
	enum s2pt_memtype memtype;
	bool read, write, exec;	/* S2AP read, write; !XN */
	unsigned sh;		/* SH [9:8] */
	bool af;
	unsigned sw;		/* software bits [58:55] */
	unsigned owner;		/* invalid entries: annotation in [9:2] */
	bool locked;		/* invalid entries: the break-before-make marker */
};

s2_pte_t s2pt_pte_table(const struct s2pt_geom *g, s2_pa_t table);
/* A leaf (block, or page at level 3) with KVM's attributes and AF set. */
s2_pte_t s2pt_pte_leaf(const struct s2pt_geom *g, s2_level_t level, s2_pa_t oa,
		       enum s2pt_prot prot, bool fwb);
/* An invalid entry annotated with an owner id (1..255). */
s2_pte_t s2pt_pte_owner(unsigned owner);
int s2pt_pte_decode(const struct s2pt_geom *g, s2_level_t level, s2_pte_t pte,
		    bool fwb, struct s2pt_desc *d);

static inline bool s2pt_pte_valid(s2_pte_t pte)
{
	return pte & S2PT_PTE_VALID;
}

static inline bool s2pt_pte_is_table(s2_pte_t pte, s2_level_t level)
{
	return level < S2_LEVEL_MAX && (pte & (S2PT_PTE_VALID | S2PT_PTE_TYPE)) ==
		(S2PT_PTE_VALID | S2PT_PTE_TYPE);
}

static inline bool s2pt_pte_is_leaf(s2_pte_t pte, s2_level_t level)
{
	return s2pt_pte_valid(pte) && !s2pt_pte_is_table(pte, level);
}

/*
 * KVM's refcount convention: a table page holds 1 (its allocation) plus one
 * per counted entry. Counted: valid entries, and invalid entries that carry
 * an owner annotation. The break-before-make marker is not counted.
 */
static inline bool s2pt_pte_is_counted(s2_pte_t pte)
{
	if (s2pt_pte_valid(pte))
		return true;
	return (pte & 0x3fc) != 0;	/* owner id in [9:2] */
}

/* Output address: bits [47:granule], and with 64K and a 52-bit PA, PA[51:48]
 * from descriptor bits [15:12]. */
static inline s2_pa_t s2pt_pte_oa(const struct s2pt_geom *g, s2_pte_t pte)
{
	uint64_t pa = pte & s2_genmask(47, g->granule_shift);
	if (g->granule_shift == 16 && g->pa_bits == 52)
		pa |= s2_field_get(pte, 15, 12) << 48;
	return s2_pa(pa);
}
enum s2pt_prot s2pt_pte_prot(s2_pte_t pte, bool fwb);
enum s2pt_memtype s2pt_pte_memtype(s2_pte_t pte, bool fwb);

/* ------------------------------------------------------------------ */
/* The ops interface: every effect on the machine                      */
/* ------------------------------------------------------------------ */

/* The TLBIs the walker issues: the architecture's operations
 * (arch/s2arm.h, whose names they have). */
enum s2pt_tlbi {
	S2PT_TLBI_VMALLS12E1IS = S2ARM_TLBI_VMALLS12E1IS,	/* whole VMID, stage 1 and 2, broadcast */
	S2PT_TLBI_IPAS2E1IS = S2ARM_TLBI_IPAS2E1IS,	/* one IPA at stage 2, broadcast, with level hint */
	S2PT_TLBI_IPAS2E1 = S2ARM_TLBI_IPAS2E1,		/* one IPA at stage 2, this CPU only */
	S2PT_TLBI_VMALLE1IS = S2ARM_TLBI_VMALLE1IS,	/* stage 1 of the VMID, broadcast */
	S2PT_TLBI_VMALLE1 = S2ARM_TLBI_VMALLE1,		/* stage 1 of the VMID, this CPU only */
	/* FEAT_TLBIRANGE: an IPA range at stage 2, broadcast (tlbi_range) */
	S2PT_TLBI_RIPAS2E1IS = S2ARM_TLBI_RIPAS2E1IS,
};

/* A TLBI's level hint when it gives none (TTL 0). Not -1: with LPA2, -1
 * is a real level. The one spelling, used by the walker, the machine, the
 * effect-trace checker and the traces. */
#define S2PT_TLBI_NO_LEVEL ((s2_level_t)-128)

/* The DSBs (arch/s2arm.h's domains) and the ISB. */
enum s2pt_barrier {
	S2PT_DSB_ISHST = S2ARM_DSB_ISHST,
	S2PT_DSB_ISH = S2ARM_DSB_ISH,
	S2PT_DSB_NSHST = S2ARM_DSB_NSHST,
	S2PT_DSB_NSH = S2ARM_DSB_NSH,
	S2PT_DSB_SY = S2ARM_DSB_SY,
	S2PT_ISB = S2ARM_NR_DSB,
};

/*
 * ctx is the ops' own state (a machine model, a recorder, a benchmark).
 * Table pages are granule-sized, zeroed, and addressed by the walker through
 * their host pointer; phys_to_virt/virt_to_phys translate. Refcount calls take
 * any pointer inside the page (as KVM's virt_to_page(ptep) does).
 */
struct s2pt_mm_ops {
	/* Memcache top-up: a zeroed table page with refcount 1, or NULL. */
	void *(*zalloc_page)(void *ctx);
	/* Root tables: nr contiguous zeroed pages aligned to their total size,
	 * each with refcount 1. */
	void *(*zalloc_pages_exact)(void *ctx, unsigned nr);
	/* Free a page whatever its count (KVM's free_page()). */
	void (*free_page)(void *ctx, void *page);
	void (*free_pages_exact)(void *ctx, void *pages, unsigned nr);
	void (*get_page)(void *ctx, void *addr);
	/* Drop a reference; at zero the page is freed. */
	void (*put_page)(void *ctx, void *addr);
	int (*page_count)(void *ctx, void *addr);
	void *(*phys_to_virt)(void *ctx, s2_pa_t pa);
	s2_pa_t (*virt_to_phys)(void *ctx, void *va);

	/* The only way the walker writes an entry it owns (exclusive walks, and
	 * the make after a won break in shared walks). */
	void (*set_pte)(void *ctx, s2_pte_t *ptep, s2_pte_t pte, bool release);
	/*
	 * Shared walks only: store new if the entry still holds old, as one
	 * fully ordered atomic step (KVM's cmpxchg); false, storing nothing,
	 * when it changed. NULL: shared walks are refused with S2_EINVAL.
	 */
	bool (*cmpxchg_pte)(void *ctx, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new);

	/* One TLBI instruction; the walker issues the barriers around it. */
	void (*tlbi)(void *ctx, enum s2pt_tlbi op, s2_ipa_t ipa, s2_level_t level);
	/* FEAT_TLBIRANGE: TLBI RIPAS2E1IS over [ipa, ipa + size). Used when the
	 * table was made with S2PT_INIT_RANGE_TLBI; NULL means no range TLBIs. */
	void (*tlbi_range)(void *ctx, s2_ipa_t ipa, uint64_t size);
	void (*barrier)(void *ctx, enum s2pt_barrier b);

	/* Cache maintenance by output-address range; NULL means "not needed". */
	void (*dcache_clean_inval_poc)(void *ctx, s2_pa_t pa, uint64_t size);
	void (*icache_inval_pou)(void *ctx, s2_pa_t pa, uint64_t size);

	/*
	 * Free a subtree the walker has unlinked (v6.2+). The host defers it past
	 * an RCU grace period; pKVM frees at once. NULL: the walker frees
	 * immediately with its own walk.
	 */
	void (*free_unlinked_table)(void *ctx, struct s2pt *pt, void *table,
				    s2_level_t level);

	/*
	 * For a checker of several walkers at once; each may be NULL. A shared
	 * walk of [ipa, ipa + size) runs inside an RCU read-side section
	 * (KVM's kvm_pgtable_walk_begin/end take rcu_read_lock for shared
	 * walks only), and every entry a walk reads to decide on is told
	 * (pte_read: the one load, after it happened).
	 */
	void (*rcu_read_lock)(void *ctx, s2_ipa_t ipa, uint64_t size);
	void (*rcu_read_unlock)(void *ctx);
	void (*pte_read)(void *ctx, const s2_pte_t *ptep, s2_pte_t val);
};

/* ------------------------------------------------------------------ */
/* Variants: the orderings of table-to-block coalescing                 */
/* ------------------------------------------------------------------ */

/*    id                      name                      description */
#define S2PT_VARIANT_TABLE(X) \
	X(S2PT_V_UPSTREAM_2021,       "upstream-2021", \
	  "v5.10-v5.12 (2021): pre visitor clears the table entry and TLBIs the VMID; post frees the old tables, then installs the block through the leaf path with its CMOs") \
	X(S2PT_V_INSTALL_FIRST,       "install-first", \
	  "proposed 2021: clear the table entry, TLBI the VMID, CMO and store-release the block in the pre visitor; free the old tables through the saved follow pointer in the post visitor") \
	X(S2PT_V_UPSTREAM,            "upstream", \
	  "v6.4+: break (lock marker, TLBI VMID, put), CMO, make the block in the pre visitor; reload the entry; free the unlinked table") \
	X(S2PT_V_UPSTREAM_EXCLUSIVE,  "upstream-exclusive", \
	  "upstream's walker with every hypervisor operation holding the MMU lock alone (faults one at a time, as before v6.2); upstream runs faults in parallel under the read lock") \
	X(S2PT_V_INSTALL_FIRST_NOCMO, "install-first-nocmo", \
	  "BUGGY: install-first as first posted, without the CMOs of a newly visible page") \
	X(S2PT_V_UPSTREAM_NOCMO,      "upstream-nocmo", \
	  "BUGGY: upstream without the CMOs between break and make: no dcache clean to PoC, no icache invalidation") \
	X(S2PT_V_ANCHOR_LEAK,         "anchor-leak", \
	  "BUGGY: upstream-2021 without the put of the anchor's reference: its table page never drains") \
	X(S2PT_V_INSTALL_FIRST_LEAK,  "install-first-anchor-leak", \
	  "BUGGY: install-first taking a reference for the installed block without dropping the table's") \
	X(S2PT_V_MERGE_TLBI_IPA,      "upstream-2021-tlbi-ipa", \
	  "BUGGY: before 'Fix handling of merging tables into a block entry' (v5.10): TLBI only the anchor's IPA, leaving page translations behind the new block") \
	X(S2PT_V_NO_RELOAD,           "upstream-noreload", \
	  "BUGGY: v6.2-v6.3: descends through the stale table pointer after the pre visitor freed it") \
	X(S2PT_V_FREE_LEAK,           "upstream-free-leak", \
	  "BUGGY: before 'Drop last page ref in free_removed': the unlinked table's own page is never freed") \
	X(S2PT_V_VALID_UPDATE_LEAK,   "upstream-2021-valid-leak", \
	  "BUGGY: before 'Fix memory leak on stage2 update of a valid PTE' (v5.10): a map that updates a valid leaf in place takes a reference as for a new one") \
	X(S2PT_V_EAGAIN_STOPS,        "upstream-eagain-stops", \
	  "BUGGY: before 'Ignore EAGAIN for walks outside of a fault' (v6.3): a write-protect or other walk stops at the first invalid entry") \
	X(S2PT_V_UNMAP_DEFER_TLBI,    "upstream-unmap-defer-tlbi", \
	  "BUGGY: before 'Don't defer TLB invalidation when zapping table entries' (v6.9): unmap frees emptied tables before its one deferred TLBI") \
	X(S2PT_V_LOG_BLOCKS,          "kvm-dirty-log-blocks", \
	  "BUGGY: upstream walker; the fault handler maps blocks while dirty logging is on (no force_pte when logging_active)") \
	X(S2PT_V_LOG_NO_FLUSH,        "kvm-dirty-log-noflush", \
	  "BUGGY: upstream walker; turning dirty logging on write-protects the slot without flushing the TLBs (kvm_mmu_wp_memory_region)") \
	X(S2PT_V_PERM_BBM,            "upstream-2021-perm-bbm", \
	  "SLOW: before 'Filter out the case of only changing permissions from stage-2 map path' (v5.13): a map that only changes permissions breaks and remakes the leaf") \
	X(S2PT_V_RELAX_NO_TLBI,       "upstream-relax-notlbi", \
	  "BUGGY: relax-perms without the local TLBI after it (kept by 'Use local TLBI on permission relaxation', v6.4): a TLB that cached the faulting entry faults forever") \
	X(S2PT_V_HUGE_UNCHECKED,      "kvm-huge-unchecked", \
	  "BUGGY: before 'Fix unintended stage 2 PMD mappings' (v5.0): a block is mapped whether or not IPA and host address share their offset in it and it lies inside the slot") \
	X(S2PT_V_FREE_NOW,            "upstream-free-now", \
	  "BUGGY (parallel): as at 5c359cca1faf, before 'Protect stage-2 traversal with RCU' (c3119ae45dfb, v6.2): a table replaced by a block is freed at once while other walkers may be inside it") \
	X(S2PT_V_ATTR_PLAIN,          "upstream-attr-plain", \
	  "BUGGY (parallel): before 'Atomically update stage 2 leaf attributes in parallel walks' (ca5de2448c3b, v6.2): relax-perms and the access-flag walks store plainly under the read lock") \
	X(S2PT_V_LOSER_PUT,           "upstream-loser-put", \
	  "BUGGY (parallel): modelled on 'Make leaf->leaf PTE changes parallel-aware' (946fbfdf336b, v6.2) without its rule that only the winner of the break drops the old reference") \
	X(S2PT_V_RELAX_LOST_NOTLBI,   "upstream-relax-lost-notlbi", \
	  "SLOW (parallel): before 'Always invalidate TLB for stage-2 permission faults' (be097997a273, v6.7): a relax that lost its exchange to another vCPU's skips the local TLBI, and its vCPU faults once more on the entry its TLB kept") \
	X(S2PT_V_RELAX_STALE_LEVEL,   "kvm-relax-stale-level", \
	  "BUGGY, open in Linux (v5.10 to mainline): the fault handler relaxes whatever leaf maps the IPA now, at the level of a fault taken before a coalesce: with dirty logging turned on in between, a whole block becomes writable with one page logged")

enum s2pt_variant {
#define S2PT_VARIANT_ENUM(id, name, desc) id,
	S2PT_VARIANT_TABLE(S2PT_VARIANT_ENUM)
#undef S2PT_VARIANT_ENUM
	S2PT_NR_VARIANTS
};

const char *s2pt_variant_name(enum s2pt_variant v);
const char *s2pt_variant_desc(enum s2pt_variant v);
/* Whether the variant reproduces a known bug (the checker must catch it). */
bool s2pt_variant_is_buggy(enum s2pt_variant v);
/* Whether its bug (or slowness) needs two walkers in the tables at once
 * (shared walks in flight together) to show: "BUGGY (parallel)", "SLOW
 * (parallel)". */
bool s2pt_variant_needs_parallel(enum s2pt_variant v);
/* S2_EINVAL for an unknown name. */
int s2pt_variant_parse(const char *name, enum s2pt_variant *v);
/* "upstream-2021, install-first, ..." into buf; returns buf. */
const char *s2pt_variant_list(char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* The page table                                                      */
/* ------------------------------------------------------------------ */

struct s2pt {
	struct s2pt_geom geom;
	const struct s2pt_mm_ops *ops;
	void *ctx;		/* ops context */
	s2_pte_t *pgd;		/* root tables, nr_roots pages */
	s2_pa_t pgd_pa;
	enum s2pt_variant variant;
	bool fwb;		/* FEAT_S2FWB: MemAttr encoding and no CMO for data visibility */
	bool range_tlbi;	/* FEAT_TLBIRANGE, and ops->tlbi_range to issue them */
	bool reload_after_pre;	/* the walk re-reads an entry after its pre visitor */
	bool eagain_stops;	/* EAGAIN ends every walk, not only a fault's (a bug) */
	bool lock_held;		/* between s2pt_lock() and s2pt_unlock() */
};

/* Proof that the caller holds the MMU lock, which every operation below
 * takes. Taking the lock is the only way to get one: s2pt_lock() (exclusive)
 * or s2pt_lock_shared() (held for read, as KVM's fault path since v6.2) is
 * called with the caller's MMU lock just taken (in the machine, by its lock
 * function) and returns the witness; s2pt_unlock() ends it when the lock is
 * released. Under a shared witness only map, relax-perms, mkyoung and the
 * access-flag walks run (as shared walks); the others, which KVM runs under
 * the write lock, return S2_EINVAL. */
struct s2pt_locked {
	struct s2pt *pt;
	bool shared;
};

struct s2pt_locked s2pt_lock(struct s2pt *pt);
struct s2pt_locked s2pt_lock_shared(struct s2pt *pt);
void s2pt_unlock(struct s2pt_locked l);

enum s2pt_init_flags {
	S2PT_INIT_FWB = 1 << 0,
	/* The host has FEAT_TLBIRANGE (and ops->tlbi_range is set): a table
	 * entry's break flushes its range, not the VMID; with FWB too, unmap
	 * defers its per-page TLBIs to one range TLBI at the end (v6.6+). */
	S2PT_INIT_RANGE_TLBI = 1 << 1,
};

int s2pt_init(struct s2pt *pt, const struct s2pt_geom *g,
	      const struct s2pt_mm_ops *ops, void *ctx,
	      enum s2pt_variant variant, unsigned flags);

/* Unmap everything, put every reference, free every table and the roots.
 * Under a shared witness it does nothing (KVM destroys under the write lock). */
void s2pt_destroy(struct s2pt_locked l);

/* ------------------------------------------------------------------ */
/* The visitor walk                                                    */
/* ------------------------------------------------------------------ */

enum s2pt_walk_flags {
	S2PT_WALK_LEAF = 1 << 0,
	S2PT_WALK_TABLE_PRE = 1 << 1,
	S2PT_WALK_TABLE_POST = 1 << 2,
	/* A fault path: S2_EAGAIN from a visitor ends the walk. Elsewhere it is
	 * ignored and the walk goes on (KVM: "Ignore EAGAIN for walks outside of
	 * a fault"). */
	S2PT_WALK_HANDLE_FAULT = 1 << 3,
	/* Other walkers may be in the tables at once (the MMU lock is held for
	 * read). Visitors change an entry only by ops->cmpxchg_pte against the
	 * value the walk read, break-before-make writes the locked marker, and
	 * a visitor that finds the entry locked or changed returns S2_EAGAIN
	 * without touching any refcount (KVM_PGTABLE_WALK_SHARED). */
	S2PT_WALK_SHARED = 1 << 4,
};

struct s2pt_visit_ctx {
	s2_pte_t *ptep;
	s2_pte_t old;		/* the value read once before the visitor */
	void *arg;
	struct s2pt *pt;
	uint64_t start;		/* the walk's range: [start, end) */
	uint64_t addr;		/* the IPA this entry maps */
	uint64_t end;
	s2_level_t level;
	unsigned flags;		/* the walker's flags */
};

typedef int (*s2pt_visitor_fn)(const struct s2pt_visit_ctx *ctx,
			       enum s2pt_walk_flags visit);

struct s2pt_walker {
	s2pt_visitor_fn cb;
	void *arg;
	unsigned flags;		/* which visits to make */
};

/*
 * Visit every entry over [align_down(addr), page_align(addr + size)): a valid
 * table gets TABLE_PRE, then its children, then TABLE_POST; anything else
 * gets LEAF. The entry is read once before the visitor; the walk descends
 * through that value (or re-reads it after TABLE_PRE when the variant says
 * so). A visitor's error stops the walk and is returned. S2_ERANGE beyond the
 * IPA space; S2_EINVAL for a shared walk when the ops have no cmpxchg_pte.
 */
int s2pt_walk(struct s2pt *pt, uint64_t addr, uint64_t size,
	      const struct s2pt_walker *w);

/* ------------------------------------------------------------------ */
/* Stage-2 operations                                                  */
/* ------------------------------------------------------------------ */

/* Pre-allocated table pages, as KVM's kvm_mmu_memory_cache. */
#define S2PT_MEMCACHE_MAX 64

struct s2pt_memcache {
	unsigned nr;
	void *pages[S2PT_MEMCACHE_MAX];
};

/* Fill up to min pages from ops->zalloc_page; S2_ENOMEM when it fails. */
int s2pt_memcache_topup(struct s2pt *pt, struct s2pt_memcache *mc, unsigned min);
void s2pt_memcache_free(struct s2pt *pt, struct s2pt_memcache *mc);
/* Pages a map of one leaf at the deepest level may need (KVM's min pages). */
unsigned s2pt_memcache_min_pages(const struct s2pt_geom *g);

/*
 * Map [ipa, ipa + size) to [pa, pa + size) with the largest leaves alignment,
 * size and granule allow; existing tables where a block fits are coalesced
 * by the variant's ordering. S2_ENOMEM when the memcache runs dry (the tables
 * stay consistent: a table entry is only installed with its page in hand).
 * S2_EAGAIN when the only leaf found already maps this with other permissions.
 */
int s2pt_map(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size, s2_pa_t pa,
	     enum s2pt_prot prot, struct s2pt_memcache *mc);

/* Clear leaves (whole blocks), TLBI each, clean it to PoC if cacheable and not
 * FWB, and free tables that become empty. */
int s2pt_unmap(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size);

/* Clear S2AP write on valid leaves; no TLBI (the caller flushes). */
int s2pt_wrprotect(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size);

/* Add permissions to the leaf mapping ipa, then TLBI that IPA on this CPU. */
int s2pt_relax_perms(struct s2pt_locked l, s2_ipa_t ipa, enum s2pt_prot prot);
/* The same, only if that leaf is at `level` (the level of the permission fault
 * being handled): S2_EAGAIN, changing nothing, when the table changed shape
 * since the fault (a coalesce or a split), so that the vCPU faults again on
 * what is there now. S2PT_TLBI_NO_LEVEL accepts a leaf at any level, as
 * Linux's kvm_pgtable_stage2_relax_perms does. */
int s2pt_relax_perms_at(struct s2pt_locked l, s2_ipa_t ipa, enum s2pt_prot prot,
			s2_level_t level);

/* Set AF on the leaf mapping ipa; returns its old value in *old if non-NULL. */
int s2pt_mkyoung(struct s2pt_locked l, s2_ipa_t ipa, s2_pte_t *old);
/* Clear AF over a range (no TLBI); *young tells whether any leaf was young. */
int s2pt_mkold(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size, bool *young);
/* Whether any leaf of the range is young; clears AF when mkold is set. */
int s2pt_test_clear_young(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size,
			  bool mkold, bool *young);

/* Clean+invalidate to PoC every cacheable leaf of the range (nothing with FWB). */
int s2pt_flush(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size);

/* Replace blocks of the range with fully populated next-level tables,
 * down to page size. */
int s2pt_split(struct s2pt_locked l, s2_ipa_t ipa, uint64_t size,
	       struct s2pt_memcache *mc);

/*
 * Free a subtree unlinked by a map (put every reference below it, then the
 * table's own): what ops->free_unlinked_table calls when its grace period
 * ends, or what the walker does itself when that op is NULL.
 */
void s2pt_free_unlinked(struct s2pt *pt, void *table, s2_level_t level);

/* The entry that translates ipa (a leaf, or the invalid entry where the walk
 * stops) and its level. */
int s2pt_get_leaf(struct s2pt *pt, s2_ipa_t ipa, s2_pte_t *pte, s2_level_t *level);

/* Pages of a range in use, for tests and the checker: tables per level. */
struct s2pt_stats {
	unsigned tables[S2_LEVEL_MAX + 2];	/* index level + 1 */
	unsigned leaves[S2_LEVEL_MAX + 2];
};
int s2pt_stats(struct s2pt *pt, struct s2pt_stats *st);

/* Count of counted entries in one table page (the checker's expectation of
 * its refcount is 1 + this). */
unsigned s2pt_table_counted_entries(const struct s2pt *pt, const s2_pte_t *table);

#endif
