/* s2trace: the trace format of docs/trace-format.md (version 1): a
 * streaming reader, a writer, and replay with every rule checked.
 *
 * What it offers: the grammar's words and line fields (grammar.c), shared by the reader
 * (read.c, one event at a time, so memory does not grow with the length of
 * a trace) and the writer (write.c: any line from the event the reader
 * makes of it, a scenario as a whole trace), through which the importers
 * (s2trace_casemate.h, s2trace_ftrace.h) write too; the schedule-choice
 * syntax (choice.c); replay of any trace kind (replay.c with
 * replay_effect.c and replay_guest.c; its result printed by result.c), of
 * files in other formats converted on the way (stream.c). Every error is
 * one line "FILE:LINE: problem", in the input's terms. */
#ifndef S2TRACE_H
#define S2TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arch/s2arm.h"
#include "hyp-model/s2hyp.h"
#include "hyp-model/s2hyp_effect.h"
#include "hyp-model/s2hyp_scenario.h"

#define S2TRACE_VERSION 1
#define S2TRACE_MAX_SCHEDULE_LINE 4096	/* choices on one schedule line */
#define S2TRACE_MAX_SECTION_NAME 47	/* bytes of a section's name */

enum s2trace_kind {
	S2T_CONFIG,
	S2T_MEMSLOT,
	S2T_PHASE,
	S2T_HOST,
	S2T_VCPU,
	S2T_MMIO,
	S2T_EFFECT,
	S2T_SCHEDULE,
	S2T_EXPECT,
	S2T_GUEST,
	S2T_SECTION,
	S2T_ENTRY,
};

/* Which config keys a line gave (the others keep their defaults). */
enum s2trace_config_keys {
	S2T_CFG_GRANULE = 1 << 0, S2T_CFG_IPA_BITS = 1 << 1, S2T_CFG_VCPUS = 1 << 2,
	S2T_CFG_WALKER = 1 << 3, S2T_CFG_FWB = 1 << 4, S2T_CFG_IDC = 1 << 5,
	S2T_CFG_DIC = 1 << 6, S2T_CFG_LINE = 1 << 7, S2T_CFG_EAGER_SPLIT = 1 << 8,
	S2T_CFG_RCU = 1 << 9, S2T_CFG_RANGE_TLBI = 1 << 10, S2T_CFG_HW_AF = 1 << 11,
	S2T_CFG_TLB_ENTRIES = 1 << 12, S2T_CFG_HOST_MM = 1 << 13, S2T_CFG_SPLIT_CHUNK = 1 << 14,
	S2T_CFG_UFFD = 1 << 15, S2T_CFG_COMBINED_TLB = 1 << 16, S2T_CFG_HOST_KVM = 1 << 17,
};

enum s2trace_effect_kind {
	S2T_EFF_VTCR, S2T_EFF_VTTBR, S2T_EFF_ALLOC, S2T_EFF_FREE, S2T_EFF_PTE_WRITE,
	S2T_EFF_PTE_READ, S2T_EFF_DSB, S2T_EFF_ISB, S2T_EFF_TLBI, S2T_EFF_DC, S2T_EFF_IC,
	S2T_EFF_LOCK, S2T_EFF_UNLOCK, S2T_EFF_TRYLOCK, S2T_EFF_WRITE, S2T_EFF_SYSREG,
	S2T_EFF_HINT,
};

enum s2trace_expect_kind {
	S2T_EXP_MAPPED, S2T_EXP_UNMAPPED, S2T_EXP_FIRED, S2T_EXP_CLEAN, S2T_EXP_FAULTS,
	S2T_EXP_REFCOUNT,
};

struct s2trace_event {
	enum s2trace_kind kind;
	unsigned line;
	union {
		struct {
			unsigned given;		/* enum s2trace_config_keys */
			struct s2hyp_config cfg;
		} config;
		struct {
			unsigned id;
			struct s2hyp_memslot slot;
		} memslot;
		struct {
			uint64_t n;
			bool next;		/* "phase" with no number */
		} phase;
		struct s2hyp_host_op host;
		struct {
			unsigned vcpu;
			struct s2hyp_vcpu_op op;
			bool fault;		/* a "fault" line: op decoded from esr */
			uint64_t esr, pc;
		} vcpu;
		struct {
			unsigned vcpu;
			uint64_t ipa;
			bool write;
		} mmio;
		struct {
			unsigned vcpu;	/* back in the guest (a capture's kvm_entry) */
		} entry;
		struct {
			unsigned thread;
			enum s2trace_effect_kind kind;
			uint64_t pa, value, size, ipa;
			int level;		/* S2PT_TLBI_NO_LEVEL: none given */
			/* enum s2pt_barrier / s2arm_tlbi / s2cache_op / s2eff_sysreg /
			 * s2eff_hint */
			unsigned op;
			bool release;
			bool have_vmid;		/* tlbi: vmid= (or asid= at EL2) given */
			unsigned vmid;
			bool have_addr;		/* lock, unlock, trylock: addr= given (in pa) */
		} effect;
		struct {
			const struct s2hyp_choice *choices;	/* valid until the next call */
			unsigned n;
		} schedule;
		struct {
			const char *name;	/* valid until the next call */
		} section;
		struct {
			const char *image;	/* a path; valid until the next call */
			uint64_t load, entry;
			uint64_t size;		/* the image's size in bytes, checked */
		} guest;
		struct {
			enum s2trace_expect_kind kind;
			uint64_t ipa;
			int level;		/* -128: any */
			int prot;		/* -1: any; else S2PT_PROT_R|W|X */
			int rule;
			uint64_t max;
			uint64_t min;
			int fault_kind;		/* -1: all; 0 translation, 1 permission, 2 access-flag */
			int vcpu;		/* -1: all */
			int64_t value;
		} expect;
	};
};

struct s2trace_reader;

/* Read from a file ("-" is standard input), or from an open stream that
 * the reader does not close. */
int s2trace_open(const char *path, struct s2trace_reader **r, char *err, size_t errlen);
struct s2trace_reader *s2trace_reader_new(FILE *f, const char *name);
void s2trace_close(struct s2trace_reader *r);
/* Read a layout (import-ftrace's): config and memslot lines as a trace has
 * them, the version line optional, the memslots numbered from first_slot
 * (a layout may follow others), in any order. A reader with the name ""
 * reads text its caller passed: its errors say only the problem. */
void s2trace_reader_layout(struct s2trace_reader *r, unsigned first_slot);
/* 1: *ev holds the next event; 0: end of file; negative: an error, with
 * s2trace_error() saying "FILE:LINE: problem". */
int s2trace_next(struct s2trace_reader *r, struct s2trace_event *ev);
const char *s2trace_error(const struct s2trace_reader *r);
const char *s2trace_name(const struct s2trace_reader *r);

/* The access a guest tried, from an ESR_EL2 value (data or instruction
 * abort; a stage-1 walk is a read). S2_EINVAL for another exception class. */
int s2trace_esr_access(uint64_t esr, enum s2hyp_access *a);

/*
 * The grammar's words (traces/grammar.c), one table each, shared by the
 * reader, the writer and through the writer every importer: the line
 * keywords (enum s2trace_kind), host operations (enum s2hyp_host_kind),
 * backings, accesses, effect operations (enum s2trace_effect_kind), hints
 * (enum s2eff_hint), system registers (enum s2eff_sysreg), expectations,
 * fault kinds, host-mm events (enum s2hyp_mm_op) and the checkers' rules
 * (enum s2hyp_rule, enum s2host_rule: their names from the rule tables, so
 * that a rule is found by name here and not in the model). TLBI, DC, IC and
 * DSB operations are arch/s2arm.h's.
 */
enum s2trace_words {
	S2T_W_LINE, S2T_W_HOST, S2T_W_BACKING, S2T_W_ACCESS, S2T_W_EFFECT, S2T_W_HINT,
	S2T_W_SYSREG, S2T_W_EXPECT, S2T_W_FAULT_KIND, S2T_W_MM, S2T_W_RULE, S2T_W_HOST_RULE,
	S2T_W_VCPU, S2T_NR_WORDS
};
/* S2T_F_VACCESS's value for a fault line (after the accesses). */
#define S2T_VACCESS_FAULT (S2HYP_ACC_EXEC + 1)
/* S2T_F_HOSTOP's value for a host-mm event: this bit and the event. */
#define S2T_HOSTOP_MM 0x100u

/* The word of value in table; "?" for none. */
const char *s2trace_word(enum s2trace_words table, unsigned value);
/* The value of word in table; -1 for a word that is none of its. */
int s2trace_word_parse(enum s2trace_words table, const char *word);
/* The words of table as a sentence says them: "4k, thp, hugetlb-2m or
 * hugetlb-1g". */
const char *s2trace_word_list(enum s2trace_words table, char *buf, size_t size);
const char *s2trace_host_name(enum s2hyp_host_kind k);
const char *s2trace_backing_name(enum s2hyp_backing b);
/* The TLBI operation an effect line may name (any of arch/s2arm.h's but
 * the range ones), by its mnemonic; -1 for another word. */
int s2trace_tlbi_parse(const char *name);

/*
 * The fields of a line (docs/trace-format.md): its positional words (the
 * words right after the keyword, in order: an effect's thread, operation
 * and the operation's own word; a vcpu line's number and access; a host
 * line's operation; an expectation; a memslot's and a phase's number, a
 * section's name, a schedule's choices), its key=value words and
 * bare flags, each with its type, range and the member of struct
 * s2trace_event that holds it, in the order the writer writes them. The
 * reader reads every line through them (and nothing else: another word is
 * an error) and the writer writes every line through them: one
 * description for both. The checks across fields (an access's alignment,
 * a schedule's vCPUs, the order of phases and memslots) are the reader's.
 */
enum s2trace_ftype {
	S2T_F_DEC,	/* a number, written in decimal */
	S2T_F_HEX,	/* a number, written 0x... */
	S2T_F_SIZE,	/* a number, written in units (4K, 2M) */
	S2T_F_BOOL,	/* 0 or 1 (on/off, yes/no are read too) */
	S2T_F_FLAG,	/* a bare word: there or not */
	S2T_F_WORD,	/* a word of the grammar table `words` */
	S2T_F_GRANULE,	/* 4k, 16k or 64k: a granule's shift */
	S2T_F_WALKER,	/* a walker variant (enum s2pt_variant) by name */
	S2T_F_POLICY,	/* a host COW policy by name (host-mm=); sets host_mm */
	S2T_F_PROT,	/* permissions as letters r, w, x (S2PT_PROT_*) */
	S2T_F_RULE,	/* a checker rule by name (enum s2hyp_rule) */
	S2T_F_ONOFF,	/* on or off */
	S2T_F_ESR,	/* a data or instruction abort's ESR_EL2, written 0x...; sets
			 * the vCPU op's access */
	S2T_F_TEXT,	/* a word (a path), not empty, at most max bytes; the member
			 * is a const char * into the reader's line (valid until
			 * its next call) */
	S2T_F_NAME,	/* a name of letters, digits, '-', '_' and '.', at most max
			 * bytes; a const char * as S2T_F_TEXT */
	S2T_F_DSB,	/* a DSB's domain (enum s2arm_dsb) by mnemonic */
	S2T_F_TLBI,	/* a TLBI operation (enum s2arm_tlbi, no range one) */
	S2T_F_DC,	/* a DC operation as the cache model's (enum s2cache_op), not zva */
	S2T_F_IC,	/* an IC operation as the cache model's (enum s2cache_op) */
	S2T_F_CHOICES,	/* positional, every word left: schedule choices
			 * (s2trace_parse_choice), into ev->schedule */
	S2T_F_VACCESS,	/* a vcpu line's access: read, write or exec (the op's
			 * access), or fault (ev->vcpu.fault; the access comes
			 * from esr=) */
	S2T_F_HOSTOP,	/* a host line's operation: a host operation (ev->host.kind)
			 * or a host-mm event (kind S2HYP_HOST_MM, ev->host.mm) */
};

enum s2trace_fflags {
	S2T_FF_REQUIRED = 1 << 0,	/* the line needs it */
	S2T_FF_POW2 = 1 << 1,		/* a power of two */
	S2T_FF_NONZERO = 1 << 2,	/* written only when not 0 */
	S2T_FF_SKIP = 1 << 3,		/* not written when the member holds `skip`
					 * (its value when the line does not give it) */
	S2T_FF_NOWRITE = 1 << 4,	/* read, never written (implied by the line) */
	S2T_FF_SIZED = 1 << 5,		/* a vCPU write's value: its access's bytes */
	S2T_FF_FALLBACK = 1 << 6,	/* written even at a value NONZERO or SKIP
					 * leaves out when no field before it on
					 * the line was written (the line needs one) */
	S2T_FF_POS = 1 << 7,		/* positional: a bare word at its place after
					 * the keyword (key says what it is: "a thread
					 * number"); required with S2T_FF_REQUIRED. A
					 * table's positional fields come first. */
	S2T_FF_SELECT = 1 << 8,		/* positional, and its value chooses the
					 * line's other fields (s2trace_fields again) */
};

struct s2trace_field {
	const char *key;
	enum s2trace_ftype type;
	unsigned flags;			/* enum s2trace_fflags */
	unsigned short off, size;	/* the member in struct s2trace_event */
	uint64_t min, max;		/* numbers */
	uint64_t zero_as;		/* what a 0 member is written as (0: 0) */
	uint64_t skip;			/* S2T_FF_SKIP: as s2trace_field_get() gives it */
	unsigned given;			/* config: its S2T_CFG_* bit; written when given */
	unsigned mm_arg;		/* host-mm: the S2HYP_MM_ARG_* it is (0: any line) */
	unsigned accesses;		/* vcpu fault: the accesses (1 << enum s2hyp_access)
					 * it applies to (0: any) */
	unsigned short have;		/* 1 + the offset of a bool member that says the
					 * line gave the field (0: none): set when read,
					 * written only when set */
	enum s2trace_words words;	/* S2T_F_WORD */
};

/* The fields of ev's line: by its kind, a host line's also by its
 * operation (ev->host.kind, and ev->host.mm for host-mm events; a field
 * with mm_arg applies only when the event takes it), an expect line's by
 * ev->expect.kind, a vcpu line's by its access (ev->vcpu.fault, else
 * ev->vcpu.op.access; after the vCPU's number and the access word), an
 * effect line's by ev->effect.kind and, for a TLBI and an IC, ev->effect.op
 * (the positional fields before a S2T_FF_SELECT one are the same in every
 * table it chooses). NULL (*n 0) for a line with none (host destroy). */
const struct s2trace_field *s2trace_fields(const struct s2trace_event *ev, unsigned *n);
/* The word of an operation field's value (S2T_F_DSB, _TLBI, _DC, _IC; "?"
 * for none), the value of its word (-1 for none) and its words as a
 * sentence says them. */
const char *s2trace_op_word(enum s2trace_ftype t, unsigned v);
int s2trace_op_parse(enum s2trace_ftype t, const char *word);
const char *s2trace_op_list(enum s2trace_ftype t, char *buf, size_t size);

/* Whether field f belongs on ev's line (its mm_arg, its accesses). */
static inline bool s2trace_field_applies(const struct s2trace_field *f,
					 const struct s2trace_event *ev)
{
	if (f->accesses && !(ev->kind == S2T_VCPU && (f->accesses >> ev->vcpu.op.access & 1)))
		return false;
	return !f->mm_arg || (ev->kind == S2T_HOST && ev->host.kind == S2HYP_HOST_MM &&
			      (s2hyp_mm_op_args(ev->host.mm) & f->mm_arg));
}

/* A field's value in ev, and setting it (numbers, booleans and flags as 0
 * or 1); members are 1, 4 or 8 bytes. Inline: they run for every field of
 * every line read or written. */
static inline uint64_t s2trace_field_get(const struct s2trace_field *f,
					 const struct s2trace_event *ev)
{
	const char *p = (const char *)ev + f->off;
	uint8_t b;
	uint32_t w;
	uint64_t d;

	switch (f->size) {
	case 1:
		memcpy(&b, p, 1);
		return b;
	case 4:
		memcpy(&w, p, 4);
		return w;
	default:
		memcpy(&d, p, 8);
		return d;
	}
}

static inline void s2trace_field_set(const struct s2trace_field *f, struct s2trace_event *ev,
				     uint64_t v)
{
	char *p = (char *)ev + f->off;
	uint8_t b = (uint8_t)v;
	uint32_t w = (uint32_t)v;

	switch (f->size) {
	case 1:
		memcpy(p, &b, 1);
		break;
	case 4:
		memcpy(p, &w, 4);
		break;
	default:
		memcpy(p, &v, 8);
		break;
	}
}

/*
 * Any line as the reader reads it back into ev (no newline, no comment):
 * every writer of trace text goes through it (the scenario writer below,
 * import-casemate and import-ftrace). config writes the keys in
 * ev->config.given; a vcpu fault line its esr and pc.
 */
void s2trace_print_event(FILE *f, const struct s2trace_event *ev);
/* The same and a newline; S2_EIO on a write error. */
int s2trace_write_event(FILE *f, const struct s2trace_event *ev);

/* Write a scenario (and a schedule, if any) as a trace that replays to the
 * identical outcome. comment, if non-NULL, goes at the top. */
int s2trace_write_scenario(FILE *f, const struct s2hyp_scenario *sc,
			   const struct s2hyp_choice *sched, size_t nsched, const char *comment);

/* A host operation's words as a trace line writes them after "host ". */
void s2trace_print_host_op(FILE *f, const struct s2hyp_host_op *o);

/* The same in two parts: the header (comment, version, config, memslots,
 * schedule), after which a guest line may follow; then the events. */
int s2trace_write_header(FILE *f, const struct s2hyp_scenario *sc,
			 const struct s2hyp_choice *sched, size_t nsched, const char *comment);
int s2trace_write_events(FILE *f, const struct s2hyp_scenario *sc);

/* Expect lines for a run's outcome: "expect fired rule=NAME" for each rule
 * that fired, or "expect clean". */
int s2trace_write_outcome(FILE *f, const struct s2hyp_stats *st);

/* ------------------------------------------------------------------ */
/* Replay                                                              */
/* ------------------------------------------------------------------ */

/* What a file holds: an s2emu trace, or another tool's log that is
 * converted on the way (AUTO: detected from the first lines). */
enum s2trace_format {
	S2TRACE_FMT_AUTO,
	S2TRACE_FMT_NATIVE,	/* docs/trace-format.md */
	S2TRACE_FMT_CASEMATE,	/* a casemate transition log (s2trace_casemate.h) */
	S2TRACE_FMT_FTRACE,	/* a Linux ftrace capture with the capture kit's markers */
};

/*
 * A trace to read whatever its format: s2trace_source_file() gives an
 * s2emu trace, read from path ('-': standard input) or converted from an
 * ftrace capture by the importer in a thread through a pipe, without
 * holding the converted text. An ftrace capture without the capture kit's
 * markers needs ftrace_layout (import-ftrace --layout), else NULL. Close
 * with s2trace_source_close(), which returns the importer's error
 * (S2_EPARSE ..., "NAME:LINE: problem" in err): a conversion that fails
 * ends the trace where it failed. A casemate log has no file to read
 * (s2trace_source_file() is NULL): s2trace_source_casemate() converts it.
 */
struct s2trace_source;
int s2trace_source_open(const char *path, enum s2trace_format fmt, const char *ftrace_layout,
			struct s2trace_source **s, char *err, size_t errlen);
FILE *s2trace_source_file(const struct s2trace_source *s);
enum s2trace_format s2trace_source_format(const struct s2trace_source *s);
/* A casemate log: each record's effects, in order, handed to on_event as
 * the events the reader would read from the converted trace, each with the
 * log's line (as s2trace_cm_convert with on_event). Returns 0, or the
 * importer's error with "NAME:LINE: problem" in err; the events before the
 * bad record were handed over. */
int s2trace_source_casemate(struct s2trace_source *s,
			    void (*on_event)(void *arg, const struct s2trace_event *ev), void *arg,
			    char *err, size_t errlen);
int s2trace_source_close(struct s2trace_source *s, char *err, size_t errlen);

struct s2trace_replay_opts {
	/* The file's format; AUTO (0) detects it. */
	enum s2trace_format from;
	const char *ftrace_layout;	/* see s2trace_source_open */
	bool have_walker;		/* override the trace's walker */
	enum s2pt_variant walker;
	/* Write the run to this file: its events, the schedule taken and expect
	 * lines for its outcome. Memory then grows with the trace. */
	const char *record;
	/* Watches the machine (s2hyp_set_observer); each host and vCPU item
	 * then carries src "FILE:LINE", its line in the trace. */
	const struct s2hyp_observer *observer;
	/* Machine settings that replace the trace's config (the host's
	 * features): a S2T_CFG_* bit in `set` for each given in `cfg`. */
	unsigned set;
	struct s2hyp_config cfg;
	/* Append a VM teardown when the trace does not end with one, so that
	 * the leak rule runs (import-ftrace's traces never do). */
	bool teardown;
	/* Called after each chunk run, with the events read so far. */
	void (*progress)(void *arg, uint64_t events);
	void *progress_arg;
	/* Effect traces: take TLBI level hints as no hint (never a tlbi-ttl
	 * violation). */
	bool ignore_ttl;
	/* Check a fix: the trace is a recorded counterexample replayed on other
	 * code (another walker). Its schedule is followed as far as it applies,
	 * then the sequential strategy's choices; its `expect fired` lines name
	 * the rules the fix must stop (a rule that fires is unexpected), and
	 * its other expect lines, which describe the buggy run, are not
	 * checked. */
	bool check_fix;
};

#define S2TRACE_MAX_FAILURES 16

struct s2trace_failure {
	unsigned line;
	char msg[200];
};

/* The statistics of one named part of a run (a `section` line's name). */
struct s2trace_section {
	char name[48];
	struct s2hyp_stats stats;
};

struct s2trace_result {
	char name[256];
	struct s2hyp_config cfg;
	uint64_t events, host_events, vcpu_events, mmio_events, expects;
	enum s2hyp_outcome outcome;
	bool bad_input;			/* exit 2: error holds FILE:LINE: problem */
	char error[600];
	struct s2hyp_stats stats;
	unsigned expects_met, expects_failed;
	struct s2trace_failure failures[S2TRACE_MAX_FAILURES];
	bool expected_rule[S2HYP_NR_RULES];
	unsigned unexpected_rules;
	unsigned nr_violations;
	struct s2hyp_violation *violations;	/* the first of each rule; owned */
	unsigned geom_granule_shift;
	bool effect_trace;		/* effect events, not high-level ones */
	/* An effect trace: the checker's counts, and the first violation of
	 * each rule in the trace's terms (owned). */
	struct s2eff_stats eff_stats;
	unsigned nr_eff_violations;
	struct s2eff_violation *eff_violations;
	char guest_image[1024];		/* a guest-code trace: its image, else "" */
	/* With check_fix: the rules the trace records as fired, how much of its
	 * schedule applied (all of it unless diverged) and its length. */
	bool check_fix;
	bool recorded_rule[S2HYP_NR_RULES];
	bool sched_diverged;
	size_t sched_applied, sched_len;
	/* Per section, in order of first appearance ("pre" before the first
	 * section line); owned. */
	struct s2trace_section *sections;
	unsigned nr_sections;
};

/* Which line of a set-up the machine refuses (s2hyp_create failed): the
 * index of the first memslot that cannot join the ones before it, or
 * nr_slots when the configuration alone is refused. */
unsigned s2trace_setup_culprit(const struct s2hyp_config *cfg, const struct s2hyp_memslot *slots,
			       unsigned nr_slots);

/* The trace keys behind a set-up refused for want of host memory, for the
 * message after the machine's own words: " (KEY needs host-mm=POLICY)"
 * naming the first configuration knob that needs it (or the host-mm key
 * alone for a memslot, slot true), or "" when host memory is on. */
void s2trace_setup_keys(const struct s2hyp_config *cfg, bool slot, char *buf, size_t len);

/* Replay one trace. Returns 0 (all held), 1 (an expectation failed or a
 * rule fired unexpectedly) or 2 (bad input), as the command's exit status.
 * res must be released with s2trace_result_free. */
int s2trace_replay(const char *path, const struct s2trace_replay_opts *o,
		   struct s2trace_result *res);
void s2trace_result_free(struct s2trace_result *res);
void s2trace_print_result(FILE *f, const struct s2trace_result *res);
void s2trace_print_result_json(FILE *f, const struct s2trace_result *res);
/* A replay with check_fix: 0 fixed (no rule the trace recorded fires, nor
 * any other), 1 not fixed, 2 nothing to check (the trace records no rule
 * that fired). print_fix says so rule by rule, and how far the schedule
 * applied; print_result_json includes it as "check_fix". */
int s2trace_fix_status(const struct s2trace_result *res);
void s2trace_print_fix(FILE *f, const struct s2trace_result *res);

/* Schedule choices as text, in a schedule line and everywhere a schedule
 * is shown: "hyp", "host", "v1", "v0:3" (a driven vCPU's quantum),
 * "prefetch:v0:3", "tlb-evict:v1:0", "dc-evict:5". parse gives S2_EPARSE
 * for anything else. */
int s2trace_format_choice(char *buf, size_t size, const struct s2hyp_choice *c);
void s2trace_print_choice(FILE *f, const struct s2hyp_choice *c);
int s2trace_parse_choice(const char *s, struct s2hyp_choice *c);
/* The statistics a kernel engineer compares, as KEY VALUE pairs, the values
 * that are not zero (docs/fidelity.md lists the keys): fault.CLASS.LN.ACCESS,
 * op.*, table.*, break.*, make, get, put, tlbi.*, dcache.*, icache.*. */
void s2trace_stat_pairs(const struct s2hyp_stats *st,
			void (*emit)(void *arg, const char *key, uint64_t value), void *arg);
/* "  stat SECTION KEY VALUE" for every section and pair. */
void s2trace_print_stats(FILE *f, const struct s2trace_result *res);

#endif
