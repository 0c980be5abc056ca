/* libFuzzer harness for the casemate importer (traces/casemate.c): any
 * bytes as a casemate log. The converter must not crash, leak or hang; a
 * log it refuses gives one "NAME:LINE: problem" line; a log it accepts
 * gives a trace that our own reader accepts, line for line, with exactly
 * the effect lines it counted.
 *
 * Build it with clang -fsanitize=fuzzer,address,undefined -I. against the .c
 * files of common, walker, cache-model, hyp-model and traces (-lm), and run
 * it on tests/fuzz/corpus/casemate.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE		/* fmemopen, open_memstream with -std=c11 */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/s2trace.h"
#include "traces/s2trace_casemate.h"

#define NAME "fuzz.log"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The converted trace, read back: every event an effect. */
static void check_output(const char *text, size_t len, const struct s2trace_cm_result *res)
{
	FILE *f = fmemopen((void *)text, len, "r");
	if (!f)
		return;
	struct s2trace_reader *r = s2trace_reader_new(f, "converted");
	if (!r) {
		fclose(f);
		return;
	}
	struct s2trace_event ev;
	uint64_t n = 0;
	int ret;
	while ((ret = s2trace_next(r, &ev)) == 1) {
		if (ev.kind != S2T_EFFECT)
			abort();
		n++;
	}
	if (ret != 0 || n != res->effects) {
		fprintf(stderr, "converted trace refused (%d, %llu of %llu effects): %s\n", ret,
			(unsigned long long)n, (unsigned long long)res->effects, s2trace_error(r));
		abort();
	}
	s2trace_close(r);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		fclose(in);
		return 0;
	}
	struct s2trace_cm_result res;
	struct s2trace_cm_opts opts = { .have_vtcr = size & 1, .vtcr = size & 2 ? 0x8002b558 : 0 };
	int ret = s2trace_cm_convert(in, NAME, out, &opts, &res);
	fclose(in);
	if (fclose(out)) {
		free(text);
		return 0;
	}
	if (strncmp(text, "s2emu-trace 1\n", 14))
		abort();
	if (ret == 0) {
		if (res.mapped + res.unused != res.records)
			abort();
		check_output(text, len, &res);
	} else if (ret == S2_EPARSE) {
		if (strncmp(res.error, NAME ":", strlen(NAME ":")) || strchr(res.error, '\n') ||
		    !strstr(res.error + strlen(NAME ":"), ": "))
			abort();
	} else if (ret != S2_ENOMEM && ret != S2_EIO) {
		abort();
	}
	free(text);
	return 0;
}
