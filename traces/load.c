/* A high-level trace read whole into a scenario (s2trace_load.h). */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_vec.h"
#include "traces/s2trace.h"
#include "traces/s2trace_load.h"

struct loader {
	struct s2trace_reader *r;
	struct s2hyp_scenario *sc;
	struct s2hyp *m;		/* checks items as replay would, to name the line */
	unsigned cfg_line, slot_line[S2HYP_MAX_SLOTS];
	struct s2hyp_choice *sched;
	size_t nsched;
	unsigned sched_cap;
	unsigned ip;			/* phase numbering, as replay does it */
	bool in_block;
	uint64_t block_n;
	char *err;
	size_t errlen;
};

static int bad(struct loader *l, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct loader *l, unsigned line, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%u: %s", s2trace_name(l->r), line, msg);
	return S2_EPARSE;
}

static int need_machine(struct loader *l, unsigned line)
{
	const char *why = "";
	if (l->m)
		return 0;
	if (s2hyp_create(&l->sc->cfg, l->sc->slots, l->sc->nr_slots, &l->m, &why)) {
		unsigned c = s2trace_setup_culprit(&l->sc->cfg, l->sc->slots, l->sc->nr_slots);
		char keys[96];
		s2trace_setup_keys(&l->sc->cfg, c < l->sc->nr_slots, keys, sizeof(keys));
		if (c < l->sc->nr_slots)
			return bad(l, l->slot_line[c], "memslot %u: %s%s", c, why, keys);
		return bad(l, l->cfg_line ? l->cfg_line : line, "configuration: %s%s", why, keys);
	}
	return 0;
}

void s2trace_setup_keys(const struct s2hyp_config *cfg, bool slot, char *buf, size_t len)
{
	struct s2trace_event ev = { .kind = S2T_CONFIG };
	const struct s2trace_field *fs, *policy = NULL, *knob = NULL;
	unsigned n;

	buf[0] = 0;
	if (cfg->host_mm)
		return;
	ev.config.cfg = *cfg;
	fs = s2trace_fields(&ev, &n);
	for (unsigned i = 0; i < n; i++) {
		if (fs[i].type == S2T_F_POLICY)
			policy = &fs[i];
		else if (!knob && fs[i].type == S2T_F_FLAG &&
			 (fs[i].given & (S2T_CFG_UFFD | S2T_CFG_HOST_KVM)) &&
			 s2trace_field_get(&fs[i], &ev))
			knob = &fs[i];
	}
	if (!policy)
		return;
	if (slot || !knob)
		snprintf(buf, len, " (%s=POLICY on the config line)", policy->key);
	else
		snprintf(buf, len, " (%s needs %s=POLICY)", knob->key, policy->key);
}

unsigned s2trace_setup_culprit(const struct s2hyp_config *cfg, const struct s2hyp_memslot *slots,
			       unsigned nr_slots)
{
	/* The machine checks slots in order, each against the ones before. */
	for (unsigned k = 0; k <= nr_slots; k++) {
		struct s2hyp *m;
		if (s2hyp_create(cfg, slots, k, &m, NULL))
			return k ? k - 1 : nr_slots;
		s2hyp_delete(m);
	}
	return nr_slots;
}

static unsigned phase_for(struct loader *l)
{
	return l->in_block ? l->ip : ++l->ip;
}

static int handle(struct loader *l, const struct s2trace_event *ev)
{
	const char *why = "";
	int ret;

	switch (ev->kind) {
	case S2T_CONFIG:
		l->sc->cfg = ev->config.cfg;
		l->cfg_line = ev->line;
		return 0;
	case S2T_MEMSLOT:
		if (l->sc->nr_slots >= S2HYP_MAX_SLOTS)
			return bad(l, ev->line, "more than %d memslots", S2HYP_MAX_SLOTS);
		l->slot_line[l->sc->nr_slots] = ev->line;
		l->sc->slots[l->sc->nr_slots++] = ev->memslot.slot;
		return 0;
	case S2T_SCHEDULE: {
		size_t need = l->nsched + ev->schedule.n;
		if (need > UINT_MAX ||
		    !s2_grow((void **)&l->sched, &l->sched_cap, sizeof(*l->sched), (unsigned)need))
			return bad(l, ev->line, "out of memory");
		memcpy(l->sched + l->nsched, ev->schedule.choices,
		       ev->schedule.n * sizeof(*l->sched));
		l->nsched = need;
		return 0;
	}
	case S2T_PHASE:
		if (l->in_block && ev->phase.n == l->block_n)
			return 0;
		l->in_block = true;
		l->block_n = ev->phase.n;
		l->ip++;
		return 0;
	case S2T_HOST: {
		struct s2hyp_host_op op = ev->host;
		if ((ret = need_machine(l, ev->line)))
			return ret;
		if (s2hyp_check_host_op(l->m, &op, &why))
			return bad(l, ev->line, "%s", why);
		op.phase = phase_for(l);
		op.src = NULL;
		if (s2hyp_scenario_add_host(l->sc, &op))
			return bad(l, ev->line, "out of memory");
		return 0;
	}
	case S2T_VCPU: {
		struct s2hyp_vcpu_op op = ev->vcpu.op;
		if ((ret = need_machine(l, ev->line)))
			return ret;
		if (s2hyp_check_vcpu_op(l->m, ev->vcpu.vcpu, &op, &why))
			return bad(l, ev->line, "vcpu %u: %s", ev->vcpu.vcpu, why);
		op.phase = phase_for(l);
		op.src = NULL;
		if (s2hyp_scenario_add_vcpu(l->sc, ev->vcpu.vcpu, &op))
			return bad(l, ev->line, "out of memory");
		return 0;
	}
	case S2T_EFFECT:
		return bad(l, ev->line, "effect events do not drive the hypervisor model: "
					"only a high-level trace can be loaded as a scenario");
	case S2T_GUEST:
		return bad(l, ev->line, "a guest-code trace runs with 's2emu replay'; the fuzzer "
					"takes traces of high-level events");
	case S2T_MMIO:
	case S2T_ENTRY:
	case S2T_EXPECT:
	case S2T_SECTION:
		/* An exit that maps nothing; a return to the guest (it bounds
		 * replay's view of a fault's handling); checks the loader's user
		 * makes itself; a name for statistics. */
		return 0;
	}
	return bad(l, ev->line, "unknown event");
}

int s2trace_load_scenario(const char *path, struct s2hyp_scenario *sc, struct s2hyp_choice **sched,
			  size_t *nsched, char *err, size_t errlen)
{
	struct loader l = { .sc = sc, .err = err, .errlen = errlen };
	struct s2trace_event ev;
	int ret;

	s2hyp_scenario_init(sc);
	if (sched) {
		*sched = NULL;
		*nsched = 0;
	}
	if ((ret = s2trace_open(path, &l.r, err, errlen)))
		return ret;
	for (;;) {
		ret = s2trace_next(l.r, &ev);
		if (ret < 0) {
			snprintf(err, errlen, "%s", s2trace_error(l.r));
			break;
		}
		if (!ret || (ret = handle(&l, &ev)))
			break;
	}
	if (!ret && !l.m)
		ret = need_machine(&l, 0);	/* a bad configuration with no event */
	s2hyp_delete(l.m);
	s2trace_close(l.r);
	if (ret) {
		free(l.sched);
		return ret;
	}
	if (sched) {
		*sched = l.sched;
		*nsched = l.nsched;
	} else {
		free(l.sched);
	}
	return 0;
}
