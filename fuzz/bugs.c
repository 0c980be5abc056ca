/* The bug table (docs/bugs.md): real Linux arm64 stage-2 bugs, each
 * reproduced by a buggy variant, and the hunt that measures how long the
 * generic generator takes to find each one without being pointed at it. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/s2fuzz.h"
#include "traces/s2trace.h"

const struct s2fuzz_bug s2fuzz_bugs[] = {
	{ "upstream-2021-tlbi-ipa", "tlbi-before-free",
	  "KVM: arm64: Fix handling of merging tables into a block entry (3a0b870e3448, v5.10)",
	  "the merge TLBIs only the anchor's IPA: the old table is freed while page translations "
	  "and walk-cache entries of the rest of the block survive", 0 },
	{ "upstream-noreload", "walk-after-free",
	  "KVM: arm64: Reload PTE after invoking walker callback on preorder traversal "
	  "(a9f0e3d5a089, v6.4)",
	  "the walk descends through the table pointer it read before the pre visitor replaced "
	  "and freed that table", 0 },
	{ "upstream-free-leak", "refcount",
	  "KVM: arm64: Drop last page ref in kvm_pgtable_stage2_free_removed() (f6a27d6dc51b, v6.4)",
	  "an unlinked table's own page keeps its last reference and is never freed", 0 },
	{ "upstream-2021-valid-leak", "refcount",
	  "KVM: arm64: Fix memory leak on stage2 update of a valid PTE (5c646b7e1d8b, v5.10)",
	  "a map that only adds permissions to a valid leaf takes a reference as for a new entry", 0 },
	{ "upstream-unmap-defer-tlbi", "tlbi-before-free",
	  "KVM: arm64: Don't defer TLB invalidation when zapping table entries (f62d4c3eb687, v6.9)",
	  "unmap frees the tables it empties before the one TLBI it defers to the end", 0 },
	{ "upstream-eagain-stops", "wrprotect-complete",
	  "KVM: arm64: Ignore EAGAIN for walks outside of a fault (ddcadb297ce5, v6.3)",
	  "a write-protect walk stops at the first invalid entry: the rest of the range stays "
	  "writable", 0 },
	{ "install-first-nocmo", "dcache-clean-before-visible",
	  "KVM: arm64: Install the block entry before unmapping the page mappings (2021 review, v1)",
	  "the block replacing a table is installed without the CMOs of a newly visible page", 0 },
	{ "upstream-nocmo", "dcache-clean-before-visible",
	  "KVM: arm64: Move guest CMOs to the fault handlers (25aa28691bb9, v5.14), without them",
	  "no dcache clean or icache invalidation between break and make", 0 },
	{ "anchor-leak", "refcount",
	  "KVM: arm64: Install the block entry before unmapping the page mappings (2021 review: "
	  "the anchor's put)",
	  "the 2021 coalescing order without the put of the anchor's reference", 0 },
	{ "install-first-anchor-leak", "refcount",
	  "KVM: arm64: Install the block entry before unmapping the page mappings (2021 review: "
	  "an extra get)",
	  "install-first taking a reference for the block as well as keeping the table's", 0 },
	{ "kvm-dirty-log-blocks", "dirty-log-protect",
	  "KVM: arm: page logging 2nd stage fault handling (2015, v14 of the series: force_pte "
	  "when logging_active)",
	  "the fault handler maps blocks while dirty logging is on: writes to the block's other "
	  "pages go unrecorded", 0 },
	{ "kvm-dirty-log-noflush", "wrprotect-complete",
	  "KVM: arm: Add initial dirty page locking support (c64735554c0a: kvm_flush_remote_tlbs "
	  "in kvm_mmu_wp_memory_region)",
	  "turning dirty logging on write-protects the slot but flushes no TLB: writes through "
	  "cached writable translations go unrecorded", 0 },
	{ "kvm-huge-unchecked", "mapping-bounds",
	  "KVM: arm/arm64: Fix unintended stage 2 PMD mappings (6794ad5443a2, v5.0)",
	  "a block is mapped without checking that IPA and host address share their offset in it "
	  "and that it lies inside the memslot", 0 },
	{ "upstream-relax-notlbi", "no-progress",
	  "modelled: the local TLBI of kvm_pgtable_stage2_relax_perms (KVM: arm64: Use local TLBI "
	  "on permission relaxation, a12ab1378a88, v6.4), removed",
	  "a CPU whose TLB cached the entry that took the permission fault keeps faulting on it", 0 },
	{ "kvm-relax-stale-level", "dirty-log-protect",
	  "open in Linux since KVM: arm64: Add usage of stage 2 fault lookup level in "
	  "user_mem_abort() (7d894834a305, v5.10): no fix upstream; s2emu's correct variants "
	  "recheck the level",
	  "a permission fault taken on a page, then the table coalesced into a block and dirty "
	  "logging turned on before the handler runs: the handler relaxes the whole block",
	  10000 },
	{ "upstream-free-now", "free-before-grace",
	  "KVM: arm64: Protect stage-2 traversal with RCU (c3119ae45dfb, v6.2); the variant is the "
	  "tree at 5c359cca1faf",
	  "the table a coalesce replaces by a block is torn down inside the walk, while other "
	  "walkers (and the unlinking one) may still be reading it", 0 },
	{ "upstream-attr-plain", "store-unowned",
	  "KVM: arm64: Atomically update stage 2 leaf attributes in parallel walks "
	  "(ca5de2448c3b, v6.2)",
	  "relax-perms and the access-flag walks store plainly under the read lock: another "
	  "walker's change to the entry is overwritten", 0 },
	{ "upstream-loser-put", "refcount",
	  "modelled: only the winner of a break drops the old reference (KVM: arm64: Make "
	  "leaf->leaf PTE changes parallel-aware, 946fbfdf336b, v6.2), removed",
	  "a walker whose exchange lost still drops the old entry's reference: the table page's "
	  "count falls one short", 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

uint64_t s2fuzz_bug_bound(const struct s2fuzz_bug *b)
{
	return b->bound ? b->bound : S2FUZZ_BUG_BOUND;
}

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
	int rule = s2trace_word_parse(S2T_W_RULE, b->rule);

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
