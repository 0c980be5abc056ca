/* traces/include/s2emu_effect_log.h, used as a hypervisor would: a small
 * stage-2 page-table implementation logs its effects through it, and the
 * log replays clean, or with the violation its bug makes, on its lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "traces/s2trace.h"

static FILE *log_file;
static unsigned this_cpu;
#define S2EMU_LOG_PRINTF(...) fprintf(log_file, __VA_ARGS__)
#define S2EMU_LOG_CPU() this_cpu
#include "traces/include/s2emu_effect_log.h"

/* ------------------------------------------------------------------ */
/* A toy hypervisor: 4K granule, 48-bit IPA, four levels, one VM.      */
/* ------------------------------------------------------------------ */

#define NR_TABLES 8
typedef uint64_t table_t[512];
static _Alignas(4096) table_t tables[NR_TABLES];
static unsigned next_table;
static uint64_t mmu_lock;	/* only its address matters here */

static uint64_t pa_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static uint64_t *new_table(void)
{
	uint64_t *t = tables[next_table++];
	memset(t, 0, sizeof(table_t));
	s2emu_log_alloc(pa_of(t), sizeof(table_t));
	return t;
}

static void set_pte(uint64_t *ptep, uint64_t desc)
{
	__atomic_store_n(ptep, desc, __ATOMIC_RELEASE);
	s2emu_log_pte_write(pa_of(ptep), desc, 1);
}

static unsigned idx(uint64_t ipa, int level)
{
	return (unsigned)(ipa >> (12 + 9 * (3 - level))) & 511;
}

/* The level-3 entry for ipa, making tables on the way. */
static uint64_t *walk(uint64_t *root, uint64_t ipa)
{
	uint64_t *t = root;
	for (int level = 0; level < 3; level++) {
		uint64_t *ptep = &t[idx(ipa, level)];
		if (!(*ptep & 1)) {
			uint64_t *child = new_table();
			set_pte(ptep, pa_of(child) | 3);
		}
		t = (uint64_t *)(uintptr_t)(*ptep & 0xfffffffff000ull);
	}
	return &t[idx(ipa, 3)];
}

static uint64_t *vm_init(unsigned vmid)
{
	next_table = 0;
	uint64_t *root = new_table();
	s2emu_log_root_lock(pa_of(root), pa_of(&mmu_lock));
	s2emu_log_vttbr(pa_of(root) | (uint64_t)vmid << 48);
	return root;
}

/* Map ipa to pa, or move it to pa: break, TLBI, DSB, make. The bug
 * leaves out the stage-1 invalidation after the IPA TLBI. */
static void map(uint64_t *root, uint64_t ipa, uint64_t pa, bool bug)
{
	s2emu_log_lock(pa_of(&mmu_lock));
	uint64_t *ptep = walk(root, ipa);
	if (*ptep & 1) {
		set_pte(ptep, 0);
		s2emu_log_dsb("ishst");
		s2emu_log_tlbi_ipa("ipas2e1is", ipa, 3);
		s2emu_log_dsb("ish");
		if (!bug) {
			s2emu_log_tlbi("vmalle1is");
			s2emu_log_dsb("ish");
		}
	}
	set_pte(ptep, pa | 0x7c3);
	s2emu_log_unlock(pa_of(&mmu_lock));
}

/* ------------------------------------------------------------------ */

struct run {
	struct s2trace_result res;
	int status;
	char *text;
	size_t len;
};

static void start(struct run *r)
{
	memset(r, 0, sizeof(*r));
	log_file = open_memstream(&r->text, &r->len);
	assert_non_null(log_file);
	this_cpu = 0;
	s2emu_log_header();
}

static void finish(struct run *r)
{
	char path[] = "/tmp/s2emu-effect-log-XXXXXX";
	assert_int_equal(fclose(log_file), 0);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, r->text, r->len), (ssize_t)r->len);
	close(fd);
	r->status = s2trace_replay(path, NULL, &r->res);
	unlink(path);
	if (r->res.bad_input)
		fail_msg("%s", r->res.error);
}

static void done(struct run *r)
{
	s2trace_result_free(&r->res);
	free(r->text);
}

/* Maps, a move with the whole sequence, on two CPUs: clean. */
static void test_example_clean(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	uint64_t *root = vm_init(1);
	map(root, 0x40000000, 0x80000000, false);
	this_cpu = 1;
	map(root, 0x40001000, 0x80001000, false);
	map(root, 0x40000000, 0x90000000, false);
	finish(&r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.res.nr_eff_violations, 0);
	assert_true(r.res.events > 20);
	done(&r);
}

/* The move without VMALLE1IS: tlbi-stage1-after-ipa, reported on the line
 * of the store that makes the new entry, with the line of the break. */
static void test_example_bug(void **state)
{
	(void)state;
	struct run r;
	start(&r);
	uint64_t *root = vm_init(1);
	map(root, 0x40000000, 0x80000000, false);
	map(root, 0x40000000, 0x90000000, true);
	finish(&r);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.res.nr_eff_violations, 1);
	const struct s2eff_violation *v = &r.res.eff_violations[0];
	assert_int_equal(v->rule, S2HYP_RULE_TLBI_S1_AFTER_IPA);
	/* The log's last lines: ..., make, unlock. */
	unsigned lines = 0;
	for (size_t i = 0; i < r.len; i++)
		lines += r.text[i] == '\n';
	assert_int_equal(v->at.line, lines - 1);
	assert_int_equal(v->rel[0].line, lines - 5);	/* the break */
	assert_int_equal(v->level, 3);
	assert_int_equal(v->ia, 0x40000000);
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_clean),
		cmocka_unit_test(test_example_bug),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
