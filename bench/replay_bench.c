/* Replay speed and memory: a generated trace of one million guest faults
 * and accesses over memslots of every backing, replayed with every rule on
 * in a child process (so that its peak RSS is its own); then a trace ten
 * times longer, whose peak memory must stay flat. NAME VALUE UNIT lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "hyp-model/s2hyp.h"
#include "traces/s2trace.h"

static const struct {
	const char *backing;
	unsigned long long ipa, size, hva;
} slots[] = {
	{ "4k", 0x40000000ull, 64ull << 20, 0x7f0000000000ull },
	{ "thp", 0x80000000ull, 256ull << 20, 0x7f1000000000ull },
	{ "hugetlb-2m", 0xc0000000ull, 128ull << 20, 0x7f2000000000ull },
	{ "hugetlb-1g", 0x100000000ull, 2ull << 30, 0x7f4000000000ull },
	{ "thp", 0x200000000ull, 64ull << 20, 0x7f3000200000ull },	/* misaligned: 4K only */
	{ "4k", 0x240000000ull, 16ull << 20, 0x7f3800000000ull },
};

/* A sequential trace of n events over a bounded working set (512 pages per
 * slot, as a long-running guest revisits its memory): accesses, and an
 * unmap of a 2M region every 16 events so that pages keep faulting back. */
static int generate(const char *path, unsigned long long n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "s2emu-trace 1\nconfig granule=4k ipa-bits=40 vcpus=4 walker=upstream\n");
	for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		fprintf(f, "memslot %u ipa=%#llx size=%#llx hva=%#llx backing=%s\n", i, slots[i].ipa,
			slots[i].size, slots[i].hva, slots[i].backing);
	unsigned long long x = 88172645463325252ull;
	for (unsigned long long k = 0; k < n; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = (unsigned)(x % (sizeof(slots) / sizeof(slots[0])));
		unsigned long long pages = slots[s].size >> 12;
		unsigned long long page = ((x >> 8) % 512) * (pages / 512);
		unsigned long long ipa = slots[s].ipa + (page << 12);
		if (k % 16 == 15)
			fprintf(f, "host unmap-ipa ipa=%#llx size=0x200000\n", ipa & ~0x1fffffull);
		else if (x & 0x100)
			fprintf(f, "vcpu %llu write ipa=%#llx value=%llu\n", k & 3, ipa, k);
		else
			fprintf(f, "vcpu %llu read ipa=%#llx\n", k & 3, ipa);
	}
	fprintf(f, "expect clean\n");
	return fclose(f);
}

struct measure {
	double secs;
	double rss_mib;
	unsigned long long events;
};

static int replay_in_child(const char *path, struct measure *out)
{
	int pipefd[2];
	if (pipe(pipefd))
		return -1;
	double t0 = s2_now_s();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct s2trace_result res;
		int st = s2trace_replay(path, NULL, &res);
		unsigned long long ev = res.events;
		if (st)
			fprintf(stderr, "replay_bench: %s: %s\n", path,
				res.bad_input ? res.error : "expectations failed");
		if (write(pipefd[1], &ev, sizeof(ev)) != sizeof(ev))
			_exit(3);
		s2trace_result_free(&res);
		_exit(st);
	}
	close(pipefd[1]);
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		close(pipefd[0]);
		return -1;
	}
	out->secs = s2_now_s() - t0;
	out->rss_mib = ru.ru_maxrss / 1024.0;
	if (read(pipefd[0], &out->events, sizeof(out->events)) != sizeof(out->events))
		out->events = 0;
	close(pipefd[0]);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	char path[] = "/tmp/s2emu-replay-bench-XXXXXX";
	int fd = mkstemp(path);
	struct measure one, ten;

	if (fd < 0)
		return 1;
	close(fd);
	if (generate(path, n) || replay_in_child(path, &one)) {
		fprintf(stderr, "replay_bench: the 1x replay failed\n");
		unlink(path);
		return 1;
	}
	if (generate(path, 10 * n) || replay_in_child(path, &ten)) {
		fprintf(stderr, "replay_bench: the 10x replay failed\n");
		unlink(path);
		return 1;
	}
	unlink(path);
	printf("# replay: %llu sequential events (faults and accesses over 6 memslots of\n"
	       "# every backing, 512 pages each, a 2M unmap every 16 events), every rule on;\n"
	       "# peak RSS of the replay process\n",
	       one.events);
	printf("replay.events_per_s %.0f events/s\n", one.events / one.secs);
	printf("replay.peak_rss_mib %.1f MiB\n", one.rss_mib);
	printf("replay.peak_rss_mib_10x %.1f MiB\n", ten.rss_mib);
	printf("# the trace ten times longer: %llu events in %.1f s\n", ten.events, ten.secs);
	printf("replay.events_per_s_10x %.0f events/s\n", ten.events / ten.secs);
	return 0;
}
