/* s2emu bugs: hunt every bug of the bug table from the generic generator
 * alone, and print the table of docs/bugs.md with the time each took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fuzz/s2fuzz.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: s2emu bugs [--runs N] [--corpus DIR] [--markdown]\n\n"
		   "For every real Linux bug of the table (docs/bugs.md), fuzzes its buggy\n"
		   "variant with a generated scenario every seed (s2emu fuzz with no scenario)\n"
		   "and reports whether the rule that names the bug fired, after how many\n"
		   "scenarios and how long; then runs the correct variants over as many seeds.\n\n"
		   "options:\n"
		   "  --runs N        seeds per bug at most; default 5000\n"
		   "  --corpus DIR    write each bug's first find, shrunk on its rule against\n"
		   "                  upstream, as DIR/bug-VARIANT.s2t\n"
		   "  --markdown      the table as docs/bugs.md carries it\n\n"
		   "exit status: 0 every bug found and the correct variants clean, 1 otherwise,\n"
		   "2 bad usage.\n");
}

static int write_trace(const char *dir, const struct s2fuzz_bug *b, const struct s2fuzz_hunt *h,
		       char *path, size_t n)
{
	char comment[400];

	snprintf(path, n, "%s/bug-%s.s2t", dir, b->variant);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	snprintf(comment, sizeof(comment), "%s: found by s2emu bugs (s2emu fuzz --walker %s, "
		 "generated scenario of seed %llu), shrunk", b->commit, b->variant,
		 (unsigned long long)h->first_seed);
	int ret = s2fuzz_cex_write(f, &h->cex, comment);
	return fclose(f) || ret ? -1 : 0;
}

int cli_bugs(int argc, char **argv)
{
	uint64_t runs = 5000;
	const char *corpus = NULL;
	bool markdown = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--markdown")) {
			markdown = true;
		} else if (!strcmp(argv[i], "--runs")) {
			if (cli_parse_u64("bugs", "--runs", i + 1 < argc ? argv[++i] : NULL, 1,
					  100000000, &runs))
				return 2;
		} else if (!strcmp(argv[i], "--corpus")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr, "s2emu bugs: --corpus needs a directory\n");
				return 2;
			}
			corpus = argv[++i];
		} else {
			fprintf(stderr, "s2emu bugs: unknown option '%s' (try 's2emu bugs --help')\n",
				argv[i]);
			return 2;
		}
	}

	int status = 0;
	if (markdown)
		printf("| bug (the Linux fix) | variant | rule | found after | minimal trace |\n"
		       "| --- | --- | --- | --- | --- |\n");
	for (const struct s2fuzz_bug *b = s2fuzz_bugs; b->variant; b++) {
		struct s2fuzz_hunt h;
		char err[300] = "", path[512] = "";
		if (s2fuzz_bug_hunt(b, runs, 0, corpus != NULL, &h, err, sizeof(err))) {
			fprintf(stderr, "s2emu bugs: %s: %s\n", b->variant, err);
			return 2;
		}
		if (h.have_cex && write_trace(corpus, b, &h, path, sizeof(path))) {
			fprintf(stderr, "s2emu bugs: cannot write %s\n", path);
			s2fuzz_hunt_free(&h);
			return 2;
		}
		if (!h.found)
			status = 1;
		if (markdown) {
			printf("| %s | `%s` | `%s` | ", b->commit, b->variant, b->rule);
			if (h.found)
				printf("%llu scenario%s, %.1f ms", (unsigned long long)h.schedules,
				       h.schedules == 1 ? "" : "s", h.secs_to_find * 1e3);
			else
				printf("not found in %llu", (unsigned long long)h.runs);
			if (s2fuzz_bug_bound(b) != S2FUZZ_BUG_BOUND)
				printf(" (bound %llu)", (unsigned long long)s2fuzz_bug_bound(b));
			if (path[0])
				printf(" | `%s` |\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
			else
				printf(" | |\n");
		} else {
			printf("%-26s %-28s ", b->variant, b->rule);
			if (h.found)
				printf("found after %llu scenarios, %.1f ms", (unsigned long long)h.schedules,
				       h.secs_to_find * 1e3);
			else
				printf("NOT FOUND in %llu scenarios", (unsigned long long)h.runs);
			if (path[0])
				printf("; %s", path);
			printf("\n");
		}
		s2fuzz_hunt_free(&h);
	}

	/* The correct variants over the same seeds. */
	static const char *const ok[] = { "upstream", "upstream-2021", "install-first" };
	for (unsigned i = 0; i < 3; i++) {
		struct s2fuzz_bug b = { ok[i], "refcount", "", "", 0 };
		struct s2fuzz_hunt h;
		char err[300] = "";
		if (s2fuzz_bug_hunt(&b, runs, 0, false, &h, err, sizeof(err))) {
			fprintf(stderr, "s2emu bugs: %s: %s\n", ok[i], err);
			return 2;
		}
		unsigned fired = 0;
		for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
			fired += h.res.fired_runs[r] > 0;
		if (fired || h.res.incomplete)
			status = 1;
		if (markdown)
			printf("%s`%s`: %s over %llu generated scenarios", i ? "; " : "\nCorrect variants: ",
			       ok[i], fired ? "FIRES" : h.res.incomplete ? "INCOMPLETE RUNS" :
			       "nothing fires", (unsigned long long)h.runs);
		else
			printf("%-26s %s over %llu generated scenarios\n", ok[i],
			       fired ? "FIRES" : h.res.incomplete ? "has incomplete runs" :
			       "nothing fires", (unsigned long long)h.runs);
		s2fuzz_hunt_free(&h);
	}
	if (markdown)
		printf(".\n");

	return status;
}
