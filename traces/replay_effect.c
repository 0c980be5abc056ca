/* Replay of effect traces: another hypervisor's page-table effects, checked
 * by the effect-trace checker (hyp-model/s2hyp_effect.h) in the trace's own
 * terms. */
#include <string.h>

#include "traces/replay_internal.h"

/* An effect trace is checked by the effect checker, in the trace's own
 * terms; the machine is made only for what every trace shares. */
int s2trace__begin_effects(struct replay *rp, const struct s2trace_event *ev)
{
	if (rp->opts && rp->opts->record)
		return s2trace__bad(rp, ev->line, "an effect trace is its own record: it cannot be recorded again as a high-level trace");
	int ret = s2trace__make_machine(rp, ev->line);
	if (ret)
		return ret;
	rp->eff = s2eff_new();
	if (!rp->eff)
		return s2trace__bad(rp, ev->line, "out of memory");
	s2eff_set_ignore_ttl(rp->eff, rp->opts && rp->opts->ignore_ttl);
	rp->effects = true;
	return 0;
}

int s2trace__apply_effect(struct replay *rp, const struct s2trace_event *ev)
{
	const struct s2eff_at at = { ev->line, ev->effect.thread };
	struct s2eff *e = rp->eff;
	const char *why = "";
	uint64_t lock = ev->effect.have_addr ? ev->effect.pa : UINT64_MAX;
	uint64_t size = ev->effect.size ? ev->effect.size : UINT64_C(1) << s2eff_page_shift(e);
	int ret = 0;

	switch (ev->effect.kind) {
	case S2T_EFF_VTCR:
		ret = s2eff_sysreg(e, at, S2EFF_VTCR_EL2, ev->effect.value, &why);
		break;
	case S2T_EFF_VTTBR:
		ret = s2eff_sysreg(e, at, S2EFF_VTTBR_EL2, ev->effect.value, &why);
		break;
	case S2T_EFF_SYSREG:
		ret = s2eff_sysreg(e, at, (enum s2eff_sysreg)ev->effect.op, ev->effect.value, &why);
		break;
	case S2T_EFF_ALLOC:
		ret = s2eff_init(e, at, ev->effect.pa, size, &why);
		break;
	case S2T_EFF_FREE:
		ret = s2eff_release(e, at, ev->effect.pa, size, &why);
		break;
	case S2T_EFF_PTE_WRITE:
	case S2T_EFF_WRITE:
		ret = s2eff_write(e, at, ev->effect.pa, ev->effect.value, ev->effect.release,
				  ev->effect.kind == S2T_EFF_WRITE, &why);
		break;
	case S2T_EFF_PTE_READ:
		ret = s2eff_read(e, at, ev->effect.pa, ev->effect.value, &why);
		break;
	case S2T_EFF_DSB:
		s2eff_dsb(e, at, (enum s2arm_dsb)ev->effect.op);
		break;
	case S2T_EFF_ISB:
		s2eff_isb(e, at);
		break;
	case S2T_EFF_TLBI:
		s2eff_tlbi(e, at, (enum s2arm_tlbi)ev->effect.op, ev->effect.ipa,
			   ev->effect.level,
			   ev->effect.have_vmid ? (int)ev->effect.vmid : -1);
		break;
	case S2T_EFF_DC:
	case S2T_EFF_IC:
		s2eff_cmo(e, at);
		break;
	case S2T_EFF_LOCK:
	case S2T_EFF_TRYLOCK:
		ret = s2eff_lock(e, at, lock, ev->effect.kind == S2T_EFF_TRYLOCK, &why);
		break;
	case S2T_EFF_UNLOCK:
		ret = s2eff_unlock(e, at, lock, &why);
		break;
	case S2T_EFF_HINT:
		ret = s2eff_hint(e, at, (enum s2eff_hint)ev->effect.op, ev->effect.pa,
				 ev->effect.value, &why);
		break;
	}
	if (ret)
		return s2trace__bad(rp, ev->line, "%s %s", "effect:", why);
	return 0;
}

/* An effect trace's expectations: rules of the effect checker, and the
 * tables as the last stage-2 root installed walks them. */
void s2trace__check_effect_expect(struct replay *rp, const struct s2trace_event *ev)
{
	const struct s2eff_stats *st = s2eff_stats(rp->eff);
	unsigned line = ev->line;
	int level = 0;
	uint64_t desc = 0;

	switch (ev->expect.kind) {
	case S2T_EXP_FIRED:
	case S2T_EXP_CLEAN:
		s2trace__check_rule_expect(rp, ev, st->violations);
		break;
	case S2T_EXP_MAPPED:
	case S2T_EXP_UNMAPPED: {
		int found = s2eff_lookup(rp->eff, ev->expect.ipa, &level, &desc);
		if (found < 0)
			s2trace__failure(rp, line, "no stage-2 root was installed (vttbr) before this expectation");
		else if (ev->expect.kind == S2T_EXP_UNMAPPED && found)
			s2trace__failure(rp, line, "ipa %#llx is mapped at level %d",
				(unsigned long long)ev->expect.ipa, level);
		else if (ev->expect.kind == S2T_EXP_MAPPED && !found)
			s2trace__failure(rp, line, "ipa %#llx is not mapped", (unsigned long long)ev->expect.ipa);
		else if (ev->expect.kind == S2T_EXP_MAPPED && ev->expect.level != -128 &&
			 ev->expect.level != level)
			s2trace__failure(rp, line, "ipa %#llx is mapped at level %d, not %d",
				(unsigned long long)ev->expect.ipa, level, ev->expect.level);
		break;
	}
	case S2T_EXP_FAULTS:
	case S2T_EXP_REFCOUNT:
		s2trace__failure(rp, line, "an effect trace has no vCPUs and no refcounts to expect");
		break;
	}
}

