#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/s2_text.h"
#include "walker/s2pt.h"

void cli_json_string(const char *s)
{
	s2_json_string(stdout, s);
}

int cli_variants(int argc, char **argv)
{
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--help")) {
			printf("usage: s2emu variants [--json]\n\n"
			       "Lists the walker variants selectable with --walker NAME: the\n"
			       "orderings of table-to-block coalescing, and known-buggy ones\n"
			       "(marked BUGGY) that the checker must catch.\n");
			return 0;
		} else {
			fprintf(stderr, "s2emu variants: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (json)
		printf("[");
	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++) {
		const char *name = s2pt_variant_name((enum s2pt_variant)v);
		const char *desc = s2pt_variant_desc((enum s2pt_variant)v);
		if (json) {
			printf("%s\n  {\"name\": ", v ? "," : "");
			cli_json_string(name);
			printf(", \"buggy\": %s, \"description\": ",
			       s2pt_variant_is_buggy((enum s2pt_variant)v) ? "true" : "false");
			cli_json_string(desc);
			printf("}");
		} else {
			printf("%-26s %s\n", name, desc);
		}
	}
	if (json)
		printf("\n]\n");
	return 0;
}
