#include "tests/fake_mm.h"

#include <stdio.h>
#include <string.h>

static void logf_(struct fake_mm *fm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void logf_(struct fake_mm *fm, const char *fmt, ...)
{
	if (!fm->record || fm->n >= FAKE_LOG_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fm->log[fm->n++], sizeof(fm->log[0]), fmt, ap);
	va_end(ap);
}

static void *f_zalloc_page(void *ctx)
{
	struct fake_mm *fm = ctx;
	logf_(fm, "alloc");
	return s2pool_alloc(fm->pool);
}

static void *f_zalloc_pages_exact(void *ctx, unsigned nr)
{
	struct fake_mm *fm = ctx;
	return s2pool_alloc_exact(fm->pool, nr);
}

static void f_free_page(void *ctx, void *page)
{
	struct fake_mm *fm = ctx;
	logf_(fm, "freed");
	s2pool_free(fm->pool, page);
}

static void f_free_pages_exact(void *ctx, void *pages, unsigned nr)
{
	struct fake_mm *fm = ctx;
	s2pool_mm_ops.free_pages_exact(fm->pool, pages, nr);
}

static void f_get_page(void *ctx, void *addr)
{
	struct fake_mm *fm = ctx;
	logf_(fm, "get");
	s2pool_get(fm->pool, addr);
}

static void f_put_page(void *ctx, void *addr)
{
	struct fake_mm *fm = ctx;
	logf_(fm, "put");
	if (s2pool_put(fm->pool, addr))
		logf_(fm, "freed");
}

static int f_page_count(void *ctx, void *addr)
{
	struct fake_mm *fm = ctx;
	struct s2pool_page *pg = s2pool_page_of(fm->pool, addr);
	return pg ? pg->refcount : 0;
}

static void *f_phys_to_virt(void *ctx, s2_pa_t pa)
{
	struct fake_mm *fm = ctx;
	struct s2pool_page *pg = s2pool_page_at(fm->pool, pa);
	if (pg && pg->state != S2POOL_PAGE_LIVE)
		logf_(fm, "walk-freed");
	return s2pool_va(fm->pool, pa);
}

static s2_pa_t f_virt_to_phys(void *ctx, void *va)
{
	struct fake_mm *fm = ctx;
	return s2pool_pa(fm->pool, va);
}

static const char *kind_of(struct fake_mm *fm, s2_pte_t pte, s2_level_t *level)
{
	*level = -1;
	if (pte == 0)
		return "0";
	if (pte == S2PT_PTE_LOCKED)
		return "locked";
	if (!s2pt_pte_valid(pte))
		return "invalid";
	(void)fm;
	if ((pte & S2PT_PTE_TYPE) && !(pte & S2PT_PTE_AF))
		return "table";	/* tables carry no attributes; leaves always AF */
	if (pte & S2PT_PTE_TYPE)
		return "page";
	return "block";
}

static void f_set_pte(void *ctx, s2_pte_t *ptep, s2_pte_t pte, bool release)
{
	struct fake_mm *fm = ctx;
	s2_level_t lv;
	const char *k = kind_of(fm, pte, &lv);
	logf_(fm, "%s:%s", release ? "set.rel" : "set", k);
	s2pool_mm_ops.set_pte(fm->pool, ptep, pte, release);
}

static bool f_cmpxchg_pte(void *ctx, s2_pte_t *ptep, s2_pte_t old, s2_pte_t new)
{
	struct fake_mm *fm = ctx;
	s2_level_t lv;

	if (fm->before_cas)
		fm->before_cas(fm, ptep, fm->before_cas_arg);
	if (!__atomic_compare_exchange_n(ptep, &old, new, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		logf_(fm, "cas-lost");
		return false;
	}
	logf_(fm, "cas:%s", kind_of(fm, new, &lv));
	return true;
}

static void f_tlbi(void *ctx, enum s2pt_tlbi op, s2_ipa_t ipa, s2_level_t level)
{
	struct fake_mm *fm = ctx;
	(void)ipa;
	fm->tlbis++;
	if (op == S2PT_TLBI_IPAS2E1IS || op == S2PT_TLBI_IPAS2E1)
		logf_(fm, "tlbi:%s@%d", s2arm_tlbi_mnemonic((enum s2arm_tlbi)op), level);
	else
		logf_(fm, "tlbi:%s", s2arm_tlbi_mnemonic((enum s2arm_tlbi)op));
}

static void f_barrier(void *ctx, enum s2pt_barrier b)
{
	struct fake_mm *fm = ctx;
	if (b == S2PT_ISB)
		logf_(fm, "isb");
	else
		logf_(fm, "dsb:%s", s2arm_dsb_mnemonic((enum s2arm_dsb)b));
}

static void f_dcache(void *ctx, s2_pa_t pa, uint64_t size)
{
	struct fake_mm *fm = ctx;
	(void)pa;
	fm->dc_bytes += size;
	logf_(fm, "dc.civac");
}

static void f_icache(void *ctx, s2_pa_t pa, uint64_t size)
{
	struct fake_mm *fm = ctx;
	(void)pa;
	fm->ic_bytes += size;
	logf_(fm, "ic.ivau");
}

#define FAKE_OPS_COMMON \
	.zalloc_page = f_zalloc_page, \
	.zalloc_pages_exact = f_zalloc_pages_exact, \
	.free_page = f_free_page, \
	.free_pages_exact = f_free_pages_exact, \
	.get_page = f_get_page, \
	.put_page = f_put_page, \
	.page_count = f_page_count, \
	.phys_to_virt = f_phys_to_virt, \
	.virt_to_phys = f_virt_to_phys, \
	.set_pte = f_set_pte, \
	.cmpxchg_pte = f_cmpxchg_pte, \
	.tlbi = f_tlbi, \
	.barrier = f_barrier

const struct s2pt_mm_ops fake_mm_ops = {
	FAKE_OPS_COMMON,
	.dcache_clean_inval_poc = f_dcache,
	.icache_inval_pou = f_icache,
};

const struct s2pt_mm_ops fake_mm_ops_nocmo = { FAKE_OPS_COMMON };

int fake_mm_init(struct fake_mm *fm, struct s2pt *pt, unsigned granule_shift,
		 unsigned ipa_bits, enum s2pt_variant v, unsigned flags)
{
	struct s2pt_geom g;
	memset(fm, 0, sizeof(*fm));
	int ret = s2pt_geom_init(&g, granule_shift, ipa_bits, NULL);
	if (ret)
		return ret;
	fm->pool = s2pool_new(granule_shift, s2_pa(1ull << 40), 256ull << 20);
	if (!fm->pool)
		return S2_ENOMEM;
	fm->pt = pt;
	fm->record = true;
	fm->with_cmos = true;
	return s2pt_init(pt, &g, &fake_mm_ops, fm, v, flags);
}

void fake_mm_fini(struct fake_mm *fm)
{
	s2pool_delete(fm->pool);
	fm->pool = NULL;
}

void fake_mm_clear_log(struct fake_mm *fm)
{
	fm->n = 0;
	fm->dc_bytes = fm->ic_bytes = fm->tlbis = 0;
}

static bool keep(const char *tok, const char *filter)
{
	if (!*filter)
		return true;
	const char *f = filter;
	while (*f) {
		size_t len = strcspn(f, ",");
		if (len && strncmp(tok, f, len) == 0)
			return true;
		f += len;
		if (*f == ',')
			f++;
	}
	return false;
}

const char *fake_mm_log(struct fake_mm *fm, const char *filter)
{
	static char buf[FAKE_LOG_MAX * 8];
	size_t off = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < fm->n; i++) {
		if (!keep(fm->log[i], filter))
			continue;
		int w = snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? " " : "", fm->log[i]);
		if (w < 0 || (size_t)w >= sizeof(buf) - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

int fake_mm_find(const struct fake_mm *fm, const char *tok, unsigned from)
{
	for (unsigned i = from; i < fm->n; i++)
		if (!strcmp(fm->log[i], tok))
			return (int)i;
	return -1;
}

struct rc_check {
	struct fake_mm *fm;
	unsigned bad;
};

static void check_page(void *arg, void *page, struct s2pool_page *pg)
{
	struct rc_check *c = arg;
	unsigned counted = s2pt_table_counted_entries(c->fm->pt, page);
	if (pg->refcount != (int32_t)(1 + counted))
		c->bad++;
}

unsigned fake_mm_refcount_mismatches(struct fake_mm *fm)
{
	struct rc_check c = { fm, 0 };
	s2pool_for_each_live(fm->pool, check_page, &c);
	return c.bad;
}
