/* s2trace_ftrace: import the text of Linux ftrace (the output of `trace-cmd
 * report`, or /sys/kernel/tracing/trace) with arm64 KVM events into an s2emu
 * trace, version 1 (docs/trace-format.md).
 *
 * KVM's tracepoints say which vCPU faulted where with which syndrome, and
 * which host addresses the MMU notifiers touched; they do not say where the
 * memslots are. The importer is therefore given a layout (config and memslot
 * lines in trace syntax) and uses it three ways: it copies it into the
 * output's header, it tells RAM faults from MMIO (a fault outside every
 * memslot, or a write to a read-only one, is an MMIO exit in KVM), and it
 * sorts notifier ranges into those that touch guest memory and those that
 * do not (the notifiers see the whole VMM process).
 *
 * Use: create, optionally read a layout, add memslots and set options, read
 * one ftrace text, write. Every call that can fail returns a negative enum
 * s2_err and leaves "NAME:LINE: problem" in s2trace_ftrace_error(). Bad input
 * never aborts. All state is behind the handle (no globals), so the fuzzer
 * can run many importers in one process. docs/ftrace-import.md describes
 * what becomes of each event.
 */
#ifndef S2TRACE_FTRACE_H
#define S2TRACE_FTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/s2_types.h"

/* A fault's syndrome is decoded by arch/s2arm.h (s2arm_esr_decode). */

/* ------------------------------------------------------------------ */
/* One line of ftrace text                                             */
/* ------------------------------------------------------------------ */

/*
 * The common prefix of an event line, in both formats:
 *
 *   trace-cmd report:   "  CPU 0/KVM-4212  [001]  3817.420312: kvm_entry:  PC: 0x..."
 *   /sys/.../trace:     "  CPU 0/KVM-4212  [001] d..1. 3817.420312: kvm_entry: PC: 0x..."
 *   (with record-tgid)  "  CPU 0/KVM-4212  ( 4180) [001] ....  3817.420312: ..."
 *
 * The task name may hold blanks and dashes; the pid is the number after the
 * last dash before the CPU field. A line of the function tracer has no
 * "event:" after the timestamp: its event is "function".
 * Pointers point into the line given, which must outlive the result.
 */
struct s2trace_ftrace_line {
	const char *comm;
	size_t comm_len;
	long pid;
	unsigned cpu;
	uint64_t ts_ns;			/* timestamp, nanoseconds (seconds.fraction in the text) */
	const char *event;
	size_t event_len;
	const char *payload;		/* after "event:" and blanks, to the end of the line */
};

/* 0 for an event line; S2_ENOENT for anything else (blank lines, headers
 * such as "# tracer: nop", "cpus=4", "CPU 0 is empty"). */
int s2trace_ftrace_parse_line(const char *line, struct s2trace_ftrace_line *out);

/* ------------------------------------------------------------------ */
/* The importer                                                        */
/* ------------------------------------------------------------------ */

struct s2trace_ftrace;

/* The vCPUs and memslots an imported trace may have (those of hyp-model). */
#define S2TRACE_FTRACE_MAX_VCPUS 16
#define S2TRACE_FTRACE_MAX_SLOTS 32

struct s2trace_ftrace_stats {
	uint64_t lines;			/* lines read */
	uint64_t events;		/* lines that are events of any kind */
	uint64_t used;			/* events that became output or decided it */
	uint64_t unused;		/* events of kinds the importer cannot use */
	uint64_t outside_guest;		/* notifier events that touch no memslot */
	uint64_t vcpu_lines;		/* output: vcpu ... lines */
	uint64_t mmio_lines;		/* output: mmio ... lines */
	uint64_t host_lines;		/* output: host ... lines */
	uint64_t markers;		/* output: # marker: comments */
	uint64_t phases;		/* output: phase lines */
	uint64_t sections;		/* output: section lines */
	unsigned vcpus;			/* the config's vcpus in the output */
};

int s2trace_ftrace_create(struct s2trace_ftrace **out);
void s2trace_ftrace_destroy(struct s2trace_ftrace *imp);

/* "NAME:LINE: problem" (or "NAME: problem") of the last failure, "" if none. */
const char *s2trace_ftrace_error(const struct s2trace_ftrace *imp);

/*
 * Read a layout: `config` and `memslot` lines exactly as in the trace format,
 * comments, blank lines and an optional `s2emu-trace 1` header. Memslots
 * are numbered 0, 1, ... across layouts and s2trace_ftrace_add_memslot().
 */
int s2trace_ftrace_read_layout(struct s2trace_ftrace *imp, FILE *f, const char *name);

/* One memslot from the words of a memslot line joined by commas, without
 * its number: "ipa=0x40000000,size=4M,hva=0xffff7be00000,backing=thp[,readonly]". */
int s2trace_ftrace_add_memslot(struct s2trace_ftrace *imp, const char *spec);

/* The output's vcpus (1..S2TRACE_FTRACE_MAX_VCPUS); by default the layout's
 * config value, else the highest vCPU seen + 1. */
int s2trace_ftrace_set_vcpus(struct s2trace_ftrace *imp, unsigned n);

/* Emit phase lines (see docs/ftrace-import.md) instead of a sequential trace. */
void s2trace_ftrace_set_phases(struct s2trace_ftrace *imp, bool on);

/* Read the ftrace text (once per importer). */
/* The guest image (its bytes, and the virtual address of its first byte):
 * each fault whose PC falls in it gets its instruction, disassembled, in
 * the fault line's comment. The bytes are copied. */
int s2trace_ftrace_set_image(struct s2trace_ftrace *imp, const uint8_t *img, size_t len,
			     uint64_t va);

int s2trace_ftrace_read(struct s2trace_ftrace *imp, FILE *f, const char *name);

/* Order the events and check that they can be written (vCPU numbers, a
 * layout where one is needed); s2trace_ftrace_write() does it if not done. */
int s2trace_ftrace_finish(struct s2trace_ftrace *imp);

/* Write the trace. S2_EIO if the stream fails. */
int s2trace_ftrace_write(struct s2trace_ftrace *imp, FILE *out);

/* Valid after s2trace_ftrace_finish(). */
const struct s2trace_ftrace_stats *s2trace_ftrace_stats(const struct s2trace_ftrace *imp);

/* The kinds of unused events, in order of first appearance in the file. */
size_t s2trace_ftrace_nr_unused(const struct s2trace_ftrace *imp);
const char *s2trace_ftrace_unused(const struct s2trace_ftrace *imp, size_t i, uint64_t *count);

#endif
