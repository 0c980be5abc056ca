/* s2_clock: monotonic time for progress lines and benchmarks. */
#ifndef S2_CLOCK_H
#define S2_CLOCK_H

#include <time.h>

static inline double s2_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double s2_now_ns(void)
{
	return s2_now_s() * 1e9;
}

#endif
