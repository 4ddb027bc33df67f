/* attach_registry.c - the agent's BPF links, held and checked still attached. See
 * attach_registry.h. */
#include "attach_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static void prog_name(int prog_fd, uint32_t prog_id, char *out, size_t size)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (prog_fd >= 0 && !bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		snprintf(out, size, "%s", info.name);
	else
		snprintf(out, size, "prog#%u", prog_id);
}

static int dup_fd(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static void entry_close(struct gw_attached *e)
{
	if (e->link_fd >= 0)
		close(e->link_fd);
	if (e->prog_fd >= 0)
		close(e->prog_fd);
	if (e->target_fd >= 0)
		close(e->target_fd);
	e->link_fd = e->prog_fd = e->target_fd = -1;
}

static int add_locked(struct gw_attach_registry *r, int link_fd, int target_fd)
{
	struct bpf_link_info info;
	struct gw_attached *e;
	int err, prog_fd;

	if (r->n == GW_ATTACHED_MAX) {
		r->not_registered++;
		return -ENOSPC;
	}
	err = link_info(link_fd, &info);
	if (err) {
		r->not_registered++;
		return err;
	}
	e = &r->e[r->n];
	memset(e, 0, sizeof(*e));
	e->link_id = info.id;
	e->prog_id = info.prog_id;
	e->type = info.type;
	e->attach_type = info.type == BPF_LINK_TYPE_CGROUP ? info.cgroup.attach_type : 0;
	e->prog_fd = e->target_fd = -1;
	e->link_fd = dup_fd(link_fd);
	err = e->link_fd < 0 ? -errno : 0;
	if (!err && info.type == BPF_LINK_TYPE_CGROUP && target_fd >= 0) {
		e->target_fd = dup_fd(target_fd);
		e->prog_fd = bpf_prog_get_fd_by_id(e->prog_id);
		if (e->target_fd < 0 || e->prog_fd < 0)
			err = -errno;
	}
	if (err) {
		entry_close(e);
		r->not_registered++;
		return err;
	}
	prog_fd = e->prog_fd >= 0 ? e->prog_fd : bpf_prog_get_fd_by_id(e->prog_id);
	prog_name(prog_fd, e->prog_id, e->name, sizeof(e->name));
	if (prog_fd >= 0 && prog_fd != e->prog_fd)
		close(prog_fd);
	r->n++;
	return 0;
}

int attach_registry_add(struct gw_attach_registry *r, int link_fd, int target_fd)
{
	int err;

	if (r->lock)
		pthread_mutex_lock(r->lock);
	err = add_locked(r, link_fd, target_fd);
	if (r->lock)
		pthread_mutex_unlock(r->lock);
	return err;
}

/* What is wrong with e's link now, NULL if nothing. */
static const char *loss_of(const struct gw_attached *e)
{
	struct bpf_link_info info;

	if (link_info(e->link_fd, &info))
		return "unreadable";
	if (info.prog_id != e->prog_id)
		return "running another program";
	if (info.type == BPF_LINK_TYPE_CGROUP && !info.cgroup.cgroup_id)
		return "detached from its cgroup";
	return NULL;
}

/* Attaches e's program to its cgroup again; the new link's id, 0 when it cannot be. */
static uint32_t reattach(struct gw_attached *e)
{
	struct bpf_link_info info;
	int fd;

	if (e->type != BPF_LINK_TYPE_CGROUP || e->target_fd < 0 || e->prog_fd < 0)
		return 0;
	fd = bpf_link_create(e->prog_fd, e->target_fd, e->attach_type, NULL);
	if (fd < 0)
		return 0;
	if (link_info(fd, &info)) {
		close(fd);
		return 0;
	}
	close(e->link_fd);
	e->link_fd = fd;
	return info.id;
}

int attach_registry_check(struct gw_attach_registry *r,
			  void (*lost)(const struct gw_attach_loss *l, void *ctx), void *ctx)
{
	int n = 0, registered;

	/* entries are only appended, and only this check changes one once added */
	if (r->lock)
		pthread_mutex_lock(r->lock);
	registered = r->n;
	if (r->lock)
		pthread_mutex_unlock(r->lock);
	for (int i = 0; i < registered; i++) {
		struct gw_attached *e = &r->e[i];
		struct gw_attached was = *e;
		struct gw_attach_loss l = { &was, loss_of(e), 0 };

		if (!l.what)
			continue;
		n++;
		l.new_link_id = reattach(e);
		if (l.new_link_id)
			e->link_id = l.new_link_id;
		lost(&l, ctx);
	}
	return n;
}

void attach_registry_close(struct gw_attach_registry *r)
{
	for (int i = 0; i < r->n; i++)
		entry_close(&r->e[i]);
	r->n = 0;
}
