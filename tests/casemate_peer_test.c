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
#define GENERATED "tests/data/casemate/generated/"
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
	int line_delta;			/* s2emu's report line minus casemate's */
} cases[] = {
	{ "bad_EL2_ASID", "TTBR0_EL2 ASID is reserved 0",
	  { S2HYP_RULE_TTBR_ASID, NONE_RULE }, NULL, 0 },
	{ "bad_bbm_by_wrong_VMID", "BBM invalid unclean->valid",
	  { S2HYP_RULE_BBM, NONE_RULE }, NULL, 0 },
	{ "bad_bbm_missing_tlbi", "BBM invalid unclean->valid",
	  { S2HYP_RULE_BBM, NONE_RULE }, NULL, 0 },
	{ "bad_free_page_without_clean", "cannot release table where children are still unclean",
	  { S2HYP_RULE_TLBI_BEFORE_FREE, NONE_RULE }, NULL, 0 },
	{ "bad_no_assoc_lock", "must have associated root with a lock",
	  { S2HYP_RULE_UNLOCKED_WRITE, NONE_RULE }, NULL, 0 },
	{ "bad_no_bbm", "BBM valid->valid", { S2HYP_RULE_BBM, NONE_RULE }, NULL, 0 },
	{ "bad_no_bbm_stage1", "BBM valid->valid", { S2HYP_RULE_BBM, NONE_RULE }, NULL, 0 },
	{ "bad_overlap_ASID", "duplicate (VM/AS)ID", { S2HYP_RULE_VMID_REUSE, NONE_RULE }, NULL, 0 },
	{ "bad_overlap_VMID", "duplicate (VM/AS)ID", { S2HYP_RULE_VMID_REUSE, NONE_RULE }, NULL, 0 },
	{ "bad_race", "must write to pte while holding owner lock",
	  { S2HYP_RULE_UNLOCKED_WRITE, NONE_RULE }, NULL, 0 },
	{ "bad_reuse_page", "double-use pte",
	  { S2HYP_RULE_TABLE_REUSE, S2HYP_RULE_UNLOCK_UNCLEAN },
	  "stricter: s2emu also reports the unlock that leaves the broken root entry "
	  "without a TLBI (casemate has no such rule)", 0 },
	{ "bad_switch_wrong_vmid", "root already associated with an (VM/AS)ID",
	  { S2HYP_RULE_VMID_CHANGE, NONE_RULE }, NULL, 0 },
	{ "bad_unlocked_write", "must write to pte while holding owner lock",
	  { S2HYP_RULE_UNLOCKED_WRITE, NONE_RULE }, NULL, 0 },
	{ "good_bbm", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_bbm_by_VMID", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_bbm_stage1", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_free_page", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_free_tree", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_release_table", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_switch", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_write", NULL, { NONE_RULE }, NULL, 0 },
	{ "good_write_child", NULL, { NONE_RULE }, NULL, 0 },
	{ "simple", NULL, { NONE_RULE }, NULL, 0 },
};

/*
 * The same examples as today's drivers print them (tests/data/casemate/
 * generated: built and run here, with casemate's error report block), and
 * good_trylock, which ships no log. Only what differs from the table above
 * is spelled out again.
 */
static const struct peer_case generated[] = {
	{ "bad_bbm_by_wrong_VMID", "BBM invalid unclean->valid",
	  { S2HYP_RULE_TLBI_S1_AFTER_IPA, NONE_RULE },
	  "the same class, a finer rule: today's driver breaks a level-1 block whose IPA "
	  "TLBI (VMID 0) completes; only the VMALLE1IS goes to VMID 1", 0 },
	{ "bad_EL2_ASID", "TTBR0_EL2 ASID is reserved 0", { S2HYP_RULE_TTBR_ASID, NONE_RULE },
	  "one record earlier: s2emu reports the TTBR0_EL2 write itself, today's casemate "
	  "the SCTLR_EL2 write that enables the translation", -1 },
	{ "good_trylock", NULL, { NONE_RULE }, NULL, 0 },
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
static void run_case(const char *dir, const char *name, struct verdict *v)
{
	char log[256], trace[] = "/tmp/s2emu-peer-XXXXXX";
	snprintf(log, sizeof(log), "%s%s.log", dir, name);
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

static const struct peer_case *case_for(const char *dir, const struct peer_case *c)
{
	if (strcmp(dir, GENERATED))
		return c;
	for (size_t i = 0; i < sizeof(generated) / sizeof(generated[0]); i++)
		if (!strcmp(generated[i].name, c->name))
			return &generated[i];
	return c;
}

/* One set of logs against the table: the verdicts, and the line of the
 * record casemate rejects. */
static unsigned check_set(const char *dir, const struct peer_case *const *list, size_t n)
{
	bool verbose = getenv("S2EMU_PEER_VERBOSE") != NULL;
	unsigned differ = 0;

	for (size_t i = 0; i < n; i++) {
		const struct peer_case *c = case_for(dir, list[i]);
		struct verdict v;
		run_case(dir, c->name, &v);
		/* The table says what the log says. */
		assert_string_equal(v.casemate, c->casemate ? c->casemate : "");
		bool want[S2HYP_NR_RULES] = { false };
		for (unsigned k = 0; k < 2 && c->rules[k] != NONE_RULE; k++)
			want[c->rules[k]] = true;
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
			if ((v.fired[r] != 0) != want[r])
				fail_msg("%s%s: rule %s %s", dir, c->name,
					 s2hyp_rule_name((enum s2hyp_rule)r),
					 v.fired[r] ? "fired, not in the table" : "did not fire");
		assert_int_equal(v.status, c->casemate ? 1 : 0);
		/* The rule of casemate's class fires at the record casemate rejects. */
		if (c->casemate)
			assert_int_equal((int)v.line[c->rules[0]], (int)v.casemate_line + c->line_delta);
		differ += c->difference != NULL;
		if (verbose)
			printf("%-28s | %-52s | %s%s%s%s%s\n", c->name,
			       c->casemate ? c->casemate : "(accepted)",
			       c->rules[0] == NONE_RULE ? "clean" : s2hyp_rule_name(c->rules[0]),
			       c->rules[1] != NONE_RULE && c->rules[0] != NONE_RULE ? " + " : "",
			       c->rules[1] != NONE_RULE && c->rules[0] != NONE_RULE ?
			       s2hyp_rule_name(c->rules[1]) : "",
			       c->difference ? " -- " : "", c->difference ? c->difference : "");
	}
	return differ;
}

/* Every shipped log imports and replays; the good ones are clean, the bad
 * ones fire a rule of casemate's class, and any difference is in the
 * table with its reason. */
static void test_peer_shipped(void **state)
{
	(void)state;
	const struct peer_case *list[sizeof(cases) / sizeof(cases[0])];
	if (access(DATA "good_bbm.log", R_OK))
		skip();	/* run from the repository root */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		list[i] = &cases[i];
	assert_int_equal(sizeof(cases) / sizeof(cases[0]), 23);
	assert_int_equal(check_set(DATA, list, 23), 1);
}

/* The logs today's drivers print, casemate's error reports included, and
 * good_trylock: the same verdicts but for the one listed. */
static void test_peer_generated(void **state)
{
	(void)state;
	const struct peer_case *list[sizeof(cases) / sizeof(cases[0]) + 1];
	size_t n = 0;
	if (access(GENERATED "good_trylock.log", R_OK))
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		list[n++] = &cases[i];
	list[n++] = &generated[2];	/* good_trylock */
	assert_int_equal(check_set(GENERATED, list, n), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_shipped),
		cmocka_unit_test(test_peer_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
