/* The trace grammar's words (docs/trace-format.md), one table each: the
 * line keywords and the names of every enumeration a line carries. The
 * reader (read.c) and the writer (write.c) share them, and every importer
 * writes its lines through the writer (s2trace_print_event). */
#include <string.h>

#include "common/s2_bits.h"
#include "traces/s2trace.h"

static const char *const lines[] = {
	[S2T_CONFIG] = "config", [S2T_MEMSLOT] = "memslot", [S2T_PHASE] = "phase",
	[S2T_HOST] = "host", [S2T_VCPU] = "vcpu", [S2T_MMIO] = "mmio", [S2T_EFFECT] = "effect",
	[S2T_SCHEDULE] = "schedule", [S2T_EXPECT] = "expect", [S2T_GUEST] = "guest",
	[S2T_SECTION] = "section",
};

static const char *const hosts[] = {
	[S2HYP_HOST_WRITE] = "write", [S2HYP_HOST_DIRTY_LOG_ON] = "dirty-log-on",
	[S2HYP_HOST_DIRTY_LOG_OFF] = "dirty-log-off", [S2HYP_HOST_GET_DIRTY_LOG] = "get-dirty-log",
	[S2HYP_HOST_UNMAP_HVA] = "unmap-hva", [S2HYP_HOST_AGE_HVA] = "age-hva",
	[S2HYP_HOST_UNMAP_IPA] = "unmap-ipa", [S2HYP_HOST_WRPROTECT_IPA] = "wrprotect-ipa",
	[S2HYP_HOST_FLUSH_IPA] = "flush-ipa", [S2HYP_HOST_DESTROY] = "destroy",
	[S2HYP_HOST_AGE_IPA] = "age-ipa", [S2HYP_HOST_SPLIT_IPA] = "split-ipa",
	[S2HYP_HOST_RCU_CALLBACK] = "rcu-callback",
};

/* host-mm events (host OPERATION when the machine's memory is the host's) */
static const char *const mm_ops[] = {
	[S2HYP_MM_DONTNEED] = "dontneed", [S2HYP_MM_MUNMAP] = "munmap",
	[S2HYP_MM_SPLIT] = "thp-split", [S2HYP_MM_COLLAPSE] = "collapse",
	[S2HYP_MM_MIGRATE] = "migrate", [S2HYP_MM_RECLAIM] = "reclaim", [S2HYP_MM_KSM] = "ksm",
	[S2HYP_MM_FORK] = "fork", [S2HYP_MM_CLEAR_REFS] = "clear-refs", [S2HYP_MM_PIN] = "pin",
	[S2HYP_MM_PIN_RO] = "pin-ro", [S2HYP_MM_GUP] = "gup", [S2HYP_MM_UNREF] = "unref",
	[S2HYP_MM_REF_READ] = "ref-read", [S2HYP_MM_REF_WRITE] = "ref-write",
	[S2HYP_MM_WRITE] = "proc-write", [S2HYP_MM_EXIT] = "exit",
};

static const char *const backings[] = {
	[S2HYP_BACKING_4K] = "4k", [S2HYP_BACKING_THP] = "thp",
	[S2HYP_BACKING_HUGETLB_2M] = "hugetlb-2m", [S2HYP_BACKING_HUGETLB_1G] = "hugetlb-1g",
};

static const char *const accesses[] = {
	[S2HYP_ACC_READ] = "read", [S2HYP_ACC_WRITE] = "write", [S2HYP_ACC_EXEC] = "exec",
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
	/* The first byte tells most words apart without a call. */
	for (unsigned i = 0; i < words[table].n; i++)
		if (words[table].names[i] && words[table].names[i][0] == word[0] &&
		    !strcmp(words[table].names[i], word))
			return (int)i;
	return -1;
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
