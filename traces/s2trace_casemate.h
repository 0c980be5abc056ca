/* s2trace_casemate: casemate transition logs as effect traces.
 *
 * casemate (github.com/rems-project/casemate) checks pKVM's page-table
 * protocol at run time; instrumented code logs every step it takes as one
 * s-expression, a "transition":
 *
 *   (mem-write (id 8) (tid 0) (mem-order plain) (address 0x41234000) (value 0x0) (src "pgtable.c:42"))
 *   (barrier (id 9) (tid 0) dsb (kind ish) (src "pgtable.c:43"))
 *   (tlbi (id 10) (tid 0) ipas2e1is (value 0x40000) (src "pgtable.c:44"))
 *
 * A record is a transition name, its sequence id and thread id, its own
 * fields and an optional source location, each field either "(key value)"
 * or, in casemate's condensed form, the bare value in that order. A line
 * "! message" is casemate's own verdict. The reader here parses that
 * syntax into records; the converter maps each record onto the effect
 * events of docs/trace-format.md ("Low-level effect events"), and counts
 * and lists the records it cannot map instead of dropping them.
 *
 * "cm" in the names is casemate.
 */
#ifndef S2TRACE_CASEMATE_H
#define S2TRACE_CASEMATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct s2trace_event;

#define S2TRACE_CM_MAX_NAME 32		/* transition names and enumeration words */
#define S2TRACE_CM_MAX_TEXT 256		/* strings: source locations, verdicts */

enum s2trace_cm_kind {
	S2T_CM_MEM_WRITE,	/* mem-order, address, value */
	S2T_CM_MEM_READ,	/* address, value */
	S2T_CM_MEM_INIT,	/* address, size: zeroed memory (a new table page) */
	S2T_CM_MEM_FREE,	/* address, size */
	S2T_CM_MEM_SET,		/* address, size, value: every byte set to value */
	S2T_CM_SYSREG_WRITE,	/* sysreg, value ("msr" is an older name) */
	S2T_CM_BARRIER,		/* dsb with a kind (domain), or isb */
	S2T_CM_TLBI,		/* an operation, and for by-address ones its operand */
	S2T_CM_HINT,		/* kind, location, value: ghost-state bookkeeping */
	S2T_CM_LOCK,		/* address of the lock */
	S2T_CM_TRYLOCK,
	S2T_CM_UNLOCK,
	S2T_CM_UNKNOWN,		/* a transition name this reader does not know */
	S2T_CM_VERDICT,		/* a "! message" line */
};

struct s2trace_cm_record {
	enum s2trace_cm_kind kind;
	unsigned line;				/* where the record starts */
	char name[S2TRACE_CM_MAX_NAME];		/* the transition, lower case */
	uint64_t id, tid;
	bool have_src;
	bool src_is_key;			/* an integer key into a table of locations */
	uint64_t src_key;
	char src[S2TRACE_CM_MAX_TEXT];		/* "file:line" as written */
	bool release;				/* MEM_WRITE: mem-order release */
	uint64_t address;			/* MEM_*, locks; HINT: location */
	uint64_t size;				/* MEM_INIT, MEM_FREE, MEM_SET */
	uint64_t value;				/* MEM_WRITE/READ/SET, SYSREG_WRITE, HINT; TLBI: operand */
	/* SYSREG_WRITE: the register; BARRIER: dsb or isb; TLBI: the operation;
	 * HINT: its kind. Lower case. */
	char what[S2TRACE_CM_MAX_NAME];
	char domain[S2TRACE_CM_MAX_NAME];	/* BARRIER dsb: ish, ishst, nsh, sy, ... */
	bool have_operand;			/* TLBI: value holds the Xt operand */
	char message[S2TRACE_CM_MAX_TEXT];	/* VERDICT */
};

struct s2trace_cm_reader;

/* A reader of the stream f (not closed by the reader); name is for errors. */
struct s2trace_cm_reader *s2trace_cm_reader_new(FILE *f, const char *name);
void s2trace_cm_reader_free(struct s2trace_cm_reader *r);
/* 1: *rec holds the next record; 0: end of input; negative (S2_EPARSE, or
 * S2_EIO on a read error): s2trace_cm_error() says "NAME:LINE: problem". */
int s2trace_cm_next(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec);
const char *s2trace_cm_error(const struct s2trace_cm_reader *r);

/* The TLBI operand of a by-address operation (IPA bits [51:12] in Xt
 * bits [39:0], the TTL hint in bits [47:44]): the IPA, and the level the
 * hint names, or -1 when the hint says nothing. */
uint64_t s2trace_cm_tlbi_ipa(uint64_t operand);
int s2trace_cm_tlbi_level(uint64_t operand);

/* ------------------------------------------------------------------ */
/* Conversion                                                          */
/* ------------------------------------------------------------------ */

struct s2trace_cm_opts {
	bool have_vtcr;		/* write this VTCR_EL2 first (casemate logs rarely have one) */
	uint64_t vtcr;
	/* With on_event, no text is written (out is not used): each effect
	 * is handed to on_event as the event the trace reader would read from
	 * its line, with the log record's line as its own, so that a checker
	 * takes the log without a text round trip (s2emu replay LOG). */
	void (*on_event)(void *arg, const struct s2trace_event *ev);
	void *arg;
};

#define S2TRACE_CM_MAX_UNUSED 32	/* distinct kinds of unused record listed */
#define S2TRACE_CM_UNUSED_LINES 8	/* lines listed for each */

/* Records of one kind (transition and what) left out for one reason. */
struct s2trace_cm_unused {
	char what[3 * S2TRACE_CM_MAX_NAME];	/* "barrier dsb osh" */
	const char *reason;
	uint64_t count;
	unsigned lines[S2TRACE_CM_UNUSED_LINES];
};

struct s2trace_cm_result {
	uint64_t records;	/* transitions read (verdicts not counted) */
	uint64_t mapped;	/* records that gave at least one effect */
	uint64_t effects;	/* effect lines written */
	uint64_t unused;	/* records that gave none */
	uint64_t verdicts;	/* "!" lines kept as comments */
	unsigned ngroups;
	struct s2trace_cm_unused groups[S2TRACE_CM_MAX_UNUSED];
	uint64_t ungrouped;	/* unused records past the last group */
	bool saw_vtcr, saw_vttbr;
	char verdict[S2TRACE_CM_MAX_TEXT];	/* casemate's last "!" line, or "" */
	char error[600];	/* on failure: "NAME:LINE: problem" */
};

/*
 * Convert the casemate log in (named name) to a version-1 trace on out:
 * the header, then one or more effect lines per record with its source
 * location and id as a comment, a "# unused:" comment in place of each
 * record that maps to nothing, and a summary of those at the end.
 * Returns 0, S2_EPARSE for a malformed log (res->error names the line;
 * what was written so far stays), S2_EIO when out cannot be written or in
 * read, S2_ENOMEM. With o->on_event the same events go to it instead
 * and out may be NULL.
 */
int s2trace_cm_convert(FILE *in, const char *name, FILE *out, const struct s2trace_cm_opts *o,
		       struct s2trace_cm_result *res);

/* The unused records, one line per group, each line starting with prefix. */
void s2trace_cm_print_unused(FILE *f, const char *prefix, const struct s2trace_cm_result *res);

#endif
