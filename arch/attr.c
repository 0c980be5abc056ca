/* Memory types: combining stage 1 and stage 2 (DDI 0487 D8). */
#include "arch/s2arm.h"

static unsigned mt_rank(enum s2arm_mt mt)
{
	/* Higher is stricter; combining without FWB keeps the stricter. */
	switch (mt) {
	case S2ARM_MT_DEVICE:
		return 2;
	case S2ARM_MT_NORMAL_NC:
		return 1;
	default:
		return 0;
	}
}

enum s2arm_mt s2arm_mt_combine(enum s2arm_mt s1, enum s2arm_mt s2, bool fwb)
{
	if (s1 == S2ARM_MT_AS_S1)	/* not a stage-1 type; treat as the usual WB */
		s1 = S2ARM_MT_NORMAL_WB;
	if (s2 == S2ARM_MT_AS_S1)
		return s1;
	/*
	 * DDI 0487, FEAT_S2FWB: with HCR_EL2.FWB = 1 a stage-2 MemAttr of
	 * Normal (bit 2 set) gives the final type whatever stage 1 says, which
	 * is what lets KVM skip the clean to PoC for guests with caches off.
	 * A stage-2 Device type still combines with stage 1.
	 */
	if (fwb && s2 != S2ARM_MT_DEVICE)
		return s2;
	return mt_rank(s1) >= mt_rank(s2) ? s1 : s2;
}

bool s2arm_cacheable(enum s2arm_mt s2, bool guest_mmu_on, bool fwb)
{
	/* DDI 0487 D8 (SCTLR_EL1.M == 0): stage-1 data accesses are Device-nGnRnE. */
	enum s2arm_mt s1 = guest_mmu_on ? S2ARM_MT_NORMAL_WB : S2ARM_MT_DEVICE;

	return s2arm_mt_combine(s1, s2, fwb) == S2ARM_MT_NORMAL_WB;
}
