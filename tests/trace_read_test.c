/* The trace reader (traces/read.c) line by line, through in-memory streams:
 * every line kind gives the event fields the format promises, every error
 * path gives S2_EPARSE with a "NAME:LINE: " message, and a scenario written
 * by the writer reads back as the same programs and replays to the same run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/s2_text.h"
#include "cache-model/s2cache.h"
#include "host-mm/s2host_rules.h"
#include "traces/s2trace.h"

#define NAME "t.s2t"
#define HDR "s2emu-trace 1\n"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

struct rd {
	FILE *f;
	struct s2trace_reader *r;
};

static void rd_open(struct rd *rd, const char *text)
{
	rd->f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(rd->f);
	rd->r = s2trace_reader_new(rd->f, NAME);
	assert_non_null(rd->r);
}

static void rd_close(struct rd *rd)
{
	s2trace_close(rd->r);
	fclose(rd->f);
}

/* The one event a header plus `line` gives. */
static struct s2trace_event one(const char *line)
{
	char text[512];
	struct rd rd;
	struct s2trace_event ev, more;

	snprintf(text, sizeof(text), HDR "%s\n", line);
	rd_open(&rd, text);
	int ret = s2trace_next(rd.r, &ev);
	if (ret != 1)
		fail_msg("'%s': %d %s", line, ret, s2trace_error(rd.r));
	assert_int_equal(ev.line, 2);
	assert_int_equal(s2trace_next(rd.r, &more), 0);
	rd_close(&rd);
	return ev;
}

/* Read text to its end: the number of events, or the error. */
static int read_all(const char *text, unsigned *nev, char *err, size_t errlen)
{
	struct rd rd;
	struct s2trace_event ev;
	int ret;

	rd_open(&rd, text);
	*nev = 0;
	while ((ret = s2trace_next(rd.r, &ev)) == 1)
		(*nev)++;
	snprintf(err, errlen, "%s", s2trace_error(rd.r));
	rd_close(&rd);
	return ret;
}

/* text must fail with S2_EPARSE at line, with a message holding what. */
static void bad(const char *text, unsigned line, const char *what)
{
	char err[700], prefix[64];
	unsigned n;

	int ret = read_all(text, &n, err, sizeof(err));
	if (ret != S2_EPARSE)
		fail_msg("accepted (%d, %u events): %s", ret, n, text);
	snprintf(prefix, sizeof(prefix), NAME ":%u: ", line);
	if (strncmp(err, prefix, strlen(prefix)))
		fail_msg("'%s' does not start with '%s' for: %s", err, prefix, text);
	if (!strstr(err, what))
		fail_msg("'%s' does not say '%s' for: %s", err, what, text);
}

/* ------------------------------------------------------------------ */
/* Lines that parse                                                    */
/* ------------------------------------------------------------------ */

/* Blank lines, comments, CR LF endings and a missing final newline are
 * not events; a header alone is an empty but valid trace. */
static void test_header_comments_blank(void **state)
{
	(void)state;
	const char *texts[] = {
		HDR,
		"s2emu-trace 1",
		"# a comment first\n\n   \t\ns2emu-trace 1   # the header\n# end\n",
		"\r\ns2emu-trace 1\r\n\r\n   # s2emu-trace 2\r\n",
		"s2emu-trace 0x1\n",
	};
	for (unsigned i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char err[700];
		unsigned n;
		int ret = read_all(texts[i], &n, err, sizeof(err));
		if (ret != 0 || n)
			fail_msg("text %u: %d, %u events: %s", i, ret, n, err);
	}
	/* A comment ends a line anywhere, even inside a word. */
	struct s2trace_event ev = one("host destroy#now");
	assert_int_equal(ev.kind, S2T_HOST);
	assert_int_equal(ev.host.kind, S2HYP_HOST_DESTROY);
}

/* Each config key alone sets its field and its bit in given; the other
 * fields keep the defaults of s2hyp_config_init. */
static void test_config_each_key(void **state)
{
	(void)state;
	struct s2hyp_config def;
	s2hyp_config_init(&def);

	struct s2trace_event ev = one("config");
	assert_int_equal(ev.kind, S2T_CONFIG);
	assert_int_equal(ev.config.given, 0);
	assert_memory_equal(&ev.config.cfg, &def, sizeof(def));

	static const struct {
		const char *text;
		unsigned granule_shift;
	} granules[] = {
		{ "config granule=4k", 12 }, { "config granule=4K", 12 }, { "config granule=16k", 14 },
		{ "config granule=16K", 14 }, { "config granule=64k", 16 }, { "config granule=64K", 16 },
	};
	for (unsigned i = 0; i < sizeof(granules) / sizeof(granules[0]); i++) {
		ev = one(granules[i].text);
		assert_int_equal(ev.config.given, S2T_CFG_GRANULE);
		assert_int_equal(ev.config.cfg.granule_shift, granules[i].granule_shift);
	}

	ev = one("config ipa-bits=48");
	assert_int_equal(ev.config.given, S2T_CFG_IPA_BITS);
	assert_int_equal(ev.config.cfg.ipa_bits, 48);
	/* Giving the default value still counts as given. */
	ev = one("config ipa-bits=40");
	assert_int_equal(ev.config.given, S2T_CFG_IPA_BITS);
	assert_int_equal(ev.config.cfg.ipa_bits, 40);

	ev = one("config vcpus=4");
	assert_int_equal(ev.config.given, S2T_CFG_VCPUS);
	assert_int_equal(ev.config.cfg.nr_vcpus, 4);
	ev = one("config vcpus=16");
	assert_int_equal(ev.config.cfg.nr_vcpus, 16);

	for (unsigned v = 0; v < S2PT_NR_VARIANTS; v++) {
		char line[128];
		snprintf(line, sizeof(line), "config walker=%s", s2pt_variant_name((enum s2pt_variant)v));
		ev = one(line);
		assert_int_equal(ev.config.given, S2T_CFG_WALKER);
		assert_int_equal(ev.config.cfg.variant, v);
	}

	static const struct {
		const char *key;
		unsigned bit;
		size_t off;
	} bools[] = {
		{ "fwb", S2T_CFG_FWB, offsetof(struct s2hyp_config, fwb) },
		{ "idc", S2T_CFG_IDC, offsetof(struct s2hyp_config, idc) },
		{ "dic", S2T_CFG_DIC, offsetof(struct s2hyp_config, dic) },
		{ "eager-split", S2T_CFG_EAGER_SPLIT, offsetof(struct s2hyp_config, eager_split) },
		{ "rcu", S2T_CFG_RCU, offsetof(struct s2hyp_config, rcu_free) },
		{ "range-tlbi", S2T_CFG_RANGE_TLBI, offsetof(struct s2hyp_config, range_tlbi) },
		{ "hw-af", S2T_CFG_HW_AF, offsetof(struct s2hyp_config, hw_af) },
		{ "combined-tlb", S2T_CFG_COMBINED_TLB, offsetof(struct s2hyp_config, combined_tlb) },
	};
	static const struct {
		const char *val;
		bool on;
	} values[] = { { "1", true }, { "on", true }, { "yes", true },
		       { "0", false }, { "off", false }, { "no", false } };
	for (unsigned i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		for (unsigned j = 0; j < sizeof(values) / sizeof(values[0]); j++) {
			char line[64];
			snprintf(line, sizeof(line), "config %s=%s", bools[i].key, values[j].val);
			ev = one(line);
			assert_int_equal(ev.config.given, bools[i].bit);
			bool got = *(const bool *)((const char *)&ev.config.cfg + bools[i].off);
			assert_int_equal(got, values[j].on);
		}

	ev = one("config line=128");
	assert_int_equal(ev.config.given, S2T_CFG_LINE);
	assert_int_equal(ev.config.cfg.line_bytes, 128);
	ev = one("config split-chunk=2M");
	assert_int_equal(ev.config.given, S2T_CFG_SPLIT_CHUNK);
	assert_int_equal(ev.config.cfg.split_chunk, 2 << 20);
	bad(HDR "config split-chunk=3M\n", 2, "not a power of two");
	bad(HDR "config split-chunk=2K\n", 2, "out of range");
	/* ... and a page or block size of the granule, as KVM takes it. */
	bad(HDR "config split-chunk=8K\n", 2, "split-chunk=8K is not a page or block size of the 4K granule");
	bad(HDR "config granule=64k split-chunk=2M\n", 2, "of the 64K granule (64K or 512M)");
	ev = one("config granule=16k split-chunk=32M");
	assert_int_equal(ev.config.cfg.split_chunk, 32 << 20);
	ev = one("config split-chunk=1G");
	assert_int_equal(ev.config.cfg.split_chunk, 1 << 30);
	ev = one("config tlb-entries=1024");
	assert_int_equal(ev.config.given, S2T_CFG_TLB_ENTRIES);
	assert_int_equal(ev.config.cfg.tlb_entries, 1024);
	bad(HDR "config tlb-entries=2000000\n", 2, "tlb-entries");

	/* With host memory, each userfaultfd fix left out and each of KVM's
	 * host-mm bugs is turned on by its own key, and by no other. */
	static const struct {
		const char *key;
		unsigned bit;
		size_t off;
	} knobs[] = {
		{ "uffd-pre-fix", S2T_CFG_UFFD, offsetof(struct s2hyp_config, uffd_no_markers) },
		{ "uffd-no-wp-flush", S2T_CFG_UFFD, offsetof(struct s2hyp_config, uffd_no_wp_flush) },
		{ "uffd-no-fork-fix", S2T_CFG_UFFD, offsetof(struct s2hyp_config, uffd_no_fork_fix) },
		{ "host-no-retry-check", S2T_CFG_HOST_KVM,
		  offsetof(struct s2hyp_config, host_no_retry_check) },
		{ "host-map-writable-always", S2T_CFG_HOST_KVM,
		  offsetof(struct s2hyp_config, host_map_writable_always) },
		{ "host-unmap-no-tlbi", S2T_CFG_HOST_KVM,
		  offsetof(struct s2hyp_config, host_unmap_no_tlbi) },
	};
	for (unsigned i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		char line[96];
		snprintf(line, sizeof(line), "config host-mm=AE %s", knobs[i].key);
		ev = one(line);
		assert_int_equal(ev.config.given, S2T_CFG_HOST_MM | knobs[i].bit);
		for (unsigned j = 0; j < sizeof(knobs) / sizeof(knobs[0]); j++) {
			bool got = *(const bool *)((const char *)&ev.config.cfg + knobs[j].off);
			assert_int_equal(got, i == j);
		}
	}

	/* All together, in another order. */
	ev = one("config eager-split=1 line=32 dic=1 idc=1 fwb=1 walker=upstream-2021 vcpus=3 "
		 "ipa-bits=44 granule=16k");
	assert_int_equal(ev.config.given, 0x1ff);
	assert_int_equal(ev.config.cfg.granule_shift, 14);
	assert_int_equal(ev.config.cfg.ipa_bits, 44);
	assert_int_equal(ev.config.cfg.nr_vcpus, 3);
	assert_int_equal(ev.config.cfg.variant, S2PT_V_UPSTREAM_2021);
	assert_true(ev.config.cfg.fwb && ev.config.cfg.idc && ev.config.cfg.dic &&
		    ev.config.cfg.eager_split);
	assert_int_equal(ev.config.cfg.line_bytes, 32);
	/* Keys the format does not name keep their defaults. */
	assert_int_equal(ev.config.cfg.check, def.check);
	assert_int_equal(ev.config.cfg.max_faults_per_access, def.max_faults_per_access);
}

/* Memslots with each backing and each flag. */
static void test_memslot_backings_flags(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum s2hyp_backing b;
	} backings[] = {
		{ "4k", S2HYP_BACKING_4K }, { "thp", S2HYP_BACKING_THP },
		{ "hugetlb-2m", S2HYP_BACKING_HUGETLB_2M }, { "hugetlb-1g", S2HYP_BACKING_HUGETLB_1G },
	};
	for (unsigned i = 0; i < 4; i++) {
		char line[160];
		snprintf(line, sizeof(line), "memslot 0 ipa=0x40000000 size=4M hva=0x7f0000000000 backing=%s",
			 backings[i].name);
		struct s2trace_event ev = one(line);
		assert_int_equal(ev.kind, S2T_MEMSLOT);
		assert_int_equal(ev.memslot.id, 0);
		assert_int_equal(ev.memslot.slot.ipa, 0x40000000);
		assert_int_equal(ev.memslot.slot.size, 4 << 20);
		assert_int_equal(ev.memslot.slot.hva, 0x7f0000000000ull);
		assert_int_equal(ev.memslot.slot.backing, backings[i].b);
		assert_false(ev.memslot.slot.readonly);
		assert_false(ev.memslot.slot.dirty_log);
		assert_string_equal(s2trace_backing_name(backings[i].b), backings[i].name);
	}
	/* Default backing is 4K pages. */
	struct s2trace_event ev = one("memslot 0 ipa=0 size=4K hva=0x1000");
	assert_int_equal(ev.memslot.slot.backing, S2HYP_BACKING_4K);

	ev = one("memslot 0 readonly ipa=0x80000000 size=1G hva=0x7f4000000000 backing=hugetlb-1g");
	assert_true(ev.memslot.slot.readonly);
	assert_false(ev.memslot.slot.dirty_log);
	ev = one("memslot 0 ipa=0x80000000 size=1G hva=0x7f4000000000 dirty-log");
	assert_false(ev.memslot.slot.readonly);
	assert_true(ev.memslot.slot.dirty_log);
	ev = one("memslot 0 ipa=0x80000000 size=1G hva=0x7f4000000000 dirty-log readonly");
	assert_true(ev.memslot.slot.readonly && ev.memslot.slot.dirty_log);

	/* Slots count up from 0. */
	struct rd rd;
	rd_open(&rd, HDR "config\nmemslot 0 ipa=0 size=2M hva=0\nmemslot 1 ipa=2M size=2M hva=2M\n"
		     "memslot 0x2 ipa=4M size=2M hva=4M\n");
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	for (unsigned id = 0; id < 3; id++) {
		assert_int_equal(s2trace_next(rd.r, &ev), 1);
		assert_int_equal(ev.kind, S2T_MEMSLOT);
		assert_int_equal(ev.memslot.id, id);
		assert_int_equal(ev.memslot.slot.ipa, id * 0x200000ull);
		assert_int_equal(ev.line, id + 3);
	}
	assert_int_equal(s2trace_next(rd.r, &ev), 0);
	rd_close(&rd);
}

/* phase N, and phase alone meaning the next number (0 for the first). */
static void test_phase(void **state)
{
	(void)state;
	struct rd rd;
	struct s2trace_event ev;
	static const struct {
		uint64_t n;
		bool next;
	} want[] = { { 0, true }, { 1, true }, { 1, false }, { 5, false }, { 6, true }, { 6, false } };

	rd_open(&rd, HDR "phase\nphase\nphase 1\nphase 5\nphase\nphase 0x6\n");
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(s2trace_next(rd.r, &ev), 1);
		assert_int_equal(ev.kind, S2T_PHASE);
		assert_int_equal(ev.line, i + 2);
		assert_int_equal(ev.phase.n, want[i].n);
		assert_int_equal(ev.phase.next, want[i].next);
	}
	assert_int_equal(s2trace_next(rd.r, &ev), 0);
	rd_close(&rd);
}

/* A section line names the statistics that follow; bad names are refused. */
static void test_section(void **state)
{
	(void)state;
	struct rd rd;
	struct s2trace_event ev;

	/* The name lives in the reader: look at it before the reader closes. */
	rd_open(&rd, HDR "section after-pass2\n");
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(ev.kind, S2T_SECTION);
	assert_string_equal(ev.section.name, "after-pass2");
	assert_int_equal(s2trace_next(rd.r, &ev), 0);
	rd_close(&rd);
	bad(HDR "section\n", 2, "section needs a name");
	bad(HDR "section a b\n", 2, "unknown word 'b' for section");
	bad(HDR "section a=b\n", 2, "section needs a name");
	bad(HDR "section a/b\n", 2, "section: 'a/b' is not a name (letters, digits");
	bad(HDR "section 0123456789012345678901234567890123456789012345678\n", 2, "at most");
}

/* Every host operation with its keys. */
static void test_host_ops(void **state)
{
	(void)state;
	struct s2trace_event ev = one("host write hva=0x7f0000001000 size=16K fill=0xa5");
	assert_int_equal(ev.kind, S2T_HOST);
	assert_int_equal(ev.host.kind, S2HYP_HOST_WRITE);
	assert_int_equal(ev.host.addr, 0x7f0000001000ull);
	assert_int_equal(ev.host.size, 16384);
	assert_int_equal(ev.host.fill, 0xa5);
	ev = one("host write hva=0x1000 size=1");
	assert_int_equal(ev.host.fill, 0);

	static const struct {
		const char *name;
		enum s2hyp_host_kind k;
	} slot_ops[] = {
		{ "dirty-log-on", S2HYP_HOST_DIRTY_LOG_ON },
		{ "dirty-log-off", S2HYP_HOST_DIRTY_LOG_OFF },
		{ "get-dirty-log", S2HYP_HOST_GET_DIRTY_LOG },
	};
	for (unsigned i = 0; i < 3; i++) {
		char line[64];
		snprintf(line, sizeof(line), "host %s slot=%u", slot_ops[i].name, i + 3);
		ev = one(line);
		assert_int_equal(ev.host.kind, slot_ops[i].k);
		assert_int_equal(ev.host.slot, i + 3);
		assert_string_equal(s2trace_host_name(slot_ops[i].k), slot_ops[i].name);
	}

	static const struct {
		const char *name, *key;
		enum s2hyp_host_kind k;
	} range_ops[] = {
		{ "unmap-hva", "hva", S2HYP_HOST_UNMAP_HVA },
		{ "age-hva", "hva", S2HYP_HOST_AGE_HVA },
		{ "unmap-ipa", "ipa", S2HYP_HOST_UNMAP_IPA },
		{ "wrprotect-ipa", "ipa", S2HYP_HOST_WRPROTECT_IPA },
		{ "flush-ipa", "ipa", S2HYP_HOST_FLUSH_IPA },
		{ "age-ipa", "ipa", S2HYP_HOST_AGE_IPA },
		{ "split-ipa", "ipa", S2HYP_HOST_SPLIT_IPA },
	};
	for (unsigned i = 0; i < sizeof(range_ops) / sizeof(range_ops[0]); i++) {
		char line[96];
		snprintf(line, sizeof(line), "host %s size=2M %s=0x40200000", range_ops[i].name,
			 range_ops[i].key);
		ev = one(line);
		assert_int_equal(ev.host.kind, range_ops[i].k);
		assert_int_equal(ev.host.addr, 0x40200000);
		assert_int_equal(ev.host.size, 2 << 20);
		assert_string_equal(s2trace_host_name(range_ops[i].k), range_ops[i].name);
		assert_false(ev.host.flush);
	}
	/* Ageing takes flush: the notifier's clear_flush_young. */
	ev = one("host age-hva hva=0x40200000 size=2M flush");
	assert_true(ev.host.flush);
	ev = one("host age-ipa ipa=0x40200000 size=2M flush");
	assert_true(ev.host.flush);
	static const struct {
		const char *name;
		enum s2hyp_host_kind k;
	} bare_ops[] = {
		{ "destroy", S2HYP_HOST_DESTROY },
		{ "rcu-callback", S2HYP_HOST_RCU_CALLBACK },
		{ "invalidate-begin", S2HYP_HOST_INVALIDATE_BEGIN },
		{ "invalidate-end", S2HYP_HOST_INVALIDATE_END },
	};
	for (unsigned i = 0; i < sizeof(bare_ops) / sizeof(bare_ops[0]); i++) {
		char line[64];
		snprintf(line, sizeof(line), "host %s", bare_ops[i].name);
		ev = one(line);
		assert_int_equal(ev.host.kind, bare_ops[i].k);
		assert_string_equal(s2trace_host_name(bare_ops[i].k), bare_ops[i].name);
	}
	assert_string_equal(s2trace_host_name((enum s2hyp_host_kind)99), "?");
	assert_string_equal(s2trace_backing_name((enum s2hyp_backing)99), "?");
}

/* vcpu read/write/exec with their defaults and options, and fault lines
 * decoded from the ESR. */
static void test_vcpu_ops(void **state)
{
	(void)state;
	struct s2trace_event ev = one("vcpu 0 read ipa=0x40001000");
	assert_int_equal(ev.kind, S2T_VCPU);
	assert_int_equal(ev.vcpu.vcpu, 0);
	assert_false(ev.vcpu.fault);
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_READ);
	assert_int_equal(ev.vcpu.op.ipa, 0x40001000);
	assert_int_equal(ev.vcpu.op.size, 8);
	assert_true(ev.vcpu.op.mmu_on);

	ev = one("vcpu 15 read ipa=0x40001002 size=2 mmu=off");
	assert_int_equal(ev.vcpu.vcpu, 15);
	assert_int_equal(ev.vcpu.op.size, 2);
	assert_false(ev.vcpu.op.mmu_on);
	ev = one("vcpu 1 read ipa=0x40001003 size=1 mmu=on");
	assert_int_equal(ev.vcpu.op.size, 1);
	assert_true(ev.vcpu.op.mmu_on);

	ev = one("vcpu 1 write ipa=0x40002000 value=0x1234 size=4");
	assert_int_equal(ev.vcpu.vcpu, 1);
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_WRITE);
	assert_int_equal(ev.vcpu.op.value, 0x1234);
	assert_int_equal(ev.vcpu.op.size, 4);
	ev = one("vcpu 1 write ipa=0x40002008 value=18446744073709551615 mmu=off");
	assert_int_equal(ev.vcpu.op.value, UINT64_MAX);
	assert_int_equal(ev.vcpu.op.size, 8);
	assert_false(ev.vcpu.op.mmu_on);

	/* An instruction fetch is always 4 bytes. */
	ev = one("vcpu 0 exec ipa=0x40000000");
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_EXEC);
	assert_int_equal(ev.vcpu.op.size, 4);
	ev = one("vcpu 0 exec ipa=0x40000004 size=4");
	assert_int_equal(ev.vcpu.op.size, 4);

	/* Data abort, write (WnR), with a pc. */
	ev = one("vcpu 0 fault ipa=0x40003000 esr=0x92000047 pc=0xffff800010001234");
	assert_true(ev.vcpu.fault);
	assert_int_equal(ev.vcpu.esr, 0x92000047);
	assert_int_equal(ev.vcpu.pc, 0xffff800010001234ull);
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_WRITE);
	assert_int_equal(ev.vcpu.op.size, 1);
	assert_int_equal(ev.vcpu.op.value, 0);
	/* Data abort, read; any byte address. */
	ev = one("vcpu 1 fault ipa=0x40003005 esr=0x92000007");
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_READ);
	assert_int_equal(ev.vcpu.pc, 0);
	/* A stage-1 walk is a read even with WnR set. */
	ev = one("vcpu 1 fault ipa=0x40003000 esr=0x920000c7");
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_READ);
	/* Instruction abort. */
	ev = one("vcpu 0 fault ipa=0x40000000 esr=0x82000007");
	assert_int_equal(ev.vcpu.op.access, S2HYP_ACC_EXEC);
	assert_int_equal(ev.vcpu.op.size, 4);
	/* A fault line may carry the value and size of a write. */
	ev = one("vcpu 0 fault ipa=0x40003008 esr=0x92000047 value=7 size=8 mmu=off");
	assert_int_equal(ev.vcpu.op.value, 7);
	assert_int_equal(ev.vcpu.op.size, 8);
	assert_false(ev.vcpu.op.mmu_on);
}

/* mmio lines, read and write. */
static void test_mmio(void **state)
{
	(void)state;
	struct s2trace_event ev = one("mmio vcpu=0 ipa=0x09000000");
	assert_int_equal(ev.kind, S2T_MMIO);
	assert_int_equal(ev.mmio.vcpu, 0);
	assert_int_equal(ev.mmio.ipa, 0x09000000);
	assert_false(ev.mmio.write);
	ev = one("mmio write ipa=0x09000008 vcpu=15");
	assert_int_equal(ev.mmio.vcpu, 15);
	assert_true(ev.mmio.write);
}


/* The grammar's field descriptions are what the reader takes and the
 * writer writes: for every field of config, memslot, mmio, host, expect,
 * vcpu, guest, effect and phase lines (host-mm events but those naming processes
 * and references, whose numbers the lines before them make; every effect
 * operation, every TLBI and IC operation), its extreme values written by
 * the writer read back to the same event and line; a value just outside
 * its range is refused naming it; a required keyed field left out is
 * named. */
static void field_line(const struct s2trace_event *ev, char *buf, size_t size)
{
	FILE *f = fmemopen(buf, size, "w");
	assert_non_null(f);
	s2trace_print_event(f, ev);
	assert_int_equal(fclose(f), 0);
}

/* entry lines (a vCPU back in the guest), read and written. */
static void test_entry(void **state)
{
	(void)state;
	struct s2trace_event ev = one("entry vcpu=15");
	assert_int_equal(ev.kind, S2T_ENTRY);
	assert_int_equal(ev.entry.vcpu, 15);
	char buf[64];
	field_line(&ev, buf, sizeof(buf));
	assert_string_equal(buf, "entry vcpu=15");
}

/* buf with its word number pos (after the keyword) replaced by val. */
static void field_edit_pos(char *buf, size_t size, unsigned pos, const char *val)
{
	char out[512], *p = buf;
	for (unsigned i = 0; i < pos && p; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		fail_msg("'%s' has no word %u", buf, pos);
	char *end = strchr(p + 1, ' ');
	snprintf(out, sizeof(out), "%.*s %s%s", (int)(p - buf), buf, val, end ? end : "");
	snprintf(buf, size, "%s", out);
}

/* buf with key's word replaced by key=val, or dropped (val NULL). */
static void field_edit(char *buf, size_t size, const char *key, const char *val)
{
	char pat[64], out[512];
	snprintf(pat, sizeof(pat), " %s=", key);
	char *p = strstr(buf, pat);
	if (!p)
		fail_msg("'%s' has no %s", buf, pat);
	char *end = strchr(p + 1, ' ');
	snprintf(out, sizeof(out), "%.*s%s%s%s%s", (int)(p - buf), buf, val ? pat : "",
		 val ? val : "", end ? "" : "", end ? end : "");
	snprintf(buf, size, "%s", out);
}

static void check_fields(struct s2trace_event ev)
{
	unsigned n;
	const struct s2trace_field *fs = s2trace_fields(&ev, &n);
	assert_true(n > 0 || ev.kind == S2T_HOST);
	for (unsigned i = 0, pos = 0; i < n; i++) {
		const struct s2trace_field *f = &fs[i];
		pos += !!(f->flags & S2T_FF_POS);
		if (!s2trace_field_applies(f, &ev))
			continue;
		uint64_t vals[2] = { f->min, f->max };
		unsigned nv = 2;
		switch (f->type) {
		case S2T_F_BOOL:
		case S2T_F_FLAG:
			vals[0] = 0, vals[1] = 1;
			break;
		case S2T_F_WORD:
			vals[0] = 0, vals[1] = 1;
			break;
		case S2T_F_GRANULE:
			vals[0] = 14, vals[1] = 16;
			break;
		case S2T_F_WALKER:
			vals[0] = S2PT_V_UPSTREAM_2021, vals[1] = S2PT_V_INSTALL_FIRST;
			break;
		case S2T_F_POLICY:
			vals[0] = 0, nv = 1;
			break;
		case S2T_F_PROT:
			vals[0] = S2PT_PROT_X, vals[1] = S2PT_PROT_RWX;
			break;
		case S2T_F_RULE:
			vals[0] = 0, vals[1] = S2HYP_NR_RULES - 1;
			break;
		case S2T_F_ONOFF:
			vals[0] = 0, vals[1] = 1;
			break;
		case S2T_F_TEXT:	/* the base event's */
		case S2T_F_NAME:
		case S2T_F_CHOICES:
			nv = 0;
			break;
		case S2T_F_DSB:
			vals[0] = 0, vals[1] = S2ARM_NR_DSB - 1;
			break;
		case S2T_F_DC:
			vals[0] = S2CACHE_DC_CIVAC, vals[1] = S2CACHE_DC_CVAU;
			break;
		case S2T_F_ESR:	/* a data abort read, an instruction abort */
			vals[0] = 0x92000006, vals[1] = 0x82000006;
			break;
		default:
			break;
		}
		/* A selecting field's values are the caller's, each its own line;
		 * a memslot's number is the next (the lines before it say which). */
		if ((f->flags & S2T_FF_SELECT) || (ev.kind == S2T_MEMSLOT && (f->flags & S2T_FF_POS)))
			nv = 0;
		/* expect faults needs max= or min= and min <= max: the base
		 * event has max=5 min=1, each moved where the other allows. */
		/* An access is aligned to its size. */
		if (ev.kind == S2T_VCPU && !strcmp(f->key, "ipa"))
			vals[1] &= ~7ull;
		/* A descriptor's address is 8-byte aligned. */
		if (ev.kind == S2T_EFFECT && !strcmp(f->key, "pa"))
			vals[1] &= ~7ull;
		if (ev.kind == S2T_EXPECT && ev.expect.kind == S2T_EXP_FAULTS) {
			if (!strcmp(f->key, "max"))
				vals[0] = 1;
			if (!strcmp(f->key, "min"))
				vals[1] = 5;
		}
		/* What is read but never written cannot come back. */
		for (unsigned k = 0; k < nv && !(f->flags & S2T_FF_NOWRITE); k++) {
			struct s2trace_event e = ev;
			char line[512], again[512];
			e.config.given |= f->given;	/* config lines only */
			s2trace_field_set(f, &e, vals[k]);
			if (f->have)
				((bool *)&e)[f->have - 1] = true;
			field_line(&e, line, sizeof(line));
			struct s2trace_event back = one(line);
			if (s2trace_field_get(f, &back) != vals[k])
				fail_msg("%s: %s read back as %llu, not %llu", line, f->key,
					 (unsigned long long)s2trace_field_get(f, &back),
					 (unsigned long long)vals[k]);
			/* A guest line's image points into the closed reader's
			 * line: it is checked apart, below. */
			if (ev.kind == S2T_GUEST)
				back.guest.image = e.guest.image;
			field_line(&back, again, sizeof(again));
			assert_string_equal(again, line);
		}
		if (f->type > S2T_F_SIZE || (f->flags & S2T_FF_NOWRITE))
			continue;
		char line[512], text[600], v[32], what[96];
		struct s2trace_event e = ev;
		e.config.given |= f->given;
		s2trace_field_set(f, &e, f->min);
		if (f->have)
			((bool *)&e)[f->have - 1] = true;
		for (unsigned k = 0; k < 2; k++) {
			if (k ? f->min == 0 : f->max == UINT64_MAX)
				continue;
			field_line(&e, line, sizeof(line));
			snprintf(v, sizeof(v), "%llu", (unsigned long long)(k ? f->min - 1 : f->max + 1));
			if (f->flags & S2T_FF_POS) {
				field_edit_pos(line, sizeof(line), pos, v);
				snprintf(what, sizeof(what), "%s is %llu to %llu, not %s", f->key,
					 (unsigned long long)f->min, (unsigned long long)f->max, v);
			} else {
				field_edit(line, sizeof(line), f->key, v);
				snprintf(what, sizeof(what), "%s=%s is out of range", f->key, v);
			}
			snprintf(text, sizeof(text), HDR "%s\n", line);
			bad(text, 2, what);
		}
		if ((f->flags & S2T_FF_REQUIRED) && !(f->flags & S2T_FF_POS)) {
			field_line(&e, line, sizeof(line));
			field_edit(line, sizeof(line), f->key, NULL);
			snprintf(text, sizeof(text), HDR "%s\n", line);
			snprintf(what, sizeof(what), "needs %s=", f->key);
			bad(text, 2, what);
		}
	}
}

static void test_fields_describe_lines(void **state)
{
	(void)state;
	struct s2trace_event ev = { .kind = S2T_CONFIG };
	s2hyp_config_init(&ev.config.cfg);
	check_fields(ev);

	ev = (struct s2trace_event){ .kind = S2T_MEMSLOT };
	ev.memslot.slot = (struct s2hyp_memslot){ .ipa = 0x40000000, .size = 0x200000,
						  .hva = 0x7f0000000000ull };
	check_fields(ev);

	ev = (struct s2trace_event){ .kind = S2T_MMIO, .mmio = { .vcpu = 1, .ipa = 0x9000000 } };
	check_fields(ev);

	ev = (struct s2trace_event){ .kind = S2T_ENTRY, .entry.vcpu = 2 };
	check_fields(ev);

	for (unsigned a = 0; a <= S2HYP_ACC_EXEC + 1; a++) {
		ev = (struct s2trace_event){ .kind = S2T_VCPU };
		ev.vcpu.vcpu = 3;
		ev.vcpu.op = (struct s2hyp_vcpu_op){ .access = (enum s2hyp_access)(a % 3),
						     .ipa = 0x40000000, .size = 8, .mmu_on = true,
						     .value = 0x5a };
		if (a == S2HYP_ACC_EXEC)
			ev.vcpu.op.size = 4;
		if (a > S2HYP_ACC_EXEC) {	/* a fault: a data abort, a write */
			ev.vcpu.fault = true;
			ev.vcpu.esr = 0x92000046;
			ev.vcpu.pc = 0xffff800010001000ull;
			ev.vcpu.op = (struct s2hyp_vcpu_op){ .access = S2HYP_ACC_WRITE,
							     .ipa = 0x40000000, .size = 1,
							     .mmu_on = true, .observed = true };
		}
		check_fields(ev);
	}

	ev = (struct s2trace_event){ .kind = S2T_GUEST };
	ev.guest.image = "guests/boot.bin";
	ev.guest.load = 0x40000000;
	ev.guest.entry = 0x40001000;
	ev.guest.size = 0x6000;
	check_fields(ev);
	struct rd rd;
	struct s2trace_event g;
	rd_open(&rd, HDR "guest image=guests/boot.bin load=0x40000000 entry=0x40001000 size=24K\n");
	assert_int_equal(s2trace_next(rd.r, &g), 1);
	assert_string_equal(g.guest.image, "guests/boot.bin");
	rd_close(&rd);
	char longer[1200], text[1300];
	memset(longer, 'a', 1024);
	longer[1024] = '\0';
	snprintf(text, sizeof(text), HDR "guest image=%s load=0 entry=0 size=4K\n", longer);
	bad(text, 2, "image=...: longer than 1023 bytes");
	bad(HDR "guest image= load=0 entry=0 size=4K\n", 2, "image needs a value");

	for (unsigned k = 0; k <= S2T_EXP_REFCOUNT; k++) {
		ev = (struct s2trace_event){ .kind = S2T_EXPECT };
		ev.expect.kind = (enum s2trace_expect_kind)k;
		ev.expect.ipa = 0x40000000;
		ev.expect.level = -128;
		ev.expect.prot = ev.expect.fault_kind = ev.expect.vcpu = -1;
		ev.expect.max = 5;
		ev.expect.min = 1;
		check_fields(ev);
	}

	for (unsigned k = 0; k <= S2T_EFF_HINT; k++) {
		ev = (struct s2trace_event){ .kind = S2T_EFFECT };
		ev.effect.thread = 7;
		ev.effect.kind = (enum s2trace_effect_kind)k;
		ev.effect.pa = 0x41234008;
		ev.effect.value = 0x41235003;
		ev.effect.size = 0x2000;
		ev.effect.ipa = 0x40000000;
		ev.effect.level = S2PT_TLBI_NO_LEVEL;
		ev.effect.have_vmid = ev.effect.have_addr = true;
		ev.effect.vmid = 3;
		unsigned ops = k == S2T_EFF_TLBI ? S2ARM_NR_TLBI : k == S2T_EFF_IC ? S2ARM_NR_IC : 1;
		for (unsigned op = 0; op < ops; op++) {
			if (k == S2T_EFF_TLBI && (s2arm_tlbi_flags((enum s2arm_tlbi)op) & S2ARM_TLBI_RANGE))
				continue;
			ev.effect.op = k == S2T_EFF_IC ? s2cache_op_of_ic((enum s2arm_ic)op) : op;
			check_fields(ev);
		}
	}
	ev = (struct s2trace_event){ .kind = S2T_PHASE, .phase.n = 5 };
	check_fields(ev);

	for (unsigned k = 0; k <= S2HYP_HOST_MM; k++) {
		ev = (struct s2trace_event){ .kind = S2T_HOST };
		ev.host = (struct s2hyp_host_op){ .kind = (enum s2hyp_host_kind)k, .addr = 0x40000000,
						  .size = 0x1000, .fill = 0x5a };
		if (k != S2HYP_HOST_MM) {
			check_fields(ev);
			continue;
		}
		for (unsigned mm = 0; strcmp(s2trace_word(S2T_W_MM, mm), "?"); mm++) {
			unsigned args = s2hyp_mm_op_args((enum s2hyp_mm_op)mm);
			if (args & (S2HYP_MM_ARG_PROC | S2HYP_MM_ARG_REF) || mm == S2HYP_MM_EXIT)
				continue;
			ev.host.mm = (enum s2hyp_mm_op)mm;
			check_fields(ev);
		}
	}
}

/* Every effect kind, every operation name, and their keys. */
static void test_effects(void **state)
{
	(void)state;
	struct s2trace_event ev = one("effect 0 vtcr value=0x80023558");
	assert_int_equal(ev.kind, S2T_EFFECT);
	assert_int_equal(ev.effect.thread, 0);
	assert_int_equal(ev.effect.kind, S2T_EFF_VTCR);
	assert_int_equal(ev.effect.value, 0x80023558);
	assert_int_equal(ev.effect.level, -128);

	ev = one("effect 255 vttbr value=0x0001000041234000");
	assert_int_equal(ev.effect.thread, 255);
	assert_int_equal(ev.effect.kind, S2T_EFF_VTTBR);
	assert_int_equal(ev.effect.value, 0x0001000041234000ull);

	ev = one("effect 1 alloc pa=0x41235000");
	assert_int_equal(ev.effect.kind, S2T_EFF_ALLOC);
	assert_int_equal(ev.effect.pa, 0x41235000);
	ev = one("effect 1 free pa=0x41235000");
	assert_int_equal(ev.effect.kind, S2T_EFF_FREE);
	assert_int_equal(ev.effect.pa, 0x41235000);

	ev = one("effect 0 pte-write pa=0x41234008 value=0x41235003");
	assert_int_equal(ev.effect.kind, S2T_EFF_PTE_WRITE);
	assert_int_equal(ev.effect.pa, 0x41234008);
	assert_int_equal(ev.effect.value, 0x41235003);
	assert_false(ev.effect.release);
	ev = one("effect 0 pte-write release pa=0x41234008 value=0");
	assert_true(ev.effect.release);
	assert_int_equal(ev.effect.value, 0);
	ev = one("effect 2 pte-read pa=0x41234ff8 value=0x41235003");
	assert_int_equal(ev.effect.kind, S2T_EFF_PTE_READ);
	assert_int_equal(ev.effect.thread, 2);
	assert_int_equal(ev.effect.pa, 0x41234ff8);
	assert_int_equal(ev.effect.value, 0x41235003);

	static const struct {
		const char *name;
		enum s2pt_barrier b;
	} dsbs[] = {
		{ "ish", S2PT_DSB_ISH }, { "ishst", S2PT_DSB_ISHST }, { "nsh", S2PT_DSB_NSH },
		{ "nshst", S2PT_DSB_NSHST }, { "sy", S2PT_DSB_SY },
	};
	for (unsigned i = 0; i < 5; i++) {
		char line[64];
		snprintf(line, sizeof(line), "effect 0 dsb %s", dsbs[i].name);
		ev = one(line);
		assert_int_equal(ev.effect.kind, S2T_EFF_DSB);
		assert_int_equal(ev.effect.op, dsbs[i].b);
	}
	ev = one("effect 0 isb");
	assert_int_equal(ev.effect.kind, S2T_EFF_ISB);

	static const struct {
		const char *name;
		enum s2pt_tlbi op;
	} whole[] = {
		{ "vmalls12e1is", S2PT_TLBI_VMALLS12E1IS }, { "vmalle1is", S2PT_TLBI_VMALLE1IS },
		{ "vmalle1", S2PT_TLBI_VMALLE1 },
	};
	for (unsigned i = 0; i < 3; i++) {
		char line[64];
		snprintf(line, sizeof(line), "effect 0 tlbi %s", whole[i].name);
		ev = one(line);
		assert_int_equal(ev.effect.kind, S2T_EFF_TLBI);
		assert_int_equal(ev.effect.op, whole[i].op);
		assert_int_equal(ev.effect.vmid, 0);
		assert_int_equal(ev.effect.level, -128);
		snprintf(line, sizeof(line), "effect 0 tlbi %s vmid=65535", whole[i].name);
		ev = one(line);
		assert_int_equal(ev.effect.vmid, 65535);
	}
	static const struct {
		const char *name;
		enum s2pt_tlbi op;
	} by_ipa[] = { { "ipas2e1is", S2PT_TLBI_IPAS2E1IS }, { "ipas2e1", S2PT_TLBI_IPAS2E1 } };
	for (unsigned i = 0; i < 2; i++) {
		char line[96];
		snprintf(line, sizeof(line), "effect 3 tlbi %s ipa=0x40000000", by_ipa[i].name);
		ev = one(line);
		assert_int_equal(ev.effect.op, by_ipa[i].op);
		assert_int_equal(ev.effect.ipa, 0x40000000);
		assert_int_equal(ev.effect.level, -128);
		assert_int_equal(ev.effect.vmid, 0);
		for (int level = 0; level <= 3; level++) {
			snprintf(line, sizeof(line), "effect 3 tlbi %s ipa=0x40000000 level=%d vmid=1",
				 by_ipa[i].name, level);
			ev = one(line);
			assert_int_equal(ev.effect.level, level);
			assert_int_equal(ev.effect.vmid, 1);
		}
	}

	static const struct {
		const char *name;
		enum s2cache_op op;
	} dcs[] = {
		{ "civac", S2CACHE_DC_CIVAC }, { "cvac", S2CACHE_DC_CVAC },
		{ "ivac", S2CACHE_DC_IVAC }, { "cvau", S2CACHE_DC_CVAU },
	};
	for (unsigned i = 0; i < 4; i++) {
		char line[96];
		snprintf(line, sizeof(line), "effect 0 dc %s pa=0x80000000 size=2M", dcs[i].name);
		ev = one(line);
		assert_int_equal(ev.effect.kind, S2T_EFF_DC);
		assert_int_equal(ev.effect.op, dcs[i].op);
		assert_int_equal(ev.effect.pa, 0x80000000);
		assert_int_equal(ev.effect.size, 2 << 20);
	}
	ev = one("effect 0 ic ivau pa=0x80000000 size=4K");
	assert_int_equal(ev.effect.kind, S2T_EFF_IC);
	assert_int_equal(ev.effect.op, S2CACHE_IC_IVAU);
	assert_int_equal(ev.effect.size, 4096);
	/* The whole-cache invalidations need no range. */
	ev = one("effect 0 ic iallu");
	assert_int_equal(ev.effect.op, S2CACHE_IC_IALLU);
	assert_int_equal(ev.effect.size, 0);
	ev = one("effect 0 ic ialluis");
	assert_int_equal(ev.effect.op, S2CACHE_IC_IALLUIS);

	ev = one("effect 7 lock");
	assert_int_equal(ev.effect.kind, S2T_EFF_LOCK);
	assert_int_equal(ev.effect.thread, 7);
	ev = one("effect 7 unlock");
	assert_int_equal(ev.effect.kind, S2T_EFF_UNLOCK);
}

/* Every schedule choice form; several lines concatenate in the caller. */
static void test_schedule(void **state)
{
	(void)state;
	/* The choices live in the reader until its next call: keep it open. */
	struct rd rd;
	struct s2trace_event ev;
	rd_open(&rd, HDR "schedule v0 v0 hyp v1 hyp host dc-evict:3 tlb-evict:v1:0 prefetch:v0:2 v15\n");
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(ev.kind, S2T_SCHEDULE);
	assert_int_equal(ev.schedule.n, 10);
	const struct s2hyp_choice *c = ev.schedule.choices;
	static const struct s2hyp_choice want[] = {
		{ S2HYP_CH_VCPU, 0, 0 }, { S2HYP_CH_VCPU, 0, 0 }, { S2HYP_CH_HYP, 0, 0 },
		{ S2HYP_CH_VCPU, 1, 0 }, { S2HYP_CH_HYP, 0, 0 }, { S2HYP_CH_HOST, 0, 0 },
		{ S2HYP_CH_DC_EVICT, 0, 3 }, { S2HYP_CH_TLB_EVICT, 1, 0 },
		{ S2HYP_CH_PREFETCH, 0, 2 }, { S2HYP_CH_VCPU, 15, 0 },
	};
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(c[i].kind, want[i].kind);
		assert_int_equal(c[i].vcpu, want[i].vcpu);
		assert_int_equal(c[i].arg, want[i].arg);
	}
	rd_close(&rd);
	/* An empty schedule line is allowed and holds nothing. */
	ev = one("schedule");
	assert_int_equal(ev.schedule.n, 0);

	/* Schedule lines go after the config and memslots, before events. */
	rd_open(&rd, HDR "config vcpus=2\nmemslot 0 ipa=0 size=2M hva=0\nschedule hyp\nschedule v1 v0\n"
		     "vcpu 0 read ipa=0\n");
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(ev.schedule.n, 1);
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(ev.kind, S2T_SCHEDULE);
	assert_int_equal(ev.schedule.n, 2);
	assert_int_equal(ev.schedule.choices[0].vcpu, 1);
	assert_int_equal(s2trace_next(rd.r, &ev), 1);
	assert_int_equal(ev.kind, S2T_VCPU);
	assert_int_equal(s2trace_next(rd.r, &ev), 0);
	rd_close(&rd);
}

/* A schedule line as long as S2TRACE_MAX_SCHEDULE_LINE promises. */
static void test_schedule_long_line(void **state)
{
	(void)state;
	size_t n = S2TRACE_MAX_SCHEDULE_LINE, len = strlen(HDR "schedule") + 4 * n + 2;
	char *text = malloc(len);
	assert_non_null(text);
	char *p = text + sprintf(text, HDR "schedule");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, " v%zu", i % 10);
	strcpy(p, "\n");
	struct rd rd;
	struct s2trace_event ev;
	rd_open(&rd, text);
	int ret = s2trace_next(rd.r, &ev);
	if (ret != 1)
		fail_msg("%d: %s", ret, s2trace_error(rd.r));
	assert_int_equal(ev.schedule.n, n);
	assert_int_equal(ev.schedule.choices[n - 1].vcpu, (n - 1) % 10);
	rd_close(&rd);
	free(text);
}

/* Every expect kind with and without its optional keys. */
static void test_expect(void **state)
{
	(void)state;
	struct s2trace_event ev = one("expect mapped ipa=0x40000000");
	assert_int_equal(ev.kind, S2T_EXPECT);
	assert_int_equal(ev.expect.kind, S2T_EXP_MAPPED);
	assert_int_equal(ev.expect.ipa, 0x40000000);
	assert_int_equal(ev.expect.level, -128);
	assert_int_equal(ev.expect.prot, -1);
	ev = one("expect mapped ipa=0x40000000 level=2 prot=rw");
	assert_int_equal(ev.expect.level, 2);
	assert_int_equal(ev.expect.prot, S2PT_PROT_R | S2PT_PROT_W);
	ev = one("expect mapped prot=x ipa=0 level=0");
	assert_int_equal(ev.expect.prot, S2PT_PROT_X);
	assert_int_equal(ev.expect.level, 0);
	ev = one("expect mapped ipa=0 prot=xwr");
	assert_int_equal(ev.expect.prot, S2PT_PROT_RWX);

	ev = one("expect unmapped ipa=0x40200000");
	assert_int_equal(ev.expect.kind, S2T_EXP_UNMAPPED);
	assert_int_equal(ev.expect.ipa, 0x40200000);

	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		char line[96];
		snprintf(line, sizeof(line), "expect fired rule=%s", s2hyp_rule_name((enum s2hyp_rule)r));
		ev = one(line);
		assert_int_equal(ev.expect.kind, S2T_EXP_FIRED);
		assert_int_equal(ev.expect.rule, r);
	}

	ev = one("expect clean");
	assert_int_equal(ev.expect.kind, S2T_EXP_CLEAN);

	ev = one("expect faults max=10");
	assert_int_equal(ev.expect.kind, S2T_EXP_FAULTS);
	assert_int_equal(ev.expect.max, 10);
	assert_int_equal(ev.expect.min, 0);
	assert_int_equal(ev.expect.fault_kind, -1);
	assert_int_equal(ev.expect.vcpu, -1);
	/* Without max there is no upper bound. */
	ev = one("expect faults min=1");
	assert_int_equal(ev.expect.min, 1);
	assert_int_equal(ev.expect.max, UINT64_MAX);
	ev = one("expect faults max=3 min=3");
	assert_int_equal(ev.expect.min, 3);
	assert_int_equal(ev.expect.max, 3);
	static const char *const kinds[] = { "translation", "permission", "access-flag" };
	for (int k = 0; k < 3; k++) {
		char line[96];
		snprintf(line, sizeof(line), "expect faults max=0 kind=%s vcpu=1", kinds[k]);
		ev = one(line);
		assert_int_equal(ev.expect.fault_kind, k);
		assert_int_equal(ev.expect.vcpu, 1);
		assert_int_equal(ev.expect.max, 0);
	}

	ev = one("expect refcount ipa=0x40000000 value=2");
	assert_int_equal(ev.expect.kind, S2T_EXP_REFCOUNT);
	assert_int_equal(ev.expect.ipa, 0x40000000);
	assert_int_equal(ev.expect.value, 2);
}

/* An expect faults event built through the API with no bound either way
 * (max all ones, min 0) is written so that the reader takes it back, and
 * reads back the same; max all ones written out is read as no bound. */
static void test_expect_faults_unbounded_round_trip(void **state)
{
	(void)state;
	struct s2trace_event ev, back;
	char line[128], again[128];

	memset(&ev, 0, sizeof(ev));
	ev.kind = S2T_EXPECT;
	ev.expect.kind = S2T_EXP_FAULTS;
	ev.expect.level = -128;
	ev.expect.prot = -1;
	ev.expect.rule = -1;
	ev.expect.fault_kind = -1;
	ev.expect.vcpu = -1;
	ev.expect.max = UINT64_MAX;
	for (int vcpu = -1; vcpu <= 1; vcpu += 2) {
		ev.expect.vcpu = vcpu;
		field_line(&ev, line, sizeof(line));
		back = one(line);
		assert_int_equal(back.expect.kind, S2T_EXP_FAULTS);
		assert_true(back.expect.max == UINT64_MAX);
		assert_int_equal(back.expect.min, 0);
		assert_int_equal(back.expect.vcpu, vcpu);
		field_line(&back, again, sizeof(again));
		assert_string_equal(again, line);
	}
	back = one("expect faults max=18446744073709551615");
	assert_true(back.expect.max == UINT64_MAX);
	assert_int_equal(back.expect.min, 0);
}

/* Numbers: decimal, 0x hexadecimal, K/M/G suffixes (powers of 1024), and
 * a leading zero that is still decimal. */
static void test_numbers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t v;
	} nums[] = {
		{ "0", 0 }, { "42", 42 }, { "0x2a", 42 }, { "0X2A", 42 }, { "0x0", 0 },
		{ "1K", 1024 }, { "1k", 1024 }, { "1m", 1 << 20 }, { "1g", 1ull << 30 }, { "16K", 16384 }, { "2M", 2 << 20 },
		{ "1G", 1ull << 30 }, { "0x10K", 16 << 10 }, { "0x2M", 2 << 20 },
		{ "18446744073709551615", UINT64_MAX }, { "0xffffffffffffffff", UINT64_MAX },
		{ "17179869183G", 17179869183ull << 30 }, { "010", 10 }, { "0009", 9 },
	};
	for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		char line[96];
		snprintf(line, sizeof(line), "host unmap-ipa ipa=0 size=%s", nums[i].text);
		if (nums[i].v == 0)
			snprintf(line, sizeof(line), "host unmap-ipa ipa=%s size=1", nums[i].text);
		struct s2trace_event ev = one(line);
		uint64_t got = nums[i].v == 0 ? ev.host.addr : ev.host.size;
		if (got != nums[i].v)
			fail_msg("%s read as %#llx, not %#llx", nums[i].text, (unsigned long long)got,
				 (unsigned long long)nums[i].v);
	}
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

struct bad_case {
	const char *text;
	unsigned line;
	const char *what;
};

static void run_bad(const struct bad_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bad(c[i].text, c[i].line, c[i].what);
}

#define RUN_BAD(c) run_bad(c, sizeof(c) / sizeof(c[0]))

/* The header: missing, malformed, another version, twice. */
static void test_errors_header(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ "", 1, "empty trace" },
		{ "\n\n# only comments\n", 3, "empty trace" },
		{ "config\n", 1, "the first line must be 's2emu-trace 1'" },
		{ "s2emu-trace\n", 1, "the first line must be" },
		{ "s2emu-trace 1 2\n", 1, "the first line must be" },
		{ "s2emu-trace v=1\n", 1, "the first line must be" },
		{ "s2emu-trace one\n", 1, "not a number" },
		{ "s2emu-trace 2\n", 1, "version 2 is not supported" },
		{ "# c\ns2emu-trace 0\n", 2, "version 0 is not supported" },
		{ HDR "config\ns2emu-trace 1\n", 3, "a second 's2emu-trace' header" },
	};
	RUN_BAD(c);
}

/* Line structure: unknown keywords, keys and words, long lines, NUL
 * bytes, too many words. */
static void test_errors_structure(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ HDR "bogus a=1\n", 2, "unknown event 'bogus'" },
		{ HDR "\n\nHOST destroy\n", 4, "unknown event 'HOST'" },
		{ HDR "host destroy now=1\n", 2, "unknown key 'now' for host" },
		{ HDR "host destroy now\n", 2, "unknown word 'now' for host" },
		{ HDR "config vcpus=2 fast\n", 2, "unknown word 'fast'" },
		{ HDR "config speed=2\n", 2, "unknown key 'speed'" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0 huge\n", 2, "unknown word 'huge'" },
		{ HDR "vcpu 0 read ipa=0 value=1\n", 2, "unknown key 'value'" },
		{ HDR "mmio vcpu=0 ipa=0 read\n", 2, "unknown word 'read'" },
		{ HDR "effect 0 isb ish\n", 2, "unknown word 'ish'" },
		{ HDR "effect 0 tlbi vmalls12e1is ipa=0\n", 2, "unknown key 'ipa'" },
		{ HDR "effect 0 pte-read pa=0 value=0 release\n", 2, "unknown word 'release'" },
		{ HDR "expect clean now\n", 2, "unknown word 'now'" },
		{ HDR "expect unmapped ipa=0 level=1\n", 2, "unknown key 'level'" },
		{ HDR "phase 1 2\n", 2, "unknown word '2' for phase" },
		{ HDR "phase n=1\n", 2, "unknown key 'n' for phase" },
	};
	RUN_BAD(c);

	/* A line longer than the reader's limit. */
	size_t big = 70000;
	char *text = malloc(big + 64);
	assert_non_null(text);
	strcpy(text, HDR "# fine\n");
	size_t at = strlen(text);
	memset(text + at, 'a', big);
	strcpy(text + at + big, "\n");
	bad(text, 3, "line longer than");
	/* The same length as a comment is still too long. */
	memcpy(text + at, "#", 1);
	bad(text, 3, "line longer than");
	/* 65535 bytes are a line (docs/trace-format.md), 65536 are not, with
	 * or without its newline. */
	unsigned nev;
	char err[700];
	strcpy(text + at + 65535, "\n");
	assert_int_equal(read_all(text, &nev, err, sizeof(err)), 0);
	strcpy(text + at + 65535, "a\n");
	bad(text, 3, "line longer than");
	text[at + 65536] = '\0';
	bad(text, 3, "line longer than");
	free(text);

	/* A NUL byte inside a line, on the header and later. */
	static const char nul1[] = "s2emu-\0trace 1\n";
	static const char nul2[] = HDR "host\0 destroy\n";
	const struct {
		const char *buf;
		size_t len;
		unsigned line;
	} nuls[] = { { nul1, sizeof(nul1) - 1, 1 }, { nul2, sizeof(nul2) - 1, 2 } };
	for (unsigned i = 0; i < 2; i++) {
		FILE *f = fmemopen((void *)nuls[i].buf, nuls[i].len, "r");
		assert_non_null(f);
		struct s2trace_reader *r = s2trace_reader_new(f, NAME);
		struct s2trace_event ev;
		int ret;
		while ((ret = s2trace_next(r, &ev)) == 1)
			;
		assert_int_equal(ret, S2_EPARSE);
		char want[64];
		snprintf(want, sizeof(want), NAME ":%u: NUL byte", nuls[i].line);
		assert_true(!strncmp(s2trace_error(r), want, strlen(want)));
		s2trace_close(r);
		fclose(f);
	}

	/* More words than the longest schedule line can hold. */
	size_t words = S2TRACE_MAX_SCHEDULE_LINE + 2;
	text = malloc(words * 3 + 64);
	assert_non_null(text);
	char *p = text + sprintf(text, HDR "schedule");
	for (size_t i = 0; i < words - 1; i++)
		p += sprintf(p, " v0");
	strcpy(p, "\n");
	bad(text, 2, "words on a line");
	free(text);
}

/* Numbers: missing, malformed, bad suffixes, overflow, out of range. */
static void test_errors_numbers(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ HDR "host unmap-ipa ipa= size=1\n", 2, "ipa needs a number" },
		{ HDR "host unmap-ipa ipa size=1\n", 2, "ipa needs a number" },
		{ HDR "host unmap-ipa ipa=-1 size=1\n", 2, "ipa needs a number" },
		{ HDR "host unmap-ipa ipa=+1 size=1\n", 2, "ipa needs a number" },
		{ HDR "host unmap-ipa ipa=0x size=1\n", 2, "not a number" },
		{ HDR "host unmap-ipa ipa=0xg size=1\n", 2, "not a number" },
		{ HDR "host unmap-ipa ipa=12ab size=1\n", 2, "not a number" },
		{ HDR "host unmap-ipa ipa=0 size=1T\n", 2, "size=1T: not a number" },
		{ HDR "host unmap-ipa ipa=0 size=1KB\n", 2, "not a number" },
		{ HDR "host unmap-ipa ipa=0 size=1t\n", 2, "size=1t: not a number" },
		{ HDR "host unmap-ipa ipa=0 size=K\n", 2, "size=K: not a number" },
		{ HDR "host unmap-ipa ipa=M size=1\n", 2, "ipa=M: not a number" },
		{ HDR "host unmap-ipa ipa=0x0x5 size=1\n", 2, "ipa=0x0x5: not a number" },
		{ HDR "host unmap-ipa ipa=08x size=1\n", 2, "not a number" },
		{ HDR "host unmap-ipa ipa=0 size=1.5M\n", 2, "not a number" },
		{ HDR "host unmap-ipa ipa=0 size= 1\n", 2, "size needs a number" },
		{ HDR "host unmap-ipa ipa=18446744073709551616 size=1\n", 2, "number too large" },
		{ HDR "host unmap-ipa ipa=0x10000000000000000 size=1\n", 2, "number too large" },
		{ HDR "host unmap-ipa ipa=0 size=17179869184G\n", 2, "number too large" },
		{ HDR "host unmap-ipa ipa=0 size=0xffffffffffffffffK\n", 2, "number too large" },
		{ HDR "host unmap-ipa ipa=0 size=0\n", 2, "size=0 is out of range" },
		{ HDR "host write hva=0 size=2 fill=256\n", 2, "fill=256 is out of range (0 to 255)" },
		{ HDR "host write hva=0 size=0x10000000001\n", 2, "out of range" },
		{ HDR "host dirty-log-on slot=32\n", 2, "slot=32 is out of range" },
		{ HDR "config ipa-bits=31\n", 2, "ipa-bits=31 is out of range (32 to 52)" },
		{ HDR "config ipa-bits=53\n", 2, "out of range" },
		{ HDR "config vcpus=0\n", 2, "vcpus=0 is out of range" },
		{ HDR "config vcpus=17\n", 2, "out of range" },
		{ HDR "config line=8\n", 2, "out of range" },
		{ HDR "config line=4096\n", 2, "out of range" },
		{ HDR "config line=48\n", 2, "line=48 is not a power of two" },
		{ HDR "config fwb=2\n", 2, "fwb must be 0 or 1" },
		{ HDR "config idc\n", 2, "idc must be 0 or 1" },
		{ HDR "config dic=true\n", 2, "dic must be 0 or 1" },
		{ HDR "config eager-split=\n", 2, "eager-split must be 0 or 1" },
		{ HDR "config granule=8k\n", 2, "granule must be 4k, 16k or 64k, not '8k'" },
		{ HDR "config granule\n", 2, "granule needs a value" },
		{ HDR "vcpu 16 read ipa=0\n", 2, "vcpu: a vCPU number is 0 to 15, not 16" },
		{ HDR "vcpu x read ipa=0\n", 2, "vcpu: 'x' is not a vCPU number" },
		{ HDR "vcpu 0 read ipa=0 size=9\n", 2, "size=9 is out of range (1 to 8)" },
		{ HDR "vcpu 0 read ipa=0 size=0\n", 2, "out of range" },
		{ HDR "mmio vcpu=16 ipa=0\n", 2, "vcpu=16 is out of range" },
		{ HDR "effect 256 isb\n", 2, "effect: a thread number is 0 to 255, not 256" },
		{ HDR "effect 0 tlbi ipas2e1is ipa=0 level=4\n", 2, "level=4 is out of range (0 to 3)" },
		{ HDR "effect 0 tlbi ipas2e1is ipa=0 level\n", 2, "level needs a number" },
		{ HDR "effect 0 tlbi vmalle1 vmid=65536\n", 2, "vmid=65536 is out of range" },
		{ HDR "effect 0 dc civac pa=0 size=0\n", 2, "size=0 is out of range" },
		{ HDR "effect 0 ic ivau pa=0 size=0x10000000001\n", 2, "out of range" },
		{ HDR "expect mapped ipa=0 level=4\n", 2, "level=4 is out of range" },
		{ HDR "expect faults max=1 vcpu=16\n", 2, "vcpu=16 is out of range" },
		{ HDR "expect refcount ipa=0 value=1048577\n", 2, "value=1048577 is out of range" },
		{ HDR "memslot x ipa=0 size=1 hva=0\n", 2, "memslot: 'x' is not a slot number" },
		{ HDR "memslot 0 ipa=0 size=0 hva=0\n", 2, "size=0 is out of range" },
		{ HDR "phase x\n", 2, "phase: 'x' is not a phase number" },
	};
	RUN_BAD(c);
}

/* Missing required keys and malformed values of named fields. */
static void test_errors_missing_and_values(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ HDR "memslot 0 size=4K hva=0\n", 2, "memslot needs ipa=" },
		{ HDR "memslot 0 ipa=0 hva=0\n", 2, "memslot needs size=" },
		{ HDR "memslot 0 ipa=0 size=4K\n", 2, "memslot needs hva=" },
		{ HDR "memslot ipa=0 size=4K hva=0\n", 2, "memslot needs a slot number" },
		{ HDR "memslot\n", 2, "memslot needs a slot number" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0 backing=2m\n", 2, "backing must be" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0 backing\n", 2, "backing must be" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0 readonly=1\n", 2, "readonly takes no value" },
		{ HDR "host\n", 2, "host needs an operation" },
		{ HDR "host op=write\n", 2, "host needs an operation" },
		{ HDR "host read hva=0\n", 2, "host: 'read' is not an operation (write, " },
		{ HDR "host write size=1\n", 2, "host write needs hva=" },
		{ HDR "host write hva=0\n", 2, "host write needs size=" },
		{ HDR "host dirty-log-on\n", 2, "host dirty-log-on needs slot=" },
		{ HDR "host unmap-hva hva=0\n", 2, "host unmap-hva needs size=" },
		{ HDR "host age-hva size=1\n", 2, "host age-hva needs hva=" },
		{ HDR "host unmap-hva hva=0 size=4K flush\n", 2, "unknown word 'flush' for host" },
		{ HDR "host age-ipa ipa=0 size=4K flush=1\n", 2, "flush takes no value" },
		{ HDR "host unmap-ipa hva=0 size=1\n", 2, "host unmap-ipa needs ipa=" },
		{ HDR "host wrprotect-ipa ipa=0\n", 2, "host wrprotect-ipa needs size=" },
		{ HDR "host flush-ipa size=1\n", 2, "host flush-ipa needs ipa=" },
		{ HDR "vcpu 0\n", 2, "vcpu needs an access: read, write, exec or fault" },
		{ HDR "vcpu 0 access=read ipa=0\n", 2, "vcpu needs an access" },
		{ HDR "vcpu 0 load ipa=0\n", 2, "vcpu: 'load' is not an access (read, write, exec or fault)" },
		{ HDR "vcpu 0 read\n", 2, "vcpu read needs ipa=" },
		{ HDR "vcpu 0 write ipa=0\n", 2, "vcpu write needs value=" },
		{ HDR "vcpu 0 fault ipa=0\n", 2, "vcpu fault needs esr=" },
		{ HDR "vcpu 0 read ipa=0 mmu=maybe\n", 2, "mmu must be on or off" },
		{ HDR "vcpu 0 read ipa=0 mmu\n", 2, "mmu must be on or off" },
		{ HDR "mmio ipa=0\n", 2, "mmio needs vcpu=" },
		{ HDR "entry\n", 2, "entry needs vcpu=" },
		{ HDR "entry vcpu=16\n", 2, "vcpu=16 is out of range" },
		{ HDR "mmio vcpu=0\n", 2, "mmio needs ipa=" },
		{ HDR "mmio vcpu=0 ipa=0 write=1\n", 2, "write takes no value" },
		{ HDR "effect 0\n", 2, "effect needs an operation: vtcr, vttbr, alloc" },
		{ HDR "effect t=0 isb\n", 2, "effect needs a thread number" },
		{ HDR "effect x isb\n", 2, "effect: 'x' is not a thread number" },
		{ HDR "effect 0 barrier\n", 2, "effect: 'barrier' is not an operation (vtcr, " },
		{ HDR "effect 0 vtcr\n", 2, "vtcr needs value=" },
		{ HDR "effect 0 vttbr pa=0\n", 2, "vttbr needs value=" },
		{ HDR "effect 0 alloc\n", 2, "alloc needs pa=" },
		{ HDR "effect 0 free value=0\n", 2, "free needs pa=" },
		{ HDR "effect 0 pte-write value=0\n", 2, "pte-write needs pa=" },
		{ HDR "effect 0 pte-write pa=0\n", 2, "pte-write needs value=" },
		{ HDR "effect 0 pte-read pa=8\n", 2, "pte-read needs value=" },
		{ HDR "effect 0 pte-write pa=0 value=0 release=1\n", 2, "release takes no value" },
		{ HDR "effect 0 dsb\n", 2, "dsb needs a domain: ishst, ish, nshst, nsh or sy" },
		{ HDR "effect 0 dsb osh\n", 2, "dsb: 'osh' is not a domain (ishst, " },
		{ HDR "effect 0 dsb kind=ish\n", 2, "dsb needs a domain" },
		{ HDR "effect 0 tlbi\n", 2, "tlbi needs an operation" },
		{ HDR "effect 0 tlbi alle3is\n", 2, "tlbi: 'alle3is' is not an operation (vmalls12e1is, " },
		{ HDR "effect 0 tlbi ipas2e1is\n", 2, "tlbi ipas2e1is needs ipa=" },
		{ HDR "effect 0 tlbi ipas2e1 level=1\n", 2, "tlbi ipas2e1 needs ipa=" },
		{ HDR "effect 0 tlbi vae2is ipa=0\n", 2, "tlbi vae2is needs va=" },
		{ HDR "effect 0 tlbi vmalle1 level=1\n", 2, "unknown key 'level'" },
		{ HDR "effect 0 dc\n", 2, "dc needs an operation" },
		{ HDR "effect 0 dc zva pa=0 size=64\n", 2, "dc: 'zva' is not an operation (civac, cvac, ivac or cvau)" },
		{ HDR "effect 0 dc civac size=64\n", 2, "dc civac needs pa=" },
		{ HDR "effect 0 dc cvac pa=0\n", 2, "dc cvac needs size=" },
		{ HDR "effect 0 ic\n", 2, "ic needs an operation" },
		{ HDR "effect 0 ic civac pa=0 size=4\n", 2, "ic: 'civac' is not an operation (ivau, iallu or ialluis)" },
		{ HDR "effect 0 ic ivau size=4K\n", 2, "ic ivau needs pa=" },
		{ HDR "effect 0 ic ivau pa=0\n", 2, "ic ivau needs size=" },
		{ HDR "effect 0 sysreg value=1\n", 2, "sysreg needs name=" },
		{ HDR "effect 0 sysreg name=x value=1\n", 2, "name must be vtcr_el2, " },
		{ HDR "effect 0 hint kind=set-root-lock pa=0\n", 2, "hint kind=set-root-lock needs value=" },
		{ HDR "effect 0 lock addr=0xffffffffffffffff\n", 2, "addr=0xffffffffffffffff is out of range" },
		{ HDR "expect\n", 2, "expect needs an expectation: mapped, unmapped" },
		{ HDR "expect leaked\n", 2, "expect: 'leaked' is not an expectation (mapped, " },
		{ HDR "expect kind=clean\n", 2, "expect needs an expectation" },
		{ HDR "expect mapped\n", 2, "expect mapped needs ipa=" },
		{ HDR "expect mapped ipa=0 prot=rwz\n", 2, "prot is made of r, w and x, not 'rwz'" },
		{ HDR "expect mapped ipa=0 prot=\n", 2, "prot needs a value" },
		{ HDR "expect mapped ipa=0 prot\n", 2, "prot needs a value" },
		{ HDR "expect unmapped\n", 2, "expect unmapped needs ipa=" },
		{ HDR "expect fired\n", 2, "expect fired needs rule=NAME" },
		{ HDR "expect fired rule\n", 2, "expect fired needs rule=NAME" },
		{ HDR "expect faults\n", 2, "expect faults needs max= or min=" },
		{ HDR "expect faults kind=permission\n", 2, "expect faults needs max= or min=" },
		{ HDR "expect faults min=3 max=2\n", 2, "expect faults: min is above max" },
		{ HDR "expect faults max=1 kind=stage2\n", 2, "kind must be translation, permission or access-flag" },
		{ HDR "expect faults max=1 kind\n", 2, "kind must be" },
		{ HDR "expect refcount value=1\n", 2, "expect refcount needs ipa=" },
		{ HDR "expect refcount ipa=0\n", 2, "expect refcount needs value=" },
	};
	RUN_BAD(c);
}

/* The order of lines: config, memslots and schedules before events; config
 * once and before the memslots; memslots numbered in order; phases never
 * decrease. */
static void test_errors_order(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ HDR "host destroy\nconfig\n", 3, "config must come once, before the first event" },
		{ HDR "phase 0\nconfig\n", 3, "config must come once" },
		{ HDR "expect clean\nconfig\n", 3, "config must come once" },
		{ HDR "config\nconfig\n", 3, "config must come once" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0\nconfig\n", 3, "config must come before the memslots" },
		{ HDR "vcpu 0 read ipa=0\nmemslot 0 ipa=0 size=4K hva=0\n", 3,
		  "memslots must come before the first event" },
		{ HDR "memslot 1 ipa=0 size=4K hva=0\n", 2,
		  "memslot 1: slots are numbered 0, 1, ... in order (expected 0)" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0\nmemslot 0 ipa=4K size=4K hva=4K\n", 3,
		  "(expected 1)" },
		{ HDR "memslot 0 ipa=0 size=4K hva=0\nmemslot 2 ipa=4K size=4K hva=4K\n", 3,
		  "memslot 2: slots are numbered" },
		{ HDR "mmio vcpu=0 ipa=0\nschedule hyp\n", 3, "schedule lines must come before the first event" },
		{ HDR "effect 0 isb\nschedule hyp\n", 3, "schedule lines must come before" },
		{ HDR "phase 3\nphase 2\n", 3, "phase 2 after phase 3: phases never decrease" },
		{ HDR "phase 3\nhost destroy\nphase 0x1\n", 4, "phases never decrease" },
	};
	RUN_BAD(c);

	/* Thirty-two slots are fine; a thirty-third is not. */
	char *text = malloc(64 * 40);
	assert_non_null(text);
	char *p = text + sprintf(text, HDR);
	for (unsigned i = 0; i <= S2HYP_MAX_SLOTS; i++)
		p += sprintf(p, "memslot %u ipa=%uM size=1M hva=0\n", i, i);
	bad(text, S2HYP_MAX_SLOTS + 2, "more than 32 memslots");
	free(text);
}

/* Accesses and ESRs that cannot be what the line says, unknown rules and
 * walkers, and schedule words that are not choices. */
static void test_errors_semantic(void **state)
{
	(void)state;
	static const struct bad_case c[] = {
		{ HDR "vcpu 0 read ipa=0x40000004 size=8\n", 2,
		  "ipa=0x40000004 is not aligned to the access size 8" },
		{ HDR "vcpu 0 read ipa=0x40000001\n", 2, "not aligned to the access size 8" },
		{ HDR "vcpu 0 write ipa=0x40000002 size=4 value=1\n", 2, "not aligned to the access size 4" },
		{ HDR "vcpu 0 read ipa=0x40000001 size=2\n", 2, "not aligned to the access size 2" },
		{ HDR "vcpu 0 exec ipa=0x40000002\n", 2, "not aligned to the access size 4" },
		{ HDR "vcpu 0 fault ipa=0x40000002 esr=0x82000007\n", 2, "not aligned to the access size 4" },
		{ HDR "vcpu 0 read ipa=0 size=3\n", 2, "size=3: an access is 1, 2, 4 or 8 bytes" },
		{ HDR "vcpu 0 write ipa=0 size=6 value=0\n", 2, "size=6: an access is 1, 2, 4 or 8 bytes" },
		{ HDR "vcpu 0 read ipa=0 size=7\n", 2, "an access is 1, 2, 4 or 8 bytes" },
		{ HDR "vcpu 0 exec ipa=0 size=8\n", 2, "size=8: an instruction fetch is 4 bytes" },
		{ HDR "vcpu 0 exec ipa=0 size=1\n", 2, "size=1: an instruction fetch is 4 bytes" },
		{ HDR "vcpu 1 write ipa=0 value=0x1ffff size=1\n", 2,
		  "value=0x1ffff does not fit in size=1" },
		{ HDR "vcpu 1 write ipa=0 value=0x100000000 size=4\n", 2, "does not fit in size=4" },
		{ HDR "phase 18446744073709551615\nphase\n", 3, "the phase number would wrap" },
		{ HDR "vcpu 0 fault ipa=0 esr=0x5a000000\n", 2,
		  "esr=0x5a000000 is not a data or instruction abort" },
		{ HDR "vcpu 0 fault ipa=0 esr=0\n", 2, "esr=0 is not a data or instruction abort" },
		{ HDR "vcpu 0 fault ipa=0 esr=0x8a000000\n", 2, "not a data or instruction abort" },
		{ HDR "effect 0 pte-write pa=0x41234004 value=0\n", 2,
		  "pa=0x41234004: a descriptor is 8-byte aligned" },
		{ HDR "effect 0 pte-read pa=0x41234001 value=0\n", 2, "a descriptor is 8-byte aligned" },
		{ HDR "expect fired rule=no-such-rule\n", 2, "unknown rule 'no-such-rule' (see 's2emu rules')" },
		{ HDR "expect fired rule=\n", 2, "unknown rule ''" },
		{ HDR "config walker=linux\n", 2, "unknown walker 'linux' (valid: " },
		{ HDR "config walker\n", 2, "unknown walker ''" },
		{ HDR "schedule v0 vcpu\n", 2, "'vcpu' is not a schedule choice" },
		{ HDR "schedule v16\n", 2, "'v16' is not a schedule choice" },
		{ HDR "schedule v0x\n", 2, "'v0x' is not a schedule choice" },
		{ HDR "schedule dc-evict:\n", 2, "is not a schedule choice" },
		{ HDR "schedule tlb-evict:v1\n", 2, "is not a schedule choice" },
		{ HDR "schedule prefetch:v0:1:2\n", 2, "is not a schedule choice" },
		{ HDR "schedule hyp n=1\n", 2, "schedule choice 'n=1' is not a choice" },
	};
	RUN_BAD(c);
}

/* Reading stops at the first error; the name and the line are the ones
 * the reader was given. */
static void test_error_names_the_stream(void **state)
{
	(void)state;
	const char *text = HDR "host destroy\n\n\nhost destroy now\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct s2trace_reader *r = s2trace_reader_new(f, "dir/other name.s2t");
	struct s2trace_event ev;
	assert_string_equal(s2trace_name(r), "dir/other name.s2t");
	assert_int_equal(s2trace_next(r, &ev), 1);
	assert_int_equal(s2trace_next(r, &ev), S2_EPARSE);
	assert_true(S2_EPARSE < 0);
	assert_string_equal(s2trace_error(r), "dir/other name.s2t:5: unknown word 'now' for host");
	s2trace_close(r);
	fclose(f);

	/* s2trace_open: a file that is not there, and one that is. */
	char err[300];
	struct s2trace_reader *r2 = NULL;
	assert_int_equal(s2trace_open("/nonexistent/x.s2t", &r2, err, sizeof(err)), S2_EIO);
	assert_null(r2);
	assert_true(!strncmp(err, "/nonexistent/x.s2t: cannot open", 31));
	char path[] = "/tmp/s2trace-readXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, HDR "host destroy\n", strlen(HDR "host destroy\n")),
			 (ssize_t)strlen(HDR "host destroy\n"));
	close(fd);
	assert_int_equal(s2trace_open(path, &r2, err, sizeof(err)), 0);
	assert_int_equal(s2trace_next(r2, &ev), 1);
	assert_int_equal(s2trace_next(r2, &ev), 0);
	s2trace_close(r2);
	s2trace_close(NULL);
	unlink(path);
}

/* The checkers' rules are found by name in the grammar's word tables (not
 * in the models): each of hyp-model's and host-mm's rules by its own name,
 * and nothing else. */
static void test_rule_words(void **state)
{
	(void)state;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++) {
		const char *name = s2hyp_rule_name((enum s2hyp_rule)r);
		assert_int_equal(s2trace_word_parse(S2T_W_RULE, name), (int)r);
		assert_string_equal(s2trace_word(S2T_W_RULE, r), name);
	}
	for (unsigned r = 0; r < S2HOST_NR_RULES; r++)
		assert_int_equal(s2trace_word_parse(S2T_W_HOST_RULE, s2host_rule_name(r)), (int)r);
	assert_int_equal(s2trace_word_parse(S2T_W_RULE, "no-such-rule"), -1);
	assert_int_equal(s2trace_word_parse(S2T_W_RULE, "pin-stable"), -1);	/* a host rule */
	assert_int_equal(s2trace_word_parse(S2T_W_HOST_RULE, "leak"), -1);
	assert_int_equal(s2trace_word_parse(S2T_W_RULE, ""), -1);
}

/* ------------------------------------------------------------------ */
/* ESR decoding                                                        */
/* ------------------------------------------------------------------ */

/* Data and instruction aborts from a lower EL or the same EL; WnR makes a
 * data abort a write; an abort on a stage-1 walk is the walker's read, or
 * its descriptor update (a write) when it is a permission fault, as KVM
 * takes it; every other exception class is refused. */
static void test_esr_access(void **state)
{
	(void)state;
	static const struct {
		uint64_t esr;
		int ret;
		enum s2hyp_access a;
	} cases[] = {
		{ 0x82000007, 0, S2HYP_ACC_EXEC },	/* IABT lower EL */
		{ 0x86000007, 0, S2HYP_ACC_EXEC },	/* IABT same EL */
		{ 0x82000047, 0, S2HYP_ACC_EXEC },	/* IABT: WnR means nothing */
		{ 0x92000007, 0, S2HYP_ACC_READ },	/* DABT lower EL, read */
		{ 0x92000047, 0, S2HYP_ACC_WRITE },	/* DABT lower EL, WnR */
		{ 0x96000047, 0, S2HYP_ACC_WRITE },	/* DABT same EL, WnR */
		{ 0x96000007, 0, S2HYP_ACC_READ },
		{ 0x92000087, 0, S2HYP_ACC_READ },	/* S1PTW, translation */
		{ 0x920000c7, 0, S2HYP_ACC_READ },	/* S1PTW with WnR, translation */
		{ 0x9200008b, 0, S2HYP_ACC_READ },	/* S1PTW, access flag */
		{ 0x9200008f, 0, S2HYP_ACC_WRITE },	/* S1PTW, permission: a descriptor update */
		{ 0x82000087, 0, S2HYP_ACC_READ },	/* IABT on the fetch's stage-1 walk */
		{ 0x8200008f, 0, S2HYP_ACC_WRITE },	/* the same, permission */
		{ 0x820000ab, 0, S2HYP_ACC_READ },	/* S1PTW, translation level -1 */
		{ 0xffffffff92000047ull, 0, S2HYP_ACC_WRITE },	/* bits above 31 ignored */
		{ 0x00000000, S2_EINVAL, 0 },		/* unknown */
		{ 0x5a000000, S2_EINVAL, 0 },		/* HVC */
		{ 0x5e000000, S2_EINVAL, 0 },		/* SMC */
		{ 0x62000000, S2_EINVAL, 0 },		/* MSR/MRS trap */
		{ 0x8a000000, S2_EINVAL, 0 },		/* PC alignment */
		{ 0x9a000000, S2_EINVAL, 0 },		/* SP alignment */
		{ 0xbe000000, S2_EINVAL, 0 },		/* SError */
		{ 0xf2000000, S2_EINVAL, 0 },		/* BRK */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum s2hyp_access a = (enum s2hyp_access)77;
		int ret = s2trace_esr_access(cases[i].esr, &a);
		if (ret != cases[i].ret || (!ret && a != cases[i].a))
			fail_msg("esr %#llx: ret %d access %d", (unsigned long long)cases[i].esr, ret, a);
		if (ret)
			assert_int_equal(a, 77);
	}
}

/* ------------------------------------------------------------------ */
/* Round trip through the writer                                       */
/* ------------------------------------------------------------------ */

static char *write_to_memory(const struct s2hyp_scenario *sc, const struct s2hyp_choice *sched,
			     size_t n, const char *comment)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(s2trace_write_scenario(f, sc, sched, n, comment), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_vcpu_op_equal(const struct s2hyp_vcpu_op *got, const struct s2hyp_vcpu_op *want)
{
	assert_int_equal(got->access, want->access);
	assert_int_equal(got->ipa, want->ipa);
	assert_int_equal(got->size, want->access == S2HYP_ACC_EXEC ? 4 : want->size);
	if (want->access != S2HYP_ACC_EXEC)
		assert_int_equal(got->mmu_on, want->mmu_on);
	if (want->access == S2HYP_ACC_WRITE)
		assert_int_equal(got->value, want->value);
}

static void assert_host_op_equal(const struct s2hyp_host_op *got, const struct s2hyp_host_op *want)
{
	assert_int_equal(got->kind, want->kind);
	switch (want->kind) {
	case S2HYP_HOST_WRITE:
		assert_int_equal(got->fill, want->fill);
		/* fall through */
	case S2HYP_HOST_UNMAP_HVA:
	case S2HYP_HOST_AGE_HVA:
	case S2HYP_HOST_UNMAP_IPA:
	case S2HYP_HOST_WRPROTECT_IPA:
	case S2HYP_HOST_FLUSH_IPA:
	case S2HYP_HOST_AGE_IPA:
	case S2HYP_HOST_SPLIT_IPA:
		assert_int_equal(got->addr, want->addr);
		assert_int_equal(got->size, want->size);
		break;
	case S2HYP_HOST_DIRTY_LOG_ON:
	case S2HYP_HOST_DIRTY_LOG_OFF:
	case S2HYP_HOST_GET_DIRTY_LOG:
		assert_int_equal(got->slot, want->slot);
		break;
	case S2HYP_HOST_DESTROY:
	case S2HYP_HOST_RCU_CALLBACK:
	case S2HYP_HOST_INVALIDATE_BEGIN:
	case S2HYP_HOST_INVALIDATE_END:
		break;
	case S2HYP_HOST_MM:
		assert_int_equal(got->mm, want->mm);
		assert_int_equal(got->addr, want->addr);
		assert_int_equal(got->proc, want->proc);
		assert_int_equal(got->ref, want->ref);
		assert_int_equal(got->value, want->value);
		break;
	}
}

/* Read text back and check it is sc (and sched): the configuration, the
 * memslots, the schedule, and each program in its own order, every event
 * under a phase line that carries the phase the scenario gave it. */
static void check_reads_back(const char *text, const struct s2hyp_scenario *sc,
			     const struct s2hyp_choice *sched, size_t nsched)
{
	struct rd rd;
	struct s2trace_event ev;
	size_t hpc = 0, vpc[S2HYP_MAX_VCPUS] = { 0 }, nch = 0;
	unsigned slots = 0;
	bool config = false, have_phase = false;
	uint64_t phase = 0;
	int ret;

	rd_open(&rd, text);
	while ((ret = s2trace_next(rd.r, &ev)) == 1) {
		switch (ev.kind) {
		case S2T_CONFIG:
			assert_false(config);
			config = true;
			assert_int_equal(ev.config.cfg.granule_shift, sc->cfg.granule_shift);
			assert_int_equal(ev.config.cfg.ipa_bits, sc->cfg.ipa_bits);
			assert_int_equal(ev.config.cfg.nr_vcpus, sc->cfg.nr_vcpus);
			assert_int_equal(ev.config.cfg.variant, sc->cfg.variant);
			assert_int_equal(ev.config.cfg.fwb, sc->cfg.fwb);
			assert_int_equal(ev.config.cfg.idc, sc->cfg.idc);
			assert_int_equal(ev.config.cfg.dic, sc->cfg.dic);
			assert_int_equal(ev.config.cfg.eager_split, sc->cfg.eager_split);
			assert_int_equal(ev.config.cfg.rcu_free, sc->cfg.rcu_free);
			assert_int_equal(ev.config.cfg.range_tlbi, sc->cfg.range_tlbi);
			assert_int_equal(ev.config.cfg.hw_af, sc->cfg.hw_af);
			assert_int_equal(ev.config.cfg.tlb_entries, sc->cfg.tlb_entries);
			assert_int_equal(ev.config.cfg.line_bytes,
					 sc->cfg.line_bytes ? sc->cfg.line_bytes : 64);
			assert_int_equal(ev.config.cfg.host_mm, sc->cfg.host_mm);
			assert_int_equal(ev.config.cfg.uffd_no_markers, sc->cfg.uffd_no_markers);
			assert_int_equal(ev.config.cfg.uffd_no_wp_flush, sc->cfg.uffd_no_wp_flush);
			assert_int_equal(ev.config.cfg.uffd_no_fork_fix, sc->cfg.uffd_no_fork_fix);
			assert_int_equal(ev.config.cfg.host_no_retry_check, sc->cfg.host_no_retry_check);
			assert_int_equal(ev.config.cfg.host_map_writable_always,
					 sc->cfg.host_map_writable_always);
			assert_int_equal(ev.config.cfg.host_unmap_no_tlbi, sc->cfg.host_unmap_no_tlbi);
			break;
		case S2T_MEMSLOT: {
			assert_true(config);
			assert_int_equal(ev.memslot.id, slots);
			const struct s2hyp_memslot *s = &sc->slots[slots++];
			assert_int_equal(ev.memslot.slot.ipa, s->ipa);
			assert_int_equal(ev.memslot.slot.size, s->size);
			assert_int_equal(ev.memslot.slot.hva, s->hva);
			assert_int_equal(ev.memslot.slot.backing, s->backing);
			assert_int_equal(ev.memslot.slot.readonly, s->readonly);
			assert_int_equal(ev.memslot.slot.dirty_log, s->dirty_log);
			assert_int_equal(ev.memslot.slot.uffd_missing, s->uffd_missing);
			assert_int_equal(ev.memslot.slot.uffd_wp, s->uffd_wp);
			assert_int_equal(ev.memslot.slot.uffd_minor, s->uffd_minor);
			break;
		}
		case S2T_SCHEDULE:
			assert_true(nch + ev.schedule.n <= nsched);
			for (unsigned i = 0; i < ev.schedule.n; i++, nch++) {
				assert_int_equal(ev.schedule.choices[i].kind, sched[nch].kind);
				assert_int_equal(ev.schedule.choices[i].vcpu, sched[nch].vcpu);
				assert_int_equal(ev.schedule.choices[i].arg, sched[nch].arg);
			}
			break;
		case S2T_PHASE:
			assert_false(ev.phase.next);
			if (have_phase)
				assert_true(ev.phase.n > phase);
			have_phase = true;
			phase = ev.phase.n;
			break;
		case S2T_HOST:
			assert_true(have_phase);
			assert_true(hpc < sc->nhost);
			assert_int_equal(sc->host[hpc].phase, phase);
			assert_host_op_equal(&ev.host, &sc->host[hpc++]);
			break;
		case S2T_VCPU: {
			unsigned v = ev.vcpu.vcpu;
			assert_true(have_phase);
			assert_false(ev.vcpu.fault);
			assert_true(v < sc->cfg.nr_vcpus);
			assert_true(vpc[v] < sc->nvcpu[v]);
			assert_int_equal(sc->vcpu[v][vpc[v]].phase, phase);
			assert_vcpu_op_equal(&ev.vcpu.op, &sc->vcpu[v][vpc[v]++]);
			break;
		}
		default:
			fail_msg("line %u: an event the writer does not write (%d)", ev.line, ev.kind);
		}
	}
	if (ret)
		fail_msg("%s", s2trace_error(rd.r));
	assert_true(config);
	assert_int_equal(slots, sc->nr_slots);
	assert_int_equal(nch, nsched);
	assert_int_equal(hpc, sc->nhost);
	for (unsigned v = 0; v < S2HYP_MAX_VCPUS; v++)
		assert_int_equal(vpc[v], v < sc->cfg.nr_vcpus ? sc->nvcpu[v] : 0);
	rd_close(&rd);
}

/* Every built-in scenario, for 2 to 4 vCPUs and two walkers, written
 * without a schedule, reads back as the same programs. */
static void test_roundtrip_scenarios(void **state)
{
	(void)state;
	for (unsigned i = 0; s2hyp_scenario_name(i); i++)
		for (unsigned nv = 2; nv <= 4; nv++) {
			struct s2hyp_scenario sc;
			enum s2pt_variant v = nv == 3 ? S2PT_V_UPSTREAM_2021 : S2PT_V_UPSTREAM;
			assert_int_equal(s2hyp_scenario_build(&sc, i, nv, v), 0);
			assert_true(sc.nhost + sc.nvcpu[0] > 0);
			char *text = write_to_memory(&sc, NULL, 0, i ? NULL : "a comment first");
			assert_true(!strncmp(text, i ? "s2emu-trace 1\n" : "# a comment first\ns2emu-trace 1\n",
					     i ? 14 : 32));
			check_reads_back(text, &sc, NULL, 0);
			free(text);
			s2hyp_scenario_free(&sc);
		}
}

/* A scenario with hand-made phases and every host operation and access
 * option the writer knows, including a configuration far from the
 * defaults. */
static void test_roundtrip_every_field(void **state)
{
	(void)state;
	struct s2hyp_scenario sc;
	s2hyp_scenario_init(&sc);
	s2hyp_config_init(&sc.cfg);
	sc.cfg.granule_shift = 16;
	sc.cfg.ipa_bits = 48;
	sc.cfg.nr_vcpus = 3;
	sc.cfg.fwb = sc.cfg.idc = sc.cfg.dic = sc.cfg.eager_split = true;
	sc.cfg.rcu_free = sc.cfg.range_tlbi = sc.cfg.hw_af = true;
	sc.cfg.tlb_entries = 512;
	sc.cfg.line_bytes = 128;
	sc.cfg.variant = S2PT_V_INSTALL_FIRST;
	sc.cfg.uffd_no_markers = sc.cfg.uffd_no_fork_fix = true;
	sc.cfg.host_no_retry_check = sc.cfg.host_unmap_no_tlbi = true;
	sc.slots[0] = (struct s2hyp_memslot){ .ipa = 0x40000000, .size = 512 << 20,
					      .hva = 0x7f0000000000ull,
					      .backing = S2HYP_BACKING_HUGETLB_2M, .readonly = true };
	sc.slots[1] = (struct s2hyp_memslot){ .ipa = 0x80000000, .size = 1 << 30,
					      .hva = 0x7f4000000000ull,
					      .backing = S2HYP_BACKING_HUGETLB_1G, .dirty_log = true };
	/* userfaultfd registration: the words round-trip (a machine would
	 * want host memory for them) */
	sc.slots[2] = (struct s2hyp_memslot){ .ipa = 0xc0000000, .size = 64 << 10,
					      .hva = 0x7f8000000000ull, .backing = S2HYP_BACKING_MEMFD,
					      .uffd_missing = true, .uffd_wp = true, .uffd_minor = true };
	sc.nr_slots = 3;
	/* Every host operation the writer has a name for (a host-mm event's
	 * name is its op's: they have their own round trip). */
	for (unsigned k = 0; k <= S2HYP_HOST_SPLIT_IPA; k++) {
		if (!strcmp(s2trace_host_name((enum s2hyp_host_kind)k), "?"))
			continue;
		struct s2hyp_host_op op = { .kind = (enum s2hyp_host_kind)k, .phase = 2 * k,
					    .slot = k & 1, .addr = 0x40000000 + k * 0x10000,
					    .size = 0x10000 * (k + 1), .fill = (uint8_t)(0x11 * k) };
		assert_int_equal(s2hyp_scenario_add_host(&sc, &op), 0);
		struct s2hyp_vcpu_op vo = { .access = (enum s2hyp_access)(k % 3), .phase = 2 * k,
					    .ipa = 0x40000000 + k * 8, .size = 1u << (k % 4),
					    .mmu_on = k % 2, .value = 0x1000 + k };
		if (vo.access == S2HYP_ACC_EXEC)
			vo.ipa &= ~3ull;
		vo.ipa &= ~(uint64_t)(vo.size - 1);
		if (vo.size < 8)
			vo.value &= (1ull << (8 * vo.size)) - 1;
		assert_int_equal(s2hyp_scenario_add_vcpu(&sc, k % 3, &vo), 0);
		vo.phase = 2 * k + 1;
		assert_int_equal(s2hyp_scenario_add_vcpu(&sc, (k + 1) % 3, &vo), 0);
	}
	char *text = write_to_memory(&sc, NULL, 0, NULL);
	check_reads_back(text, &sc, NULL, 0);
	free(text);
	s2hyp_scenario_free(&sc);
}

struct run_out {
	enum s2hyp_outcome o;
	struct s2hyp_stats stats;
	struct s2hyp_choice *sched;
	size_t nsched;
};

/* Run a scenario (sequentially for seed 0), keeping the schedule. */
static void run_scenario(const struct s2hyp_scenario *sc, uint64_t seed, struct run_out *out)
{
	struct s2hyp *m;
	const char *why = NULL;
	struct s2hyp_rng rng;
	struct s2hyp_strategy st = s2hyp_strategy_random_template;

	assert_int_equal(s2hyp_scenario_instantiate(sc, &m, &why), 0);
	s2hyp_record_schedule(m, true);
	s2hyp_rng_seed(&rng, seed);
	st.arg = &rng;
	out->o = s2hyp_run(m, seed ? &st : &s2hyp_strategy_sequential);
	out->stats = *s2hyp_stats(m);
	const struct s2hyp_choice *s = s2hyp_schedule(m, &out->nsched);
	out->sched = malloc((out->nsched ? out->nsched : 1) * sizeof(*s));
	assert_non_null(out->sched);
	if (out->nsched)
		memcpy(out->sched, s, out->nsched * sizeof(*s));
	s2hyp_delete(m);
}

/* A random run's schedule, spread over several schedule lines, reads back
 * choice for choice. */
static void test_roundtrip_with_schedule(void **state)
{
	(void)state;
	for (unsigned i = 0; s2hyp_scenario_name(i); i++) {
		struct s2hyp_scenario sc;
		struct run_out out;
		assert_int_equal(s2hyp_scenario_build(&sc, i, 3, S2PT_V_UPSTREAM), 0);
		run_scenario(&sc, 7 + i, &out);
		assert_true(out.nsched > 24);
		char *text = write_to_memory(&sc, out.sched, out.nsched, "with a schedule");
		check_reads_back(text, &sc, out.sched, out.nsched);
		free(text);
		free(out.sched);
		s2hyp_scenario_free(&sc);
	}
}

static void assert_stats_equal(const char *what, const struct s2hyp_stats *got,
			       const struct s2hyp_stats *want, unsigned nv)
{
#define SAME(f)                                                                               \
	do {                                                                                  \
		if (got->f != want->f)                                                        \
			fail_msg("%s: " #f " %llu after replay, %llu in the run", what,       \
				 (unsigned long long)got->f, (unsigned long long)want->f);    \
	} while (0)
	SAME(steps);
	SAME(hyp_ops);
	SAME(host_ops);
	SAME(pte_stores);
	SAME(tlbis);
	SAME(dsbs);
	SAME(cmos);
	SAME(cmo_bytes);
	SAME(maps);
	SAME(map_eagain);
	SAME(relaxes);
	SAME(unmaps);
	SAME(coalesces);
	SAME(table_pages_allocated);
	SAME(table_pages_freed);
	SAME(dirty_pages);
	for (unsigned l = 0; l < S2_LEVEL_MAX + 2; l++)
		SAME(mappings_by_level[l]);
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		SAME(violations[r]);
	for (unsigned v = 0; v < nv; v++) {
		SAME(vcpu[v].accesses);
		SAME(vcpu[v].faults_translation);
		SAME(vcpu[v].faults_permission);
		SAME(vcpu[v].faults_access_flag);
		SAME(vcpu[v].faults_in_window);
		SAME(vcpu[v].walks);
		SAME(vcpu[v].walk_restarts);
		SAME(vcpu[v].tlb_fills);
		SAME(vcpu[v].mmio);
	}
#undef SAME
}

/* Write a run as s2emu run --record does (the scenario, its schedule if
 * random, and expect lines for the rules that fired) to a file, replay
 * it, and get exit status 0 and the same counts as the run. */
static void replay_matches(const char *name, enum s2pt_variant v, unsigned nv, uint64_t seed)
{
	struct s2hyp_scenario sc;
	struct run_out out;
	char path[] = "/tmp/s2trace-replayXXXXXX";
	char what[128];

	snprintf(what, sizeof(what), "%s/%s/%u vCPUs/seed %llu", name, s2pt_variant_name(v), nv,
		 (unsigned long long)seed);
	int b = s2_find_name_by(s2hyp_scenario_name, name);
	assert_true(b >= 0);
	assert_int_equal(s2hyp_scenario_build(&sc, (unsigned)b, nv, v), 0);
	run_scenario(&sc, seed, &out);
	assert_int_equal(out.o, S2HYP_DONE);

	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(s2trace_write_scenario(f, &sc, out.sched, seed ? out.nsched : 0, what), 0);
	unsigned fired = 0;
	for (unsigned r = 0; r < S2HYP_NR_RULES; r++)
		if (out.stats.violations[r]) {
			fprintf(f, "expect fired rule=%s\n", s2hyp_rule_name((enum s2hyp_rule)r));
			fired++;
		}
	if (!fired)
		fprintf(f, "expect clean\n");
	assert_int_equal(fclose(f), 0);

	struct s2trace_result res;
	int st = s2trace_replay(path, NULL, &res);
	if (st != 0)
		fail_msg("%s: replay gave %d: %s (%u expectations failed: %s)", what, st, res.error,
			 res.expects_failed, res.expects_failed ? res.failures[0].msg : "");
	assert_false(res.bad_input);
	assert_int_equal(res.outcome, S2HYP_DONE);
	assert_int_equal(res.expects, 1 + (fired ? fired - 1 : 0));
	assert_int_equal(res.expects_met, res.expects);
	assert_int_equal(res.unexpected_rules, 0);
	assert_int_equal(res.cfg.variant, v);
	assert_int_equal(res.cfg.nr_vcpus, nv);
	size_t nvcpu = 0;
	for (unsigned i = 0; i < nv; i++)
		nvcpu += sc.nvcpu[i];
	assert_int_equal(res.host_events, sc.nhost);
	assert_int_equal(res.vcpu_events, nvcpu);
	assert_stats_equal(what, &res.stats, &out.stats, nv);
	s2trace_result_free(&res);
	unlink(path);
	free(out.sched);
	s2hyp_scenario_free(&sc);
}

/* Every scenario, sequential and under random schedules, with a correct
 * walker and with buggy ones whose rules fire: replay reproduces the run. */
static void test_replay_reproduces_run(void **state)
{
	(void)state;
	for (unsigned i = 0; s2hyp_scenario_name(i); i++)
		for (uint64_t seed = 0; seed < 3; seed++)
			replay_matches(s2hyp_scenario_name(i), S2PT_V_UPSTREAM, 2 + (unsigned)seed, seed);
	static const enum s2pt_variant buggy[] = {
		S2PT_V_UPSTREAM_NOCMO, S2PT_V_ANCHOR_LEAK, S2PT_V_MERGE_TLBI_IPA, S2PT_V_NO_RELOAD,
	};
	for (unsigned i = 0; i < sizeof(buggy) / sizeof(buggy[0]); i++)
		for (uint64_t seed = 0; seed < 3; seed++)
			replay_matches("seed", buggy[i], 2, seed * 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_comments_blank),
		cmocka_unit_test(test_section),
		cmocka_unit_test(test_config_each_key),
		cmocka_unit_test(test_memslot_backings_flags),
		cmocka_unit_test(test_phase),
		cmocka_unit_test(test_host_ops),
		cmocka_unit_test(test_vcpu_ops),
		cmocka_unit_test(test_mmio),
		cmocka_unit_test(test_entry),
		cmocka_unit_test(test_fields_describe_lines),
		cmocka_unit_test(test_effects),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_schedule_long_line),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_expect_faults_unbounded_round_trip),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_errors_header),
		cmocka_unit_test(test_errors_structure),
		cmocka_unit_test(test_errors_numbers),
		cmocka_unit_test(test_errors_missing_and_values),
		cmocka_unit_test(test_errors_order),
		cmocka_unit_test(test_errors_semantic),
		cmocka_unit_test(test_error_names_the_stream),
		cmocka_unit_test(test_rule_words),
		cmocka_unit_test(test_esr_access),
		cmocka_unit_test(test_roundtrip_scenarios),
		cmocka_unit_test(test_roundtrip_every_field),
		cmocka_unit_test(test_roundtrip_with_schedule),
		cmocka_unit_test(test_replay_reproduces_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
