/* Driven vCPUs: the machine side of running real code. A driver executes
 * guest instructions between scheduler steps; accesses its vCPU's TLB can
 * serve go straight to the memory system (checked as program accesses
 * are), and the first one it cannot serve becomes the vCPU's current item,
 * which then walks, fills and faults exactly as a program item does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "hyp-model/s2hyp_driver.h"

int s2hyp_set_vcpu_driver(struct s2hyp *m, unsigned vcpu, const struct s2hyp_vcpu_driver *drv,
			  void *arg, const char **why)
{
	const char *dummy;

	if (!why)
		why = &dummy;
	if (vcpu >= m->cfg.nr_vcpus) {
		*why = "no such vCPU";
		return S2_EINVAL;
	}
	if (!drv || !drv->run || !drv->mmio || !drv->nr_quanta) {
		*why = "a driver needs run, mmio and at least one quantum";
		return S2_EINVAL;
	}
	struct vcpu *v = &m->vcpus[vcpu];
	struct s2hyp_vcpu_op *item = calloc(1, sizeof(*item));
	if (!item) {
		*why = "out of memory";
		return S2_ENOMEM;
	}
	free(v->prog);
	/* One item, never finished while the vCPU runs: phase gating, fault
	 * handling and prefetch read it as they read a program's. */
	v->prog = item;
	v->nprog = 1;
	v->pc = 0;
	v->state = V_READY;
	v->drv = drv;
	v->drv_arg = arg;
	m->minp_valid = false;
	return 0;
}

static bool same_access(const struct s2hyp_vcpu_op *a, const struct s2hyp_vcpu_op *b)
{
	return a->access == b->access && a->ipa == b->ipa;
}

bool s2hyp__drv_next(struct s2hyp *m, struct vcpu *v)
{
	struct s2hyp_vcpu_op *item = &v->prog[0];
	struct s2hyp_vcpu_op op = *item;
	enum s2hyp_drv_status st = v->drv->run(v->drv_arg, v->id, v->drv_q, &op);

	if (op.phase != item->phase)
		m->minp_valid = false;
	switch (st) {
	case S2HYP_DRV_YIELD:
		item->phase = op.phase;
		v->faults_this_access = 0;
		v->state = V_READY;
		return false;
	case S2HYP_DRV_ACCESS:
		if ((unsigned)op.access > S2HYP_ACC_EXEC || op.ipa >= s2_bit(m->cfg.ipa_bits)) {
			s2hyp__fail(m, "vCPU %u: its driver handed over an access outside the IPA space",
				    v->id);
			return false;
		}
		/* The livelock guard counts the faults of one access. */
		if (!same_access(&op, item))
			v->faults_this_access = 0;
		*item = op;
		return true;
	case S2HYP_DRV_DONE:
		item->phase = op.phase;
		v->pc = v->nprog;
		v->state = V_DONE;
		m->minp_valid = false;
		return false;
	case S2HYP_DRV_ERROR:
		break;
	}
	s2hyp__fail(m, "vCPU %u: its driver stopped (see the driver's report)", v->id);
	return false;
}

void s2hyp__drv_finish(struct s2hyp *m, struct vcpu *v)
{
	v->drv->mmio(v->drv_arg, v->id, &v->prog[0]);
	v->faults_this_access = 0;
	v->state = V_READY;
	m->minp_valid = false;
}

/* ------------------------------------------------------------------ */
/* What a running driver asks                                          */
/* ------------------------------------------------------------------ */

static uint64_t hva_of_pa(const struct s2hyp *m, uint64_t pa)
{
	for (unsigned i = 0; i < m->nr_slots; i++) {
		const struct slot *s = &m->slots[i];
		if (pa >= s->pa && pa - s->pa < s->d.size)
			return s->d.hva + (pa - s->pa);
	}
	return UINT64_MAX;
}

int s2hyp_vcpu_translate(const struct s2hyp *m, unsigned vcpu, uint64_t ipa,
			 struct s2hyp_translation *t)
{
	if (vcpu >= m->cfg.nr_vcpus)
		return S2_EINVAL;
	const struct s2hyp_tlb_entry *e = s2hyp__tlb_lookup(m, &m->vcpus[vcpu], ipa);
	if (!e)
		return S2_ENOENT;
	*t = (struct s2hyp_translation){
		.ipa = e->ipa, .size = e->size, .pa = e->oa, .prot = e->prot,
		.level = (s2_level_t)e->level,
	};
	/* Only a leaf whose whole output is inside one slot maps one buffer. */
	uint64_t first = hva_of_pa(m, e->oa), last = hva_of_pa(m, e->oa + e->size - 1);
	t->hva = first != UINT64_MAX && last - first == e->size - 1 ? first : UINT64_MAX;
	return 0;
}

unsigned s2hyp_vcpu_tlb(const struct s2hyp *m, unsigned vcpu, struct s2hyp_translation *out,
			unsigned max)
{
	if (vcpu >= m->cfg.nr_vcpus)
		return 0;
	const struct vcpu *v = &m->vcpus[vcpu];
	for (unsigned i = 0; i < v->tlb_n && i < max; i++)
		out[i] = (struct s2hyp_translation){
			.ipa = v->tlb[i].ipa, .size = v->tlb[i].size, .pa = v->tlb[i].oa,
			.hva = UINT64_MAX, .prot = v->tlb[i].prot,
			.level = (s2_level_t)v->tlb[i].level,
		};
	return v->tlb_n;
}

uint64_t s2hyp_vcpu_tlb_gen(const struct s2hyp *m, unsigned vcpu)
{
	return vcpu < m->cfg.nr_vcpus ? m->vcpus[vcpu].tlb_gen : 0;
}

int s2hyp_vcpu_access(struct s2hyp *m, unsigned vcpu, enum s2hyp_access a, uint64_t ipa,
		      void *buf, unsigned size, bool mmu_on, unsigned flags,
		      struct s2hyp_access_check *chk)
{
	if (vcpu >= m->cfg.nr_vcpus || (unsigned)a > S2HYP_ACC_EXEC)
		return S2_EINVAL;
	if (a == S2HYP_ACC_EXEC)
		size = 4;
	if (!size || size > 16)
		return S2_EINVAL;
	struct vcpu *v = &m->vcpus[vcpu];
	const struct s2hyp_tlb_entry *e = s2hyp__tlb_lookup(m, v, ipa);
	if (!e || !s2hyp_access_allowed(e->prot, a) || ipa - e->ipa + size > e->size)
		return S2_ENOENT;

	struct s2cache_check cc;
	int ret = s2hyp__guest_access(m, v, e, a, ipa, buf, size, mmu_on,
				      flags & S2HYP_ACCESS_SPECULATIVE, chk ? &cc : NULL);
	if (ret)
		return ret;
	if (chk) {
		*chk = (struct s2hyp_access_check){
			.stale = cc.stale, .pa = e->oa + (ipa - e->ipa), .ver_returned = cc.ver_returned,
			.ver_latest = cc.ver_latest,
		};
		if (cc.stale)
			memcpy(chk->fresh, cc.fresh, size < cc.fresh_len ? size : cc.fresh_len);
	}
	return 0;
}

int s2hyp_vcpu_cmo(struct s2hyp *m, unsigned vcpu, unsigned op, uint64_t ipa, bool mmu_on)
{
	if (vcpu >= m->cfg.nr_vcpus || op >= S2CACHE_OP_COUNT || op == S2CACHE_EVICT)
		return S2_EINVAL;
	struct vcpu *v = &m->vcpus[vcpu];
	enum s2cache_op o = s2cache_op_at_el1((enum s2cache_op)op, true, true);
	int ret;

	if (o == S2CACHE_IC_IALLU || o == S2CACHE_IC_IALLUIS) {
		ret = s2cache_cmo(m->cache, vcpu, o, s2_pa(0), 0);
		s2hyp__event(m, (int)v->id, EV_CMO, o, 0, 0, 0);
		return ret;
	}
	enum s2hyp_access need = o == S2CACHE_DC_ZVA ? S2HYP_ACC_WRITE : S2HYP_ACC_READ;
	const struct s2hyp_tlb_entry *e = s2hyp__tlb_lookup(m, v, ipa);
	if (!e || !s2hyp_access_allowed(e->prot, need))
		return S2_ENOENT;
	uint64_t pa = e->oa + (ipa - e->ipa);
	s2hyp__event(m, (int)v->id, EV_CMO, o, pa, 0, 0);
	if (o == S2CACHE_DC_ZVA)
		ret = s2cache_dc_zva(m->cache, vcpu, s2_pa(pa),
				     s2arm_cacheable(s2hyp__leaf_mt(e->prot), mmu_on, m->cfg.fwb));
	else
		ret = s2cache_cmo(m->cache, vcpu, o, s2_pa(pa), 1);
	if (ret)
		s2hyp__fail(m, "%s at PA %#llx failed: %s", s2cache_op_name(o),
			    (unsigned long long)pa, s2_err_msg(ret));
	return ret;
}

int s2hyp_host_write(struct s2hyp *m, uint64_t hva, const void *buf, size_t n)
{
	struct slot *s = s2hyp__slot_of_hva(m, hva);
	if (!s || !n || n > s->d.size - (hva - s->d.hva))
		return S2_EINVAL;
	int ret = s2cache_write(m->cache, (unsigned)s2hyp__host_cpu(m), s2_pa(s->pa + (hva - s->d.hva)),
				buf, n, true);
	if (ret)
		s2hyp__fail(m, "host write at HVA %#llx failed: %s", (unsigned long long)hva,
			    s2_err_msg(ret));
	return ret;
}
