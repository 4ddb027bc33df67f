// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* bpf_unit.c - case selection and the BPF_PROG_TEST_RUN calls the runners share. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_unit.h"

int bpf_unit_run(int prog_fd, const uint64_t *args, unsigned int nargs, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args,
		    .ctx_size_in = nargs * sizeof(args[0]));

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		return -1;
	}
	if (retval)
		*retval = opts.retval;
	return 0;
}

int bpf_unit_percpu_sum(int map_fd, uint32_t key, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	if (ncpu <= 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -1;
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		free(v);
		return -1;
	}
	*sum = 0;
	for (int i = 0; i < ncpu; i++)
		*sum += v[i];
	free(v);
	return 0;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int bpf_unit_main(int argc, char **argv, const struct bpf_unit_case *cases, unsigned int n)
{
	int failed = 0, ran = 0;

	libbpf_set_print(libbpf_quiet);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (unsigned int i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	for (unsigned int i = 0; i < n; i++) {
		int wanted = argc < 2;

		for (int a = 1; a < argc && !wanted; a++)
			wanted = !strcmp(argv[a], cases[i].name);
		if (!wanted)
			continue;
		ran++;
		if (cases[i].run()) {
			printf("not ok %s\n", cases[i].name);
			failed++;
		} else {
			printf("ok %s\n", cases[i].name);
		}
		fflush(stdout);
	}
	if (!ran) {
		fprintf(stderr, "no such case; --list names them\n");
		return 2;
	}
	return failed ? 1 : 0;
}
