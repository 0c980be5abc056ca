/* The trace grammar (docs/trace-format.md): its words, one table each (the
 * line keywords and the names of every enumeration a line carries), and
 * the fields of the lines read and written through a description (their
 * keys, types, ranges and members of the event). The reader (read.c) and
 * the writer (write.c) share them, and every importer writes its lines
 * through the writer (s2trace_print_event). */
#include <stddef.h>
#include <string.h>

#include "cache-model/s2cache.h"
#include "common/s2_bits.h"
#include "common/s2_text.h"
#include "host-mm/s2host_rules.h"
#include "hyp-model/s2hyp_rules.h"
#include "traces/s2trace.h"

static const char *const lines[] = {
	[S2T_CONFIG] = "config", [S2T_MEMSLOT] = "memslot", [S2T_PHASE] = "phase",
	[S2T_HOST] = "host", [S2T_VCPU] = "vcpu", [S2T_MMIO] = "mmio", [S2T_EFFECT] = "effect",
	[S2T_SCHEDULE] = "schedule", [S2T_EXPECT] = "expect", [S2T_GUEST] = "guest",
	[S2T_SECTION] = "section", [S2T_ENTRY] = "entry",
};

static const char *const hosts[] = {
	[S2HYP_HOST_WRITE] = "write", [S2HYP_HOST_DIRTY_LOG_ON] = "dirty-log-on",
	[S2HYP_HOST_DIRTY_LOG_OFF] = "dirty-log-off", [S2HYP_HOST_GET_DIRTY_LOG] = "get-dirty-log",
	[S2HYP_HOST_UNMAP_HVA] = "unmap-hva", [S2HYP_HOST_AGE_HVA] = "age-hva",
	[S2HYP_HOST_UNMAP_IPA] = "unmap-ipa", [S2HYP_HOST_WRPROTECT_IPA] = "wrprotect-ipa",
	[S2HYP_HOST_FLUSH_IPA] = "flush-ipa", [S2HYP_HOST_DESTROY] = "destroy",
	[S2HYP_HOST_AGE_IPA] = "age-ipa", [S2HYP_HOST_SPLIT_IPA] = "split-ipa",
	[S2HYP_HOST_RCU_CALLBACK] = "rcu-callback",
	[S2HYP_HOST_INVALIDATE_BEGIN] = "invalidate-begin",
	[S2HYP_HOST_INVALIDATE_END] = "invalidate-end",
};

/* host-mm events (host OPERATION when the machine's memory is the host's) */
static const char *const mm_ops[] = {
	[S2HYP_MM_DONTNEED] = "dontneed", [S2HYP_MM_MUNMAP] = "munmap",
	[S2HYP_MM_SPLIT] = "thp-split", [S2HYP_MM_COLLAPSE] = "collapse",
	[S2HYP_MM_MIGRATE] = "migrate", [S2HYP_MM_RECLAIM] = "reclaim", [S2HYP_MM_KSM] = "ksm",
	[S2HYP_MM_FORK] = "fork", [S2HYP_MM_CLEAR_REFS] = "clear-refs", [S2HYP_MM_PIN] = "pin",
	[S2HYP_MM_PIN_RO] = "pin-ro", [S2HYP_MM_GUP] = "gup", [S2HYP_MM_GUP_WRITE] = "gup-write",
	[S2HYP_MM_UNREF] = "unref",
	[S2HYP_MM_REF_READ] = "ref-read", [S2HYP_MM_REF_WRITE] = "ref-write",
	[S2HYP_MM_WRITE] = "proc-write", [S2HYP_MM_EXIT] = "exit",
	[S2HYP_MM_UFFD_PROTECT] = "uffd-protect", [S2HYP_MM_UFFD_UNPROTECT] = "uffd-unprotect",
	[S2HYP_MM_UFFD_READ] = "uffd-read", [S2HYP_MM_UFFD_RESOLVE] = "uffd-resolve",
	[S2HYP_MM_PUNCH_HOLE] = "punch-hole", [S2HYP_MM_MADV_REMOVE] = "madv-remove",
	[S2HYP_MM_PUNCH_TRUNCATE] = "punch-truncate",
};

static const char *const backings[] = {
	[S2HYP_BACKING_4K] = "4k", [S2HYP_BACKING_THP] = "thp",
	[S2HYP_BACKING_HUGETLB_2M] = "hugetlb-2m", [S2HYP_BACKING_HUGETLB_1G] = "hugetlb-1g",
	[S2HYP_BACKING_MEMFD] = "memfd",
};

static const char *const accesses[] = {
	[S2HYP_ACC_READ] = "read", [S2HYP_ACC_WRITE] = "write", [S2HYP_ACC_EXEC] = "exec",
};

/* A vcpu line's access word: an access, or a fault observed (S2T_F_VACCESS). */
static const char *const vcpu_words[] = {
	[S2HYP_ACC_READ] = "read", [S2HYP_ACC_WRITE] = "write", [S2HYP_ACC_EXEC] = "exec",
	[S2T_VACCESS_FAULT] = "fault",
};

static const char *const effects[] = {
	[S2T_EFF_VTCR] = "vtcr", [S2T_EFF_VTTBR] = "vttbr", [S2T_EFF_ALLOC] = "alloc",
	[S2T_EFF_FREE] = "free", [S2T_EFF_PTE_WRITE] = "pte-write", [S2T_EFF_PTE_READ] = "pte-read",
	[S2T_EFF_DSB] = "dsb", [S2T_EFF_ISB] = "isb", [S2T_EFF_TLBI] = "tlbi", [S2T_EFF_DC] = "dc",
	[S2T_EFF_IC] = "ic", [S2T_EFF_LOCK] = "lock", [S2T_EFF_UNLOCK] = "unlock",
	[S2T_EFF_TRYLOCK] = "trylock", [S2T_EFF_WRITE] = "write", [S2T_EFF_SYSREG] = "sysreg",
	[S2T_EFF_HINT] = "hint",
};

static const char *const hints[] = {
	[S2EFF_HINT_SET_ROOT_LOCK] = "set-root-lock", [S2EFF_HINT_SET_OWNER_ROOT] = "set-owner-root",
	[S2EFF_HINT_RELEASE_TABLE] = "release-table",
};

static const char *const sysregs[] = {
	[S2EFF_VTCR_EL2] = "vtcr_el2", [S2EFF_VTTBR_EL2] = "vttbr_el2", [S2EFF_TCR_EL2] = "tcr_el2",
	[S2EFF_TTBR0_EL2] = "ttbr0_el2", [S2EFF_HCR_EL2] = "hcr_el2",
	[S2EFF_SCTLR_EL2] = "sctlr_el2", [S2EFF_MAIR_EL2] = "mair_el2",
};

static const char *const expects[] = {
	[S2T_EXP_MAPPED] = "mapped", [S2T_EXP_UNMAPPED] = "unmapped", [S2T_EXP_FIRED] = "fired",
	[S2T_EXP_CLEAN] = "clean", [S2T_EXP_FAULTS] = "faults", [S2T_EXP_REFCOUNT] = "refcount",
};

/* The checkers' rules by name (expect fired rule=, the host program's
 * rules, the fuzzer's bug table), from the modules' own rule tables: the
 * models name their rules, the text that names one is read here. */
#define RULE_WORD(id, name, meaning, source) [id] = name,
static const char *const rules[] = { S2HYP_RULE_TABLE(RULE_WORD) };
static const char *const host_rules[] = { S2HOST_RULE_TABLE(RULE_WORD) };
#undef RULE_WORD

/* expect faults kind=: 0 translation, 1 permission, 2 access flag. */
static const char *const fault_kinds[] = { "translation", "permission", "access-flag" };

static const struct {
	const char *const *names;
	unsigned n;
} words[S2T_NR_WORDS] = {
	[S2T_W_LINE] = { lines, S2_ARRAY_SIZE(lines) },
	[S2T_W_HOST] = { hosts, S2_ARRAY_SIZE(hosts) },
	[S2T_W_BACKING] = { backings, S2_ARRAY_SIZE(backings) },
	[S2T_W_ACCESS] = { accesses, S2_ARRAY_SIZE(accesses) },
	[S2T_W_EFFECT] = { effects, S2_ARRAY_SIZE(effects) },
	[S2T_W_HINT] = { hints, S2_ARRAY_SIZE(hints) },
	[S2T_W_SYSREG] = { sysregs, S2_ARRAY_SIZE(sysregs) },
	[S2T_W_EXPECT] = { expects, S2_ARRAY_SIZE(expects) },
	[S2T_W_FAULT_KIND] = { fault_kinds, S2_ARRAY_SIZE(fault_kinds) },
	[S2T_W_MM] = { mm_ops, S2_ARRAY_SIZE(mm_ops) },
	[S2T_W_RULE] = { rules, S2_ARRAY_SIZE(rules) },
	[S2T_W_HOST_RULE] = { host_rules, S2_ARRAY_SIZE(host_rules) },
	[S2T_W_VCPU] = { vcpu_words, S2_ARRAY_SIZE(vcpu_words) },
};

const char *s2trace_word(enum s2trace_words table, unsigned value)
{
	if ((unsigned)table >= S2T_NR_WORDS || value >= words[table].n || !words[table].names[value])
		return "?";
	return words[table].names[value];
}

int s2trace_word_parse(enum s2trace_words table, const char *word)
{
	if ((unsigned)table >= S2T_NR_WORDS || !word)
		return -1;
	const char *const *names = words[table].names;
	/* The first byte tells most words apart. */
	for (unsigned i = 0; i < words[table].n; i++)
		if (names[i] && names[i][0] == word[0] && s2_same_word(names[i], word))
			return (int)i;
	return -1;
}

/* The names (NULL: none) as a sentence says them: "a, b or c". */
static const char *join(const char *const *names, unsigned n, char *buf, size_t size)
{
	unsigned left = 0;
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		left += names[i] != NULL;
	for (unsigned i = 0; i < n && len < size; i++) {
		if (!names[i])
			continue;
		left--;
		int k = snprintf(buf + len, size - len, "%s%s", names[i],
				 !left ? "" : left == 1 ? " or " : ", ");
		len += k > 0 ? (size_t)k : 0;
	}
	return buf;
}

const char *s2trace_word_list(enum s2trace_words table, char *buf, size_t size)
{
	if ((unsigned)table >= S2T_NR_WORDS) {
		buf[0] = '\0';
		return buf;
	}
	return join(words[table].names, words[table].n, buf, size);
}

const char *s2trace_host_name(enum s2hyp_host_kind k)
{
	return s2trace_word(S2T_W_HOST, k);
}

const char *s2trace_backing_name(enum s2hyp_backing b)
{
	return s2trace_word(S2T_W_BACKING, b);
}

int s2trace_tlbi_parse(const char *name)
{
	int op = s2arm_tlbi_parse(name);
	return op >= 0 && !(s2arm_tlbi_flags((enum s2arm_tlbi)op) & S2ARM_TLBI_RANGE) ? op : -1;
}

/* The operations of arch/s2arm.h an effect line names (S2T_F_DSB, _TLBI,
 * _DC, _IC), as the member holds them: a DSB's domain (enum s2arm_dsb, the
 * walker's barrier), a TLBI (enum s2arm_tlbi, no range one), a DC or IC
 * operation as the cache model's (enum s2cache_op; DC ZVA is a store, not
 * maintenance). */
static const char *op_word(enum s2trace_ftype t, unsigned v)
{
	switch (t) {
	case S2T_F_DSB:
		return s2arm_dsb_mnemonic((enum s2arm_dsb)v);
	case S2T_F_TLBI:
		return s2arm_tlbi_flags((enum s2arm_tlbi)v) & S2ARM_TLBI_RANGE ?
		       "?" : s2arm_tlbi_mnemonic((enum s2arm_tlbi)v);
	case S2T_F_DC:
		return v == S2CACHE_DC_ZVA ? "?" : s2arm_dc_mnemonic((enum s2arm_dc)v);
	case S2T_F_IC:
		return v < S2CACHE_IC_IVAU ? "?" :
		       s2arm_ic_mnemonic((enum s2arm_ic)(v - S2CACHE_IC_IVAU));
	default:
		return "?";
	}
}

static unsigned op_count(enum s2trace_ftype t)
{
	return t == S2T_F_DSB ? S2ARM_NR_DSB : t == S2T_F_TLBI ? S2ARM_NR_TLBI :
	       t == S2T_F_DC ? S2ARM_NR_DC : t == S2T_F_IC ? S2CACHE_IC_IVAU + S2ARM_NR_IC : 0;
}

const char *s2trace_op_word(enum s2trace_ftype t, unsigned v)
{
	return op_word(t, v);
}

int s2trace_op_parse(enum s2trace_ftype t, const char *word)
{
	int k;

	if (!word)
		return -1;
	switch (t) {
	case S2T_F_DSB:
		return s2arm_dsb_parse(word);
	case S2T_F_TLBI:
		return s2trace_tlbi_parse(word);
	case S2T_F_DC:
		k = s2arm_dc_parse(word);
		return k < 0 || k == S2ARM_DC_ZVA ? -1 : (int)s2cache_op_of_dc((enum s2arm_dc)k);
	case S2T_F_IC:
		k = s2arm_ic_parse(word);
		return k < 0 ? -1 : (int)s2cache_op_of_ic((enum s2arm_ic)k);
	default:
		return -1;
	}
}

const char *s2trace_op_list(enum s2trace_ftype t, char *buf, size_t size)
{
	const char *names[S2ARM_NR_TLBI + S2CACHE_OP_COUNT];
	unsigned n = op_count(t);

	for (unsigned i = 0; i < n; i++)
		names[i] = strcmp(op_word(t, i), "?") ? op_word(t, i) : NULL;
	return join(names, n, buf, size);
}

/* ------------------------------------------------------------------ */
/* Fields                                                              */
/* ------------------------------------------------------------------ */

/* The member of struct s2trace_event a field is held in. */
#define IN(member) .off = offsetof(struct s2trace_event, member), \
		   .size = sizeof(((struct s2trace_event *)0)->member)
/* A bool member the reader sets when the line gives the field; the writer
 * writes the field only when it is set. */
#define HAVE(member) .have = offsetof(struct s2trace_event, member) + 1
#define CFG(k, t, member, bit) .key = k, .type = t, IN(config.cfg.member), .given = bit
#define ANY .min = 0, .max = UINT64_MAX
#define BYTES .min = 1, .max = UINT64_MAX

static const struct s2trace_field config_fields[] = {
	{ CFG("granule", S2T_F_GRANULE, granule_shift, S2T_CFG_GRANULE) },
	{ CFG("ipa-bits", S2T_F_DEC, ipa_bits, S2T_CFG_IPA_BITS), .min = 32, .max = 52 },
	{ CFG("vcpus", S2T_F_DEC, nr_vcpus, S2T_CFG_VCPUS), .min = 1, .max = S2HYP_MAX_VCPUS },
	{ CFG("walker", S2T_F_WALKER, variant, S2T_CFG_WALKER) },
	{ CFG("fwb", S2T_F_BOOL, fwb, S2T_CFG_FWB) },
	{ CFG("idc", S2T_F_BOOL, idc, S2T_CFG_IDC) },
	{ CFG("dic", S2T_F_BOOL, dic, S2T_CFG_DIC) },
	{ CFG("line", S2T_F_DEC, line_bytes, S2T_CFG_LINE), .flags = S2T_FF_POW2, .min = 16,
	  .max = 2048, .zero_as = 64 },
	{ CFG("eager-split", S2T_F_BOOL, eager_split, S2T_CFG_EAGER_SPLIT) },
	{ CFG("split-chunk", S2T_F_SIZE, split_chunk, S2T_CFG_SPLIT_CHUNK), .flags = S2T_FF_POW2,
	  .min = 4096, .max = 1ull << 30 },
	{ CFG("rcu", S2T_F_BOOL, rcu_free, S2T_CFG_RCU) },
	{ CFG("range-tlbi", S2T_F_BOOL, range_tlbi, S2T_CFG_RANGE_TLBI) },
	{ CFG("hw-af", S2T_F_BOOL, hw_af, S2T_CFG_HW_AF) },
	{ CFG("tlb-entries", S2T_F_DEC, tlb_entries, S2T_CFG_TLB_ENTRIES), .min = 0, .max = 1u << 20 },
	{ CFG("combined-tlb", S2T_F_BOOL, combined_tlb, S2T_CFG_COMBINED_TLB) },
	{ CFG("host-mm", S2T_F_POLICY, cow_policy, S2T_CFG_HOST_MM) },
	/* with host-mm, the userfaultfd fixes left out (--uffd-policy's words) */
	{ CFG("uffd-pre-fix", S2T_F_FLAG, uffd_no_markers, S2T_CFG_UFFD) },
	{ CFG("uffd-no-wp-flush", S2T_F_FLAG, uffd_no_wp_flush, S2T_CFG_UFFD) },
	{ CFG("uffd-no-fork-fix", S2T_F_FLAG, uffd_no_fork_fix, S2T_CFG_UFFD) },
	/* with host-mm, KVM's known bugs and the injected omission
	 * (s2hyp_config's host_* knobs) */
	{ CFG("host-no-retry-check", S2T_F_FLAG, host_no_retry_check, S2T_CFG_HOST_KVM) },
	{ CFG("host-map-writable-always", S2T_F_FLAG, host_map_writable_always, S2T_CFG_HOST_KVM) },
	{ CFG("host-unmap-no-tlbi", S2T_F_FLAG, host_unmap_no_tlbi, S2T_CFG_HOST_KVM) },
};

/* A memslot's number, then its keys. */
static const struct s2trace_field memslot_fields[] = {
	{ .key = "a slot number", .type = S2T_F_DEC, .flags = S2T_FF_POS | S2T_FF_REQUIRED,
	  IN(memslot.id), .min = 0, .max = UINT32_MAX },
	{ .key = "ipa", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(memslot.slot.ipa), ANY },
	{ .key = "size", .type = S2T_F_SIZE, .flags = S2T_FF_REQUIRED, IN(memslot.slot.size), BYTES },
	{ .key = "hva", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(memslot.slot.hva), ANY },
	{ .key = "backing", .type = S2T_F_WORD, IN(memslot.slot.backing), .words = S2T_W_BACKING },
	{ .key = "readonly", .type = S2T_F_FLAG, IN(memslot.slot.readonly) },
	{ .key = "dirty-log", .type = S2T_F_FLAG, IN(memslot.slot.dirty_log) },
	{ .key = "uffd-missing", .type = S2T_F_FLAG, IN(memslot.slot.uffd_missing) },
	{ .key = "uffd-wp", .type = S2T_F_FLAG, IN(memslot.slot.uffd_wp) },
	{ .key = "uffd-minor", .type = S2T_F_FLAG, IN(memslot.slot.uffd_minor) },
};

static const struct s2trace_field mmio_fields[] = {
	{ .key = "vcpu", .type = S2T_F_DEC, .flags = S2T_FF_REQUIRED, IN(mmio.vcpu), .min = 0,
	  .max = S2HYP_MAX_VCPUS - 1 },
	{ .key = "ipa", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(mmio.ipa), ANY },
	{ .key = "write", .type = S2T_F_FLAG, IN(mmio.write) },
};

static const struct s2trace_field entry_fields[] = {
	{ .key = "vcpu", .type = S2T_F_DEC, .flags = S2T_FF_REQUIRED, IN(entry.vcpu), .min = 0,
	  .max = S2HYP_MAX_VCPUS - 1 },
};

/* Host lines: the operation (which selects the keys), then its keys. */
#define HOST_HEAD { .key = "an operation", .type = S2T_F_HOSTOP, \
		    .flags = S2T_FF_POS | S2T_FF_REQUIRED | S2T_FF_SELECT, IN(host.kind) }
static const struct s2trace_field host_bare_fields[] = { HOST_HEAD };
#define HOST_ADDR(k) { .key = k, .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(host.addr), ANY }
#define HOST_SIZE(hi) { .key = "size", .type = S2T_F_SIZE, .flags = S2T_FF_REQUIRED, IN(host.size), \
			.min = 1, .max = hi }
static const struct s2trace_field host_write_fields[] = {
	HOST_HEAD, HOST_ADDR("hva"), HOST_SIZE(1ull << 40),
	{ .key = "fill", .type = S2T_F_HEX, IN(host.fill), .min = 0, .max = 255 },
};
static const struct s2trace_field host_slot_fields[] = {
	HOST_HEAD,
	{ .key = "slot", .type = S2T_F_DEC, .flags = S2T_FF_REQUIRED, IN(host.slot), .min = 0,
	  .max = S2HYP_MAX_SLOTS - 1 },
};
static const struct s2trace_field host_hva_fields[] = {
	HOST_HEAD, HOST_ADDR("hva"), HOST_SIZE(UINT64_MAX),
};
static const struct s2trace_field host_ipa_fields[] = {
	HOST_HEAD, HOST_ADDR("ipa"), HOST_SIZE(UINT64_MAX),
};
/* Ageing: flush is the notifier's clear_flush_young. */
#define HOST_FLUSH { .key = "flush", .type = S2T_F_FLAG, IN(host.flush) }
static const struct s2trace_field host_age_hva_fields[] = {
	HOST_HEAD, HOST_ADDR("hva"), HOST_SIZE(UINT64_MAX), HOST_FLUSH,
};
static const struct s2trace_field host_age_ipa_fields[] = {
	HOST_HEAD, HOST_ADDR("ipa"), HOST_SIZE(UINT64_MAX), HOST_FLUSH,
};
/* Host-mm events: the keys the event takes (s2hyp_mm_op_args). An exit's
 * proc is required and not 0: the reader checks that after these. */
static const struct s2trace_field host_mm_fields[] = {
	HOST_HEAD,
	{ .key = "hva", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(host.addr), ANY,
	  .mm_arg = S2HYP_MM_ARG_HVA },
	{ .key = "size", .type = S2T_F_SIZE, .flags = S2T_FF_REQUIRED, IN(host.size), BYTES,
	  .mm_arg = S2HYP_MM_ARG_SIZE },
	{ .key = "proc", .type = S2T_F_DEC, .flags = S2T_FF_NONZERO, IN(host.proc), .min = 0,
	  .max = S2HYP_MAX_PROCS - 1, .mm_arg = S2HYP_MM_ARG_PROC },
	{ .key = "ref", .type = S2T_F_DEC, .flags = S2T_FF_REQUIRED, IN(host.ref), .min = 0,
	  .max = 255, .mm_arg = S2HYP_MM_ARG_REF },
	{ .key = "value", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(host.value), ANY,
	  .mm_arg = S2HYP_MM_ARG_VALUE },
};

/* Expect lines: the expectation (which selects the keys), then its keys.
 * A member that a line may leave out holds its "any" value (level -128,
 * prot, kind and vcpu -1, max all ones), which is not written. */
#define EXP_HEAD { .key = "an expectation", .type = S2T_F_WORD, \
		   .flags = S2T_FF_POS | S2T_FF_REQUIRED | S2T_FF_SELECT, IN(expect.kind), \
		   .words = S2T_W_EXPECT }
#define EXP_IPA { .key = "ipa", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(expect.ipa), ANY }
static const struct s2trace_field expect_clean_fields[] = { EXP_HEAD };
static const struct s2trace_field expect_mapped_fields[] = {
	EXP_HEAD, EXP_IPA,
	{ .key = "level", .type = S2T_F_DEC, .flags = S2T_FF_SKIP, IN(expect.level), .min = 0,
	  .max = 3, .skip = (uint32_t)-128 },
	{ .key = "prot", .type = S2T_F_PROT, .flags = S2T_FF_SKIP, IN(expect.prot),
	  .skip = (uint32_t)-1 },
};
static const struct s2trace_field expect_unmapped_fields[] = { EXP_HEAD, EXP_IPA };
/* rule= is required: the reader says so in its own words. */
static const struct s2trace_field expect_fired_fields[] = {
	EXP_HEAD,
	{ .key = "rule", .type = S2T_F_RULE, IN(expect.rule) },
};
/* max= or min= (at least one: the reader checks). With no bound either
 * way (max all ones, min 0, as the API may set it) min=0 is written. */
static const struct s2trace_field expect_faults_fields[] = {
	EXP_HEAD,
	{ .key = "max", .type = S2T_F_DEC, .flags = S2T_FF_SKIP, IN(expect.max), ANY,
	  .skip = UINT64_MAX },
	{ .key = "min", .type = S2T_F_DEC, .flags = S2T_FF_NONZERO | S2T_FF_FALLBACK,
	  IN(expect.min), ANY },
	{ .key = "kind", .type = S2T_F_WORD, .flags = S2T_FF_SKIP, IN(expect.fault_kind),
	  .words = S2T_W_FAULT_KIND, .skip = (uint32_t)-1 },
	{ .key = "vcpu", .type = S2T_F_DEC, .flags = S2T_FF_SKIP, IN(expect.vcpu), .min = 0,
	  .max = S2HYP_MAX_VCPUS - 1, .skip = (uint32_t)-1 },
};
static const struct s2trace_field expect_refcount_fields[] = {
	EXP_HEAD, EXP_IPA,
	{ .key = "value", .type = S2T_F_DEC, .flags = S2T_FF_REQUIRED, IN(expect.value), .min = 0,
	  .max = 1u << 20 },
};

/* vcpu lines: the vCPU's number and the access (which selects the keys),
 * then its keys. An instruction
 * fetch is 4 bytes (size= read, checked, not written); a fault line's
 * access comes from its syndrome, and what follows esr= is read but not
 * written (the fault is the page's, observed). */
#define VCPU_HEAD \
	{ .key = "a vCPU number", .type = S2T_F_DEC, .flags = S2T_FF_POS | S2T_FF_REQUIRED, \
	  IN(vcpu.vcpu), .min = 0, .max = S2HYP_MAX_VCPUS - 1 }, \
	{ .key = "an access", .type = S2T_F_VACCESS, \
	  .flags = S2T_FF_POS | S2T_FF_REQUIRED | S2T_FF_SELECT, IN(vcpu.op.access), \
	  .words = S2T_W_VCPU }
#define VCPU_IPA { .key = "ipa", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(vcpu.op.ipa), ANY }
#define VCPU_SIZE(fl) { .key = "size", .type = S2T_F_DEC, .flags = (fl), IN(vcpu.op.size), \
			.min = 1, .max = 8, .skip = 8 }
#define VCPU_MMU(fl) { .key = "mmu", .type = S2T_F_ONOFF, .flags = (fl), IN(vcpu.op.mmu_on), \
		       .skip = 1 }
#define VCPU_OBSERVED(fl) { .key = "observed", .type = S2T_F_FLAG, .flags = (fl), \
			    IN(vcpu.op.observed) }
static const struct s2trace_field vcpu_read_fields[] = {
	VCPU_HEAD, VCPU_IPA, VCPU_SIZE(S2T_FF_SKIP), VCPU_MMU(S2T_FF_SKIP), VCPU_OBSERVED(0),
};
static const struct s2trace_field vcpu_write_fields[] = {
	VCPU_HEAD, VCPU_IPA, VCPU_SIZE(S2T_FF_SKIP),
	{ .key = "value", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED | S2T_FF_SIZED,
	  IN(vcpu.op.value), ANY },
	VCPU_MMU(S2T_FF_SKIP), VCPU_OBSERVED(0),
};
static const struct s2trace_field vcpu_exec_fields[] = {
	VCPU_HEAD, VCPU_IPA, VCPU_SIZE(S2T_FF_NOWRITE), VCPU_MMU(S2T_FF_NOWRITE), VCPU_OBSERVED(0),
};
static const struct s2trace_field vcpu_fault_fields[] = {
	VCPU_HEAD, VCPU_IPA,
	{ .key = "esr", .type = S2T_F_ESR, .flags = S2T_FF_REQUIRED, IN(vcpu.esr), ANY },
	{ .key = "pc", .type = S2T_F_HEX, IN(vcpu.pc), ANY },
	VCPU_SIZE(S2T_FF_NOWRITE),
	{ .key = "value", .type = S2T_F_HEX, .flags = S2T_FF_NOWRITE, IN(vcpu.op.value), ANY,
	  .accesses = 1u << S2HYP_ACC_WRITE },
	VCPU_MMU(S2T_FF_NOWRITE), VCPU_OBSERVED(S2T_FF_NOWRITE),
	{ .key = "lost-break", .type = S2T_F_FLAG, IN(vcpu.op.lost_break) },
};

/* The guest line: the image (a path, at most 1023 bytes as replay keeps
 * it), where it is loaded and entered, and its size, all required. */
static const struct s2trace_field guest_fields[] = {
	{ .key = "image", .type = S2T_F_TEXT, .flags = S2T_FF_REQUIRED, IN(guest.image), .max = 1023 },
	{ .key = "load", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(guest.load), ANY },
	{ .key = "entry", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(guest.entry), ANY },
	{ .key = "size", .type = S2T_F_HEX, .flags = S2T_FF_REQUIRED, IN(guest.size), BYTES },
};

#define FIELDS(a) (*n = S2_ARRAY_SIZE(a), (a))

/* Effect lines: the thread and the operation, then by the operation (a
 * DSB's domain, a TLBI, DC or IC operation, which selects the TLBI's and
 * the IC's keys) its keys. A member a line may leave out holds what it
 * means then (no TLBI level, no size, no VMID or lock address given). The
 * reader checks after these that a descriptor's address is 8-byte aligned
 * and that a hint other than release-table has its value. */
#define EFF_HEAD \
	{ .key = "a thread number", .type = S2T_F_DEC, .flags = S2T_FF_POS | S2T_FF_REQUIRED, \
	  IN(effect.thread), .min = 0, .max = 255 }, \
	{ .key = "an operation", .type = S2T_F_WORD, \
	  .flags = S2T_FF_POS | S2T_FF_REQUIRED | S2T_FF_SELECT, IN(effect.kind), .words = S2T_W_EFFECT }
#define EFF_OP(t, what, fl) { .key = what, .type = t, .flags = S2T_FF_POS | S2T_FF_REQUIRED | (fl), \
			      IN(effect.op) }
#define EFF_HEX(k, member, fl) { .key = k, .type = S2T_F_HEX, .flags = (fl), IN(effect.member), ANY }
#define EFF_SIZE(fl) { .key = "size", .type = S2T_F_SIZE, .flags = (fl), IN(effect.size), .min = 1, \
		       .max = 1ull << 40 }
/* A TLBI by address: ipa= (va= at EL2), a level hint; any: the VMID (ASID). */
#define EFF_LEVEL { .key = "level", .type = S2T_F_DEC, .flags = S2T_FF_SKIP, IN(effect.level), \
		    .min = 0, .max = 3, .skip = (uint32_t)S2PT_TLBI_NO_LEVEL }
#define EFF_VMID(k) { .key = k, .type = S2T_F_DEC, IN(effect.vmid), .min = 0, .max = 65535, \
		      HAVE(effect.have_vmid) }
static const struct s2trace_field effect_value_fields[] = {	/* vtcr, vttbr */
	EFF_HEAD, EFF_HEX("value", value, S2T_FF_REQUIRED),
};
static const struct s2trace_field effect_mem_fields[] = {	/* alloc, free */
	EFF_HEAD, EFF_HEX("pa", pa, S2T_FF_REQUIRED), EFF_SIZE(S2T_FF_NONZERO),
};
static const struct s2trace_field effect_store_fields[] = {	/* pte-write, write */
	EFF_HEAD, EFF_HEX("pa", pa, S2T_FF_REQUIRED), EFF_HEX("value", value, S2T_FF_REQUIRED),
	{ .key = "release", .type = S2T_F_FLAG, IN(effect.release) },
};
static const struct s2trace_field effect_load_fields[] = {	/* pte-read */
	EFF_HEAD, EFF_HEX("pa", pa, S2T_FF_REQUIRED), EFF_HEX("value", value, S2T_FF_REQUIRED),
};
static const struct s2trace_field effect_dsb_fields[] = { EFF_HEAD, EFF_OP(S2T_F_DSB, "a domain", 0) };
static const struct s2trace_field effect_isb_fields[] = { EFF_HEAD };
#define EFF_TLBI EFF_HEAD, EFF_OP(S2T_F_TLBI, "an operation", S2T_FF_SELECT)
static const struct s2trace_field effect_tlbi_ipa_fields[] = {
	EFF_TLBI, EFF_HEX("ipa", ipa, S2T_FF_REQUIRED), EFF_LEVEL, EFF_VMID("vmid"),
};
static const struct s2trace_field effect_tlbi_vmid_fields[] = { EFF_TLBI, EFF_VMID("vmid") };
static const struct s2trace_field effect_tlbi_va_fields[] = {
	EFF_TLBI, EFF_HEX("va", ipa, S2T_FF_REQUIRED), EFF_LEVEL, EFF_VMID("asid"),
};
static const struct s2trace_field effect_tlbi_asid_fields[] = { EFF_TLBI, EFF_VMID("asid") };
static const struct s2trace_field effect_dc_fields[] = {
	EFF_HEAD, EFF_OP(S2T_F_DC, "an operation", 0), EFF_HEX("pa", pa, S2T_FF_REQUIRED),
	EFF_SIZE(S2T_FF_REQUIRED),
};
static const struct s2trace_field effect_ic_range_fields[] = {	/* ic ivau */
	EFF_HEAD, EFF_OP(S2T_F_IC, "an operation", S2T_FF_SELECT), EFF_HEX("pa", pa, S2T_FF_REQUIRED),
	EFF_SIZE(S2T_FF_REQUIRED),
};
/* The whole icache: a range is taken and means nothing (not written). */
static const struct s2trace_field effect_ic_all_fields[] = {
	EFF_HEAD, EFF_OP(S2T_F_IC, "an operation", S2T_FF_SELECT), EFF_HEX("pa", pa, S2T_FF_NOWRITE),
	EFF_SIZE(S2T_FF_NOWRITE),
};
static const struct s2trace_field effect_lock_fields[] = {	/* lock, unlock, trylock */
	EFF_HEAD,
	{ .key = "addr", .type = S2T_F_HEX, IN(effect.pa), .min = 0, .max = UINT64_MAX - 1,
	  HAVE(effect.have_addr) },
};
static const struct s2trace_field effect_sysreg_fields[] = {
	EFF_HEAD,
	{ .key = "name", .type = S2T_F_WORD, .flags = S2T_FF_REQUIRED, IN(effect.op),
	  .words = S2T_W_SYSREG },
	EFF_HEX("value", value, S2T_FF_REQUIRED),
};
static const struct s2trace_field effect_hint_fields[] = {
	EFF_HEAD,
	{ .key = "kind", .type = S2T_F_WORD, .flags = S2T_FF_REQUIRED, IN(effect.op),
	  .words = S2T_W_HINT },
	EFF_HEX("pa", pa, S2T_FF_REQUIRED), EFF_HEX("value", value, 0),
};

/* The positional lines: a phase's number (none: the next phase; always
 * written), a section's name, a schedule's choices (every word). */
static const struct s2trace_field phase_fields[] = {
	{ .key = "a phase number", .type = S2T_F_DEC, .flags = S2T_FF_POS, IN(phase.n), ANY },
};
static const struct s2trace_field section_fields[] = {
	{ .key = "a name", .type = S2T_F_NAME, .flags = S2T_FF_POS | S2T_FF_REQUIRED,
	  IN(section.name), .max = S2TRACE_MAX_SECTION_NAME },
};
static const struct s2trace_field schedule_fields[] = {
	{ .key = "a schedule choice", .type = S2T_F_CHOICES, .flags = S2T_FF_POS, IN(schedule.n) },
};

static const struct s2trace_field *effect_fields(const struct s2trace_event *ev, unsigned *n)
{
	unsigned fl;

	switch (ev->effect.kind) {
	case S2T_EFF_VTCR:
	case S2T_EFF_VTTBR:
		return FIELDS(effect_value_fields);
	case S2T_EFF_ALLOC:
	case S2T_EFF_FREE:
		return FIELDS(effect_mem_fields);
	case S2T_EFF_PTE_WRITE:
	case S2T_EFF_WRITE:
		return FIELDS(effect_store_fields);
	case S2T_EFF_PTE_READ:
		return FIELDS(effect_load_fields);
	case S2T_EFF_DSB:
		return FIELDS(effect_dsb_fields);
	case S2T_EFF_ISB:
		return FIELDS(effect_isb_fields);
	case S2T_EFF_TLBI:
		fl = s2arm_tlbi_flags((enum s2arm_tlbi)ev->effect.op);
		if (fl & S2ARM_TLBI_BY_ADDR)
			return fl & S2ARM_TLBI_EL2 ? FIELDS(effect_tlbi_va_fields) :
						     FIELDS(effect_tlbi_ipa_fields);
		return fl & S2ARM_TLBI_EL2 ? FIELDS(effect_tlbi_asid_fields) :
					     FIELDS(effect_tlbi_vmid_fields);
	case S2T_EFF_DC:
		return FIELDS(effect_dc_fields);
	case S2T_EFF_IC:
		return ev->effect.op == S2CACHE_IC_IVAU ? FIELDS(effect_ic_range_fields) :
							  FIELDS(effect_ic_all_fields);
	case S2T_EFF_LOCK:
	case S2T_EFF_UNLOCK:
	case S2T_EFF_TRYLOCK:
		return FIELDS(effect_lock_fields);
	case S2T_EFF_SYSREG:
		return FIELDS(effect_sysreg_fields);
	case S2T_EFF_HINT:
		return FIELDS(effect_hint_fields);
	}
	*n = 0;
	return NULL;
}



const struct s2trace_field *s2trace_fields(const struct s2trace_event *ev, unsigned *n)
{
	switch (ev->kind) {
	case S2T_CONFIG:
		return FIELDS(config_fields);
	case S2T_MEMSLOT:
		return FIELDS(memslot_fields);
	case S2T_MMIO:
		return FIELDS(mmio_fields);
	case S2T_ENTRY:
		return FIELDS(entry_fields);
	case S2T_GUEST:
		return FIELDS(guest_fields);
	case S2T_EFFECT:
		return effect_fields(ev, n);
	case S2T_PHASE:
		return FIELDS(phase_fields);
	case S2T_SECTION:
		return FIELDS(section_fields);
	case S2T_SCHEDULE:
		return FIELDS(schedule_fields);
	case S2T_VCPU:
		if (ev->vcpu.fault)
			return FIELDS(vcpu_fault_fields);
		switch (ev->vcpu.op.access) {
		case S2HYP_ACC_READ:
			return FIELDS(vcpu_read_fields);
		case S2HYP_ACC_WRITE:
			return FIELDS(vcpu_write_fields);
		case S2HYP_ACC_EXEC:
			return FIELDS(vcpu_exec_fields);
		}
		break;
	case S2T_EXPECT:
		switch (ev->expect.kind) {
		case S2T_EXP_MAPPED:
			return FIELDS(expect_mapped_fields);
		case S2T_EXP_UNMAPPED:
			return FIELDS(expect_unmapped_fields);
		case S2T_EXP_FIRED:
			return FIELDS(expect_fired_fields);
		case S2T_EXP_FAULTS:
			return FIELDS(expect_faults_fields);
		case S2T_EXP_REFCOUNT:
			return FIELDS(expect_refcount_fields);
		case S2T_EXP_CLEAN:
			return FIELDS(expect_clean_fields);
		}
		break;
	case S2T_HOST:
		switch (ev->host.kind) {
		case S2HYP_HOST_WRITE:
			return FIELDS(host_write_fields);
		case S2HYP_HOST_DIRTY_LOG_ON:
		case S2HYP_HOST_DIRTY_LOG_OFF:
		case S2HYP_HOST_GET_DIRTY_LOG:
			return FIELDS(host_slot_fields);
		case S2HYP_HOST_UNMAP_HVA:
			return FIELDS(host_hva_fields);
		case S2HYP_HOST_AGE_HVA:
			return FIELDS(host_age_hva_fields);
		case S2HYP_HOST_UNMAP_IPA:
		case S2HYP_HOST_WRPROTECT_IPA:
		case S2HYP_HOST_FLUSH_IPA:
		case S2HYP_HOST_SPLIT_IPA:
			return FIELDS(host_ipa_fields);
		case S2HYP_HOST_AGE_IPA:
			return FIELDS(host_age_ipa_fields);
		case S2HYP_HOST_MM:
			return FIELDS(host_mm_fields);
		case S2HYP_HOST_DESTROY:
		case S2HYP_HOST_RCU_CALLBACK:
		case S2HYP_HOST_INVALIDATE_BEGIN:
		case S2HYP_HOST_INVALIDATE_END:
			return FIELDS(host_bare_fields);
		}
		break;
	}
	*n = 0;
	return NULL;
}
