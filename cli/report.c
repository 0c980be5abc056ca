/* s2emu report: one trace (a recorded counterexample or any trace replay
 * runs) drawn as a self-contained HTML page. The trace is replayed with an
 * observer on the machine (s2hyp_set_observer); the page holds an SVG
 * timeline with a lane for the host, the hypervisor, every vCPU and the
 * memory system, the ghost state of the entries involved over time, the
 * violation with its rule and citation, the TLBs at that moment, the window
 * in which a CMO was due, and the trace itself. Every mark's <title> is its
 * event and the trace line it served; a small inline script shows the same
 * in a box and highlights the line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/s2_err.h"
#include "common/s2_file.h"
#include "common/s2_vec.h"
#include "hyp-model/s2hyp_rules.h"
#include "traces/s2trace.h"

#define MAX_DRAWN 1500		/* events drawn; a longer trace is cut around the violation */
#define MAX_ENTRIES 4096	/* descriptors whose ghost state is followed */
#define MAX_GHOST_ROWS 12
#define MAX_TLB 32		/* TLB entries shown per vCPU */
#define HOST_KIND 0xff		/* our own kind for a host operation starting */

struct rev {
	struct s2hyp_event e;	/* e.kind HOST_KIND: a host operation */
	unsigned line;		/* its line in the trace, 0 when none */
	char text[160];
};

struct transition {
	size_t at;		/* index of the event after which it holds */
	enum s2hyp_ghost_state state;
	uint64_t value;
};

struct entry {
	uint64_t pa, ipa;
	s2_level_t level;
	struct transition *tr;
	size_t n;
	unsigned cap;
};

struct snapshot {
	struct s2hyp_violation v;
	size_t at;		/* events seen when it fired */
	unsigned nr_tlb[S2HYP_MAX_VCPUS];
	struct s2hyp_translation tlb[S2HYP_MAX_VCPUS][MAX_TLB];
};

struct collect {
	const struct s2hyp *m;	/* the machine being observed */
	struct rev *ev;
	size_t n;
	unsigned cap;
	struct entry *ent;
	size_t nent;
	bool entries_full;
	struct snapshot *viol;
	size_t nviol;
	unsigned viol_cap;
	unsigned nr_vcpus;
	bool oom;
};

static unsigned line_of(const char *src)
{
	const char *colon = src ? strrchr(src, ':') : NULL;
	return colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

static struct rev *add_event(struct collect *c)
{
	if (!s2_grow((void **)&c->ev, &c->cap, sizeof(*c->ev), c->n + 1)) {
		c->oom = true;
		return NULL;
	}
	return &c->ev[c->n++];
}

static struct entry *find_entry(struct collect *c, uint64_t pa)
{
	for (size_t i = 0; i < c->nent; i++)
		if (c->ent[i].pa == pa)
			return &c->ent[i];
	return NULL;
}

/* Note e's ghost state now, if it changed. */
static void sample(struct collect *c, struct entry *e)
{
	struct s2hyp_entry now;

	if (s2hyp_entry_at(c->m, e->pa, &now))
		return;
	if (now.level != -2) {
		e->ipa = now.ipa;
		e->level = now.level;
	}
	if (e->n && e->tr[e->n - 1].state == now.ghost && e->tr[e->n - 1].value == now.value)
		return;
	if (!s2_grow((void **)&e->tr, &e->cap, sizeof(*e->tr), e->n + 1)) {
		c->oom = true;
		return;
	}
	e->tr[e->n++] = (struct transition){ c->n - 1, now.ghost, now.value };
}

static void on_event(void *arg, const struct s2hyp *m, const struct s2hyp_event *e,
		     const char *src)
{
	struct collect *c = arg;
	c->m = m;
	struct rev *r = add_event(c);
	if (!r)
		return;
	r->e = *e;
	r->line = line_of(src);
	s2hyp_format_event(r->text, sizeof(r->text), e);
	if (e->kind == S2HYP_EV_PTE_STORE && !find_entry(c, e->a) && c->nent < MAX_ENTRIES) {
		c->ent[c->nent++] = (struct entry){ .pa = e->a, .level = -2 };
	} else if (e->kind == S2HYP_EV_PTE_STORE && !find_entry(c, e->a)) {
		c->entries_full = true;
	}
	if (e->kind == S2HYP_EV_PTE_STORE) {
		struct entry *en = find_entry(c, e->a);
		if (en)
			sample(c, en);
	} else if (e->kind == S2HYP_EV_TLBI || e->kind == S2HYP_EV_DSB || e->kind == S2HYP_EV_FREE) {
		for (size_t i = 0; i < c->nent; i++)
			sample(c, &c->ent[i]);
	}
}

static void on_host_op(void *arg, const struct s2hyp *m, const struct s2hyp_host_op *op)
{
	struct collect *c = arg;
	c->m = m;
	struct rev *r = add_event(c);
	if (!r)
		return;
	r->e = (struct s2hyp_event){ .step = 0, .thread = -1, .kind = HOST_KIND, .a = op->addr,
				     .b = op->size };
	r->line = line_of(op->src);
	FILE *f = fmemopen(r->text, sizeof(r->text), "w");
	if (!f) {
		snprintf(r->text, sizeof(r->text), "host operation");
		return;
	}
	fputs("host ", f);
	s2trace_print_host_op(f, op);
	fputc('\0', f);
	fclose(f);
	r->text[sizeof(r->text) - 1] = '\0';
}

static void on_violation(void *arg, const struct s2hyp *m, const struct s2hyp_violation *v)
{
	struct collect *c = arg;
	c->m = m;
	if (!s2_grow((void **)&c->viol, &c->viol_cap, sizeof(*c->viol), c->nviol + 1)) {
		c->oom = true;
		return;
	}
	struct snapshot *s = &c->viol[c->nviol++];
	s->v = *v;
	s->at = c->n;
	for (unsigned i = 0; i < c->nr_vcpus && i < S2HYP_MAX_VCPUS; i++)
		s->nr_tlb[i] = s2hyp_vcpu_tlb(c->m, i, s->tlb[i], MAX_TLB);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

struct page {
	FILE *f;
	const struct collect *c;
	const struct s2trace_result *res;
	char **lines;		/* the trace's lines, [0] is line 1 */
	size_t nlines;
	size_t first, last;	/* events drawn: [first, last) */
	int lanes;		/* host, hypervisor, vCPUs, memory */
	bool memory_lane;
	bool effect;		/* an effect trace: a lane per CPU of the trace */
	double x0, dx;
};

enum { LANE_H = 40, TOP = 58, LABEL_W = 150, GHOST_H = 22 };

static int lane_of(const struct page *p, const struct s2hyp_event *e)
{
	if (p->effect)
		return e->thread;
	if (e->kind == HOST_KIND)
		return 0;
	if (e->thread == -2)
		return p->lanes - 1;
	if (e->thread < 0)
		return 1;
	return 2 + e->thread;
}

static double xpos(const struct page *p, size_t i)
{
	return p->x0 + (double)(i - p->first) * p->dx + p->dx / 2;
}

static double ymid(int lane)
{
	return TOP + lane * LANE_H + LANE_H / 2.0;
}

static const char *kind_class(unsigned kind)
{
	static const char *const names[S2HYP_NR_EVENT_KINDS] = {
		[S2HYP_EV_PTE_STORE] = "pte-store", [S2HYP_EV_TLBI] = "tlbi", [S2HYP_EV_DSB] = "dsb",
		[S2HYP_EV_CMO] = "cmo", [S2HYP_EV_FREE] = "free-table",
		[S2HYP_EV_WALK_READ] = "walk-read", [S2HYP_EV_TLB_FILL] = "tlb-fill",
		[S2HYP_EV_TLB_EVICT] = "tlb-evict", [S2HYP_EV_ACCESS] = "access",
		[S2HYP_EV_FAULT] = "fault", [S2HYP_EV_OP_BEGIN] = "op-begin",
		[S2HYP_EV_OP_END] = "op-end", [S2HYP_EV_DC_EVICT] = "dc-evict",
		[S2HYP_EV_PREFETCH] = "prefetch",
	};
	if (kind == HOST_KIND)
		return "host";
	return kind < S2HYP_NR_EVENT_KINDS && names[kind] ? names[kind] : "other";
}

/* The text a mark's title holds: the event and the line it served. */
static void title(const struct page *p, const struct rev *r)
{
	FILE *f = p->f;
	fputs("<title>", f);
	if (r->e.kind != HOST_KIND)
		fprintf(f, "step %llu: ", (unsigned long long)r->e.step);
	esc(f, r->text);
	if (r->line && r->line <= p->nlines) {
		fprintf(f, "\n%s:%u: ", p->res->name, r->line);
		esc(f, p->lines[r->line - 1]);
	}
	fputs("</title>", f);
}

static void mark(const struct page *p, size_t i)
{
	const struct rev *r = &p->c->ev[i];
	const struct s2hyp_event *e = &r->e;
	FILE *f = p->f;
	double x = xpos(p, i), y = ymid(lane_of(p, e));

	fprintf(f, "<g class=\"ev ev-%s\" data-i=\"%zu\" data-line=\"%u\">", kind_class(e->kind), i,
		r->line);
	title(p, r);
	switch (e->kind) {
	case HOST_KIND:
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"16\" rx=\"3\" "
			   "fill=\"#0f766e\"/>", x - 6, y - 8);
		break;
	case S2HYP_EV_PTE_STORE:
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\" "
			   "stroke=\"#1d4ed8\" stroke-width=\"2\"/>", x - 6, y - 6,
			e->b & 1 ? "#3b82f6" : "#ffffff");
		break;
	case S2HYP_EV_TLBI:
		fprintf(f, "<path d=\"M%.1f %.1fl7 12h-14z\" fill=\"#ea580c\"/>", x, y - 7);
		break;
	case S2HYP_EV_DSB:
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"4\" height=\"22\" fill=\"#475569\"/>",
			x - 2, y - 11);
		break;
	case S2HYP_EV_CMO:
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"#16a34a\"/>", x, y);
		break;
	case S2HYP_EV_FREE:
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#92400e\"/>"
			   "<path d=\"M%.1f %.1fl8 8m0 -8l-8 8\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
			x - 6, y - 6, x - 4, y - 4);
		break;
	case S2HYP_EV_WALK_READ:
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#a78bfa\"/>", x, y);
		break;
	case S2HYP_EV_TLB_FILL:
		fprintf(f, "<path d=\"M%.1f %.1fl7 8l-7 8l-7 -8z\" fill=\"#7c3aed\"/>", x, y - 8);
		break;
	case S2HYP_EV_TLB_EVICT:
		fprintf(f, "<path d=\"M%.1f %.1fl7 8l-7 8l-7 -8z\" fill=\"#fff\" stroke=\"#7c3aed\" "
			   "stroke-width=\"2\"/>", x, y - 8);
		break;
	case S2HYP_EV_ACCESS:
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" stroke=\"#111827\" "
			   "stroke-width=\"2\"/>", x, y, (e->flags & 3) == S2HYP_ACC_WRITE ? "#111827" : "#fff");
		break;
	case S2HYP_EV_FAULT:
		fprintf(f, "<path d=\"M%.1f %.1fl12 12m0 -12l-12 12\" stroke=\"#dc2626\" "
			   "stroke-width=\"3.5\" stroke-linecap=\"round\"/>", x - 6, y - 6);
		break;
	case S2HYP_EV_OP_BEGIN:
		fprintf(f, "<path d=\"M%.1f %.1fh-5v26h5\" fill=\"none\" stroke=\"#4338ca\" "
			   "stroke-width=\"2\"/>", x + 2, y - 13);
		break;
	case S2HYP_EV_OP_END:
		fprintf(f, "<path d=\"M%.1f %.1fh5v26h-5\" fill=\"none\" stroke=\"#4338ca\" "
			   "stroke-width=\"2\"/>", x - 2, y - 13);
		break;
	default:
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#94a3b8\"/>", x, y);
		break;
	}
	fputs("</g>\n", f);
}

static const char *ghost_name(enum s2hyp_ghost_state s)
{
	switch (s) {
	case S2HYP_GHOST_VALID: return "valid";
	case S2HYP_GHOST_INVALID_UNCLEAN: return "invalid-unclean";
	case S2HYP_GHOST_TLBI_PENDING: return "invalid-unclean, TLBI issued";
	case S2HYP_GHOST_INVALID_CLEAN: return "invalid-clean";
	}
	return "?";
}

static const char *ghost_color(enum s2hyp_ghost_state s)
{
	switch (s) {
	case S2HYP_GHOST_VALID: return "#22c55e";
	case S2HYP_GHOST_INVALID_UNCLEAN: return "#ef4444";
	case S2HYP_GHOST_TLBI_PENDING: return "#f59e0b";
	case S2HYP_GHOST_INVALID_CLEAN: return "#cbd5e1";
	}
	return "#000";
}

/* Entries to draw: those that change inside the window, the ones covering
 * the violation's address first, then the latest to change. */
static size_t pick_entries(const struct page *p, const struct snapshot *s, size_t *out)
{
	const struct collect *c = p->c;
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = c->nent; k-- > 0 && n < MAX_GHOST_ROWS;) {
			const struct entry *e = &c->ent[k];
			bool inside = false, covers = false;
			for (size_t t = 0; t < e->n; t++)
				if (e->tr[t].at >= p->first && e->tr[t].at < p->last)
					inside = true;
			if (!inside)
				continue;
			if (s && e->level >= 0 && e->level <= 3) {
				uint64_t size = 1ull << (12 + 9 * (3 - e->level));
				covers = s->v.ipa >= e->ipa && s->v.ipa - e->ipa < size;
			}
			if ((pass == 0) != covers)
				continue;
			out[n++] = k;
		}
	}
	return n;
}

static double ghost_y(const struct page *p, size_t row)
{
	return TOP + p->lanes * LANE_H + 34 + (double)row * GHOST_H;
}

static void ghost_rows(const struct page *p, const size_t *rows, size_t nrows, double right)
{
	FILE *f = p->f;

	for (size_t r = 0; r < nrows; r++) {
		const struct entry *e = &p->c->ent[rows[r]];
		double y = ghost_y(p, r);
		fprintf(f, "<g class=\"ghost\" data-pa=\"%#llx\">\n", (unsigned long long)e->pa);
		for (size_t t = 0; t < e->n; t++) {
			double x1 = e->tr[t].at < p->first ? p->x0 : xpos(p, e->tr[t].at);
			double x2 = t + 1 < e->n ? xpos(p, e->tr[t + 1].at) : right;
			if (e->tr[t].at >= p->last || x2 <= p->x0)
				continue;
			if (x2 > right)
				x2 = right;
			fprintf(f, "<rect class=\"gs gs-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				   "height=\"16\" fill=\"%s\"><title>entry [%#llx] (L%d, IPA %#llx): %s, "
				   "%#llx</title></rect>\n",
				e->tr[t].state == S2HYP_GHOST_VALID ? "valid"
				: e->tr[t].state == S2HYP_GHOST_INVALID_CLEAN ? "clean" : "unclean",
				x1, y + 2, x2 - x1 > 1 ? x2 - x1 : 1, ghost_color(e->tr[t].state),
				(unsigned long long)e->pa, e->level, (unsigned long long)e->ipa,
				ghost_name(e->tr[t].state), (unsigned long long)e->tr[t].value);
		}
		fputs("</g>\n", f);
	}
}

/* The window in which the CMO for the violation's mapping was due: from
 * the store that broke the entry (or the start of the operation that made
 * it) to the store that made it valid. */
static bool cmo_window(const struct page *p, const struct snapshot *s, size_t *from, size_t *to)
{
	const struct collect *c = p->c;
	const struct entry *best = NULL;
	size_t make = 0;

	for (size_t k = 0; k < c->nent; k++) {
		const struct entry *e = &c->ent[k];
		if (e->level != s->v.level || e->ipa > s->v.ipa ||
		    s->v.ipa - e->ipa >= (1ull << (12 + 9 * (3 - (e->level < 0 ? 0 : e->level)))))
			continue;
		for (size_t t = 0; t < e->n; t++)
			/* at == s->at: the store whose check fired is recorded
			 * just after the violation */
			if (e->tr[t].state == S2HYP_GHOST_VALID && e->tr[t].at <= s->at &&
			    (!best || e->tr[t].at >= make)) {
				best = e;
				make = e->tr[t].at;
			}
	}
	if (!best)
		return false;
	size_t brk = make;
	for (size_t i = make; i-- > 0;) {
		const struct s2hyp_event *e = &c->ev[i].e;
		if (e->kind == S2HYP_EV_PTE_STORE && e->a == best->pa) {
			brk = i;
			break;
		}
		if (e->kind == S2HYP_EV_OP_BEGIN) {
			brk = i;
			break;
		}
	}
	*from = brk;
	*to = make;
	return true;
}

/* Lane l's class suffix; its name for people in name when non-NULL. */
static const char *lane_name(const struct page *p, int l, char *name, size_t n)
{
	if (p->effect) {
		if (name)
			snprintf(name, n, "CPU %d", l);
		return "cpu";
	}
	if (l == 0) {
		if (name)
			snprintf(name, n, "host");
		return "host";
	}
	if (l == 1) {
		if (name)
			snprintf(name, n, "hypervisor");
		return "hyp";
	}
	if (p->memory_lane && l == p->lanes - 1) {
		if (name)
			snprintf(name, n, "memory system");
		return "memory";
	}
	if (name)
		snprintf(name, n, "vCPU %d", l - 2);
	return "vcpu";
}

/* The left column: lane names and the ghost rows' entries. */
static void labels(const struct page *p, const size_t *rows, size_t nrows, double height)
{
	FILE *f = p->f;

	fprintf(f, "<div class=\"tl\"><svg class=\"labels\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%d\" height=\"%.0f\">\n<text x=\"8\" y=\"%d\" class=\"axis\">step</text>\n",
		LABEL_W, height, TOP - 8);
	for (int l = 0; l < p->lanes; l++) {
		char name[32];
		lane_name(p, l, name, sizeof(name));
		fprintf(f, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
			   "<text x=\"8\" y=\"%.1f\" class=\"lname\">%s</text>\n", TOP + l * LANE_H,
			LABEL_W, LANE_H, l % 2 ? "#f8fafc" : "#ffffff", ymid(l) + 5, name);
	}
	if (nrows)
		fprintf(f, "<text x=\"8\" y=\"%.1f\" class=\"section\">ghost states</text>\n",
			ghost_y(p, 0) - 10);
	for (size_t r = 0; r < nrows; r++) {
		const struct entry *e = &p->c->ent[rows[r]];
		fprintf(f, "<text x=\"8\" y=\"%.1f\" class=\"glabel\">", ghost_y(p, r) + 14);
		if (e->level >= -1)
			fprintf(f, "L%d IPA %#llx", e->level, (unsigned long long)e->ipa);
		else
			fprintf(f, "[%#llx]", (unsigned long long)e->pa);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

static void timeline(struct page *p, const struct snapshot *s)
{
	FILE *f = p->f;
	const struct collect *c = p->c;
	size_t rows[MAX_GHOST_ROWS];
	size_t nrows = pick_entries(p, s, rows);
	size_t n = p->last - p->first;

	p->dx = n <= 80 ? 26 : n <= 300 ? 16 : 9;
	p->x0 = 12;
	double right = p->x0 + (double)n * p->dx + 10;
	double width = right + 150;
	double height = ghost_y(p, nrows) + 10;

	/* The names stay in view while the timeline scrolls. */
	labels(p, rows, nrows, height);
	fprintf(f, "<div class=\"scroll\"><svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
		   "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" data-events=\"%zu\">\n",
		width, height, width, height, n);
	/* lanes */
	for (int l = 0; l < p->lanes; l++) {
		fprintf(f, "<g class=\"lane lane-%s\"><rect x=\"0\" y=\"%d\" width=\"%.0f\" "
			   "height=\"%d\" fill=\"%s\"/><line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" "
			   "y2=\"%.1f\" stroke=\"#cbd5e1\"/></g>\n", lane_name(p, l, NULL, 0),
			TOP + l * LANE_H, width, LANE_H, l % 2 ? "#f8fafc" : "#ffffff", p->x0, ymid(l),
			right, ymid(l));
	}
	/* step axis */
	uint64_t last_step = UINT64_MAX;
	double last_x = -100;
	for (size_t i = p->first; i < p->last; i++) {
		const struct s2hyp_event *e = &c->ev[i].e;
		if (e->kind == HOST_KIND || e->step == last_step)
			continue;
		last_step = e->step;
		double x = xpos(p, i);
		if (x - last_x < 44)
			continue;
		last_x = x;
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"axis\">%llu</text><line x1=\"%.1f\" "
			   "y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e2e8f0\"/>\n", x, TOP - 8,
			(unsigned long long)e->step, x, TOP, x, TOP + p->lanes * LANE_H);
	}
	/* hypervisor operations as spans */
	for (size_t i = p->first; i < p->last; i++) {
		if (c->ev[i].e.kind != S2HYP_EV_OP_BEGIN)
			continue;
		/* to its end, or (a host operation has none) to its last effect */
		size_t j = i, k;
		for (k = i + 1; k < p->last; k++) {
			const struct s2hyp_event *e = &c->ev[k].e;
			if (e->kind == S2HYP_EV_OP_BEGIN)
				break;
			if (e->kind != HOST_KIND && e->thread == -1)
				j = k;
			if (e->kind == S2HYP_EV_OP_END)
				break;
		}
		double x2 = k < p->last || j > i ? xpos(p, j) + (j > i ? 6 : 0) : right;
		fprintf(f, "<rect class=\"op\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"30\" "
			   "rx=\"4\" fill=\"#e0e7ff\" opacity=\"0.7\"><title>", xpos(p, i),
			ymid(1) - 15, x2 - xpos(p, i));
		esc(f, c->ev[i].text);
		fputs("</title></rect>\n", f);
	}
	/* the CMO window */
	size_t wfrom, wto;
	if (s && cmo_window(p, s, &wfrom, &wto) && wto >= p->first && wfrom < p->last) {
		unsigned cmos = 0;
		for (size_t i = wfrom; i <= wto; i++)
			cmos += c->ev[i].e.kind == S2HYP_EV_CMO;
		double x1 = xpos(p, wfrom < p->first ? p->first : wfrom) - p->dx / 2;
		double x2 = xpos(p, wto) + p->dx / 2;
		fprintf(f, "<g class=\"cmo-window\" data-cmos=\"%u\"><rect x=\"%.1f\" y=\"%.1f\" "
			   "width=\"%.1f\" height=\"%d\" fill=\"none\" stroke=\"#16a34a\" "
			   "stroke-width=\"2\" stroke-dasharray=\"5 3\" rx=\"5\"/><text x=\"%.1f\" "
			   "y=\"%.1f\" class=\"wlabel\">CMO window: %u CMO%s</text><title>From the "
			   "entry's break (or the operation's start) to the store that made it "
			   "valid: where a clean to PoC of the new mapping belongs.</title></g>\n",
			cmos, x1, ymid(1) - 19, x2 - x1, 38, x1 + 2, ymid(1) + 30, cmos,
			cmos == 1 ? "" : "s");
	}
	for (size_t i = p->first; i < p->last; i++)
		mark(p, i);
	/* the host's operations by name, where there is room */
	for (size_t i = p->first; i < p->last; i++) {
		if (c->ev[i].e.kind != HOST_KIND)
			continue;
		size_t j = i + 1;
		while (j < p->last && c->ev[j].e.kind != HOST_KIND)
			j++;
		double room = (j < p->last ? xpos(p, j) : right + 140) - xpos(p, i);
		if (room < 110)
			continue;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"hlabel\">", xpos(p, i) + 10,
			ymid(0) + 4);
		esc(f, c->ev[i].text + 5);	/* after "host " */
		fputs("</text>\n", f);
	}
	/* violations */
	for (size_t k = 0; k < c->nviol; k++) {
		const struct snapshot *v = &c->viol[k];
		if (v->at < p->first || v->at > p->last)
			continue;
		double x = v->at > p->first ? xpos(p, v->at - 1) + p->dx / 2 : p->x0;
		const char *name = s2hyp_rule_name(v->v.rule);
		fprintf(f, "<g class=\"violation\" data-rule=\"%s\"><line x1=\"%.1f\" y1=\"%d\" "
			   "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dc2626\" stroke-width=\"2.5\"/>"
			   "<path d=\"M%.1f %dl-7 -12h14z\" fill=\"#dc2626\"/><text x=\"%.1f\" y=\"%d\" "
			   "class=\"vlabel\">%s</text><title>", name, x, TOP - 2, x,
			ghost_y(p, nrows) - 20, x, TOP - 2, x + 10, TOP - 22 - (int)(k % 2) * 15, name);
		esc(f, v->v.detail);
		fputs("</title></g>\n", f);
	}
	ghost_rows(p, rows, nrows, right);
	fputs("</svg></div></div>\n", f);
}

static void tlb_table(const struct page *p, const struct snapshot *s)
{
	FILE *f = p->f;
	fputs("<h2>TLBs at the violation</h2>\n<table class=\"tlb\"><tr><th>vCPU</th><th>IPA</th>"
	      "<th>size</th><th>PA</th><th>level</th><th>permissions</th></tr>\n", f);
	unsigned shown = 0;
	for (unsigned v = 0; v < p->c->nr_vcpus && v < S2HYP_MAX_VCPUS; v++) {
		for (unsigned i = 0; i < s->nr_tlb[v] && i < MAX_TLB; i++) {
			const struct s2hyp_translation *t = &s->tlb[v][i];
			fprintf(f, "<tr><td>%u</td><td>%#llx</td><td>%#llx</td><td>%#llx</td><td>%d</td>"
				   "<td>%s%s%s</td></tr>\n", v, (unsigned long long)t->ipa,
				(unsigned long long)t->size, (unsigned long long)t->pa, t->level,
				t->prot & S2PT_PROT_R ? "R" : "-", t->prot & S2PT_PROT_W ? "W" : "-",
				t->prot & S2PT_PROT_X ? "X" : "-");
			shown++;
		}
		if (s->nr_tlb[v] > MAX_TLB)
			fprintf(f, "<tr><td>%u</td><td colspan=\"5\">and %u more</td></tr>\n", v,
				s->nr_tlb[v] - MAX_TLB);
	}
	if (!shown)
		fputs("<tr><td colspan=\"6\">every TLB is empty</td></tr>\n", f);
	fputs("</table>\n", f);
}

static const char legend[] =
	"<div class=\"legend\">"
	"<span><svg width=\"14\" height=\"16\"><rect x=\"1\" y=\"0\" width=\"12\" height=\"16\" rx=\"3\" fill=\"#0f766e\"/></svg> host operation</span>"
	"<span><svg width=\"14\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"12\" height=\"12\" fill=\"#3b82f6\" stroke=\"#1d4ed8\" stroke-width=\"2\"/></svg> PTE store (valid)</span>"
	"<span><svg width=\"14\" height=\"14\"><rect x=\"1\" y=\"1\" width=\"12\" height=\"12\" fill=\"#fff\" stroke=\"#1d4ed8\" stroke-width=\"2\"/></svg> PTE store (invalid)</span>"
	"<span><svg width=\"14\" height=\"14\"><path d=\"M7 1l7 12h-14z\" fill=\"#ea580c\"/></svg> TLBI</span>"
	"<span><svg width=\"6\" height=\"16\"><rect x=\"1\" y=\"0\" width=\"4\" height=\"16\" fill=\"#475569\"/></svg> DSB</span>"
	"<span><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"7\" fill=\"#16a34a\"/></svg> CMO</span>"
	"<span><svg width=\"10\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#a78bfa\"/></svg> walk read</span>"
	"<span><svg width=\"16\" height=\"16\"><path d=\"M8 0l7 8l-7 8l-7 -8z\" fill=\"#7c3aed\"/></svg> TLB fill</span>"
	"<span><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"5.5\" fill=\"#111827\"/></svg> write / "
	"<svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"5\" fill=\"#fff\" stroke=\"#111827\" stroke-width=\"2\"/></svg> read</span>"
	"<span><svg width=\"14\" height=\"14\"><path d=\"M1 1l12 12m0 -12l-12 12\" stroke=\"#dc2626\" stroke-width=\"3\"/></svg> fault</span>"
	"<span><svg width=\"10\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"4\" fill=\"#94a3b8\"/></svg> speculative walk, eviction</span>"
	"<span><svg width=\"14\" height=\"14\"><rect x=\"0\" y=\"0\" width=\"14\" height=\"14\" rx=\"3\" fill=\"#e0e7ff\"/></svg> hypervisor operation</span>"
	"<span class=\"g\"><i style=\"background:#22c55e\"></i>valid <i style=\"background:#ef4444\"></i>invalid-unclean "
	"<i style=\"background:#f59e0b\"></i>TLBI issued, no DSB yet <i style=\"background:#cbd5e1\"></i>invalid-clean</span>"
	"</div>\n";

static const char style[] =
	"<style>\n"
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#0f172a;margin:24px;background:#fff}\n"
	"h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}\n"
	".sub{color:#475569;margin-bottom:14px}\n"
	".rule{border-left:5px solid #dc2626;background:#fef2f2;padding:10px 14px;margin:12px 0;max-width:1100px}\n"
	".rule.ok{border-color:#16a34a;background:#f0fdf4}\n"
	".rule b.name{color:#b91c1c;font-size:16px}.rule .cite{color:#334155}\n"
	".tl{display:flex;border:1px solid #e2e8f0;border-radius:6px;overflow:hidden}\n"
	".tl svg.labels{flex:none;border-right:1px solid #e2e8f0}.scroll{overflow-x:auto;flex:1}\n"
	"svg text{font-family:ui-monospace,'DejaVu Sans Mono',monospace}\n"
	".lname{font:600 13px system-ui,sans-serif;fill:#0f172a}.axis{font-size:10px;fill:#64748b}\n"
	".glabel{font-size:11px;fill:#334155}.hlabel{font-size:11px;fill:#0f766e}.section{font:600 12px system-ui,sans-serif;fill:#334155}\n"
	".vlabel{font:700 13px system-ui,sans-serif;fill:#b91c1c}.wlabel{font:600 11px system-ui,sans-serif;fill:#15803d}\n"
	".ev{cursor:pointer}.ev:hover{filter:drop-shadow(0 0 3px #f59e0b)}\n"
	".legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:10px 0;color:#334155;font-size:13px}\n"
	".legend span{display:inline-flex;align-items:center;gap:5px}.legend i{display:inline-block;width:18px;height:10px;margin:0 3px 0 6px}\n"
	"table.tlb{border-collapse:collapse;font:13px ui-monospace,monospace}table.tlb td,table.tlb th{border:1px solid #e2e8f0;padding:3px 10px;text-align:left}\n"
	"table.tlb th{background:#f1f5f9;font-family:system-ui,sans-serif}\n"
	"pre.trace{font:12.5px/1.5 ui-monospace,'DejaVu Sans Mono',monospace;background:#f8fafc;border:1px solid #e2e8f0;border-radius:6px;padding:8px 0;max-height:420px;overflow:auto}\n"
	"pre.trace span{display:block;padding:0 12px}pre.trace span.hl{background:#fef08a}pre.trace span.used{background:#f1f5f9}\n"
	"pre.trace span:before{content:attr(data-n);display:inline-block;width:3.5em;color:#94a3b8}\n"
	"#info{position:fixed;right:16px;bottom:16px;max-width:560px;background:#0f172a;color:#f8fafc;padding:8px 12px;border-radius:6px;font:12px ui-monospace,monospace;white-space:pre-wrap;display:none}\n"
	"</style>\n";

/* The first violation scrolled into view; hovering a mark shows its title
 * in a box and highlights its trace line. */
static const char script[] =
	"<script>\n"
	"(function(){var info=document.getElementById('info');var hl=null;\n"
	"var v=document.querySelector('.violation line'),sc=document.querySelector('.scroll');\n"
	"if(v&&sc)sc.scrollLeft=Math.max(0,v.x1.baseVal.value-sc.clientWidth/2);\n"
	"document.querySelectorAll('.ev').forEach(function(g){\n"
	" g.addEventListener('mouseenter',function(){var t=g.querySelector('title');\n"
	"  info.textContent=t?t.textContent:'';info.style.display='block';\n"
	"  if(hl)hl.classList.remove('hl');hl=document.getElementById('L'+g.dataset.line);\n"
	"  if(hl){hl.classList.add('hl');hl.scrollIntoView({block:'nearest'});}});\n"
	" g.addEventListener('mouseleave',function(){info.style.display='none';});});})();\n"
	"</script>\n";

static void trace_listing(const struct page *p)
{
	FILE *f = p->f;
	bool *used = calloc(p->nlines + 1, sizeof(*used));

	for (size_t i = p->first; used && i < p->last; i++)
		if (p->c->ev[i].line && p->c->ev[i].line <= p->nlines)
			used[p->c->ev[i].line] = true;
	fputs("<h2>The trace</h2>\n<pre class=\"trace\">", f);
	size_t shown = 0;
	for (size_t l = 1; l <= p->nlines; l++) {
		/* a long trace: the header and the lines the drawn events served */
		if (p->nlines > 2000 && !(used && used[l]) && l > 40)
			continue;
		if (++shown > 4000)
			break;
		fprintf(f, "<span id=\"L%zu\" data-n=\"%zu\"%s>", l, l,
			used && used[l] ? " class=\"used\"" : "");
		esc(f, p->lines[l - 1]);
		fputs("</span>", f);
	}
	fputs("</pre>\n", f);
	free(used);
}

static void write_page(struct page *p)
{
	FILE *f = p->f;
	const struct collect *c = p->c;
	const struct s2trace_result *res = p->res;
	const struct snapshot *s = c->nviol ? &c->viol[0] : NULL;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>s2emu "
	      "report: ", f);
	esc(f, res->name);
	fputs("</title>\n", f);
	fputs(style, f);
	fputs("</head><body>\n<h1>", f);
	esc(f, res->name);
	if (p->effect)
		fprintf(f, "</h1>\n<div class=\"sub\">an effect trace, %zu effect events on %d CPU%s",
			c->n, p->lanes, p->lanes == 1 ? "" : "s");
	else
		fprintf(f, "</h1>\n<div class=\"sub\">walker <b>%s</b>, %u vCPU%s, %llu trace events; "
			   "%zu machine events", s2pt_variant_name(res->cfg.variant),
			res->cfg.nr_vcpus, res->cfg.nr_vcpus == 1 ? "" : "s",
			(unsigned long long)res->events, c->n);
	if (p->first || p->last < c->n)
		fprintf(f, ", events %zu to %zu drawn", p->first + 1, p->last);
	fputs("</div>\n", f);
	if (res->effect_trace)
		fputs("<div class=\"sub\">An effect trace: a lane per CPU of the trace, each mark "
		      "one effect line; the effect checker keeps no ghost state or TLBs to "
		      "draw.</div>\n", f);
	if (!s)
		fputs("<div class=\"rule ok\"><b>No rule fired.</b></div>\n", f);
	for (size_t k = 0; k < c->nviol; k++) {
		const struct s2hyp_violation *v = &c->viol[k].v;
		fprintf(f, "<div class=\"rule\" data-rule=\"%s\"><b class=\"name\">%s</b> fired at "
			   "%s %llu (", s2hyp_rule_name(v->rule), s2hyp_rule_name(v->rule),
			p->effect ? "effect event" : "step", (unsigned long long)v->step);
		if (p->effect && v->step && v->step <= c->n)
			fprintf(f, "line %u", c->ev[v->step - 1].line);
		else if (v->thread >= 0)
			fprintf(f, "vCPU %d", v->thread);
		else
			fprintf(f, "hypervisor");
		fputs(")<br>", f);
		esc(f, v->detail);
		fputs("<br><span class=\"cite\">Rule: ", f);
		esc(f, s2hyp_rule_meaning(v->rule));
		fputs(". Source: <b>", f);
		esc(f, s2hyp_rule_source(v->rule));
		fputs("</b></span></div>\n", f);
	}
	fputs(legend, f);
	timeline(p, s);
	if (s && !p->effect)
		tlb_table(p, s);
	trace_listing(p);
	fputs("<div id=\"info\"></div>\n", f);
	fputs(script, f);
	fputs("</body></html>\n", f);
}

/* An effect trace is checked by the effect checker, not run on the
 * machine: its events are the trace's own effect lines, and its
 * violations the checker's (each at the effect event it names). */
static int collect_effects(const char *path, const struct s2trace_result *res, struct collect *c,
			   char **lines, size_t nlines)
{
	struct s2trace_reader *r;
	struct s2trace_event ev;
	char err[300];
	uint64_t n = 0;
	int ret;

	if (s2trace_open(path, &r, err, sizeof(err)))
		return -1;
	while ((ret = s2trace_next(r, &ev)) > 0) {
		if (ev.kind != S2T_EFFECT)
			continue;
		struct rev *rv = add_event(c);
		if (!rv)
			break;
		unsigned kind = S2HYP_NR_EVENT_KINDS;	/* drawn as "other" */
		switch (ev.effect.kind) {
		case S2T_EFF_PTE_WRITE: kind = S2HYP_EV_PTE_STORE; break;
		case S2T_EFF_TLBI: kind = S2HYP_EV_TLBI; break;
		case S2T_EFF_DSB: kind = S2HYP_EV_DSB; break;
		case S2T_EFF_DC: case S2T_EFF_IC: kind = S2HYP_EV_CMO; break;
		case S2T_EFF_FREE: kind = S2HYP_EV_FREE; break;
		case S2T_EFF_PTE_READ: kind = S2HYP_EV_WALK_READ; break;
		default: break;
		}
		rv->e = (struct s2hyp_event){ .step = ++n, .kind = (uint8_t)kind,
			.thread = (int8_t)(ev.effect.thread < S2HYP_MAX_VCPUS ? ev.effect.thread :
					   S2HYP_MAX_VCPUS - 1),
			.a = ev.effect.pa, .b = ev.effect.value, .flags = ev.effect.release };
		rv->line = ev.line;
		const char *text = ev.line && ev.line <= nlines ? lines[ev.line - 1] : "effect";
		snprintf(rv->text, sizeof(rv->text), "%s", text);
		char *hash = strchr(rv->text, '#');
		if (hash)
			*hash = '\0';
	}
	s2trace_close(r);
	for (unsigned i = 0; i < res->nr_eff_violations && !c->oom; i++) {
		const struct s2eff_violation *vi = &res->eff_violations[i];
		if (!s2_grow((void **)&c->viol, &c->viol_cap, sizeof(*c->viol), c->nviol + 1)) {
			c->oom = true;
			break;
		}
		struct snapshot *sn = &c->viol[c->nviol++];
		memset(sn, 0, sizeof(*sn));
		sn->v.rule = vi->rule;
		sn->v.step = vi->step;
		sn->v.thread = -1;
		sn->v.level = -1;
		snprintf(sn->v.detail, sizeof(sn->v.detail), "%.*s", (int)sizeof(sn->v.detail) - 1,
			 vi->detail);
		sn->at = vi->step <= c->n ? (size_t)vi->step : c->n;	/* just after its event */
	}
	return ret < 0 || c->oom ? -1 : 0;
}

/* Split the trace's text into lines, in place. */
static int read_lines(const char *path, uint8_t **data, char ***lines, size_t *nlines)
{
	size_t n;
	unsigned cap = 0;
	int ret = s2_read_file(path, data, &n);
	if (ret)
		return ret;
	char *t = (char *)*data;
	*lines = NULL;
	*nlines = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && t[j] != '\n')
			j++;
		if (!s2_grow((void **)lines, &cap, sizeof(**lines), *nlines + 1))
			return S2_ENOMEM;
		(*lines)[(*nlines)++] = t + i;
		if (j < n)
			t[j] = '\0';
		else
			break;
		i = j + 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu report [--walker NAME] [-o OUT.html] FILE\n\n"
		   "Replays FILE (a recorded counterexample or any trace replay runs) and\n"
		   "writes a self-contained HTML page: an SVG timeline with a lane for the\n"
		   "host, the hypervisor, each vCPU and the memory system showing every PTE\n"
		   "store, TLBI, DSB, CMO, walk, TLB fill, access and fault; the ghost state\n"
		   "of the entries involved; the rule that fired with its source; the TLBs\n"
		   "at the violation and the window where a CMO was due. Hovering an event\n"
		   "shows it with its trace line.\n\n"
		   "  --walker NAME   replay with this walker variant instead of the trace's\n"
		   "  -o OUT          write the page to OUT (default: standard output)\n\n"
		   "exit status: 0 the page was written (whether or not a rule fired),\n"
		   "2 bad input, usage, or the page could not be written.\n");
}

int cli_report(int argc, char **argv)
{
	struct s2trace_replay_opts opts = { 0 };
	const char *path = NULL, *out = NULL;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(o, "-o") || !strcmp(o, "--out")) {
			if (++i >= argc || out) {
				fprintf(stderr, "s2emu report: %s\n",
					out ? "-o given twice" : "-o needs a file name");
				return 2;
			}
			out = argv[i];
		} else if (!strcmp(o, "--walker")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "s2emu report: --walker needs a value\n");
				return 2;
			}
			if (s2pt_variant_parse(argv[++i], &opts.walker)) {
				char list[512];
				fprintf(stderr, "s2emu report: unknown walker '%s' (valid: %s)\n", argv[i],
					s2pt_variant_list(list, sizeof(list)));
				return 2;
			}
			opts.have_walker = true;
		} else if (o[0] == '-' && o[1]) {
			fprintf(stderr, "s2emu report: unknown option '%s'\n", o);
			return 2;
		} else if (path) {
			fprintf(stderr, "s2emu report: one trace at a time\n");
			return 2;
		} else {
			path = o;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(path, "-")) {
		fprintf(stderr, "s2emu report: the trace must be a file (its lines are shown)\n");
		return 2;
	}

	struct collect c = { 0 };
	struct s2trace_result res;
	struct page p = { .c = &c, .res = &res };
	uint8_t *text = NULL;
	int status = 2;

	c.ent = calloc(MAX_ENTRIES, sizeof(*c.ent));
	if (!c.ent) {
		fprintf(stderr, "s2emu report: out of memory\n");
		return 2;
	}
	struct s2hyp_observer obs = { .event = on_event, .host_op = on_host_op,
				      .violation = on_violation, .arg = &c };
	opts.observer = &obs;
	int ret = s2trace_replay(path, &opts, &res);
	c.nr_vcpus = res.cfg.nr_vcpus;
	if (ret == 2) {
		fprintf(stderr, "%s\n", res.error);
		goto out;
	}
	if (c.oom) {
		fprintf(stderr, "s2emu report: out of memory\n");
		goto out;
	}
	if (read_lines(path, &text, &p.lines, &p.nlines)) {
		fprintf(stderr, "s2emu report: cannot read %s\n", path);
		goto out;
	}
	p.memory_lane = false;
	for (size_t i = 0; i < c.n; i++)
		if (c.ev[i].e.thread == -2 && c.ev[i].e.kind != HOST_KIND)
			p.memory_lane = true;
	p.lanes = 2 + (int)res.cfg.nr_vcpus + (p.memory_lane ? 1 : 0);
	if (res.effect_trace) {
		p.effect = true;
		if (collect_effects(path, &res, &c, p.lines, p.nlines)) {
			fprintf(stderr, "s2emu report: cannot read the effects of %s again\n", path);
			goto out;
		}
		p.lanes = 1;
		for (size_t i = 0; i < c.n; i++)
			if (c.ev[i].e.thread + 1 > p.lanes)
				p.lanes = c.ev[i].e.thread + 1;
	}
	p.first = 0;
	p.last = c.n;
	if (c.n > MAX_DRAWN) {
		size_t at = c.nviol ? c.viol[0].at : c.n;
		size_t end = at + MAX_DRAWN / 10 < c.n ? at + MAX_DRAWN / 10 : c.n;
		p.first = end > MAX_DRAWN ? end - MAX_DRAWN : 0;
		p.last = p.first + MAX_DRAWN;
	}
	if (out && !strcmp(out, "-"))
		out = NULL;	/* "-o -": standard output */
	p.f = out ? fopen(out, "w") : stdout;
	if (!p.f) {
		fprintf(stderr, "s2emu report: cannot write %s: %s\n", out, strerror(errno));
		goto out;
	}
	write_page(&p);
	if (cli_close_output("report", p.f, out))
		goto out;
	status = 0;
out:
	for (size_t k = 0; k < c.nent; k++)
		free(c.ent[k].tr);
	free(c.ent);
	free(c.ev);
	free(c.viol);
	free(p.lines);
	free(text);
	s2trace_result_free(&res);
	return status;
}
