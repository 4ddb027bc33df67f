/* exfil_usb_disk.c - which block devices sit under a USB mass-storage interface, from sysfs.
 * See exfil_removable.h. */
#include "exfil_removable.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINORBITS 20

static bool read_line(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	bool ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return false;
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\n")] = 0;
	return ok;
}

static uint16_t read_hex16(const char *dir, const char *name)
{
	char buf[16];

	return read_line(dir, name, buf, sizeof(buf)) ? (uint16_t)strtoul(buf, NULL, 16) : 0;
}

bool exfil_usb_disk_of(const char *sys_root, uint32_t dev, struct exfil_usb_disk *out)
{
	char link[PATH_MAX], real[PATH_MAX], root[PATH_MAX], cls[8];
	char *slash;
	size_t root_len;

	memset(out, 0, sizeof(*out));
	if (!realpath(sys_root, root))
		return false;
	root_len = strlen(root);
	if ((size_t)snprintf(link, sizeof(link), "%s/dev/block/%u:%u", sys_root,
			     dev >> MINORBITS, dev & ((1u << MINORBITS) - 1)) >= sizeof(link) ||
	    !realpath(link, real))
		return false;
	slash = strrchr(real, '/');
	if (!slash)
		return false;
	snprintf(out->name, sizeof(out->name), "%s", slash + 1);
	/* .../usbN/N-P/N-P:C.I/hostH/targetH:0:0/H:0:0:0/block/sdX: the interface is an ancestor */
	while ((slash = strrchr(real, '/')) && (size_t)(slash - real) > root_len) {
		*slash = 0;
		if (!read_line(real, "bInterfaceClass", cls, sizeof(cls)))
			continue;
		if (strcmp(cls, "08"))
			return false;
		slash = strrchr(real, '/');
		if (!slash)
			return false;
		*slash = 0; /* the USB device above its interface */
		out->vid = read_hex16(real, "idVendor");
		out->pid = read_hex16(real, "idProduct");
		read_line(real, "product", out->product, sizeof(out->product));
		read_line(real, "serial", out->serial, sizeof(out->serial));
		return true;
	}
	return false;
}
