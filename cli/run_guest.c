/* s2emu run-guest: an AArch64 image on the machine's vCPUs under Unicorn,
 * with stage 2 ours and every rule checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/s2_clock.h"
#include "cli/cli.h"
#include "common/s2_file.h"
#include "guest/s2guest.h"
#include "traces/s2trace.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2emu run-guest IMAGE [options]\n\n"
		"Runs a raw AArch64 image on every vCPU (x0 = the vCPU's id, EL1, MMU off)\n"
		"under Unicorn, with stage 2 translated by the walker and every access, fetch\n"
		"and cache maintenance instruction going through the cache model. A vCPU ends\n"
		"with 'hvc #0' (x0: exit code); 'hvc #1' logs x0; 'hvc #2' moves it to phase x0.\n"
		"See docs/guest.md.\n\n"
		"options:\n"
		"  --load ADDR         IPA the image is loaded at (default: its header's, else\n"
		"                      the start of guest RAM)\n"
		"  --entry ADDR        entry point (default: the header's, else the load address)\n"
		"  --mem SIZE          guest RAM, one memslot (default 128M; K, M, G suffixes)\n"
		"  --ram-ipa ADDR      where guest RAM starts (default 0x40000000)\n"
		"  --backing KIND      4k, thp, hugetlb-2m or hugetlb-1g (default thp)\n"
		"  --dirty-log         dirty logging on from the start\n"
		"  --vm FILE           memslots and host events from a trace-format file\n"
		"                      (memslot, phase and host lines) instead of --mem\n"
		"  --strategy sequential|random  how vCPUs interleave; default random\n"
		"  --seed S            seed of the random strategy (default 1)\n"
		"  --timeout SECONDS   wall-clock budget (default 60; 0 none)\n"
		"  --regions N         Unicorn regions per vCPU, 4 to 256 (default 32)\n"
		"  --instrument-all    check every block, even verified code (slower)\n"
		"  --schedule          print the schedule (one choice a line)\n"
		"  --record FILE       write the accesses that reached the hypervisor as a trace\n"
		"  --json              JSON instead of text\n%s\n"
		"exit status: 0 every vCPU exited with 0 and no rule fired, 1 otherwise,\n"
		"2 bad usage or image.\n", cli_machine_options_help);
}

static int parse_backing(const char *s, enum s2hyp_backing *b)
{
	static const struct { const char *name; enum s2hyp_backing b; } names[] = {
		{ "4k", S2HYP_BACKING_4K }, { "thp", S2HYP_BACKING_THP },
		{ "hugetlb-2m", S2HYP_BACKING_HUGETLB_2M }, { "hugetlb-1g", S2HYP_BACKING_HUGETLB_1G },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s && !strcmp(s, names[i].name)) {
			*b = names[i].b;
			return 0;
		}
	fprintf(stderr, "s2emu run-guest: --backing must be 4k, thp, hugetlb-2m or hugetlb-1g\n");
	return -1;
}

/* A VM description: memslot, phase and host lines of the trace format. */
static int load_vm(const char *path, struct s2guest_config *cfg, struct s2hyp_host_op **host,
		   size_t *nhost, unsigned *slot_line)
{
	struct s2trace_reader *r;
	struct s2trace_event ev;
	char err[400];
	unsigned phase = 0;
	size_t cap = 0;
	int ret;

	if (s2trace_open(path, &r, err, sizeof(err))) {
		fprintf(stderr, "s2emu run-guest: %s\n", err);
		return -1;
	}
	cfg->nr_slots = 0;
	while ((ret = s2trace_next(r, &ev)) > 0) {
		switch (ev.kind) {
		case S2T_MEMSLOT:
			slot_line[cfg->nr_slots] = ev.line;
			cfg->slots[cfg->nr_slots++] = ev.memslot.slot;
			continue;
		case S2T_PHASE:
			phase = (unsigned)ev.phase.n;
			continue;
		case S2T_HOST:
			if (*nhost == cap) {
				cap = cap ? cap * 2 : 16;
				void *p = realloc(*host, cap * sizeof(**host));
				if (!p) {
					fprintf(stderr, "s2emu run-guest: out of memory\n");
					s2trace_close(r);
					return -1;
				}
				*host = p;
			}
			(*host)[*nhost] = ev.host;
			(*host)[(*nhost)++].phase = phase;
			continue;
		default:
			fprintf(stderr, "s2emu run-guest: %s:%u: a VM file holds memslot, phase and "
					"host lines (machine options go on the command line, guest "
					"accesses come from the guest)\n", path, ev.line);
			s2trace_close(r);
			return -1;
		}
	}
	if (ret < 0)
		fprintf(stderr, "s2emu run-guest: %s\n", s2trace_error(r));
	else if (!cfg->nr_slots)
		fprintf(stderr, "s2emu run-guest: %s: no memslot\n", path);
	s2trace_close(r);
	return ret < 0 || !cfg->nr_slots ? -1 : 0;
}

static int read_file(const char *path, uint8_t **data, size_t *n)
{
	int ret = s2_read_file(path, data, n);
	if (ret || !*n) {
		fprintf(stderr, "s2emu run-guest: cannot read %s%s\n", path,
			ret ? (ret == S2_ENOMEM ? ": too large" : "") : ": empty");
		if (!ret) {
			free(*data);
			*data = NULL;	/* the caller frees what it holds */
		}
		return -1;
	}
	return 0;
}

static int fired_rules(struct s2hyp *m)
{
	const struct s2hyp_stats *st = s2hyp_stats(m);
	int n = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		n += st->violations[r] > 0;
	return n;
}

static void print_text(struct s2guest *g, const char *image, const struct s2guest_config *cfg,
		       bool random, uint64_t seed, enum s2hyp_outcome o, double secs)
{
	struct s2hyp *m = s2guest_machine(g);
	const struct s2hyp_config *mc = &cfg->machine;
	const struct s2hyp_stats *st = s2hyp_stats(m);

	printf("guest %s: %u vCPU%s, walker %s, %uK granule, %u-bit IPA%s%s%s\n", image, mc->nr_vcpus,
	       mc->nr_vcpus == 1 ? "" : "s", s2pt_variant_name(mc->variant),
	       1u << (mc->granule_shift - 10), mc->ipa_bits, mc->fwb ? ", FWB" : "",
	       mc->idc ? ", IDC" : "", mc->dic ? ", DIC" : "");
	printf("image: %zu bytes at IPA %#llx, entry %#llx; strategy %s", cfg->image_size,
	       (unsigned long long)cfg->load_ipa, (unsigned long long)cfg->entry_ipa,
	       random ? "random" : "sequential");
	if (random)
		printf(", seed %llu", (unsigned long long)seed);
	printf("\noutcome: %s, %llu steps, %.3f s%s%s\n", s2hyp_outcome_name(o),
	       (unsigned long long)st->steps, secs, o != S2HYP_DONE ? ": " : "",
	       o != S2HYP_DONE ? s2hyp_error(m) : "");
	for (unsigned i = 0; i < mc->nr_vcpus; i++) {
		const struct s2guest_vcpu_result *r = s2guest_vcpu(g, i);
		const struct s2hyp_vcpu_stats *vs = &st->vcpu[i];
		printf("vCPU %u: %s", i, s2guest_end_name(r->end));
		if (r->end == S2GUEST_EXITED)
			printf(" %#llx", (unsigned long long)r->exit_code);
		printf(" at PC %#llx (%s)\n", (unsigned long long)r->pc, r->insn_text);
		if (r->end != S2GUEST_EXITED && r->why[0])
			printf("  %s\n", r->why);
		printf("  faults: %llu translation, %llu permission, %llu access-flag "
		       "(%llu inside another's map); %llu MMIO\n",
		       (unsigned long long)vs->faults_translation,
		       (unsigned long long)vs->faults_permission,
		       (unsigned long long)vs->faults_access_flag,
		       (unsigned long long)vs->faults_in_window, (unsigned long long)r->mmio);
		printf("  %llu quanta, %llu accesses, %llu handed to the hypervisor, %llu walks, "
		       "%llu blocks checked, %llu code pages verified, %llu CMOs, %llu TLBIs\n",
		       (unsigned long long)r->quanta, (unsigned long long)vs->accesses,
		       (unsigned long long)r->handovers, (unsigned long long)vs->walks,
		       (unsigned long long)r->blocks_checked, (unsigned long long)r->pages_verified,
		       (unsigned long long)r->cmos, (unsigned long long)r->tlbis);
		if (r->nlog) {
			printf("  log:");
			for (unsigned k = 0; k < r->nlog; k++)
				printf(" %#llx", (unsigned long long)r->log[k]);
			printf("\n");
		}
	}
	printf("hypervisor: %llu maps (%llu coalesces), %llu relaxes, %llu unmaps, %llu TLBIs, "
	       "%llu DSBs, %llu CMOs (%llu KiB)\n",
	       (unsigned long long)st->maps, (unsigned long long)st->coalesces,
	       (unsigned long long)st->relaxes, (unsigned long long)st->unmaps,
	       (unsigned long long)st->tlbis, (unsigned long long)st->dsbs,
	       (unsigned long long)st->cmos, (unsigned long long)(st->cmo_bytes / 1024));
	unsigned nrep = s2guest_nr_reports(g);
	if (nrep) {
		printf("reports:\n");
		for (unsigned i = 0; i < nrep; i++) {
			printf("  ");
			s2guest_print_report(stdout, s2guest_report(g, i));
		}
		if (s2guest_reports_dropped(g))
			printf("  (%llu more not kept)\n", (unsigned long long)s2guest_reports_dropped(g));
	}
	if (!fired_rules(m)) {
		printf("rules: none fired\n");
		return;
	}
	printf("rules fired:\n");
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r])
			printf("  %-28s %llu times\n", s2hyp_rule_name((enum s2hyp_rule)r),
			       (unsigned long long)st->violations[r]);
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++) {
		printf("\n");
		s2hyp_print_violation(stdout, s2hyp_violation(m, i));
	}
}

static void print_json(struct s2guest *g, const char *image, const struct s2guest_config *cfg,
		       bool random, uint64_t seed, enum s2hyp_outcome o, double secs)
{
	struct s2hyp *m = s2guest_machine(g);
	const struct s2hyp_config *mc = &cfg->machine;
	const struct s2hyp_stats *st = s2hyp_stats(m);

	printf("{\"image\": ");
	cli_json_string(image);
	printf(", \"walker\": ");
	cli_json_string(s2pt_variant_name(mc->variant));
	printf(", \"vcpus\": %u, \"granule\": %u, \"ipa_bits\": %u, \"fwb\": %s, \"idc\": %s, "
	       "\"dic\": %s, \"load\": %llu, \"entry\": %llu, \"strategy\": \"%s\", \"seed\": %llu, "
	       "\"outcome\": \"%s\", \"error\": ",
	       mc->nr_vcpus, 1u << mc->granule_shift, mc->ipa_bits, mc->fwb ? "true" : "false",
	       mc->idc ? "true" : "false", mc->dic ? "true" : "false",
	       (unsigned long long)cfg->load_ipa, (unsigned long long)cfg->entry_ipa,
	       random ? "random" : "sequential", (unsigned long long)seed, s2hyp_outcome_name(o));
	cli_json_string(o == S2HYP_DONE ? "" : s2hyp_error(m));
	printf(", \"steps\": %llu, \"seconds\": %.6f, \"maps\": %llu, \"coalesces\": %llu, "
	       "\"relaxes\": %llu, \"unmaps\": %llu, \"tlbis\": %llu, \"dsbs\": %llu, \"cmos\": %llu, "
	       "\"cmo_bytes\": %llu, \"vcpu\": [",
	       (unsigned long long)st->steps, secs, (unsigned long long)st->maps,
	       (unsigned long long)st->coalesces, (unsigned long long)st->relaxes,
	       (unsigned long long)st->unmaps, (unsigned long long)st->tlbis,
	       (unsigned long long)st->dsbs, (unsigned long long)st->cmos,
	       (unsigned long long)st->cmo_bytes);
	for (unsigned i = 0; i < mc->nr_vcpus; i++) {
		const struct s2guest_vcpu_result *r = s2guest_vcpu(g, i);
		const struct s2hyp_vcpu_stats *vs = &st->vcpu[i];
		printf("%s{\"end\": \"%s\", \"exit_code\": %llu, \"pc\": %llu, \"insn_text\": ",
		       i ? ", " : "", s2guest_end_name(r->end), (unsigned long long)r->exit_code,
		       (unsigned long long)r->pc);
		cli_json_string(r->insn_text);
		printf(", \"why\": ");
		cli_json_string(r->why);
		printf(", \"phase\": %u, \"faults\": {\"translation\": %llu, \"permission\": %llu, "
		       "\"access_flag\": %llu, \"in_window\": %llu}, \"mmio\": %llu, \"quanta\": %llu, "
		       "\"accesses\": %llu, \"handovers\": %llu, \"walks\": %llu, "
		       "\"blocks_checked\": %llu, \"pages_verified\": %llu, \"cmos\": %llu, "
		       "\"tlbis\": %llu, \"log\": [",
		       r->phase, (unsigned long long)vs->faults_translation,
		       (unsigned long long)vs->faults_permission,
		       (unsigned long long)vs->faults_access_flag,
		       (unsigned long long)vs->faults_in_window, (unsigned long long)r->mmio,
		       (unsigned long long)r->quanta, (unsigned long long)vs->accesses,
		       (unsigned long long)r->handovers, (unsigned long long)vs->walks,
		       (unsigned long long)r->blocks_checked, (unsigned long long)r->pages_verified,
		       (unsigned long long)r->cmos, (unsigned long long)r->tlbis);
		for (unsigned k = 0; k < r->nlog; k++)
			printf("%s%llu", k ? ", " : "", (unsigned long long)r->log[k]);
		printf("]}");
	}
	printf("], \"reports\": [");
	for (unsigned i = 0; i < s2guest_nr_reports(g); i++) {
		printf("%s", i ? ", " : "");
		s2guest_print_report_json(stdout, s2guest_report(g, i));
	}
	printf("], \"reports_dropped\": %llu, \"rules\": {",
	       (unsigned long long)s2guest_reports_dropped(g));
	bool first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		if (!st->violations[r])
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ", s2hyp_rule_name((enum s2hyp_rule)r),
		       (unsigned long long)st->violations[r]);
		first = false;
	}
	printf("}, \"violations\": [");
	for (unsigned i = 0; i < s2hyp_nr_violations(m); i++) {
		printf("%s", i ? ", " : "");
		s2hyp_print_violation_json(stdout, s2hyp_violation(m, i));
	}
	printf("]}\n");
}

struct opts {
	const char *image, *vm, *record;
	bool json, random, show_sched, have_load, have_entry, dirty_log, have_seed;
	const char *ram_opt;	/* --mem, --backing or --ram-ipa as typed */
	uint64_t seed, load, entry, mem, ram_ipa;
	enum s2hyp_backing backing;
};

/* The run as a guest-code trace: its machine, the image (by path, with its
 * size), the schedule taken, the host program and the outcome; 's2emu
 * replay' runs the image again under that schedule. */
static int write_record(const char *path, const struct opts *o, const struct s2guest_config *cfg,
			struct s2guest *g)
{
	struct s2hyp_scenario sc;
	char comment[400];
	size_t n;
	int ret = 0;

	s2hyp_scenario_init(&sc);
	sc.cfg = cfg->machine;
	memcpy(sc.slots, cfg->slots, sizeof(sc.slots));
	sc.nr_slots = cfg->nr_slots;
	for (size_t i = 0; i < cfg->nhost && !ret; i++)
		ret = s2hyp_scenario_add_host(&sc, &cfg->host[i]);
	snprintf(comment, sizeof(comment), "recorded by s2emu %s run-guest %s: %s strategy, seed %llu",
		 S2EMU_VERSION, o->image, o->random ? "random" : "sequential",
		 (unsigned long long)o->seed);
	/* The image as seen from the trace: replay looks beside the trace first. */
	char image[1024];
	if (s2_path_relative_to(path, o->image, image, sizeof(image)))
		snprintf(image, sizeof(image), "%s", o->image);
	FILE *f = fopen(path, "w");
	const struct s2hyp_choice *sched = s2hyp_schedule(s2guest_machine(g), &n);
	if (f && !ret) {
		ret = s2trace_write_header(f, &sc, sched, n, comment);
		fprintf(f, "guest image=%s load=%#llx entry=%#llx size=%zu\n", image,
			(unsigned long long)cfg->load_ipa, (unsigned long long)cfg->entry_ipa,
			cfg->image_size);
		ret |= s2trace_write_events(f, &sc);
		ret |= s2trace_write_outcome(f, s2hyp_stats(s2guest_machine(g)));
	}
	if (!f) {
		fprintf(stderr, "s2emu run-guest: cannot write %s: %s\n", path, strerror(errno));
		ret = -1;
	} else if (cli_close_output("run-guest", f, path)) {
		ret = -1;
	} else if (ret) {
		fprintf(stderr, "s2emu run-guest: cannot write %s: %s\n", path, s2_err_msg(ret));
		ret = -1;
	}
	s2hyp_scenario_free(&sc);
	return ret;
}


static int parse(int argc, char **argv, struct opts *o, struct s2guest_config *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		int r = cli_machine_option(argc, argv, &i, &cfg->machine, "run-guest");
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "--schedule")) {
			o->show_sched = true;
		} else if (!strcmp(a, "--dirty-log")) {
			o->dirty_log = true;
		} else if (!strcmp(a, "--instrument-all")) {
			cfg->instrument_all = true;
		} else if (!strcmp(a, "--record") || !strcmp(a, "--vm")) {
			if (!v) {
				fprintf(stderr, "s2emu run-guest: %s needs a file\n", a);
				return 2;
			}
			*(a[2] == 'r' ? &o->record : &o->vm) = argv[++i];
		} else if (!strcmp(a, "--strategy")) {
			if (v && !strcmp(v, "random"))
				o->random = true;
			else if (v && !strcmp(v, "sequential"))
				o->random = false;
			else {
				fprintf(stderr, "s2emu run-guest: --strategy must be sequential or random\n");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (cli_parse_u64("run-guest", a, v, 0, UINT64_MAX / 2, &o->seed))
				return 2;
			o->have_seed = true;
			i++;
		} else if (!strcmp(a, "--load") || !strcmp(a, "--entry") || !strcmp(a, "--ram-ipa")) {
			if (cli_parse_u64("run-guest", a, v, 0, (1ull << 52) - 1, &n))
				return 2;
			if (a[2] == 'l') {
				o->load = n;
				o->have_load = true;
			} else if (a[2] == 'e') {
				o->entry = n;
				o->have_entry = true;
			} else {
				o->ram_ipa = n;
				o->ram_opt = a;
			}
			i++;
		} else if (!strcmp(a, "--mem")) {
			if (cli_parse_size("run-guest", a, v, 1, 1ull << 48, &o->mem))
				return 2;
			o->ram_opt = a;
			i++;
		} else if (!strcmp(a, "--backing")) {
			if (parse_backing(v, &o->backing))
				return 2;
			o->ram_opt = a;
			i++;
		} else if (!strcmp(a, "--timeout")) {
			if (cli_parse_u64("run-guest", a, v, 0, 86400, &n))
				return 2;
			cfg->timeout_s = (double)n;
			i++;
		} else if (!strcmp(a, "--regions")) {
			if (cli_parse_u64("run-guest", a, v, 4, 256, &n))
				return 2;
			cfg->max_regions = (unsigned)n;
			i++;
		} else if (a[0] == '-') {
			fprintf(stderr, "s2emu run-guest: unknown option '%s' (try 's2emu run-guest --help')\n",
				a);
			return 2;
		} else if (!o->image) {
			o->image = a;
		} else {
			fprintf(stderr, "s2emu run-guest: one image at a time ('%s' and '%s')\n", o->image, a);
			return 2;
		}
	}
	if (!o->image) {
		usage(stderr);
		return 2;
	}
	/* Options that would do nothing are usage errors. */
	if (!o->random && o->have_seed) {
		fprintf(stderr, "s2emu run-guest: --seed does nothing with --strategy sequential\n");
		return 2;
	}
	if (o->show_sched && o->json) {
		fprintf(stderr, "s2emu run-guest: --schedule prints text; not with --json\n");
		return 2;
	}
	if (o->vm && o->ram_opt) {
		fprintf(stderr, "s2emu run-guest: %s does nothing with --vm (the VM file's memslots "
				"are the guest's memory)\n", o->ram_opt);
		return 2;
	}
	return -1;
}

int cli_run_guest(int argc, char **argv)
{
	struct s2guest_config cfg;
	struct opts o = { .random = true, .seed = 1, .mem = 128ull << 20,
			  .ram_ipa = S2GUEST_RAM_IPA, .backing = S2HYP_BACKING_THP };
	struct s2hyp_host_op *host = NULL;
	size_t nhost = 0;
	uint8_t *image = NULL;
	size_t size = 0;
	const char *why = NULL;
	char err[300];
	int status = 2;

	s2guest_config_init(&cfg);
	int r = parse(argc, argv, &o, &cfg);
	if (r >= 0)
		return r;
	if (o.record && cli_check_writable("run-guest", o.record))
		return 2;
	cfg.record = o.record != NULL;
	unsigned slot_line[S2HYP_MAX_SLOTS];
	if (o.vm) {
		if (load_vm(o.vm, &cfg, &host, &nhost, slot_line))
			goto out;
	} else {
		cfg.slots[0] = (struct s2hyp_memslot){
			.ipa = o.ram_ipa, .size = o.mem, .hva = S2GUEST_RAM_HVA, .backing = o.backing,
		};
	}
	for (unsigned i = 0; i < cfg.nr_slots && o.dirty_log; i++)
		cfg.slots[i].dirty_log = true;
	cfg.host = host;
	cfg.nhost = nhost;
	if (read_file(o.image, &image, &size))
		goto out;
	uint64_t hload = 0, hentry = 0;
	int h = s2guest_image_header(image, size, &hload, &hentry, &why);
	if (h < 0) {
		fprintf(stderr, "s2emu run-guest: %s: %s\n", o.image, why);
		goto out;
	}
	cfg.image = image;
	cfg.image_size = size;
	cfg.load_ipa = o.have_load ? o.load : h ? hload : cfg.slots[0].ipa;
	cfg.entry_ipa = o.have_entry ? o.entry : h && !o.have_load ? hentry : cfg.load_ipa;

	struct s2guest *g;
	if (s2guest_create(&cfg, &g, err, sizeof(err))) {
		unsigned c = o.vm ? s2trace_setup_culprit(&cfg.machine, cfg.slots, cfg.nr_slots) : 0;
		if (o.vm && c < cfg.nr_slots)
			fprintf(stderr, "s2emu run-guest: %s:%u: memslot %u: %s\n", o.vm, slot_line[c],
				c, err);
		else
			fprintf(stderr, "s2emu run-guest: %s: %s\n", o.image, err);
		goto out;
	}
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;
	s2hyp_rng_seed(&rng, o.seed);
	st.arg = &rng;
	s2hyp_record_schedule(s2guest_machine(g), o.show_sched || o.record);
	double t0 = s2_now_s();
	enum s2hyp_outcome out = s2guest_run(g, o.random ? &st : &s2hyp_strategy_sequential);
	double secs = s2_now_s() - t0;

	if (o.json)
		print_json(g, o.image, &cfg, o.random, o.seed, out, secs);
	else
		print_text(g, o.image, &cfg, o.random, o.seed, out, secs);
	if (o.show_sched && !o.json) {
		size_t n;
		const struct s2hyp_choice *s = s2hyp_schedule(s2guest_machine(g), &n);
		printf("schedule (%zu choices):\n", n);
		for (size_t j = 0; j < n; j++) {
			s2trace_print_choice(stdout, &s[j]);
			putchar('\n');
		}
	}
	status = out != S2HYP_DONE || fired_rules(s2guest_machine(g)) ? 1 : 0;
	for (unsigned i = 0; i < cfg.machine.nr_vcpus; i++) {
		const struct s2guest_vcpu_result *vr = s2guest_vcpu(g, i);
		if (vr->end != S2GUEST_EXITED || vr->exit_code)
			status = 1;
	}
	if (o.record && write_record(o.record, &o, &cfg, g))
		status = 2;
	s2guest_delete(g);
out:
	free(image);
	free(host);
	return status;
}
