/*
 * device_table.h - the devices the agent knows are present, keyed by kind and sysfs name.
 *
 * A detach (and the uevent "remove", which carries almost nothing) is reported with the identity
 * recorded at attach or inventory time; monitor rescans compare against it to see what changed.
 * Bounded: past `max` entries new devices are still reported but not remembered (counted).
 */
#ifndef GW_DEVICE_TABLE_H
#define GW_DEVICE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#include "device_fingerprint.h"
#include "device_sysfs.h"

enum gw_devkind {
	GW_DEVKIND_USB = 1,
	GW_DEVKIND_HID,
	GW_DEVKIND_INPUT,
	GW_DEVKIND_MONITOR,
};

struct device_entry {
	char key[GW_DEV_NAME_MAX + 4];	/* "<kind>:<name>" */
	enum gw_devkind kind;
	char name[GW_DEV_NAME_MAX];
	uint32_t vendor_id, product_id;
	/* usb: manufacturer, product, serial; hid/input: name, phys, uniq; monitor: mfg, name, serial */
	char str[3][GW_DEV_STR_MAX];
	char model_fp[GW_FP_HEX_LEN];
	char instance_fp[GW_FP_HEX_LEN];
	uint32_t generation;		/* monitors: the rescan that last saw it */
	UT_hash_handle hh;
};

struct device_table {
	struct device_entry *by_key;
	size_t count, max;
	uint64_t not_remembered;	/* table full */
};

void device_table_init(struct device_table *t, size_t max);
void device_table_free(struct device_table *t);
struct device_entry *device_table_get(struct device_table *t, enum gw_devkind kind,
				      const char *name);
/* Inserts or returns the existing entry (to be overwritten); NULL when full. */
struct device_entry *device_table_put(struct device_table *t, enum gw_devkind kind,
				      const char *name);
void device_table_remove(struct device_table *t, struct device_entry *e);

const char *device_kind_name(enum gw_devkind kind);

#endif
