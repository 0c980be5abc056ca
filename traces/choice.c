/* Schedule choices as text: the one syntax of a schedule's words, which the
 * trace reader and writer, the fuzzer's reports and the command share
 * (hyp-model/ parses no text). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/s2_err.h"
#include "common/s2_num.h"
#include "traces/s2trace.h"


int s2trace_format_choice(char *buf, size_t size, const struct s2hyp_choice *c)
{
	switch (c->kind) {
	case S2HYP_CH_HYP: return snprintf(buf, size, "hyp");
	case S2HYP_CH_HOST: return snprintf(buf, size, "host");
	case S2HYP_CH_VCPU:
		/* The quantum of a driven vCPU; a program's step has none. */
		if (c->arg)
			return snprintf(buf, size, "v%u:%u", c->vcpu, c->arg);
		return snprintf(buf, size, "v%u", c->vcpu);
	case S2HYP_CH_PREFETCH: return snprintf(buf, size, "prefetch:v%u:%u", c->vcpu, c->arg);
	case S2HYP_CH_TLB_EVICT: return snprintf(buf, size, "tlb-evict:v%u:%u", c->vcpu, c->arg);
	case S2HYP_CH_DC_EVICT: return snprintf(buf, size, "dc-evict:%u", c->arg);
	case S2HYP_CH_RCU: return snprintf(buf, size, "rcu");
	}
	return snprintf(buf, size, "?");
}

void s2trace_print_choice(FILE *f, const struct s2hyp_choice *c)
{
	char buf[48];
	s2trace_format_choice(buf, sizeof(buf), c);
	fputs(buf, f);
}

/* Digits only, decimal, within max; advances *s past them. */
static bool parse_uint(const char **s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *p = *s;
	if (s2_scan_u64(&p, S2_NUM_DEC, &v) || v > max)
		return false;
	*s = p;
	*out = v;
	return true;
}

static bool parse_vcpu_arg(const char *p, bool with_arg, struct s2hyp_choice *c)
{
	uint64_t v, a = 0;
	if (*p++ != 'v' || !parse_uint(&p, S2HYP_MAX_VCPUS - 1, &v))
		return false;
	if (with_arg && (*p++ != ':' || !parse_uint(&p, UINT32_MAX, &a)))
		return false;
	c->vcpu = (uint8_t)v;
	c->arg = (uint32_t)a;
	return *p == '\0';
}

int s2trace_parse_choice(const char *s, struct s2hyp_choice *c)
{
	uint64_t a;

	*c = (struct s2hyp_choice){ 0 };
	if (!strcmp(s, "hyp")) {
		c->kind = S2HYP_CH_HYP;
		return 0;
	}
	if (!strcmp(s, "host")) {
		c->kind = S2HYP_CH_HOST;
		return 0;
	}
	if (!strcmp(s, "rcu")) {
		c->kind = S2HYP_CH_RCU;
		return 0;
	}
	if (s[0] == 'v' && (parse_vcpu_arg(s, false, c) || parse_vcpu_arg(s, true, c))) {
		c->kind = S2HYP_CH_VCPU;
		return 0;
	}
	if (!strncmp(s, "prefetch:", 9) && parse_vcpu_arg(s + 9, true, c)) {
		c->kind = S2HYP_CH_PREFETCH;
		return 0;
	}
	if (!strncmp(s, "tlb-evict:", 10) && parse_vcpu_arg(s + 10, true, c)) {
		c->kind = S2HYP_CH_TLB_EVICT;
		return 0;
	}
	const char *p = s + 9;
	if (!strncmp(s, "dc-evict:", 9) && parse_uint(&p, UINT32_MAX, &a) && !*p) {
		c->kind = S2HYP_CH_DC_EVICT;
		c->arg = (uint32_t)a;
		return 0;
	}
	*c = (struct s2hyp_choice){ 0 };
	return S2_EPARSE;
}
