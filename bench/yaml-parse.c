/* SPDX-License-Identifier: Apache-2.0 */
/* The baseline of bench/validate-scale: a bare libyaml event parse of a file,
 * reading it the way sluice does (whole file in memory). */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

int main(int argc, char **argv)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t events = 0, len = 0, cap = 1 << 20, n;
	char *buf = malloc(cap);
	FILE *f;

	if (argc != 2 || !buf || !(f = fopen(argv[1], "rb")))
		return 2;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap && !(buf = realloc(buf, cap *= 2)))
			return 2;
	}
	fclose(f);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (unsigned char *)buf, len);
	do {
		if (!yaml_parser_parse(&p, &ev))
			return 1;
		events++;
		n = ev.type;
		yaml_event_delete(&ev);
	} while (n != YAML_STREAM_END_EVENT);
	yaml_parser_delete(&p);
	free(buf);
	printf("%zu events\n", events);
	return 0;
}
