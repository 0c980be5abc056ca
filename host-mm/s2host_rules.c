/* The names, meanings and sources of s2host_rules.h's table. */
#include "common/s2_rules.h"
#include "host-mm/s2host_rules.h"

static const struct s2_rule_row rules[S2HOST_NR_RULES] = {
	S2HOST_RULE_TABLE(S2_RULE_ROW)
};

S2_RULE_LOOKUPS(s2host_rule, enum s2host_rule, rules, S2HOST_NR_RULES)
