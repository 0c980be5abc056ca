/* s2hyp_kvmhost: KVM's memory side over the host memory model (host-mm/):
 * memslots from guest physical to the VMM's virtual addresses, the stage-2
 * fault handler that faults pages in through the host's GUP, maps them and
 * drops the reference (user_mem_abort, __kvm_faultin_pfn), and the MMU
 * notifier with mmu_invalidate_seq / mmu_invalidate_in_progress and the
 * fault handler's retry (kvm_main.c, mmu_invalidate_retry).
 *
 * Stage 2 is the real walker (walker/) over a table-page pool (pool/); it
 * holds no reference on guest pages: only the notifier keeps it coherent.
 * The fault handler comes in two halves so that a test or a scenario can run
 * host events between them: s2hyp_kvm_fault_begin (snapshot the sequence,
 * GUP) and s2hyp_kvm_fault_finish (the MMU lock, the retry check, the
 * install, the release). Its vCPUs are plain accesses by IPA, without TLBs
 * or caches. The machine of s2hyp.h runs the same protocol over its own
 * stage 2 and vCPUs (s2hyp_config.host_mm): it creates the VM with
 * s2hyp_kvm_create_on, handing over its tables, TLBs and MMU lock as
 * struct s2hyp_kvm_stage2, and installs between s2hyp_kvm_fault_check and
 * s2hyp_kvm_fault_release itself.
 *
 * Rules (s2hyp_kvm_rule): stage 2 stays a subset of the host's page tables,
 * maps writable only what the host mapped writable, installs only after a
 * clean retry check, never maps a freed page, and never maps writable what
 * the VMM's userfaultfd monitor write-protected.
 */
#ifndef S2HYP_KVMHOST_H
#define S2HYP_KVMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host-mm/s2host.h"

#define S2HYP_KVM_RULE_TABLE(X) \
	X(S2HYP_KVM_RULE_S2_SUBSET, "s2-subset", \
	  "once an invalidation ends, every stage-2 leaf maps the page the host maps at that address, or nothing", \
	  "INV-S2-SUBSET; kvm_main.c kvm_mmu_notifier_invalidate_range_start/end") \
	X(S2HYP_KVM_RULE_S2_WRITABLE, "s2-writable", \
	  "a stage-2 leaf is writable only if the host mapped the page writable (a FOLL_WRITE GUP) in the same retry window", \
	  "INV-S2-W; arm64 user_mem_abort: writable from __kvm_faultin_pfn") \
	X(S2HYP_KVM_RULE_S2_RETRY, "s2-retry", \
	  "a fault installs a leaf only if no invalidation is in progress and the sequence is the one it snapshotted before GUP", \
	  "INV-S2-RETRY; mmu_invalidate_retry()") \
	X(S2HYP_KVM_RULE_S2_NOREF, "s2-noref", \
	  "no page is freed while a stage-2 leaf maps it (stage 2 holds no reference: the notifier must unmap first)", \
	  "INV-S2-NOREF") \
	X(S2HYP_KVM_RULE_S2_UFFD_WP, "s2-uffd-wp", \
	  "no stage-2 leaf or vCPU TLB entry is writable for an address its uffd monitor write-protected (a guest write must reach the handler through KVM's FOLL_WRITE GUP)", \
	  "INV-UFFD-S2; LKML 2020 uffd fault-around thread")

enum s2hyp_kvm_rule {
#define S2HYP_KVM_RULE_ENUM(id, name, meaning, source) id,
	S2HYP_KVM_RULE_TABLE(S2HYP_KVM_RULE_ENUM)
#undef S2HYP_KVM_RULE_ENUM
	S2HYP_KVM_NR_RULES
};

const char *s2hyp_kvm_rule_name(enum s2hyp_kvm_rule r);
const char *s2hyp_kvm_rule_meaning(enum s2hyp_kvm_rule r);
const char *s2hyp_kvm_rule_source(enum s2hyp_kvm_rule r);

struct s2hyp_kvm;

struct s2hyp_kvm_config {
	unsigned ipa_bits;	/* 32..48; 4K granule */
	/*
	 * Known-buggy knobs, to show what each rule catches:
	 * no_retry_check: install even when an invalidation raced the fault;
	 * map_writable_always: map W on read faults whatever GUP said.
	 */
	bool no_retry_check;
	bool map_writable_always;
};

void s2hyp_kvm_config_init(struct s2hyp_kvm_config *cfg);

/* A VM for the VMM process mm of h, its notifier registered. */
int s2hyp_kvm_create(struct s2host *h, int mm, const struct s2hyp_kvm_config *cfg,
		     struct s2hyp_kvm **out);
void s2hyp_kvm_destroy(struct s2hyp_kvm *k);

struct s2hyp_kvm_leaf;
/* Stage 2 kept by someone else (the machine). Every callback gets arg. */
struct s2hyp_kvm_stage2 {
	/* The leaf translating ipa now (out->valid false when none). */
	int (*leaf)(void *arg, uint64_t ipa, struct s2hyp_kvm_leaf *out);
	/* The vCPU TLB entries translating ipa: up to max into out, how
	 * many. May be NULL (no TLBs). */
	unsigned (*tlb)(void *arg, uint64_t ipa, struct s2hyp_kvm_leaf *out, unsigned max);
	/* kvm_unmap_gfn_range: unmap and flush, under the MMU lock. */
	void (*unmap)(void *arg, uint64_t ipa, uint64_t size);
	/* kvm_age_gfn (mkold) / kvm_test_age_gfn: whether any leaf was young. */
	bool (*age)(void *arg, uint64_t ipa, uint64_t size, bool mkold);
};
int s2hyp_kvm_create_on(struct s2host *h, int mm, const struct s2hyp_kvm_config *cfg,
			const struct s2hyp_kvm_stage2 *s2, void *arg, struct s2hyp_kvm **out);

#define S2HYP_KVM_MAX_SLOTS 8
/* Guest [ipa, ipa+size) is the VMM's [hva, hva+size) in the host model;
 * 4K aligned. uaddr is where the VMM itself has it (its userspace_addr: a
 * trace's memslot hva=), the address the rules' messages name. */
int s2hyp_kvm_add_memslot(struct s2hyp_kvm *k, uint64_t ipa, uint64_t size, uint64_t hva,
			  uint64_t uaddr);

/* One fault in flight between its two halves. */
struct s2hyp_kvm_fault {
	uint64_t ipa, hva;
	bool write;
	unsigned long seq;	/* mmu_invalidate_seq snapshotted before GUP */
	unsigned ref;		/* the GUP reference */
	uint64_t pfn;
	bool writable, huge;
	/* s2hyp_kvm_fault_check's decision: the leaf's size, writable or not */
	uint64_t size;
	bool map_writable;
};

/* Snapshot the sequence and fault the page in through GUP (write faults
 * with FOLL_WRITE; read faults try a fast writable GUP after the read one).
 * -EFAULT outside every memslot or when the host refuses; -EAGAIN when the
 * fault went to the VMM's userfaultfd (a missing or minor page, a write to
 * a uffd-wp protected one): arm64's user_mem_abort passes no async flag,
 * so its GUP carries no FOLL_NOWAIT and the vCPU thread sleeps inside
 * handle_userfault until the handler wakes it (s2host_uffd_last_msg names
 * the message); then s2hyp_kvm_fault_gup resumes the GUP, keeping the
 * sequence snapshotted before it, as GUP's own retry of the fault does. */
int s2hyp_kvm_fault_begin(struct s2hyp_kvm *k, uint64_t ipa, bool write,
			  struct s2hyp_kvm_fault *f);
int s2hyp_kvm_fault_gup(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f);
/* Under the MMU lock: -EAGAIN if the retry check fails (the guest
 * refaults), else install the leaf; the GUP reference is dropped either way. */
int s2hyp_kvm_fault_finish(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f);
/* fault_finish in pieces, for a stage 2 kept elsewhere. Under the MMU lock:
 * -EAGAIN if the retry check fails (the reference is dropped), else 0 with
 * f->size and f->map_writable set; then, after installing and unlocking,
 * release drops the reference and checks the rules over the new leaf. */
int s2hyp_kvm_fault_check(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f);
void s2hyp_kvm_fault_release(struct s2hyp_kvm *k, struct s2hyp_kvm_fault *f);
/* An invalidation with no change on the host (a notifier call seen in a
 * trace without its cause): start, then end, over the VMM's [hva, hva+size). */
void s2hyp_kvm_invalidate(struct s2hyp_kvm *k, uint64_t hva, uint64_t size);

/* A guest load or store at ipa: translated by stage 2, faulting (both
 * halves, retried) until it goes through. -EFAULT outside the memslots,
 * -EAGAIN while the userfaultfd handler has not resolved a protected page. */
int s2hyp_kvm_guest_read(struct s2hyp_kvm *k, uint64_t ipa, uint64_t *value);
int s2hyp_kvm_guest_write(struct s2hyp_kvm *k, uint64_t ipa, uint64_t value);

struct s2hyp_kvm_leaf {
	bool valid, writable;
	uint64_t pfn;		/* the 4K page that translates ipa */
	uint64_t size;		/* 4K or 2M */
};
int s2hyp_kvm_leaf(struct s2hyp_kvm *k, uint64_t ipa, struct s2hyp_kvm_leaf *out);
struct s2pt;
/* The leaf of ipa in walker tables pt whose page frame 0 is at pa_base. */
int s2hyp_kvm_pt_leaf(struct s2pt *pt, uint64_t pa_base, uint64_t ipa, struct s2hyp_kvm_leaf *out);

struct s2hyp_kvm_stats {
	uint64_t faults_translation, faults_permission, retries, maps, relaxes;
	uint64_t invalidations, unmaps, young_tests;
	unsigned long seq;
	unsigned in_progress;
	uint64_t violations[S2HYP_KVM_NR_RULES];
};
const struct s2hyp_kvm_stats *s2hyp_kvm_stats(const struct s2hyp_kvm *k);

struct s2hyp_kvm_violation {
	enum s2hyp_kvm_rule rule;
	uint64_t ipa;
	char what[200];
};
unsigned s2hyp_kvm_nr_violations(const struct s2hyp_kvm *k);
const struct s2hyp_kvm_violation *s2hyp_kvm_violation(const struct s2hyp_kvm *k, unsigned i);

/* Check every leaf against the host now; the number of new violations. */
unsigned s2hyp_kvm_check(struct s2hyp_kvm *k);

/* ---- Scenarios: the specification's S3.x (KVM over the host) --------- */

/* Bit of a KVM rule in a scenario's expect mask (host rules use bits 0..15). */
#define S2HYP_KVM_RULE_BIT(r) (1u << (16 + (r)))

struct s2hyp_kvm_scenario {
	const char *name;	/* "s3.2-invalidate-race" */
	const char *spec;	/* "S3.2" */
	const char *desc;
	/* Rules expected per COW policy: host rules (1u << r) and KVM rules
	 * (S2HYP_KVM_RULE_BIT(r)). */
	unsigned expect[S2HOST_NR_POLICIES];
	/* Runs on h, creating the VM in *k (the caller destroys it). */
	int (*run)(struct s2host *h, struct s2hyp_kvm **k, char *out, size_t n);
};

unsigned s2hyp_kvm_nr_scenarios(void);
const struct s2hyp_kvm_scenario *s2hyp_kvm_scenario(unsigned i);
/* Scenario i's name; NULL past the last (found by name with common's
 * s2_find_name_by, where text is read). */
const char *s2hyp_kvm_scenario_name(unsigned i);
/* The KVM rules (S2HYP_KVM_RULE_BIT mask) that fired in k. */
unsigned s2hyp_kvm_fired(const struct s2hyp_kvm *k);

#endif
