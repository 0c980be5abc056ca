/* The look-ups of a rule table's rows (s2_rules.h). */
#include "common/s2_rules.h"

const struct s2_rule_row *s2_rule_row(const struct s2_rule_row *rows, unsigned n, unsigned r)
{
	static const struct s2_rule_row unknown = { "?", "?", "?" };
	return r < n ? &rows[r] : &unknown;
}

