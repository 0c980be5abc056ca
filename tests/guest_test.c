/* Real AArch64 guests (the images make builds from guests/) on driven
 * vCPUs: the exit convention, fault delivery and resume, permission
 * faults, unmap and write-protect while the guest runs, the MMU-on
 * refusal, the data and instruction cache rules on real code, the seed
 * scenario by real code, quanta, and seeded determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_file.h"
#include "guest/s2guest.h"
#include "traces/s2trace.h"

#define GUESTS "build/guests/"
#define DATA 0x40400000ull	/* the data page of rw.S, smp.S and pages.S */

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
	if (s2_read_file(path, &im->bytes, &im->size))
		fail_msg("cannot read %s: run 'make' first", path);
	assert_true(im->size > 0);
	assert_int_equal(s2guest_image_header(im->bytes, im->size, &im->load, &im->entry, &why), 1);
}

/* A configuration for image name: nv vCPUs, checker on, no exploration of
 * evictions or speculation unless a test asks. */
static void setup(struct s2guest_config *cfg, struct image *im, const char *name, unsigned nv)
{
	load_image(name, im);
	s2guest_config_init(cfg);
	cfg->machine.nr_vcpus = nv;
	cfg->machine.explore_evictions = false;
	cfg->machine.explore_prefetch = false;
	cfg->image = im->bytes;
	cfg->image_size = im->size;
	cfg->load_ipa = im->load;
	cfg->entry_ipa = im->entry;
	cfg->timeout_s = 20;
}

static struct s2guest *create(const struct s2guest_config *cfg)
{
	struct s2guest *g;
	char err[300];
	if (s2guest_create(cfg, &g, err, sizeof(err)))
		fail_msg("s2guest_create: %s", err);
	return g;
}

static enum s2hyp_outcome run_seed(struct s2guest *g, uint64_t seed)
{
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;
	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	return s2guest_run(g, seed ? &st : &s2hyp_strategy_sequential);
}

static bool fired(struct s2guest *g, enum s2hyp_rule r)
{
	return s2hyp_rule_fired(s2guest_machine(g), r);
}

static unsigned nr_fired(struct s2guest *g)
{
	unsigned n = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		n += fired(g, (enum s2hyp_rule)r);
	return n;
}

static const struct s2hyp_vcpu_stats *vstats(struct s2guest *g, unsigned vcpu)
{
	return &s2hyp_stats(s2guest_machine(g))->vcpu[vcpu];
}

/* The first report of a kind for a vCPU whose instruction starts with
 * mnemonic (NULL: any). */
static const struct s2guest_report *find_report(struct s2guest *g, enum s2guest_report_kind k,
						unsigned vcpu, const char *mnemonic)
{
	for (unsigned i = 0; i < s2guest_nr_reports(g); i++) {
		const struct s2guest_report *r = s2guest_report(g, i);
		if (r->kind == k && r->vcpu == vcpu &&
		    (!mnemonic || !strncmp(r->insn_text, mnemonic, strlen(mnemonic))))
			return r;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */

/* Every vCPU starts at the entry with its id in x0 and ends by hvc #0 with
 * x0 as exit code; hvc #1 logs x0. */
static void test_exit_convention(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "exit", 3);
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	for (unsigned v = 0; v < 3; v++) {
		const struct s2guest_vcpu_result *r = s2guest_vcpu(g, v);
		assert_int_equal(r->end, S2GUEST_EXITED);
		assert_int_equal(r->exit_code, 0x40 + v);
		assert_int_equal(r->nlog, 1);
		assert_int_equal(r->log[0], v);
		assert_string_equal(r->insn_text, "hvc #0");
	}
	assert_int_equal(nr_fired(g), 0);
	s2guest_delete(g);
	free(im.bytes);
}

/* The first fetch and the first read of a page are translation faults the
 * hypervisor handles; the vCPU resumes at the faulting instruction, which
 * then completes: the guest's own result says every access landed. */
static void test_fault_delivery_and_resume(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "rw", 1);
	cfg.slots[0].backing = S2HYP_BACKING_4K;
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	const struct s2guest_vcpu_result *r = s2guest_vcpu(g, 0);
	assert_int_equal(r->end, S2GUEST_EXITED);
	assert_int_equal(r->exit_code, 0x1235);

	const struct s2guest_report *f = find_report(g, S2GUEST_REP_FAULT, 0, NULL);
	assert_non_null(f);
	assert_string_equal(f->fault, "translation");
	assert_int_equal(f->access, S2HYP_ACC_EXEC);
	assert_int_equal(f->pc, im.entry);
	f = find_report(g, S2GUEST_REP_FAULT, 0, "ldr");
	assert_non_null(f);
	assert_string_equal(f->fault, "translation");
	assert_int_equal(f->access, S2HYP_ACC_READ);
	assert_int_equal(f->ipa, DATA);
	assert_int_equal(vstats(g, 0)->faults_translation, 2);
	assert_int_equal(vstats(g, 0)->faults_permission, 0);
	assert_int_equal(nr_fired(g), 0);
	s2guest_delete(g);
	free(im.bytes);
}

/* On a dirty-logged slot a read maps the page read-only: the guest's store
 * is a permission fault, resolved by relaxing the permissions, and the
 * store is retried. */
static void test_permission_fault(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "rw", 1);
	cfg.slots[0].backing = S2HYP_BACKING_4K;
	cfg.slots[0].dirty_log = true;
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	assert_int_equal(s2guest_vcpu(g, 0)->exit_code, 0x1235);
	const struct s2guest_report *f = find_report(g, S2GUEST_REP_FAULT, 0, "str");
	assert_non_null(f);
	assert_string_equal(f->fault, "permission");
	assert_int_equal(f->access, S2HYP_ACC_WRITE);
	assert_int_equal(f->ipa, DATA);
	assert_int_equal(vstats(g, 0)->faults_permission, 1);
	assert_true(s2hyp_stats(s2guest_machine(g))->relaxes >= 1);
	assert_int_equal(nr_fired(g), 0);
	s2guest_delete(g);
	free(im.bytes);
}

/* The host unmaps the data page (phase 1) while the guest waits in the
 * middle of its run: the TLBI reaches the vCPU's Unicorn state, so its next
 * read faults again, the page is mapped back and holds what was written.
 * Write-protect the same way: the next store is a permission fault. */
static void test_unmap_and_wrprotect_while_running(void **state)
{
	(void)state;
	for (int wp = 0; wp < 2; wp++) {
		struct s2guest_config cfg;
		struct image im;
		setup(&cfg, &im, "rw", 2);
		cfg.slots[0].backing = S2HYP_BACKING_4K;
		struct s2hyp_host_op op = {
			.kind = wp ? S2HYP_HOST_WRPROTECT_IPA : S2HYP_HOST_UNMAP_IPA, .phase = 1,
			.addr = DATA, .size = 4096,
		};
		cfg.host = &op;
		cfg.nhost = 1;
		struct s2guest *g = create(&cfg);
		assert_int_equal(run_seed(g, 0), S2HYP_DONE);
		assert_int_equal(s2guest_vcpu(g, 0)->exit_code, 0x1235);
		const struct s2hyp_vcpu_stats *vs = vstats(g, 0);
		if (wp) {
			assert_int_equal(vs->faults_translation, 2);
			assert_int_equal(vs->faults_permission, 1);
		} else {
			assert_int_equal(vs->faults_translation, 3);
			assert_int_equal(s2hyp_stats(s2guest_machine(g))->unmaps, 1);
		}
		assert_int_equal(nr_fired(g), 0);
		s2guest_delete(g);
		free(im.bytes);
	}
}

/* The same unmap racing the guest under random schedules and quanta, with
 * evictions and speculation explored: every run completes, no rule fires
 * and no write is lost. */
static void test_unmap_race_random(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 24; seed++) {
		struct s2guest_config cfg;
		struct image im;
		setup(&cfg, &im, "rw", 2);
		cfg.machine.explore_evictions = true;
		cfg.machine.explore_prefetch = true;
		cfg.slots[0].backing = seed % 2 ? S2HYP_BACKING_4K : S2HYP_BACKING_THP;
		struct s2hyp_host_op op = { .kind = S2HYP_HOST_UNMAP_IPA, .phase = 0, .addr = DATA,
					    .size = 2 << 20 };
		cfg.host = &op;
		cfg.nhost = 1;
		struct s2guest *g = create(&cfg);
		assert_int_equal(run_seed(g, seed), S2HYP_DONE);
		assert_int_equal(s2guest_vcpu(g, 0)->exit_code, 0x1235);
		assert_int_equal(nr_fired(g), 0);
		s2guest_delete(g);
		free(im.bytes);
	}
}

/* SCTLR_EL1.M = 1 cannot be modelled: the write is refused and the run
 * stops at the MSR, reported as such. */
static void test_mmu_on_refused(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "mmu", 1);
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_ERROR);
	const struct s2guest_vcpu_result *r = s2guest_vcpu(g, 0);
	assert_int_equal(r->end, S2GUEST_MMU_ON);
	assert_string_equal(r->insn_text, "msr sctlr_el1, x1");
	assert_non_null(strstr(r->why, "SCTLR_EL1"));
	s2guest_delete(g);
	free(im.bytes);
}

/* The boot-like guest reads, MMU off, a payload the VMM wrote through the
 * dcache. Without the CMOs of a new mapping it reads stale memory (and
 * its own code is stale in the icache unless IDC); with them, or with FWB
 * making its accesses cacheable, everything is fresh. */
static void test_boot_image(void **state)
{
	static const struct {
		enum s2pt_variant v;
		bool fwb, idc;
		bool stale_data, stale_insn;
	} cases[] = {
		{ S2PT_V_UPSTREAM_NOCMO, false, false, true, true },
		{ S2PT_V_UPSTREAM_NOCMO, false, true, true, false },
		{ S2PT_V_UPSTREAM, false, false, false, false },
		{ S2PT_V_UPSTREAM_2021, false, false, false, false },
		{ S2PT_V_UPSTREAM_NOCMO, true, false, false, false },
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct s2guest_config cfg;
		struct image im;
		setup(&cfg, &im, "boot", 1);
		cfg.machine.variant = cases[i].v;
		cfg.machine.fwb = cases[i].fwb;
		cfg.machine.idc = cases[i].idc;
		struct s2guest *g = create(&cfg);
		assert_int_equal(run_seed(g, 0), S2HYP_DONE);
		const struct s2guest_vcpu_result *r = s2guest_vcpu(g, 0);
		assert_int_equal(r->end, S2GUEST_EXITED);
		assert_int_equal(fired(g, S2HYP_RULE_STALE_DATA), cases[i].stale_data);
		assert_int_equal(fired(g, S2HYP_RULE_STALE_INSN), cases[i].stale_insn);
		assert_int_equal(fired(g, S2HYP_RULE_DCACHE_CLEAN), cases[i].stale_data);
		if (cases[i].stale_data) {
			/* Every word read came from memory before the load. */
			assert_int_equal(r->exit_code, 2048);
			const struct s2guest_report *s =
				find_report(g, S2GUEST_REP_STALE_DATA, 0, "ldr");
			assert_non_null(s);
			assert_int_equal(s->got, 0);
			assert_int_equal(s->want, 0x5a5a5a5a00000000ull);
		} else {
			assert_int_equal(r->exit_code, 0);
			assert_int_equal(nr_fired(g), 0);
		}
		s2guest_delete(g);
		free(im.bytes);
	}
}

/* Code written over code this CPU ran: stale in its icache unless IC IVAU
 * (after DC CVAU) or DIC; IDC alone does not help. The report shows both
 * instructions. */
static void test_self_modifying_code(void **state)
{
	static const struct {
		const char *guest;
		bool idc, dic, fwb;
		bool stale;
	} cases[] = {
		{ "smc", false, false, false, true },
		{ "smc", true, false, false, true },
		{ "smc", false, true, false, false },
		{ "smc", false, false, true, true },
		{ "smc-maint", false, false, false, false },
		{ "smc-maint", true, false, false, false },
		{ "smc-maint", false, false, true, false },
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct s2guest_config cfg;
		struct image im;
		setup(&cfg, &im, cases[i].guest, 1);
		cfg.machine.idc = cases[i].idc;
		cfg.machine.dic = cases[i].dic;
		cfg.machine.fwb = cases[i].fwb;
		struct s2guest *g = create(&cfg);
		assert_int_equal(run_seed(g, 0), S2HYP_DONE);
		/* Unicorn runs what memory holds. */
		assert_int_equal(s2guest_vcpu(g, 0)->exit_code, 2);
		assert_int_equal(fired(g, S2HYP_RULE_STALE_INSN), cases[i].stale);
		assert_int_equal(nr_fired(g), cases[i].stale);
		if (cases[i].stale) {
			const struct s2guest_report *r =
				find_report(g, S2GUEST_REP_STALE_INSN, 0, NULL);
			assert_non_null(r);
			assert_string_equal(r->stale_text, "movz x0, #0x1");
			assert_string_equal(r->fresh_text, "movz x0, #0x2");
		}
		s2guest_delete(g);
		free(im.bytes);
	}
}

/* Checking only unverified pages (the fast path) finds exactly what
 * checking every block finds. */
static void test_verified_pages_change_nothing(void **state)
{
	static const char *const guests[] = { "smc", "boot", "pages" };
	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		uint64_t viol[2][S2HYP_NR_RULES];
		unsigned reports[2];
		for (int all = 0; all < 2; all++) {
			struct s2guest_config cfg;
			struct image im;
			setup(&cfg, &im, guests[i], 1);
			cfg.machine.variant = S2PT_V_UPSTREAM_NOCMO;
			cfg.instrument_all = all;
			struct s2guest *g = create(&cfg);
			assert_int_equal(run_seed(g, 0), S2HYP_DONE);
			memcpy(viol[all], s2hyp_stats(s2guest_machine(g))->violations, sizeof(viol[all]));
			reports[all] = s2guest_nr_reports(g);
			s2guest_delete(g);
			free(im.bytes);
		}
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
			assert_int_equal(viol[0][r] > 0, viol[1][r] > 0);
		assert_int_equal(reports[0], reports[1]);
	}
	/* Fresh code is verified and then runs without checks. */
	struct s2guest_config cfg;
	struct image im;
	setup(&cfg, &im, "loop", 1);
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	assert_int_equal(s2guest_vcpu(g, 0)->pages_verified, 1);
	assert_true(s2guest_vcpu(g, 0)->blocks_checked <= 1100);
	s2guest_delete(g);
	free(im.bytes);
}

static const struct {
	enum s2pt_variant v;
	s2hyp_rule_set must;
} seed_expect[] = {
	{ S2PT_V_UPSTREAM, 0 },
	{ S2PT_V_UPSTREAM_2021, 0 },
	{ S2PT_V_INSTALL_FIRST, 0 },
	{ S2PT_V_UPSTREAM_NOCMO, S2HYP_RULE_BIT(S2HYP_RULE_DCACHE_CLEAN) | S2HYP_RULE_BIT(S2HYP_RULE_STALE_DATA) },
	{ S2PT_V_ANCHOR_LEAK, S2HYP_RULE_BIT(S2HYP_RULE_LEAK) | S2HYP_RULE_BIT(S2HYP_RULE_REFCOUNT) },
	{ S2PT_V_MERGE_TLBI_IPA, S2HYP_RULE_BIT(S2HYP_RULE_BBM) },
	{ S2PT_V_NO_RELOAD, S2HYP_RULE_BIT(S2HYP_RULE_WALK_AFTER_FREE) },
};

static void seed_config(struct s2guest_config *cfg, struct s2hyp_host_op *host)
{
	/* guests/seed.vm, spelled out. */
	cfg->slots[0] = (struct s2hyp_memslot){ .ipa = 0x40000000, .size = 2 << 20,
						.hva = 0x7f0000000000, .backing = S2HYP_BACKING_THP };
	cfg->slots[1] = (struct s2hyp_memslot){ .ipa = 0x40200000, .size = 4 << 20,
						.hva = 0x7f0000200000, .backing = S2HYP_BACKING_THP };
	cfg->nr_slots = 2;
	host[0] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_ON, .phase = 1, .slot = 1 };
	host[1] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DIRTY_LOG_OFF, .phase = 3, .slot = 1 };
	host[2] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_WRITE, .phase = 3,
					  .addr = 0x7f0000201000, .size = 16 << 10, .fill = 0xa5 };
	host[3] = (struct s2hyp_host_op){ .kind = S2HYP_HOST_DESTROY, .phase = 5 };
	cfg->host = host;
	cfg->nhost = 4;
}

/* The seed scenario run by real code: the block is split, coalesced by
 * vCPU 1's fault while the others touch it; each variant fires what it
 * fires in the scripted scenario. vCPU 0 takes exactly its 66 translation
 * faults (one fetch, two blocks, 63 split pages) and one permission fault. */
static void test_seed_by_real_code(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(seed_expect) / sizeof(seed_expect[0]); i++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct s2guest_config cfg;
			struct s2hyp_host_op host[4];
			struct image im;
			setup(&cfg, &im, "seed", 4);
			cfg.machine.variant = seed_expect[i].v;
			cfg.machine.explore_evictions = true;
			seed_config(&cfg, host);
			struct s2guest *g = create(&cfg);
			assert_int_equal(run_seed(g, seed), S2HYP_DONE);
			s2hyp_rule_set mask = 0;
			for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
				mask |= fired(g, (enum s2hyp_rule)r) ? S2HYP_RULE_BIT(r) : 0;
			if ((mask & seed_expect[i].must) != seed_expect[i].must)
				fail_msg("%s seed %llu: rules %#llx, expected at least %#llx",
					 s2pt_variant_name(seed_expect[i].v), (unsigned long long)seed,
					 (unsigned long long)mask, (unsigned long long)seed_expect[i].must);
			if (!seed_expect[i].must)
				assert_int_equal(mask, 0);
			const struct s2hyp_stats *st = s2hyp_stats(s2guest_machine(g));
			assert_int_equal(st->coalesces, 1);
			/* Phase 4 may add a few: a fault in another's map
			 * window, or vCPU 0 coalescing the block itself. */
			assert_in_range(st->vcpu[0].faults_translation, 66, 72);
			assert_int_equal(st->vcpu[0].faults_permission, 1);
			for (unsigned v = 0; v < 4; v++)
				assert_int_equal(s2guest_vcpu(g, v)->end, S2GUEST_EXITED);
			assert_int_equal(s2guest_vcpu(g, 1)->exit_code != 0,
					 fired(g, S2HYP_RULE_STALE_DATA));
			s2guest_delete(g);
			free(im.bytes);
		}
	}
}

/* One-instruction quanta through a strategy that always takes the
 * smallest: every instruction is its own step, the results are those of a
 * sequential run, and the vCPUs' non-atomic increments interleave. */
static unsigned first_choice(void *arg, const struct s2hyp_choice *c, unsigned n, uint64_t step)
{
	unsigned *rr = arg;
	(void)step;
	/* Round robin over the vCPUs that can move. */
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (*rr + k) % n;
		if (c[i].kind == S2HYP_CH_VCPU || c[i].kind == S2HYP_CH_HYP ||
		    c[i].kind == S2HYP_CH_HOST) {
			*rr = i + 1;
			return i;
		}
	}
	return 0;
}

static unsigned smallest(void *arg, unsigned n)
{
	(void)arg;
	return n - 1;
}

static void test_one_instruction_quanta(void **state)
{
	unsigned rr = 0;
	struct s2hyp_strategy st = { .choose = first_choice, .pick_arg = smallest, .arg = &rr };
	struct s2guest_config cfg;
	struct image im;
	(void)state;

	setup(&cfg, &im, "exit", 2);
	struct s2guest *g = create(&cfg);
	assert_int_equal(s2guest_run(g, &st), S2HYP_DONE);
	for (unsigned v = 0; v < 2; v++) {
		assert_int_equal(s2guest_vcpu(g, v)->exit_code, 0x40 + v);
		/* mov, hvc #1, add, hvc #0: at least one quantum each */
		assert_true(s2guest_vcpu(g, v)->quanta >= 4);
	}
	s2guest_delete(g);
	free(im.bytes);

	/* Lockstep increments lose updates: both end below 400. */
	rr = 0;
	setup(&cfg, &im, "smp", 2);
	g = create(&cfg);
	assert_int_equal(s2guest_run(g, &st), S2HYP_DONE);
	uint64_t a = s2guest_vcpu(g, 0)->exit_code, b = s2guest_vcpu(g, 1)->exit_code;
	assert_true(a < 400 && b < 400);
	assert_true(a >= 200 || b >= 200);
	s2guest_delete(g);
	free(im.bytes);
}

/* A strategy for tests/guest_test.c's retire guest: the vCPUs in turn,
 * and the i-th quantum chosen is q[i % n]. */
struct cycle {
	const unsigned *q;
	unsigned n, i, rr;
};

static unsigned cycle_choose(void *arg, const struct s2hyp_choice *c, unsigned n, uint64_t step)
{
	struct cycle *cy = arg;
	return first_choice(&cy->rr, c, n, step);
}

static unsigned cycle_pick(void *arg, unsigned n)
{
	struct cycle *cy = arg;
	unsigned q = cy->q[cy->i++ % cy->n];
	return q < n ? q : n - 1;
}

#define RETIRE_ITER 200

/* What retire.S logs when every instruction retired once. */
static void retire_check(struct s2guest *g, unsigned nv, const char *what)
{
	uint64_t sum = 0;
	for (uint64_t x2 = RETIRE_ITER; x2 > 0; x2--)
		if (x2 & 1)
			sum += RETIRE_ITER - x2 + 1;
	for (unsigned v = 0; v < nv; v++) {
		const struct s2guest_vcpu_result *r = s2guest_vcpu(g, v);
		if (r->end != S2GUEST_EXITED || r->nlog != 4 || r->log[0] != RETIRE_ITER ||
		    r->log[1] != 2 * RETIRE_ITER || r->log[2] != RETIRE_ITER || r->log[3] != sum)
			fail_msg("%s: vCPU %u ended %d at PC %#llx (%s) with %u logs: %llu %llu %llu "
				 "%llu, not %u %u %u %llu", what, v, (int)r->end,
				 (unsigned long long)r->pc, r->insn_text, r->nlog,
				 (unsigned long long)r->log[0], (unsigned long long)r->log[1],
				 (unsigned long long)r->log[2], (unsigned long long)r->log[3],
				 RETIRE_ITER, 2 * RETIRE_ITER, RETIRE_ITER, (unsigned long long)sum);
	}
}

/* A quantum that ends at a block boundary resumes at that block, whatever
 * quanta came before: k one-instruction quanta then a longer one, over
 * and over, move the stop across every instruction of the loop (Unicorn
 * keeps a deleted code hook until its next run ends, and then leaves the
 * PC where the last load or store synced it). */
static void test_every_instruction_retires_once(void **state)
{
	static const unsigned longer[] = { S2GUEST_Q_16_BLOCKS, S2GUEST_Q_256_BLOCKS,
					   S2GUEST_Q_1_BLOCK, S2GUEST_Q_RUN };
	(void)state;
	for (unsigned l = 0; l < sizeof(longer) / sizeof(longer[0]); l++) {
		for (unsigned k = 1; k <= 12; k++) {
			unsigned q[13];
			for (unsigned i = 0; i < k; i++)
				q[i] = S2GUEST_Q_1_INSN;
			q[k] = longer[l];
			struct cycle cy = { .q = q, .n = k + 1 };
			struct s2hyp_strategy st = { .choose = cycle_choose, .pick_arg = cycle_pick, .arg = &cy };
			struct s2guest_config cfg;
			struct image im;
			char what[64];
			setup(&cfg, &im, "retire", 1);
			struct s2guest *g = create(&cfg);
			assert_int_equal(s2guest_run(g, &st), S2HYP_DONE);
			snprintf(what, sizeof(what), "%u one-instruction quanta, then quantum %u", k,
				 longer[l]);
			retire_check(g, 1, what);
			s2guest_delete(g);
			free(im.bytes);
		}
	}
}

/* The same guest on 3 vCPUs under the random strategy, TLB and cache
 * evictions explored: whatever the seed, each vCPU's instructions retire
 * once. */
static void test_retire_once_random(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 100; seed++) {
		struct s2guest_config cfg;
		struct image im;
		char what[32];
		setup(&cfg, &im, "retire", 3);
		cfg.machine.explore_evictions = true;
		struct s2guest *g = create(&cfg);
		assert_int_equal(run_seed(g, seed), S2HYP_DONE);
		snprintf(what, sizeof(what), "seed %llu", (unsigned long long)seed);
		retire_check(g, 3, what);
		s2guest_delete(g);
		free(im.bytes);
	}
}

struct fingerprint {
	uint64_t exit[3];
	struct s2hyp_stats stats;
	size_t nsched;
	struct s2hyp_choice *sched;
};

static void smp_run(uint64_t seed, struct fingerprint *fp)
{
	struct s2guest_config cfg;
	struct image im;
	setup(&cfg, &im, "smp", 3);
	cfg.machine.explore_evictions = true;
	cfg.machine.explore_prefetch = true;
	struct s2guest *g = create(&cfg);
	s2hyp_record_schedule(s2guest_machine(g), true);
	assert_int_equal(run_seed(g, seed), S2HYP_DONE);
	for (unsigned v = 0; v < 3; v++)
		fp->exit[v] = s2guest_vcpu(g, v)->exit_code;
	fp->stats = *s2hyp_stats(s2guest_machine(g));
	const struct s2hyp_choice *s = s2hyp_schedule(s2guest_machine(g), &fp->nsched);
	fp->sched = malloc(fp->nsched * sizeof(*s));
	assert_non_null(fp->sched);
	memcpy(fp->sched, s, fp->nsched * sizeof(*s));
	s2guest_delete(g);
	free(im.bytes);
}

/* A seeded run is reproducible: the same seed gives the same schedule,
 * quanta included, the same statistics and the same guest results; other
 * seeds interleave differently. */
static void test_seeded_determinism(void **state)
{
	struct fingerprint a, b;
	unsigned differ = 0;
	(void)state;
	smp_run(7, &a);
	smp_run(7, &b);
	assert_int_equal(a.nsched, b.nsched);
	assert_memory_equal(a.sched, b.sched, a.nsched * sizeof(*a.sched));
	assert_memory_equal(&a.stats, &b.stats, sizeof(a.stats));
	assert_memory_equal(a.exit, b.exit, sizeof(a.exit));
	/* The schedule replays to the same run. */
	{
		struct s2guest_config cfg;
		struct image im;
		struct s2hyp_replay rp = { .sched = a.sched, .n = a.nsched };
		struct s2hyp_strategy st = s2hyp_strategy_replay_template;
		st.arg = &rp;
		setup(&cfg, &im, "smp", 3);
		cfg.machine.explore_evictions = true;
		cfg.machine.explore_prefetch = true;
		struct s2guest *g = create(&cfg);
		assert_int_equal(s2guest_run(g, &st), S2HYP_DONE);
		assert_false(rp.diverged);
		for (unsigned v = 0; v < 3; v++)
			assert_int_equal(s2guest_vcpu(g, v)->exit_code, a.exit[v]);
		s2guest_delete(g);
		free(im.bytes);
	}
	for (uint64_t seed = 8; seed < 12; seed++) {
		struct fingerprint c;
		smp_run(seed, &c);
		differ += c.nsched != a.nsched ||
			  memcmp(c.sched, a.sched, a.nsched * sizeof(*a.sched)) != 0;
		free(c.sched);
	}
	assert_true(differ >= 3);
	free(a.sched);
	free(b.sched);
}

/* DC and IC by address on pages stage 2 does not map yet fault like the
 * accesses they stand for, then complete: DC ZVA really zeroes. */
static void test_cmo_faults(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	for (unsigned q = 0; q < 2; q++) {
		setup(&cfg, &im, "cmo", 1);
		cfg.slots[0].backing = S2HYP_BACKING_4K;
		struct s2guest *g = create(&cfg);
		unsigned rr = 0;
		struct s2hyp_strategy st = { .choose = first_choice, .pick_arg = smallest, .arg = &rr };
		/* Run whole, and one instruction at a time. */
		assert_int_equal(q ? s2guest_run(g, &st) : run_seed(g, 0), S2HYP_DONE);
		const struct s2guest_vcpu_result *r = s2guest_vcpu(g, 0);
		assert_int_equal(r->end, S2GUEST_EXITED);
		assert_int_equal(r->exit_code, 0x600d);
		assert_int_equal(r->cmos, 4);
		assert_int_equal(vstats(g, 0)->faults_translation, 4);
		const struct s2guest_report *f = find_report(g, S2GUEST_REP_FAULT, 0, "dc civac");
		assert_non_null(f);
		assert_int_equal(f->access, S2HYP_ACC_READ);
		assert_int_equal(f->ipa, DATA);
		f = find_report(g, S2GUEST_REP_FAULT, 0, "dc zva");
		assert_non_null(f);
		assert_int_equal(f->access, S2HYP_ACC_WRITE);
		assert_non_null(find_report(g, S2GUEST_REP_FAULT, 0, "ic ivau"));
		assert_int_equal(nr_fired(g), 0);
		s2guest_delete(g);
		free(im.bytes);
	}
}

/* Exclusives, LDADD, CAS and SWP reach the cache model like plain
 * accesses: every value read back after them is the one they left. */
static void test_atomics(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "atomics", 1);
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	assert_int_equal(s2guest_vcpu(g, 0)->exit_code, 0x764100606ull);
	assert_int_equal(nr_fired(g), 0);
	s2guest_delete(g);
	free(im.bytes);
}

/* Accesses outside guest RAM are MMIO exits (reads give 0); an access
 * beyond the IPA space stops its vCPU with a report. */
static void test_mmio_and_bad_access(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "mmio", 2);
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	assert_int_equal(s2guest_vcpu(g, 0)->end, S2GUEST_EXITED);
	assert_int_equal(s2guest_vcpu(g, 0)->exit_code, 7);
	/* Unicorn splits 8-byte device accesses in two. */
	assert_in_range(s2guest_vcpu(g, 0)->mmio, 3, 5);
	assert_int_equal(vstats(g, 0)->mmio, 1);
	assert_int_equal(s2guest_vcpu(g, 1)->end, S2GUEST_BAD_ACCESS);
	assert_string_equal(s2guest_vcpu(g, 1)->insn_text, "ldr x2, [x1]");
	s2guest_delete(g);
	free(im.bytes);
}

/* With 4 Unicorn regions and 64 page mappings, regions are evicted and
 * mapped again from the TLB without faults; nothing written is lost. */
static void test_region_eviction(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "pages", 1);
	cfg.slots[0].backing = S2HYP_BACKING_4K;
	cfg.max_regions = 4;
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	const struct s2guest_vcpu_result *r = s2guest_vcpu(g, 0);
	assert_int_equal(r->exit_code, 0);
	assert_true(r->regions_evicted >= 60);
	assert_int_equal(vstats(g, 0)->faults_translation, 65);
	assert_int_equal(nr_fired(g), 0);
	s2guest_delete(g);
	free(im.bytes);
}

/* A guest that never exits ends with the time budget. */
static void test_timeout(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	(void)state;
	setup(&cfg, &im, "spin", 1);
	cfg.timeout_s = 0.2;
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	assert_int_equal(s2guest_vcpu(g, 0)->end, S2GUEST_TIMEOUT);
	s2guest_delete(g);
	free(im.bytes);
}

/* The run as a trace: the accesses that reached the hypervisor replay
 * through the same fault handler to the same faults. */
static void test_record_trace(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	char path[] = "/tmp/s2guest_trace_XXXXXX";
	(void)state;
	setup(&cfg, &im, "rw", 1);
	cfg.slots[0].backing = S2HYP_BACKING_4K;
	cfg.slots[0].dirty_log = true;
	cfg.record = true;
	struct s2guest *g = create(&cfg);
	assert_int_equal(run_seed(g, 0), S2HYP_DONE);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	struct s2hyp_scenario sc;
	assert_int_equal(s2guest_trace_scenario(g, &sc), 0);
	assert_int_equal(s2trace_write_scenario(f, &sc, NULL, 0, "guest_test"), 0);
	s2hyp_scenario_free(&sc);
	fclose(f);

	struct s2trace_result res;
	struct s2trace_replay_opts o = { 0 };
	assert_int_equal(s2trace_replay(path, &o, &res), 0);
	assert_int_equal(res.outcome, S2HYP_DONE);
	assert_int_equal(res.stats.vcpu[0].faults_translation, vstats(g, 0)->faults_translation);
	assert_int_equal(res.stats.vcpu[0].faults_permission, vstats(g, 0)->faults_permission);
	s2trace_result_free(&res);
	remove(path);
	s2guest_delete(g);
	free(im.bytes);
}

/* Bad configurations are refused with a reason, never run. */
static void test_bad_config(void **state)
{
	struct s2guest_config cfg;
	struct image im;
	struct s2guest *g;
	char err[300];
	(void)state;
	setup(&cfg, &im, "exit", 1);
	cfg.load_ipa = 0x1000;
	assert_int_not_equal(s2guest_create(&cfg, &g, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "memslot"));
	cfg.load_ipa = im.load;
	cfg.max_regions = 2000;
	assert_int_not_equal(s2guest_create(&cfg, &g, err, sizeof(err)), 0);
	cfg.max_regions = 32;
	cfg.entry_ipa = im.entry + 2;
	assert_int_not_equal(s2guest_create(&cfg, &g, err, sizeof(err)), 0);

	const char *why = NULL;
	uint64_t l, e;
	uint8_t hdr[32] = "s2guest1";
	assert_int_equal(s2guest_image_header(hdr, 16, &l, &e, &why), 0);
	hdr[8] = 0x10;	/* entry 0 below load 0x10 */
	assert_int_equal(s2guest_image_header(hdr, sizeof(hdr), &l, &e, &why), S2_EINVAL);
	free(im.bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_convention),
		cmocka_unit_test(test_fault_delivery_and_resume),
		cmocka_unit_test(test_permission_fault),
		cmocka_unit_test(test_unmap_and_wrprotect_while_running),
		cmocka_unit_test(test_unmap_race_random),
		cmocka_unit_test(test_mmu_on_refused),
		cmocka_unit_test(test_boot_image),
		cmocka_unit_test(test_self_modifying_code),
		cmocka_unit_test(test_verified_pages_change_nothing),
		cmocka_unit_test(test_seed_by_real_code),
		cmocka_unit_test(test_one_instruction_quanta),
		cmocka_unit_test(test_every_instruction_retires_once),
		cmocka_unit_test(test_retire_once_random),
		cmocka_unit_test(test_seeded_determinism),
		cmocka_unit_test(test_cmo_faults),
		cmocka_unit_test(test_atomics),
		cmocka_unit_test(test_mmio_and_bad_access),
		cmocka_unit_test(test_region_eviction),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_record_trace),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
