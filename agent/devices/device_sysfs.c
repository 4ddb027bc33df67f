#include "device_sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device_fingerprint.h"
#include "core/small_file.h"
#include "common/text_sanitize.h"

/* sysfs attributes we read are small; one page is the kernel's own limit for show() */
#define ATTR_MAX 4096

/* Attributes are read without following links: a symlink under a device is never an attribute. */
static ssize_t read_attr_raw(int dirfd, const char *attr, void *buf, size_t size)
{
	return gw_read_small_file(dirfd, attr, O_NOFOLLOW, buf, size);
}

/* A text attribute without its trailing newline, sanitized into dst; returns GW_TEXT_* flags. */
static unsigned read_attr_text(int dirfd, const char *attr, char *dst, size_t size)
{
	char raw[ATTR_MAX];
	ssize_t n = read_attr_raw(dirfd, attr, raw, sizeof(raw));

	dst[0] = '\0';
	if (n <= 0)
		return 0;
	if (raw[n - 1] == '\n')
		raw[--n] = '\0';
	return gw_text_sanitize(dst, size, raw, (size_t)n);
}

static unsigned long read_attr_ulong(int dirfd, const char *attr, int base, unsigned long dflt)
{
	char raw[64], *end;
	unsigned long v;

	if (read_attr_raw(dirfd, attr, raw, sizeof(raw)) <= 0)
		return dflt;
	errno = 0;
	v = strtoul(raw, &end, base);
	if (errno || end == raw || (*end && *end != '\n'))
		return dflt;
	return v;
}

static unsigned str_flags(unsigned text_flags)
{
	return (text_flags & GW_TEXT_ESCAPED ? GW_DEV_STR_ESCAPED : 0) |
	       (text_flags & GW_TEXT_TRUNCATED ? GW_DEV_STR_TRUNCATED : 0);
}

static int open_dir(const char *sysroot, const char *sub, const char *name)
{
	char path[GW_DEV_PATH_MAX];
	int fd;

	/* a name is one path component: nothing from a uevent may walk elsewhere */
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", sysroot, sub, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The USB device a sysfs device belongs to: the nearest "<bus>-<ports>" component of its real path.
 * Returns whether that path is a software device's (under /devices/virtual/). */
static bool usb_parent_of(int dirfd, char *out, size_t size)
{
	char self[64], real[GW_DEV_PATH_MAX];
	char *comp, *save = NULL;
	bool is_virtual;

	out[0] = '\0';
	snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(self, real, sizeof(real) - 1);
	if (n <= 0)
		return false;
	real[n] = '\0';
	is_virtual = strstr(real, "/devices/virtual/") != NULL;
	for (comp = strtok_r(real, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		const char *dash = strchr(comp, '-');

		/* "1-1.2" but not "1-1.2:1.0" (an interface) nor "card0-HDMI-A-1" */
		if (dash && dash > comp && !strchr(comp, ':') &&
		    strspn(comp, "0123456789") == (size_t)(dash - comp) &&
		    strspn(dash + 1, "0123456789.") == strlen(dash + 1) && dash[1])
			snprintf(out, size, "%s", comp);
	}
	return is_virtual;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of a directory that pass keep(); the caller frees each and the array. */
static int list_dir(int dirfd, bool (*keep)(const char *name, const void *arg), const void *arg,
		    char ***out)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **names = NULL;
	int n = 0, cap = 0;

	*out = NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !keep(de->d_name, arg))
			continue;
		if (n == cap) {
			int ncap = cap ? 2 * cap : 16;
			char **grown = realloc(names, (size_t)ncap * sizeof(*names));

			if (!grown)
				break;
			names = grown;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(names, (size_t)n, sizeof(*names), name_cmp);
	*out = names;
	return n;
}

static void free_list(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- HID ------------------------------------------------------------------------------------ */

static bool is_hid_name(const char *name, const void *arg)
{
	unsigned bus, vid, pid, seq;
	char tail;

	(void)arg;
	return sscanf(name, "%4x:%4x:%4x.%4x%c", &bus, &vid, &pid, &seq, &tail) == 4;
}

static int read_hid_dir(int fd, const char *name, struct gw_hid_info *h)
{
	unsigned bus = 0, vid = 0, pid = 0, seq = 0;
	char uevent[ATTR_MAX];
	ssize_t n;

	memset(h, 0, offsetof(struct gw_hid_info, descriptor));
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (sscanf(name, "%4x:%4x:%4x.%4x", &bus, &vid, &pid, &seq) == 4) {
		h->bus = (uint16_t)bus;
		h->vendor_id = vid;
		h->product_id = pid;
	}
	/* HID_NAME, HID_PHYS and HID_UNIQ only exist in the device's uevent attribute */
	n = read_attr_raw(fd, "uevent", uevent, sizeof(uevent));
	for (char *line = uevent, *nl; n > 0 && line && *line; line = nl ? nl + 1 : NULL) {
		char *val = strchr(line, '=');

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!val)
			continue;
		*val++ = '\0';
		if (strcmp(line, "HID_NAME") == 0)
			h->string_flags |= str_flags(gw_text_sanitize(h->hid_name, sizeof(h->hid_name),
								      val, strlen(val)));
		else if (strcmp(line, "HID_PHYS") == 0)
			h->string_flags |= str_flags(gw_text_sanitize(h->phys, sizeof(h->phys), val,
								      strlen(val)));
		else if (strcmp(line, "HID_UNIQ") == 0)
			h->string_flags |= str_flags(gw_text_sanitize(h->uniq, sizeof(h->uniq), val,
								      strlen(val)));
	}
	n = read_attr_raw(fd, "report_descriptor", h->descriptor, sizeof(h->descriptor));
	/* read_attr_raw NUL-terminates, so one byte less than the buffer is what fits */
	h->descriptor_len = n > 0 ? (size_t)n : 0;
	gw_hid_report_parse(h->descriptor, h->descriptor_len, &h->facts);
	h->is_virtual = usb_parent_of(fd, h->usb_parent, sizeof(h->usb_parent));
	return 0;
}

int gw_sysfs_read_hid(const char *sysroot, const char *name, struct gw_hid_info *info)
{
	int fd = open_dir(sysroot, "bus/hid/devices", name);

	if (fd < 0) {
		memset(info, 0, offsetof(struct gw_hid_info, descriptor));
		snprintf(info->name, sizeof(info->name), "%s", name);
		return fd;
	}
	read_hid_dir(fd, name, info);
	close(fd);
	return 0;
}

/* ---- USB ------------------------------------------------------------------------------------ */

struct iface_prefix {
	const char *dev;
	size_t len;
};

static bool is_interface_of(const char *name, const void *arg)
{
	const struct iface_prefix *p = arg;

	return strncmp(name, p->dev, p->len) == 0 && name[p->len] == ':';
}

/* The HID children of one interface: fold their descriptors and facts into the USB device. */
static void read_interface_hid(int iface_fd, struct gw_usb_info *u)
{
	char **names;
	int n = list_dir(iface_fd, is_hid_name, NULL, &names);
	struct gw_hid_info *h = n > 0 ? malloc(sizeof(*h)) : NULL;

	for (int i = 0; h && i < n; i++) {
		int fd = openat(iface_fd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0)
			continue;
		read_hid_dir(fd, names[i], h);
		close(fd);
		if ((h->facts.caps & GW_HID_ABS_XY) && !(u->hid_caps & GW_HID_ABS_XY)) {
			u->abs_x = h->facts.abs_x;
			u->abs_y = h->facts.abs_y;
		}
		u->hid_caps |= h->facts.caps;
		gw_sha256_chain(u->hid_digest, h->descriptor, h->descriptor_len);
		u->n_hid++;
	}
	free(h);
	if (n > 0)
		free_list(names, n);
}

static void read_interfaces(int dev_fd, struct gw_usb_info *u)
{
	struct iface_prefix prefix = { u->name, strlen(u->name) };
	char **names;
	int n = list_dir(dev_fd, is_interface_of, &prefix, &names);

	for (int i = 0; i < n; i++) {
		struct gw_usb_interface *itf;
		char link[GW_DEV_PATH_MAX];
		int fd;
		ssize_t len;

		if (u->n_interfaces == GW_USB_MAX_INTERFACES)
			break;
		fd = openat(dev_fd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		itf = &u->interfaces[u->n_interfaces++];
		itf->number = (uint8_t)read_attr_ulong(fd, "bInterfaceNumber", 16, 0);
		itf->iface_class = (uint8_t)read_attr_ulong(fd, "bInterfaceClass", 16, 0);
		itf->iface_subclass = (uint8_t)read_attr_ulong(fd, "bInterfaceSubClass", 16, 0);
		itf->iface_protocol = (uint8_t)read_attr_ulong(fd, "bInterfaceProtocol", 16, 0);
		len = readlinkat(fd, "driver", link, sizeof(link) - 1);
		if (len > 0) {
			const char *base;

			link[len] = '\0';
			base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
			gw_text_sanitize(itf->driver, sizeof(itf->driver), base, strlen(base));
		}
		read_interface_hid(fd, u);
		close(fd);
	}
	if (n > 0)
		free_list(names, n);
}

int gw_sysfs_read_usb(const char *sysroot, const char *name, struct gw_usb_info *u)
{
	int fd;
	const char *dash;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	dash = strchr(name, '-');
	if (dash)
		snprintf(u->port_path, sizeof(u->port_path), "%s", dash + 1);
	fd = open_dir(sysroot, "bus/usb/devices", name);
	if (fd < 0)
		return fd;
	u->vendor_id = (uint16_t)read_attr_ulong(fd, "idVendor", 16, 0);
	u->product_id = (uint16_t)read_attr_ulong(fd, "idProduct", 16, 0);
	u->bcd_device = (uint16_t)read_attr_ulong(fd, "bcdDevice", 16, 0);
	u->dev_class = (uint8_t)read_attr_ulong(fd, "bDeviceClass", 16, 0);
	u->dev_subclass = (uint8_t)read_attr_ulong(fd, "bDeviceSubClass", 16, 0);
	u->dev_protocol = (uint8_t)read_attr_ulong(fd, "bDeviceProtocol", 16, 0);
	u->busnum = (uint32_t)read_attr_ulong(fd, "busnum", 10, 0);
	u->devnum = (uint32_t)read_attr_ulong(fd, "devnum", 10, 0);
	read_attr_text(fd, "version", u->usb_version, sizeof(u->usb_version));
	/* "version" is " 2.00" in sysfs */
	memmove(u->usb_version, u->usb_version + strspn(u->usb_version, " "),
		strlen(u->usb_version + strspn(u->usb_version, " ")) + 1);
	u->string_flags |= str_flags(read_attr_text(fd, "manufacturer", u->manufacturer,
						    sizeof(u->manufacturer)));
	u->string_flags |= str_flags(read_attr_text(fd, "product", u->product, sizeof(u->product)));
	u->string_flags |= str_flags(read_attr_text(fd, "serial", u->serial, sizeof(u->serial)));
	read_attr_text(fd, "devpath", u->port_path, sizeof(u->port_path));
	if (!u->port_path[0] && dash)
		snprintf(u->port_path, sizeof(u->port_path), "%s", dash + 1);
	read_attr_text(fd, "speed", u->speed, sizeof(u->speed));
	read_attr_text(fd, "removable", u->removable, sizeof(u->removable));
	u->authorized = read_attr_ulong(fd, "authorized", 10, 1) != 0;
	read_interfaces(fd, u);
	close(fd);
	return 0;
}

/* ---- input ---------------------------------------------------------------------------------- */

void gw_sysfs_parse_bitmap(const char *text, uint64_t *words, size_t n_words)
{
	const char *end = text + strlen(text);
	size_t w = 0;

	memset(words, 0, n_words * sizeof(*words));
	/* words are written most significant first, separated by spaces: walk from the end */
	while (end > text && w < n_words) {
		const char *start;
		char tmp[17];
		size_t len;

		while (end > text && (end[-1] == ' ' || end[-1] == '\n'))
			end--;
		start = end;
		while (start > text && start[-1] != ' ' && start[-1] != '\n')
			start--;
		len = (size_t)(end - start);
		if (len == 0)
			break;
		if (len > 16 || strspn(start, "0123456789abcdefABCDEF") < len) {
			w++; /* not a word we understand: leave it zero rather than guess */
		} else {
			memcpy(tmp, start, len);
			tmp[len] = '\0';
			words[w++] = strtoull(tmp, NULL, 16);
		}
		end = start;
	}
}

static bool bit_set(const uint64_t *words, size_t n_words, unsigned bit)
{
	return bit / 64 < n_words && (words[bit / 64] >> (bit % 64)) & 1;
}

/* Bit numbers from linux/input-event-codes.h. */
#define EV_KEY_BIT 1
#define EV_REL_BIT 2
#define EV_ABS_BIT 3
#define BTN_LEFT_BIT 0x110
#define BTN_TOOL_PEN_BIT 0x140
#define BTN_TOUCH_BIT 0x14a
#define PROP_POINTER_BIT 0
#define PROP_DIRECT_BIT 1

uint32_t gw_input_classify(const struct gw_input_info *in)
{
	uint32_t cls = 0;
	unsigned letters = 0;
	bool button = bit_set(in->key_bits, GW_INPUT_KEY_WORDS, BTN_LEFT_BIT) ||
		      bit_set(in->key_bits, GW_INPUT_KEY_WORDS, BTN_TOUCH_BIT) ||
		      bit_set(in->key_bits, GW_INPUT_KEY_WORDS, BTN_TOOL_PEN_BIT);

	/* KEY_Q..KEY_P (16-25), KEY_A..KEY_L (30-38), KEY_Z..KEY_M (44-50): a typing keyboard,
	 * not a power button or a headset's volume keys */
	for (unsigned k = 16; k <= 50; k++)
		letters += bit_set(in->key_bits, GW_INPUT_KEY_WORDS, k);
	if ((in->ev_bits >> EV_KEY_BIT & 1) && letters >= 20)
		cls |= GW_INPUT_KEYBOARD;
	if ((in->ev_bits >> EV_REL_BIT & 1) && (in->rel_bits & 3) == 3 && button)
		cls |= GW_INPUT_REL_POINTER;
	if ((in->ev_bits >> EV_ABS_BIT & 1) && (in->abs_bits & 3) == 3 && button) {
		cls |= GW_INPUT_ABS_POINTER;
		if (in->prop_bits >> PROP_DIRECT_BIT & 1)
			cls |= GW_INPUT_TOUCHSCREEN;
		else if (in->prop_bits >> PROP_POINTER_BIT & 1)
			cls |= GW_INPUT_TOUCHPAD;
	}
	return cls;
}

/* "device" is the input device's parent: for HID inputs, the HID device with its descriptor. */
static void read_parent_abs_range(int input_fd, struct gw_input_info *in)
{
	uint8_t *desc = malloc(GW_HID_DESCRIPTOR_MAX + 1);
	struct gw_hid_facts facts;
	int parent = openat(input_fd, "device", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t n = -1;

	if (parent >= 0 && desc)
		n = read_attr_raw(parent, "report_descriptor", desc, GW_HID_DESCRIPTOR_MAX + 1);
	if (n > 0) {
		gw_hid_report_parse(desc, (size_t)n, &facts);
		if (facts.caps & GW_HID_ABS_XY) {
			in->has_abs_range = true;
			in->abs_x = facts.abs_x;
			in->abs_y = facts.abs_y;
		}
	}
	if (parent >= 0)
		close(parent);
	free(desc);
}

int gw_sysfs_read_input(const char *sysroot, const char *name, struct gw_input_info *in)
{
	char raw[ATTR_MAX], self[64];
	int fd, caps;
	ssize_t n;

	memset(in, 0, sizeof(*in));
	snprintf(in->name, sizeof(in->name), "%s", name);
	fd = open_dir(sysroot, "class/input", name);
	if (fd < 0)
		return fd;
	in->string_flags |= str_flags(read_attr_text(fd, "name", in->dev_name, sizeof(in->dev_name)));
	in->string_flags |= str_flags(read_attr_text(fd, "phys", in->phys, sizeof(in->phys)));
	in->string_flags |= str_flags(read_attr_text(fd, "uniq", in->uniq, sizeof(in->uniq)));
	in->bustype = (uint16_t)read_attr_ulong(fd, "id/bustype", 16, 0);
	in->vendor_id = (uint16_t)read_attr_ulong(fd, "id/vendor", 16, 0);
	in->product_id = (uint16_t)read_attr_ulong(fd, "id/product", 16, 0);
	in->version = (uint16_t)read_attr_ulong(fd, "id/version", 16, 0);

	/* the real path tells where the device hangs: a uinput device lives in /devices/virtual */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	n = readlink(self, raw, sizeof(raw) - 1);
	if (n > 0) {
		size_t root_len = strlen(sysroot);
		const char *rel = raw;

		raw[n] = '\0';
		/* keep it relative to the sysfs root so the fake tree and /sys read alike */
		if (strncmp(raw, sysroot, root_len) == 0 && raw[root_len] == '/')
			rel = raw + root_len;
		gw_text_sanitize(in->devpath, sizeof(in->devpath), rel, strlen(rel));
		in->is_virtual = strstr(in->devpath, "/devices/virtual/") == in->devpath;
	}
	usb_parent_of(fd, in->usb_parent, sizeof(in->usb_parent));

	caps = openat(fd, "capabilities", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (caps >= 0) {
		if (read_attr_raw(caps, "ev", raw, sizeof(raw)) > 0)
			gw_sysfs_parse_bitmap(raw, &in->ev_bits, 1);
		if (read_attr_raw(caps, "rel", raw, sizeof(raw)) > 0)
			gw_sysfs_parse_bitmap(raw, &in->rel_bits, 1);
		if (read_attr_raw(caps, "abs", raw, sizeof(raw)) > 0)
			gw_sysfs_parse_bitmap(raw, &in->abs_bits, 1);
		if (read_attr_raw(caps, "key", raw, sizeof(raw)) > 0)
			gw_sysfs_parse_bitmap(raw, in->key_bits, GW_INPUT_KEY_WORDS);
		close(caps);
	}
	if (read_attr_raw(fd, "properties", raw, sizeof(raw)) > 0)
		gw_sysfs_parse_bitmap(raw, &in->prop_bits, 1);
	in->classes = gw_input_classify(in);
	if ((in->abs_bits & 3) == 3)
		read_parent_abs_range(fd, in);
	close(fd);
	return 0;
}

/* ---- DRM connectors ------------------------------------------------------------------------- */

int gw_sysfs_read_monitor(const char *sysroot, const char *name, struct gw_monitor_info *m)
{
	ssize_t n;
	int fd;

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	fd = open_dir(sysroot, "class/drm", name);
	if (fd < 0)
		return fd;
	read_attr_text(fd, "status", m->status, sizeof(m->status));
	{
		/* read_attr_raw keeps one byte for a NUL: read into a buffer one larger */
		uint8_t buf[sizeof(m->edid_raw) + 1];

		n = read_attr_raw(fd, "edid", buf, sizeof(buf));
		if (n > 0) {
			m->edid_len = (size_t)n;
			memcpy(m->edid_raw, buf, m->edid_len);
		}
	}
	close(fd);
	m->edid_status = gw_edid_parse(m->edid_raw, m->edid_len, &m->edid);
	m->has_edid = m->edid_status == GW_EDID_OK;
	return 0;
}

/* ---- listing -------------------------------------------------------------------------------- */

static bool is_usb_device_name(const char *name, const void *arg)
{
	(void)arg;
	/* "1-1.2"; not root hubs ("usb1"), not interfaces ("1-1:1.0") */
	return strchr(name, '-') && !strchr(name, ':') && strncmp(name, "usb", 3) != 0;
}

static bool is_input_name(const char *name, const void *arg)
{
	(void)arg;
	return strncmp(name, "input", 5) == 0 && name[5] >= '0' && name[5] <= '9';
}

static bool is_connector_name(const char *name, const void *arg)
{
	(void)arg;
	/* "card0-HDMI-A-1"; not "card0" nor "renderD128" */
	return strncmp(name, "card", 4) == 0 && strchr(name, '-');
}

int gw_sysfs_list(const char *sysroot, enum gw_sysfs_class cls,
		  void (*fn)(const char *name, void *ctx), void *ctx)
{
	static const struct {
		const char *dir;
		bool (*keep)(const char *, const void *);
	} classes[] = {
		[GW_SYSFS_USB] = { "bus/usb/devices", is_usb_device_name },
		[GW_SYSFS_HID] = { "bus/hid/devices", is_hid_name },
		[GW_SYSFS_INPUT] = { "class/input", is_input_name },
		[GW_SYSFS_DRM] = { "class/drm", is_connector_name },
	};
	char path[GW_DEV_PATH_MAX], **names;
	int fd, n;

	if ((unsigned)cls >= sizeof(classes) / sizeof(classes[0]))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", sysroot, classes[cls].dir);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = list_dir(fd, classes[cls].keep, NULL, &names);
	close(fd);
	for (int i = 0; i < n; i++)
		fn(names[i], ctx);
	if (n > 0)
		free_list(names, n);
	return n;
}

const char *gw_bus_type_name(uint16_t bus, char *buf, size_t size)
{
	switch (bus) {
	case 0x01: return "pci";
	case 0x03: return "usb";
	case 0x05: return "bluetooth";
	case 0x06: return "virtual";
	case 0x11: return "i8042";
	case 0x18: return "i2c";
	case 0x19: return "host";
	case 0x1c: return "spi";
	default:
		snprintf(buf, size, "0x%04x", bus);
		return buf;
	}
}
