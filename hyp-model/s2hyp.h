/* s2hyp: the machine and the hypervisor around the walker.
 *
 * A machine has several vCPUs, each with a stage-2 TLB, a walk cache and a
 * hardware walker that reads the live tables one descriptor at a time; a
 * memory system from cache-model/; a VM whose stage-2 tables are built by
 * walker/ through mm ops that are the machine's; KVM's fault handler,
 * memslots, dirty logging and MMU notifiers; and a checker that enforces the
 * rules of s2hyp_rules.h at every step.
 *
 * Work comes as programs: one for the host (VMM and kernel events) and one
 * per vCPU (guest accesses). Every item has a phase: an item starts only when
 * every item of a lower phase, in every program, is done.
 *
 * Interleaving. The hypervisor runs one operation at a time (the MMU lock is
 * exclusive). Each effect of an operation (PTE store, TLBI, DSB, CMO, page
 * free) is a scheduling point: the scheduler may run any number of vCPU
 * steps (a descriptor read, a TLB fill, an access, a chosen eviction, a
 * speculative walk) before the effect happens. Outside operations it picks
 * which thread moves next; a vCPU that faults runs KVM's fault handler as the
 * next operation of its own. The choices form the schedule: printing it and
 * running it again gives the identical outcome.
 *
 * All state is behind struct s2hyp *: one process can run many machines.
 */
#ifndef S2HYP_H
#define S2HYP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/s2_types.h"
#include "hyp-model/s2hyp_rules.h"
#include "walker/s2pt.h"

#define S2HYP_MAX_VCPUS 16
#define S2HYP_MAX_SLOTS 32

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

struct s2hyp_config {
	unsigned granule_shift;		/* 12, 14, 16 */
	unsigned ipa_bits;
	unsigned nr_vcpus;		/* 1..S2HYP_MAX_VCPUS */
	bool fwb;			/* FEAT_S2FWB */
	bool idc, dic;			/* CTR_EL0.IDC / DIC */
	unsigned line_bytes;		/* dcache/icache line */
	enum s2pt_variant variant;
	bool eager_split;		/* dirty logging on splits every block at once */
	/* ... in chunks of this size, one split operation each
	 * (KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE, kvm_mmu_split_huge_pages);
	 * 0: the whole memslot in one */
	uint64_t split_chunk;
	bool rcu_free;			/* unlinked tables wait for an RCU grace period */
	bool range_tlbi;		/* FEAT_TLBIRANGE: KVM flushes ranges with TLBI RIPAS2E1IS */
	bool hw_af;			/* FEAT_HAFDBS, VTCR_EL2.HA: the walker sets AF, no fault */
	/* Entries of each vCPU's TLB (0: unlimited); a full TLB replaces an
	 * entry round-robin over its slots. The walk cache holds a sixteenth
	 * as many (at least 16). */
	unsigned tlb_entries;
	/* The TLB's leaves are combined stage 1+2 entries only (qemu's TCG),
	 * which TLBI VMALLE1(IS) removes; off, each also stands for a
	 * stage-2-only copy that stays (the worst case). */
	bool combined_tlb;
	bool check;			/* the checker on (off: for speed figures) */
	/* The descriptors hypervisor code reads are kept for footprints
	 * (s2hyp_footprint.h); off when nothing observes footprints (a
	 * replay), which changes nothing else. */
	bool footprints;
	bool explore_evictions;		/* TLB and dcache evictions are choices */
	bool explore_prefetch;		/* speculative walks are choices */
	unsigned max_faults_per_access;	/* a livelock guard */
	unsigned no_progress_faults;	/* no-progress: the same fault this many times in a
					 * row with no entry changed (0: the default, 4) */
	uint64_t max_steps;		/* 0: unlimited */
	/* Guest memory is the host's (host-mm/): each memslot is the VMM's
	 * private anonymous memory, the fault handler takes pages through
	 * GUP with the invalidate-sequence retry, host events reach stage 2
	 * through the MMU notifier, and the host's and KVM's rules are the
	 * checker's host-mm rule. 4K granule, no hugetlb slots. */
	bool host_mm;
	unsigned cow_policy;		/* enum s2host_policy (host-mm/s2host.h) */
	/* host_mm with known-buggy KVM, to show what its rules catch
	 * (s2hyp_kvm_config): install although an invalidation raced the
	 * fault; map read faults writable whatever GUP found; unmap stage 2
	 * for the MMU notifier without its TLB invalidations (an injected
	 * omission: the vCPUs' TLBs keep what the invalidation removed). */
	bool host_no_retry_check, host_map_writable_always, host_unmap_no_tlbi;
	/* host_mm: the userfaultfd fixes left out (struct s2host_config's
	 * three, all in by default): PTE markers and no fault-around in
	 * uffd-wp ranges (5.19); the TLB flush before a COW copy while a
	 * uffd-wp flush is pending (2021); fork's uffd-wp fixes (5.14). */
	bool uffd_no_markers, uffd_no_wp_flush, uffd_no_fork_fix;
};

/* Defaults: 4K granule, 40-bit IPA, 2 vCPUs, 64-byte lines, upstream,
 * checker on, evictions and prefetch explored. */
void s2hyp_config_init(struct s2hyp_config *cfg);

/* ------------------------------------------------------------------ */
/* Programs                                                            */
/* ------------------------------------------------------------------ */

enum s2hyp_backing {
	S2HYP_BACKING_4K,
	S2HYP_BACKING_THP,		/* transparent huge pages: 2M */
	S2HYP_BACKING_HUGETLB_2M,
	S2HYP_BACKING_HUGETLB_1G,
	S2HYP_BACKING_MEMFD,		/* host_mm: a shared mapping of a memfd (shmem), 4K pages */
};


struct s2hyp_memslot {
	uint64_t ipa;
	uint64_t size;
	uint64_t hva;			/* host virtual address of the slot's start */
	enum s2hyp_backing backing;
	bool readonly;
	bool dirty_log;			/* dirty logging on from the start */
	/* host_mm: registered with the VMM's userfaultfd, in these
	 * UFFDIO_REGISTER modes (minor: memfd slots only) */
	bool uffd_missing, uffd_wp, uffd_minor;
};

enum s2hyp_host_kind {
	S2HYP_HOST_WRITE,		/* the VMM writes guest memory (cacheable) */
	S2HYP_HOST_DIRTY_LOG_ON,	/* write-protect the slot, flush */
	S2HYP_HOST_DIRTY_LOG_OFF,	/* no walk at all */
	S2HYP_HOST_GET_DIRTY_LOG,	/* report and write-protect dirty pages again */
	S2HYP_HOST_UNMAP_HVA,		/* MMU notifier: unmap a host range */
	S2HYP_HOST_AGE_HVA,		/* MMU notifier: test and clear young */
	S2HYP_HOST_UNMAP_IPA,		/* unmap an IPA range directly */
	S2HYP_HOST_WRPROTECT_IPA,
	S2HYP_HOST_FLUSH_IPA,		/* clean+invalidate the range to PoC (kvm_toggle_cache) */
	S2HYP_HOST_DESTROY,		/* tear the VM down; checks leaks */
	S2HYP_HOST_AGE_IPA,		/* test and clear young over an IPA range */
	S2HYP_HOST_RCU_CALLBACK,	/* an RCU callback frees the oldest unlinked table
					 * whose grace period has ended (cfg.rcu_free) */
	S2HYP_HOST_MM,			/* a host-mm event (mm): needs cfg.host_mm */
	S2HYP_HOST_SPLIT_IPA,		/* split the blocks of an IPA range into pages
					 * (kvm_mmu_split_huge_pages, eager splitting) */
	/* An MMU-notifier invalidation begins or ends (kvm_mmu_invalidate_begin,
	 * _end): while one is in progress, anywhere in the VM, a stage-2 fault
	 * maps nothing (mmu_invalidate_retry) and the access is over; the
	 * guest's next attempt faults again. The unmap itself is unmap-hva. */
	S2HYP_HOST_INVALIDATE_BEGIN,
	S2HYP_HOST_INVALIDATE_END,
};

/* Host-mm events (S2HYP_HOST_MM). proc 0 is the VMM, fork adds 1, 2, ...;
 * pins and GUPs take references numbered 0, 1, ... in order. Addresses are
 * the VMM's (inside a memslot), the same in its forked children. Their
 * words in a trace are the grammar's (traces/grammar.c). */
enum s2hyp_mm_op {
	S2HYP_MM_DONTNEED, /* MADV_DONTNEED of [hva, hva+size) in proc */
	S2HYP_MM_MUNMAP, /* munmap of [hva, hva+size) in proc */
	S2HYP_MM_SPLIT, /* split the PMD mapping hva (__split_huge_pmd) */
	S2HYP_MM_COLLAPSE, /* khugepaged collapses the 2 MiB range at hva */
	S2HYP_MM_MIGRATE, /* migrate the page at hva to a new page */
	S2HYP_MM_RECLAIM, /* swap out the page at hva */
	S2HYP_MM_KSM, /* KSM merges the page at hva */
	S2HYP_MM_FORK, /* the VMM forks (the child is the next proc) */
	S2HYP_MM_CLEAR_REFS, /* echo 4 > /proc/PID/clear_refs of proc */
	S2HYP_MM_PIN, /* a device pins the page at hva in proc, long-term and writable (vfio) */
	S2HYP_MM_PIN_RO, /* a device pins the page at hva in proc, long-term and read-only */
	S2HYP_MM_GUP, /* a read GUP reference to the page at hva in proc (vmsplice) */
	S2HYP_MM_GUP_WRITE, /* a writable GUP reference that is not a pin (FOLL_GET|FOLL_WRITE:
			     * O_DIRECT reading into the page at hva in proc) */
	S2HYP_MM_UNREF, /* drop reference ref */
	S2HYP_MM_REF_READ, /* read through reference ref (a pipe, a device) */
	S2HYP_MM_REF_WRITE, /* DMA write of value through reference ref */
	S2HYP_MM_WRITE, /* proc stores value at hva */
	S2HYP_MM_EXIT, /* proc exits */
	/* The VMM's userfaultfd and its shared memory (memfd slots), proc 0: */
	S2HYP_MM_UFFD_PROTECT, /* UFFDIO_WRITEPROTECT of [hva, hva+size) */
	S2HYP_MM_UFFD_UNPROTECT, /* UFFDIO_WRITEPROTECT mode 0 (wakes the faults there) */
	S2HYP_MM_UFFD_READ, /* the handler thread reads a message; waits for one while a vCPU
			     * may still fault (then finds none, a poll timed out) */
	S2HYP_MM_UFFD_RESOLVE, /* ... and resolves the one it read: UFFDIO_COPY of value for a
				* missing page, CONTINUE for a minor one, un-protect for wp;
				* UFFDIO_WAKE when the page is already there */
	S2HYP_MM_PUNCH_HOLE, /* fallocate(PUNCH_HOLE) of the file behind [hva, hva+size): its
			      * first step, the unmap of every mapping */
	S2HYP_MM_MADV_REMOVE, /* madvise(MADV_REMOVE): the same first step, from the mapping */
	S2HYP_MM_PUNCH_TRUNCATE, /* the punch's second step: zap again, drop from the cache */
	S2HYP_NR_MM_OPS
};
/* Which fields an mm op takes. */
enum {
	S2HYP_MM_ARG_HVA = 1u << 0,
	S2HYP_MM_ARG_SIZE = 1u << 1,
	S2HYP_MM_ARG_PROC = 1u << 2,
	S2HYP_MM_ARG_REF = 1u << 3,
	S2HYP_MM_ARG_VALUE = 1u << 4,
};
unsigned s2hyp_mm_op_args(enum s2hyp_mm_op op);
/* Whether an mm op takes a reference (the next number). */
bool s2hyp_mm_op_takes_ref(enum s2hyp_mm_op op);
/* How many processes (the VMM and 15 forks) and references a machine holds. */
#define S2HYP_MAX_PROCS 16
#define S2HYP_MAX_REFS 256

struct s2hyp_host_op {
	enum s2hyp_host_kind kind;
	unsigned phase;
	unsigned slot;			/* DIRTY_LOG_* */
	uint64_t addr;			/* hva (WRITE, *_HVA) or ipa (*_IPA) */
	uint64_t size;
	uint8_t fill;			/* WRITE: the byte written */
	/* AGE_*: the MMU notifier's clear_flush_young (the rmap's ageing,
	 * reclaim without the multi-gen LRU), which flushes the VMID when it
	 * found a young entry; else clear_young, which flushes nothing. */
	bool flush;
	enum s2hyp_mm_op mm;		/* MM: which event, with: */
	unsigned proc, ref;
	uint64_t value;
	const char *src;		/* where it came from (trace file:line), may be NULL */
};

enum s2hyp_access {
	S2HYP_ACC_READ,
	S2HYP_ACC_WRITE,
	S2HYP_ACC_EXEC,
};

struct s2hyp_vcpu_op {
	enum s2hyp_access access;
	unsigned phase;
	uint64_t ipa;
	unsigned size;			/* 1..8 (EXEC: 4) */
	bool mmu_on;			/* guest stage 1 enabled: data accesses cacheable */
	uint64_t value;			/* WRITE */
	/* The access of a real guest, observed in a trace of its faults: the
	 * cache maintenance the architecture asks of the guest itself for code
	 * it wrote (DC CVAU, IC IVAU; not trapped, so never in such a trace)
	 * is taken as done before an instruction fetch from lines a vCPU wrote
	 * last. Host writes still need KVM's maintenance. */
	bool observed;
	/* The real access walked the tables: a trace shows it took a
	 * translation or access-flag fault, which no TLB entry serves (an
	 * invalid descriptor or one with AF clear is never cached). Whatever
	 * the real TLB lost that the trace does not show, it held nothing for
	 * this address: the vCPU's leaves for it are dropped before the
	 * access (and before each retry). */
	bool walked;
	/* The host began or ended an MMU-notifier invalidation after this
	 * access and before the vCPU's next one (a trace's order). KVM's
	 * handler of a fault here ran until the vCPU went back to the guest:
	 * it sampled mmu_invalidate_seq early and checked it late, so the
	 * check failed (see S2HYP_HOST_INVALIDATE_BEGIN). */
	bool host_invalidated;
	/* The trace shows that KVM's handler of a fault here did not give
	 * up (the vCPU's next line is the same access on another page): no
	 * invalidation, in progress or in the span, makes it retry. */
	bool not_retried;
	/* The trace shows that KVM's handler of a fault here lost its break
	 * (a function trace: stage2_try_break_pte with no stage2_make_pte
	 * after it): another walker held or changed the entry. The machine
	 * does not use it; a replay's schedule does. */
	bool lost_break;
	/* The late handling of the previous item's fault, which gave up
	 * (host_invalidated): the trace shows KVM's handler of that fault
	 * did not give up, so it sampled the invalidation sequence after the
	 * invalidation ended and mapped after it. This access walks, faults
	 * and is handled as any other, but its fault is not counted again
	 * (unless the previous item took none). */
	bool deferred;
	const char *src;
};

/* ------------------------------------------------------------------ */
/* Scheduling                                                          */
/* ------------------------------------------------------------------ */

enum s2hyp_choice_kind {
	S2HYP_CH_HYP,		/* the hypervisor's next effect happens */
	S2HYP_CH_HOST,		/* the host starts its next operation */
	S2HYP_CH_VCPU,		/* vCPU arg0 takes its next step */
	S2HYP_CH_PREFETCH,	/* vCPU arg0 starts a speculative walk of address arg1 of its program */
	S2HYP_CH_TLB_EVICT,	/* vCPU arg0 drops TLB entry arg1 */
	S2HYP_CH_DC_EVICT,	/* the dcache evicts resident line arg1 */
	S2HYP_CH_RCU,		/* an RCU grace period ends: unlinked tables no reader can
				 * reach any more are freed (cfg.rcu_free) */
	S2HYP_NR_CHOICE_KINDS
};

struct s2hyp_choice {
	uint8_t kind;		/* enum s2hyp_choice_kind */
	uint8_t vcpu;
	uint32_t arg;		/* which entry, line or address (see pick_arg) */
};

/*
 * A scheduling strategy. choose() gets the enabled choices (arg 0) and
 * returns an index; for the evict/prefetch kinds the machine then asks
 * pick_arg(n) which of n candidates. The fuzzer supplies its own.
 * choose NULL takes the first enabled choice, always, and the machine then
 * lists that one only; pick_arg NULL takes candidate 0.
 *
 * The background choices (s2hyp_choice_is_background) are listed after
 * every other. A strategy that draws among the others first, all
 * background ones together counting as one more, and among the background
 * ones only when it drew those (the random one), may give both of
 * choose_thread and choose_background: the machine then lists the
 * background choices only when they are drawn, and calls no choose.
 * choose_thread gets the n enabled choices that are not background, and
 * whether any background one is enabled, and returns an index below n, or
 * n to take a background one; choose_background then gets those and
 * returns which. The schedule is the one choose would have made.
 */
struct s2hyp_strategy {
	unsigned (*choose)(void *arg, const struct s2hyp_choice *choices, unsigned n,
			   uint64_t step);
	unsigned (*pick_arg)(void *arg, unsigned n);
	void *arg;
	unsigned (*choose_thread)(void *arg, const struct s2hyp_choice *choices, unsigned n,
				  bool background, uint64_t step);
	unsigned (*choose_background)(void *arg, const struct s2hyp_choice *choices, unsigned n,
				      uint64_t step);
};

/* The ESR_EL2 value of a stage-2 fault: kind 1 translation, 2 permission,
 * 3 access flag (the order of the fault statistics), at level, for an access. */
uint64_t s2hyp_fault_esr(unsigned kind, s2_level_t level, enum s2hyp_access a);

/* Evictions and speculative walks: events no program asked for. */
bool s2hyp_choice_is_background(const struct s2hyp_choice *c);

/* Built-in strategies. */
struct s2hyp_rng {
	uint64_t s[2];
};
void s2hyp_rng_seed(struct s2hyp_rng *r, uint64_t seed);
uint64_t s2hyp_rng_next(struct s2hyp_rng *r);
/* Uniform over the threads that can move, background events counting as
 * one more thread. arg: struct s2hyp_rng *. */
extern const struct s2hyp_strategy s2hyp_strategy_random_template;
/* Run each operation to its end with no interleaving; threads in order. */
extern const struct s2hyp_strategy s2hyp_strategy_sequential;
/* Follow a recorded schedule; arg: struct s2hyp_replay *. */
struct s2hyp_replay {
	const struct s2hyp_choice *sched;
	size_t n;
	size_t pos;
	bool diverged;		/* the schedule named a choice not enabled */
	size_t diverged_at;
	/* Lenient (checking a fix against a schedule recorded on other code):
	 * where the schedule names a choice that is not enabled, it is left
	 * for good (diverged, diverged_at say where) and the run goes on with
	 * the sequential strategy's choice instead of stopping. */
	bool lenient;
};
extern const struct s2hyp_strategy s2hyp_strategy_replay_template;

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

#define S2HYP_HISTORY 12	/* events kept per thread for reports */

enum s2hyp_event_kind {
	S2HYP_EV_PTE_STORE,	/* a = pa of entry, b = new value, flags = release */
	S2HYP_EV_TLBI,		/* a = op (enum s2pt_tlbi), b = ipa */
	S2HYP_EV_DSB,		/* a = barrier */
	S2HYP_EV_CMO,		/* a = op (enum s2cache_op), b = pa, level = log2 size */
	S2HYP_EV_FREE,		/* a = pa of the table page */
	S2HYP_EV_WALK_READ,	/* a = pa of the descriptor, b = its value */
	S2HYP_EV_TLB_FILL,	/* a = ipa, b = oa */
	S2HYP_EV_TLB_EVICT,	/* a = ipa */
	S2HYP_EV_ACCESS,	/* a = ipa, b = pa, flags = access | 4 when cacheable */
	S2HYP_EV_FAULT,		/* a = ipa, b = ESR, flags = fault kind, level */
	S2HYP_EV_OP_BEGIN,	/* a = ipa/addr, b = size, flags = op kind, level = from a vCPU */
	S2HYP_EV_OP_END,	/* a = return value */
	S2HYP_EV_DC_EVICT,	/* a = line pa */
	S2HYP_EV_PREFETCH,	/* a = ipa */
	S2HYP_NR_EVENT_KINDS
};

struct s2hyp_event {
	uint64_t step;
	int8_t thread;		/* -1 the hypervisor, -2 the memory system, else a vCPU */
	uint8_t kind;		/* enum s2hyp_event_kind */
	uint8_t level;
	uint8_t flags;
	uint64_t a, b;
};

struct s2hyp_violation {
	enum s2hyp_rule rule;
	uint64_t step;
	int thread;		/* -1 the hypervisor, else the vCPU */
	uint64_t ipa;
	uint64_t pa;
	s2_level_t level;
	char detail[256];
	/* the last events of every thread at the time, oldest first: [0] the
	 * hypervisor, [1 + i] vCPU i, [S2HYP_MAX_VCPUS + 1] the memory system */
	unsigned nr_events[S2HYP_MAX_VCPUS + 2];
	struct s2hyp_event events[S2HYP_MAX_VCPUS + 2][S2HYP_HISTORY];
};

struct s2hyp_vcpu_stats {
	uint64_t accesses;
	uint64_t faults_translation, faults_permission, faults_access_flag;
	uint64_t faults_in_window;	/* translation faults taken while another thread's
					 * map of the same address was in progress */
	uint64_t walks, walk_restarts, tlb_fills;
	uint64_t mmio;
};

/* The kinds of TLBI a kernel engineer counts (one per KVM TLBI helper call). */
enum s2hyp_tlbi_kind {
	S2HYP_TLBI_VMID,	/* __kvm_tlb_flush_vmid: the whole VMID, broadcast */
	S2HYP_TLBI_IPA,		/* __kvm_tlb_flush_vmid_ipa: one IPA, broadcast */
	S2HYP_TLBI_RANGE,	/* __kvm_tlb_flush_vmid_range: FEAT_TLBIRANGE */
	S2HYP_TLBI_LOCAL,	/* __kvm_tlb_flush_vmid_ipa_nsh: one IPA, this CPU */
	S2HYP_NR_TLBI_KINDS
};

/* The kind of entry a break replaced. */
enum s2hyp_entry_kind {
	S2HYP_ENTRY_INVALID,
	S2HYP_ENTRY_PAGE,
	S2HYP_ENTRY_BLOCK,
	S2HYP_ENTRY_TABLE,
	S2HYP_NR_ENTRY_KINDS
};

struct s2hyp_stats {
	uint64_t steps;
	uint64_t hyp_ops;
	unsigned max_ops_in_flight;	/* most operations holding the MMU lock at once */
	uint64_t host_ops;
	uint64_t pte_stores, tlbis, dsbs, cmos, cmo_bytes;
	uint64_t maps, map_eagain, relaxes, unmaps;
	uint64_t wrprotects, ages, mkyoungs, splits, destroys;	/* walker operations run */
	uint64_t mappings_by_level[S2_LEVEL_MAX + 2];	/* leaves made, index level + 1 */
	uint64_t coalesces;		/* tables replaced by a block */
	uint64_t needless_bbm;		/* efficiency: leaves broken and made again in one
					 * operation though only permissions, AF or
					 * software bits changed */
	uint64_t table_pages_allocated, table_pages_freed;	/* pool pages (memcache fills) */
	uint64_t table_pages_taken;	/* ... taken by the walker from the memcache */
	uint64_t table_pages_freed_put;	/* ... of them by the put of their last reference */
	uint64_t unlinked_frees;	/* subtrees freed after a map unlinked them */
	/* Faults by kind (translation, permission, access flag), level (index
	 * level + 1) and access (enum s2hyp_access). */
	uint64_t faults[3][S2_LEVEL_MAX + 2][3];
	uint64_t tlbi_calls[S2HYP_NR_TLBI_KINDS];
	/* Breaks (an entry replaced by the lock marker, stage2_try_break_pte) by
	 * the kind of the old entry; makes (the marker replaced, stage2_make_pte);
	 * references taken and dropped on table pages. */
	uint64_t breaks[S2HYP_NR_ENTRY_KINDS], makes, gets, puts;
	/* Breaks a fault's map tried and lost: the entry held another
	 * walker's marker, or changed before the exchange (KVM's
	 * stage2_try_break_pte returning false). */
	uint64_t breaks_lost;
	/* KVM's CMO helpers: calls and bytes (clean to PoC; icache invalidation). */
	uint64_t dcache_calls, dcache_bytes, icache_calls, icache_bytes;
	uint64_t dirty_pages;
	/* faults that mapped nothing because an MMU-notifier invalidation was
	 * in progress or raced their GUP (host-mm); accesses given up because
	 * the host refused the page */
	uint64_t host_retries, host_gup_errors;
	/* host-mm userfaultfd: faults that slept in handle_userfault until
	 * the handler woke them; threads that never finished because one
	 * slept to the end (a vCPU no handler resolved, a handler's read no
	 * fault answered) and those waiting behind them for a phase to end */
	uint64_t host_uffd_waits, host_uffd_hung;
	uint64_t violations[S2HYP_NR_RULES];
	struct s2hyp_vcpu_stats vcpu[S2HYP_MAX_VCPUS];
};

enum s2hyp_outcome {
	S2HYP_DONE = 0,		/* every program ran to its end */
	S2HYP_STEP_LIMIT,	/* max_steps reached */
	S2HYP_LIVELOCK,		/* an access faulted max_faults_per_access times */
	S2HYP_DIVERGED,		/* a replayed schedule did not fit */
	S2HYP_ERROR,		/* an operation failed (e.g. memcache exhausted) */
};

/* ------------------------------------------------------------------ */
/* The machine                                                         */
/* ------------------------------------------------------------------ */

struct s2hyp;

/* S2_EINVAL with *why set for an impossible configuration or slot layout. */
int s2hyp_create(const struct s2hyp_config *cfg, const struct s2hyp_memslot *slots,
		 unsigned nr_slots, struct s2hyp **out, const char **why);
void s2hyp_delete(struct s2hyp *m);
/* m as s2hyp_create made it with its configuration and memslots (no
 * programs, observer, drivers or recorded schedule; statistics and
 * violations cleared), keeping its memory: the table-page pool, the cache
 * model, the checker's arrays. A fuzzer runs one schedule after another on
 * one machine this way. On error m can only be deleted. */
int s2hyp_reset(struct s2hyp *m, const char **why);

/* Programs are copied. S2_EINVAL for an item outside every memslot (host
 * ops on hva/ipa), a bad size or slot number, with *why set. */
int s2hyp_set_host_program(struct s2hyp *m, const struct s2hyp_host_op *ops, size_t n,
			   const char **why);
int s2hyp_set_vcpu_program(struct s2hyp *m, unsigned vcpu, const struct s2hyp_vcpu_op *ops,
			   size_t n, const char **why);

/* Check one item as the set_*_program calls do (for a reader that wants to
 * name the line of a bad item). */
int s2hyp_check_host_op(const struct s2hyp *m, const struct s2hyp_host_op *op, const char **why);
int s2hyp_check_vcpu_op(const struct s2hyp *m, unsigned vcpu, const struct s2hyp_vcpu_op *op,
			const char **why);

/* Keep the schedule (the choices made) for printing or replay. */
void s2hyp_record_schedule(struct s2hyp *m, bool on);
/* The phase of vcpu's current program item while its access has not
 * faulted yet (it may start, or its hardware steps are under way); ~0u
 * when it waits for a fault's handling, is done, or runs guest code. */
unsigned s2hyp_vcpu_access_phase(const struct s2hyp *m, unsigned vcpu);
/* Whether vcpu's fault handler has started and not ended (a machine with
 * parallel faults: one that runs one operation at a time names it hyp). */
bool s2hyp_vcpu_handling(const struct s2hyp *m, unsigned vcpu);
/* The program item ahead items after vcpu's current one (0: the current
 * one, whatever its state); NULL past the program's end or for a vCPU that
 * runs guest code. */
const struct s2hyp_vcpu_op *s2hyp_vcpu_item(const struct s2hyp *m, unsigned vcpu,
					    unsigned ahead);
/* The entry that translates ipa now (a leaf, or the invalid entry where a
 * walk from the root stops) and its level, read as the hardware reads it:
 * nothing is recorded or checked. */
s2_pte_t s2hyp_entry(const struct s2hyp *m, uint64_t ipa, s2_level_t *level);
/* The lowest phase of an unfinished program item, the host's or a vCPU's
 * (the items of later phases wait for it); ~0u when none is left. */
unsigned s2hyp_open_phase(struct s2hyp *m);
/* The threads with a next step in an open phase, whether enabled or
 * waiting for another thread (the MMU lock, an operation in flight, a
 * userfaultfd), leaving out the one whose operation runs as hyp: bit 0 the
 * host, bit 1 + v vCPU v. */
uint32_t s2hyp_ready_threads(struct s2hyp *m);
const struct s2hyp_choice *s2hyp_schedule(const struct s2hyp *m, size_t *n);

/* Whether a machine with this walker variant runs faults in parallel
 * under the MMU lock held for read (KVM since v6.2): several hypervisor
 * operations in flight at once, each on its own stack. The others hold the
 * lock alone for every operation. */
bool s2hyp_variant_parallel(enum s2pt_variant v);

/* Run to the end (or a limit) under the strategy. */
enum s2hyp_outcome s2hyp_run(struct s2hyp *m, const struct s2hyp_strategy *st);
/* Stop at the first violation (the fuzzer's setting). */
void s2hyp_stop_on_violation(struct s2hyp *m, bool on);

const struct s2hyp_stats *s2hyp_stats(const struct s2hyp *m);
/* The first violation of each rule that fired, in order of firing. */
unsigned s2hyp_nr_violations(const struct s2hyp *m);
const struct s2hyp_violation *s2hyp_violation(const struct s2hyp *m, unsigned i);
bool s2hyp_rule_fired(const struct s2hyp *m, enum s2hyp_rule r);
const char *s2hyp_outcome_name(enum s2hyp_outcome o);
/* Whether a DESTROY host operation has run (the tables are gone). */
bool s2hyp_destroyed(const struct s2hyp *m);
const struct s2hyp_config *s2hyp_config(const struct s2hyp *m);
/* Why the run stopped early, when it did. */
const char *s2hyp_error(const struct s2hyp *m);
/* When the error is bad input in an operation of the host program last set
 * (a process or reference it names does not exist), that operation's index. */
bool s2hyp_error_host_op(const struct s2hyp *m, size_t *index);

/* With cfg.host_mm: the host model under guest memory and KVM's notifier
 * side over it (NULL otherwise). */
struct s2host;
struct s2hyp_kvm;
struct s2host *s2hyp_host(struct s2hyp *m);
struct s2hyp_kvm *s2hyp_host_kvm(struct s2hyp *m);

/* The walker's page table, and the leaf that maps ipa now. */
struct s2pt *s2hyp_pgtable(struct s2hyp *m);
/* The refcount of the table page holding the leaf (or last entry) of ipa. */
int s2hyp_table_refcount(struct s2hyp *m, uint64_t ipa, int *refcount);

/* ------------------------------------------------------------------ */
/* Driven vCPUs: accesses from running code instead of a program       */
/* ------------------------------------------------------------------ */

/*
 * A vCPU may take its accesses from a driver (guest/ runs AArch64 code
 * under Unicorn this way). Where a program vCPU would start its next item
 * (or retry its current one after a walk and fill), the machine calls
 * run(): the driver executes code for the quantum the scheduler picked
 * (q < nr_quanta, recorded as the step's arg), making each access through
 * s2hyp_vcpu_access() while the vCPU's TLB translates it. Every return
 * sets op->phase, the vCPU's phase, which gates it like an item's phase.
 */
enum s2hyp_drv_status {
	S2HYP_DRV_YIELD,	/* the quantum ended */
	S2HYP_DRV_ACCESS,	/* *op needs a translation the TLB does not give: the
				 * machine walks, fills or faults in scheduled steps,
				 * then runs the driver again, which retries it */
	S2HYP_DRV_DONE,		/* the vCPU has finished */
	S2HYP_DRV_ERROR,	/* the driver cannot go on: the run stops */
};

struct s2hyp_vcpu_driver {
	enum s2hyp_drv_status (*run)(void *arg, unsigned vcpu, unsigned q,
				     struct s2hyp_vcpu_op *op);
	/* The access handed over was outside guest RAM: an MMIO exit, which
	 * the driver completes itself. */
	void (*mmio)(void *arg, unsigned vcpu, const struct s2hyp_vcpu_op *op);
	unsigned nr_quanta;	/* 1 or more */
};

/* drv must outlive the machine's runs. Replaces any program. */
int s2hyp_set_vcpu_driver(struct s2hyp *m, unsigned vcpu, const struct s2hyp_vcpu_driver *drv,
			  void *arg, const char **why);

/* Whether a leaf's prot (enum s2pt_prot) allows access a: the one
 * permission check, of the machine, the footprints and the guest engine. */
bool s2hyp_access_allowed(unsigned prot, enum s2hyp_access a);

/* The leaf vcpu's TLB holds for ipa: its range, output, permissions, and
 * the host address of its output when that is guest RAM (else UINT64_MAX). */
struct s2hyp_translation {
	uint64_t ipa, size, pa, hva;
	unsigned prot;		/* enum s2pt_prot */
	s2_level_t level;
};
/* S2_ENOENT when the TLB holds none. */
int s2hyp_vcpu_translate(const struct s2hyp *m, unsigned vcpu, uint64_t ipa,
			 struct s2hyp_translation *t);
/* Changes whenever an entry leaves vcpu's TLB or changes in place: a driver
 * caching translations revalidates them when it moves. */
uint64_t s2hyp_vcpu_tlb_gen(const struct s2hyp *m, unsigned vcpu);

/* What a driven access returned against the latest writes. */
struct s2hyp_access_check {
	bool stale;
	uint64_t pa;
	uint64_t ver_returned, ver_latest;
	uint8_t fresh[16];	/* the latest-written bytes, when stale */
};
/* An icache fill no instruction asked for: no report, not counted. */
#define S2HYP_ACCESS_SPECULATIVE 1u
/*
 * An access of a driven vCPU through its TLB, checked like a program's
 * (stale-data, stale-instruction): size 1..16 bytes inside one TLB entry;
 * READ fills buf, WRITE takes buf, EXEC fetches 4 bytes through the vCPU's
 * icache. S2_ENOENT (nothing done) when the TLB does not allow it.
 * chk may be NULL.
 */
int s2hyp_vcpu_access(struct s2hyp *m, unsigned vcpu, enum s2hyp_access a, uint64_t ipa,
		      void *buf, unsigned size, bool mmu_on, unsigned flags,
		      struct s2hyp_access_check *chk);
/* A cache maintenance instruction of a driven vCPU at EL1 (op: an enum
 * s2cache_op as encoded; DC IVAC acts as DC CIVAC under stage 2, IC IALLU
 * is broadcast as KVM sets HCR_EL2.FB, DC ZVA is a write). S2_ENOENT when
 * the TLB does not translate ipa (IC IALLU* need no address). */
int s2hyp_vcpu_cmo(struct s2hyp *m, unsigned vcpu, unsigned op, uint64_t ipa, bool mmu_on);

/* The VMM writes bytes to guest memory through the host's cacheable
 * mapping (loading an image). S2_EINVAL outside every memslot. */
int s2hyp_host_write(struct s2hyp *m, uint64_t hva, const void *buf, size_t n);

/* ------------------------------------------------------------------ */
/* Observing a run                                                     */
/* ------------------------------------------------------------------ */

/*
 * Callbacks for tools that draw or analyse a run (s2emu report). Any may
 * be NULL. event: every event as it is recorded, after its effect on the
 * machine and the checker; src is the `src` of the program item it serves
 * (the vCPU's access; for the hypervisor the host operation or the faulting
 * vCPU's access), NULL for background events. host_op: the host starts an
 * operation. violation: the first violation of each rule, as it fires.
 * Callbacks may query the machine but must not change it.
 */
struct s2hyp_observer {
	void (*event)(void *arg, const struct s2hyp *m, const struct s2hyp_event *e,
		      const char *src);
	void (*host_op)(void *arg, const struct s2hyp *m, const struct s2hyp_host_op *op);
	void (*violation)(void *arg, const struct s2hyp *m, const struct s2hyp_violation *v);
	void *arg;
};
/* Copied; NULL stops observing. */
void s2hyp_set_observer(struct s2hyp *m, const struct s2hyp_observer *obs);

/* The checker's ghost state of a descriptor (casemate's three states, with
 * the TLBI issued but not yet completed by a DSB apart). */
enum s2hyp_ghost_state {
	S2HYP_GHOST_VALID,
	S2HYP_GHOST_INVALID_UNCLEAN,	/* written invalid; no TLBI yet */
	S2HYP_GHOST_TLBI_PENDING,	/* TLBI issued; no DSB yet */
	S2HYP_GHOST_INVALID_CLEAN,
};
struct s2hyp_entry {
	uint64_t ipa;			/* the first IPA it translates */
	s2_level_t level;		/* of the table holding it; -2 when unknown */
	uint64_t value;			/* the descriptor now */
	enum s2hyp_ghost_state ghost;
};
/* The descriptor at host physical address pa. S2_ENOENT when pa is not in
 * a table page. */
int s2hyp_entry_at(const struct s2hyp *m, uint64_t pa, struct s2hyp_entry *e);
/* vCPU vcpu's TLB: up to max leaf entries into out (hva left UINT64_MAX);
 * returns how many it holds. */
unsigned s2hyp_vcpu_tlb(const struct s2hyp *m, unsigned vcpu, struct s2hyp_translation *out,
			unsigned max);

/* Reports: text for people, JSON for programs. */
int s2hyp_format_event(char *buf, size_t size, const struct s2hyp_event *e);
void s2hyp_print_event(FILE *f, const struct s2hyp_event *e);
void s2hyp_print_violation(FILE *f, const struct s2hyp_violation *v);
void s2hyp_print_violation_json(FILE *f, const struct s2hyp_violation *v);

#endif
