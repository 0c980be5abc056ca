/* The specification's S3.x scenarios: KVM's stage 2 over the host model,
 * and the real-capture pattern of zero-page reads followed by writes. */
#include <stdio.h>
#include <string.h>

#include "common/s2_err.h"
#include "host-mm/s2host_scenario.h"
#include "hyp-model/s2hyp_kvmhost.h"

#define K4 S2HOST_PAGE_SIZE
#define M2 S2HOST_THP_SIZE
#define RW (S2HOST_PROT_READ | S2HOST_PROT_WRITE)
#define GPA 0x40000000ull	/* guest RAM */

#define TRY S2HOST_TRY

unsigned s2hyp_kvm_fired(const struct s2hyp_kvm *k)
{
	unsigned mask = 0;
	for (unsigned r = 0; r < S2HYP_KVM_NR_RULES; r++)
		if (s2hyp_kvm_stats(k)->violations[r])
			mask |= S2HYP_KVM_RULE_BIT(r);
	return mask;
}

/* The VMM (process 0) with size bytes of anonymous guest RAM at hva 0,
 * one memslot at GPA, and the VM. */
static int vm(struct s2host *h, struct s2hyp_kvm **k, uint64_t size, unsigned flags,
	      const struct s2hyp_kvm_config *cfg)
{
	struct s2hyp_kvm_config def;
	int p = s2host_mm_create(h);

	TRY(p);
	TRY(s2host_mmap(h, p, 0, size, RW | flags));
	if (!cfg) {
		s2hyp_kvm_config_init(&def);
		cfg = &def;
	}
	TRY(s2hyp_kvm_create(h, p, cfg, k));
	TRY(s2hyp_kvm_add_memslot(*k, GPA, size, 0, 0));
	return p;
}

/* Real 6.12 captures: a read pass then a write pass over never-written
 * anonymous guest RAM. Reads map the shared zero page read-only; each first
 * write is a permission fault whose GUP COWs the zero page, the notifier
 * unmaps stage 2, the retry check fails and the refault maps the new page. */
static int zero_then_write(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	enum { PAGES = 64 };
	unsigned zeros = 0;
	int p = vm(h, k, PAGES * K4, 0, NULL);

	TRY(p);
	for (unsigned i = 0; i < PAGES; i++) {
		uint64_t v = 1;
		struct s2hyp_kvm_leaf lf;
		TRY(s2hyp_kvm_guest_read(*k, GPA + i * K4, &v));
		TRY(s2hyp_kvm_leaf(*k, GPA + i * K4, &lf));
		zeros += !v && lf.pfn == S2HOST_ZERO_PFN && !lf.writable;
	}
	for (unsigned i = 0; i < PAGES; i++)
		TRY(s2hyp_kvm_guest_write(*k, GPA + i * K4, i + 1));
	const struct s2hyp_kvm_stats *st = s2hyp_kvm_stats(*k);
	snprintf(out, n, "%u of %u reads mapped the zero page read-only; faults: %llu translation, "
		 "%llu permission, %llu retries, %llu invalidations", zeros, (unsigned)PAGES,
		 (unsigned long long)st->faults_translation,
		 (unsigned long long)st->faults_permission, (unsigned long long)st->retries,
		 (unsigned long long)st->invalidations);
	return 0;
}

/* S3.1: the guest writes a COW-shared page: GUP's COW invalidates inside
 * the fault, the retry check fails, the refault maps the copy writable. */
static int s3_1(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	struct s2hyp_kvm_leaf lf;
	struct s2host_pte_view pv;
	int p = vm(h, k, K4, 0, NULL);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_lookup(h, p, 0, &pv));
	uint64_t a = pv.pfn;
	TRY(s2host_fork(h, p));
	TRY(s2hyp_kvm_guest_write(*k, GPA, 2));
	TRY(s2hyp_kvm_leaf(*k, GPA, &lf));
	TRY(s2host_lookup(h, p, 0, &pv));
	snprintf(out, n, "%llu retry; stage 2 maps %s page %s, the host's page %s",
		 (unsigned long long)s2hyp_kvm_stats(*k)->retries,
		 lf.writable ? "writable" : "read-only", lf.pfn == a ? "A (the shared one)" : "A'",
		 lf.pfn == pv.pfn ? "too" : "is another");
	return 0;
}

/* S3.2: MADV_DONTNEED runs between the fault's GUP and its install. */
static int race(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n, bool check)
{
	struct s2hyp_kvm_config cfg;
	struct s2hyp_kvm_fault f;
	uint64_t v = 99;

	s2hyp_kvm_config_init(&cfg);
	cfg.no_retry_check = !check;
	int p = vm(h, k, K4, 0, &cfg);
	TRY(p);
	TRY(s2host_write(h, p, 0, 7));
	TRY(s2hyp_kvm_fault_begin(*k, GPA, false, &f));
	TRY(s2host_madv_dontneed(h, p, 0, K4));
	int fin = s2hyp_kvm_fault_finish(*k, &f);
	TRY(s2hyp_kvm_guest_read(*k, GPA, &v));
	snprintf(out, n, "the racing fault %s; the guest then reads %llu (%s)",
		 fin == S2_EAGAIN ? "retried" : "installed its page",
		 (unsigned long long)v, v == 7 ? "a freed page" : "the zero page");
	return 0;
}

static int s3_2(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	return race(h, k, out, n, true);
}

static int s3_2_bug(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	return race(h, k, out, n, false);
}

/* S3.3: the guest reads a COW-shared page (mapped read-only: the fast
 * writable GUP fails), then writes it (a permission fault and a COW). */
static int s3_3(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	struct s2hyp_kvm_leaf r, w;
	struct s2host_pte_view pv;
	uint64_t v;
	int p = vm(h, k, K4, 0, NULL);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2host_lookup(h, p, 0, &pv));
	uint64_t a = pv.pfn;
	TRY(s2host_fork(h, p));
	TRY(s2hyp_kvm_guest_read(*k, GPA, &v));
	TRY(s2hyp_kvm_leaf(*k, GPA, &r));
	TRY(s2hyp_kvm_guest_write(*k, GPA, 2));
	TRY(s2hyp_kvm_leaf(*k, GPA, &w));
	TRY(s2host_lookup(h, p, 0, &pv));
	snprintf(out, n, "the read mapped %s page %s; the write took %llu permission fault(s); "
		 "stage 2 now maps %s the host's page %s", r.writable ? "writable" : "read-only",
		 r.pfn == a ? "A (shared)" : "A' (a private copy)",
		 (unsigned long long)s2hyp_kvm_stats(*k)->faults_permission,
		 w.writable ? "writable" : "read-only", w.pfn == pv.pfn ? "(the same)" : "(ANOTHER)");
	return 0;
}

/* S3.4: KSM merges a guest page; the next read maps the KSM page read-only,
 * the next write copies it. With the buggy knob reads map it writable. */
static int ksm(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n, bool bug)
{
	struct s2hyp_kvm_config cfg;
	struct s2hyp_kvm_leaf lf;
	struct s2host_page_view pg;
	uint64_t v;

	s2hyp_kvm_config_init(&cfg);
	cfg.map_writable_always = bug;
	int p = vm(h, k, K4, 0, &cfg);
	TRY(p);
	TRY(s2hyp_kvm_guest_write(*k, GPA, 3));
	TRY(s2host_ksm_merge(h, p, 0));
	TRY(s2hyp_kvm_guest_read(*k, GPA, &v));
	TRY(s2hyp_kvm_leaf(*k, GPA, &lf));
	TRY(s2host_page(h, lf.pfn, &pg));
	snprintf(out, n, "after the merge the guest reads %llu through a %s mapping of %s",
		 (unsigned long long)v, lf.writable ? "WRITABLE" : "read-only",
		 pg.ksm ? "the KSM page" : "a private page");
	return 0;
}

static int s3_4(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	return ksm(h, k, out, n, false);
}

static int s3_4_bug(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	return ksm(h, k, out, n, true);
}

/* S3.5: khugepaged collapses a range the guest maps with 4K leaves; the
 * next fault maps a 2M block. */
static int s3_5(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	struct s2hyp_kvm_leaf before, after;
	uint64_t v;
	int p = vm(h, k, M2, 0, NULL);

	TRY(p);
	for (uint64_t a = 0; a < M2; a += K4)
		TRY(s2host_write(h, p, a, a / K4));
	TRY(s2hyp_kvm_guest_read(*k, GPA + 3 * K4, &v));
	TRY(s2hyp_kvm_leaf(*k, GPA + 3 * K4, &before));
	TRY(s2host_collapse(h, p, 0));
	TRY(s2hyp_kvm_guest_read(*k, GPA + 9 * K4, &v));
	TRY(s2hyp_kvm_leaf(*k, GPA + 9 * K4, &after));
	snprintf(out, n, "leaf %lluK before the collapse, %lluK after; the guest reads %llu at page 9",
		 (unsigned long long)before.size / 1024, (unsigned long long)after.size / 1024,
		 (unsigned long long)v);
	return 0;
}

/* S3.6: the host splits a PMD the guest maps as a 2M block (mprotect of
 * half the range); refaults map 4K leaves. */
static int s3_6(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	struct s2hyp_kvm_leaf before, after;
	uint64_t v;
	int p = vm(h, k, M2, S2HOST_MAP_THP, NULL);

	TRY(p);
	TRY(s2host_write(h, p, 0, 1));
	TRY(s2hyp_kvm_guest_read(*k, GPA, &v));
	TRY(s2hyp_kvm_leaf(*k, GPA, &before));
	TRY(s2host_mprotect(h, p, M2 / 2, M2 / 2, S2HOST_PROT_READ));
	TRY(s2hyp_kvm_guest_read(*k, GPA, &v));
	TRY(s2hyp_kvm_leaf(*k, GPA, &after));
	snprintf(out, n, "leaf %lluK before the split, %lluK after",
		 (unsigned long long)before.size / 1024, (unsigned long long)after.size / 1024);
	return 0;
}

/* S1.4 through stage 2: a device pins a guest page, clear_refs
 * write-protects it (and unmaps stage 2), the guest writes it. */
static int s1_4_guest(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	struct s2host_gup_result g;
	uint64_t v;
	int p = vm(h, k, K4, 0, NULL);

	TRY(p);
	TRY(s2hyp_kvm_guest_write(*k, GPA, 1));
	TRY(s2host_gup(h, p, 0, S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM | S2HOST_FOLL_WRITE, &g));
	TRY(s2host_clear_refs(h, p));
	TRY(s2hyp_kvm_guest_write(*k, GPA, 2));
	TRY(s2host_ref_read(h, g.id, &v));
	snprintf(out, n, "the device reads %llu after the guest wrote 2 (%s)", (unsigned long long)v,
		 v == 2 ? "one page" : "the guest moved to a copy");
	return 0;
}

/* S5.3: a live-snapshot monitor write-protects guest RAM with uffd-wp; the
 * guest's write waits for the handler, which copies and un-protects. */
static int s5_3(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n)
{
	struct s2hyp_kvm_leaf lf;
	uint64_t v;
	int p = vm(h, k, K4, S2HOST_MAP_UFFD_WP, NULL);

	TRY(p);
	TRY(s2hyp_kvm_guest_write(*k, GPA, 1));
	TRY(s2host_uffd_wp(h, p, 0, K4, true));
	bool unmapped = !s2hyp_kvm_leaf(*k, GPA, &lf) && !lf.valid;
	/* under MAP2+F the read GUP breaks COW as a write: it waits too */
	int rd = s2hyp_kvm_guest_read(*k, GPA, &v);
	if (rd && rd != S2_EAGAIN)
		return rd;
	int blocked = s2hyp_kvm_guest_write(*k, GPA, 2);
	TRY(s2hyp_kvm_leaf(*k, GPA, &lf));
	bool ro = !lf.writable;
	TRY(s2host_read(h, p, 0, &v));	/* the handler saves the page */
	TRY(s2host_uffd_wp(h, p, 0, K4, false));
	TRY(s2hyp_kvm_guest_write(*k, GPA, 2));
	uint64_t after;
	TRY(s2host_read(h, p, 0, &after));
	snprintf(out, n, "protect %s stage 2;%s the guest's write %s with stage 2 %s; the handler "
		 "saved %llu; after un-protect the write lands (%llu)",
		 unmapped ? "unmapped" : "did NOT unmap",
		 rd ? " the read waited for the handler (forced COW break);" : "",
		 blocked == S2_EAGAIN ? "waited for the handler" : "went through",
		 ro ? "read-only" : "WRITABLE", (unsigned long long)v, (unsigned long long)after);
	return 0;
}

#define PS (1u << S2HOST_RULE_PIN_STABLE)
#define UAF (1u << S2HOST_RULE_USE_AFTER_FREE)
#define RACE (S2HYP_KVM_RULE_BIT(S2HYP_KVM_RULE_S2_RETRY) | \
	      S2HYP_KVM_RULE_BIT(S2HYP_KVM_RULE_S2_SUBSET) | \
	      S2HYP_KVM_RULE_BIT(S2HYP_KVM_RULE_S2_NOREF) | UAF)
#define W (S2HYP_KVM_RULE_BIT(S2HYP_KVM_RULE_S2_WRITABLE))

/*                         MAP0 MAP1 MAP2 MAP2F CNT CNT2 AE */
static const struct s2hyp_kvm_scenario scenarios[] = {
	{ "kvm-zero-then-write", "capture",
	  "read pass then write pass over never-written guest RAM: zero page, then COW in the permission fault",
	  { 0, 0, 0, 0, 0, 0, 0 }, zero_then_write },
	{ "s3.1-cow-in-fault", "S3.1",
	  "the guest writes a COW-shared page: the COW inside GUP invalidates, the fault retries",
	  { 0, 0, 0, 0, 0, 0, 0 }, s3_1 },
	{ "s3.2-invalidate-race", "S3.2",
	  "MADV_DONTNEED between the fault's GUP and its install: the retry check refuses the page",
	  { 0, 0, 0, 0, 0, 0, 0 }, s3_2 },
	{ "s3.2-no-retry-check", "S3.2",
	  "the same race with the retry check removed: stage 2 maps a page the host has freed",
	  { RACE, RACE, RACE, RACE, RACE, RACE, RACE }, s3_2_bug },
	{ "s3.3-read-then-write", "S3.3",
	  "read then write of a COW-shared page: read-only first, the copy writable after",
	  { 0, 0, 0, 0, 0, 0, 0 }, s3_3 },
	{ "s3.4-ksm", "S3.4",
	  "KSM merges a guest page: the refault maps the KSM page read-only",
	  { 0, 0, 0, 0, 0, 0, 0 }, s3_4 },
	{ "s3.4-ksm-writable-bug", "S3.4",
	  "the same with a fault handler that maps read faults writable: the KSM page is writable "
	  "(not under MAP2+F, whose read GUP breaks COW into a private page)",
	  { W, W, W, 0, W, W, W }, s3_4_bug },
	{ "s3.5-collapse", "S3.5",
	  "khugepaged collapses a guest range mapped with 4K leaves: the next fault maps a block",
	  { 0, 0, 0, 0, 0, 0, 0 }, s3_5 },
	{ "s3.6-split", "S3.6",
	  "the host splits the PMD behind a stage-2 block: refaults map 4K leaves",
	  { 0, 0, 0, 0, 0, 0, 0 }, s3_6 },
	{ "s5.3-guest-uffd-wp", "S5.3",
	  "a guest write to a uffd-wp protected page waits for the handler; stage 2 stays read-only",
	  { 0, 0, 0, 0, 0, 0, 0 }, s5_3 },
	{ "s1.4-clear-refs-guest", "S1.4",
	  "S1.4 with the write made by the guest through stage 2",
	  { 0, 0, 0, 0, PS, 0, 0 }, s1_4_guest },
};

unsigned s2hyp_kvm_nr_scenarios(void)
{
	return sizeof(scenarios) / sizeof(scenarios[0]);
}

const struct s2hyp_kvm_scenario *s2hyp_kvm_scenario(unsigned i)
{
	return i < s2hyp_kvm_nr_scenarios() ? &scenarios[i] : NULL;
}

const char *s2hyp_kvm_scenario_name(unsigned i)
{
	return i < s2hyp_kvm_nr_scenarios() ? scenarios[i].name : NULL;
}
