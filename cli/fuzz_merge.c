/* s2emu fuzz --merge: the --json results of the N shards of one search
 * (`s2emu fuzz --shard I/N --json`) combined into the result of the whole
 * search. Random and pct shards carry every seed's result, so distinct
 * schedules are counted over their union and the first seed of each rule
 * is the lowest; exhaustive shards add up (each class of interleavings is
 * run by exactly one shard), and when rules fired the first violation is
 * the one in the lowest branch of the split, as an unsplit search finds.
 *
 * The reader below knows JSON as our own writer prints it (objects,
 * arrays, strings with escapes, numbers, true, false, null) and refuses
 * anything else with one line "FILE: problem". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/s2_err.h"
#include "common/s2_file.h"
#include "common/s2_num.h"
#include "hyp-model/s2hyp_rules.h"
#include "traces/s2trace.h"

int cli_parse_shard(const char *s, unsigned *i, unsigned *n)
{
	uint64_t a, b;
	if (!s || s2_scan_u64(&s, S2_NUM_DEC, &a) || *s != '/' ||
	    s2_parse_u64(s + 1, S2_NUM_DEC, &b) || b < 1 || b > 1000000 || a >= b)
		return -1;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

/* ------------------------------------------------------------------ */
/* A small JSON reader                                                 */
/* ------------------------------------------------------------------ */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	bool b;
	char *s;		/* J_STR: the string; J_NUM: its text */
	const char *raw;	/* where it starts in the file's text */
	size_t rawlen;
	struct jval *items;	/* J_ARR, J_OBJ (values) */
	char **keys;		/* J_OBJ */
	size_t n;
};

struct jp {
	const char *p, *end;
	const char *err;
	unsigned depth;
};

static void jfree(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
}

static void skip_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static int jparse(struct jp *j, struct jval *v);

static int jstring(struct jp *j, char **out)
{
	size_t cap = 16, n = 0;
	char *s = malloc(cap);

	if (!s)
		return j->err = "out of memory", -1;
	j->p++;		/* the opening quote */
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		if ((unsigned char)c < 0x20)
			return free(s), j->err = "a control character in a string", -1;
		if (c == '\\') {
			if (j->p >= j->end)
				break;
			c = *j->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\\': case '/': break;
			case 'u': {
				unsigned u = 0;
				for (int k = 0; k < 4; k++) {
					char h = j->p < j->end ? *j->p++ : 0;
					u = u * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' :
						h >= 'a' && h <= 'f' ? h - 'a' + 10 :
						h >= 'A' && h <= 'F' ? h - 'A' + 10 : 99);
				}
				if (u > 0xffff)
					return free(s), j->err = "a bad \\u escape", -1;
				c = u < 0x80 ? (char)u : '?';	/* our writer escapes only controls */
				break;
			}
			default:
				return free(s), j->err = "a bad escape in a string", -1;
			}
		}
		if (n + 2 > cap) {
			char *t = realloc(s, cap *= 2);
			if (!t)
				return free(s), j->err = "out of memory", -1;
			s = t;
		}
		s[n++] = c;
	}
	if (j->p >= j->end)
		return free(s), j->err = "a string does not end", -1;
	j->p++;
	s[n] = '\0';
	*out = s;
	return 0;
}

static int jpush(struct jval *v, size_t *cap, bool keyed)
{
	if (v->n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	void *p = realloc(v->items, nc * sizeof(*v->items));
	if (!p)
		return -1;
	v->items = p;
	if (keyed) {
		p = realloc(v->keys, nc * sizeof(*v->keys));
		if (!p)
			return -1;
		v->keys = p;
	}
	*cap = nc;
	return 0;
}

static int jcontainer(struct jp *j, struct jval *v, bool obj)
{
	size_t cap = 0;
	char close = obj ? '}' : ']';

	v->t = obj ? J_OBJ : J_ARR;
	if (++j->depth > 64)
		return j->err = "nested too deeply", -1;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(j);
		if (obj) {
			if (j->p >= j->end || *j->p != '"')
				return j->err = "an object key is not a string", -1;
			if (jstring(j, &key))
				return -1;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return free(key), j->err = "no ':' after an object key", -1;
			j->p++;
		}
		if (jpush(v, &cap, obj))
			return free(key), j->err = "out of memory", -1;
		memset(&v->items[v->n], 0, sizeof(v->items[v->n]));
		if (obj)
			v->keys[v->n] = key;
		v->n++;
		if (jparse(j, &v->items[v->n - 1]))
			return -1;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return 0;
		}
		return j->err = obj ? "no ',' or '}' in an object" : "no ',' or ']' in an array", -1;
	}
}

static int jparse(struct jp *j, struct jval *v)
{
	skip_ws(j);
	v->raw = j->p;
	int ret;
	if (j->p >= j->end)
		return j->err = "the text ends where a value should be", -1;
	switch (*j->p) {
	case '{': ret = jcontainer(j, v, true); break;
	case '[': ret = jcontainer(j, v, false); break;
	case '"': v->t = J_STR; ret = jstring(j, &v->s); break;
	default:
		if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
			v->t = *j->p == 't' ? J_BOOL : J_NULL;
			v->b = true;
			j->p += 4;
			ret = 0;
		} else if (!strncmp(j->p, "false", 5)) {
			v->t = J_BOOL;
			j->p += 5;
			ret = 0;
		} else {
			const char *s = j->p;
			while (j->p < j->end && strchr("+-0123456789.eE", *j->p))
				j->p++;
			if (j->p == s)
				return j->err = "not a JSON value", -1;
			v->t = J_NUM;
			v->s = strndup(s, (size_t)(j->p - s));
			ret = v->s ? 0 : (j->err = "out of memory", -1);
		}
	}
	v->rawlen = (size_t)(j->p - v->raw);
	return ret;
}

static const struct jval *jget(const struct jval *o, const char *key)
{
	if (o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->items[i];
	return NULL;
}

static uint64_t jnum(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_NUM ? strtoull(v->s, NULL, 0) : 0;
}

static double jdouble(const struct jval *o, const char *key)
{
	const struct jval *v = jget(o, key);
	return v && v->t == J_NUM ? strtod(v->s, NULL) : 0;
}

/* ------------------------------------------------------------------ */
/* Merging                                                             */
/* ------------------------------------------------------------------ */

struct shard {
	const char *path;
	uint8_t *text;
	struct jval v;
	unsigned i, n;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void raw(const struct jval *v)
{
	fwrite(v->raw, 1, v->rawlen, stdout);
}

/* The fields every shard of one search shares, in fuzz --json's order. */
static const char *const same_keys[] = {
	"scenario", "walker", "vcpus", "strategy", "seed", "depth", "background",
	"preemption_bound",
};

static int load(struct shard *s, char *err, size_t errlen)
{
	size_t n;
	if (s2_read_file(s->path, &s->text, &n)) {
		snprintf(err, errlen, "%s: cannot read it", s->path);
		return -1;
	}
	struct jp j = { (const char *)s->text, (const char *)s->text + n, NULL, 0 };
	if (jparse(&j, &s->v)) {
		snprintf(err, errlen, "%s: not a fuzz --json result: %s", s->path, j.err);
		return -1;
	}
	skip_ws(&j);
	if (j.p != j.end) {
		snprintf(err, errlen, "%s: text after the JSON object", s->path);
		return -1;
	}
	const struct jval *sh = jget(&s->v, "shard");
	if (!sh || sh->t != J_STR || cli_parse_shard(sh->s, &s->i, &s->n)) {
		snprintf(err, errlen, "%s: no \"shard\": not the --json result of fuzz --shard I/N",
			 s->path);
		return -1;
	}
	for (size_t k = 0; k < sizeof(same_keys) / sizeof(same_keys[0]); k++)
		if (!jget(&s->v, same_keys[k])) {
			snprintf(err, errlen, "%s: no \"%s\"", s->path, same_keys[k]);
			return -1;
		}
	return 0;
}

static bool same(const struct jval *a, const struct jval *b)
{
	return a->rawlen == b->rawlen && !memcmp(a->raw, b->raw, a->rawlen);
}

struct merged {
	bool exhaustive;
	uint64_t runs, steps, distinct, incomplete;
	uint64_t terminal, blocked, pruned, bound_cut, max_depth;
	bool complete;
	double secs;
	uint64_t fired[S2HYP_NR_RULES], first_seed[S2HYP_NR_RULES];
	char error[240];
	const struct shard *found_in;	/* the shard holding the first violation */
	const struct jval *found;
};

static int merge_seeds(struct shard *sh, unsigned n, struct merged *mg, char *err, size_t errlen)
{
	size_t nh = 0, cap = 0;
	uint64_t *h = NULL, err_seed = UINT64_MAX, found_seed = UINT64_MAX;

	for (unsigned k = 0; k < n; k++) {
		const struct jval *seeds = jget(&sh[k].v, "seeds");
		if (!seeds || seeds->t != J_ARR) {
			snprintf(err, errlen, "%s: no \"seeds\" (run the shard with --json)", sh[k].path);
			free(h);
			return -1;
		}
		for (size_t i = 0; i < seeds->n; i++) {
			const struct jval *sd = &seeds->items[i];
			const struct jval *rule = jget(sd, "rule"), *out = jget(sd, "outcome");
			const struct jval *hash = jget(sd, "hash");
			uint64_t seed = jnum(sd, "seed");
			if (!hash || hash->t != J_STR || !rule || !out || out->t != J_STR) {
				snprintf(err, errlen, "%s: a seed without hash, rule or outcome",
					 sh[k].path);
				free(h);
				return -1;
			}
			if (nh == cap) {
				cap = cap ? cap * 2 : 1024;
				uint64_t *p = realloc(h, cap * sizeof(*h));
				if (!p) {
					snprintf(err, errlen, "out of memory");
					free(h);
					return -1;
				}
				h = p;
			}
			h[nh++] = strtoull(hash->s, NULL, 0);
			mg->runs++;
			mg->steps += jnum(sd, "steps");
			if (rule->t == J_STR) {
				int r = s2trace_word_parse(S2T_W_RULE, rule->s);
				if (r < 0) {
					snprintf(err, errlen, "%s: unknown rule '%s'", sh[k].path, rule->s);
					free(h);
					return -1;
				}
				if (!mg->fired[r]++ || seed < mg->first_seed[r])
					mg->first_seed[r] = seed;
				if (seed < found_seed) {
					found_seed = seed;
					mg->found_in = &sh[k];
				}
			} else if (strcmp(out->s, "done")) {
				mg->incomplete++;
				if (seed < err_seed) {
					err_seed = seed;
					snprintf(mg->error, sizeof(mg->error), "seed %llu: the run ended: %s",
						 (unsigned long long)seed, out->s);
				}
			}
		}
	}
	qsort(h, nh, sizeof(*h), cmp_u64);
	for (size_t i = 0; i < nh; i++)
		mg->distinct += !i || h[i] != h[i - 1];
	free(h);
	return 0;
}

/* Whether path a comes before path b in the search's order. */
static bool path_before(const struct jval *a, const struct jval *b)
{
	if (!b)
		return true;
	for (size_t i = 0; i < a->n && i < b->n; i++) {
		uint64_t x = strtoull(a->items[i].s ? a->items[i].s : "0", NULL, 10);
		uint64_t y = strtoull(b->items[i].s ? b->items[i].s : "0", NULL, 10);
		if (x != y)
			return x < y;
	}
	return a->n < b->n;
}

static void merge_exhaustive(struct shard *sh, unsigned n, struct merged *mg)
{
	const struct jval *best = NULL;

	mg->complete = true;
	for (unsigned k = 0; k < n; k++) {
		const struct jval *v = &sh[k].v;
		mg->runs += jnum(v, "runs");
		mg->steps += jnum(v, "steps");
		mg->incomplete += jnum(v, "incomplete");
		mg->terminal += jnum(v, "terminal");
		mg->blocked += jnum(v, "blocked");
		mg->pruned += jnum(v, "pruned");
		mg->bound_cut += jnum(v, "bound_cut");
		if (jnum(v, "max_depth") > mg->max_depth)
			mg->max_depth = jnum(v, "max_depth");
		const struct jval *c = jget(v, "complete");
		mg->complete &= c && c->t == J_BOOL && c->b;
		const struct jval *e = jget(v, "error");
		if (!mg->error[0] && e && e->t == J_STR)
			snprintf(mg->error, sizeof(mg->error), "%s", e->s);
		const struct jval *f = jget(v, "found");
		const struct jval *path = f ? jget(f, "path") : NULL;
		if (path && path->t == J_ARR && path_before(path, best)) {
			best = path;
			mg->found_in = &sh[k];
		}
	}
	/* Each shard stops at its first violation: the whole search would
	 * have stopped at the first of them in its order. */
	if (mg->found_in) {
		const struct jval *rule = jget(jget(&mg->found_in->v, "found"), "rule");
		int r = rule && rule->t == J_STR ? s2trace_word_parse(S2T_W_RULE, rule->s) : -1;
		if (r >= 0)
			mg->fired[r] = 1;
	}
}

static void print_merged_json(const struct shard *sh, unsigned n, const struct merged *mg)
{
	/* The search's own fields, in the order fuzz --json prints them. */
	for (size_t f = 0; f < sizeof(same_keys) / sizeof(same_keys[0]); f++) {
		printf("%s\"%s\": ", f ? ", " : "{", same_keys[f]);
		raw(jget(&sh[0].v, same_keys[f]));
	}
	printf(", \"runs\": %llu, \"distinct\": %llu, \"steps\": %llu, \"seconds\": %.3f, "
	       "\"incomplete\": %llu, \"error\": ", (unsigned long long)mg->runs,
	       (unsigned long long)(mg->exhaustive ? mg->runs : mg->distinct),
	       (unsigned long long)mg->steps, mg->secs, (unsigned long long)mg->incomplete);
	cli_json_string(mg->error);
	if (mg->exhaustive)
		printf(", \"complete\": %s, \"terminal\": %llu, \"blocked\": %llu, \"pruned\": %llu, "
		       "\"bound_cut\": %llu, \"max_depth\": %llu", mg->complete ? "true" : "false",
		       (unsigned long long)mg->terminal, (unsigned long long)mg->blocked,
		       (unsigned long long)mg->pruned, (unsigned long long)mg->bound_cut,
		       (unsigned long long)mg->max_depth);
	printf(", \"rules\": {");
	bool first = true;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		if (!mg->fired[r])
			continue;
		printf("%s\"%s\": %llu", first ? "" : ", ", s2hyp_rule_name((enum s2hyp_rule)r),
		       (unsigned long long)mg->fired[r]);
		first = false;
	}
	printf("}, \"shards\": %u, \"counterexample\": ", n);
	const struct jval *c = mg->found_in ? jget(&mg->found_in->v, "counterexample") : NULL;
	if (c)
		raw(c);
	else
		printf("null");
	printf("}\n");
}

static void print_merged_text(const struct shard *sh, unsigned n, const struct merged *mg)
{
	const struct jval *v = &sh[0].v;
	printf("merged %u shards of fuzz %s: walker %s, strategy %s\n", n, jget(v, "scenario")->s,
	       jget(v, "walker")->s, jget(v, "strategy")->s);
	printf("runs:      %llu (%llu distinct schedules), %llu steps, %.2f s in the longest "
	       "shard\n", (unsigned long long)mg->runs,
	       (unsigned long long)(mg->exhaustive ? mg->runs : mg->distinct),
	       (unsigned long long)mg->steps, mg->secs);
	if (mg->exhaustive)
		printf("coverage:  %s; %llu schedules ran to their end, %llu stopped early with every "
		       "choice left asleep, %llu branches pruned, %llu cut by the bound; deepest "
		       "%llu\n",
		       mg->found_in ? "stopped at the first violation" :
		       mg->complete ? "complete" : "incomplete",
		       (unsigned long long)mg->terminal, (unsigned long long)mg->blocked,
		       (unsigned long long)mg->pruned, (unsigned long long)mg->bound_cut,
		       (unsigned long long)mg->max_depth);
	if (mg->incomplete)
		printf("incomplete: %llu runs did not finish (%s)\n",
		       (unsigned long long)mg->incomplete, mg->error);
	bool any = false;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		if (!mg->fired[r])
			continue;
		if (!any)
			printf("rules fired first:\n");
		any = true;
		printf("  %-28s in %llu of %llu runs", s2hyp_rule_name((enum s2hyp_rule)r),
		       (unsigned long long)mg->fired[r], (unsigned long long)mg->runs);
		if (!mg->exhaustive)
			printf(" (first seed %llu)", (unsigned long long)mg->first_seed[r]);
		printf("\n");
	}
	if (!any)
		printf("rules:     none fired\n");
	const struct jval *c = mg->found_in ? jget(&mg->found_in->v, "counterexample") : NULL;
	const struct jval *t = c ? jget(c, "trace") : NULL;
	if (t && t->t == J_STR && t->s[0])
		printf("counterexample: %s (from %s)\n", t->s, mg->found_in->path);
}

int cli_fuzz_merge(int argc, char **argv)
{
	struct shard *sh = calloc((size_t)argc, sizeof(*sh));
	unsigned n = 0;
	bool json = false;
	char err[600] = "";
	int status = 2;

	if (!sh) {
		fprintf(stderr, "s2emu fuzz: out of memory\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--merge"))
			continue;
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			snprintf(err, sizeof(err), "--merge takes only --json and files, not '%s'",
				 argv[i]);
			goto out;
		} else {
			sh[n++].path = argv[i];
		}
	}
	if (!n) {
		snprintf(err, sizeof(err), "--merge needs the --json results of the shards");
		goto out;
	}
	for (unsigned k = 0; k < n; k++)
		if (load(&sh[k], err, sizeof(err)))
			goto out;
	for (unsigned k = 0; k < n; k++) {
		if (sh[k].n != sh[0].n) {
			snprintf(err, sizeof(err), "%s is a shard of %u, %s of %u", sh[k].path, sh[k].n,
				 sh[0].path, sh[0].n);
			goto out;
		}
		for (size_t f = 0; f < sizeof(same_keys) / sizeof(same_keys[0]); f++)
			if (!same(jget(&sh[k].v, same_keys[f]), jget(&sh[0].v, same_keys[f]))) {
				snprintf(err, sizeof(err), "%s and %s are not shards of one search: "
					 "their \"%s\" differs", sh[0].path, sh[k].path, same_keys[f]);
				goto out;
			}
		for (unsigned l = 0; l < k; l++)
			if (sh[l].i == sh[k].i) {
				snprintf(err, sizeof(err), "%s and %s are both shard %u", sh[l].path,
					 sh[k].path, sh[k].i);
				goto out;
			}
	}
	if (n != sh[0].n) {
		snprintf(err, sizeof(err), "%u of the %u shards given: every shard is needed", n,
			 sh[0].n);
		goto out;
	}

	struct merged mg = { 0 };
	const struct jval *strat = jget(&sh[0].v, "strategy");
	mg.exhaustive = strat->t == J_STR && !strcmp(strat->s, "exhaustive");
	for (unsigned k = 0; k < n; k++)
		if (jdouble(&sh[k].v, "seconds") > mg.secs)
			mg.secs = jdouble(&sh[k].v, "seconds");
	if (mg.exhaustive)
		merge_exhaustive(sh, n, &mg);
	else if (merge_seeds(sh, n, &mg, err, sizeof(err)))
		goto out;
	if (json)
		print_merged_json(sh, n, &mg);
	else
		print_merged_text(sh, n, &mg);
	if (cli_close_output("fuzz", stdout, NULL))
		goto out;
	status = mg.found_in || mg.incomplete ? 1 : 0;
out:
	if (status == 2 && err[0])	/* cli_close_output printed its own */
		fprintf(stderr, "s2emu fuzz: %s\n", err);
	for (unsigned k = 0; k < n; k++) {
		jfree(&sh[k].v);
		free(sh[k].text);
	}
	free(sh);
	return status;
}
