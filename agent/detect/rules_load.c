/*
 * rules_load.c - YAML rule files -> struct gw_ruleset, strictly validated. See rules_load.h and
 * rules/README.md for the format.
 */
#include "rules_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "common/yaml_doc.h"

static struct ruleset_priv *priv(struct gw_ruleset *rs)
{
	return (struct ruleset_priv *)rs;
}

/* ---- ruleset ----------------------------------------------------------------------------- */

struct gw_ruleset *gw_ruleset_new(void)
{
	struct ruleset_priv *p = calloc(1, sizeof(*p));

	return p ? &p->pub : NULL;
}

void gw_ruleset_free(struct gw_ruleset *rs)
{
	struct ruleset_priv *p;
	struct rule_index *e, *tmp;

	if (!rs)
		return;
	p = priv(rs);
	HASH_ITER(hh, p->by_id, e, tmp)
	{
		HASH_DEL(p->by_id, e);
		free(e);
	}
	for (size_t i = 0; i < rs->n; i++)
		rules_parse_free_fields(&rs->rules[i]);
	free(rs->rules);
	free(p->generations);
	free(p);
}

size_t gw_ruleset_enabled_count(const struct gw_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->rules[i].enabled;
	return n;
}

/* Adds r (taking ownership) or replaces the rule with its id from an earlier directory. */
static int ruleset_add(struct parse_ctx *c, yaml_node_t *n, struct gw_ruleset *rs,
		       struct gw_rule *r)
{
	struct ruleset_priv *p = priv(rs);
	struct rule_index *e;

	HASH_FIND_STR(p->by_id, r->id, e);
	if (e) {
		struct gw_rule *old = &rs->rules[e->idx];

		if (p->generations[e->idx] == p->generation)
			return yaml_doc_fail_at(&c->yd, n, "duplicate rule id %s (first defined at %s:%d)", r->id,
				    old->file, old->line);
		rules_parse_free_fields(old);
		*old = *r;
		p->generations[e->idx] = p->generation;
		return 0;
	}
	if (rs->n >= GW_RULES_MAX_RULES)
		return yaml_doc_fail_at(&c->yd, n, "more than %d rules", GW_RULES_MAX_RULES);
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct gw_rule *nr = realloc(rs->rules, cap * sizeof(*nr));
		int *ng;

		if (!nr)
			return yaml_doc_fail_at(&c->yd, n, "out of memory");
		rs->rules = nr;
		ng = realloc(p->generations, cap * sizeof(*ng));
		if (!ng)
			return yaml_doc_fail_at(&c->yd, n, "out of memory");
		p->generations = ng;
		rs->cap = cap;
	}
	e = malloc(sizeof(*e) + strlen(r->id) + 1);
	if (!e)
		return yaml_doc_fail_at(&c->yd, n, "out of memory");
	strcpy(e->id, r->id);
	e->idx = rs->n;
	HASH_ADD_STR(p->by_id, id, e);
	p->generations[rs->n] = p->generation;
	rs->rules[rs->n++] = *r;
	return 0;
}

static int parse_document(struct parse_ctx *c, struct gw_ruleset *rs)
{
	yaml_node_t *root = yaml_doc_root(&c->yd), *rules = NULL;
	struct kv kv[MAX_KEYS];
	size_t nkv;
	bool has_version = false;

	if (!root)
		return yaml_doc_fail_at(&c->yd, NULL, "empty rules file (expected 'version: 1' and 'rules:')");
	if (rules_yaml_visit(c, 1, &root) || rules_yaml_map(c, root, "the file", kv, &nkv))
		return -1;
	for (size_t i = 0; i < nkv; i++) {
		if (!strcmp(kv[i].key, "version")) {
			unsigned long v;

			if (rules_yaml_uint(c, kv[i].value, "version", 1000, &v))
				return -1;
			if (v != 1)
				return yaml_doc_fail_at(&c->yd, kv[i].value, "unsupported rules format version %lu (this "
							    "agent reads version 1)",
					    v);
			has_version = true;
		} else if (!strcmp(kv[i].key, "rules")) {
			rules = kv[i].value;
		} else {
			return rules_yaml_unknown_key(c, &kv[i], "the file", "version, rules");
		}
	}
	if (!has_version)
		return yaml_doc_fail_at(&c->yd, root, "missing 'version: 1'");
	if (!rules)
		return yaml_doc_fail_at(&c->yd, root, "missing 'rules:'");
	if (rules->type != YAML_SEQUENCE_NODE)
		return yaml_doc_fail_at(&c->yd, rules, "'rules' must be a list");
	for (yaml_node_item_t *it = rules->data.sequence.items.start;
	     it < rules->data.sequence.items.top; it++) {
		struct gw_rule r;
		yaml_node_t *rn;

		if (rules_yaml_visit(c, *it, &rn))
			return -1;
		if (rules_parse_rule(c, rn, &r)) {
			rules_parse_free_fields(&r);
			return -1;
		}
		r.file = strdup(c->yd.name);
		if (!r.file || ruleset_add(c, rn, rs, &r)) {
			rules_parse_free_fields(&r);
			return -1;
		}
	}
	return 0;
}

int gw_rules_parse_buffer(struct gw_ruleset *rs, const char *name, const char *data, size_t len,
			  bool override, char *err, size_t errlen)
{
	struct parse_ctx c = { 0 };
	int rc = -1;

	if (len > GW_RULES_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s:1: file is %zu bytes, larger than the limit of %u", name, len,
			 GW_RULES_MAX_FILE_BYTES);
		return -1;
	}
	if (override)
		priv(rs)->generation++;
	if (yaml_doc_load(&c.yd, name, data, len, err, errlen))
		goto out;
	c.n_nodes = yaml_doc_node_count(&c.yd);
	c.visited = calloc(c.n_nodes ? c.n_nodes : 1, 1);
	if (!c.visited) {
		yaml_doc_fail(&c.yd, 1, "out of memory");
		goto out;
	}
	rc = parse_document(&c, rs);
out:
	free(c.visited);
	yaml_doc_free(&c.yd);
	return rc;
}

/*
 * Rules decide what gets reported: a file or directory another user can write would let that user
 * switch detections off. Only the agent's own user (or root) may own them, and no group/other write.
 */
static int check_owner(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "%s:1: owned by uid %u, not by root or the agent's user", path,
			 (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s:1: writable by group or others (mode %04o)", path,
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

static int read_file(const char *path, bool strict_owner, char **data, size_t *len, char *err,
		     size_t errlen)
{
	struct stat st;
	ssize_t got;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "%s:1: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s:1: not a regular file", path);
		close(fd);
		return -1;
	}
	if (strict_owner && check_owner(path, &st, err, errlen)) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > GW_RULES_MAX_FILE_BYTES) {
		snprintf(err, errlen, "%s:1: file is %lld bytes, larger than the limit of %u", path,
			 (long long)st.st_size, GW_RULES_MAX_FILE_BYTES);
		close(fd);
		return -1;
	}
	*data = malloc((size_t)st.st_size + 1);
	if (!*data) {
		close(fd);
		snprintf(err, errlen, "%s:1: out of memory", path);
		return -1;
	}
	while (off < (size_t)st.st_size && (got = read(fd, *data + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)got;
	close(fd);
	(*data)[off] = 0;
	*len = off;
	return 0;
}

static int yaml_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	if (d->d_name[0] == '.')
		return 0;
	return (n > 5 && !strcmp(d->d_name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(d->d_name + n - 4, ".yml"));
}

static int load_dir(struct gw_ruleset *rs, const struct gw_rules_dir *dir, char *err,
		    size_t errlen)
{
	struct dirent **names = NULL;
	struct stat st;
	int n, rc = 0;

	if (dir->strict_owner && stat(dir->path, &st) == 0 &&
	    check_owner(dir->path, &st, err, errlen))
		return -1;
	n = scandir(dir->path, &names, yaml_name, alphasort);
	if (n < 0) {
		if (dir->optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s:1: cannot read rules directory: %s", dir->path,
			 strerror(errno));
		return -1;
	}
	if (n > GW_RULES_MAX_FILES) {
		snprintf(err, errlen, "%s:1: %d rule files, more than the limit of %d", dir->path, n,
			 GW_RULES_MAX_FILES);
		rc = -1;
	}
	priv(rs)->generation++;
	for (int i = 0; i < n; i++) {
		char path[4096];
		char *data = NULL;
		size_t len = 0;

		if (!rc) {
			snprintf(path, sizeof(path), "%s/%s", dir->path, names[i]->d_name);
			rc = read_file(path, dir->strict_owner, &data, &len, err, errlen) ||
			     gw_rules_parse_buffer(rs, path, data, len, false, err, errlen);
			rs->n_files += !rc;
			free(data);
		}
		free(names[i]);
	}
	free(names);
	return rc ? -1 : 0;
}

int gw_rules_load(const struct gw_rules_dir *dirs, size_t n_dirs, struct gw_ruleset **out,
		  char *err, size_t errlen)
{
	struct gw_ruleset *rs = gw_ruleset_new();

	if (!rs) {
		snprintf(err, errlen, "rules: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		if (load_dir(rs, &dirs[i], err, errlen)) {
			gw_ruleset_free(rs);
			return -1;
		}
	}
	*out = rs;
	return 0;
}
