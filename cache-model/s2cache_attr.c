/* s2cache_attr: configuration decoding, the CMOs' names and their EL1
 * forms. Nothing here touches a model's state. */
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

const char *s2cache_op_name(enum s2cache_op op)
{
	if ((unsigned)op < S2ARM_NR_DC)
		return s2arm_dc_name((enum s2arm_dc)op);
	if ((unsigned)op < S2ARM_NR_DC + S2ARM_NR_IC)
		return s2arm_ic_name((enum s2arm_ic)(op - S2ARM_NR_DC));
	return op == S2CACHE_EVICT ? "evict" : "?";
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
