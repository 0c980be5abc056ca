/* s2_file: reading a whole file, for guest images. */
#ifndef S2_FILE_H
#define S2_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The whole file in a malloc'd buffer (freed by the caller). S2_EIO when it
 * cannot be opened or read, S2_ENOMEM past 1 GiB or out of memory; an empty
 * file succeeds with *n = 0. */
int s2_read_file(const char *path, uint8_t **data, size_t *n);

#endif
