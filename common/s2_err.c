#include "common/s2_err.h"

static const char *const err_names[] = {
	"OK",
#define S2_ERR_NAME(id, name, msg) name,
	S2_ERR_TABLE(S2_ERR_NAME)
#undef S2_ERR_NAME
};

static const char *const err_msgs[] = {
	"success",
#define S2_ERR_MSG(id, name, msg) msg,
	S2_ERR_TABLE(S2_ERR_MSG)
#undef S2_ERR_MSG
};

const char *s2_err_name(int err)
{
	if (err > 0 || -err > S2_ERR_COUNT)
		return "E?";
	return err_names[-err];
}

const char *s2_err_msg(int err)
{
	if (err > 0 || -err > S2_ERR_COUNT)
		return "unknown error";
	return err_msgs[-err];
}
