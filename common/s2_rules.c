/* The look-ups of a rule table's rows (s2_rules.h). */
#include <string.h>

#include "common/s2_rules.h"

const struct s2_rule_row *s2_rule_row(const struct s2_rule_row *rows, unsigned n, unsigned r)
{
	static const struct s2_rule_row unknown = { "?", "?", "?" };
	return r < n ? &rows[r] : &unknown;
}

int s2_rule_parse(const struct s2_rule_row *rows, unsigned n, const char *name)
{
	for (unsigned r = 0; r < n; r++)
		if (!strcmp(name, rows[r].name))
			return (int)r;
	return -1;
}
