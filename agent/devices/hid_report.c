#include "hid_report.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Item types and tags from the HID 1.11 specification, section 6.2.2. */
enum { ITEM_MAIN = 0, ITEM_GLOBAL = 1, ITEM_LOCAL = 2, ITEM_RESERVED = 3 };
enum { MAIN_INPUT = 0x8, MAIN_OUTPUT = 0x9, MAIN_COLLECTION = 0xa, MAIN_FEATURE = 0xb,
       MAIN_END_COLLECTION = 0xc };
enum { GLOBAL_USAGE_PAGE = 0x0, GLOBAL_LOGICAL_MIN = 0x1, GLOBAL_LOGICAL_MAX = 0x2,
       GLOBAL_REPORT_ID = 0x8, GLOBAL_PUSH = 0xa, GLOBAL_POP = 0xb };
enum { LOCAL_USAGE = 0x0, LOCAL_USAGE_MIN = 0x1, LOCAL_USAGE_MAX = 0x2 };

#define LONG_ITEM_PREFIX 0xfe
#define INPUT_RELATIVE (1u << 2)
#define COLLECTION_APPLICATION 0x01

#define PAGE_GENERIC_DESKTOP 0x01
#define PAGE_KEYBOARD        0x07
#define PAGE_LED             0x08
#define PAGE_BUTTON          0x09
#define PAGE_CONSUMER        0x0c
#define PAGE_DIGITIZER       0x0d
#define PAGE_VENDOR_FIRST    0xff00

#define GD_POINTER  0x01
#define GD_MOUSE    0x02
#define GD_JOYSTICK 0x04
#define GD_GAMEPAD  0x05
#define GD_KEYBOARD 0x06
#define GD_KEYPAD   0x07
#define GD_SYSTEM_CONTROL 0x80
#define GD_X     0x30
#define GD_Y     0x31
#define GD_WHEEL 0x38
#define DIG_TOUCH_SCREEN 0x04
#define DIG_TOUCH_PAD    0x05
#define DIG_TIP_SWITCH   0x42

#define GLOBAL_STACK_DEPTH 8
#define COLLECTION_DEPTH 32
#define MAX_USAGES 64

struct hid_globals {
	uint32_t usage_page;
	int32_t logical_min, logical_max;
	uint32_t logical_max_unsigned; /* the same bytes read unsigned */
};

struct hid_locals {
	uint32_t usages[MAX_USAGES]; /* page << 16 | usage, page resolved when the item is read */
	unsigned n_usages;
	uint32_t usage_min, usage_max;
	bool has_min, has_max;
};

struct hid_parser {
	struct hid_globals g, stack[GLOBAL_STACK_DEPTH];
	unsigned stack_depth, collection_depth;
	struct hid_locals l;
	bool abs_x_seen, abs_y_seen;
	uint8_t report_ids[256 / 8];
	struct gw_hid_facts *facts;
};

static uint32_t item_unsigned(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1: return p[0];
	case 2: return (uint32_t)p[0] | (uint32_t)p[1] << 8;
	case 4: return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	default: return 0;
	}
}

static int32_t item_signed(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1: return (int8_t)p[0];
	case 2: return (int16_t)item_unsigned(p, 2);
	case 4: return (int32_t)item_unsigned(p, 4);
	default: return 0;
	}
}

/* A usage of 1-2 bytes is relative to the current usage page; 4 bytes carry their own page. */
static uint32_t full_usage(const struct hid_parser *p, uint32_t v, unsigned size)
{
	return size == 4 ? v : (p->g.usage_page << 16) | (v & 0xffff);
}

static bool locals_have(const struct hid_locals *l, uint32_t usage)
{
	for (unsigned i = 0; i < l->n_usages; i++)
		if (l->usages[i] == usage)
			return true;
	return l->has_min && l->has_max && usage >= l->usage_min && usage <= l->usage_max;
}

static bool locals_have_page(const struct hid_locals *l, uint32_t page)
{
	for (unsigned i = 0; i < l->n_usages; i++)
		if (l->usages[i] >> 16 == page)
			return true;
	return l->has_min && l->usage_min >> 16 == page;
}

static struct gw_hid_range current_range(const struct hid_parser *p)
{
	struct gw_hid_range r = { p->g.logical_min, p->g.logical_max };

	/* Descriptors often encode 0..32767 or 0..255 with too few bytes, so the max reads negative;
	 * the kernel then treats the range as unsigned, and so do we. */
	if (r.min >= 0 && r.max < r.min)
		r.max = p->g.logical_max_unsigned > INT32_MAX ? INT32_MAX
							      : (int32_t)p->g.logical_max_unsigned;
	return r;
}

static void on_input(struct hid_parser *p, uint32_t flags)
{
	struct gw_hid_facts *f = p->facts;
	bool relative = flags & INPUT_RELATIVE;
	uint32_t x = PAGE_GENERIC_DESKTOP << 16 | GD_X, y = PAGE_GENERIC_DESKTOP << 16 | GD_Y;

	if (locals_have(&p->l, x) || locals_have(&p->l, y)) {
		if (relative) {
			f->caps |= GW_HID_REL_XY;
		} else {
			if (locals_have(&p->l, x) && !p->abs_x_seen) {
				f->abs_x = current_range(p);
				p->abs_x_seen = true;
			}
			if (locals_have(&p->l, y) && !p->abs_y_seen) {
				f->abs_y = current_range(p);
				p->abs_y_seen = true;
			}
			if (p->abs_x_seen && p->abs_y_seen)
				f->caps |= GW_HID_ABS_XY;
		}
	}
	if (locals_have(&p->l, PAGE_GENERIC_DESKTOP << 16 | GD_WHEEL))
		f->caps |= GW_HID_WHEEL;
	if (locals_have_page(&p->l, PAGE_KEYBOARD) || (p->l.n_usages == 0 && !p->l.has_min &&
						       p->g.usage_page == PAGE_KEYBOARD))
		f->caps |= GW_HID_KEYBOARD;
	if (locals_have_page(&p->l, PAGE_BUTTON))
		f->caps |= GW_HID_BUTTONS;
	if (locals_have(&p->l, PAGE_DIGITIZER << 16 | DIG_TIP_SWITCH))
		f->caps |= GW_HID_TOUCH;
}

static void on_application(struct hid_parser *p)
{
	struct gw_hid_facts *f = p->facts;
	uint32_t u = p->l.n_usages ? p->l.usages[0] : p->l.has_min ? p->l.usage_min : 0;
	uint32_t page = u >> 16, usage = u & 0xffff;

	if (f->n_applications < GW_HID_MAX_APPLICATIONS)
		f->applications[f->n_applications] = u;
	f->n_applications++;
	if (page == PAGE_GENERIC_DESKTOP) {
		if (usage == GD_MOUSE || usage == GD_POINTER)
			f->caps |= GW_HID_MOUSE;
		else if (usage == GD_JOYSTICK || usage == GD_GAMEPAD)
			f->caps |= GW_HID_JOYSTICK;
		else if (usage == GD_SYSTEM_CONTROL)
			f->caps |= GW_HID_SYSTEM;
	} else if (page == PAGE_DIGITIZER) {
		f->caps |= GW_HID_DIGITIZER;
		if (usage == DIG_TOUCH_SCREEN || usage == DIG_TOUCH_PAD)
			f->caps |= GW_HID_TOUCH;
	} else if (page == PAGE_CONSUMER) {
		f->caps |= GW_HID_CONSUMER;
	} else if (page >= PAGE_VENDOR_FIRST) {
		f->caps |= GW_HID_VENDOR;
	}
}

static void parse_main(struct hid_parser *p, unsigned tag, uint32_t v)
{
	struct gw_hid_facts *f = p->facts;

	switch (tag) {
	case MAIN_INPUT:
		on_input(p, v);
		break;
	case MAIN_OUTPUT:
		if (locals_have_page(&p->l, PAGE_LED) || (p->l.n_usages == 0 && !p->l.has_min &&
							  p->g.usage_page == PAGE_LED))
			f->caps |= GW_HID_LEDS;
		break;
	case MAIN_FEATURE:
		break;
	case MAIN_COLLECTION:
		if (p->collection_depth == COLLECTION_DEPTH)
			f->errors |= GW_HID_ERR_STACK;
		else
			p->collection_depth++;
		if ((v & 0xff) == COLLECTION_APPLICATION)
			on_application(p);
		break;
	case MAIN_END_COLLECTION:
		if (p->collection_depth == 0)
			f->errors |= GW_HID_ERR_STACK;
		else
			p->collection_depth--;
		break;
	default:
		f->errors |= GW_HID_ERR_RESERVED;
	}
	/* local items only live until the next main item */
	memset(&p->l, 0, sizeof(p->l));
}

static void parse_global(struct hid_parser *p, unsigned tag, const uint8_t *data, unsigned size)
{
	struct gw_hid_facts *f = p->facts;
	uint32_t id;

	switch (tag) {
	case GLOBAL_USAGE_PAGE:
		p->g.usage_page = item_unsigned(data, size) & 0xffff;
		break;
	case GLOBAL_LOGICAL_MIN:
		p->g.logical_min = item_signed(data, size);
		break;
	case GLOBAL_LOGICAL_MAX:
		p->g.logical_max = item_signed(data, size);
		p->g.logical_max_unsigned = item_unsigned(data, size);
		break;
	case GLOBAL_REPORT_ID:
		id = item_unsigned(data, size);
		if (id == 0 || id > 255) {
			f->errors |= GW_HID_ERR_RESERVED;
		} else if (!(p->report_ids[id / 8] & (1u << (id % 8)))) {
			p->report_ids[id / 8] |= (uint8_t)(1u << (id % 8));
			f->n_report_ids++;
		}
		break;
	case GLOBAL_PUSH:
		if (p->stack_depth == GLOBAL_STACK_DEPTH)
			f->errors |= GW_HID_ERR_STACK;
		else
			p->stack[p->stack_depth++] = p->g;
		break;
	case GLOBAL_POP:
		if (p->stack_depth == 0)
			f->errors |= GW_HID_ERR_STACK;
		else
			p->g = p->stack[--p->stack_depth];
		break;
	default:
		if (tag > GLOBAL_POP)
			f->errors |= GW_HID_ERR_RESERVED;
		break; /* physical range, units, report size/count: not needed for the facts */
	}
}

static void parse_local(struct hid_parser *p, unsigned tag, const uint8_t *data, unsigned size)
{
	uint32_t v = full_usage(p, item_unsigned(data, size), size);

	switch (tag) {
	case LOCAL_USAGE:
		if (p->l.n_usages == MAX_USAGES)
			p->facts->errors |= GW_HID_ERR_TOO_MANY_USAGES;
		else
			p->l.usages[p->l.n_usages++] = v;
		break;
	case LOCAL_USAGE_MIN:
		p->l.usage_min = v;
		p->l.has_min = true;
		break;
	case LOCAL_USAGE_MAX:
		p->l.usage_max = v;
		p->l.has_max = true;
		break;
	default:
		break; /* designators, strings, delimiters */
	}
}

int gw_hid_report_parse(const uint8_t *d, size_t len, struct gw_hid_facts *facts)
{
	struct hid_parser p;
	size_t pos = 0;

	memset(facts, 0, sizeof(*facts));
	memset(&p, 0, sizeof(p));
	p.facts = facts;
	if (!d || len == 0)
		facts->errors |= GW_HID_ERR_EMPTY;
	while (d && pos < len) {
		uint8_t prefix = d[pos];
		unsigned size, type, tag;

		if (prefix == LONG_ITEM_PREFIX) {
			/* long items: prefix, data size, tag, data. None are defined; skip them. */
			if (pos + 3 > len || pos + 3 + d[pos + 1] > len) {
				facts->errors |= GW_HID_ERR_TRUNCATED;
				break;
			}
			pos += 3 + (size_t)d[pos + 1];
			facts->n_items++;
			continue;
		}
		size = prefix & 3;
		if (size == 3)
			size = 4;
		type = (prefix >> 2) & 3;
		tag = prefix >> 4;
		if (pos + 1 + size > len) {
			facts->errors |= GW_HID_ERR_TRUNCATED;
			break;
		}
		facts->n_items++;
		switch (type) {
		case ITEM_MAIN:
			parse_main(&p, tag, item_unsigned(d + pos + 1, size));
			break;
		case ITEM_GLOBAL:
			parse_global(&p, tag, d + pos + 1, size);
			break;
		case ITEM_LOCAL:
			parse_local(&p, tag, d + pos + 1, size);
			break;
		default:
			facts->errors |= GW_HID_ERR_RESERVED;
		}
		pos += 1 + size;
	}
	if (p.collection_depth != 0)
		facts->errors |= GW_HID_ERR_STACK;
	/* Keyboard-page inputs outside a keyboard application (a vendor collection) do not make the
	 * device a keyboard: require both */
	if (facts->caps & GW_HID_KEYBOARD) {
		bool app = false;

		for (unsigned i = 0; i < facts->n_applications && i < GW_HID_MAX_APPLICATIONS; i++)
			if (facts->applications[i] == (PAGE_GENERIC_DESKTOP << 16 | GD_KEYBOARD) ||
			    facts->applications[i] == (PAGE_GENERIC_DESKTOP << 16 | GD_KEYPAD))
				app = true;
		if (!app)
			facts->caps &= ~GW_HID_KEYBOARD;
	}
	return facts->errors ? -1 : 0;
}

void gw_hid_caps_string(uint32_t caps, char *buf, size_t size)
{
	static const char *const names[] = {
		"keyboard", "mouse", "rel_xy", "abs_xy", "buttons", "wheel", "digitizer",
		"touch", "consumer", "system", "vendor", "joystick", "leds",
	};
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;

		if (!(caps & (1u << i)))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", names[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}
