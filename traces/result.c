/* A replay's result for people and programs: the summary, the fix check,
 * JSON, and the statistics kernel engineers compare. */
#include <stdio.h>
#include <string.h>

#include "common/s2_bits.h"
#include "common/s2_text.h"
#include "traces/s2trace.h"

/* The leaf size of mappings_by_level[idx] (level idx - 1). */
static const char *size_name(unsigned granule_shift, unsigned idx, char *buf, size_t n)
{
	struct s2pt_geom g = { .granule_shift = granule_shift, .stride = granule_shift - 3 };
	return s2_size_name(s2pt_granule_size(&g, (s2_level_t)(idx - 1)), buf, n);
}

static void fault_totals(const struct s2trace_result *res, uint64_t k[4])
{
	k[0] = k[1] = k[2] = k[3] = 0;
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++) {
		k[0] += res->stats.vcpu[v].faults_translation;
		k[1] += res->stats.vcpu[v].faults_permission;
		k[2] += res->stats.vcpu[v].faults_access_flag;
		k[3] += res->stats.vcpu[v].faults_in_window;
	}
}

void s2trace_print_result(FILE *f, const struct s2trace_result *res)
{
	char buf[16];
	uint64_t k[4];
	const struct s2hyp_stats *st = &res->stats;

	if (res->bad_input) {
		fprintf(f, "%s\n", res->error);
		return;
	}
	fault_totals(res, k);
	if (res->guest_image[0])
		fprintf(f, "%s: guest code %s on %u vCPUs, %llu host events, %llu expectations; "
			   "walker %s, %uK granule\n",
			res->name, res->guest_image, res->cfg.nr_vcpus,
			(unsigned long long)res->host_events, (unsigned long long)res->expects,
			s2pt_variant_name(res->cfg.variant), 1u << (res->cfg.granule_shift - 10));
	else if (res->effect_trace)
		fprintf(f, "%s: %llu effect events, %llu expectations; an effect trace, %uK granule\n",
			res->name, (unsigned long long)res->events, (unsigned long long)res->expects,
			1u << (res->cfg.granule_shift - 10));
	else
		fprintf(f, "%s: %llu events (%llu host, %llu vcpu, %llu mmio), %llu expectations; "
			   "walker %s, %u vCPUs, %uK granule\n",
			res->name, (unsigned long long)res->events, (unsigned long long)res->host_events,
			(unsigned long long)res->vcpu_events, (unsigned long long)res->mmio_events,
			(unsigned long long)res->expects, s2pt_variant_name(res->cfg.variant),
			res->cfg.nr_vcpus, 1u << (res->cfg.granule_shift - 10));
	bool any = false;
	if (res->effect_trace) {
		/* No vCPUs run: what the code stored is what there is to show. */
		fprintf(f, "  stores:      %llu to tracked memory, %llu elsewhere (ignored)\n",
			(unsigned long long)res->eff_stats.writes,
			(unsigned long long)res->eff_stats.untracked_writes);
	} else {
		fprintf(f, "  faults:      %llu translation, %llu permission, %llu access-flag "
			   "(%llu in another thread's map)\n",
			(unsigned long long)k[0], (unsigned long long)k[1], (unsigned long long)k[2],
			(unsigned long long)k[3]);
		fprintf(f, "  mappings:   ");
		for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
			if (st->mappings_by_level[l]) {
				fprintf(f, " %s x%llu",
					size_name(res->geom_granule_shift, l, buf, sizeof(buf)),
					(unsigned long long)st->mappings_by_level[l]);
				any = true;
			}
		fprintf(f, "%s\n", any ? "" : " none");
	}
	fprintf(f, "  maintenance: %llu TLBIs, %llu DSBs, %llu CMOs\n",
		(unsigned long long)st->tlbis, (unsigned long long)st->dsbs,
		(unsigned long long)st->cmos);
	if (res->cfg.host_mm)
		fprintf(f, "  host-mm:     %llu faults retried, %llu refused by the host, %llu slept "
			   "on userfaultfd (%llu still asleep at the end)\n",
			(unsigned long long)st->host_retries, (unsigned long long)st->host_gup_errors,
			(unsigned long long)st->host_uffd_waits, (unsigned long long)st->host_uffd_hung);
	fprintf(f, "  rules:      ");
	any = false;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r]) {
			fprintf(f, " %s (%s)", s2hyp_rule_name((enum s2hyp_rule)r),
				res->expected_rule[r] ? "expected" : "UNEXPECTED");
			any = true;
		}
	fprintf(f, "%s\n", any ? "" : " none fired");
	fprintf(f, "  expectations: %u met, %u failed\n", res->expects_met, res->expects_failed);
	for (unsigned i = 0; i < res->expects_failed && i < S2TRACE_MAX_FAILURES; i++) {
		if (res->failures[i].line)
			fprintf(f, "  FAILED %s:%u: %s\n", res->name, res->failures[i].line,
				res->failures[i].msg);
		else
			fprintf(f, "  FAILED %s: %s\n", res->name, res->failures[i].msg);
	}
	for (unsigned i = 0; i < res->nr_violations; i++)
		if (!res->expected_rule[res->violations[i].rule]) {
			fputc('\n', f);
			s2hyp_print_violation(f, &res->violations[i]);
		}
	for (unsigned i = 0; i < res->nr_eff_violations; i++)
		if (!res->expected_rule[res->eff_violations[i].rule]) {
			fputc('\n', f);
			s2eff_print_violation(f, res->name, &res->eff_violations[i]);
		}
	fprintf(f, "  result: %s\n", res->expects_failed || res->unexpected_rules ? "FAILED" : "ok");
}

int s2trace_fix_status(const struct s2trace_result *res)
{
	bool recorded = false, firing = false;

	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		recorded |= res->recorded_rule[r];
		firing |= res->stats.violations[r] != 0;
	}
	if (!recorded)
		return 2;
	return firing || res->outcome != S2HYP_DONE ? 1 : 0;
}

void s2trace_print_fix(FILE *f, const struct s2trace_result *res)
{
	if (res->sched_len && res->sched_diverged)
		fprintf(f, "  schedule: followed for %zu of its %zu choices; the next one names a "
			   "step this code does not take, so the run went on with the first enabled "
			   "choice at each step (as a sequential replay)\n",
			res->sched_applied, res->sched_len);
	else if (res->sched_len)
		fprintf(f, "  schedule: followed for %zu of its %zu choices%s\n", res->sched_applied,
			res->sched_len, res->sched_applied < res->sched_len ?
			" (the run needed no more)" : "");
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		const char *name = s2hyp_rule_name((enum s2hyp_rule)r);
		bool fired = res->stats.violations[r] != 0;
		if (res->recorded_rule[r])
			fprintf(f, fired ? "  not fixed: rule %s still fires\n" :
					   "  fixed: rule %s no longer fires\n", name);
		else if (fired)
			fprintf(f, "  not fixed: rule %s fires (the recorded run did not fire it)\n",
				name);
	}
	if (res->outcome != S2HYP_DONE)
		fprintf(f, "  not fixed: the run did not complete (%s)\n",
			s2hyp_outcome_name(res->outcome));
	switch (s2trace_fix_status(res)) {
	case 0: fprintf(f, "  check-fix: fixed\n"); break;
	case 1: fprintf(f, "  check-fix: NOT FIXED\n"); break;
	default: fprintf(f, "  check-fix: nothing to check (the trace records no rule that fired)\n");
	}
}

/* The "check_fix" member of a replay's JSON object. */
static void print_fix_json(FILE *f, const struct s2trace_result *res)
{
	static const char *const status[] = { "fixed", "not-fixed", "nothing-to-check" };
	fprintf(f, ", \"check_fix\": {\"status\": \"%s\", \"schedule_followed\": %zu, "
		   "\"schedule_length\": %zu, \"diverged\": %s",
		status[s2trace_fix_status(res)], res->sched_applied, res->sched_len,
		res->sched_diverged ? "true" : "false");
	for (int k = 0; k < 3; k++) {
		static const char *const key[] = { "fixed", "still_fires", "new" };
		bool first = true;
		fprintf(f, ", \"%s\": [", key[k]);
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
			bool fired = res->stats.violations[r] != 0, rec = res->recorded_rule[r];
			if ((k == 0 && rec && !fired) || (k == 1 && rec && fired) ||
			    (k == 2 && !rec && fired)) {
				fprintf(f, "%s\"%s\"", first ? "" : ", ",
					s2hyp_rule_name((enum s2hyp_rule)r));
				first = false;
			}
		}
		fputc(']', f);
	}
	fputc('}', f);
}
static void print_sections_json(FILE *f, const struct s2trace_result *res);

void s2trace_print_result_json(FILE *f, const struct s2trace_result *res)
{
	char buf[16];
	uint64_t k[4];
	const struct s2hyp_stats *st = &res->stats;

	fprintf(f, "{\"trace\": ");
	s2_json_string(f, res->name);
	if (res->bad_input) {
		fprintf(f, ", \"result\": \"bad-input\", \"error\": ");
		s2_json_string(f, res->error);
		fprintf(f, "}\n");
		return;
	}
	fault_totals(res, k);
	if (res->check_fix)
		print_fix_json(f, res);
	fprintf(f, ", \"effect_trace\": %s, \"guest_image\": ", res->effect_trace ? "true" : "false");
	s2_json_string(f, res->guest_image);
	fprintf(f, ", \"result\": \"%s\", \"walker\": \"%s\", \"vcpus\": %u, \"granule\": %u, "
		   "\"events\": %llu, \"host_events\": %llu, \"vcpu_events\": %llu, "
		   "\"mmio_events\": %llu, \"faults\": {\"translation\": %llu, \"permission\": %llu, "
		   "\"access_flag\": %llu, \"in_window\": %llu}, \"tlbis\": %llu, \"dsbs\": %llu, "
		   "\"cmos\": %llu, \"mappings\": {",
		res->expects_failed || res->unexpected_rules ? "failed" : "ok",
		s2pt_variant_name(res->cfg.variant), res->cfg.nr_vcpus, 1u << res->cfg.granule_shift,
		(unsigned long long)res->events, (unsigned long long)res->host_events,
		(unsigned long long)res->vcpu_events, (unsigned long long)res->mmio_events,
		(unsigned long long)k[0], (unsigned long long)k[1], (unsigned long long)k[2],
		(unsigned long long)k[3], (unsigned long long)st->tlbis,
		(unsigned long long)st->dsbs, (unsigned long long)st->cmos);
	bool first = true;
	for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
		if (st->mappings_by_level[l]) {
			fprintf(f, "%s\"%s\": %llu", first ? "" : ", ",
				size_name(res->geom_granule_shift, l, buf, sizeof(buf)),
				(unsigned long long)st->mappings_by_level[l]);
			first = false;
		}
	fprintf(f, "}, \"rules\": {");
	first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r]) {
			fprintf(f, "%s\"%s\": {\"count\": %llu, \"expected\": %s}", first ? "" : ", ",
				s2hyp_rule_name((enum s2hyp_rule)r),
				(unsigned long long)st->violations[r],
				res->expected_rule[r] ? "true" : "false");
			first = false;
		}
	fprintf(f, "}, \"expectations\": {\"met\": %u, \"failed\": %u, \"failures\": [",
		res->expects_met, res->expects_failed);
	for (unsigned i = 0; i < res->expects_failed && i < S2TRACE_MAX_FAILURES; i++) {
		fprintf(f, "%s{\"line\": %u, \"message\": ", i ? ", " : "", res->failures[i].line);
		s2_json_string(f, res->failures[i].msg);
		fputc('}', f);
	}
	fprintf(f, "]}, ");
	print_sections_json(f, res);
	fprintf(f, ", \"violations\": [");
	for (unsigned i = 0; i < res->nr_violations; i++) {
		if (i)
			fprintf(f, ", ");
		s2hyp_print_violation_json(f, &res->violations[i]);
	}
	for (unsigned i = 0; i < res->nr_eff_violations; i++) {
		if (i || res->nr_violations)
			fprintf(f, ", ");
		s2eff_print_violation_json(f, res->name, &res->eff_violations[i]);
	}
	fprintf(f, "]}\n");
}

/* ------------------------------------------------------------------ */
/* Statistics per section                                              */
/* ------------------------------------------------------------------ */

void s2trace_stat_pairs(const struct s2hyp_stats *st,
			void (*emit)(void *arg, const char *key, uint64_t value), void *arg)
{
	static const char *const kinds[] = { "translation", "permission", "access-flag" };
	static const char *const access[] = { "read", "write", "exec" };
	static const char *const tlbis[] = { "vmid", "ipa", "range", "local" };
	static const char *const entries[] = { "invalid", "page", "block", "table" };
	char key[64];

	for (unsigned k = 0; k < 3; k++)
		for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
			for (unsigned a = 0; a < 3; a++)
				if (st->faults[k][l][a]) {
					snprintf(key, sizeof(key), "fault.%s.L%d.%s", kinds[k],
						 (int)l - 1, access[a]);
					emit(arg, key, st->faults[k][l][a]);
				}
	const struct {
		const char *key;
		uint64_t v;
	} plain[] = {
		{ "op.map", st->maps }, { "op.relax", st->relaxes }, { "op.unmap", st->unmaps },
		{ "op.wrprotect", st->wrprotects }, { "op.mkyoung", st->mkyoungs },
		{ "op.age", st->ages }, { "op.split", st->splits }, { "op.destroy", st->destroys },
		{ "coalesce", st->coalesces },
		{ "table.alloc", st->table_pages_taken },
		{ "table.free", st->table_pages_freed },
		{ "table.free-put", st->table_pages_freed_put },
		{ "table.free-unlinked", st->unlinked_frees },
		{ "retry", st->host_retries },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(plain); i++)
		if (plain[i].v)
			emit(arg, plain[i].key, plain[i].v);
	/* Every call of KVM's stage2_try_break_pte, lost ones included. */
	uint64_t breaks = st->breaks_lost;
	for (unsigned k = 0; k < S2HYP_NR_ENTRY_KINDS; k++)
		breaks += st->breaks[k];
	if (breaks)
		emit(arg, "break", breaks);
	for (unsigned k = 0; k < S2HYP_NR_ENTRY_KINDS; k++)
		if (st->breaks[k]) {
			snprintf(key, sizeof(key), "break.%s", entries[k]);
			emit(arg, key, st->breaks[k]);
		}
	if (st->breaks_lost)
		emit(arg, "break.lost", st->breaks_lost);
	const struct {
		const char *key;
		uint64_t v;
	} more[] = {
		{ "make", st->makes }, { "get", st->gets }, { "put", st->puts },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(more); i++)
		if (more[i].v)
			emit(arg, more[i].key, more[i].v);
	for (unsigned k = 0; k < S2HYP_NR_TLBI_KINDS; k++)
		if (st->tlbi_calls[k]) {
			snprintf(key, sizeof(key), "tlbi.%s", tlbis[k]);
			emit(arg, key, st->tlbi_calls[k]);
		}
	const struct {
		const char *key;
		uint64_t v;
	} cmos[] = {
		{ "dcache.calls", st->dcache_calls }, { "dcache.bytes", st->dcache_bytes },
		{ "icache.calls", st->icache_calls }, { "icache.bytes", st->icache_bytes },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(cmos); i++)
		if (cmos[i].v)
			emit(arg, cmos[i].key, cmos[i].v);
}

struct stat_text {
	FILE *f;
	const char *section;
};

static void emit_text(void *arg, const char *key, uint64_t v)
{
	struct stat_text *t = arg;
	fprintf(t->f, "  stat %s %s %llu\n", t->section, key, (unsigned long long)v);
}

void s2trace_print_stats(FILE *f, const struct s2trace_result *res)
{
	for (unsigned i = 0; i < res->nr_sections; i++) {
		struct stat_text t = { f, res->sections[i].name };
		s2trace_stat_pairs(&res->sections[i].stats, emit_text, &t);
	}
}

struct stat_json {
	FILE *f;
	bool first;
};

static void emit_json(void *arg, const char *key, uint64_t v)
{
	struct stat_json *j = arg;
	fprintf(j->f, "%s\"%s\": %llu", j->first ? "" : ", ", key, (unsigned long long)v);
	j->first = false;
}

/* "sections": [{"name": "pass1", "stats": {...}}, ...] */
static void print_sections_json(FILE *f, const struct s2trace_result *res)
{
	fprintf(f, "\"sections\": [");
	for (unsigned i = 0; i < res->nr_sections; i++) {
		struct stat_json j = { f, true };
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		s2_json_string(f, res->sections[i].name);
		fprintf(f, ", \"stats\": {");
		s2trace_stat_pairs(&res->sections[i].stats, emit_json, &j);
		fprintf(f, "}}");
	}
	fprintf(f, "]");
}
