/* Guest code speed: a compute loop with stage 2 active against the same
 * loop in bare Unicorn, in one run; and the 64 MiB touch guest (every 4K
 * page a fault). NAME VALUE UNIT lines. Needs the guests make builds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicorn/unicorn.h>

#include "common/s2_clock.h"
#include "common/s2_file.h"
#include "guest/s2guest.h"

#define GUESTS "build/guests/"
#define REPEAT 5

struct image {
	uint8_t *bytes;
	size_t size;
	uint64_t load, entry;
};

static void load_image(const char *name, struct image *im)
{
	char path[256];
	const char *why = NULL;
	snprintf(path, sizeof(path), GUESTS "%s.bin", name);
	if (s2_read_file(path, &im->bytes, &im->size)) {
		fprintf(stderr, "guest_bench: cannot read %s (run make first)\n", path);
		exit(1);
	}
	if (s2guest_image_header(im->bytes, im->size, &im->load, &im->entry, &why) != 1) {
		fprintf(stderr, "guest_bench: %s has no image header\n", path);
		exit(1);
	}
}

struct result {
	double secs;
	uint64_t insns;		/* from the loop guest's log: iterations x length */
};

/* One run under the machine, sequential (the quantum runs until the guest
 * needs the hypervisor), checker on. */
static struct result run_guest(const struct image *im, enum s2hyp_backing backing, bool all)
{
	struct s2guest_config cfg;
	struct s2guest *g;
	char err[300];

	s2guest_config_init(&cfg);
	cfg.machine.nr_vcpus = 1;
	cfg.slots[0].backing = backing;
	cfg.image = im->bytes;
	cfg.image_size = im->size;
	cfg.load_ipa = im->load;
	cfg.entry_ipa = im->entry;
	cfg.instrument_all = all;
	if (s2guest_create(&cfg, &g, err, sizeof(err))) {
		fprintf(stderr, "guest_bench: %s\n", err);
		exit(1);
	}
	double t0 = s2_now_s();
	enum s2hyp_outcome o = s2guest_run(g, &s2hyp_strategy_sequential);
	struct result r = { s2_now_s() - t0, 0 };
	const struct s2guest_vcpu_result *v = s2guest_vcpu(g, 0);
	if (o != S2HYP_DONE || v->end != S2GUEST_EXITED) {
		fprintf(stderr, "guest_bench: the guest did not exit: %s %s\n", s2hyp_outcome_name(o),
			v->why);
		exit(1);
	}
	if (v->nlog >= 2)
		r.insns = v->log[0] * v->log[1];
	s2guest_delete(g);
	return r;
}

struct bare {
	bool done;
};

/* hvc #1 (log) steps over; hvc #0 stops. Unicorn takes HVC at EL1 as
 * undefined, with the PC on it. */
static void bare_intr(uc_engine *uc, uint32_t intno, void *arg)
{
	struct bare *b = arg;
	uint64_t pc;
	uint32_t insn = 0;
	(void)intno;
	uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
	uc_mem_read(uc, pc, &insn, 4);
	if ((insn & 0xffe0001fu) == 0xd4000002u && ((insn >> 5) & 0xffff) == 1) {
		pc += 4;
		uc_reg_write(uc, UC_ARM64_REG_PC, &pc);
	} else {
		b->done = true;
	}
	uc_emu_stop(uc);
}

/* The same image in bare Unicorn: flat RAM, no hooks but the exit. */
static double run_bare(const struct image *im)
{
	uc_engine *uc;
	uc_hook h;
	struct bare b = { false };
	uint64_t pc = im->entry, zero = 0;

	if (uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) ||
	    uc_mem_map(uc, im->load & ~0x1fffffull, 2 << 20, UC_PROT_ALL) ||
	    uc_mem_write(uc, im->load, im->bytes, im->size) ||
	    uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)bare_intr, &b, 1, 0)) {
		fprintf(stderr, "guest_bench: bare Unicorn set-up failed\n");
		exit(1);
	}
	uc_reg_write(uc, UC_ARM64_REG_X0, &zero);
	double t0 = s2_now_s();
	while (!b.done) {
		if (uc_emu_start(uc, pc, 0xfffffffffffffffcull, 0, 0))
			break;
		uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
	}
	double secs = s2_now_s() - t0;
	uc_close(uc);
	return secs;
}

int main(void)
{
	struct image loop, touch;
	load_image("loop", &loop);
	load_image("touch", &touch);

	/* Interleaved, best of REPEAT each: both see the same machine state. */
	double ours = 1e9, bare = 1e9, all = 1e9;
	uint64_t insns = 0;
	for (int i = 0; i < REPEAT; i++) {
		struct result r = run_guest(&loop, S2HYP_BACKING_THP, false);
		double b = run_bare(&loop);
		double a = run_guest(&loop, S2HYP_BACKING_THP, true).secs;
		insns = r.insns;
		if (r.secs < ours)
			ours = r.secs;
		if (b < bare)
			bare = b;
		if (a < all)
			all = a;
	}
	double touch4k = 1e9, touch2m = 1e9;
	for (int i = 0; i < 3; i++) {
		double t = run_guest(&touch, S2HYP_BACKING_4K, false).secs;
		if (t < touch4k)
			touch4k = t;
		t = run_guest(&touch, S2HYP_BACKING_THP, false).secs;
		if (t < touch2m)
			touch2m = t;
	}

	printf("# guest: guests/loop.S (%llu instructions, no memory access) under the machine,\n"
	       "# 1 vCPU, sequential, checker on, machine set-up excluded; the same image in\n"
	       "# bare Unicorn; best of %d each\n", (unsigned long long)insns, REPEAT);
	printf("guest.ips_loop %.0f insns/s\n", insns / ours);
	printf("guest.ips_bare_unicorn %.0f insns/s\n", insns / bare);
	printf("guest.ratio_to_bare_unicorn %.2f ratio\n", bare / ours);
	printf("# the same with a block hook on every block (--instrument-all): what checking\n"
	       "# verified code would cost\n");
	printf("guest.ratio_instrumented %.2f ratio\n", bare / all);
	printf("# guests/touch.S: one write in each 4 KiB page of 64 MiB; 4K backing (16384\n"
	       "# faults, each a walk, a map and a Unicorn region) and THP (32 faults)\n");
	printf("guest.touch_64m_s %.3f s\n", touch4k);
	printf("guest.touch_64m_thp_s %.3f s\n", touch2m);
	free(loop.bytes);
	free(touch.bytes);
	return 0;
}
