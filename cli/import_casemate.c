/* s2emu import-casemate: a casemate transition log as an effect trace. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/s2_err.h"
#include "traces/s2trace_casemate.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu import-casemate [--vtcr VALUE] [-o OUT] FILE\n\n"
		   "Converts a casemate transition log (the s-expressions casemate's tracer\n"
		   "prints for pKVM: mem-write, mem-init, barrier, tlbi, sysreg-write, lock,\n"
		   "...) into low-level effect events of docs/trace-format.md, on standard\n"
		   "output or in OUT. Each effect keeps the record's thread id, and its\n"
		   "source location and id as a comment. The few records with nothing to\n"
		   "check (reads and frees of memory no mem-init covers, MAIR_EL2) are kept\n"
		   "as '# unused:' comments and summed up at the end and on standard error;\n"
		   "an unknown or damaged record is an error. '-' reads standard input.\n\n"
		   "  --vtcr VALUE   write this VTCR_EL2 first; casemate logs rarely carry one\n"
		   "                 (without: 4K pages, 48-bit IPA, start level 0)\n"
		   "  -o OUT         write the trace to OUT instead of standard output\n\n"
		   "exit status: 0 converted, 2 bad input or usage.\n");
}

int cli_import_casemate(int argc, char **argv)
{
	struct s2trace_cm_opts opts = { 0 };
	const char *path = NULL, *out_path = NULL;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "--vtcr")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu import-casemate: --vtcr needs a value\n");
				return 2;
			}
			if (cli_parse_u64("import-casemate", o, argv[++i], 0, UINT64_MAX, &opts.vtcr))
				return 2;
			opts.have_vtcr = true;
		} else if (!strcmp(o, "-o")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu import-casemate: -o needs a file\n");
				return 2;
			}
			out_path = argv[++i];
		} else if (o[0] == '-' && o[1]) {
			fprintf(stderr, "s2emu import-casemate: unknown option '%s' "
					"(try 's2emu import-casemate --help')\n", o);
			return 2;
		} else if (path) {
			fprintf(stderr, "s2emu import-casemate: one log at a time ('%s' and '%s')\n",
				path, o);
			return 2;
		} else {
			path = o;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}

	FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in) {
		fprintf(stderr, "s2emu import-casemate: %s: cannot open: %s\n", path, strerror(errno));
		return 2;
	}
	/* Nothing reaches OUT or standard output unless the whole log converts. */
	struct cli_output out;
	if (cli_output_open("import-casemate", &out, out_path)) {
		if (in != stdin)
			fclose(in);
		return 2;
	}

	struct s2trace_cm_result res;
	int ret = s2trace_cm_convert(in, path, out.f, &opts, &res);
	if (in != stdin)
		fclose(in);
	if (ret) {
		fprintf(stderr, "s2emu import-casemate: %s\n", res.error);
		cli_output_abort(&out);
		return 2;
	}
	if (cli_output_commit("import-casemate", &out))
		return 2;

	char prefix[300];
	snprintf(prefix, sizeof(prefix), "s2emu import-casemate: %s: ", path);
	if (!res.saw_vtcr)
		fprintf(stderr, "%sthe log writes no vtcr_el2; replay takes a 4K granule and a 48-bit IPA "
			"space (--vtcr gives another)\n",
			prefix);
	s2trace_cm_print_unused(stderr, prefix, &res);
	return 0;
}
