/* s2emu_effect_log.h: log your page-table code's effects as an s2emu
 * effect trace (docs/trace-format.md, "Low-level effect events").
 *
 * Drop this one header into a hypervisor (C99 or later, no other
 * dependency) and call the logging functions next to the operations they
 * describe: after each store to a table, each VTTBR_EL2 write, TLBI, DSB,
 * lock and unlock. Then `s2emu replay` the text it printed. See
 * docs/effect-traces.md for what to log and where.
 *
 * Two hooks, both optional, to define before including this file:
 *
 *   S2EMU_LOG_PRINTF(fmt, ...)   print formatted text (default: fprintf to
 *                                stderr). In a kernel: your printk.
 *   S2EMU_LOG_CPU()              the current CPU number, 0 to 255
 *                                (default: 0). In a kernel: smp_processor_id().
 *
 * Addresses are physical, as the hardware walker sees them: the address of
 * the descriptor a store writes, of the table pages, of the root in VTTBR.
 * Any stable number will do for a lock (its address).
 *
 * Every function prints one line; none allocates or takes a lock. Define
 * S2EMU_LOG_OFF to compile every call away.
 */
#ifndef S2EMU_EFFECT_LOG_H
#define S2EMU_EFFECT_LOG_H

#include <stdint.h>

#ifndef S2EMU_LOG_PRINTF
#include <stdio.h>
#define S2EMU_LOG_PRINTF(...) fprintf(stderr, __VA_ARGS__)
#endif
#ifndef S2EMU_LOG_CPU
#define S2EMU_LOG_CPU() 0u
#endif

#ifdef S2EMU_LOG_OFF
#define S2EMU_LOG_(fmt, ...) do { if (0) S2EMU_LOG_PRINTF(fmt, __VA_ARGS__); } while (0)
#else
#define S2EMU_LOG_(fmt, ...) \
	S2EMU_LOG_PRINTF("effect %u " fmt "\n", (unsigned)(S2EMU_LOG_CPU()), __VA_ARGS__)
#endif

#define S2EMU_LOG_U(x) ((unsigned long long)(x))

/* The first line of a trace. */
static inline void s2emu_log_header(void)
{
#ifndef S2EMU_LOG_OFF
	S2EMU_LOG_PRINTF("s2emu-trace 1\n");
#endif
}

/* Memory the code owns from now on, zeroed: table pages (or pages that
 * will be tables). size is a multiple of the granule. */
static inline void s2emu_log_alloc(uint64_t pa, uint64_t size)
{
	S2EMU_LOG_("alloc pa=%#llx size=%#llx", S2EMU_LOG_U(pa), S2EMU_LOG_U(size));
}

/* Memory given back (after the maintenance that makes it unreachable). */
static inline void s2emu_log_free(uint64_t pa, uint64_t size)
{
	S2EMU_LOG_("free pa=%#llx size=%#llx", S2EMU_LOG_U(pa), S2EMU_LOG_U(size));
}

/* A store of desc to the descriptor at pa (inside alloc'ed memory);
 * release: a store-release (smp_store_release, WRITE_ONCE + barrier). */
static inline void s2emu_log_pte_write(uint64_t pa, uint64_t desc, int release)
{
	S2EMU_LOG_("pte-write pa=%#llx value=%#llx%s", S2EMU_LOG_U(pa), S2EMU_LOG_U(desc),
		   release ? " release" : "");
}

/* A store that may or may not be to a table (ignored outside alloc'ed memory). */
static inline void s2emu_log_write(uint64_t pa, uint64_t value)
{
	S2EMU_LOG_("write pa=%#llx value=%#llx", S2EMU_LOG_U(pa), S2EMU_LOG_U(value));
}

/* System registers: VTTBR_EL2 (root | VMID << 48), VTCR_EL2, and by name
 * "ttbr0_el2", "tcr_el2", "hcr_el2", "sctlr_el2". */
static inline void s2emu_log_vttbr(uint64_t vttbr)
{
	S2EMU_LOG_("vttbr value=%#llx", S2EMU_LOG_U(vttbr));
}

static inline void s2emu_log_vtcr(uint64_t vtcr)
{
	S2EMU_LOG_("vtcr value=%#llx", S2EMU_LOG_U(vtcr));
}

static inline void s2emu_log_sysreg(const char *name, uint64_t value)
{
	S2EMU_LOG_("sysreg name=%s value=%#llx", name, S2EMU_LOG_U(value));
}

/* Barriers: kind is "ish", "ishst", "nsh", "nshst" or "sy". */
static inline void s2emu_log_dsb(const char *kind)
{
	S2EMU_LOG_("dsb %s", kind);
}

static inline void s2emu_log_isb(void)
{
	S2EMU_LOG_("%s", "isb");
}

/* TLBIs: op is the instruction's name in lower case ("vmalls12e1is",
 * "vmalle1is", "alle1is", "alle2is"...). The by-address forms take the
 * address itself (not the Xt operand) and the TTL level, or -1 for none. */
static inline void s2emu_log_tlbi(const char *op)
{
	S2EMU_LOG_("tlbi %s", op);
}

static inline void s2emu_log_tlbi_ipa(const char *op, uint64_t ipa, int level)
{
	if (level >= 0)
		S2EMU_LOG_("tlbi %s ipa=%#llx level=%d", op, S2EMU_LOG_U(ipa), level);
	else
		S2EMU_LOG_("tlbi %s ipa=%#llx", op, S2EMU_LOG_U(ipa));
}

static inline void s2emu_log_tlbi_va(const char *op, uint64_t va, int level)
{
	if (level >= 0)
		S2EMU_LOG_("tlbi %s va=%#llx level=%d", op, S2EMU_LOG_U(va), level);
	else
		S2EMU_LOG_("tlbi %s va=%#llx", op, S2EMU_LOG_U(va));
}

/* Locks, after taking and before releasing; a trylock only when it
 * succeeded. */
static inline void s2emu_log_lock(uint64_t lock)
{
	S2EMU_LOG_("lock addr=%#llx", S2EMU_LOG_U(lock));
}

static inline void s2emu_log_trylock(uint64_t lock)
{
	S2EMU_LOG_("trylock addr=%#llx", S2EMU_LOG_U(lock));
}

static inline void s2emu_log_unlock(uint64_t lock)
{
	S2EMU_LOG_("unlock addr=%#llx", S2EMU_LOG_U(lock));
}

/* Hints: the lock that protects the tree rooted at root; a table page's
 * owner; a table (or a whole tree, by its root) given up. */
static inline void s2emu_log_root_lock(uint64_t root, uint64_t lock)
{
	S2EMU_LOG_("hint kind=set-root-lock pa=%#llx value=%#llx", S2EMU_LOG_U(root),
		   S2EMU_LOG_U(lock));
}

static inline void s2emu_log_owner(uint64_t page, uint64_t root)
{
	S2EMU_LOG_("hint kind=set-owner-root pa=%#llx value=%#llx", S2EMU_LOG_U(page),
		   S2EMU_LOG_U(root));
}

static inline void s2emu_log_release(uint64_t table)
{
	S2EMU_LOG_("hint kind=release-table pa=%#llx", S2EMU_LOG_U(table));
}

#endif
