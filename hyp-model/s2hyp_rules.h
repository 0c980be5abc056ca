/* s2hyp_rules: the rules the checker enforces, in one table.
 *
 * Each row: enum id, stable name (used in traces, reports and JSON), what it
 * means, and where the rule comes from. The enum, the name table and
 * docs/checks.md's table are generated from it; tests assert on the enum. */
#ifndef S2HYP_RULES_H
#define S2HYP_RULES_H

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
	  "DDI 0487 B2.4.4 (concurrent modification and execution)")

enum s2hyp_rule {
#define S2HYP_RULE_ENUM(id, name, meaning, source) id,
	S2HYP_RULE_TABLE(S2HYP_RULE_ENUM)
#undef S2HYP_RULE_ENUM
	S2HYP_NR_RULES
};

const char *s2hyp_rule_name(enum s2hyp_rule r);
const char *s2hyp_rule_meaning(enum s2hyp_rule r);
const char *s2hyp_rule_source(enum s2hyp_rule r);
/* -1 for an unknown name. */
int s2hyp_rule_parse(const char *name);

#endif
