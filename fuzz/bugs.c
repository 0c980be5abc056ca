/* The bug table (docs/bugs.md): real Linux arm64 stage-2 bugs, each
 * reproduced by a buggy variant, and the hunt that measures how long the
 * generic generator takes to find each one without being pointed at it. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/s2fuzz.h"

const struct s2fuzz_bug s2fuzz_bugs[] = {
	{ "upstream-2021-tlbi-ipa", "tlbi-before-free",
	  "KVM: arm64: Fix handling of merging tables into a block entry (v5.10)",
	  "the merge TLBIs only the anchor's IPA: the old table is freed while page translations "
	  "and walk-cache entries of the rest of the block survive" },
	{ "upstream-noreload", "walk-after-free",
	  "KVM: arm64: Reload PTE after invoking walker callback on preorder traversal (v6.4)",
	  "the walk descends through the table pointer it read before the pre visitor replaced "
	  "and freed that table" },
	{ "upstream-free-leak", "refcount",
	  "KVM: arm64: Drop last page ref in kvm_pgtable_stage2_free_removed() (v6.3)",
	  "an unlinked table's own page keeps its last reference and is never freed" },
	{ "upstream-2021-valid-leak", "refcount",
	  "KVM: arm64: Fix memory leak on stage2 update of a valid PTE (v5.11)",
	  "a map that only adds permissions to a valid leaf takes a reference as for a new entry" },
	{ "upstream-unmap-defer-tlbi", "tlbi-before-free",
	  "KVM: arm64: Don't defer TLB invalidation when zapping table entries (v6.9)",
	  "unmap frees the tables it empties before the one TLBI it defers to the end" },
	{ "upstream-eagain-stops", "wrprotect-complete",
	  "KVM: arm64: Ignore EAGAIN for walks outside of a fault (v6.3)",
	  "a write-protect walk stops at the first invalid entry: the rest of the range stays "
	  "writable" },
	{ "install-first-nocmo", "dcache-clean-before-visible",
	  "KVM: arm64: Install the block entry before unmapping the page mappings (2021 review, v1)",
	  "the block replacing a table is installed without the CMOs of a newly visible page" },
	{ "upstream-nocmo", "dcache-clean-before-visible",
	  "KVM: arm64: Move guest CMOs to the fault handlers (v5.14), without them",
	  "no dcache clean or icache invalidation between break and make" },
	{ "anchor-leak", "refcount",
	  "KVM: arm64: Install the block entry before unmapping the page mappings (2021 review: "
	  "the anchor's put)",
	  "the 2021 coalescing order without the put of the anchor's reference" },
	{ "install-first-anchor-leak", "refcount",
	  "KVM: arm64: Install the block entry before unmapping the page mappings (2021 review: "
	  "an extra get)",
	  "install-first taking a reference for the block as well as keeping the table's" },
	{ "kvm-dirty-log-blocks", "dirty-log-protect",
	  "arm: KVM: dirty page logging 2nd stage page fault (v4.1: force_pte when logging_active)",
	  "the fault handler maps blocks while dirty logging is on: writes to the block's other "
	  "pages go unrecorded" },
	{ "kvm-dirty-log-noflush", "wrprotect-complete",
	  "arm: KVM: dirty log read write protect support (v4.1: kvm_flush_remote_tlbs in "
	  "kvm_mmu_wp_memory_region)",
	  "turning dirty logging on write-protects the slot but flushes no TLB: writes through "
	  "cached writable translations go unrecorded" },
	{ "kvm-huge-unchecked", "mapping-bounds",
	  "KVM: arm/arm64: Fix unintended stage 2 PMD mappings (v5.1)",
	  "a block is mapped without checking that IPA and host address share their offset in it "
	  "and that it lies inside the memslot" },
	{ "upstream-relax-notlbi", "no-progress",
	  "modelled: the local TLBI of kvm_pgtable_stage2_relax_perms (KVM: arm64: Use local TLBI "
	  "on permission relaxation, v6.2), removed",
	  "a CPU whose TLB cached the entry that took the permission fault keeps faulting on it" },
	{ NULL, NULL, NULL, NULL },
};

/* The first seed that fired the table's rule, shrunk on that rule against
 * upstream. */
static int shrink_found(const struct s2hyp_scenario *base, const struct s2fuzz_opts *o,
			enum s2hyp_rule rule, struct s2fuzz_hunt *h, char *err, size_t errlen)
{
	struct s2hyp_scenario sc;
	struct s2fuzz_seed_result r;
	struct s2hyp_choice *sched = NULL;
	size_t n = 0;
	int ret = s2fuzz_scenario_generate(&sc, &base->cfg, o->gen_pick, h->first_seed);

	if (!ret)
		ret = s2fuzz_run_seed(base, o, h->first_seed, 0, &r, &sched, &n);
	if (!ret)
		ret = s2fuzz_shrink_against(&sc, sched, n, rule, o->against, o->shrink_runs, &h->cex);
	if (!ret) {
		h->cex.seed = h->first_seed;
		h->have_cex = true;
	} else {
		snprintf(err, errlen, "seed %llu does not reproduce: %s",
			 (unsigned long long)h->first_seed, s2_err_msg(ret));
	}
	free(sched);
	s2hyp_scenario_free(&sc);
	return ret;
}

int s2fuzz_bug_hunt(const struct s2fuzz_bug *b, uint64_t runs, double time_limit, bool shrink,
		    struct s2fuzz_hunt *h, char *err, size_t errlen)
{
	enum s2pt_variant v;
	struct s2hyp_scenario base;
	struct s2fuzz_opts o;
	int rule = s2hyp_rule_parse(b->rule);

	memset(h, 0, sizeof(*h));
	if (s2pt_variant_parse(b->variant, &v)) {
		snprintf(err, errlen, "unknown variant '%s'", b->variant);
		return S2_EINVAL;
	}
	s2hyp_scenario_init(&base);
	base.cfg.variant = v;
	s2fuzz_opts_init(&o, S2FUZZ_RANDOM);
	o.generate = true;
	o.gen_pick = S2FUZZ_GEN_ALL;
	o.runs = runs;
	o.time_limit = time_limit;
	o.shrink = false;
	int ret = s2fuzz_run(&base, &o, &h->res, err, errlen);
	if (ret) {
		s2hyp_scenario_free(&base);
		return ret;
	}
	h->runs = h->res.runs;
	h->secs = h->res.secs;
	if (rule >= 0 && h->res.fired_runs[rule]) {
		h->found = true;
		h->first_seed = h->res.first_seed[rule];
		/* Seeds run from 1: the first that fires is the number of
		 * scenarios the generator needed. */
		h->schedules = h->first_seed - o.seed + 1;
		h->secs_to_find = h->runs ? h->secs * (double)h->schedules / (double)h->runs : 0;
	}
	if (h->found && shrink)
		ret = shrink_found(&base, &o, (enum s2hyp_rule)rule, h, err, errlen);
	s2hyp_scenario_free(&base);
	return ret;
}

void s2fuzz_hunt_free(struct s2fuzz_hunt *h)
{
	s2fuzz_result_free(&h->res);
	if (h->have_cex)
		s2fuzz_cex_free(&h->cex);
}
