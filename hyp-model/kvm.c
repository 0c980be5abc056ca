/* KVM around the walker: the MMU lock, the stage-2 fault handler
 * (user_mem_abort), dirty logging, MMU notifiers, VM destroy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_kvm.h"

/* KVM's stage-2 tables over the machine (kvm_init_stage2_mmu): the roots
 * are tables from the start, and the checker knows where they sit. */
int s2hyp__kvm_init(struct s2hyp *m)
{
	const struct s2pt_geom *g = &m->geom;
	int ret = s2pt_init(&m->pt, g, &s2hyp__mm_ops, m, m->cfg.variant,
			    (m->cfg.fwb ? S2PT_INIT_FWB : 0) |
			    (m->cfg.range_tlbi ? S2PT_INIT_RANGE_TLBI : 0));
	if (ret)
		return ret;
	for (unsigned r = 0; r < g->nr_roots; r++)
		s2hyp_checker_page_root(m->chk, (uint8_t *)m->pt.pgd + ((uint64_t)r << g->granule_shift),
					g->start_level,
					(uint64_t)r << (s2pt_level_shift(g, g->start_level) + g->stride));
	return 0;
}

/*
 * The MMU lock. With parallel faults (KVM since v6.2) it is a reader/writer
 * lock split as Linux 6.12 splits it: the fault paths (map, relax-perms,
 * the access flag) hold it for read and walk the tables shared, every other
 * operation (unmap, write-protect, dirty logging, split, age, flush,
 * destroy, MMU notifiers) holds it for write. Without, every operation
 * holds it alone. The scheduler lets an operation start only when the lock
 * is free to it (sched.c), so taking it never waits here.
 */
struct s2pt_locked s2hyp__lock(struct s2hyp *m, enum op_kind op, int thread, uint64_t ipa,
			      uint64_t size)
{
	bool shared = m->parallel &&
		      (op == OP_FAULT_MAP || op == OP_FAULT_RELAX || op == OP_FAULT_AF);
	unsigned slot = thread >= 0 ? (unsigned)thread : HOST_SLOT;

	if (m->writer || (!shared && m->readers))
		s2hyp__fail(m, "the MMU lock was taken for %s while held for %s",
			    shared ? "read" : "write", m->writer ? "write" : "read");
	if (shared)
		m->readers++;
	else
		m->writer = true;
	m->locked = true;
	s2hyp__mm_ops_update(m);
	m->held[slot] = (struct hyp_op){ true, shared, op, ipa, size };
	s2hyp__op_current(m, slot);
	if (m->cfg.check)
		s2hyp_checker_op_begin(m->chk, slot, shared);
	if (m->readers + m->writer > m->stats.max_ops_in_flight)
		m->stats.max_ops_in_flight = m->readers + m->writer;
	m->stats.hyp_ops++;
	s2hyp__event(m, HOST_THREAD, EV_OP_BEGIN, ipa, size, thread >= 0, op);
	return shared ? s2pt_lock_shared(&m->pt) : s2pt_lock(&m->pt);
}

void s2hyp__unlock(struct s2hyp *m, struct s2pt_locked l)
{
	unsigned slot = m->op_thread >= 0 ? (unsigned)m->op_thread : HOST_SLOT;

	if (l.shared)
		m->readers--;
	else
		m->writer = false;
	m->held[slot].held = false;
	s2hyp__op_current(m, slot);
	m->locked = m->readers || m->writer;
	s2hyp__mm_ops_update(m);
	if (m->cfg.check)
		s2hyp_checker_op_end(m->chk, slot);
	s2pt_unlock(l);
	/* The refcount convention holds whenever no operation holds the lock:
	 * inside one every ordering is transiently off by one. */
	if (!m->locked) {
		if (m->cfg.check)
			s2hyp_checker_unlock(m->chk);
		else
			s2hyp_checker_unlock_unchecked(m->chk);
	}
}

/* ------------------------------------------------------------------ */
/* Host pages                                                          */
/* ------------------------------------------------------------------ */

/* The fault handler pins the page while it maps it (gfn_to_pfn) and lets it
 * go afterwards (kvm_release_pfn_clean): stage 2 holds no reference. */
void s2hyp__host_page_get(struct s2hyp *m, uint64_t pa)
{
	if (!s2hyp_checker_host_page_get(m->chk, pa))
		s2hyp__fail(m, "out of memory");
}

void s2hyp__host_page_put(struct s2hyp *m, uint64_t pa)
{
	s2hyp_checker_host_page_put(m->chk, pa);
}

/* ------------------------------------------------------------------ */
/* The fault handler                                                   */
/* ------------------------------------------------------------------ */

/* fault_supports_stage2_huge_mapping(): the block must sit inside the slot,
 * and IPA and host address must have the same offset in it. */
static bool block_fits(const struct slot *s, uint64_t ipa, uint64_t hva, uint64_t size)
{
	uint64_t base = s2_align_down(ipa, size);
	return (ipa & (size - 1)) == (hva & (size - 1)) && base >= s->d.ipa &&
	       base + size <= s->d.ipa + s->d.size;
}

static uint64_t mapping_size(const struct s2hyp *m, const struct slot *s, uint64_t ipa)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);
	uint64_t hva = s->d.hva + (ipa - s->d.ipa);

	/* Dirty logging tracks pages: it forces page mappings (the bug of
	 * kvm-dirty-log-blocks forgets it). */
	if (s->d.dirty_log && m->cfg.variant != S2PT_V_LOG_BLOCKS)
		return page;
	uint64_t limit = s2hyp__backing_bytes(m->geom.granule_shift, s->d.backing);
	for (s2_level_t l = g->min_block_level; l < S2_LEVEL_MAX; l++) {
		uint64_t size = s2pt_granule_size(g, l);
		/* kvm-huge-unchecked: only the host page size was looked at. */
		if (size <= limit && (block_fits(s, ipa, hva, size) ||
				      m->cfg.variant == S2PT_V_HUGE_UNCHECKED))
			return size;
	}
	return page;
}

static bool topup(struct s2hyp *m, struct s2pt_memcache *mc, unsigned pages)
{
	int ret = s2pt_memcache_topup(&m->pt, mc, pages);
	if (ret) {
		s2hyp__fail(m, "the memcache could not be topped up: table pages exhausted");
		return false;
	}
	return true;
}

static void mark_dirty(struct slot *s, uint64_t ipa, unsigned shift)
{
	s->dirty[(ipa - s->d.ipa) >> shift] = 1;
}

void s2hyp__fault_relax(struct s2hyp *m, struct vcpu *v, struct s2pt_locked l, uint64_t ipa,
			enum s2pt_prot add)
{
	/* Only the leaf the fault was taken on: if a coalesce or a split
	 * changed its level since (the fault's level comes from the
	 * syndrome), relaxing the new leaf would grant more than the fault
	 * asked for, and while dirty logging a whole block would become
	 * writable. Linux relaxes it anyway (kvm-relax-stale-level,
	 * docs/bugs.md); on S2_EAGAIN the vCPU faults again on what is
	 * there now. */
	s2_level_t at = m->cfg.variant == S2PT_V_RELAX_STALE_LEVEL ? S2PT_TLBI_NO_LEVEL
								     : v->fault_level;
	v->backoff = s2pt_relax_perms_at(l, s2_ipa(ipa), add, at) == S2_EAGAIN && m->parallel;
	m->stats.relaxes++;
	s2hyp__unlock(m, l);
}

void s2hyp__fault_map(struct s2hyp *m, struct vcpu *v, struct s2pt_locked l, uint64_t ipa,
		      uint64_t size, uint64_t pa, enum s2pt_prot prot, bool logging)
{
	/* Parallel faults each top up their vCPU's own memcache, as KVM's
	 * vCPUs do; one at a time, the machine's one serves them all. */
	struct s2pt_memcache *mc = m->parallel ? &v->mc : &m->mc;
	if (!topup(m, mc, s2pt_memcache_min_pages(&m->geom))) {
		s2hyp__unlock(m, l);
		return;
	}
	s2hyp__host_page_get(m, pa);
	unsigned cached = mc->nr;
	v->break_lost = false;
	int ret = s2pt_map(l, s2_ipa(ipa), size, s2_pa(pa), prot, mc);
	m->stats.table_pages_taken += cached - mc->nr;
	s2hyp__host_page_put(m, pa);
	m->stats.maps++;
	if (ret == S2_EAGAIN) {
		m->stats.map_eagain++;
		m->stats.breaks_lost += v->break_lost;
		v->backoff = m->parallel;
	}
	else if (ret)
		s2hyp__fail(m, "map of IPA %#llx+%#llx failed: %s", (unsigned long long)ipa,
			    (unsigned long long)size, s2_err_msg(ret));
	s2hyp__event(m, HOST_THREAD, EV_OP_END, (uint64_t)(int64_t)ret, 0, 0, 0);
	s2hyp__unlock(m, l);
	if (m->cfg.check && logging) {
		unsigned nl = s2hyp__leaves(m, ipa, size, true);
		for (unsigned k = 0; k < nl && !m->stopped; k++)
			s2hyp__check_logged(m, -1, &m->scratch[k]);
	}
}

bool s2hyp__handle_fault(struct s2hyp *m, struct vcpu *v)
{
	const struct s2hyp_vcpu_op *o = &v->prog[v->pc];
	const struct s2pt_geom *g = &m->geom;
	struct s2pt_locked l;
	struct slot *s = s2hyp__slot_of_ipa(m, o->ipa);
	bool write = o->access == S2HYP_ACC_WRITE, exec = o->access == S2HYP_ACC_EXEC;

	/* Outside guest RAM, or a write to a read-only slot: an MMIO exit. */
	if (!s || (write && s->d.readonly))
		return true;

	if (v->fault == FAULT_ACCESS_FLAG) {
		l = s2hyp__lock(m, OP_FAULT_AF, (int)v->id, o->ipa, s2pt_granule_size(g, S2_LEVEL_MAX));
		v->backoff = s2pt_mkyoung(l, s2_ipa(o->ipa), NULL) == S2_EAGAIN && m->parallel;
		m->stats.mkyoungs++;
		s2hyp__unlock(m, l);
		return false;
	}

	if (m->hv)
		return s2hyp__hostvm_fault(m, v, s);

	/* mmu_invalidate_retry(), for the whole VM: an invalidation in
	 * progress, or one that began or ended while KVM handled the fault
	 * (it sampled the sequence early and checks it late: host_invalidated,
	 * the handler here being instant), makes the handler give up (-EAGAIN)
	 * before it maps or relaxes anything; the guest runs again and takes
	 * the fault again. */
	if ((m->invalidating || o->host_invalidated) && !o->not_retried) {
		/* (The next item handling this fault late is no retry.) */
		if (v->pc + 1 >= v->nprog || !v->prog[v->pc + 1].deferred)
			m->stats.host_retries++;
		v->invalidate_retry = true;
		return true;
	}

	uint64_t size = mapping_size(m, s, o->ipa);
	uint64_t ipa = s2_align_down(o->ipa, size);
	uint64_t fault_granule = s2pt_granule_size(g, v->fault_level);
	bool logging = s->d.dirty_log;

	if (write && logging)
		mark_dirty(s, o->ipa, g->granule_shift);

	if (v->fault == FAULT_PERMISSION && fault_granule == size) {
		enum s2pt_prot add = write ? S2PT_PROT_W : exec ? S2PT_PROT_X : S2PT_PROT_R;
		l = s2hyp__lock(m, OP_FAULT_RELAX, (int)v->id, ipa, size);
		s2hyp__fault_relax(m, v, l, o->ipa, add);
		return false;
	}

	unsigned prot = S2PT_PROT_R;
	/* A read fault on a dirty-logged slot maps read-only, so the first write
	 * is seen. */
	if (!s->d.readonly && !(logging && !write))
		prot |= S2PT_PROT_W;
	/* With DIC, no icache maintenance is ever needed: map executable up front. */
	if (exec || m->cfg.dic)
		prot |= S2PT_PROT_X;
	uint64_t pa = s->pa + (ipa - s->d.ipa);

	l = s2hyp__lock(m, OP_FAULT_MAP, (int)v->id, ipa, size);
	s2hyp__fault_map(m, v, l, ipa, size, pa, (enum s2pt_prot)prot, logging);
	return false;
}

/* no-progress: the same fault on the same page as the last one handled,
 * with no entry stored anywhere since that handler began, counts one more;
 * anything else starts the count again, a fault retried for an MMU-notifier
 * invalidation included (mmu_invalidate_retry: the host moved, even when
 * its unmap stored nothing). True when the count reaches the bound
 * (reported). */
static bool no_progress(struct s2hyp *m, struct vcpu *v)
{
	static const char *const kinds[] = { "", "translation", "permission", "access-flag" };
	const struct s2hyp_vcpu_op *o = &v->prog[v->pc];
	uint64_t page = s2_align_down(o->ipa, s2pt_granule_size(&m->geom, S2_LEVEL_MAX));

	if (v->np_count && v->np_page == page && v->np_kind == v->fault &&
	    v->np_level == v->fault_level &&
	    v->np_stores == m->stats.pte_stores + m->stats.host_retries) {
		v->np_count++;
	} else {
		v->np_count = 1;
		v->np_page = page;
		v->np_kind = (uint8_t)v->fault;
		v->np_level = v->fault_level;
	}
	v->np_stores = m->stats.pte_stores + m->stats.host_retries;
	if (v->np_count < m->cfg.no_progress_faults)
		return false;
	s2hyp_checker_no_progress(m->chk, v->id, o->ipa, kinds[v->fault & 3], v->fault_level,
				  v->np_count);
	v->np_count = 0;
	return true;
}

/* A vCPU's stage-2 abort, as KVM's run loop takes it: the fault handler,
 * unless the access faulted too often (livelock, the run stops) or the
 * same fault repeats without progress (reported, the access given up).
 * True when the access is over (an MMIO exit, or given up): the caller
 * finishes the item; false when the vCPU retries it. */
bool s2hyp__vcpu_abort(struct s2hyp *m, struct vcpu *v)
{
	const struct s2hyp_vcpu_op *o = &v->prog[v->pc];
	uint64_t stores = m->stats.pte_stores;

	/* The install half of a host-mm fault (after its GUP), and its GUP
	 * resumed after a userfaultfd wake, are the same fault: not counted
	 * again. */
	bool again = v->gup_pending || v->uffd_msg;
	if (!again && ++v->faults_this_access > m->cfg.max_faults_per_access) {
		snprintf(m->error, sizeof(m->error),
			 "vCPU %u: the access to IPA %#llx faulted %u times without progress",
			 v->id, (unsigned long long)o->ipa, m->cfg.max_faults_per_access);
		m->outcome = S2HYP_LIVELOCK;
		m->stopped = true;
		return false;
	}
	/* Reported: the access is given up, the run goes on. */
	if (!again && m->cfg.check && no_progress(m, v))
		return true;
	v->backoff = false;
	v->invalidate_retry = false;
	if (s2hyp__handle_fault(m, v)) {
		/* A fault an invalidation made retry is a guest attempt that
		 * is over, not an exit: the next attempt is another access
		 * (a trace's next fault line). */
		if (!v->invalidate_retry)
			m->stats.vcpu[v->id].mmio++;
		return true;
	}
	if (v->backoff && o->observed) {
		/* A trace's fault line: the guest's retry is the trace's next
		 * line if it faulted again (while another vCPU's handler held
		 * the entry locked), and no line if it did not. */
		v->backoff = false;
		return true;
	}
	if (v->backoff) {
		/* Lost a race with another walker (S2_EAGAIN): KVM returns to
		 * the guest, which retries the access. The retry sees the same
		 * tables until another store: it waits for one (sched.c), and
		 * the lost race counts as no fault of its own. */
		v->backoff_stores = stores;
		v->faults_this_access--;
	}
	if (v->state == V_FAULT && !v->gup_pending && !v->uffd_msg)
		v->state = V_READY;
	return false;
}

/* ------------------------------------------------------------------ */
/* Host operations                                                     */
/* ------------------------------------------------------------------ */

/* kvm_flush_remote_tlbs(): the whole VMID. */
static void flush_vmid(struct s2hyp *m)
{
	const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
	ops->barrier(m, S2PT_DSB_ISHST);
	ops->tlbi(m, S2PT_TLBI_VMALLS12E1IS, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
	ops->barrier(m, S2PT_DSB_ISH);
	ops->barrier(m, S2PT_ISB);
}

/* kvm_flush_remote_tlbs_range(): one range TLBI with FEAT_TLBIRANGE, else
 * the whole VMID. */
static void flush_range(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	const struct s2pt_mm_ops *ops = &s2hyp__mm_ops;
	if (!m->cfg.range_tlbi) {
		flush_vmid(m);
		return;
	}
	ops->barrier(m, S2PT_DSB_ISHST);
	ops->tlbi_range(m, s2_ipa(ipa), size);
	ops->barrier(m, S2PT_DSB_ISH);
	ops->tlbi(m, S2PT_TLBI_VMALLE1IS, s2_ipa(0), S2PT_TLBI_NO_LEVEL);
	ops->barrier(m, S2PT_DSB_ISH);
	ops->barrier(m, S2PT_ISB);
}

static void host_write(struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct slot *s = s2hyp__slot_of_hva(m, op->addr);
	uint8_t buf[4096];
	uint64_t pa = s->pa + (op->addr - s->d.hva);

	memset(buf, op->fill, sizeof(buf));
	for (uint64_t done = 0; done < op->size;) {
		uint64_t n = op->size - done < sizeof(buf) ? op->size - done : sizeof(buf);
		int ret = s2cache_write(m->cache, (unsigned)s2hyp__host_cpu(m), s2_pa(pa + done), buf,
					n, true);
		s2hyp__host_wrote(m, pa + done, n);
		if (ret) {
			s2hyp__fail(m, "host write at PA %#llx failed: %s",
				    (unsigned long long)(pa + done), s2_err_msg(ret));
			return;
		}
		done += n;
	}
}

/* Apply fn to the IPA ranges of the slots a host virtual range covers. */
static void for_hva_range(struct s2hyp *m, uint64_t hva, uint64_t size,
			  void (*fn)(struct s2hyp *m, uint64_t ipa, uint64_t size))
{
	for (unsigned i = 0; i < m->nr_slots && !m->stopped; i++) {
		const struct slot *s = &m->slots[i];
		uint64_t lo = hva > s->d.hva ? hva : s->d.hva;
		uint64_t hi = hva + size < s->d.hva + s->d.size ? hva + size : s->d.hva + s->d.size;
		if (lo >= hi)
			continue;
		fn(m, s->d.ipa + (lo - s->d.hva), hi - lo);
	}
}

/* The checker is told what every vCPU's TLB still holds of an unmapped range. */
void s2hyp__check_unmapped(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	/* Counted first: the count fills (and may move) m->scratch, and an
	 * argument's order of evaluation is the compiler's. */
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		unsigned n = s2hyp__tlb_overlaps(m, &m->vcpus[i], ipa, size);
		s2hyp_checker_unmapped(m->chk, ipa, size, i, m->scratch, n);
	}
}

static void unmap_range(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, ipa, size);
	s2pt_unmap(l, s2_ipa(ipa), size);
	m->stats.unmaps++;
	s2hyp__unlock(m, l);
	if (m->cfg.check) {
		s2hyp__check_unmapped(m, ipa, size);
		unsigned n = s2hyp__leaves(m, ipa, size, false);
		s2hyp_checker_unmap_left(m->chk, ipa, size, m->scratch, n);
	}
}

/* What a write-protect of [ipa, ipa + size) must leave: no writable leaf,
 * no writable TLB entry. */
static void check_wrprotected(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	if (!m->cfg.check)
		return;
	/* Each count first: it fills (and may move) m->scratch. */
	unsigned n = s2hyp__leaves(m, ipa, size, true);
	s2hyp_checker_wrprotect_left(m->chk, ipa, size, -1, m->scratch, n);
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		n = s2hyp__tlb_writable(m, &m->vcpus[i], ipa, size);
		s2hyp_checker_wrprotect_left(m->chk, ipa, size, (int)i, m->scratch, n);
	}
}

bool s2hyp__age_ipa(struct s2hyp *m, uint64_t ipa, uint64_t size, bool mkold, bool flush)
{
	bool young = false;
	struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, ipa, size);
	s2hyp_checker_aging(m->chk, true);
	s2pt_test_clear_young(l, s2_ipa(ipa), size, mkold, &young);
	s2hyp_checker_aging(m->chk, false);
	m->stats.ages++;
	/* clear_flush_young: kvm_flush_remote_tlbs under the lock when an
	 * entry was young (__kvm_handle_hva_range's flush_on_ret). */
	if (flush && young)
		flush_vmid(m);
	s2hyp__unlock(m, l);
	return young;
}

/* The notifier's clear_young, and its clear_flush_young. */
static void age_range(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	s2hyp__age_ipa(m, ipa, size, true, false);
}

static void age_flush_range(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	s2hyp__age_ipa(m, ipa, size, true, true);
}

void s2hyp__unmap_ipa(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	unmap_range(m, ipa, size);
}

static void wrprotect_range(struct s2hyp *m, uint64_t ipa, uint64_t size)
{
	struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, ipa, size);
	s2pt_wrprotect(l, s2_ipa(ipa), size);
	m->stats.wrprotects++;
	flush_range(m, ipa, size);
	s2hyp__unlock(m, l);
	check_wrprotected(m, ipa, size);
}

/* Eager splitting of [ipa, ipa + size), one chunk after another, under
 * the lock l the caller took (kvm_mmu_split_huge_pages). The split cache is
 * refilled without the lock, as KVM drops mmu_lock to top it up between
 * chunks (need_topup_split_caches_or_resched): a vCPU's fault can run in
 * between. l is the lock held on return. */
static void split_range(struct s2hyp *m, struct s2pt_locked *l, uint64_t ipa, uint64_t size)
{
	uint64_t end = ipa + size, chunk = m->cfg.split_chunk;

	for (uint64_t a = ipa, next; a < end && !m->stopped; a = next) {
		next = chunk ? (a / chunk + 1) * chunk : end;
		if (next > end || next < a)
			next = end;
		for (int tries = 0; tries < 1 << 20 && !m->stopped; tries++) {
			if (m->mc.nr < S2PT_MEMCACHE_MAX) {
				s2hyp__unlock(m, *l);
				bool ok = topup(m, &m->mc, S2PT_MEMCACHE_MAX);
				*l = s2hyp__lock(m, OP_HOST, HOST_THREAD, ipa, size);
				if (!ok)
					return;
			}
			unsigned cached = m->mc.nr;
			int ret = s2pt_split(*l, s2_ipa(a), next - a, &m->mc);
			m->stats.table_pages_taken += cached - m->mc.nr;
			m->stats.splits++;
			if (ret != S2_ENOMEM) {
				if (ret)
					s2hyp__fail(m, "split failed: %s", s2_err_msg(ret));
				break;
			}
		}
	}
}

/* kvm_arch_commit_memory_region with dirty logging turned on (no initial
 * all-set): write-protect the slot and flush, in one mmu_lock section
 * (kvm_mmu_wp_memory_region), then, with eager splitting, split its blocks
 * in another (kvm_mmu_split_memory_region): a fault between the two finds
 * write-protected blocks. */
static void dirty_log_on(struct s2hyp *m, struct slot *s)
{
	s->d.dirty_log = true;
	s->log_starting = true;
	struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, s->d.ipa, s->d.size);
	s2pt_wrprotect(l, s2_ipa(s->d.ipa), s->d.size);
	m->stats.wrprotects++;
	/* kvm-dirty-log-noflush: writable translations stay in the TLBs. */
	if (m->cfg.variant != S2PT_V_LOG_NO_FLUSH)
		flush_range(m, s->d.ipa, s->d.size);
	s2hyp__unlock(m, l);
	check_wrprotected(m, s->d.ipa, s->d.size);
	if (m->cfg.eager_split && !m->stopped) {
		l = s2hyp__lock(m, OP_HOST, HOST_THREAD, s->d.ipa, s->d.size);
		split_range(m, &l, s->d.ipa, s->d.size);
		s2hyp__unlock(m, l);
	}
	s->log_starting = false;
}

/* KVM_GET_DIRTY_LOG without manual protect: report, clear, protect again. */
static void get_dirty_log(struct s2hyp *m, struct slot *s)
{
	const struct s2pt_geom *g = &m->geom;
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);
	uint64_t n = s->d.size >> g->granule_shift;

	uint8_t *reported = malloc(n ? n : 1);
	if (!reported) {
		s2hyp__fail(m, "out of memory");
		return;
	}
	memcpy(reported, s->dirty, n);
	struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, s->d.ipa, s->d.size);
	/* kvm_mmu_write_protect_pt_masked: one walk per 64-page word of the
	 * bitmap, from its first dirty page to its last. */
	for (uint64_t w = 0; w < n; w += 64) {
		uint64_t first = UINT64_MAX, last = 0;
		for (uint64_t i = w; i < n && i < w + 64; i++) {
			if (!s->dirty[i])
				continue;
			s->dirty[i] = 0;
			m->stats.dirty_pages++;
			if (first == UINT64_MAX)
				first = i;
			last = i;
		}
		if (first == UINT64_MAX)
			continue;
		s2pt_wrprotect(l, s2_ipa(s->d.ipa + first * page), (last - first + 1) * page);
		m->stats.wrprotects++;
	}
	flush_range(m, s->d.ipa, s->d.size);
	s2hyp__unlock(m, l);
	/* Every logged write is in what was reported, and what was reported
	 * is write-protected again. */
	if (m->cfg.check)
		s2hyp_checker_dirty_log_read(m->chk, s->d.ipa, s->d.size, g->granule_shift, reported);
	for (uint64_t i = 0; i < n && !m->stopped; i++)
		if (reported[i])
			check_wrprotected(m, s->d.ipa + i * page, page);
	free(reported);
}

static void destroy(struct s2hyp *m)
{
	struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, 0, s2_bit(m->cfg.ipa_bits));
	/* A VMID is flushed before it is reused; do it now so that no vCPU's
	 * TLB or walk cache can point at the tables about to be freed. */
	flush_vmid(m);
	/* (That flush stands for the one before the VMID's reuse, not a call KVM
	 * makes when it destroys the tables: not counted as one.) */
	m->stats.tlbi_calls[S2HYP_TLBI_VMID]--;
	m->destroyed = true;
	m->stats.destroys++;
	/* Every grace period has ended by now: the unlinked tables go first. */
	s2hyp__rcu_free_all(m);
	s2hyp_checker_destroying(m->chk);
	/* KVM gives its memcache back with free_page, not with the put of a
	 * table page: those are not counted as puts. */
	unsigned cached = m->mc.nr;
	s2pt_memcache_free(&m->pt, &m->mc);
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		cached += m->vcpus[i].mc.nr;
		s2pt_memcache_free(&m->pt, &m->vcpus[i].mc);
	}
	m->stats.puts -= cached;
	m->stats.table_pages_freed_put -= cached;
	s2pt_destroy(l);
	s2hyp__unlock(m, l);
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++)
		m->vcpus[i].state = V_DONE;
	if (m->cfg.check)
		s2hyp_checker_destroyed(m->chk);
}

void s2hyp__run_host_op(struct s2hyp *m, const struct s2hyp_host_op *op)
{
	m->stats.host_ops++;
	if (m->destroyed && op->kind != S2HYP_HOST_WRITE) {
		s2hyp__fail(m, "host operation after the VM was destroyed");
		return;
	}
	if (m->hv && s2hyp__hostvm_host_op(m, op))
		return;
	switch (op->kind) {
	case S2HYP_HOST_WRITE:
		host_write(m, op);
		return;
	case S2HYP_HOST_DIRTY_LOG_ON:
		dirty_log_on(m, &m->slots[op->slot]);
		return;
	case S2HYP_HOST_DIRTY_LOG_OFF:
		/* No walk: tables stay split until faults coalesce them. */
		m->slots[op->slot].d.dirty_log = false;
		s2hyp_checker_dirty_log_stop(m->chk, m->slots[op->slot].d.ipa,
					     m->slots[op->slot].d.size);
		return;
	case S2HYP_HOST_GET_DIRTY_LOG:
		get_dirty_log(m, &m->slots[op->slot]);
		return;
	case S2HYP_HOST_UNMAP_HVA:
		for_hva_range(m, op->addr, op->size, unmap_range);
		return;
	case S2HYP_HOST_AGE_HVA:
		for_hva_range(m, op->addr, op->size, op->flush ? age_flush_range : age_range);
		return;
	case S2HYP_HOST_UNMAP_IPA:
		unmap_range(m, op->addr, op->size);
		return;
	case S2HYP_HOST_AGE_IPA:
		(op->flush ? age_flush_range : age_range)(m, op->addr, op->size);
		return;
	case S2HYP_HOST_WRPROTECT_IPA:
		wrprotect_range(m, op->addr, op->size);
		return;
	case S2HYP_HOST_FLUSH_IPA: {
		struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, op->addr, op->size);
		s2pt_flush(l, s2_ipa(op->addr), op->size);
		s2hyp__unlock(m, l);
		return;
	}
	case S2HYP_HOST_SPLIT_IPA: {
		/* Under the write lock, no TLBI of its own: each block's break
		 * invalidates it (kvm_mmu_split_huge_pages). */
		struct s2pt_locked l = s2hyp__lock(m, OP_HOST, HOST_THREAD, op->addr, op->size);
		split_range(m, &l, op->addr, op->size);
		s2hyp__unlock(m, l);
		return;
	}
	case S2HYP_HOST_DESTROY:
		destroy(m);
		return;
	case S2HYP_HOST_MM:	/* checked: only with m->hv, which took it */
		return;
	case S2HYP_HOST_RCU_CALLBACK:
		s2hyp__rcu_callback(m);
		return;
	case S2HYP_HOST_INVALIDATE_BEGIN:
		m->invalidating++;
		return;
	case S2HYP_HOST_INVALIDATE_END:
		if (!m->invalidating) {
			s2hyp__fail(m, "invalidate-end without an invalidation in progress");
			return;
		}
		m->invalidating--;
		return;
	}
}

int s2hyp_table_refcount(struct s2hyp *m, uint64_t ipa, int *refcount)
{
	const struct s2pt_geom *g = &m->geom;
	if (!m->pt.pgd)
		return S2_ENOENT;
	/* Follow the live tables to the page holding ipa's last entry. */
	s2_pte_t *table = m->pt.pgd;
	s2_level_t level = g->start_level;
	unsigned entries = s2pt_ptes_per_table(g) * g->nr_roots;
	for (;;) {
		unsigned idx = (unsigned)((ipa >> s2pt_level_shift(g, level)) & (entries - 1));
		s2_pte_t pte = table[idx];
		if (!s2pt_pte_is_table(pte, level)) {
			struct s2pool_page *pg = s2pool_page_of(m->pool, &table[idx]);
			if (!pg)
				return S2_ENOENT;
			*refcount = pg->refcount;
			return 0;
		}
		table = s2pool_va(m->pool, s2pt_pte_oa(g, pte));
		level++;
		entries = s2pt_ptes_per_table(g);
	}
}
