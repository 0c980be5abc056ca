/* Replay of guest-code traces: the image runs on the vCPUs under Unicorn
 * (guest/), the trace holds the host program, the schedule and the
 * expectations, checked after the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_file.h"
#include "guest/s2guest.h"
#include "traces/replay_internal.h"

/* Guest mode: the host program is kept whole (the guest machine takes it at
 * creation), expectations wait for the end of the run. */
int s2trace__guest_event(struct replay *rp, const struct s2trace_event *ev)
{
	switch (ev->kind) {
	case S2T_PHASE:
		s2trace__on_phase(rp, ev);
		return 0;
	case S2T_HOST: {
		struct s2hyp_host_op op = ev->host;
		op.phase = rp->in_block ? rp->ip : ++rp->ip;
		rp->res->events++;
		rp->res->host_events++;
		if (s2hyp_scenario_add_host(&rp->gsc, &op))
			return s2trace__bad(rp, ev->line, "out of memory");
		return 0;
	}
	case S2T_SECTION:
		return 0;
	case S2T_EXPECT:
		if (!s2trace__grow((void **)&rp->gexp, &rp->gexp_cap, sizeof(*ev), rp->ngexp + 1))
			return s2trace__bad(rp, ev->line, "out of memory");
		rp->gexp[rp->ngexp++] = *ev;
		return 0;
	default:
		return s2trace__bad(rp, ev->line, "a guest-code trace holds host events and expectations "
					 "only: its vCPUs run the image");
	}
}

/* The image beside the trace first (so that a trace replays from any
 * directory), else the path as written, from the current directory. */
static int load_image(struct replay *rp, const char *trace, uint8_t **data, size_t *n)
{
	char path[2048];
	s2_path_beside(trace, rp->guest_image, path, sizeof(path));
	if (!s2_read_file(path, data, n))
		return 0;
	return s2_read_file(rp->guest_image, data, n);
}

void s2trace__run_guest(struct replay *rp, const char *trace)
{
	uint8_t *image = NULL;
	size_t size = 0;
	char err[300];
	struct s2guest_config gc;
	struct s2guest *g;

	if (load_image(rp, trace, &image, &size)) {
		s2trace__bad(rp, rp->guest_line, "cannot read the guest image %s", rp->guest_image);
		return;
	}
	if (size != rp->guest_size) {
		s2trace__bad(rp, rp->guest_line, "the guest image %s has %zu bytes, not the %llu recorded",
		    rp->guest_image, size, (unsigned long long)rp->guest_size);
		free(image);
		return;
	}
	s2guest_config_init(&gc);
	s2trace__machine_config(rp, &gc.machine);
	memcpy(gc.slots, rp->sc.slots, sizeof(gc.slots));
	gc.nr_slots = rp->sc.nr_slots;
	gc.host = rp->gsc.host;
	gc.nhost = rp->gsc.nhost;
	gc.image = image;
	gc.image_size = size;
	gc.load_ipa = rp->guest_load;
	gc.entry_ipa = rp->guest_entry;
	snprintf(rp->res->guest_image, sizeof(rp->res->guest_image), "%s", rp->guest_image);
	int ret = s2guest_create(&gc, &g, err, sizeof(err));
	free(image);
	if (ret) {
		/* A memslot the machine refuses is named by its own line. */
		unsigned c = s2trace_setup_culprit(&gc.machine, gc.slots, gc.nr_slots);
		if (c < gc.nr_slots)
			s2trace__bad(rp, rp->slot_line[c], "memslot %u: %s", c, err);
		else
			s2trace__bad(rp, rp->guest_line, "%s", err);
		return;
	}
	s2trace__strategy(rp);
	if (rp->opts && rp->opts->observer)
		s2hyp_set_observer(s2guest_machine(g), rp->opts->observer);
	enum s2hyp_outcome o = s2guest_run(g, &rp->st);
	rp->res->outcome = o;
	rp->m = s2guest_machine(g);
	if (o != S2HYP_DONE)
		s2trace__failure(rp, 0, o == S2HYP_DIVERGED || rp->rp.diverged ?
			"the schedule diverged: it names a choice that is not possible at that point" :
			"the guest run stopped early: %s", s2hyp_error(rp->m));
	else if (rp->nsched && rp->rp.pos < rp->nsched && !s2trace__checking_fix(rp))
		s2trace__failure(rp, 0, "the schedule has %zu of its %zu choices left unused at the end",
			rp->nsched - rp->rp.pos, rp->nsched);
	for (size_t i = 0; i < rp->ngexp; i++)
		s2trace__check_expect(rp, &rp->gexp[i]);
	s2trace__finish_result(rp);
	rp->m = NULL;
	s2guest_delete(g);
}

