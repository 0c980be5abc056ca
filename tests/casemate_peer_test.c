/* casemate's own examples as a peer test: every log of tests/data/casemate
 * is imported as shipped, replayed, and s2emu's verdict compared with
 * casemate's, case by case. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"

#define DATA "tests/data/casemate/expected/"
#define NONE_RULE S2HYP_NR_RULES

/*
 * case | casemate's verdict (the log's "!" line) | the rules s2emu fires
 * (the first is the one of casemate's class) | where the two differ, why.
 */
static const struct peer_case {
	const char *name;
	const char *casemate;		/* NULL: casemate accepts the run */
	enum s2hyp_rule rules[2];	/* NONE_RULE ends the list */
	const char *difference;		/* NULL: the same verdict */
} cases[] = {
	{ "bad_EL2_ASID", "TTBR0_EL2 ASID is reserved 0",
	  { S2HYP_RULE_TTBR_ASID, NONE_RULE }, NULL },
	{ "bad_bbm_by_wrong_VMID", "BBM invalid unclean->valid",
	  { S2HYP_RULE_BBM, NONE_RULE }, NULL },
	{ "bad_bbm_missing_tlbi", "BBM invalid unclean->valid",
	  { S2HYP_RULE_BBM, NONE_RULE }, NULL },
	{ "bad_free_page_without_clean", "cannot release table where children are still unclean",
	  { S2HYP_RULE_TLBI_BEFORE_FREE, NONE_RULE }, NULL },
	{ "bad_no_assoc_lock", "must have associated root with a lock",
	  { S2HYP_RULE_UNLOCKED_WRITE, NONE_RULE }, NULL },
	{ "bad_no_bbm", "BBM valid->valid", { S2HYP_RULE_BBM, NONE_RULE }, NULL },
	{ "bad_no_bbm_stage1", "BBM valid->valid", { S2HYP_RULE_BBM, NONE_RULE }, NULL },
	{ "bad_overlap_ASID", "duplicate (VM/AS)ID", { S2HYP_RULE_VMID_REUSE, NONE_RULE }, NULL },
	{ "bad_overlap_VMID", "duplicate (VM/AS)ID", { S2HYP_RULE_VMID_REUSE, NONE_RULE }, NULL },
	{ "bad_race", "must write to pte while holding owner lock",
	  { S2HYP_RULE_UNLOCKED_WRITE, NONE_RULE }, NULL },
	{ "bad_reuse_page", "double-use pte",
	  { S2HYP_RULE_TABLE_REUSE, S2HYP_RULE_UNLOCK_UNCLEAN },
	  "stricter: s2emu also reports the unlock at line 11, which leaves the broken "
	  "root entry without a TLBI (casemate has no such rule)" },
	{ "bad_switch_wrong_vmid", "root already associated with an (VM/AS)ID",
	  { S2HYP_RULE_VMID_CHANGE, NONE_RULE }, NULL },
	{ "bad_unlocked_write", "must write to pte while holding owner lock",
	  { S2HYP_RULE_UNLOCKED_WRITE, NONE_RULE }, NULL },
	{ "good_bbm", NULL, { NONE_RULE }, NULL },
	{ "good_bbm_by_VMID", NULL, { NONE_RULE }, NULL },
	{ "good_bbm_stage1", NULL, { NONE_RULE }, NULL },
	{ "good_free_page", NULL, { NONE_RULE }, NULL },
	{ "good_free_tree", NULL, { NONE_RULE }, NULL },
	{ "good_release_table", NULL, { NONE_RULE }, NULL },
	{ "good_switch", NULL, { NONE_RULE }, NULL },
	{ "good_write", NULL, { NONE_RULE }, NULL },
	{ "good_write_child", NULL, { NONE_RULE }, NULL },
	{ "simple", NULL, { NONE_RULE }, NULL },
};

struct verdict {
	int status;			/* replay's exit status */
	char casemate[S2TRACE_CM_MAX_TEXT];
	uint64_t fired[S2HYP_NR_RULES];
	unsigned line[S2HYP_NR_RULES];	/* the log line each rule's report names */
	unsigned casemate_line;		/* the record casemate's "!" line follows */
};

/* The line of the last record before the "!" line, 0 without one. */
static unsigned failing_record(const char *log)
{
	FILE *f = fopen(log, "r");
	char buf[1024];
	unsigned line = 0, last = 0;
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		if (buf[0] == '(')
			last = line;
		if (buf[0] == '!') {
			fclose(f);
			return last;
		}
	}
	fclose(f);
	return 0;
}

/* Import the log as shipped (no option) and replay it. */
static void run_case(const char *name, struct verdict *v)
{
	char log[256], trace[] = "/tmp/s2emu-peer-XXXXXX";
	snprintf(log, sizeof(log), DATA "%s.log", name);
	FILE *in = fopen(log, "r");
	assert_non_null(in);
	int fd = mkstemp(trace);
	assert_true(fd >= 0);
	FILE *out = fdopen(fd, "w");
	assert_non_null(out);
	struct s2trace_cm_result cm;
	assert_int_equal(s2trace_cm_convert(in, log, out, NULL, &cm), 0);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	snprintf(v->casemate, sizeof(v->casemate), "%s", cm.verdict);
	/* Nothing is left out but what has nothing to check (MAIR_EL2). */
	for (unsigned g = 0; g < cm.ngroups; g++)
		assert_string_equal(cm.groups[g].what, "sysreg-write mair_el2");

	struct s2trace_result res;
	v->status = s2trace_replay(trace, NULL, &res);
	if (res.bad_input)
		fail_msg("%s: %s", name, res.error);
	s2trace_result_free(&res);
	unlink(trace);

	/* The log replayed directly: the same verdict, reported on its lines. */
	int status = s2trace_replay(log, NULL, &res);
	if (res.bad_input)
		fail_msg("%s: %s", name, res.error);
	assert_int_equal(status, v->status);
	memcpy(v->fired, res.stats.violations, sizeof(v->fired));
	memset(v->line, 0, sizeof(v->line));
	for (unsigned i = 0; i < res.nr_eff_violations; i++)
		v->line[res.eff_violations[i].rule] = res.eff_violations[i].at.line;
	s2trace_result_free(&res);
	v->casemate_line = failing_record(log);
}

/* Every shipped log imports and replays; the good ones are clean, the bad
 * ones fire a rule of casemate's class, and any further rule is listed
 * in the table with its reason. */
static void test_peer(void **state)
{
	(void)state;
	unsigned same = 0, stricter = 0;
	bool verbose = getenv("S2EMU_PEER_VERBOSE") != NULL;

	if (access(DATA "good_bbm.log", R_OK))
		skip();	/* run from the repository root */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct peer_case *c = &cases[i];
		struct verdict v;
		run_case(c->name, &v);
		/* The table says what the shipped log says. */
		assert_string_equal(v.casemate, c->casemate ? c->casemate : "");
		bool want[S2HYP_NR_RULES] = { false };
		for (unsigned k = 0; k < 2 && c->rules[k] != NONE_RULE; k++)
			want[c->rules[k]] = true;
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
			if ((v.fired[r] != 0) != want[r])
				fail_msg("%s: rule %s %s", c->name, s2hyp_rule_name((enum s2hyp_rule)r),
					 v.fired[r] ? "fired, not in the table" : "did not fire");
		assert_int_equal(v.status, c->casemate ? 1 : 0);
		/* The rule of casemate's class fires at the record casemate rejects. */
		if (c->casemate)
			assert_int_equal(v.line[c->rules[0]], v.casemate_line);
		if (c->difference)
			stricter++;
		else
			same++;
		if (verbose)
			printf("%-28s | %-52s | %s%s%s\n", c->name,
			       c->casemate ? c->casemate : "(accepted)",
			       c->rules[0] == NONE_RULE ? "clean" : s2hyp_rule_name(c->rules[0]),
			       c->difference ? " + " : "",
			       c->difference ? s2hyp_rule_name(c->rules[1]) : "");
	}
	assert_int_equal(same + stricter, 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
