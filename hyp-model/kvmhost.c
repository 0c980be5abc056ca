/* KVM's memory side over host-mm: the fault-in/retry protocol and the MMU
 * notifier, with stage 2 in the real walker over a table-page pool. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_err.h"
#include "common/s2_rules.h"
#include "common/s2_vec.h"
#include "hyp-model/s2hyp_kvmhost.h"
#include "pool/s2pool.h"
#include "walker/s2pt.h"

#define PAGE S2HOST_PAGE_SIZE
#define BLOCK S2HOST_THP_SIZE
#define TABLE_BASE (1ull << 44)	/* table pages live far above guest pages */

static const struct s2_rule_row rules[S2HYP_KVM_NR_RULES] = {
	S2HYP_KVM_RULE_TABLE(S2_RULE_ROW)
};

S2_RULE_LOOKUPS(s2hyp_kvm_rule, enum s2hyp_kvm_rule, rules, S2HYP_KVM_NR_RULES)

struct kslot {
	uint64_t ipa, size, hva;
	uint64_t uaddr;		/* the slot's start as the VMM knows it: messages name it */
};

struct s2hyp_kvm {
	struct s2hyp_kvm_config cfg;
	struct s2host *host;
	int mm;
	/* Stage 2: the VM's own tables below, or the machine's through s2. */
	const struct s2hyp_kvm_stage2 *s2;
	void *s2arg;
	struct s2pool *pool;
	struct s2pt pt;
	struct s2pt_memcache mc;
	bool pt_ready;
	struct kslot slot[S2HYP_KVM_MAX_SLOTS];
	unsigned nr_slot;
	/* kvm->mmu_invalidate_seq and mmu_invalidate_in_progress */
	unsigned long seq;
	unsigned in_progress;
	struct s2hyp_kvm_stats stats;
	struct s2hyp_kvm_violation *viol;
	unsigned nr_viol, cap_viol;
};

void s2hyp_kvm_config_init(struct s2hyp_kvm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ipa_bits = 40;
}

static void violate(struct s2hyp_kvm *k, enum s2hyp_kvm_rule rule, uint64_t ipa,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void violate(struct s2hyp_kvm *k, enum s2hyp_kvm_rule rule, uint64_t ipa,
		    const char *fmt, ...)
{
	for (unsigned i = 0; i < k->nr_viol; i++)
		if (k->viol[i].rule == rule && k->viol[i].ipa == ipa)
			return;	/* once per leaf and rule */
	k->stats.violations[rule]++;
	if (!s2_grow((void **)&k->viol, &k->cap_viol, sizeof(*k->viol), k->nr_viol + 1))
		return;
	struct s2hyp_kvm_violation *v = &k->viol[k->nr_viol++];
	va_list ap;
	v->rule = rule;
	v->ipa = ipa;
	va_start(ap, fmt);
	vsnprintf(v->what, sizeof(v->what), fmt, ap);
	va_end(ap);
}

unsigned s2hyp_kvm_nr_violations(const struct s2hyp_kvm *k)
{
	return k->nr_viol;
}

const struct s2hyp_kvm_violation *s2hyp_kvm_violation(const struct s2hyp_kvm *k, unsigned i)
{
	return i < k->nr_viol ? &k->viol[i] : NULL;
}

const struct s2hyp_kvm_stats *s2hyp_kvm_stats(const struct s2hyp_kvm *k)
{
	return &k->stats;
}

/* ---- Stage-2 leaves and the check ------------------------------------ */

int s2hyp_kvm_pt_leaf(struct s2pt *pt, uint64_t pa_base, uint64_t ipa, struct s2hyp_kvm_leaf *out)
{
	s2_pte_t pte;
	s2_level_t level;
	struct s2pt_desc d;

	memset(out, 0, sizeof(*out));
	int err = s2pt_get_leaf(pt, s2_ipa(ipa), &pte, &level);
	if (err)
		return err;
	if (s2pt_pte_decode(&pt->geom, level, pte, false, &d) || !d.valid)
		return 0;
	out->size = s2pt_granule_size(&pt->geom, level);
	out->valid = true;
	out->writable = d.write;
	out->pfn = (s2_pa_get(d.oa) + (ipa & (out->size - 1)) - pa_base) >> S2HOST_PAGE_SHIFT;
	return 0;
}

int s2hyp_kvm_leaf(struct s2hyp_kvm *k, uint64_t ipa, struct s2hyp_kvm_leaf *out)
{
	return k->s2->leaf(k->s2arg, ipa, out);
}

static const struct kslot *slot_of_ipa(const struct s2hyp_kvm *k, uint64_t ipa)
{
	for (unsigned i = 0; i < k->nr_slot; i++)
		if (ipa >= k->slot[i].ipa && ipa - k->slot[i].ipa < k->slot[i].size)
			return &k->slot[i];
	return NULL;
}

/* INV-S2-NOREF: the page stage 2 maps at ipa (leaf lf) is not freed. */
static void rule_s2_noref(struct s2hyp_kvm *k, uint64_t ipa, const struct s2hyp_kvm_leaf *lf)
{
	struct s2host_page_view pg;

	if (!s2host_page(k->host, lf->pfn, &pg) && pg.freed)
		violate(k, S2HYP_KVM_RULE_S2_NOREF, ipa,
			"stage 2 maps IPA %#llx to page %llu, which the host has freed",
			(unsigned long long)ipa, (unsigned long long)lf->pfn);
}

/* The VMM's address of guest ipa (in slot s), the one the user knows (a
 * trace's memslot hva= plus the offset): what messages name. */
static unsigned long long vmm_addr(const struct kslot *s, uint64_t ipa)
{
	return (unsigned long long)(s->uaddr + (ipa - s->ipa));
}

/* INV-S2-SUBSET: leaf lf at ipa (in slot s) maps the page the host maps
 * there (hp). true when it does not (the violation is filed). */
static bool rule_s2_subset(struct s2hyp_kvm *k, const struct kslot *s, uint64_t ipa,
			   const struct s2hyp_kvm_leaf *lf, const struct s2host_pte_view *hp,
			   const char *who)
{
	if (hp->present && hp->pfn == lf->pfn)
		return false;
	violate(k, S2HYP_KVM_RULE_S2_SUBSET, ipa,
		"%s maps IPA %#llx to page %llu but the host maps %s at hva %#llx", who,
		(unsigned long long)ipa, (unsigned long long)lf->pfn,
		hp->present ? "another page" : "nothing", vmm_addr(s, ipa));
	return true;
}

/* INV-S2-W: stage 2 at ipa (in slot s) is writable (s2_writable) only
 * where the host mapped the page writable (host_writable): its PTE there,
 * or for a fault about to install (f), what its GUP found. */
static void rule_s2_writable(struct s2hyp_kvm *k, const struct kslot *s, uint64_t ipa,
			     bool s2_writable, bool host_writable,
			     const struct s2hyp_kvm_fault *f, const char *who)
{
	if (!s2_writable || host_writable)
		return;
	if (f)
		violate(k, S2HYP_KVM_RULE_S2_WRITABLE, ipa,
			"fault on IPA %#llx maps page %llu writable, but GUP found it read-only",
			(unsigned long long)ipa, (unsigned long long)f->pfn);
	else
		violate(k, S2HYP_KVM_RULE_S2_WRITABLE, ipa,
			"%s maps IPA %#llx writable while the host's PTE at %#llx is read-only", who,
			(unsigned long long)ipa, vmm_addr(s, ipa));
}

/* INV-S2-RETRY: fault f installs although the retry check failed (an
 * invalidation is in progress, or one ended since f's snapshot). */
static void rule_s2_retry(struct s2hyp_kvm *k, const struct s2hyp_kvm_fault *f)
{
	violate(k, S2HYP_KVM_RULE_S2_RETRY, f->ipa,
		"fault on IPA %#llx installs page %llu although %s since it snapshotted "
		"sequence %lu", (unsigned long long)f->ipa, (unsigned long long)f->pfn,
		k->in_progress ? "an invalidation is in progress" : "an invalidation ended",
		f->seq);
}

/* INV-UFFD-S2: stage 2 at ipa (in slot s) is writable although the VMM's
 * uffd monitor write-protected the page and has not un-protected it. */
static void rule_s2_uffd_wp(struct s2hyp_kvm *k, const struct kslot *s, uint64_t ipa,
			    bool s2_writable, const char *who)
{
	if (s2_writable && s2host_uffd_protected(k->host, k->mm, s->hva + (ipa - s->ipa)))
		violate(k, S2HYP_KVM_RULE_S2_UFFD_WP, ipa,
			"%s maps IPA %#llx writable while the uffd monitor write-protected hva "
			"%#llx", who, (unsigned long long)ipa, vmm_addr(s, ipa));
}

/* Every leaf against the host's page tables (only when no invalidation is
 * in progress: between start and end the host is mid-change). */
static void check_page(struct s2hyp_kvm *k, const struct kslot *s, uint64_t ipa)
{
	struct s2hyp_kvm_leaf lf;
	struct s2host_pte_view hp;

	if (s2hyp_kvm_leaf(k, ipa, &lf) || !lf.valid)
		return;
	uint64_t hva = s->hva + (ipa - s->ipa);
	if (s2host_lookup(k->host, k->mm, hva, &hp))
		return;
	rule_s2_noref(k, ipa, &lf);
	if (!rule_s2_subset(k, s, ipa, &lf, &hp, "stage 2"))
		rule_s2_writable(k, s, ipa, lf.writable, hp.writable, NULL, "stage 2");
	rule_s2_uffd_wp(k, s, ipa, lf.writable, "stage 2");
}

/* The vCPUs' TLB entries for ipa, held to the same rules as the leaves. */
static void check_tlbs(struct s2hyp_kvm *k, const struct kslot *s, uint64_t ipa)
{
	struct s2hyp_kvm_leaf tl[16];
	struct s2host_pte_view hp;

	if (!k->s2->tlb)
		return;
	unsigned n = k->s2->tlb(k->s2arg, ipa, tl, 16);
	uint64_t hva = s->hva + (ipa - s->ipa);
	if (!n || s2host_lookup(k->host, k->mm, hva, &hp))
		return;
	for (unsigned i = 0; i < n && i < 16; i++) {
		if (!rule_s2_subset(k, s, ipa, &tl[i], &hp, "a vCPU's TLB"))
			rule_s2_writable(k, s, ipa, tl[i].writable, hp.writable, NULL,
					 "a vCPU's TLB");
		rule_s2_uffd_wp(k, s, ipa, tl[i].writable, "a vCPU's TLB");
	}
}

/* The leaves over guest [ipa, ipa + size) (clipped to the slots). */
static void check_range(struct s2hyp_kvm *k, uint64_t ipa, uint64_t size)
{
	if (k->in_progress)
		return;
	for (unsigned i = 0; i < k->nr_slot; i++) {
		const struct kslot *s = &k->slot[i];
		uint64_t lo = ipa > s->ipa ? ipa : s->ipa;
		uint64_t hi = ipa + size < s->ipa + s->size ? ipa + size : s->ipa + s->size;
		for (uint64_t a = lo; a < hi; a += PAGE) {
			check_page(k, s, a);
			check_tlbs(k, s, a);
		}
	}
}

unsigned s2hyp_kvm_check(struct s2hyp_kvm *k)
{
	unsigned before = k->nr_viol;
	check_range(k, 0, UINT64_MAX / 2);
	return k->nr_viol - before;
}

/* ---- The MMU notifier -------------------------------------------------- */

/* Call fn on the IPA range of every slot overlapping host [start, end). */
static void for_hva(struct s2hyp_kvm *k, uint64_t start, uint64_t end,
		    void (*fn)(struct s2hyp_kvm *, uint64_t ipa, uint64_t size, void *), void *arg)
{
	for (unsigned i = 0; i < k->nr_slot; i++) {
		const struct kslot *s = &k->slot[i];
		uint64_t lo = start > s->hva ? start : s->hva;
		uint64_t hi = end < s->hva + s->size ? end : s->hva + s->size;
		if (lo < hi)
			fn(k, s->ipa + (lo - s->hva), hi - lo, arg);
	}
}

static void unmap_ipa(struct s2hyp_kvm *k, uint64_t ipa, uint64_t size, void *arg)
{
	(void)arg;
	k->s2->unmap(k->s2arg, ipa, size);
	k->stats.unmaps++;
}

/* kvm_mmu_notifier_invalidate_range_start: in_progress++, then unmap
 * (kvm_unmap_gfn_range) and flush, under the MMU lock. */
static void mn_start(void *arg, int mm, uint64_t start, uint64_t end, enum s2host_mn_event ev)
{
	struct s2hyp_kvm *k = arg;
	(void)mm;
	(void)ev;
	k->in_progress++;
	k->stats.in_progress = k->in_progress;
	k->stats.invalidations++;
	for_hva(k, start, end, unmap_ipa, NULL);
}

static void check_ipa(struct s2hyp_kvm *k, uint64_t ipa, uint64_t size, void *arg)
{
	(void)arg;
	check_range(k, ipa, size);
}

/* kvm_mmu_invalidate_end: seq++ (before in_progress drops), in_progress--,
 * then the check of what the invalidation covered. */
static void mn_end(void *arg, int mm, uint64_t start, uint64_t end, enum s2host_mn_event ev)
{
	struct s2hyp_kvm *k = arg;
	(void)mm;
	(void)ev;
	k->seq++;
	k->in_progress--;
	k->stats.seq = k->seq;
	k->stats.in_progress = k->in_progress;
	for_hva(k, start, end, check_ipa, NULL);
}

struct young_arg {
	bool mkold, young;
};

static void age_ipa(struct s2hyp_kvm *k, uint64_t ipa, uint64_t size, void *arg)
{
	struct young_arg *y = arg;
	y->young |= k->s2->age(k->s2arg, ipa, size, y->mkold);
	k->stats.young_tests++;
}

static bool mn_clear_young(void *arg, int mm, uint64_t start, uint64_t end)
{
	struct young_arg y = { true, false };
	(void)mm;
	for_hva(arg, start, end, age_ipa, &y);
	return y.young;
}

static bool mn_test_young(void *arg, int mm, uint64_t start, uint64_t end)
{
	struct young_arg y = { false, false };
	(void)mm;
	for_hva(arg, start, end, age_ipa, &y);
	return y.young;
}

static void mn_release(void *arg, int mm)
{
	struct s2hyp_kvm *k = arg;
	(void)mm;
	for (unsigned i = 0; i < k->nr_slot; i++)
		unmap_ipa(k, k->slot[i].ipa, k->slot[i].size, NULL);
}

void s2hyp_kvm_invalidate(struct s2hyp_kvm *k, uint64_t hva, uint64_t size)
{
	mn_start(k, k->mm, hva, hva + size, S2HOST_MN_UNMAP);
	mn_end(k, k->mm, hva, hva + size, S2HOST_MN_UNMAP);
}

static const struct s2host_notifier kvm_mn = {
	mn_start, mn_end, mn_clear_young, mn_test_young, mn_release,
};

/* ---- Stage 2 of a VM on its own: the walker over a pool ---------------- */

static int own_leaf(void *arg, uint64_t ipa, struct s2hyp_kvm_leaf *out)
{
	struct s2hyp_kvm *k = arg;
	return s2hyp_kvm_pt_leaf(&k->pt, 0, ipa, out);
}

static void own_unmap(void *arg, uint64_t ipa, uint64_t size)
{
	struct s2hyp_kvm *k = arg;
	struct s2pt_locked l = s2pt_lock(&k->pt);
	s2pt_unmap(l, s2_ipa(ipa), size);
	s2pt_unlock(l);
}

static bool own_age(void *arg, uint64_t ipa, uint64_t size, bool mkold)
{
	struct s2hyp_kvm *k = arg;
	bool young = false;
	struct s2pt_locked l = s2pt_lock(&k->pt);
	s2pt_test_clear_young(l, s2_ipa(ipa), size, mkold, &young);
	s2pt_unlock(l);
	return young;
}

static const struct s2hyp_kvm_stage2 own_stage2 = { own_leaf, NULL, own_unmap, own_age };

/* ---- Create, destroy, memslots ------------------------------------------ */

int s2hyp_kvm_create_on(struct s2host *h, int mm, const struct s2hyp_kvm_config *cfg,
			const struct s2hyp_kvm_stage2 *s2, void *s2arg, struct s2hyp_kvm **out)
{
	struct s2pt_geom g;
	const char *why;

	*out = NULL;
	if (s2pt_geom_init(&g, 12, cfg->ipa_bits, &why))
		return S2_EINVAL;
	struct s2hyp_kvm *k = calloc(1, sizeof(*k));
	if (!k)
		return S2_ENOMEM;
	k->cfg = *cfg;
	k->host = h;
	k->mm = mm;
	k->s2 = s2 ? s2 : &own_stage2;
	k->s2arg = s2 ? s2arg : k;
	int err = 0;
	if (!s2) {
		k->pool = s2pool_new(12, s2_pa(TABLE_BASE), 64ull << 20);
		err = k->pool ? s2pt_init(&k->pt, &g, &s2pool_mm_ops, k->pool, S2PT_V_UPSTREAM, 0)
			      : S2_ENOMEM;
		k->pt_ready = !err;
	}
	if (!err)
		err = s2host_notifier_register(h, mm, &kvm_mn, k);
	if (err) {
		s2hyp_kvm_destroy(k);
		return err;
	}
	*out = k;
	return 0;
}

int s2hyp_kvm_create(struct s2host *h, int mm, const struct s2hyp_kvm_config *cfg,
		     struct s2hyp_kvm **out)
{
	return s2hyp_kvm_create_on(h, mm, cfg, NULL, NULL, out);
}

void s2hyp_kvm_destroy(struct s2hyp_kvm *k)
{
	if (!k)
		return;
	if (k->pt_ready) {
		s2pt_memcache_free(&k->pt, &k->mc);
		s2pt_destroy(s2pt_lock(&k->pt));
	}
	s2pool_delete(k->pool);
	free(k->viol);
	free(k);
}

int s2hyp_kvm_add_memslot(struct s2hyp_kvm *k, uint64_t ipa, uint64_t size, uint64_t hva,
			  uint64_t uaddr)
{
	if (k->nr_slot == S2HYP_KVM_MAX_SLOTS)
		return S2_EBUSY;
	if (!size || (ipa | size | hva) % PAGE || ipa + size > (1ull << k->cfg.ipa_bits))
		return S2_EINVAL;
	for (unsigned i = 0; i < k->nr_slot; i++)
		if (ipa < k->slot[i].ipa + k->slot[i].size && k->slot[i].ipa < ipa + size)
			return S2_EBUSY;
	k->slot[k->nr_slot++] = (struct kslot){ ipa, size, hva, uaddr };
	return 0;
}

/* ---- The fault handler ------------------------------------------------- */

int s2hyp_kvm_fault_begin(struct s2hyp_kvm *k, uint64_t ipa, bool write,
			  struct s2hyp_kvm_fault *f)
{
	const struct kslot *s = slot_of_ipa(k, ipa);

	if (!s)
		return S2_EFAULT;
	memset(f, 0, sizeof(*f));
	f->ipa = ipa & ~(PAGE - 1);
	f->hva = s->hva + (f->ipa - s->ipa);
	f->write = write;
	/* mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(); then GUP */
	f->seq = k->seq;
	return s2hyp_kvm_fault_gup(k, f);
}

int s2hyp_kvm_fault_gup(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f)
{
	struct s2host_gup_result r, w;

	int err = s2host_gup(k->host, k->mm, f->hva,
			     S2HOST_FOLL_NOTIFIED | (f->write ? S2HOST_FOLL_WRITE : 0), &r);
	/* -EAGAIN: the fault is userfaultfd's; the vCPU sleeps in
	 * handle_userfault (no FOLL_NOWAIT on arm64) until a wake */
	if (err)
		return err == S2_EAGAIN ? S2_EAGAIN : S2_EFAULT;
	if (!f->write && !r.writable &&
	    !s2host_gup(k->host, k->mm, f->hva,
			S2HOST_FOLL_NOTIFIED | S2HOST_FOLL_WRITE | S2HOST_FOLL_FAST_ONLY, &w)) {
		/* hva_to_pfn(): a read fault may still map writable if the
		 * fast writable GUP succeeds; keep that page instead */
		s2host_unref(k->host, r.id);
		r = w;
	}
	f->ref = r.id;
	f->pfn = r.pfn;
	f->writable = r.writable;
	f->huge = r.huge;
	return 0;
}

/* The largest leaf: a 2M block when the host maps a PMD there and the
 * block fits the slot with equal offsets (transparent_hugepage_adjust). */
static uint64_t leaf_size(const struct s2hyp_kvm *k, const struct s2hyp_kvm_fault *f)
{
	const struct kslot *s = slot_of_ipa(k, f->ipa);
	uint64_t base = f->ipa & ~(BLOCK - 1);

	if (f->huge && (f->ipa & (BLOCK - 1)) == (f->hva & (BLOCK - 1)) && base >= s->ipa &&
	    base + BLOCK <= s->ipa + s->size)
		return BLOCK;
	return PAGE;
}

int s2hyp_kvm_fault_check(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f)
{
	/* mmu_invalidate_retry(kvm, mmu_seq) under the MMU lock */
	if (k->in_progress || k->seq != f->seq) {
		if (!k->cfg.no_retry_check) {
			k->stats.retries++;
			s2host_unref(k->host, f->ref);
			return S2_EAGAIN;
		}
		rule_s2_retry(k, f);
	}
	f->map_writable = f->writable || k->cfg.map_writable_always;
	const struct kslot *s = slot_of_ipa(k, f->ipa);
	rule_s2_writable(k, s, f->ipa, f->map_writable, f->writable, f, "stage 2");
	rule_s2_uffd_wp(k, s, f->ipa, f->map_writable, "a fault");
	f->size = leaf_size(k, f);
	return 0;
}

void s2hyp_kvm_fault_release(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f)
{
	/* kvm_release_faultin_page(): stage 2 keeps no reference */
	s2host_unref(k->host, f->ref);
	check_range(k, f->ipa & ~(f->size - 1), f->size);
}

int s2hyp_kvm_fault_finish(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f)
{
	struct s2pt_locked l = s2pt_lock(&k->pt);
	int ret = s2hyp_kvm_fault_check(k, f);

	if (ret) {
		s2pt_unlock(l);
		return ret;
	}
	uint64_t ipa = f->ipa & ~(f->size - 1);
	uint64_t pa = (f->pfn << S2HOST_PAGE_SHIFT) - (f->ipa - ipa);
	enum s2pt_prot prot = f->map_writable ? S2PT_PROT_RW : S2PT_PROT_R;
	struct s2hyp_kvm_leaf lf;

	s2hyp_kvm_leaf(k, f->ipa, &lf);
	if (lf.valid && lf.pfn == f->pfn) {
		/* the same page: a permission fault relaxes, anything else raced */
		if (f->map_writable && !lf.writable) {
			s2pt_relax_perms(l, s2_ipa(f->ipa), S2PT_PROT_W);
			k->stats.relaxes++;
		}
	} else if (s2pt_memcache_topup(&k->pt, &k->mc, s2pt_memcache_min_pages(&k->pt.geom))) {
		ret = S2_ENOMEM;
	} else {
		ret = s2pt_map(l, s2_ipa(ipa), f->size, s2_pa(pa), prot, &k->mc);
		if (ret == S2_EAGAIN)
			ret = 0;
		k->stats.maps++;
	}
	s2pt_unlock(l);
	s2hyp_kvm_fault_release(k, f);
	return ret;
}

/* One guest access: stage 2, else the fault handler, until it goes through. */
static int guest_access(struct s2hyp_kvm *k, uint64_t ipa, bool write, uint64_t *value)
{
	for (unsigned tries = 0; tries < 8; tries++) {
		struct s2hyp_kvm_leaf lf;
		struct s2hyp_kvm_fault f;
		int err = s2hyp_kvm_leaf(k, ipa, &lf);
		if (err)
			return S2_EFAULT;
		if (lf.valid && (!write || lf.writable))
			return write ? s2host_pfn_write(k->host, k->mm, lf.pfn, *value)
				     : s2host_pfn_read(k->host, k->mm, lf.pfn, value);
		if (lf.valid)
			k->stats.faults_permission++;
		else
			k->stats.faults_translation++;
		if ((err = s2hyp_kvm_fault_begin(k, ipa, write, &f)))
			return err;
		err = s2hyp_kvm_fault_finish(k, &f);
		if (err && err != S2_EAGAIN)
			return err;
	}
	return S2_EAGAIN;
}

int s2hyp_kvm_guest_read(struct s2hyp_kvm *k, uint64_t ipa, uint64_t *value)
{
	return guest_access(k, ipa, false, value);
}

int s2hyp_kvm_guest_write(struct s2hyp_kvm *k, uint64_t ipa, uint64_t value)
{
	return guest_access(k, ipa, true, &value);
}
