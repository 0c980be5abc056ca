/* s2arm: what is Arm's and not the machine's, for every layer above.
 *
 * - Faults: the syndrome of a stage-2 abort (ESR_ELx) decoded into, and
 *   encoded from, a fault record shaped like the architecture's pseudocode
 *   (FaultRecord: statuscode, level, write, s2fs1walk), DDI 0487 D24.2.45.
 * - Maintenance instructions: the TLBI, DC and IC operations and the DSB
 *   domains by name, as tables the trace format, the checkers and the
 *   reports share.
 * - Memory types: how stage 1 and stage 2 attributes combine (with and
 *   without FEAT_S2FWB), DDI 0487 D8.
 *
 * No state and no emulation: pure functions of architectural values.
 */
#ifndef S2ARM_H
#define S2ARM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/s2_types.h"

/* ------------------------------------------------------------------ */
/* Faults and ESR_ELx                                                  */
/* ------------------------------------------------------------------ */

/* The exception classes of a stage-2 abort (ESR_ELx.EC, bits [31:26]). */
#define S2ARM_EC_IABT_LOW	0x20u	/* instruction abort from a lower EL */
#define S2ARM_EC_IABT_CUR	0x21u
#define S2ARM_EC_DABT_LOW	0x24u	/* data abort from a lower EL */
#define S2ARM_EC_DABT_CUR	0x25u

/*
 * The fault type of a fault status code (DFSC/IFSC, ISS bits [5:0]): the
 * pseudocode's Fault enumeration as an abort reports it. Generates the enum
 * and the names.
 */
#define S2ARM_FAULT_TABLE(X) \
	X(S2ARM_FAULT_ADDR_SIZE,	"address-size") \
	X(S2ARM_FAULT_TRANSLATION,	"translation") \
	X(S2ARM_FAULT_ACCESS_FLAG,	"access-flag") \
	X(S2ARM_FAULT_PERMISSION,	"permission") \
	X(S2ARM_FAULT_EXTERNAL,		"external-abort") \
	X(S2ARM_FAULT_EXTERNAL_WALK,	"external-abort-on-walk") \
	X(S2ARM_FAULT_TAG_CHECK,	"tag-check") \
	X(S2ARM_FAULT_ECC,		"parity-ecc") \
	X(S2ARM_FAULT_ECC_WALK,		"parity-ecc-on-walk") \
	X(S2ARM_FAULT_ALIGNMENT,	"alignment") \
	X(S2ARM_FAULT_GPF,		"granule-protection") \
	X(S2ARM_FAULT_GPF_WALK,		"granule-protection-on-walk") \
	X(S2ARM_FAULT_TLB_CONFLICT,	"tlb-conflict") \
	X(S2ARM_FAULT_ATOMIC_HW_UPDATE,	"atomic-hw-update") \
	X(S2ARM_FAULT_IMPDEF,		"implementation-defined") \
	X(S2ARM_FAULT_RESERVED,		"reserved")

enum s2arm_fault_type {
#define S2ARM_FAULT_ENUM(id, name) id,
	S2ARM_FAULT_TABLE(S2ARM_FAULT_ENUM)
#undef S2ARM_FAULT_ENUM
	S2ARM_NR_FAULT_TYPES
};

/* "translation", "permission", ...; "?" for a value out of range. */
const char *s2arm_fault_name(enum s2arm_fault_type t);

/*
 * A stage-2 abort, as the pseudocode's FaultRecord describes it and as its
 * syndrome reports it (ESR_EL2, ISS of a data or instruction abort).
 */
struct s2arm_fault {
	enum s2arm_fault_type type;	/* FaultRecord.statuscode */
	bool has_level;			/* the status code names a lookup level */
	s2_level_t level;		/* FaultRecord.level: -1..3 when has_level, else 0 */
	bool insn;			/* an instruction fetch: an instruction abort */
	bool lower_el;			/* taken from a lower EL (the guest) */
	/*
	 * FaultRecord.write: ISS [6] WnR, for a data abort that is not on a
	 * stage-1 walk (with S1PTW the access was the walker's descriptor read,
	 * not the guest's own).
	 */
	bool write;
	bool s1ptw;			/* FaultRecord.s2fs1walk: ISS [7] */
	bool cm;			/* ISS [8], data aborts: a cache maintenance instruction */
	bool fnv;			/* ISS [10]: FAR not valid */
	bool isv;			/* ISS [24], data aborts: the fields below are valid */
	unsigned access_bytes;		/* 1 << SAS (ISS [23:22]) when isv, else 0 */
	unsigned ec;			/* one of the four S2ARM_EC_* */
	unsigned fsc;			/* ISS [5:0] as written */
};

/* S2_EINVAL when esr's EC is not an instruction or data abort. */
int s2arm_esr_decode(uint64_t esr, struct s2arm_fault *f);
/*
 * The syndrome of f (EC from insn and lower_el, IL set, the status code
 * from type and level, WnR, S1PTW, CM, FnV, ISV and SAS as given); ec and
 * fsc are ignored. 0 when no status code reports that type at that level.
 */
uint64_t s2arm_esr_encode(const struct s2arm_fault *f);

/* ------------------------------------------------------------------ */
/* Maintenance instructions                                            */
/* ------------------------------------------------------------------ */

/* TLBI operation flags. */
#define S2ARM_TLBI_IS		(1u << 0)	/* broadcast to the Inner Shareable domain */
#define S2ARM_TLBI_BY_ADDR	(1u << 1)	/* takes an address operand (IPA, VA) */
#define S2ARM_TLBI_LAST		(1u << 2)	/* last level only (the L forms) */
#define S2ARM_TLBI_EL2		(1u << 3)	/* the EL2 regime (its stage 1) */
#define S2ARM_TLBI_RANGE	(1u << 4)	/* FEAT_TLBIRANGE: an address range */

/* Each row: the operation as the architecture spells it, as an assembler
 * takes it, and its flags. */
#define S2ARM_TLBI_TABLE(X) \
	X(VMALLS12E1IS, vmalls12e1is, S2ARM_TLBI_IS) \
	X(IPAS2E1IS, ipas2e1is, S2ARM_TLBI_IS | S2ARM_TLBI_BY_ADDR) \
	X(IPAS2E1, ipas2e1, S2ARM_TLBI_BY_ADDR) \
	X(VMALLE1IS, vmalle1is, S2ARM_TLBI_IS) \
	X(VMALLE1, vmalle1, 0) \
	X(VMALLS12E1, vmalls12e1, 0) \
	X(IPAS2LE1IS, ipas2le1is, S2ARM_TLBI_IS | S2ARM_TLBI_BY_ADDR | S2ARM_TLBI_LAST) \
	X(IPAS2LE1, ipas2le1, S2ARM_TLBI_BY_ADDR | S2ARM_TLBI_LAST) \
	X(ALLE1IS, alle1is, S2ARM_TLBI_IS) \
	X(ALLE1, alle1, 0) \
	X(VAE2IS, vae2is, S2ARM_TLBI_EL2 | S2ARM_TLBI_IS | S2ARM_TLBI_BY_ADDR) \
	X(VAE2, vae2, S2ARM_TLBI_EL2 | S2ARM_TLBI_BY_ADDR) \
	X(VALE2IS, vale2is, S2ARM_TLBI_EL2 | S2ARM_TLBI_IS | S2ARM_TLBI_BY_ADDR | S2ARM_TLBI_LAST) \
	X(VALE2, vale2, S2ARM_TLBI_EL2 | S2ARM_TLBI_BY_ADDR | S2ARM_TLBI_LAST) \
	X(ALLE2IS, alle2is, S2ARM_TLBI_EL2 | S2ARM_TLBI_IS) \
	X(ALLE2, alle2, S2ARM_TLBI_EL2) \
	X(RIPAS2E1IS, ripas2e1is, S2ARM_TLBI_IS | S2ARM_TLBI_BY_ADDR | S2ARM_TLBI_RANGE)

enum s2arm_tlbi {
#define S2ARM_TLBI_ENUM(op, lower, flags) S2ARM_TLBI_##op,
	S2ARM_TLBI_TABLE(S2ARM_TLBI_ENUM)
#undef S2ARM_TLBI_ENUM
	S2ARM_NR_TLBI
};

/* "VMALLS12E1IS" (the architecture's spelling) and "vmalls12e1is" (an
 * assembler's, and the trace format's); "?" out of range. */
const char *s2arm_tlbi_name(enum s2arm_tlbi op);
const char *s2arm_tlbi_mnemonic(enum s2arm_tlbi op);
/* The operation of a mnemonic (either case); -1 for an unknown one. */
int s2arm_tlbi_parse(const char *name);
/* Its S2ARM_TLBI_* flags; 0 out of range. */
unsigned s2arm_tlbi_flags(enum s2arm_tlbi op);

/* Data and instruction cache maintenance by mnemonic, in the order of the
 * cache model's operations (cache-model/s2cache.h). */
#define S2ARM_DC_TABLE(X) \
	X(CIVAC, civac)	/* clean and invalidate to PoC */ \
	X(CVAC, cvac)	/* clean to PoC */ \
	X(IVAC, ivac)	/* invalidate to PoC: dirty data is lost */ \
	X(CVAU, cvau)	/* clean to PoU */ \
	X(ZVA, zva)	/* zero a block, as a cacheable store */

#define S2ARM_IC_TABLE(X) \
	X(IVAU, ivau)		/* invalidate icache lines to PoU, every CPU */ \
	X(IALLU, iallu)		/* invalidate this CPU's whole icache */ \
	X(IALLUIS, ialluis)	/* invalidate every CPU's whole icache */

enum s2arm_dc {
#define S2ARM_DC_ENUM(op, lower) S2ARM_DC_##op,
	S2ARM_DC_TABLE(S2ARM_DC_ENUM)
#undef S2ARM_DC_ENUM
	S2ARM_NR_DC
};

enum s2arm_ic {
#define S2ARM_IC_ENUM(op, lower) S2ARM_IC_##op,
	S2ARM_IC_TABLE(S2ARM_IC_ENUM)
#undef S2ARM_IC_ENUM
	S2ARM_NR_IC
};

/* "DC CIVAC", "IC IVAU": the instruction; "civac", "ivau": its operation as
 * a trace writes it. -1 from parse for an unknown operation. */
const char *s2arm_dc_name(enum s2arm_dc op);
const char *s2arm_dc_mnemonic(enum s2arm_dc op);
int s2arm_dc_parse(const char *name);
const char *s2arm_ic_name(enum s2arm_ic op);
const char *s2arm_ic_mnemonic(enum s2arm_ic op);
int s2arm_ic_parse(const char *name);

/* The DSB domains and access types, in the order of the walker's barriers
 * (walker/s2pt.h enum s2pt_barrier). */
#define S2ARM_DSB_TABLE(X) \
	X(ISHST, ishst) \
	X(ISH, ish) \
	X(NSHST, nshst) \
	X(NSH, nsh) \
	X(SY, sy)

enum s2arm_dsb {
#define S2ARM_DSB_ENUM(op, lower) S2ARM_DSB_##op,
	S2ARM_DSB_TABLE(S2ARM_DSB_ENUM)
#undef S2ARM_DSB_ENUM
	S2ARM_NR_DSB
};

/* "ish", ...; "?" out of range; -1 from parse for an unknown domain. */
const char *s2arm_dsb_mnemonic(enum s2arm_dsb d);
int s2arm_dsb_parse(const char *name);

/* ------------------------------------------------------------------ */
/* Memory types                                                        */
/* ------------------------------------------------------------------ */

enum s2arm_mt {
	S2ARM_MT_DEVICE,	/* any Device type: never cached */
	S2ARM_MT_NORMAL_NC,	/* Normal Non-cacheable */
	S2ARM_MT_NORMAL_WB,	/* Normal Inner/Outer Write-Back */
	S2ARM_MT_AS_S1,		/* stage 2 only: let stage 1 decide (FWB MemAttr 0b111) */
};

/*
 * Combined attribute of a data access through stage 1 then stage 2.
 * Without FWB the stricter of the two wins (Device over Normal, NC over WB).
 * With FEAT_S2FWB (HCR_EL2.FWB = 1) a stage-2 Normal-WB or Normal-NC
 * attribute is forced whatever stage 1 says, Device still combines.
 */
enum s2arm_mt s2arm_mt_combine(enum s2arm_mt s1, enum s2arm_mt s2, bool fwb);
/*
 * Whether a data access is cacheable: a guest with its MMU off makes
 * Device accesses (DDI 0487 D8, SCTLR_EL1.M == 0), with it on we assume
 * Normal-WB memory at stage 1.
 */
bool s2arm_cacheable(enum s2arm_mt s2, bool guest_mmu_on, bool fwb);

#endif
