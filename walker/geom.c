/* Geometry and descriptor encoding of the stage-2 tables. */
#include "walker/s2pt.h"

#include "common/s2_bits.h"
#include "walker/s2pt_internal.h"

/* VTCR_EL2 fields (DDI 0487 D23: VTCR_EL2). */
#define VTCR_T0SZ_HI 5
#define VTCR_T0SZ_LO 0
#define VTCR_SL0_HI 7
#define VTCR_SL0_LO 6
#define VTCR_TG0_HI 15
#define VTCR_TG0_LO 14
#define VTCR_PS_HI 18
#define VTCR_PS_LO 16

/*
 * The smallest IPA the architecture lets T0SZ describe at stage 2 is 25 bits
 * (T0SZ <= 39 without FEAT_TTST); KVM itself never goes below 32.
 */
#define S2PT_MIN_VTCR_IPA_BITS 25

static const unsigned ps_bits[] = { 32, 36, 40, 42, 44, 48, 52 };

static bool granule_ok(unsigned granule_shift)
{
	return granule_shift == 12 || granule_shift == 14 || granule_shift == 16;
}

static unsigned max_ipa_bits(unsigned granule_shift)
{
	/* 52-bit IPA without LPA2 only exists with 64K (FEAT_LPA). */
	return granule_shift == 16 ? 52 : 48;
}

/* Fill the derived fields; start_level and ipa_bits must be set. */
static int geom_finish(struct s2pt_geom *g, const char **why)
{
	g->stride = g->granule_shift - 3;
	g->min_block_level = g->granule_shift == 12 ? 1 : 2;
	if (g->start_level < 0 || g->start_level > S2_LEVEL_MAX) {
		*why = "start level out of range (level -1 needs FEAT_LPA2, not modelled)";
		return S2_EINVAL;
	}
	unsigned shift = s2pt_level_shift(g, g->start_level);
	if (g->ipa_bits <= shift) {
		/* DDI 0487 D8.2.6: the start level must resolve at least one bit. */
		*why = "the start level resolves no IPA bit (start level too deep for T0SZ)";
		return S2_EINVAL;
	}
	unsigned root_bits = g->ipa_bits - shift;
	if (root_bits > g->stride + 4) {
		/* DDI 0487 D8.2.6: at most 16 concatenated tables at stage 2. */
		*why = "more than 16 concatenated root tables needed (start level too shallow for T0SZ)";
		return S2_EINVAL;
	}
	g->nr_roots = root_bits > g->stride ? 1u << (root_bits - g->stride) : 1;
	if (!g->pa_bits)
		g->pa_bits = g->ipa_bits > 48 ? 52 : 48;
	return 0;
}

int s2pt_geom_init(struct s2pt_geom *g, unsigned granule_shift,
		   unsigned ipa_bits, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*g = (struct s2pt_geom){ 0 };
	if (!granule_ok(granule_shift)) {
		*why = "granule must be 4K, 16K or 64K";
		return S2_EINVAL;
	}
	if (ipa_bits < 32 || ipa_bits > max_ipa_bits(granule_shift)) {
		*why = granule_shift == 16 ? "IPA size must be 32 to 52 bits" :
					     "IPA size must be 32 to 48 bits (52 needs the 64K granule)";
		return S2_EINVAL;
	}
	g->granule_shift = granule_shift;
	g->ipa_bits = ipa_bits;
	unsigned stride = granule_shift - 3;
	/*
	 * KVM: levels = ARM64_HW_PGTABLE_LEVELS(ipa - 4), i.e. use up to 4 extra
	 * bits of concatenation at the start level, and at least 2 levels so a
	 * stage-2 block never exceeds a host PMD.
	 */
	unsigned levels = (ipa_bits - 8) / stride;
	if (levels < 2)
		levels = 2;
	g->start_level = (s2_level_t)(4 - levels);
	return geom_finish(g, why);
}

int s2pt_geom_from_vtcr(struct s2pt_geom *g, uint64_t vtcr, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	*g = (struct s2pt_geom){ 0 };
	unsigned t0sz = (unsigned)s2_field_get(vtcr, VTCR_T0SZ_HI, VTCR_T0SZ_LO);
	unsigned sl0 = (unsigned)s2_field_get(vtcr, VTCR_SL0_HI, VTCR_SL0_LO);
	unsigned tg0 = (unsigned)s2_field_get(vtcr, VTCR_TG0_HI, VTCR_TG0_LO);
	unsigned ps = (unsigned)s2_field_get(vtcr, VTCR_PS_HI, VTCR_PS_LO);

	switch (tg0) {
	case 0: g->granule_shift = 12; break;
	case 1: g->granule_shift = 16; break;
	case 2: g->granule_shift = 14; break;
	default:
		*why = "VTCR_EL2.TG0 = 0b11 is reserved";
		return S2_EINVAL;
	}
	if (ps >= S2_ARRAY_SIZE(ps_bits)) {
		*why = "VTCR_EL2.PS is a reserved encoding";
		return S2_EINVAL;
	}
	g->pa_bits = ps_bits[ps];
	if (t0sz > 64 - S2PT_MIN_VTCR_IPA_BITS) {
		*why = "VTCR_EL2.T0SZ too large: IPA space below 25 bits";
		return S2_EINVAL;
	}
	g->ipa_bits = 64 - t0sz;
	if (g->ipa_bits > max_ipa_bits(g->granule_shift)) {
		*why = "VTCR_EL2.T0SZ too small: IPA space above what the granule supports";
		return S2_EINVAL;
	}
	if (g->ipa_bits > g->pa_bits) {
		*why = "IPA space larger than the output address size (VTCR_EL2.PS)";
		return S2_EINVAL;
	}
	/*
	 * SL0 (DDI 0487 D23, VTCR_EL2.SL0): 4K: 0 = level 2, 1 = level 1,
	 * 2 = level 0; 16K/64K: 0 = level 3, 1 = level 2, 2 = level 1. SL0 = 3
	 * needs FEAT_TTST or FEAT_LPA2, which we do not model.
	 */
	if (sl0 == 3) {
		*why = "VTCR_EL2.SL0 = 0b11 needs FEAT_TTST/FEAT_LPA2 (not modelled)";
		return S2_EINVAL;
	}
	g->start_level = (s2_level_t)(g->granule_shift == 12 ? 2 - (int)sl0 : 3 - (int)sl0);
	return geom_finish(g, why);
}

uint64_t s2pt_geom_to_vtcr(const struct s2pt_geom *g)
{
	uint64_t tg0 = g->granule_shift == 12 ? 0 : g->granule_shift == 16 ? 1 : 2;
	uint64_t sl0 = g->granule_shift == 12 ? (uint64_t)(2 - g->start_level) :
						(uint64_t)(3 - g->start_level);
	uint64_t ps = 0;
	for (unsigned i = 0; i < S2_ARRAY_SIZE(ps_bits); i++)
		if (ps_bits[i] == g->pa_bits)
			ps = i;
	uint64_t v = 0;
	v = s2_field_set(v, VTCR_T0SZ_HI, VTCR_T0SZ_LO, 64 - g->ipa_bits);
	v = s2_field_set(v, VTCR_SL0_HI, VTCR_SL0_LO, sl0);
	v = s2_field_set(v, VTCR_TG0_HI, VTCR_TG0_LO, tg0);
	v = s2_field_set(v, VTCR_PS_HI, VTCR_PS_LO, ps);
	return v;
}

/* ------------------------------------------------------------------ */

/* MemAttr [5:2] encodings (DDI 0487 D8.5.5; FWB changes the meaning, D8.5.6). */
#define MEMATTR_NORMAL		0xfu	/* outer WB, inner WB */
#define MEMATTR_NORMAL_NC	0x5u	/* outer NC, inner NC */
#define MEMATTR_DEVICE		0x1u	/* Device-nGnRE */
#define MEMATTR_FWB_NORMAL	0x6u	/* FWB: normal write-back, whatever stage 1 says */
#define MEMATTR_FWB_NORMAL_NC	0x5u
#define MEMATTR_FWB_DEVICE	0x1u

s2_pte_t s2pt_pte_table(const struct s2pt_geom *g, s2_pa_t table)
{
	return s2pt__oa_to_pte(g, table) | S2PT_PTE_TYPE | S2PT_PTE_VALID;
}

static unsigned memattr_of(enum s2pt_prot prot, bool fwb)
{
	if (prot & S2PT_PROT_DEVICE)
		return fwb ? MEMATTR_FWB_DEVICE : MEMATTR_DEVICE;
	if (prot & S2PT_PROT_NC)
		return fwb ? MEMATTR_FWB_NORMAL_NC : MEMATTR_NORMAL_NC;
	return fwb ? MEMATTR_FWB_NORMAL : MEMATTR_NORMAL;
}

s2_pte_t s2pt_pte_leaf(const struct s2pt_geom *g, s2_level_t level, s2_pa_t oa,
		       enum s2pt_prot prot, bool fwb)
{
	return s2pt__leaf_from_attrs(g, level, oa, s2pt__leaf_attrs(prot, fwb));
}

s2_pte_t s2pt__leaf_attrs(enum s2pt_prot prot, bool fwb)
{
	s2_pte_t pte = (s2_pte_t)memattr_of(prot, fwb) << S2PT_PTE_MEMATTR_SHIFT;
	pte |= S2PT_PTE_SH_IS | S2PT_PTE_AF;
	if (prot & S2PT_PROT_R)
		pte |= S2PT_PTE_S2AP_R;
	if (prot & S2PT_PROT_W)
		pte |= S2PT_PTE_S2AP_W;
	/* Device memory is never executable at stage 2 (KVM refuses it too). */
	if (!(prot & S2PT_PROT_X) || (prot & S2PT_PROT_DEVICE))
		pte |= S2PT_PTE_XN;
	return pte;
}

enum s2pt_memtype s2pt_pte_memtype(s2_pte_t pte, bool fwb)
{
	unsigned ma = (unsigned)s2_field_get(pte, 5, 2);
	if (fwb) {
		/* FWB: MemAttr[2] = 1 is normal; [1:0] = 0b10 write-back, 0b01 NC. */
		if (ma & 0x4)
			return (ma & 0x3) == 0x2 ? S2PT_MT_NORMAL : S2PT_MT_NORMAL_NC;
		return S2PT_MT_DEVICE;
	}
	if ((ma & 0xc) == 0)
		return S2PT_MT_DEVICE;
	/* Inner cacheability [1:0]: 0b01 NC; anything else cacheable. */
	return (ma & 0x3) == 0x1 ? S2PT_MT_NORMAL_NC : S2PT_MT_NORMAL;
}

enum s2pt_prot s2pt_pte_prot(s2_pte_t pte, bool fwb)
{
	unsigned prot = 0;
	if (pte & S2PT_PTE_S2AP_R)
		prot |= S2PT_PROT_R;
	if (pte & S2PT_PTE_S2AP_W)
		prot |= S2PT_PROT_W;
	if (!(pte & S2PT_PTE_XN))
		prot |= S2PT_PROT_X;
	switch (s2pt_pte_memtype(pte, fwb)) {
	case S2PT_MT_DEVICE: prot |= S2PT_PROT_DEVICE; break;
	case S2PT_MT_NORMAL_NC: prot |= S2PT_PROT_NC; break;
	case S2PT_MT_NORMAL: break;
	}
	return (enum s2pt_prot)prot;
}

s2_pte_t s2pt_pte_owner(unsigned owner)
{
	return ((s2_pte_t)owner & 0xff) << S2PT_INVALID_OWNER_SHIFT;
}

int s2pt_pte_decode(const struct s2pt_geom *g, s2_level_t level, s2_pte_t pte,
		    bool fwb, struct s2pt_desc *d)
{
	*d = (struct s2pt_desc){ 0 };
	if (level < g->start_level || level > S2_LEVEL_MAX)
		return S2_EINVAL;
	d->valid = s2pt_pte_valid(pte);
	if (!d->valid) {
		d->owner = (unsigned)s2_field_get(pte, 9, 2);
		d->locked = (pte & S2PT_PTE_LOCKED) != 0;
		return 0;
	}
	d->oa = s2pt_pte_oa(g, pte);
	if (s2pt_pte_is_table(pte, level)) {
		d->table = true;
		return 0;
	}
	/* A block descriptor at level 3, or below the block levels, is reserved. */
	if (level == S2_LEVEL_MAX ? !(pte & S2PT_PTE_TYPE) : !s2pt_leaf_allowed_at(g, level))
		return S2_EINVAL;
	d->memtype = s2pt_pte_memtype(pte, fwb);
	d->read = (pte & S2PT_PTE_S2AP_R) != 0;
	d->write = (pte & S2PT_PTE_S2AP_W) != 0;
	d->exec = !(pte & S2PT_PTE_XN);
	d->sh = (unsigned)s2_field_get(pte, 9, 8);
	d->af = (pte & S2PT_PTE_AF) != 0;
	d->sw = (unsigned)s2_field_get(pte, 58, 55);
	return 0;
}
