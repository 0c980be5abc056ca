/* s2_file: reading a whole file, for guest images. */
#ifndef S2_FILE_H
#define S2_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The whole file in a malloc'd buffer (freed by the caller). S2_EIO when it
 * cannot be opened or read, S2_ENOMEM past 1 GiB or out of memory; an empty
 * file succeeds with *n = 0. */
int s2_read_file(const char *path, uint8_t **data, size_t *n);

/* The path of `target` relative to the directory that holds `file` (which
 * need not exist yet; its directory must), for a file that names another
 * file beside it. Both are resolved with realpath first. S2_EIO when either
 * cannot be resolved, S2_EINVAL when the result does not fit in n. */
int s2_path_relative_to(const char *file, const char *target, char *out, size_t n);

/* path resolved against the directory of `file` ("dir/of/file" + path):
 * path itself when it is absolute or file has no directory part. */
void s2_path_beside(const char *file, const char *path, char *out, size_t n);

#endif
