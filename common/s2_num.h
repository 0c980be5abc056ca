/* s2_num: the one number parser of the tree, for trace keys, importers'
 * fields, schedule words and command-line values. Unsigned 64-bit numbers:
 * decimal, or hexadecimal after 0x; no sign, no space. */
#ifndef S2_NUM_H
#define S2_NUM_H

#include <stdint.h>

#define S2_NUM_SIZE 1u	/* a K, M or G suffix (either case, powers of 1024) may follow */
#define S2_NUM_DEC 2u	/* decimal only: no 0x */
#define S2_NUM_HEX 4u	/* hexadecimal, with or without 0x */

/* The number at the start of *s; *s is advanced past it (and its suffix).
 * 0; S2_EPARSE when no number starts there; S2_ERANGE when it does not fit
 * in 64 bits. */
int s2_scan_u64(const char **s, unsigned flags, uint64_t *out);
/* All of s is one number: as s2_scan_u64, and S2_EPARSE when anything
 * follows it. *out is untouched on error. */
int s2_parse_u64(const char *s, unsigned flags, uint64_t *out);

#endif
