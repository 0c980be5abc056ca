/* schedule_fuzz: libFuzzer harness whose input bytes are a scenario and a
 * schedule, so that coverage-guided search (libFuzzer, or OSS-Fuzz and
 * ClusterFuzz running it unchanged) explores interleavings of the machine.
 *
 * Input layout:
 *   byte 0      the scenario: 0 the generic generator (fuzz/generate.c),
 *               1.. the built-ins (seed, map-unmap-race, dirty-log-cycle,
 *               notifier-race, coalesce-race), modulo their number
 *   byte 1      vCPUs for a built-in (2 + byte % 3); for the generator, what
 *               it may choose (granule, vCPUs, FWB/eager splitting: bits 0-2)
 *   bytes 2-9   the generator's seed (little endian)
 *   the rest    the scheduler's choices, one byte each: the index among the
 *               enabled choices (and among candidates for an eviction or a
 *               speculative walk), modulo their number; when the bytes run
 *               out, the first enabled choice (the hypervisor's next effect,
 *               else the first thread) every time.
 * Missing header bytes count as zero.
 *
 * The walker is the environment's S2EMU_WALKER (a name from `s2emu
 * variants`), upstream by default; S2EMU_SCENARIO (random, or a built-in's
 * name) pins the scenario, and byte 0 is then ignored. A rule that fires is reported on
 * standard error (rule, report, schedule) and the harness aborts, so that
 * libFuzzer keeps the input as a crash; running the harness binary on that
 * file shows it again. The correct walkers fire nothing, whatever the bytes:
 * the generator makes only scenarios they pass.
 *
 * Built by scripts/fuzz-smoke.sh (and tests/fuzz/oss-fuzz/build.sh) against
 * common, walker, cache-model, hyp-model, traces and fuzz; docs/scale-out.md
 * shows a campaign finding install-first-nocmo from an empty corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/s2fuzz.h"
#include "hyp-model/s2hyp_scenario.h"
#include "traces/s2trace.h"

#define HEADER 10
#define MAX_STEPS 20000		/* a run is a few hundred steps; this bounds a pathological one */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum s2pt_variant walker = S2PT_V_UPSTREAM;
static int pinned = -1;		/* S2EMU_SCENARIO: 0 the generator, else 1 + builtins[] */

/* The built-ins, in the order byte 0 picks them (after the generator). */
static const char *const builtins[] = {
	"seed", "map-unmap-race", "dirty-log-cycle", "notifier-race", "coalesce-race",
};
#define NR_BUILTINS (sizeof(builtins) / sizeof(builtins[0]))

struct bytes {
	const uint8_t *p;
	size_t n, pos;
};

static unsigned next_index(struct bytes *b, unsigned n)
{
	if (n <= 1 || b->pos >= b->n)
		return 0;
	return b->p[b->pos++] % n;
}

static unsigned choose(void *arg, const struct s2hyp_choice *choices, unsigned n, uint64_t step)
{
	(void)choices;
	(void)step;
	return next_index(arg, n);
}

static unsigned pick_arg(void *arg, unsigned n)
{
	return next_index(arg, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *name = getenv("S2EMU_WALKER");
	if (name && s2pt_variant_parse(name, &walker)) {
		char list[512];
		fprintf(stderr, "schedule_fuzz: unknown S2EMU_WALKER '%s' (valid: %s)\n", name,
			s2pt_variant_list(list, sizeof(list)));
		exit(2);
	}
	name = getenv("S2EMU_SCENARIO");
	if (name && !strcmp(name, "random"))
		pinned = 0;
	for (unsigned i = 0; name && i < NR_BUILTINS; i++)
		if (!strcmp(name, builtins[i]))
			pinned = (int)i + 1;
	if (name && pinned < 0) {
		fprintf(stderr, "schedule_fuzz: unknown S2EMU_SCENARIO '%s' (random", name);
		for (unsigned i = 0; i < NR_BUILTINS; i++)
			fprintf(stderr, ", %s", builtins[i]);
		fprintf(stderr, ")\n");
		exit(2);
	}
	return 0;
}

static void report(const struct s2hyp *m, const struct s2hyp_scenario *sc, const char *what)
{
	size_t n;
	const struct s2hyp_choice *sched = s2hyp_schedule(m, &n);

	fprintf(stderr, "schedule_fuzz: %s with walker %s, %u vCPUs\n", what,
		s2pt_variant_name(sc->cfg.variant), sc->cfg.nr_vcpus);
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++)
		s2hyp_print_violation(stderr, s2hyp_violation(m, i));
	fprintf(stderr, "schedule (%zu choices):", n);
	for (size_t i = 0; i < n; i++) {
		fputc(' ', stderr);
		s2trace_print_choice(stderr, &sched[i]);
	}
	fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t h[HEADER] = { 0 };
	struct s2hyp_scenario sc;
	struct s2hyp_config cfg;
	struct s2hyp *m;
	const char *why = NULL;
	int ret;

	memcpy(h, data, size < HEADER ? size : HEADER);
	s2hyp_config_init(&cfg);
	cfg.variant = walker;
	unsigned which = pinned >= 0 ? (unsigned)pinned : h[0] % (NR_BUILTINS + 1);
	if (which == 0) {
		uint64_t seed = 0;
		for (unsigned i = 0; i < 8; i++)
			seed |= (uint64_t)h[2 + i] << (8 * i);
		ret = s2fuzz_scenario_generate(&sc, &cfg, h[1] & S2FUZZ_GEN_ALL, seed);
	} else {
		cfg.nr_vcpus = 2 + h[1] % 3;
		ret = s2fuzz_scenario_build_cfg(&sc, builtins[which - 1], &cfg);
	}
	if (ret) {
		/* The generator and the built-ins accept every header: ours to fix. */
		fprintf(stderr, "schedule_fuzz: scenario refused (%d)\n", ret);
		abort();
	}
	sc.cfg.max_steps = MAX_STEPS;
	if (s2hyp_scenario_instantiate(&sc, &m, &why)) {
		fprintf(stderr, "schedule_fuzz: the machine refuses the scenario: %s\n", why);
		abort();
	}
	struct bytes b = { data, size, size < HEADER ? size : HEADER };
	struct s2hyp_strategy st = { .choose = choose, .pick_arg = pick_arg, .arg = &b };
	s2hyp_record_schedule(m, true);
	s2hyp_stop_on_violation(m, true);
	s2hyp_run(m, &st);
	if (s2hyp_nr_violations(m)) {
		report(m, &sc, "a rule fired");
		abort();
	}
	s2hyp_delete(m);
	s2hyp_scenario_free(&sc);
	return 0;
}
