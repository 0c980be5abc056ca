/* s2emu rules: the checker's rules, from the one table in s2hyp_rules.h. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "host-mm/s2host_rules.h"
#include "hyp-model/s2hyp_kvmhost.h"
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
			       "--host lists the host memory model's rules and those of KVM over\n"
			       "it instead (docs/host-mm.md carries their table).\n");
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
	/* --host: host-mm's rules, then those of KVM over the host model */
	unsigned nr = host ? S2HOST_NR_RULES + S2HYP_KVM_NR_RULES : S2HYP_NR_RULES;
	for (unsigned r = 0; r < nr; r++) {
		const char *name, *meaning, *source;
		if (!host) {
			name = s2hyp_rule_name((enum s2hyp_rule)r);
			meaning = s2hyp_rule_meaning((enum s2hyp_rule)r);
			source = s2hyp_rule_source((enum s2hyp_rule)r);
		} else if (r < S2HOST_NR_RULES) {
			name = s2host_rule_name((enum s2host_rule)r);
			meaning = s2host_rule_meaning((enum s2host_rule)r);
			source = s2host_rule_source((enum s2host_rule)r);
		} else {
			enum s2hyp_kvm_rule k = (enum s2hyp_kvm_rule)(r - S2HOST_NR_RULES);
			name = s2hyp_kvm_rule_name(k);
			meaning = s2hyp_kvm_rule_meaning(k);
			source = s2hyp_kvm_rule_source(k);
		}
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
