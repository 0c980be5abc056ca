/* Internal helpers shared by the walker's sources (prefix s2pt__). */
#ifndef S2PT_INTERNAL_H
#define S2PT_INTERNAL_H

#include "walker/s2pt.h"

/* One load of an entry, as KVM's READ_ONCE: hardware walkers race with us. */
static inline s2_pte_t s2pt__read_pte(const s2_pte_t *ptep)
{
	return *(const volatile s2_pte_t *)ptep;
}

/* The output-address bits of a descriptor (bits [47:granule], and PA[51:48]
 * in [15:12] with 64K and a 52-bit PA). */
static inline s2_pte_t s2pt__oa_to_pte(const struct s2pt_geom *g, s2_pa_t pa)
{
	uint64_t v = s2_pa_get(pa);
	s2_pte_t pte = v & s2_genmask(47, g->granule_shift);
	if (g->granule_shift == 16 && g->pa_bits == 52)
		pte |= s2_field_get(v, 51, 48) << 12;
	return pte;
}

/* The attribute bits of a leaf with these permissions (KVM's data->attr),
 * computed once per operation rather than once per entry. */
s2_pte_t s2pt__leaf_attrs(enum s2pt_prot prot, bool fwb);

static inline s2_pte_t s2pt__leaf_from_attrs(const struct s2pt_geom *g, s2_level_t level,
					     s2_pa_t oa, s2_pte_t attrs)
{
	s2_pte_t pte = s2pt__oa_to_pte(g, oa) | attrs | S2PT_PTE_VALID;
	return level == S2_LEVEL_MAX ? pte | S2PT_PTE_TYPE : pte;
}

/* Broadcast TLBI of one IPA, with the barriers of __kvm_tlb_flush_vmid_ipa. */
void s2pt__tlbi_ipa(struct s2pt *pt, uint64_t ipa, s2_level_t level);
/* Local TLBI of one IPA, as __kvm_tlb_flush_vmid_ipa_nsh. */
void s2pt__tlbi_ipa_local(struct s2pt *pt, uint64_t ipa, s2_level_t level);
/* Broadcast TLBI of the whole VMID, as __kvm_tlb_flush_vmid. */
void s2pt__tlbi_vmid(struct s2pt *pt);
/* kvm_tlb_flush_vmid_range: the range with FEAT_TLBIRANGE, else the VMID. */
void s2pt__tlbi_range(struct s2pt *pt, uint64_t ipa, uint64_t size);

#endif
