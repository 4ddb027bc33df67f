#include "device_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *device_kind_name(enum gw_devkind kind)
{
	switch (kind) {
	case GW_DEVKIND_USB: return "usb";
	case GW_DEVKIND_HID: return "hid";
	case GW_DEVKIND_INPUT: return "input";
	case GW_DEVKIND_MONITOR: return "monitor";
	default: return "?";
	}
}

static void make_key(char *key, size_t size, enum gw_devkind kind, const char *name)
{
	snprintf(key, size, "%d:%.*s", (int)kind, GW_DEV_NAME_MAX - 1, name);
}

void device_table_init(struct device_table *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
}

void device_table_free(struct device_table *t)
{
	struct device_entry *e, *tmp;

	HASH_ITER(hh, t->by_key, e, tmp) {
		HASH_DEL(t->by_key, e);
		free(e);
	}
	t->count = 0;
}

struct device_entry *device_table_get(struct device_table *t, enum gw_devkind kind,
				      const char *name)
{
	char key[GW_DEV_NAME_MAX + 4];
	struct device_entry *e = NULL;

	make_key(key, sizeof(key), kind, name);
	HASH_FIND_STR(t->by_key, key, e);
	return e;
}

struct device_entry *device_table_put(struct device_table *t, enum gw_devkind kind,
				      const char *name)
{
	struct device_entry *e = device_table_get(t, kind, name);

	if (e)
		return e;
	if (t->count >= t->max || !(e = calloc(1, sizeof(*e)))) {
		t->not_remembered++;
		return NULL;
	}
	make_key(e->key, sizeof(e->key), kind, name);
	e->kind = kind;
	snprintf(e->name, sizeof(e->name), "%.*s", GW_DEV_NAME_MAX - 1, name);
	HASH_ADD_STR(t->by_key, key, e);
	t->count++;
	return e;
}

void device_table_remove(struct device_table *t, struct device_entry *e)
{
	HASH_DEL(t->by_key, e);
	free(e);
	t->count--;
}
