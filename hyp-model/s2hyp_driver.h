/* Driven vCPUs (driver.c), inside hyp-model: guest code run between
 * scheduler steps. The driver side works on the machine (s2hyp_internal.h);
 * the scheduler (sched.c) calls it. */
#ifndef S2HYP_DRIVER_H
#define S2HYP_DRIVER_H

#include "hyp-model/s2hyp_internal.h"

/* Run v's driver; true when it handed over an access (now v->prog[0]). */
bool s2hyp__drv_next(struct s2hyp *m, struct vcpu *v);
/* v's handed-over access was an MMIO exit: the driver completes it. */
void s2hyp__drv_finish(struct s2hyp *m, struct vcpu *v);

#endif
