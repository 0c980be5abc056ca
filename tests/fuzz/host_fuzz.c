/* libFuzzer harness for host programs (traces/host.c) and the host model
 * under them: any bytes as a .s2h program. The parser and the model must
 * not crash, leak or hang; a program refused gives one "NAME:LINE: problem"
 * line; an accepted one reports only rules of the host table.
 *
 * Build it with clang -fsanitize=fuzzer,address,undefined -I. against the
 * library's .c files (scripts/fuzz-smoke.sh does), and run it on
 * tests/fuzz/corpus/host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_err.h"
#include "traces/s2trace_host.h"

#define NAME "fuzz.s2h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s2trace_host_result res;
	char err[256];

	if (size > 16384)
		return 0;	/* long programs only repeat what short ones reach */
	int ret = s2trace_host_run((const char *)data, size, NAME, -1, NULL, NULL, &res, err,
				   sizeof(err));
	if (ret == S2_EPARSE) {
		if (strncmp(err, NAME ":", strlen(NAME ":")) || strchr(err, '\n') ||
		    !strstr(err + strlen(NAME ":"), ": "))
			abort();
	} else if (ret == 0) {
		if (res.fired >> S2HOST_NR_RULES || res.expected >> S2HOST_NR_RULES)
			abort();
	} else if (ret != S2_ENOMEM) {
		abort();
	}
	return 0;
}
