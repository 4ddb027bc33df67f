/* integrity.c - digests of what the agent runs with. See integrity.h. */
#include "integrity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/agent.h"

static void to_hex(const unsigned char *md, unsigned int len, char out[INTEGRITY_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < len && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * (len < 32 ? len : 32)] = '\0';
}

int integrity_sha256_file(const char *path, char out[INTEGRITY_HEX_LEN])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int fd, rc = 0;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		rc = -ENOMEM;
	while (!rc && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		else if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			rc = -EIO;
	}
	if (!rc && !EVP_DigestFinal_ex(ctx, md, &md_len))
		rc = -EIO;
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (!rc)
		to_hex(md, md_len, out);
	return rc;
}

static char *arena_hex(struct gw_agent *a, const char *path)
{
	char hex[INTEGRITY_HEX_LEN];

	integrity_sha256_file(path, hex);
	return gw_arena_text(&a->arena, hex, sizeof(hex));
}

/* One digest over the rules files' paths and digests, in load order: any edit, addition,
 * removal or reordering changes it. */
static char *combined(struct gw_agent *a, Ghostwatch__V1__IntegrityFile **files, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char hex[INTEGRITY_HEX_LEN] = "";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, files[i]->path, strlen(files[i]->path) + 1) &&
		     EVP_DigestUpdate(ctx, files[i]->sha256, strlen(files[i]->sha256) + 1);
	if (ok && EVP_DigestFinal_ex(ctx, md, &md_len))
		to_hex(md, md_len, hex);
	EVP_MD_CTX_free(ctx);
	return gw_arena_text(&a->arena, hex, sizeof(hex));
}

Ghostwatch__V1__AgentIntegrity *integrity_build(struct gw_agent *a, const char *config_path)
{
	const struct gw_loaded_rules *lr = &a->rules_files;
	Ghostwatch__V1__AgentIntegrity *m = gw_arena_alloc(&a->arena, sizeof(*m));
	Ghostwatch__V1__IntegrityFile **files =
		gw_arena_alloc(&a->arena, (lr->n ? lr->n : 1) * sizeof(*files));
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!m || !files)
		return NULL;
	exe[n > 0 ? n : 0] = '\0';
	ghostwatch__v1__agent_integrity__init(m);
	m->binary_path = gw_arena_text(&a->arena, exe, sizeof(exe));
	m->binary_sha256 = arena_hex(a, "/proc/self/exe");
	m->config_path = gw_arena_text(&a->arena, config_path, PATH_MAX);
	m->config_sha256 = config_path[0] ? arena_hex(a, config_path) : (char *)"";
	for (size_t i = 0; i < lr->n; i++) {
		Ghostwatch__V1__IntegrityFile *f = gw_arena_alloc(&a->arena, sizeof(*f));

		if (!f)
			return NULL;
		ghostwatch__v1__integrity_file__init(f);
		f->path = gw_arena_text(&a->arena, lr->files[i], PATH_MAX);
		f->sha256 = arena_hex(a, lr->files[i]);
		if (!f->path || !f->sha256)
			return NULL;
		files[m->n_rules++] = f;
	}
	m->rules = files;
	m->rules_sha256 = combined(a, files, m->n_rules);
	m->rules_total = lr->total;
	m->rules_enabled = lr->enabled;
	if (!m->binary_path || !m->binary_sha256 || !m->config_path || !m->config_sha256 ||
	    !m->rules_sha256)
		return NULL;
	return m;
}
