/* Importer speed and an effect trace's end-to-end check: a generated casemate
 * log of one million records (a pKVM-like break-before-make cycle on the
 * entries of a last-level table, two threads taking turns under the lock)
 * converted alone, then converted and checked by replay in one process (the
 * log read directly, as `s2emu replay LOG` does), in a child for its peak
 * RSS; and a generated ftrace capture of one million guest faults converted.
 * NAME VALUE UNIT lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"
#include "traces/s2trace_ftrace.h"

#define ROOT 0x8a2c0000ull	/* two concatenated level-1 pages */
#define L2 0x8a2c2000ull
#define L3 0x8a2c3000ull
#define LOCK 0xffff80000a71c0c0ull
#define SRC "(src \"arch/arm64/kvm/hyp/pgtable.c:812\")"

/* The set-up of casemate's sample (4K, 40-bit IPA, start level 1), then
 * cycles of 10 records until n records are written. */
static int gen_casemate(const char *path, unsigned long long n)
{
	FILE *f = fopen(path, "w");
	unsigned long long id = 0;

	if (!f)
		return -1;
	fprintf(f, "(sysreg-write (id %llu) (tid 0) (sysreg vtcr_el2) (value 0x80023558) %s)\n", id++, SRC);
	fprintf(f, "(mem-init (id %llu) (tid 0) (address %#llx) (size 0x2000) %s)\n", id++, ROOT, SRC);
	fprintf(f, "(hint (id %llu) (tid 0) (kind set_root_lock) (location %#llx) (value %#llx) %s)\n",
		id++, ROOT, LOCK, SRC);
	fprintf(f, "(sysreg-write (id %llu) (tid 0) (sysreg vttbr_el2) (value %#llx) %s)\n", id++,
		0x1000000000000ull | ROOT, SRC);
	fprintf(f, "(lock (id %llu) (tid 0) (address %#llx) %s)\n", id++, LOCK, SRC);
	fprintf(f, "(mem-init (id %llu) (tid 0) (address %#llx) (size 0x1000) %s)\n", id++, L2, SRC);
	fprintf(f, "(hint (id %llu) (tid 0) (kind set_owner_root) (location %#llx) (value %#llx) %s)\n",
		id++, L2, ROOT, SRC);
	fprintf(f, "(mem-write (id %llu) (tid 0) (mem-order release) (address %#llx) (value %#llx) %s)\n",
		id++, ROOT + 8, L2 | 3, SRC);
	fprintf(f, "(mem-init (id %llu) (tid 0) (address %#llx) (size 0x1000) %s)\n", id++, L3, SRC);
	fprintf(f, "(hint (id %llu) (tid 0) (kind set_owner_root) (location %#llx) (value %#llx) %s)\n",
		id++, L3, ROOT, SRC);
	fprintf(f, "(mem-write (id %llu) (tid 0) (mem-order release) (address %#llx) (value %#llx) %s)\n",
		id++, L2, L3 | 3, SRC);
	fprintf(f, "(unlock (id %llu) (tid 0) (address %#llx) %s)\n", id++, LOCK, SRC);
	for (unsigned long long k = 0; id < n; k++) {
		unsigned t = (unsigned)(k & 1), j = (unsigned)(k % 512);
		unsigned long long pte = L3 + 8ull * j, ipa = 0x40000000ull + ((unsigned long long)j << 12);
		unsigned long long leaf = (0x9f400000ull + ((k / 512) & 1) * 0x200000ull +
					   ((unsigned long long)j << 12)) | 0x7ff;
		fprintf(f, "(lock (id %llu) (tid %u) (address %#llx) %s)\n", id++, t, LOCK, SRC);
		fprintf(f, "(mem-write (id %llu) (tid %u) (mem-order plain) (address %#llx) (value 0x0) %s)\n",
			id++, t, pte, SRC);
		fprintf(f, "(barrier (id %llu) (tid %u) dsb (kind ishst) %s)\n", id++, t, SRC);
		fprintf(f, "(tlbi (id %llu) (tid %u) ipas2e1is (value %#llx) %s)\n", id++, t,
			0x700000000000ull | (ipa >> 12), SRC);
		fprintf(f, "(barrier (id %llu) (tid %u) dsb (kind ish) %s)\n", id++, t, SRC);
		fprintf(f, "(tlbi (id %llu) (tid %u) vmalle1is %s)\n", id++, t, SRC);
		fprintf(f, "(barrier (id %llu) (tid %u) dsb (kind ish) %s)\n", id++, t, SRC);
		fprintf(f, "(barrier (id %llu) (tid %u) isb %s)\n", id++, t, SRC);
		fprintf(f, "(mem-write (id %llu) (tid %u) (mem-order release) (address %#llx) (value %#llx) %s)\n",
			id++, t, pte, leaf, SRC);
		fprintf(f, "(unlock (id %llu) (tid %u) (address %#llx) %s)\n", id++, t, LOCK, SRC);
	}
	return fclose(f);
}

/* A capture kit's trace: its markers, then n guest faults over a 64M slot. */
static int gen_ftrace(const char *path, unsigned long long n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "# tracer: nop\n");
	fprintf(f, "          kvmrun-388     [000] .....     1.000000: tracing_mark_write: s2emu-vcpus n=2\n");
	fprintf(f, "          kvmrun-388     [000] .....     1.000001: tracing_mark_write: s2emu-memslot "
		   "slot=0 gpa=0x80000000 size=0x4000000 hva=0xffffa3400000 flags=none backing=4k\n");
	unsigned long long x = 88172645463325252ull;
	for (unsigned long long k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned long long ipa = 0x80000000ull + ((x % 16384) << 12);
		fprintf(f, "       CPU %llu/KVM-%llu  [00%llu] .....  %llu.%06llu: kvm_guest_fault:     ipa %#llx, "
			   "hsr 0x93c18046, hxfar %#llx, pc 0xffff800080a3c1e8\n",
			k & 1, 4212 + (k & 1), k & 1, 2 + k / 1000000, k % 1000000, ipa, ipa);
	}
	return fclose(f);
}

static double import_casemate(const char *path, unsigned long long *records)
{
	FILE *in = fopen(path, "r"), *out = fopen("/dev/null", "w");
	struct s2trace_cm_opts o = { 0 };
	struct s2trace_cm_result res;

	if (!in || !out)
		exit(1);
	double t0 = s2_now_s();
	if (s2trace_cm_convert(in, path, out, &o, &res)) {
		fprintf(stderr, "import_bench: %s\n", res.error);
		exit(1);
	}
	double t = s2_now_s() - t0;
	fclose(in);
	fclose(out);
	*records = res.records;
	return t;
}

static double import_ftrace(const char *path)
{
	FILE *in = fopen(path, "r"), *out = fopen("/dev/null", "w");
	struct s2trace_ftrace *imp;

	if (!in || !out || s2trace_ftrace_create(&imp))
		exit(1);
	double t0 = s2_now_s();
	if (s2trace_ftrace_read(imp, in, path) || s2trace_ftrace_finish(imp) ||
	    s2trace_ftrace_write(imp, out)) {
		fprintf(stderr, "import_bench: %s\n", s2trace_ftrace_error(imp));
		exit(1);
	}
	double t = s2_now_s() - t0;
	s2trace_ftrace_destroy(imp);
	fclose(in);
	fclose(out);
	return t;
}

/* Import and check in a child, for its own peak RSS. */
static double e2e(const char *path, double *rss_mib)
{
	double t0 = s2_now_s();
	pid_t pid = fork();

	if (pid < 0)
		exit(1);
	if (pid == 0) {
		struct s2trace_replay_opts o = { .from = S2TRACE_FMT_CASEMATE };
		struct s2trace_result res;
		int st = s2trace_replay(path, &o, &res);
		if (st)
			fprintf(stderr, "import_bench: %s: %s\n", path,
				res.bad_input ? res.error : "a rule fired");
		_exit(st);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		exit(1);
	*rss_mib = ru.ru_maxrss / 1024.0;
	return s2_now_s() - t0;
}

int main(void)
{
	const unsigned long long n = 1000000;
	char cm[] = "/tmp/s2emu-import-bench-XXXXXX", ft[] = "/tmp/s2emu-import-bench-XXXXXX";
	int fd1 = mkstemp(cm), fd2 = mkstemp(ft);
	unsigned long long records;
	double rss;

	if (fd1 < 0 || fd2 < 0)
		return 1;
	close(fd1);
	close(fd2);
	if (gen_casemate(cm, n) || gen_ftrace(ft, n)) {
		fprintf(stderr, "import_bench: cannot write the generated logs\n");
		return 1;
	}
	double tc = import_casemate(cm, &records);
	double te = e2e(cm, &rss);
	double tf = import_ftrace(ft);
	unlink(cm);
	unlink(ft);
	printf("# import: a generated casemate log of %llu records (BBM cycles, 2 threads) and a\n"
	       "# generated ftrace capture of %llu guest faults, each converted to /dev/null\n",
	       records, n);
	printf("import.casemate_events_per_s %.0f events/s\n", records / tc);
	printf("import.ftrace_events_per_s %.0f events/s\n", n / tf);
	printf("# the casemate log converted and checked in one process (replay of the log)\n");
	printf("effect.e2e_events_per_s %.0f events/s\n", records / te);
	printf("effect.e2e_peak_rss_mib %.1f MiB\n", rss);
	return 0;
}
