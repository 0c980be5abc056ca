/* Counterexamples for people (text), for programs (JSON) and for replay
 * (a trace). */
#include <stdio.h>
#include <string.h>

#include "fuzz/s2fuzz_internal.h"
#include "traces/s2trace.h"

/* The rules of a mask, space-separated ("nothing" for none). */
static void print_rules(FILE *f, s2hyp_rule_set mask, const char *sep)
{
	bool first = true;
	if (mask == ~(s2hyp_rule_set)0) {
		fprintf(f, "(the run could not be made)");
		return;
	}
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (mask & (S2HYP_RULE_BIT(r))) {
			fprintf(f, "%s%s", first ? "" : sep, s2hyp_rule_name((enum s2hyp_rule)r));
			first = false;
		}
	if (first)
		fprintf(f, "nothing");
}

int s2fuzz_cex_write(FILE *f, const struct s2fuzz_cex *c, const char *comment)
{
	char buf[400];

	if (c->against >= 0) {
		snprintf(buf, sizeof(buf), "%s%s%s with the %s walker", comment ? comment : "",
			 comment ? "; " : "", c->against_fired ? "also fires" : "fires nothing",
			 s2pt_variant_name((enum s2pt_variant)c->against));
		comment = buf;
	}
	int ret = s2trace_write_scenario(f, &c->sc, c->sched, c->nsched, comment);
	if (ret)
		return ret;
	/* Replay goes on past the first violation: expect all it will see. */
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (c->fired & (S2HYP_RULE_BIT(r)))
			fprintf(f, "expect fired rule=%s\n", s2hyp_rule_name((enum s2hyp_rule)r));
	return ferror(f) ? S2_EIO : 0;
}

static const char *const access_names[] = { "read", "write", "exec" };

static void print_program(FILE *f, const struct s2hyp_scenario *sc)
{
	size_t hpc = 0, vpc[S2HYP_MAX_VCPUS] = { 0 };

	for (;;) {
		unsigned p = ~0u;
		if (hpc < sc->nhost)
			p = sc->host[hpc].phase;
		for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++)
			if (vpc[v] < sc->nvcpu[v] && sc->vcpu[v][vpc[v]].phase < p)
				p = sc->vcpu[v][vpc[v]].phase;
		if (p == ~0u)
			return;
		fprintf(f, "  phase %u\n", p);
		if (hpc < sc->nhost && sc->host[hpc].phase == p) {
			fprintf(f, "    host:   ");
			for (bool first = true; hpc < sc->nhost && sc->host[hpc].phase == p; first = false) {
				fprintf(f, "%s", first ? "" : "; ");
				s2trace_print_host_op(f, &sc->host[hpc++]);
			}
			fputc('\n', f);
		}
		for (unsigned v = 0; v < sc->cfg.nr_vcpus; v++) {
			if (vpc[v] >= sc->nvcpu[v] || sc->vcpu[v][vpc[v]].phase != p)
				continue;
			fprintf(f, "    vCPU %u: ", v);
			for (bool first = true; vpc[v] < sc->nvcpu[v] && sc->vcpu[v][vpc[v]].phase == p;
			     first = false) {
				const struct s2hyp_vcpu_op *o = &sc->vcpu[v][vpc[v]++];
				fprintf(f, "%s%s %#llx%s", first ? "" : "; ", access_names[o->access % 3],
					(unsigned long long)o->ipa, o->mmu_on ? "" : " (MMU off)");
			}
			fputc('\n', f);
		}
	}
}

/* Which kind of thing a rule is about, for the "involved" line. */
static void print_involved(FILE *f, const struct s2hyp_violation *v)
{
	switch (v->rule) {
	case S2HYP_RULE_DCACHE_CLEAN:
	case S2HYP_RULE_ICACHE_INVAL:
	case S2HYP_RULE_STALE_DATA:
	case S2HYP_RULE_STALE_INSN:
		fprintf(f, "involved: the cache lines of PA %#llx (IPA %#llx, level %d mapping)\n",
			(unsigned long long)v->pa, (unsigned long long)v->ipa, v->level);
		return;
	case S2HYP_RULE_TLB_CONFLICT:
	case S2HYP_RULE_TLBI_AFTER_UNMAP:
		fprintf(f, "involved: vCPU %d's TLB entry for IPA %#llx -> PA %#llx (level %d)\n",
			v->thread, (unsigned long long)v->ipa, (unsigned long long)v->pa, v->level);
		return;
	case S2HYP_RULE_BBM:
		fprintf(f, "involved: the entry at PA %#llx for IPA %#llx (level %d)\n",
			(unsigned long long)v->pa, (unsigned long long)v->ipa, v->level);
		return;
	case S2HYP_RULE_HOST_MM:
		if (v->pa != UINT64_MAX)
			fprintf(f, "involved: the host page at PA %#llx\n", (unsigned long long)v->pa);
		else if (v->ipa != UINT64_MAX)
			fprintf(f, "involved: the stage-2 translation of IPA %#llx\n",
				(unsigned long long)v->ipa);
		return;
	default:
		fprintf(f, "involved: the table page or entry at PA %#llx (IPA %#llx, level %d)\n",
			(unsigned long long)v->pa, (unsigned long long)v->ipa, v->level);
		return;
	}
}

void s2fuzz_cex_print(FILE *f, const struct s2fuzz_cex *c)
{
	fprintf(f, "counterexample: %s fires first\n", s2hyp_rule_name(c->rule));
	fprintf(f, "  shrunk from %zu program items, %u vCPUs, %zu choices to %zu items, %u vCPU%s, "
		   "%zu choices (%u runs)\n",
		c->items_before, c->vcpus_before, c->choices_before, c->items_after, c->vcpus_after,
		c->vcpus_after == 1 ? "" : "s", c->choices_after, c->shrink_runs);
	fprintf(f, "  walker %s, %u vCPU%s, %uK granule%s\n", s2pt_variant_name(c->sc.cfg.variant),
		c->sc.cfg.nr_vcpus, c->sc.cfg.nr_vcpus == 1 ? "" : "s",
		1u << (c->sc.cfg.granule_shift - 10), c->sc.cfg.fwb ? ", FWB" : "");
	if (c->against >= 0 && !c->against_fired_before) {
		fprintf(f, "  checked against %s: the same program and schedule fire ",
			s2pt_variant_name((enum s2pt_variant)c->against));
		print_rules(f, c->against_fired, ", ");
		fprintf(f, " there (%u shrinking step%s undone because %s fired)\n", c->undone,
			c->undone == 1 ? "" : "s", s2pt_variant_name((enum s2pt_variant)c->against));
	} else if (c->against >= 0) {
		fprintf(f, "  checked against %s: the run found fires ",
			s2pt_variant_name((enum s2pt_variant)c->against));
		print_rules(f, c->against_fired_before, ", ");
		fprintf(f, " there too, so it was shrunk on its rule alone\n");
	}
	fprintf(f, "program (each thread in order; phases in order):\n");
	print_program(f, &c->sc);
	fprintf(f, "schedule: ");
	if (!c->nsched)
		fprintf(f, "sequential (every operation runs to its end, threads in order)");
	for (size_t i = 0; i < c->nsched; i++) {
		fputs(i ? " " : "", f);
		s2trace_print_choice(f, &c->sched[i]);
	}
	if (c->nsched)
		fprintf(f, ", then sequential");
	fputc('\n', f);
	s2hyp_print_violation(f, &c->viol);
	print_involved(f, &c->viol);
	unsigned others = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		others += r != c->rule && (c->fired & (S2HYP_RULE_BIT(r)));
	if (others) {
		fprintf(f, "a replay to the end also fires:");
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
			if (r != c->rule && (c->fired & (S2HYP_RULE_BIT(r))))
				fprintf(f, " %s", s2hyp_rule_name((enum s2hyp_rule)r));
		fputc('\n', f);
	}
}

static void print_rules_json(FILE *f, s2hyp_rule_set mask)
{
	bool first = true;
	if (mask == ~(s2hyp_rule_set)0) {
		fprintf(f, "\"(not run)\"");
		return;
	}
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (mask & (S2HYP_RULE_BIT(r))) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ", s2hyp_rule_name((enum s2hyp_rule)r));
			first = false;
		}
}

void s2fuzz_cex_print_json(FILE *f, const struct s2fuzz_cex *c)
{
	fprintf(f, "{\"rule\": \"%s\", \"seed\": %llu, \"items\": %zu, \"items_before\": %zu, "
		   "\"vcpus\": %u, \"vcpus_before\": %u, \"choices\": %zu, \"choices_before\": %zu, "
		   "\"shrink_runs\": %u, \"schedule\": [",
		s2hyp_rule_name(c->rule), (unsigned long long)c->seed, c->items_after,
		c->items_before, c->vcpus_after, c->vcpus_before, c->choices_after,
		c->choices_before, c->shrink_runs);
	for (size_t i = 0; i < c->nsched; i++) {
		char buf[48];
		s2trace_format_choice(buf, sizeof(buf), &c->sched[i]);
		fprintf(f, "%s\"%s\"", i ? ", " : "", buf);
	}
	fprintf(f, "], \"fired\": [");
	bool first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (c->fired & (S2HYP_RULE_BIT(r))) {
			fprintf(f, "%s\"%s\"", first ? "" : ", ", s2hyp_rule_name((enum s2hyp_rule)r));
			first = false;
		}
	fprintf(f, "], \"against\": ");
	if (c->against >= 0) {
		fprintf(f, "{\"variant\": \"%s\", \"undone\": %u, \"fired_before\": [",
			s2pt_variant_name((enum s2pt_variant)c->against), c->undone);
		print_rules_json(f, c->against_fired_before);
		fprintf(f, "], \"fired\": [");
		print_rules_json(f, c->against_fired);
		fprintf(f, "]}");
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ", \"violation\": ");
	s2hyp_print_violation_json(f, &c->viol);
	fputc('}', f);
}
