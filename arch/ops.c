/* The names of the maintenance instructions (TLBI, DC, IC, DSB domains). */
#include <stdbool.h>
#include <strings.h>

#include "arch/s2arm.h"

static const struct {
	const char *name, *mnemonic;
	unsigned flags;
} tlbis[S2ARM_NR_TLBI] = {
#define S2ARM_TLBI_ROW(op, lower, fl) [S2ARM_TLBI_##op] = { #op, #lower, fl },
	S2ARM_TLBI_TABLE(S2ARM_TLBI_ROW)
#undef S2ARM_TLBI_ROW
};

const char *s2arm_tlbi_name(enum s2arm_tlbi op)
{
	return (unsigned)op < S2ARM_NR_TLBI ? tlbis[op].name : "?";
}

const char *s2arm_tlbi_mnemonic(enum s2arm_tlbi op)
{
	return (unsigned)op < S2ARM_NR_TLBI ? tlbis[op].mnemonic : "?";
}

unsigned s2arm_tlbi_flags(enum s2arm_tlbi op)
{
	return (unsigned)op < S2ARM_NR_TLBI ? tlbis[op].flags : 0;
}

/* Whether name is the mnemonic (lower case, starting with a letter) in
 * any case; the first byte, folded, tells most apart without a call. */
static bool is_mnemonic(const char *name, const char *mnemonic)
{
	return (char)(*name | 0x20) == *mnemonic && !strcasecmp(name, mnemonic);
}

int s2arm_tlbi_parse(const char *name)
{
	for (unsigned i = 0; i < S2ARM_NR_TLBI; i++)
		if (is_mnemonic(name, tlbis[i].mnemonic))
			return (int)i;
	return -1;
}

struct op_name {
	const char *name, *mnemonic;
};

static const struct op_name dcs[S2ARM_NR_DC] = {
#define S2ARM_DC_ROW(op, lower) [S2ARM_DC_##op] = { "DC " #op, #lower },
	S2ARM_DC_TABLE(S2ARM_DC_ROW)
#undef S2ARM_DC_ROW
};

static const struct op_name ics[S2ARM_NR_IC] = {
#define S2ARM_IC_ROW(op, lower) [S2ARM_IC_##op] = { "IC " #op, #lower },
	S2ARM_IC_TABLE(S2ARM_IC_ROW)
#undef S2ARM_IC_ROW
};

static const struct op_name dsbs[S2ARM_NR_DSB] = {
#define S2ARM_DSB_ROW(op, lower) [S2ARM_DSB_##op] = { "DSB " #op, #lower },
	S2ARM_DSB_TABLE(S2ARM_DSB_ROW)
#undef S2ARM_DSB_ROW
};

static const struct op_name *row(const struct op_name *t, unsigned n, unsigned i)
{
	static const struct op_name unknown = { "?", "?" };
	return i < n ? &t[i] : &unknown;
}

static int find(const struct op_name *t, unsigned n, const char *mnemonic)
{
	for (unsigned i = 0; i < n; i++)
		if (is_mnemonic(mnemonic, t[i].mnemonic))
			return (int)i;
	return -1;
}

/* The look-ups of one table of operations, as s2arm.h declares them. */
#define OP_LOOKUPS(kind, table, n)                                          \
	const char *s2arm_##kind##_mnemonic(enum s2arm_##kind op)           \
	{                                                                   \
		return row(table, n, op)->mnemonic;                         \
	}                                                                   \
	int s2arm_##kind##_parse(const char *name)                          \
	{                                                                   \
		return find(table, n, name);                                \
	}

OP_LOOKUPS(dc, dcs, S2ARM_NR_DC)
OP_LOOKUPS(ic, ics, S2ARM_NR_IC)
OP_LOOKUPS(dsb, dsbs, S2ARM_NR_DSB)

const char *s2arm_dc_name(enum s2arm_dc op)
{
	return row(dcs, S2ARM_NR_DC, op)->name;
}

const char *s2arm_ic_name(enum s2arm_ic op)
{
	return row(ics, S2ARM_NR_IC, op)->name;
}
