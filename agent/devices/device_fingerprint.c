#include "device_fingerprint.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* Field tags of the hashed encoding; never reuse one for another meaning. */
enum fp_tag {
	FP_KIND = 1, FP_VENDOR, FP_PRODUCT_ID, FP_BCD_DEVICE, FP_CLASS, FP_MANUFACTURER, FP_PRODUCT,
	FP_INTERFACE, FP_HID_DESCRIPTORS, FP_SERIAL, FP_BUS, FP_NAME, FP_REPORT_DESCRIPTOR,
	FP_EDID_MANUFACTURER, FP_EDID_PRODUCT_CODE, FP_EDID_NAME, FP_EDID_SERIAL_NUMBER,
	FP_EDID_SERIAL, FP_VERSION, FP_CAPABILITY_BITS,
};

static void fp_field(EVP_MD_CTX *ctx, enum fp_tag tag, const void *data, size_t len)
{
	uint8_t hdr[5] = { (uint8_t)tag, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			   (uint8_t)(len >> 24) };

	EVP_DigestUpdate(ctx, hdr, sizeof(hdr));
	EVP_DigestUpdate(ctx, data, len);
}

static void fp_str(EVP_MD_CTX *ctx, enum fp_tag tag, const char *s)
{
	fp_field(ctx, tag, s, strlen(s));
}

static void fp_u32(EVP_MD_CTX *ctx, enum fp_tag tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fp_field(ctx, tag, b, sizeof(b));
}

/* Finishes the model digest, then the instance digest = model fields + the serial fields. */
struct fp_pair {
	EVP_MD_CTX *model, *instance;
};

static int fp_begin(struct fp_pair *p, const char *kind)
{
	p->model = EVP_MD_CTX_new();
	p->instance = EVP_MD_CTX_new();
	if (!p->model || !p->instance || !EVP_DigestInit_ex(p->model, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(p->model);
		EVP_MD_CTX_free(p->instance);
		return -1;
	}
	fp_str(p->model, FP_KIND, kind);
	return 0;
}

/* Forks the model state into the instance context before the serial goes in. */
static int fp_fork(struct fp_pair *p)
{
	return EVP_MD_CTX_copy_ex(p->instance, p->model) ? 0 : -1;
}

static int fp_end(struct fp_pair *p, struct gw_fingerprints *fp, int err)
{
	unsigned n;

	if (!err && (!EVP_DigestFinal_ex(p->model, fp->model, &n) ||
		     !EVP_DigestFinal_ex(p->instance, fp->instance, &n)))
		err = -1;
	EVP_MD_CTX_free(p->model);
	EVP_MD_CTX_free(p->instance);
	if (err)
		memset(fp, 0, sizeof(*fp));
	return err;
}

int gw_fingerprint_usb(const struct gw_usb_info *u, struct gw_fingerprints *fp)
{
	struct fp_pair p;
	uint8_t cls[3] = { u->dev_class, u->dev_subclass, u->dev_protocol };

	if (fp_begin(&p, "usb"))
		return -1;
	fp_u32(p.model, FP_VENDOR, u->vendor_id);
	fp_u32(p.model, FP_PRODUCT_ID, u->product_id);
	fp_u32(p.model, FP_BCD_DEVICE, u->bcd_device);
	fp_field(p.model, FP_CLASS, cls, sizeof(cls));
	fp_str(p.model, FP_MANUFACTURER, u->manufacturer);
	fp_str(p.model, FP_PRODUCT, u->product);
	for (unsigned i = 0; i < u->n_interfaces && i < GW_USB_MAX_INTERFACES; i++) {
		const struct gw_usb_interface *itf = &u->interfaces[i];
		uint8_t b[4] = { itf->number, itf->iface_class, itf->iface_subclass,
				 itf->iface_protocol };

		fp_field(p.model, FP_INTERFACE, b, sizeof(b));
	}
	if (u->n_hid)
		fp_field(p.model, FP_HID_DESCRIPTORS, u->hid_digest, sizeof(u->hid_digest));
	if (fp_fork(&p))
		return fp_end(&p, fp, -1);
	fp_str(p.instance, FP_SERIAL, u->serial);
	return fp_end(&p, fp, 0);
}

int gw_fingerprint_hid(const struct gw_hid_info *h, struct gw_fingerprints *fp)
{
	struct fp_pair p;

	if (fp_begin(&p, "hid"))
		return -1;
	fp_u32(p.model, FP_BUS, h->bus);
	fp_u32(p.model, FP_VENDOR, h->vendor_id);
	fp_u32(p.model, FP_PRODUCT_ID, h->product_id);
	fp_str(p.model, FP_NAME, h->hid_name);
	fp_field(p.model, FP_REPORT_DESCRIPTOR, h->descriptor, h->descriptor_len);
	if (fp_fork(&p))
		return fp_end(&p, fp, -1);
	fp_str(p.instance, FP_SERIAL, h->uniq);
	return fp_end(&p, fp, 0);
}

int gw_fingerprint_input(const struct gw_input_info *in, struct gw_fingerprints *fp)
{
	struct fp_pair p;
	uint64_t bits[4 + GW_INPUT_KEY_WORDS] = { in->ev_bits, in->rel_bits, in->abs_bits,
						  in->prop_bits };

	if (fp_begin(&p, "input"))
		return -1;
	memcpy(bits + 4, in->key_bits, sizeof(in->key_bits));
	fp_u32(p.model, FP_BUS, in->bustype);
	fp_u32(p.model, FP_VENDOR, in->vendor_id);
	fp_u32(p.model, FP_PRODUCT_ID, in->product_id);
	fp_u32(p.model, FP_VERSION, in->version);
	fp_str(p.model, FP_NAME, in->dev_name);
	fp_field(p.model, FP_CAPABILITY_BITS, bits, sizeof(bits));
	if (fp_fork(&p))
		return fp_end(&p, fp, -1);
	fp_str(p.instance, FP_SERIAL, in->uniq);
	return fp_end(&p, fp, 0);
}

int gw_fingerprint_monitor(const struct gw_edid *e, struct gw_fingerprints *fp)
{
	struct fp_pair p;

	if (fp_begin(&p, "monitor"))
		return -1;
	fp_str(p.model, FP_EDID_MANUFACTURER, e->manufacturer);
	fp_u32(p.model, FP_EDID_PRODUCT_CODE, e->product_code);
	fp_str(p.model, FP_EDID_NAME, e->monitor_name);
	if (fp_fork(&p))
		return fp_end(&p, fp, -1);
	fp_u32(p.instance, FP_EDID_SERIAL_NUMBER, e->serial_number);
	fp_str(p.instance, FP_EDID_SERIAL, e->monitor_serial);
	return fp_end(&p, fp, 0);
}

int gw_sha256_chain(uint8_t digest[GW_FP_LEN], const void *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, digest, GW_FP_LEN) &&
	     EVP_DigestUpdate(ctx, data, len) && EVP_DigestFinal_ex(ctx, digest, &n);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

void gw_fingerprint_hex(const uint8_t fp[GW_FP_LEN], char out[GW_FP_HEX_LEN])
{
	for (int i = 0; i < GW_FP_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", fp[i]);
}
