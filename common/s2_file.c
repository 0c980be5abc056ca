#include "common/s2_file.h"

#include <stdio.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_err.h"

#define S2_FILE_MAX (1ull << 30)

int s2_read_file(const char *path, uint8_t **data, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return S2_EIO;
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	int ret = buf ? 0 : S2_ENOMEM;
	while (!ret) {
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (len < cap)
			break;
		uint8_t *p = cap < S2_FILE_MAX ? realloc(buf, cap * 2) : NULL;
		if (!p) {
			ret = S2_ENOMEM;
			break;
		}
		buf = p;
		cap *= 2;
	}
	if (!ret && ferror(f))
		ret = S2_EIO;
	fclose(f);
	if (ret) {
		free(buf);
		return ret;
	}
	*data = buf;
	*n = len;
	return 0;
}

void s2_path_beside(const char *file, const char *path, char *out, size_t n)
{
	const char *slash = strrchr(file, '/');

	if (path[0] == '/' || !slash)
		snprintf(out, n, "%s", path);
	else
		snprintf(out, n, "%.*s/%s", (int)(slash - file), file, path);
}

int s2_path_relative_to(const char *file, const char *target, char *out, size_t n)
{
	char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	const char *slash = strrchr(file, '/');

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == file)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	if (!realpath(dir, from) || !realpath(target, to))
		return S2_EIO;
	/* The longest common prefix that ends at a directory boundary. */
	size_t common = 0;
	for (size_t i = 0;; i++) {
		bool end_from = !from[i] || from[i] == '/', end_to = !to[i] || to[i] == '/';
		if (end_from && end_to)
			common = i;
		if (!from[i] || !to[i] || from[i] != to[i])
			break;
	}
	size_t len = 0;
	out[0] = 0;
	/* One ".." for each directory of `from` below the common prefix. */
	for (const char *p = from + common; *p; p++) {
		if (*p == '/' && p[1]) {
			int w = snprintf(out + len, n - len, "../");
			if (w < 0 || (size_t)w >= n - len)
				return S2_EINVAL;
			len += (size_t)w;
		}
	}
	const char *rest = to + common + (to[common] == '/');
	int w = snprintf(out + len, n - len, "%s", rest);
	if (w < 0 || (size_t)w >= n - len)
		return S2_EINVAL;
	return 0;
}
