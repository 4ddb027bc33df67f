// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * device.bpf.c - USB, HID and input device attach and detach, with the identity the kernel holds.
 *
 * Three signals, each in two flavours the agent chooses between at run time (fentry/fexit, else
 * kprobe/kretprobe; when both are refused it falls back to the uevent listener):
 *   usb:   usb_new_device (exit: the strings are read by usb_enumerate_device inside it, so they are
 *          NULL at entry) / usb_disconnect
 *   hid:   hid_add_device (exit: the driver has probed and parsed the descriptor) / hid_destroy_device
 *   input: input_register_device (exit) / input_unregister_device; the current task of a register
 *          is the process that created a uinput device.
 * usb_new_device is in usbcore.ko and hid_add_device in hid.ko: the programs can only be loaded
 * once those modules are, and libbpf finds their BTF by itself. struct hid_device is only in hid.ko's
 * BTF, so the few fields used are declared here and CO-RE matches them by name.
 * The kretprobe flavour has no arguments: the entry probe saves the pointer per thread.
 */
#include "gw_bpf_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct hid_device___gw {
	struct device dev;
	__u16 bus;
	__u32 vendor;
	__u32 product;
	__u32 version;
	unsigned int dev_rsize;
	char name[128];
	char phys[64];
	char uniq[64];
} __attribute__((preserve_access_index));

/* Entry pointers per thread for the kretprobe flavour; one map per function since they nest
 * (input_register_device runs inside hid_add_device inside usb_new_device, on one thread). LRU: a
 * kretprobe that never fires (maxactive exhausted) must not leave the map full for good. */
#define PTR_BY_TID_MAP(name)                                                                    \
	struct {                                                                                \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);                                            \
		__uint(max_entries, 1024);                                                      \
		__type(key, __u64);                                                             \
		__type(value, __u64);                                                           \
	} name SEC(".maps")

PTR_BY_TID_MAP(usb_new_by_tid);
PTR_BY_TID_MAP(hid_add_by_tid);
PTR_BY_TID_MAP(input_reg_by_tid);

/* How every device record opens (gw_events.h). */
struct device_record_head {
	struct gw_event_hdr hdr;
	struct gw_device_common dev;
};
_Static_assert(__builtin_offsetof(struct gw_usb_event, dev) ==
	       __builtin_offsetof(struct device_record_head, dev), "usb record head");
_Static_assert(__builtin_offsetof(struct gw_hid_event, dev) ==
	       __builtin_offsetof(struct device_record_head, dev), "hid record head");
_Static_assert(__builtin_offsetof(struct gw_input_event, dev) ==
	       __builtin_offsetof(struct device_record_head, dev), "input record head");

/*
 * Reserves a zeroed device record of `size` bytes and fills its header and the hook's part: the
 * task the hook ran in is enough for the agent to find it in its process table. NULL (the drop
 * counted under `drop`) when the ring is full.
 */
static __always_inline void *reserve_device_record(__u32 size, __u16 type, __u32 drop,
						   __u32 action, __u32 hook, int ret)
{
	struct device_record_head *h = gw_reserve(size, drop);

	if (!h)
		return NULL;
	__builtin_memset(h, 0, size);
	gw_fill_hdr(&h->hdr, type, size);
	h->dev.action = action;
	h->dev.hook = hook;
	h->dev.ret = ret;
	gw_fill_task_ids((struct task_struct *)bpf_get_current_task(), &h->dev.task);
	return h;
}

static __always_inline void read_str(char *dst, __u32 size, const char *src)
{
	if (src)
		bpf_probe_read_kernel_str(dst, size, src);
}

static __always_inline void emit_usb(struct usb_device *udev, __u32 action, __u32 hook, int ret)
{
	struct gw_usb_event *e;

	if (!udev)
		return;
	e = reserve_device_record(sizeof(*e), GW_EV_DEVICE_USB, GW_DROP_DEVICE_USB,
				  action, hook, ret);
	if (!e)
		return;
	e->vendor_id = BPF_CORE_READ(udev, descriptor.idVendor);
	e->product_id = BPF_CORE_READ(udev, descriptor.idProduct);
	e->bcd_device = BPF_CORE_READ(udev, descriptor.bcdDevice);
	e->bcd_usb = BPF_CORE_READ(udev, descriptor.bcdUSB);
	e->dev_class = BPF_CORE_READ(udev, descriptor.bDeviceClass);
	e->dev_subclass = BPF_CORE_READ(udev, descriptor.bDeviceSubClass);
	e->dev_protocol = BPF_CORE_READ(udev, descriptor.bDeviceProtocol);
	e->num_configurations = BPF_CORE_READ(udev, descriptor.bNumConfigurations);
	e->speed = (__u8)BPF_CORE_READ(udev, speed);
	e->level = BPF_CORE_READ(udev, level);
	e->portnum = BPF_CORE_READ(udev, portnum);
	e->busnum = BPF_CORE_READ(udev, bus, busnum);
	e->devnum = BPF_CORE_READ(udev, devnum);
	BPF_CORE_READ_STR_INTO(&e->devpath, udev, devpath);
	read_str(e->manufacturer, sizeof(e->manufacturer), BPF_CORE_READ(udev, manufacturer));
	read_str(e->product, sizeof(e->product), BPF_CORE_READ(udev, product));
	read_str(e->serial, sizeof(e->serial), BPF_CORE_READ(udev, serial));
	gw_submit(e);
}

static __always_inline void emit_hid(struct hid_device___gw *hdev, __u32 action, __u32 hook,
				     int ret)
{
	struct gw_hid_event *e;

	if (!hdev)
		return;
	e = reserve_device_record(sizeof(*e), GW_EV_DEVICE_HID, GW_DROP_DEVICE_HID,
				  action, hook, ret);
	if (!e)
		return;
	e->bus = BPF_CORE_READ(hdev, bus);
	e->vendor_id = BPF_CORE_READ(hdev, vendor);
	e->product_id = BPF_CORE_READ(hdev, product);
	e->version = BPF_CORE_READ(hdev, version);
	e->rsize = BPF_CORE_READ(hdev, dev_rsize);
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), hdev->name);
	bpf_probe_read_kernel_str(e->phys, sizeof(e->phys), hdev->phys);
	bpf_probe_read_kernel_str(e->uniq, sizeof(e->uniq), hdev->uniq);
	read_str(e->sysfs_name, sizeof(e->sysfs_name), BPF_CORE_READ(hdev, dev.kobj.name));
	read_str(e->parent_name, sizeof(e->parent_name), BPF_CORE_READ(hdev, dev.parent, kobj.name));
	gw_submit(e);
}

static __always_inline void emit_input(struct input_dev *dev, __u32 action, __u32 hook, int ret)
{
	struct gw_input_event *e;
	struct input_absinfo *abs;

	if (!dev)
		return;
	e = reserve_device_record(sizeof(*e), GW_EV_DEVICE_INPUT, GW_DROP_DEVICE_INPUT,
				  action, hook, ret);
	if (!e)
		return;
	e->bustype = BPF_CORE_READ(dev, id.bustype);
	e->vendor_id = BPF_CORE_READ(dev, id.vendor);
	e->product_id = BPF_CORE_READ(dev, id.product);
	e->version = BPF_CORE_READ(dev, id.version);
	e->has_parent = BPF_CORE_READ(dev, dev.parent) != NULL;
	e->ev_bits = BPF_CORE_READ(dev, evbit[0]);
	e->rel_bits = BPF_CORE_READ(dev, relbit[0]);
	e->abs_bits = BPF_CORE_READ(dev, absbit[0]);
	e->prop_bits = BPF_CORE_READ(dev, propbit[0]);
	bpf_probe_read_kernel(e->key_bits, sizeof(e->key_bits), &dev->keybit);
	abs = BPF_CORE_READ(dev, absinfo);
	if (abs && (e->abs_bits & 3) == 3) {
		e->abs_x_min = BPF_CORE_READ(abs, minimum);
		e->abs_x_max = BPF_CORE_READ(abs, maximum);
		e->abs_y_min = BPF_CORE_READ(&abs[1], minimum);
		e->abs_y_max = BPF_CORE_READ(&abs[1], maximum);
	}
	read_str(e->name, sizeof(e->name), BPF_CORE_READ(dev, name));
	read_str(e->phys, sizeof(e->phys), BPF_CORE_READ(dev, phys));
	read_str(e->uniq, sizeof(e->uniq), BPF_CORE_READ(dev, uniq));
	read_str(e->sysfs_name, sizeof(e->sysfs_name), BPF_CORE_READ(dev, dev.kobj.name));
	gw_submit(e);
}

static __always_inline void save_ptr(void *map, void *ptr)
{
	__u64 tid = bpf_get_current_pid_tgid(), p = (__u64)ptr;

	bpf_map_update_elem(map, &tid, &p, BPF_ANY);
}

static __always_inline void *take_ptr(void *map)
{
	__u64 tid = bpf_get_current_pid_tgid(), *p = bpf_map_lookup_elem(map, &tid), v;

	if (!p)
		return NULL;
	v = *p;
	bpf_map_delete_elem(map, &tid);
	return (void *)v;
}

/* ---- fentry/fexit ----------------------------------------------------------------------------- */

SEC("fexit/usb_new_device")
int BPF_PROG(gw_usb_new_fexit, struct usb_device *udev, int ret)
{
	emit_usb(udev, GW_DEV_ATTACH, GW_DEV_HOOK_FENTRY, ret);
	return 0;
}

/* usb_disconnect takes a struct usb_device **: the verifier does not let fentry read a
 * pointer-to-pointer argument from the context (6.1), so fetch it raw with bpf_get_func_arg (5.17+;
 * older kernels fall back to the kprobe flavour). */
SEC("fentry/usb_disconnect")
int gw_usb_disconnect_fentry(__u64 *ctx)
{
	struct usb_device *udev = NULL;
	__u64 pdev = 0;

	if (bpf_get_func_arg(ctx, 0, &pdev) || !pdev)
		return 0;
	bpf_probe_read_kernel(&udev, sizeof(udev), (void *)pdev);
	emit_usb(udev, GW_DEV_DETACH, GW_DEV_HOOK_FENTRY, 0);
	return 0;
}

SEC("fexit/hid_add_device")
int BPF_PROG(gw_hid_add_fexit, struct hid_device___gw *hdev, int ret)
{
	emit_hid(hdev, GW_DEV_ATTACH, GW_DEV_HOOK_FENTRY, ret);
	return 0;
}

SEC("fentry/hid_destroy_device")
int BPF_PROG(gw_hid_destroy_fentry, struct hid_device___gw *hdev)
{
	emit_hid(hdev, GW_DEV_DETACH, GW_DEV_HOOK_FENTRY, 0);
	return 0;
}

SEC("fexit/input_register_device")
int BPF_PROG(gw_input_register_fexit, struct input_dev *dev, int ret)
{
	emit_input(dev, GW_DEV_ATTACH, GW_DEV_HOOK_FENTRY, ret);
	return 0;
}

SEC("fentry/input_unregister_device")
int BPF_PROG(gw_input_unregister_fentry, struct input_dev *dev)
{
	emit_input(dev, GW_DEV_DETACH, GW_DEV_HOOK_FENTRY, 0);
	return 0;
}

/* ---- kprobe/kretprobe ------------------------------------------------------------------------- */

SEC("kprobe/usb_new_device")
int BPF_KPROBE(gw_usb_new_kprobe, struct usb_device *udev)
{
	save_ptr(&usb_new_by_tid, udev);
	return 0;
}

SEC("kretprobe/usb_new_device")
int BPF_KRETPROBE(gw_usb_new_kretprobe, int ret)
{
	emit_usb(take_ptr(&usb_new_by_tid), GW_DEV_ATTACH, GW_DEV_HOOK_KPROBE, ret);
	return 0;
}

SEC("kprobe/usb_disconnect")
int BPF_KPROBE(gw_usb_disconnect_kprobe, struct usb_device **pdev)
{
	struct usb_device *udev = NULL;

	bpf_probe_read_kernel(&udev, sizeof(udev), pdev);
	emit_usb(udev, GW_DEV_DETACH, GW_DEV_HOOK_KPROBE, 0);
	return 0;
}

SEC("kprobe/hid_add_device")
int BPF_KPROBE(gw_hid_add_kprobe, struct hid_device___gw *hdev)
{
	save_ptr(&hid_add_by_tid, hdev);
	return 0;
}

SEC("kretprobe/hid_add_device")
int BPF_KRETPROBE(gw_hid_add_kretprobe, int ret)
{
	emit_hid(take_ptr(&hid_add_by_tid), GW_DEV_ATTACH, GW_DEV_HOOK_KPROBE, ret);
	return 0;
}

SEC("kprobe/hid_destroy_device")
int BPF_KPROBE(gw_hid_destroy_kprobe, struct hid_device___gw *hdev)
{
	emit_hid(hdev, GW_DEV_DETACH, GW_DEV_HOOK_KPROBE, 0);
	return 0;
}

SEC("kprobe/input_register_device")
int BPF_KPROBE(gw_input_register_kprobe, struct input_dev *dev)
{
	save_ptr(&input_reg_by_tid, dev);
	return 0;
}

SEC("kretprobe/input_register_device")
int BPF_KRETPROBE(gw_input_register_kretprobe, int ret)
{
	emit_input(take_ptr(&input_reg_by_tid), GW_DEV_ATTACH, GW_DEV_HOOK_KPROBE, ret);
	return 0;
}

SEC("kprobe/input_unregister_device")
int BPF_KPROBE(gw_input_unregister_kprobe, struct input_dev *dev)
{
	emit_input(dev, GW_DEV_DETACH, GW_DEV_HOOK_KPROBE, 0);
	return 0;
}
