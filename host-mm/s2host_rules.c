/* The names, meanings and sources of s2host_rules.h's table. */
#include <string.h>

#include "host-mm/s2host_rules.h"

static const struct {
	const char *name, *meaning, *source;
} rules[S2HOST_NR_RULES] = {
#define S2HOST_RULE_INFO(id, name, meaning, source) [id] = { name, meaning, source },
	S2HOST_RULE_TABLE(S2HOST_RULE_INFO)
#undef S2HOST_RULE_INFO
};

const char *s2host_rule_name(enum s2host_rule r)
{
	return (unsigned)r < S2HOST_NR_RULES ? rules[r].name : "?";
}

const char *s2host_rule_meaning(enum s2host_rule r)
{
	return (unsigned)r < S2HOST_NR_RULES ? rules[r].meaning : "?";
}

const char *s2host_rule_source(enum s2host_rule r)
{
	return (unsigned)r < S2HOST_NR_RULES ? rules[r].source : "?";
}

int s2host_rule_parse(const char *name)
{
	for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
		if (!strcmp(name, rules[r].name))
			return (int)r;
	return -1;
}
