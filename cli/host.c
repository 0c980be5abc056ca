/* s2emu host: run a host memory-management scenario (host-mm/) under one
 * COW policy or all of them, with the host rules checked; `s2emu run`
 * passes host scenario names here. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/s2_err.h"
#include "host-mm/s2host_scenario.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu host SCENARIO [--cow-policy P|all] [--json]\n"
		   "       s2emu run SCENARIO --cow-policy P   (the same, for host scenarios)\n\n"
		   "Runs a host memory-management scenario of the host-mm specification: the\n"
		   "VMM's pages, refcounts, pins, fork and COW, with the host rules checked\n"
		   "(s2emu rules --host). Prints what the process or device observed, the\n"
		   "rules that fired, and whether that is what the specification lists for\n"
		   "the policy.\n\nscenarios:\n");
	for (unsigned i = 0; i < s2host_nr_scenarios(); i++)
		fprintf(f, "  %-20s %s %s\n", s2host_scenario(i)->name, s2host_scenario(i)->spec,
			s2host_scenario(i)->desc);
	fprintf(f, "\noptions:\n"
		   "  --cow-policy P   the COW reuse policy (kernel era), or 'all'; default AE:\n");
	for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++)
		fprintf(f, "                   %-7s %-9s %s\n", s2host_policy_name(p),
			s2host_policy_kernels(p), s2host_policy_rule(p));
	fprintf(f, "  --json           JSON instead of text\n\n"
		   "exit status: 0 no rule fired, 1 a rule fired (or a step failed), 2 bad usage.\n");
}

static void print_mask(unsigned mask)
{
	if (!mask)
		printf("none");
	for (unsigned r = 0, first = 1; r < S2HOST_NR_RULES; r++)
		if (mask & (1u << r)) {
			printf("%s%s", first ? "" : ", ", s2host_rule_name(r));
			first = 0;
		}
}

static void json_mask(unsigned mask)
{
	printf("[");
	for (unsigned r = 0, first = 1; r < S2HOST_NR_RULES; r++)
		if (mask & (1u << r)) {
			printf("%s\"%s\"", first ? "" : ", ", s2host_rule_name(r));
			first = 0;
		}
	printf("]");
}

/* One run; 0 clean, 1 a rule fired or a step failed, -1 out of memory. */
static int run_one(unsigned si, enum s2host_policy pol, bool json, bool first)
{
	const struct s2host_scenario *sc = s2host_scenario(si);
	struct s2host_config cfg;
	struct s2host *h;
	char out[256] = "";

	s2host_config_init(&cfg, pol);
	if (s2host_create(&cfg, &h))
		return -1;
	int err = sc->run(h, out, sizeof(out));
	unsigned fired = s2host_fired(h), want = sc->expect[pol];

	if (json) {
		printf("%s\n  {\"scenario\": \"%s\", \"policy\": \"%s\", \"kernels\": \"%s\", ",
		       first ? "" : ",", sc->name, s2host_policy_name(pol), s2host_policy_kernels(pol));
		printf("\"error\": ");
		if (err)
			printf("\"%s\"", s2_err_name(err));
		else
			printf("null");
		printf(", \"outcome\": ");
		cli_json_string(out);
		printf(", \"fired\": ");
		json_mask(fired);
		printf(", \"expected\": ");
		json_mask(want);
		printf(", \"violations\": [");
		for (unsigned i = 0; i < s2host_nr_violations(h); i++) {
			const struct s2host_violation *v = s2host_violation(h, i);
			printf("%s{\"rule\": \"%s\", \"op\": %llu, \"what\": ", i ? ", " : "",
			       s2host_rule_name(v->rule), (unsigned long long)v->op);
			cli_json_string(v->what);
			printf("}");
		}
		printf("]}");
	} else {
		printf("policy %s (%s): %s\n", s2host_policy_name(pol), s2host_policy_kernels(pol),
		       s2host_policy_rule(pol));
		if (err)
			printf("  step failed: %s\n", s2_err_msg(err));
		else
			printf("  outcome:  %s\n", out);
		printf("  fired:    ");
		print_mask(fired);
		printf("\n  expected: ");
		print_mask(want);
		printf(" (%s)\n", fired == want ? "as the specification lists" : "DIFFERS from the specification");
		for (unsigned i = 0; i < s2host_nr_violations(h); i++) {
			const struct s2host_violation *v = s2host_violation(h, i);
			printf("  violation: %s at op %llu: %s\n", s2host_rule_name(v->rule),
			       (unsigned long long)v->op, v->what);
		}
	}
	s2host_destroy(h);
	return err || fired ? 1 : 0;
}

int cli_host(int argc, char **argv)
{
	const char *name = NULL;
	int policy = S2HOST_POL_AE;
	bool all = false, json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--cow-policy")) {
			if (++i == argc) {
				fprintf(stderr, "s2emu host: --cow-policy needs a value\n");
				return 2;
			}
			all = !strcmp(argv[i], "all");
			policy = all ? 0 : s2host_policy_parse(argv[i]);
			if (policy < 0) {
				fprintf(stderr, "s2emu host: unknown COW policy '%s' (MAP0, MAP1, MAP2, "
						"MAP2+F, CNT, CNT2, AE or all)\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' || name) {
			fprintf(stderr, "s2emu host: unexpected argument '%s'\n", argv[i]);
			return 2;
		} else {
			name = argv[i];
		}
	}
	if (!name) {
		usage(stderr);
		return 2;
	}
	int si = s2host_scenario_find(name);
	if (si < 0) {
		fprintf(stderr, "s2emu host: unknown scenario '%s' (s2emu host --help lists them)\n",
			name);
		return 2;
	}
	const struct s2host_scenario *sc = s2host_scenario((unsigned)si);
	int status = 0;
	if (json)
		printf("[");
	else
		printf("scenario %s (%s): %s\n", sc->name, sc->spec, sc->desc);
	for (int p = all ? 0 : policy; p <= (all ? S2HOST_NR_POLICIES - 1 : policy); p++) {
		int r = run_one((unsigned)si, (enum s2host_policy)p, json, p == (all ? 0 : policy));
		if (r < 0) {
			fprintf(stderr, "s2emu host: out of memory\n");
			return 2;
		}
		status |= r;
	}
	if (json)
		printf("\n]\n");
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "s2emu host: write error\n");
		return 2;
	}
	return status;
}
