/* The machine's internals, shared by the sources of hyp-model/ (prefix s2hyp__). */
#ifndef S2HYP_INTERNAL_H
#define S2HYP_INTERNAL_H

#include "cache-model/s2cache.h"
#include "common/s2_map.h"
#include "common/s2_vec.h"
#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_checker.h"
#include "hyp-model/s2hyp_kvmhost.h"
#include "pool/s2pool.h"
#include "walker/s2pt.h"

#define HOST_THREAD (-1)
#define MACHINE_THREAD (-2)	/* the memory system: evictions */
#define HOST_SLOT S2HYP_MAX_VCPUS	/* the host's index in per-thread arrays */

/* Short names, inside hyp-model, for the public event kinds. */
#define EV_PTE_STORE S2HYP_EV_PTE_STORE
#define EV_TLBI S2HYP_EV_TLBI
#define EV_DSB S2HYP_EV_DSB
#define EV_CMO S2HYP_EV_CMO
#define EV_FREE S2HYP_EV_FREE
#define EV_WALK_READ S2HYP_EV_WALK_READ
#define EV_TLB_FILL S2HYP_EV_TLB_FILL
#define EV_TLB_EVICT S2HYP_EV_TLB_EVICT
#define EV_ACCESS S2HYP_EV_ACCESS
#define EV_FAULT S2HYP_EV_FAULT
#define EV_OP_BEGIN S2HYP_EV_OP_BEGIN
#define EV_OP_END S2HYP_EV_OP_END
#define EV_DC_EVICT S2HYP_EV_DC_EVICT
#define EV_PREFETCH S2HYP_EV_PREFETCH
#define EV_NR S2HYP_NR_EVENT_KINDS

enum fault_kind {
	FAULT_NONE,
	FAULT_TRANSLATION,
	FAULT_PERMISSION,
	FAULT_ACCESS_FLAG,
};

/* The operation under the MMU lock, for attributing faults to its window. */
enum op_kind {
	OP_NONE,
	OP_FAULT_MAP,
	OP_FAULT_RELAX,
	OP_FAULT_AF,
	OP_HOST,
};

/* A cached table descriptor: the table for [ipa, ipa + size) is at table_pa. */
struct wc_entry {
	uint64_t ipa;
	uint64_t size;		/* granule of the level holding the descriptor */
	uint64_t table_pa;
	uint32_t gen;		/* generation of the page when it was cached */
	s2_level_t level;	/* level of the table pointed to */
};

enum vcpu_state {
	V_READY,		/* the next program item may start */
	V_WALK,			/* a hardware walk is in progress */
	V_FILL,			/* the walk found a leaf: fill the TLB */
	V_ACCESS,		/* the TLB holds a translation: do the access */
	V_FAULT,		/* waiting for the MMU lock to handle a fault */
	V_DONE,
};

struct hw_walk {
	uint64_t ipa;
	s2_level_t level;
	uint64_t table_pa;
	uint32_t table_gen;
	uint64_t start_seq;	/* TLBI sequence when the walk started */
	bool speculative;
	s2_pte_t leaf;		/* V_FILL: the descriptor found */
	uint64_t leaf_pa;	/* ... and where it is */
	s2_level_t leaf_level;
};

/* hwwalk.c: the hardware walker's start and its one step. */
enum walk_result { WALK_MORE, WALK_LEAF, WALK_FAULT, WALK_ABORT };
/* What one step read. */
struct hw_read {
	s2_level_t level;		/* of the table read */
	uint64_t table_pa;		/* the table read */
	uint64_t dpa;			/* the descriptor read */
	enum s2hyp_table_state st;	/* of the table page; not LIVE: WALK_ABORT */
	s2_pte_t pte;			/* the descriptor, when the page was live */
};
struct vcpu;
/* w starts for ipa at v's deepest cached table covering it, else the root. */
void s2hyp__hw_begin(const struct s2hyp *m, const struct vcpu *v, struct hw_walk *w, uint64_t ipa);
/* Read one descriptor of w: MORE (w moved to the next table), LEAF
 * (w->leaf, w->leaf_level), FAULT (invalid; w->leaf_level) or ABORT (the
 * table page is not live). Changes nothing but w. */
enum walk_result s2hyp__hw_step(const struct s2hyp *m, struct hw_walk *w, struct hw_read *r);

struct vcpu {
	unsigned id;
	struct s2hyp_vcpu_op *prog;
	size_t nprog;
	size_t pc;
	enum vcpu_state state;
	struct hw_walk walk;
	bool spec_walk;		/* a speculative walk is in flight (separate from walk) */
	struct hw_walk spec;
	enum fault_kind fault;
	s2_level_t fault_level;
	bool break_lost;	/* its fault's map met another walker's marker (mmops.c) */
	uint64_t esr;		/* the syndrome of the last fault */
	bool fault_in_window;
	unsigned faults_this_access;
	bool last_faulted;	/* the previous item faulted (see s2hyp_vcpu_op.deferred) */
	/* no-progress: the last fault handled (kind, level, page), how many
	 * times in a row, and the PTE-store count when its handler began */
	uint64_t np_page, np_stores;
	uint8_t np_kind;
	s2_level_t np_level;
	unsigned np_count;
	struct s2hyp_tlb_entry *tlb;
	unsigned tlb_n, tlb_cap;
	struct s2_map tlb_idx;		/* (ipa | level + 1) -> tlb[] position */
	unsigned tlb_per_level[S2_LEVEL_MAX + 1];
	/* (region | level + 1) -> entries smaller than the region inside it,
	 * for regions of a block's size (level min_block_level and below):
	 * range probes skip regions that hold none */
	struct s2_map tlb_inner;
	struct wc_entry *wc;
	unsigned wc_n, wc_cap;
	struct s2_map wc_idx;		/* (ipa | level + 1) -> wc[] position */
	unsigned prefetch_rr;
	struct s2hyp_event hist[S2HYP_HISTORY];
	unsigned hist_n;	/* total events recorded (ring index = n % HISTORY) */
	/* Driven vCPUs (driver.c): prog is one item, the access handed over. */
	const struct s2hyp_vcpu_driver *drv;
	void *drv_arg;
	unsigned drv_q;		/* the quantum the scheduler picked for this step */
	uint64_t tlb_gen;	/* bumped when an entry leaves the TLB or changes */
	uint64_t fill_seq;	/* the machine's tlbi_seq at its last TLB or walk-cache fill */
	unsigned tlb_victim, wc_victim;	/* round-robin replacement when full */
	/* host-mm (hostvm.c): the fault's GUP half is done, its install half waits */
	bool gup_pending;
	struct s2hyp_kvm_fault gup;
	/* ... or its GUP went to the VMM's userfaultfd: the message it sleeps
	 * on in handle_userfault (0: none); the fault resumes GUP once woken */
	unsigned uffd_msg;
	/* Parallel faults: the vCPU's own memcache (KVM's per-vCPU
	 * mmu_page_cache), and, after its fault lost a race (S2_EAGAIN), the
	 * PTE-store count it waits to see change before it retries. */
	struct s2pt_memcache mc;
	bool backoff;
	bool invalidate_retry;	/* the last fault gave up: an invalidation was in progress */
	uint64_t backoff_stores;
};

struct pending_tlbi {
	enum s2pt_tlbi op;
	uint64_t ipa;
	uint64_t seq;
	uint64_t size;		/* RIPAS2E1IS: the range's size */
};

struct slot {
	struct s2hyp_memslot d;
	uint64_t pa;			/* host physical address of the slot's start */
	uint8_t *dirty;			/* dirty-log bitmap, one byte per page */
	bool log_starting;		/* dirty logging is being turned on: writes until it
					 * returns are the VMM's first full copy's */
};

struct s2hyp {
	struct s2hyp_config cfg;
	/* As created: what s2hyp_reset makes it again (a run changes slots' flags). */
	struct s2hyp_config made_cfg;
	struct s2hyp_memslot made_slots[S2HYP_MAX_SLOTS];
	struct s2pt_geom geom;
	struct s2pt pt;
	struct s2pool *pool;
	struct s2cache *cache;
	struct s2pt_memcache mc;
	struct slot slots[S2HYP_MAX_SLOTS];
	unsigned nr_slots;
	struct vcpu vcpus[S2HYP_MAX_VCPUS];

	struct s2hyp_host_op *host_prog;
	size_t host_n, host_pc;
	struct s2hyp_event host_hist[S2HYP_HISTORY];
	unsigned host_hist_n;
	struct s2hyp_event mach_hist[S2HYP_HISTORY];
	unsigned mach_hist_n;

	/* The MMU lock, a reader/writer lock: with parallel faults (KVM since
	 * v6.2) faults hold it for read, everything else for write; without,
	 * every operation holds it alone. held[] has each holder's operation
	 * (index: the vCPU, or HOST_SLOT); op, op_thread, op_ipa and op_size
	 * are those of the operation whose code runs now (OP_NONE: none). */
	bool parallel;
	bool locked;			/* held at all */
	unsigned readers;
	bool writer;
	struct hyp_op {
		bool held;
		bool shared;
		enum op_kind op;
		uint64_t ipa, size;
	} held[S2HYP_MAX_VCPUS + 1];
	enum op_kind op;
	int op_thread;
	uint64_t op_ipa, op_size;

	unsigned minp;			/* lowest phase of an unfinished item */
	bool minp_valid;
	uint64_t step;			/* scheduler steps taken */
	/* The scheduler (sched.c), opaque here, and the one thing KVM needs
	 * of it: a scheduling point, set during a run (s2hyp__sched_point). */
	struct s2hyp_sched *sch;
	void (*sched_point)(struct s2hyp *m);
	uint64_t tlbi_seq;		/* TLBIs issued so far */
	bool drop_tlbi;			/* cfg.host_unmap_no_tlbi, inside the notifier's unmap */
	struct pending_tlbi *pending;
	unsigned pending_n, pending_cap;

	/* The checker: the machine tells it what happens (when cfg.check),
	 * it reports violations to the machine's sink (machine.c). */
	struct s2hyp_checker *chk;
	struct s2hyp_tlb_entry *scratch;	/* TLB entries handed to the checker */
	unsigned scratch_cap;

	struct s2hyp_stats stats;
	bool in_put;			/* a put is freeing the page (statistics) */
	/* Cache lines a vCPU wrote last (key: line PA / line size + 1). */
	struct s2_map guest_lines;
	/* Tables a map unlinked, waiting for their RCU grace period: each
	 * with the RCU clock when it was queued. rcu_inside[t] is the clock
	 * when operation thread t (a vCPU, or S2HYP_MAX_VCPUS for the host)
	 * entered its read-side section, 0 while it is outside. */
	struct rcu_table { void *table; s2_level_t level; uint64_t queued; } *rcu;
	unsigned rcu_n, rcu_cap;
	uint64_t rcu_clock;
	uint64_t rcu_inside[S2HYP_MAX_VCPUS + 1];
	/* The descriptors the hypervisor's walks read last, for footprints:
	 * every load a walk decides on, and the compare of an exchange that
	 * failed. Ranges of PAs [lo, hi); a read in the same table page as the
	 * last range extends it (a walk reads a table in order). */
#define S2HYP_HYP_READS 64
	struct hyp_read { uint64_t lo, hi; } hyp_reads[S2HYP_HYP_READS];
	uint64_t hyp_reads_n;
	/* The table page (host address) of the last range, its range, and
	 * the PA of its host address 0: a read in that page needs no look-up
	 * in the pool. hyp_read_page 0: none. */
	uintptr_t hyp_read_page;
	struct hyp_read *hyp_read_cur;
	uint64_t hyp_read_delta;
	bool stop_on_violation;
	bool stopped;			/* a violation asked to stop */
	bool destroyed;
	/* MMU-notifier invalidations in progress (host invalidate-begin, not
	 * yet -end): KVM's mmu_invalidate_in_progress */
	unsigned invalidating;
	enum s2hyp_outcome outcome;
	char error[160];
	size_t error_op;		/* the host operation the error is about, +1; 0 none */

	struct s2hyp_observer obs;	/* s2hyp_set_observer; zero when none */

	/* Guest memory on host-mm (cfg.host_mm; hostvm.c, a part at KVM's
	 * level): its state, and what the machine asks of it; NULL otherwise. */
	struct s2hyp_hostvm *hv;
	/* a vCPU's access at pa reached memory: the host sees it */
	void (*hv_access)(struct s2hyp *m, struct vcpu *v, uint64_t ipa, uint64_t pa,
			  enum s2hyp_access a, const void *buf);
	/* a host-mm event is well formed */
	int (*hv_check_op)(const struct s2hyp *m, const struct s2hyp_host_op *o, const char **why);
};

/* A scheduling point inside a hypervisor operation (every effect the
 * walker sends through the mm ops): during a run, other threads may move
 * first; outside a run (an effect trace) nothing interleaves. */
static inline void s2hyp__sched_point(struct s2hyp *m)
{
	if (m->sched_point)
		m->sched_point(m);
}

/* hostvm.c: vCPU v (whose uffd_msg is set) still sleeps in
 * handle_userfault; the host's next operation is a userfaultfd handler's
 * read and no message is queued for it. Either thread is not enabled. */
bool s2hyp__hostvm_vcpu_waits(const struct s2hyp *m, const struct vcpu *v);
bool s2hyp__hostvm_host_waits(const struct s2hyp *m);

/* Host page frame N of host-mm memory (hostvm.c) is at this PA + N * 4K. */
#define S2HYP_HOSTMM_PA_BASE (1ull << 44)

/* machine.c: the machine. It calls nothing above it (kvm.c, mmops.c,
 * driver.c, sched.c). */
void s2hyp__event_observed(struct s2hyp *m, int thread, const struct s2hyp_event *e);
/* An event of thread into its history ring (and to the observer). Inline:
 * every effect of every step records one. */
static inline void s2hyp__event(struct s2hyp *m, int thread, enum s2hyp_event_kind kind,
				uint64_t a, uint64_t b, unsigned level, unsigned flags)
{
	struct s2hyp_event *ring;
	unsigned *n;

	if (thread == MACHINE_THREAD) {
		ring = m->mach_hist;
		n = &m->mach_hist_n;
	} else if (thread < 0) {
		ring = m->host_hist;
		n = &m->host_hist_n;
	} else {
		ring = m->vcpus[thread].hist;
		n = &m->vcpus[thread].hist_n;
	}
	struct s2hyp_event *e = &ring[*n % S2HYP_HISTORY];
	*e = (struct s2hyp_event){
		.step = m->step, .thread = (int8_t)thread, .kind = (uint8_t)kind,
		.level = (uint8_t)level, .flags = (uint8_t)flags, .a = a, .b = b,
	};
	if (m->obs.event)
		s2hyp__event_observed(m, thread, e);
	(*n)++;
}
/* One hardware step of v's current item (V_READY, V_ACCESS, V_WALK,
 * V_FILL): lookup and access, a walk's descriptor read, the TLB fill, or
 * taking a fault (V_FAULT, for KVM). */
void s2hyp__vcpu_hw_step(struct s2hyp *m, struct vcpu *v);
/* A program item is over: the vCPU moves to its next one. */
void s2hyp__finish_item(struct s2hyp *m, struct vcpu *v);
/* A speculative walk of ipa, in one step: fills the TLB or gives up. */
void s2hyp__prefetch(struct s2hyp *m, struct vcpu *v, uint64_t ipa);
/* Evict v's TLB entry i (i < tlb_n), else walk-cache entry i - tlb_n. */
void s2hyp__tlb_evict(struct s2hyp *m, struct vcpu *v, unsigned i);
/* Evict the i-th resident dcache line. */
void s2hyp__dc_evict(struct s2hyp *m, unsigned i);
/* Make the operation of thread slot (a vCPU, or HOST_SLOT) the one whose
 * code runs now: op, op_thread, op_ipa, op_size from its held[] entry. */
void s2hyp__op_current(struct s2hyp *m, unsigned slot);
/* size: the range of a RIPAS2E1IS, else ignored. */
void s2hyp__tlbi_apply(struct s2hyp *m, enum s2pt_tlbi op, uint64_t ipa, uint64_t size);
void s2hyp__dsb_complete(struct s2hyp *m);
struct slot *s2hyp__slot_of_ipa(struct s2hyp *m, uint64_t ipa);
struct slot *s2hyp__slot_of_hva(struct s2hyp *m, uint64_t hva);
uint64_t s2hyp__host_cpu(const struct s2hyp *m);
/* How much one host page of this backing maps. */
uint64_t s2hyp__backing_bytes(unsigned granule_shift, enum s2hyp_backing b);
void s2hyp__fail(struct s2hyp *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for bad input in host operation op of the program (the caller
 * maps its index back to where it came from). */
void s2hyp__fail_host_op(struct s2hyp *m, const struct s2hyp_host_op *op, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The checker's sink (arg: the machine): stops the run when asked to, and
 * gives the first violation of each rule the step and every thread's
 * last events. */
void s2hyp__on_violation(void *arg, enum s2hyp_rule rule, struct s2hyp_violation *v);

/* v's walk-cache entry for the table at level translating ipa, or -1. */
int s2hyp__wc_find(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa, s2_level_t level);
/* The cache model's memory type for a leaf's prot (enum s2pt_prot). */
enum s2arm_mt s2hyp__leaf_mt(unsigned prot);
/* The one path of a guest access, a program item's or a driver's, once its
 * TLB entry e allows it: the event, the cache model, the checker's
 * stale-data and stale-instruction rules. A speculative access is neither
 * an event nor checked. cc (may be NULL) receives the cache model's check. */
int s2hyp__guest_access(struct s2hyp *m, struct vcpu *v, const struct s2hyp_tlb_entry *e,
			enum s2hyp_access a, uint64_t ipa, void *buf, unsigned size, bool mmu_on,
			bool speculative, struct s2cache_check *cc);
/* The TLB entry of v that translates ipa, or NULL; a TLB entry's key. */
/* v's next step drops its leaves for its access first (s2hyp_vcpu_op.walked). */
bool s2hyp__walk_due(const struct vcpu *v);
struct s2hyp_tlb_entry *s2hyp__tlb_lookup(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa);
int s2hyp__tlb_find(const struct s2hyp *m, const struct vcpu *v, uint64_t ipa_aligned,
		    s2_level_t level);

/* The host wrote [pa, pa + size): those lines are no longer the guest's. */
void s2hyp__host_wrote(struct s2hyp *m, uint64_t pa, uint64_t size);

/* The valid leaves of the live tables over [ipa, ipa + size) (only the
 * writable ones if asked), as TLB-entry shapes, into m->scratch. */
unsigned s2hyp__leaves(struct s2hyp *m, uint64_t ipa, uint64_t size, bool writable_only);
/* The entries of v's TLB over [ipa, ipa + size) that allow writes, into
 * m->scratch. */
unsigned s2hyp__tlb_writable(struct s2hyp *m, const struct vcpu *v, uint64_t ipa, uint64_t size);
/* dirty-log-protect: a writable translation (vcpu -1: a leaf) over a
 * logged slot must cover only pages marked dirty. */
void s2hyp__check_logged(struct s2hyp *m, int vcpu, const struct s2hyp_tlb_entry *e);


/* checker glue, in machine.c */
/* Hand the checker vCPU v's TLB entries that overlap [ipa, ipa + size):
 * into m->scratch, their number returned. */
unsigned s2hyp__tlb_overlaps(struct s2hyp *m, const struct vcpu *v, uint64_t ipa, uint64_t size);

#endif
