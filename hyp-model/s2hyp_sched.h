/* The scheduler (sched.c), inside hyp-model: threads, choices, strategies.
 * The API's side of it (s2hyp_run, strategies, recorded schedules) is in
 * s2hyp.h; this is what creating a machine needs. The scheduler is the top
 * of hyp-model's machine: it calls the machine, KVM and drivers, and
 * nothing below calls it except through the machine's sched_point. */
#ifndef S2HYP_SCHED_H
#define S2HYP_SCHED_H

#include "hyp-model/s2hyp_internal.h"

/* The scheduler's state of m (m->sch); false when out of memory. */
bool s2hyp__sched_init(struct s2hyp *m);
/* As s2hyp__sched_init leaves it, fibers' stacks and the log's memory kept. */
void s2hyp__sched_reset(struct s2hyp *m);
void s2hyp__sched_fini(struct s2hyp *m);

#endif
