/* ftrace_fuzz: libFuzzer harness for the ftrace importer (traces/ftrace.c).
 *
 * The input is the ftrace text, read as a file through fmemopen. A line
 * "%%" splits it: what comes before is a layout. Without one, the first
 * byte picks options (bit 0: the built-in layout, bit 1: --phases, bits
 * 4-7: --vcpus). A failed import must leave a "NAME:LINE: problem" or
 * "NAME: problem" message; a successful one must write only lines a trace
 * reader knows. Anything else aborts, which libFuzzer reports.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/s2trace_ftrace.h"

static const char builtin_layout[] =
	"config granule=4k ipa-bits=40\n"
	"memslot 0 ipa=0x40000000 size=8M hva=0xffff7be00000 backing=thp\n"
	"memslot 1 ipa=0x80000000 size=2M hva=0xffff70000000 backing=4k readonly\n";

static FILE *mem_file(const char *data, size_t size, char **copy)
{
	/* fmemopen wants a writable buffer and at least one byte. */
	*copy = malloc(size + 1);
	if (!*copy)
		abort();
	memcpy(*copy, data, size);
	(*copy)[size] = '\n';
	return fmemopen(*copy, size ? size : 1, "r");
}

static bool known_line(const char *l, size_t n)
{
	static const char *const words[] = { "s2emu-trace 1", "config", "memslot ", "phase ",
					     "vcpu ", "mmio vcpu=", "host ", "#" };
	if (!n)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (n >= strlen(words[i]) && !strncmp(l, words[i], strlen(words[i])))
			return true;
	return false;
}

static void check_output(const char *out, size_t len)
{
	if (len < 14 || strncmp(out, "s2emu-trace 1\n", 14))
		abort();
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(out + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (out + i)) : len - i;
		for (size_t j = 0; j < n; j++)
			if ((unsigned char)out[i + j] < 0x20 && out[i + j] != '\t')
				abort();	/* a control character would split or hide a line */
		if (!known_line(out + i, n))
			abort();
		i += n + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *layout = NULL;
	size_t text_len = size, layout_len = 0;
	struct s2trace_ftrace *imp;
	unsigned opts = size ? data[0] : 0;
	char *copy = NULL, *out = NULL;
	size_t out_len = 0;
	int ret = 0;
	FILE *f;

	for (size_t i = 0; i + 3 <= size; i++) {
		if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, "%%", 2) &&
		    text[i + 2] == '\n') {
			layout = text;
			layout_len = i;
			text += i + 3;
			text_len = size - i - 3;
			opts &= ~1u;
			break;
		}
	}
	if (opts & 1) {
		layout = builtin_layout;
		layout_len = strlen(builtin_layout);
	}
	if (s2trace_ftrace_create(&imp))
		return 0;
	s2trace_ftrace_set_phases(imp, opts & 2);
	if (opts >> 4)
		ret = s2trace_ftrace_set_vcpus(imp, opts >> 4);
	if (!ret && layout) {
		if (!(f = mem_file(layout, layout_len, &copy)))
			abort();
		ret = s2trace_ftrace_read_layout(imp, f, "layout");
		fclose(f);
		free(copy);
	}
	if (!ret) {
		if (!(f = mem_file(text, text_len, &copy)))
			abort();
		ret = s2trace_ftrace_read(imp, f, "ftrace");
		fclose(f);
		free(copy);
	}
	if (!ret) {
		FILE *o = open_memstream(&out, &out_len);
		if (!o)
			abort();
		ret = s2trace_ftrace_write(imp, o);
		fclose(o);
		if (!ret)
			check_output(out, out_len);
		free(out);
	}
	/* Every failure explains itself with a name and a colon. */
	if (ret && !strchr(s2trace_ftrace_error(imp), ':'))
		abort();
	s2trace_ftrace_destroy(imp);
	return 0;
}
