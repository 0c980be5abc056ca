/* Reports: the rules' names and meanings (from s2hyp_rules.h), events and
 * violations as text and JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_rules.h"
#include "common/s2_text.h"
#include "hyp-model/s2hyp_internal.h"

static const struct s2_rule_row rules[S2HYP_NR_RULES] = {
	S2HYP_RULE_TABLE(S2_RULE_ROW)
};

S2_RULE_LOOKUPS(s2hyp_rule, enum s2hyp_rule, rules, S2HYP_NR_RULES)

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

static const char *const event_names[EV_NR] = {
	[EV_PTE_STORE] = "pte-store", [EV_TLBI] = "tlbi", [EV_DSB] = "dsb",
	[EV_CMO] = "cmo", [EV_FREE] = "free-table", [EV_WALK_READ] = "walk-read",
	[EV_TLB_FILL] = "tlb-fill", [EV_TLB_EVICT] = "tlb-evict", [EV_ACCESS] = "access",
	[EV_FAULT] = "fault", [EV_OP_BEGIN] = "op-begin", [EV_OP_END] = "op-end",
	[EV_DC_EVICT] = "dc-evict", [EV_PREFETCH] = "prefetch",
};

static const char *const fault_names[] = {
	[FAULT_NONE] = "none", [FAULT_TRANSLATION] = "translation",
	[FAULT_PERMISSION] = "permission", [FAULT_ACCESS_FLAG] = "access-flag",
};

static const char *const access_names[] = { "read", "write", "exec" };

static const char *const op_names[] = {
	[OP_NONE] = "none", [OP_FAULT_MAP] = "fault-map", [OP_FAULT_RELAX] = "fault-relax",
	[OP_FAULT_AF] = "fault-af", [OP_HOST] = "host",
};

int s2hyp_format_event(char *buf, size_t size, const struct s2hyp_event *e)
{
	const char *name = e->kind < EV_NR ? event_names[e->kind] : "?";
	unsigned long long a = (unsigned long long)e->a, b = (unsigned long long)e->b;

	switch (e->kind) {
	case EV_PTE_STORE:
		return snprintf(buf, size, "%s [%#llx] = %#llx%s", name, a, b, e->flags ? " (release)" : "");
	case EV_TLBI:
		return snprintf(buf, size, "%s %s %#llx", name,
				s2arm_tlbi_name((enum s2arm_tlbi)e->a), b);
	case EV_DSB:
		return snprintf(buf, size, "%s %s", name, e->a == S2PT_DSB_SY ? "sy" : "ish");
	case EV_CMO:
		return snprintf(buf, size, "%s %s %#llx+%#llx", name,
				s2cache_op_name((enum s2cache_op)e->a), b, 1ull << e->level);
	case EV_FREE:
	case EV_DC_EVICT:
	case EV_PREFETCH:
	case EV_TLB_EVICT:
		return snprintf(buf, size, "%s %#llx", name, a);
	case EV_WALK_READ:
		return snprintf(buf, size, "%s L%u [%#llx] -> %#llx", name, e->level, a, b);
	case EV_TLB_FILL:
		return snprintf(buf, size, "%s L%u IPA %#llx -> PA %#llx", name, e->level, a, b);
	case EV_ACCESS:
		return snprintf(buf, size, "%s %s%s IPA %#llx PA %#llx", name,
				access_names[e->flags & 3], e->flags & 4 ? "" : " (non-cacheable)", a, b);
	case EV_FAULT:
		return snprintf(buf, size, "%s %s L%u IPA %#llx ESR %#llx", name,
				e->flags < S2_ARRAY_SIZE(fault_names) ? fault_names[e->flags] : "?",
				e->level, a, b);
	case EV_OP_BEGIN:
		return snprintf(buf, size, "%s %s %#llx+%#llx (%s)", name,
				e->flags < S2_ARRAY_SIZE(op_names) ? op_names[e->flags] : "?", a, b,
				e->level ? "from a vCPU" : "from the host");
	case EV_OP_END:
		return snprintf(buf, size, "%s %s", name, s2_err_name((int)(int64_t)e->a));
	}
	return snprintf(buf, size, "%s", name);
}

void s2hyp_print_event(FILE *f, const struct s2hyp_event *e)
{
	char buf[160];
	s2hyp_format_event(buf, sizeof(buf), e);
	fprintf(f, "step %llu: %s", (unsigned long long)e->step, buf);
}

static void thread_name(char *buf, size_t size, int t)
{
	if (t == MACHINE_THREAD)
		snprintf(buf, size, "memory system");
	else if (t < 0)
		snprintf(buf, size, "hypervisor");
	else
		snprintf(buf, size, "vCPU %d", t);
}

void s2hyp_print_violation(FILE *f, const struct s2hyp_violation *v)
{
	char who[24];

	thread_name(who, sizeof(who), v->thread);
	fprintf(f, "violation: %s at step %llu (%s)\n", s2hyp_rule_name(v->rule),
		(unsigned long long)v->step, who);
	fprintf(f, "  rule: %s\n", s2hyp_rule_meaning(v->rule));
	fprintf(f, "  what: %s\n", v->detail);
	for (unsigned t = 0; t <= S2HYP_MAX_VCPUS + 1; t++) {
		if (!v->nr_events[t])
			continue;
		thread_name(who, sizeof(who), t == S2HYP_MAX_VCPUS + 1 ? MACHINE_THREAD : (int)t - 1);
		fprintf(f, "  last events of the %s:\n", who);
		for (unsigned i = 0; i < v->nr_events[t]; i++) {
			fprintf(f, "    ");
			s2hyp_print_event(f, &v->events[t][i]);
			fputc('\n', f);
		}
	}
}

void s2hyp_print_violation_json(FILE *f, const struct s2hyp_violation *v)
{
	char buf[160];

	fprintf(f, "{\"rule\": ");
	s2_json_string(f, s2hyp_rule_name(v->rule));
	fprintf(f, ", \"step\": %llu, \"thread\": ", (unsigned long long)v->step);
	if (v->thread < 0)
		fprintf(f, "\"hypervisor\"");
	else
		fprintf(f, "\"vcpu%d\"", v->thread);
	fprintf(f, ", \"ipa\": \"%#llx\", \"pa\": \"%#llx\", \"level\": %d, \"detail\": ",
		(unsigned long long)v->ipa, (unsigned long long)v->pa, v->level);
	s2_json_string(f, v->detail);
	fprintf(f, ", \"events\": {");
	bool first = true;
	for (unsigned t = 0; t <= S2HYP_MAX_VCPUS + 1; t++) {
		if (!v->nr_events[t])
			continue;
		if (t == S2HYP_MAX_VCPUS + 1)
			fprintf(f, "%s\"memory\": [", first ? "" : ", ");
		else if (t == 0)
			fprintf(f, "%s\"hypervisor\": [", first ? "" : ", ");
		else
			fprintf(f, "%s\"vcpu%u\": [", first ? "" : ", ", t - 1);
		first = false;
		for (unsigned i = 0; i < v->nr_events[t]; i++) {
			s2hyp_format_event(buf, sizeof(buf), &v->events[t][i]);
			fprintf(f, "%s{\"step\": %llu, \"event\": ", i ? ", " : "",
				(unsigned long long)v->events[t][i].step);
			s2_json_string(f, buf);
			fputc('}', f);
		}
		fputc(']', f);
	}
	fprintf(f, "}}");
}
