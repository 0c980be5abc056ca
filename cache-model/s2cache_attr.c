/* s2cache_attr: configuration decoding, memory-attribute combining and the
 * EL1 forms of the CMOs. Nothing here touches a model's state. */
#include "cache-model/s2cache.h"

#include "common/s2_bits.h"
#include "common/s2_err.h"

void s2cache_config_init(struct s2cache_config *cfg)
{
	*cfg = (struct s2cache_config){
		.ncpus = 1,
		.pa_bits = 48,
		.line_bytes = 64,
		.zva_bytes = 64,
	};
}

int s2cache_config_from_ctr(struct s2cache_config *cfg, uint64_t ctr_el0)
{
	/* CTR_EL0: IminLine [3:0] and DminLine [19:16] are log2 of 4-byte words. */
	unsigned dmin = (unsigned)s2_field_get(ctr_el0, 19, 16);
	unsigned imin = (unsigned)s2_field_get(ctr_el0, 3, 0);
	unsigned lg = (dmin > imin ? dmin : imin) + 2;

	if (lg < 4 || lg > 11)
		return S2_EINVAL;
	cfg->line_bytes = 1u << lg;
	cfg->idc = s2_field_get(ctr_el0, 28, 28);
	cfg->dic = s2_field_get(ctr_el0, 29, 29);
	return S2_OK;
}

static unsigned mt_rank(enum s2cache_mt mt)
{
	/* Higher is stricter; combining without FWB keeps the stricter. */
	switch (mt) {
	case S2CACHE_MT_DEVICE:
		return 2;
	case S2CACHE_MT_NORMAL_NC:
		return 1;
	default:
		return 0;
	}
}

enum s2cache_mt s2cache_combine(enum s2cache_mt s1, enum s2cache_mt s2, bool fwb)
{
	if (s1 == S2CACHE_MT_AS_S1)	/* not a stage-1 type; treat as the usual WB */
		s1 = S2CACHE_MT_NORMAL_WB;
	if (s2 == S2CACHE_MT_AS_S1)
		return s1;
	/*
	 * DDI 0487, FEAT_S2FWB: with HCR_EL2.FWB = 1 a stage-2 MemAttr of
	 * Normal (bit 2 set) gives the final type whatever stage 1 says, which
	 * is what lets KVM skip the clean to PoC for guests with caches off.
	 * A stage-2 Device type still combines with stage 1.
	 */
	if (fwb && s2 != S2CACHE_MT_DEVICE)
		return s2;
	return mt_rank(s1) >= mt_rank(s2) ? s1 : s2;
}

bool s2cache_cacheable(enum s2cache_mt s2, bool guest_mmu_on, bool fwb)
{
	/* DDI 0487 D8 (SCTLR_EL1.M == 0): stage-1 data accesses are Device-nGnRnE. */
	enum s2cache_mt s1 = guest_mmu_on ? S2CACHE_MT_NORMAL_WB : S2CACHE_MT_DEVICE;

	return s2cache_combine(s1, s2, fwb) == S2CACHE_MT_NORMAL_WB;
}

static const char *const op_names[] = {
#define S2CACHE_OP_NAME(id, name) name,
	S2CACHE_OP_TABLE(S2CACHE_OP_NAME)
#undef S2CACHE_OP_NAME
};

const char *s2cache_op_name(enum s2cache_op op)
{
	if ((unsigned)op >= S2CACHE_OP_COUNT)
		return "?";
	return op_names[op];
}

enum s2cache_op s2cache_op_at_el1(enum s2cache_op op, bool stage2_on, bool hcr_fb)
{
	/*
	 * DC IVAC pseudocode: at EL1 with EL2 enabled and HCR_EL2.{DC,VM} != 0
	 * it is executed as DC CIVAC. HCR_EL2.FB broadcasts IC IALLU to the
	 * Inner Shareable domain.
	 */
	if (op == S2CACHE_DC_IVAC && stage2_on)
		return S2CACHE_DC_CIVAC;
	if (op == S2CACHE_IC_IALLU && hcr_fb)
		return S2CACHE_IC_IALLUIS;
	return op;
}
