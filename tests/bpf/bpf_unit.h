/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * bpf_unit.h - the runner side of the BPF unit tests: a table of named cases, each run in its own
 * process by tests/bpf/test_bpf_units.py, and the checks they report failures with.
 *
 * A runner (tests/bpf/test_<module>.c) loads its test object (tests/bpf/test_<module>.bpf.c, which
 * includes the bpf/lib header under test), feeds it synthetic inputs through BPF_PROG_TEST_RUN and
 * checks what the logic left in its maps. `runner --list` names the cases; `runner CASE` runs one
 * and exits 0 when it passed.
 */
#ifndef GW_BPF_UNIT_H
#define GW_BPF_UNIT_H

#include <stdint.h>
#include <stdio.h>

struct bpf_unit_case {
	const char *name;
	int (*run)(void);	/* 0: passed */
};

/* Fails the running case (returns 1 from it) with where and why. */
#define UNIT_CHECK(cond, ...)                                                                   \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                            \
			fputc('\n', stderr);                                                     \
			return 1;                                                               \
		}                                                                               \
	} while (0)

/* Each side evaluated once, `got` first. */
#define UNIT_EQ(got, want)                                                                      \
	do {                                                                                    \
		uint64_t got_ = (uint64_t)(got), want_ = (uint64_t)(want);                      \
		UNIT_CHECK(got_ == want_, "%s = %llu, want %llu", #got,                         \
			   (unsigned long long)got_, (unsigned long long)want_);                 \
	} while (0)

/* Runs one program of a loaded object with `args` as its raw_tp arguments; its return value. */
int bpf_unit_run(int prog_fd, const uint64_t *args, unsigned int nargs, uint32_t *retval);

/* The sum over CPUs of entry `key` of a per-CPU array of __u64. */
int bpf_unit_percpu_sum(int map_fd, uint32_t key, uint64_t *sum);

int bpf_unit_main(int argc, char **argv, const struct bpf_unit_case *cases, unsigned int n);

#endif /* GW_BPF_UNIT_H */
