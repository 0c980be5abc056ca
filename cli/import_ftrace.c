/* s2emu import-ftrace: Linux ftrace text with arm64 KVM events in, an s2emu
 * trace (format v1) out. The work is traces/ftrace.c; this is options,
 * files and messages. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/s2_file.h"
#include "common/s2_err.h"
#include "traces/s2trace_ftrace.h"

#define CMD "import-ftrace"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: s2emu import-ftrace [options] FILE\n"
		"\n"
		"Converts the text of 'trace-cmd report' or of /sys/kernel/tracing/trace\n"
		"with arm64 KVM events into an s2emu trace (format version 1). FILE '-'\n"
		"is standard input.\n"
		"\n"
		"Guest faults become 'vcpu N fault' lines (MMIO faults 'mmio' lines), MMU\n"
		"notifier ranges 'host unmap-hva' and 'host age-hva', cache toggles and\n"
		"set/way flushes 'host flush-ipa' over every memslot, trace markers\n"
		"'# marker:' comments. Events of other kinds are counted and listed at the\n"
		"end. vCPU N is the thread called 'CPU N/KVM' (QEMU's name), other vCPU\n"
		"threads are numbered in order of appearance.\n"
		"\n"
		"options:\n"
		"  --layout FILE     config and memslot lines in trace syntax: copied into\n"
		"                    the header, and used to tell RAM from MMIO and guest\n"
		"                    memory from the rest of the VMM's address space\n"
		"  --memslot SPEC    one more memslot: the words of a memslot line joined by\n"
		"                    commas, without its number, e.g.\n"
		"                    ipa=0x40000000,size=1G,hva=0xffff40000000,backing=thp\n"
		"                    (repeatable; numbered after the layout's)\n"
		"  --vcpus N         the trace's vcpus (default: the layout's, else the\n"
		"                    highest vCPU seen + 1)\n"
		"  --phases          group events into phases so that neighbouring events of\n"
		"                    different threads may interleave on replay (default: a\n"
		"                    sequential trace)\n"
		"  --image FILE      the guest image, with --image-va: each fault whose PC\n"
		"  --image-va ADDR   falls in it gets its instruction, disassembled, in the\n"
		"                    fault line's comment (ADDR: the virtual address of the\n"
		"                    image's first byte)\n"
		"  -o FILE           write the trace to FILE (default: standard output)\n"
		"  --help            this text\n"
		"\n"
		"A marker 's2emu: host dirty-log-on slot=N' (or dirty-log-off,\n"
		"get-dirty-log) written to trace_marker becomes that host event.\n"
		"docs/ftrace-import.md has the details.\n"
		"\n"
		"exit status: 0 imported, 2 bad input or usage (one line on stderr:\n"
		"'s2emu import-ftrace: FILE:LINE: problem').\n");
}

static void bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "s2emu " CMD ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void lib_error(const struct s2trace_ftrace *imp)
{
	fprintf(stderr, "s2emu " CMD ": %s\n", s2trace_ftrace_error(imp));
}

static FILE *open_in(const char *path)
{
	return strcmp(path, "-") ? fopen(path, "r") : stdin;
}

static void close_in(FILE *f)
{
	if (f && f != stdin)
		fclose(f);
}

static void summary(const struct s2trace_ftrace *imp, const char *name)
{
	const struct s2trace_ftrace_stats *st = s2trace_ftrace_stats(imp);
	uint64_t count;

	fprintf(stderr,
		"s2emu " CMD ": %s: %" PRIu64 " events, %" PRIu64 " used, %" PRIu64 " unused;"
		" wrote %" PRIu64 " vcpu, %" PRIu64 " mmio and %" PRIu64 " host lines for %u vCPUs\n",
		name, st->events, st->used, st->unused, st->vcpu_lines, st->mmio_lines,
		st->host_lines, st->vcpus);
	if (st->outside_guest)
		fprintf(stderr, "s2emu " CMD ": %" PRIu64 " notifier events outside guest memory\n",
			st->outside_guest);
	for (size_t i = 0; i < s2trace_ftrace_nr_unused(imp); i++) {
		const char *ev = s2trace_ftrace_unused(imp, i, &count);
		fprintf(stderr, "s2emu " CMD ": unused: %s x%" PRIu64 "\n", ev, count);
	}
}

/* The whole image file, for disassembling faulting PCs. */
static int load_image(struct s2trace_ftrace *imp, const char *path, uint64_t va)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = s2_read_file(path, &buf, &len);

	if (err || !len) {
		bad("%s: cannot read%s", path, err == S2_ENOMEM ? ": too large" : err ? "" : ": empty");
		free(buf);
		return -1;
	}
	int ret = s2trace_ftrace_set_image(imp, buf, len, va);
	free(buf);
	if (ret)
		lib_error(imp);
	return ret ? -1 : 0;
}

int cli_import_ftrace(int argc, char **argv)
{
	struct s2trace_ftrace *imp = NULL;
	const char *input = NULL, *output = NULL, *image = NULL;
	uint64_t image_va = 0;
	bool have_va = false;
	FILE *in = NULL;
	struct cli_output out = { 0 };
	int ret = 2;

	if (s2trace_ftrace_create(&imp)) {
		fprintf(stderr, "s2emu " CMD ": out of memory\n");
		return 2;
	}
	/* Options are taken in order, so a layout's slots come before the
	 * --memslot slots that follow it on the command line. */
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		bool has_val = i + 1 < argc;

		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			usage(stdout);
			ret = 0;
			goto out;
		} else if (!strcmp(o, "--phases")) {
			s2trace_ftrace_set_phases(imp, true);
		} else if (!strcmp(o, "--image") || !strcmp(o, "--image-va")) {
			if (!has_val) {
				bad("%s needs a value", o);
				goto out;
			}
			if (!strcmp(o, "--image"))
				image = argv[++i];
			else if (cli_parse_u64(CMD, o, argv[++i], 0, UINT64_MAX, &image_va))
				goto out;
			else
				have_va = true;
		} else if (!strcmp(o, "--layout") || !strcmp(o, "--memslot") ||
			   !strcmp(o, "--vcpus") || !strcmp(o, "-o")) {
			if (!has_val) {
				bad("%s needs a value", o);
				goto out;
			}
			const char *v = argv[++i];
			if (!strcmp(o, "--layout")) {
				FILE *lf = open_in(v);
				if (!lf) {
					bad("%s: cannot open: %s", v, strerror(errno));
					goto out;
				}
				int err = s2trace_ftrace_read_layout(imp, lf, v);
				close_in(lf);
				if (err) {
					lib_error(imp);
					goto out;
				}
			} else if (!strcmp(o, "--memslot")) {
				if (s2trace_ftrace_add_memslot(imp, v)) {
					fprintf(stderr, "s2emu " CMD ": --memslot: %s\n",
						s2trace_ftrace_error(imp));
					goto out;
				}
			} else if (!strcmp(o, "--vcpus")) {
				uint64_t n;
				if (cli_parse_u64(CMD, o, v, 1, S2TRACE_FTRACE_MAX_VCPUS, &n))
					goto out;
				s2trace_ftrace_set_vcpus(imp, (unsigned)n);
			} else {
				output = v;
			}
		} else if (o[0] == '-' && o[1]) {
			bad("unknown option '%s' (try 's2emu import-ftrace --help')", o);
			goto out;
		} else if (input) {
			bad("one FILE only ('%s' and '%s' given)", input, o);
			goto out;
		} else {
			input = o;
		}
	}
	if (!input) {
		bad("needs a FILE (try 's2emu import-ftrace --help')");
		goto out;
	}
	if (!!image != have_va) {
		bad("--image and --image-va go together");
		goto out;
	}
	if (image && load_image(imp, image, image_va))
		goto out;

	if (!(in = open_in(input))) {
		bad("%s: cannot open: %s", input, strerror(errno));
		goto out;
	}
	if (cli_output_open(CMD, &out, output))
		goto out;
	if (s2trace_ftrace_read(imp, in, strcmp(input, "-") ? input : "<stdin>") ||
	    s2trace_ftrace_finish(imp)) {
		lib_error(imp);
		goto out;
	}
	/* Nothing reaches the output unless the whole import succeeds. */
	if (s2trace_ftrace_write(imp, out.f)) {
		lib_error(imp);
		goto out;
	}
	if (cli_output_commit(CMD, &out))
		goto out;
	summary(imp, input);
	ret = 0;
out:
	cli_output_abort(&out);
	close_in(in);
	s2trace_ftrace_destroy(imp);
	return ret;
}
