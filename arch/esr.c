/* The syndrome of a stage-2 abort (ESR_ELx, DDI 0487 D24.2.45), decoded into
 * a fault record and encoded from one. */
#include "arch/s2arm.h"
#include "common/s2_bits.h"
#include "common/s2_err.h"

#define NO_LEVEL 9	/* marks a code that names no level (or level -2, FEAT_D128) */

/* DFSC/IFSC, ISS [5:0]: type and lookup level. Codes without an entry are
 * reserved. */
#define F(kind, lvl) { 1, S2ARM_FAULT_##kind, lvl }
static const struct {
	uint8_t assigned;
	uint8_t type;	/* enum s2arm_fault_type */
	int8_t level;
} fsc_table[64] = {
	[0x00] = F(ADDR_SIZE, 0),	[0x01] = F(ADDR_SIZE, 1),
	[0x02] = F(ADDR_SIZE, 2),	[0x03] = F(ADDR_SIZE, 3),
	[0x04] = F(TRANSLATION, 0),	[0x05] = F(TRANSLATION, 1),
	[0x06] = F(TRANSLATION, 2),	[0x07] = F(TRANSLATION, 3),
	/* Level 0 access-flag and permission faults exist since FEAT_LPA2. */
	[0x08] = F(ACCESS_FLAG, 0),	[0x09] = F(ACCESS_FLAG, 1),
	[0x0a] = F(ACCESS_FLAG, 2),	[0x0b] = F(ACCESS_FLAG, 3),
	[0x0c] = F(PERMISSION, 0),	[0x0d] = F(PERMISSION, 1),
	[0x0e] = F(PERMISSION, 2),	[0x0f] = F(PERMISSION, 3),
	[0x10] = F(EXTERNAL, NO_LEVEL),
	[0x11] = F(TAG_CHECK, NO_LEVEL),
	[0x12] = F(EXTERNAL_WALK, NO_LEVEL),
	[0x13] = F(EXTERNAL_WALK, -1),
	[0x14] = F(EXTERNAL_WALK, 0),	[0x15] = F(EXTERNAL_WALK, 1),
	[0x16] = F(EXTERNAL_WALK, 2),	[0x17] = F(EXTERNAL_WALK, 3),
	[0x18] = F(ECC, NO_LEVEL),
	[0x1b] = F(ECC_WALK, -1),
	[0x1c] = F(ECC_WALK, 0),	[0x1d] = F(ECC_WALK, 1),
	[0x1e] = F(ECC_WALK, 2),	[0x1f] = F(ECC_WALK, 3),
	[0x21] = F(ALIGNMENT, NO_LEVEL),
	[0x22] = F(GPF_WALK, NO_LEVEL),
	[0x23] = F(GPF_WALK, -1),
	[0x24] = F(GPF_WALK, 0),	[0x25] = F(GPF_WALK, 1),
	[0x26] = F(GPF_WALK, 2),	[0x27] = F(GPF_WALK, 3),
	[0x28] = F(GPF, NO_LEVEL),
	/* FEAT_LPA2 adds level -1; FEAT_D128's level -2 is beyond s2_level_t. */
	[0x29] = F(ADDR_SIZE, -1),
	[0x2a] = F(TRANSLATION, NO_LEVEL),
	[0x2b] = F(TRANSLATION, -1),
	[0x2c] = F(ADDR_SIZE, NO_LEVEL),
	[0x30] = F(TLB_CONFLICT, NO_LEVEL),
	[0x31] = F(ATOMIC_HW_UPDATE, NO_LEVEL),
	[0x34] = F(IMPDEF, NO_LEVEL),
	[0x35] = F(IMPDEF, NO_LEVEL),
};
#undef F

static const char *const fault_names[] = {
#define S2ARM_FAULT_NAME(id, name) name,
	S2ARM_FAULT_TABLE(S2ARM_FAULT_NAME)
#undef S2ARM_FAULT_NAME
};

const char *s2arm_fault_name(enum s2arm_fault_type t)
{
	return (unsigned)t < S2ARM_NR_FAULT_TYPES ? fault_names[t] : "?";
}

int s2arm_esr_decode(uint64_t esr, struct s2arm_fault *out)
{
	unsigned ec = (unsigned)s2_field_get(esr, 31, 26);
	struct s2arm_fault f = { .ec = ec };

	switch (ec) {
	case S2ARM_EC_IABT_LOW:
	case S2ARM_EC_IABT_CUR:
		f.insn = true;
		break;
	case S2ARM_EC_DABT_LOW:
	case S2ARM_EC_DABT_CUR:
		break;
	default:
		return S2_EINVAL;
	}
	f.lower_el = ec == S2ARM_EC_IABT_LOW || ec == S2ARM_EC_DABT_LOW;
	f.fsc = (unsigned)s2_field_get(esr, 5, 0);
	if (fsc_table[f.fsc].assigned) {
		f.type = (enum s2arm_fault_type)fsc_table[f.fsc].type;
		f.has_level = fsc_table[f.fsc].level != NO_LEVEL;
		f.level = f.has_level ? (s2_level_t)fsc_table[f.fsc].level : 0;
	} else {
		f.type = S2ARM_FAULT_RESERVED;
	}
	f.s1ptw = s2_field_get(esr, 7, 7);
	f.fnv = s2_field_get(esr, 10, 10);
	if (!f.insn) {
		f.write = s2_field_get(esr, 6, 6) && !f.s1ptw;
		f.cm = s2_field_get(esr, 8, 8);
		f.isv = s2_field_get(esr, 24, 24);
		if (f.isv)
			f.access_bytes = 1u << s2_field_get(esr, 23, 22);
	}
	*out = f;
	return 0;
}

uint64_t s2arm_esr_encode(const struct s2arm_fault *f)
{
	int fsc = -1;
	for (unsigned c = 0; c < 64 && fsc < 0; c++)
		if (fsc_table[c].assigned && fsc_table[c].type == f->type &&
		    (f->has_level ? fsc_table[c].level == f->level : fsc_table[c].level == NO_LEVEL))
			fsc = (int)c;
	if (fsc < 0)
		return 0;
	uint64_t ec = f->insn ? (f->lower_el ? S2ARM_EC_IABT_LOW : S2ARM_EC_IABT_CUR) :
				(f->lower_el ? S2ARM_EC_DABT_LOW : S2ARM_EC_DABT_CUR);
	uint64_t esr = ec << 26 | s2_bit(25) | (uint64_t)fsc;	/* IL: a 32-bit instruction */
	if (f->s1ptw)
		esr |= s2_bit(7);
	if (f->fnv)
		esr |= s2_bit(10);
	if (!f->insn) {
		if (f->write)
			esr |= s2_bit(6);
		if (f->cm)
			esr |= s2_bit(8);
		if (f->isv) {
			unsigned sas = f->access_bytes >= 8 ? 3 : f->access_bytes >= 4 ? 2 :
				       f->access_bytes >= 2 ? 1 : 0;
			esr |= s2_bit(24) | (uint64_t)sas << 22;
		}
	}
	return esr;
}
