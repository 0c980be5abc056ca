/* effect_bench: the effect-trace checker on a long generated trace, every
 * rule on; and, when casemate's own checker is at hand, the ratio of the
 * two on the same casemate log. One figure per line as NAME VALUE UNIT;
 * other lines start with '#'.
 *
 * The workload: one VM (VMID 1, a four-level 4K tree with 64 leaf tables),
 * two CPUs taking turns under the tree's lock; each turn maps a fresh page
 * or moves a mapped one with the full break-before-make sequence (break,
 * DSB ISHST, TLBI IPAS2E1IS with its TTL level, DSB ISH, TLBI VMALLE1IS,
 * DSB ISH, make). The same events are written in s2emu's effect format and
 * as a casemate log.
 *
 * casemate-check is looked for in $CASEMATE_CHECK, then build/casemate-check
 * (scripts/build-casemate-check.sh builds it from a casemate checkout with
 * -O2 and no sanitizers). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "traces/s2trace.h"

#define EVENTS 1000000ull
#define LEAF_TABLES 64
#define ROOT 0x40000000ull
#define LOCK 0x7f000000ull

enum fmt { NATIVE, CASEMATE };

/* casemate-check wants every record's source location. */
#define SRC "(src \"effect_bench.c:1\")"

struct gen {
	FILE *f;
	enum fmt fmt;
	unsigned long long id;		/* records written */
};

static void w(struct gen *g, unsigned cpu, uint64_t pa, uint64_t v)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect %u pte-write pa=%#llx value=%#llx\n", cpu,
			(unsigned long long)pa, (unsigned long long)v);
	else
		fprintf(g->f, "(mem-write (id %llu) (tid %u) (mem-order plain) (address %#llx) "
			"(value %#llx) " SRC ")\n", g->id, cpu, (unsigned long long)pa,
			(unsigned long long)v);
	g->id++;
}

static void dsb(struct gen *g, unsigned cpu, const char *kind)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect %u dsb %s\n", cpu, kind);
	else
		fprintf(g->f, "(barrier (id %llu) (tid %u) dsb (kind %s) " SRC ")\n", g->id, cpu, kind);
	g->id++;
}

static void tlbi_ipa(struct gen *g, unsigned cpu, uint64_t ipa)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect %u tlbi ipas2e1is ipa=%#llx level=3\n", cpu,
			(unsigned long long)ipa);
	else	/* IPA[51:12] in Xt[39:0]; TTL 0b0111: 4K granule, level 3 */
		fprintf(g->f, "(tlbi (id %llu) (tid %u) ipas2e1is (value %#llx) " SRC ")\n", g->id, cpu,
			(unsigned long long)((ipa >> 12) | 7ull << 44));
	g->id++;
}

static void tlbi_all(struct gen *g, unsigned cpu)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect %u tlbi vmalle1is\n", cpu);
	else
		fprintf(g->f, "(tlbi (id %llu) (tid %u) vmalle1is " SRC ")\n", g->id, cpu);
	g->id++;
}

static void lock(struct gen *g, unsigned cpu, bool take)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect %u %s addr=%#llx\n", cpu, take ? "lock" : "unlock", LOCK);
	else
		fprintf(g->f, "(%s (id %llu) (tid %u) (address %#llx) " SRC ")\n", take ? "lock" : "unlock",
			g->id, cpu, LOCK);
	g->id++;
}

static void init(struct gen *g, uint64_t pa)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect 0 alloc pa=%#llx\n", (unsigned long long)pa);
	else
		fprintf(g->f, "(mem-init (id %llu) (tid 0) (address %#llx) (size 0x1000) " SRC ")\n", g->id,
			(unsigned long long)pa);
	g->id++;
}

static void hint(struct gen *g, const char *kind, uint64_t loc, uint64_t val)
{
	if (g->fmt == NATIVE)
		fprintf(g->f, "effect 0 hint kind=%s pa=%#llx value=%#llx\n", kind,
			(unsigned long long)loc, (unsigned long long)val);
	else	/* casemate spells its hint kinds with underscores */
		fprintf(g->f, "(hint (id %llu) (tid 0) (kind %s) (location %#llx) (value %#llx) " SRC ")\n",
			g->id, strcmp(kind, "set-root-lock") ? "set_owner_root" : "set_root_lock",
			(unsigned long long)loc, (unsigned long long)val);
	g->id++;
}

static uint64_t leaf_table(unsigned k)
{
	return ROOT + (3 + k) * 0x1000ull;
}

static int generate(const char *path, enum fmt fmt, unsigned long long n)
{
	struct gen g = { fopen(path, "w"), fmt, 0 };
	if (!g.f)
		return -1;
	if (fmt == NATIVE)
		fprintf(g.f, "s2emu-trace 1\n");
	/* root (level 0), level 1, level 2, then the leaf tables */
	for (unsigned k = 0; k < 3 + LEAF_TABLES; k++)
		init(&g, ROOT + k * 0x1000ull);
	hint(&g, "set-root-lock", ROOT, LOCK);
	for (unsigned k = 1; k < 3 + LEAF_TABLES; k++)
		hint(&g, "set-owner-root", ROOT + k * 0x1000ull, ROOT);
	w(&g, 0, ROOT, (ROOT + 0x1000) | 3);
	w(&g, 0, ROOT + 0x1000 + 8, (ROOT + 0x2000) | 3);	/* IPA 1G */
	for (unsigned k = 0; k < LEAF_TABLES; k++)
		w(&g, 0, ROOT + 0x2000 + 8 * k, leaf_table(k) | 3);
	if (fmt == NATIVE)
		fprintf(g.f, "effect 0 vttbr value=%#llx\n", ROOT | 1ull << 48);
	else
		fprintf(g.f, "(sysreg-write (id %llu) (tid 0) (sysreg vttbr_el2) (value %#llx) " SRC ")\n",
			g.id++, ROOT | 1ull << 48);
	unsigned long long turn = 0;
	uint64_t entries = LEAF_TABLES * 512ull;
	while (g.id < n) {
		unsigned cpu = turn & 1;
		uint64_t e = (turn * 7919) % entries;	/* a spread of entries */
		uint64_t pa = leaf_table((unsigned)(e / 512)) + (e % 512) * 8;
		uint64_t ipa = (1ull << 30) + e * 0x1000;
		uint64_t oa = 0x100000000ull + ((turn & 0xffff) << 12);
		lock(&g, cpu, true);
		if (turn < entries) {
			w(&g, cpu, pa, oa | 0x7c3);	/* a fresh page */
		} else {
			w(&g, cpu, pa, 0);
			dsb(&g, cpu, "ishst");
			tlbi_ipa(&g, cpu, ipa);
			dsb(&g, cpu, "ish");
			tlbi_all(&g, cpu);
			dsb(&g, cpu, "ish");
			w(&g, cpu, pa, oa | 0x7c3);
		}
		lock(&g, cpu, false);
		turn++;
	}
	return fclose(g.f) ? -1 : 0;
}

/* casemate-check's path, or NULL. */
static const char *find_casemate(void)
{
	const char *p = getenv("CASEMATE_CHECK");
	if (p && *p && !access(p, X_OK))
		return p;
	if (!access("build/casemate-check", X_OK))
		return "build/casemate-check";
	return NULL;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* CPU seconds casemate-check takes on the log, -1 if it fails or rejects it. */
static double run_casemate(const char *check, const char *log)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(check, check, log, "-q", "-q", (char *)NULL);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

static double replay(const char *path, unsigned long long *events)
{
	struct s2trace_result res;
	double t0 = s2_now_s();
	int st = s2trace_replay(path, NULL, &res);
	double dt = s2_now_s() - t0;
	*events = res.events;
	if (st)
		fprintf(stderr, "effect_bench: %s: %s\n", path,
			res.bad_input ? res.error : "a rule fired");
	s2trace_result_free(&res);
	return st ? -1 : dt;
}

int main(void)
{
	char native[] = "/tmp/s2emu-effect-bench-XXXXXX";
	char log[] = "/tmp/s2emu-effect-bench-cm-XXXXXX";
	int fd1 = mkstemp(native), fd2 = mkstemp(log);
	unsigned long long events = 0, cm_events = 0;
	int ret = 1;

	if (fd1 < 0 || fd2 < 0)
		return 1;
	close(fd1);
	close(fd2);
	if (generate(native, NATIVE, EVENTS) || generate(log, CASEMATE, EVENTS))
		goto out;
	double secs = replay(native, &events);
	if (secs < 0)
		goto out;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("# effect: %llu effect events (two CPUs, one VM, a 4-level tree; maps and\n"
	       "# break-before-make moves under the lock), every rule on; peak RSS of the\n"
	       "# process\n", events);
	printf("effect.events_per_s %.0f events/s\n", events / secs);
	printf("effect.peak_rss_mib %.1f MiB\n", ru.ru_maxrss / 1024.0);

	const char *check = find_casemate();
	if (!check) {
		printf("# effect.ratio_to_casemate: no casemate-check (set CASEMATE_CHECK, or run "
		       "scripts/build-casemate-check.sh CASEMATE_DIR)\n");
		ret = 0;
		goto out;
	}
	/* CPU time on both sides: the machine is shared, wall time is not fair. */
	double c0 = cpu_s();
	double ours = replay(log, &cm_events);
	if (ours >= 0)
		ours = cpu_s() - c0;
	double theirs = run_casemate(check, log);
	if (ours < 0 || theirs < 0) {
		printf("# effect.ratio_to_casemate: %s failed on the log\n",
		       ours < 0 ? "s2emu" : check);
		ret = ours < 0;
		goto out;
	}
	printf("# the same %llu events as a casemate log, CPU time: s2emu replay (conversion\n"
	       "# included) %.2f s, %s %.2f s; above 1 s2emu is faster\n", cm_events, ours, check,
	       theirs);
	printf("effect.ratio_to_casemate %.2f x\n", theirs / ours);
	ret = 0;
out:
	unlink(native);
	unlink(log);
	return ret;
}
