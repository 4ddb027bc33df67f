/* Unit tests for agent/net/proto_id.c: each protocol's first bytes, cut captures and hostile input. */
#include "testing.h"

#include <stdint.h>
#include <string.h>

#include "net/proto_id.h"

struct msg {
	uint8_t b[1024];
	size_t n;
};

static void put8(struct msg *m, uint32_t v) { m->b[m->n++] = (uint8_t)v; }
static void put16(struct msg *m, uint32_t v) { put8(m, v >> 8); put8(m, v); }
static void put24(struct msg *m, uint32_t v) { put8(m, v >> 16); put16(m, v); }
static void put(struct msg *m, const void *p, size_t n) { memcpy(m->b + m->n, p, n); m->n += n; }
static void set16(struct msg *m, size_t at, uint32_t v) { m->b[at] = (uint8_t)(v >> 8); m->b[at + 1] = (uint8_t)v; }
static void set24(struct msg *m, size_t at, uint32_t v) { m->b[at] = (uint8_t)(v >> 16); set16(m, at + 1, v); }

/* A ClientHello as OpenSSL sends it, with `sni` (NULL: none) after a first extension. */
static void client_hello(struct msg *m, const char *sni)
{
	uint8_t random[32] = { 1, 2, 3 };
	size_t ext_at;

	m->n = 0;
	put8(m, 0x16);
	put16(m, 0x0301);
	put16(m, 0);		/* record length, set below */
	put8(m, 1);		/* ClientHello */
	put24(m, 0);		/* handshake length, set below */
	put16(m, 0x0303);
	put(m, random, 32);
	put8(m, 32);		/* session id */
	put(m, random, 32);
	put16(m, 4);		/* cipher suites */
	put16(m, 0x1301);
	put16(m, 0x1302);
	put8(m, 1);		/* compression: null */
	put8(m, 0);
	ext_at = m->n;
	put16(m, 0);		/* extensions length, set below */
	put16(m, 0x000b);	/* ec_point_formats */
	put16(m, 2);
	put8(m, 1);
	put8(m, 0);
	if (sni) {
		size_t l = strlen(sni);

		put16(m, 0);	/* server_name */
		put16(m, l + 5);
		put16(m, l + 3);
		put8(m, 0);	/* host_name */
		put16(m, l);
		put(m, sni, l);
	}
	put16(m, 0x002b);	/* supported_versions */
	put16(m, 3);
	put8(m, 2);
	put16(m, 0x0304);
	set16(m, ext_at, m->n - ext_at - 2);
	set24(m, 6, m->n - 9);
	set16(m, 3, m->n - 5);
}

static enum proto_app classify(const void *p, size_t n, struct proto_id *id)
{
	return proto_id_classify(p, n, id);
}

TEST(rfb_banner)
{
	struct proto_id id;

	CHECK(classify("RFB 003.008\n", 12, &id) == PROTO_APP_RFB);
	CHECK(strcmp(proto_app_name(id.app), "rfb") == 0);
	CHECK(proto_app_remote_desktop(id.app));
	CHECK(classify("RFB 003.889\n", 12, &id) == PROTO_APP_RFB); /* Apple's */
	CHECK(classify("RFB 003.008", 11, &id) == PROTO_APP_NONE);  /* cut before the newline */
	CHECK(classify("RFB 03.0008\n", 12, &id) == PROTO_APP_NONE);
	CHECK(classify("rfb 003.008\n", 12, &id) == PROTO_APP_NONE);
}

TEST(ssh_banner)
{
	struct proto_id id;
	const char *b = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";

	CHECK(classify(b, strlen(b), &id) == PROTO_APP_SSH);
	CHECK(!proto_app_remote_desktop(id.app));
	CHECK(classify("SSH-1.99-x\r\n", 12, &id) == PROTO_APP_SSH);
	CHECK(classify("SSH-2.0", 7, &id) == PROTO_APP_NONE);
	CHECK(classify("SSH-x.0-a\r\n", 11, &id) == PROTO_APP_NONE);
	CHECK(classify("SSH-2.-a\r\n", 10, &id) == PROTO_APP_NONE);
}

TEST(rdp_connection_request_and_confirm)
{
	/* mstsc's request: TPKT, X.224 CR, cookie, RDP_NEG_REQ */
	static const uint8_t cr[] = { 0x03, 0x00, 0x00, 0x2c, 0x27, 0xe0, 0x00, 0x00, 0x00, 0x00,
				      0x00, 'C', 'o', 'o', 'k', 'i', 'e', ':', ' ', 'm', 's', 't',
				      's', 'h', 'a', 's', 'h', '=', 'e', 'l', 't', 'o', 'n', 's',
				      '\r', '\n', 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00 };
	/* the server's confirm with RDP_NEG_RSP */
	static const uint8_t cc[] = { 0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
				      0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00 };
	uint8_t bad[sizeof(cc)];
	struct proto_id id;

	CHECK(classify(cr, sizeof(cr), &id) == PROTO_APP_RDP && id.sender == PROTO_SENDER_CLIENT);
	CHECK(proto_app_remote_desktop(id.app));
	CHECK(classify(cc, sizeof(cc), &id) == PROTO_APP_RDP && id.sender == PROTO_SENDER_SERVER);
	CHECK(classify(cc, 11, &id) == PROTO_APP_RDP);	/* the X.224 header is enough */
	CHECK(classify(cc, 10, &id) == PROTO_APP_NONE);
	memcpy(bad, cc, sizeof(bad));
	bad[4] = 0x0f; /* length indicator disagrees with the TPKT length */
	CHECK(classify(bad, sizeof(bad), &id) == PROTO_APP_NONE);
	memcpy(bad, cc, sizeof(bad));
	bad[5] = 0xf0; /* a data TPDU, not a connection */
	CHECK(classify(bad, sizeof(bad), &id) == PROTO_APP_NONE);
}

TEST(tls_client_hello_server_name)
{
	struct msg m;
	struct proto_id id;

	client_hello(&m, "Relay.RustDesk.com");
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_TLS);
	CHECK(id.sender == PROTO_SENDER_CLIENT);
	CHECK(strcmp(id.server_name, "relay.rustdesk.com") == 0);
	/* cut inside the name: TLS, no name */
	CHECK(classify(m.b, m.n - 12, &id) == PROTO_APP_TLS);
	CHECK(id.server_name[0] == '\0');
	client_hello(&m, NULL);
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_TLS && id.server_name[0] == '\0');
}

TEST(tls_rejects_bad_names_and_lengths)
{
	struct msg m;
	struct proto_id id;

	client_hello(&m, "10.1.2.3");
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_TLS && id.server_name[0] == '\0');
	client_hello(&m, "evil..example.com");
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_TLS && id.server_name[0] == '\0');
	client_hello(&m, "a/b.example.com");
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_TLS && id.server_name[0] == '\0');
	/* the server_name list claims more than its extension holds */
	client_hello(&m, "relay.example.com");
	for (size_t i = 0; i + 4 < m.n; i++) {
		if (m.b[i] == 0 && m.b[i + 1] == 0 && m.b[i + 2] == 0 && m.b[i + 3] == 22) {
			m.b[i + 5] = 0xff;
			break;
		}
	}
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_TLS && id.server_name[0] == '\0');
	/* a handshake longer than its record is not TLS */
	client_hello(&m, "relay.example.com");
	set24(&m, 6, 0x4000);
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_NONE);
	/* an application-data record is not a hello */
	client_hello(&m, "relay.example.com");
	m.b[0] = 0x17;
	CHECK(classify(m.b, m.n, &id) == PROTO_APP_NONE);
}

TEST(tls_server_hello)
{
	static const uint8_t sh[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03,
				      0x03 };
	struct proto_id id;

	CHECK(classify(sh, sizeof(sh), &id) == PROTO_APP_TLS && id.sender == PROTO_SENDER_SERVER);
}

TEST(http_host_without_path)
{
	const char *req = "GET /secret/path?token=abc HTTP/1.1\r\nUser-Agent: x\r\n"
			  "host:  Updates.Example-RMM.test:8443 \r\nAccept: */*\r\n\r\n";
	struct proto_id id;

	CHECK(classify(req, strlen(req), &id) == PROTO_APP_HTTP);
	CHECK(id.sender == PROTO_SENDER_CLIENT);
	CHECK(strcmp(id.server_name, "updates.example-rmm.test") == 0);
	CHECK(!memmem(&id, sizeof(id), "secret", 6));
	CHECK(!memmem(&id, sizeof(id), "token", 5));
	req = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n";
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_HTTP && id.server_name[0] == '\0');
	req = "GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n";
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_HTTP && id.server_name[0] == '\0');
	req = "POST /x HTTP/1.0\nHost: a.example\n\n";	/* bare newlines */
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_HTTP);
	CHECK(strcmp(id.server_name, "a.example") == 0);
	req = "GET / HTTP/1.1\r\nX-Host: no.example\r\n";	/* cut before any Host */
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_HTTP && id.server_name[0] == '\0');
	req = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP\r\n";
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_HTTP && id.sender == PROTO_SENDER_SERVER);
}

TEST(http_needs_a_whole_request_line)
{
	struct proto_id id;
	const char *req = "GET /a/very/long/path/that/was/cut";

	CHECK(classify(req, strlen(req), &id) == PROTO_APP_NONE);
	req = "GETTING / HTTP/1.1\r\n";
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_NONE);
	req = "GET / FTP/1.1\r\n";
	CHECK(classify(req, strlen(req), &id) == PROTO_APP_NONE);
}

TEST(nothing_from_other_bytes)
{
	static const uint8_t zeros[64];
	struct proto_id id;

	CHECK(classify("INFO {\"server_id\":1}\r\n", 22, &id) == PROTO_APP_NONE);
	CHECK(classify(zeros, sizeof(zeros), &id) == PROTO_APP_NONE);
	CHECK(classify(NULL, 0, &id) == PROTO_APP_NONE);
	CHECK(id.server_name[0] == '\0' && proto_app_name(id.app)[0] == '\0');
	CHECK(proto_app_name((enum proto_app)99)[0] == '\0');
}

int main(void)
{
	RUN(rfb_banner);
	RUN(ssh_banner);
	RUN(rdp_connection_request_and_confirm);
	RUN(tls_client_hello_server_name);
	RUN(tls_rejects_bad_names_and_lengths);
	RUN(tls_server_hello);
	RUN(http_host_without_path);
	RUN(http_needs_a_whole_request_line);
	RUN(nothing_from_other_bytes);
	return test_summary();
}
