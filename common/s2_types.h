/* s2_types: typed addresses and the translation level type.
 *
 * An IPA and a PA are different kinds of number; wrapping each in a
 * one-field struct makes passing one for the other a compile error
 * (Hafnium does the same). The helpers are trivial and inline.
 */
#ifndef S2_TYPES_H
#define S2_TYPES_H

#include <stdint.h>

typedef struct { uint64_t v; } s2_ipa_t;	/* intermediate physical address */
typedef struct { uint64_t v; } s2_pa_t;		/* physical address (output of stage 2) */

static inline s2_ipa_t s2_ipa(uint64_t v) { return (s2_ipa_t){ v }; }
static inline s2_pa_t s2_pa(uint64_t v) { return (s2_pa_t){ v }; }
static inline uint64_t s2_ipa_get(s2_ipa_t a) { return a.v; }
static inline uint64_t s2_pa_get(s2_pa_t a) { return a.v; }
static inline s2_ipa_t s2_ipa_add(s2_ipa_t a, uint64_t n) { return (s2_ipa_t){ a.v + n }; }
static inline s2_pa_t s2_pa_add(s2_pa_t a, uint64_t n) { return (s2_pa_t){ a.v + n }; }

/*
 * Translation level, Arm ARM numbering: 0..3 with the 4K/16K/64K granules,
 * -1 with FEAT_LPA2's 52-bit 4K configuration. Signed on purpose; never
 * reversed numbering.
 */
typedef int8_t s2_level_t;
#define S2_LEVEL_MIN ((s2_level_t)-1)
#define S2_LEVEL_MAX ((s2_level_t)3)

#endif
