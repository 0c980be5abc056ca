/* The machine's guest memory on the host model (s2hyp_config.host_mm):
 * every memslot is the VMM's private anonymous memory in host-mm/, the
 * fault handler takes its page through GUP in two scheduled halves (the
 * invalidate-sequence snapshot and GUP; then, under the MMU lock, the retry
 * check and the install), and every host event that unmaps or replaces a
 * page reaches stage 2 through kvmhost.c's MMU notifier, which unmaps with
 * the machine's own walker operation (TLBIs, the checker, the scheduler's
 * interleaving). The protocol and its rules are kvmhost.c's; this file
 * hands it the machine's stage 2 and vCPU TLBs. A memslot may instead be a
 * shared mapping of a memfd, and registered with the VMM's userfaultfd: a
 * fault whose GUP goes to the userfaultfd sleeps until the VMM's handler
 * (host events uffd-read and uffd-resolve) wakes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_err.h"
#include "hyp-model/s2hyp_kvm.h"

#define MAX_PROCS S2HYP_MAX_PROCS
#define MAX_REFS S2HYP_MAX_REFS

struct s2hyp_hostvm {
	struct s2host *h;
	struct s2hyp_kvm *k;
	int proc[MAX_PROCS];		/* proc i's host mm; 0 is the VMM */
	unsigned nr_proc;
	uint8_t proc_state[MAX_PROCS];	/* PROC_LIVE, ... */
	unsigned ref[MAX_REFS];		/* GUP reference i's host id */
	bool ref_live[MAX_REFS];	/* false: refused by the host, or dropped */
	bool ref_dropped[MAX_REFS];	/* dropped by an unref */
	unsigned nr_ref;
	uint64_t base[S2HYP_MAX_SLOTS];	/* host-mm address of each slot's start */
	int fd[S2HYP_MAX_SLOTS];	/* a memfd slot's file (offset 0 at its start); -1 */
	struct s2host_uffd_msg msg;	/* the message the handler read last (id 0: none) */
	bool gone;			/* the VM is destroyed: its notifier unregistered */
	unsigned host_seen, kvm_seen;	/* violations already reported */
};

static void hostvm_access(struct s2hyp *m, struct vcpu *v, uint64_t ipa, uint64_t pa,
			  enum s2hyp_access a, const void *buf);
static int hostvm_check_op(const struct s2hyp *m, const struct s2hyp_host_op *o, const char **why);
static uint64_t machine_hva(const struct s2hyp *m, uint64_t ha);

unsigned s2hyp_mm_op_args(enum s2hyp_mm_op op)
{
	switch (op) {
	case S2HYP_MM_DONTNEED:
	case S2HYP_MM_MUNMAP:
		return S2HYP_MM_ARG_HVA | S2HYP_MM_ARG_SIZE | S2HYP_MM_ARG_PROC;
	case S2HYP_MM_SPLIT:
	case S2HYP_MM_COLLAPSE:
	case S2HYP_MM_MIGRATE:
	case S2HYP_MM_RECLAIM:
	case S2HYP_MM_KSM:
		return S2HYP_MM_ARG_HVA;
	case S2HYP_MM_FORK:
		return 0;
	case S2HYP_MM_CLEAR_REFS:
	case S2HYP_MM_EXIT:
		return S2HYP_MM_ARG_PROC;
	case S2HYP_MM_PIN:
	case S2HYP_MM_PIN_RO:
	case S2HYP_MM_GUP:
	case S2HYP_MM_GUP_WRITE:
		return S2HYP_MM_ARG_HVA | S2HYP_MM_ARG_PROC;
	case S2HYP_MM_UNREF:
	case S2HYP_MM_REF_READ:
		return S2HYP_MM_ARG_REF;
	case S2HYP_MM_REF_WRITE:
		return S2HYP_MM_ARG_REF | S2HYP_MM_ARG_VALUE;
	case S2HYP_MM_WRITE:
		return S2HYP_MM_ARG_HVA | S2HYP_MM_ARG_PROC | S2HYP_MM_ARG_VALUE;
	case S2HYP_MM_UFFD_PROTECT:
	case S2HYP_MM_UFFD_UNPROTECT:
	case S2HYP_MM_PUNCH_HOLE:
	case S2HYP_MM_MADV_REMOVE:
	case S2HYP_MM_PUNCH_TRUNCATE:
		return S2HYP_MM_ARG_HVA | S2HYP_MM_ARG_SIZE;
	case S2HYP_MM_UFFD_READ:
		return 0;
	case S2HYP_MM_UFFD_RESOLVE:
		return S2HYP_MM_ARG_VALUE;
	case S2HYP_NR_MM_OPS:
		break;
	}
	return 0;
}

bool s2hyp_mm_op_takes_ref(enum s2hyp_mm_op op)
{
	return op == S2HYP_MM_PIN || op == S2HYP_MM_PIN_RO || op == S2HYP_MM_GUP ||
	       op == S2HYP_MM_GUP_WRITE;
}

static uint64_t pfn_pa(uint64_t pfn)
{
	return S2HYP_HOSTMM_PA_BASE + (pfn << S2HOST_PAGE_SHIFT);
}

/* ---- Violations: the host's and KVM's, as the checker's host-mm rule ---- */

static void sync_violations(struct s2hyp *m, int thread)
{
	struct s2hyp_hostvm *hv = m->hv;
	char d[256];

	if (!m->cfg.check)
		return;
	for (; hv->host_seen < s2host_nr_violations(hv->h); hv->host_seen++) {
		const struct s2host_violation *v = s2host_violation(hv->h, hv->host_seen);
		/* The host model's address, and the one the user knows: the
		 * memslot's hva plus the offset (children share the layout). */
		uint64_t hva = v->hva == S2HOST_NO_PFN ? UINT64_MAX : machine_hva(m, v->hva);
		int n = snprintf(d, sizeof(d), "%s: %s", s2host_rule_name(v->rule), v->what);
		if (hva != UINT64_MAX && n > 0 && (size_t)n < sizeof(d))
			snprintf(d + n, sizeof(d) - (size_t)n, " [0x%llx is the VMM's hva 0x%llx]",
				 (unsigned long long)v->hva, (unsigned long long)hva);
		s2hyp_checker_host_mm(m->chk, thread, UINT64_MAX,
				     v->pfn == S2HOST_NO_PFN ? UINT64_MAX : pfn_pa(v->pfn), d);
	}
	for (; hv->kvm_seen < s2hyp_kvm_nr_violations(hv->k); hv->kvm_seen++) {
		const struct s2hyp_kvm_violation *v = s2hyp_kvm_violation(hv->k, hv->kvm_seen);
		snprintf(d, sizeof(d), "%s: %s", s2hyp_kvm_rule_name(v->rule), v->what);
		s2hyp_checker_host_mm(m->chk, thread, v->ipa, UINT64_MAX, d);
	}
}

/* ---- Stage 2 for kvmhost.c: the machine's tables, TLBs and lock --------- */

static int st_leaf(void *arg, uint64_t ipa, struct s2hyp_kvm_leaf *out)
{
	struct s2hyp *m = arg;
	if (m->hv->gone) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return s2hyp_kvm_pt_leaf(&m->pt, S2HYP_HOSTMM_PA_BASE, ipa, out);
}

static unsigned st_tlb(void *arg, uint64_t ipa, struct s2hyp_kvm_leaf *out, unsigned max)
{
	struct s2hyp *m = arg;
	unsigned n = 0;

	for (unsigned i = 0; i < m->cfg.nr_vcpus && n < max; i++) {
		const struct s2hyp_tlb_entry *e = s2hyp__tlb_lookup(m, &m->vcpus[i], ipa);
		if (!e)
			continue;
		uint64_t pa = e->oa + (ipa - e->ipa);
		out[n++] = (struct s2hyp_kvm_leaf){
			.valid = true, .writable = (e->prot & S2PT_PROT_W) != 0,
			.pfn = (pa - S2HYP_HOSTMM_PA_BASE) >> S2HOST_PAGE_SHIFT, .size = e->size,
		};
	}
	return n;
}

static void st_unmap(void *arg, uint64_t ipa, uint64_t size)
{
	struct s2hyp *m = arg;
	if (!m->hv->gone && !m->stopped) {
		m->drop_tlbi = m->cfg.host_unmap_no_tlbi;
		s2hyp__unmap_ipa(m, ipa, size);
		m->drop_tlbi = false;
	}
}

static bool st_age(void *arg, uint64_t ipa, uint64_t size, bool mkold)
{
	struct s2hyp *m = arg;
	return !m->hv->gone && !m->stopped && s2hyp__age_ipa(m, ipa, size, mkold, false);
}

static const struct s2hyp_kvm_stage2 machine_stage2 = { st_leaf, st_tlb, st_unmap, st_age };

/* ---- Create and delete --------------------------------------------------- */

int s2hyp__hostvm_create(struct s2hyp *m, const char **why)
{
	struct s2host_config hc;
	struct s2hyp_kvm_config kc;
	uint64_t bases[S2HYP_MAX_SLOTS] = { 0 }, next = 0;

	if (m->cfg.granule_shift != 12) {
		*why = "host-mm memory needs the 4K granule";
		return S2_EINVAL;
	}
	if (m->cfg.cow_policy >= S2HOST_NR_POLICIES) {
		*why = "unknown COW policy";
		return S2_EINVAL;
	}
	/* Slots sit one after another in the VMM's address space, each at
	 * its hva's offset in 2 MiB so that THP and block mappings line up. */
	for (unsigned i = 0; i < m->nr_slots; i++) {
		const struct s2hyp_memslot *d = &m->slots[i].d;
		if (d->backing == S2HYP_BACKING_HUGETLB_2M || d->backing == S2HYP_BACKING_HUGETLB_1G) {
			*why = "host-mm memory is anonymous or memfd: no hugetlb memslots";
			return S2_EINVAL;
		}
		if (d->uffd_minor && d->backing != S2HYP_BACKING_MEMFD) {
			*why = "uffd-minor needs a memfd memslot";
			return S2_EINVAL;
		}
		next = s2_align_up(next, S2HOST_THP_SIZE) + (d->hva & (S2HOST_THP_SIZE - 1));
		bases[i] = next;
		next += d->size;
		if (next > (1ull << 30)) {
			*why = "host-mm memory: at most 1 GiB of memslots";
			return S2_EINVAL;
		}
	}
	struct s2hyp_hostvm *hv = calloc(1, sizeof(*hv));
	if (!hv) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	m->hv = hv;
	m->hv_access = hostvm_access;
	m->hv_check_op = hostvm_check_op;
	memcpy(hv->base, bases, sizeof(bases));
	s2host_config_init(&hc, (enum s2host_policy)m->cfg.cow_policy);
	hc.nr_pages = (unsigned)(s2_align_up(next, S2HOST_THP_SIZE) >> S2HOST_PAGE_SHIFT);
	if (!hc.nr_pages)
		hc.nr_pages = S2HOST_THP_PAGES;
	hc.check_every_op = m->cfg.check;
	hc.uffd_markers = !m->cfg.uffd_no_markers;
	hc.uffd_wp_flush = !m->cfg.uffd_no_wp_flush;
	hc.uffd_fork_fix = !m->cfg.uffd_no_fork_fix;
	s2hyp_kvm_config_init(&kc);
	kc.ipa_bits = m->cfg.ipa_bits;
	kc.no_retry_check = m->cfg.host_no_retry_check;
	kc.map_writable_always = m->cfg.host_map_writable_always;
	int err = s2host_create(&hc, &hv->h);
	int mm = err ? err : s2host_mm_create(hv->h);
	if (mm < 0)
		err = mm;
	hv->proc[hv->nr_proc++] = mm;
	for (unsigned i = 0; i < m->nr_slots && !err; i++) {
		const struct s2hyp_memslot *d = &m->slots[i].d;
		unsigned fl = S2HOST_PROT_READ | S2HOST_PROT_WRITE |
			      (d->uffd_missing ? S2HOST_MAP_UFFD_MISSING : 0) |
			      (d->uffd_wp ? S2HOST_MAP_UFFD_WP : 0) |
			      (d->uffd_minor ? S2HOST_MAP_UFFD_MINOR : 0);
		hv->fd[i] = -1;
		if (d->backing == S2HYP_BACKING_MEMFD) {
			/* guest RAM as QEMU's memory-backend-memfd: the whole
			 * file, shared */
			hv->fd[i] = s2host_memfd_create(hv->h, (unsigned)(d->size >> S2HOST_PAGE_SHIFT));
			err = hv->fd[i] < 0 ? hv->fd[i] :
			      s2host_mmap_memfd(hv->h, mm, bases[i], d->size, hv->fd[i], 0, fl);
		} else {
			err = s2host_mmap(hv->h, mm, bases[i], d->size,
					  fl | (d->backing == S2HYP_BACKING_THP ? S2HOST_MAP_THP : 0));
		}
	}
	if (!err)
		err = s2hyp_kvm_create_on(hv->h, mm, &kc, &machine_stage2, m, &hv->k);
	for (unsigned i = 0; i < m->nr_slots && !err; i++)
		err = s2hyp_kvm_add_memslot(hv->k, m->slots[i].d.ipa, m->slots[i].d.size, bases[i],
					    m->slots[i].d.hva);
	if (err)
		*why = "cannot build the host's memory for the memslots";
	return err;
}

void s2hyp__hostvm_delete(struct s2hyp *m)
{
	if (!m->hv)
		return;
	s2hyp_kvm_destroy(m->hv->k);
	s2host_destroy(m->hv->h);
	free(m->hv);
	m->hv = NULL;
}

struct s2host *s2hyp_host(struct s2hyp *m)
{
	return m->hv ? m->hv->h : NULL;
}

struct s2hyp_kvm *s2hyp_host_kvm(struct s2hyp *m)
{
	return m->hv ? m->hv->k : NULL;
}

/* The host-mm address of machine hva, or UINT64_MAX outside the slots. */
static uint64_t host_addr(struct s2hyp *m, uint64_t hva)
{
	const struct slot *s = s2hyp__slot_of_hva(m, hva);
	return s ? m->hv->base[s - m->slots] + (hva - s->d.hva) : UINT64_MAX;
}

/* ---- The fault handler ----------------------------------------------------- */

static void page_ref(struct s2hyp *m, uint64_t pfn, bool get)
{
	if (get)
		s2hyp__host_page_get(m, pfn_pa(pfn));
	else
		s2hyp__host_page_put(m, pfn_pa(pfn));
}

/* First half: mmu_seq = mmu_invalidate_seq, then GUP (which may fault the
 * page in on the host, COW it, and invalidate). Second half: the MMU lock,
 * mmu_invalidate_retry, the install; the reference is dropped. */
bool s2hyp__hostvm_fault(struct s2hyp *m, struct vcpu *v, struct slot *s)
{
	struct s2hyp_hostvm *hv = m->hv;
	const struct s2hyp_vcpu_op *o = &v->prog[v->pc];
	const struct s2pt_geom *g = &m->geom;
	struct s2hyp_kvm_fault *f = &v->gup;
	bool write = o->access == S2HYP_ACC_WRITE, exec = o->access == S2HYP_ACC_EXEC;
	bool logging = s->d.dirty_log;

	if (!v->gup_pending) {
		/* A fault woken from handle_userfault resumes its GUP under
		 * the sequence it snapshotted before sleeping. */
		int err = v->uffd_msg ? s2hyp_kvm_fault_gup(hv->k, f)
				      : s2hyp_kvm_fault_begin(hv->k, o->ipa, write, f);
		v->uffd_msg = 0;
		sync_violations(m, (int)v->id);
		if (err == S2_EAGAIN) {
			/* The fault is the VMM's userfaultfd's: the vCPU sleeps
			 * until the handler resolves it (sched.c). */
			v->uffd_msg = s2host_uffd_last_msg(hv->h);
			m->stats.host_uffd_waits++;
			return false;
		}
		if (err) {
			/* The host refuses (the VMM unmapped it): KVM returns
			 * -EFAULT to the VMM; here the access is given up. */
			m->stats.host_gup_errors++;
			return true;
		}
		page_ref(m, f->pfn, true);
		v->gup_pending = true;
		return false;
	}
	v->gup_pending = false;
	uint64_t page = s2pt_granule_size(g, S2_LEVEL_MAX);
	struct s2pt_locked l = s2hyp__lock(m, OP_FAULT_MAP, (int)v->id, f->ipa, page);
	if (s2hyp_kvm_fault_check(hv->k, f)) {
		/* -EAGAIN: the guest refaults against what the invalidation left */
		m->stats.host_retries++;
		s2hyp__unlock(m, l);
		page_ref(m, f->pfn, false);
		sync_violations(m, (int)v->id);
		return false;
	}
	uint64_t size = logging && m->cfg.variant != S2PT_V_LOG_BLOCKS ? page : f->size;
	uint64_t ipa = s2_align_down(o->ipa, size);
	uint64_t pa = pfn_pa(f->pfn) - (f->ipa - ipa);
	unsigned prot = S2PT_PROT_R;
	if (f->map_writable && !s->d.readonly && !(logging && !write))
		prot |= S2PT_PROT_W;
	if (exec || m->cfg.dic)
		prot |= S2PT_PROT_X;
	if (write && logging)
		s->dirty[(o->ipa - s->d.ipa) >> g->granule_shift] = 1;
	struct s2hyp_kvm_leaf lf;
	st_leaf(m, o->ipa, &lf);
	if (v->fault == FAULT_PERMISSION && lf.valid && lf.pfn == f->pfn && lf.size == size) {
		/* The page it maps already: a permission fault relaxes. */
		enum s2pt_prot add = write ? S2PT_PROT_W : exec ? S2PT_PROT_X : S2PT_PROT_R;
		if (add & prot)
			s2hyp__fault_relax(m, v, l, o->ipa, add);
		else
			s2hyp__unlock(m, l);
	} else {
		/* kvm.c's install, under the lock the retry check took */
		s2hyp__fault_map(m, v, l, ipa, size, pa, (enum s2pt_prot)prot, logging);
	}
	page_ref(m, f->pfn, false);
	f->size = size;
	s2hyp_kvm_fault_release(hv->k, f);
	sync_violations(m, (int)v->id);
	return false;
}

/* ---- Guest accesses ---------------------------------------------------------- */

static void hostvm_access(struct s2hyp *m, struct vcpu *v, uint64_t ipa, uint64_t pa,
			  enum s2hyp_access a, const void *buf)
{
	struct s2hyp_hostvm *hv = m->hv;
	uint64_t pfn = (pa - S2HYP_HOSTMM_PA_BASE) >> S2HOST_PAGE_SHIFT, value = 0;

	if (pa < S2HYP_HOSTMM_PA_BASE)
		return;
	/* The host sees whose data the vCPU reads or overwrites (a freed page,
	 * another process's write after fork). */
	if (a == S2HYP_ACC_WRITE) {
		/* a store at the VMM's address the IPA stands for: the host
		 * checks it as the VMM's own (uffd-wp) */
		const struct slot *s = s2hyp__slot_of_ipa(m, ipa);
		memcpy(&value, buf, sizeof(value));
		if (s)
			s2host_pfn_write_at(hv->h, hv->proc[0],
					    hv->base[s - m->slots] + (ipa - s->d.ipa), pfn, value);
		else
			s2host_pfn_write(hv->h, hv->proc[0], pfn, value);
	} else {
		s2host_pfn_read(hv->h, hv->proc[0], pfn, &value);
	}
	sync_violations(m, (int)v->id);
}

/* ---- Host events ------------------------------------------------------------- */

/* The VMM writes guest memory: through its own page tables (a COW, a
 * fault-in), then the bytes land at the page the host maps now. */
static void vmm_write(struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct s2hyp_hostvm *hv = m->hv;
	uint8_t buf[4096];

	memset(buf, op->fill, sizeof(buf));
	for (uint64_t a = op->addr; a < op->addr + op->size && !m->stopped;) {
		uint64_t end = s2_align_down(a, S2HOST_PAGE_SIZE) + S2HOST_PAGE_SIZE;
		uint64_t n = (end < op->addr + op->size ? end : op->addr + op->size) - a;
		uint64_t ha = host_addr(m, a), value;
		struct s2host_pte_view pv;

		memset(&value, op->fill, sizeof(value));
		int err = s2host_write(hv->h, hv->proc[0], ha, value);
		if (err == S2_EAGAIN) {
			/* The VMM's own store asks its userfaultfd (a protected
			 * page, a hole of a MISSING range): its handler is the
			 * thread that would answer; the store is left out. */
			a += n;
			continue;
		}
		if (err ||
		    s2host_lookup(hv->h, hv->proc[0], ha, &pv) || !pv.present) {
			s2hyp__fail(m, "the VMM cannot write its memory at hva %#llx",
				    (unsigned long long)a);
			break;
		}
		uint64_t pa = pfn_pa(pv.pfn) + (a & (S2HOST_PAGE_SIZE - 1));
		int ret = s2cache_write(m->cache, (unsigned)s2hyp__host_cpu(m), s2_pa(pa), buf, n, true);
		s2hyp__host_wrote(m, pa, n);
		if (ret) {
			s2hyp__fail(m, "host write at PA %#llx failed: %s", (unsigned long long)pa,
				    s2_err_msg(ret));
			break;
		}
		a += n;
	}
}

enum { PROC_LIVE, PROC_NO_FORK, PROC_EXITED };

/* Whether op names processes and references that exist: a process never
 * forked, one that has exited, a reference never taken is bad input (the
 * event would silently do nothing). A fork or a reference the host refused
 * keeps its number, dead: events on it do nothing, as the kernel's calls
 * would fail. */
static bool mm_names_ok(struct s2hyp *m, const struct s2hyp_host_op *op)
{
	const struct s2hyp_hostvm *hv = m->hv;
	unsigned args = s2hyp_mm_op_args(op->mm);

	if (args & S2HYP_MM_ARG_PROC) {
		if (op->proc >= hv->nr_proc) {
			s2hyp__fail_host_op(m, op, "proc=%u: no such process (%u forks before)",
					    op->proc, hv->nr_proc - 1);
			return false;
		}
		if (hv->proc_state[op->proc] == PROC_EXITED) {
			s2hyp__fail_host_op(m, op, "proc=%u: that process has exited", op->proc);
			return false;
		}
	}
	if ((args & S2HYP_MM_ARG_REF) && op->ref >= hv->nr_ref) {
		s2hyp__fail_host_op(m, op, "ref=%u: no such reference (%u taken before)", op->ref,
				    hv->nr_ref);
		return false;
	}
	if ((args & S2HYP_MM_ARG_REF) && hv->ref_dropped[op->ref]) {
		s2hyp__fail_host_op(m, op, "ref=%u: that reference was dropped by an earlier unref",
				    op->ref);
		return false;
	}
	if (op->mm == S2HYP_MM_FORK && hv->nr_proc == MAX_PROCS) {
		s2hyp__fail_host_op(m, op, "more than %d forks: the model holds %d processes",
				    MAX_PROCS - 1, MAX_PROCS);
		return false;
	}
	if (s2hyp_mm_op_takes_ref(op->mm) && hv->nr_ref == MAX_REFS) {
		s2hyp__fail_host_op(m, op, "more than %d references", MAX_REFS);
		return false;
	}
	return true;
}

static void new_ref(struct s2hyp_hostvm *hv, int err, const struct s2host_gup_result *r)
{
	/* A reference the host refused keeps its number, dead. */
	if (hv->nr_ref < MAX_REFS) {
		hv->ref[hv->nr_ref] = err ? 0 : r->id;
		hv->ref_live[hv->nr_ref] = !err;
		hv->nr_ref++;
	}
}

/* The VMM's store of value at machine hva (done on the host) lands in
 * guest memory too. */
static void vmm_stored(struct s2hyp *m, uint64_t hva, uint64_t value)
{
	struct s2host_pte_view pv;

	if (s2host_lookup(m->hv->h, m->hv->proc[0], host_addr(m, hva), &pv) || !pv.present)
		return;
	s2cache_write(m->cache, (unsigned)s2hyp__host_cpu(m),
		      s2_pa(pfn_pa(pv.pfn) + (hva & (S2HOST_PAGE_SIZE - 1) & ~7ull)), &value, 8,
		      true);
}

/* The machine hva of the VMM's host-mm address ha (inside a slot). */
static uint64_t machine_hva(const struct s2hyp *m, uint64_t ha)
{
	for (unsigned i = 0; i < m->nr_slots; i++)
		if (ha >= m->hv->base[i] && ha - m->hv->base[i] < m->slots[i].d.size)
			return m->slots[i].d.hva + (ha - m->hv->base[i]);
	return UINT64_MAX;
}

/* The VMM's userfaultfd handler resolves the message it read: a missing
 * page by UFFDIO_COPY of value (QEMU's postcopy), a minor one by
 * UFFDIO_CONTINUE, a write-protected one by un-protecting the page (a live
 * snapshot after saving it); a COPY or CONTINUE finding the page already
 * there (-EEXIST: another fault or the VMM filled it) wakes instead. */
static void uffd_resolve(struct s2hyp *m, uint64_t value)
{
	struct s2hyp_hostvm *hv = m->hv;
	struct s2host_uffd_msg *g = &hv->msg;
	int err = 0;

	if (!g->id)
		return;
	switch (g->kind) {
	case S2HOST_UFFD_MISSING:
		err = s2host_uffdio_copy(hv->h, g->mm, g->hva, value, false);
		if (!err)
			vmm_stored(m, machine_hva(m, g->hva), value);
		break;
	case S2HOST_UFFD_MINOR:
		err = s2host_uffdio_continue(hv->h, g->mm, g->hva, false);
		break;
	case S2HOST_UFFD_WP:
		s2host_uffd_wp(hv->h, g->mm, g->hva, S2HOST_PAGE_SIZE, false);
		break;
	default:
		break;
	}
	if (err == S2_EEXIST)
		s2host_uffdio_wake(hv->h, g->mm, g->hva);
	g->id = 0;
}

bool s2hyp__hostvm_vcpu_waits(const struct s2hyp *m, const struct vcpu *v)
{
	return s2host_uffd_waiting(m->hv->h, v->uffd_msg);
}

/* The handler's read waits for a message while a vCPU may still send one:
 * one that is not done, not asleep on the userfaultfd itself, and not held
 * back by a later phase. Once none may, the read finds nothing (a poll
 * that timed out) and the host program goes on. */
bool s2hyp__hostvm_host_waits(const struct s2hyp *m)
{
	const struct s2hyp_host_op *op = &m->host_prog[m->host_pc];
	if (op->kind != S2HYP_HOST_MM || op->mm != S2HYP_MM_UFFD_READ ||
	    s2host_uffd_pending(m->hv->h, m->hv->proc[0]))
		return false;
	for (unsigned i = 0; i < m->cfg.nr_vcpus; i++) {
		const struct vcpu *v = &m->vcpus[i];
		if (v->state == V_DONE || (v->uffd_msg && s2hyp__hostvm_vcpu_waits(m, v)) ||
		    (v->state == V_READY && v->pc < v->nprog && v->prog[v->pc].phase > op->phase))
			continue;
		return true;
	}
	return false;
}

static void mm_op(struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct s2hyp_hostvm *hv = m->hv;
	struct s2host *h = hv->h;
	int mm;
	uint64_t ha = host_addr(m, op->addr), value;
	struct s2host_gup_result r;
	int err;

	if (!mm_names_ok(m, op))
		return;
	/* A process whose fork the host refused: nothing happens, but its
	 * reference keeps a number and its exit counts. */
	if (s2hyp_mm_op_args(op->mm) & S2HYP_MM_ARG_PROC &&
	    hv->proc_state[op->proc] == PROC_NO_FORK) {
		if (s2hyp_mm_op_takes_ref(op->mm))
			new_ref(hv, S2_EINVAL, NULL);
		else if (op->mm == S2HYP_MM_EXIT)
			hv->proc_state[op->proc] = PROC_EXITED;
		return;
	}
	mm = hv->proc[op->proc];
	/* Errors are the host's answers (-EBUSY for a pinned page, ...): the
	 * event does nothing, as in the kernel. */
	switch (op->mm) {
	case S2HYP_MM_DONTNEED:
		s2host_madv_dontneed(h, mm, ha, op->size);
		break;
	case S2HYP_MM_MUNMAP:
		s2host_munmap(h, mm, ha, op->size);
		break;
	case S2HYP_MM_SPLIT:
		s2host_split_pmd(h, hv->proc[0], ha);
		break;
	case S2HYP_MM_COLLAPSE:
		s2host_collapse(h, hv->proc[0], s2_align_down(ha, S2HOST_THP_SIZE));
		break;
	case S2HYP_MM_MIGRATE:
		s2host_migrate(h, hv->proc[0], ha);
		break;
	case S2HYP_MM_RECLAIM:
		s2host_swap_out(h, hv->proc[0], ha);
		break;
	case S2HYP_MM_KSM:
		s2host_ksm_merge(h, hv->proc[0], ha);
		break;
	case S2HYP_MM_FORK:
		/* A fork the host refused keeps its number, dead. */
		err = s2host_fork(h, hv->proc[0]);
		hv->proc[hv->nr_proc] = err >= 0 ? err : -1;
		hv->proc_state[hv->nr_proc++] = err >= 0 ? PROC_LIVE : PROC_NO_FORK;
		break;
	case S2HYP_MM_CLEAR_REFS:
		s2host_clear_refs(h, mm);
		break;
	case S2HYP_MM_EXIT:
		if (op->proc) {	/* the VMM's exit is the VM's destroy */
			s2host_exit(h, mm);
			hv->proc_state[op->proc] = PROC_EXITED;
		}
		break;
	case S2HYP_MM_PIN:
		err = s2host_gup(h, mm, ha, S2HOST_FOLL_WRITE | S2HOST_FOLL_PIN |
				 S2HOST_FOLL_LONGTERM, &r);
		new_ref(hv, err, &r);
		break;
	case S2HYP_MM_PIN_RO:
		err = s2host_gup(h, mm, ha, S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM, &r);
		new_ref(hv, err, &r);
		break;
	case S2HYP_MM_GUP:
		err = s2host_gup(h, mm, ha, 0, &r);
		new_ref(hv, err, &r);
		break;
	case S2HYP_MM_GUP_WRITE:
		err = s2host_gup(h, mm, ha, S2HOST_FOLL_WRITE, &r);
		new_ref(hv, err, &r);
		break;
	case S2HYP_MM_UNREF:
		/* A reference the host refused holds nothing to drop. */
		if (hv->ref_live[op->ref])
			s2host_unref(h, hv->ref[op->ref]);
		hv->ref_live[op->ref] = false;
		hv->ref_dropped[op->ref] = true;
		break;
	case S2HYP_MM_REF_READ:
		if (op->ref < hv->nr_ref && hv->ref_live[op->ref])
			s2host_ref_read(h, hv->ref[op->ref], &value);
		break;
	case S2HYP_MM_REF_WRITE:
		if (op->ref < hv->nr_ref && hv->ref_live[op->ref])
			s2host_ref_write(h, hv->ref[op->ref], op->value);
		break;
	case S2HYP_MM_WRITE:
		if (!s2host_write(h, mm, ha, op->value) && !op->proc)
			vmm_stored(m, op->addr, op->value);
		break;
	case S2HYP_MM_UFFD_PROTECT:
	case S2HYP_MM_UFFD_UNPROTECT:
		s2host_uffd_wp(h, mm, ha, op->size, op->mm == S2HYP_MM_UFFD_PROTECT);
		break;
	case S2HYP_MM_UFFD_READ:
		if (s2host_uffd_read(h, mm, &hv->msg))
			hv->msg.id = 0;
		break;
	case S2HYP_MM_UFFD_RESOLVE:
		uffd_resolve(m, op->value);
		break;
	case S2HYP_MM_PUNCH_HOLE:
	case S2HYP_MM_PUNCH_TRUNCATE: {
		/* the file range behind the slot's addresses (offset 0 at its start) */
		const struct slot *s = s2hyp__slot_of_hva(m, op->addr);
		unsigned off = (unsigned)((op->addr - s->d.hva) >> S2HOST_PAGE_SHIFT);
		unsigned n = (unsigned)(op->size >> S2HOST_PAGE_SHIFT);
		if (op->mm == S2HYP_MM_PUNCH_HOLE)
			s2host_punch_unmap(h, hv->fd[s - m->slots], off, n);
		else
			s2host_punch_truncate(h, hv->fd[s - m->slots], off, n);
		break;
	}
	case S2HYP_MM_MADV_REMOVE: {
		/* its first step; punch-truncate is the second */
		struct s2host_punch rest;
		s2host_madv_remove(h, mm, ha, op->size, &rest);
		break;
	}
	case S2HYP_NR_MM_OPS:
		break;
	}
}

bool s2hyp__hostvm_host_op(struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct s2hyp_hostvm *hv = m->hv;

	switch (op->kind) {
	case S2HYP_HOST_WRITE:
		vmm_write(m, op);
		break;
	case S2HYP_HOST_UNMAP_HVA:
		/* A notifier call whose cause the trace does not say. */
		for (uint64_t a = op->addr; a < op->addr + op->size;) {
			const struct slot *s = s2hyp__slot_of_hva(m, a);
			if (!s) {
				a = s2_align_down(a, S2HOST_PAGE_SIZE) + S2HOST_PAGE_SIZE;
				continue;
			}
			uint64_t end = s->d.hva + s->d.size < op->addr + op->size ?
				       s->d.hva + s->d.size : op->addr + op->size;
			s2hyp_kvm_invalidate(hv->k, host_addr(m, a), end - a);
			a = end;
		}
		break;
	case S2HYP_HOST_AGE_HVA:
		for (unsigned i = 0; i < m->nr_slots; i++) {
			const struct slot *s = &m->slots[i];
			uint64_t lo = op->addr > s->d.hva ? op->addr : s->d.hva;
			uint64_t hi = op->addr + op->size < s->d.hva + s->d.size ?
				      op->addr + op->size : s->d.hva + s->d.size;
			if (lo < hi)
				s2host_age(hv->h, hv->proc[0], host_addr(m, lo), hi - lo);
		}
		break;
	case S2HYP_HOST_MM:
		mm_op(m, op);
		break;
	case S2HYP_HOST_DESTROY:
		/* Everything checked once more before the notifier goes. */
		s2host_check(hv->h);
		s2hyp_kvm_check(hv->k);
		sync_violations(m, HOST_THREAD);
		hv->gone = true;
		return false;	/* the machine destroys its tables */
	default:
		return false;
	}
	sync_violations(m, HOST_THREAD);
	return true;
}

static int hostvm_check_op(const struct s2hyp *m, const struct s2hyp_host_op *o, const char **why)
{
	unsigned args = s2hyp_mm_op_args(o->mm);

	if ((unsigned)o->mm >= S2HYP_NR_MM_OPS) {
		*why = "unknown host-mm event";
		return S2_EINVAL;
	}
	if (args & S2HYP_MM_ARG_HVA) {
		struct slot *s = s2hyp__slot_of_hva((struct s2hyp *)m, o->addr);
		uint64_t size = args & S2HYP_MM_ARG_SIZE ? o->size : 1;
		if (!s || !size || o->addr + size > s->d.hva + s->d.size ||
		    (args & S2HYP_MM_ARG_SIZE && (o->addr | o->size) & (S2HOST_PAGE_SIZE - 1))) {
			*why = "host-mm event outside a memslot, or not page aligned";
			return S2_EINVAL;
		}
	}
	if ((o->mm == S2HYP_MM_PUNCH_HOLE || o->mm == S2HYP_MM_PUNCH_TRUNCATE) &&
	    s2hyp__slot_of_hva((struct s2hyp *)m, o->addr)->d.backing != S2HYP_BACKING_MEMFD) {
		*why = "a hole punch needs a memfd memslot (backing=memfd)";
		return S2_EINVAL;
	}
	if ((args & S2HYP_MM_ARG_PROC) && o->proc >= MAX_PROCS) {
		*why = "no such process (at most 16)";
		return S2_EINVAL;
	}
	if ((args & S2HYP_MM_ARG_REF) && o->ref >= MAX_REFS) {
		*why = "no such reference (at most 256)";
		return S2_EINVAL;
	}
	return 0;
}
