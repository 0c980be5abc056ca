/* libFuzzer harness for the trace reader (traces/read.c): any bytes, read
 * to the end or to the first error. The reader must not crash, leak or
 * read out of bounds, and every error must be one "NAME:LINE: problem"
 * line with a negative status.
 *
 * Replay is left out on purpose: a fuzzed trace can ask for a 1G memslot
 * or millions of steps, which would measure the model, not the reader.
 *
 * Build it with clang -fsanitize=fuzzer,address,undefined -I. against the .c
 * files of common, walker, cache-model, hyp-model and traces (-lm), and run
 * it on tests/fuzz/corpus/trace.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE		/* fmemopen with -std=c11 */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/s2trace.h"

#define NAME "fuzz.s2t"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Look at what the reader handed out, so that a field it left pointing at
 * freed or foreign memory is read (and caught by the sanitizers). */
static uint64_t touch(const struct s2trace_event *ev)
{
	uint64_t sum = ev->line;

	switch (ev->kind) {
	case S2T_SCHEDULE:
		for (unsigned i = 0; i < ev->schedule.n; i++)
			sum += ev->schedule.choices[i].kind + ev->schedule.choices[i].vcpu +
			       ev->schedule.choices[i].arg;
		break;
	case S2T_MEMSLOT:
		sum += ev->memslot.slot.ipa + ev->memslot.slot.size + ev->memslot.id;
		if (ev->memslot.id >= S2HYP_MAX_SLOTS)
			abort();
		break;
	case S2T_VCPU:
		if (ev->vcpu.vcpu >= S2HYP_MAX_VCPUS || ev->vcpu.op.size == 0 ||
		    ev->vcpu.op.size > 8 || (ev->vcpu.op.size & (ev->vcpu.op.size - 1)) ||
		    (ev->vcpu.op.ipa & (ev->vcpu.op.size - 1)))
			abort();
		sum += ev->vcpu.op.ipa;
		break;
	case S2T_EFFECT:
		if (ev->effect.thread > 255)
			abort();
		if ((ev->effect.kind == S2T_EFF_PTE_WRITE || ev->effect.kind == S2T_EFF_PTE_READ) &&
		    (ev->effect.pa & 7))
			abort();
		sum += ev->effect.pa + ev->effect.value;
		break;
	case S2T_HOST:
		sum += strlen(s2trace_host_name(ev->host.kind));
		break;
	case S2T_EXPECT:
		if (ev->expect.kind == S2T_EXP_FIRED &&
		    (ev->expect.rule < 0 || ev->expect.rule >= S2HYP_NR_RULES))
			abort();
		break;
	default:
		break;
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* fmemopen never writes through a read-only stream. */
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct s2trace_reader *r = s2trace_reader_new(f, NAME);
	if (!r) {
		fclose(f);
		return 0;
	}
	struct s2trace_event ev;
	volatile uint64_t sink = 0;
	int ret;
	while ((ret = s2trace_next(r, &ev)) == 1)
		sink += touch(&ev);
	if (ret < 0) {
		const char *err = s2trace_error(r);
		if (strncmp(err, NAME ":", strlen(NAME ":")) || strchr(err, '\n') ||
		    !strstr(err + strlen(NAME ":"), ": "))
			abort();
	} else if (ret != 0) {
		abort();
	}
	(void)sink;
	s2trace_close(r);
	fclose(f);
	return 0;
}
