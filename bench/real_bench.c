/* Replay speed and memory on real captures: every .trace.xz of traces/real,
 * decompressed with xz and imported once (not timed), then replayed with
 * every rule on (timed), as `s2emu replay` runs them, each in a child
 * process so that its peak RSS is its own. NAME VALUE UNIT lines. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/s2_clock.h"
#include "common/s2_map.h"
#include "common/s2_num.h"
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

/* import() in a child, so that the importer's memory does not stay in
 * this process and count in the next replay child's peak RSS. */
static int import_in_child(const char *capture, const char *out)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(import(capture, out) ? 1 : 0);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return 0;
}

struct measure {
	double secs;
	double rss_mib;
	unsigned long long events;
	int fired;
};

/* Replay path in a child: its time, peak RSS and event count. */
static int replay_in_child(const char *path, const char *capture, struct measure *out)
{
	int pipefd[2];
	if (pipe(pipefd))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct s2trace_result res;
		close(pipefd[0]);
		double t0 = s2_now_s();
		int st = s2trace_replay(path, NULL, &res);
		struct measure m = { s2_now_s() - t0, 0, res.events, st != 0 };
		if (st)
			fprintf(stderr, "real_bench: %s: %s\n", capture,
				res.bad_input ? res.error : "a rule fired");
		if (write(pipefd[1], &m, sizeof(m)) != sizeof(m))
			_exit(3);
		s2trace_result_free(&res);
		_exit(0);
	}
	close(pipefd[1]);
	int status;
	struct rusage ru;
	ssize_t got = read(pipefd[0], out, sizeof(*out));
	close(pipefd[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    got != sizeof(*out))
		return -1;
	out->rss_mib = ru.ru_maxrss / 1024.0;
	return 0;
}

/* Distinct guest pages (ipa= values, 4K) of the lines read from f so far. */
struct pages {
	struct s2_map seen;
	char word[32];
	unsigned n;
};

static void pages_byte(struct pages *p, int c)
{
	size_t len = strlen(p->word);
	if (c == ' ' || c == '\n') {
		uint64_t v;
		if (!strncmp(p->word, "ipa=", 4) && !s2_parse_u64(p->word + 4, 0, &v))
			s2_map_put(&p->seen, (v >> 12) + 1, 1);
		p->word[0] = '\0';
	} else if (len + 1 < sizeof(p->word)) {
		p->word[len] = (char)c;
		p->word[len + 1] = '\0';
	}
}

/* The first quarter of the lines of trace in into out (the header and
 * memslots come first, so it is a trace of a quarter of the events), and
 * the guest pages named in that quarter and in all of it. */
static int quarter(const char *in, const char *out, unsigned *pages_quarter,
		   unsigned *pages_whole)
{
	FILE *f = fopen(in, "r"), *o = fopen(out, "w");
	unsigned long long lines = 0, k = 0;
	struct pages pg = { { 0 }, "", 0 };
	int c, ret = 0;

	if (!f || !o) {
		if (f)
			fclose(f);
		if (o)
			fclose(o);
		return -1;
	}
	while ((c = getc(f)) != EOF)
		lines += c == '\n';
	rewind(f);
	while ((c = getc(f)) != EOF) {
		if (k < lines / 4 && putc(c, o) == EOF)
			ret = -1;
		pages_byte(&pg, c);
		k += c == '\n';
		if (c == '\n' && k == lines / 4)
			*pages_quarter = pg.seen.n;
	}
	*pages_whole = pg.seen.n;
	s2_map_free(&pg.seen);
	if (ferror(f))
		ret = -1;
	fclose(f);
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
	struct measure small = { 0, 0, ~0ull, 0 }, large = { 0, 0, 0, 0 }, part;
	const char *longest = NULL;
	unsigned pq = 0, pw = 0;
	double rss_max = 0;
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	if (glob("traces/real/*.trace.xz", 0, NULL, &g) || !g.gl_pathc) {
		fprintf(stderr, "real_bench: no traces/real/*.trace.xz (run from the source tree)\n");
		unlink(path);
		return 1;
	}
	printf("# capture, events, replay peak RSS\n");
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct measure m;
		if (import_in_child(g.gl_pathv[i], path) || replay_in_child(path, g.gl_pathv[i], &m)) {
			fprintf(stderr, "real_bench: cannot import or replay %s\n", g.gl_pathv[i]);
			unlink(path);
			globfree(&g);
			return 1;
		}
		printf("#   %-40s %7llu events %6.1f MiB\n", g.gl_pathv[i], m.events, m.rss_mib);
		secs += m.secs;
		events += m.events;
		traces++;
		if (m.rss_mib > rss_max)
			rss_max = m.rss_mib;
		if (m.events < small.events)
			small = m;
		if (m.events > large.events) {
			large = m;
			longest = g.gl_pathv[i];
		}
	}
	/* Flat in trace length: the longest capture's first quarter against
	 * all of it (what grows in between is its working set, not the trace). */
	char qpath[] = "/tmp/s2emu-real-bench-q-XXXXXX";
	int qfd = mkstemp(qpath);
	if (qfd < 0 || !longest || import_in_child(longest, path) || quarter(path, qpath, &pq, &pw) ||
	    replay_in_child(qpath, longest, &part)) {
		fprintf(stderr, "real_bench: cannot replay a quarter of %s\n", longest ? longest : "?");
		if (qfd >= 0)
			unlink(qpath);
		unlink(path);
		globfree(&g);
		return 1;
	}
	close(qfd);
	unlink(qpath);
	unlink(path);
	globfree(&g);
	printf("# replay of the %llu real captures in traces/real/ (Linux 6.12 KVM, imported\n"
	       "# as captured): %llu events, every rule on\n", traces, events);
	printf("replay.real_events_per_s %.0f events/s\n", events / secs);
	printf("replay.real_peak_rss_mib %.1f MiB\n", rss_max);
	printf("# the shortest capture, %llu events: %.1f MiB; the longest, %llu events: %.1f MiB;\n"
	       "# the longest's first quarter, %llu events: %.1f MiB\n",
	       small.events, small.rss_mib, large.events, large.rss_mib, part.events, part.rss_mib);
	printf("replay.real_peak_rss_mib_quarter %.1f MiB\n", part.rss_mib);
	printf("replay.real_peak_rss_ratio_whole_to_quarter %.2f ratio\n",
	       large.rss_mib / part.rss_mib);
	/* What grows between them is the working set, not the trace: memory
	 * per guest page the rest of the trace adds. */
	printf("# guest pages named: %u in the first quarter, %u in all of it\n", pq, pw);
	if (pw > pq)
		printf("replay.real_rss_growth_per_new_page %.0f bytes\n",
		       (large.rss_mib - part.rss_mib) * 1048576.0 / (pw - pq));

	return 0;
}
