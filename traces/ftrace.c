/* ftrace: the importer of Linux ftrace text with arm64 KVM events.
 *
 * Three stages. Reading parses every line at once (so a malformed line is
 * reported with its number before anything is written) and keeps the events
 * that matter. Finishing sorts them by time, gives each its thread (a vCPU
 * number or the host) and decides what each becomes. Writing prints those
 * decisions. docs/ftrace-import.md is the user's view of the same.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arch/s2arm.h"
#include "common/s2_bits.h"
#include "common/s2_err.h"
#include "common/s2_map.h"
#include "common/s2_num.h"
#include "host-mm/s2host.h"
#include "traces/s2trace.h"
#include "traces/s2trace_ftrace.h"


/* ------------------------------------------------------------------ */
/* Scanning text                                                       */
/* ------------------------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* Whether the n bytes at s are the whole of word. */
static bool span_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && !strncmp(s, word, n);
}

/*
 * A cursor over a payload that stops at the first mismatch: the decoders
 * write the expected text as a sequence of calls and test ok once.
 */
struct scan {
	const char *p;
	bool ok;
};

static void sc_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->ok && !strncmp(s->p, lit, n))
		s->p += n;
	else
		s->ok = false;
}

/* Hexadecimal with or without 0x: the kernel prints %#x of 0 as "0x0" and
 * libtraceevent (glibc) as "0", and some formats have no prefix at all. */
static uint64_t sc_hex(struct scan *s)
{
	uint64_t v = 0;
	unsigned sig = 0;
	const char *p = s->p;

	if (!s->ok)
		return 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && hex_val(p[2]) >= 0)
		p += 2;
	if (hex_val(*p) < 0) {
		s->ok = false;
		return 0;
	}
	for (; hex_val(*p) >= 0; p++) {
		if (v || hex_val(*p))
			sig++;
		if (sig > 16) {
			s->ok = false;
			return 0;
		}
		v = v << 4 | (uint64_t)hex_val(*p);
	}
	s->p = p;
	return v;
}

static uint64_t sc_dec(struct scan *s)
{
	uint64_t v = 0;
	const char *p = s->p;

	if (!s->ok || !is_digit(*p)) {
		s->ok = false;
		return 0;
	}
	for (; is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			s->ok = false;
			return 0;
		}
		v = v * 10 + d;
	}
	s->p = p;
	return v;
}

/* One of words (a NULL-terminated list); the index, or 0 after a mismatch. */
static unsigned sc_word(struct scan *s, const char *const *words)
{
	if (!s->ok)
		return 0;
	/* Longest first would matter if one word prefixed another followed by
	 * the same text; callers list "unsatisfied-read" before "read". */
	for (unsigned i = 0; words[i]; i++) {
		size_t n = strlen(words[i]);
		if (!strncmp(s->p, words[i], n)) {
			s->p += n;
			return i;
		}
	}
	s->ok = false;
	return 0;
}

static void sc_end(struct scan *s)
{
	if (s->ok && *skip_blanks(s->p))
		s->ok = false;
}

/* ------------------------------------------------------------------ */
/* The line prefix                                                     */
/* ------------------------------------------------------------------ */

static bool is_ident(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* "SECONDS.FRACTION:" (any number of fraction digits, nanoseconds kept) or
 * a bare counter "N:" from a counter trace clock, kept as it is. */
static bool parse_timestamp(const char **pp, uint64_t *ns)
{
	const char *p = *pp;
	uint64_t sec = 0, frac = 0;
	unsigned nd = 0, nf = 0;

	for (; is_digit(*p); p++, nd++) {
		if (nd >= 20 || sec > (UINT64_MAX - 9) / 10)
			return false;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (!nd)
		return false;
	if (*p == '.') {
		p++;
		for (; is_digit(*p); p++, nf++)
			if (nf < 9)
				frac = frac * 10 + (uint64_t)(*p - '0');
		if (!nf)
			return false;
		for (unsigned i = nf; i < 9; i++)
			frac *= 10;
		if (sec > (UINT64_MAX - frac) / 1000000000u)
			return false;
		sec = sec * 1000000000u + frac;
	}
	if (*p != ':')
		return false;
	*pp = p + 1;
	*ns = sec;
	return true;
}

/* The prefix around one candidate CPU field "[NNN]" at br. */
static bool parse_prefix_at(const char *start, const char *br, struct s2trace_ftrace_line *out)
{
	const char *p = br + 1, *q;
	unsigned cpu = 0, nd = 0;
	long pid = 0;

	for (; is_digit(*p); p++) {
		if (++nd > 6)
			return false;
		cpu = cpu * 10 + (unsigned)(*p - '0');
	}
	if (!nd || *p != ']')
		return false;
	p++;

	/* Backwards from the CPU field: blanks, an optional "(tgid)", the pid. */
	q = br - 1;
	if (q < start || !is_blank(*q))
		return false;
	while (q >= start && is_blank(*q))
		q--;
	if (q >= start && *q == ')') {
		q--;
		while (q >= start && (is_blank(*q) || is_digit(*q) || *q == '-'))
			q--;
		if (q < start || *q != '(')
			return false;
		q--;
		while (q >= start && is_blank(*q))
			q--;
	}
	const char *pid_end = q + 1;
	nd = 0;
	while (q >= start && is_digit(*q)) {
		q--;
		nd++;
	}
	if (!nd || nd > 9 || q <= start || *q != '-')
		return false;
	for (const char *d = q + 1; d < pid_end; d++)
		pid = pid * 10 + (*d - '0');

	/* Forwards: optional flags ("d..1."), then the timestamp. */
	uint64_t ts;
	p = skip_blanks(p);
	if (!parse_timestamp(&p, &ts)) {
		const char *f = p;
		while (*p && !is_blank(*p) && *p != ':' && p - f <= 8)
			p++;
		if (p == f || p - f > 8 || !is_blank(*p))
			return false;
		p = skip_blanks(p);
		if (!parse_timestamp(&p, &ts))
			return false;
	}
	p = skip_blanks(p);

	const char *ev = p;
	while (is_ident(*p))
		p++;
	if (p > ev && *p == ':' && (!p[1] || is_blank(p[1]))) {
		out->event = ev;
		out->event_len = (size_t)(p - ev);
		out->payload = skip_blanks(p + 1);
	} else {
		/* The function tracer prints "func <-caller" with no event name. */
		out->event = "function";
		out->event_len = strlen("function");
		out->payload = ev;
	}
	out->comm = start;
	out->comm_len = (size_t)(q - start);
	out->pid = pid;
	out->cpu = cpu;
	out->ts_ns = ts;
	return true;
}

int s2trace_ftrace_parse_line(const char *line, struct s2trace_ftrace_line *out)
{
	const char *s = skip_blanks(line);

	if (!*s || *s == '#')
		return S2_ENOENT;
	/* The task name may itself hold a '[': try every one. */
	for (const char *br = strchr(s, '['); br; br = strchr(br + 1, '['))
		if (parse_prefix_at(s, br, out))
			return 0;
	return S2_ENOENT;
}

/* ------------------------------------------------------------------ */
/* The importer's state                                                */
/* ------------------------------------------------------------------ */

enum ev_kind {
	EV_GUEST_FAULT,
	EV_ACCESS_FAULT,
	EV_UNMAP_RANGE,
	EV_UNMAP_PAGE,		/* kvm_set_spte_hva, kvm_unmap_hva (older kernels) */
	EV_AGE_RANGE,
	EV_TEST_AGE,
	EV_MMIO,
	EV_TOGGLE_CACHE,
	EV_SET_WAY_FLUSH,
	EV_ENTRY,
	EV_EXIT,
	EV_MARKER,
	EV_RCU_CALLBACK,	/* a traced call of kvm_pgtable_stage2_free_unlinked */
	EV_INV_BEGIN,		/* the kit's kprobe on kvm_mmu_invalidate_begin */
	EV_INV_END,		/* ... and on kvm_mmu_invalidate_end */
	EV_DIRTY_WP,		/* ... and on kvm_arch_mmu_enable_log_dirty_pt_masked */
	EV_YOUNG,		/* a kvm_age_hva that found young entries (function trace) */
	EV_BREAK,		/* a traced call of stage2_try_break_pte */
	EV_MAKE,		/* ... and of stage2_make_pte */
};

/* kvm_mmio's type, in __print_symbolic order. */
enum { MMIO_UNSAT_READ, MMIO_READ, MMIO_WRITE };

/* What a marker asks for: host events of "s2emu: host ..." (see add_marker),
 * and the facts of the capture kit's "s2emu-..." markers (see kit_marker). */
enum {
	CMD_NONE, CMD_DIRTY_LOG_ON, CMD_DIRTY_LOG_OFF, CMD_GET_DIRTY_LOG,
	CMD_MEMSLOT,		/* s2emu-memslot: a slot, or a change of its flags */
	CMD_VCPUS,		/* s2emu-vcpus n=N */
	CMD_HOST,		/* s2emu-host: the host's features */
	CMD_SECTION,		/* a named part of the run (why: enum section, b: number) */
	CMD_EAGER,		/* eager splitting is on */
};

/* The parts of a capture kit run, named after its VMM's phase markers. */
enum section { SEC_PASS, SEC_AFTER_PASS, SEC_DIRTY_LOGGING };

/* s2emu-host features: bits of fev.a. */
enum { FEAT_VHE = 1, FEAT_FWB = 2, FEAT_RANGE_TLBI = 4, FEAT_IDC = 8, FEAT_DIC = 16,
       FEAT_HW_DIRTY = 32, FEAT_NO_LRU_GEN = 64 };

/* What an event becomes, decided by finish(). */
enum out_kind {
	OUT_NONE,		/* nothing: vCPU attribution, or part of an earlier event */
	OUT_FAULT,		/* vcpu N fault */
	OUT_MMIO,		/* mmio vcpu=N */
	OUT_READ,		/* vcpu N read (an access fault; EV_YOUNG: the hardware's) */
	OUT_UNMAP,		/* host unmap-hva */
	OUT_COW,		/* an unmap inside a write permission fault: the host's COW */
	OUT_AGE,		/* host age-hva */
	OUT_OUTSIDE,		/* a notifier event outside guest memory: counted only */
	OUT_FLUSH,		/* host flush-ipa over each memslot */
	OUT_COMMENT,		/* a comment only */
	OUT_MARKER,		/* # marker:, and a host line for an s2emu command */
	OUT_RCU,		/* host rcu-callback */
	OUT_INV,		/* host invalidate-begin or -end (EV_INV_*) */
	OUT_INV_UNPAIRED,	/* an end whose begin the trace lacks: a comment */
	OUT_GDL,		/* host get-dirty-log where KVM write-protected (EV_DIRTY_WP) */
	OUT_ENTRY,		/* entry vcpu=N: the end of a fault's handling (EV_ENTRY) */
};

enum mmio_why { WHY_OUTSIDE, WHY_READONLY, WHY_KVM_MMIO, WHY_FOLLOWED };

#define HOST_THREAD (-1)

struct fev {
	uint64_t ts;
	uint64_t seq;		/* file order: the tie-break that keeps the sort stable */
	unsigned long line;
	long pid;
	uint8_t kind;		/* enum ev_kind */
	uint8_t sub;		/* kvm_mmio type; toggle: was | now << 1; S/W: cache on; marker command */
	uint8_t out;		/* enum out_kind */
	uint8_t why;		/* enum mmio_why */
	bool vcpu_only;		/* an event only a vCPU thread emits */
	const char *name;	/* the tracepoint's name */
	int thread;		/* HOST_THREAD or a vCPU number */
	unsigned phase;		/* > 0: a phase line goes before this event */
	uint64_t a, b, c, d;	/* fields, see the decoders */
	uint64_t out_addr;
	size_t next_same;	/* the next event of the same pid (SIZE_MAX: none) */
	char *text;		/* marker text */
	uint8_t mflags;		/* s2emu-memslot: 0 none, 1 dirty, 2 ro */
	uint8_t mbacking;	/* s2emu-memslot: index in kit_backings */
	bool lost_break;	/* a fault whose handler's break lost (decide_breaks) */
};

struct thr {
	long pid;
	int named;		/* N of "CPU N/KVM", -1 if never so named */
	unsigned long named_line;
	bool vcpu;		/* emitted an event only a vCPU thread emits */
	int number;		/* the vCPU number given, -1 none yet */
	size_t scan_next;
	size_t age_ev;		/* 1 + the index of its kvm_age_hva being handled, 0: none */
	size_t young_ev;	/* 1 + the index of that ageing's EV_YOUNG, 0: none yet */
	bool in_age_walker;	/* its last traced call was stage2_age_walker */
};

struct slot {
	uint64_t ipa, size, hva;
	bool readonly;
	bool dirty_log;		/* dirty logging on from the start */
	enum s2hyp_backing backing;
	const char *src;	/* where it came from, for errors */
	unsigned long line;
};

struct unused {
	char *name;
	uint64_t count;
};

struct s2trace_ftrace {
	char err[512];
	bool read_done, finished, phases;

	/* The guest image, to show each fault's instruction. */
	uint8_t *image;
	size_t image_len;
	uint64_t image_va;
	csh cs;
	bool cs_ok;

	/* Layout. */
	struct slot slots[S2TRACE_FTRACE_MAX_SLOTS];
	unsigned nr_slots;
	char **srcs;		/* names of layout files, owned */
	size_t nr_srcs;
	struct s2trace_event config;	/* the layout's config line (kind S2T_CONFIG) */
	bool have_config;
	unsigned config_vcpus;	/* 0: the layout has no vcpus= */
	unsigned ipa_bits;
	uint64_t page;		/* the host page size: the config's granule */
	const char *config_src;
	unsigned long config_line;
	unsigned opt_vcpus;	/* 0: not given */
	char *layout_name;	/* for the header comment */
	unsigned layout_slots;	/* slots from the layout and --memslot */
	unsigned marker_vcpus;	/* s2emu-vcpus, 0: none */
	bool have_host;		/* an s2emu-host marker gave the features */
	unsigned host_feat;	/* FEAT_* */
	bool eager;		/* the eager_split_chunk marker */
	uint64_t eager_chunk;	/* ... its size (0: not given) */
	uint64_t cows;		/* unmaps inside write permission faults (OUT_COW) */
	unsigned invalidating;	/* inv_begin events not yet ended (decide) */
	bool vm_ends;		/* the system_event marker: the VM is destroyed at the end */
	bool gdl_begin;		/* get_dirty_log_begin seen: get_dirty_log is a note */
	uint64_t hw_young;	/* EV_YOUNG that only the hardware's access flag explains */
	uint64_t last_ts;	/* function_graph lines without a timestamp take it */

	/* The ftrace text. */
	char *name;
	struct fev *ev;
	size_t nr_ev, cap_ev;
	struct thr *thr;	/* open addressing on pid */
	size_t cap_thr, nr_thr;
	struct unused *unused;
	size_t nr_unused, cap_unused;

	struct s2trace_ftrace_stats stats;
};

static int fail(struct s2trace_ftrace *imp, int err, const char *name, unsigned long line,
		const char *fmt, ...)
{
	va_list ap;
	int n;

	/* No name: the caller's input (a memslot description it passed)
	 * has no file, and the caller says where it came from. */
	if (!name)
		n = 0;
	else if (line)
		n = snprintf(imp->err, sizeof(imp->err), "%s:%lu: ", name, line);
	else
		n = snprintf(imp->err, sizeof(imp->err), "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof(imp->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(imp->err + n, sizeof(imp->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

static int oom(struct s2trace_ftrace *imp, const char *name)
{
	return fail(imp, S2_ENOMEM, name ? name : "s2emu", 0, "out of memory");
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

int s2trace_ftrace_create(struct s2trace_ftrace **out)
{
	struct s2trace_ftrace *imp = calloc(1, sizeof(*imp));

	if (!imp)
		return S2_ENOMEM;
	imp->config.kind = S2T_CONFIG;
	s2hyp_config_init(&imp->config.config.cfg);
	imp->ipa_bits = imp->config.config.cfg.ipa_bits;
	imp->page = 1ull << imp->config.config.cfg.granule_shift;
	*out = imp;
	return 0;
}

void s2trace_ftrace_destroy(struct s2trace_ftrace *imp)
{
	if (!imp)
		return;
	for (size_t i = 0; i < imp->nr_srcs; i++)
		free(imp->srcs[i]);
	free(imp->srcs);
	free(imp->image);
	if (imp->cs_ok)
		cs_close(&imp->cs);
	free(imp->layout_name);
	free(imp->name);
	for (size_t i = 0; i < imp->nr_ev; i++)
		free(imp->ev[i].text);
	free(imp->ev);
	free(imp->thr);
	for (size_t i = 0; i < imp->nr_unused; i++)
		free(imp->unused[i].name);
	free(imp->unused);
	free(imp);
}

const char *s2trace_ftrace_error(const struct s2trace_ftrace *imp)
{
	return imp->err;
}

int s2trace_ftrace_set_vcpus(struct s2trace_ftrace *imp, unsigned n)
{
	if (n < 1 || n > S2TRACE_FTRACE_MAX_VCPUS)
		return fail(imp, S2_EINVAL, "vCPU count", 0, "%u is not from 1 to %u", n,
			    S2TRACE_FTRACE_MAX_VCPUS);
	imp->opt_vcpus = n;
	return 0;
}

void s2trace_ftrace_set_phases(struct s2trace_ftrace *imp, bool on)
{
	imp->phases = on;
}

const struct s2trace_ftrace_stats *s2trace_ftrace_stats(const struct s2trace_ftrace *imp)
{
	return &imp->stats;
}

size_t s2trace_ftrace_nr_unused(const struct s2trace_ftrace *imp)
{
	return imp->nr_unused;
}

const char *s2trace_ftrace_unused(const struct s2trace_ftrace *imp, size_t i, uint64_t *count)
{
	if (i >= imp->nr_unused)
		return NULL;
	if (count)
		*count = imp->unused[i].count;
	return imp->unused[i].name;
}

/* ------------------------------------------------------------------ */
/* Layout: config and memslot lines                                    */
/* ------------------------------------------------------------------ */

/* Markers' words (the layout's lines are the trace reader's). A number in trace syntax (common's s2_num, as the trace reader takes it:
 * decimal or 0x hexadecimal, optionally K, M or G). NULL on success, else
 * what is wrong. */
static const char *trace_number(const char *s, uint64_t *out)
{
	int ret = *s == '-' || *s == '+' ? S2_EPARSE : s2_parse_u64(s, S2_NUM_SIZE, out);
	return !ret ? NULL : ret == S2_ERANGE ? "is out of range" : "is not a number";
}

/* The words of a line, comment removed: a copy the caller frees, with
 * pointers into it. */
#define MAX_WORDS 32
struct words {
	char *buf;
	char *w[MAX_WORDS];
	unsigned n;
};

static int split_words(const char *line, char sep, struct words *ws)
{
	char *p;

	ws->n = 0;
	ws->buf = strdup(line);
	if (!ws->buf)
		return S2_ENOMEM;
	if ((p = strchr(ws->buf, '#')))
		*p = 0;
	p = ws->buf;
	for (;;) {
		while (*p == sep || is_blank(*p))
			*p++ = 0;
		if (!*p)
			return 0;
		if (ws->n == MAX_WORDS)
			return S2_E2BIG;
		ws->w[ws->n++] = p;
		while (*p && *p != sep && !is_blank(*p))
			p++;
	}
}

/* "key=value" with a known key: the value, or NULL. */
static const char *value_of(const char *word, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(word, key, n) && word[n] == '=' ? word + n + 1 : NULL;
}

static char *trim_line(char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || is_blank(line[n - 1])))
		line[--n] = 0;
	return line;
}

/* A line longer than this is not a trace line; refusing it bounds memory. */
#define MAX_LINE (1u << 20)

static int read_line(FILE *f, char **buf, size_t *cap, const char *name, unsigned long lineno,
		     struct s2trace_ftrace *imp, bool *eof)
{
	errno = 0;
	ssize_t n = getline(buf, cap, f);

	*eof = false;
	if (n < 0) {
		if (ferror(f))
			return fail(imp, S2_EIO, name, lineno, "read error: %s",
				    strerror(errno ? errno : EIO));
		*eof = true;
		return 0;
	}
	if ((size_t)n > MAX_LINE)
		return fail(imp, S2_EPARSE, name, lineno, "line longer than %u bytes", MAX_LINE);
	/* A NUL inside the line would hide the rest of it from every parser. */
	if (strlen(*buf) != (size_t)n)
		return fail(imp, S2_EPARSE, name, lineno, "NUL byte in the line");
	return 0;
}

static bool slots_overlap(const struct slot *a, uint64_t ipa, uint64_t size)
{
	return ipa < a->ipa + a->size && a->ipa < ipa + size;
}

/* A memslot the trace reader read (or a marker gave): what KVM would
 * refuse of it, against the slots before it. */
static int add_slot(struct s2trace_ftrace *imp, const struct s2hyp_memslot *m, const char *src,
		    unsigned long line)
{
	uint64_t ipa = m->ipa, size = m->size, hva = m->hva;

	if (imp->nr_slots == S2TRACE_FTRACE_MAX_SLOTS)
		return fail(imp, S2_EPARSE, src, line, "more than %u memslots",
			    S2TRACE_FTRACE_MAX_SLOTS);
	if (!size || ipa + size < ipa || hva + size < hva)
		return fail(imp, S2_EPARSE, src, line, "memslot size is zero or wraps around");
	/* KVM takes memslots in whole host pages; 4K is the smallest. */
	if ((ipa | size | hva) & 0xfff)
		return fail(imp, S2_EPARSE, src, line, "memslot ipa, size and hva must be 4K-aligned");
	for (unsigned i = 0; i < imp->nr_slots; i++)
		if (slots_overlap(&imp->slots[i], ipa, size))
			return fail(imp, S2_EPARSE, src, line, "memslot overlaps memslot %u", i);

	imp->slots[imp->nr_slots++] = (struct slot){
		.ipa = ipa, .size = size, .hva = hva, .readonly = m->readonly,
		.dirty_log = m->dirty_log, .backing = m->backing, .src = src, .line = line,
	};
	return 0;
}

/* The config line the trace reader read from a layout. */
static int add_config(struct s2trace_ftrace *imp, const struct s2trace_event *ev, const char *src)
{
	const struct s2hyp_config *c = &ev->config.cfg;

	if (imp->have_config)
		return fail(imp, S2_EPARSE, src, ev->line, "a second config line (%s:%lu has one)",
			    imp->config_src, imp->config_line);
	imp->config = *ev;
	imp->have_config = true;
	imp->page = 1ull << c->granule_shift;
	imp->ipa_bits = c->ipa_bits;
	imp->config_vcpus = ev->config.given & S2T_CFG_VCPUS ? c->nr_vcpus : 0;
	imp->config_src = src;
	imp->config_line = ev->line;
	return 0;
}

/* The lines of a layout, read by the trace reader from f (named name, ""
 * for text the caller passed), memslots numbered on from the ones before. */
static int read_layout(struct s2trace_ftrace *imp, FILE *f, const char *name, const char *src)
{
	struct s2trace_reader *r = s2trace_reader_new(f, name);
	struct s2trace_event ev;
	int ret;

	if (!r)
		return oom(imp, src);
	s2trace_reader_layout(r, imp->nr_slots);
	while ((ret = s2trace_next(r, &ev)) > 0) {
		if (ev.kind == S2T_CONFIG)
			ret = add_config(imp, &ev, src);
		else
			ret = add_slot(imp, &ev.memslot.slot, src, ev.line);
		if (ret)
			break;
	}
	if (ret < 0 && !imp->err[0])
		fail(imp, ret, NULL, 0, "%s", s2trace_error(r));
	s2trace_close(r);
	return ret < 0 ? ret : 0;
}

int s2trace_ftrace_read_layout(struct s2trace_ftrace *imp, FILE *f, const char *name)
{
	char *src, **srcs;

	imp->err[0] = 0;
	srcs = realloc(imp->srcs, (imp->nr_srcs + 1) * sizeof(*srcs));
	if (!srcs)
		return oom(imp, name);
	imp->srcs = srcs;
	if (!(src = strdup(name)))
		return oom(imp, name);
	imp->srcs[imp->nr_srcs++] = src;
	if (!imp->layout_name && !(imp->layout_name = strdup(name)))
		return oom(imp, name);
	return read_layout(imp, f, src, src);
}

int s2trace_ftrace_add_memslot(struct s2trace_ftrace *imp, const char *spec)
{
	size_t len = strlen(spec);
	char *text;
	int ret;

	imp->err[0] = 0;
	if (strchr(spec, '#') || strchr(spec, '\n'))
		return fail(imp, S2_EINVAL, NULL, 0, "'%s' is not key=value,...", spec);
	/* The memslot line it stands for: its words, the next number first. */
	if (!(text = malloc(len + 32)))
		return oom(imp, NULL);
	int n = snprintf(text, len + 32, "memslot %u ", imp->nr_slots);
	for (size_t i = 0; i <= len; i++)
		text[(size_t)n + i] = spec[i] == ',' ? ' ' : spec[i];
	FILE *f = fmemopen(text, strlen(text), "r");
	if (!f) {
		free(text);
		return oom(imp, NULL);
	}
	ret = read_layout(imp, f, "", NULL);
	fclose(f);
	free(text);
	if (ret)
		/* The message says what is wrong; add what was given. */
		snprintf(imp->err + strlen(imp->err), sizeof(imp->err) - strlen(imp->err),
			 " (in '%s')", spec);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static int ev_fail(struct s2trace_ftrace *imp, unsigned long line, const char *event,
		   const char *want)
{
	return fail(imp, S2_EPARSE, imp->name, line, "malformed %s: expected '%s'", event, want);
}

static int dec_guest_fault(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	struct scan s = { p, true };
	struct s2arm_fault d;

	sc_lit(&s, "ipa ");
	e->a = sc_hex(&s);
	sc_lit(&s, ", hsr ");
	e->b = sc_hex(&s);
	sc_lit(&s, ", hxfar ");
	e->c = sc_hex(&s);
	sc_lit(&s, ", pc ");
	e->d = sc_hex(&s);
	sc_end(&s);
	if (!s.ok)
		return ev_fail(imp, e->line, "kvm_guest_fault",
			       "ipa 0x.., hsr 0x.., hxfar 0x.., pc 0x..");
	if (s2arm_esr_decode(e->b, &d))
		return fail(imp, S2_EPARSE, imp->name, e->line,
			    "kvm_guest_fault: hsr %#" PRIx64 " is not an abort (EC %#x)", e->b,
			    (unsigned)s2_field_get(e->b, 31, 26));
	return 0;
}

static int dec_access_fault(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	struct scan s = { p, true };

	sc_lit(&s, "IPA: ");
	e->a = sc_hex(&s);
	sc_end(&s);
	return s.ok ? 0 : ev_fail(imp, e->line, "kvm_access_fault", "IPA: ..");
}

static int dec_range(struct s2trace_ftrace *imp, const char *p, struct fev *e, const char *event,
		     const char *lead)
{
	struct scan s = { p, true };

	sc_lit(&s, lead);
	e->a = sc_hex(&s);
	sc_lit(&s, " -- ");
	e->b = sc_hex(&s);
	sc_end(&s);
	if (!s.ok) {
		char want[96];
		snprintf(want, sizeof(want), "%s0x.. -- 0x..", lead);
		return ev_fail(imp, e->line, event, want);
	}
	if (e->b <= e->a)
		return fail(imp, S2_EPARSE, imp->name, e->line,
			    "%s: end %#" PRIx64 " is not above start %#" PRIx64, event, e->b, e->a);
	return 0;
}

static int dec_unmap_range(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_range(imp, p, e, "kvm_unmap_hva_range", "mmu notifier unmap range: ");
}

static int dec_age_range(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_range(imp, p, e, "kvm_age_hva", "mmu notifier age hva: ");
}

static int dec_one_hva(struct s2trace_ftrace *imp, const char *p, struct fev *e, const char *event,
		       const char *lead)
{
	struct scan s = { p, true };

	sc_lit(&s, lead);
	e->a = sc_hex(&s);
	sc_end(&s);
	if (!s.ok) {
		char want[96];
		snprintf(want, sizeof(want), "%s0x..", lead);
		return ev_fail(imp, e->line, event, want);
	}
	return 0;
}

static int dec_test_age(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_one_hva(imp, p, e, "kvm_test_age_hva", "mmu notifier test age hva: ");
}

static int dec_set_spte(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_one_hva(imp, p, e, "kvm_set_spte_hva", "mmu notifier set pte hva: ");
}

static int dec_unmap_hva(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_one_hva(imp, p, e, "kvm_unmap_hva", "mmu notifier unmap hva: ");
}

static int dec_mmio(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	static const char *const types[] = { "unsatisfied-read", "read", "write", NULL };
	struct scan s = { p, true };

	sc_lit(&s, "mmio ");
	e->sub = (uint8_t)sc_word(&s, types);
	sc_lit(&s, " len ");
	e->b = sc_dec(&s);
	sc_lit(&s, " gpa ");
	e->a = sc_hex(&s);
	sc_lit(&s, " val ");
	e->c = sc_hex(&s);
	sc_end(&s);
	if (!s.ok)
		return ev_fail(imp, e->line, "kvm_mmio",
			       "mmio read|write|unsatisfied-read len N gpa 0x.. val 0x..");
	return 0;
}

static int dec_toggle_cache(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	static const char *const onoff[] = { "off", "on", NULL };
	struct scan s = { p, true };
	unsigned was, now;

	sc_lit(&s, "VM op at ");
	e->a = sc_hex(&s);
	sc_lit(&s, " (cache was ");
	was = sc_word(&s, onoff);
	sc_lit(&s, ", now ");
	now = sc_word(&s, onoff);
	sc_lit(&s, ")");
	sc_end(&s);
	if (!s.ok)
		return ev_fail(imp, e->line, "kvm_toggle_cache",
			       "VM op at 0x.. (cache was on|off, now on|off)");
	e->sub = (uint8_t)(was | now << 1);
	return 0;
}

static int dec_set_way_flush(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	static const char *const onoff[] = { "off", "on", NULL };
	struct scan s = { p, true };

	sc_lit(&s, "S/W flush at ");
	e->a = sc_hex(&s);
	sc_lit(&s, " (cache ");
	e->sub = (uint8_t)sc_word(&s, onoff);
	sc_lit(&s, ")");
	sc_end(&s);
	return s.ok ? 0 : ev_fail(imp, e->line, "kvm_set_way_flush", "S/W flush at 0x.. (cache on|off)");
}

static int dec_entry(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	struct scan s = { p, true };

	sc_lit(&s, "PC: ");
	e->a = sc_hex(&s);
	sc_end(&s);
	return s.ok ? 0 : ev_fail(imp, e->line, "kvm_entry", "PC: 0x..");
}

/* Only the vCPU matters here, so any kernel's layout of the reason is
 * accepted as long as the line ends with the PC, as all of them do. */
static int dec_exit(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	const char *pc = NULL;

	for (const char *q = strstr(p, "PC: "); q; q = strstr(q + 1, "PC: "))
		pc = q;
	if (pc) {
		struct scan s = { pc + 4, true };
		e->a = sc_hex(&s);
		sc_end(&s);
		if (s.ok && strstr(p, "HSR_EC: "))
			return 0;
	}
	return ev_fail(imp, e->line, "kvm_exit", "REASON: HSR_EC: 0x.. (CLASS), PC: 0x..");
}

/* The capture kit's kprobes (its init: s2emu/inv_begin, s2emu/inv_end):
 * "(kvm_mmu_invalidate_begin+0x0/0x98)". KVM raises and lowers
 * mmu_invalidate_in_progress there, under the MMU lock, for a notifier range
 * that hits a memslot. */
static int dec_kprobe(struct s2trace_ftrace *imp, const char *p, struct fev *e, const char *event,
		      const char *fn)
{
	size_t n = strlen(fn);
	if (p[0] == '(' && !strncmp(p + 1, fn, n) && (p[1 + n] == '+' || p[1 + n] == ')'))
		return 0;
	char want[80];
	snprintf(want, sizeof(want), "(%s+0x../0x..)", fn);
	return ev_fail(imp, e->line, event, want);
}

static int dec_inv_begin(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_kprobe(imp, p, e, "inv_begin", "kvm_mmu_invalidate_begin");
}

static int dec_inv_end(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_kprobe(imp, p, e, "inv_end", "kvm_mmu_invalidate_end");
}

/* KVM_GET_DIRTY_LOG write-protects each 64-page word of the bitmap with
 * dirty pages, under the MMU lock held for writing. */
static int dec_dirty_wp(struct s2trace_ftrace *imp, const char *p, struct fev *e)
{
	return dec_kprobe(imp, p, e, "dirty_wp", "kvm_arch_mmu_enable_log_dirty_pt_masked");
}

typedef int (*decoder_fn)(struct s2trace_ftrace *imp, const char *payload, struct fev *e);

/*
 * The events the importer uses: name, kind, decoder, and whether only a vCPU
 * thread emits it (such an event makes its thread a vCPU).
 */
#define FTRACE_EVENTS(X) \
	X("kvm_guest_fault",	 EV_GUEST_FAULT,   dec_guest_fault,   true)  \
	X("kvm_access_fault",	 EV_ACCESS_FAULT,  dec_access_fault,  true)  \
	X("kvm_unmap_hva_range", EV_UNMAP_RANGE,   dec_unmap_range,   false) \
	X("kvm_set_spte_hva",	 EV_UNMAP_PAGE,	   dec_set_spte,      false) \
	X("kvm_unmap_hva",	 EV_UNMAP_PAGE,	   dec_unmap_hva,     false) \
	X("kvm_age_hva",	 EV_AGE_RANGE,	   dec_age_range,     false) \
	X("kvm_test_age_hva",	 EV_TEST_AGE,	   dec_test_age,      false) \
	X("kvm_mmio",		 EV_MMIO,	   dec_mmio,	      true)  \
	X("kvm_toggle_cache",	 EV_TOGGLE_CACHE,  dec_toggle_cache,  true)  \
	X("kvm_set_way_flush",	 EV_SET_WAY_FLUSH, dec_set_way_flush, true)  \
	X("kvm_entry",		 EV_ENTRY,	   dec_entry,	      true)  \
	X("kvm_exit",		 EV_EXIT,	   dec_exit,	      true)  \
	X("inv_begin",		 EV_INV_BEGIN,	   dec_inv_begin,     false) \
	X("inv_end",		 EV_INV_END,	   dec_inv_end,	      false) \
	X("dirty_wp",		 EV_DIRTY_WP,	   dec_dirty_wp,      false)

static const struct known_event {
	const char *name;
	enum ev_kind kind;
	decoder_fn decode;
	bool vcpu_only;
} known_events[] = {
#define KNOWN_EVENT(name, kind, fn, vcpu) { name, kind, fn, vcpu },
	FTRACE_EVENTS(KNOWN_EVENT)
#undef KNOWN_EVENT
};

static const struct known_event *find_known(const char *name, size_t n)
{
	for (size_t i = 0; i < S2_ARRAY_SIZE(known_events); i++)
		if (span_is(name, n, known_events[i].name))
			return &known_events[i];
	return NULL;
}

/* A line that is not an event but names a known kvm event as "name:" is a
 * damaged event line, not a header: refuse it rather than lose it. */
static const char *damaged_event(const char *line)
{
	for (size_t i = 0; i < S2_ARRAY_SIZE(known_events); i++) {
		size_t n = strlen(known_events[i].name);
		for (const char *q = strstr(line, known_events[i].name); q;
		     q = strstr(q + 1, known_events[i].name))
			if ((q == line || !is_ident(q[-1])) && q[n] == ':')
				return known_events[i].name;
	}
	return NULL;
}

/* The ring buffer overran here: "CPU:N [LOST N EVENTS]" (the kernel's trace
 * file) or "CPU:N [N EVENTS DROPPED]" (trace-cmd report). */
static bool lost_events(const char *line)
{
	const char *p = strstr(line, "CPU:");
	return p && (strstr(p, " [LOST ") || strstr(p, " EVENTS DROPPED]"));
}

/* The known event whose name starts with the n bytes at name (a line cut
 * inside its event name), or NULL. */
static const char *cut_event_name(const char *name, size_t n)
{
	for (size_t i = 0; n && i < S2_ARRAY_SIZE(known_events); i++)
		if (strlen(known_events[i].name) >= n && !strncmp(known_events[i].name, name, n))
			return known_events[i].name;
	return NULL;
}

static struct thr *find_thread(struct s2trace_ftrace *imp, long pid)
{
	size_t h;

	if (!imp->cap_thr)
		return NULL;
	h = (size_t)pid & (imp->cap_thr - 1);
	while (imp->thr[h].pid >= 0 && imp->thr[h].pid != pid)
		h = (h + 1) & (imp->cap_thr - 1);
	return &imp->thr[h];
}

/* The thread of pid, added if new; NULL only when out of memory. */
static struct thr *thread_of(struct s2trace_ftrace *imp, long pid)
{
	struct thr *t = find_thread(imp, pid);

	if (t && t->pid == pid)
		return t;
	if ((imp->nr_thr + 1) * 2 > imp->cap_thr) {
		size_t cap = imp->cap_thr ? imp->cap_thr * 2 : 64;
		struct thr *old = imp->thr;
		size_t old_cap = imp->cap_thr;

		if (!(imp->thr = calloc(cap, sizeof(*imp->thr)))) {
			imp->thr = old;
			return NULL;
		}
		imp->cap_thr = cap;
		for (size_t i = 0; i < cap; i++)
			imp->thr[i].pid = -1;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].pid >= 0)
				*find_thread(imp, old[i].pid) = old[i];
		free(old);
		t = find_thread(imp, pid);
	}
	*t = (struct thr){ .pid = pid, .named = -1, .number = -1 };
	imp->nr_thr++;
	return t;
}

/* QEMU names its vCPU threads "CPU N/KVM": N, -1 for any other name, -2
 * for that name with a number no vCPU can have. */
static int vcpu_name(const char *comm, size_t n)
{
	static const char pre[] = "CPU ", post[] = "/KVM";
	size_t i = strlen(pre);
	int v = 0;

	if (n <= strlen(pre) + strlen(post) || strncmp(comm, pre, strlen(pre)) ||
	    strncmp(comm + n - strlen(post), post, strlen(post)))
		return -1;
	bool huge = false;
	for (; i < n - strlen(post); i++) {
		if (!is_digit(comm[i]))
			return -1;
		if (v > 100000)
			huge = true;
		else
			v = v * 10 + (comm[i] - '0');
	}
	return huge ? -2 : v;
}

static int count_unused(struct s2trace_ftrace *imp, const char *name, size_t n)
{
	imp->stats.unused++;
	for (size_t i = 0; i < imp->nr_unused; i++)
		if (span_is(name, n, imp->unused[i].name)) {
			imp->unused[i].count++;
			return 0;
		}
	if (imp->nr_unused == imp->cap_unused) {
		size_t cap = imp->cap_unused ? imp->cap_unused * 2 : 16;
		struct unused *u = realloc(imp->unused, cap * sizeof(*u));
		if (!u)
			return oom(imp, imp->name);
		imp->unused = u;
		imp->cap_unused = cap;
	}
	if (!(imp->unused[imp->nr_unused].name = dup_n(name, n)))
		return oom(imp, imp->name);
	imp->unused[imp->nr_unused++].count = 1;
	return 0;
}

static struct fev *new_event(struct s2trace_ftrace *imp)
{
	if (imp->nr_ev == imp->cap_ev) {
		size_t cap = imp->cap_ev ? imp->cap_ev * 2 : 256;
		struct fev *e = realloc(imp->ev, cap * sizeof(*e));
		if (!e)
			return NULL;
		imp->ev = e;
		imp->cap_ev = cap;
	}
	struct fev *e = &imp->ev[imp->nr_ev];
	memset(e, 0, sizeof(*e));
	return e;
}

/* The backings the capture kit's VMM names, and what a memslot line says. */
static const char *const kit_backings[] = { "4k", "thp", "hugetlb", NULL };
static const char *const kit_backing_words[] = { "4k", "thp", "hugetlb-2m" };

static int kit_fail(struct s2trace_ftrace *imp, const struct fev *e, const char *what)
{
	return fail(imp, S2_EPARSE, imp->name, e->line, "marker: %s", what);
}

/* "key=NUMBER" among ws: the number, or an error naming the marker. */
static int kit_num(struct s2trace_ftrace *imp, const struct fev *e, const struct words *ws,
		   const char *key, bool need, uint64_t *out)
{
	for (unsigned i = 1; i < ws->n; i++) {
		const char *v = value_of(ws->w[i], key);
		if (!v)
			continue;
		if (trace_number(v, out)) {
			char msg[96];
			snprintf(msg, sizeof(msg), "%s '%s' is not a number", key, v);
			return kit_fail(imp, e, msg);
		}
		return 0;
	}
	if (need) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s needs %s=", ws->w[0], key);
		return kit_fail(imp, e, msg);
	}
	return S2_ENOENT;
}

static const char *kit_word(const struct words *ws, const char *key)
{
	for (unsigned i = 1; i < ws->n; i++) {
		const char *v = value_of(ws->w[i], key);
		if (v)
			return v;
	}
	return NULL;
}

static int kit_memslot(struct s2trace_ftrace *imp, const struct words *ws, struct fev *e)
{
	static const char *const flags[] = { "none", "dirty", "ro", NULL };
	const char *f = kit_word(ws, "flags"), *b = kit_word(ws, "backing");
	int ret;

	if ((ret = kit_num(imp, e, ws, "slot", true, &e->a)) ||
	    (ret = kit_num(imp, e, ws, "gpa", true, &e->b)) ||
	    (ret = kit_num(imp, e, ws, "size", true, &e->c)) ||
	    (ret = kit_num(imp, e, ws, "hva", true, &e->d)))
		return ret;
	struct scan sf = { f ? f : "", true }, sb = { b ? b : "", true };
	e->mflags = (uint8_t)sc_word(&sf, flags);
	e->mbacking = (uint8_t)sc_word(&sb, kit_backings);
	if (!f || !sf.ok || *sf.p)
		return kit_fail(imp, e, "s2emu-memslot needs flags=none|dirty|ro");
	if (!b || !sb.ok || *sb.p)
		return kit_fail(imp, e, "s2emu-memslot needs backing=4k|thp|hugetlb");
	if (e->a >= S2TRACE_FTRACE_MAX_SLOTS)
		return kit_fail(imp, e, "s2emu-memslot slot= is beyond the 32 memslots s2emu models");
	e->sub = CMD_MEMSLOT;
	return 0;
}

/* s2emu-phase name=...: the parts of the run, and the VMM's dirty-log reads.
 * The other names (doorbell, madvise, reclaim, ...) are notes: the kernel's
 * own events show what they did. */
static int kit_phase(struct s2trace_ftrace *imp, const struct words *ws, struct fev *e)
{
	const char *name = kit_word(ws, "name");
	uint64_t n = 0;
	int ret;

	if (!name)
		return kit_fail(imp, e, "s2emu-phase needs name=");
	if (!strcmp(name, "start")) {
		e->sub = CMD_SECTION;
		e->why = SEC_PASS;
		e->b = 1;
	} else if (!strcmp(name, "resume") || !strcmp(name, "pass_done")) {
		bool resume = name[0] == 'r';
		if ((ret = kit_num(imp, e, ws, resume ? "next_pass" : "pass", true, &n)))
			return ret;
		e->sub = CMD_SECTION;
		e->why = resume ? SEC_PASS : SEC_AFTER_PASS;
		e->b = n;
	} else if (!strcmp(name, "dirty_log_on") && kit_word(ws, "by")) {
		/* Linux guests: a VMM thread turns logging on while the guest runs. */
		e->sub = CMD_SECTION;
		e->why = SEC_DIRTY_LOGGING;
	} else if (!strcmp(name, "get_dirty_log") || !strcmp(name, "get_dirty_log_begin")) {
		/* KVM write-protects the logged pages in the ioctl, under the MMU
		 * lock, while a vCPU thread may keep faulting: a VMM that marks
		 * the ioctl's start (_begin) gives the better place; one that marks
		 * only its end, the end. */
		bool begin = name[13] == '_';
		if ((ret = kit_num(imp, e, ws, "slot", true, &e->a)))
			return ret;
		imp->gdl_begin |= begin;
		if (begin || !imp->gdl_begin)
			e->sub = CMD_GET_DIRTY_LOG;
	} else if (!strcmp(name, "eager_split_chunk")) {
		/* KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE: one split call per chunk */
		e->a = 0;
		if ((ret = kit_num(imp, e, ws, "size", false, &e->a)) && ret != S2_ENOENT)
			return ret;
		if (e->a && (e->a < 4096 || (e->a & (e->a - 1))))
			return kit_fail(imp, e, "eager_split_chunk size= must be a power of two of 4K or more");
		e->sub = CMD_EAGER;
	} else if (!strcmp(name, "system_event")) {
		/* The guest powered off: the VMM exits and KVM destroys the VM. */
		imp->vm_ends = true;
	}
	return 0;
}

static int kit_host(struct s2trace_ftrace *imp, const struct words *ws, struct fev *e)
{
	static const char *const keys[] = { "vhe", "fwb", "range-tlbi", "idc", "dic", "hw-dirty" };
	uint64_t v;
	int ret;

	e->a = 0;
	for (unsigned k = 0; k < S2_ARRAY_SIZE(keys); k++) {
		if ((ret = kit_num(imp, e, ws, keys[k], true, &v)))
			return ret;
		if (v > 1)
			return kit_fail(imp, e, "s2emu-host features are 0 or 1");
		e->a |= v << k;
	}
	/* lru-gen=0 (optional): the multi-gen LRU is off, and reclaim ages
	 * through the rmap's clear_flush_young, which flushes the VMID. */
	ret = kit_num(imp, e, ws, "lru-gen", false, &v);
	if (ret && ret != S2_ENOENT)
		return ret;
	if (!ret && v > 1)
		return kit_fail(imp, e, "s2emu-host lru-gen is 0 or 1");
	if (!ret && !v)
		e->a |= FEAT_NO_LRU_GEN;
	e->sub = CMD_HOST;
	return 0;
}

/*
 * The capture kit's VMM describes its run in markers (shared/capture):
 * s2emu-vcpus n=N; s2emu-memslot slot= gpa= size= hva= flags= backing=
 * before each KVM_SET_USER_MEMORY_REGION; s2emu-phase name=...; and its
 * init script's s2emu-host with the features the kernel detected.
 */
static int kit_marker(struct s2trace_ftrace *imp, const char *text, struct fev *e)
{
	struct words ws;
	int ret = split_words(text, ' ', &ws);

	if (ret == S2_ENOMEM) {
		free(ws.buf);
		return oom(imp, imp->name);
	}
	if (ret || !ws.n) {
		free(ws.buf);
		return kit_fail(imp, e, "an s2emu- marker of more than 32 words");
	}
	if (!strcmp(ws.w[0], "s2emu-vcpus")) {
		ret = kit_num(imp, e, &ws, "n", true, &e->a);
		if (!ret && (e->a < 1 || e->a > S2TRACE_FTRACE_MAX_VCPUS))
			ret = kit_fail(imp, e, "s2emu-vcpus n= is not from 1 to 16");
		e->sub = CMD_VCPUS;
	} else if (!strcmp(ws.w[0], "s2emu-memslot")) {
		ret = kit_memslot(imp, &ws, e);
	} else if (!strcmp(ws.w[0], "s2emu-phase")) {
		ret = kit_phase(imp, &ws, e);
	} else if (!strcmp(ws.w[0], "s2emu-host")) {
		ret = kit_host(imp, &ws, e);
	} else {
		ret = kit_fail(imp, e, "unknown s2emu- marker (s2emu-vcpus, s2emu-memslot, "
				       "s2emu-phase, s2emu-host)");
	}
	free(ws.buf);
	return ret;
}

/*
 * A marker "s2emu: host dirty-log-on slot=N" (or dirty-log-off,
 * get-dirty-log) becomes that host event: KVM has no tracepoint for these
 * ioctls, so a test harness that wants them replayed says so in the trace.
 */
static int marker_command(struct s2trace_ftrace *imp, const char *text, struct fev *e)
{
	static const char *const cmds[] = { "dirty-log-on", "dirty-log-off", "get-dirty-log", NULL };
	struct scan s = { text, true };
	unsigned c;

	if (!strncmp(text, "s2emu-", 6))
		return kit_marker(imp, text, e);
	if (strncmp(text, "s2emu:", 6))
		return 0;
	s.p = skip_blanks(text + 6);
	sc_lit(&s, "host ");
	c = sc_word(&s, cmds);
	sc_lit(&s, " slot=");
	e->a = sc_dec(&s);
	sc_end(&s);
	if (!s.ok)
		return fail(imp, S2_EPARSE, imp->name, e->line,
			    "marker: expected 's2emu: host dirty-log-on|dirty-log-off|get-dirty-log slot=N'");
	e->sub = (uint8_t)(CMD_DIRTY_LOG_ON + c);
	return 0;
}

static int add_marker(struct s2trace_ftrace *imp, const struct s2trace_ftrace_line *l,
		      const char *text, unsigned long lineno)
{
	struct fev *e = new_event(imp);

	if (!e || !(e->text = strdup(text)))
		return oom(imp, imp->name);
	e->kind = EV_MARKER;
	e->line = lineno;
	e->ts = l->ts_ns;
	e->seq = imp->nr_ev;
	e->pid = l->pid;
	imp->nr_ev++;
	return marker_command(imp, text, e);
}

/* The text of a marker, or NULL: raw trace prints "tracing_mark_write: TEXT";
 * trace-cmd prints the print event as "print: tracing_mark_write: TEXT" (or
 * the address of the function when it has no symbols). */
static const char *marker_text(const struct s2trace_ftrace_line *l)
{
	static const char mark[] = "tracing_mark_write";
	const char *p = l->payload;

	if (span_is(l->event, l->event_len, mark))
		return p;
	if (!span_is(l->event, l->event_len, "print"))
		return NULL;
	if (!strncmp(p, mark, strlen(mark)) && p[strlen(mark)] == ':')
		return skip_blanks(p + strlen(mark) + 1);
	struct scan s = { p, true };
	if (!strncmp(p, "0x", 2)) {
		sc_hex(&s);
		if (s.ok && *s.p == ':')
			return skip_blanks(s.p + 1);
	}
	return NULL;
}

/* What a line of the function_graph tracer is. */
enum fg_kind {
	FG_NOT,			/* not such a line */
	FG_SKIP,		/* a function's end, an interrupt arrow, a context switch */
	FG_CALL,		/* a function called: l->event is its name */
	FG_EVENT,		/* an event, nested as a comment: l->event, l->payload */
	FG_MARK,		/* a trace marker, nested as a comment: l->payload */
};

/*
 * A line of the function_graph tracer, with the options the capture kit
 * sets (funcgraph-abstime, funcgraph-proc, funcgraph-tail):
 *
 *   " 45.123456 |   1)  kvmrun-365    |               |  stage2_map_walker() {"
 *   " 45.123456 |   1)  kvmrun-365    |   1.234 us    |  } /\* stage2_map_walker *\/"
 *   " 45.123456 |   1)  kvmrun-365    |               |  /\* kvm_guest_fault: ipa .. *\/"
 *
 * The timestamp is optional (a line without takes the last one seen); the
 * task is needed to tell vCPUs apart. The line is edited in place.
 */
static enum fg_kind fgraph_line(struct s2trace_ftrace *imp, char *line, struct s2trace_ftrace_line *l)
{
	char *p = (char *)skip_blanks(line), *f[2];
	unsigned nf = 0, cpu = 0, nd = 0;
	uint64_t ts = imp->last_ts;
	const char *q = p;

	if (parse_timestamp(&q, &ts))
		return FG_NOT;	/* "N:" is an event line's timestamp, not this */
	q = p;
	if (is_digit(*q)) {
		/* "45.123456 |": the absolute time, without the colon. */
		const char *r = q;
		while (is_digit(*r) || *r == '.')
			r++;
		char tmp[40];
		if (r - q >= (long)sizeof(tmp) - 1)
			return FG_NOT;
		memcpy(tmp, q, (size_t)(r - q));
		tmp[r - q] = ':';
		tmp[r - q + 1] = 0;
		const char *t = tmp;
		r = skip_blanks(r);
		if (*r == '|' && parse_timestamp(&t, &ts))
			p = (char *)skip_blanks(r + 1);
	}
	/* The CPU: "1)". */
	for (q = p; is_digit(*q); q++)
		cpu = cpu * 10 + (unsigned)(*q - '0'), nd++;
	if (!nd || nd > 6 || *q != ')')
		return FG_NOT;
	p = (char *)q + 1;
	/* The rest: "task-pid | duration | body" or "duration | body"; a bar
	 * inside the body (event text) belongs to it. */
	for (char *c = p; *c && nf < 2; c++)
		if (*c == '|')
			f[nf++] = c;
	if (!nf)
		return FG_SKIP;		/* "1)  a-1 => b-2" */
	const char *comm = NULL;
	size_t comm_len = 0;
	long pid = -1;
	char *a = (char *)skip_blanks(p), *z = f[0];
	while (z > a && is_blank(z[-1]))
		z--;
	char *dash = z;
	while (dash > a && is_digit(dash[-1]))
		dash--;
	if (dash > a + 1 && dash < z && dash[-1] == '-' && z - dash <= 9) {
		const char *digits = dash;
		uint64_t v;
		if (!s2_scan_u64(&digits, S2_NUM_DEC, &v))
			pid = (long)v;	/* at most 9 digits */
		comm = a;
		comm_len = (size_t)(dash - 1 - a);
	}
	if (comm && nf < 2)
		return FG_SKIP;
	char *body = (char *)skip_blanks(f[comm ? 1 : 0] + 1);
	imp->last_ts = ts;
	*l = (struct s2trace_ftrace_line){ .comm = comm ? comm : "", .comm_len = comm_len,
					   .pid = pid, .cpu = cpu, .ts_ns = ts };
	size_t n = strlen(body);
	if (!strncmp(body, "/*", 2) && n >= 4 && !strcmp(body + n - 2, "*/")) {
		body[n - 2] = 0;
		char *in = (char *)skip_blanks(body + 2);
		for (size_t m = strlen(in); m && is_blank(in[m - 1]); m--)
			in[m - 1] = 0;
		const char *e = in;
		while (is_ident(*e))
			e++;
		/* "name: text" is an event; "s2emu: ..." and any other text are
		 * markers (function_graph drops "tracing_mark_write:"). */
		if (e > in && *e == ':' && (!e[1] || is_blank(e[1])) &&
		    (e - in != 5 || strncmp(in, "s2emu", 5))) {
			l->event = in;
			l->event_len = (size_t)(e - in);
			l->payload = skip_blanks(e + 1);
			return FG_EVENT;
		}
		l->event = "tracing_mark_write";
		l->event_len = strlen(l->event);
		l->payload = in;
		return FG_MARK;
	}
	const char *e = body;
	while (is_ident(*e) || *e == '.')
		e++;
	if (e > body && e[0] == '(' && e[1] == ')' && (e[2] == ';' || !strcmp(e + 2, " {"))) {
		l->event = body;
		l->event_len = (size_t)(e - body);
		l->payload = "";
		return FG_CALL;
	}
	return FG_SKIP;
}

/* The RCU callback that frees a table a map unlinked: where a function
 * trace shows it, the replay frees the table there too, not at the end. */
static const char rcu_free_fn[] = "kvm_pgtable_stage2_free_unlinked";

/* KVM 6.12's stage2_age_walker clears the access flag of a valid entry
 * that has it through stage2_try_set_pte, and calls nothing for an old
 * one: in a function trace, that call under it is a young entry. */
static const char age_walker_fn[] = "stage2_age_walker";
static const char set_pte_fn[] = "stage2_try_set_pte";

/* A young entry found by the ageing thread t is handling: one more on its
 * EV_YOUNG, made at the first, which sorts just before the ageing. */
static int add_young(struct s2trace_ftrace *imp, struct thr *t, unsigned long lineno)
{
	if (!t->young_ev) {
		struct fev *y = new_event(imp);
		if (!y)
			return oom(imp, imp->name);
		const struct fev *age = &imp->ev[t->age_ev - 1];
		*y = (struct fev){ .kind = EV_YOUNG, .name = "kvm_age_hva", .line = lineno,
				   .ts = age->ts, .seq = age->seq, .pid = age->pid,
				   .a = age->a, .b = age->b };
		t->young_ev = ++imp->nr_ev;
	}
	imp->ev[t->young_ev - 1].c++;
	return 0;
}

/* The calls kept as events: the RCU callback, and the map walker's break
 * and make, which tell whether a fault's handler lost its break. */
static const struct {
	const char *fn;
	enum ev_kind kind;
} kept_calls[] = {
	{ rcu_free_fn, EV_RCU_CALLBACK },
	{ "stage2_try_break_pte", EV_BREAK },
	{ "stage2_make_pte", EV_MAKE },
};

/* One call of a traced kernel function: counted by name, or kept as an
 * event (kept_calls), and so is an ageing's young entry (caller: the
 * function tracer's "<-caller"; NULL for function_graph, where the
 * thread's previous call is the caller when nothing came between). */
static int count_call(struct s2trace_ftrace *imp, const struct s2trace_ftrace_line *l,
		      unsigned long lineno, const char *fn, size_t n, const char *caller,
		      size_t caller_n)
{
	char name[160];

	if (l->pid < 0) {
		/* no task: refused by the caller */
	} else if (span_is(fn, n, age_walker_fn) || span_is(fn, n, set_pte_fn)) {
		struct thr *t = thread_of(imp, l->pid);
		if (!t)
			return oom(imp, imp->name);
		bool under = caller ? span_is(caller, caller_n, age_walker_fn) : t->in_age_walker;
		t->in_age_walker = span_is(fn, n, age_walker_fn);
		if (under && t->age_ev && span_is(fn, n, set_pte_fn))
			return add_young(imp, t, lineno);
	} else if (!caller) {
		struct thr *t = find_thread(imp, l->pid);
		if (t && t->pid == l->pid)
			t->in_age_walker = false;
	}

	for (size_t i = 0; i < S2_ARRAY_SIZE(kept_calls); i++) {
		if (!span_is(fn, n, kept_calls[i].fn))
			continue;
		/* A break or make without its task (function_graph without
		 * funcgraph-proc) belongs to no known fault: only counted. */
		if (l->pid < 0 && kept_calls[i].kind != EV_RCU_CALLBACK)
			break;
		struct fev *e = new_event(imp);
		/* Every event's thread is known to finish(), even in a trace
		 * of calls only. */
		if (!e || !thread_of(imp, l->pid))
			return oom(imp, imp->name);
		e->kind = (uint8_t)kept_calls[i].kind;
		e->line = lineno;
		e->ts = l->ts_ns;
		e->seq = imp->nr_ev;
		e->pid = l->pid;
		imp->nr_ev++;
		return 0;
	}

	if (n > sizeof(name) - 10)
		n = sizeof(name) - 10;
	memcpy(name, "function ", 9);
	memcpy(name + 9, fn, n);
	return count_unused(imp, name, n + 9);
}

static int read_event(struct s2trace_ftrace *imp, char *line, unsigned long lineno)
{
	struct s2trace_ftrace_line l;
	const struct known_event *k;
	const char *mark;
	struct thr *t;

	if (s2trace_ftrace_parse_line(line, &l)) {
		enum fg_kind fk = fgraph_line(imp, line, &l);
		if (fk == FG_SKIP)
			return 0;
		if (fk == FG_CALL) {
			imp->stats.events++;
			return count_call(imp, &l, lineno, l.event, l.event_len, NULL, 0);
		}
		if (fk == FG_NOT) {
			/* Events missing from the middle (an unmap, an
			 * invalidation's end) would replay as something else. */
			if (lost_events(line))
				return fail(imp, S2_EPARSE, imp->name, lineno,
					    "'%.60s': the capture lost events there; take it "
					    "again with a larger buffer (buffer_size_kb)", line);
			const char *name = damaged_event(line);
			if (name)
				return fail(imp, S2_EPARSE, imp->name, lineno,
					    "%s line without the 'task-pid [cpu] timestamp:' prefix",
					    name);
			return 0;
		}
		if (l.pid < 0) {
			imp->stats.events++;
			if (fk == FG_MARK)
				return fail(imp, S2_EPARSE, imp->name, lineno,
					    "function_graph line without its task: record with "
					    "options/funcgraph-proc");
			if (!find_known(l.event, l.event_len))
				return count_unused(imp, l.event, l.event_len);
			return fail(imp, S2_EPARSE, imp->name, lineno,
				    "function_graph line without its task: record with "
				    "options/funcgraph-proc");
		}
	} else if (span_is(l.event, l.event_len, "function")) {
		/* The function tracer: "func <-caller". */
		const char *e = l.payload;
		while (is_ident(*e) || *e == '.')
			e++;
		imp->stats.events++;
		if (e > l.payload && !strncmp(skip_blanks(e), "<-", 2)) {
			const char *c = skip_blanks(skip_blanks(e) + 2), *ce = c;
			while (is_ident(*ce) || *ce == '.')
				ce++;
			return count_call(imp, &l, lineno, l.payload, (size_t)(e - l.payload), c,
					  (size_t)(ce - c));
		}
		/* Not "func <-caller" but the start of a kvm event's name and
		 * nothing after it: the line was cut inside the event name. */
		const char *cut = !*skip_blanks(e) ? cut_event_name(l.payload,
								     (size_t)(e - l.payload)) : NULL;
		if (cut)
			return fail(imp, S2_EPARSE, imp->name, lineno,
				    "the line ends inside an event name ('%.*s' of %s?): cut short",
				    (int)(e - l.payload), l.payload, cut);
		return count_unused(imp, "function", strlen("function"));
	}
	imp->stats.events++;
	if (!(t = thread_of(imp, l.pid)))
		return oom(imp, imp->name);
	int named = vcpu_name(l.comm, l.comm_len);
	if (named == -2)
		return fail(imp, S2_EPARSE, imp->name, lineno,
			    "thread '%.*s': no vCPU has that number", (int)l.comm_len, l.comm);
	if (named >= 0) {
		if (t->named >= 0 && t->named != named)
			return fail(imp, S2_EPARSE, imp->name, lineno,
				    "thread %ld is CPU %d/KVM here and CPU %d/KVM at line %lu",
				    l.pid, named, t->named, t->named_line);
		if (t->named < 0) {
			t->named = named;
			t->named_line = lineno;
		}
	}

	if ((mark = marker_text(&l)))
		return add_marker(imp, &l, mark, lineno);
	if (!(k = find_known(l.event, l.event_len)))
		return count_unused(imp, l.event, l.event_len);

	struct fev *e = new_event(imp);
	if (!e)
		return oom(imp, imp->name);
	e->kind = (uint8_t)k->kind;
	e->vcpu_only = k->vcpu_only;
	e->name = k->name;
	e->line = lineno;
	e->ts = l.ts_ns;
	e->seq = imp->nr_ev;
	e->pid = l.pid;
	int ret = k->decode(imp, l.payload, e);
	if (ret)
		return ret;
	imp->nr_ev++;
	if (k->vcpu_only)
		t->vcpu = true;
	/* The function trace of the ageing follows its event (add_young). */
	t->age_ev = e->kind == EV_AGE_RANGE ? imp->nr_ev : 0;
	t->young_ev = 0;
	return 0;
}

int s2trace_ftrace_read(struct s2trace_ftrace *imp, FILE *f, const char *name)
{
	char *buf = NULL;
	size_t cap = 0;
	int ret = 0;

	if (imp->read_done)
		return fail(imp, S2_EINVAL, name, 0, "an importer reads one ftrace text");
	imp->read_done = true;
	imp->layout_slots = imp->nr_slots;
	if (!(imp->name = strdup(name)))
		return oom(imp, name);
	for (;;) {
		bool eof;
		unsigned long lineno = (unsigned long)imp->stats.lines + 1;

		if ((ret = read_line(f, &buf, &cap, imp->name, lineno, imp, &eof)) || eof)
			break;
		imp->stats.lines++;
		size_t before = imp->nr_ev;
		bool cut = !strchr(buf, '\n');
		if ((ret = read_event(imp, trim_line(buf), lineno)))
			break;
		/* A capture ends every line; a last line without its newline was
		 * cut short, and a number at its end may have lost digits. */
		if (cut && imp->nr_ev > before) {
			ret = fail(imp, S2_EPARSE, imp->name, lineno,
				   "the last line has no newline: cut short (its values may be "
				   "incomplete)");
			break;
		}
	}
	free(buf);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Finishing: order, threads, decisions                                */
/* ------------------------------------------------------------------ */

static int by_time(const void *pa, const void *pb)
{
	const struct fev *a = pa, *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	/* An ageing's EV_YOUNG has its time and number: it goes first. */
	return (b->kind == EV_YOUNG) - (a->kind == EV_YOUNG);
}

/* vCPU numbers: "CPU N/KVM" gives N; other vCPU threads get the free numbers
 * in order of their first event. */
static int number_vcpus(struct s2trace_ftrace *imp)
{
	long owner[S2TRACE_FTRACE_MAX_VCPUS];

	for (unsigned i = 0; i < S2TRACE_FTRACE_MAX_VCPUS; i++)
		owner[i] = -1;
	for (size_t i = 0; i < imp->nr_ev; i++) {
		struct fev *e = &imp->ev[i];
		struct thr *t = find_thread(imp, e->pid);
		if (!t->vcpu || t->named < 0 || t->number >= 0)
			continue;
		if (t->named >= S2TRACE_FTRACE_MAX_VCPUS)
			return fail(imp, S2_EPARSE, imp->name, e->line,
				    "CPU %d/KVM: s2emu models at most %u vCPUs", t->named,
				    S2TRACE_FTRACE_MAX_VCPUS);
		if (owner[t->named] >= 0)
			return fail(imp, S2_EPARSE, imp->name, e->line,
				    "threads %ld and %ld are both CPU %d/KVM (a trace of two VMs?"
				    " keep one VMM's threads)", owner[t->named], e->pid, t->named);
		owner[t->named] = e->pid;
		t->number = t->named;
	}
	for (size_t i = 0; i < imp->nr_ev; i++) {
		struct fev *e = &imp->ev[i];
		struct thr *t = find_thread(imp, e->pid);
		if (!t->vcpu || t->number >= 0)
			continue;
		unsigned n = 0;
		while (n < S2TRACE_FTRACE_MAX_VCPUS && owner[n] >= 0)
			n++;
		if (n == S2TRACE_FTRACE_MAX_VCPUS)
			return fail(imp, S2_EPARSE, imp->name, e->line,
				    "thread %ld would be a vCPU beyond the %u s2emu models", e->pid,
				    S2TRACE_FTRACE_MAX_VCPUS);
		owner[n] = e->pid;
		t->number = (int)n;
	}
	return 0;
}

static const struct slot *slot_of_ipa(const struct s2trace_ftrace *imp, uint64_t ipa)
{
	for (unsigned i = 0; i < imp->nr_slots; i++)
		if (ipa >= imp->slots[i].ipa && ipa - imp->slots[i].ipa < imp->slots[i].size)
			return &imp->slots[i];
	return NULL;
}

static bool hva_in_guest(const struct s2trace_ftrace *imp, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < imp->nr_slots; i++)
		if (start < imp->slots[i].hva + imp->slots[i].size && imp->slots[i].hva < end)
			return true;
	return false;
}

/* The stage-2 fault address register gives 4K pages whatever the granule. */
#define FAULT_PAGE(ipa) ((ipa) >> 12)

struct vstate {
	bool af;		/* an access-flag fault whose kvm_access_fault may follow */
	uint64_t af_page;
	bool mmio;		/* an MMIO fault whose kvm_mmio may follow */
	uint64_t mmio_page;
	bool read;		/* an MMIO read whose completion may follow */
	uint64_t read_gpa;
	bool wperm;		/* a write permission fault is being handled */
	bool handling;		/* a fault line whose kvm_entry has not come */
};

static void decide_fault(struct s2trace_ftrace *imp, struct fev *e, struct vstate *v)
{
	struct s2arm_fault d;
	bool mmio;

	s2arm_esr_decode(e->b, &d);	/* checked when read */
	if (imp->nr_slots) {
		const struct slot *s = slot_of_ipa(imp, e->a);
		/* kvm_handle_guest_abort: no memslot, or a write to a read-only
		 * one, goes to io_mem_abort. */
		mmio = !s || (s->readonly && d.write);
		e->why = !s ? WHY_OUTSIDE : WHY_READONLY;
	} else {
		/* No layout: an MMIO fault is the one KVM follows with kvm_mmio. */
		const struct fev *n = e->next_same == SIZE_MAX ? NULL : &imp->ev[e->next_same];
		mmio = n && n->kind == EV_MMIO && n->sub != MMIO_READ &&
		       FAULT_PAGE(n->a) == FAULT_PAGE(e->a);
		e->why = WHY_FOLLOWED;
	}
	if (!mmio) {
		e->out = OUT_FAULT;
		v->wperm = d.type == S2ARM_FAULT_PERMISSION && d.write;
		v->af = d.type == S2ARM_FAULT_ACCESS_FLAG;
		v->af_page = FAULT_PAGE(e->a);
		return;
	}
	e->out = OUT_MMIO;
	/* KVM completes the page address with FAR's low 12 bits, as here. */
	e->out_addr = e->a | (d.fnv ? 0 : (e->c & 0xfff));
	e->sub = d.write;
	v->mmio = true;
	v->mmio_page = FAULT_PAGE(e->a);
}

static void decide_mmio(struct fev *e, struct vstate *v)
{
	if (e->sub == MMIO_READ) {
		/* The completion of a read: part of an access already written. */
		if (v->read && v->read_gpa == e->a) {
			v->read = false;
			e->out = OUT_NONE;
			return;
		}
	} else if (v->mmio && v->mmio_page == FAULT_PAGE(e->a)) {
		v->mmio = false;
		v->read = e->sub == MMIO_UNSAT_READ;
		v->read_gpa = e->a;
		e->out = OUT_NONE;
		return;
	}
	v->read = e->sub == MMIO_UNSAT_READ;
	v->read_gpa = e->a;
	e->out = OUT_MMIO;
	e->why = WHY_KVM_MMIO;
	e->out_addr = e->a;
	e->sub = e->sub == MMIO_WRITE;
}

/* A marker that becomes a host event line. */
static bool host_cmd(const struct fev *e)
{
	return e->kind == EV_MARKER && e->sub >= CMD_DIRTY_LOG_ON && e->sub <= CMD_GET_DIRTY_LOG;
}

static int need_slots(struct s2trace_ftrace *imp, const struct fev *e, const char *what)
{
	if (imp->nr_slots)
		return 0;
	return fail(imp, S2_EPARSE, imp->name, e->line,
		    "%s needs the memslots, and the trace has no s2emu-memslot marker:"
		    " a layout or memslots must be given to the importer", what);
}

/* The pages an ageing covers, by fault page (hva range [a, b) in a slot). */
static bool age_pages(const struct s2trace_ftrace *imp, const struct fev *e, uint64_t *first,
		      uint64_t *n)
{
	for (unsigned i = 0; i < imp->nr_slots; i++) {
		const struct slot *s = &imp->slots[i];
		if (e->a >= s->hva && e->b <= s->hva + s->size && e->b > e->a) {
			*first = FAULT_PAGE(s->ipa + (e->a - s->hva));
			*n = FAULT_PAGE(e->b - e->a + 0xfff);
			return true;
		}
	}
	return false;
}

/* Who set an access flag. KVM sets it when it maps or handles an
 * access-flag fault, each a fault line; an ageing clears it. An ageing
 * that found a page young with no fault line on it since the last ageing
 * found the flag set by the hardware (FEAT_HAFDBS, VTCR_EL2.HA, which KVM
 * sets): a guest access walked without a fault, which a trace of faults
 * never shows. It becomes a read by the vCPU that last faulted there, just
 * before the ageing, where the page was valid (the kernel's walker found it
 * so). pages: fault page + 1 -> vCPU + 1, | KVM_SET when a fault line came
 * since the last ageing. Only a one-page ageing tells which page. */
#define KVM_SET (1ull << 32)

static int decide_young(struct s2trace_ftrace *imp, struct s2_map *pages, struct fev *e)
{
	const struct s2hyp_config *c = &imp->config.config.cfg;
	uint64_t first, n, v = 0;

	e->out = OUT_NONE;
	if (!age_pages(imp, e, &first, &n) || n != 1)
		return 0;
	s2_map_get(pages, first + 1, &v);
	/* A layout that says the host has no hardware access flag wins. */
	if ((v & KVM_SET) || ((imp->config.config.given & S2T_CFG_HW_AF) && !c->hw_af))
		return 0;
	e->out = OUT_READ;
	e->out_addr = first << 12;
	e->thread = v ? (int)(uint32_t)v - 1 : 0;
	imp->hw_young++;
	return 0;
}

static int decide_events(struct s2trace_ftrace *imp, struct s2_map *pages)
{
	struct vstate vs[S2TRACE_FTRACE_MAX_VCPUS];
	int ret = 0;

	memset(vs, 0, sizeof(vs));
	/* With the kit's kprobe on the invalidation's end, an unmap in guest
	 * memory is its begin: KVM raises mmu_invalidate_in_progress in the same
	 * call as the kvm_unmap_hva_range tracepoint, for ranges that hit a
	 * memslot (as the end's does). A probe on the begin, where it fires
	 * (Debian's 6.12 inlines it), marks it instead. */
	bool inv_end = false, inv_begin = false;
	for (size_t i = 0; i < imp->nr_ev; i++) {
		inv_end |= imp->ev[i].kind == EV_INV_END;
		inv_begin |= imp->ev[i].kind == EV_INV_BEGIN;
	}
	for (size_t i = 0; i < imp->nr_ev; i++) {
		struct fev *e = &imp->ev[i];
		struct vstate *v = e->thread >= 0 ? &vs[e->thread] : NULL;

		switch ((enum ev_kind)e->kind) {
		case EV_GUEST_FAULT:
			v->af = v->mmio = false;
			decide_fault(imp, e, v);
			if (e->out == OUT_FAULT &&
			    !s2_map_put(pages, FAULT_PAGE(e->a) + 1, KVM_SET | (uint32_t)(e->thread + 1)))
				ret = oom(imp, imp->name);
			break;
		case EV_ACCESS_FAULT:
			if (v->af && v->af_page == FAULT_PAGE(e->a)) {
				e->out = OUT_NONE;
			} else {
				e->out = OUT_READ;
				e->out_addr = e->a;
			}
			v->af = false;
			if (!s2_map_put(pages, FAULT_PAGE(e->a) + 1, KVM_SET | (uint32_t)(e->thread + 1)))
				ret = oom(imp, imp->name);
			break;
		case EV_MMIO:
			decide_mmio(e, v);
			break;
		case EV_ENTRY:
			/* Back in the guest: whatever the exit did is over. In a
			 * trace with invalidations, the first entry after a fault
			 * line ends the span in which one makes KVM's handler of it
			 * give up (docs/trace-format.md). */
			e->out = v->handling && (inv_end || inv_begin) ? OUT_ENTRY : OUT_NONE;
			memset(v, 0, sizeof(*v));
			break;
		case EV_EXIT:
			e->out = OUT_NONE;
			break;
		case EV_UNMAP_RANGE:
		case EV_AGE_RANGE:
			if ((ret = need_slots(imp, e, e->kind == EV_UNMAP_RANGE ?
						"kvm_unmap_hva_range" : "kvm_age_hva")))
				return ret;
			e->out_addr = e->a;
			e->out = !hva_in_guest(imp, e->a, e->b) ? OUT_OUTSIDE :
				 e->kind == EV_UNMAP_RANGE ? OUT_UNMAP : OUT_AGE;
			/* In the vCPU's own write permission fault: its GUP broke COW
			 * (the zero page of never-written memory, a page shared since
			 * fork) and the notifier unmapped. host-mm does it itself. */
			if (e->out == OUT_UNMAP) {
				/* Notifier events are the host's; the thread may be a vCPU's. */
				const struct thr *t = find_thread(imp, e->pid);
				if (t && t->vcpu && t->number >= 0 &&
				    t->number < S2TRACE_FTRACE_MAX_VCPUS && vs[t->number].wperm) {
					e->out = OUT_COW;
					e->thread = t->number;
					imp->cows++;
				}
			}
			/* sub: this unmap begins an invalidation (see inv_end) */
			e->sub = (e->out == OUT_UNMAP || e->out == OUT_COW) && inv_end && !inv_begin;
			imp->invalidating += e->sub;
			/* An ageing leaves the flags clear: a later young one is new. */
			uint64_t first, n, val;
			if (e->kind == EV_AGE_RANGE && age_pages(imp, e, &first, &n))
				for (uint64_t p = first; p < first + n && !ret; p++)
					if (s2_map_get(pages, p + 1, &val) &&
					    !s2_map_put(pages, p + 1, val & ~KVM_SET))
						ret = oom(imp, imp->name);
			break;
		case EV_YOUNG:
			ret = decide_young(imp, pages, e);
			break;
		case EV_UNMAP_PAGE:
		case EV_TEST_AGE:
			if ((ret = need_slots(imp, e, e->kind == EV_TEST_AGE ? "kvm_test_age_hva" :
						"kvm_set_spte_hva")))
				return ret;
			/* One host page: KVM turns the address into the page's gfn. */
			e->out_addr = s2_align_down(e->a, imp->page);
			e->b = e->out_addr + imp->page;
			e->out = !hva_in_guest(imp, e->out_addr, e->b) ? OUT_OUTSIDE :
				 e->kind == EV_UNMAP_PAGE ? OUT_UNMAP : OUT_AGE;
			break;
		case EV_TOGGLE_CACHE:
			/* kvm_toggle_cache flushes the VM only when the state changes. */
			if ((e->sub & 1) == (e->sub >> 1)) {
				e->out = OUT_COMMENT;
				break;
			}
			if ((ret = need_slots(imp, e, "kvm_toggle_cache")))
				return ret;
			e->out = OUT_FLUSH;
			break;
		case EV_SET_WAY_FLUSH:
			if ((ret = need_slots(imp, e, "kvm_set_way_flush")))
				return ret;
			e->out = OUT_FLUSH;
			break;
		case EV_MARKER:
			if (host_cmd(e) && (ret = need_slots(imp, e, "a dirty-log marker")))
				return ret;
			if (host_cmd(e) && e->a >= imp->nr_slots)
				return fail(imp, S2_EPARSE, imp->name, e->line,
					    "marker names memslot %" PRIu64 "; the layout has %u",
					    e->a, imp->nr_slots);
			e->out = OUT_MARKER;
			break;
		case EV_RCU_CALLBACK:
			e->out = OUT_RCU;
			break;
		case EV_BREAK:
		case EV_MAKE:
			e->out = OUT_NONE;	/* see decide_breaks */
			break;
		case EV_INV_BEGIN:
			imp->invalidating++;
			e->out = OUT_INV;
			break;
		case EV_INV_END:
			/* A capture may start inside an invalidation. */
			e->out = imp->invalidating ? OUT_INV : OUT_INV_UNPAIRED;
			imp->invalidating -= imp->invalidating > 0;
			break;
		case EV_DIRTY_WP:
			e->out = e->sub ? OUT_GDL : OUT_NONE;	/* see place_dirty_wp */
			if (e->sub && e->a >= imp->nr_slots)
				return fail(imp, S2_EPARSE, imp->name, e->line,
					    "get_dirty_log names memslot %" PRIu64 "; the layout has %u",
					    e->a, imp->nr_slots);
			break;
		}
		if (ret)
			return ret;
		if (e->out == OUT_OUTSIDE)
			imp->stats.outside_guest++;
		/* A fault KVM handles (not the hardware's young page, EV_YOUNG) */
		if ((e->kind == EV_GUEST_FAULT || e->kind == EV_ACCESS_FAULT) &&
		    (e->out == OUT_FAULT || e->out == OUT_READ))
			v->handling = true;
	}
	return 0;
}

/*
 * A function trace shows what each fault's handler did to the entry: the
 * map walker's stage2_try_break_pte, and stage2_make_pte once the break
 * won. A break with no make after it in the same handler (the vCPU
 * thread's calls from its kvm_guest_fault to its next vCPU event) lost:
 * the entry held another walker's lock marker, or changed before the
 * exchange, and the walk gave up (-EAGAIN). Such a fault line says so
 * (lost-break), and replay lets its handler run while another holds the
 * entry. Breaks of other threads (the VMM's eager split) belong to no
 * fault.
 */
struct handler {
	size_t fault;		/* index + 1 of the fault being handled, 0 none */
	bool broke;		/* a break since its last make */
};

/* The handler of h's fault is over. */
static void handler_done(struct s2trace_ftrace *imp, struct handler *h)
{
	if (h->fault && h->broke)
		imp->ev[h->fault - 1].lost_break = true;
	h->fault = 0;
	h->broke = false;
}

static void decide_breaks(struct s2trace_ftrace *imp)
{
	struct handler h[S2TRACE_FTRACE_MAX_VCPUS];

	memset(h, 0, sizeof(h));
	for (size_t i = 0; i < imp->nr_ev; i++) {
		const struct fev *e = &imp->ev[i];
		if (e->vcpu_only && e->thread >= 0) {
			handler_done(imp, &h[e->thread]);
			h[e->thread].fault = e->out == OUT_FAULT ? i + 1 : 0;
			continue;
		}
		if (e->kind != EV_BREAK && e->kind != EV_MAKE)
			continue;
		const struct thr *t = find_thread(imp, e->pid);
		if (!t->vcpu || t->number < 0 || !h[t->number].fault)
			continue;
		struct handler *c = &h[t->number];
		if (e->kind == EV_BREAK && c->broke)	/* two breaks, no make between */
			imp->ev[c->fault - 1].lost_break = true;
		c->broke = e->kind == EV_BREAK;
	}
	for (unsigned v = 0; v < S2TRACE_FTRACE_MAX_VCPUS; v++)
		handler_done(imp, &h[v]);
}

static int decide(struct s2trace_ftrace *imp)
{
	struct s2_map pages = { 0 };
	int ret = decide_events(imp, &pages);

	s2_map_free(&pages);
	return ret;
}

/* The thread of the lines an event becomes: flushes, notifiers and marker
 * commands are the host's even when a vCPU thread ran them. */
static int out_thread(const struct fev *e)
{
	return e->out == OUT_FAULT || e->out == OUT_MMIO || e->out == OUT_READ ? e->thread
									   : HOST_THREAD;
}

static bool emits_event(const struct fev *e)
{
	return e->out == OUT_FAULT || e->out == OUT_MMIO || e->out == OUT_READ ||
	       e->out == OUT_UNMAP || e->out == OUT_AGE || e->out == OUT_FLUSH ||
	       e->out == OUT_RCU || e->out == OUT_INV || e->out == OUT_GDL ||
	       (e->out == OUT_MARKER && host_cmd(e));
}

/*
 * Phases: a new one starts when the thread changes to one that already has
 * an event in the current phase. Events of different threads that follow
 * one another in time may then run in either order (the races the emulator
 * explores), while an event never moves before one that preceded it with a
 * third thread's event in between.
 */
static void assign_phases(struct s2trace_ftrace *imp)
{
	unsigned phase = 0;
	uint32_t members = 0;	/* host is bit 0, vCPU n bit n + 1 */
	int last = -2;

	for (size_t i = 0; i < imp->nr_ev; i++) {
		struct fev *e = &imp->ev[i];
		if (!emits_event(e))
			continue;
		int t = out_thread(e);
		uint32_t bit = (uint32_t)1 << (t + 1);
		if (!phase || (t != last && (members & bit))) {
			e->phase = ++phase;
			members = 0;
		}
		members |= bit;
		last = t;
	}
	imp->stats.phases = phase;
}

static const char *fmt_size(char *buf, size_t n, uint64_t v);

/* A memslot from an s2emu-memslot marker, as if a layout had it. */
static int marker_slot(struct s2trace_ftrace *imp, const struct fev *e)
{
	int backing = s2trace_word_parse(S2T_W_BACKING, kit_backing_words[e->mbacking]);
	struct s2hyp_memslot m = {
		.ipa = e->b, .size = e->c, .hva = e->d,
		.backing = backing < 0 ? S2HYP_BACKING_4K : (enum s2hyp_backing)backing,
		.readonly = e->mflags == 2, .dirty_log = e->mflags == 1,
	};
	return add_slot(imp, &m, imp->name, e->line);
}

/*
 * The capture kit's markers, in time order: memslots (the first marker of a
 * slot makes it, unless the layout has it; a later one that turns dirty
 * logging on or off is that host event), vCPUs, features, eager splitting.
 */
static int apply_markers(struct s2trace_ftrace *imp);

/* With the capture kit's kprobe on kvm_arch_mmu_enable_log_dirty_pt_masked,
 * a get-dirty-log goes where KVM write-protected (its first call after the
 * VMM's marker, before the next one) rather than at the marker: the VMM's
 * thread marks the ioctl's start, and faults traced until KVM takes the MMU
 * lock were handled before the write-protect. The ioctl runs in the thread
 * that wrote the marker, so a marker pairs only with calls of its own pid,
 * in time order (events are sorted by timestamp): two VMM threads' ioctls
 * may interleave. A marker no call follows (no page was dirty) keeps it. */
static void place_dirty_wp(struct s2trace_ftrace *imp)
{
	bool any = false;
	for (size_t i = 0; i < imp->nr_ev && !any; i++)
		any = imp->ev[i].kind == EV_DIRTY_WP;
	for (size_t i = 0; any && i < imp->nr_ev; i++) {
		struct fev *m = &imp->ev[i];
		if (m->kind != EV_MARKER || m->sub != CMD_GET_DIRTY_LOG)
			continue;
		for (size_t j = i + 1; j < imp->nr_ev; j++) {
			struct fev *w = &imp->ev[j];
			if (w->pid != m->pid)
				continue;
			if (w->kind == EV_MARKER && w->sub == CMD_GET_DIRTY_LOG)
				break;
			if (w->kind == EV_DIRTY_WP && !w->sub) {
				w->sub = 1;
				w->a = m->a;
				m->sub = CMD_NONE;
				break;
			}
		}
	}
}

static int apply_markers(struct s2trace_ftrace *imp)
{
	bool dirty[S2TRACE_FTRACE_MAX_SLOTS] = { false };
	bool seen[S2TRACE_FTRACE_MAX_SLOTS] = { false };
	bool have_section = false;
	uint8_t last_why = 0;
	uint64_t last_n = 0;
	int ret;

	for (unsigned i = 0; i < imp->nr_slots; i++)
		dirty[i] = imp->slots[i].dirty_log;
	for (size_t i = 0; i < imp->nr_ev; i++) {
		struct fev *e = &imp->ev[i];
		if (e->kind != EV_MARKER)
			continue;
		switch (e->sub) {
		case CMD_VCPUS:
			if (imp->marker_vcpus && imp->marker_vcpus != e->a)
				return fail(imp, S2_EPARSE, imp->name, e->line,
					    "marker: s2emu-vcpus n=%" PRIu64 " after n=%u", e->a,
					    imp->marker_vcpus);
			imp->marker_vcpus = (unsigned)e->a;
			e->sub = CMD_NONE;
			break;
		case CMD_HOST:
			imp->have_host = true;
			imp->host_feat = (unsigned)e->a;
			e->sub = CMD_NONE;
			break;
		case CMD_EAGER:
			imp->eager = true;
			imp->eager_chunk = e->a;
			e->sub = CMD_NONE;
			break;
		case CMD_SECTION:
			/* "resume next_pass=1" after the read pass stays in pass 1. */
			if (have_section && e->why == last_why && e->b == last_n)
				e->sub = CMD_NONE;
			have_section = true;
			last_why = e->why;
			last_n = e->b;
			break;
		case CMD_MEMSLOT: {
			unsigned n = (unsigned)e->a;
			bool want = e->mflags == 1;
			if (!seen[n] && n >= imp->nr_slots) {
				if (imp->layout_slots)
					return fail(imp, S2_EPARSE, imp->name, e->line,
						    "marker: memslot %u is not in the layout, which has %u",
						    n, imp->layout_slots);
				if (n != imp->nr_slots)
					return fail(imp, S2_EPARSE, imp->name, e->line,
						    "marker: memslot %u before memslot %u", n,
						    imp->nr_slots);
				if ((ret = marker_slot(imp, e)))
					return ret;
				dirty[n] = want;
			}
			const struct slot *s = &imp->slots[n];
			if (s->ipa != e->b || s->size != e->c || s->hva != e->d)
				return fail(imp, S2_EPARSE, imp->name, e->line,
					    "marker: memslot %u moves (to ipa 0x%" PRIx64 " size 0x%" PRIx64
					    " hva 0x%" PRIx64 "); s2emu's memslots stay where they are",
					    n, e->b, e->c, e->d);
			seen[n] = true;
			e->sub = CMD_NONE;
			if (want != dirty[n])
				e->sub = want ? CMD_DIRTY_LOG_ON : CMD_DIRTY_LOG_OFF;
			dirty[n] = want;
			break;
		}
		default:
			break;
		}
	}
	return 0;
}

int s2trace_ftrace_finish(struct s2trace_ftrace *imp)
{
	int ret;
	int max_vcpu = -1;
	const struct fev *max_ev = NULL;

	if (imp->finished)
		return 0;
	if (!imp->read_done)
		return fail(imp, S2_EINVAL, "s2emu", 0, "no ftrace text read");
	if (imp->nr_ev)		/* qsort's array may not be NULL, even when empty */
		qsort(imp->ev, imp->nr_ev, sizeof(*imp->ev), by_time);
	if ((ret = apply_markers(imp)))
		return ret;
	place_dirty_wp(imp);
	for (unsigned i = 0; i < imp->nr_slots; i++) {
		const struct slot *s = &imp->slots[i];
		if (s->ipa + s->size - 1 > s2_genmask(imp->ipa_bits - 1, 0))
			return fail(imp, S2_EPARSE, s->src, s->line,
				    "memslot %u ends beyond the %u-bit IPA space", i, imp->ipa_bits);
		/* KVM takes a memslot in whole host pages (the config's granule):
		 * replay refuses the trace otherwise. */
		if ((s->ipa | s->size | s->hva) & (imp->page - 1))
			return fail(imp, S2_EPARSE, s->src, s->line,
				    "memslot %u: ipa, size and hva must be aligned to the %lluK granule",
				    i, (unsigned long long)(imp->page >> 10));
	}
	if ((ret = number_vcpus(imp)))
		return ret;
	for (size_t i = imp->nr_ev; i-- > 0;) {
		struct fev *e = &imp->ev[i];
		struct thr *t = find_thread(imp, e->pid);
		e->next_same = t->scan_next ? t->scan_next - 1 : SIZE_MAX;
		t->scan_next = i + 1;
		e->thread = e->vcpu_only ? t->number : HOST_THREAD;
	}
	for (size_t i = 0; i < imp->nr_ev; i++)
		if (imp->ev[i].thread > max_vcpu) {
			max_vcpu = imp->ev[i].thread;
			max_ev = &imp->ev[i];
		}

	unsigned vcpus = imp->opt_vcpus ? imp->opt_vcpus : imp->config_vcpus ? imp->config_vcpus :
			 imp->marker_vcpus;
	if (vcpus && max_vcpu >= (int)vcpus)
		return fail(imp, S2_EPARSE, imp->name, max_ev->line,
			    imp->opt_vcpus ? "vCPU %d is beyond the %u vCPU(s) given to the importer" :
			    imp->config_vcpus ? "vCPU %d is beyond the layout's vcpus=%u" :
			    "vCPU %d is beyond the s2emu-vcpus marker's n=%u",
			    max_vcpu, vcpus);
	imp->stats.vcpus = vcpus ? vcpus : (unsigned)(max_vcpu + 1 > 0 ? max_vcpu + 1 : 1);

	if ((ret = decide(imp)))
		return ret;
	decide_breaks(imp);
	if (imp->phases)
		assign_phases(imp);
	imp->stats.used = imp->stats.events - imp->stats.unused;
	for (size_t i = 0; i < imp->nr_ev; i++) {
		const struct fev *e = &imp->ev[i];
		imp->stats.vcpu_lines += e->out == OUT_FAULT || e->out == OUT_READ;
		imp->stats.mmio_lines += e->out == OUT_MMIO;
		imp->stats.host_lines += e->out == OUT_UNMAP || e->out == OUT_AGE ||
					 e->out == OUT_RCU || (e->out == OUT_INV && !imp->cows) ||
					 e->out == OUT_GDL ||
					 (e->out == OUT_MARKER && host_cmd(e));
		/* an unmap that begins an invalidation is two lines */
		imp->stats.host_lines += e->out == OUT_UNMAP && e->sub && !imp->cows;
		imp->stats.sections += e->out == OUT_MARKER && e->sub == CMD_SECTION;
		if (e->out == OUT_FLUSH)
			imp->stats.host_lines += imp->nr_slots;
		imp->stats.markers += e->out == OUT_MARKER;
	}
	imp->stats.host_lines += imp->vm_ends;
	imp->finished = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* Text inside a comment: a control character (a newline in a file name)
 * would end the comment and start a line the reader refuses. */
static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* A size as the trace format writes it: 2M rather than 0x200000. */
static const char *fmt_size(char *buf, size_t n, uint64_t v)
{
	if (v && !(v & ((1ull << 30) - 1)))
		snprintf(buf, n, "%" PRIu64 "G", v >> 30);
	else if (v && !(v & ((1ull << 20) - 1)))
		snprintf(buf, n, "%" PRIu64 "M", v >> 20);
	else if (v && !(v & ((1ull << 10) - 1)))
		snprintf(buf, n, "%" PRIu64 "K", v >> 10);
	else
		snprintf(buf, n, "0x%" PRIx64, v);
	return buf;
}

/* "; pc: ldr x3, [x1], #8" when the image holds the faulting PC. */
static void write_insn(FILE *f, const struct s2trace_ftrace *imp, uint64_t pc)
{
	cs_insn *insn;

	if (!imp->cs_ok || pc < imp->image_va || pc & 3 || pc - imp->image_va + 4 > imp->image_len)
		return;
	if (cs_disasm(imp->cs, imp->image + (pc - imp->image_va), 4, pc, 1, &insn) != 1) {
		fprintf(f, "; pc: .inst 0x%08x", (unsigned)(imp->image[pc - imp->image_va] |
			imp->image[pc - imp->image_va + 1] << 8 |
			imp->image[pc - imp->image_va + 2] << 16 |
			(unsigned)imp->image[pc - imp->image_va + 3] << 24));
		return;
	}
	fprintf(f, "; pc: %s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "", insn->op_str);
	cs_free(insn, 1);
}

int s2trace_ftrace_set_image(struct s2trace_ftrace *imp, const uint8_t *img, size_t len,
			     uint64_t va)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return S2_ENOMEM;
	memcpy(copy, img, len);
	free(imp->image);
	imp->image = copy;
	imp->image_len = len;
	imp->image_va = va;
	if (!imp->cs_ok)
		imp->cs_ok = cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &imp->cs) == CS_ERR_OK;
	if (!imp->cs_ok) {
		snprintf(imp->err, sizeof(imp->err), "the disassembler (Capstone) cannot start");
		return S2_EINVAL;
	}
	return 0;
}

static void write_fault(FILE *f, const struct s2trace_ftrace *imp, const struct fev *e)
{
	struct s2arm_fault d;

	struct s2trace_event ev = { .kind = S2T_VCPU };
	s2arm_esr_decode(e->b, &d);
	ev.vcpu.vcpu = (unsigned)e->thread;
	ev.vcpu.fault = true;
	ev.vcpu.op.ipa = e->a;
	ev.vcpu.esr = e->b;
	ev.vcpu.pc = e->d;
	ev.vcpu.op.lost_break = e->lost_break;
	s2trace_print_event(f, &ev);
	fprintf(f, "  # %s%s %s", d.insn ? "exec" : d.write ? "write" : "read",
		d.s1ptw ? " (stage-1 walk)" : "", s2arm_fault_name(d.type));
	if (d.has_level)
		fprintf(f, " level %d", d.level);
	write_insn(f, imp, e->d);
	fprintf(f, "\n");
}

static void write_mmio(FILE *f, const struct fev *e)
{
	static const char *const why[] = {
		[WHY_OUTSIDE] = "kvm_guest_fault outside every memslot",
		[WHY_READONLY] = "kvm_guest_fault: a write to a read-only memslot",
		[WHY_KVM_MMIO] = "kvm_mmio",
		[WHY_FOLLOWED] = "kvm_guest_fault followed by kvm_mmio",
	};
	const char *note = "";

	if (e->kind == EV_GUEST_FAULT) {
		struct s2arm_fault d;
		s2arm_esr_decode(e->b, &d);
		if (d.insn || d.s1ptw)
			note = " (KVM injects an abort: no MMIO emulation)";
	}
	struct s2trace_event ev = { .kind = S2T_MMIO };
	ev.mmio.vcpu = (unsigned)e->thread;
	ev.mmio.ipa = e->out_addr;
	ev.mmio.write = e->sub;
	s2trace_print_event(f, &ev);
	fprintf(f, "  # %s%s\n", why[e->why], note);
}

/* A host line (operation kind over [addr, addr + size), or a slot's). */
static void write_host(FILE *f, enum s2hyp_host_kind kind, uint64_t addr, uint64_t size,
		       unsigned slot)
{
	struct s2trace_event ev = { .kind = S2T_HOST };
	ev.host.kind = kind;
	ev.host.addr = addr;
	ev.host.size = size;
	ev.host.slot = slot;
	s2trace_print_event(f, &ev);
}

static void write_hva(FILE *f, const struct s2trace_ftrace *imp, const struct fev *e,
		      enum s2hyp_host_kind op)
{
	char sz[32];
	unsigned shown = 0;

	struct s2trace_event ev = { .kind = S2T_HOST };
	ev.host.kind = op;
	ev.host.addr = e->out_addr;
	ev.host.size = e->b - e->out_addr;
	/* Ageing without the multi-gen LRU is clear_flush_young's (KVM
	 * flushes when young); with it, and a test, nothing is flushed. */
	ev.host.flush = op == S2HYP_HOST_AGE_HVA && e->kind != EV_TEST_AGE &&
			(imp->host_feat & FEAT_NO_LRU_GEN);
	s2trace_print_event(f, &ev);
	fprintf(f, "  # %s:", e->name);
	for (unsigned i = 0; i < imp->nr_slots; i++) {
		const struct slot *s = &imp->slots[i];
		uint64_t lo = e->out_addr > s->hva ? e->out_addr : s->hva;
		uint64_t hi = e->b < s->hva + s->size ? e->b : s->hva + s->size;
		if (lo >= hi)
			continue;
		if (shown++ == 3) {
			fprintf(f, " ...");
			break;
		}
		fprintf(f, " slot %u ipa 0x%" PRIx64 "+%s", i, s->ipa + (lo - s->hva),
			fmt_size(sz, sizeof(sz), hi - lo));
	}
	if (e->kind == EV_TEST_AGE)
		fprintf(f, " (KVM only tests the flag)");
	fprintf(f, "\n");
}

static void write_flush(FILE *f, const struct s2trace_ftrace *imp, const struct fev *e)
{
	if (e->kind == EV_TOGGLE_CACHE)
		fprintf(f, "# kvm_toggle_cache (vcpu %d, pc 0x%" PRIx64 "): caches turned %s;"
			" KVM cleans and invalidates the whole VM to PoC\n",
			e->thread, e->a, (e->sub >> 1) ? "on" : "off");
	else
		fprintf(f, "# kvm_set_way_flush (vcpu %d, pc 0x%" PRIx64 ", caches %s): the guest"
			" used set/way maintenance; KVM flushes the whole VM to PoC\n",
			e->thread, e->a, e->sub ? "on" : "off");
	for (unsigned i = 0; i < imp->nr_slots; i++) {
		write_host(f, S2HYP_HOST_FLUSH_IPA, imp->slots[i].ipa, imp->slots[i].size, 0);
		fputc('\n', f);
	}
}

static void write_event(FILE *f, const struct s2trace_ftrace *imp, const struct fev *e)
{
	static const enum s2hyp_host_kind cmds[] = {
		[CMD_DIRTY_LOG_ON] = S2HYP_HOST_DIRTY_LOG_ON,
		[CMD_DIRTY_LOG_OFF] = S2HYP_HOST_DIRTY_LOG_OFF,
		[CMD_GET_DIRTY_LOG] = S2HYP_HOST_GET_DIRTY_LOG,
	};
	struct s2trace_event ev = { .kind = S2T_PHASE, .phase.n = e->phase };

	if (e->phase)
		s2trace_write_event(f, &ev);
	switch ((enum out_kind)e->out) {
	case OUT_NONE:
	case OUT_OUTSIDE:
		break;
	case OUT_FAULT:
		write_fault(f, imp, e);
		break;
	case OUT_MMIO:
		write_mmio(f, e);
		break;
	case OUT_READ:
		ev = (struct s2trace_event){ .kind = S2T_VCPU };
		ev.vcpu.vcpu = (unsigned)e->thread;
		ev.vcpu.op = (struct s2hyp_vcpu_op){ .access = S2HYP_ACC_READ, .ipa = e->out_addr,
						     .size = 8, .mmu_on = true };
		s2trace_print_event(f, &ev);
		if (e->kind == EV_YOUNG)
			fprintf(f, "  # kvm_age_hva finds it young with no fault since its last"
				   " ageing: the hardware set the flag (hw-af)\n");
		else
			fprintf(f, "  # kvm_access_fault without its kvm_guest_fault: the access"
				   " is not known, a read stands for it\n");
		break;
	case OUT_UNMAP:
		if (e->sub && !imp->cows) {
			write_host(f, S2HYP_HOST_INVALIDATE_BEGIN, 0, 0, 0);
			fprintf(f, "  # kvm_unmap_hva_range's call raises mmu_invalidate_in_progress\n");
		}
		write_hva(f, imp, e, S2HYP_HOST_UNMAP_HVA);
		break;
	case OUT_COW:
		fprintf(f, "# kvm_unmap_hva_range 0x%" PRIx64 " in vcpu %d's write permission fault:"
			" the host's COW (host-mm)\n", e->out_addr, e->thread);
		break;
	case OUT_AGE:
		write_hva(f, imp, e, S2HYP_HOST_AGE_HVA);
		break;
	case OUT_FLUSH:
		write_flush(f, imp, e);
		break;
	case OUT_COMMENT:
		fprintf(f, "# kvm_toggle_cache (vcpu %d, pc 0x%" PRIx64 "): caches stay %s, no flush\n",
			e->thread, e->a, (e->sub & 1) ? "on" : "off");
		break;
	case OUT_RCU:
		write_host(f, S2HYP_HOST_RCU_CALLBACK, 0, 0, 0);
		fprintf(f, "  # %s\n", rcu_free_fn);
		break;
	case OUT_INV:
		if (imp->cows) {
			/* host-mm: the host's own events invalidate */
			fprintf(f, "# %s: host-mm invalidates itself\n",
				e->kind == EV_INV_BEGIN ? "inv_begin" : "inv_end");
			break;
		}
		write_host(f, e->kind == EV_INV_BEGIN ? S2HYP_HOST_INVALIDATE_BEGIN
						     : S2HYP_HOST_INVALIDATE_END, 0, 0, 0);
		fprintf(f, "  # %s\n", e->kind == EV_INV_BEGIN ? "kvm_mmu_invalidate_begin"
								 : "kvm_mmu_invalidate_end");
		break;
	case OUT_GDL:
		write_host(f, S2HYP_HOST_GET_DIRTY_LOG, 0, 0, (unsigned)e->a);
		fprintf(f, "  # KVM_GET_DIRTY_LOG write-protects here"
			   " (kvm_arch_mmu_enable_log_dirty_pt_masked)\n");
		break;
	case OUT_INV_UNPAIRED:
		fprintf(f, "# inv_end without its inv_begin (the capture started inside it)\n");
		break;
	case OUT_ENTRY:
		ev = (struct s2trace_event){ .kind = S2T_ENTRY, .entry.vcpu = (unsigned)e->thread };
		s2trace_write_event(f, &ev);
		break;
	case OUT_MARKER:
		fprintf(f, "# marker: ");
		put_clean(f, e->text);
		fputc('\n', f);
		if (host_cmd(e)) {
			write_host(f, cmds[e->sub], 0, 0, (unsigned)e->a);
			fputc('\n', f);
		}
		if (e->sub == CMD_SECTION) {
			char name[48];
			if (e->why == SEC_DIRTY_LOGGING)
				snprintf(name, sizeof(name), "dirty-logging");
			else
				snprintf(name, sizeof(name), "%spass%" PRIu64,
					 e->why == SEC_AFTER_PASS ? "after-" : "", e->b);
			ev = (struct s2trace_event){ .kind = S2T_SECTION, .section.name = name };
			s2trace_write_event(f, &ev);
		}
		break;
	}
}

/* The output's config line: the layout's, with the config words the
 * capture's markers give (the host's features, eager splitting) where the
 * layout does not, and the vCPUs. */
static struct s2trace_event out_config(const struct s2trace_ftrace *imp)
{
	struct s2trace_event ev = imp->config;
	struct s2hyp_config *c = &ev.config.cfg;
	unsigned *given = &ev.config.given;
	/* Hardware dirty-bit management (HAFDBS 2) implies the access flag
	 * (HAFDBS 1), which KVM turns on at stage 2 (VTCR_EL2.HA). */
	const struct {
		bool *field;
		unsigned bit, feat;
	} feats[] = {
		{ &c->fwb, S2T_CFG_FWB, FEAT_FWB }, { &c->idc, S2T_CFG_IDC, FEAT_IDC },
		{ &c->dic, S2T_CFG_DIC, FEAT_DIC },
		{ &c->range_tlbi, S2T_CFG_RANGE_TLBI, FEAT_RANGE_TLBI },
		{ &c->hw_af, S2T_CFG_HW_AF, FEAT_HW_DIRTY },
	};

	for (unsigned i = 0; imp->have_host && i < S2_ARRAY_SIZE(feats); i++)
		if (!(*given & feats[i].bit)) {
			*feats[i].field = !!(imp->host_feat & feats[i].feat);
			*given |= feats[i].bit;
		}
	/* A young page no fault made young shows the hardware access flag,
	 * whatever the marker says (HAFDBS 1 has no dirty-bit management). */
	if (imp->hw_young && !(imp->config.config.given & S2T_CFG_HW_AF)) {
		c->hw_af = true;
		*given |= S2T_CFG_HW_AF;
	}
	/* A Linux host (the kit's) frees unlinked tables after RCU grace
	 * periods; its cores have TLBs of a real size: Cortex-A57's 1024-entry
	 * L2 TLB unless the layout says. */
	if (imp->have_host && !(*given & S2T_CFG_RCU)) {
		c->rcu_free = true;
		*given |= S2T_CFG_RCU;
	}
	if (imp->have_host && !(*given & S2T_CFG_TLB_ENTRIES)) {
		c->tlb_entries = 1024;
		*given |= S2T_CFG_TLB_ENTRIES;
	}
	/* The kit's host runs under qemu's TCG, whose TLB keeps the guest's
	 * combined stage 1+2 entries only: KVM's TLBI VMALLE1IS empties it. */
	if (imp->have_host && !(*given & S2T_CFG_COMBINED_TLB)) {
		c->combined_tlb = true;
		*given |= S2T_CFG_COMBINED_TLB;
	}
	if (imp->eager && !(*given & S2T_CFG_EAGER_SPLIT)) {
		c->eager_split = true;
		*given |= S2T_CFG_EAGER_SPLIT;
	}
	if (imp->eager_chunk && !(*given & S2T_CFG_SPLIT_CHUNK)) {
		c->split_chunk = imp->eager_chunk;
		*given |= S2T_CFG_SPLIT_CHUNK;
	}
	/* Write permission faults that COW: the host's memory is part of what
	 * the capture shows, under the policy of its kernel (6.x: AE). */
	if (imp->cows && !(*given & S2T_CFG_HOST_MM)) {
		c->host_mm = true;
		c->cow_policy = S2HOST_POL_AE;
		*given |= S2T_CFG_HOST_MM;
	}
	c->nr_vcpus = imp->stats.vcpus;
	*given |= S2T_CFG_VCPUS;
	return ev;
}

int s2trace_ftrace_write(struct s2trace_ftrace *imp, FILE *f)
{
	const struct s2trace_ftrace_stats *st = &imp->stats;
	int ret;

	if ((ret = s2trace_ftrace_finish(imp)))
		return ret;
	fprintf(f, "s2emu-trace 1\n");
	fprintf(f, "# imported by s2emu import-ftrace from ");
	put_clean(f, imp->name);
	if (imp->layout_name) {
		fprintf(f, "\n# layout: ");
		put_clean(f, imp->layout_name);
	}
	fputc('\n', f);
	if (!imp->nr_slots)
		fprintf(f, "# no memslot layout was given: add memslot lines before replaying\n");
	/* The header through the trace writer, as the reader read it. */
	struct s2trace_event ev = out_config(imp);
	s2trace_write_event(f, &ev);
	ev.kind = S2T_MEMSLOT;
	for (unsigned i = 0; i < imp->nr_slots; i++) {
		const struct slot *s = &imp->slots[i];
		ev.memslot.id = i;
		ev.memslot.slot = (struct s2hyp_memslot){
			.ipa = s->ipa, .size = s->size, .hva = s->hva, .backing = s->backing,
			.readonly = s->readonly, .dirty_log = s->dirty_log,
		};
		s2trace_write_event(f, &ev);
	}
	fprintf(f, "\n");
	for (size_t i = 0; i < imp->nr_ev; i++)
		write_event(f, imp, &imp->ev[i]);
	if (imp->vm_ends) {
		fprintf(f, "# the guest powered off (system_event): the VMM exits, KVM destroys the VM\n");
		write_host(f, S2HYP_HOST_DESTROY, 0, 0, 0);
		fputc('\n', f);
	}
	fprintf(f, "\n# %" PRIu64 " events: %" PRIu64 " used, %" PRIu64 " unused\n", st->events,
		st->used, st->unused);
	if (st->outside_guest)
		fprintf(f, "# notifier events outside guest memory: %" PRIu64 "\n",
			st->outside_guest);
	for (size_t i = 0; i < imp->nr_unused; i++)
		fprintf(f, "# unused: %s x%" PRIu64 "\n", imp->unused[i].name, imp->unused[i].count);
	errno = 0;
	if (fflush(f) || ferror(f))
		return fail(imp, S2_EIO, "output", 0, "write error: %s",
			    strerror(errno ? errno : EIO));
	return 0;
}
