/* s2emu replay: run traces with every rule checked. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "host-mm/s2host.h"
#include "traces/s2trace.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu replay [--from FORMAT] [--layout FILE] [--walker NAME] [--stats]\n"
		   "                    [--json] [--record OUT] [--ignore-ttl] [--check-fix]\n"
		   "                    [HOST OPTIONS] [--tlb-entries N] [--teardown] FILE...\n\n"
		   "Replays each trace (docs/trace-format.md) with every rule checked and\n"
		   "prints a summary: events, faults by kind, mappings by size, TLBIs and\n"
		   "CMOs, the rules that fired and whether each was expected, and the\n"
		   "expectations met or failed, with a report of each unexpected violation.\n"
		   "'-' reads standard input. A casemate log or a Linux ftrace capture (with\n"
		   "the capture kit's markers) is converted on the way, as import-casemate\n"
		   "and import-ftrace would, without an intermediate file.\n\n"
		   "  --from FORMAT   s2emu, casemate or ftrace; auto (the default) tells\n"
		   "                  them apart by the first lines\n"
		   "  --layout FILE   the memslots of an ftrace capture without the capture\n"
		   "                  kit's markers (as import-ftrace --layout)\n"
		   "  --walker NAME   use this walker variant instead of the trace's\n"
		   "  --stats         also print, per section of the trace, the counts a kernel\n"
		   "                  engineer compares: 'stat SECTION KEY VALUE' (faults by\n"
		   "                  class, level and access; maps, relaxes, coalesces; table\n"
		   "                  pages; breaks, makes, puts; TLBIs by kind; CMOs)\n"
		   "  --json          one JSON object per trace, in a JSON array (with the\n"
		   "                  sections' statistics)\n"
		   "  --record OUT    write the run (one trace) to OUT: its events, the schedule\n"
		   "                  taken, and expect lines for what happened\n"
		   "  --ignore-ttl    effect traces: take TLBI level hints as no hint (the\n"
		   "                  tlbi-ttl rule never fires)\n"
		   "  --check-fix     FILE is a recorded counterexample (its 'expect fired' lines\n"
		   "                  name the rules it broke) replayed on fixed code, usually\n"
		   "                  with --walker: its schedule is followed as far as it\n"
		   "                  applies, then the first enabled choice at each step; for\n"
		   "                  each recorded rule it says 'fixed: rule X no longer\n"
		   "                  fires' or 'not fixed: rule X still fires'; the trace's\n"
		   "                  other expect lines (the buggy run's outcome) are not checked\n"
		   "  --tlb-entries N entries of each vCPU's TLB (0: unlimited), instead of\n"
		   "                  the trace's config\n"
		   "  --teardown      end the VM after the last event when the trace does not\n"
		   "                  (so that the leak rule runs)\n\n"
		   "host options (each also as --NAME=0 or --NAME=1), instead of the trace's:\n"
		   "  --fwb           FEAT_S2FWB\n"
		   "  --idc, --dic    CTR_EL0.IDC, CTR_EL0.DIC\n"
		   "  --range-tlbi    FEAT_TLBIRANGE: KVM flushes ranges with range TLBIs\n"
		   "  --hw-af         the hardware access flag at stage 2 (FEAT_HAFDBS)\n"
		   "  --cow-policy P  guest memory on the host model under COW policy P (the\n"
		   "                  trace's host-mm=, or host memory where it had none)\n"
		   "  --uffd-policy W,... the userfaultfd fixes on host memory, instead of\n"
		   "                  the trace's: pre-fix (no PTE markers), no-wp-flush,\n"
		   "                  no-fork-fix, comma-separated; default all fixes\n"
		   "  --rcu           unlinked tables are freed after an RCU grace period\n"
		   "  --combined-tlb  the TLBs hold combined stage 1+2 leaves only (qemu's\n"
		   "                  TCG): TLBI VMALLE1(IS) removes them\n\n"
		   "exit status: 0 every expectation held and no rule fired unexpectedly,\n"
		   "1 an expectation failed or a rule fired unexpectedly, 2 bad input or usage.\n"
		   "With --check-fix: 0 fixed (no rule fires), 1 not fixed, 2 when a trace\n"
		   "records no rule that fired.\n");
}

struct progress {
	const char *name;
	struct timespec t0, last;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

/* At most five times a second, on a terminal only. */
static void show_progress(void *arg, uint64_t events)
{
	struct progress *p = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&p->last, &now) < 0.2)
		return;
	p->last = now;
	double dt = since(&p->t0, &now);
	fprintf(stderr, "\r%s: %llu events, %.0f events/s   ", p->name, (unsigned long long)events,
		dt > 0 ? events / dt : 0.0);
}

/* --NAME, --NAME=0, --NAME=1 of a host feature: 1 taken, 0 not one, -1 bad. */
static int host_option(const char *o, struct s2trace_replay_opts *opts)
{
	static const struct {
		const char *name;
		unsigned bit;
		size_t off;
	} feats[] = {
		{ "--fwb", S2T_CFG_FWB, offsetof(struct s2hyp_config, fwb) },
		{ "--idc", S2T_CFG_IDC, offsetof(struct s2hyp_config, idc) },
		{ "--dic", S2T_CFG_DIC, offsetof(struct s2hyp_config, dic) },
		{ "--range-tlbi", S2T_CFG_RANGE_TLBI, offsetof(struct s2hyp_config, range_tlbi) },
		{ "--hw-af", S2T_CFG_HW_AF, offsetof(struct s2hyp_config, hw_af) },
		{ "--rcu", S2T_CFG_RCU, offsetof(struct s2hyp_config, rcu_free) },
		{ "--combined-tlb", S2T_CFG_COMBINED_TLB, offsetof(struct s2hyp_config, combined_tlb) },
	};
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		size_t n = strlen(feats[i].name);
		if (strncmp(o, feats[i].name, n) || (o[n] && o[n] != '='))
			continue;
		bool on = true;
		if (o[n] == '=') {
			if (strcmp(o + n + 1, "0") && strcmp(o + n + 1, "1")) {
				fprintf(stderr, "s2emu replay: %s takes =0 or =1, not '%s'\n",
					feats[i].name, o + n + 1);
				return -1;
			}
			on = o[n + 1] == '1';
		}
		*(bool *)((char *)&opts->cfg + feats[i].off) = on;
		opts->set |= feats[i].bit;
		return 1;
	}
	return 0;
}

int cli_replay(int argc, char **argv)
{
	struct s2trace_replay_opts opts = { 0 };
	bool json = false, stats = false;
	int nfiles = 0, status = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--json")) {
			json = true;
		} else if (!strcmp(o, "--ignore-ttl")) {
			opts.ignore_ttl = true;
		} else if (!strcmp(o, "--check-fix")) {
			opts.check_fix = true;
		} else if (!strcmp(o, "--stats")) {
			stats = true;
		} else if (!strcmp(o, "--teardown")) {
			opts.teardown = true;
		} else if (!strcmp(o, "--cow-policy")) {
			int pol = i + 1 < argc ? s2host_policy_parse(argv[i + 1]) : -1;
			if (pol < 0) {
				fprintf(stderr, "s2emu replay: --cow-policy needs a policy (MAP0, MAP1, "
						"MAP2, MAP2+F, CNT, CNT2, AE)\n");
				return 2;
			}
			i++;
			opts.cfg.host_mm = true;
			opts.cfg.cow_policy = (unsigned)pol;
			opts.set |= S2T_CFG_HOST_MM;
		} else if (!strcmp(o, "--uffd-policy")) {
			if (cli_machine_option(argc, argv, &i, &opts.cfg, "replay") < 0)
				return 2;
			opts.set |= S2T_CFG_UFFD;
		} else if (!strcmp(o, "--tlb-entries")) {
			uint64_t n;
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu replay: --tlb-entries needs a value\n");
				return 2;
			}
			if (cli_parse_u64("replay", o, argv[++i], 0, 1u << 20, &n))
				return 2;
			opts.cfg.tlb_entries = (unsigned)n;
			opts.set |= S2T_CFG_TLB_ENTRIES;
		} else if (!strcmp(o, "--record")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu replay: --record needs a file\n");
				return 2;
			}
			opts.record = argv[++i];
		} else if (!strcmp(o, "--from")) {
			const char *v = i + 1 < argc ? argv[++i] : NULL;
			if (v && !strcmp(v, "auto"))
				opts.from = S2TRACE_FMT_AUTO;
			else if (v && !strcmp(v, "s2emu"))
				opts.from = S2TRACE_FMT_NATIVE;
			else if (v && !strcmp(v, "casemate"))
				opts.from = S2TRACE_FMT_CASEMATE;
			else if (v && !strcmp(v, "ftrace"))
				opts.from = S2TRACE_FMT_FTRACE;
			else {
				fprintf(stderr, "s2emu replay: --from needs auto, s2emu, casemate or ftrace\n");
				return 2;
			}
		} else if (!strcmp(o, "--layout")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu replay: --layout needs a file\n");
				return 2;
			}
			opts.ftrace_layout = argv[++i];
		} else if (!strcmp(o, "--walker")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu replay: --walker needs a value\n");
				return 2;
			}
			if (s2pt_variant_parse(argv[++i], &opts.walker)) {
				char list[512];
				fprintf(stderr, "s2emu replay: unknown walker '%s' (valid: %s)\n", argv[i],
					s2pt_variant_list(list, sizeof(list)));
				return 2;
			}
			opts.have_walker = true;
		} else if (o[0] == '-' && o[1]) {
			int h = host_option(o, &opts);
			if (h < 0)
				return 2;
			if (h)
				continue;
			fprintf(stderr, "s2emu replay: unknown option '%s' (try 's2emu replay --help')\n", o);
			return 2;
		} else {
			nfiles++;
		}
	}
	if (!nfiles) {
		usage(stderr);
		return 2;
	}
	if (opts.record && nfiles > 1) {
		fprintf(stderr, "s2emu replay: --record takes one trace at a time\n");
		return 2;
	}
	if (opts.record && cli_check_writable("replay", opts.record))
		return 2;
	if (json)
		printf("[");
	int k = 0;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--walker") || !strcmp(o, "--record") || !strcmp(o, "--from") ||
		    !strcmp(o, "--layout") || !strcmp(o, "--tlb-entries") ||
		    !strcmp(o, "--cow-policy") || !strcmp(o, "--uffd-policy")) {
			i++;
			continue;
		}
		if (o[0] == '-' && o[1])
			continue;
		struct s2trace_result res;
		struct progress pr = { .name = o };
		if (isatty(STDERR_FILENO)) {
			clock_gettime(CLOCK_MONOTONIC, &pr.t0);
			pr.last = pr.t0;
			opts.progress = show_progress;
			opts.progress_arg = &pr;
		}
		int st = s2trace_replay(o, &opts, &res);
		if (opts.progress)
			fprintf(stderr, "\r%70s\r", "");
		if (opts.check_fix && !res.bad_input) {
			st = s2trace_fix_status(&res);
			if (st == 2)
				fprintf(stderr, "s2emu replay: --check-fix: %s records no rule that fired "
						"(no 'expect fired' line): nothing to check a fix against\n", o);
		}
		if (json) {
			printf("%s\n", k++ ? "," : "");
			s2trace_print_result_json(stdout, &res);
		} else if (res.bad_input) {
			fprintf(stderr, "s2emu replay: %s\n", res.error);
		} else {
			s2trace_print_result(stdout, &res);
			if (opts.check_fix)
				s2trace_print_fix(stdout, &res);
			if (stats)
				s2trace_print_stats(stdout, &res);
		}
		if (st > status)
			status = st;
		s2trace_result_free(&res);
	}
	if (json)
		printf("]\n");
	return status;
}
