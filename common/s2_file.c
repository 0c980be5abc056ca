#include "common/s2_file.h"

#include <stdio.h>
#include <stdlib.h>

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
