/* Stage-2 descriptors: leaf, table and invalid entries, encoded and decoded,
 * checked bit for bit against the Arm layout (DDI 0487 D8.3, D8.5):
 *
 *   63   59 58  55 54  53 51   48 47          granule  15 12 11 10 9 8 7 6 5    2 1 0
 *   | .... |  SW  |XN | .. | (0)  |  output address    | OA* |nG |AF| SH |W|R| MemAttr|T|V|
 *
 *   OA*  = PA[51:48] with the 64K granule and a 52-bit PA, else part of OA/0
 *   T    = 1: table (levels < 3) or page (level 3); 0: block (a reserved
 *          encoding at level 3 and at levels shallower than the granule's
 *          first block level)
 *   MemAttr without FWB: Device-nGnRE 0b0001, Normal-NC 0b0101, Normal-WB 0b1111
 *   MemAttr with FWB:    Device-nGnRE 0b0001, Normal-NC 0b0101, Normal-WB 0b0110
 *   Invalid entries: bits [9:2] carry an owner id (counted), bit 10 is the
 *   break-before-make "locked" marker (not counted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_bits.h"
#include "walker/s2pt.h"

#define BIT(n) ((uint64_t)1 << (n))

struct cfg {
	unsigned gs, ipa;
};

/* The shallowest start level each granule has, so every block level is
 * reachable; 64K both without and with the 52-bit PA. */
static const struct cfg cfgs[] = {
	{ 12, 48 },	/* start level 0, PA 48 */
	{ 14, 48 },	/* start level 1 */
	{ 16, 48 },	/* start level 1, PA 48 */
	{ 16, 52 },	/* start level 1, PA 52: PA[51:48] in [15:12] */
};

static struct s2pt_geom geom(unsigned gs, unsigned ipa)
{
	struct s2pt_geom g;
	assert_int_equal(s2pt_geom_init(&g, gs, ipa, NULL), 0);
	return g;
}

/* Levels at which the Arm ARM allows a block or page without LPA2. */
static bool exp_leaf_level(unsigned gs, int level)
{
	return level == 3 || level == 2 || (gs == 12 && level == 1);
}

static uint64_t gsize(unsigned gs, int level)
{
	return BIT((gs - 3) * (unsigned)(3 - level) + gs);
}

/* The descriptor's output-address bits for pa, computed from the layout. */
static uint64_t exp_oa_bits(unsigned gs, unsigned pa_bits, uint64_t pa)
{
	uint64_t v = pa & (BIT(48) - 1) & ~(BIT(gs) - 1);
	if (gs == 16 && pa_bits == 52)
		v |= ((pa >> 48) & 0xf) << 12;
	return v;
}

static unsigned exp_memattr(unsigned prot, bool fwb)
{
	if (prot & S2PT_PROT_DEVICE)
		return 0x1;
	if (prot & S2PT_PROT_NC)
		return 0x5;
	return fwb ? 0x6 : 0xf;
}

/* Output addresses to try at a level: zero, one block, the top block of
 * the PA range, and two alternating bit patterns. */
static unsigned oas_for(const struct s2pt_geom *g, int level, uint64_t *oa)
{
	uint64_t size = gsize(g->granule_shift, level);
	uint64_t top = BIT(g->pa_bits);
	uint64_t mask = (top - 1) & ~(size - 1);
	oa[0] = 0;
	oa[1] = size;
	oa[2] = top - size;
	oa[3] = 0x5555555555555555ull & mask;
	oa[4] = 0xaaaaaaaaaaaaaaaaull & mask;
	return 5;
}

/* Every leaf: every granule, every level where a leaf is allowed, every
 * R/W/X/device/NC combination, with and without FWB, at five output
 * addresses: exact bits, decode, oa, prot and memtype agree. */
static void test_leaf_round_trip(void **state)
{
	(void)state;
	unsigned checked = 0;
	for (unsigned c = 0; c < S2_ARRAY_SIZE(cfgs); c++) {
		struct s2pt_geom g = geom(cfgs[c].gs, cfgs[c].ipa);
		unsigned gs = g.granule_shift;
		for (int level = g.start_level; level <= 3; level++) {
			if (!exp_leaf_level(gs, level))
				continue;
			assert_true(s2pt_leaf_allowed_at(&g, (s2_level_t)level));
			uint64_t oas[5];
			unsigned nr = oas_for(&g, level, oas);
			for (unsigned prot = 0; prot < 32; prot++) {
				for (int fwb = 0; fwb < 2; fwb++) {
					for (unsigned i = 0; i < nr; i++) {
						bool dev = prot & S2PT_PROT_DEVICE;
						bool nc = !dev && (prot & S2PT_PROT_NC);
						bool x = !dev && (prot & S2PT_PROT_X);
						uint64_t exp = BIT(0) | (level == 3 ? BIT(1) : 0) |
							       (uint64_t)exp_memattr(prot, fwb) << 2 |
							       ((prot & S2PT_PROT_R) ? BIT(6) : 0) |
							       ((prot & S2PT_PROT_W) ? BIT(7) : 0) |
							       (3ull << 8) | BIT(10) |
							       (x ? 0 : BIT(54)) |
							       exp_oa_bits(gs, g.pa_bits, oas[i]);
						s2_pte_t pte = s2pt_pte_leaf(&g, (s2_level_t)level,
									     s2_pa(oas[i]),
									     (enum s2pt_prot)prot, fwb);
						if (pte != exp)
							fail_msg("%uK L%d prot %#x fwb %d oa %#llx: pte %#llx want %#llx",
								 1u << (gs - 10), level, prot, fwb,
								 (unsigned long long)oas[i],
								 (unsigned long long)pte,
								 (unsigned long long)exp);
						struct s2pt_desc d;
						assert_int_equal(s2pt_pte_decode(&g, (s2_level_t)level, pte,
										 fwb, &d), 0);
						assert_true(d.valid);
						assert_false(d.table);
						assert_true(s2_pa_get(d.oa) == oas[i]);
						assert_true(s2_pa_get(s2pt_pte_oa(&g, pte)) == oas[i]);
						enum s2pt_memtype mt = dev ? S2PT_MT_DEVICE :
								       nc ? S2PT_MT_NORMAL_NC :
									    S2PT_MT_NORMAL;
						assert_int_equal(d.memtype, mt);
						assert_int_equal(s2pt_pte_memtype(pte, fwb), mt);
						assert_int_equal(d.read, !!(prot & S2PT_PROT_R));
						assert_int_equal(d.write, !!(prot & S2PT_PROT_W));
						assert_int_equal(d.exec, x);
						assert_int_equal(d.sh, 3);	/* inner shareable */
						assert_true(d.af);
						assert_int_equal(d.sw, 0);
						assert_int_equal(d.owner, 0);
						assert_false(d.locked);
						unsigned exp_prot = (prot & S2PT_PROT_RW) |
								    (x ? S2PT_PROT_X : 0) |
								    (dev ? S2PT_PROT_DEVICE : 0) |
								    (nc ? S2PT_PROT_NC : 0);
						assert_int_equal(s2pt_pte_prot(pte, fwb), exp_prot);
						assert_true(s2pt_pte_valid(pte));
						assert_true(s2pt_pte_is_leaf(pte, (s2_level_t)level));
						assert_false(s2pt_pte_is_table(pte, (s2_level_t)level));
						assert_true(s2pt_pte_is_counted(pte));
						checked++;
					}
				}
			}
		}
	}
	/* 4 configs; 3 + 2 + 2 + 2 leaf levels; 32 prots; 2; 5 addresses. */
	assert_int_equal(checked, 9 * 32 * 2 * 5);
}

/* A leaf's prot, re-encoded, gives the same descriptor: decode is the
 * inverse of encode for every normalised permission set. */
static void test_prot_reencode(void **state)
{
	(void)state;
	for (unsigned c = 0; c < S2_ARRAY_SIZE(cfgs); c++) {
		struct s2pt_geom g = geom(cfgs[c].gs, cfgs[c].ipa);
		for (unsigned prot = 0; prot < 32; prot++)
			for (int fwb = 0; fwb < 2; fwb++) {
				s2_pa_t oa = s2_pa(gsize(g.granule_shift, 2) * 3);
				s2_pte_t a = s2pt_pte_leaf(&g, 2, oa, (enum s2pt_prot)prot, fwb);
				s2_pte_t b = s2pt_pte_leaf(&g, 2, s2pt_pte_oa(&g, a),
							   s2pt_pte_prot(a, fwb), fwb);
				assert_true(a == b);
			}
	}
}

/* Device memory is never executable, whatever prot asks; FWB changes the
 * MemAttr of normal memory only. */
static void test_device_never_exec(void **state)
{
	(void)state;
	struct s2pt_geom g = geom(12, 40);
	for (int fwb = 0; fwb < 2; fwb++) {
		s2_pte_t pte = s2pt_pte_leaf(&g, 3, s2_pa(0x1000),
					     S2PT_PROT_RWX | S2PT_PROT_DEVICE, fwb);
		assert_true(pte & S2PT_PTE_XN);
		assert_int_equal(s2pt_pte_prot(pte, fwb) & S2PT_PROT_X, 0);
		assert_int_equal(s2pt_pte_memtype(pte, fwb), S2PT_MT_DEVICE);
	}
	s2_pte_t n = s2pt_pte_leaf(&g, 3, s2_pa(0x1000), S2PT_PROT_RW, false);
	s2_pte_t f = s2pt_pte_leaf(&g, 3, s2_pa(0x1000), S2PT_PROT_RW, true);
	assert_true((n ^ f) == (0x9ull << 2));	/* 0b1111 vs 0b0110 */
}

/* Device-nGnRnE/nGRE/GRE (MemAttr 0b00xx) all decode as device, FWB or not. */
static void test_memtype_other_device_types(void **state)
{
	(void)state;
	for (uint64_t ma = 0; ma < 4; ma++)
		for (int fwb = 0; fwb < 2; fwb++) {
			s2_pte_t pte = 0x401 | ma << 2;
			assert_int_equal(s2pt_pte_memtype(pte, fwb), S2PT_MT_DEVICE);
		}
}

/* The highest output addresses: bit 47 with a 48-bit PA, and with 64K and
 * a 52-bit PA, PA[51:48] lands in bits [15:12] while [47:16] keep theirs. */
static void test_oa_top_of_pa_range(void **state)
{
	(void)state;
	struct s2pt_geom g4 = geom(12, 48);
	s2_pte_t pte = s2pt_pte_leaf(&g4, 3, s2_pa(BIT(47)), S2PT_PROT_R, false);
	assert_true(pte & BIT(47));
	assert_true(s2_pa_get(s2pt_pte_oa(&g4, pte)) == BIT(47));
	pte = s2pt_pte_table(&g4, s2_pa(BIT(47) | 0x1000));
	assert_true(s2_pa_get(s2pt_pte_oa(&g4, pte)) == (BIT(47) | 0x1000));

	struct s2pt_geom g = geom(16, 52);
	assert_int_equal(g.pa_bits, 52);
	uint64_t pa = 0x000a123456780000ull;	/* PA[51:48] = 0xa */
	pte = s2pt_pte_leaf(&g, 3, s2_pa(pa), S2PT_PROT_RW, false);
	assert_int_equal((pte >> 12) & 0xf, 0xa);
	assert_true((pte & 0x0000ffffffff0000ull) == (pa & 0x0000ffffffff0000ull));
	assert_int_equal((pte >> 48) & 0xf, 0);	/* [51:48] of the pte stay clear */
	assert_true(s2_pa_get(s2pt_pte_oa(&g, pte)) == pa);
	/* The very top 64K page of the 52-bit range. */
	uint64_t top = BIT(52) - BIT(16);
	pte = s2pt_pte_leaf(&g, 3, s2_pa(top), S2PT_PROT_R, false);
	assert_int_equal((pte >> 12) & 0xf, 0xf);
	assert_true(s2_pa_get(s2pt_pte_oa(&g, pte)) == top);
	/* Table descriptors use the same split. */
	pte = s2pt_pte_table(&g, s2_pa(top));
	assert_true(pte == ((top & 0x0000ffffffff0000ull) | 0xf000 | 3));
	struct s2pt_desc d;
	assert_int_equal(s2pt_pte_decode(&g, 1, pte, false, &d), 0);
	assert_true(d.table);
	assert_true(s2_pa_get(d.oa) == top);

	/* 64K with a 48-bit PA keeps [15:12] clear. */
	struct s2pt_geom g48 = geom(16, 48);
	pte = s2pt_pte_leaf(&g48, 3, s2_pa(BIT(48) - BIT(16)), S2PT_PROT_R, false);
	assert_int_equal((pte >> 12) & 0xf, 0);
	assert_true(s2_pa_get(s2pt_pte_oa(&g48, pte)) == BIT(48) - BIT(16));
}

/* Table descriptors: valid + type and the address, no attributes; a table
 * at levels below 3, a page when the same bits sit at level 3. */
static void test_table_descriptors(void **state)
{
	(void)state;
	for (unsigned c = 0; c < S2_ARRAY_SIZE(cfgs); c++) {
		struct s2pt_geom g = geom(cfgs[c].gs, cfgs[c].ipa);
		uint64_t oas[5];
		oas_for(&g, 3, oas);
		for (unsigned i = 0; i < 5; i++) {
			s2_pte_t pte = s2pt_pte_table(&g, s2_pa(oas[i]));
			assert_true(pte == (exp_oa_bits(g.granule_shift, g.pa_bits, oas[i]) | 3));
			assert_true(s2pt_pte_is_counted(pte));
			for (int level = g.start_level; level < 3; level++) {
				struct s2pt_desc d;
				assert_true(s2pt_pte_is_table(pte, (s2_level_t)level));
				assert_false(s2pt_pte_is_leaf(pte, (s2_level_t)level));
				assert_int_equal(s2pt_pte_decode(&g, (s2_level_t)level, pte, false, &d), 0);
				assert_true(d.valid);
				assert_true(d.table);
				assert_true(s2_pa_get(d.oa) == oas[i]);
			}
			struct s2pt_desc d;
			assert_false(s2pt_pte_is_table(pte, 3));
			assert_true(s2pt_pte_is_leaf(pte, 3));
			assert_int_equal(s2pt_pte_decode(&g, 3, pte, false, &d), 0);
			assert_true(d.valid);
			assert_false(d.table);
		}
	}
}

/* Invalid entries: zero is uncounted; an owner id in [9:2] is counted and
 * decodes back; the locked marker is uncounted and decodes as locked. */
static void test_invalid_descriptors(void **state)
{
	(void)state;
	struct s2pt_geom g = geom(12, 40);
	struct s2pt_desc d;

	assert_false(s2pt_pte_is_counted(0));
	assert_int_equal(s2pt_pte_decode(&g, 2, 0, false, &d), 0);
	assert_false(d.valid);
	assert_int_equal(d.owner, 0);
	assert_false(d.locked);

	for (unsigned owner = 1; owner <= 255; owner++) {
		s2_pte_t pte = s2pt_pte_owner(owner);
		assert_true(pte == (uint64_t)owner << 2);
		assert_false(s2pt_pte_valid(pte));
		assert_false(s2pt_pte_is_leaf(pte, 3));
		assert_false(s2pt_pte_is_table(pte, 1));
		assert_true(s2pt_pte_is_counted(pte));
		for (int level = g.start_level; level <= 3; level++) {
			assert_int_equal(s2pt_pte_decode(&g, (s2_level_t)level, pte, false, &d), 0);
			assert_false(d.valid);
			assert_int_equal(d.owner, owner);
			assert_false(d.locked);
		}
	}
	assert_true(s2pt_pte_owner(0) == 0);

	assert_true(S2PT_PTE_LOCKED == BIT(10));
	assert_false(s2pt_pte_valid(S2PT_PTE_LOCKED));
	assert_false(s2pt_pte_is_counted(S2PT_PTE_LOCKED));
	assert_int_equal(s2pt_pte_decode(&g, 3, S2PT_PTE_LOCKED, false, &d), 0);
	assert_false(d.valid);
	assert_true(d.locked);
	assert_int_equal(d.owner, 0);

	/* An owned entry that is also locked stays counted. */
	s2_pte_t both = s2pt_pte_owner(7) | S2PT_PTE_LOCKED;
	assert_true(s2pt_pte_is_counted(both));
	assert_int_equal(s2pt_pte_decode(&g, 2, both, false, &d), 0);
	assert_int_equal(d.owner, 7);
	assert_true(d.locked);
}

/* Block descriptors where the granule has no blocks (4K level 0, 16K and
 * 64K level 1) and block-type descriptors at level 3 are reserved. */
static void test_decode_rejects_reserved_blocks(void **state)
{
	(void)state;
	struct s2pt_desc d;
	/* A valid, type 0 descriptor with normal attributes. */
	s2_pte_t block = BIT(0) | 0xfull << 2 | 3ull << 6 | 3ull << 8 | BIT(10);

	struct s2pt_geom g4 = geom(12, 48);
	assert_int_equal(g4.start_level, 0);
	assert_int_equal(s2pt_pte_decode(&g4, 0, block, false, &d), S2_EINVAL);
	assert_int_equal(s2pt_pte_decode(&g4, 1, block | BIT(30), false, &d), 0);
	assert_int_equal(s2pt_pte_decode(&g4, 3, block | BIT(12), false, &d), S2_EINVAL);

	struct s2pt_geom g16 = geom(14, 48);
	assert_int_equal(g16.start_level, 1);
	assert_int_equal(s2pt_pte_decode(&g16, 1, block, false, &d), S2_EINVAL);
	assert_int_equal(s2pt_pte_decode(&g16, 2, block, false, &d), 0);
	assert_int_equal(s2pt_pte_decode(&g16, 3, block, false, &d), S2_EINVAL);

	struct s2pt_geom g64 = geom(16, 52);
	assert_int_equal(g64.start_level, 1);
	assert_int_equal(s2pt_pte_decode(&g64, 1, block, false, &d), S2_EINVAL);
	assert_int_equal(s2pt_pte_decode(&g64, 2, block, false, &d), 0);
	assert_int_equal(s2pt_pte_decode(&g64, 3, block, true, &d), S2_EINVAL);

	/* The same bits with the type bit set are fine at level 3 (a page). */
	assert_int_equal(s2pt_pte_decode(&g64, 3, block | BIT(1), false, &d), 0);
	assert_false(d.table);
}

/* Levels the geometry has no tables for are refused. */
static void test_decode_rejects_bad_levels(void **state)
{
	(void)state;
	struct s2pt_desc d;
	struct s2pt_geom g = geom(12, 40);	/* start level 1 */
	s2_pte_t page = s2pt_pte_leaf(&g, 3, s2_pa(0x1000), S2PT_PROT_R, false);
	assert_int_equal(s2pt_pte_decode(&g, 0, s2pt_pte_table(&g, s2_pa(0x1000)), false, &d),
			 S2_EINVAL);
	assert_int_equal(s2pt_pte_decode(&g, -1, 0, false, &d), S2_EINVAL);
	assert_int_equal(s2pt_pte_decode(&g, 4, page, false, &d), S2_EINVAL);
}

/* Software bits [58:55] and a cleared AF decode as such and leave the
 * address and permissions alone. */
static void test_decode_sw_bits_and_old(void **state)
{
	(void)state;
	struct s2pt_geom g = geom(12, 40);
	s2_pte_t pte = s2pt_pte_leaf(&g, 2, s2_pa(0x40200000), S2PT_PROT_RWX, false);
	pte |= 0xaull << 55;
	pte &= ~S2PT_PTE_AF;
	struct s2pt_desc d;
	assert_int_equal(s2pt_pte_decode(&g, 2, pte, false, &d), 0);
	assert_int_equal(d.sw, 0xa);
	assert_false(d.af);
	assert_true(s2_pa_get(d.oa) == 0x40200000);
	assert_int_equal(s2pt_pte_prot(pte, false), S2PT_PROT_RWX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_round_trip),
		cmocka_unit_test(test_prot_reencode),
		cmocka_unit_test(test_device_never_exec),
		cmocka_unit_test(test_memtype_other_device_types),
		cmocka_unit_test(test_oa_top_of_pa_range),
		cmocka_unit_test(test_table_descriptors),
		cmocka_unit_test(test_invalid_descriptors),
		cmocka_unit_test(test_decode_rejects_reserved_blocks),
		cmocka_unit_test(test_decode_rejects_bad_levels),
		cmocka_unit_test(test_decode_sw_bits_and_old),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
