/* s2guest internals, shared by the sources of guest/ (prefix s2guest__). */
#ifndef S2GUEST_INTERNAL_H
#define S2GUEST_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include "common/s2_map.h"
#include "guest/s2guest.h"

/* Unicorn maps and tracks code in 4 KiB pages whatever the granule. */
#define UPAGE 4096ull
#define MAX_MMIO 64
#define MAX_REPORTS 256
#define STALE_SEEN 32
/* Until the uninstrumented quantum is cut short (docs/guest.md). */
#define RUN_ACCESSES 65536
#define RUN_CHECKED_BLOCKS 1024
/* An address no guest reaches: uc_emu_start needs an end, and one just
 * past hot code would make Unicorn retranslate it on every start. */
#define SENTINEL 0xfffffffffffffffcull

enum stop_reason {
	STOP_NONE,
	STOP_QUANTUM,		/* the quantum ran out (block hook) */
	STOP_MAP,		/* the TLB serves the access: map a region, go on */
	STOP_MISS,		/* hand the access over to the machine */
	STOP_CMO,		/* a DC/IC by address the TLB cannot translate */
	STOP_HVC,
	STOP_EXCEPTION,
	STOP_MMU_ON,
	STOP_BAD,		/* an access the model cannot give memory to */
	STOP_INTERNAL,		/* Unicorn refused something we asked */
};

/* A Unicorn mapping: one leaf of the vCPU's TLB, or an MMIO page. */
struct region {
	uint64_t ipa, size;
	uint64_t pa;
	uint8_t *host;		/* NULL: MMIO */
	unsigned tprot;		/* the TLB entry's enum s2pt_prot */
	uint32_t uprot;		/* UC_PROT_* */
	uint64_t used;		/* recency, for eviction */
};

struct pending_cmo {
	unsigned op;		/* enum s2cache_op */
	uint64_t ipa, pc;
};

struct gcpu {
	struct s2guest *g;
	unsigned id;
	uc_engine *uc;
	uint64_t pc;
	unsigned phase;
	bool ended;
	struct s2guest_vcpu_result res;

	struct region *regions;
	unsigned nregions;
	unsigned last;		/* index of the last region hit */
	uint64_t clock;
	struct region mmio[MAX_MMIO];
	unsigned nmmio;
	uint64_t tlb_gen;

	/*
	 * Code checking. A page whose every line the model says a fetch
	 * would return fresh is "verified" and runs without block hooks (when
	 * the quantum allows); any write to it, any icache maintenance and
	 * any remapping takes it back. Other executed pages are checked block
	 * by block. Sorted page addresses.
	 */
	uint64_t *verified;
	unsigned nverified, verified_cap;
	uint64_t *cand;		/* pages checked since the last quantum started */
	unsigned ncand, cand_cap;
	uint64_t *built;	/* the verified set the hooks were built for */
	unsigned nbuilt, built_cap;
	bool built_whole;	/* hooks cover every address */
	bool hooks_valid;
	uc_hook *bhooks;
	unsigned nbhooks, bhooks_cap;
	bool emergency;		/* a whole-space hook added while running */
	uc_hook code_hook;	/* one-instruction quanta */
	uint64_t insns_left;

	/* The quantum. */
	bool counted;
	uint64_t blocks_left, accesses_left, checked_left;
	bool want_stop;
	enum stop_reason want_reason;

	/* Why the engine stopped, and what with. */
	enum stop_reason stop;
	bool hook_stop;		/* a block or code hook stopped it ... */
	uint64_t hook_pc;	/* ... before this instruction: resume here */
	struct s2hyp_vcpu_op miss;
	uint64_t miss_pc;
	struct s2hyp_translation map;
	struct pending_cmo *cmoq;	/* CMOs waiting for a translation, in order */
	unsigned ncmoq, cmoq_cap;
	uint32_t hvc_imm, intno;
	uint64_t stop_pc;
	uint64_t mmu_value;

	/* What the machine did with the last access handed over. */
	bool handed;
	struct s2hyp_vcpu_stats before;

	uint64_t stale_pcs[STALE_SEEN];	/* stale fetches reported, by PC */
	unsigned nstale;

	struct s2hyp_vcpu_op *rec;	/* handed-over accesses, for the trace */
	size_t nrec, rec_cap;
	uint64_t rec_pc;		/* the PC of the last one */
};

struct s2guest {
	struct s2guest_config cfg;
	uint8_t *image;
	struct s2hyp_host_op *host;
	struct s2hyp *m;
	struct s2hyp_vcpu_driver drv;
	unsigned nr_vcpus;
	struct gcpu cpu[S2HYP_MAX_VCPUS];
	uint8_t *ram[S2HYP_MAX_SLOTS];	/* Unicorn's view of each slot */
	/* Pages any engine has executed (key page + 1), with the engines that
	 * did (a mask of vCPU numbers): a write to one must drop their
	 * translated code. */
	struct s2_map code;
	unsigned line_bytes;
	uint64_t ctr_el0;		/* what the guest reads: the modelled caches */
	csh cs;
	bool cs_ok;
	bool ran;

	struct s2guest_report *reports;
	unsigned nreports;
	uint64_t dropped;
	unsigned viol_seen;

	/* The time budget: a watchdog thread stops whichever engine runs. */
	pthread_t wd;
	pthread_mutex_t wd_mu;
	pthread_cond_t wd_cv;
	bool wd_started, wd_quit;
	atomic_bool expired;
	_Atomic(uc_engine *) running;
};

/* engine.c */
int s2guest__engine_init(struct gcpu *c, char *err, size_t errlen);
void s2guest__engine_fini(struct gcpu *c);
/* Run the engine for quantum q until it needs the machine or ends. */
enum s2hyp_drv_status s2guest__engine_run(struct gcpu *c, unsigned q, struct s2hyp_vcpu_op *op);
void s2guest__engine_mmio(struct gcpu *c, const struct s2hyp_vcpu_op *op);
uint64_t s2guest__reg(const struct gcpu *c, unsigned n);
/* The instruction at ipa as the guest's memory holds it now (0 if none). */
uint32_t s2guest__insn_at(struct gcpu *c, uint64_t ipa);

/* guest.c */
void s2guest__disasm(struct s2guest *g, uint32_t insn, uint64_t pc, char *buf, size_t n);
struct s2guest_report *s2guest__report(struct s2guest *g, enum s2guest_report_kind k,
				       const struct gcpu *c, uint64_t pc);
void s2guest__end(struct gcpu *c, enum s2guest_end e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
