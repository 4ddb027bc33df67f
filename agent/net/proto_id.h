/*
 * proto_id.h - names the application protocol of a TCP connection from the first bytes one side
 * sent (bpf/lib/proto_capture.h captures them): the RFB (VNC) and SSH banners, RDP's X.224
 * Connection Request and Confirm, a TLS ClientHello (its server name) or ServerHello, an HTTP
 * request (its Host) or response. Pure functions over untrusted bytes: every length is checked
 * against the bytes there are, a capture cut short yields the protocol without the name, and
 * nothing but the protocol and a validated host name is copied out (never an HTTP path).
 */
#ifndef GW_PROTO_ID_H
#define GW_PROTO_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto_app {
	PROTO_APP_NONE = 0,	/* not one of these, or too short to tell */
	PROTO_APP_RFB,
	PROTO_APP_RDP,
	PROTO_APP_SSH,
	PROTO_APP_TLS,
	PROTO_APP_HTTP,
	PROTO_APP_MAX
};

/* Which side sent the bytes, where the protocol says (RFB and SSH banners come from both). */
enum proto_sender {
	PROTO_SENDER_EITHER = 0,
	PROTO_SENDER_CLIENT,	/* X.224 CR, ClientHello, an HTTP request */
	PROTO_SENDER_SERVER,	/* X.224 CC, ServerHello, an HTTP response */
};

#define PROTO_NAME_MAX 253

struct proto_id {
	enum proto_app app;
	enum proto_sender sender;
	/* TLS server name or HTTP Host without its port: lower case letters, digits, '-', '_' and
	 * dots, not an address literal; "" when there is none */
	char server_name[PROTO_NAME_MAX + 1];
};

/* Classifies `n` bytes; fills *out (always) and returns out->app. */
enum proto_app proto_id_classify(const uint8_t *p, size_t n, struct proto_id *out);

/* "rfb", "rdp", "ssh", "tls", "http"; "" for none. */
const char *proto_app_name(enum proto_app app);

/* Remote desktop: RFB (VNC) and RDP. */
bool proto_app_remote_desktop(enum proto_app app);

#endif
