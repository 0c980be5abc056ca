/* s2emu host: run a host memory-management scenario (host-mm/) under one
 * COW policy or all of them, with the host rules checked; `s2emu run`
 * passes host scenario names here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/s2_err.h"
#include "host-mm/s2host_scenario.h"
#include "hyp-model/s2hyp_kvmhost.h"
#include "common/s2_file.h"
#include "common/s2_text.h"
#include "traces/s2trace_host.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu host SCENARIO [--cow-policy P|all] [--json]\n"
		   "       s2emu host replay FILE... [--cow-policy P]\n"
		   "       s2emu host random [--cow-policy P|all] [--seed S] [--runs N] [--steps K] [--log]\n"
		   "                         [--world anon|memfd] [--uffd-policy WORD,...]\n"
		   "                         [--record FILE]\n"
		   "       s2emu run SCENARIO --cow-policy P   (the same, for host scenarios)\n\n"
		   "Runs a host memory-management scenario of the host-mm specification: the\n"
		   "VMM's pages, refcounts, pins, fork and COW, with the host rules checked\n"
		   "(s2emu rules --host). Prints what the process or device observed, the\n"
		   "rules that fired, and whether that is what the specification lists for\n"
		   "the policy.\n\nscenarios:\n");
	for (unsigned i = 0; i < s2host_nr_scenarios(); i++)
		fprintf(f, "  %-22s %s %s\n", s2host_scenario(i)->name, s2host_scenario(i)->spec,
			s2host_scenario(i)->desc);
	fprintf(f, "\nwith KVM's stage 2 over the host (its notifier, fault-in and retry):\n");
	for (unsigned i = 0; i < s2hyp_kvm_nr_scenarios(); i++)
		fprintf(f, "  %-22s %s %s\n", s2hyp_kvm_scenario(i)->name,
			s2hyp_kvm_scenario(i)->spec, s2hyp_kvm_scenario(i)->desc);
	fprintf(f, "\noptions:\n"
		   "  --cow-policy P   the COW reuse policy (kernel era), or 'all'; default AE:\n");
	for (unsigned p = 0; p < S2HOST_NR_POLICIES; p++)
		fprintf(f, "                   %-7s %-9s %s\n", s2host_policy_name(p),
			s2host_policy_kernels(p), s2host_policy_rule(p));
	fprintf(f, "  --json           JSON instead of text\n"
		   "random: the generic generator draws a program of K host operations (default\n"
		   "40, 80 for --world memfd) from each seed S..S+N-1 (default 1, 200 runs) and reports, per policy,\n"
		   "the rules that fired and the first seed of each; --log prints the first\n"
		   "firing run's program. --world memfd draws from a uffd-wp registered memfd\n"
		   "world with hole punches, userfaultfd handler threads and deferred TLB flushes\n"
		   "instead; --uffd-policy picks the uffd fixes, comma-separated: pre-fix runs it\n"
		   "without PTE markers (the uffd-wp series before 5.19), no-wp-flush without the\n"
		   "2021 flush before a COW copy, no-fork-fix without 8f34f1eac382 (default: all\n"
		   "fixes, 'markers,wp-flush,fork-fix'). --log's program is a host program:\n"
		   "--record FILE writes the first firing run (else the first run) as one, with\n"
		   "its expect line. replay runs host programs (docs/trace-format.md) and checks their expect\n"
		   "lines; --cow-policy replaces the program's policy line.\n\n"
		   "exit status: 0 no rule fired, 1 a rule fired (or a step failed), 2 bad usage.\n");
}

/* A scenario of either table, as this command sees it. */
struct any_scenario {
	const char *name, *spec, *desc;
	const unsigned *expect;
	const struct s2host_scenario *host;
	const struct s2hyp_kvm_scenario *kvm;
};

static bool find(const char *name, struct any_scenario *out)
{
	int i = s2host_scenario_find(name);
	if (i >= 0) {
		const struct s2host_scenario *sc = s2host_scenario((unsigned)i);
		*out = (struct any_scenario){ sc->name, sc->spec, sc->desc, sc->expect, sc, NULL };
		return true;
	}
	i = s2_find_name_by(s2hyp_kvm_scenario_name, name);
	if (i >= 0) {
		const struct s2hyp_kvm_scenario *sc = s2hyp_kvm_scenario((unsigned)i);
		*out = (struct any_scenario){ sc->name, sc->spec, sc->desc, sc->expect, NULL, sc };
		return true;
	}
	return false;
}

/* Rule names of a mask: host rules in bits 0..15, KVM rules from bit 16. */
static const char *mask_rule(unsigned bit)
{
	if (bit < 16)
		return bit < S2HOST_NR_RULES ? s2host_rule_name(bit) : NULL;
	return bit - 16 < S2HYP_KVM_NR_RULES ? s2hyp_kvm_rule_name(bit - 16) : NULL;
}

static void print_mask(unsigned mask, bool json)
{
	printf(json ? "[" : "");
	if (!mask && !json)
		printf("none");
	for (unsigned b = 0, first = 1; b < 32; b++)
		if ((mask & (1u << b)) && mask_rule(b)) {
			printf(json ? "%s\"%s\"" : "%s%s", first ? "" : ", ", mask_rule(b));
			first = 0;
		}
	printf(json ? "]" : "");
}

/* One run; 0 clean, 1 a rule fired or a step failed, -1 out of memory. */
static int run_one(const struct any_scenario *sc, enum s2host_policy pol, bool json, bool first)
{
	struct s2host_config cfg;
	struct s2host *h;
	struct s2hyp_kvm *k = NULL;
	char out[256] = "";

	s2host_config_init(&cfg, pol);
	if (s2host_create(&cfg, &h))
		return -1;
	int err = sc->host ? sc->host->run(h, out, sizeof(out)) : sc->kvm->run(h, &k, out, sizeof(out));
	unsigned fired = s2host_fired(h) | (k ? s2hyp_kvm_fired(k) : 0), want = sc->expect[pol];
	unsigned nh = s2host_nr_violations(h), nk = k ? s2hyp_kvm_nr_violations(k) : 0;

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
		print_mask(fired, true);
		printf(", \"expected\": ");
		print_mask(want, true);
		printf(", \"violations\": [");
		for (unsigned i = 0; i < nh + nk; i++) {
			const char *rule, *what;
			if (i < nh) {
				rule = s2host_rule_name(s2host_violation(h, i)->rule);
				what = s2host_violation(h, i)->what;
			} else {
				rule = s2hyp_kvm_rule_name(s2hyp_kvm_violation(k, i - nh)->rule);
				what = s2hyp_kvm_violation(k, i - nh)->what;
			}
			printf("%s{\"rule\": \"%s\", \"what\": ", i ? ", " : "", rule);
			cli_json_string(what);
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
		print_mask(fired, false);
		printf("\n  expected: ");
		print_mask(want, false);
		printf(" (%s)\n", fired == want && !err ? "as the specification lists"
							: "DIFFERS from the specification");
		for (unsigned i = 0; i < nh; i++)
			printf("  violation: %s at op %llu: %s\n",
			       s2host_rule_name(s2host_violation(h, i)->rule),
			       (unsigned long long)s2host_violation(h, i)->op, s2host_violation(h, i)->what);
		for (unsigned i = 0; i < nk; i++)
			printf("  violation: %s: %s\n", s2hyp_kvm_rule_name(s2hyp_kvm_violation(k, i)->rule),
			       s2hyp_kvm_violation(k, i)->what);
	}
	s2hyp_kvm_destroy(k);
	s2host_destroy(h);
	return err || fired ? 1 : 0;
}

static void print_line(void *arg, const char *line)
{
	(void)arg;
	printf("    %s\n", line);
}

static void file_line(void *arg, const char *line)
{
	fprintf(arg, "%s\n", line);
}

/* The uffd fixes --uffd-policy selects (struct s2host_config's three). */
struct uffd_fixes {
	bool markers, wp_flush, fork_fix;
};

static void apply_fixes(struct s2host_config *cfg, const struct uffd_fixes *u)
{
	cfg->uffd_markers = u->markers;
	cfg->uffd_wp_flush = u->wp_flush;
	cfg->uffd_fork_fix = u->fork_fix;
}

/* --uffd-policy's comma-separated words; false on an unknown one. */
static bool uffd_words(const char *v, struct uffd_fixes *u)
{
	char buf[128];
	if (!*v || strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	for (char *save, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (s2trace_host_uffd_word(w, &u->markers, &u->wp_flush, &u->fork_fix))
			return false;
	return true;
}

/* Write a generator run as a host program with its expect line. */
static int record(const char *path, int pol, bool memfd, const struct uffd_fixes *u, uint64_t seed,
		  uint64_t steps)
{
	struct s2host_config cfg;
	struct s2host *h;
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "s2emu host: cannot write %s\n", path);
		return 2;
	}
	s2host_config_init(&cfg, (enum s2host_policy)pol);
	cfg.nr_pages = 1024;
	apply_fixes(&cfg, u);
	if (s2host_create(&cfg, &h)) {
		fclose(f);
		return 2;
	}
	fprintf(f, "# s2emu host random --world %s --seed %llu --steps %llu\n",
		memfd ? "memfd" : "anon", (unsigned long long)seed, (unsigned long long)steps);
	(memfd ? s2host_random_memfd : s2host_random)(h, seed, (unsigned)steps, file_line, f);
	unsigned m = s2host_fired(h);
	fprintf(f, "expect fired ");
	if (!m)
		fprintf(f, "none");
	for (unsigned r = 0, first = 1; r < S2HOST_NR_RULES; r++)
		if (m & (1u << r)) {
			fprintf(f, "%s%s", first ? "" : ",", s2host_rule_name(r));
			first = 0;
		}
	fprintf(f, "\n");
	s2host_destroy(h);
	return cli_close_output("host", f, path) ? 2 : 0;
}

/* s2emu host random: the generic generator over seeds, per policy. */
static int run_random(int first_pol, int last_pol, uint64_t seed, uint64_t runs, uint64_t steps,
		      bool log, bool memfd, const struct uffd_fixes *u, const char *rec)
{
	int status = 0;
	int (*gen)(struct s2host *, uint64_t, unsigned, void (*)(void *, const char *), void *) =
		memfd ? s2host_random_memfd : s2host_random;

	printf("generic host-event generator (%s world%s): %llu steps per run, seeds %llu..%llu\n",
	       memfd ? "memfd" : "anonymous",
	       memfd ? (u->markers ? ", uffd markers" : ", uffd before the fix") : "",
	       (unsigned long long)steps, (unsigned long long)seed,
	       (unsigned long long)(seed + runs - 1));
	for (int p = first_pol; p <= last_pol; p++) {
		uint64_t hits[S2HOST_NR_RULES] = { 0 }, first[S2HOST_NR_RULES] = { 0 };
		uint64_t logged = 0;
		printf("policy %s (%s):", s2host_policy_name(p), s2host_policy_kernels(p));
		for (uint64_t s = seed; s < seed + runs; s++) {
			struct s2host_config cfg;
			struct s2host *h;
			s2host_config_init(&cfg, (enum s2host_policy)p);
			cfg.nr_pages = 1024;
			apply_fixes(&cfg, u);
			if (s2host_create(&cfg, &h) || gen(h, s, (unsigned)steps, NULL, NULL)) {
				s2host_destroy(h);
				fprintf(stderr, "s2emu host: out of memory\n");
				return 2;
			}
			unsigned m = s2host_fired(h);
			for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
				if (m & (1u << r) && !hits[r]++)
					first[r] = s;
			if (m && !logged)
				logged = s;
			s2host_destroy(h);
		}
		unsigned any = 0;
		for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
			if (hits[r]) {
				printf("%s %s in %llu run(s), first seed %llu", any++ ? "," : "",
				       s2host_rule_name(r), (unsigned long long)hits[r],
				       (unsigned long long)first[r]);
			}
		printf("%s\n", any ? "" : " no rule fired");
		status |= any ? 1 : 0;
		if (rec) {
			int r = record(rec, p, memfd, u, logged ? logged : seed, steps);
			if (r)
				return r;
			printf("  recorded seed %llu in %s\n",
			       (unsigned long long)(logged ? logged : seed), rec);
		}
		if (log && logged) {
			struct s2host_config cfg;
			struct s2host *h;
			s2host_config_init(&cfg, (enum s2host_policy)p);
			cfg.nr_pages = 1024;
			apply_fixes(&cfg, u);
			if (s2host_create(&cfg, &h))
				return 2;
			printf("  seed %llu:\n", (unsigned long long)logged);
			gen(h, logged, (unsigned)steps, print_line, NULL);
			for (unsigned i = 0; i < s2host_nr_violations(h); i++)
				printf("  violation: %s at op %llu: %s\n",
				       s2host_rule_name(s2host_violation(h, i)->rule),
				       (unsigned long long)s2host_violation(h, i)->op,
				       s2host_violation(h, i)->what);
			s2host_destroy(h);
		}
	}
	return status;
}

static void print_violation(void *arg, const char *line)
{
	(void)arg;
	printf("  %s\n", line);
}

/* s2emu host replay FILE...: run host programs and check their expectations. */
static int run_replay(int argc, char **argv, int first, int policy)
{
	int status = 0;

	for (int i = first; i < argc; i++) {
		uint8_t *data;
		size_t n;
		char err[256];
		struct s2trace_host_result res;
		if (s2_read_file(argv[i], &data, &n)) {
			fprintf(stderr, "%s:0: cannot read the file\n", argv[i]);
			return 2;
		}
		printf("%s:\n", argv[i]);
		int ret = s2trace_host_run((const char *)data, n, argv[i], policy, print_violation,
					   NULL, &res, err, sizeof(err));
		free(data);
		if (ret) {
			fflush(stdout);
			fprintf(stderr, "%s\n", ret == S2_EPARSE ? err : s2_err_msg(ret));
			return 2;
		}
		printf("  policy %s (%s): %u operations; fired ", s2host_policy_name(res.policy),
		       s2host_policy_kernels(res.policy), res.ops);
		print_mask(res.fired, false);
		bool ok = res.failed_checks == 0 && (res.has_expect ? res.fired == res.expected : !res.fired);
		if (res.has_expect) {
			printf("; expected ");
			print_mask(res.expected, false);
		}
		printf(" (%s)\n", ok ? "as expected" : "NOT as expected");
		if (res.failed_checks)
			printf("  %u check(s) failed; the first: %s\n", res.failed_checks, res.first_failure);
		status |= !ok;
	}
	return status;
}

int cli_host(int argc, char **argv)
{
	const char *name = NULL;
	int policy = S2HOST_POL_AE;
	bool all = false, json = false, log = false, memfd = false;
	struct uffd_fixes fixes = { true, true, true };
	bool policy_given = false;
	const char *rec = NULL;
	int files = 0;	/* replay: index of the first file */
	uint64_t seed = 1, runs = 200, steps = 0;	/* 0: the world's default */

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--log")) {
			log = true;
		} else if (!strcmp(argv[i], "--record")) {
			if (++i == argc) {
				fprintf(stderr, "s2emu host: --record needs a file\n");
				return 2;
			}
			rec = argv[i];
		} else if (!strcmp(argv[i], "--world") || !strcmp(argv[i], "--uffd-policy")) {
			const char *opt = argv[i];
			const char *v = i + 1 < argc ? argv[++i] : "";
			if (!strcmp(opt, "--world") && (!strcmp(v, "anon") || !strcmp(v, "memfd"))) {
				memfd = !strcmp(v, "memfd");
			} else if (!strcmp(opt, "--uffd-policy") && uffd_words(v, &fixes)) {
				/* applied */
			} else {
				fprintf(stderr, "s2emu host: %s takes %s, not '%s'\n", opt,
					opt[2] == 'w' ? "anon or memfd"
						      : "markers, pre-fix, wp-flush, no-wp-flush, fork-fix "
							"or no-fork-fix, comma-separated",
					v);
				return 2;
			}
		} else if (!strcmp(argv[i], "--seed") || !strcmp(argv[i], "--runs") ||
			   !strcmp(argv[i], "--steps")) {
			const char *opt = argv[i];
			uint64_t *dst = opt[2] == 's' ? (opt[3] == 'e' ? &seed : &steps) : &runs;
			if (i + 1 == argc) {
				fprintf(stderr, "s2emu host: %s needs a value\n", opt);
				return 2;
			}
			if (cli_parse_u64("host", opt, argv[++i], dst == &seed ? 0 : 1,
					  dst == &seed ? UINT64_MAX / 2 : 1000000, dst))
				return 2;
		} else if (!strcmp(argv[i], "--cow-policy")) {
			if (++i == argc) {
				fprintf(stderr, "s2emu host: --cow-policy needs a value\n");
				return 2;
			}
			all = !strcmp(argv[i], "all");
			policy = all ? 0 : s2host_policy_parse(argv[i]);
			policy_given = true;
			if (policy < 0) {
				fprintf(stderr, "s2emu host: unknown COW policy '%s' (MAP0, MAP1, MAP2, "
						"MAP2+F, CNT, CNT2, AE or all)\n", argv[i]);
				return 2;
			}
		} else if (name && !strcmp(name, "replay") && argv[i][0] != '-') {
			if (!files)
				files = i;
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
	if (!strcmp(name, "replay")) {
		if (!files || all || json) {
			fprintf(stderr, "s2emu host: replay takes files (and one --cow-policy at most)\n");
			return 2;
		}
		/* files may also come after options: collect every non-option */
		int status = 0;
		for (int i = files; i < argc; i++) {
			if (argv[i][0] == '-') {
				i += !strcmp(argv[i], "--cow-policy");
				continue;
			}
			char *one[1] = { argv[i] };
			int r = run_replay(1, one, 0, policy_given ? policy : -1);
			if (r == 2)
				return 2;
			status |= r;
		}
		return status;
	}
	if (!strcmp(name, "random")) {
		if (json) {
			fprintf(stderr, "s2emu host: random has no --json output\n");
			return 2;
		}
		if (rec && all) {
			fprintf(stderr, "s2emu host: --record needs one --cow-policy, not all\n");
			return 2;
		}
		if (!steps)
			steps = memfd ? 80 : 40;	/* the memfd world's windows need more steps */
		return run_random(all ? 0 : policy, all ? S2HOST_NR_POLICIES - 1 : policy, seed, runs,
				  steps, log, memfd, &fixes, rec);
	}
	struct any_scenario sc;
	if (!find(name, &sc)) {
		fprintf(stderr, "s2emu host: unknown scenario '%s' (s2emu host --help lists them)\n",
			name);
		return 2;
	}
	int status = 0;
	if (json)
		printf("[");
	else
		printf("scenario %s (%s): %s\n", sc.name, sc.spec, sc.desc);
	for (int p = all ? 0 : policy; p <= (all ? S2HOST_NR_POLICIES - 1 : policy); p++) {
		int r = run_one(&sc, (enum s2host_policy)p, json, p == (all ? 0 : policy));
		if (r < 0) {
			fprintf(stderr, "s2emu host: out of memory\n");
			return 2;
		}
		status |= r;
	}
	if (json)
		printf("\n]\n");
	if (cli_close_output("host", stdout, NULL))
		return 2;
	return status;
}
