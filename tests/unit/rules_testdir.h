/*
 * rules_testdir.h - helpers shared by the rules unit tests: where the shipped rules/ directory is
 * and how to write throw-away rule files.
 */
#ifndef GW_RULES_TESTDIR_H
#define GW_RULES_TESTDIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The repo's rules/: from the repo root (make test), else relative to build/tests/<binary>. */
static inline const char *shipped_rules_dir(void)
{
	static char path[PATH_MAX + 32];
	char exe[PATH_MAX];
	ssize_t n;

	if (access("rules/rmm.yaml", R_OK) == 0)
		return "rules";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');

			if (!slash)
				break;
			*slash = 0;
			snprintf(path, sizeof(path), "%s/rules/rmm.yaml", exe);
			if (access(path, R_OK) == 0) {
				snprintf(path, sizeof(path), "%s/rules", exe);
				return path;
			}
		}
	}
	return "rules";
}

static inline void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static inline char *make_temp_dir(void)
{
	char tmpl[] = "/tmp/gw-rules-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static inline void remove_temp_dir(char *dir)
{
	char cmd[PATH_MAX + 32];

	if (!dir)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(dir);
}

#endif
