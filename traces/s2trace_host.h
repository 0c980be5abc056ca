/* s2trace_host: host programs, the text form of a run of the host memory
 * model (host-mm/): one host operation a line, with labels for processes
 * (P0..), GUP references (R0..) and memfds (F0..), and expect lines. The
 * generic generator's --log output is such a program. docs/trace-format.md
 * ("Host programs") has the grammar.
 *
 * Every error is one line "FILE:LINE: problem". */
#ifndef S2TRACE_HOST_H
#define S2TRACE_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "host-mm/s2host.h"

struct s2trace_host_result {
	enum s2host_policy policy;
	unsigned fired;		/* rules that fired (1u << enum s2host_rule) */
	unsigned expected;	/* what the expect lines said */
	bool has_expect;
	unsigned ops;		/* operations run */
	unsigned failed_checks;	/* "= VALUE" and "!ERR" checks that did not hold */
	char first_failure[200];
};

/*
 * Parse and run the program text[0..len) (named file in messages) on a
 * fresh host. If policy_override >= 0 it replaces the program's policy
 * line. Violations are reported through report (may be NULL), one line
 * each. S2_EPARSE with err set for bad input; S2_ENOMEM.
 */
int s2trace_host_run(const char *text, size_t len, const char *file, int policy_override,
		     void (*report)(void *arg, const char *line), void *arg,
		     struct s2trace_host_result *res, char *err, size_t errn);

/* One word of the 'uffd' line (markers, pre-fix, wp-flush, no-wp-flush,
 * fork-fix, no-fork-fix) applied to the three uffd fixes of
 * struct s2host_config; -1 for another word. */
int s2trace_host_uffd_word(const char *w, bool *markers, bool *wp_flush, bool *fork_fix);

#endif
