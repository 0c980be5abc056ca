/* The trace writer: any line from the event the reader makes of it, and a
 * scenario and its schedule as a version-1 trace. */
#include <stdio.h>
#include <string.h>

#include "cache-model/s2cache.h"
#include "common/s2_text.h"
#include "host-mm/s2host.h"
#include "traces/s2trace.h"

#define CHOICES_PER_LINE 24

static unsigned granule_k(unsigned shift)
{
	return 1u << (shift - 10);
}

/* " KEY=SIZE": sizes in the largest whole unit (2M, 12K), as the reader
 * takes them. */
static void print_size(FILE *f, const char *key, uint64_t v)
{
	char buf[32];
	fprintf(f, " %s=%s", key, s2_size_name(v, buf, sizeof(buf)));
}

/* " KEY=NUMBER" (" NUMBER" for a NULL key), decimal or as %#llx writes
 * it, without printf: vcpu and effect lines are most of an imported
 * capture. */
static void put_num(FILE *f, const char *key, unsigned long long v, bool hex)
{
	char buf[64], digits[24], *d = digits + sizeof(digits);
	size_t k = key ? strlen(key) : 0, n;

	do
		*--d = "0123456789abcdef"[hex ? v & 15 : v % 10];
	while (hex ? (v >>= 4) : (v /= 10));
	n = (size_t)(digits + sizeof(digits) - d);
	if (k + n + 4 > sizeof(buf)) {
		fprintf(f, " %s%s%s%.*s", key ? key : "", key ? "=" : "",
			hex && (n > 1 || *d != '0') ? "0x" : "", (int)n, d);
		return;
	}
	char *p = buf;
	*p++ = ' ';
	if (key) {
		memcpy(p, key, k);
		p += k;
		*p++ = '=';
	}
	if (hex && (n > 1 || *d != '0')) {
		*p++ = '0';
		*p++ = 'x';
	}
	memcpy(p, d, n);
	p += n;
	fwrite(buf, 1, (size_t)(p - buf), f);
}

/* " KEY=WORD", or " WORD" for a positional field (NULL key). */
static void put_word(FILE *f, const char *key, const char *word)
{
	fputc(' ', f);
	if (key) {
		fputs(key, f);
		fputc('=', f);
	}
	fputs(word, f);
}

/* The fields of ev's line (the grammar's s2trace_fields), each as the
 * reader takes it: " KEY=VALUE", " FLAG" or a positional " VALUE" (left
 * out unless pos). Config keys are written when given, a field with a
 * `have` member when it is set. */
static void print_fields(FILE *f, const struct s2trace_event *ev, bool pos)
{
	unsigned n;
	const struct s2trace_field *fs = s2trace_fields(ev, &n);
	bool written = false;

	for (unsigned i = 0; i < n; i++) {
		const struct s2trace_field *fl = &fs[i];
		if (!s2trace_field_applies(fl, ev) || (fl->given && !(ev->config.given & fl->given)))
			continue;
		if ((fl->flags & S2T_FF_NOWRITE) || (fl->have && !((const bool *)ev)[fl->have - 1]) ||
		    (!pos && (fl->flags & S2T_FF_POS)))
			continue;
		const char *key = fl->flags & S2T_FF_POS ? NULL : fl->key;
		unsigned long long v = s2trace_field_get(fl, ev);
		/* Only the access's bytes are stored; the reader refuses wider values. */
		if ((fl->flags & S2T_FF_SIZED) && ev->vcpu.op.size < 8)
			v &= (1ull << (8 * ev->vcpu.op.size)) - 1;
		if (!v && fl->zero_as)
			v = fl->zero_as;
		if (((!v && (fl->flags & S2T_FF_NONZERO)) ||
		     ((fl->flags & S2T_FF_SKIP) && v == fl->skip)) &&
		    (written || !(fl->flags & S2T_FF_FALLBACK)))
			continue;
		written |= !(fl->flags & S2T_FF_POS) && (fl->type != S2T_F_FLAG || v);
		switch (fl->type) {
		case S2T_F_DEC:
			put_num(f, key, v, false);
			break;
		case S2T_F_HEX:
		case S2T_F_ESR:
			put_num(f, key, v, true);
			break;
		case S2T_F_SIZE:
			print_size(f, fl->key, v);
			break;
		case S2T_F_BOOL:
			fprintf(f, " %s=%d", fl->key, v != 0);
			break;
		case S2T_F_FLAG:
			if (v)
				fprintf(f, " %s", fl->key);
			break;
		case S2T_F_WORD:
			put_word(f, key, s2trace_word(fl->words, (unsigned)v));
			break;
		case S2T_F_DSB:
		case S2T_F_TLBI:
		case S2T_F_DC:
		case S2T_F_IC:
			put_word(f, key, s2trace_op_word(fl->type, (unsigned)v));
			break;
		case S2T_F_NAME:
			put_word(f, key, v ? (const char *)(uintptr_t)v : "");
			break;
		case S2T_F_VACCESS:
			put_word(f, key, ev->vcpu.fault ? s2trace_word(S2T_W_VCPU, S2T_VACCESS_FAULT) :
							  s2trace_word(S2T_W_VCPU, ev->vcpu.op.access));
			break;
		case S2T_F_HOSTOP:
			put_word(f, key, ev->host.kind == S2HYP_HOST_MM ? s2trace_word(S2T_W_MM, ev->host.mm) :
									 s2trace_host_name(ev->host.kind));
			break;
		case S2T_F_CHOICES:
			for (unsigned c = 0; c < ev->schedule.n; c++) {
				fputc(' ', f);
				s2trace_print_choice(f, &ev->schedule.choices[c]);
			}
			break;
		case S2T_F_GRANULE:
			fprintf(f, " %s=%uk", fl->key, granule_k((unsigned)v));
			break;
		case S2T_F_WALKER:
			fprintf(f, " %s=%s", fl->key, s2pt_variant_name((enum s2pt_variant)v));
			break;
		case S2T_F_POLICY:
			fprintf(f, " %s=%s", fl->key, s2host_policy_name((enum s2host_policy)v));
			break;
		case S2T_F_PROT:
			fprintf(f, " %s=%s%s%s", fl->key, v & S2PT_PROT_R ? "r" : "",
				v & S2PT_PROT_W ? "w" : "", v & S2PT_PROT_X ? "x" : "");
			break;
		case S2T_F_RULE:
			fprintf(f, " %s=%s", fl->key, s2hyp_rule_name((enum s2hyp_rule)v));
			break;
		case S2T_F_TEXT:
			fprintf(f, " %s=%s", fl->key, v ? (const char *)(uintptr_t)v : "");
			break;
		case S2T_F_ONOFF:
			fprintf(f, " %s=%s", fl->key, v ? "on" : "off");
			break;
		}
	}
}

void s2trace_print_host_op(FILE *f, const struct s2hyp_host_op *o)
{
	fprintf(f, "%s", o->kind == S2HYP_HOST_MM ? s2trace_word(S2T_W_MM, o->mm)
						 : s2trace_host_name(o->kind));
	struct s2trace_event ev = { .kind = S2T_HOST, .host = *o };
	print_fields(f, &ev, false);
}

int s2trace_write_header(FILE *f, const struct s2hyp_scenario *sc,
			 const struct s2hyp_choice *sched, size_t nsched, const char *comment)
{
	const struct s2hyp_config *c = &sc->cfg;

	if (comment)
		fprintf(f, "# %s\n", comment);
	fprintf(f, "s2emu-trace %d\n", S2TRACE_VERSION);
	struct s2trace_event ev = { .kind = S2T_CONFIG };
	ev.config.cfg = *c;
	ev.config.given = S2T_CFG_GRANULE | S2T_CFG_IPA_BITS | S2T_CFG_VCPUS | S2T_CFG_WALKER |
			  S2T_CFG_FWB | S2T_CFG_IDC | S2T_CFG_DIC | S2T_CFG_LINE | S2T_CFG_EAGER_SPLIT;
	/* The host's features that change the run, when they differ from the
	 * default (so traces of older writers read back the same). */
	ev.config.given |= (c->rcu_free ? S2T_CFG_RCU : 0) | (c->range_tlbi ? S2T_CFG_RANGE_TLBI : 0) |
			   (c->hw_af ? S2T_CFG_HW_AF : 0) | (c->tlb_entries ? S2T_CFG_TLB_ENTRIES : 0) |
			   (c->combined_tlb ? S2T_CFG_COMBINED_TLB : 0) |
			   (c->host_mm ? S2T_CFG_HOST_MM : 0) | (c->split_chunk ? S2T_CFG_SPLIT_CHUNK : 0) |
			   (c->uffd_no_markers || c->uffd_no_wp_flush || c->uffd_no_fork_fix ?
			    S2T_CFG_UFFD : 0) |
			   (c->host_no_retry_check || c->host_map_writable_always ||
			    c->host_unmap_no_tlbi ? S2T_CFG_HOST_KVM : 0);
	s2trace_write_event(f, &ev);
	for (unsigned i = 0; i < sc->nr_slots; i++) {
		ev = (struct s2trace_event){ .kind = S2T_MEMSLOT };
		ev.memslot.id = i;
		ev.memslot.slot = sc->slots[i];
		s2trace_write_event(f, &ev);
	}
	ev = (struct s2trace_event){ .kind = S2T_SCHEDULE };
	for (size_t i = 0; i < nsched; i += CHOICES_PER_LINE) {
		ev.schedule.choices = &sched[i];
		ev.schedule.n = (unsigned)(nsched - i < CHOICES_PER_LINE ? nsched - i : CHOICES_PER_LINE);
		s2trace_write_event(f, &ev);
	}
	return ferror(f) ? S2_EIO : 0;
}

int s2trace_write_events(FILE *f, const struct s2hyp_scenario *sc)
{
	const struct s2hyp_config *c = &sc->cfg;
	size_t hpc = 0, vpc[S2HYP_MAX_VCPUS] = { 0 };

	/* Phases in increasing order; each thread keeps its own order. */
	for (;;) {
		unsigned p = ~0u;
		if (hpc < sc->nhost)
			p = sc->host[hpc].phase;
		for (unsigned v = 0; v < c->nr_vcpus; v++)
			if (vpc[v] < sc->nvcpu[v] && sc->vcpu[v][vpc[v]].phase < p)
				p = sc->vcpu[v][vpc[v]].phase;
		if (p == ~0u)
			break;
		struct s2trace_event ev = { .kind = S2T_PHASE, .phase.n = p };
		s2trace_write_event(f, &ev);
		ev.kind = S2T_HOST;
		while (hpc < sc->nhost && sc->host[hpc].phase == p) {
			ev.host = sc->host[hpc++];
			s2trace_write_event(f, &ev);
		}
		ev.kind = S2T_VCPU;
		for (unsigned v = 0; v < c->nr_vcpus; v++)
			while (vpc[v] < sc->nvcpu[v] && sc->vcpu[v][vpc[v]].phase == p) {
				ev.vcpu.vcpu = v;
				ev.vcpu.op = sc->vcpu[v][vpc[v]++];
				ev.vcpu.fault = false;
				s2trace_write_event(f, &ev);
			}
	}
	return ferror(f) ? S2_EIO : 0;
}

int s2trace_write_scenario(FILE *f, const struct s2hyp_scenario *sc,
			   const struct s2hyp_choice *sched, size_t nsched, const char *comment)
{
	int ret = s2trace_write_header(f, sc, sched, nsched, comment);
	return ret ? ret : s2trace_write_events(f, sc);
}

int s2trace_write_outcome(FILE *f, const struct s2hyp_stats *st)
{
	bool any = false;

	struct s2trace_event ev = { .kind = S2T_EXPECT };
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (st->violations[r]) {
			ev.expect.kind = S2T_EXP_FIRED;
			ev.expect.rule = (int)r;
			s2trace_write_event(f, &ev);
			any = true;
		}
	if (!any) {
		ev.expect.kind = S2T_EXP_CLEAN;
		s2trace_write_event(f, &ev);
	}
	return ferror(f) ? S2_EIO : 0;
}

/* ------------------------------------------------------------------ */
/* One line of any kind                                                */
/* ------------------------------------------------------------------ */

void s2trace_print_event(FILE *f, const struct s2trace_event *ev)
{
	fputs(s2trace_word(S2T_W_LINE, ev->kind), f);
	print_fields(f, ev, true);
}

int s2trace_write_event(FILE *f, const struct s2trace_event *ev)
{
	s2trace_print_event(f, ev);
	fputc('\n', f);
	return ferror(f) ? S2_EIO : 0;
}
