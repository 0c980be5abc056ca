/* s2emu rules: the checker's rules, from the one table in s2hyp_rules.h. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "host-mm/s2host_rules.h"
#include "hyp-model/s2hyp_rules.h"

int cli_rules(int argc, char **argv)
{
	enum format { TEXT, JSON, MARKDOWN } fmt = TEXT;
	bool host = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "--markdown")) {
			enum format f = argv[i][2] == 'j' ? JSON : MARKDOWN;
			if (fmt != TEXT && fmt != f) {
				fprintf(stderr, "s2emu rules: --json and --markdown are two formats; "
						"give one\n");
				return 2;
			}
			fmt = f;
		} else if (!strcmp(argv[i], "--host")) {
			host = true;
		} else if (!strcmp(argv[i], "--help")) {
			printf("usage: s2emu rules [--host] [--json | --markdown]\n\n"
			       "Lists the rules the checker enforces: the stable name used in\n"
			       "reports, traces and expect lines, what it means, and its source.\n"
			       "--markdown prints the table docs/checks.md carries.\n"
			       "--host lists the host memory model's rules instead (host-mm/,\n"
			       "docs/host-mm.md carries their table).\n");
			return 0;
		} else {
			fprintf(stderr, "s2emu rules: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (fmt == JSON)
		printf("[");
	if (fmt == MARKDOWN)
		printf("| rule | meaning | source |\n| --- | --- | --- |\n");
	unsigned nr = host ? S2HOST_NR_RULES : S2HYP_NR_RULES;
	for (unsigned r = 0; r < nr; r++) {
		const char *name = host ? s2host_rule_name((enum s2host_rule)r)
					: s2hyp_rule_name((enum s2hyp_rule)r);
		const char *meaning = host ? s2host_rule_meaning((enum s2host_rule)r)
					   : s2hyp_rule_meaning((enum s2hyp_rule)r);
		const char *source = host ? s2host_rule_source((enum s2host_rule)r)
					  : s2hyp_rule_source((enum s2hyp_rule)r);
		switch (fmt) {
		case TEXT:
			printf("%-28s %s\n%-28s (%s)\n", name, meaning, "", source);
			break;
		case MARKDOWN:
			printf("| `%s` | %s | %s |\n", name, meaning, source);
			break;
		case JSON:
			printf("%s\n  {\"name\": ", r ? "," : "");
			cli_json_string(name);
			printf(", \"meaning\": ");
			cli_json_string(meaning);
			printf(", \"source\": ");
			cli_json_string(source);
			printf("}");
			break;
		}
	}
	if (fmt == JSON)
		printf("\n]\n");
	return 0;
}
