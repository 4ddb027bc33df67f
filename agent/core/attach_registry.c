/* attach_registry.c - the agent's BPF links by kernel id, checked still attached. See
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

static void prog_name(uint32_t prog_id, char *out, size_t size)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(prog_id);

	memset(&info, 0, sizeof(info));
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(out, size, "%s", info.name);
	else
		snprintf(out, size, "prog#%u", prog_id);
	if (fd >= 0)
		close(fd);
}

int attach_registry_add(struct gw_attach_registry *r, int link_fd, int target_fd)
{
	struct bpf_link_info info;
	struct gw_attached *e;
	int err;

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
	e->own_fd = -1;
	e->target_fd = -1;
	if (info.type == BPF_LINK_TYPE_CGROUP && target_fd >= 0 &&
	    (e->target_fd = fcntl(target_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		r->not_registered++;
		return -errno;
	}
	prog_name(e->prog_id, e->name, sizeof(e->name));
	r->n++;
	return 0;
}

/* What is wrong with e's link now, NULL if nothing. */
static const char *loss_of(const struct gw_attached *e)
{
	struct bpf_link_info info;
	int fd = bpf_link_get_fd_by_id(e->link_id), prog_fd;
	const char *what = NULL;

	if (fd < 0)
		return "gone";
	if (link_info(fd, &info))
		what = "unreadable";
	else if (info.prog_id != e->prog_id)
		what = "running another program";
	else if (info.type == BPF_LINK_TYPE_CGROUP && !info.cgroup.cgroup_id)
		what = "detached from its cgroup";
	close(fd);
	if (what)
		return what;
	prog_fd = bpf_prog_get_fd_by_id(e->prog_id);
	if (prog_fd < 0)
		return "its program is gone";
	close(prog_fd);
	return NULL;
}

/* Attaches e's program to its cgroup again; the new link's id, 0 when it cannot be. */
static uint32_t reattach(struct gw_attached *e)
{
	struct bpf_link_info info;
	int prog_fd, fd;

	if (e->type != BPF_LINK_TYPE_CGROUP || e->target_fd < 0)
		return 0;
	prog_fd = bpf_prog_get_fd_by_id(e->prog_id);
	if (prog_fd < 0)
		return 0;
	fd = bpf_link_create(prog_fd, e->target_fd, e->attach_type, NULL);
	close(prog_fd);
	if (fd < 0)
		return 0;
	if (link_info(fd, &info)) {
		close(fd);
		return 0;
	}
	if (e->own_fd >= 0)
		close(e->own_fd);
	e->own_fd = fd;
	return info.id;
}

int attach_registry_check(struct gw_attach_registry *r,
			  void (*lost)(const struct gw_attach_loss *l, void *ctx), void *ctx)
{
	int n = 0;

	for (int i = 0; i < r->n; i++) {
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
	for (int i = 0; i < r->n; i++) {
		if (r->e[i].own_fd >= 0)
			close(r->e[i].own_fd);
		if (r->e[i].target_fd >= 0)
			close(r->e[i].target_fd);
	}
	r->n = 0;
}
