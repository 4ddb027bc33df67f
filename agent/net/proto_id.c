/*
 * proto_id.c - application protocols from a connection's first bytes. See proto_id.h.
 */
#include "proto_id.h"

#include <string.h>

/* A bounded reader: `end` is the first byte not there; reads past it fail without moving. */
struct rd {
	const uint8_t *p, *end;
};

static bool rd_has(const struct rd *r, size_t n)
{
	return (size_t)(r->end - r->p) >= n;
}

static bool rd_u8(struct rd *r, uint32_t *v)
{
	if (!rd_has(r, 1))
		return false;
	*v = r->p[0];
	r->p++;
	return true;
}

static bool rd_u16(struct rd *r, uint32_t *v)
{
	if (!rd_has(r, 2))
		return false;
	*v = (uint32_t)r->p[0] << 8 | r->p[1];
	r->p += 2;
	return true;
}

static bool rd_u24(struct rd *r, uint32_t *v)
{
	if (!rd_has(r, 3))
		return false;
	*v = (uint32_t)r->p[0] << 16 | (uint32_t)r->p[1] << 8 | r->p[2];
	r->p += 3;
	return true;
}

static bool rd_skip(struct rd *r, size_t n)
{
	if (!rd_has(r, n))
		return false;
	r->p += n;
	return true;
}

/* The next `n` bytes as a reader of their own, cut to what was captured (*cut says so). */
static struct rd rd_sub(struct rd *r, size_t n, bool *cut)
{
	struct rd s = { r->p, r->p };

	*cut = !rd_has(r, n);
	s.end = *cut ? r->end : r->p + n;
	r->p = s.end;
	return s;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * Copies a host name into out (lower case) if it is one: 1..PROTO_NAME_MAX bytes of letters,
 * digits, '-', '_' and dots, no empty label, not an IPv4 literal. Anything else leaves out empty.
 */
static void copy_name(const uint8_t *s, size_t n, char *out)
{
	bool alpha = false;

	out[0] = '\0';
	if (n && s[n - 1] == '.')
		n--; /* the root's dot */
	if (!n || n > PROTO_NAME_MAX || s[0] == '.')
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = lower(s[i]);

		if (c == '.' && s[i - 1] == '.')
			return;
		if (!(c == '.' || c == '-' || c == '_' || is_digit(c) || (c >= 'a' && c <= 'z')))
			return;
		alpha |= !(c == '.' || is_digit(c));
	}
	if (!alpha)
		return;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)lower(s[i]);
	out[n] = '\0';
}

/* "RFB 003.008\n" */
static bool is_rfb(const uint8_t *p, size_t n)
{
	static const char shape[] = "RFB ddd.ddd\n";

	if (n < 12)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (shape[i] == 'd' ? !is_digit(p[i]) : p[i] != (uint8_t)shape[i])
			return false;
	return true;
}

/* "SSH-2.0-softwareversion", "SSH-1.99-..." (RFC 4253 4.2): the version and its dash. */
static bool is_ssh(const uint8_t *p, size_t n)
{
	size_t i = 4;

	if (n < 8 || memcmp(p, "SSH-", 4))
		return false;
	if (!is_digit(p[i]))
		return false;
	while (i < n && is_digit(p[i]))
		i++;
	if (i >= n || p[i++] != '.' || i >= n || !is_digit(p[i]))
		return false;
	while (i < n && is_digit(p[i]))
		i++;
	return i < n && p[i] == '-';
}

/*
 * TPKT (RFC 1006: version 3, reserved 0, length) around an X.224 Connection Request (0xE0, sent by
 * the client, often with "Cookie: mstshash=") or Confirm (0xD0, the server's): the length
 * indicator covers the rest of the TPDU, and class 0 is what RDP uses.
 */
static bool is_rdp(const uint8_t *p, size_t n, enum proto_sender *sender)
{
	uint32_t len, li, code;

	if (n < 11 || p[0] != 3 || p[1] != 0)
		return false;
	len = (uint32_t)p[2] << 8 | p[3];
	li = p[4];
	code = p[5] & 0xf0;
	if (len < 11 || li != len - 5 || (code != 0xe0 && code != 0xd0))
		return false;
	if (p[10] & 0xf0)
		return false; /* class 0 */
	*sender = code == 0xe0 ? PROTO_SENDER_CLIENT : PROTO_SENDER_SERVER;
	return true;
}

/* The server_name extension (RFC 6066 3): the first host_name entry. */
static void tls_sni(struct rd ext, char *out)
{
	uint32_t list_len, type, len;
	bool cut;
	struct rd list;

	if (!rd_u16(&ext, &list_len))
		return;
	list = rd_sub(&ext, list_len, &cut);
	if (cut)
		return; /* a list longer than its extension */
	while (rd_u8(&list, &type) && rd_u16(&list, &len)) {
		if (!rd_has(&list, len))
			return;
		if (type == 0) {
			copy_name(list.p, len, out);
			return;
		}
		list.p += len;
	}
}

/*
 * A handshake record (RFC 8446 5.1, 4.1.2): a ClientHello names the server it wants in its
 * server_name extension; a ServerHello is the other side. Lengths are checked against the record,
 * the handshake and the capture; a capture cut before the extension leaves the name empty.
 */
static bool is_tls(const uint8_t *p, size_t n, struct proto_id *out)
{
	struct rd r = { p, p + n }, body, exts;
	uint32_t rec_len, type, hs_len, v, ext_len, ext_type;
	bool cut;

	if (n < 9 || p[0] != 0x16 || p[1] != 3 || p[2] > 4)
		return false;
	r.p += 3;
	if (!rd_u16(&r, &rec_len) || rec_len < 4 || rec_len > (1u << 14) + 2048)
		return false;
	if (!rd_u8(&r, &type) || !rd_u24(&r, &hs_len))
		return false;
	if ((type != 1 && type != 2) || hs_len + 4 > rec_len)
		return false;
	/* client_version / legacy_version: SSL 3.0 to TLS 1.2 */
	if (rd_has(&r, 2) && (r.p[0] != 3 || r.p[1] > 3))
		return false;
	out->sender = type == 1 ? PROTO_SENDER_CLIENT : PROTO_SENDER_SERVER;
	if (type == 2)
		return true;
	body = rd_sub(&r, hs_len, &cut);
	if (!rd_skip(&body, 2 + 32) || !rd_u8(&body, &v) || v > 32 || !rd_skip(&body, v))
		return true; /* session id */
	if (!rd_u16(&body, &v) || v < 2 || v & 1 || !rd_skip(&body, v))
		return true; /* cipher suites */
	if (!rd_u8(&body, &v) || v < 1 || !rd_skip(&body, v))
		return true; /* compression methods */
	if (!rd_u16(&body, &ext_len))
		return true;
	exts = rd_sub(&body, ext_len, &cut);
	while (rd_u16(&exts, &ext_type) && rd_u16(&exts, &v)) {
		bool ext_cut;
		struct rd ext = rd_sub(&exts, v, &ext_cut);

		if (ext_type == 0) {
			if (!ext_cut)
				tls_sni(ext, out->server_name);
			break;
		}
	}
	return true;
}

static const char *const http_methods[] = { "GET ", "POST ", "HEAD ", "PUT ", "DELETE ",
					    "OPTIONS ", "PATCH ", "CONNECT ", NULL };

/* The end of the line starting at `at` (its '\r' or lone '\n'), or NULL when cut. */
static const uint8_t *line_end(const uint8_t *at, const uint8_t *end)
{
	const uint8_t *nl = memchr(at, '\n', (size_t)(end - at));

	if (!nl)
		return NULL;
	return nl > at && nl[-1] == '\r' ? nl - 1 : nl;
}

/* The Host header's value without its port (RFC 9110 7.2); the request line is only skipped. */
static void http_host(const uint8_t *line, const uint8_t *end, char *out)
{
	const uint8_t *e;

	/* past the request line, whose target is never looked at */
	while ((e = line_end(line, end))) {
		line = memchr(e, '\n', (size_t)(end - e)) + 1;
		e = line_end(line, end);
		if (!e || e == line)
			return; /* cut, or the end of the headers */
		if (e - line > 5 && lower(line[0]) == 'h' && lower(line[1]) == 'o' &&
		    lower(line[2]) == 's' && lower(line[3]) == 't' && line[4] == ':') {
			const uint8_t *v = line + 5, *colon;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (v < e && *v == '[')
				return; /* an IPv6 literal */
			colon = memchr(v, ':', (size_t)(e - v));
			copy_name(v, (size_t)((colon ? colon : e) - v), out);
			return;
		}
	}
}

static bool is_http(const uint8_t *p, size_t n, struct proto_id *out)
{
	const uint8_t *end = p + n, *e;

	if (n >= 9 && !memcmp(p, "HTTP/1.", 7) && is_digit(p[7]) && p[8] == ' ') {
		out->sender = PROTO_SENDER_SERVER;
		return true;
	}
	for (const char *const *m = http_methods; *m; m++) {
		size_t ml = strlen(*m);

		if (n <= ml || memcmp(p, *m, ml))
			continue;
		/* the request line must end in " HTTP/1.x" within the capture */
		e = line_end(p, end);
		if (!e || e - p < (ptrdiff_t)(ml + 10) || memcmp(e - 9, " HTTP/1.", 8) ||
		    !is_digit(e[-1]))
			return false;
		out->sender = PROTO_SENDER_CLIENT;
		http_host(p, end, out->server_name);
		return true;
	}
	return false;
}

enum proto_app proto_id_classify(const uint8_t *p, size_t n, struct proto_id *out)
{
	memset(out, 0, sizeof(*out));
	if (!p || !n)
		return PROTO_APP_NONE;
	if (is_rfb(p, n))
		out->app = PROTO_APP_RFB;
	else if (is_ssh(p, n))
		out->app = PROTO_APP_SSH;
	else if (is_rdp(p, n, &out->sender))
		out->app = PROTO_APP_RDP;
	else if (is_tls(p, n, out))
		out->app = PROTO_APP_TLS;
	else if (is_http(p, n, out))
		out->app = PROTO_APP_HTTP;
	if (out->app == PROTO_APP_NONE)
		memset(out, 0, sizeof(*out));
	return out->app;
}

const char *proto_app_name(enum proto_app app)
{
	static const char *const names[PROTO_APP_MAX] = {
		[PROTO_APP_NONE] = "", [PROTO_APP_RFB] = "rfb", [PROTO_APP_RDP] = "rdp",
		[PROTO_APP_SSH] = "ssh", [PROTO_APP_TLS] = "tls", [PROTO_APP_HTTP] = "http",
	};

	return (unsigned int)app < PROTO_APP_MAX ? names[app] : "";
}

bool proto_app_remote_desktop(enum proto_app app)
{
	return app == PROTO_APP_RFB || app == PROTO_APP_RDP;
}
