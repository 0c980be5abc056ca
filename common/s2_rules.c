/* The look-ups of a rule table's rows (s2_rules.h). */
#include "common/s2_rules.h"
#include "common/s2_text.h"

const struct s2_rule_row *s2_rule_row(const struct s2_rule_row *rows, unsigned n, unsigned r)
{
	static const struct s2_rule_row unknown = { "?", "?", "?" };
	return r < n ? &rows[r] : &unknown;
}

int s2_rule_parse(const struct s2_rule_row *rows, unsigned n, const char *name)
{
	return s2_find_name(rows, n, sizeof(*rows), name);
}
