/* Replay's internals, shared by its parts: replay.c (the driver: reading,
 * the machine's configuration, fault traces in chunks, expectations,
 * sections, the record), replay_effect.c (effect traces, through the effect
 * checker), replay_guest.c (guest-code traces, through guest/) and result.c
 * (a result as text and JSON). */
#ifndef S2TRACE_REPLAY_INTERNAL_H
#define S2TRACE_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/s2trace.h"

#define CHUNK_EVENTS 4096

/* What a fault trace's chunk adds to its programs (held in replay.sc). */
struct chunk {
	unsigned *host_line;	/* each host operation's trace line */
	unsigned host_line_cap;
	size_t n;		/* host and vCPU items */
	char **srcs;		/* with an observer: the items' "FILE:LINE" */
	size_t nsrcs;
	unsigned srcs_cap;
};

/* How many of a vCPU's last lines the not-retried look-back reads
 * (add_vcpu): the length of s1_walks and span_end. */
#define LOOKBACK 16

struct replay {
	struct s2trace_reader *r;
	const char *name;	/* the trace's, in reports (a casemate log has no reader) */
	struct s2trace_result *res;
	const struct s2trace_replay_opts *opts;
	/* The trace's configuration and memslots, and the host and vCPU
	 * programs of the chunk being gathered (emptied when it runs). */
	struct s2hyp_scenario sc;
	unsigned cfg_line, slot_line[S2HYP_MAX_SLOTS];	/* to name them in errors */
	struct s2hyp_choice *sched;
	size_t nsched;
	unsigned sched_cap;
	struct s2hyp_replay rp;
	struct s2hyp_strategy st;
	struct s2hyp *m;
	struct chunk c;
	/* Internal phase numbers: an explicit `phase N` block shares one; an
	 * event outside any block gets its own. */
	unsigned ip;
	bool in_block;
	uint64_t block_n;
	bool stop;
	bool effects;		/* an effect trace */
	/* A guest-code trace: the image runs on the vCPUs; the trace holds the
	 * host program and the expectations, checked after the run. */
	bool guest;
	unsigned guest_line;
	char guest_image[1024];
	uint64_t guest_load, guest_entry, guest_size;
	struct s2hyp_scenario gsc;
	struct s2trace_event *gexp;
	size_t ngexp;
	unsigned gexp_cap;
	struct s2hyp_scenario rec;	/* with --record: every event so far */
	struct s2eff *eff;		/* an effect trace's checker */
	/* The input, converted on the way when it is not an s2emu trace (a
	 * casemate log has no reader: its events come from the importer). */
	struct s2trace_source *src;
	/* Statistics per section: the current one's index and the machine's
	 * totals when it began. */
	unsigned sec;
	struct s2hyp_stats sec_base;
	bool destroy_seen;	/* the trace tears the VM down itself */
	/* Simultaneous faults: a vCPU's fault line with the ESR and page of
	 * another vCPU's fault line after the first vCPU's own previous line
	 * shares that line's phase (until the trace's first host event);
	 * without a schedule, replay then runs every access of such a phase up
	 * to its fault before any fault is handled. */
	struct overlap {
		struct s2hyp *m;
		unsigned *phase;	/* the shared phases, ascending */
		size_t n;
		unsigned cap;
		/* Accesses of shared phases whose fault line names a deeper
		 * level than the line they share it with: each walks once
		 * the tables reach that level (in flight inside the other
		 * fault's map). */
		struct deep_access {
			unsigned vcpu, phase;
			uint64_t page;
			s2_level_t level;
		} *deep;
		size_t ndeep;
		unsigned deep_cap;
	} ov;
	bool host_seen;		/* a host event so far: only access-flag faults inferred */
	/* Host events that may change an entry (not an invalidation's
	 * begin or end) so far. */
	uint64_t host_changes;
	/* Invalidation spans: the trace has invalidate-begin/-end lines, and
	 * which vCPUs' last access in the chunk has no successor yet (a later
	 * invalidation falls inside its span; run_chunk_part holds it back). */
	bool invalidations;
	bool span_open[S2HYP_MAX_VCPUS];
	bool entries;			/* the trace has entry lines */
	/* Each vCPU's last items, newest first: the phase of the last
	 * invalidate-end in the item's span (0: none; see defer_handler). */
	unsigned span_end[S2HYP_MAX_VCPUS][LOOKBACK];
	/* Each vCPU's last entry line since its last line: the phase of the
	 * event before it and host_changes then (see add_vcpu). */
	bool entered[S2HYP_MAX_VCPUS];
	unsigned entry_phase[S2HYP_MAX_VCPUS];
	uint64_t entry_changes[S2HYP_MAX_VCPUS];
	unsigned handed;		/* items of lower phases are the machine's */
	unsigned invalidating;	/* begins not yet ended, to refuse an end without one */
	/* Each vCPU's last line: a fault or not, its phase (0: none yet),
	 * its ESR and page, host_changes when it was read, and its number
	 * among the vCPU and mmio lines (an mmio line renumbers it). */
	struct last_line {
		bool fault;
		unsigned phase;
		uint64_t esr, page, hosts;
		uint64_t seq;
	} lastv[S2HYP_MAX_VCPUS];
	uint64_t lines;		/* vCPU and mmio lines so far */
	/* ... and its last few fault lines (a ring) */
	struct last_line recent[S2HYP_MAX_VCPUS][256];
	unsigned nrecent[S2HYP_MAX_VCPUS];
	/* Each vCPU's last LOOKBACK items: bit i set when the item i+1 back
	 * was a fault line on a stage-1 walk (the not-retried evidence skips
	 * it). */
	uint16_t s1_walks[S2HYP_MAX_VCPUS];
};

/* Bad input: "FILE:LINE: problem" in the result, exit status 2; replay
 * stops. */
int s2trace__bad(struct replay *rp, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An expectation that did not hold, at line. */
void s2trace__failure(struct replay *rp, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Room for need elements in *arr (counts stay size_t). */
bool s2trace__grow(void **arr, unsigned *cap, size_t elem, size_t need);
/* The machine for the trace's configuration and memslots, with the options
 * over them: the one place a replay decides the machine (the guest-code
 * replay takes its configuration from s2trace__machine_config too). */
void s2trace__machine_config(struct replay *rp, struct s2hyp_config *cfg);
int s2trace__make_machine(struct replay *rp, unsigned line);
/* The strategy that follows the trace's schedule, or the sequential one. */
void s2trace__strategy(struct replay *rp);
void s2trace__on_phase(struct replay *rp, const struct s2trace_event *ev);
bool s2trace__checking_fix(const struct replay *rp);
void s2trace__check_expect(struct replay *rp, const struct s2trace_event *ev);
void s2trace__check_rule_expect(struct replay *rp, const struct s2trace_event *ev,
				const uint64_t violations[S2HYP_NR_RULES]);
void s2trace__finish_result(struct replay *rp);

/* replay_effect.c */
int s2trace__begin_effects(struct replay *rp, const struct s2trace_event *ev);
int s2trace__apply_effect(struct replay *rp, const struct s2trace_event *ev);
void s2trace__check_effect_expect(struct replay *rp, const struct s2trace_event *ev);

/* replay_guest.c */
int s2trace__guest_event(struct replay *rp, const struct s2trace_event *ev);
void s2trace__run_guest(struct replay *rp, const char *trace);

#endif
