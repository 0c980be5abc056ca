/* s2host_rules: the invariants the host memory model checks, in one table.
 *
 * Each row: enum id, stable name (used in reports and tests), what it means,
 * and where it comes from (../shared/ref/host-mm.md names them INV-*). The
 * enum and the name table are generated from it; tests assert on the enum. */
#ifndef S2HOST_RULES_H
#define S2HOST_RULES_H

#define S2HOST_RULE_TABLE(X) \
	X(S2HOST_RULE_PIN_STABLE, "pin-stable", \
	  "a long-term pinned anon page stays mapped at the pinned address in its process until the pin is dropped, unless that process unmaps it itself", \
	  "INV-PIN-STABLE; LKML 2016 vfio THP regression; LKML 2021 page_count vs wp_page_copy") \
	X(S2HOST_RULE_FORK_PIN, "fork-pin", \
	  "after fork, a child never shares a page its parent holds pinned: it gets a copy or nothing", \
	  "INV-FORK-PIN; mm: Do early cow for pinned pages during fork() for ptes (70e806e4e645)") \
	X(S2HOST_RULE_COW_ISOLATION, "cow-isolation", \
	  "no process reads, through a mapping or a GUP reference it took after the fork, a write another process made after they forked apart", \
	  "INV-COW-NOLEAK; CVE-2020-29374 (vmsplice); COW fixes part 1 cover") \
	X(S2HOST_RULE_RMAP_OWNER, "rmap-owner", \
	  "a large folio is moved to one process's anon_vma on COW reuse only when no other process maps any of its subpages", \
	  "INV-RMAP-OWNER; Kirill Shutemov's counterexample in the 2016 vfio thread") \
	X(S2HOST_RULE_REFCOUNT, "refcount", \
	  "every folio's refcount covers its mappings, pins (1024 each on a small folio), GUP references and swap cache; pincount never exceeds refcount", \
	  "INV-REF-GE-MAP, INV-PIN-ACCOUNT; include/linux/mm.h GUP_PIN_COUNTING_BIAS") \
	X(S2HOST_RULE_USE_AFTER_FREE, "use-after-free", \
	  "no folio is freed while mapped or referenced, and nothing reads or writes a freed folio", \
	  "INV-REF-GE-MAP; INV-S2-NOREF") \
	X(S2HOST_RULE_UFFD_WP, "uffd-wp", \
	  "no write lands at an address its uffd monitor write-protected until the monitor un-protects it", \
	  "INV-UFFD-WP, INV-UFFD-NOTIFY; LKML 2020 uffd fault-around thread") \
	X(S2HOST_RULE_FAULT_AROUND, "fault-around-uffd", \
	  "fault-around maps only read-only, only into empty PTEs, and never in a uffd-wp registered range", \
	  "INV-FAULTAROUND-UFFD; mm/shmem: handle uffd-wp special pte in page fault handler (9c28a205c061)") \
	X(S2HOST_RULE_LOST_WRITE, "lost-write", \
	  "a truncation never discards a write its uffd monitor was not told of", \
	  "S5.1 (\"That's severe data loss\"); mm/shmem: persist uffd-wp bit across zapping (999dad824c39)") \
	X(S2HOST_RULE_TLB_BEFORE_COPY, "tlb-before-copy", \
	  "a COW copy of a page starts only after every writable TLB entry for the old PTE is flushed", \
	  "INV-TLB-BEFORE-COPY; S5.2; mm/userfaultfd: fix memory corruption due to writeprotect (Nadav Amit, 2021)") \
	X(S2HOST_RULE_UFFD_WP_FORK, "uffd-wp-fork", \
	  "after fork a child's PTEs and swap entries carry uffd-wp only where its own VMA is uffd-wp registered, and a registered child keeps the parent's protection", \
	  "S5.4; mm/userfaultfd: fix uffd-wp special cases for fork() (8f34f1eac382)") \
	X(S2HOST_RULE_THP_MAPSUM, "thp-mapsum", \
	  "the mapcounts a COW decision reads from a large folio's encoding (subpage mapcounts with PageDoubleMap's offset, the compound mapcount) are the mappings its page tables hold", \
	  "INV-THP-MAPSUM; S4.4; mm: thp: make the THP mapcount atomic against __split_huge_pmd_locked() (c444eb564fb1)") \
	X(S2HOST_RULE_GET_STABLE, "get-stable", \
	  "a writable GUP reference that is not a pin (FOLL_GET|FOLL_WRITE: O_DIRECT) on an anon page stays mapped at its address in its process until dropped, unless that process unmaps it itself or forks", \
	  "S2.3's FOLL_GET variant; mm/swap: remember PG_anon_exclusive via a swp pte bit (1493a1913e34)")

enum s2host_rule {
#define S2HOST_RULE_ENUM(id, name, meaning, source) id,
	S2HOST_RULE_TABLE(S2HOST_RULE_ENUM)
#undef S2HOST_RULE_ENUM
	S2HOST_NR_RULES
};

const char *s2host_rule_name(enum s2host_rule r);
const char *s2host_rule_meaning(enum s2host_rule r);
const char *s2host_rule_source(enum s2host_rule r);

#endif
