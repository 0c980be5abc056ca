/* libFuzzer harness for the effect-trace checker (hyp-model/effcheck.c):
 * any bytes as a sequence of effects over a small world (8 pages, 4 CPUs,
 * 2 locks), so that stores link tables, roots get installed and VMIDs
 * reused. The checker must not crash, leak or hang, and every violation it
 * reports must carry a known rule and the line of an event that happened.
 *
 * Build it with clang -fsanitize=fuzzer,address,undefined -I. against the .c
 * files of the library (scripts/fuzz-smoke.sh does), and run it on
 * tests/fuzz/corpus/effect.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hyp-model/s2hyp_effect.h"

#define BASE 0x40000000ull
#define PAGES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t page(unsigned k)
{
	return BASE + (uint64_t)(k % PAGES) * 0x1000;
}

/* A descriptor: invalid, a table of one of the pages, a block or a page. */
static uint64_t desc(uint8_t kind, uint8_t k)
{
	switch (kind & 3) {
	case 0:
		return 0;
	case 1:
		return page(k) | 3;
	case 2:
		return 0x80000000ull + ((uint64_t)k << 21) + 0x7c1;
	default:
		return 0x90000000ull + ((uint64_t)k << 12) + 0x7c3;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s2eff *e = s2eff_new();
	const char *why;
	unsigned line = 0;

	if (!e)
		return 0;
	/* Every page is ours from the start; the input does the rest. */
	for (unsigned k = 0; k < PAGES; k++)
		s2eff_init(e, (struct s2eff_at){ ++line, 0 }, page(k), 0x1000, &why);
	for (size_t i = 0; i + 6 <= size; i += 6) {
		const uint8_t *b = data + i;
		struct s2eff_at at = { ++line, b[1] & 3 };
		uint64_t entry = page(b[2]) + (uint64_t)(b[3] & 7) * 8;
		switch (b[0] % 14) {
		case 0:
		case 1:
		case 2:
			s2eff_write(e, at, entry, desc(b[4], b[5]), b[0] & 0x80, false, &why);
			break;
		case 3:
			s2eff_sysreg(e, at, S2EFF_VTTBR_EL2, page(b[2]) | (uint64_t)(b[4] & 3) << 48, &why);
			break;
		case 4:
			s2eff_sysreg(e, at, S2EFF_TTBR0_EL2, page(b[2]) | (uint64_t)(b[4] & 1) << 48, &why);
			break;
		case 5:
			s2eff_dsb(e, at, (enum s2arm_dsb)(b[4] % S2ARM_NR_DSB));
			break;
		case 6:
			s2eff_tlbi(e, at, (enum s2arm_tlbi)(b[4] % S2ARM_NR_TLBI),
				   (uint64_t)b[5] << 21, (int)(b[2] % 5) - 1, (int)(b[3] % 4) - 1);
			break;
		case 7:
			s2eff_lock(e, at, b[4] & 1 ? BASE : UINT64_MAX, b[5] & 1, &why);
			break;
		case 8:
			s2eff_unlock(e, at, b[4] & 1 ? BASE : UINT64_MAX, &why);
			break;
		case 9:
			s2eff_hint(e, at, (enum s2eff_hint)(b[4] % 3), page(b[2]), BASE, &why);
			break;
		case 10:
			s2eff_release(e, at, page(b[2]), 0x1000, &why);
			break;
		case 11:
			s2eff_init(e, at, page(b[2]), 0x1000, &why);
			break;
		case 12:
			s2eff_sysreg(e, at, S2EFF_HCR_EL2, (uint64_t)(b[4] & 1) << 34, &why);
			break;
		default:
			s2eff_set_ignore_ttl(e, b[4] & 1);
			break;
		}
	}
	int level;
	uint64_t d;
	s2eff_lookup(e, (uint64_t)(size & 0xff) << 21, &level, &d);
	for (unsigned i = 0; i < s2eff_nr_violations(e); i++) {
		const struct s2eff_violation *v = s2eff_violation(e, i);
		if ((unsigned)v->rule >= S2HYP_NR_RULES || !v->at.line || v->at.line > line ||
		    v->nrel > S2EFF_MAX_RELATED)
			abort();
		for (unsigned k = 0; k < v->nrel; k++)
			if (!v->rel[k].line || v->rel[k].line > line)
				abort();
	}
	s2eff_free(e);
	return 0;
}
