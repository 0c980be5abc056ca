/* s2_rules: the rows of a rule table and the look-ups every table shares.
 *
 * A module writes its rules once, as an X-macro table of rows (id, stable
 * name, meaning, source: see hyp-model/s2hyp_rules.h); it generates the
 * module's enum and, through S2_RULE_ROW, the array of rows that
 * s2_rule_row reads. A rule is found by its name where text is read
 * (traces/grammar.c's word tables, generated from the same X-macro), never
 * in the model that checks it. */
#ifndef S2_RULES_H
#define S2_RULES_H

struct s2_rule_row {
	const char *name;	/* stable: used in traces, reports and JSON */
	const char *meaning;
	const char *source;
};

/* One row of an array initialiser: [id] = { name, meaning, source }. */
#define S2_RULE_ROW(id, name, meaning, source) [id] = { name, meaning, source },

/* A module's look-ups of its rows, PREFIX_name, _meaning and _source (for
 * an out-of-range rule: "?"), as its header declares them. */
#define S2_RULE_LOOKUPS(prefix, type, rows, n)                                  \
	const char *prefix##_name(type r) { return s2_rule_row(rows, n, r)->name; }       \
	const char *prefix##_meaning(type r) { return s2_rule_row(rows, n, r)->meaning; } \
	const char *prefix##_source(type r) { return s2_rule_row(rows, n, r)->source; }

/* Row r of the n rows; a row of "?" for an r out of range. */
const struct s2_rule_row *s2_rule_row(const struct s2_rule_row *rows, unsigned n, unsigned r);

#endif
