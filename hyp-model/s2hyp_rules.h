/* s2hyp_rules: the rules the checker enforces, in one table.
 *
 * Each row: enum id, stable name (used in traces, reports and JSON), what it
 * means, and where the rule comes from. The enum, the name table and
 * docs/checks.md's table are generated from it; tests assert on the enum. */
#ifndef S2HYP_RULES_H
#define S2HYP_RULES_H

#include <stdint.h>

#define S2HYP_RULE_TABLE(X) \
	X(S2HYP_RULE_REFCOUNT, "refcount", \
	  "every table page's refcount equals 1 + its counted entries whenever the MMU lock is released", \
	  "KVM pgtable.c refcount convention (stage2_pte_is_counted)") \
	X(S2HYP_RULE_LEAK, "leak", \
	  "at VM destroy every table page has been freed and every host page reference returned", \
	  "KVM: Fix memory leak on stage2 update of a valid PTE; Drop last page ref in free_removed") \
	X(S2HYP_RULE_DOUBLE_FREE, "double-free", \
	  "no table page is freed twice, and no reference is taken or dropped on a freed page", \
	  "KVM pgtable.c refcount convention") \
	X(S2HYP_RULE_WALK_AFTER_FREE, "walk-after-free", \
	  "no walk (hardware or hypervisor) reads a freed table page; no walk-cache entry points at one", \
	  "KVM: Reload PTE after invoking walker callback on preorder traversal") \
	X(S2HYP_RULE_TLBI_BEFORE_FREE, "tlbi-before-free", \
	  "a table page is freed only after the entry that pointed to it was invalidated, TLBI'd and the TLBI completed by a DSB", \
	  "DDI 0487 D8.14 (TLB maintenance); KVM: Don't defer TLB invalidation when zapping table entries") \
	X(S2HYP_RULE_BBM, "break-before-make", \
	  "a valid entry is replaced by one differing in output address, size or memory type only through invalid + TLBI + DSB", \
	  "DDI 0487 D8.14.1 break-before-make") \
	X(S2HYP_RULE_TLB_CONFLICT, "tlb-conflict", \
	  "no vCPU TLB holds two overlapping translations that differ in size, output address or memory type", \
	  "DDI 0487 D8.14.3 TLB conflict; KVM: Fix handling of merging tables into a block entry") \
	X(S2HYP_RULE_TLBI_AFTER_UNMAP, "tlbi-after-unmap", \
	  "when an unmap returns, no vCPU TLB translates any part of the range", \
	  "KVM kvm_pgtable_stage2_unmap contract") \
	X(S2HYP_RULE_DCACHE_CLEAN, "dcache-clean-before-visible", \
	  "a page becoming visible through a cacheable mapping without FWB has no dirty line that was not cleaned to PoC", \
	  "DDI 0487 D7.5 (PoC); KVM stage2_map_walker_try_leaf CMOs") \
	X(S2HYP_RULE_ICACHE_INVAL, "icache-inval-before-exec", \
	  "a page becoming executable has no stale line in any vCPU's icache (unless CTR_EL0.DIC)", \
	  "DDI 0487 D7.5.9 (instruction cache coherency); KVM invalidate_icache_guest_page") \
	X(S2HYP_RULE_STALE_DATA, "stale-data", \
	  "no guest data access returns data older than the latest write to it", \
	  "DDI 0487 B2.4 (coherency); the purpose of every CMO above") \
	X(S2HYP_RULE_STALE_INSN, "stale-instruction", \
	  "no instruction fetch returns an instruction older than the latest write to it", \
	  "DDI 0487 B2.4.4 (concurrent modification and execution)") \
	X(S2HYP_RULE_TLBI_TTL, "tlbi-ttl", \
	  "a TLBI's TTL hint names the level of the leaf entry it is meant to remove (a wrong hint may leave it cached)", \
	  "DDI 0487 FEAT_TTL (the TTL field of TLBI operands)") \
	X(S2HYP_RULE_TLBI_S1_AFTER_IPA, "tlbi-stage1-after-ipa", \
	  "a stage-2 entry invalidated by IPA is clean only once the VMID's stage-1 entries are invalidated too (VMALLE1IS after the IPA TLBI's DSB)", \
	  "DDI 0487 D8.14 (TLB maintenance of stage 2: combined stage 1+2 entries); KVM __kvm_tlb_flush_vmid_ipa") \
	X(S2HYP_RULE_VMID_REUSE, "vmid-reuse", \
	  "a VMID (at EL2, an ASID or the untagged TTBR0_EL2) serves one root at a time: another root gets it only after its entries were invalidated", \
	  "DDI 0487 (VMIDs and ASIDs tag TLB entries); casemate duplicate (VM/AS)ID") \
	X(S2HYP_RULE_VMID_CHANGE, "vmid-change", \
	  "a live root keeps its VMID (or ASID): it moves to another only after the old one's entries were invalidated", \
	  "DDI 0487 (VMIDs and ASIDs tag TLB entries); casemate root already associated with an (VM/AS)ID") \
	X(S2HYP_RULE_TTBR_ASID, "ttbr-asid", \
	  "TTBR0_EL2.ASID [63:48] is zero unless HCR_EL2.E2H is 1 (RES0 otherwise)", \
	  "DDI 0487 TTBR0_EL2 (ASID is RES0 when HCR_EL2.E2H is 0)") \
	X(S2HYP_RULE_UNLOCKED_WRITE, "unlocked-write", \
	  "a store to a live table is made by a thread holding the lock that protects its tree", \
	  "pKVM/KVM MMU lock protocol; casemate must write to pte while holding owner lock") \
	X(S2HYP_RULE_UNLOCK_UNCLEAN, "unlock-unclean", \
	  "an unlock leaves no entry of the trees it protects broken without a completed TLBI", \
	  "KVM/pKVM: TLB maintenance finishes before the MMU lock is dropped") \
	X(S2HYP_RULE_TABLE_REUSE, "table-reuse", \
	  "a table page has one parent: it is linked again only after its old entry is invalid and clean, or its old tree released", \
	  "DDI 0487 D8.14 (TLB maintenance); casemate double-use pte") \
	X(S2HYP_RULE_UNMAP_COMPLETE, "unmap-complete", \
	  "when an unmap returns, no valid leaf in the tables maps any part of the range", \
	  "KVM kvm_pgtable_stage2_unmap / kvm_unmap_gfn_range contract (intent)") \
	X(S2HYP_RULE_WRPROTECT_COMPLETE, "wrprotect-complete", \
	  "when a write-protect returns (a host write-protect, dirty logging turned on, a dirty-log read), no writable leaf or vCPU TLB entry covers any part of the range", \
	  "KVM kvm_pgtable_stage2_wrprotect + kvm_flush_remote_tlbs (intent); KVM: arm64: Ignore EAGAIN for walks outside of a fault") \
	X(S2HYP_RULE_DIRTY_LOG_COMPLETE, "dirty-log-complete", \
	  "every guest write to a dirty-logged slot is in the bitmap the next get-dirty-log returns", \
	  "KVM_GET_DIRTY_LOG contract (intent): a VMM migrating the guest copies exactly those pages") \
	X(S2HYP_RULE_DIRTY_LOG_PROTECT, "dirty-log-protect", \
	  "while dirty logging is on, no writable leaf or vCPU TLB entry covers a page of the slot not yet marked dirty", \
	  "KVM user_mem_abort: force_pte and mark_page_dirty while logging_active (intent)") \
	X(S2HYP_RULE_MAPPING_BOUNDS, "mapping-bounds", \
	  "a leaf maps only memory its memslot backs, at the slot's offset, with no more permission than the slot allows", \
	  "KVM fault_supports_stage2_huge_mapping; KVM: arm/arm64: Fix unintended stage 2 PMD mappings") \
	X(S2HYP_RULE_AGE_ONLY_AF, "age-only-af", \
	  "aging (test and clear young) changes nothing in a leaf but its access flag", \
	  "KVM kvm_pgtable_stage2_test_clear_young (intent)") \
	X(S2HYP_RULE_NO_PROGRESS, "no-progress", \
	  "no vCPU takes the same fault on the same page N times in a row while no entry changes (liveness)", \
	  "KVM: a stage-2 fault is resolved or retried against changed tables, never spun on") \
	X(S2HYP_RULE_STORE_UNOWNED, "store-unowned", \
	  "a walker stores only to an entry it owns: never over another walker's locked marker, and under the read lock only by compare-and-exchange or into an entry it locked itself", \
	  "KVM v6.2+ stage2_try_set_pte and the locked marker (KVM: arm64: Make leaf->leaf PTE changes parallel-aware; Atomically update stage 2 leaf attributes in parallel walks)") \
	X(S2HYP_RULE_LOST_UPDATE, "lost-update", \
	  "no store overwrites a change another walker made to the entry after the writer read it (a plain store, or an exchange that matched the value but not the history)", \
	  "KVM v6.2+ parallel faults: every update is a compare-and-exchange against the value the walk read") \
	X(S2HYP_RULE_FREE_BEFORE_GRACE, "free-before-grace", \
	  "an unlinked table page is freed only after every walker that was inside an RCU read-side section when it was unlinked, and whose walk covers it, has left", \
	  "KVM: arm64: Protect stage-2 traversal with RCU (kvm_pgtable_walk_begin; removed tables freed by call_rcu)") \
	X(S2HYP_RULE_HOST_MM, "host-mm", \
	  "with guest memory on the host model: the host's rules (pin-stable, cow-isolation, refcount, use-after-free, ...) and KVM's over it (s2-subset, s2-writable, s2-retry, s2-noref, s2-uffd-wp; leaves and vCPU TLBs) hold; the report names which", \
	  "../shared/ref/host-mm.md INV-*; host-mm/s2host_rules.h, hyp-model/s2hyp_kvmhost.h")

enum s2hyp_rule {
#define S2HYP_RULE_ENUM(id, name, meaning, source) id,
	S2HYP_RULE_TABLE(S2HYP_RULE_ENUM)
#undef S2HYP_RULE_ENUM
	S2HYP_NR_RULES
};

/* A set of rules, bit r for rule r (fired, expected, ...). */
typedef uint64_t s2hyp_rule_set;
#define S2HYP_RULE_BIT(r) ((s2hyp_rule_set)1 << (r))
_Static_assert(S2HYP_NR_RULES <= 64, "s2hyp_rule_set has one bit a rule: widen it");

const char *s2hyp_rule_name(enum s2hyp_rule r);
const char *s2hyp_rule_meaning(enum s2hyp_rule r);
const char *s2hyp_rule_source(enum s2hyp_rule r);

#endif
