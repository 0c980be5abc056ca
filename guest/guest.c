/* s2guest: a guest image on driven vCPUs; set-up, the driver the machine
 * calls, reports, and the run's trace. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "common/s2_text.h"
#include "guest/s2guest_internal.h"
#include "hyp-model/s2hyp_scenario.h"

void s2guest_config_init(struct s2guest_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	s2hyp_config_init(&cfg->machine);
	cfg->slots[0] = (struct s2hyp_memslot){
		.ipa = S2GUEST_RAM_IPA, .size = 128ull << 20, .hva = S2GUEST_RAM_HVA,
		.backing = S2HYP_BACKING_THP,
	};
	cfg->nr_slots = 1;
	cfg->load_ipa = S2GUEST_RAM_IPA;
	cfg->entry_ipa = S2GUEST_RAM_IPA;
	cfg->timeout_s = 60;
	cfg->max_regions = 32;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int s2guest_image_header(const void *image, size_t n, uint64_t *load, uint64_t *entry,
			 const char **why)
{
	const uint8_t *p = image;
	if (n < S2GUEST_HEADER_BYTES || memcmp(p, S2GUEST_MAGIC, 8))
		return 0;
	*load = le64(p + 8);
	*entry = le64(p + 16);
	if (le64(p + 24)) {
		*why = "the image header's reserved word is not zero";
		return S2_EINVAL;
	}
	if ((*load & 3) || (*entry & 3) || *entry < *load || *entry - *load >= n) {
		*why = "the image header's entry point is not a 4-byte aligned address inside the image";
		return S2_EINVAL;
	}
	return 1;
}

const char *s2guest_end_name(enum s2guest_end e)
{
	switch (e) {
	case S2GUEST_RUNNING: return "running";
	case S2GUEST_EXITED: return "exited";
	case S2GUEST_MMU_ON: return "mmu-on-refused";
	case S2GUEST_EXCEPTION: return "exception";
	case S2GUEST_BAD_ACCESS: return "bad-access";
	case S2GUEST_TIMEOUT: return "timeout";
	case S2GUEST_ERROR: return "error";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

void s2guest__disasm(struct s2guest *g, uint32_t insn, uint64_t pc, char *buf, size_t n)
{
	uint8_t bytes[4] = { (uint8_t)insn, (uint8_t)(insn >> 8), (uint8_t)(insn >> 16),
			     (uint8_t)(insn >> 24) };
	cs_insn *ci = NULL;
	if (g->cs_ok && cs_disasm(g->cs, bytes, 4, pc, 1, &ci) == 1) {
		snprintf(buf, n, "%s%s%s", ci->mnemonic, ci->op_str[0] ? " " : "", ci->op_str);
		cs_free(ci, 1);
	} else {
		snprintf(buf, n, ".inst %#010x", insn);
	}
}

struct s2guest_report *s2guest__report(struct s2guest *g, enum s2guest_report_kind k,
				       const struct gcpu *c, uint64_t pc)
{
	if (g->nreports == MAX_REPORTS) {
		g->dropped++;
		return NULL;
	}
	struct s2guest_report *r = &g->reports[g->nreports++];
	*r = (struct s2guest_report){ .kind = k, .vcpu = c->id, .pc = pc, .rule = -1 };
	r->insn = s2guest__insn_at((struct gcpu *)c, pc);
	s2guest__disasm(g, r->insn, pc, r->insn_text, sizeof(r->insn_text));
	return r;
}

void s2guest__end(struct gcpu *c, enum s2guest_end e, const char *fmt, ...)
{
	if (c->ended)
		return;
	c->ended = true;
	c->res.end = e;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->res.why, sizeof(c->res.why), fmt, ap);
		va_end(ap);
	}
}

/* Rules the machine reported since the last look: note where each vCPU
 * stood (no guest code runs between the violation and this call). */
static void note_violations(struct s2guest *g)
{
	unsigned n = s2hyp_nr_violations(g->m);
	for (; g->viol_seen < n; g->viol_seen++) {
		const struct s2hyp_violation *v = s2hyp_violation(g->m, g->viol_seen);
		/* Stale data and instructions are reported where they happen. */
		if (v->rule == S2HYP_RULE_STALE_DATA || v->rule == S2HYP_RULE_STALE_INSN ||
		    v->thread < 0 || (unsigned)v->thread >= g->nr_vcpus)
			continue;
		struct gcpu *c = &g->cpu[v->thread];
		struct s2guest_report *r = s2guest__report(g, S2GUEST_REP_RULE, c,
							   c->handed ? c->miss_pc : c->pc);
		if (r) {
			r->rule = (int)v->rule;
			r->ipa = v->ipa;
			r->pa = v->pa;
		}
	}
}

/* What the machine did with the access handed over: a fault, an MMIO
 * exit, or a walk that found the translation. */
static void note_handover(struct s2guest *g, struct gcpu *c)
{
	if (!c->handed)
		return;
	c->handed = false;
	const struct s2hyp_vcpu_stats *now = &s2hyp_stats(g->m)->vcpu[c->id];
	const char *kind = now->faults_translation > c->before.faults_translation ? "translation" :
			   now->faults_permission > c->before.faults_permission ? "permission" :
			   now->faults_access_flag > c->before.faults_access_flag ? "access-flag" :
			   NULL;
	if (!kind)
		return;
	struct s2guest_report *r = s2guest__report(g, S2GUEST_REP_FAULT, c, c->miss_pc);
	if (!r)
		return;
	r->fault = now->mmio > c->before.mmio ? "mmio" : kind;
	r->ipa = c->miss.ipa;
	r->access = c->miss.access;
	r->size = c->miss.size;
}

static enum s2hyp_drv_status drv_run(void *arg, unsigned vcpu, unsigned q, struct s2hyp_vcpu_op *op)
{
	struct s2guest *g = arg;
	struct gcpu *c = &g->cpu[vcpu];

	note_violations(g);
	note_handover(g, c);
	op->phase = c->phase;
	if (c->ended)
		return S2HYP_DRV_DONE;
	return s2guest__engine_run(c, q, op);
}

static void drv_mmio(void *arg, unsigned vcpu, const struct s2hyp_vcpu_op *op)
{
	struct s2guest *g = arg;
	s2guest__engine_mmio(&g->cpu[vcpu], op);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static int fail(char *err, size_t n, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t n, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return ret;
}

static const struct s2hyp_memslot *slot_of_ipa(const struct s2guest_config *cfg, uint64_t ipa,
					       uint64_t n)
{
	for (unsigned i = 0; i < cfg->nr_slots; i++) {
		const struct s2hyp_memslot *s = &cfg->slots[i];
		if (ipa >= s->ipa && ipa - s->ipa < s->size && n <= s->size - (ipa - s->ipa))
			return s;
	}
	return NULL;
}

static int check_config(const struct s2guest_config *cfg, char *err, size_t n)
{
	if (!cfg->image || !cfg->image_size)
		return fail(err, n, S2_EINVAL, "the image is empty");
	if (cfg->max_regions < 4 || cfg->max_regions > 256)
		return fail(err, n, S2_EINVAL, "Unicorn regions per vCPU must be 4 to 256 "
			    "(Unicorn aborts beyond about 1000)");
	if ((cfg->load_ipa & 3) || (cfg->entry_ipa & 3))
		return fail(err, n, S2_EINVAL, "load and entry addresses must be 4-byte aligned");
	if (!slot_of_ipa(cfg, cfg->load_ipa, cfg->image_size))
		return fail(err, n, S2_EINVAL, "the image (%#llx, %zu bytes) does not fit in one memslot",
			    (unsigned long long)cfg->load_ipa, cfg->image_size);
	if (!slot_of_ipa(cfg, cfg->entry_ipa, 4))
		return fail(err, n, S2_EINVAL, "the entry point %#llx is outside every memslot",
			    (unsigned long long)cfg->entry_ipa);
	if (cfg->machine.line_bytes && (cfg->machine.line_bytes > UPAGE))
		return fail(err, n, S2_EINVAL, "cache lines larger than 4 KiB are not supported here");
	return 0;
}

int s2guest_create(const struct s2guest_config *cfg, struct s2guest **out, char *err,
		   size_t errlen)
{
	const char *why = NULL;
	int ret;

	*out = NULL;
	if ((ret = check_config(cfg, err, errlen)))
		return ret;
	struct s2guest *g = calloc(1, sizeof(*g));
	if (!g)
		return fail(err, errlen, S2_ENOMEM, "out of memory");
	g->cfg = *cfg;
	g->nr_vcpus = cfg->machine.nr_vcpus;
	g->line_bytes = cfg->machine.line_bytes ? cfg->machine.line_bytes : 64;
	/* RES1, DIC, IDC (FWB implies it), CWG and ERG 16 words, DminLine,
	 * PIPT icache, IminLine: one line size for both, as the model has. */
	uint64_t lw = (uint64_t)__builtin_ctz(g->line_bytes / 4);
	g->ctr_el0 = 1ull << 31 | (uint64_t)cfg->machine.dic << 29 |
		     (uint64_t)(cfg->machine.idc || cfg->machine.fwb) << 28 | 4ull << 24 | 4ull << 20 |
		     lw << 16 | 3ull << 14 | lw;
	atomic_init(&g->expired, false);
	atomic_init(&g->running, NULL);
	g->image = malloc(cfg->image_size);
	g->reports = calloc(MAX_REPORTS, sizeof(*g->reports));
	g->host = cfg->nhost ? malloc(cfg->nhost * sizeof(*g->host)) : NULL;
	if (!g->image || !g->reports || (cfg->nhost && !g->host)) {
		s2guest_delete(g);
		return fail(err, errlen, S2_ENOMEM, "out of memory");
	}
	memcpy(g->image, cfg->image, cfg->image_size);
	g->cfg.image = g->image;
	if (cfg->nhost)
		memcpy(g->host, cfg->host, cfg->nhost * sizeof(*g->host));
	g->cfg.host = g->host;
	g->cs_ok = cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &g->cs) == CS_ERR_OK;

	if ((ret = s2hyp_create(&cfg->machine, cfg->slots, cfg->nr_slots, &g->m, &why))) {
		s2guest_delete(g);
		return fail(err, errlen, ret, "%s", why);
	}
	if (cfg->nhost && (ret = s2hyp_set_host_program(g->m, cfg->host, cfg->nhost, &why))) {
		s2guest_delete(g);
		return fail(err, errlen, ret, "host program: %s", why);
	}
	/* Unicorn's view of guest RAM: untouched pages cost nothing. */
	for (unsigned i = 0; i < cfg->nr_slots; i++) {
		void *p = mmap(NULL, cfg->slots[i].size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			s2guest_delete(g);
			return fail(err, errlen, S2_ENOMEM, "cannot reserve %llu bytes for memslot %u",
				    (unsigned long long)cfg->slots[i].size, i);
		}
		g->ram[i] = p;
	}
	/* The VMM loads the image through its cacheable mapping, as QEMU
	 * does: the lines are dirty until someone cleans them. */
	const struct s2hyp_memslot *s = slot_of_ipa(cfg, cfg->load_ipa, cfg->image_size);
	uint64_t hva = s->hva + (cfg->load_ipa - s->ipa);
	if ((ret = s2hyp_host_write(g->m, hva, g->image, cfg->image_size))) {
		s2guest_delete(g);
		return fail(err, errlen, ret, "cannot load the image: %s", s2_err_msg(ret));
	}
	memcpy(g->ram[s - cfg->slots] + (cfg->load_ipa - s->ipa), g->image, cfg->image_size);

	g->drv = (struct s2hyp_vcpu_driver){ drv_run, drv_mmio, S2GUEST_NR_QUANTA };
	for (unsigned i = 0; i < g->nr_vcpus; i++) {
		struct gcpu *c = &g->cpu[i];
		c->g = g;
		c->id = i;
		if ((ret = s2guest__engine_init(c, err, errlen)) ||
		    (ret = s2hyp_set_vcpu_driver(g->m, i, &g->drv, g, &why))) {
			if (why)
				snprintf(err, errlen, "%s", why);
			s2guest_delete(g);
			return ret;
		}
	}
	*out = g;
	return 0;
}

void s2guest_delete(struct s2guest *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < S2HYP_MAX_VCPUS; i++)
		s2guest__engine_fini(&g->cpu[i]);
	for (unsigned i = 0; i < S2HYP_MAX_SLOTS; i++)
		if (g->ram[i])
			munmap(g->ram[i], g->cfg.slots[i].size);
	s2hyp_delete(g->m);
	if (g->cs_ok)
		cs_close(&g->cs);
	s2_map_free(&g->code);
	free(g->reports);
	free(g->image);
	free(g->host);
	free(g);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

/* Stops whichever engine runs once the budget is spent, and keeps doing
 * so: a stop that lands between two engine runs would be lost. */
static void *watchdog(void *arg)
{
	struct s2guest *g = arg;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	double whole = (double)(time_t)g->cfg.timeout_s;
	deadline.tv_sec += (time_t)whole;
	deadline.tv_nsec += (long)((g->cfg.timeout_s - whole) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&g->wd_mu);
	while (!g->wd_quit) {
		int r = pthread_cond_timedwait(&g->wd_cv, &g->wd_mu, &deadline);
		if (r != ETIMEDOUT)
			continue;
		atomic_store(&g->expired, true);
		uc_engine *uc = atomic_load(&g->running);
		if (uc)
			uc_emu_stop(uc);
		deadline.tv_nsec += 10000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_unlock(&g->wd_mu);
	return NULL;
}

enum s2hyp_outcome s2guest_run(struct s2guest *g, const struct s2hyp_strategy *st)
{
	if (g->ran)
		return S2HYP_ERROR;
	g->ran = true;
	if (g->cfg.timeout_s > 0) {
		pthread_mutex_init(&g->wd_mu, NULL);
		pthread_cond_init(&g->wd_cv, NULL);
		g->wd_started = !pthread_create(&g->wd, NULL, watchdog, g);
	}
	enum s2hyp_outcome o = s2hyp_run(g->m, st);
	if (g->wd_started) {
		pthread_mutex_lock(&g->wd_mu);
		g->wd_quit = true;
		pthread_cond_signal(&g->wd_cv);
		pthread_mutex_unlock(&g->wd_mu);
		pthread_join(g->wd, NULL);
		pthread_cond_destroy(&g->wd_cv);
		pthread_mutex_destroy(&g->wd_mu);
		g->wd_started = false;
	}
	note_violations(g);
	for (unsigned i = 0; i < g->nr_vcpus; i++) {
		struct gcpu *c = &g->cpu[i];
		note_handover(g, c);
		c->res.pc = c->pc;
		c->res.phase = c->phase;
		c->res.insn = s2guest__insn_at(c, c->pc);
		s2guest__disasm(g, c->res.insn, c->pc, c->res.insn_text, sizeof(c->res.insn_text));
	}
	return o;
}

struct s2hyp *s2guest_machine(struct s2guest *g)
{
	return g->m;
}

const struct s2guest_vcpu_result *s2guest_vcpu(const struct s2guest *g, unsigned vcpu)
{
	return vcpu < g->nr_vcpus ? &g->cpu[vcpu].res : NULL;
}

uint64_t s2guest_reg(const struct s2guest *g, unsigned vcpu, unsigned n)
{
	return vcpu < g->nr_vcpus ? s2guest__reg(&g->cpu[vcpu], n) : 0;
}

unsigned s2guest_nr_reports(const struct s2guest *g)
{
	return g->nreports;
}

const struct s2guest_report *s2guest_report(const struct s2guest *g, unsigned i)
{
	return i < g->nreports ? &g->reports[i] : NULL;
}

uint64_t s2guest_reports_dropped(const struct s2guest *g)
{
	return g->dropped;
}

unsigned s2guest_count_reports(const struct s2guest *g, enum s2guest_report_kind k, int vcpu)
{
	unsigned n = 0;
	for (unsigned i = 0; i < g->nreports; i++)
		n += g->reports[i].kind == k && (vcpu < 0 || g->reports[i].vcpu == (unsigned)vcpu);
	return n;
}

/* ------------------------------------------------------------------ */
/* Printing                                                            */
/* ------------------------------------------------------------------ */

static const char *access_name(enum s2hyp_access a)
{
	return a == S2HYP_ACC_WRITE ? "write" : a == S2HYP_ACC_EXEC ? "fetch" : "read";
}

void s2guest_print_report(FILE *f, const struct s2guest_report *r)
{
	fprintf(f, "vCPU %u at PC %#llx (%08x %s): ", r->vcpu, (unsigned long long)r->pc, r->insn,
		r->insn_text);
	switch (r->kind) {
	case S2GUEST_REP_FAULT:
		fprintf(f, "%s fault on a %s of IPA %#llx\n", r->fault, access_name(r->access),
			(unsigned long long)r->ipa);
		return;
	case S2GUEST_REP_STALE_DATA:
		fprintf(f, "stale data: a %u-byte read of IPA %#llx (PA %#llx) returned %#llx, "
			   "memory was last written %#llx\n", r->size, (unsigned long long)r->ipa,
			(unsigned long long)r->pa, (unsigned long long)r->got,
			(unsigned long long)r->want);
		return;
	case S2GUEST_REP_STALE_INSN:
		fprintf(f, "stale instruction at IPA %#llx (PA %#llx): the icache gives "
			   "%08x %s, memory holds %08x %s\n", (unsigned long long)r->ipa,
			(unsigned long long)r->pa, r->stale_insn, r->stale_text, r->fresh_insn,
			r->fresh_text);
		return;
	case S2GUEST_REP_RULE:
		fprintf(f, "rule %s fired (IPA %#llx)\n", s2hyp_rule_name((enum s2hyp_rule)r->rule),
			(unsigned long long)r->ipa);
		return;
	}
	fputc('\n', f);
}

void s2guest_print_report_json(FILE *f, const struct s2guest_report *r)
{
	static const char *const kinds[] = { "fault", "stale-data", "stale-instruction", "rule" };
	fprintf(f, "{\"kind\": \"%s\", \"vcpu\": %u, \"pc\": %llu, \"insn\": %u, \"insn_text\": ",
		kinds[r->kind], r->vcpu, (unsigned long long)r->pc, r->insn);
	s2_json_string(f, r->insn_text);
	fprintf(f, ", \"ipa\": %llu, \"pa\": %llu", (unsigned long long)r->ipa,
		(unsigned long long)r->pa);
	switch (r->kind) {
	case S2GUEST_REP_FAULT:
		fprintf(f, ", \"fault\": \"%s\", \"access\": \"%s\"", r->fault, access_name(r->access));
		break;
	case S2GUEST_REP_STALE_DATA:
		fprintf(f, ", \"size\": %u, \"got\": %llu, \"want\": %llu", r->size,
			(unsigned long long)r->got, (unsigned long long)r->want);
		break;
	case S2GUEST_REP_STALE_INSN:
		fprintf(f, ", \"stale_insn\": %u, \"stale_text\": ", r->stale_insn);
		s2_json_string(f, r->stale_text);
		fprintf(f, ", \"fresh_insn\": %u, \"fresh_text\": ", r->fresh_insn);
		s2_json_string(f, r->fresh_text);
		break;
	case S2GUEST_REP_RULE:
		fprintf(f, ", \"rule\": \"%s\"", s2hyp_rule_name((enum s2hyp_rule)r->rule));
		break;
	}
	fputc('}', f);
}

/* ------------------------------------------------------------------ */
/* The trace                                                           */
/* ------------------------------------------------------------------ */

int s2guest_trace_scenario(const struct s2guest *g, struct s2hyp_scenario *sc)
{
	int ret = 0;

	if (!g->cfg.record)
		return S2_EINVAL;
	s2hyp_scenario_init(sc);
	sc->cfg = g->cfg.machine;
	memcpy(sc->slots, g->cfg.slots, sizeof(sc->slots));
	sc->nr_slots = g->cfg.nr_slots;
	/* Phase 0: the image load, before anything the guest does. The
	 * bytes are not kept: the cache model's versions only need a write. */
	const struct s2hyp_memslot *s = slot_of_ipa(&g->cfg, g->cfg.load_ipa, g->cfg.image_size);
	struct s2hyp_host_op load = {
		.kind = S2HYP_HOST_WRITE, .phase = 0, .addr = s->hva + (g->cfg.load_ipa - s->ipa),
		.size = g->cfg.image_size, .fill = g->image[0],
	};
	ret |= s2hyp_scenario_add_host(sc, &load);
	for (size_t i = 0; i < g->cfg.nhost; i++) {
		struct s2hyp_host_op op = g->cfg.host[i];
		op.phase++;
		ret |= s2hyp_scenario_add_host(sc, &op);
	}
	for (unsigned v = 0; v < g->nr_vcpus; v++) {
		const struct gcpu *c = &g->cpu[v];
		for (size_t i = 0; i < c->nrec; i++) {
			struct s2hyp_vcpu_op op = c->rec[i];
			/* A trace access is 1 to 8 naturally aligned bytes. */
			op.phase++;
			op.mmu_on = false;
			if (op.access != S2HYP_ACC_EXEC) {
				op.size = 1;
				op.value &= 0xff;
			}
			ret |= s2hyp_scenario_add_vcpu(sc, v, &op);
		}
	}
	if (ret) {
		s2hyp_scenario_free(sc);
		return S2_ENOMEM;
	}
	return 0;
}
