/* casemate transition logs: a reader of their s-expressions and a
 * converter to effect events. The syntax follows what casemate's tracer
 * prints (src/lib/src/trace.c in rems-project/casemate) and what its
 * offline checker accepts (src/casemate-check-c/src/parser.c); see
 * s2trace_casemate.h for the shape of a record. */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_num.h"
#include "common/s2_bits.h"
#include "common/s2_err.h"
#include "common/s2_map.h"
#include "common/s2_text.h"
#include "hyp-model/s2hyp_effect.h"
#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"

#define MAX_ITEMS 16		/* fields of one record; casemate's have at most 7 */

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

enum tok { T_EOF, T_OPEN, T_CLOSE, T_ATOM, T_STRING };

/* One field of a record as written: "(key value)" or a bare value. */
struct item {
	bool keyed;
	bool string;		/* the value was in double quotes */
	unsigned line;
	char key[S2TRACE_CM_MAX_TEXT];
	char val[S2TRACE_CM_MAX_TEXT];
};

#define READ_BUF 65536

struct s2trace_cm_reader {
	FILE *f;
	char name[256];
	unsigned line;		/* of the next character */
	/* The stream is read in blocks: buf[pos..len) is what is left, and
	 * buf[len] a NUL, in no byte class, that ends every byte loop. */
	size_t pos, len;
	unsigned char buf[READ_BUF + 1];
	char tok[S2TRACE_CM_MAX_TEXT];
	size_t tok_len;
	unsigned tok_line;
	struct item items[MAX_ITEMS];
	unsigned nitems;
	char err[600];
};

static int fail_at(struct s2trace_cm_reader *r, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct s2trace_cm_reader *r, unsigned line, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "%s:%u: %s", r->name, line, msg);
	return S2_EPARSE;
}

struct s2trace_cm_reader *s2trace_cm_reader_new(FILE *f, const char *name)
{
	struct s2trace_cm_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->f = f;
	r->line = 1;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

void s2trace_cm_reader_free(struct s2trace_cm_reader *r)
{
	free(r);
}

const char *s2trace_cm_error(const struct s2trace_cm_reader *r)
{
	return r->err;
}

/* The next block of the stream: false at its end (or on a read error,
 * which ferror(r->f) tells). */
static bool refill(struct s2trace_cm_reader *r)
{
	r->pos = 0;
	r->len = fread(r->buf, 1, READ_BUF, r->f);
	r->buf[r->len] = '\0';
	return r->len > 0;
}

static int get(struct s2trace_cm_reader *r)
{
	if (r->pos == r->len && !refill(r))
		return EOF;
	return r->buf[r->pos++];
}

/* Give back the byte get() just returned (never EOF). */
static void unget(struct s2trace_cm_reader *r)
{
	r->pos--;
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Byte classes, for the loops that run over every byte of a log. */
enum { C_ATOM = 1, C_SPACE = 2, C_STR = 4 };

/* A word's bytes (an atom): printable, not a blank, parenthesis or quote;
 * a string's: printable, not a quote. Bytes 0x80 and up are none. */
static const unsigned char cls[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	6, 5, 0, 5, 5, 5, 5, 5, 4, 4, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0,
};

static bool atom_byte(int c)
{
	return c != EOF && (cls[c] & C_ATOM);
}

/* Skip blanks, counting lines; the first other character (or EOF). */
static int skip_space(struct s2trace_cm_reader *r)
{
	for (;;) {
		while (r->pos < r->len) {
			unsigned char c = r->buf[r->pos++];
			if (!(cls[c] & C_SPACE))
				return c;
			if (c == '\n')
				r->line++;
		}
		if (!refill(r))
			return EOF;
	}
}

/* Append to the token the bytes of class want that follow, up to the
 * first other byte (left unread) or the end of the input; false when the
 * token would be longer than its buffer. */
static bool take_run(struct s2trace_cm_reader *r, size_t *n, unsigned want)
{
	for (;;) {
		size_t i = r->pos, end = r->len;
		while (i < end && (cls[r->buf[i]] & want))
			i++;
		size_t k = i - r->pos;
		if (*n + k >= sizeof(r->tok))
			return false;
		memcpy(r->tok + *n, r->buf + r->pos, k);
		*n += k;
		r->pos = i;
		if (i < end || !refill(r))
			return true;
	}
}

static int read_error(struct s2trace_cm_reader *r)
{
	snprintf(r->err, sizeof(r->err), "%s:%u: read error", r->name, r->line);
	return S2_EIO;
}

/* The next token: its kind, or a negative error. Atoms and strings leave
 * their text in r->tok. */
static int next_token(struct s2trace_cm_reader *r)
{
	int c = skip_space(r);
	size_t n = 0;

	r->tok_line = r->line;
	r->tok[0] = '\0';
	r->tok_len = 0;
	if (c == EOF)
		return ferror(r->f) ? read_error(r) : T_EOF;
	if (c == '(')
		return T_OPEN;
	if (c == ')')
		return T_CLOSE;
	if (c == '"') {
		/* casemate prints strings without escapes, on one line. */
		for (;;) {
			if (!take_run(r, &n, C_STR))
				return fail_at(r, r->line, "a string longer than %zu bytes",
					       sizeof(r->tok) - 1);
			if ((c = get(r)) == '"')
				break;
			if (c == EOF || c == '\n')
				return fail_at(r, r->line, "a string is not closed on its line");
			if (c == '\t')
				c = ' ';
			if (c < 0x20 || c > 0x7e)
				return fail_at(r, r->line, "byte 0x%02x inside a string", c);
			if (n + 1 >= sizeof(r->tok))
				return fail_at(r, r->line, "a string longer than %zu bytes",
					       sizeof(r->tok) - 1);
			r->tok[n++] = (char)c;
		}
		r->tok[n] = '\0';
		r->tok_len = n;
		return T_STRING;
	}
	/* A word: printable bytes up to a blank, a parenthesis or a quote. */
	if (atom_byte(c)) {
		r->tok[n++] = (char)c;
		if (!take_run(r, &n, C_ATOM))
			return fail_at(r, r->line, "a word longer than %zu bytes", sizeof(r->tok) - 1);
		c = get(r);
	}
	if (c == EOF) {
		if (ferror(r->f))
			return read_error(r);
	} else if (is_space(c) || c == '(' || c == ')' || c == '"') {
		unget(r);
	} else {
		return fail_at(r, r->line, "byte 0x%02x where a word or '(' belongs", c);
	}
	r->tok[n] = '\0';
	r->tok_len = n;
	return T_ATOM;
}

/* The token into a field of an item: as large as the token buffer, so the
 * copy needs no cut (a plain copy: this runs for every field of every
 * record). */
_Static_assert(sizeof(((struct item *)0)->key) == sizeof(((struct s2trace_cm_reader *)0)->tok) &&
	       sizeof(((struct item *)0)->val) == sizeof(((struct s2trace_cm_reader *)0)->tok),
	       "an item's key and value hold any token");
static void copy_tok(char *dst, const struct s2trace_cm_reader *r)
{
	memcpy(dst, r->tok, r->tok_len + 1);
}

static const char *tok_name(int t)
{
	switch (t) {
	case T_EOF:
		return "the end of the log";
	case T_OPEN:
		return "'('";
	case T_CLOSE:
		return "')'";
	default:
		return "a value";
	}
}

/* ------------------------------------------------------------------ */
/* Numbers and words                                                   */
/* ------------------------------------------------------------------ */

/* casemate prints addresses and values in hexadecimal and reads them as
 * hexadecimal with or without 0x; ids and thread ids are decimal (0x
 * makes them hexadecimal too). */
static int parse_u64(const char *s, unsigned base, uint64_t *out)
{
	return s2_parse_u64(s, base == 16 ? S2_NUM_HEX : 0, out);
}

static void lower_copy(char *dst, const char *src, size_t n)
{
	size_t i;
	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

enum ftype {
	F_DEC,		/* decimal unless 0x */
	F_HEX,		/* hexadecimal, 0x optional */
	F_WORD,		/* an enumeration word */
	F_SRC,		/* "file:line", or an integer key */
};

/* Where a field's value goes in the record. */
enum fdest {
	D_ID, D_TID, D_SRC, D_ADDRESS, D_SIZE, D_VALUE, D_ORDER, D_WHAT, D_DOMAIN, D_LEVEL,
	D_END,		/* ends a list of fields */
};

struct fspec {
	const char *key;	/* NULL: only ever written bare */
	const char *alias;
	enum ftype type;
	enum fdest dest;
	bool required;
};

#define ID_TID { "id", NULL, F_DEC, D_ID, true }, { "tid", "thread", F_DEC, D_TID, true }
#define SRC { "src", NULL, F_SRC, D_SRC, false }
#define END { NULL, NULL, F_DEC, D_END, false }

static const struct fspec f_mem_write[] = {
	ID_TID, { "mem-order", NULL, F_WORD, D_ORDER, true },
	{ "address", NULL, F_HEX, D_ADDRESS, true }, { "value", NULL, F_HEX, D_VALUE, true }, SRC, END,
};
static const struct fspec f_mem_read[] = {
	ID_TID, { "address", NULL, F_HEX, D_ADDRESS, true }, { "value", NULL, F_HEX, D_VALUE, true },
	SRC, END,
};
static const struct fspec f_mem_range[] = {
	ID_TID, { "address", NULL, F_HEX, D_ADDRESS, true }, { "size", NULL, F_HEX, D_SIZE, true },
	SRC, END,
};
static const struct fspec f_mem_set[] = {
	ID_TID, { "address", NULL, F_HEX, D_ADDRESS, true }, { "size", NULL, F_HEX, D_SIZE, true },
	{ "value", NULL, F_HEX, D_VALUE, true }, SRC, END,
};
static const struct fspec f_sysreg[] = {
	ID_TID, { "sysreg", NULL, F_WORD, D_WHAT, true }, { "value", NULL, F_HEX, D_VALUE, true },
	SRC, END,
};
static const struct fspec f_barrier[] = {
	ID_TID, { NULL, NULL, F_WORD, D_WHAT, true }, { "kind", NULL, F_WORD, D_DOMAIN, false },
	SRC, END,
};
/* Newer casemate prints the Xt operand as (value X); older versions printed
 * (addr X) (level L) with L the TTL hint, which is the same operand split. */
static const struct fspec f_tlbi[] = {
	ID_TID, { NULL, NULL, F_WORD, D_WHAT, true }, { "value", "addr", F_HEX, D_VALUE, false },
	{ "level", NULL, F_DEC, D_LEVEL, false }, SRC, END,
};
static const struct fspec f_hint[] = {
	ID_TID, { "kind", NULL, F_WORD, D_WHAT, true }, { "location", NULL, F_HEX, D_ADDRESS, true },
	{ "value", NULL, F_HEX, D_VALUE, true }, SRC, END,
};
static const struct fspec f_lock[] = {
	ID_TID, { "address", NULL, F_HEX, D_ADDRESS, true }, SRC, END,
};
static const struct fspec f_unknown[] = { ID_TID, SRC, END };

static const struct {
	const char *name;
	enum s2trace_cm_kind kind;
	const struct fspec *fields;
} kinds[] = {	/* the names differ: the order is only the search's, commonest first */
	{ "mem-write", S2T_CM_MEM_WRITE, f_mem_write },
	{ "barrier", S2T_CM_BARRIER, f_barrier },
	{ "lock", S2T_CM_LOCK, f_lock },
	{ "unlock", S2T_CM_UNLOCK, f_lock },
	{ "tlbi", S2T_CM_TLBI, f_tlbi },
	{ "mem-read", S2T_CM_MEM_READ, f_mem_read },
	{ "mem-init", S2T_CM_MEM_INIT, f_mem_range },
	{ "mem-free", S2T_CM_MEM_FREE, f_mem_range },
	{ "mem-set", S2T_CM_MEM_SET, f_mem_set },
	{ "sysreg-write", S2T_CM_SYSREG_WRITE, f_sysreg },
	{ "msr", S2T_CM_SYSREG_WRITE, f_sysreg },
	{ "hint", S2T_CM_HINT, f_hint },
	{ "trylock", S2T_CM_TRYLOCK, f_lock },
};

/* TLBIs without an address operand, and ones that need it; any other
 * operation may have one or not (the converter does not map those). */
static const char *const tlbi_whole[] = {
	"vmalls12e1", "vmalls12e1is", "vmalle1", "vmalle1is", "alle1", "alle1is", "alle2", "alle2is",
};
static const char *const tlbi_by_addr[] = {
	"ipas2e1is", "ipas2e1", "ipas2le1is", "ipas2le1", "vae2is", "vae2", "vale2is", "vale2",
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (list[i][0] == s[0] && s2_same_word(list[i], s))
			return true;
	return false;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Names compared without case (ASCII, as strcasecmp in the C locale): the
 * words compared are a few bytes long, so a loop beats a call. */
static inline bool name_is(const char *name, const char *key)
{
	if (lower(*name) != lower(*key))
		return false;
	while (*name && lower(*name) == lower(*key))
		name++, key++;
	return lower(*name) == lower(*key);
}

static bool spec_matches(const struct fspec *f, const char *key)
{
	return (f->key && name_is(f->key, key)) || (f->alias && name_is(f->alias, key));
}

struct level {
	bool given;
	uint64_t v;
};

/* A field's value as written: the key it was given under (NULL: bare). */
struct value {
	const char *key;
	const char *val;
	bool string;
	unsigned line;
};

/* A number where its field puts it. */
static void put_num(struct s2trace_cm_record *rec, const struct fspec *f, uint64_t v,
		    struct level *level)
{
	switch (f->dest) {
	case D_ID:
		rec->id = v;
		break;
	case D_TID:
		rec->tid = v;
		break;
	case D_ADDRESS:
		rec->address = v;
		break;
	case D_SIZE:
		rec->size = v;
		break;
	case D_VALUE:
		rec->value = v;
		rec->have_operand = true;
		break;
	case D_LEVEL:
		level->given = true;
		level->v = v;
		break;
	default:
		break;
	}
}

/* Put one field's value where it belongs. */
static int store(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec,
		 const struct fspec *f, const struct value *it, struct level *level)
{
	const char *key = it->key ? it->key : (f->key ? f->key : "operation");
	uint64_t v = 0;
	int ret;

	switch (f->type) {
	case F_DEC:
	case F_HEX:
		if (it->string)
			return fail_at(r, it->line, "%s: (%s) takes a number, not a string", rec->name, key);
		ret = parse_u64(it->val, f->type == F_HEX ? 16 : 10, &v);
		if (ret == S2_ERANGE)
			return fail_at(r, it->line, "%s: (%s %s): number too large", rec->name, key, it->val);
		if (ret)
			return fail_at(r, it->line, "%s: (%s %s): not a number", rec->name, key, it->val);
		put_num(rec, f, v, level);
		return 0;
	case F_WORD:
		if (it->string)
			return fail_at(r, it->line, "%s: (%s) takes a word, not a string", rec->name, key);
		if (strlen(it->val) >= S2TRACE_CM_MAX_NAME)
			return fail_at(r, it->line, "%s: '%.40s...' is too long for (%s)", rec->name,
				       it->val, key);
		break;
	case F_SRC:
		if (it->string) {
			/* A value is a token: shorter than S2TRACE_CM_MAX_TEXT. */
			_Static_assert(sizeof(rec->src) == S2TRACE_CM_MAX_TEXT, "a source fits");
			memcpy(rec->src, it->val, strlen(it->val) + 1);
		} else {
			if (parse_u64(it->val, 10, &rec->src_key))
				return fail_at(r, it->line, "%s: (src %s): a location is a string or "
					       "a decimal key", rec->name, it->val);
			rec->src_is_key = true;
		}
		rec->have_src = true;
		return 0;
	}
	switch (f->dest) {
	case D_ORDER:
		if (name_is(it->val, "release"))
			rec->release = true;
		else if (!name_is(it->val, "plain"))
			return fail_at(r, it->line, "mem-order is plain or release, not '%s'", it->val);
		break;
	case D_WHAT:
		lower_copy(rec->what, it->val, sizeof(rec->what));
		break;
	case D_DOMAIN:
		lower_copy(rec->domain, it->val, sizeof(rec->domain));
		break;
	default:
		break;
	}
	return 0;
}

static int check_record(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec,
			const struct level *lv);

/* Match the items read to the fields of the record's kind: "(key value)"
 * by name, a bare string as the source location, any other bare value to
 * the first field not yet given, in casemate's order. */
static int interpret(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec,
		     const struct fspec *fields)
{
	const struct item *given[MAX_ITEMS] = { 0 };
	unsigned nf = 0, src = ~0u;
	struct level level = { false, 0 };
	bool unknown = rec->kind == S2T_CM_UNKNOWN;
	int ret;

	while (fields[nf].dest != D_END) {
		if (fields[nf].dest == D_SRC)
			src = nf;
		nf++;
	}
	for (unsigned i = 0; i < r->nitems; i++) {
		const struct item *it = &r->items[i];
		unsigned k = nf;
		if (it->keyed) {
			for (k = 0; k < nf && !spec_matches(&fields[k], it->key); k++)
				;
			if (k == nf) {
				if (unknown)
					continue;
				return fail_at(r, it->line, "%s has no field (%s)", rec->name, it->key);
			}
		} else if (it->string) {
			k = src;
		} else {
			for (k = 0; k < nf && (given[k] || fields[k].type == F_SRC); k++)
				;
			if (k == nf) {
				if (unknown)
					continue;
				return fail_at(r, it->line, "%s: unexpected '%s' after its last field",
					       rec->name, it->val);
			}
		}
		if (given[k])
			return fail_at(r, it->line, "%s: (%s) given twice", rec->name,
				       fields[k].key ? fields[k].key : "operation");
		given[k] = it;
	}
	for (unsigned k = 0; k < nf; k++) {
		if (!given[k]) {
			if (fields[k].required)
				return fail_at(r, rec->line, "%s has no %s", rec->name,
					       fields[k].key ? fields[k].key : "operation");
			continue;
		}
		const struct item *it = given[k];
		const struct value val = { it->keyed ? it->key : NULL, it->val, it->string, it->line };
		if ((ret = store(r, rec, &fields[k], &val, &level)))
			return ret;
	}
	return check_record(r, rec, &level);
}

/* What a record's fields must say together. */
static int check_record(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec,
			const struct level *lv)
{
	struct level level = *lv;

	switch (rec->kind) {
	case S2T_CM_BARRIER:
		if (!s2_same_word(rec->what, "dsb") && !s2_same_word(rec->what, "isb"))
			return fail_at(r, rec->line, "a barrier is dsb or isb, not '%s'", rec->what);
		if (s2_same_word(rec->what, "dsb") && !rec->domain[0])
			return fail_at(r, rec->line, "dsb needs its kind: (kind ish), ishst, nsh or sy");
		if (s2_same_word(rec->what, "isb") && rec->domain[0])
			return fail_at(r, rec->line, "isb takes no kind");
		break;
	case S2T_CM_TLBI:
		if (level.v > 15)
			return fail_at(r, rec->line, "tlbi: level %llu does not fit the 4-bit TTL field",
				       (unsigned long long)level.v);
		if (level.given && !rec->have_operand)
			return fail_at(r, rec->line, "tlbi: a level without an address");
		rec->value |= level.v << 44;
		if (rec->have_operand && in_list(tlbi_whole, S2_ARRAY_SIZE(tlbi_whole), rec->what))
			return fail_at(r, rec->line, "tlbi %s takes no address", rec->what);
		if (!rec->have_operand && in_list(tlbi_by_addr, S2_ARRAY_SIZE(tlbi_by_addr), rec->what))
			return fail_at(r, rec->line, "tlbi %s needs its address: (value X)", rec->what);
		break;
	default:
		rec->have_operand = false;
		break;
	}
	return 0;
}

/* The rest of a line from c on, printable, without its newline. 1, or 0
 * at the end of the input with nothing read. */
static int read_rest(struct s2trace_cm_reader *r, int c, char *buf, size_t size)
{
	size_t n = 0;
	bool any = c != EOF;

	for (; c != EOF && c != '\n'; c = get(r)) {
		if (c == '\0')
			return fail_at(r, r->line, "NUL byte");
		if (c == '\r')
			continue;
		if (n + 1 < size)
			buf[n++] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	}
	if (c == '\n')
		r->line++;
	else if (ferror(r->f))
		return read_error(r);
	buf[n] = '\0';
	return any || c == '\n';
}

/* A "! message" line: casemate's own verdict on the step before it. */
static int read_verdict(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec)
{
	int c;

	rec->kind = S2T_CM_VERDICT;
	rec->line = r->line;
	snprintf(rec->name, sizeof(rec->name), "!");
	while ((c = get(r)) == ' ' || c == '\t')
		;
	int ret = read_rest(r, c, rec->message, sizeof(rec->message));
	return ret < 0 ? ret : 1;
}

/* casemate-check and the example drivers print, on a violation, a block
 * "casemate error", "msg: ...", the related locations ("* [...]", "! [...]")
 * and "on event: (...)", ending with the "! message" verdict: that last
 * line is kept, the state dump before it is not a transition. */
static int read_error_block(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec)
{
	char buf[S2TRACE_CM_MAX_TEXT];
	unsigned first = r->line;
	int ret = read_rest(r, 'c', buf, sizeof(buf));

	if (ret < 0)
		return ret;
	if (strcmp(buf, "casemate error"))
		return fail_at(r, first, "a record starts with '(', not '%.20s'", buf);
	for (;;) {
		int c = get(r);
		if (c == '!') {
			rec->line = r->line;
			if ((ret = read_rest(r, get(r), buf, sizeof(buf))) < 0)
				return ret;
			const char *m = buf;
			while (*m == ' ')
				m++;
			if (*m == '[')
				continue;	/* "! [...]": a location of the dump */
			rec->kind = S2T_CM_VERDICT;
			snprintf(rec->name, sizeof(rec->name), "!");
			snprintf(rec->message, sizeof(rec->message), "%s", m);
			return 1;
		}
		if (c == EOF)
			return ferror(r->f) ? read_error(r) :
				fail_at(r, first, "casemate's error report has no '! message' line");
		if ((ret = read_rest(r, c, buf, sizeof(buf))) < 0)
			return ret;
	}
}

/* Tests of the eight bytes of x at once (exact for 'some byte', as the
 * classic word-at-a-time tests are): some byte below n (n <= 128), some
 * above n (n <= 127), some equal to c. */
#define BYTES(b) (0x0101010101010101ull * (b))
static inline uint64_t some_below(uint64_t x, unsigned n)
{
	return (x - BYTES(n)) & ~x & BYTES(0x80);
}

static inline uint64_t some_above(uint64_t x, unsigned n)
{
	return ((x + BYTES(127 - n)) | x) & BYTES(0x80);
}

static inline uint64_t some_equal(uint64_t x, unsigned c)
{
	return some_below(x ^ BYTES(c), 1);
}

/* Whether all eight bytes of x are a string's (C_STR in cls: 0x20 to 0x7e
 * but the quote). */
static inline bool all_str(uint64_t x)
{
	return !(some_below(x, 0x20) | some_above(x, 0x7e) | some_equal(x, '"'));
}

/* The end of the run of bytes of class want from p: NULL when there are
 * none or they run to e (the end of what is read). */
static const unsigned char *span(const unsigned char *p, const unsigned char *e, unsigned want)
{
	const unsigned char *s = p;

	/* A string (a source location, tens of bytes) eight bytes at a time
	 * while all are a string's, then byte by byte; an atom is short. */
	while (want == C_STR && e - p >= 8) {
		uint64_t x;
		memcpy(&x, p, sizeof(x));
		if (!all_str(x))
			break;
		p += 8;
	}
	while (cls[*p] & want)	/* *e is a NUL, in no class */
		p++;
	return p == e || p == s ? NULL : p;
}

/* A number in the form casemate prints from p on (at most 19 decimal
 * digits, or 16 hexadecimal ones after 0x, so no overflow), read while it
 * is scanned: its end, or NULL for any other token (or one that may run on
 * past e), which the general path reads. */
static const unsigned char *scan_num(const unsigned char *p, const unsigned char *e, bool hex,
				     uint64_t *out)
{
	const unsigned char *s;
	uint64_t v = 0;

	if (hex) {
		if (e - p < 3 || p[0] != '0' || p[1] != 'x')
			return NULL;
		for (s = p += 2; p < e && p - s <= 16; p++) {
			unsigned c = *p;
			unsigned d = c >= '0' && c <= '9' ? c - '0' :
				     c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				     c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
			if (d == 16)
				break;
			v = v << 4 | d;
		}
		if (p == s || p - s > 16)
			return NULL;
	} else {
		for (s = p; p - s <= 19 && (unsigned)(*p - '0') < 10; p++)	/* *e is a NUL */
			v = v * 10 + (uint64_t)(*p - '0');
		if (p == s || p - s > 19)
			return NULL;
	}
	if (p == e || (cls[*p] & C_ATOM))
		return NULL;
	*out = v;
	return p;
}

/* Whether the n bytes at s are word (exactly: casemate prints lower case;
 * the general path takes any case). */
static bool same_word(const char *word, const unsigned char *s, size_t n)
{
	if (!word)
		return false;
	/* A word's bytes are never NUL: a shorter word differs before its end. */
	for (size_t i = 0; i < n; i++)
		if (word[i] != (char)s[i])
			return false;
	return !word[n];
}

/*
 * A record in the form casemate prints (after its '('): on one line, read
 * already, fields separated by single blanks, every field known and valid.
 * Read straight from the block into rec, without the items of the general
 * path: 1. Any other record: 0, the reader left where it was for the
 * general path, which reads every record and says what is wrong with one.
 */
static int fast_record(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec)
{
	const unsigned char *p = r->buf + r->pos, *e = r->buf + r->len, *q;
	char val[S2TRACE_CM_MAX_TEXT], key[S2TRACE_CM_MAX_NAME];
	const unsigned char *kp = NULL;	/* the key as written, copied to key when a message may name it */
	size_t kn = 0;
	const struct fspec *fields = NULL;
	struct level level = { false, 0 };
	unsigned given = 0, nf = 0, src = ~0u;

	if (!(q = span(p, e, C_ATOM)))
		return 0;
	for (size_t i = 0; i < S2_ARRAY_SIZE(kinds) && !fields; i++)
		if (kinds[i].name[0] == (char)*p && same_word(kinds[i].name, p, (size_t)(q - p))) {
			memcpy(rec->name, kinds[i].name, (size_t)(q - p) + 1);
			rec->kind = kinds[i].kind;
			fields = kinds[i].fields;
		}
	if (!fields)
		return 0;
	for (; fields[nf].dest != D_END; nf++)
		if (fields[nf].dest == D_SRC)
			src = nf;
	for (p = q;;) {
		if (p < e && *p == ')')
			break;
		if (p == e || *p++ != ' ' || p == e)
			return 0;
		unsigned k = 0;
		bool keyed = *p == '(', string;
		if (keyed) {
			if (!(q = span(++p, e, C_ATOM)) || *q != ' ' || (size_t)(q - p) >= sizeof(key))
				return 0;
			/* casemate prints the fields in order: the next one (the
			 * lowest not given) first. */
			k = given == ~0u ? nf : (unsigned)__builtin_ctz(~given);
			if (k > nf)
				k = nf;
			if (k == nf || (!same_word(fields[k].key, p, (size_t)(q - p)) &&
					!same_word(fields[k].alias, p, (size_t)(q - p))))
				for (k = 0; k < nf && !same_word(fields[k].key, p, (size_t)(q - p)) &&
					    !same_word(fields[k].alias, p, (size_t)(q - p)); k++)
					;
			kp = p;
			kn = (size_t)(q - p);
			p = q + 1;
		} else if (*p == '"') {
			k = src;
		} else {
			while (k < nf && ((given >> k & 1) || fields[k].type == F_SRC))
				k++;
		}
		if (k >= nf || (given >> k & 1))
			return 0;
		given |= 1u << k;
		const struct fspec *f = &fields[k];
		uint64_t num;
		if ((string = *p == '"')) {
			if (!(q = span(++p, e, C_STR)) || *q != '"')
				return 0;
		} else if ((f->type == F_DEC || f->type == F_HEX) &&
			   (q = scan_num(p, e, f->type == F_HEX, &num))) {
			put_num(rec, f, num, &level);
			p = q;
			if (keyed && (p == e || *p++ != ')'))
				return 0;
			continue;
		} else if (!(q = span(p, e, C_ATOM))) {
			return 0;
		}
		size_t n = (size_t)(q - p);
		if (keyed) {
			memcpy(key, kp, kn);
			key[kn] = '\0';
		}
		struct value v = { keyed ? key : NULL, val, string, r->line };
		if (n >= sizeof(val))
			return 0;
		if (string && f->type == F_SRC) {
			memcpy(rec->src, p, n);
			rec->src[n] = '\0';
			rec->have_src = true;
		} else {
			memcpy(val, p, n);
			val[n] = '\0';
			if (store(r, rec, f, &v, &level))
				return 0;
		}
		p = q + string;
		if (keyed && (p == e || *p++ != ')'))
			return 0;
	}
	for (unsigned k = 0; k < nf; k++)
		if (!(given >> k & 1) && fields[k].required)
			return 0;
	if (check_record(r, rec, &level))
		return 0;
	r->pos = (size_t)(p + 1 - r->buf);
	return 1;
}

/* A record with nothing given: every member 0, its two long texts empty
 * (only their first byte: every writer ends a text with its NUL). */
static void record_clear(struct s2trace_cm_record *rec)
{
	const size_t src = offsetof(struct s2trace_cm_record, src),
		     after = offsetof(struct s2trace_cm_record, release),
		     msg = offsetof(struct s2trace_cm_record, message);
	_Static_assert(sizeof(struct s2trace_cm_record) - offsetof(struct s2trace_cm_record, message) -
		       sizeof(((struct s2trace_cm_record *)0)->message) < sizeof(uint64_t),
		       "the message is the record's last member");
	memset(rec, 0, src);
	rec->src[0] = '\0';
	memset((char *)rec + after, 0, msg - after);
	rec->message[0] = '\0';
}

int s2trace_cm_next(struct s2trace_cm_reader *r, struct s2trace_cm_record *rec)
{
	int t, c;

	record_clear(rec);
	c = skip_space(r);
	if (c == '!')
		return read_verdict(r, rec);
	if (c == 'c')
		return read_error_block(r, rec);
	if (c == EOF)
		return ferror(r->f) ? read_error(r) : 0;
	if (c == '\0')
		return fail_at(r, r->line, "NUL byte");
	if (c != '(') {
		if (c == ')')
			return fail_at(r, r->line, "')' closes nothing");
		return fail_at(r, r->line, "a record starts with '(', not '%c'",
			       c > 0x20 && c < 0x7f ? c : '?');
	}
	rec->line = r->line;
	if (fast_record(r, rec))
		return 1;
	memset(rec, 0, sizeof(*rec));
	rec->line = r->line;
	if ((t = next_token(r)) < 0)
		return t;
	if (t != T_ATOM)
		return fail_at(r, r->tok_line, "a record starts with the name of its transition, not %s",
			       tok_name(t));
	if (strlen(r->tok) >= S2TRACE_CM_MAX_NAME)
		return fail_at(r, r->tok_line, "transition name '%.40s...' is too long", r->tok);
	lower_copy(rec->name, r->tok, sizeof(rec->name));

	r->nitems = 0;
	for (;;) {
		if ((t = next_token(r)) < 0)
			return t;
		if (t == T_CLOSE)
			break;
		if (t == T_EOF)
			return fail_at(r, rec->line, "the log ends inside this record");
		if (r->nitems == MAX_ITEMS)
			return fail_at(r, r->tok_line, "%s: more than %d fields", rec->name, MAX_ITEMS);
		struct item *it = &r->items[r->nitems++];
		it->line = r->tok_line;
		it->keyed = t == T_OPEN;
		if (t == T_OPEN) {
			if ((t = next_token(r)) < 0)
				return t;
			if (t != T_ATOM)
				return fail_at(r, r->tok_line, "%s: a field starts with its name, not %s",
					       rec->name, tok_name(t));
			copy_tok(it->key, r);
			if ((t = next_token(r)) < 0)
				return t;
			if (t == T_EOF)
				return fail_at(r, rec->line, "the log ends inside this record");
			if (t == T_CLOSE)
				return fail_at(r, r->tok_line, "%s: field (%s) has no value", rec->name,
					       it->key);
			if (t != T_ATOM && t != T_STRING)
				return fail_at(r, r->tok_line, "%s: field (%s) holds %s, not a value",
					       rec->name, it->key, tok_name(t));
		}
		it->string = t == T_STRING;
		copy_tok(it->val, r);
		if (it->keyed) {
			if ((t = next_token(r)) < 0)
				return t;
			if (t == T_EOF)
				return fail_at(r, rec->line, "the log ends inside this record");
			if (t != T_CLOSE)
				return fail_at(r, r->tok_line, "%s: field (%s) has more than one value",
					       rec->name, it->key);
		}
	}

	const struct fspec *fields = f_unknown;
	rec->kind = S2T_CM_UNKNOWN;
	for (size_t i = 0; i < S2_ARRAY_SIZE(kinds); i++)
		if (rec->name[0] == kinds[i].name[0] && !strcmp(rec->name, kinds[i].name)) {
			rec->kind = kinds[i].kind;
			fields = kinds[i].fields;
		}
	int ret = interpret(r, rec, fields);
	return ret ? ret : 1;
}

uint64_t s2trace_cm_tlbi_ipa(uint64_t operand)
{
	return s2_field_get(operand, 39, 0) << 12;
}

int s2trace_cm_tlbi_level(uint64_t operand)
{
	/* TTL: [3:2] the granule (0: no hint), [1:0] the level, where 0 is
	 * reserved and means no hint either (FEAT_TTL). */
	unsigned ttl = (unsigned)s2_field_get(operand, 47, 44);
	if (!(ttl >> 2) || !(ttl & 3))
		return -1;
	return (int)(ttl & 3);
}

/* ------------------------------------------------------------------ */
/* Conversion                                                          */
/* ------------------------------------------------------------------ */

#define MAX_INIT_PAGES 512		/* table pages one mem-init or mem-free may cover */
#define MAX_SET_BYTES (64u << 10)	/* bytes one mem-set may cover */

/* Records that change nothing s2emu checks: listed, never dropped silently. */
static const char R_READ_UNTRACKED[] = "a read of memory no mem-init covers: not a table";
static const char R_FREE_UNTRACKED[] = "a free of memory no mem-init covers: not a table";
static const char R_SET_UNTRACKED[] = "a mem-set of memory no mem-init covers: not a table";
static const char R_MAIR[] = "MAIR_EL2 holds no translation state the rules use";

/* Table pages by page number, in an s2_map keyed page + 1 (its keys are
 * non-zero); the value is unused. */
static bool ps_has(const struct s2_map *s, uint64_t page)
{
	uint64_t unused;
	return s2_map_get(s, page + 1, &unused);
}

static int ps_add(struct s2_map *s, uint64_t page)
{
	return s2_map_put(s, page + 1, 0) ? 0 : S2_ENOMEM;
}

static void ps_del(struct s2_map *s, uint64_t page)
{
	s2_map_del(s, page + 1);
}

struct conv {
	FILE *out;			/* NULL: events to opts->on_event, no text */
	const struct s2trace_cm_opts *opts;
	struct s2trace_cm_result *res;
	const char *name;
	unsigned gshift;		/* table page size */
	struct s2_map tables;		/* table pages (ps_*) */
	unsigned lines;			/* effect lines of the current record */
};

/* v in decimal: written for every effect, so without a format to parse. */
static void put_dec(FILE *f, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	fputs(p, f);
}

static void src_comment(struct conv *c, const struct s2trace_cm_record *rec)
{
	if (rec->have_src && rec->src_is_key) {
		fputs("  # src: key ", c->out);
		put_dec(c->out, rec->src_key);
		fputs(" (id ", c->out);
	} else if (rec->have_src) {
		fputs("  # src: ", c->out);
		fputs(rec->src, c->out);
		fputs(" (id ", c->out);
	} else {
		fputs("  # id ", c->out);
	}
	put_dec(c->out, rec->id);
	if (rec->have_src)
		fputc(')', c->out);
}

/* The effect line of kind for rec, with the rest of its words zero. */
static struct s2trace_event eff(const struct s2trace_cm_record *rec, enum s2trace_effect_kind kind)
{
	struct s2trace_event ev = { .kind = S2T_EFFECT, .line = rec->line };
	ev.effect.thread = (unsigned)rec->tid;
	ev.effect.kind = kind;
	ev.effect.level = S2PT_TLBI_NO_LEVEL;
	return ev;
}

/* One effect line, written by the trace writer: the first of a record
 * carries its source and id. Without text, the event itself to on_event. */
static void effect(struct conv *c, const struct s2trace_cm_record *rec, const struct s2trace_event *ev)
{
	if (!c->out) {
		c->lines++;
		c->res->effects++;
		c->opts->on_event(c->opts->arg, ev);
		return;
	}
	s2trace_print_event(c->out, ev);
	if (!c->lines++)
		src_comment(c, rec);
	fputc('\n', c->out);
	c->res->effects++;
}

static void unused(struct conv *c, const struct s2trace_cm_record *rec, const char *reason)
{
	struct s2trace_cm_result *res = c->res;
	char what[sizeof(res->groups[0].what)];

	snprintf(what, sizeof(what), "%s%s%s%s%s", rec->name, rec->what[0] ? " " : "", rec->what,
		 rec->domain[0] ? " " : "", rec->domain);
	if (c->out) {
		fprintf(c->out, "# unused: %s: %s", what, reason);
		src_comment(c, rec);
		fputc('\n', c->out);
	}
	res->unused++;
	unsigned g;
	for (g = 0; g < res->ngroups; g++)
		if (res->groups[g].reason == reason && !strcmp(res->groups[g].what, what))
			break;
	if (g == res->ngroups) {
		if (g == S2TRACE_CM_MAX_UNUSED) {
			res->ungrouped++;
			return;
		}
		res->ngroups++;
		snprintf(res->groups[g].what, sizeof(res->groups[g].what), "%s", what);
		res->groups[g].reason = reason;
	}
	if (res->groups[g].count < S2TRACE_CM_UNUSED_LINES)
		res->groups[g].lines[res->groups[g].count] = rec->line;
	res->groups[g].count++;
}

static unsigned granule_of(uint64_t vtcr)
{
	switch (s2_field_get(vtcr, 15, 14)) {	/* VTCR_EL2.TG0 */
	case 1:
		return 16;
	case 2:
		return 14;
	default:
		return 12;
	}
}

/* An error of the log: the record cannot be imported as written. */
static int reject(struct conv *c, const struct s2trace_cm_record *rec, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reject(struct conv *c, const struct s2trace_cm_record *rec, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->res->error, sizeof(c->res->error), "%s:%u: %s", c->name, rec->line, msg);
	return S2_EPARSE;
}

/* mem-init and mem-free: whole pages of the granule. mem-init makes memory
 * the checker tracks (a table page, or one to be); mem-free gives it back. */
static int map_pages(struct conv *c, const struct s2trace_cm_record *rec)
{
	uint64_t g = s2_bit(c->gshift), n = rec->size >> c->gshift;
	bool init = rec->kind == S2T_CM_MEM_INIT;
	uint64_t run = 0, start = 0;

	if (!rec->size || (rec->address | rec->size) & (g - 1) || rec->address + rec->size < rec->address)
		return reject(c, rec, "%s of %#llx+%#llx: not whole %lluK pages", rec->name,
			      (unsigned long long)rec->address, (unsigned long long)rec->size,
			      (unsigned long long)(g >> 10));
	if (n > MAX_INIT_PAGES)
		return reject(c, rec, "%s of %llu pages: more than %u in one record", rec->name,
			      (unsigned long long)n, MAX_INIT_PAGES);
	if (init) {
		for (uint64_t i = 0; i < n; i++)
			if (ps_add(&c->tables, (rec->address >> c->gshift) + i))
				return S2_ENOMEM;
		struct s2trace_event ev = eff(rec, S2T_EFF_ALLOC);
		ev.effect.pa = rec->address;
		ev.effect.size = n > 1 ? rec->size : 0;
		effect(c, rec, &ev);
		return 0;
	}
	/* Free the tracked pages, in runs. */
	for (uint64_t i = 0; i <= n; i++) {
		uint64_t pa = rec->address + i * g;
		bool tracked = i < n && ps_has(&c->tables, pa >> c->gshift);
		if (tracked) {
			if (!run++)
				start = pa;
			ps_del(&c->tables, pa >> c->gshift);
		} else if (run) {
			struct s2trace_event ev = eff(rec, S2T_EFF_FREE);
			ev.effect.pa = start;
			ev.effect.size = run * g;
			effect(c, rec, &ev);
			run = 0;
		}
	}
	if (!c->lines)
		unused(c, rec, R_FREE_UNTRACKED);
	return 0;
}

static int map_access(struct conv *c, const struct s2trace_cm_record *rec)
{
	bool tracked = ps_has(&c->tables, rec->address >> c->gshift);

	if (rec->address & 7)
		return reject(c, rec, "%s of %#llx: a descriptor is 8-byte aligned", rec->name,
			      (unsigned long long)rec->address);
	/* A store to untracked memory is not a table store; the checker
	 * counts it (a later mem-init may make it a table). */
	struct s2trace_event ev = eff(rec, rec->kind == S2T_CM_MEM_READ ? S2T_EFF_PTE_READ :
				      tracked ? S2T_EFF_PTE_WRITE : S2T_EFF_WRITE);
	ev.effect.pa = rec->address;
	ev.effect.value = rec->value;
	ev.effect.release = rec->kind != S2T_CM_MEM_READ && rec->release;
	if (rec->kind == S2T_CM_MEM_READ && !tracked)
		unused(c, rec, R_READ_UNTRACKED);
	else
		effect(c, rec, &ev);
	return 0;
}

/* mem-set: casemate's shorthand for a store of the byte to every word. */
static int map_set(struct conv *c, const struct s2trace_cm_record *rec)
{
	if ((rec->address | rec->size) & 7 || rec->address + rec->size < rec->address)
		return reject(c, rec, "mem-set of %#llx+%#llx: not whole descriptors",
			      (unsigned long long)rec->address, (unsigned long long)rec->size);
	if (rec->size > MAX_SET_BYTES)
		return reject(c, rec, "mem-set of %#llx bytes: more than %u in one record",
			      (unsigned long long)rec->size, MAX_SET_BYTES);
	uint64_t word = (rec->value & 0xff) * 0x0101010101010101ull;
	struct s2trace_event ev = eff(rec, S2T_EFF_PTE_WRITE);
	ev.effect.value = word;
	for (uint64_t pa = rec->address; pa < rec->address + rec->size; pa += 8)
		if (ps_has(&c->tables, pa >> c->gshift)) {
			ev.effect.pa = pa;
			effect(c, rec, &ev);
		}
	if (!c->lines)
		unused(c, rec, R_SET_UNTRACKED);
	return 0;
}

static int map_tlbi(struct conv *c, const struct s2trace_cm_record *rec)
{
	int op = s2trace_tlbi_parse(rec->what);

	if (op < 0)
		return reject(c, rec, "tlbi %s: an operation s2emu does not know", rec->what);
	unsigned flags = s2arm_tlbi_flags((enum s2arm_tlbi)op);
	struct s2trace_event ev = eff(rec, S2T_EFF_TLBI);
	ev.effect.op = (unsigned)op;
	if (flags & S2ARM_TLBI_BY_ADDR) {
		int level = s2trace_cm_tlbi_level(rec->value);
		if (level >= 0)
			ev.effect.level = level;
	}
	if ((flags & S2ARM_TLBI_BY_ADDR) && (flags & S2ARM_TLBI_EL2)) {
		/* VA[55:12] in Xt[43:0], ASID in Xt[63:48]. */
		ev.effect.ipa = s2_field_get(rec->value, 43, 0) << 12;
		ev.effect.have_vmid = rec->value >> 48;
		ev.effect.vmid = (unsigned)(rec->value >> 48);
	} else if (flags & S2ARM_TLBI_BY_ADDR) {
		ev.effect.ipa = s2trace_cm_tlbi_ipa(rec->value);
	}
	effect(c, rec, &ev);
	return 0;
}

static int map_hint(struct conv *c, const struct s2trace_cm_record *rec)
{
	static const char *const hint_kinds[][2] = {
		{ "set_root_lock", "set-root-lock" }, { "set_owner_root", "set-owner-root" },
		{ "release_table", "release-table" },
	};
	for (size_t i = 0; i < S2_ARRAY_SIZE(hint_kinds); i++)
		if (!strcmp(rec->what, hint_kinds[i][0])) {
			if (!ps_has(&c->tables, rec->address >> c->gshift))
				return reject(c, rec, "hint %s names %#llx, which no mem-init covers",
					      rec->what, (unsigned long long)rec->address);
			struct s2trace_event ev = eff(rec, S2T_EFF_HINT);
			ev.effect.op = (unsigned)s2trace_word_parse(S2T_W_HINT, hint_kinds[i][1]);
			ev.effect.pa = rec->address;
			ev.effect.value = rec->value;
			effect(c, rec, &ev);
			return 0;
		}
	return reject(c, rec, "hint %s: a kind s2emu does not know", rec->what);
}

static int map_sysreg(struct conv *c, const struct s2trace_cm_record *rec)
{
	struct s2trace_cm_result *res = c->res;
	int r = s2trace_word_parse(S2T_W_SYSREG, rec->what);

	if (r < 0)
		return reject(c, rec, "sysreg-write %s: a register s2emu does not know", rec->what);
	struct s2trace_event ev = eff(rec, r == S2EFF_VTTBR_EL2 ? S2T_EFF_VTTBR :
				      r == S2EFF_VTCR_EL2 ? S2T_EFF_VTCR : S2T_EFF_SYSREG);
	if (ev.effect.kind == S2T_EFF_SYSREG)
		ev.effect.op = (unsigned)r;	/* a vtcr or vttbr line names none */
	ev.effect.value = rec->value;
	if (r == S2EFF_VTTBR_EL2) {
		res->saw_vttbr = true;
	} else if (r == S2EFF_VTCR_EL2) {
		/* The granule sizes tracked pages; it cannot change under them. */
		if (!c->tables.n && !res->saw_vtcr)
			c->gshift = granule_of(rec->value);
		res->saw_vtcr = true;
	} else if (r == S2EFF_MAIR_EL2) {
		unused(c, rec, R_MAIR);
		return 0;
	}
	effect(c, rec, &ev);
	return 0;
}

static int map_record(struct conv *c, const struct s2trace_cm_record *rec)
{
	struct s2trace_cm_result *res = c->res;
	int ret = 0;

	c->lines = 0;
	if (rec->kind == S2T_CM_VERDICT) {
		if (c->out)
			fprintf(c->out, "# casemate: ! %s\n", rec->message);
		res->verdicts++;
		snprintf(res->verdict, sizeof(res->verdict), "%s", rec->message);
		return 0;
	}
	res->records++;
	if (rec->tid >= S2EFF_MAX_THREADS)
		return reject(c, rec, "thread id %llu: effect traces have threads 0 to %d",
			      (unsigned long long)rec->tid, S2EFF_MAX_THREADS - 1);
	switch (rec->kind) {
	case S2T_CM_MEM_WRITE:
	case S2T_CM_MEM_READ:
		ret = map_access(c, rec);
		break;
	case S2T_CM_MEM_INIT:
	case S2T_CM_MEM_FREE:
		ret = map_pages(c, rec);
		break;
	case S2T_CM_MEM_SET:
		ret = map_set(c, rec);
		break;
	case S2T_CM_SYSREG_WRITE:
		ret = map_sysreg(c, rec);
		break;
	case S2T_CM_BARRIER: {
		int dsb = rec->what[0] == 'i' ? -1 : s2arm_dsb_parse(rec->domain);
		if (!strcmp(rec->what, "isb")) {
			struct s2trace_event ev = eff(rec, S2T_EFF_ISB);
			effect(c, rec, &ev);
		} else if (dsb >= 0 && !strcmp(rec->domain, s2arm_dsb_mnemonic((enum s2arm_dsb)dsb))) {
			struct s2trace_event ev = eff(rec, S2T_EFF_DSB);
			ev.effect.op = (unsigned)dsb;
			effect(c, rec, &ev);
		} else
			ret = reject(c, rec, "dsb %s: a domain s2emu does not know (ish, ishst, nsh, "
				     "nshst, sy)", rec->domain);
		break;
	}
	case S2T_CM_TLBI:
		ret = map_tlbi(c, rec);
		break;
	case S2T_CM_HINT:
		ret = map_hint(c, rec);
		break;
	case S2T_CM_LOCK:
	case S2T_CM_UNLOCK:
	case S2T_CM_TRYLOCK:
		if (rec->address == UINT64_MAX) {
			ret = reject(c, rec, "%s of lock %#llx: that address stands for the anonymous "
				     "lock", rec->name, (unsigned long long)rec->address);
			break;
		}
		struct s2trace_event ev = eff(rec, rec->kind == S2T_CM_LOCK ? S2T_EFF_LOCK :
					      rec->kind == S2T_CM_UNLOCK ? S2T_EFF_UNLOCK : S2T_EFF_TRYLOCK);
		ev.effect.pa = rec->address;
		ev.effect.have_addr = true;
		effect(c, rec, &ev);
		break;
	case S2T_CM_UNKNOWN:
	case S2T_CM_VERDICT:
		ret = reject(c, rec, "%s: a transition s2emu does not know", rec->name);
		break;
	}
	if (c->lines)
		res->mapped++;
	return ret;
}

void s2trace_cm_print_unused(FILE *f, const char *prefix, const struct s2trace_cm_result *res)
{
	if (!res->unused)
		return;
	fprintf(f, "%s%llu of %llu transitions map to no effect:\n", prefix,
		(unsigned long long)res->unused, (unsigned long long)res->records);
	for (unsigned g = 0; g < res->ngroups; g++) {
		const struct s2trace_cm_unused *u = &res->groups[g];
		fprintf(f, "%s  %llu x %s (line%s", prefix, (unsigned long long)u->count, u->what,
			u->count > 1 ? "s" : "");
		for (unsigned i = 0; i < u->count && i < S2TRACE_CM_UNUSED_LINES; i++)
			fprintf(f, "%s %u", i ? "," : "", u->lines[i]);
		fprintf(f, "%s): %s\n", u->count > S2TRACE_CM_UNUSED_LINES ? ", ..." : "", u->reason);
	}
	if (res->ungrouped)
		fprintf(f, "%s  %llu more of other kinds\n", prefix, (unsigned long long)res->ungrouped);
}

int s2trace_cm_convert(FILE *in, const char *name, FILE *out, const struct s2trace_cm_opts *o,
		       struct s2trace_cm_result *res)
{
	struct s2trace_cm_record rec;
	struct conv c = { .out = o && o->on_event ? NULL : out, .opts = o, .res = res, .name = name,
			  .gshift = 12 };
	int ret;

	memset(res, 0, sizeof(*res));
	struct s2trace_cm_reader *r = s2trace_cm_reader_new(in, name);
	if (!r) {
		snprintf(res->error, sizeof(res->error), "%s: out of memory", name);
		return S2_ENOMEM;
	}
	if (c.out)
		fprintf(out, "s2emu-trace 1\n# imported by s2emu import-casemate from the casemate log %s\n",
			name);
	if (o && o->have_vtcr) {
		c.gshift = granule_of(o->vtcr);
		res->saw_vtcr = true;
		struct s2trace_event ev = { .kind = S2T_EFFECT };
		ev.effect.kind = S2T_EFF_VTCR;
		ev.effect.level = S2PT_TLBI_NO_LEVEL;
		ev.effect.value = o->vtcr;
		res->effects++;
		if (c.out) {
			s2trace_print_event(out, &ev);
			fputs("  # given to the importer, not in the log\n", out);
		} else {
			o->on_event(o->arg, &ev);
		}
	}
	while ((ret = s2trace_cm_next(r, &rec)) == 1)
		if ((ret = map_record(&c, &rec)))
			break;
	if (ret == S2_ENOMEM)
		snprintf(res->error, sizeof(res->error), "%s: out of memory", name);
	else if (ret && !res->error[0])
		snprintf(res->error, sizeof(res->error), "%s", s2trace_cm_error(r));
	s2trace_cm_reader_free(r);
	s2_map_free(&c.tables);
	if (ret || !c.out)
		return ret;

	if (!res->saw_vtcr)
		fprintf(out, "# note: the log writes no vtcr_el2: replay takes a 4K granule and a "
			     "48-bit IPA space (a VTCR given to the importer sets another)\n");
	s2trace_cm_print_unused(out, "# unused: ", res);
	fprintf(out, "# %llu transitions: %llu mapped to %llu effects, %llu unused; "
		     "%llu casemate verdicts\n",
		(unsigned long long)res->records, (unsigned long long)res->mapped,
		(unsigned long long)res->effects, (unsigned long long)res->unused,
		(unsigned long long)res->verdicts);
	if (fflush(out) || ferror(out)) {
		snprintf(res->error, sizeof(res->error), "%s: cannot write the converted trace", name);
		return S2_EIO;
	}
	return 0;
}
