/* Replay speed on real captures: every .trace.xz of traces/real, decompressed
 * with xz and imported once (not timed), then replayed with every rule on
 * (timed), as `s2emu replay` runs them. NAME VALUE UNIT lines. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "traces/s2trace.h"
#include "traces/s2trace_ftrace.h"

/* Import capture (xz text) into the trace file out. */
static int import(const char *capture, const char *out)
{
	char cmd[1200];
	struct s2trace_ftrace *imp;
	int ret;

	snprintf(cmd, sizeof(cmd), "xz -dc '%s'", capture);
	FILE *in = popen(cmd, "r");
	if (!in)
		return -1;
	FILE *o = fopen(out, "w");
	if (!o || s2trace_ftrace_create(&imp)) {
		pclose(in);
		if (o)
			fclose(o);
		return -1;
	}
	ret = s2trace_ftrace_read(imp, in, capture);
	if (!ret)
		ret = s2trace_ftrace_write(imp, o);
	if (ret)
		fprintf(stderr, "real_bench: %s\n", s2trace_ftrace_error(imp));
	s2trace_ftrace_destroy(imp);
	if (pclose(in))
		ret = -1;
	if (fclose(o))
		ret = -1;
	return ret;
}

int main(void)
{
	glob_t g;
	char path[] = "/tmp/s2emu-real-bench-XXXXXX";
	unsigned long long events = 0, traces = 0;
	double secs = 0;
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	if (glob("traces/real/*.trace.xz", 0, NULL, &g) || !g.gl_pathc) {
		fprintf(stderr, "real_bench: no traces/real/*.trace.xz (run from the source tree)\n");
		unlink(path);
		return 1;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct s2trace_result res;
		if (import(g.gl_pathv[i], path)) {
			fprintf(stderr, "real_bench: cannot import %s\n", g.gl_pathv[i]);
			unlink(path);
			globfree(&g);
			return 1;
		}
		double t0 = s2_now_s();
		int st = s2trace_replay(path, NULL, &res);
		secs += s2_now_s() - t0;
		if (st)
			fprintf(stderr, "real_bench: %s: %s\n", g.gl_pathv[i],
				res.bad_input ? res.error : "a rule fired");
		events += res.events;
		traces++;
		s2trace_result_free(&res);
	}
	unlink(path);
	globfree(&g);
	printf("# replay of the %llu real captures in traces/real/ (Linux 6.12 KVM, imported\n"
	       "# as captured): %llu events, every rule on\n", traces, events);
	printf("replay.real_events_per_s %.0f events/s\n", events / secs);
	return 0;
}
