/* The trace reader: one line at a time, every word accounted for. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/s2arm.h"
#include "cache-model/s2cache.h"
#include "common/s2_bits.h"
#include "common/s2_num.h"
#include "common/s2_text.h"
#include "host-mm/s2host.h"
#include "traces/s2trace.h"

/* A schedule line holds up to S2TRACE_MAX_SCHEDULE_LINE choices after its keyword. */
#define MAX_WORDS (S2TRACE_MAX_SCHEDULE_LINE + 1)
#define MAX_LINE 65536

struct word {
	char *key;
	char *val;	/* NULL for a bare word */
	bool used;
};

struct s2trace_reader {
	FILE *f;
	bool own;
	char name[256];
	unsigned line;
	bool header_seen;
	bool layout;		/* config and memslot lines only; no header needed */
	bool event_seen;	/* config, memslot and schedule must come before */
	bool config_seen;
	unsigned config_line;
	bool have_phase;
	uint64_t last_phase;
	unsigned next_slot;
	char *buf;
	size_t cap;
	struct word w[MAX_WORDS];
	unsigned nw;
	struct s2hyp_choice sched[S2TRACE_MAX_SCHEDULE_LINE];
	char section[48];
	bool guest_seen;
	char err[600];
	/* What the host-mm lines before this one made, in the order replay
	 * runs them: processes (0 is the VMM; a fork takes the next number,
	 * even one the host refuses) and references (pin, pin-ro, gup). */
	unsigned nr_proc, nr_ref;
	uint32_t proc_exited;		/* bit i: proc i has exited */
	uint64_t ref_dropped[S2HYP_MAX_REFS / 64];	/* bit i: ref i was unref'd */
	unsigned nr_vcpus;		/* the configuration's, for schedule lines */
	unsigned sched_vcpu, sched_line;	/* the highest vCPU a schedule named +1, where */
};

static int fail(struct s2trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct s2trace_reader *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->name[0])
		snprintf(r->err, sizeof(r->err), "%s:%u: %s", r->name, r->line, msg);
	else	/* text the caller passed, with no file: it says where from */
		snprintf(r->err, sizeof(r->err), "%s", msg);
	return S2_EPARSE;
}

struct s2trace_reader *s2trace_reader_new(FILE *f, const char *name)
{
	struct s2trace_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->f = f;
	r->nr_proc = 1;
	struct s2hyp_config dc;
	s2hyp_config_init(&dc);
	r->nr_vcpus = dc.nr_vcpus;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

int s2trace_open(const char *path, struct s2trace_reader **out, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return S2_EIO;
	}
	struct s2trace_reader *r = s2trace_reader_new(f, path);
	if (!r) {
		if (f != stdin)
			fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return S2_ENOMEM;
	}
	r->own = f != stdin;
	*out = r;
	return 0;
}

void s2trace_close(struct s2trace_reader *r)
{
	if (!r)
		return;
	if (r->own)
		fclose(r->f);
	free(r->buf);
	free(r);
}

void s2trace_reader_layout(struct s2trace_reader *r, unsigned first_slot)
{
	r->layout = true;
	r->next_slot = first_slot;
}

const char *s2trace_error(const struct s2trace_reader *r)
{
	return r->err;
}

const char *s2trace_name(const struct s2trace_reader *r)
{
	return r->name;
}

/* ------------------------------------------------------------------ */
/* Words and values                                                    */
/* ------------------------------------------------------------------ */

/* Read the next line without its comment; 0 at end of file. getline()
 * finds the newline with the C library's block search (most of the time
 * of a long trace went to a loop over getc()); a line is refused once
 * read when it is too long or holds a NUL byte. */
static int read_line(struct s2trace_reader *r)
{
	errno = 0;
	ssize_t n = getline(&r->buf, &r->cap, r->f);
	if (n < 0) {
		if (feof(r->f) && !ferror(r->f))
			return 0;
		r->line++;
		return fail(r, errno == ENOMEM ? "out of memory" : "read error");
	}
	r->line++;
	size_t len = (size_t)n - (r->buf[n - 1] == '\n');
	if (len >= MAX_LINE)
		return fail(r, "line longer than %d bytes", MAX_LINE);
	r->buf[len] = '\0';
	if (memchr(r->buf, '\0', len))
		return fail(r, "NUL byte in a text line");
	char *hash = memchr(r->buf, '#', len);
	if (hash)
		*hash = '\0';
	return 1;
}

/* What split() makes of a byte: a space between words, the end of the
 * line, '=' or another byte of a word. */
enum { C_WORD, C_SPACE, C_END, C_EQ };
static const unsigned char byte_class[256] = {
	['\0'] = C_END, [' '] = C_SPACE, ['\t'] = C_SPACE, ['\r'] = C_SPACE, ['='] = C_EQ,
};

static int split(struct s2trace_reader *r)
{
	char *p = r->buf;
	r->nw = 0;
	for (;;) {
		while (byte_class[(unsigned char)*p] == C_SPACE)
			p++;
		if (!*p)
			return 0;
		if (r->nw == MAX_WORDS)
			return fail(r, "more than %d words on a line", MAX_WORDS);
		struct word *w = &r->w[r->nw++];
		w->key = p;
		w->val = NULL;
		w->used = false;
		unsigned char k;
		while ((k = byte_class[(unsigned char)*p]) == C_WORD)
			p++;
		if (k == C_EQ) {
			*p++ = '\0';
			w->val = p;
			while ((k = byte_class[(unsigned char)*p]) == C_WORD || k == C_EQ)
				p++;
		}
		if (*p)
			*p++ = '\0';
		if (w->val)
			for (unsigned i = 0; i + 1 < r->nw; i++)
				if (r->w[i].val && s2_same_word(r->w[i].key, w->key))
					return fail(r, "key '%s' given twice", w->key);
	}
}

static struct word *find(struct s2trace_reader *r, const char *key)
{
	for (unsigned i = 0; i < r->nw; i++) {
		if (s2_same_word(r->w[i].key, key)) {
			r->w[i].used = true;
			return &r->w[i];
		}
	}
	return NULL;
}

static int parse_num(struct s2trace_reader *r, const char *key, const char *s, uint64_t *out)
{
	if (s && s2_parse_u64_quick(s, out))
		return 0;
	if (!s || !*s || *s == '-' || *s == '+')
		return fail(r, "%s needs a number", key);
	int ret = s2_parse_u64(s, S2_NUM_SIZE, out);
	if (ret == S2_ERANGE)
		return fail(r, "%s=%s: number too large", key, s);
	if (ret)
		return fail(r, "%s=%s: not a number", key, s);
	return 0;
}

static int parse_bool(struct s2trace_reader *r, const struct word *w, bool *out)
{
	if (w->val && (!strcmp(w->val, "1") || !strcmp(w->val, "on") || !strcmp(w->val, "yes")))
		*out = true;
	else if (w->val && (!strcmp(w->val, "0") || !strcmp(w->val, "off") || !strcmp(w->val, "no")))
		*out = false;
	else if (w->val)
		return fail(r, "%s must be 0 or 1, not '%s'", w->key, w->val);
	else
		return fail(r, "%s must be 0 or 1", w->key);
	return 0;
}

/* Every word must have been used: anything else is unknown. */
static int all_used(struct s2trace_reader *r, unsigned from)
{
	for (unsigned i = from; i < r->nw; i++) {
		if (r->w[i].used)
			continue;
		/* A word a line takes, given again (keys twice split() found). */
		for (unsigned j = from; j < i; j++)
			if (!r->w[i].val && !r->w[j].val && r->w[j].used &&
			    !strcmp(r->w[j].key, r->w[i].key))
				return fail(r, "word '%s' given twice", r->w[i].key);
		return fail(r, "unknown %s '%s' for %s", r->w[i].val ? "key" : "word",
			    r->w[i].key, r->w[0].key);
	}
	return 0;
}


/* One field's value from its word, checked against its type and range. */
static int field_value(struct s2trace_reader *r, const struct s2trace_field *f,
		       const struct word *w, uint64_t *v)
{
	char list[512];
	bool b = false;
	int ret, x;

	switch (f->type) {
	case S2T_F_DEC:
	case S2T_F_HEX:
	case S2T_F_SIZE:
		if ((ret = parse_num(r, f->key, w->val, v)))
			return ret;
		if (*v < f->min || *v > f->max)
			return fail(r, "%s=%s is out of range (%llu to %llu)", f->key, w->val,
				    (unsigned long long)f->min, (unsigned long long)f->max);
		if ((f->flags & S2T_FF_POW2) && (*v & (*v - 1)))
			return fail(r, "%s=%llu is not a power of two", f->key, (unsigned long long)*v);
		return 0;
	case S2T_F_BOOL:
		if ((ret = parse_bool(r, w, &b)))
			return ret;
		*v = b;
		return 0;
	case S2T_F_FLAG:
		if (w->val)
			return fail(r, "%s takes no value", f->key);
		*v = 1;
		return 0;
	case S2T_F_WORD:
		if ((x = s2trace_word_parse(f->words, w->val)) < 0)
			return fail(r, "%s must be %s%s%s%s", f->key,
				    s2trace_word_list(f->words, list, sizeof(list)),
				    w->val ? ", not '" : "", w->val ? w->val : "", w->val ? "'" : "");
		*v = (unsigned)x;
		return 0;
	case S2T_F_GRANULE:
		if (!w->val)
			return fail(r, "%s needs a value", f->key);
		if (!strcmp(w->val, "4k") || !strcmp(w->val, "4K"))
			*v = 12;
		else if (!strcmp(w->val, "16k") || !strcmp(w->val, "16K"))
			*v = 14;
		else if (!strcmp(w->val, "64k") || !strcmp(w->val, "64K"))
			*v = 16;
		else
			return fail(r, "%s must be 4k, 16k or 64k, not '%s'", f->key, w->val);
		return 0;
	case S2T_F_WALKER: {
		enum s2pt_variant variant;
		if (!w->val || s2pt_variant_parse(w->val, &variant))
			return fail(r, "unknown walker '%s' (valid: %s)", w->val ? w->val : "",
				    s2pt_variant_list(list, sizeof(list)));
		*v = (unsigned)variant;
		return 0;
	}
	case S2T_F_POLICY:
		if ((x = w->val ? s2host_policy_parse(w->val) : -1) < 0)
			return fail(r, "%s needs a COW policy (MAP0, MAP1, MAP2, MAP2+F, CNT, CNT2 or AE)",
				    f->key);
		*v = (unsigned)x;
		return 0;
	case S2T_F_PROT:
		if (!w->val || !*w->val)
			return fail(r, "%s needs a value (r, w, x)", f->key);
		*v = 0;
		for (const char *p = w->val; *p; p++) {
			if (*p == 'r')
				*v |= S2PT_PROT_R;
			else if (*p == 'w')
				*v |= S2PT_PROT_W;
			else if (*p == 'x')
				*v |= S2PT_PROT_X;
			else
				return fail(r, "%s is made of r, w and x, not '%s'", f->key, w->val);
		}
		return 0;
	case S2T_F_RULE:
		if (!w->val)
			return fail(r, "expect fired needs rule=NAME");
		if ((x = s2trace_word_parse(S2T_W_RULE, w->val)) < 0)
			return fail(r, "unknown rule '%s' (see 's2emu rules')", w->val);
		*v = (unsigned)x;
		return 0;
	case S2T_F_ONOFF:
		if (!w->val || (strcmp(w->val, "on") && strcmp(w->val, "off")))
			return fail(r, "%s must be on or off", f->key);
		*v = w->val[1] == 'n';
		return 0;
	case S2T_F_TEXT:
		if (!w->val || !*w->val)
			return fail(r, "%s needs a value", f->key);
		if (strlen(w->val) > f->max)
			return fail(r, "%s=...: longer than %llu bytes", f->key,
				    (unsigned long long)f->max);
		*v = (uint64_t)(uintptr_t)w->val;
		return 0;
	case S2T_F_NAME:	/* positional only (pos_value) */
	case S2T_F_VACCESS:
	case S2T_F_HOSTOP:
	case S2T_F_DSB:
	case S2T_F_TLBI:
	case S2T_F_DC:
	case S2T_F_IC:
	case S2T_F_CHOICES:
		break;
	case S2T_F_ESR: {
		enum s2hyp_access a;
		if ((ret = parse_num(r, f->key, w->val, v)))
			return ret;
		if (s2trace_esr_access(*v, &a))
			return fail(r, "%s=%#llx is not a data or instruction abort", f->key,
				    (unsigned long long)*v);
		return 0;
	}
	}
	return fail(r, "%s: no such field type", f->key);
}

/* The line as a message names it: its keyword, and once an operation is
 * read the words from it (from, 0: none) to to ("effect tlbi ipas2e1is",
 * "vcpu write"). Only made for a message. */
static const char *line_what(const struct s2trace_reader *r, unsigned from, unsigned to,
			     char *buf, size_t size)
{
	int k = snprintf(buf, size, "%s", r->w[0].key);
	size_t len = k > 0 ? (size_t)k : 0;

	for (unsigned i = from; from && i <= to && i < r->nw && len < size; i++) {
		k = snprintf(buf + len, size - len, " %s", r->w[i].key);
		len += k > 0 ? (size_t)k : 0;
	}
	return buf;
}

/* A host line's operation: a host operation or a host-mm event. */
static int host_op_parse(const char *s)
{
	int k = s2trace_word_parse(S2T_W_HOST, s);
	if (k >= 0)
		return k;
	k = s2trace_word_parse(S2T_W_MM, s);
	return k < 0 ? -1 : (int)(S2T_HOSTOP_MM | (unsigned)k);
}

/* The words a positional field takes, as a sentence says them ("" for a
 * number or a name). */
static const char *pos_list(const struct s2trace_field *f, char *buf, size_t size)
{
	buf[0] = '\0';
	switch (f->type) {
	case S2T_F_WORD:
	case S2T_F_VACCESS:
		return s2trace_word_list(f->words, buf, size);
	case S2T_F_DSB:
	case S2T_F_TLBI:
	case S2T_F_DC:
	case S2T_F_IC:
		return s2trace_op_list(f->type, buf, size);
	case S2T_F_HOSTOP:	/* two tables, too long for a message */
		snprintf(buf, size, "write, dirty-log-on, ..., a host-mm event: dontneed, fork, ...; "
				    "docs/trace-format.md lists them");
		return buf;
	default:
		return buf;
	}
}

/* A positional field's value from its word (a bare word at its place),
 * the line named by its words from..to in a message. */
static int pos_value(struct s2trace_reader *r, const struct s2trace_field *f, unsigned from,
		     unsigned to, const char *s, uint64_t *v)
{
	char list[512], what[96];
	int x;

	switch (f->type) {
	case S2T_F_DEC:
		if (!s2_parse_u64_quick(s, v) &&
		    (!*s || *s == '-' || *s == '+' || s2_parse_u64(s, S2_NUM_SIZE, v)))
			return fail(r, "%s: '%s' is not %s", line_what(r, from, to, what, sizeof(what)), s, f->key);
		if (*v < f->min || *v > f->max)
			return fail(r, "%s: %s is %llu to %llu, not %s", line_what(r, from, to, what, sizeof(what)), f->key,
				    (unsigned long long)f->min, (unsigned long long)f->max, s);
		return 0;
	case S2T_F_WORD:
	case S2T_F_VACCESS:
	case S2T_F_DSB:
	case S2T_F_TLBI:
	case S2T_F_DC:
	case S2T_F_IC:
	case S2T_F_HOSTOP:
		x = f->type == S2T_F_WORD || f->type == S2T_F_VACCESS ? s2trace_word_parse(f->words, s) :
		    f->type == S2T_F_HOSTOP ? host_op_parse(s) : s2trace_op_parse(f->type, s);
		if (x < 0)
			return fail(r, "%s: '%s' is not %s (%s)",
				    line_what(r, from, to, what, sizeof(what)), s, f->key,
				    pos_list(f, list, sizeof(list)));
		*v = (unsigned)x;
		return 0;
	case S2T_F_NAME:
		for (const char *c = s; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
				return fail(r, "%s: '%s' is not %s (letters, digits, '-', '_' and '.')",
					    line_what(r, from, to, what, sizeof(what)), s, f->key);
		if (strlen(s) > f->max)
			return fail(r, "%s: %s is at most %llu characters", line_what(r, from, to, what, sizeof(what)), f->key,
				    (unsigned long long)f->max);
		*v = (uint64_t)(uintptr_t)s;
		return 0;
	default:
		return fail(r, "%s: %s is no positional field", line_what(r, from, to, what, sizeof(what)), f->key);
	}
}

/* A schedule line's choices: every word from the first. */
static int read_choices(struct s2trace_reader *r, struct s2trace_event *ev, unsigned first)
{
	unsigned n = 0;

	if (r->nw - first > S2TRACE_MAX_SCHEDULE_LINE)
		return fail(r, "more than %d choices on one schedule line", S2TRACE_MAX_SCHEDULE_LINE);
	for (unsigned i = first; i < r->nw; i++) {
		if (r->w[i].val)
			return fail(r, "schedule choice '%s=%s' is not a choice", r->w[i].key, r->w[i].val);
		if (s2trace_parse_choice(r->w[i].key, &r->sched[n]))
			return fail(r, "'%s' is not a schedule choice (hyp, host, vN, rcu, prefetch:vN:K, "
				       "tlb-evict:vN:K, dc-evict:K)", r->w[i].key);
		r->w[i].used = true;
		n++;
	}
	ev->schedule.choices = r->sched;
	ev->schedule.n = n;
	return 0;
}

/* Sets the field's value in ev, and what giving it says. */
static inline void field_given(const struct s2trace_field *f, struct s2trace_event *ev, uint64_t v)
{
	if (f->type == S2T_F_VACCESS) {
		/* What a vcpu line's keys leave out: a fault's address is the
		 * page the access was in (1 byte), its access (esr='s) a real
		 * guest's, observed; an instruction fetch's size is 4 (0: not
		 * given, checked after). */
		struct s2hyp_vcpu_op *o = &ev->vcpu.op;
		ev->vcpu.fault = v == S2T_VACCESS_FAULT;
		if (ev->vcpu.fault) {
			o->size = 1;
			o->observed = true;
		} else {
			o->access = (enum s2hyp_access)v;
			o->size = o->access == S2HYP_ACC_EXEC ? 0 : o->size;
		}
		return;
	}
	if (f->type == S2T_F_HOSTOP) {
		ev->host.kind = v & S2T_HOSTOP_MM ? S2HYP_HOST_MM : (enum s2hyp_host_kind)v;
		ev->host.mm = v & S2T_HOSTOP_MM ? (enum s2hyp_mm_op)(v & 0xff) : 0;
		return;
	}
	s2trace_field_set(f, ev, v);
	if (f->have)
		((bool *)ev)[f->have - 1] = true;
	if (f->given)
		ev->config.given |= f->given;
	if (f->type == S2T_F_POLICY)
		ev->config.cfg.host_mm = true;
	if (f->type == S2T_F_ESR)
		s2trace_esr_access(v, &ev->vcpu.op.access);
}

/* The fields of ev's line (the grammar's s2trace_fields), each read from
 * its word into ev: first the positional ones, word by word after the
 * keyword (a selecting one chooses the fields that follow), then the keyed
 * ones; the caller checks that no other word is left. */
static int read_fields(struct s2trace_reader *r, struct s2trace_event *ev)
{
	const struct s2trace_field *fs;
	/* The line as a message names it: its keyword (word 0), or once an
	 * operation is read the words from the operation on (from). */
	char what[96];
	unsigned n, pos = 0, left = 0, from = 0;
	bool sel = false;	/* a selecting word read: the name ends at the last word */
	uint64_t v;
	int ret;

again:
	fs = s2trace_fields(ev, &n);
	/* A table's positional fields come first. */
	for (unsigned i = 0; i < n && (fs[i].flags & S2T_FF_POS); i++) {
		const struct s2trace_field *f = &fs[i];
		char list[512];
		if (i < pos)
			continue;
		struct word *w = ++pos < r->nw ? &r->w[pos] : NULL;
		if (f->type == S2T_F_CHOICES)
			return read_choices(r, ev, pos);
		if (!w || w->val) {
			if (!(f->flags & S2T_FF_REQUIRED))
				continue;
			pos_list(f, list, sizeof(list));
			return fail(r, "%s needs %s%s%s",
				    line_what(r, from, sel ? pos - 1 : 0, what, sizeof(what)), f->key,
				    *list ? ": " : "", list);
		}
		w->used = true;
		if ((ret = pos_value(r, f, from, sel ? pos - 1 : 0, w->key, &v)))
			return ret;
		field_given(f, ev, v);
		if (f->flags & S2T_FF_SELECT) {
			from = sel ? from : pos;
			sel = true;
			goto again;
		}
	}

	/* Once every word is taken, the other fields are absent: no search. */
	for (unsigned i = 1; i < r->nw; i++)
		left += !r->w[i].used;
	for (unsigned i = 0; i < n; i++) {
		const struct s2trace_field *f = &fs[i];
		if ((f->flags & S2T_FF_POS) || !s2trace_field_applies(f, ev))
			continue;
		struct word *w = NULL;
		for (unsigned k = 1; left && k < r->nw && !w; k++)
			if (!r->w[k].used && s2_same_word(r->w[k].key, f->key))
				w = &r->w[k];
		if (!w) {
			if (f->flags & S2T_FF_REQUIRED)
				return fail(r, "%s needs %s=", line_what(r, from, sel ? pos : 0, what,
									 sizeof(what)), f->key);
			continue;
		}
		w->used = true;
		left--;
		if ((ret = field_value(r, f, w, &v)))
			return ret;
		field_given(f, ev, v);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lines                                                               */
/* ------------------------------------------------------------------ */

static int parse_config(struct s2trace_reader *r, struct s2trace_event *ev)
{
	struct s2hyp_config *c = &ev->config.cfg;
	int ret;

	s2hyp_config_init(c);
	ev->config.given = 0;
	if ((ret = read_fields(r, ev)))
		return ret;
	/* KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE takes a page or a block size of
	 * the granule (kvm_is_block_size_supported: levels 1 to 3 with 4K
	 * pages, 2 and 3 with 16K and 64K). */
	unsigned g = c->granule_shift, b = g - 3;
	if (c->split_chunk && c->split_chunk != 1ull << g && c->split_chunk != 1ull << (g + b) &&
	    (g != 12 || c->split_chunk != 1ull << (g + 2 * b))) {
		const struct word *w = find(r, "split-chunk");
		return fail(r, "split-chunk=%s is not a page or block size of the %uK granule (%s)",
			    w && w->val ? w->val : "", 1u << (g - 10),
			    g == 12 ? "4K, 2M or 1G" : g == 14 ? "16K or 32M" : "64K or 512M");
	}
	if (r->sched_vcpu > c->nr_vcpus)
		return fail(r, "vcpus=%u: the schedule on line %u names v%u", c->nr_vcpus,
			    r->sched_line, r->sched_vcpu - 1);
	r->nr_vcpus = c->nr_vcpus;
	return all_used(r, 1);
}

static int parse_memslot(struct s2trace_reader *r, struct s2trace_event *ev)
{
	unsigned id;
	int ret;

	ev->memslot.slot = (struct s2hyp_memslot){ 0 };
	if ((ret = read_fields(r, ev)))
		return ret;
	id = ev->memslot.id;
	if (id != r->next_slot)
		return fail(r, "memslot %u: slots are numbered 0, 1, ... in order (expected %u)", id,
			    r->next_slot);
	if (id >= S2HYP_MAX_SLOTS)
		return fail(r, "more than %d memslots", S2HYP_MAX_SLOTS);
	r->next_slot++;
	return all_used(r, 1);
}

/* A host-mm event names only processes and references the lines before it
 * made; a fork and a reference take the next number. */
static int mm_names(struct s2trace_reader *r, const struct s2hyp_host_op *o)
{
	unsigned args = s2hyp_mm_op_args(o->mm);

	if (args & S2HYP_MM_ARG_PROC) {
		if (o->proc >= r->nr_proc)
			return fail(r, "proc=%u: no such process (%u fork%s before this line)", o->proc,
				    r->nr_proc - 1, r->nr_proc == 2 ? "" : "s");
		if (r->proc_exited >> o->proc & 1)
			return fail(r, "proc=%u: that process has exited", o->proc);
	}
	if ((args & S2HYP_MM_ARG_REF) && o->ref >= r->nr_ref)
		return fail(r, "ref=%u: no such reference (%u pin or gup line%s before this one)",
			    o->ref, r->nr_ref, r->nr_ref == 1 ? "" : "s");
	if ((args & S2HYP_MM_ARG_REF) && r->ref_dropped[o->ref / 64] >> (o->ref % 64) & 1)
		return fail(r, "ref=%u: that reference was dropped by an earlier unref", o->ref);
	switch (o->mm) {
	case S2HYP_MM_FORK:
		if (r->nr_proc == S2HYP_MAX_PROCS)
			return fail(r, "more than %d forks: the model holds %d processes",
				    S2HYP_MAX_PROCS - 1, S2HYP_MAX_PROCS);
		r->nr_proc++;
		break;
	case S2HYP_MM_EXIT:
		r->proc_exited |= 1u << o->proc;
		break;
	case S2HYP_MM_UNREF:
		r->ref_dropped[o->ref / 64] |= 1ull << (o->ref % 64);
		break;
	default:
		break;
	}
	if (s2hyp_mm_op_takes_ref(o->mm)) {
		if (r->nr_ref == S2HYP_MAX_REFS)
			return fail(r, "more than %d references", S2HYP_MAX_REFS);
		r->nr_ref++;
	}
	return 0;
}

static int parse_host(struct s2trace_reader *r, struct s2trace_event *ev)
{
	struct s2hyp_host_op *o = &ev->host;
	int ret;

	*o = (struct s2hyp_host_op){ 0 };
	/* Only the keys the event takes: another is an unknown key, not one
	 * silently ignored. */
	if ((ret = read_fields(r, ev)))
		return ret;
	if (o->kind == S2HYP_HOST_MM) {
		/* An exit names a child (the VMM's own exit is `host destroy`). */
		struct word *w = o->mm == S2HYP_MM_EXIT && !o->proc ? find(r, "proc") : NULL;
		if (o->mm == S2HYP_MM_EXIT && !o->proc)
			return w ? fail(r, "proc=%s is out of range (1 to %d)", w->val,
					S2HYP_MAX_PROCS - 1)
				 : fail(r, "host exit needs proc=");
		return (ret = all_used(r, 1)) ? ret : mm_names(r, o);
	}
	return all_used(r, 1);
}

int s2trace_esr_access(uint64_t esr, enum s2hyp_access *a)
{
	struct s2arm_fault f;

	if (s2arm_esr_decode(esr, &f))
		return S2_EINVAL;
	if (f.s1ptw) {
		/* ISS.S1PTW: the stage-1 walk's own access to a descriptor, for an
		 * instruction fetch as for a load, never an execution. As KVM's
		 * kvm_is_write_fault() takes it: a permission fault is the walker
		 * updating the descriptor (hardware AF or dirty state), a write;
		 * any other fault is its read. */
		*a = f.type == S2ARM_FAULT_PERMISSION ? S2HYP_ACC_WRITE : S2HYP_ACC_READ;
	} else {
		*a = f.insn ? S2HYP_ACC_EXEC : f.write ? S2HYP_ACC_WRITE : S2HYP_ACC_READ;
	}
	return 0;
}

static int parse_vcpu(struct s2trace_reader *r, struct s2trace_event *ev)
{
	struct s2hyp_vcpu_op *o = &ev->vcpu.op;
	int ret;

	*o = (struct s2hyp_vcpu_op){ .size = 8, .mmu_on = true };
	ev->vcpu.fault = false;
	ev->vcpu.esr = ev->vcpu.pc = 0;
	if ((ret = read_fields(r, ev)))	/* the access sets what its keys leave out */
		return ret;
	if (o->size & (o->size - 1))
		return fail(r, "size=%u: an access is 1, 2, 4 or 8 bytes", o->size);
	if (o->access == S2HYP_ACC_EXEC && !ev->vcpu.fault && o->size && o->size != 4)
		return fail(r, "size=%u: an instruction fetch is 4 bytes", o->size);
	if (o->access == S2HYP_ACC_EXEC)
		o->size = 4;
	if (o->ipa & (o->size - 1))
		return fail(r, "ipa=%#llx is not aligned to the access size %u",
			    (unsigned long long)o->ipa, o->size);
	if (o->size < 8 && o->value >> (8 * o->size))
		return fail(r, "value=%#llx does not fit in size=%u", (unsigned long long)o->value,
			    o->size);
	return all_used(r, 1);
}

/* An mmio or entry line: keys only. */
static int parse_mmio(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret;

	if ((ret = read_fields(r, ev)))
		return ret;
	return all_used(r, 1);
}

static int parse_effect(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret;

	memset(&ev->effect, 0, sizeof(ev->effect));
	ev->effect.level = S2PT_TLBI_NO_LEVEL;
	if ((ret = read_fields(r, ev)))
		return ret;
	switch (ev->effect.kind) {
	case S2T_EFF_WRITE:
	case S2T_EFF_PTE_WRITE:
	case S2T_EFF_PTE_READ:
		if (ev->effect.pa & 7)
			return fail(r, "pa=%#llx: a descriptor is 8-byte aligned",
				    (unsigned long long)ev->effect.pa);
		break;
	case S2T_EFF_HINT:
		/* A lock or a root to set; releasing a table names only it. */
		if (ev->effect.op != S2EFF_HINT_RELEASE_TABLE && !find(r, "value"))
			return fail(r, "hint kind=%s needs value=", s2trace_word(S2T_W_HINT, ev->effect.op));
		break;
	default:
		break;
	}
	return all_used(r, 1);
}

static int parse_expect(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret;

	memset(&ev->expect, 0, sizeof(ev->expect));
	ev->expect.level = -128;
	ev->expect.prot = -1;
	ev->expect.rule = -1;
	ev->expect.fault_kind = -1;
	ev->expect.vcpu = -1;
	if ((ret = read_fields(r, ev)))
		return ret;
	if (ev->expect.kind == S2T_EXP_FIRED && ev->expect.rule < 0)
		return fail(r, "expect fired needs rule=NAME");
	if (ev->expect.kind == S2T_EXP_FAULTS) {
		bool max = find(r, "max");
		if (!max && !find(r, "min"))
			return fail(r, "expect faults needs max= or min=");
		if (!max)
			ev->expect.max = UINT64_MAX;	/* no bound */
		if (ev->expect.min > ev->expect.max)
			return fail(r, "expect faults: min is above max");
	}
	return all_used(r, 1);
}

static int parse_guest(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret = read_fields(r, ev);
	return ret ? ret : all_used(r, 1);
}

/* "section NAME": statistics from here on are counted under NAME (kept
 * until the next section line). */
static int parse_section(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret = read_fields(r, ev);
	if (ret)
		return ret;
	snprintf(r->section, sizeof(r->section), "%s", ev->section.name);
	ev->section.name = r->section;
	return all_used(r, 1);
}

/* A schedule's choices; a vCPU it names is one the configuration has
 * (checked again when a config line follows). */
static int parse_schedule(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret = read_fields(r, ev);
	if (ret)
		return ret;
	for (unsigned i = 0; i < ev->schedule.n; i++) {
		const struct s2hyp_choice *ch = &ev->schedule.choices[i];
		if (ch->kind != S2HYP_CH_VCPU && ch->kind != S2HYP_CH_PREFETCH &&
		    ch->kind != S2HYP_CH_TLB_EVICT)
			continue;
		if (r->config_seen && ch->vcpu >= r->nr_vcpus)
			return fail(r, "'%s' names v%u: the configuration has %u vCPUs", r->w[i + 1].key,
				    ch->vcpu, r->nr_vcpus);
		if (ch->vcpu >= r->sched_vcpu) {
			r->sched_vcpu = ch->vcpu + 1u;
			r->sched_line = r->line;
		}
	}
	return 0;
}

/* "phase N", or "phase" for the one after the last; phases never decrease. */
static int parse_phase(struct s2trace_reader *r, struct s2trace_event *ev)
{
	int ret = read_fields(r, ev);
	if (ret || (ret = all_used(r, 1)))
		return ret;
	if (r->nw == 1) {
		if (r->have_phase && r->last_phase == UINT64_MAX)
			return fail(r, "phase after phase %llu: the phase number would wrap",
				    (unsigned long long)r->last_phase);
		ev->phase.next = true;
		ev->phase.n = r->have_phase ? r->last_phase + 1 : 0;
	} else if (r->have_phase && ev->phase.n < r->last_phase) {
		return fail(r, "phase %llu after phase %llu: phases never decrease",
			    (unsigned long long)ev->phase.n, (unsigned long long)r->last_phase);
	}
	r->have_phase = true;
	r->last_phase = ev->phase.n;
	return 0;
}

int s2trace_next(struct s2trace_reader *r, struct s2trace_event *ev)
{
	for (;;) {
		int ret = read_line(r);
		if (ret <= 0) {
			if (ret == 0 && !r->header_seen && !r->layout) {
				if (!r->line)
					r->line = 1;
				return fail(r, "empty trace: no 's2emu-trace 1' header");
			}
			return ret;
		}
		if ((ret = split(r)))
			return ret;
		if (!r->nw)
			continue;
		const char *kw = r->w[0].key;
		r->w[0].used = true;
		memset(ev, 0, sizeof(*ev));
		ev->line = r->line;
		if (!r->header_seen && r->layout && strcmp(kw, "s2emu-trace"))
			r->header_seen = true;	/* a layout's header is optional */
		if (!r->header_seen) {
			uint64_t v;
			if (strcmp(kw, "s2emu-trace") || r->nw != 2 || r->w[1].val)
				return fail(r, "not an s2emu trace: the first line must be 's2emu-trace 1'");
			if (parse_num(r, "version", r->w[1].key, &v))
				return S2_EPARSE;
			if (v != S2TRACE_VERSION)
				return fail(r, "trace version %llu is not supported (this reader knows version %d)",
					    (unsigned long long)v, S2TRACE_VERSION);
			r->header_seen = true;
			continue;
		}
		int kind = s2trace_word_parse(S2T_W_LINE, kw);
		if (r->layout && kind != S2T_CONFIG && kind != S2T_MEMSLOT)
			return fail(r, "a layout holds config and memslot lines, not '%s'", kw);
		if (kind < 0 && !strcmp(kw, "s2emu-trace"))
			return fail(r, "a second 's2emu-trace' header");
		if (kind < 0)
			return fail(r, "unknown event '%s'", kw);
		ev->kind = (enum s2trace_kind)kind;
		switch (ev->kind) {
		case S2T_CONFIG:
			if (r->config_seen)
				return fail(r, "config must come once (line %u has one)", r->config_line);
			if (r->event_seen)
				return fail(r, "config must come once, before the first event");
			/* A layout's memslots may come first: their IPA space is
			 * checked once everything is read. */
			if (r->next_slot && !r->layout)
				return fail(r, "config must come before the memslots");
			r->config_seen = true;
			r->config_line = r->line;
			ret = parse_config(r, ev);
			break;
		case S2T_MEMSLOT:
			if (r->event_seen)
				return fail(r, "memslots must come before the first event");
			ret = parse_memslot(r, ev);
			break;
		case S2T_GUEST:
			if (r->event_seen || r->guest_seen)
				return fail(r, "guest must come once, before the first event");
			r->guest_seen = true;
			ret = parse_guest(r, ev);
			break;
		case S2T_SCHEDULE:
			if (r->event_seen)
				return fail(r, "schedule lines must come before the first event");
			ret = parse_schedule(r, ev);
			break;
		case S2T_PHASE:
			r->event_seen = true;
			ret = parse_phase(r, ev);
			break;
		case S2T_HOST:
			r->event_seen = true;
			ret = parse_host(r, ev);
			break;
		case S2T_VCPU:
			r->event_seen = true;
			ret = parse_vcpu(r, ev);
			break;
		case S2T_MMIO:
		case S2T_ENTRY:
			r->event_seen = true;
			ret = parse_mmio(r, ev);
			break;
		case S2T_EFFECT:
			r->event_seen = true;
			ret = parse_effect(r, ev);
			break;
		case S2T_EXPECT:
			r->event_seen = true;
			ret = parse_expect(r, ev);
			break;
		case S2T_SECTION:
			r->event_seen = true;
			ret = parse_section(r, ev);
			break;
		}
		if (ret)
			return ret;
		return 1;
	}
}
