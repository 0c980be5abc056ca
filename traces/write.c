/* The trace writer: a scenario and its schedule as a version-1 trace. */
#include <stdio.h>

#include "host-mm/s2host.h"
#include "traces/s2trace.h"

#define CHOICES_PER_LINE 24

static unsigned granule_k(unsigned shift)
{
	return 1u << (shift - 10);
}

static void write_vcpu_op(FILE *f, unsigned v, const struct s2hyp_vcpu_op *o)
{
	static const char *const names[] = { "read", "write", "exec" };
	fprintf(f, "vcpu %u %s ipa=%#llx", v, names[o->access], (unsigned long long)o->ipa);
	if (o->access != S2HYP_ACC_EXEC && o->size != 8)
		fprintf(f, " size=%u", o->size);
	/* Only the access's bytes are stored; the reader refuses wider values. */
	if (o->access == S2HYP_ACC_WRITE)
		fprintf(f, " value=%#llx", (unsigned long long)(o->size < 8 ?
			o->value & ((1ull << (8 * o->size)) - 1) : o->value));
	if (!o->mmu_on && o->access != S2HYP_ACC_EXEC)
		fprintf(f, " mmu=off");
	if (o->observed)
		fprintf(f, " observed");
	fputc('\n', f);
}

void s2trace_print_host_op(FILE *f, const struct s2hyp_host_op *o)
{
	fprintf(f, "%s", o->kind == S2HYP_HOST_MM ? s2hyp_mm_op_name(o->mm)
						 : s2trace_host_name(o->kind));
	switch (o->kind) {
	case S2HYP_HOST_WRITE:
		fprintf(f, " hva=%#llx size=%#llx fill=%#x", (unsigned long long)o->addr,
			(unsigned long long)o->size, o->fill);
		break;
	case S2HYP_HOST_DIRTY_LOG_ON:
	case S2HYP_HOST_DIRTY_LOG_OFF:
	case S2HYP_HOST_GET_DIRTY_LOG:
		fprintf(f, " slot=%u", o->slot);
		break;
	case S2HYP_HOST_UNMAP_HVA:
	case S2HYP_HOST_AGE_HVA:
		fprintf(f, " hva=%#llx size=%#llx", (unsigned long long)o->addr,
			(unsigned long long)o->size);
		break;
	case S2HYP_HOST_UNMAP_IPA:
	case S2HYP_HOST_WRPROTECT_IPA:
	case S2HYP_HOST_FLUSH_IPA:
	case S2HYP_HOST_AGE_IPA:
		fprintf(f, " ipa=%#llx size=%#llx", (unsigned long long)o->addr,
			(unsigned long long)o->size);
		break;
	case S2HYP_HOST_DESTROY:
		break;
	case S2HYP_HOST_MM: {
		unsigned args = s2hyp_mm_op_args(o->mm);
		if (args & S2HYP_MM_ARG_HVA)
			fprintf(f, " hva=%#llx", (unsigned long long)o->addr);
		if (args & S2HYP_MM_ARG_SIZE)
			fprintf(f, " size=%#llx", (unsigned long long)o->size);
		if ((args & S2HYP_MM_ARG_PROC) && o->proc)
			fprintf(f, " proc=%u", o->proc);
		if (args & S2HYP_MM_ARG_REF)
			fprintf(f, " ref=%u", o->ref);
		if (args & S2HYP_MM_ARG_VALUE)
			fprintf(f, " value=%#llx", (unsigned long long)o->value);
		break;
	}
	}
}

static void write_host_op(FILE *f, const struct s2hyp_host_op *o)
{
	fputs("host ", f);
	s2trace_print_host_op(f, o);
	fputc('\n', f);
}

int s2trace_write_header(FILE *f, const struct s2hyp_scenario *sc,
			 const struct s2hyp_choice *sched, size_t nsched, const char *comment)
{
	const struct s2hyp_config *c = &sc->cfg;

	if (comment)
		fprintf(f, "# %s\n", comment);
	fprintf(f, "s2emu-trace %d\n", S2TRACE_VERSION);
	fprintf(f, "config granule=%uk ipa-bits=%u vcpus=%u walker=%s fwb=%d idc=%d dic=%d "
		   "line=%u eager-split=%d",
		granule_k(c->granule_shift), c->ipa_bits, c->nr_vcpus, s2pt_variant_name(c->variant),
		c->fwb, c->idc, c->dic, c->line_bytes ? c->line_bytes : 64, c->eager_split);
	/* The host's features that change the run, when they differ from the
	 * default (so traces of older writers read back the same). */
	if (c->rcu_free)
		fprintf(f, " rcu=1");
	if (c->range_tlbi)
		fprintf(f, " range-tlbi=1");
	if (c->hw_af)
		fprintf(f, " hw-af=1");
	if (c->tlb_entries)
		fprintf(f, " tlb-entries=%u", c->tlb_entries);
	if (c->host_mm)
		fprintf(f, " host-mm=%s", s2host_policy_name((enum s2host_policy)c->cow_policy));
	fputc('\n', f);
	for (unsigned i = 0; i < sc->nr_slots; i++) {
		const struct s2hyp_memslot *s = &sc->slots[i];
		fprintf(f, "memslot %u ipa=%#llx size=%#llx hva=%#llx backing=%s%s%s\n", i,
			(unsigned long long)s->ipa, (unsigned long long)s->size,
			(unsigned long long)s->hva, s2trace_backing_name(s->backing),
			s->readonly ? " readonly" : "", s->dirty_log ? " dirty-log" : "");
	}
	for (size_t i = 0; i < nsched; i++) {
		char buf[48];
		s2trace_format_choice(buf, sizeof(buf), &sched[i]);
		fprintf(f, "%s%s", i % CHOICES_PER_LINE ? " " : "schedule ", buf);
		if (i % CHOICES_PER_LINE == CHOICES_PER_LINE - 1 || i + 1 == nsched)
			fputc('\n', f);
	}
	return ferror(f) ? S2_EIO : 0;
}

int s2trace_write_events(FILE *f, const struct s2hyp_scenario *sc)
{
	const struct s2hyp_config *c = &sc->cfg;
	size_t hpc = 0, vpc[S2HYP_MAX_VCPUS] = { 0 };

	/* Phases in increasing order; each thread keeps its own order. */
	for (;;) {
		unsigned p = ~0u;
		if (hpc < sc->nhost)
			p = sc->host[hpc].phase;
		for (unsigned v = 0; v < c->nr_vcpus; v++)
			if (vpc[v] < sc->nvcpu[v] && sc->vcpu[v][vpc[v]].phase < p)
				p = sc->vcpu[v][vpc[v]].phase;
		if (p == ~0u)
			break;
		fprintf(f, "phase %u\n", p);
		while (hpc < sc->nhost && sc->host[hpc].phase == p)
			write_host_op(f, &sc->host[hpc++]);
		for (unsigned v = 0; v < c->nr_vcpus; v++)
			while (vpc[v] < sc->nvcpu[v] && sc->vcpu[v][vpc[v]].phase == p)
				write_vcpu_op(f, v, &sc->vcpu[v][vpc[v]++]);
	}
	return ferror(f) ? S2_EIO : 0;
}

int s2trace_write_scenario(FILE *f, const struct s2hyp_scenario *sc,
			   const struct s2hyp_choice *sched, size_t nsched, const char *comment)
{
	int ret = s2trace_write_header(f, sc, sched, nsched, comment);
	return ret ? ret : s2trace_write_events(f, sc);
}

int s2trace_write_outcome(FILE *f, const struct s2hyp_stats *st)
{
	bool any = false;

	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r]) {
			fprintf(f, "expect fired rule=%s\n", s2hyp_rule_name((enum s2hyp_rule)r));
			any = true;
		}
	if (!any)
		fprintf(f, "expect clean\n");
	return ferror(f) ? S2_EIO : 0;
}
