/* s2guest: real AArch64 code on the machine's vCPUs.
 *
 * Each vCPU runs the guest image in its own Unicorn engine, driven by the
 * machine (s2hyp_set_vcpu_driver): the engine's address space is the IPA
 * space, filled lazily from what the vCPU's TLB holds; an access the TLB
 * cannot serve stops the engine at the faulting instruction and becomes
 * the vCPU's next step, so the hardware walk and KVM's fault handler run
 * as scheduled steps, and the engine resumes at the same instruction.
 * Every data access and every instruction fetch goes through the cache
 * model; DC, IC and TLBI instructions act on it.
 *
 * Guest conventions (docs/guest.md):
 *   - every vCPU starts at the entry point, EL1, MMU off, x0 = its id;
 *   - hvc #0 ends the vCPU with x0 as its exit code; hvc #1 logs x0;
 *     hvc #2 moves the vCPU to phase x0 (it waits for every event of a
 *     lower phase, host operations included); hvc #3 ends the quantum;
 *   - enabling the MMU (SCTLR_EL1.M = 1) is refused: the run stops.
 *
 * All state is behind struct s2guest *; runs in one process do not share
 * anything but must not overlap in time (Unicorn engines are not
 * thread-safe together).
 */
#ifndef S2GUEST_H
#define S2GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hyp-model/s2hyp.h"

/* The optional image header: the first 32 bytes of the image, loaded with
 * it. Little-endian. */
#define S2GUEST_MAGIC "s2guest1"
#define S2GUEST_HEADER_BYTES 32

/* Hypercall immediates. */
enum s2guest_hvc {
	S2GUEST_HVC_EXIT = 0,
	S2GUEST_HVC_LOG = 1,
	S2GUEST_HVC_PHASE = 2,
	S2GUEST_HVC_YIELD = 3,
};

/* Scheduler quanta, the arg of a driven vCPU's step: from "until the vCPU
 * needs the hypervisor" down to one instruction. */
enum s2guest_quantum {
	S2GUEST_Q_RUN,		/* until a fault, a hypercall, or 65536 data accesses */
	S2GUEST_Q_4096_BLOCKS,
	S2GUEST_Q_256_BLOCKS,
	S2GUEST_Q_16_BLOCKS,
	S2GUEST_Q_1_BLOCK,
	S2GUEST_Q_1_INSN,
	S2GUEST_NR_QUANTA
};

struct s2guest_config {
	struct s2hyp_config machine;
	struct s2hyp_memslot slots[S2HYP_MAX_SLOTS];
	unsigned nr_slots;
	const struct s2hyp_host_op *host;	/* host program, copied; may be NULL */
	size_t nhost;
	const void *image;			/* copied */
	size_t image_size;
	uint64_t load_ipa, entry_ipa;
	double timeout_s;		/* wall-clock budget of a run; 0: none */
	unsigned max_regions;		/* Unicorn regions per vCPU, 4..256 */
	bool instrument_all;		/* check every block: no uninstrumented code */
	bool record;			/* keep what s2guest_write_trace needs */
};

#define S2GUEST_RAM_IPA 0x40000000ull
#define S2GUEST_RAM_HVA 0x7f0000000000ull

/* Machine defaults (s2hyp_config_init), one 128 MiB THP RAM slot at
 * S2GUEST_RAM_IPA, image and entry at its start, 60 s, 32 regions. */
void s2guest_config_init(struct s2guest_config *cfg);

/* The header's load and entry addresses when the image starts with one:
 * 1 header found, 0 none, S2_EINVAL a malformed header (*why set). */
int s2guest_image_header(const void *image, size_t n, uint64_t *load, uint64_t *entry,
			 const char **why);

enum s2guest_end {
	S2GUEST_RUNNING,	/* not ended (the run stopped first) */
	S2GUEST_EXITED,		/* hvc #0 */
	S2GUEST_MMU_ON,		/* wrote SCTLR_EL1.M = 1: refused */
	S2GUEST_EXCEPTION,	/* an exception or unknown hypercall */
	S2GUEST_BAD_ACCESS,	/* beyond the IPA space, or stage 2 gives a PA outside RAM */
	S2GUEST_TIMEOUT,	/* the run's time budget ran out */
	S2GUEST_ERROR,		/* an emulator error (Unicorn refused something) */
};
const char *s2guest_end_name(enum s2guest_end e);

#define S2GUEST_LOG 16

struct s2guest_vcpu_result {
	enum s2guest_end end;
	uint64_t exit_code;
	uint64_t pc;			/* where it stopped */
	uint32_t insn;
	char insn_text[64];
	unsigned phase;
	uint64_t quanta;		/* times the scheduler ran it */
	uint64_t handovers;		/* accesses its TLB could not serve */
	uint64_t mmio;			/* device accesses (outside guest RAM) */
	uint64_t blocks_checked;	/* basic blocks whose fetches were checked */
	uint64_t pages_verified;	/* code pages found fresh, then run uninstrumented */
	uint64_t cmos, tlbis;		/* guest maintenance instructions */
	uint64_t regions_mapped, regions_evicted;
	uint64_t log[S2GUEST_LOG];	/* hvc #1 values, the first S2GUEST_LOG */
	unsigned nlog;
	char why[200];			/* for ends other than EXITED */
};

enum s2guest_report_kind {
	S2GUEST_REP_FAULT,		/* a stage-2 fault the vCPU took */
	S2GUEST_REP_STALE_DATA,		/* a read returned data older than the latest write */
	S2GUEST_REP_STALE_INSN,		/* a fetch returned an instruction older than memory */
	S2GUEST_REP_RULE,		/* a rule fired while the vCPU was stopped at pc */
};

/* A finding with the vCPU's PC and its instruction, disassembled. */
struct s2guest_report {
	enum s2guest_report_kind kind;
	unsigned vcpu;
	uint64_t pc;
	uint32_t insn;
	char insn_text[64];
	uint64_t ipa, pa;
	enum s2hyp_access access;
	unsigned size;
	const char *fault;		/* FAULT: translation, permission, access-flag, mmio */
	uint64_t got, want;		/* STALE_DATA: returned and latest bytes (LE, <= 8) */
	uint32_t stale_insn, fresh_insn;	/* STALE_INSN */
	char stale_text[64], fresh_text[64];
	int rule;			/* RULE: enum s2hyp_rule */
};

struct s2guest;

/* Checks the configuration and image, builds the machine and one engine
 * per vCPU, loads the image through the host's cacheable mapping. */
int s2guest_create(const struct s2guest_config *cfg, struct s2guest **out, char *err,
		   size_t errlen);
void s2guest_delete(struct s2guest *g);

/* Run to the end (or a limit) under a strategy; once per guest. */
enum s2hyp_outcome s2guest_run(struct s2guest *g, const struct s2hyp_strategy *st);

struct s2hyp *s2guest_machine(struct s2guest *g);
const struct s2guest_vcpu_result *s2guest_vcpu(const struct s2guest *g, unsigned vcpu);
/* General-purpose register n (0..30) of a vCPU as it stands. */
uint64_t s2guest_reg(const struct s2guest *g, unsigned vcpu, unsigned n);
unsigned s2guest_nr_reports(const struct s2guest *g);
const struct s2guest_report *s2guest_report(const struct s2guest *g, unsigned i);
/* Reports not kept once the list was full. */
uint64_t s2guest_reports_dropped(const struct s2guest *g);
/* Findings of one kind, for one vCPU (-1: all). */
unsigned s2guest_count_reports(const struct s2guest *g, enum s2guest_report_kind k, int vcpu);

void s2guest_print_report(FILE *f, const struct s2guest_report *r);
void s2guest_print_report_json(FILE *f, const struct s2guest_report *r);

/*
 * The run as a scenario, for the trace writer (traces/, docs/trace-format.md):
 * configuration, memslots, the image write, the host program, and each
 * vCPU's accesses that reached the hypervisor (its TLB misses and MMIO
 * exits) in order, with their phases. Needs cfg.record (else S2_EINVAL).
 * The guest's other accesses are not in it. On success the caller frees *sc
 * with s2hyp_scenario_free.
 */
struct s2hyp_scenario;
int s2guest_trace_scenario(const struct s2guest *g, struct s2hyp_scenario *sc);

#endif
