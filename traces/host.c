/* Host programs: parse one line, run it on the host model, check it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_num.h"
#include "common/s2_err.h"
#include "traces/s2trace.h"
#include "traces/s2trace_host.h"

#define MAX_TOK 12
#define MAX_LABELS 1024
#define MAX_CPUS 64		/* s2host_cpu_read/write take CPUs 0..63 */

struct ctx {
	const char *file;
	unsigned line;
	char *err;
	size_t errn;
	struct s2host *h;
	struct s2trace_host_result *res;
	int policy_override;
	bool markers, wp_flush, fork_fix, started;
	int proc[MAX_LABELS], fd[MAX_LABELS];
	unsigned ref[MAX_LABELS];
	bool ref_ok[MAX_LABELS];
	void (*report)(void *, const char *);
	void *arg;
};

static int bad(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct ctx *c, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errn, "%s:%u: %s", c->file, c->line, msg);
	return S2_EPARSE;
}

static void failed(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failed(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c->res->failed_checks++)
		return;
	int n = snprintf(c->res->first_failure, sizeof(c->res->first_failure), "%s:%u: ",
			 c->file, c->line);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(c->res->first_failure))
		vsnprintf(c->res->first_failure + n, sizeof(c->res->first_failure) - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool num(const char *s, uint64_t *v)
{
	return s && !s2_parse_u64(s, 0, v);
}

/* "P3" with prefix 'P': 3. */
static int label(struct ctx *c, const char *s, char prefix, unsigned *i)
{
	uint64_t v;
	unsigned max = prefix == 'C' ? MAX_CPUS : MAX_LABELS;
	if (!s || s[0] != prefix || !num(s + 1, &v) || v >= max)
		return bad(c, "expected a label %c0..%c%u, got '%s'", prefix, prefix, max - 1,
			   s ? s : "");
	*i = (unsigned)v;
	return 0;
}

static int proc_of(struct ctx *c, const char *s, int *mm)
{
	unsigned i = 0;
	int err = label(c, s, 'P', &i);
	if (err)
		return err;
	if (c->proc[i] < 0)
		return bad(c, "process %s was never created", s);
	*mm = c->proc[i];
	return 0;
}

static int start(struct ctx *c)
{
	struct s2host_config cfg;
	if (c->started)
		return 0;
	s2host_config_init(&cfg, c->policy_override >= 0 ? (enum s2host_policy)c->policy_override
							 : c->res->policy);
	cfg.uffd_markers = c->markers;
	cfg.uffd_wp_flush = c->wp_flush;
	cfg.uffd_fork_fix = c->fork_fix;
	c->res->policy = cfg.policy;
	int err = s2host_create(&cfg, &c->h);
	if (err)
		return err;
	c->started = true;
	return 0;
}

/* The outcome of an operation against its "!ERR" suffix (none: success). */
static void outcome(struct ctx *c, int ret, const char *want)
{
	const char *got = ret < 0 ? s2_err_name(ret) : "OK";
	if (!want)
		want = "OK";
	if (strcmp(got, want))
		failed(c, "the operation gave %s, the program says %s", got, want);
}

static int rules_mask(struct ctx *c, const char *s, unsigned *mask)
{
	char buf[256];
	*mask = 0;
	if (!strcmp(s, "none"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save, *r = strtok_r(buf, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		int i = s2trace_word_parse(S2T_W_HOST_RULE, r);
		if (i < 0)
			return bad(c, "unknown host rule '%s' (docs/host-mm.md lists them)", r);
		*mask |= 1u << i;
	}
	return 0;
}

static int prot_of(struct ctx *c, const char *s, unsigned *prot)
{
	if (s && !strcmp(s, "r"))
		*prot = S2HOST_PROT_READ;
	else if (s && !strcmp(s, "rw"))
		*prot = S2HOST_PROT_READ | S2HOST_PROT_WRITE;
	else
		return bad(c, "expected r or rw, got '%s'", s ? s : "");
	return 0;
}

/* One statement: t[0..n) tokens, want the "!ERR" suffix or NULL. */
static int statement(struct ctx *c, char **t, unsigned n, const char *want)
{
	const char *op = t[0];
	uint64_t a = 0, b = 0, v = 0;
	unsigned i = 0, j;
	int mm = 0, err;

#define NEED(k)                                                                              \
	do {                                                                                 \
		if (n != (k))                                                                \
			return bad(c, "'%s' takes %d argument(s), not %u", op, (k) - 1, n - 1); \
	} while (0)
#define ADDR(k, dst)                                                                         \
	do {                                                                                 \
		if (!num(t[k], &(dst)))                                                      \
			return bad(c, "'%s' is not a number", t[k]);                         \
	} while (0)

	if (!strcmp(op, "policy") || !strcmp(op, "uffd")) {
		if (n < 2 || (op[0] == 'p' && n != 2))
			return bad(c, "'%s' takes %s", op, op[0] == 'p' ? "one policy" : "kernel fixes");
		if (c->started)
			return bad(c, "'%s' must come before the first operation", op);
		if (op[0] == 'p') {
			int p = s2host_policy_parse(t[1]);
			if (p < 0)
				return bad(c, "unknown COW policy '%s'", t[1]);
			c->res->policy = (enum s2host_policy)p;
			return 0;
		}
		for (j = 1; j < n; j++)
			if (s2trace_host_uffd_word(t[j], &c->markers, &c->wp_flush, &c->fork_fix))
				return bad(c, "uffd takes markers, pre-fix, wp-flush, no-wp-flush, "
					      "fork-fix or no-fork-fix, not '%s'", t[j]);
		return 0;
	}
	if (!strcmp(op, "expect")) {
		if (n != 3 || strcmp(t[1], "fired"))
			return bad(c, "expect takes 'fired RULE,...' or 'fired none'");
		if ((err = rules_mask(c, t[2], &c->res->expected)))
			return err;
		c->res->has_expect = true;
		return 0;
	}
	if ((err = start(c)))
		return err;
	struct s2host *h = c->h;
	c->res->ops++;

	if (!strcmp(op, "process")) {
		NEED(2);
		if ((err = label(c, t[1], 'P', &i)))
			return err;
		if (c->proc[i] >= 0)
			return bad(c, "%s already names a process", t[1]);
		c->proc[i] = s2host_mm_create(h);
		outcome(c, c->proc[i] < 0 ? c->proc[i] : 0, want);
		return 0;
	}
	if (!strcmp(op, "fork")) {
		NEED(3);
		if ((err = proc_of(c, t[1], &mm)) || (err = label(c, t[2], 'P', &i)))
			return err;
		if (c->proc[i] >= 0)
			return bad(c, "%s already names a process", t[2]);
		int child = s2host_fork(h, mm);
		c->proc[i] = child;
		outcome(c, child < 0 ? child : 0, want);
		return 0;
	}
	if (!strcmp(op, "memfd")) {
		NEED(3);
		if ((err = label(c, t[1], 'F', &i)))
			return err;
		if (c->fd[i] >= 0)
			return bad(c, "%s already names a memfd", t[1]);
		ADDR(2, a);
		c->fd[i] = s2host_memfd_create(h, a > 1u << 24 ? 0 : (unsigned)a);
		outcome(c, c->fd[i] < 0 ? c->fd[i] : 0, want);
		return 0;
	}
	if (!strcmp(op, "lru-drain")) {
		NEED(1);
		outcome(c, s2host_lru_drain(h), want);
		return 0;
	}
	if (!strncmp(op, "punch-", 6)) {
		NEED(4);
		if ((err = label(c, t[1], 'F', &i)))
			return err;
		if (c->fd[i] < 0)
			return bad(c, "memfd %s was never created", t[1]);
		ADDR(2, a);
		ADDR(3, b);
		if (a > UINT32_MAX || b > UINT32_MAX)
			return bad(c, "page offset out of range");
		if (!strcmp(op, "punch-unmap"))
			err = s2host_punch_unmap(h, c->fd[i], (unsigned)a, (unsigned)b);
		else if (!strcmp(op, "punch-truncate"))
			err = s2host_punch_truncate(h, c->fd[i], (unsigned)a, (unsigned)b);
		else
			return bad(c, "unknown operation '%s'", op);
		outcome(c, err, want);
		return 0;
	}
	if (!strcmp(op, "ref-read") || !strcmp(op, "ref-write") || !strcmp(op, "put")) {
		if ((err = label(c, t[1] ? t[1] : "", 'R', &i)))
			return err;
		if (!c->ref_ok[i])
			return bad(c, "reference %s was never taken", t[1]);
		if (op[0] == 'p') {
			NEED(2);
			outcome(c, s2host_unref(h, c->ref[i]), want);
		} else if (op[4] == 'w') {
			NEED(3);
			ADDR(2, v);
			outcome(c, s2host_ref_write(h, c->ref[i], v), want);
		} else {
			if (n != 2 && !(n == 4 && !strcmp(t[2], "=")))
				return bad(c, "ref-read takes a reference and an optional '= VALUE'");
			if (n == 4)
				ADDR(3, b);
			err = s2host_ref_read(h, c->ref[i], &v);
			outcome(c, err, want);
			if (!err && n == 4 && v != b)
				failed(c, "ref-read %s gave %" PRIu64 ", the program says %" PRIu64, t[1], v, b);
		}
		return 0;
	}
	/* the rest name a process first */
	if (n < 2)
		return bad(c, "'%s' needs a process", op);
	if (!strcmp(op, "clear-refs")) {
		NEED(2);
		if ((err = proc_of(c, t[1], &mm)))
			return err;
		outcome(c, s2host_clear_refs(h, mm), want);
		return 0;
	}
	if (!strcmp(op, "exit") || !strcmp(op, "tlb-flush-deferred")) {
		NEED(2);
		if ((err = proc_of(c, t[1], &mm)))
			return err;
		outcome(c, op[0] == 'e' ? s2host_exit(h, mm) : s2host_tlb_flush_deferred(h, mm), want);
		return 0;
	}
	if (!strcmp(op, "uffd-read")) {
		struct s2host_uffd_msg msg;
		if (n != 2 && !(n == 5 && !strcmp(t[2], "=")))
			return bad(c, "uffd-read takes a process and an optional '= ADDR KIND'");
		if ((err = proc_of(c, t[1], &mm)))
			return err;
		if (n == 5) {
			ADDR(3, a);
			for (j = 1; j <= S2HOST_UFFD_MINOR && strcmp(t[4], s2host_uffd_kind_name(j)); j <<= 1)
				;
			if (j > S2HOST_UFFD_MINOR)
				return bad(c, "a uffd message is missing, wp or minor, not '%s'", t[4]);
		}
		err = s2host_uffd_read(h, mm, &msg);
		outcome(c, err, want);
		if (!err && n == 5 && (msg.hva != a || msg.kind != j))
			failed(c, "uffd-read gave %#" PRIx64 " %s, the program says %#" PRIx64 " %s",
			       msg.hva, s2host_uffd_kind_name(msg.kind), a, t[4]);
		return 0;
	}
	if ((err = proc_of(c, t[1], &mm)))
		return err;
	if (n < 3)
		return bad(c, "'%s' needs an address", op);
	ADDR(2, a);
	if (!strcmp(op, "mmap") || !strcmp(op, "mmap-memfd")) {
		bool memfd = op[4] == '-';
		unsigned prot, flags = 0, first = memfd ? 6 : 4;
		if (n < first + 1)
			return bad(c, "'%s' is missing arguments", op);
		ADDR(3, b);
		if ((err = prot_of(c, t[first], &prot)))
			return err;
		flags = prot;
		for (j = first + 1; j < n; j++) {
			if (!strcmp(t[j], "thp") && !memfd)
				flags |= S2HOST_MAP_THP;
			else if (!strcmp(t[j], "uffd"))
				flags |= S2HOST_MAP_UFFD_WP;
			else if (!strcmp(t[j], "uffd-missing"))
				flags |= S2HOST_MAP_UFFD_MISSING;
			else if (!strcmp(t[j], "uffd-minor"))
				flags |= S2HOST_MAP_UFFD_MINOR;
			else if (!strcmp(t[j], "uffd-fork"))
				flags |= S2HOST_MAP_UFFD_FORK;
			else
				return bad(c, "unknown mmap flag '%s'", t[j]);
		}
		if (!memfd) {
			outcome(c, s2host_mmap(h, mm, a, b, flags), want);
			return 0;
		}
		uint64_t off;
		if ((err = label(c, t[4], 'F', &i)))
			return err;
		if (c->fd[i] < 0)
			return bad(c, "memfd %s was never created", t[4]);
		ADDR(5, off);
		if (off > UINT32_MAX)
			return bad(c, "page offset out of range");
		outcome(c, s2host_mmap_memfd(h, mm, a, b, c->fd[i], (unsigned)off, flags), want);
		return 0;
	}
	if (!strcmp(op, "write")) {
		NEED(4);
		ADDR(3, v);
		outcome(c, s2host_write(h, mm, a, v), want);
		return 0;
	}
	if (!strcmp(op, "cpu-write") || !strcmp(op, "cpu-read")) {
		bool wr = op[4] == 'w';
		unsigned k = wr ? 4 : 3;
		if (wr ? n != 5 : (n != 4 && !(n == 6 && !strcmp(t[4], "="))))
			return bad(c, "%s", wr ? "cpu-write takes a process, an address, a value and a CPU"
					       : "cpu-read takes a process, an address, a CPU and an "
						 "optional '= VALUE'");
		if ((err = label(c, t[k], 'C', &i)))
			return err;
		if (wr) {
			ADDR(3, v);
			outcome(c, s2host_cpu_write(h, (int)i, mm, a, v), want);
			return 0;
		}
		if (n == 6)
			ADDR(5, b);
		err = s2host_cpu_read(h, (int)i, mm, a, &v);
		outcome(c, err, want);
		if (!err && n == 6 && v != b)
			failed(c, "cpu-read gave %" PRIu64 ", the program says %" PRIu64, v, b);
		return 0;
	}
	if (!strcmp(op, "uffdio-zeropage")) {
		NEED(3);
		outcome(c, s2host_uffdio_zeropage(h, mm, a), want);
		return 0;
	}
	if (!strcmp(op, "uffdio-copy") || !strcmp(op, "uffdio-continue") ||
	    !strcmp(op, "uffdio-wake")) {
		unsigned args = !strcmp(op, "uffdio-copy") ? 4 : 3;
		bool wp = n == args + 1 && !strcmp(t[args], "wp");
		if (op[7] == 'w' ? n != 3 : n != args && !wp)
			return bad(c, "'%s' takes a process, an address%s", op,
				   op[7] == 'w' ? "" : args == 4 ? ", a value and an optional 'wp'"
								: " and an optional 'wp'");
		if (op[7] == 'w')
			err = s2host_uffdio_wake(h, mm, a);
		else if (args == 3)
			err = s2host_uffdio_continue(h, mm, a, wp);
		else {
			ADDR(3, v);
			err = s2host_uffdio_copy(h, mm, a, v, wp);
		}
		outcome(c, err, want);
		return 0;
	}
	if (!strcmp(op, "read")) {
		if (n != 3 && !(n == 5 && !strcmp(t[3], "=")))
			return bad(c, "read takes a process, an address and an optional '= VALUE'");
		if (n == 5)
			ADDR(4, b);
		err = s2host_read(h, mm, a, &v);
		outcome(c, err, want);
		if (!err && n == 5 && v != b)
			failed(c, "read gave %" PRIu64 ", the program says %" PRIu64, v, b);
		return 0;
	}
	if (!strcmp(op, "gup")) {
		static const struct {
			const char *name;
			unsigned foll;
		} kinds[] = {
			{ "get", 0 },
			{ "get-w", S2HOST_FOLL_WRITE },
			{ "pin-w", S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM | S2HOST_FOLL_WRITE },
			{ "pin-r", S2HOST_FOLL_PIN | S2HOST_FOLL_LONGTERM },
		};
		struct s2host_gup_result g;
		NEED(5);
		for (j = 0; j < 4 && strcmp(t[3], kinds[j].name); j++)
			;
		if (j == 4)
			return bad(c, "gup kind is get, get-w, pin-w or pin-r, not '%s'", t[3]);
		if ((err = label(c, t[4], 'R', &i)))
			return err;
		err = s2host_gup(h, mm, a, kinds[j].foll, &g);
		outcome(c, err, want);
		c->ref_ok[i] = !err;
		c->ref[i] = g.id;
		return 0;
	}
	if (!strcmp(op, "madv-remove") || !strcmp(op, "madv-remove-unmap")) {
		struct s2host_punch rest;
		NEED(4);
		ADDR(3, b);
		outcome(c, s2host_madv_remove(h, mm, a, b, op[11] ? &rest : NULL), want);
		return 0;
	}
	if (!strcmp(op, "munmap") || !strcmp(op, "dontneed") || !strcmp(op, "mprotect") ||
	    !strcmp(op, "uffd-wp") || !strcmp(op, "uffd-wp-deferred")) {
		NEED(op[0] == 'm' && op[1] == 'p' ? 5 : op[0] == 'u' ? 5 : 4);
		ADDR(3, b);
		if (op[0] == 'm' && op[1] == 'u') {
			err = s2host_munmap(h, mm, a, b);
		} else if (op[0] == 'd') {
			err = s2host_madv_dontneed(h, mm, a, b);
		} else if (op[0] == 'm') {
			unsigned prot;
			if ((err = prot_of(c, t[4], &prot)))
				return err;
			err = s2host_mprotect(h, mm, a, b, prot);
		} else {
			if (strcmp(t[4], "on") && strcmp(t[4], "off"))
				return bad(c, "uffd-wp takes on or off, not '%s'", t[4]);
			err = (op[7] ? s2host_uffd_wp_deferred : s2host_uffd_wp)(h, mm, a, b,
										!strcmp(t[4], "on"));
		}
		outcome(c, err, want);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(struct s2host *, int, uint64_t);
	} one[] = {
		{ "split-pmd", s2host_split_pmd }, { "collapse", s2host_collapse },
		{ "migrate", s2host_migrate },	   { "ksm", s2host_ksm_merge },
		{ "swap-out", s2host_swap_out },   { "lru-add", s2host_lru_add },
		{ "swap-add", s2host_swap_add },   { "swap-unmap", s2host_swap_unmap },
	};
	for (j = 0; j < sizeof(one) / sizeof(one[0]); j++)
		if (!strcmp(op, one[j].name)) {
			NEED(3);
			outcome(c, one[j].fn(h, mm, a), want);
			return 0;
		}
	return bad(c, "unknown operation '%s'", op);
#undef NEED
#undef ADDR
}

int s2trace_host_run(const char *text, size_t len, const char *file, int policy_override,
		     void (*report)(void *arg, const char *line), void *arg,
		     struct s2trace_host_result *res, char *err, size_t errn)
{
	struct ctx c = { .file = file, .err = err, .errn = errn, .res = res,
			 .policy_override = policy_override, .markers = true,
			 .wp_flush = true, .fork_fix = true,
			 .report = report, .arg = arg };
	int ret = 0;
	bool header = false;

	memset(res, 0, sizeof(*res));
	res->policy = S2HOST_POL_AE;
	for (unsigned i = 0; i < MAX_LABELS; i++)
		c.proc[i] = c.fd[i] = -1;
	for (size_t pos = 0; pos < len && !ret;) {
		char line[512], *t[MAX_TOK], *save;
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		c.line++;
		if (end - pos >= sizeof(line)) {
			ret = bad(&c, "line longer than %zu characters", sizeof(line) - 1);
			break;
		}
		memcpy(line, text + pos, end - pos);
		line[end - pos] = 0;
		pos = end + 1;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		unsigned n = 0;
		const char *want = NULL;
		for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
			if (tok[0] == '!') {
				want = tok + 1;
				continue;
			}
			if (n == MAX_TOK) {
				ret = bad(&c, "too many words");
				break;
			}
			t[n++] = tok;
		}
		if (ret || !n)
			continue;
		if (!header) {
			if (n != 2 || strcmp(t[0], "s2host") || strcmp(t[1], "1")) {
				ret = bad(&c, "a host program starts with the line 's2host 1'");
				break;
			}
			header = true;
			continue;
		}
		if (want && strcmp(want, "OK") && strcmp(want, "any")) {
			bool known = false;
			for (int e = 1; e <= S2_ERR_COUNT && !known; e++)
				known = !strcmp(want, s2_err_name(-e));
			if (!known) {
				ret = bad(&c, "unknown error name '!%s'", want);
				break;
			}
		}
		if (want && !strcmp(want, "any")) {
			/* any outcome: record nothing */
			struct s2trace_host_result keep = *res;
			ret = statement(&c, t, n, NULL);
			if (!ret) {
				res->failed_checks = keep.failed_checks;
				memcpy(res->first_failure, keep.first_failure, sizeof(keep.first_failure));
			}
			continue;
		}
		ret = statement(&c, t, n, want);
	}
	if (!ret && !header)
		ret = bad(&c, "empty host program (it starts with the line 's2host 1')");
	if (!ret && !c.started)
		ret = start(&c);
	if (c.h) {
		res->fired = 0;
		for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
			if (s2host_stats(c.h)->violations[r])
				res->fired |= 1u << r;
		for (unsigned i = 0; report && i < s2host_nr_violations(c.h); i++) {
			char buf[320];
			const struct s2host_violation *v = s2host_violation(c.h, i);
			snprintf(buf, sizeof(buf), "violation: %s at op %" PRIu64 ": %s",
				 s2host_rule_name(v->rule), v->op, v->what);
			report(arg, buf);
		}
		s2host_destroy(c.h);
	}
	return ret;
}

int s2trace_host_uffd_word(const char *w, bool *markers, bool *wp_flush, bool *fork_fix)
{
	static const struct {
		const char *name;
		int which;
		bool on;
	} words[] = {
		{ "markers", 0, true },	   { "pre-fix", 0, false },
		{ "wp-flush", 1, true },   { "no-wp-flush", 1, false },
		{ "fork-fix", 2, true },   { "no-fork-fix", 2, false },
	};
	for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(w, words[i].name)) {
			*(words[i].which == 0 ? markers : words[i].which == 1 ? wp_flush : fork_fix) =
				words[i].on;
			return 0;
		}
	return -1;
}
