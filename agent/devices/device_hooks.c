#include "device_hooks.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The programs of one signal in one flavour (attach and detach side). */
static int signal_progs(struct gw_device *s, enum gw_device_signal sig, enum gw_device_source src,
			struct bpf_program *out[3])
{
	memset(out, 0, 3 * sizeof(out[0]));
	if (src == GW_DEVSRC_FENTRY) {
		out[0] = sig == GW_DEVSIG_USB ? s->progs.gw_usb_new_fexit :
			 sig == GW_DEVSIG_HID ? s->progs.gw_hid_add_fexit :
						s->progs.gw_input_register_fexit;
		out[1] = sig == GW_DEVSIG_USB ? s->progs.gw_usb_disconnect_fentry :
			 sig == GW_DEVSIG_HID ? s->progs.gw_hid_destroy_fentry :
						s->progs.gw_input_unregister_fentry;
		return 2;
	}
	out[0] = sig == GW_DEVSIG_USB ? s->progs.gw_usb_new_kprobe :
		 sig == GW_DEVSIG_HID ? s->progs.gw_hid_add_kprobe : s->progs.gw_input_register_kprobe;
	out[1] = sig == GW_DEVSIG_USB ? s->progs.gw_usb_new_kretprobe :
		 sig == GW_DEVSIG_HID ? s->progs.gw_hid_add_kretprobe :
					s->progs.gw_input_register_kretprobe;
	out[2] = sig == GW_DEVSIG_USB ? s->progs.gw_usb_disconnect_kprobe :
		 sig == GW_DEVSIG_HID ? s->progs.gw_hid_destroy_kprobe :
					s->progs.gw_input_unregister_kprobe;
	return 3;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Loads and attaches signals [first, last] in one flavour, as one instance; the instance on
 * success, NULL and errno else. */
static struct gw_device *try_flavour(const struct gw_hooks *h, const struct gw_hook_options *opt,
				     enum gw_device_signal first, enum gw_device_signal last,
				     enum gw_device_source src, const char **step)
{
	struct gw_device *skel = gw_device__open();
	struct bpf_program *prog, *progs[3];
	int n, err;

	*step = "open";
	if (!skel)
		return NULL;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	for (int sig = first; sig <= (int)last; sig++) {
		n = signal_progs(skel, sig, src, progs);
		for (int i = 0; i < n; i++)
			bpf_program__set_autoload(progs[i], true);
	}
	skel->rodata->gw_wakeup_bytes = opt->wakeup_bytes;
	err = hooks_share_maps(h, skel->maps.gw_events, skel->maps.gw_drops,
			       skel->maps.gw_reader_idle);
	if (!err) {
		*step = "load";
		err = gw_device__load(skel);
	}
	if (!err) {
		*step = "attach";
		err = gw_device__attach(skel);
	}
	if (err) {
		gw_device__destroy(skel);
		errno = err < 0 ? -err : err;
		return NULL;
	}
	return skel;
}

void device_hooks_load(struct gw_device_hooks *dh, const struct gw_hooks *h,
		       const struct gw_hook_options *opt, enum gw_device_mode mode)
{
	/* the refusals are expected and summarised in `why`; GW_BPF_VERBOSE=1 shows libbpf's log */
	bool verbose = getenv("GW_BPF_VERBOSE") != NULL;
	libbpf_print_fn_t old = verbose ? NULL : libbpf_set_print(silent_print);
	/*
	 * Refusals known without loading again (each load parses the kernel's BTF): fentry refused
	 * as a program type (EPERM at the load of every signal's), or no kprobes in this kernel
	 */
	bool fentry_eperm = false, have_kprobes = hooks_have_kprobes();

	memset(dh, 0, sizeof(*dh));
	/* Fast path: every signal in fentry as one object (one BTF parse instead of three). */
	if ((mode == GW_DEVMODE_AUTO || mode == GW_DEVMODE_FENTRY) && h->events_fd >= 0) {
		const char *step;
		struct gw_device *all = try_flavour(h, opt, 0, GW_DEVSIG_COUNT - 1, GW_DEVSRC_FENTRY,
						    &step);

		if (all) {
			dh->skel[0] = all;
			for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++)
				dh->live[sig] = GW_DEVSRC_FENTRY;
			goto out;
		}
		fentry_eperm = errno == EPERM && !strcmp(step, "load");
	}
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++) {
		size_t used = 0;

		if (mode == GW_DEVMODE_UEVENT) {
			snprintf(dh->why[sig], sizeof(dh->why[sig]), "BPF device hooks disabled");
			continue;
		}
		if (h->events_fd < 0) {
			snprintf(dh->why[sig], sizeof(dh->why[sig]), "no shared ring buffer");
			continue;
		}
		for (enum gw_device_source src = GW_DEVSRC_FENTRY; src <= GW_DEVSRC_KPROBE; src++) {
			const char *step;
			struct gw_device *skel;

			if ((mode == GW_DEVMODE_FENTRY && src != GW_DEVSRC_FENTRY) ||
			    (mode == GW_DEVMODE_KPROBE && src != GW_DEVSRC_KPROBE))
				continue;
			if (src == GW_DEVSRC_FENTRY && fentry_eperm) {
				step = "load";
				skel = NULL;
				errno = EPERM;
			} else if (src == GW_DEVSRC_KPROBE && !have_kprobes) {
				step = "attach";
				skel = NULL;
				errno = EOPNOTSUPP;
			} else {
				skel = try_flavour(h, opt, sig, sig, src, &step);
				if (!skel && src == GW_DEVSRC_FENTRY && errno == EPERM &&
				    !strcmp(step, "load"))
					fentry_eperm = true;
			}
			if (skel) {
				dh->skel[sig] = skel;
				dh->live[sig] = src;
				break;
			}
			if (used < sizeof(dh->why[sig]))
				used += (size_t)snprintf(dh->why[sig] + used,
							 sizeof(dh->why[sig]) - used,
							 "%s%s refused at %s: %s", used ? "; " : "",
							 device_source_name(src), step, strerror(errno));
		}
	}
out:
	if (!verbose)
		libbpf_set_print(old);
	malloc_trim(0); /* the loads' BTF parses: see hook_chain_load() */
}

void device_hooks_close(struct gw_device_hooks *dh)
{
	for (int sig = 0; sig < GW_DEVSIG_COUNT; sig++) {
		gw_device__destroy(dh->skel[sig]);
		dh->skel[sig] = NULL;
	}
}
