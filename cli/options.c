/* Options shared by the commands that run a machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/s2_num.h"
#include "fuzz/s2fuzz.h"
#include "host-mm/s2host.h"
#include "traces/s2trace_host.h"

/* Digits in decimal, or hex after 0x, then an optional K, M or G (either
 * case, powers of 1024) when sizes are allowed: common's one parser. */
static bool parse_number(const char *s, bool size, uint64_t *out)
{
	return !s2_parse_u64(s, size ? S2_NUM_SIZE : 0, out);
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	uint64_t v;
	if (!s || !parse_number(s, true, &v) || v < min || v > max) {
		fprintf(stderr, "s2emu %s: %s needs a size from %llu to %llu, such as 4096, 64K or "
				"128M, not '%s'\n", cmd, opt, (unsigned long long)min,
			(unsigned long long)max, s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	uint64_t v;
	if (!s || !*s || *s == '-') {
		fprintf(stderr, "s2emu %s: %s needs a number\n", cmd, opt);
		return -1;
	}
	if (!parse_number(s, false, &v) || v < min || v > max) {
		fprintf(stderr, "s2emu %s: %s '%s' is not a number from %llu to %llu\n", cmd, opt, s,
			(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static const char *arg_of(int argc, char **argv, int *i, const char *cmd)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "s2emu %s: %s needs a value\n", cmd, argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

int cli_machine_option(int argc, char **argv, int *i, struct s2hyp_config *cfg, const char *cmd)
{
	const char *o = argv[*i];
	const char *v;
	uint64_t n;

	if (!strcmp(o, "--walker")) {
		if (!(v = arg_of(argc, argv, i, cmd)))
			return -1;
		if (s2pt_variant_parse(v, &cfg->variant)) {
			char list[512];
			fprintf(stderr, "s2emu %s: unknown walker '%s' (valid: %s)\n", cmd, v,
				s2pt_variant_list(list, sizeof(list)));
			return -1;
		}
		return 1;
	}
	if (!strcmp(o, "--cow-policy")) {
		int pol;
		if (!(v = arg_of(argc, argv, i, cmd)))
			return -1;
		if ((pol = s2host_policy_parse(v)) < 0) {
			fprintf(stderr, "s2emu %s: unknown COW policy '%s' (MAP0, MAP1, MAP2, MAP2+F, "
					"CNT, CNT2, AE)\n", cmd, v);
			return -1;
		}
		/* Guest memory on the host model under that policy. */
		cfg->host_mm = true;
		cfg->cow_policy = (unsigned)pol;
		return 1;
	}
	if (!strcmp(o, "--uffd-policy")) {
		/* The userfaultfd fixes on host memory, comma-separated. */
		bool fix[3] = { true, true, true };
		char buf[128];
		if (!(v = arg_of(argc, argv, i, cmd)))
			return -1;
		snprintf(buf, sizeof(buf), "%s", v);
		for (char *save = NULL, *w = strtok_r(buf, ",", &save); w;
		     w = strtok_r(NULL, ",", &save))
			if (s2trace_host_uffd_word(w, &fix[0], &fix[1], &fix[2])) {
				fprintf(stderr, "s2emu %s: unknown --uffd-policy word '%s' (markers, "
						"pre-fix, wp-flush, no-wp-flush, fork-fix, "
						"no-fork-fix)\n", cmd, w);
				return -1;
			}
		cfg->uffd_no_markers = !fix[0];
		cfg->uffd_no_wp_flush = !fix[1];
		cfg->uffd_no_fork_fix = !fix[2];
		/* The fixes are the host's: guest memory on host memory, under
		 * AE unless --cow-policy names another. */
		if (!cfg->host_mm) {
			cfg->host_mm = true;
			cfg->cow_policy = (unsigned)S2HOST_POL_AE;
		}
		return 1;
	}
	if (!strcmp(o, "--vcpus")) {
		if (!(v = arg_of(argc, argv, i, cmd)) ||
		    cli_parse_u64(cmd, o, v, 1, S2HYP_MAX_VCPUS, &n))
			return -1;
		cfg->nr_vcpus = (unsigned)n;
		return 1;
	}
	if (!strcmp(o, "--granule")) {
		if (!(v = arg_of(argc, argv, i, cmd)))
			return -1;
		if (!strcmp(v, "4k") || !strcmp(v, "4K"))
			cfg->granule_shift = 12;
		else if (!strcmp(v, "16k") || !strcmp(v, "16K"))
			cfg->granule_shift = 14;
		else if (!strcmp(v, "64k") || !strcmp(v, "64K"))
			cfg->granule_shift = 16;
		else {
			fprintf(stderr, "s2emu %s: --granule must be 4k, 16k or 64k, not '%s'\n", cmd, v);
			return -1;
		}
		return 1;
	}
	if (!strcmp(o, "--ipa-bits")) {
		if (!(v = arg_of(argc, argv, i, cmd)) || cli_parse_u64(cmd, o, v, 32, 52, &n))
			return -1;
		cfg->ipa_bits = (unsigned)n;
		return 1;
	}
	if (!strcmp(o, "--line-size")) {
		if (!(v = arg_of(argc, argv, i, cmd)) || cli_parse_u64(cmd, o, v, 16, 2048, &n))
			return -1;
		cfg->line_bytes = (unsigned)n;
		return 1;
	}
	if (!strcmp(o, "--no-progress")) {
		if (!(v = arg_of(argc, argv, i, cmd)) || cli_parse_u64(cmd, o, v, 2, 1000, &n))
			return -1;
		cfg->no_progress_faults = (unsigned)n;
		return 1;
	}
	if (!strcmp(o, "--max-steps")) {
		if (!(v = arg_of(argc, argv, i, cmd)) || cli_parse_u64(cmd, o, v, 1, UINT64_MAX, &n))
			return -1;
		cfg->max_steps = n;
		return 1;
	}
	if (!strcmp(o, "--fwb")) { cfg->fwb = true; return 1; }
	if (!strcmp(o, "--idc")) { cfg->idc = true; return 1; }
	if (!strcmp(o, "--dic")) { cfg->dic = true; return 1; }
	if (!strcmp(o, "--eager-split")) { cfg->eager_split = true; return 1; }
	if (!strcmp(o, "--no-evictions")) { cfg->explore_evictions = false; return 1; }
	if (!strcmp(o, "--no-prefetch")) { cfg->explore_prefetch = false; return 1; }
	if (!strcmp(o, "--unchecked")) { cfg->check = false; return 1; }
	return 0;
}

const char *const cli_machine_options_help =
	"machine options:\n"
	"  --walker NAME       walker variant (see 's2emu variants'); default upstream\n"
	"  --cow-policy P      guest memory on the host model (host-mm) under COW policy P:\n"
	"                      MAP0, MAP1, MAP2, MAP2+F, CNT, CNT2, AE\n"
	"  --vcpus N           number of vCPUs, 1 to 16\n"
	"  --granule 4k|16k|64k  translation granule; default 4k\n"
	"  --ipa-bits N        IPA size, 32 to 48 (52 with 64k); default 40\n"
	"  --fwb               FEAT_S2FWB: stage-2 forces write-back, no clean to PoC needed\n"
	"  --idc, --dic        CTR_EL0.IDC / CTR_EL0.DIC\n"
	"  --line-size N       cache line size in bytes; default 64\n"
	"  --eager-split       dirty logging on splits every block at once\n"
	"  --no-evictions      TLB and dcache evictions are not explored\n"
	"  --no-prefetch       speculative walks are not explored\n"
	"  --max-steps N       stop a run after N steps\n"
	"  --no-progress N     no-progress fires at the same fault taken N times in a row\n"
	"                      with no entry changed; default 4\n"
	"  --unchecked         turn the checker off (for speed measurements)\n"
	"  --uffd-policy W,... guest memory on host memory (under AE unless\n"
	"                      --cow-policy says), with the userfaultfd fixes: pre-fix\n"
	"                      (no PTE markers), no-wp-flush, no-fork-fix; default all\n";

unsigned cli_gen_pick(int argc, char **argv)
{
	unsigned pick = S2FUZZ_GEN_ALL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--granule"))
			pick &= ~(unsigned)S2FUZZ_GEN_GRANULE;
		else if (!strcmp(argv[i], "--vcpus"))
			pick &= ~(unsigned)S2FUZZ_GEN_VCPUS;
		else if (!strcmp(argv[i], "--fwb") || !strcmp(argv[i], "--eager-split"))
			pick &= ~(unsigned)S2FUZZ_GEN_MACHINE;
		else if (!strcmp(argv[i], "--uffd-policy"))
			pick |= S2FUZZ_GEN_UFFD;	/* memfd memory under the VMM's userfaultfd */
	}
	return pick;
}

/* Standard output is closed once; a second close reports the first's result. */
static bool stdout_closed;
static int stdout_result;

/* err: an errno a write already met (0 none), reported instead of later ones. */
static int close_output(const char *cmd, FILE *f, const char *path, int err)
{
	if (f == stdout) {
		if (stdout_closed)
			return stdout_result;
		stdout_closed = true;
	}
	errno = 0;
	if (fflush(f) && !err)
		err = errno ? errno : -1;
	if (ferror(f) && !err)
		err = -1;	/* an earlier write failed; its errno is gone */
	if (fclose(f) && !err)
		err = errno ? errno : -1;
	if (err) {
		fprintf(stderr, "s2emu%s%s: cannot write %s: %s\n", cmd ? " " : "", cmd ? cmd : "",
			path ? path : "standard output", err > 0 ? strerror(err) : "a write failed");
	}
	if (f == stdout)
		stdout_result = err ? -1 : 0;
	return err ? -1 : 0;
}

int cli_close_output(const char *cmd, FILE *f, const char *path)
{
	return close_output(cmd, f, path, 0);
}

int cli_check_writable(const char *cmd, const char *path)
{
	struct stat st;
	bool existed = stat(path, &st) == 0;
	FILE *f = fopen(path, "a");

	if (!f) {
		fprintf(stderr, "s2emu %s: cannot write %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	fclose(f);
	if (!existed)
		remove(path);
	return 0;
}

int cli_output_open(const char *cmd, struct cli_output *o, const char *path)
{
	/* "-o -" is standard output, as for every command. */
	if (path && !strcmp(path, "-"))
		path = NULL;
	o->path = path;
	o->f = NULL;
	if (path && cli_check_writable(cmd, path))
		return -1;
	o->f = tmpfile();
	if (!o->f) {
		fprintf(stderr, "s2emu %s: cannot create a temporary file: %s\n", cmd, strerror(errno));
		return -1;
	}
	return 0;
}

void cli_output_abort(struct cli_output *o)
{
	if (o->f)
		fclose(o->f);
	o->f = NULL;
}

int cli_output_commit(const char *cmd, struct cli_output *o)
{
	FILE *tmp = o->f;
	char buf[65536];
	size_t n;

	o->f = NULL;
	if (fflush(tmp) || ferror(tmp) || fseek(tmp, 0, SEEK_SET)) {
		fprintf(stderr, "s2emu %s: cannot write a temporary file: %s\n", cmd, strerror(errno));
		fclose(tmp);
		return -1;
	}
	FILE *dst = o->path ? fopen(o->path, "w") : stdout;
	if (!dst) {
		fprintf(stderr, "s2emu %s: cannot write %s: %s\n", cmd, o->path, strerror(errno));
		fclose(tmp);
		return -1;
	}
	int werr = 0;
	while ((n = fread(buf, 1, sizeof(buf), tmp)) > 0) {
		if (fwrite(buf, 1, n, dst) != n) {
			werr = errno ? errno : -1;
			break;
		}
	}
	bool read_failed = ferror(tmp);
	fclose(tmp);
	if (read_failed)
		fprintf(stderr, "s2emu %s: cannot read back a temporary file\n", cmd);
	if (close_output(cmd, dst, o->path, werr) || read_failed) {
		struct stat st;
		/* Half a file would look like a whole one; a device stays. */
		if (o->path && stat(o->path, &st) == 0 && S_ISREG(st.st_mode))
			remove(o->path);
		return -1;
	}
	return 0;
}
