#include "device_hooks.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "device.skel.h"

const char *device_signal_name(enum gw_device_signal sig)
{
	static const char *const names[GW_DEVSIG_COUNT] = { "device_usb", "device_hid",
							    "device_input" };

	return (unsigned)sig < GW_DEVSIG_COUNT ? names[sig] : "device_?";
}

const char *device_source_name(enum gw_device_source src)
{
	switch (src) {
	case GW_DEVSRC_FENTRY: return "fentry";
	case GW_DEVSRC_KPROBE: return "kprobe";
	case GW_DEVSRC_UEVENT: return "uevent";
	case GW_DEVSRC_SYSFS: return "sysfs";
	default: return "none";
	}
}

const char *device_hook_name(enum gw_device_signal sig, enum gw_device_source src)
{
	static const char *const fentry[GW_DEVSIG_COUNT] = {
		"fexit/usb_new_device", "fexit/hid_add_device", "fexit/input_register_device" };
	static const char *const kprobe[GW_DEVSIG_COUNT] = {
		"kretprobe/usb_new_device", "kretprobe/hid_add_device",
		"kretprobe/input_register_device" };

	if ((unsigned)sig >= GW_DEVSIG_COUNT)
		return "?";
	if (src == GW_DEVSRC_FENTRY)
		return fentry[sig];
	if (src == GW_DEVSRC_KPROBE)
		return kprobe[sig];
	return device_source_name(src);
}

/*
 * Each signal's flavours in the order they are tried, with the supported kernel or configuration
 * that needs each. A kernel that refuses both (this build host: fentry EPERM, no kprobes) leaves
 * the signal to the uevent listener.
 */
static const char *const usb_fentry[] = { "gw_usb_new_fexit", "gw_usb_disconnect_fentry", NULL };
static const char *const usb_kprobe[] = { "gw_usb_new_kprobe", "gw_usb_new_kretprobe",
					  "gw_usb_disconnect_kprobe", NULL };
static const char *const hid_fentry[] = { "gw_hid_add_fexit", "gw_hid_destroy_fentry", NULL };
static const char *const hid_kprobe[] = { "gw_hid_add_kprobe", "gw_hid_add_kretprobe",
					  "gw_hid_destroy_kprobe", NULL };
static const char *const input_fentry[] = { "gw_input_register_fexit",
					    "gw_input_unregister_fentry", NULL };
static const char *const input_kprobe[] = { "gw_input_register_kprobe",
					    "gw_input_register_kretprobe",
					    "gw_input_unregister_kprobe", NULL };

#define NEEDS_FENTRY "distro kernels with BPF trampolines (5.5+) and module BTF (usbcore, hid)"
#define NEEDS_KPROBE "kernels that refuse fentry: RHEL 8 without trampolines, lockdown or an LSM " \
	"denying tracing programs"

static const struct hook_flavour flavours[GW_DEVSIG_COUNT][2] = {
	[GW_DEVSIG_USB] = { { "fentry", NEEDS_FENTRY, usb_fentry },
			    { "kprobe", NEEDS_KPROBE, usb_kprobe } },
	[GW_DEVSIG_HID] = { { "fentry", NEEDS_FENTRY, hid_fentry },
			    { "kprobe", NEEDS_KPROBE, hid_kprobe } },
	[GW_DEVSIG_INPUT] = { { "fentry", NEEDS_FENTRY, input_fentry },
			      { "kprobe", NEEDS_KPROBE, input_kprobe } },
};

struct device_load {
	const struct gw_hooks *h;
	const struct gw_hook_options *opt;
	struct gw_device *skel;
};

/* hook_chain_open_fn: the object with the chains' current programs; none (ENOENT) when every
 * chain is refused without a load. */
static struct bpf_object_skeleton *device_open(void *ctx, struct hook_chain *ch, int n)
{
	struct device_load *l = ctx;
	struct bpf_program *prog;
	bool any = false;
	int err;

	gw_device__destroy(l->skel);
	l->skel = NULL;
	for (int i = 0; i < n; i++)
		any = any || hook_chain_current(&ch[i]);
	if (!any) {
		errno = ENOENT;
		return NULL;
	}
	l->skel = gw_device__open();
	if (!l->skel)
		return NULL;
	bpf_object__for_each_program(prog, l->skel->obj) {
		bool wanted = false;

		for (int i = 0; i < n && !wanted; i++)
			wanted = hook_chain_wants(&ch[i], bpf_program__name(prog));
		bpf_program__set_autoload(prog, wanted);
	}
	l->skel->rodata->gw_wakeup_bytes = l->opt->wakeup_bytes;
	err = hooks_share_maps(l->h, l->skel->obj);
	if (err) {
		errno = err < 0 ? -err : err;
		return NULL;
	}
	return l->skel->skeleton;
}

static void detach_signal(struct gw_device_hooks *dh, int sig)
{
	for (int i = 0; i < GW_DEVICE_SIGNAL_PROGS; i++) {
		bpf_link__destroy(dh->links[sig][i]);
		dh->links[sig][i] = NULL;
	}
}

/* Attaches each chain's current flavour; false when the kernel would not attach one of them,
 * whose flavour is then refused (the object must be loaded again without it). */
static bool attach_signals(struct gw_device_hooks *dh, struct hook_chain *ch)
{
	bool all = true;

	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++) {
		const struct hook_flavour *f = hook_chain_current(&ch[sig]);

		for (int i = 0; f && f->progs[i] && i < GW_DEVICE_SIGNAL_PROGS; i++) {
			struct bpf_program *p = bpf_object__find_program_by_name(dh->skel->obj,
										 f->progs[i]);

			dh->links[sig][i] = p ? bpf_program__attach(p) : NULL;
			if (!dh->links[sig][i]) {
				int err = p ? -errno : -ENOENT;

				detach_signal(dh, sig);
				if (p)
					hook_chain_refuse_attach(&ch[sig], p, err);
				else
					hook_chain_refuse(&ch[sig], f->progs[i]);
				all = false;
				break;
			}
		}
	}
	return all;
}

void device_hooks_load(struct gw_device_hooks *dh, struct gw_hooks *h,
		       const struct gw_hook_options *opt, enum gw_device_mode mode)
{
	int first = mode == GW_DEVMODE_KPROBE ? 1 : 0, n = mode == GW_DEVMODE_AUTO ? 2 : 1;
	struct hook_chain ch[GW_DEVSIG_COUNT];
	struct device_load l = { .h = h, .opt = opt };
	char msg[HOOK_CHAIN_WHY_MAX] = "";
	int err = 0;

	memset(dh, 0, sizeof(*dh));
	if (mode == GW_DEVMODE_UEVENT || h->events_fd < 0) {
		for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++)
			snprintf(dh->why[sig], sizeof(dh->why[sig]), "%s",
				 mode == GW_DEVMODE_UEVENT ? "BPF device hooks disabled" :
							     "no shared ring buffer");
		return;
	}
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++)
		ch[sig] = (struct hook_chain){ device_signal_name(sig), &flavours[sig][first], n, 0,
					       "" };
	/* each round refuses a flavour that would not attach, so this ends */
	for (;;) {
		err = hook_chain_load(ch, GW_DEVSIG_COUNT, &h->known, device_open, &l, msg, sizeof(msg));
		dh->skel = l.skel;
		if (err || attach_signals(dh, ch))
			break;
		device_hooks_close(dh);
		l.skel = NULL;
	}
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++) {
		const struct hook_flavour *f = err ? NULL : hook_chain_current(&ch[sig]);

		/* an error with a flavour still standing is the object's (a map), not a chain's */
		if (err && hook_chain_current(&ch[sig]))
			hook_chain_refuse(&ch[sig], msg);
		dh->live[sig] = !f ? GW_DEVSRC_NONE :
				f == &flavours[sig][0] ? GW_DEVSRC_FENTRY : GW_DEVSRC_KPROBE;
		snprintf(dh->why[sig], sizeof(dh->why[sig]), "%s", ch[sig].why);
	}
	/* err: every chain was refused without a load (ENOENT), or the object failed */
	if (err)
		device_hooks_close(dh);
}

void device_hooks_close(struct gw_device_hooks *dh)
{
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++)
		detach_signal(dh, sig);
	gw_device__destroy(dh->skel);
	dh->skel = NULL;
}
