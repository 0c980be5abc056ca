/* The casemate log reader and converter (traces/casemate.c): every
 * transition kind in casemate's keyed and condensed forms, every way a log
 * can be malformed, and the effect events each kind becomes, read back
 * through our own trace reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache-model/s2cache.h"
#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"

#define NAME "cm.log"
#define SAMPLE "traces/corpus/casemate-sample.log"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* The only record text holds. */
static struct s2trace_cm_record one(const char *text)
{
	struct s2trace_cm_record rec, more;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	struct s2trace_cm_reader *r = s2trace_cm_reader_new(f, NAME);
	assert_non_null(r);
	int ret = s2trace_cm_next(r, &rec);
	if (ret != 1)
		fail_msg("'%s': %d %s", text, ret, s2trace_cm_error(r));
	ret = s2trace_cm_next(r, &more);
	if (ret != 0)
		fail_msg("'%s': a second record (%d) %s", text, ret, s2trace_cm_error(r));
	s2trace_cm_reader_free(r);
	fclose(f);
	return rec;
}

/* text must fail at line with a message holding what. */
static void bad(const char *text, size_t len, unsigned line, const char *what)
{
	struct s2trace_cm_record rec;
	char prefix[64];
	FILE *f = fmemopen((void *)text, len, "r");
	assert_non_null(f);
	struct s2trace_cm_reader *r = s2trace_cm_reader_new(f, NAME);
	int ret, n = 0;
	while ((ret = s2trace_cm_next(r, &rec)) == 1)
		n++;
	if (ret != S2_EPARSE)
		fail_msg("accepted (%d after %d records): %s", ret, n, text);
	const char *err = s2trace_cm_error(r);
	snprintf(prefix, sizeof(prefix), NAME ":%u: ", line);
	if (strncmp(err, prefix, strlen(prefix)))
		fail_msg("'%s' does not start with '%s' for: %s", err, prefix, text);
	if (!strstr(err, what))
		fail_msg("'%s' does not say '%s' for: %s", err, what, text);
	s2trace_cm_reader_free(r);
	fclose(f);
}

struct conv_out {
	int ret;
	struct s2trace_cm_result res;
	char *text;
	struct s2trace_event ev[2048];
	unsigned nev;
};

struct handed {
	struct s2trace_event ev[2048];
	unsigned nev;
};

static void take_event(void *arg, const struct s2trace_event *ev)
{
	struct handed *h = arg;
	assert_true(h->nev < sizeof(h->ev) / sizeof(h->ev[0]));
	h->ev[h->nev++] = *ev;
}

/* The events handed over without text (on_event) are those the trace
 * reader reads from the text, field by field, each with its record's line
 * of the log, and the conversion ends the same way. */
static void assert_same_without_text(const char *log, const struct s2trace_cm_opts *o,
				     const struct conv_out *c)
{
	struct s2trace_cm_opts oe = o ? *o : (struct s2trace_cm_opts){ 0 };
	struct s2trace_cm_result res;
	struct handed *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	oe.on_event = take_event;
	oe.arg = h;
	FILE *in = fmemopen((void *)log, strlen(log), "r");
	assert_non_null(in);
	assert_int_equal(s2trace_cm_convert(in, NAME, NULL, &oe, &res), c->ret);
	fclose(in);
	assert_string_equal(res.error, c->res.error);
	assert_int_equal(res.records, c->res.records);
	assert_int_equal(res.mapped, c->res.mapped);
	assert_int_equal(res.effects, c->res.effects);
	assert_int_equal(res.unused, c->res.unused);
	assert_int_equal(res.verdicts, c->res.verdicts);
	if (c->ret) {
		free(h);
		return;
	}
	assert_int_equal(h->nev, c->nev);
	unsigned last = 0;
	for (unsigned i = 0; i < h->nev; i++) {
		const struct s2trace_event *a = &h->ev[i], *t = &c->ev[i];
		assert_int_equal(a->kind, S2T_EFFECT);
		assert_int_equal(a->effect.thread, t->effect.thread);
		assert_int_equal(a->effect.kind, t->effect.kind);
		assert_int_equal(a->effect.pa, t->effect.pa);
		assert_int_equal(a->effect.value, t->effect.value);
		assert_int_equal(a->effect.size, t->effect.size);
		assert_int_equal(a->effect.ipa, t->effect.ipa);
		assert_int_equal(a->effect.level, t->effect.level);
		assert_int_equal(a->effect.op, t->effect.op);
		assert_int_equal(a->effect.release, t->effect.release);
		assert_int_equal(a->effect.have_vmid, t->effect.have_vmid);
		assert_int_equal(a->effect.vmid, t->effect.vmid);
		assert_int_equal(a->effect.have_addr, t->effect.have_addr);
		/* A log line (0 only for a VTCR given to the importer). */
		assert_true(a->line >= last);
		assert_true(a->line || (!i && o && o->have_vtcr));
		last = a->line;
	}
	free(h);
}

/* Convert log; on success read the output back with the trace reader,
 * which must accept all of it; the events handed over without text must
 * be the same. */
static struct conv_out *convert(const char *log, const struct s2trace_cm_opts *o)
{
	struct conv_out *c = calloc(1, sizeof(*c));
	size_t len = 0;
	assert_non_null(c);
	FILE *in = fmemopen((void *)log, strlen(log), "r");
	FILE *out = open_memstream(&c->text, &len);
	assert_non_null(in);
	assert_non_null(out);
	c->ret = s2trace_cm_convert(in, NAME, out, o, &c->res);
	assert_int_equal(fclose(out), 0);
	fclose(in);
	assert_true(!strncmp(c->text, "s2emu-trace 1\n", 14));
	if (c->ret) {
		assert_same_without_text(log, o, c);
		return c;
	}

	FILE *f = fmemopen(c->text, strlen(c->text), "r");
	struct s2trace_reader *r = s2trace_reader_new(f, "converted");
	int ret;
	while ((ret = s2trace_next(r, &c->ev[c->nev])) == 1) {
		assert_int_equal(c->ev[c->nev].kind, S2T_EFFECT);
		assert_true(++c->nev < sizeof(c->ev) / sizeof(c->ev[0]));
	}
	if (ret)
		fail_msg("the trace reader refuses the output: %s\n%s", s2trace_error(r), c->text);
	assert_int_equal(c->nev, c->res.effects);
	s2trace_close(r);
	fclose(f);
	assert_same_without_text(log, o, c);
	return c;
}

static void conv_free(struct conv_out *c)
{
	free(c->text);
	free(c);
}

/* The effect as our reader has it. */
static void assert_effect(const struct s2trace_event *ev, unsigned thread,
			  enum s2trace_effect_kind k, uint64_t pa, uint64_t value)
{
	assert_int_equal(ev->kind, S2T_EFFECT);
	assert_int_equal(ev->effect.thread, thread);
	assert_int_equal(ev->effect.kind, k);
	assert_int_equal(ev->effect.pa, pa);
	assert_int_equal(ev->effect.value, value);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void assert_has_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("no line '%s' in:\n%s", line, text);
}

static void assert_contains(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("no '%s' in:\n%s", what, text);
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

/* Every transition kind as casemate's tracer prints it, keyed. */
static void test_parse_every_kind(void **state)
{
	(void)state;
	struct s2trace_cm_record r;

	r = one("(mem-write (id 8) (tid 1) (mem-order plain) (address 0x8a2c3008) (value 0x9f4017ff) "
		"(src \"pgtable.c:812\"))\n");
	assert_int_equal(r.kind, S2T_CM_MEM_WRITE);
	assert_int_equal(r.line, 1);
	assert_string_equal(r.name, "mem-write");
	assert_int_equal(r.id, 8);
	assert_int_equal(r.tid, 1);
	assert_false(r.release);
	assert_int_equal(r.address, 0x8a2c3008);
	assert_int_equal(r.value, 0x9f4017ff);
	assert_true(r.have_src);
	assert_false(r.src_is_key);
	assert_string_equal(r.src, "pgtable.c:812");
	assert_false(r.have_operand);

	r = one("(mem-write (id 9) (tid 0) (mem-order release) (address 0x10) (value 0x0) (src \"a.c:1\"))");
	assert_true(r.release);

	r = one("(mem-read (id 13) (tid 2) (address 0x8a2c3000) (value 0x1234) (src \"pgtable.c:204\"))");
	assert_int_equal(r.kind, S2T_CM_MEM_READ);
	assert_int_equal(r.tid, 2);
	assert_int_equal(r.address, 0x8a2c3000);
	assert_int_equal(r.value, 0x1234);

	r = one("(mem-init (id 2) (tid 0) (address 0x8a2c0000) (size 0x2000) (src \"mem_protect.c:244\"))");
	assert_int_equal(r.kind, S2T_CM_MEM_INIT);
	assert_int_equal(r.address, 0x8a2c0000);
	assert_int_equal(r.size, 0x2000);

	r = one("(mem-free (id 40) (tid 0) (address 0x8a2c3000) (size 0x1000) (src \"mem_protect.c:221\"))");
	assert_int_equal(r.kind, S2T_CM_MEM_FREE);
	assert_int_equal(r.address, 0x8a2c3000);
	assert_int_equal(r.size, 0x1000);

	r = one("(mem-set (id 28) (tid 1) (address 0x8a2c3ff0) (size 0x10) (value 0xa5) (src \"m.c:520\"))");
	assert_int_equal(r.kind, S2T_CM_MEM_SET);
	assert_int_equal(r.address, 0x8a2c3ff0);
	assert_int_equal(r.size, 0x10);
	assert_int_equal(r.value, 0xa5);

	r = one("(sysreg-write (id 4) (tid 0) (sysreg vttbr_el2) (value 0x100008a2c0000) (src \"m.c:251\"))");
	assert_int_equal(r.kind, S2T_CM_SYSREG_WRITE);
	assert_string_equal(r.what, "vttbr_el2");
	assert_int_equal(r.value, 0x100008a2c0000ull);
	r = one("(msr (id 6) (tid 0) (sysreg vtcr_el2) (value 0x80023558) (src \"m.c:39\"))");
	assert_int_equal(r.kind, S2T_CM_SYSREG_WRITE);
	assert_string_equal(r.name, "msr");
	assert_string_equal(r.what, "vtcr_el2");

	r = one("(barrier (id 22) (tid 1) dsb (kind ishst) (src \"tlb.c:131\"))");
	assert_int_equal(r.kind, S2T_CM_BARRIER);
	assert_string_equal(r.what, "dsb");
	assert_string_equal(r.domain, "ishst");
	r = one("(barrier (id 27) (tid 1) isb (src \"tlb.c:163\"))");
	assert_string_equal(r.what, "isb");
	assert_string_equal(r.domain, "");

	r = one("(tlbi (id 23) (tid 1) ipas2e1is (value 0x700000040001) (src \"tlb.c:144\"))");
	assert_int_equal(r.kind, S2T_CM_TLBI);
	assert_string_equal(r.what, "ipas2e1is");
	assert_true(r.have_operand);
	assert_int_equal(r.value, 0x700000040001ull);
	r = one("(tlbi (id 25) (tid 1) vmalle1is (src \"tlb.c:161\"))");
	assert_string_equal(r.what, "vmalle1is");
	assert_false(r.have_operand);

	r = one("(hint (id 3) (tid 0) (kind set_root_lock) (location 0x8a2c0000) (value 0xffff80000a71c0c0) "
		"(src \"m.c:247\"))");
	assert_int_equal(r.kind, S2T_CM_HINT);
	assert_string_equal(r.what, "set_root_lock");
	assert_int_equal(r.address, 0x8a2c0000);
	assert_int_equal(r.value, 0xffff80000a71c0c0ull);

	static const struct {
		const char *name;
		enum s2trace_cm_kind k;
	} locks[] = { { "lock", S2T_CM_LOCK }, { "trylock", S2T_CM_TRYLOCK }, { "unlock", S2T_CM_UNLOCK } };
	for (unsigned i = 0; i < 3; i++) {
		char text[160];
		snprintf(text, sizeof(text), "(%s (id 6) (tid 3) (address 0xffff80000a71c0c0) (src \"m.c:309\"))",
			 locks[i].name);
		r = one(text);
		assert_int_equal(r.kind, locks[i].k);
		assert_string_equal(r.name, locks[i].name);
		assert_int_equal(r.tid, 3);
		assert_int_equal(r.address, 0xffff80000a71c0c0ull);
	}

	/* A transition this reader does not know keeps its name, id, thread
	 * and location; its other fields are not checked. */
	r = one("(vcpu-run (id 50) (tid 2) (vcpu 0x3) extra \"where.c:9\")");
	assert_int_equal(r.kind, S2T_CM_UNKNOWN);
	assert_string_equal(r.name, "vcpu-run");
	assert_int_equal(r.id, 50);
	assert_int_equal(r.tid, 2);
	assert_string_equal(r.src, "where.c:9");

	/* casemate's verdict. */
	r = one("! BBM invalid unclean->valid\n");
	assert_int_equal(r.kind, S2T_CM_VERDICT);
	assert_string_equal(r.message, "BBM invalid unclean->valid");
	assert_int_equal(r.line, 1);
}

/* The condensed form (bare values in casemate's order, the location as a
 * bare string anywhere) reads as the same record as the keyed form. */
static void test_parse_condensed_equals_keyed(void **state)
{
	(void)state;
	static const char *const pairs[][2] = {
		{ "(mem-write (id 1) (tid 1) (mem-order release) (address 0x42) (value 0x93) (src \"s\"))",
		  "(mem-write 1 1 \"s\" release 42 93)" },
		{ "(mem-write (id 33) (tid 0) (mem-order plain) (address 0x8a2c2000) (value 0x0) (src \"p.c:762\"))",
		  "(mem-write 33 0 plain 0x8a2c2000 0x0 \"p.c:762\")" },
		{ "(mem-read (id 2) (tid 0) (address 0x8) (value 0x1) (src \"r.c:1\"))",
		  "(mem-read 2 0 8 1 \"r.c:1\")" },
		{ "(mem-init (id 3) (tid 0) (address 0x1000) (size 0x1000))", "(mem-init 3 0 1000 1000)" },
		{ "(mem-free (id 3) (tid 0) (address 0x1000) (size 0x1000))", "(mem-free 3 0 0x1000 0x1000)" },
		{ "(mem-set (id 4) (tid 0) (address 0x1000) (size 0x10) (value 0x0))", "(mem-set 4 0 1000 10 0)" },
		{ "(msr (id 3) (tid 1) (sysreg ttbr0_el2) (value 0x93) (src \"src\"))",
		  "(msr 3 1 \"src\" TTBR0_EL2 93)" },
		{ "(barrier (id 4) (tid 1) dsb (kind ish) (src \"src\"))", "(barrier 4 1 \"src\" DSB ISH)" },
		{ "(barrier (id 34) (tid 0) isb)", "(barrier 34 0 isb)" },
		{ "(hint (id 5) (tid 1) (kind set_pte_thread_owner) (location 0x42) (value 0x93) (src \"src\"))",
		  "(hint 5 1 \"src\" SET_PTE_THREAD_OWNER 42 93)" },
		{ "(lock (id 2) (tid 1) (address 0x42) (src \"src\"))", "(lock 2 1 \"src\" 42)" },
		{ "(tlbi (id 35) (tid 0) vmalls12e1is (src \"t.c:118\"))", "(tlbi 35 0 vmalls12e1is \"t.c:118\")" },
		{ "(tlbi (id 10) (tid 0) ipas2e1is (value 0x700000040001))", "(tlbi 10 0 ipas2e1is 700000040001)" },
		{ "(tlbi (id 10) (tid 0) ipas2e1is (addr 0x40001) (level 0x7))",
		  "(tlbi 10 0 ipas2e1is 0x40001 7)" },
		/* Keys in another order, one keyed among bare ones. */
		{ "(mem-write (id 7) (tid 2) (mem-order plain) (address 0x10) (value 0x20))",
		  "(mem-write (value 0x20) 7 (tid 2) plain 10)" },
	};
	for (unsigned i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct s2trace_cm_record a = one(pairs[i][0]), b = one(pairs[i][1]);
		if (memcmp(&a, &b, sizeof(a)))
			fail_msg("pair %u differs: %s / %s", i, pairs[i][0], pairs[i][1]);
	}
}

/* Layout the reader takes: records over several lines, tabs and CR LF,
 * upper-case words, the "thread" and "msr" spellings, a location given as
 * an integer key or not at all, verdicts between records. */
static void test_parse_layout(void **state)
{
	(void)state;
	const char *log =
		"\r\n"
		"(mem-init\n"
		"  (id 0)\n"
		"  (thread 0)\n"
		"  (address 0xaaaaaf200000)\n"
		"\t(size 0x1000)\r\n"
		"  (src \"test04.c:29\"))\n"
		"(lock (id 1) (tid 0) (address 0x10) (src 17))(unlock (id 2) (tid 0) (address 0x10))\n"
		"! must write to pte while holding owner lock\r\n"
		"!\n"
		"(BARRIER (ID 3) (TID 0) DSB (KIND ISH) (SRC \"x.c:1\"))\n";
	FILE *f = fmemopen((void *)log, strlen(log), "r");
	struct s2trace_cm_reader *r = s2trace_cm_reader_new(f, NAME);
	struct s2trace_cm_record rec;

	assert_int_equal(s2trace_cm_next(r, &rec), 1);
	assert_int_equal(rec.kind, S2T_CM_MEM_INIT);
	assert_int_equal(rec.line, 2);
	assert_int_equal(rec.address, 0xaaaaaf200000ull);
	assert_int_equal(rec.size, 0x1000);
	assert_string_equal(rec.src, "test04.c:29");

	assert_int_equal(s2trace_cm_next(r, &rec), 1);
	assert_int_equal(rec.kind, S2T_CM_LOCK);
	assert_int_equal(rec.line, 8);
	assert_true(rec.have_src && rec.src_is_key);
	assert_int_equal(rec.src_key, 17);

	assert_int_equal(s2trace_cm_next(r, &rec), 1);
	assert_int_equal(rec.kind, S2T_CM_UNLOCK);
	assert_int_equal(rec.line, 8);
	assert_false(rec.have_src);

	assert_int_equal(s2trace_cm_next(r, &rec), 1);
	assert_int_equal(rec.kind, S2T_CM_VERDICT);
	assert_int_equal(rec.line, 9);
	assert_string_equal(rec.message, "must write to pte while holding owner lock");
	assert_int_equal(s2trace_cm_next(r, &rec), 1);
	assert_int_equal(rec.kind, S2T_CM_VERDICT);
	assert_string_equal(rec.message, "");

	assert_int_equal(s2trace_cm_next(r, &rec), 1);
	assert_int_equal(rec.kind, S2T_CM_BARRIER);
	assert_int_equal(rec.line, 11);
	assert_string_equal(rec.name, "barrier");
	assert_string_equal(rec.what, "dsb");
	assert_string_equal(rec.domain, "ish");
	assert_int_equal(s2trace_cm_next(r, &rec), 0);
	s2trace_cm_reader_free(r);
	fclose(f);

	/* Nothing at all, or only blanks, is an empty log. */
	const char *empties[] = { "", "\n\n  \t\r\n" };
	for (unsigned i = 0; i < 2; i++) {
		f = fmemopen((void *)empties[i], strlen(empties[i]), "r");
		r = s2trace_cm_reader_new(f, NAME);
		assert_int_equal(s2trace_cm_next(r, &rec), 0);
		s2trace_cm_reader_free(r);
		fclose(f);
	}

	/* A verdict's unprintable bytes become '?', and it is cut at the limit. */
	char verdict[600] = "! bad \x01 byte ";
	memset(verdict + strlen(verdict), 'x', 400);
	rec = one(verdict);
	assert_int_equal(strlen(rec.message), S2TRACE_CM_MAX_TEXT - 1);
	assert_true(!strncmp(rec.message, "bad ? byte x", 12));

	/* Numbers at the edges of 64 bits. */
	rec = one("(mem-read (id 18446744073709551615) (tid 0) (address 0xffffffffffffffff) "
		  "(value ffffffffffffffff))");
	assert_int_equal(rec.id, UINT64_MAX);
	assert_int_equal(rec.address, UINT64_MAX);
	assert_int_equal(rec.value, UINT64_MAX);
}

/* TLBIs: the operand as one value (newer casemate) or as addr and level
 * (older), bare or keyed; the operations that take no address; the IPA
 * and level hint an operand holds. */
static void test_parse_tlbi(void **state)
{
	(void)state;
	struct s2trace_cm_record r = one("(tlbi (id 1) (tid 0) ipas2e1is (addr 0x40001) (level 0x7))");
	assert_true(r.have_operand);
	assert_int_equal(r.value, 0x700000040001ull);
	r = one("(tlbi (id 1) (tid 0) ipas2e1is (addr 0x40001))");
	assert_int_equal(r.value, 0x40001);
	r = one("(tlbi (id 1) (tid 0) ipas2e1is (level 3) (addr 0x0))");
	assert_int_equal(r.value, 0x300000000000ull);
	/* An operation this reader does not know may come with or without. */
	r = one("(tlbi (id 1) (tid 0) rvae2is (value 0x1234))");
	assert_string_equal(r.what, "rvae2is");
	assert_true(r.have_operand);
	r = one("(tlbi (id 1) (tid 0) vmallws2e1is)");
	assert_false(r.have_operand);

	static const struct {
		uint64_t operand;
		uint64_t ipa;
		int level;
	} ops[] = {
		{ 0x40001, 0x40001000, -1 },			/* no TTL */
		{ 0x700000040001ull, 0x40001000, 3 },		/* 4K, level 3 */
		{ 0x600000040000ull, 0x40000000, 2 },		/* 4K, level 2 */
		{ 0x500000040000ull, 0x40000000, 1 },		/* 4K, level 1 */
		{ 0x400000040000ull, 0x40000000, -1 },		/* level 0: reserved */
		{ 0xa00000040000ull, 0x40000000, 2 },		/* 16K, level 2 */
		{ 0xf00000040000ull, 0x40000000, 3 },		/* 64K, level 3 */
		{ 0x300000040000ull, 0x40000000, -1 },		/* no granule: no hint */
		{ 0xffffffffffffffffull, 0xffffffffff000ull, 3 },	/* bits above 47 ignored */
		{ 0x8000000000ull, 0x8000000000000ull, -1 },	/* IPA[51] from bit 39 */
		{ 0x10000000000ull, 0, -1 },			/* bit 40 is not an IPA bit */
	};
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		assert_int_equal(s2trace_cm_tlbi_ipa(ops[i].operand), ops[i].ipa);
		assert_int_equal(s2trace_cm_tlbi_level(ops[i].operand), ops[i].level);
	}
}

struct bad_case {
	const char *text;
	unsigned line;
	const char *what;
};

#define RUN_BAD(c)                                                        \
	for (unsigned i_ = 0; i_ < sizeof(c) / sizeof(c[0]); i_++)        \
		bad(c[i_].text, strlen(c[i_].text), c[i_].line, c[i_].what)

/* Malformed s-expressions: where records start and end, strings, words,
 * bytes that have no place in a log. */
static void test_errors_syntax(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ "mem-write (id 1)\n", 1, "a record starts with '(', not 'm'" },
		{ "(lock 1 0 0)\n\n  x\n", 3, "a record starts with '(', not 'x'" },
		{ "\n)\n", 2, "')' closes nothing" },
		{ "(lock 1 0 0)\ncat\n", 2, "a record starts with '(', not 'cat'" },
		{ "(lock 1 0 0)\ncasemate error\nmsg: x\n! [0x0]=0x0\n", 2,
		  "casemate's error report has no '! message' line" },
		{ "(lock 1 0 0))\n", 1, "')' closes nothing" },
		{ "()\n", 1, "a record starts with the name of its transition, not ')'" },
		{ "((lock))\n", 1, "a record starts with the name of its transition, not '('" },
		{ "(\"lock\" 1 0 0)\n", 1, "a record starts with the name of its transition, not a value" },
		{ "(", 1, "not the end of the log" },
		{ "(lock (id 1) (tid 0) (address 0x10)\n", 1, "the log ends inside this record" },
		{ "\n(mem-write\n (id 1)\n (tid 0)\n", 2, "the log ends inside this record" },
		{ "(lock (id 1) (tid", 1, "the log ends inside this record" },
		{ "(lock (id 1) (tid 0", 1, "the log ends inside this record" },
		{ "(lock (id 1) (", 1, "a field starts with its name, not the end of the log" },
		{ "(lock (id 1) ((tid 0)) 0x10)\n", 1, "lock: a field starts with its name, not '('" },
		{ "(lock (id 1) (\"tid\" 0) 0x10)\n", 1, "a field starts with its name, not a value" },
		{ "(lock (id 1) (tid) 0x10)\n", 1, "lock: field (tid) has no value" },
		{ "(lock (id 1) (tid (0)) 0x10)\n", 1, "lock: field (tid) holds '(', not a value" },
		{ "(lock (id 1) (tid 0 1) 0x10)\n", 1, "lock: field (tid) has more than one value" },
		{ "(lock (id 1)\n (tid 0) (src \"a.c:1\n\"))\n", 2, "a string is not closed on its line" },
		{ "(lock (id 1) (tid 0) (address 0) (src \"a.c", 1, "a string is not closed on its line" },
		{ "(lock (id 1) (tid 0) (address 0) (src \"a\x01.c\"))", 1, "byte 0x01 inside a string" },
		{ "(lock (id 1) (tid 0) (address 0) (src \"a\x7f\"))", 1, "byte 0x7f inside a string" },
		{ "(lock (id 1) (tid 0) (address 0) (src \"\xc3\xa9\"))", 1, "byte 0xc3 inside a string" },
		{ "(lock (id 1) (tid 0) (address 0\x02))", 1, "byte 0x02 where a word or '(' belongs" },
		{ "(lock (id 1) (tid 0) (address \xff))", 1, "byte 0xff where a word or '(' belongs" },
		{ "(lock\n\n(id 1) \x1b", 3, "byte 0x1b where a word" },
		{ "\xef\xbb\xbf(lock 1 0 0)", 1, "a record starts with '(', not '?'" },
		{ "(lock 1 0 0)\n(unlock 2 0 0)\n(mem-read 3 0 0 0 x y)\n", 3,
		  "mem-read: unexpected 'x' after its last field" },
		{ "(a-very-long-transition-name-here (id 1) (tid 0))", 1,
		  "transition name 'a-very-long-transition-name-here...' is too long" },
		{ "(lock 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17)", 1, "lock: more than 16 fields" },
	};
	RUN_BAD(c);

	/* Strings and words past their limit. */
	char text[700];
	snprintf(text, sizeof(text), "(lock (id 1) (tid 0) (address 0) (src \"%0300d\"))", 0);
	bad(text, strlen(text), 1, "a string longer than 255 bytes");
	snprintf(text, sizeof(text), "(lock (id 1) (tid 0) (address %0300d))", 0);
	bad(text, strlen(text), 1, "a word longer than 255 bytes");

	/* NUL bytes: between records, inside one, inside a verdict. */
	static const char nul1[] = "(lock 1 0 0)\n\0(lock 2 0 0)\n";
	static const char nul2[] = "(lock 1 0\0 0)\n";
	static const char nul3[] = "(lock 1 0 0)\n! bad\0\n";
	bad(nul1, sizeof(nul1) - 1, 2, "NUL byte");
	bad(nul2, sizeof(nul2) - 1, 1, "byte 0x00 where a word");
	bad(nul3, sizeof(nul3) - 1, 2, "NUL byte");
}

/* Well-formed s-expressions that are not records of their kind. */
static void test_errors_fields(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ "(lock (tid 0) (address 0x10))", 1, "lock has no id" },
		{ "(lock (id 0) (address 0x10))", 1, "lock has no tid" },
		{ "(lock (id 0) (tid 0))", 1, "lock has no address" },
		{ "(unknown-step)", 1, "unknown-step has no id" },
		{ "\n(mem-write (id 1) (tid 0) (address 0x10) (value 0))", 2, "mem-write has no mem-order" },
		{ "(mem-write (id 1) (tid 0) (mem-order plain) (value 0))", 1, "mem-write has no address" },
		{ "(mem-write (id 1) (tid 0) (mem-order plain) (address 0))", 1, "mem-write has no value" },
		{ "(mem-read (id 1) (tid 0) (address 0))", 1, "mem-read has no value" },
		{ "(mem-init (id 1) (tid 0) (address 0))", 1, "mem-init has no size" },
		{ "(mem-free (id 1) (tid 0) (size 0))", 1, "mem-free has no address" },
		{ "(mem-set (id 1) (tid 0) (address 0) (size 8))", 1, "mem-set has no value" },
		{ "(sysreg-write (id 1) (tid 0) (value 0))", 1, "sysreg-write has no sysreg" },
		{ "(msr (id 1) (tid 0) (sysreg vttbr_el2))", 1, "msr has no value" },
		{ "(barrier (id 1) (tid 0))", 1, "barrier has no operation" },
		{ "(tlbi (id 1) (tid 0))", 1, "tlbi has no operation" },
		{ "(hint (id 1) (tid 0) (location 0) (value 0))", 1, "hint has no kind" },
		{ "(hint (id 1) (tid 0) (kind release_table) (value 0))", 1, "hint has no location" },
		{ "(lock (id 1) (tid 0) (address 0) (value 1))", 1, "lock has no field (value)" },
		{ "(mem-write (id 1) (tid 0) (order plain) (address 0) (value 0))", 1,
		  "mem-write has no field (order)" },
		{ "(lock (id 1) (id 2) (tid 0) (address 0))", 1, "lock: (id) given twice" },
		{ "(lock 1 (id 2) (tid 0) (address 0))", 1, "lock: (id) given twice" },
		{ "(lock 1 0 0 \"a.c:1\" (src \"b.c:2\"))", 1, "lock: (src) given twice" },
		{ "(tlbi 1 0 (value 1) (addr 2) vmalle1is)", 1, "tlbi: (value) given twice" },
		{ "(lock (id x) (tid 0) (address 0))", 1, "lock: (id x): not a number" },
		{ "(lock (id 0x) (tid 0) (address 0))", 1, "(id 0x): not a number" },
		{ "(lock (id 1a) (tid 0) (address 0))", 1, "(id 1a): not a number" },
		{ "(lock (id -1) (tid 0) (address 0))", 1, "(id -1): not a number" },
		{ "(lock (id 1) (tid 0) (address 0xg))", 1, "(address 0xg): not a number" },
		{ "(lock (id 1) (tid 0) (address 12345678901234567))", 1,
		  "(address 12345678901234567): number too large" },
		{ "(lock (id 18446744073709551616) (tid 0) (address 0))", 1, "number too large" },
		{ "(lock 1 0 \"0x10\" \"a.c:1\")", 1, "lock: (src) given twice" },
		{ "(lock (id 1) (tid 0) (address \"0x10\"))", 1, "lock: (address) takes a number, not a string" },
		{ "(barrier (id 1) (tid 0) dsb (kind \"ish\"))", 1, "barrier: (kind) takes a word, not a string" },
		{ "(sysreg-write (id 1) (tid 0) (sysreg a_register_name_of_forty_bytes__) (value 0))", 1,
		  "is too long for (sysreg)" },
		{ "(lock (id 1) (tid 0) (address 0) (src x))", 1,
		  "lock: (src x): a location is a string or a decimal key" },
		{ "(mem-write (id 1) (tid 0) (mem-order acquire) (address 0) (value 0))", 1,
		  "mem-order is plain or release, not 'acquire'" },
		{ "(barrier (id 1) (tid 0) dmb (kind ish))", 1, "a barrier is dsb or isb, not 'dmb'" },
		{ "(barrier (id 1) (tid 0) dsb)", 1, "dsb needs its kind" },
		{ "(barrier (id 1) (tid 0) isb (kind sy))", 1, "isb takes no kind" },
		{ "(tlbi (id 1) (tid 0) ipas2e1is (addr 0) (level 16))", 1,
		  "tlbi: level 16 does not fit the 4-bit TTL field" },
		{ "(tlbi (id 1) (tid 0) ipas2e1is (level 3))", 1, "tlbi: a level without an address" },
		{ "(tlbi (id 1) (tid 0) vmalls12e1is (value 0x40000))", 1, "tlbi vmalls12e1is takes no address" },
		{ "(tlbi 1 0 alle1is 5)", 1, "tlbi alle1is takes no address" },
		{ "(tlbi (id 1) (tid 0) ipas2e1is)", 1, "tlbi ipas2e1is needs its address" },
		{ "(tlbi 1 0 vale2is \"a.c:3\")", 1, "tlbi vale2is needs its address" },
	};
	RUN_BAD(c);
}

/* A stream that cannot be read gives S2_EIO, not a parse error. */
static void test_read_error(void **state)
{
	(void)state;
	FILE *f = fopen("/dev/null", "w");
	assert_non_null(f);
	struct s2trace_cm_reader *r = s2trace_cm_reader_new(f, NAME);
	struct s2trace_cm_record rec;
	assert_int_equal(s2trace_cm_next(r, &rec), S2_EIO);
	assert_string_equal(s2trace_cm_error(r), NAME ":1: read error");
	s2trace_cm_reader_free(r);
	fclose(f);
}

/* ------------------------------------------------------------------ */
/* Conversion                                                          */
/* ------------------------------------------------------------------ */

/* Every kind that has an effect, with its thread, source and id. */
static void test_convert_every_kind(void **state)
{
	(void)state;
	const char *log =
		"(sysreg-write (id 0) (tid 0) (sysreg vtcr_el2) (value 0x80023558) (src \"m.c:137\"))\n"
		"(mem-init (id 1) (tid 0) (address 0x8a2c0000) (size 0x2000) (src \"m.c:244\"))\n"
		"(msr (id 2) (tid 0) (sysreg vttbr_el2) (value 0x100008a2c0000) (src 42))\n"
		"(lock (id 3) (tid 5) (address 0xffff00000001000))\n"
		"(mem-write (id 4) (tid 5) (mem-order release) (address 0x8a2c1ff8) (value 0x8a2c2003) (src \"p.c:871\"))\n"
		"(mem-write (id 5) (tid 5) (mem-order plain) (address 0x8a2c0000) (value 0) (src \"p.c:762\"))\n"
		"(mem-read (id 6) (tid 5) (address 0x8a2c0008) (value 0x77) (src \"p.c:204\"))\n"
		"(barrier (id 7) (tid 5) dsb (kind ishst) (src \"t.c:1\"))\n"
		"(barrier (id 8) (tid 5) dsb (kind ish))\n"
		"(barrier (id 9) (tid 5) dsb (kind nsh))\n"
		"(barrier (id 10) (tid 5) dsb (kind nshst))\n"
		"(barrier (id 11) (tid 5) dsb (kind sy))\n"
		"(barrier (id 12) (tid 5) isb)\n"
		"(tlbi (id 13) (tid 5) ipas2e1is (value 0x700000040001))\n"
		"(tlbi (id 14) (tid 5) ipas2e1 (value 0x40200))\n"
		"(tlbi (id 15) (tid 5) ipas2e1is (addr 0x40000) (level 0x6))\n"
		"(tlbi (id 16) (tid 5) vmalls12e1is)\n"
		"(tlbi (id 17) (tid 5) vmalle1is)\n"
		"(tlbi (id 18) (tid 5) vmalle1)\n"
		"(tlbi (id 19) (tid 5) alle1is)\n"
		"(mem-set (id 20) (tid 255) (address 0x8a2c0ff0) (size 0x20) (value 0xa5))\n"
		"(unlock (id 21) (tid 5) (address 0xffff00000001000))\n"
		"(mem-free (id 22) (tid 0) (address 0x8a2c0000) (size 0x2000) (src \"m.c:221\"))\n";
	struct conv_out *c = convert(log, NULL);
	assert_int_equal(c->ret, 0);
	const struct s2trace_event *ev = c->ev;
	unsigned i = 0;

	assert_effect(&ev[i++], 0, S2T_EFF_VTCR, 0, 0x80023558);
	assert_effect(&ev[i], 0, S2T_EFF_ALLOC, 0x8a2c0000, 0);
	assert_int_equal(ev[i++].effect.size, 0x2000);
	assert_effect(&ev[i++], 0, S2T_EFF_VTTBR, 0, 0x100008a2c0000ull);
	assert_effect(&ev[i], 5, S2T_EFF_LOCK, 0xffff00000001000ull, 0);
	assert_true(ev[i++].effect.have_addr);
	assert_effect(&ev[i], 5, S2T_EFF_PTE_WRITE, 0x8a2c1ff8, 0x8a2c2003);
	assert_true(ev[i++].effect.release);
	assert_effect(&ev[i], 5, S2T_EFF_PTE_WRITE, 0x8a2c0000, 0);
	assert_false(ev[i++].effect.release);
	assert_effect(&ev[i++], 5, S2T_EFF_PTE_READ, 0x8a2c0008, 0x77);
	static const enum s2pt_barrier dsbs[] = { S2PT_DSB_ISHST, S2PT_DSB_ISH, S2PT_DSB_NSH,
						  S2PT_DSB_NSHST, S2PT_DSB_SY };
	for (unsigned k = 0; k < 5; k++) {
		assert_effect(&ev[i], 5, S2T_EFF_DSB, 0, 0);
		assert_int_equal(ev[i++].effect.op, dsbs[k]);
	}
	assert_effect(&ev[i++], 5, S2T_EFF_ISB, 0, 0);
	assert_effect(&ev[i], 5, S2T_EFF_TLBI, 0, 0);
	assert_int_equal(ev[i].effect.op, S2ARM_TLBI_IPAS2E1IS);
	assert_int_equal(ev[i].effect.ipa, 0x40001000);
	assert_int_equal(ev[i++].effect.level, 3);
	assert_int_equal(ev[i].effect.op, S2ARM_TLBI_IPAS2E1);
	assert_int_equal(ev[i].effect.ipa, 0x40200000);
	assert_int_equal(ev[i++].effect.level, -128);
	assert_int_equal(ev[i].effect.op, S2ARM_TLBI_IPAS2E1IS);
	assert_int_equal(ev[i].effect.ipa, 0x40000000);
	assert_int_equal(ev[i++].effect.level, 2);
	assert_int_equal(ev[i++].effect.op, S2ARM_TLBI_VMALLS12E1IS);
	assert_int_equal(ev[i++].effect.op, S2ARM_TLBI_VMALLE1IS);
	assert_int_equal(ev[i++].effect.op, S2ARM_TLBI_VMALLE1);
	assert_int_equal(ev[i++].effect.op, S2ARM_TLBI_ALLE1IS);
	/* mem-set: one store of the repeated byte per word. */
	for (uint64_t pa = 0x8a2c0ff0; pa < 0x8a2c1010; pa += 8)
		assert_effect(&ev[i++], 255, S2T_EFF_PTE_WRITE, pa, 0xa5a5a5a5a5a5a5a5ull);
	assert_effect(&ev[i++], 5, S2T_EFF_UNLOCK, 0xffff00000001000ull, 0);
	assert_effect(&ev[i], 0, S2T_EFF_FREE, 0x8a2c0000, 0);
	assert_int_equal(ev[i++].effect.size, 0x2000);
	assert_int_equal(i, c->nev);

	/* Where each came from, on its first line only. */
	assert_has_line(c->text, "effect 0 alloc pa=0x8a2c0000 size=8K  # src: m.c:244 (id 1)");
	assert_has_line(c->text, "effect 0 vttbr value=0x100008a2c0000  # src: key 42 (id 2)");
	assert_has_line(c->text, "effect 5 lock addr=0xffff00000001000  # id 3");
	assert_has_line(c->text, "effect 5 pte-write pa=0x8a2c1ff8 value=0x8a2c2003 release  # src: p.c:871 (id 4)");
	assert_has_line(c->text, "effect 5 tlbi alle1is  # id 19");
	assert_int_equal(c->res.records, 23);
	assert_int_equal(c->res.mapped, 23);
	assert_int_equal(c->res.unused, 0);
	assert_int_equal(c->res.verdicts, 0);
	assert_true(c->res.saw_vtcr && c->res.saw_vttbr);
	assert_null(strstr(c->text, "# note:"));
	assert_null(strstr(c->text, "# unused:"));
	assert_has_line(c->text, "# 23 transitions: 23 mapped to 26 effects, 0 unused; 0 casemate verdicts");
	conv_free(c);
}

/* Records with nothing to check are kept in place as comments and summed
 * up by kind and reason; every other kind maps to an effect. */
static void test_convert_unused(void **state)
{
	(void)state;
	const char *log =
		"(mem-init 0 0 0x1000 0x1000)\n"
		"(lock 1 0 0xa0)\n"
		"(hint (id 2) (tid 0) (kind set_root_lock) (location 0x1000) (value 0xa0) (src \"m.c:1\"))\n"
		"(hint (id 3) (tid 0) (kind set_owner_root) (location 0x1000) (value 0x1000))\n"
		"(hint (id 4) (tid 0) (kind release_table) (location 0x1000) (value 0))\n"
		"(trylock 5 1 0xa0)\n"
		"(sysreg-write 6 0 hcr_el2 0x80000000)\n"
		"(sysreg-write 7 0 ttbr0_el2 0x2000)\n"
		"(sysreg-write 8 0 mair_el2 0xff)\n"
		"(tlbi 9 0 vmalls12e1)\n"
		"(tlbi 10 0 vae2is 0x1000000000040)\n"
		"(tlbi 11 0 alle2is)\n"
		"(mem-write 12 0 plain 0x5000 0)\n"
		"(mem-read 13 0 0x5000 0)\n"
		"(mem-free 14 0 0x6000 0x1000)\n"
		"(mem-set 15 0 0x7000 0x10 0)\n"
		"! BBM valid->valid\n"
		"(mem-read 16 0 0x5008 0)\n";
	struct conv_out *c = convert(log, NULL);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.records, 17);
	assert_int_equal(c->res.verdicts, 1);
	assert_string_equal(c->res.verdict, "BBM valid->valid");
	assert_int_equal(c->res.unused, 5);
	assert_int_equal(c->res.mapped, 12);
	assert_has_line(c->text, "effect 0 hint kind=set-root-lock pa=0x1000 value=0xa0  # src: m.c:1 (id 2)");
	assert_has_line(c->text, "effect 0 hint kind=release-table pa=0x1000 value=0  # id 4");
	assert_has_line(c->text, "effect 1 trylock addr=0xa0  # id 5");
	assert_has_line(c->text, "effect 0 sysreg name=ttbr0_el2 value=0x2000  # id 7");
	assert_has_line(c->text, "effect 0 tlbi vae2is va=0x40000 asid=1  # id 10");
	assert_has_line(c->text, "effect 0 write pa=0x5000 value=0  # id 12");

	static const struct {
		const char *what;
		uint64_t count;
		const char *reason_part;
		unsigned first_line;
	} groups[] = {
		{ "sysreg-write mair_el2", 1, "MAIR_EL2", 9 },
		{ "mem-read", 2, "a read of memory", 14 },
		{ "mem-free", 1, "a free of memory", 15 },
		{ "mem-set", 1, "a mem-set of memory", 16 },
	};
	assert_int_equal(c->res.ngroups, sizeof(groups) / sizeof(groups[0]));
	for (unsigned g = 0; g < c->res.ngroups; g++) {
		const struct s2trace_cm_unused *u = &c->res.groups[g];
		assert_string_equal(u->what, groups[g].what);
		assert_int_equal(u->count, groups[g].count);
		assert_non_null(strstr(u->reason, groups[g].reason_part));
		assert_int_equal(u->lines[0], groups[g].first_line);
	}
	assert_int_equal(c->res.groups[1].lines[1], 18);
	assert_has_line(c->text, "# casemate: ! BBM valid->valid");
	assert_has_line(c->text, "# unused: 5 of 17 transitions map to no effect:");
	assert_contains(c->text, "\n# unused:   2 x mem-read (lines 14, 18): a read of memory");

	/* The same summary for people. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	s2trace_cm_print_unused(f, "x: ", &c->res);
	fclose(f);
	const char *want = "x: 5 of 17 transitions map to no effect:\nx:   1 x sysreg-write mair_el2 (line 9): ";
	assert_true(!strncmp(buf, want, strlen(want)));
	free(buf);
	conv_free(c);
}

/* A record that cannot be imported as written is an error naming its line:
 * unknown transitions, registers, TLBIs, hints and DSB domains, threads
 * above 255, unaligned or partial memory records. */
static void test_convert_unused_limits(void **state)
{
	(void)state;
	static const struct {
		const char *record;
		const char *msg;
	} cases[] = {
		{ "(future-step (id 1) (tid 0) (what ever))", "future-step: a transition s2emu does not know" },
		{ "(sysreg-write 1 0 reg9_el2 0)", "sysreg-write reg9_el2: a register s2emu does not know" },
		{ "(tlbi 1 0 vmalls13e1is)", "tlbi vmalls13e1is: an operation s2emu does not know" },
		{ "(hint 1 0 set_colour 0x1000 0)", "hint set_colour: a kind s2emu does not know" },
		{ "(hint 1 0 set_root_lock 0x9000 0)", "hint set_root_lock names 0x9000, which no mem-init covers" },
		{ "(barrier 1 0 dsb osh)", "dsb osh: a domain s2emu does not know (ish, ishst, nsh, nshst, sy)" },
		{ "(mem-write 1 256 plain 0x1000 0)", "thread id 256: effect traces have threads 0 to 255" },
		{ "(mem-write 1 0 plain 0x1004 0)", "mem-write of 0x1004: a descriptor is 8-byte aligned" },
		{ "(mem-init 1 0 0x3000 0x800)", "mem-init of 0x3000+0x800: not whole 4K pages" },
		{ "(mem-init 1 0 0x4000 0x201000)", "mem-init of 513 pages: more than 512 in one record" },
		{ "(mem-set 1 0 0x1004 0x8 0)", "mem-set of 0x1004+0x8: not whole descriptors" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char log[300], want[300];
		snprintf(log, sizeof(log), "(mem-init 0 0 0x1000 0x1000)\n\n%s\n(lock 2 0 0)\n",
			 cases[i].record);
		struct conv_out *c = convert(log, NULL);
		assert_int_equal(c->ret, S2_EPARSE);
		snprintf(want, sizeof(want), NAME ":3: %s", cases[i].msg);
		assert_string_equal(c->res.error, want);
		conv_free(c);
	}
}

/* Table pages follow the granule of VTCR_EL2.TG0 (from the log or from
 * --vtcr); only writes inside live table pages are descriptor writes. */
static void test_convert_pages(void **state)
{
	(void)state;
	static const struct {
		uint64_t vtcr;
		uint64_t page;
	} granules[] = { { 0x80023558, 0x1000 }, { 0x8002b558, 0x4000 }, { 0x80027558, 0x10000 } };
	for (unsigned g = 0; g < 3; g++) {
		char log[600];
		uint64_t pg = granules[g].page;
		snprintf(log, sizeof(log),
			 "(sysreg-write 0 0 vtcr_el2 %#llx)\n"
			 "(mem-init 1 0 0x40000000 %#llx)\n"
			 "(mem-write 3 0 plain %#llx 0x1)\n"
			 "(mem-write 4 0 plain %#llx 0x2)\n",
			 (unsigned long long)granules[g].vtcr, (unsigned long long)(2 * pg),
			 (unsigned long long)(0x40000000 + 2 * pg - 8),
			 (unsigned long long)(0x40000000 + 2 * pg));
		struct conv_out *c = convert(log, NULL);
		assert_int_equal(c->ret, 0);
		/* Two pages of the granule: a store in them is a descriptor
		 * store, one past them a store to untracked memory. */
		assert_int_equal(c->nev, 4);
		assert_effect(&c->ev[0], 0, S2T_EFF_VTCR, 0, granules[g].vtcr);
		assert_effect(&c->ev[1], 0, S2T_EFF_ALLOC, 0x40000000, 0);
		assert_int_equal(c->ev[1].effect.size, 2 * pg);
		assert_effect(&c->ev[2], 0, S2T_EFF_PTE_WRITE, 0x40000000 + 2 * pg - 8, 1);
		assert_effect(&c->ev[3], 0, S2T_EFF_WRITE, 0x40000000 + 2 * pg, 2);
		assert_int_equal(c->res.unused, 0);
		conv_free(c);

		/* The same from --vtcr, and a later vtcr_el2 cannot resize pages. */
		struct s2trace_cm_opts o = { .have_vtcr = true, .vtcr = granules[g].vtcr };
		snprintf(log, sizeof(log),
			 "(mem-init 1 0 0x40000000 %#llx)\n"
			 "(sysreg-write 2 0 vtcr_el2 0x80023558)\n"
			 "(mem-free 3 0 0x40000000 %#llx)\n",
			 (unsigned long long)pg, (unsigned long long)pg);
		c = convert(log, &o);
		assert_int_equal(c->ret, 0);
		assert_int_equal(c->nev, 4);
		assert_effect(&c->ev[0], 0, S2T_EFF_VTCR, 0, granules[g].vtcr);
		assert_effect(&c->ev[1], 0, S2T_EFF_ALLOC, 0x40000000, 0);
		assert_effect(&c->ev[3], 0, S2T_EFF_FREE, 0x40000000, 0);
		char line[96];
		snprintf(line, sizeof(line), "effect 0 vtcr value=%#llx  # given to the importer, not in the log",
			 (unsigned long long)granules[g].vtcr);
		assert_has_line(c->text, line);
		conv_free(c);
	}

	/* Freeing a range frees the table pages in it and leaves the rest;
	 * writes to freed pages are no longer descriptor writes. Many pages,
	 * freed in a scattered order. */
	char *log = malloc(200 * 1024);
	assert_non_null(log);
	char *p = log;
	p += sprintf(p, "(mem-init 0 0 0x80000000 0x200000)\n");	/* 512 pages */
	p += sprintf(p, "(mem-init 1 0 0x90000000 0x100000)\n");	/* 256 more */
	unsigned id = 2;
	for (unsigned i = 0; i < 768; i += 3) {
		uint64_t pa = (i < 512 ? 0x80000000 : 0x90000000 - 0x200000) + (uint64_t)i * 0x1000;
		p += sprintf(p, "(mem-free %u 0 %#llx 0x1000)\n", id++, (unsigned long long)pa);
	}
	/* A range with one freed page in it frees the other two. */
	p += sprintf(p, "(mem-free %u 0 0x80000000 0x3000)\n", id++);
	for (unsigned i = 0; i < 768; i++) {
		uint64_t pa = (i < 512 ? 0x80000000 : 0x90000000 - 0x200000) + (uint64_t)i * 0x1000;
		p += sprintf(p, "(mem-write %u 0 plain %#llx 0x3)\n", id++, (unsigned long long)(pa + 8));
	}
	struct conv_out *c = convert(log, NULL);
	assert_int_equal(c->ret, 0);
	unsigned frees = 0, writes = 0;
	for (unsigned i = 0; i < c->nev; i++) {
		if (c->ev[i].effect.kind == S2T_EFF_FREE)
			frees++;
		if (c->ev[i].effect.kind == S2T_EFF_PTE_WRITE) {
			uint64_t pa = c->ev[i].effect.pa;
			unsigned page = (unsigned)(pa >= 0x90000000 ? 512 + ((pa - 0x90000000) >> 12)
							       : (pa - 0x80000000) >> 12);
			assert_true(page % 3 != 0);
			assert_true(page > 2);
			writes++;
		}
	}
	assert_int_equal(frees, 256 + 1);
	assert_int_equal(writes, 768 - 256 - 2);
	assert_contains(c->text, "effect 0 free pa=0x80001000 size=8K  #");
	conv_free(c);
	free(log);
}

/* A note when the log gives no vtcr_el2 (replay then takes a default). */
static void test_convert_notes(void **state)
{
	(void)state;
	struct conv_out *c = convert("(mem-init 0 0 0x1000 0x1000)\n(mem-write 1 0 plain 0x1000 0x3)\n"
				     "(sysreg-write 2 0 vttbr_el2 0x1000)\n", NULL);
	assert_int_equal(c->ret, 0);
	assert_false(c->res.saw_vtcr);
	assert_true(c->res.saw_vttbr);
	assert_contains(c->text, "\n# note: the log writes no vtcr_el2: replay takes a 4K granule");
	conv_free(c);

	/* mem-set into a table page counts as a write too. */
	c = convert("(mem-init 0 0 0x1000 0x1000)\n(mem-set 1 0 0x1000 0x8 0)\n", NULL);
	conv_free(c);

	/* An empty log is a trace with no events. */
	c = convert("", NULL);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->nev, 0);
	assert_int_equal(c->res.records, 0);
	assert_has_line(c->text, "# 0 transitions: 0 mapped to 0 effects, 0 unused; 0 casemate verdicts");
	conv_free(c);
}

/* casemate's error report block (today's drivers print it) is skipped but
 * for its verdict, which is kept. */
static void test_convert_error_block(void **state)
{
	(void)state;
	struct conv_out *c = convert(
		"(lock 1 0 0x10)\n"
		"(mem-write 2 0 plain 0x1000 0x3)\n"
		"casemate error\n"
		"msg: BBM valid->valid\n"
		"related locations:\n"
		"* [0x....1000]=0x....3 (S2 pte_st:V)\n"
		"! [0x...............0]=0x...............0\n"
		"on event: (mem-write (id 2) (tid 0) (mem-order plain) (address 1000) (value 3))\n"
		"! BBM valid->valid\n", NULL);
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->res.records, 2);
	assert_int_equal(c->res.verdicts, 1);
	assert_string_equal(c->res.verdict, "BBM valid->valid");
	assert_has_line(c->text, "# casemate: ! BBM valid->valid");
	conv_free(c);
}

/* A malformed log stops the conversion with the reader's message; an
 * output that cannot be written is S2_EIO. */
static void test_convert_errors(void **state)
{
	(void)state;
	struct conv_out *c = convert("(lock 1 0 0)\n(lock 2 0 0)\n(mem-write 3 0 plain)\n", NULL);
	assert_int_equal(c->ret, S2_EPARSE);
	assert_string_equal(c->res.error, NAME ":3: mem-write has no address");
	assert_contains(c->text, "effect 0 lock addr=0  # id 2\n");
	conv_free(c);

	c = convert("(lock 1 0 0)\n(lock", NULL);
	assert_int_equal(c->ret, S2_EPARSE);
	assert_string_equal(c->res.error, NAME ":2: the log ends inside this record");
	conv_free(c);

	const char *log = "(lock 1 0 0)\n";
	FILE *in = fmemopen((void *)log, strlen(log), "r");
	FILE *out = fopen("/dev/full", "w");
	if (!out) {
		fclose(in);
		skip();
	}
	struct s2trace_cm_result res;
	assert_int_equal(s2trace_cm_convert(in, NAME, out, NULL, &res), S2_EIO);
	assert_string_equal(res.error, NAME ": cannot write the converted trace");
	fclose(out);
	fclose(in);
}

/* The sample log of the corpus converts, and our reader takes the result. */
static void test_convert_sample(void **state)
{
	(void)state;
	FILE *in = fopen(SAMPLE, "r");
	if (!in)
		skip();	/* run from the repository root */
	char *log = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&log, &cap, '\0', in);
	fclose(in);
	assert_true(n > 0);
	struct conv_out *c = convert(log, NULL);
	assert_int_equal(c->ret, 0);
	assert_true(c->nev > 20);
	assert_true(c->res.saw_vtcr && c->res.saw_vttbr);
	assert_int_equal(c->res.unused, 0);
	/* Two threads. */
	bool t0 = false, t1 = false;
	for (unsigned i = 0; i < c->nev; i++) {
		t0 |= c->ev[i].effect.thread == 0;
		t1 |= c->ev[i].effect.thread == 1;
	}
	assert_true(t0 && t1);
	conv_free(c);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_every_kind),
		cmocka_unit_test(test_parse_condensed_equals_keyed),
		cmocka_unit_test(test_parse_layout),
		cmocka_unit_test(test_parse_tlbi),
		cmocka_unit_test(test_errors_syntax),
		cmocka_unit_test(test_errors_fields),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_convert_every_kind),
		cmocka_unit_test(test_convert_unused),
		cmocka_unit_test(test_convert_unused_limits),
		cmocka_unit_test(test_convert_pages),
		cmocka_unit_test(test_convert_notes),
		cmocka_unit_test(test_convert_error_block),
		cmocka_unit_test(test_convert_errors),
		cmocka_unit_test(test_convert_sample),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
