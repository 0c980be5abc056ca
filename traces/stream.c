/* Opening a trace whatever its format: an s2emu trace is read as it is; a
 * Linux ftrace capture is converted on the way, by the importer running in
 * a thread that writes into a pipe the reader reads, so that nothing is
 * written to disk; a casemate log's records are converted into effect
 * events handed to the caller one at a time, with no text in between, so
 * that a log of any length is checked without holding it. The format is
 * the caller's, or detected from the first lines (kept and given back to
 * whoever reads the file). */
#define _GNU_SOURCE	/* fopencookie */
#include "traces/s2trace.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/s2_err.h"
#include "traces/s2trace_casemate.h"
#include "traces/s2trace_ftrace.h"

/* Lines of comments a detection reads at most before it decides. */
#define DETECT_LINES 64

struct s2trace_source {
	FILE *raw;		/* the file as opened (NULL: standard input, not ours) */
	FILE *in;		/* raw with the detection's look-ahead given back */
	char *head;		/* the look-ahead */
	size_t head_len, head_pos;
	FILE *rd;		/* what the reader reads: in, or the pipe's end */
	enum s2trace_format fmt;
	char name[256];
	const char *layout;	/* ftrace: the memslots, when the capture has no markers */
	/* Conversion */
	bool thread;
	pthread_t tid;
	FILE *wr;
	int ret;
	char error[600];
};

/* ---- The look-ahead, read again before the rest of the file ----------- */

static ssize_t head_read(void *cookie, char *buf, size_t size)
{
	struct s2trace_source *s = cookie;

	if (s->head_pos < s->head_len) {
		size_t n = s->head_len - s->head_pos;
		if (n > size)
			n = size;
		memcpy(buf, s->head + s->head_pos, n);
		s->head_pos += n;
		return (ssize_t)n;
	}
	size_t n = fread(buf, 1, size, s->raw ? s->raw : stdin);
	if (!n && ferror(s->raw ? s->raw : stdin))
		return -1;
	return (ssize_t)n;
}

/* An ftrace event line: "TASK-PID [CPU] ..." (with an optional "(TGID)"). */
static bool ftrace_event_line(const char *l)
{
	const char *b = strchr(l, '[');

	if (!b || b == l || !isdigit((unsigned char)b[1]))
		return false;
	const char *p = b - 1;
	while (p > l && isspace((unsigned char)*p))
		p--;
	if (*p == ')') {	/* (TGID) */
		while (p > l && *p != '(')
			p--;
		if (p > l)
			p--;
		while (p > l && isspace((unsigned char)*p))
			p--;
	}
	if (!isdigit((unsigned char)*p))
		return false;
	while (p > l && isdigit((unsigned char)*p))
		p--;
	return *p == '-';
}

/* What a line says about the format; AUTO when it says nothing. */
static enum s2trace_format line_format(const char *l)
{
	while (*l == ' ' || *l == '\t')
		l++;
	if (!*l || *l == '\n')
		return S2TRACE_FMT_AUTO;
	if (!strncmp(l, "# tracer:", 9))
		return S2TRACE_FMT_FTRACE;
	if (*l == '#')
		return S2TRACE_FMT_AUTO;
	if (*l == '(')
		return S2TRACE_FMT_CASEMATE;
	if (!strncmp(l, "cpus=", 5) || (!strncmp(l, "CPU ", 4) && strstr(l, " is empty")) ||
	    ftrace_event_line(l))
		return S2TRACE_FMT_FTRACE;
	/* The trace's header, or anything else: the reader says what is wrong. */
	return S2TRACE_FMT_NATIVE;
}

/* Read lines until one tells the format, keeping them for the reader. */
static int detect(struct s2trace_source *s)
{
	FILE *f = s->raw ? s->raw : stdin;
	char *line = NULL;
	size_t cap = 0, hcap = 0;
	ssize_t n;
	enum s2trace_format fmt = S2TRACE_FMT_AUTO;

	for (unsigned i = 0; i < DETECT_LINES && fmt == S2TRACE_FMT_AUTO &&
			     (n = getline(&line, &cap, f)) > 0; i++) {
		if (s->head_len + (size_t)n > hcap) {
			size_t ncap = (s->head_len + (size_t)n) * 2;
			char *h = realloc(s->head, ncap);
			if (!h) {
				free(line);
				return S2_ENOMEM;
			}
			s->head = h;
			hcap = ncap;
		}
		memcpy(s->head + s->head_len, line, (size_t)n);
		s->head_len += (size_t)n;
		fmt = line_format(line);
	}
	free(line);
	s->fmt = fmt == S2TRACE_FMT_AUTO ? S2TRACE_FMT_NATIVE : fmt;
	return 0;
}

/* ---- Conversion in a thread ------------------------------------------- */

static void *convert(void *arg)
{
	struct s2trace_source *s = arg;

	{
		struct s2trace_ftrace *imp = NULL;
		FILE *lf = NULL;
		s->ret = s2trace_ftrace_create(&imp);
		if (!s->ret && s->layout && !(lf = fopen(s->layout, "r"))) {
			snprintf(s->error, sizeof(s->error), "%s: cannot open: %s", s->layout,
				 strerror(errno));
			s->ret = S2_EIO;
		} else if (!s->ret && ((lf && (s->ret = s2trace_ftrace_read_layout(imp, lf, s->layout))) ||
				       (s->ret = s2trace_ftrace_read(imp, s->in, s->name)) ||
				(s->ret = s2trace_ftrace_finish(imp)) ||
				(s->ret = s2trace_ftrace_write(imp, s->wr))))
			snprintf(s->error, sizeof(s->error), "%s", s2trace_ftrace_error(imp));
		else if (s->ret)
			snprintf(s->error, sizeof(s->error), "%s: out of memory", s->name);
		if (lf)
			fclose(lf);
		s2trace_ftrace_destroy(imp);
	}
	/* The reader sees the end of the trace. */
	fclose(s->wr);
	s->wr = NULL;
	return NULL;
}

static int start_conversion(struct s2trace_source *s)
{
	int fd[2];

	if (pipe(fd))
		return S2_EIO;
	s->rd = fdopen(fd[0], "r");
	s->wr = fdopen(fd[1], "w");
	if (!s->rd || !s->wr) {
		if (s->rd)
			fclose(s->rd);
		else
			close(fd[0]);
		if (s->wr)
			fclose(s->wr);
		else
			close(fd[1]);
		s->rd = s->wr = NULL;
		return S2_EIO;
	}
	if (pthread_create(&s->tid, NULL, convert, s)) {
		fclose(s->rd);
		fclose(s->wr);
		s->rd = s->wr = NULL;
		return S2_ENOMEM;
	}
	s->thread = true;
	return 0;
}

/* ---- Public ------------------------------------------------------------ */

int s2trace_source_open(const char *path, enum s2trace_format fmt, const char *layout,
			struct s2trace_source **out, char *err, size_t errlen)
{
	struct s2trace_source *s = calloc(1, sizeof(*s));
	int ret;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return S2_ENOMEM;
	}
	snprintf(s->name, sizeof(s->name), "%s", strcmp(path, "-") ? path : "<stdin>");
	if (strcmp(path, "-") && !(s->raw = fopen(path, "r"))) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		free(s);
		return S2_EIO;
	}
	s->fmt = fmt;
	s->layout = layout;
	if (fmt == S2TRACE_FMT_AUTO && (ret = detect(s))) {
		snprintf(err, errlen, "%s: out of memory", path);
		s2trace_source_close(s, NULL, 0);
		return ret;
	}
	s->in = fopencookie(s, "r", (cookie_io_functions_t){ .read = head_read });
	if (!s->in) {
		snprintf(err, errlen, "%s: out of memory", path);
		s2trace_source_close(s, NULL, 0);
		return S2_ENOMEM;
	}
	if (s->fmt == S2TRACE_FMT_NATIVE) {
		s->rd = s->in;
	} else if (s->fmt == S2TRACE_FMT_CASEMATE) {
		s->rd = NULL;	/* s2trace_source_casemate() reads it */
	} else if ((ret = start_conversion(s))) {
		snprintf(err, errlen, "%s: cannot start the conversion", path);
		s2trace_source_close(s, NULL, 0);
		return ret;
	}
	*out = s;
	return 0;
}

FILE *s2trace_source_file(const struct s2trace_source *s)
{
	return s->rd;
}

enum s2trace_format s2trace_source_format(const struct s2trace_source *s)
{
	return s->fmt;
}

int s2trace_source_casemate(struct s2trace_source *s,
			    void (*on_event)(void *arg, const struct s2trace_event *ev), void *arg,
			    char *err, size_t errlen)
{
	struct s2trace_cm_opts o = { .on_event = on_event, .arg = arg };
	struct s2trace_cm_result res;

	if (s->fmt != S2TRACE_FMT_CASEMATE) {
		snprintf(err, errlen, "%s: not a casemate log", s->name);
		return S2_EINVAL;
	}
	int ret = s2trace_cm_convert(s->in, s->name, NULL, &o, &res);
	if (ret)
		snprintf(err, errlen, "%s", res.error);
	return ret;
}

int s2trace_source_close(struct s2trace_source *s, char *err, size_t errlen)
{
	int ret = 0;

	if (!s)
		return 0;
	if (s->thread) {
		/* The reader may have stopped early: let the converter finish. */
		char buf[65536];
		while (fread(buf, 1, sizeof(buf), s->rd) > 0)
			;
		pthread_join(s->tid, NULL);
		fclose(s->rd);
		if (s->ret) {
			ret = s->ret;
			if (err)
				snprintf(err, errlen, "%s", s->error);
		}
	}
	if (s->in)
		fclose(s->in);
	if (s->raw)
		fclose(s->raw);
	free(s->head);
	free(s);
	return ret;
}
