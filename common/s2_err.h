/* s2_err: the error codes every module returns (0 is success, errors are
 * negative), generated from one table with their names and messages. */
#ifndef S2_ERR_H
#define S2_ERR_H

/*    id            name        message */
#define S2_ERR_TABLE(X) \
	X(S2_EAGAIN,   "EAGAIN",   "nothing to do: the entry already holds this mapping or only permissions differ") \
	X(S2_ENOMEM,   "ENOMEM",   "out of memory: the memcache has no page left") \
	X(S2_ERANGE,   "ERANGE",   "address range outside the IPA space") \
	X(S2_EINVAL,   "EINVAL",   "invalid argument") \
	X(S2_E2BIG,    "E2BIG",    "a block does not fit here (internal to the map walk)") \
	X(S2_ENOENT,   "ENOENT",   "no such entry") \
	X(S2_EBUSY,    "EBUSY",    "resource busy") \
	X(S2_EFAULT,   "EFAULT",   "bad address") \
	X(S2_EIO,      "EIO",      "input/output error") \
	X(S2_EPARSE,   "EPARSE",   "malformed input") \
	X(S2_EEXIST,   "EEXIST",   "already exists") \
	X(S2_EACCES,   "EACCES",   "permission denied")

/* Ordinals 1..N, so that each error is the negative of its row number. */
enum s2_err_ord_ {
	S2_ERR_ORD_NONE_ = 0,
#define S2_ERR_ORD(id, name, msg) id##_ORD_,
	S2_ERR_TABLE(S2_ERR_ORD)
#undef S2_ERR_ORD
	S2_ERR_ORD_END_
};
#define S2_ERR_COUNT (S2_ERR_ORD_END_ - 1)

enum s2_err {
	S2_OK = 0,
#define S2_ERR_ENUM(id, name, msg) id = -(int)id##_ORD_,
	S2_ERR_TABLE(S2_ERR_ENUM)
#undef S2_ERR_ENUM
};

/* "EAGAIN" for S2_EAGAIN, "OK" for 0, "E?" for anything else. */
const char *s2_err_name(int err);
/* One-line human message. */
const char *s2_err_msg(int err);

#endif
