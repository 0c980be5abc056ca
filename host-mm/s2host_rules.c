/* The names, meanings and sources of s2host_rules.h's table. */
#include "common/s2_rules.h"
#include "host-mm/s2host_rules.h"

static const struct s2_rule_row rules[S2HOST_NR_RULES] = {
	S2HOST_RULE_TABLE(S2_RULE_ROW)
};

const char *s2host_rule_name(enum s2host_rule r)
{
	return s2_rule_row(rules, S2HOST_NR_RULES, r)->name;
}

const char *s2host_rule_meaning(enum s2host_rule r)
{
	return s2_rule_row(rules, S2HOST_NR_RULES, r)->meaning;
}

const char *s2host_rule_source(enum s2host_rule r)
{
	return s2_rule_row(rules, S2HOST_NR_RULES, r)->source;
}

int s2host_rule_parse(const char *name)
{
	return s2_rule_parse(rules, S2HOST_NR_RULES, name);
}
