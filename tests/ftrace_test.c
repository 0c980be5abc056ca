/* ftrace_test: the ftrace importer: the line prefix of both text formats,
 * every event kind, vCPU attribution, ordering, the layout, and every
 * bad-input path. (ESR decoding is arch_test's.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/s2_err.h"
#include "traces/s2trace_ftrace.h"

/* ------------------------------------------------------------------ */
/* The line prefix                                                     */
/* ------------------------------------------------------------------ */

static void assert_prefix(const char *line, const char *comm, long pid, unsigned cpu,
			  uint64_t ts, const char *event, const char *payload)
{
	struct s2trace_ftrace_line l;

	assert_int_equal(s2trace_ftrace_parse_line(line, &l), 0);
	assert_int_equal(l.comm_len, strlen(comm));
	assert_memory_equal(l.comm, comm, strlen(comm));
	assert_int_equal(l.pid, pid);
	assert_int_equal(l.cpu, cpu);
	assert_int_equal(l.ts_ns, ts);
	assert_int_equal(l.event_len, strlen(event));
	assert_memory_equal(l.event, event, strlen(event));
	assert_string_equal(l.payload, payload);
}

/* trace-cmd report: no flags column, event names padded. */
static void test_prefix_trace_cmd(void **state)
{
	(void)state;
	assert_prefix("       CPU 0/KVM-4212  [001] 3817.402871: kvm_entry:           PC: 0x0000000040000000",
		      "CPU 0/KVM", 4212, 1, 3817402871000ull, "kvm_entry", "PC: 0x0000000040000000");
	assert_prefix("            bash-4301  [003] 3817.402113: print:               tracing_mark_write: hi",
		      "bash", 4301, 3, 3817402113000ull, "print", "tracing_mark_write: hi");
	/* With latency flags (trace-cmd report -l, and newer versions). */
	assert_prefix("  CPU 1/KVM-4213  [002] d..1. 12.000000500: kvm_exit: TRAP: HSR_EC: 0x0024",
		      "CPU 1/KVM", 4213, 2, 12000000500ull, "kvm_exit", "TRAP: HSR_EC: 0x0024");
}

/* /sys/kernel/tracing/trace: flags column, and the tgid column when
 * record-tgid is on. */
static void test_prefix_raw(void **state)
{
	(void)state;
	assert_prefix("     CPU 0/KVM-4212    [001] d..2.  3817.402871: kvm_entry: PC: 0x0000000040000000",
		      "CPU 0/KVM", 4212, 1, 3817402871000ull, "kvm_entry", "PC: 0x0000000040000000");
	assert_prefix("    Binder:640_4-2066  (  640) [005] .... 261187.017446: tracing_mark_write: B|640|x",
		      "Binder:640_4", 2066, 5, 261187017446000ull, "tracing_mark_write", "B|640|x");
	assert_prefix("          <idle>-0       (-------) [000] dNh1. 5.5: irq_handler_entry: irq=1",
		      "<idle>", 0, 0, 5500000000ull, "irq_handler_entry", "irq=1");
	assert_prefix("           <...>-77      [003] ...1.  9.000001: kvm_age_hva: mmu notifier",
		      "<...>", 77, 3, 9000001000ull, "kvm_age_hva", "mmu notifier");
	/* Dashes, digits and brackets in the task name. */
	assert_prefix(" kworker/u8:2-[x]-9-31 [000] .....  1.000000: workqueue_execute_start: work",
		      "kworker/u8:2-[x]-9", 31, 0, 1000000000ull, "workqueue_execute_start", "work");
}

/* The function tracer has no event name; nanosecond and counter clocks. */
static void test_prefix_function_and_clocks(void **state)
{
	(void)state;
	assert_prefix("  qemu-system-aar-4180  [000] ..... 100.000001: do_sys_open <-do_syscall_64",
		      "qemu-system-aar", 4180, 0, 100000001000ull, "function", "do_sys_open <-do_syscall_64");
	assert_prefix("  a-1  [000] 7.123456789: x: y", "a", 1, 0, 7123456789ull, "x", "y");
	/* Digits past nanoseconds are dropped, not rounded. */
	assert_prefix("  a-1  [000] 7.1234567899: x: y", "a", 1, 0, 7123456789ull, "x", "y");
	/* A counter clock: kept as it is, only the order matters. */
	assert_prefix("  a-1  [000] 123456789: x: y", "a", 1, 0, 123456789ull, "x", "y");
	assert_prefix("  a-1  [000] 1.5: x:", "a", 1, 0, 1500000000ull, "x", "");
}

/* Headers, comments and damaged prefixes are not events. */
static void test_prefix_not_events(void **state)
{
	static const char *const lines[] = {
		"", "   ", "# tracer: nop", "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
		"cpus=4", "CPU 0 is empty", "version = 6", "CPU:3 [LOST 12 EVENTS]",
		"a-1 [000] x: y",		/* no timestamp */
		"a-1[000] 1.0: x: y",		/* no blank before the CPU field */
		"a 1 [000] 1.0: x: y",		/* no pid */
		"-1 [000] 1.0: x: y",		/* no task name */
		"a-1 [] 1.0: x: y", "a-1 [0x] 1.0: x: y", "a-1 [000] 1.: x: y",
		"a-1 [000] 1.0 x: y",		/* no colon after the timestamp */
		"a-1 [000] .......... 1.0: x: y",	/* flags too long */
		"a-1 [000] 123456789012345678901.0: x: y",
		" 1)   0.345 us    |  kvm_handle_guest_abort();",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct s2trace_ftrace_line l;
		assert_int_equal(s2trace_ftrace_parse_line(lines[i], &l), S2_ENOENT);
	}
}

/* ------------------------------------------------------------------ */
/* Import helpers                                                      */
/* ------------------------------------------------------------------ */

#define LAYOUT \
	"config granule=4k ipa-bits=40\n" \
	"memslot 0 ipa=0x40000000 size=8M hva=0xffff7be00000 backing=thp\n" \
	"memslot 1 ipa=0x80000000 size=2M hva=0xffff70000000 backing=4k readonly\n"

#define V0 "       CPU 0/KVM-4212  [001] "
#define V1 "       CPU 1/KVM-4213  [002] "
#define HOST "  qemu-system-aar-4180  [000] "

struct imported {
	int ret;
	char *out;
	char err[512];
	struct s2trace_ftrace_stats st;
	size_t nr_unused;
	char unused[8][40];
	uint64_t unused_count[8];
};

struct opts {
	const char *layout;
	const char *memslot;
	unsigned vcpus;
	bool phases;
};

static FILE *text_file(const char *text, char **copy)
{
	/* fmemopen refuses a zero-size buffer, so an empty text is given as
	 * one empty line, which imports the same. */
	*copy = strdup(*text ? text : "\n");
	assert_non_null(*copy);
	FILE *f = fmemopen(*copy, strlen(*copy), "r");
	assert_non_null(f);
	return f;
}

static struct imported *import_opts(const char *text, const struct opts *o)
{
	struct imported *r = calloc(1, sizeof(*r));
	struct s2trace_ftrace *imp;
	char *copy;
	size_t len;
	FILE *f;

	assert_non_null(r);
	assert_int_equal(s2trace_ftrace_create(&imp), 0);
	r->ret = 0;
	if (o->layout) {
		f = text_file(o->layout, &copy);
		r->ret = s2trace_ftrace_read_layout(imp, f, "lay");
		fclose(f);
		free(copy);
	}
	if (!r->ret && o->memslot)
		r->ret = s2trace_ftrace_add_memslot(imp, o->memslot);
	if (!r->ret && o->vcpus)
		r->ret = s2trace_ftrace_set_vcpus(imp, o->vcpus);
	s2trace_ftrace_set_phases(imp, o->phases);
	if (!r->ret) {
		f = text_file(text, &copy);
		r->ret = s2trace_ftrace_read(imp, f, "ft");
		fclose(f);
		free(copy);
	}
	if (!r->ret) {
		FILE *out = open_memstream(&r->out, &len);
		assert_non_null(out);
		r->ret = s2trace_ftrace_write(imp, out);
		fclose(out);
	}
	if (!r->ret) {
		r->st = *s2trace_ftrace_stats(imp);
		r->nr_unused = s2trace_ftrace_nr_unused(imp);
		for (size_t i = 0; i < r->nr_unused && i < 8; i++)
			snprintf(r->unused[i], sizeof(r->unused[i]), "%s",
				 s2trace_ftrace_unused(imp, i, &r->unused_count[i]));
		assert_null(s2trace_ftrace_unused(imp, r->nr_unused, NULL));
	}
	snprintf(r->err, sizeof(r->err), "%s", s2trace_ftrace_error(imp));
	s2trace_ftrace_destroy(imp);
	return r;
}

static struct imported *import(const char *text)
{
	struct opts o = { .layout = LAYOUT };
	return import_opts(text, &o);
}

static void done(struct imported *r)
{
	free(r->out);
	free(r);
}

/* The output lines that start with prefix (before any comment). */
static unsigned count_lines(const char *out, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, prefix, len))
			n++;
	return n;
}

/* A whole line, its trailing comment aside. */
static bool has_line(const char *out, const char *line)
{
	size_t len = strlen(line);

	for (const char *l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, line, len)) {
			const char *rest = l + len;
			while (*rest == ' ')
				rest++;
			if (*rest == '\n' || *rest == '#' || !*rest)
				return true;
		}
	return false;
}

/* The event lines of the output in order: comments, the header, config
 * and memslot lines dropped. */
static char *event_lines(const char *out)
{
	char *buf = calloc(1, strlen(out) + 1);
	char *w = buf;

	assert_non_null(buf);
	for (const char *l = out; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		const char *hash = memchr(l, '#', n);
		size_t keep = hash ? (size_t)(hash - l) : n;
		while (keep && l[keep - 1] == ' ')
			keep--;
		if (keep && strncmp(l, "s2emu-trace ", 12) && strncmp(l, "config", 6) &&
		    strncmp(l, "memslot ", 8)) {
			memcpy(w, l, keep);
			w += keep;
			*w++ = '\n';
		}
		l += n + (nl ? 1 : 0);
	}
	return buf;
}

static void assert_events(const char *out, const char *want)
{
	char *got = event_lines(out);
	assert_string_equal(got, want);
	free(got);
}

static void assert_fails(struct imported *r, int err, const char *where, const char *what)
{
	assert_int_equal(r->ret, err);
	if (strncmp(r->err, where, strlen(where)) || !strstr(r->err, what))
		fail_msg("error '%s' does not start with '%s' and name '%s'", r->err, where, what);
	done(r);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/* A guest fault in RAM is a fault line with the traced ipa, esr and pc;
 * attribution events give nothing; the header carries the layout. */
static void test_guest_fault(void **state)
{
	(void)state;
	struct imported *r = import(
		"cpus=4\n"
		V0 "1.000000: kvm_exit:            TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0xffff800080a3c1e8\n"
		V0 "1.000001: kvm_guest_fault:     ipa 0x40400000, hsr 0x93c18046, hxfar 0xffff000000400000, pc 0xffff800080a3c1e8\n"
		V0 "1.000050: kvm_entry:           PC: 0xffff800080a3c1e8\n");
	assert_int_equal(r->ret, 0);
	assert_int_equal(strncmp(r->out, "s2emu-trace 1\n", 14), 0);
	assert_true(has_line(r->out, "config granule=4k ipa-bits=40 vcpus=1"));
	assert_true(has_line(r->out, "memslot 0 ipa=0x40000000 size=8M hva=0xffff7be00000 backing=thp"));
	assert_true(has_line(r->out, "memslot 1 ipa=0x80000000 size=2M hva=0xffff70000000 backing=4k readonly"));
	assert_events(r->out, "vcpu 0 fault ipa=0x40400000 esr=0x93c18046 pc=0xffff800080a3c1e8\n");
	assert_non_null(strstr(r->out, "# write translation level 2"));
	assert_int_equal(r->st.events, 3);
	assert_int_equal(r->st.used, 3);
	assert_int_equal(r->st.vcpu_lines, 1);
	assert_int_equal(r->st.vcpus, 1);
	done(r);
}

/* kvm_access_fault after its access-flag kvm_guest_fault is the same fault;
 * alone (or after another page's fault) it is a read of that page. */
static void test_access_fault(void **state)
{
	(void)state;
	struct imported *r = import(
		V1 "1.0: kvm_guest_fault: ipa 0x40405000, hsr 0x93c3800a, hxfar 0xffff000000405000, pc 0xffff800080b31c14\n"
		V1 "1.1: kvm_access_fault: IPA: 40405000\n"
		V1 "1.2: kvm_entry: PC: 0xffff800080b31c14\n"
		V1 "2.0: kvm_access_fault: IPA: 40600000\n"
		V1 "3.0: kvm_guest_fault: ipa 0x40405000, hsr 0x9200000a, hxfar 0x0, pc 0x0\n"
		V1 "3.1: kvm_access_fault: IPA: 40406000\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "vcpu 1 fault ipa=0x40405000 esr=0x93c3800a pc=0xffff800080b31c14\n"
		      "vcpu 1 read ipa=0x40600000\n"
		      "vcpu 1 fault ipa=0x40405000 esr=0x9200000a pc=0\n"
		      "vcpu 1 read ipa=0x40406000\n");
	assert_non_null(strstr(r->out, "kvm_access_fault without its kvm_guest_fault"));
	assert_int_equal(r->st.vcpus, 2);
	done(r);
}

/*
 * Notifier ranges against the slots' host addresses:
 *
 *   hva 0xffff70000000 [slot 1, 2M)   0xffff7be00000 [slot 0, 8M) 0xffff7c600000
 *   a: inside slot 0          -> unmap-hva
 *   b: straddles slot 0's end -> unmap-hva (KVM clips it itself)
 *   c: between the slots      -> counted outside guest memory, no line
 */
static void test_unmap_and_age(void **state)
{
	(void)state;
	struct imported *r = import(
		HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff7c400000 -- 0x00ffff7c600000\n"
		HOST "2.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff7c5ff000 -- 0x00ffff7c800000\n"
		HOST "3.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff71000000 -- 0x00ffff71021000\n"
		"  kswapd0-85  [003] 4.0: kvm_age_hva: mmu notifier age hva: 0xffff7c200000 -- 0xffff7c400000\n"
		"  kswapd0-85  [003] 5.0: kvm_test_age_hva: mmu notifier test age hva: 0x00ffff7c201234\n"
		"  kswapd0-85  [003] 6.0: kvm_test_age_hva: mmu notifier test age hva: 0x00000000001000\n"
		"  kswapd0-85  [003] 7.0: kvm_age_hva: mmu notifier age hva: 0x1000 -- 0x2000\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "host unmap-hva hva=0xffff7c400000 size=2M\n"
		      "host unmap-hva hva=0xffff7c5ff000 size=2052K\n"
		      "host age-hva hva=0xffff7c200000 size=2M\n"
		      "host age-hva hva=0xffff7c201000 size=4K\n");
	assert_non_null(strstr(r->out, "# kvm_unmap_hva_range: slot 0 ipa 0x40600000+2M"));
	assert_non_null(strstr(r->out, "slot 0 ipa 0x407ff000+4K"));
	assert_non_null(strstr(r->out, "# notifier events outside guest memory: 3"));
	assert_int_equal(r->st.outside_guest, 3);
	assert_int_equal(r->st.host_lines, 4);
	assert_int_equal(r->st.vcpus, 1);
	done(r);
}

/* The kit's kprobe on kvm_mmu_invalidate_end: each unmap in guest memory
 * then begins an invalidation too (KVM raises the count in the same call),
 * an inv_end ends one, and an end whose begin came before the capture is a
 * comment; an unmap outside guest memory begins none. Without the probe in
 * the trace, unmaps stay alone. */
static void test_invalidation_window(void **state)
{
	(void)state;
	struct imported *r = import(
		HOST "0.5: inv_end: (kvm_mmu_invalidate_end+0x0/0xa0)\n"
		HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff7c400000 -- 0x00ffff7c600000\n"
		HOST "1.5: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff71000000 -- 0x00ffff71021000\n"
		V0 "2.0: kvm_guest_fault:     ipa 0x40400000, hsr 0x93c18046, hxfar 0x0, pc 0x0\n"
		HOST "3.0: inv_end: (kvm_mmu_invalidate_end+0x0/0xa0)\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "host invalidate-begin\n"
		      "host unmap-hva hva=0xffff7c400000 size=2M\n"
		      "vcpu 0 fault ipa=0x40400000 esr=0x93c18046 pc=0\n"
		      "host invalidate-end\n");
	assert_non_null(strstr(r->out, "inv_end without its inv_begin"));
	assert_int_equal(r->st.host_lines, 3);
	done(r);

	r = import(HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff7c400000 -- 0x00ffff7c600000\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out, "host unmap-hva hva=0xffff7c400000 size=2M\n");
	done(r);

	r = import(HOST "1.0: inv_end: kvm_mmu_invalidate_end\n");
	assert_fails(r, S2_EPARSE, "ft:1: ", "malformed inv_end");
}

/* With the invalidation probe, the first kvm_entry of a vCPU after its
 * fault line is that fault's end (KVM's handler ran until it): an entry
 * line; the vCPU's next entry with no fault since writes none, nor does
 * any entry in a capture without the probe (its lines would change
 * nothing). */
static void test_entry_ends_fault(void **state)
{
	(void)state;
	static const char *const lines[] = {
		V0 "1.0: kvm_guest_fault: ipa 0x40400000, hsr 0x93c18046, hxfar 0x0, pc 0x0\n",
		HOST "1.5: kvm_unmap_hva_range: mmu notifier unmap range: 0x00ffff7c400000 -- 0x00ffff7c600000\n",
		HOST "1.6: inv_end: (kvm_mmu_invalidate_end+0x0/0xa0)\n",
		V0 "2.0: kvm_entry: PC: 0x80000060\n",
		V0 "2.5: kvm_exit: IRQ: HSR_EC: 0x0000 (UNKNOWN), PC: 0x80000060\n",
		V0 "3.0: kvm_entry: PC: 0x80000060\n",
	};
	char text[1024] = "", plain[1024] = "";
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		strcat(text, lines[i]);
		if (i != 2)
			strcat(plain, lines[i]);
	}
	struct imported *r = import(text);
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "vcpu 0 fault ipa=0x40400000 esr=0x93c18046 pc=0\n"
		      "host invalidate-begin\n"
		      "host unmap-hva hva=0xffff7c400000 size=2M\n"
		      "host invalidate-end\n"
		      "entry vcpu=0\n");
	done(r);

	r = import(plain);
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "vcpu 0 fault ipa=0x40400000 esr=0x93c18046 pc=0\n"
		      "host unmap-hva hva=0xffff7c400000 size=2M\n");
	done(r);
}

/* Older kernels: kvm_set_spte_hva and kvm_unmap_hva unmap one host page,
 * whose size is the config's granule. */
static void test_old_page_notifiers(void **state)
{
	(void)state;
	struct opts o = { .layout = "config granule=16k\n"
				    "memslot 0 ipa=0x40000000 size=8M hva=0xffff7be00000 backing=4k\n" };
	struct imported *r = import_opts(
		HOST "1.0: kvm_set_spte_hva: mmu notifier set pte hva: 0x00ffff7be05000\n"
		HOST "2.0: kvm_unmap_hva: mmu notifier unmap hva: 0xffff7be08000\n"
		HOST "3.0: kvm_set_spte_hva: mmu notifier set pte hva: 0x00aaaa00000000\n", &o);
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "host unmap-hva hva=0xffff7be04000 size=16K\n"
		      "host unmap-hva hva=0xffff7be08000 size=16K\n");
	assert_non_null(strstr(r->out, "# kvm_set_spte_hva:"));
	assert_int_equal(r->st.outside_guest, 1);
	done(r);
}

/*
 * MMIO: a fault outside every slot (or a write to a read-only slot) is an
 * mmio line at ipa | FAR[11:0], and the kvm_mmio lines of the same access
 * are not counted twice; a kvm_mmio without its fault is its own line.
 */
static void test_mmio(void **state)
{
	(void)state;
	struct imported *r = import(
		V0 "1.0: kvm_guest_fault: ipa 0x9000000, hsr 0x93810045, hxfar 0xffff800081a50000, pc 0xffff80008071c3a0\n"
		V0 "1.1: kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x53\n"
		V0 "1.2: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)\n"
		V0 "1.3: kvm_entry: PC: 0xffff80008071c3a4\n"
		V1 "2.0: kvm_guest_fault: ipa 0x9000000, hsr 0x93800005, hxfar 0xffff800081a50018, pc 0x1\n"
		V1 "2.1: kvm_mmio: mmio unsatisfied-read len 4 gpa 0x9000018 val 0x0\n"
		V1 "2.2: kvm_mmio: mmio read len 4 gpa 0x9000018 val 0x90\n"
		V1 "2.3: kvm_entry: PC: 0x2\n"
		V1 "3.0: kvm_mmio: mmio write len 4 gpa 0x9000100 val 0x1\n"
		V1 "3.1: kvm_mmio: mmio read len 8 gpa 0x9000200 val 0x1\n"
		/* A write to read-only slot 1 is MMIO; a read of it is not. */
		V0 "4.0: kvm_guest_fault: ipa 0x80001000, hsr 0x92000047, hxfar 0xffff000040001008, pc 0x3\n"
		V0 "4.1: kvm_mmio: mmio write len 8 gpa 0x80001008 val 0x0\n"
		V0 "5.0: kvm_guest_fault: ipa 0x80001000, hsr 0x92000007, hxfar 0xffff000040001008, pc 0x4\n"
		/* FnV: FAR is not valid, the page address stands. */
		V0 "6.0: kvm_guest_fault: ipa 0xa000000, hsr 0x92000445, hxfar 0xdead, pc 0x5\n"
		/* An instruction fetch from MMIO: KVM injects an abort. */
		V0 "7.0: kvm_guest_fault: ipa 0xa000000, hsr 0x82000005, hxfar 0xa000010, pc 0xa000010\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "mmio vcpu=0 ipa=0x9000000 write\n"
		      "mmio vcpu=1 ipa=0x9000018\n"
		      "mmio vcpu=1 ipa=0x9000100 write\n"
		      "mmio vcpu=1 ipa=0x9000200\n"
		      "mmio vcpu=0 ipa=0x80001008 write\n"
		      "vcpu 0 fault ipa=0x80001000 esr=0x92000007 pc=0x4\n"
		      "mmio vcpu=0 ipa=0xa000000 write\n"
		      "mmio vcpu=0 ipa=0xa000010\n");
	assert_non_null(strstr(r->out, "# kvm_guest_fault: a write to a read-only memslot"));
	assert_non_null(strstr(r->out, "KVM injects an abort"));
	assert_int_equal(r->st.mmio_lines, 7);
	assert_int_equal(r->st.vcpu_lines, 1);
	assert_int_equal(r->st.unused, 1);
	done(r);
}

/* Without a layout, a fault is MMIO when KVM follows it with kvm_mmio of
 * the same page on the same thread; the header says slots are missing. */
static void test_mmio_without_layout(void **state)
{
	(void)state;
	struct opts o = { 0 };
	struct imported *r = import_opts(
		V0 "1.0: kvm_guest_fault: ipa 0x9000000, hsr 0x93810045, hxfar 0xffff800081a50004, pc 0x1\n"
		V1 "1.05: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x2\n"
		V0 "1.1: kvm_mmio: mmio write len 4 gpa 0x9000004 val 0x53\n"
		V1 "1.2: kvm_mmio: mmio write len 4 gpa 0x9001000 val 0x53\n", &o);
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "mmio vcpu=0 ipa=0x9000004 write\n"
		      "vcpu 1 fault ipa=0x40000000 esr=0x92000046 pc=0x2\n"
		      "mmio vcpu=1 ipa=0x9001000 write\n");
	assert_non_null(strstr(r->out, "# no memslot layout was given"));
	assert_true(has_line(r->out, "config vcpus=2"));
	assert_int_equal(count_lines(r->out, "memslot"), 0);
	done(r);
}

/* kvm_toggle_cache flushes every slot when the state changes, and only
 * then; kvm_set_way_flush always does. */
static void test_cache_flushes(void **state)
{
	(void)state;
	struct imported *r = import(
		V0 "1.0: kvm_toggle_cache: VM op at 0xffff800080001234 (cache was off, now on)\n"
		V0 "2.0: kvm_toggle_cache: VM op at 0xffff800080001234 (cache was on, now on)\n"
		V0 "3.0: kvm_toggle_cache: VM op at 0xffff800080001234 (cache was on, now off)\n"
		V1 "4.0: kvm_set_way_flush: S/W flush at 0x0000000040001000 (cache off)\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "host flush-ipa ipa=0x40000000 size=8M\n"
		      "host flush-ipa ipa=0x80000000 size=2M\n"
		      "host flush-ipa ipa=0x40000000 size=8M\n"
		      "host flush-ipa ipa=0x80000000 size=2M\n"
		      "host flush-ipa ipa=0x40000000 size=8M\n"
		      "host flush-ipa ipa=0x80000000 size=2M\n");
	assert_non_null(strstr(r->out, "caches turned on"));
	assert_non_null(strstr(r->out, "caches stay on, no flush"));
	assert_non_null(strstr(r->out, "caches turned off"));
	assert_non_null(strstr(r->out, "# kvm_set_way_flush (vcpu 1"));
	assert_int_equal(r->st.host_lines, 6);
	assert_int_equal(r->st.vcpus, 2);
	done(r);
}

/* Markers in both formats become comments; "s2emu: host ..." markers also
 * become host events; a kernel trace_printk is not a marker. */
static void test_markers(void **state)
{
	(void)state;
	struct imported *r = import(
		"  bash-1  [000] 1.0: tracing_mark_write: raw marker\n"
		"  bash-1  [000] 2.0: print:                tracing_mark_write: trace-cmd marker\n"
		"  bash-1  [000] 3.0: print: 0xffff8000802a1b2c: no symbols\n"
		"  bash-1  [000] 4.0: print: do_work: a trace_printk\n"
		"  bash-1  [000] 5.0: tracing_mark_write: s2emu: host dirty-log-on slot=1\n"
		"  bash-1  [000] 6.0: tracing_mark_write: s2emu:   host get-dirty-log slot=0\n"
		"  bash-1  [000] 7.0: tracing_mark_write: s2emu: host dirty-log-off slot=0\n"
		"  bash-1  [000] 8.0: tracing_mark_write: ctrl\x01x\n");
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "# marker: raw marker"));
	assert_true(has_line(r->out, "# marker: trace-cmd marker"));
	assert_true(has_line(r->out, "# marker: no symbols"));
	assert_true(has_line(r->out, "# marker: ctrl?x"));
	assert_events(r->out,
		      "host dirty-log-on slot=1\n"
		      "host get-dirty-log slot=0\n"
		      "host dirty-log-off slot=0\n");
	assert_int_equal(r->st.markers, 7);
	assert_int_equal(r->nr_unused, 1);
	assert_string_equal(r->unused[0], "print");
	done(r);
}

/*
 * vCPU numbers: "CPU N/KVM" gives N, even on lines where trace-cmd shows
 * "<...>"; other vCPU threads take the free numbers in order of their
 * first event (in time, not in the file); host-only threads are not vCPUs.
 */
static void test_vcpu_numbering(void **state)
{
	(void)state;
	struct imported *r = import(
		"  vcpu-thread-900  [000] 5.0: kvm_entry: PC: 0x1\n"
		"  vcpu-thread-800  [000] 4.0: kvm_entry: PC: 0x1\n"
		"  <...>-4212  [000] 6.0: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		"  CPU 0/KVM-4212  [000] 7.0: kvm_entry: PC: 0x1\n"
		"  vcpu-thread-800  [000] 8.0: kvm_guest_fault: ipa 0x40001000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		"  vcpu-thread-900  [000] 9.0: kvm_guest_fault: ipa 0x40002000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		"  CPU 3/KVM-4215  [000] 9.5: kvm_guest_fault: ipa 0x40003000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		HOST "10.0: kvm_unmap_hva_range: mmu notifier unmap range: 0xffff7be00000 -- 0xffff7be01000\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "vcpu 0 fault ipa=0x40000000 esr=0x92000046 pc=0x1\n"
		      "vcpu 1 fault ipa=0x40001000 esr=0x92000046 pc=0x1\n"
		      "vcpu 2 fault ipa=0x40002000 esr=0x92000046 pc=0x1\n"
		      "vcpu 3 fault ipa=0x40003000 esr=0x92000046 pc=0x1\n"
		      "host unmap-hva hva=0xffff7be00000 size=4K\n");
	assert_int_equal(r->st.vcpus, 4);
	assert_true(has_line(r->out, "config granule=4k ipa-bits=40 vcpus=4"));
	done(r);
}

/* --vcpus and the layout's vcpus= set the config; --vcpus wins; the
 * layout's config is written as the trace writer writes it (its keys in
 * the writer's order, its comment dropped). */
static void test_vcpus_setting(void **state)
{
	(void)state;
	const char *one = V0 "1.0: kvm_entry: PC: 0x1\n";
	struct opts o = { .layout = LAYOUT, .vcpus = 4 };
	struct imported *r = import_opts(one, &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "config granule=4k ipa-bits=40 vcpus=4"));
	assert_int_equal(r->st.vcpus, 4);
	done(r);

	o.layout = "config vcpus=3 walker=upstream-2021 # as recorded\n";
	o.vcpus = 0;
	r = import_opts(one, &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "config vcpus=3 walker=upstream-2021"));
	done(r);

	o.vcpus = 2;
	r = import_opts(one, &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "config vcpus=2 walker=upstream-2021"));
	done(r);

	/* No vCPU at all still gives a valid config. */
	o = (struct opts){ .layout = LAYOUT };
	r = import_opts("cpus=1\n", &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "config granule=4k ipa-bits=40 vcpus=1"));
	assert_int_equal(r->st.events, 0);
	done(r);
}

/* trace-cmd merges CPUs by time, but a text from several buffers can be out
 * of order: events are sorted by timestamp, equal ones keep file order. */
static void test_ordering(void **state)
{
	(void)state;
	struct imported *r = import(
		V1 "3.000000: kvm_guest_fault: ipa 0x40003000, hsr 0x92000046, hxfar 0x0, pc 0x3\n"
		V0 "1.000000: kvm_guest_fault: ipa 0x40001000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		V1 "2.000000: kvm_guest_fault: ipa 0x40002000, hsr 0x92000046, hxfar 0x0, pc 0x2\n"
		V0 "2.000000: kvm_guest_fault: ipa 0x40004000, hsr 0x92000046, hxfar 0x0, pc 0x4\n"
		V0 "1.999999999: kvm_guest_fault: ipa 0x40005000, hsr 0x92000046, hxfar 0x0, pc 0x5\n"
		"  bash-1  [003] 0.5: tracing_mark_write: first\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "vcpu 0 fault ipa=0x40001000 esr=0x92000046 pc=0x1\n"
		      "vcpu 0 fault ipa=0x40005000 esr=0x92000046 pc=0x5\n"
		      "vcpu 1 fault ipa=0x40002000 esr=0x92000046 pc=0x2\n"
		      "vcpu 0 fault ipa=0x40004000 esr=0x92000046 pc=0x4\n"
		      "vcpu 1 fault ipa=0x40003000 esr=0x92000046 pc=0x3\n");
	const char *m = strstr(r->out, "# marker: first");
	assert_non_null(m);
	assert_true(m < strstr(r->out, "vcpu 0 fault"));
	done(r);
}

/* Events of kinds the importer cannot use are counted by name, in order of
 * first appearance, listed at the end; headers are not events at all. */
static void test_unused(void **state)
{
	(void)state;
	struct imported *r = import(
		"# tracer: nop\n#\ncpus=4\nCPU 2 is empty\n\n"
		V0 "1.0: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)\n"
		V0 "1.1: kvm_wfx_arm64: guest executed wfi at: 0xffff800080f3a8c4\n"
		V0 "1.2: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)\n"
		"  sshd-99  [002] ..... 1.3: sched_switch: prev_comm=sshd\n"
		"  sshd-99  [002] ..... 1.4: do_sys_open <-do_syscall_64\n"
		V0 "1.5: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)\n");
	assert_int_equal(r->ret, 0);
	assert_int_equal(r->st.lines, 11);
	assert_int_equal(r->st.events, 6);
	assert_int_equal(r->st.unused, 6);
	assert_int_equal(r->st.used, 0);
	assert_int_equal(r->nr_unused, 4);
	assert_string_equal(r->unused[0], "kvm_userspace_exit");
	assert_int_equal(r->unused_count[0], 3);
	assert_string_equal(r->unused[1], "kvm_wfx_arm64");
	assert_string_equal(r->unused[2], "sched_switch");
	assert_string_equal(r->unused[3], "function do_sys_open");
	assert_true(has_line(r->out, "# unused: kvm_userspace_exit x3"));
	assert_true(has_line(r->out, "# unused: function do_sys_open x1"));
	assert_true(has_line(r->out, "# 6 events: 0 used, 6 unused"));
	/* A thread with only unused events is no vCPU. */
	assert_int_equal(r->st.vcpus, 1);
	done(r);
}

/* --phases: a new phase when the thread changes to one already in the
 * current phase; comments and attribution events do not count. */
static void test_phases(void **state)
{
	(void)state;
	struct opts o = { .layout = LAYOUT, .phases = true };
	struct imported *r = import_opts(
		V0 "1.0: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		V0 "1.1: kvm_entry: PC: 0x1\n"
		V0 "2.0: kvm_guest_fault: ipa 0x40001000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		V1 "3.0: kvm_guest_fault: ipa 0x40002000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		"  bash-1  [003] 3.5: tracing_mark_write: note\n"
		V0 "4.0: kvm_guest_fault: ipa 0x40003000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		HOST "5.0: kvm_unmap_hva_range: mmu notifier unmap range: 0xffff7be00000 -- 0xffff7be01000\n"
		V1 "6.0: kvm_guest_fault: ipa 0x40004000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		V1 "6.1: kvm_toggle_cache: VM op at 0x1 (cache was off, now on)\n"
		V0 "7.0: kvm_guest_fault: ipa 0x40005000, hsr 0x92000046, hxfar 0x0, pc 0x1\n", &o);
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "phase 1\n"
		      "vcpu 0 fault ipa=0x40000000 esr=0x92000046 pc=0x1\n"
		      "vcpu 0 fault ipa=0x40001000 esr=0x92000046 pc=0x1\n"
		      "vcpu 1 fault ipa=0x40002000 esr=0x92000046 pc=0x1\n"
		      "phase 2\n"
		      "vcpu 0 fault ipa=0x40003000 esr=0x92000046 pc=0x1\n"
		      "host unmap-hva hva=0xffff7be00000 size=4K\n"
		      "vcpu 1 fault ipa=0x40004000 esr=0x92000046 pc=0x1\n"
		      "phase 3\n"
		      "host flush-ipa ipa=0x40000000 size=8M\n"
		      "host flush-ipa ipa=0x80000000 size=2M\n"
		      "vcpu 0 fault ipa=0x40005000 esr=0x92000046 pc=0x1\n");
	assert_int_equal(r->st.phases, 3);
	done(r);

	/* Without --phases there are none. */
	o.phases = false;
	r = import_opts(V0 "1.0: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
			V1 "1.1: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x1\n", &o);
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "phase"), 0);
	assert_int_equal(r->st.phases, 0);
	done(r);
}

/* Memslots from --memslot follow the layout's, numbered on; numbers in
 * trace syntax; comments and a header in a layout are fine; memslots are
 * written as the trace writer writes them. */
static void test_memslot_option(void **state)
{
	(void)state;
	struct opts o = { .layout = "# a comment\ns2emu-trace 1\n\n" LAYOUT,
			  .memslot = "ipa=0x100000000,size=1G,hva=0xfffe00000000,backing=hugetlb-1g,dirty-log" };
	struct imported *r = import_opts(
		HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0xfffe00200000 -- 0xfffe00400000\n", &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "memslot 2 ipa=0x100000000 size=1G hva=0xfffe00000000 backing=hugetlb-1g dirty-log"));
	assert_non_null(strstr(r->out, "slot 2 ipa 0x100200000+2M"));
	done(r);

	o = (struct opts){ .memslot = "size=2M, ipa=1073741824 ,hva=0x7f0000000000,backing=4k" };
	r = import_opts(V0 "1.0: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x1\n", &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "memslot 0 ipa=0x40000000 size=2M hva=0x7f0000000000 backing=4k"));
	assert_events(r->out, "vcpu 0 fault ipa=0x40000000 esr=0x92000046 pc=0x1\n");
	done(r);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

/* A malformed line of every known event names its line and its event. */
static void test_malformed_events(void **state)
{
	static const struct {
		const char *line;
		const char *what;
	} cases[] = {
		{ V0 "1.0: kvm_guest_fault: ipa 0x1, hsr 0x92000046, pc 0x1", "kvm_guest_fault" },
		{ V0 "1.0: kvm_guest_fault: ipa 0x1, hsr 0x92000046, hxfar 0x0, pc 0x1 x", "kvm_guest_fault" },
		{ V0 "1.0: kvm_guest_fault: ipa 0x11112222333344445, hsr 0x1, hxfar 0x0, pc 0x1", "kvm_guest_fault" },
		{ V0 "1.0: kvm_guest_fault: ipa zz, hsr 0x92000046, hxfar 0x0, pc 0x1", "kvm_guest_fault" },
		{ V0 "1.0: kvm_guest_fault: ipa 0x40000000, hsr 0x5e000000, hxfar 0x0, pc 0x1", "is not an abort" },
		{ V0 "1.0: kvm_access_fault: IPA 40000000", "kvm_access_fault" },
		{ V0 "1.0: kvm_access_fault: IPA: ", "kvm_access_fault" },
		{ HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x1000", "kvm_unmap_hva_range" },
		{ HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x2000 -- 0x1000", "is not above start" },
		{ HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x2000 -- 0x2000", "is not above start" },
		{ HOST "1.0: kvm_age_hva: mmu notifier age hva: 0x1000 - 0x2000", "kvm_age_hva" },
		{ HOST "1.0: kvm_test_age_hva: mmu notifier test age hva:", "kvm_test_age_hva" },
		{ HOST "1.0: kvm_set_spte_hva: mmu notifier set pte hva: 0xg", "kvm_set_spte_hva" },
		{ HOST "1.0: kvm_unmap_hva: mmu notifier unmap hva 0x1000", "kvm_unmap_hva" },
		{ V0 "1.0: kvm_mmio: mmio poke len 4 gpa 0x9000000 val 0x0", "kvm_mmio" },
		{ V0 "1.0: kvm_mmio: mmio write len four gpa 0x9000000 val 0x0", "kvm_mmio" },
		{ V0 "1.0: kvm_toggle_cache: VM op at 0x1 (cache was off, now maybe)", "kvm_toggle_cache" },
		{ V0 "1.0: kvm_set_way_flush: S/W flush at 0x1 (cache on", "kvm_set_way_flush" },
		{ V0 "1.0: kvm_entry: PC 0x1", "kvm_entry" },
		{ V0 "1.0: kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW)", "kvm_exit" },
		{ V0 "1.0: kvm_exit: TRAP, PC: 0x1", "kvm_exit" },
		{ "  bash-1  [000] 1.0: tracing_mark_write: s2emu: host dirty-log-on", "marker" },
		{ "  bash-1  [000] 1.0: tracing_mark_write: s2emu: host destroy", "marker" },
		/* Not an event line, but damaged kvm events are refused. */
		{ "CPU 0/KVM-4212 [001] kvm_guest_fault: ipa 0x1", "kvm_guest_fault line without" },
		{ "garbage kvm_exit: TRAP", "kvm_exit line without" },
		/* The ring buffer overran: events are missing from the middle. */
		{ "CPU:3 [LOST 12 EVENTS]", "lost events" },
		{ "CPU:1 [1024 EVENTS DROPPED]", "lost events" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		/* Two good lines first, so the error must name line 3. */
		snprintf(text, sizeof(text), "cpus=4\n" V0 "0.5: kvm_entry: PC: 0x1\n%s\n" V0
			 "9.0: kvm_entry: PC: 0x1\n", cases[i].line);
		struct imported *r = import(text);
		if (r->ret != S2_EPARSE || strncmp(r->err, "ft:3: ", 6) || !strstr(r->err, cases[i].what))
			fail_msg("case %zu: ret %d, error '%s', want ft:3: ... %s", i, r->ret, r->err,
				 cases[i].what);
		done(r);
	}
}

/* Events that need the layout say so, naming their line. */
static void test_missing_layout(void **state)
{
	static const char *const lines[] = {
		HOST "1.0: kvm_unmap_hva_range: mmu notifier unmap range: 0x1000 -- 0x2000",
		HOST "1.0: kvm_age_hva: mmu notifier age hva: 0x1000 -- 0x2000",
		HOST "1.0: kvm_test_age_hva: mmu notifier test age hva: 0x1000",
		HOST "1.0: kvm_set_spte_hva: mmu notifier set pte hva: 0x1000",
		V0 "1.0: kvm_toggle_cache: VM op at 0x1 (cache was off, now on)",
		V0 "1.0: kvm_set_way_flush: S/W flush at 0x1 (cache on)",
		"  bash-1  [000] 1.0: tracing_mark_write: s2emu: host dirty-log-on slot=0",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char text[512];
		struct opts o = { 0 };
		snprintf(text, sizeof(text), "cpus=4\n%s\n", lines[i]);
		assert_fails(import_opts(text, &o), S2_EPARSE, "ft:2: ", "needs the memslots, and the trace has no s2emu-memslot marker");
	}
	/* A toggle that changes nothing needs none. */
	struct opts o = { 0 };
	struct imported *r = import_opts(V0 "1.0: kvm_toggle_cache: VM op at 0x1 (cache was on, now on)\n", &o);
	assert_int_equal(r->ret, 0);
	done(r);
	/* A marker naming a slot the layout lacks. */
	assert_fails(import("\n  bash-1  [000] 1.0: tracing_mark_write: s2emu: host dirty-log-on slot=2\n"),
		     S2_EPARSE, "ft:2: ", "memslot 2; the layout has 2");
}

/* vCPU numbers that cannot be: beyond --vcpus or the layout's vcpus,
 * beyond what s2emu models, one name on two threads, a renamed thread. */
static void test_bad_vcpus(void **state)
{
	(void)state;
	struct opts o = { .layout = LAYOUT, .vcpus = 1 };
	assert_fails(import_opts(V0 "1.0: kvm_entry: PC: 0x1\n" V1 "2.0: kvm_entry: PC: 0x1\n", &o),
		     S2_EPARSE, "ft:2: ", "vCPU 1 is beyond the 1 vCPU(s) given to the importer");
	o = (struct opts){ .layout = "config vcpus=1\n" };
	assert_fails(import_opts(V0 "1.0: kvm_entry: PC: 0x1\n" V1 "2.0: kvm_entry: PC: 0x1\n", &o),
		     S2_EPARSE, "ft:2: ", "beyond the layout's vcpus=1");
	assert_fails(import("  CPU 16/KVM-5000  [000] 1.0: kvm_entry: PC: 0x1\n"), S2_EPARSE, "ft:1: ",
		     "at most 16 vCPUs");
	assert_fails(import(V0 "1.0: kvm_entry: PC: 0x1\n  CPU 0/KVM-5000  [000] 2.0: kvm_entry: PC: 0x1\n"),
		     S2_EPARSE, "ft:2: ", "both CPU 0/KVM");
	assert_fails(import(V0 "1.0: kvm_entry: PC: 0x1\n  CPU 1/KVM-4212  [000] 2.0: kvm_entry: PC: 0x1\n"),
		     S2_EPARSE, "ft:2: ", "thread 4212 is CPU 1/KVM here and CPU 0/KVM at line 1");

	/* Seventeen vCPU threads. */
	char text[17 * 64] = "";
	for (int i = 0; i < 17; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "  t-%d  [000] %d.0: kvm_entry: PC: 0x1\n", 100 + i, i + 1);
	assert_fails(import(text), S2_EPARSE, "ft:17: ", "beyond the 16");

	struct s2trace_ftrace *imp;
	assert_int_equal(s2trace_ftrace_create(&imp), 0);
	assert_int_equal(s2trace_ftrace_set_vcpus(imp, 0), S2_EINVAL);
	assert_int_equal(s2trace_ftrace_set_vcpus(imp, 17), S2_EINVAL);
	assert_non_null(strstr(s2trace_ftrace_error(imp), "vCPU count: 17"));
	assert_int_equal(s2trace_ftrace_set_vcpus(imp, 16), 0);
	s2trace_ftrace_destroy(imp);
}

/* Every bad layout line names its file and line. */
static void test_bad_layout(void **state)
{
	static const struct {
		const char *layout;
		const char *where, *what;
	} cases[] = {
		{ "config ipa-bits=40\nmemslot 0 ipa=0 size=4K hva=0 backing=4k\nhost destroy\n", "lay:3: ", "not 'host'" },
		{ "s2emu-trace 2\n", "lay:1: ", "version 1" },
		{ "config vcpus=2\ns2emu-trace 1\n", "lay:2: ", "not 's2emu-trace'" },
		{ "config colour=blue\n", "lay:1: ", "unknown key 'colour' for config" },
		{ "config granule\n", "lay:1: ", "granule needs a value" },
		{ "config granule=8k\n", "lay:1: ", "granule must be 4k, 16k or 64k, not '8k'" },
		{ "config ipa-bits=60\n", "lay:1: ", "ipa-bits=60 is out of range (32 to 52)" },
		{ "config vcpus=0\n", "lay:1: ", "vcpus=0 is out of range (1 to 16)" },
		{ "config vcpus=17\n", "lay:1: ", "vcpus=17 is out of range (1 to 16)" },
		{ "config fwb=2\n", "lay:1: ", "fwb must be 0 or 1, not '2'" },
		{ "config line=48\n", "lay:1: ", "line=48 is not a power of two" },
		{ "config walker=\n", "lay:1: ", "unknown walker '' (valid: " },
		{ "config vcpus=2 vcpus=2\n", "lay:1: ", "key 'vcpus' given twice" },
		{ "config\nconfig\n", "lay:2: ", "config must come once (line 1 has one)" },
		{ "memslot 1 ipa=0 size=4K hva=0 backing=4k\n", "lay:1: ", "memslot 1: slots are numbered 0, 1, ... in order (expected 0)" },
		{ "memslot\n", "lay:1: ", "memslot needs a slot number" },
		{ "memslot 0 ipa=0 size=4K hva=0 backing=4k\nmemslot 1 ipa=0x1000 hva=0x1000\n", "lay:2: ", "memslot needs size=" },
		{ "memslot 0 ipa=0 size=4K backing=4k\n", "lay:1: ", "needs hva=" },
		{ "memslot 0 ipa=0 size=4K hva=0 backing=5k\n", "lay:1: ", "backing must be 4k, thp, hugetlb-2m, hugetlb-1g or memfd, not '5k'" },
		{ "memslot 0 ipa=0 size=4K hva=0 backing=4k colour=red\n", "lay:1: ", "unknown key 'colour' for memslot" },
		{ "memslot 0 ipa=0 ipa=0 size=4K hva=0 backing=4k\n", "lay:1: ", "key 'ipa' given twice" },
		{ "memslot 0 ipa=0 size=4K hva=0 backing=4k readonly readonly\n", "lay:1: ", "word 'readonly' given twice" },
		{ "memslot 0 ipa=0x1000 size=4q hva=0 backing=4k\n", "lay:1: ", "size=4q: not a number" },
		/* Numbers as the trace reader takes them: a lower-case unit too. */
		{ "memslot 0 ipa=0x1000 size=4k hva=0x1000 backing=4k\nmemslot 0 ipa=0x2000 size=4K hva=0 backing=4k\n", "lay:2: ", "memslot 0: slots are numbered 0, 1, ... in order (expected 1)" },
		{ "memslot 0 ipa=0x1000 size=99999999999999999999 hva=0 backing=4k\n", "lay:1: ", "size=99999999999999999999: number too large" },
		{ "memslot 0 ipa=0x1000 size=0xffffffffffffG hva=0 backing=4k\n", "lay:1: ", "size=0xffffffffffffG: number too large" },
		{ "memslot 0 ipa=0x1000 size=0 hva=0 backing=4k\n", "lay:1: ", "size=0 is out of range (1 to " },
		{ "memslot 0 ipa=0xfffffffffffff000 size=8K hva=0 backing=4k\n", "lay:1: ", "wraps" },
		{ "memslot 0 ipa=0x1800 size=4K hva=0 backing=4k\n", "lay:1: ", "4K-aligned" },
		{ "memslot 0 ipa=0 size=2M hva=0 backing=thp\nmemslot 1 ipa=1M size=2M hva=0 backing=thp\n",
		  "lay:2: ", "overlaps memslot 0" },
		{ "memslot 0 ipa=a size=4K hva=0\n", "lay:1: ", "ipa=a: not a number" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct opts o = { .layout = cases[i].layout };
		struct imported *r = import_opts("cpus=1\n", &o);
		if (r->ret != S2_EPARSE || strncmp(r->err, cases[i].where, strlen(cases[i].where)) ||
		    !strstr(r->err, cases[i].what))
			fail_msg("case %zu: ret %d, error '%s', want %s... %s", i, r->ret, r->err,
				 cases[i].where, cases[i].what);
		done(r);
	}
	/* A slot beyond the IPA space is found once the config is known. */
	struct opts o = { .layout = "memslot 0 ipa=0xffc0000000 size=2G hva=0 backing=4k\n"
				    "config ipa-bits=40\n" };
	assert_fails(import_opts("cpus=1\n", &o), S2_EPARSE, "lay:1: ", "beyond the 40-bit IPA space");
	/* So is a slot aligned to 4K but not to the config's granule (which
	 * replay would refuse), and a 64K-aligned slot passes. */
	o = (struct opts){ .layout = "memslot 0 ipa=0x40001000 size=8M hva=0 backing=4k\n"
				     "config granule=64k\n" };
	assert_fails(import_opts("cpus=1\n", &o), S2_EPARSE, "lay:1: ", "aligned to the 64K granule");
	o = (struct opts){ .layout = "memslot 0 ipa=0x40010000 size=8M hva=0 backing=4k\n"
				     "config granule=64k\n" };
	struct imported *r = import_opts("cpus=1\n", &o);
	assert_int_equal(r->ret, 0);
	done(r);
}

/* --memslot problems name the option and what was given. */
static void test_bad_memslot_option(void **state)
{
	static const char *const specs[] = {
		"ipa=0,size=4K,backing=4k", "ipa=0,size=4K,hva=0,backing=4k,what", "ipa=0 # x",
		"ipa=0,size=0x,hva=0,backing=4k",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct opts o = { .memslot = specs[i] };
		struct imported *r = import_opts("cpus=1\n", &o);
		assert_int_not_equal(r->ret, 0);
		/* What the caller passed has no file: the message starts with
		 * what is wrong, and names no option. */
		assert_null(strstr(r->err, "--"));
		assert_true(r->err[0] != '\0' && r->err[0] != ':');
		done(r);
	}
	struct opts o = { .layout = LAYOUT, .memslot = "ipa=0x40100000,size=4K,hva=0,backing=4k" };
	assert_fails(import_opts("cpus=1\n", &o), S2_EPARSE, "",
		     "overlaps memslot 0 (in 'ipa=0x40100000,size=4K,hva=0,backing=4k')");
}

/* A NUL byte, a second read, writing before reading: errors, not crashes. */
static void test_bad_streams(void **state)
{
	static const char nul[] = V0 "1.0: kvm_entry: PC: 0x1\nab\0cd\n";
	struct s2trace_ftrace *imp;
	char buf[sizeof(nul)];
	(void)state;

	memcpy(buf, nul, sizeof(nul));
	assert_int_equal(s2trace_ftrace_create(&imp), 0);
	assert_int_equal(s2trace_ftrace_finish(imp), S2_EINVAL);
	FILE *f = fmemopen(buf, sizeof(nul) - 1, "r");
	assert_int_equal(s2trace_ftrace_read(imp, f, "nul"), S2_EPARSE);
	assert_string_equal(s2trace_ftrace_error(imp), "nul:2: NUL byte in the line");
	rewind(f);
	assert_int_equal(s2trace_ftrace_read(imp, f, "again"), S2_EINVAL);
	fclose(f);
	s2trace_ftrace_destroy(imp);

	/* An empty text is a valid, empty import. */
	struct imported *r = import("");
	assert_int_equal(r->ret, 0);
	assert_int_equal(r->st.events, 0);
	done(r);

	/* A line longer than any trace line. */
	size_t big = (1u << 20) + 16;
	char *text = malloc(big + 1);
	assert_non_null(text);
	memset(text, 'x', big);
	text[big] = 0;
	r = import(text);
	assert_int_equal(r->ret, S2_EPARSE);
	assert_non_null(strstr(r->err, "ft:1: line longer"));
	done(r);
	free(text);
}

/* The seed corpus file imports as the scenario it describes. */
static void test_seed_corpus(void **state)
{
	(void)state;
	FILE *lf = fopen("traces/corpus/ftrace-6.12-seed.layout", "r");
	FILE *tf = fopen("traces/corpus/ftrace-6.12-seed.txt", "r");
	if (!lf || !tf) {
		/* Run from elsewhere than the repository root. */
		if (lf)
			fclose(lf);
		if (tf)
			fclose(tf);
		skip();
	}
	struct s2trace_ftrace *imp;
	char *out = NULL;
	size_t len;
	assert_int_equal(s2trace_ftrace_create(&imp), 0);
	assert_int_equal(s2trace_ftrace_read_layout(imp, lf, "layout"), 0);
	assert_int_equal(s2trace_ftrace_read(imp, tf, "seed"), 0);
	FILE *o = open_memstream(&out, &len);
	assert_int_equal(s2trace_ftrace_write(imp, o), 0);
	fclose(o);
	const struct s2trace_ftrace_stats *st = s2trace_ftrace_stats(imp);
	assert_int_equal(st->vcpus, 2);
	assert_int_equal(st->vcpu_lines, 16);
	assert_int_equal(st->mmio_lines, 2);
	assert_int_equal(st->outside_guest, 1);
	assert_int_equal(count_lines(out, "vcpu 0 fault"), 9);
	assert_int_equal(count_lines(out, "vcpu 1 fault"), 7);
	assert_int_equal(count_lines(out, "host dirty-log-"), 2);
	assert_int_equal(count_lines(out, "host get-dirty-log slot=0"), 1);
	assert_int_equal(count_lines(out, "host unmap-hva"), 1);
	assert_int_equal(count_lines(out, "host age-hva"), 2);
	/* Permission faults at level 2 come before the level-3 ones. */
	assert_true(strstr(out, "esr=0x93c1804e") < strstr(out, "esr=0x93c18047"));
	free(out);
	fclose(lf);
	fclose(tf);
	s2trace_ftrace_destroy(imp);
}


/* ------------------------------------------------------------------ */
/* The capture kit's markers and the function tracers                  */
/* ------------------------------------------------------------------ */

#define KIT "          kvmrun-386     [001] .....    "
#define KIT1 "          kvmrun-388     [000] .....    "
/* The kit's marker of memslot 0 at time T: 64M at IPA 0x80000000, at
 * 0xffffa3400000 in the VMM. */
#define KIT_SLOT0(T, FLAGS, BACKING) \
	KIT T ": tracing_mark_write: s2emu-memslot slot=0 gpa=0x80000000 size=0x4000000 " \
	"hva=0xffffa3400000 flags=" FLAGS " backing=" BACKING "\n"
/* One vCPU and memslot 0 of 4K pages, started in linux mode, then dirty
 * logging turned on for the slot by a VMM thread (times 1.1 to 1.5). */
#define KIT_DIRTY_LOG_ON_4K \
	KIT "1.1: tracing_mark_write: s2emu-vcpus n=1\n" \
	KIT_SLOT0("1.2", "none", "4k") \
	KIT "1.3: tracing_mark_write: s2emu-phase name=start mode=linux\n" \
	KIT "1.4: tracing_mark_write: s2emu-phase name=dirty_log_on slot=0 by=thread\n" \
	KIT_SLOT0("1.5", "dirty", "4k")

/* A kit trace needs no layout: s2emu-vcpus, s2emu-memslot and s2emu-host
 * give the header; flag changes are dirty-log events; phases are sections. */
static void test_kit_markers(void **state)
{
	(void)state;
	struct opts o = { 0 };
	struct imported *r = import_opts(
		KIT "1.0: tracing_mark_write: s2emu-host vhe=0 fwb=0 range-tlbi=0 idc=1 dic=0 hw-dirty=0\n"
		KIT "1.1: tracing_mark_write: s2emu-vcpus n=2\n"
		KIT_SLOT0("1.2", "none", "thp")
		KIT "1.25: tracing_mark_write: s2emu-phase name=eager_split_chunk size=0x200000 supported_block_sizes=0x40201000\n"
		KIT "1.3: tracing_mark_write: s2emu-phase name=start mode=raw\n"
		KIT "1.4: kvm_guest_fault: ipa 0x80200000, hsr 0x93cc8046, hxfar 0x80200000, pc 0x80000060\n"
		KIT "1.5: kvm_entry: PC: 0x80000060\n"
		KIT "1.6: tracing_mark_write: s2emu-phase name=pass_done pass=1 vcpus=2\n"
		KIT "1.7: tracing_mark_write: s2emu-phase name=dirty_log_on slot=0\n"
		KIT_SLOT0("1.8", "dirty", "thp")
		KIT "1.9: tracing_mark_write: s2emu-phase name=resume next_pass=2\n"
		KIT "2.0: tracing_mark_write: s2emu-phase name=get_dirty_log slot=0 dirty_pages=3\n"
		KIT_SLOT0("2.1", "none", "thp")
		KIT "2.2: tracing_mark_write: s2emu-phase name=resume next_pass=2\n"
		KIT "2.3: tracing_mark_write: s2emu-phase name=system_event vcpu=0 type=1\n"
		KIT "2.4: kvm_entry: PC: 0x80000060\n", &o);
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "config vcpus=2 fwb=0 idc=1 dic=0 eager-split=1 split-chunk=2M "
				 "rcu=1 range-tlbi=0 hw-af=0 tlb-entries=1024 combined-tlb=1"));
	assert_true(has_line(r->out, "memslot 0 ipa=0x80000000 size=64M hva=0xffffa3400000 backing=thp"));
	assert_true(has_line(r->out, "section pass1"));
	assert_true(has_line(r->out, "section after-pass1"));
	assert_true(has_line(r->out, "section pass2"));
	assert_true(has_line(r->out, "host dirty-log-on slot=0"));
	assert_true(has_line(r->out, "host get-dirty-log slot=0"));
	assert_true(has_line(r->out, "host dirty-log-off slot=0"));
	assert_true(has_line(r->out, "vcpu 0 fault ipa=0x80200000 esr=0x93cc8046 pc=0x80000060"));
	/* The same section twice in a row is written once. */
	const char *p = strstr(r->out, "section pass2");
	assert_non_null(p);
	assert_null(strstr(p + 1, "section pass2"));
	/* The guest powered off: the VM ends with the trace. */
	assert_true(has_line(r->out, "host destroy"));
	assert_int_equal(r->st.host_lines, 4);
	assert_int_equal(r->st.sections, 3);
	done(r);
}

/* With the kit's s2emu-host lru-gen=0 (the multi-gen LRU off), reclaim
 * ages through clear_flush_young: kvm_age_hva becomes age-hva ... flush; a
 * kvm_test_age_hva (KVM only tests) never flushes. With lru-gen=1, or no
 * lru-gen (older captures), nothing flushes. */
static void test_age_flush_without_lru_gen(void **state)
{
	(void)state;
	static const char *const body =
		KIT_SLOT0("1.2", "none", "4k")
		KIT "1.3: tracing_mark_write: s2emu-phase name=start mode=raw\n"
		KIT "1.4: kvm_age_hva: mmu notifier age hva: 0xffffa3400000 -- 0xffffa3401000\n"
		KIT "1.5: kvm_test_age_hva: mmu notifier test age hva: 0xffffa3402000\n";
	static const char *const hosts[] = { " lru-gen=0", " lru-gen=1", "" };
	for (unsigned i = 0; i < 3; i++) {
		char text[2048];
		snprintf(text, sizeof(text),
			 KIT "1.0: tracing_mark_write: s2emu-host vhe=0 fwb=0 range-tlbi=0 idc=0 dic=0 hw-dirty=0%s\n"
			 KIT "1.1: tracing_mark_write: s2emu-vcpus n=1\n%s", hosts[i], body);
		struct opts o = { 0 };
		struct imported *r = import_opts(text, &o);
		assert_int_equal(r->ret, 0);
		assert_true(has_line(r->out, i == 0 ? "host age-hva hva=0xffffa3400000 size=4K flush"
						    : "host age-hva hva=0xffffa3400000 size=4K"));
		assert_true(has_line(r->out, "host age-hva hva=0xffffa3402000 size=4K"));
		done(r);
	}
	struct opts o = { 0 };
	struct imported *r = import_opts(
		KIT "1.0: tracing_mark_write: s2emu-host vhe=0 fwb=0 range-tlbi=0 idc=0 dic=0 hw-dirty=0 lru-gen=2\n", &o);
	assert_int_equal(r->ret, S2_EPARSE);
	done(r);
}

/* A VMM that marks the start of KVM_GET_DIRTY_LOG as well as its end gets the
 * write-protect at the start, before the faults its vCPU took while the ioctl
 * ran; the end marker is then a comment. */
static void test_kit_get_dirty_log_begin(void **state)
{
	(void)state;
	struct opts o = { 0 };
	struct imported *r = import_opts(
		KIT_DIRTY_LOG_ON_4K
		KIT "1.6: tracing_mark_write: s2emu-phase name=get_dirty_log_begin slot=0\n"
		KIT1 "1.7: kvm_guest_fault: ipa 0x80200000, hsr 0x9200004f, hxfar 0x80200000, pc 0x80000060\n"
		KIT "1.8: tracing_mark_write: s2emu-phase name=get_dirty_log slot=0 dirty_pages=3\n", &o);
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "host get-dirty-log slot=0"), 1);
	const char *gdl = strstr(r->out, "host get-dirty-log slot=0");
	const char *fault = strstr(r->out, "vcpu 0 fault ipa=0x80200000");
	assert_non_null(fault);
	assert_true(gdl < fault);
	done(r);

	/* With the kit's kprobe on the write-protect, get-dirty-log goes to
	 * its first call after the marker: the fault traced before it was
	 * handled first. A marker no call follows keeps it. */
	r = import_opts(
		KIT_DIRTY_LOG_ON_4K
		KIT "1.6: tracing_mark_write: s2emu-phase name=get_dirty_log_begin slot=0\n"
		KIT1 "1.7: kvm_guest_fault: ipa 0x80200000, hsr 0x9200004f, hxfar 0x80200000, pc 0x80000060\n"
		KIT "1.75: dirty_wp: (kvm_arch_mmu_enable_log_dirty_pt_masked+0x0/0x60)\n"
		KIT "1.76: dirty_wp: (kvm_arch_mmu_enable_log_dirty_pt_masked+0x0/0x60)\n"
		KIT "1.8: tracing_mark_write: s2emu-phase name=get_dirty_log slot=0 dirty_pages=3\n"
		KIT "1.9: tracing_mark_write: s2emu-phase name=get_dirty_log_begin slot=0\n"
		KIT "2.0: tracing_mark_write: s2emu-phase name=get_dirty_log slot=0 dirty_pages=0\n", &o);
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "section pass1\n"
		      "section dirty-logging\n"
		      "host dirty-log-on slot=0\n"
		      "vcpu 0 fault ipa=0x80200000 esr=0x9200004f pc=0x80000060\n"
		      "host get-dirty-log slot=0\n"
		      "host get-dirty-log slot=0\n");
	assert_non_null(strstr(r->out, "KVM_GET_DIRTY_LOG write-protects here"));
	done(r);
}

/* Two VMM threads' KVM_GET_DIRTY_LOG ioctls interleave: each marker pairs
 * with the write-protect call of its own thread (pid), in time order, even
 * when the other thread's call comes first and the lines are not in time
 * order in the file. Slot 1's get-dirty-log goes before the fault, slot 0's
 * after it; by order alone slot 0's stayed at its marker, before both. */
static void test_kit_dirty_wp_pairs_by_thread(void **state)
{
	(void)state;
	struct opts o = { 0 };
#define VMM2 "          kvmrun-390     [001] .....    "
	struct imported *r = import_opts(
		KIT "1.1: tracing_mark_write: s2emu-vcpus n=1\n"
		KIT_SLOT0("1.2", "dirty", "4k")
		KIT "1.21: tracing_mark_write: s2emu-memslot slot=1 gpa=0x90000000 size=0x4000000 hva=0xffffb3400000 flags=dirty backing=4k\n"
		KIT "1.3: tracing_mark_write: s2emu-phase name=start mode=linux\n"
		KIT "1.6: tracing_mark_write: s2emu-phase name=get_dirty_log_begin slot=0\n"
		VMM2 "1.7: dirty_wp: (kvm_arch_mmu_enable_log_dirty_pt_masked+0x0/0x60)\n"
		VMM2 "1.65: tracing_mark_write: s2emu-phase name=get_dirty_log_begin slot=1\n"
		KIT "1.75: dirty_wp: (kvm_arch_mmu_enable_log_dirty_pt_masked+0x0/0x60)\n"
		KIT1 "1.72: kvm_guest_fault: ipa 0x80200000, hsr 0x9200004f, hxfar 0x80200000, pc 0x80000060\n",
		&o);
#undef VMM2
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		      "section pass1\n"
		      "host get-dirty-log slot=1\n"
		      "vcpu 0 fault ipa=0x80200000 esr=0x9200004f pc=0x80000060\n"
		      "host get-dirty-log slot=0\n");
	done(r);
}

/* A layout wins over the markers; a marker of a slot the layout lacks, a
 * slot that moves, or a damaged s2emu- marker is an error at its line. */
static void test_kit_marker_errors(void **state)
{
	static const struct {
		const char *line, *what;
	} bad[] = {
		{ "s2emu-memslot slot=0 gpa=0x1000 size=0x1000 hva=0x1000 flags=none", "backing=" },
		{ "s2emu-memslot slot=0 gpa=0x1000 size=0x1000 hva=0x1000 flags=odd backing=4k", "flags=" },
		{ "s2emu-memslot slot=0 gpa=banana size=0x1000 hva=0x1000 flags=none backing=4k", "gpa 'banana'" },
		{ "s2emu-memslot slot=1 gpa=0x1000 size=0x1000 hva=0x1000 flags=none backing=4k", "memslot 1 before memslot 0" },
		{ "s2emu-vcpus n=17", "not from 1 to 16" },
		{ "s2emu-phase name=resume", "needs next_pass=" },
		{ "s2emu-host vhe=1", "needs fwb=" },
		{ "s2emu-bogus x=1", "unknown s2emu- marker" },
		{ "s2emu-phase name=eager_split_chunk size=0x3000", "power of two" },
		{ "s2emu-phase name=eager_split_chunk size=0x800", "power of two" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		struct opts o = { 0 };
		snprintf(text, sizeof(text), "cpus=2\n" KIT "1.0: tracing_mark_write: %s\n",
			 bad[i].line);
		assert_fails(import_opts(text, &o), S2_EPARSE, "ft:2: ", bad[i].what);
	}
	struct opts o = { .layout = LAYOUT };
	assert_fails(import_opts(KIT "1.0: tracing_mark_write: s2emu-memslot slot=2 gpa=0x1000 "
				 "size=0x1000 hva=0x1000 flags=none backing=4k\n", &o),
		     S2_EPARSE, "ft:1: ", "not in the layout");
	assert_fails(import_opts(KIT "1.0: tracing_mark_write: s2emu-memslot slot=0 gpa=0x1000 "
				 "size=0x1000 hva=0x1000 flags=none backing=4k\n", &o),
		     S2_EPARSE, "ft:1: ", "memslot 0 moves");
}

/* function_graph text: events and markers nested as comments are read as
 * events; calls are counted by function name; ends and arrows are no events. */
static void test_function_graph(void **state)
{
	(void)state;
	struct opts o = { 0 };
#define FG "   63.906767 |   0)   kvmrun-406   |"
	struct imported *r = import_opts(
		"# tracer: function_graph\n"
		"#\n"
		FG "               |  /* s2emu-vcpus n=1 */\n"
		FG "               |  /* s2emu-memslot slot=0 gpa=0x80000000 size=0x4000000 hva=0xffffaca00000 flags=none backing=thp */\n"
		FG " + 66.272 us   |  kvm_arch_prepare_memory_region();\n"
		FG "               |  /* kvm_exit: TRAP: HSR_EC: 0x0024 (DABT_LOW), PC: 0x0000000080000060 */\n"
		FG "               |  kvm_handle_guest_abort() {\n"
		FG "               |  /* kvm_guest_fault: ipa 0x80200000, hsr 0x93cc8046, hxfar 0x80200000, pc 0x00000080000060 */\n"
		FG "               |    stage2_map_walker() {\n"
		FG "   7.440 us    |      stage2_leaf_mapping_allowed();\n"
		FG " ! 183.712 us  |    } /* stage2_map_walker */\n"
		FG " ! 726.048 us  |  } /* kvm_handle_guest_abort */\n"
		" ------------------------------------------\n"
		"  0)   kvmrun-406   =>   kvmrun-407  \n"
		" ------------------------------------------\n"
		FG "               |  /* kvm_wfx_arm64: guest executed wfi at: 0x1 */\n", &o);
#undef FG
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "memslot 0 ipa=0x80000000 size=64M hva=0xffffaca00000 backing=thp"));
	assert_true(has_line(r->out, "vcpu 0 fault ipa=0x80200000 esr=0x93cc8046 pc=0x80000060"));
	assert_true(has_line(r->out, "# unused: function stage2_map_walker x1"));
	assert_true(has_line(r->out, "# unused: function kvm_handle_guest_abort x1"));
	assert_true(has_line(r->out, "# unused: kvm_wfx_arm64 x1"));
	assert_int_equal(r->st.vcpus, 1);
	done(r);
	/* Without funcgraph-proc a used event has no thread: refused. */
	struct opts o2 = { .layout = LAYOUT };
	assert_fails(import_opts("  0)               |  /* kvm_guest_fault: ipa 0x40000000, hsr "
				 "0x92000046, hxfar 0x0, pc 0x1 */\n", &o2),
		     S2_EPARSE, "ft:1: ", "funcgraph-proc");
}

/* The function tracer's "func <-caller" lines are counted by function. */
static void test_function_tracer(void **state)
{
	(void)state;
	struct imported *r = import(
		KIT "1.0: stage2_map_walker <-kvm_pgtable_walk\n"
		KIT "1.1: stage2_map_walker <-kvm_pgtable_walk\n"
		KIT1 "1.2: __kvm_tlb_flush_vmid_range <-kvm_tlb_flush_vmid_range\n");
	assert_int_equal(r->ret, 0);
	assert_true(has_line(r->out, "# unused: function stage2_map_walker x2"));
	assert_true(has_line(r->out, "# unused: function __kvm_tlb_flush_vmid_range x1"));
	assert_int_equal(r->st.events, 3);
	done(r);
}

/* KVM's RCU callback that frees an unlinked table, in either tracer's text,
 * is a host rcu-callback where it ran, between the faults around it. */
static void test_rcu_callback_calls(void **state)
{
	(void)state;
	struct opts o = { .layout = LAYOUT };
	struct imported *r = import_opts(
		KIT "1.0: kvm_guest_fault: ipa 0x40000000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		KIT1 "1.1: kvm_pgtable_stage2_free_unlinked <-stage2_free_unlinked_table_rcu_cb\n"
		KIT "1.2: kvm_guest_fault: ipa 0x40001000, hsr 0x92000046, hxfar 0x0, pc 0x1\n"
		"   1.300000 |   0)   kvmrun-386   |   1.000 us    |  kvm_pgtable_stage2_free_unlinked();\n",
		&o);
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "host rcu-callback"), 2);
	const char *cb = strstr(r->out, "host rcu-callback");
	assert_true(strstr(r->out, "ipa=0x40000000") < cb);
	assert_true(cb < strstr(r->out, "ipa=0x40001000"));
	assert_null(strstr(r->out, "function kvm_pgtable_stage2_free_unlinked"));
	assert_int_equal(r->st.host_lines, 2);
	done(r);
}

/* An ageing a function trace shows finding a young entry (its
 * stage2_try_set_pte under stage2_age_walker) with no fault on the page
 * since the page's last ageing: the hardware set the flag. It becomes a
 * read by the vCPU that faulted there, just before the ageing, and the
 * config gets hw-af=1 though the marker has no dirty-bit management. A
 * page a fault made young, an old page, or an ageing of a host without
 * the flag (the layout's hw-af=0) writes none. */
static void test_hw_young_from_function_trace(void **state)
{
	(void)state;
#define FG(t) "   " t " |   0)   kvmrun-406   |"
#define AGE(t, a, b) FG(t) "               |  /* kvm_age_hva: mmu notifier age hva: " a " -- " b " */\n" \
	FG(t) "               |  kvm_age_gfn() {\n"
#define YOUNG(t) FG(t) "               |        stage2_age_walker() {\n" \
	FG(t) "   2.688 us    |          stage2_try_set_pte();\n" \
	FG(t) " + 10.624 us   |        } /* stage2_age_walker */\n"
#define OLD(t) FG(t) "   2.688 us    |        stage2_age_walker();\n"
	static const char text[] =
		"# tracer: function_graph\n"
		FG("1.000000") "               |  /* s2emu-host vhe=1 fwb=1 range-tlbi=1 idc=1 dic=0 hw-dirty=0 lru-gen=0 */\n"
		FG("1.000001") "               |  /* s2emu-vcpus n=2 */\n"
		FG("1.000002") "               |  /* s2emu-memslot slot=0 gpa=0x80000000 size=0x4000000 hva=0xffffaca00000 flags=none backing=4k */\n"
		"   1.100000 |   1)   kvmrun-407   |               |  /* kvm_guest_fault: ipa 0x80200000, hsr 0x93cc8047, hxfar 0x80200000, pc 0x00000080000060 */\n"
		"   1.200000 |   1)   kvmrun-407   |               |  /* kvm_guest_fault: ipa 0x80201000, hsr 0x93cc8047, hxfar 0x80201000, pc 0x00000080000060 */\n"
		AGE("2.000000", "0xffffacc00000", "0xffffacc01000") YOUNG("2.000001")
		AGE("2.100000", "0xffffacc01000", "0xffffacc02000") YOUNG("2.100001")
		AGE("2.200000", "0xffffacc02000", "0xffffacc03000") OLD("2.200001")
		"   2.300000 |   1)   kvmrun-407   |               |  /* kvm_guest_fault: ipa 0x80201000, hsr 0x93cc8047, hxfar 0x80201000, pc 0x00000080000060 */\n"
		AGE("3.000000", "0xffffacc00000", "0xffffacc01000") YOUNG("3.000001")
		AGE("3.100000", "0xffffacc01000", "0xffffacc02000") YOUNG("3.100001");
	struct opts o = { 0 };
	struct imported *r = import_opts(text, &o);
	assert_int_equal(r->ret, 0);
	assert_non_null(strstr(r->out, "config vcpus=2 fwb=1 idc=1 dic=0 rcu=1 range-tlbi=1 hw-af=1 "));
	/* Only page 0x80200000's second ageing: the fault at 2.3 made the
	 * other young again. */
	assert_int_equal(count_lines(r->out, "vcpu 0 read ipa=0x80200000"), 1);
	assert_int_equal(count_lines(r->out, "vcpu 0 read"), 1);
	const char *rd = strstr(r->out, "vcpu 0 read ipa=0x80200000");
	const char *age1 = strstr(r->out, "host age-hva hva=0xffffacc00000");
	assert_non_null(rd);
	assert_true(age1 < rd);
	assert_true(rd < strstr(age1 + 1, "host age-hva hva=0xffffacc00000"));
	assert_true(rd > strstr(r->out, "vcpu 0 fault ipa=0x80201000 esr=0x93cc8047 pc=0x80000060\n"
				"host age-hva hva=0xffffacc00000"));
	assert_null(strstr(r->out, "function stage2_try_set_pte"));
	assert_true(has_line(r->out, "# unused: function stage2_age_walker x5"));
	done(r);

	/* The function tracer's "<-stage2_age_walker" says the same. */
	r = import_opts(
		KIT "1.0: tracing_mark_write: s2emu-host vhe=1 fwb=1 range-tlbi=1 idc=1 dic=0 hw-dirty=0\n"
		KIT "1.1: tracing_mark_write: s2emu-vcpus n=1\n"
		KIT_SLOT0("1.2", "none", "4k")
		KIT "1.4: kvm_age_hva: mmu notifier age hva: 0xffffa3401000 -- 0xffffa3402000\n"
		KIT "1.5: stage2_age_walker <-kvm_pgtable_walk\n"
		KIT "1.6: stage2_try_set_pte <-stage2_age_walker\n"
		KIT "1.7: kvm_age_hva: mmu notifier age hva: 0xffffa3402000 -- 0xffffa3403000\n"
		KIT "1.8: stage2_age_walker <-kvm_pgtable_walk\n"
		KIT "1.9: stage2_try_set_pte <-stage2_map_walker\n", &o);
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "vcpu 0 read"), 1);
	assert_true(has_line(r->out, "vcpu 0 read ipa=0x80001000"));
	assert_non_null(strstr(r->out, " hw-af=1 "));
	done(r);

	/* No young entry: no read, and no hardware flag either. */
	char old[sizeof(text)];
	snprintf(old, sizeof(old), "%s", text);
	for (char *p = old; (p = strstr(p, "stage2_try_set_pte")); p++)
		memcpy(p, "stage2_try_set_XXX", 18);
	r = import_opts(old, &o);
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "vcpu 0 read"), 0);
	assert_non_null(strstr(r->out, " hw-af=0 "));
	done(r);

	/* A layout that says the host has no hardware flag wins. */
	struct opts lo = { .layout = "config hw-af=0\n" };
	r = import_opts(text, &lo);
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "vcpu 0 read"), 0);
	assert_non_null(strstr(r->out, " hw-af=0 "));
	done(r);
#undef FG
#undef AGE
#undef YOUNG
#undef OLD
}

/* A fault's handler whose stage2_try_break_pte has no stage2_make_pte after
 * it in the same vCPU thread (until the thread's next vCPU event) lost its
 * break: the fault line says lost-break. Another vCPU's calls in between,
 * a host thread's break, and a handler that broke and made change nothing. */
static void test_lost_break_calls(void **state)
{
	(void)state;
	struct imported *r = import(
		V0 "1.00: kvm_guest_fault: ipa 0x40000000, hsr 0x93c08047, hxfar 0x0, pc 0x1\n"
		V1 "1.01: kvm_guest_fault: ipa 0x40000000, hsr 0x93c08047, hxfar 0x0, pc 0x1\n"
		V0 "1.02: stage2_try_break_pte <-stage2_map_walker_try_leaf\n"
		V1 "1.03: stage2_try_break_pte <-stage2_map_walker_try_leaf\n"
		V1 "1.04: stage2_try_set_pte <-stage2_try_break_pte\n"
		V0 "1.05: stage2_make_pte <-stage2_map_walker_try_leaf\n"
		HOST "1.06: stage2_try_break_pte <-stage2_split_walker\n"
		V1 "1.07: kvm_entry: PC: 0x1\n"
		V1 "1.08: kvm_guest_fault: ipa 0x40001000, hsr 0x93c08047, hxfar 0x0, pc 0x1\n"
		V1 "1.09: stage2_try_break_pte <-stage2_map_walker_try_leaf\n"
		V1 "1.10: stage2_make_pte <-stage2_map_walker_try_leaf\n"
		V0 "1.11: kvm_guest_fault: ipa 0x40002000, hsr 0x93c08047, hxfar 0x0, pc 0x1\n"
		V0 "1.12: kvm_guest_fault: ipa 0x40003000, hsr 0x93c08047, hxfar 0x0, pc 0x1\n");
	assert_int_equal(r->ret, 0);
	assert_events(r->out,
		"vcpu 0 fault ipa=0x40000000 esr=0x93c08047 pc=0x1\n"
		"vcpu 1 fault ipa=0x40000000 esr=0x93c08047 pc=0x1 lost-break\n"
		"vcpu 1 fault ipa=0x40001000 esr=0x93c08047 pc=0x1\n"
		"vcpu 0 fault ipa=0x40002000 esr=0x93c08047 pc=0x1\n"
		"vcpu 0 fault ipa=0x40003000 esr=0x93c08047 pc=0x1\n");
	/* The calls are used, not listed; the host's break is used too. */
	assert_null(strstr(r->out, "function stage2_try_break_pte"));
	assert_true(has_line(r->out, "# unused: function stage2_try_set_pte x1"));
	done(r);
	/* function_graph: a break that found the entry locked is a leaf; the
	 * last fault of the trace is closed by its end. */
	struct opts o = { .layout = LAYOUT };
#define FG "   1.000000 |   0)   kvmrun-406   |"
	r = import_opts(
		FG "               |  /* kvm_guest_fault: ipa 0x40000000, hsr 0x93c08047, hxfar 0x0, pc 0x1 */\n"
		FG "   2.736 us    |            stage2_try_break_pte();\n", &o);
#undef FG
	assert_int_equal(r->ret, 0);
	assert_events(r->out, "vcpu 0 fault ipa=0x40000000 esr=0x93c08047 pc=0x1 lost-break\n");
	done(r);
}

/* A trace of calls only (no event names a thread) imports: the RCU
 * callback's thread is known (it was looked up in an empty table). */
static void test_calls_only(void **state)
{
	(void)state;
	struct imported *r = import(KIT "1.0: kvm_pgtable_stage2_free_unlinked <-rcu_do_batch\n");
	assert_int_equal(r->ret, 0);
	assert_int_equal(count_lines(r->out, "host rcu-callback"), 1);
	done(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_trace_cmd),
		cmocka_unit_test(test_prefix_raw),
		cmocka_unit_test(test_prefix_function_and_clocks),
		cmocka_unit_test(test_prefix_not_events),
		cmocka_unit_test(test_guest_fault),
		cmocka_unit_test(test_access_fault),
		cmocka_unit_test(test_unmap_and_age),
		cmocka_unit_test(test_invalidation_window),
		cmocka_unit_test(test_entry_ends_fault),
		cmocka_unit_test(test_old_page_notifiers),
		cmocka_unit_test(test_mmio),
		cmocka_unit_test(test_mmio_without_layout),
		cmocka_unit_test(test_cache_flushes),
		cmocka_unit_test(test_markers),
		cmocka_unit_test(test_vcpu_numbering),
		cmocka_unit_test(test_vcpus_setting),
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_unused),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_memslot_option),
		cmocka_unit_test(test_malformed_events),
		cmocka_unit_test(test_missing_layout),
		cmocka_unit_test(test_bad_vcpus),
		cmocka_unit_test(test_bad_layout),
		cmocka_unit_test(test_bad_memslot_option),
		cmocka_unit_test(test_bad_streams),
		cmocka_unit_test(test_seed_corpus),
		cmocka_unit_test(test_kit_markers),
		cmocka_unit_test(test_age_flush_without_lru_gen),
		cmocka_unit_test(test_kit_get_dirty_log_begin),
		cmocka_unit_test(test_kit_dirty_wp_pairs_by_thread),
		cmocka_unit_test(test_kit_marker_errors),
		cmocka_unit_test(test_function_graph),
		cmocka_unit_test(test_rcu_callback_calls),
		cmocka_unit_test(test_function_tracer),
		cmocka_unit_test(test_hw_young_from_function_trace),
		cmocka_unit_test(test_lost_break_calls),
		cmocka_unit_test(test_calls_only),
	};
	return cmocka_run_group_tests_name("ftrace", tests, NULL, NULL);
}
