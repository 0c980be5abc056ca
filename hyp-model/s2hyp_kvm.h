/* KVM over the machine (kvm.c, mmops.c), inside hyp-model: the MMU lock,
 * the fault handler, host operations, and the walker's mm ops. KVM works on
 * the machine (s2hyp_internal.h) and reaches the scheduler only through the
 * machine's scheduling point; the scheduler (sched.c) calls it. */
#ifndef S2HYP_KVM_H
#define S2HYP_KVM_H

#include "hyp-model/s2hyp_internal.h"

/* mmops.c */
extern const struct s2pt_mm_ops s2hyp__mm_ops;
/* The walker's mm-ops as the lock's holders need them (after a lock or an
 * unlock): pte_read only when a read is kept. */
void s2hyp__mm_ops_update(struct s2hyp *m);
uint64_t s2hyp__pool_idx(struct s2hyp *m, const void *addr);

/* Free every unlinked table whose grace period is pending (mmops.c). */
void s2hyp__rcu_free_all(struct s2hyp *m);
/* Whether a grace period can end now for some pending table: no reader
 * that entered its read-side section before the table was queued is still
 * inside. The scheduler offers it as a choice (S2HYP_CH_RCU). */
bool s2hyp__rcu_ready(const struct s2hyp *m);
/* The grace period ends: every table it covers is freed, in one step. */
void s2hyp__rcu_grace(struct s2hyp *m);
/* One RCU callback: the oldest pending table whose grace period has ended
 * is freed (a capture's kvm_pgtable_stage2_free_unlinked). */
void s2hyp__rcu_callback(struct s2hyp *m);

/* kvm.c */
/* KVM's stage-2 tables over the machine: the roots, known to the checker. */
int s2hyp__kvm_init(struct s2hyp *m);
/* A vCPU's stage-2 abort (state V_FAULT), as KVM's run loop takes it: the
 * fault handler, or the livelock and no-progress guards. True when the
 * access is over (an MMIO exit, or given up): the caller finishes the item. */
bool s2hyp__vcpu_abort(struct s2hyp *m, struct vcpu *v);
/* Returns true when the access is an MMIO exit (no memory behind it). */
bool s2hyp__handle_fault(struct s2hyp *m, struct vcpu *v);
/* The two ends of both fault handlers (guest memory at fixed addresses, and
 * on host memory in hostvm.c), under the MMU lock l the caller took: relax
 * the permissions of the leaf the fault was taken on, or map
 * [ipa, ipa + size) at pa (the memcache topped up, statistics, back-off on
 * -EAGAIN, then the dirty-log check after the lock). Both release l, as
 * user_mem_abort ends its locked section with kvm_fault_unlock. */
void s2hyp__fault_relax(struct s2hyp *m, struct vcpu *v, struct s2pt_locked l, uint64_t ipa,
			enum s2pt_prot add);
void s2hyp__fault_map(struct s2hyp *m, struct vcpu *v, struct s2pt_locked l, uint64_t ipa,
		      uint64_t size, uint64_t pa, enum s2pt_prot prot, bool logging);
void s2hyp__run_host_op(struct s2hyp *m, const struct s2hyp_host_op *op);
/* Take the MMU lock for an operation: the only way to the walker's
 * lock witness. Unlocking gives it back. */
struct s2pt_locked s2hyp__lock(struct s2hyp *m, enum op_kind op, int thread, uint64_t ipa,
			      uint64_t size);
void s2hyp__unlock(struct s2hyp *m, struct s2pt_locked l);
void s2hyp__host_page_get(struct s2hyp *m, uint64_t pa);
void s2hyp__host_page_put(struct s2hyp *m, uint64_t pa);
/* An unmap of [ipa, ipa + size) returned: tell the checker what the TLBs hold of it. */
void s2hyp__check_unmapped(struct s2hyp *m, uint64_t ipa, uint64_t size);

/* The walker operations of the MMU notifier: unmap (TLBs flushed, the
 * checker told) and test/clear young, each under the MMU lock. */
void s2hyp__unmap_ipa(struct s2hyp *m, uint64_t ipa, uint64_t size);
bool s2hyp__age_ipa(struct s2hyp *m, uint64_t ipa, uint64_t size, bool mkold, bool flush);

/* hostvm.c: guest memory on host-mm (sets m->hv_access, m->hv_check_op). */
struct s2hyp_hostvm;
int s2hyp__hostvm_create(struct s2hyp *m, const char **why);
void s2hyp__hostvm_delete(struct s2hyp *m);
/* The fault handler's host-mm path (after the MMIO and access-flag cases):
 * true for an access given up. Two calls per fault (v->gup_pending between). */
bool s2hyp__hostvm_fault(struct s2hyp *m, struct vcpu *v, struct slot *s);
/* The host operations that host-mm changes; false: the machine's own. */
bool s2hyp__hostvm_host_op(struct s2hyp *m, const struct s2hyp_host_op *op);

#endif
