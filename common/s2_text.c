#include <string.h>

#include "common/s2_text.h"

void s2_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char *s2_size_name(uint64_t bytes, char *buf, size_t n)
{
	if (bytes >= (1ull << 30) && !(bytes & ((1ull << 30) - 1)))
		snprintf(buf, n, "%lluG", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20) && !(bytes & ((1ull << 20) - 1)))
		snprintf(buf, n, "%lluM", (unsigned long long)(bytes >> 20));
	else if (bytes >= 1024 && !(bytes & 1023))
		snprintf(buf, n, "%lluK", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, n, "%llu", (unsigned long long)bytes);
	return buf;
}

int s2_find_name_by(const char *(*name)(unsigned i), const char *s)
{
	const char *n;

	for (unsigned i = 0; (n = name(i)); i++)
		if (!strcmp(n, s))
			return (int)i;
	return -1;
}

int s2_find_name(const void *table, unsigned n, size_t stride, const char *name)
{
	for (unsigned i = 0; i < n; i++) {
		const char *const *elem = (const void *)((const char *)table + i * stride);
		if (*elem && !strcmp(*elem, name))
			return (int)i;
	}
	return -1;
}
