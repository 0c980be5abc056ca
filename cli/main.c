/* s2emu: the command-line front end. One table of commands; each parses its
 * own options and returns 0 (ok), 1 (a check failed) or 2 (bad input). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct cli_command commands[] = {
	{ "run", "run a built-in scenario with every rule checked", cli_run },
	{ "host", "run a host memory-management scenario (COW, pins, THP) under a COW policy", cli_host },
	{ "run-guest", "run AArch64 guest code on the vCPUs, stage 2 ours (Unicorn)", cli_run_guest },
	{ "replay", "replay traces with every rule checked", cli_replay },
	{ "fuzz", "search interleavings for rule violations and shrink what fires", cli_fuzz },
	{ "bugs", "hunt the table of real Linux bugs from generated scenarios", cli_bugs },
	{ "report", "draw a trace's run as an HTML page with an SVG timeline", cli_report },
	{ "import-ftrace", "convert Linux ftrace text of KVM events into a trace", cli_import_ftrace },
	{ "import-casemate", "convert a casemate transition log into effect events", cli_import_casemate },
	{ "variants", "list the walker variants and what each does differently", cli_variants },
	{ "rules", "list the rules the checker enforces", cli_rules },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2emu [--help] [--version] COMMAND [ARGS]\n"
		"\n"
		"s2emu runs an independent reimplementation of arm64 KVM's stage-2\n"
		"page-table code in a simulated machine and checks refcounts, TLB\n"
		"maintenance and cache maintenance at every step.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n's2emu COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return cli_close_output(NULL, stdout, NULL) ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("s2emu %s\n", S2EMU_VERSION);
		return cli_close_output(NULL, stdout, NULL) ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			int rc = commands[i].run(argc - 1, argv + 1);
			/* Output that did not reach its file is an error, whatever
			 * the command concluded. */
			if (cli_close_output(commands[i].name, stdout, NULL))
				return 2;
			return rc;
		}
	fprintf(stderr, "s2emu: unknown command '%s' (try 's2emu --help')\n", argv[1]);
	return 2;
}
