/*
 * gw-publish: a test and benchmark publisher standing in for agents (the agent's own forwarder
 * is `ghostwatch run`). It speaks to nats-server exactly like an agent does: mutual TLS with a
 * host certificate, inbox prefix _GW_INBOX.<host>, JetStream publish to
 * ghostwatch.v1.telemetry.<host> with Nats-Msg-Id <host>:<seq>, waiting for the stream's ack.
 *
 *   gw-publish gen  --host H --seq-from N --count C --events E [--hostname X] [--subject S]
 *                   [--out DIR] [--no-publish] [--skip SEQ,...] [--detections]
 *                   [--employee ID] [--employee-tz TZ] [--place SPEC] [--linger S] CONNECTION
 *        builds C realistic batches (exec/exit events; --detections makes the last three of each
 *        a USB device, a Finding and a FraudScore) and publishes them; --out also writes
 *        each one to DIR/H-<seq>.bin (wire form) and DIR/H-<seq>.pb (uncompressed protobuf) so a
 *        test can mutate them. --skip leaves the listed seqs out (to make gaps). --employee and
 *        --employee-tz fill HostIdentity.employee_id/_timezone; --place puts a Place in each
 *        batch's header (SPEC: gw=HASH,bssid=HASH,tz=ZONE,neigh=H1:H2:...,ipkvm=VENDOR, any
 *        subset) and, with neigh or ipkvm, a place event carrying the neighbours. --linger keeps
 *        the connection open S seconds after the last ack (the server's connection list).
 *   gw-publish file --subject S [--msg-id ID] FILE... CONNECTION
 *        publishes each file's bytes as they are (for malformed/hostile input).
 * CONNECTION: --server URL[,URL] --ca F --cert F --key F [--inbox-prefix P]
 * Prints "published N acked M bytes B events E seconds S" and exits 0 only if every message was
 * acked by the stream; 3 when the connection is refused.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "batch_decode.h"
#include "nats_conn.h"

struct pub {
	natsConnection *nc;
	jsCtx *js;
	const char *subject;
	uint64_t published, acked, failed, duplicates, bytes, events;
	bool wait_each;
};

/* Runs on the library's thread for every async publish: counts the stream's answers. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct pub *p = closure;

	(void)js;
	if (pa && !pae) {
		__atomic_add_fetch(&p->acked, 1, __ATOMIC_RELAXED);
		if (pa->Duplicate)
			__atomic_add_fetch(&p->duplicates, 1, __ATOMIC_RELAXED);
	} else {
		if (__atomic_add_fetch(&p->failed, 1, __ATOMIC_RELAXED) <= 5)
			fprintf(stderr, "gw-publish: publish to %s failed: %s (%d) %s\n",
				natsMsg_GetSubject(msg), pae ? natsStatus_GetText(pae->Err) : "?",
				pae ? (int)pae->ErrCode : 0, pae && pae->ErrText ? pae->ErrText : "");
	}
	natsMsg_Destroy(msg);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int publish(struct pub *p, const char *subject, const char *msg_id, const void *data,
		   size_t len)
{
	natsMsg *m = NULL;
	natsStatus s;
	jsErrCode jerr = 0;
	jsPubAck *ack = NULL;

	s = natsMsg_Create(&m, subject, NULL, data, (int)len);
	if (s == NATS_OK && msg_id)
		s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
	if (s != NATS_OK) {
		natsMsg_Destroy(m);
		return -1;
	}
	p->published++;
	p->bytes += len;
	if (p->wait_each) {
		s = js_PublishMsg(&ack, p->js, m, NULL, &jerr);
		natsMsg_Destroy(m);
		if (s != NATS_OK) {
			fprintf(stderr, "gw-publish: publish to %s failed: %s (%d): %s\n", subject,
				natsStatus_GetText(s), jerr, nats_GetLastError(NULL));
			return -1;
		}
		p->acked++;
		if (ack->Duplicate)
			p->duplicates++;
		jsPubAck_Destroy(ack);
		return 0;
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 5000;
	s = js_PublishMsgAsync(p->js, &m, &po);
	if (s != NATS_OK) {
		natsMsg_Destroy(m);
		fprintf(stderr, "gw-publish: async publish to %s: %s\n", subject,
			nats_GetLastError(NULL));
		return -1;
	}
	return 0;
}

static void fill_process(Ghostwatch__V1__Process *pr, uint64_t n, char **argv)
{
	ghostwatch__v1__process__init(pr);
	pr->process_id = 0x9e3779b97f4a7c15ull * (n + 1);
	pr->parent_process_id = 0x9e3779b97f4a7c15ull * (n / 7 + 1);
	pr->pid = 10000 + n % 50000;
	pr->ppid = 1000 + n % 97;
	pr->tid = pr->pid;
	pr->uid = 1000;
	pr->gid = 1000;
	pr->auid = 1000;
	pr->session_id = 4242;
	pr->tty = "pts/1";
	pr->cgroup_id = 8812;
	pr->start_time_ns = 1000000000ull * (1000 + n);
	pr->comm = "curl";
	pr->exe = "/usr/bin/curl";
	pr->argv = argv;
	pr->n_argv = 3;
	pr->cwd = "/home/worker";
	pr->source = "exec";
}

/* Builds batch seq of host with n_events alternating exec/exit events (the last three a
 * DeviceEvent, a Finding and a FraudScore when `detections`), packs and compresses it. */
/* What --employee, --employee-tz, --boot-id, --agent-start and --place put in a batch. */
struct extras {
	const char *employee, *employee_tz;
	const char *boot_id;
	uint64_t agent_start_ns;
	char gw[80], bssid[80], tz[80], ipkvm[80];
	char *neigh[64];
	size_t n_neigh;
	bool place;
};

/* Parses --place's SPEC into x; false on a malformed one. */
static bool parse_place(char *spec, struct extras *x)
{
	char *save = NULL;

	x->place = true;
	for (char *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (!v)
			return false;
		*v++ = '\0';
		if (strcmp(kv, "gw") == 0)
			snprintf(x->gw, sizeof(x->gw), "%s", v);
		else if (strcmp(kv, "bssid") == 0)
			snprintf(x->bssid, sizeof(x->bssid), "%s", v);
		else if (strcmp(kv, "tz") == 0)
			snprintf(x->tz, sizeof(x->tz), "%s", v);
		else if (strcmp(kv, "ipkvm") == 0)
			snprintf(x->ipkvm, sizeof(x->ipkvm), "%s", v);
		else if (strcmp(kv, "neigh") == 0) {
			char *s2 = NULL;

			for (char *n = strtok_r(v, ":", &s2); n && x->n_neigh < 64;
			     n = strtok_r(NULL, ":", &s2))
				x->neigh[x->n_neigh++] = n;
		} else
			return false;
	}
	return true;
}

static int build_batch(const char *host, const char *hostname, uint64_t seq, int n_events,
		       bool detections, const struct extras *x, uint8_t **wire, size_t *wire_len,
		       uint8_t **raw, size_t *raw_len)
{
	Ghostwatch__V1__Place place, place_ev;
	Ghostwatch__V1__LanVendor kvm;
	Ghostwatch__V1__LanVendor *kvms[1] = { &kvm };
	Ghostwatch__V1__Event pev;
	bool with_event = x->place && (x->n_neigh || x->ipkvm[0]);
	Ghostwatch__V1__Finding finding;
	Ghostwatch__V1__FraudScore score;
	Ghostwatch__V1__DeviceEvent device;
	Ghostwatch__V1__Batch b;
	Ghostwatch__V1__HostIdentity id;
	Ghostwatch__V1__SpoolState spool;
	Ghostwatch__V1__AgentStats stats;
	Ghostwatch__V1__Counter drop;
	Ghostwatch__V1__Counter *drops[1] = { &drop };
	Ghostwatch__V1__Event *evs = calloc(n_events, sizeof(*evs));
	Ghostwatch__V1__Event **evp = calloc(n_events + 1, sizeof(*evp));
	Ghostwatch__V1__ProcessExec *ex = calloc(n_events, sizeof(*ex));
	Ghostwatch__V1__ProcessExit *xt = calloc(n_events, sizeof(*xt));
	Ghostwatch__V1__Process *pr = calloc(n_events, sizeof(*pr));
	char (*url)[96] = calloc(n_events, sizeof(*url));
	char **argvs = calloc(n_events * 3, sizeof(char *));
	uLongf zlen;
	int rc = -1;

	if (!evs || !evp || !ex || !xt || !pr || !url || !argvs)
		goto out;
	ghostwatch__v1__batch__init(&b);
	memset(&place, 0, sizeof(place));
	ghostwatch__v1__host_identity__init(&id);
	ghostwatch__v1__spool_state__init(&spool);
	ghostwatch__v1__agent_stats__init(&stats);
	ghostwatch__v1__counter__init(&drop);
	id.host_id = (char *)host;
	id.machine_id = "4c4c4544003957108052b4c04f4e3732";
	id.hostname = (char *)hostname;
	id.boot_id = (char *)x->boot_id;
	id.agent_start_ns = x->agent_start_ns;
	id.agent_version = "test-publisher";
	id.kernel_release = "6.1.0-test";
	id.cert_identity = (char *)host;	/* the certificate's subject CN, as the agent sends it */
	id.employee_id = (char *)(x->employee ? x->employee : "");
	id.employee_timezone = (char *)(x->employee_tz ? x->employee_tz : "");
	if (x->place) {
		/* the header's compact form: no neighbour list */
		ghostwatch__v1__place__init(&place);
		place.gateway_mac_hash = (char *)x->gw;
		place.wifi_bssid_hash = (char *)x->bssid;
		place.timezone = (char *)x->tz;
		place.change = "start";
		b.place = &place;
	}
	drop.name = "exec";
	drop.value = 0;
	stats.drops = drops;
	stats.n_drops = 1;
	b.host = &id;
	b.seq = seq;
	b.window_start_ns = 1700000000000000000ull + seq * 1000000000ull;
	b.window_end_ns = b.window_start_ns + 1000000000ull;
	b.spool = &spool;
	b.stats = &stats;
	for (int i = 0; i < n_events; i++) {
		uint64_t n = seq * 100000 + i;
		ghostwatch__v1__event__init(&evs[i]);
		evs[i].event_id = n;
		evs[i].time_ns = b.window_start_ns + i * 1000ull;
		snprintf(url[i], sizeof(url[i]), "https://files.example.com/drop/%" PRIu64 "?q=%d",
			 seq, i);
		argvs[i * 3] = "curl";
		argvs[i * 3 + 1] = "-sO";
		argvs[i * 3 + 2] = url[i];
		fill_process(&pr[i], n / 2, &argvs[i * 3]);
		if (i % 2 == 0) {
			ghostwatch__v1__process_exec__init(&ex[i]);
			ex[i].process = &pr[i];
			evs[i].kind_case = GHOSTWATCH__V1__EVENT__KIND_EXEC;
			evs[i].exec = &ex[i];
		} else {
			ghostwatch__v1__process_exit__init(&xt[i]);
			xt[i].process = &pr[i];
			xt[i].exit_code = i % 3;
			xt[i].duration_ns = 1500000;
			evs[i].kind_case = GHOSTWATCH__V1__EVENT__KIND_EXIT;
			evs[i].exit = &xt[i];
		}
		evp[i] = &evs[i];
	}
	if (detections && n_events >= 3) {
		/* an IP-KVM's USB composite device, the same model in every batch */
		ghostwatch__v1__device_event__init(&device);
		device.action = "attach";
		device.source = "uevent";
		device.kind = "usb";
		device.model_fingerprint =
			"9f2c4e1ab7d03c55e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";
		evs[n_events - 3].kind_case = GHOSTWATCH__V1__EVENT__KIND_DEVICE;
		evs[n_events - 3].device = &device;
		ghostwatch__v1__finding__init(&finding);
		finding.rule_id = "rmm.anydesk";
		finding.title = "AnyDesk remote access tool";
		finding.category = "rmm";
		finding.severity = "high";
		finding.count = seq;
		ghostwatch__v1__fraud_score__init(&score);
		score.score = (uint32_t)(seq % 100);
		evs[n_events - 2].kind_case = GHOSTWATCH__V1__EVENT__KIND_FINDING;
		evs[n_events - 2].finding = &finding;
		evs[n_events - 1].kind_case = GHOSTWATCH__V1__EVENT__KIND_FRAUD_SCORE;
		evs[n_events - 1].fraud_score = &score;
	}
	b.events = evp;
	b.n_events = n_events;
	if (with_event) {
		place_ev = place;
		place_ev.neighbour_hashes = (char **)x->neigh;
		place_ev.n_neighbour_hashes = x->n_neigh;
		place_ev.neighbours = x->n_neigh;
		if (x->ipkvm[0]) {
			ghostwatch__v1__lan_vendor__init(&kvm);
			kvm.oui = "44:B7:D0";
			kvm.vendor = (char *)x->ipkvm;
			kvm.count = 1;
			kvm.ipkvm = true;
			place_ev.neighbour_vendors = kvms;
			place_ev.n_neighbour_vendors = 1;
		}
		ghostwatch__v1__event__init(&pev);
		pev.event_id = seq * 100000 + n_events;
		pev.time_ns = b.window_end_ns;
		pev.kind_case = GHOSTWATCH__V1__EVENT__KIND_PLACE;
		pev.place = &place_ev;
		evp[b.n_events++] = &pev;
	}

	*raw_len = ghostwatch__v1__batch__get_packed_size(&b);
	*raw = malloc(*raw_len ? *raw_len : 1);
	zlen = compressBound(*raw_len);
	*wire = malloc(zlen);
	if (!*raw || !*wire)
		goto out;
	ghostwatch__v1__batch__pack(&b, *raw);
	if (compress2(*wire, &zlen, *raw, *raw_len, 6) != Z_OK)
		goto out;
	*wire_len = zlen;
	rc = 0;
out:
	free(evs);
	free(evp);
	free(ex);
	free(xt);
	free(pr);
	free(url);
	free(argvs);
	return rc;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "gw-publish: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long sz;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		goto fail;
	buf = malloc(sz ? sz : 1);
	if (!buf || fread(buf, 1, sz, f) != (size_t)sz)
		goto fail;
	fclose(f);
	*len = sz;
	return buf;
fail:
	fprintf(stderr, "gw-publish: %s: %s\n", path, strerror(errno));
	free(buf);
	if (f)
		fclose(f);
	return NULL;
}

static bool in_skip(const char *skip, uint64_t seq)
{
	char buf[32];
	size_t n;

	if (!skip)
		return false;
	n = snprintf(buf, sizeof(buf), "%" PRIu64, seq);
	for (const char *p = skip; (p = strstr(p, buf)); p++)
		if ((p == skip || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct nats_conn_opts co = { .servers = "tls://127.0.0.1:4222", .name = "gw-publish" };
	const char *host = NULL, *hostname = "test-host", *subject = NULL, *msg_id = NULL;
	const char *out_dir = NULL, *skip = NULL, *inbox = NULL;
	uint64_t seq_from = 1, count = 1;
	int events = 50, c, rc = 0;
	bool no_publish = false, detections = false, gen;
	struct extras x = { .boot_id = "0b0e5a3c-6d1f-4d7e-9a51-3f3e1c2a9b10" };
	int linger = 0;
	struct pub p = { 0 };
	char inbox_buf[128], subj_buf[160], err[512];
	double t0;
	enum { O_HOST = 256, O_SEQ, O_COUNT, O_EVENTS, O_HOSTNAME, O_SUBJECT, O_MSGID, O_OUT,
	       O_NOPUB, O_SKIP, O_SERVER, O_CA, O_CERT, O_KEY, O_INBOX, O_WAIT, O_DETECT,
	       O_EMPLOYEE, O_EMPLOYEE_TZ, O_PLACE, O_LINGER, O_BOOT_ID, O_AGENT_START };
	static const struct option lo[] = {
		{ "host", 1, NULL, O_HOST },	     { "seq-from", 1, NULL, O_SEQ },
		{ "count", 1, NULL, O_COUNT },	     { "events", 1, NULL, O_EVENTS },
		{ "hostname", 1, NULL, O_HOSTNAME }, { "subject", 1, NULL, O_SUBJECT },
		{ "msg-id", 1, NULL, O_MSGID },	     { "out", 1, NULL, O_OUT },
		{ "no-publish", 0, NULL, O_NOPUB },  { "skip", 1, NULL, O_SKIP },
		{ "server", 1, NULL, O_SERVER },     { "ca", 1, NULL, O_CA },
		{ "cert", 1, NULL, O_CERT },	     { "key", 1, NULL, O_KEY },
		{ "inbox-prefix", 1, NULL, O_INBOX }, { "wait-each", 0, NULL, O_WAIT },
		{ "detections", 0, NULL, O_DETECT },
		{ "employee", 1, NULL, O_EMPLOYEE }, { "employee-tz", 1, NULL, O_EMPLOYEE_TZ },
		{ "place", 1, NULL, O_PLACE },	     { "linger", 1, NULL, O_LINGER },
		{ "boot-id", 1, NULL, O_BOOT_ID },   { "agent-start", 1, NULL, O_AGENT_START },
		{ NULL, 0, NULL, 0 },
	};

	if (argc < 2 || (strcmp(argv[1], "gen") && strcmp(argv[1], "file"))) {
		fprintf(stderr, "usage: gw-publish gen|file [options] (see the top of "
				"tests/tools/gw-publish.c)\n");
		return 2;
	}
	gen = strcmp(argv[1], "gen") == 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_HOST: host = optarg; break;
		case O_SEQ: seq_from = strtoull(optarg, NULL, 10); break;
		case O_COUNT: count = strtoull(optarg, NULL, 10); break;
		case O_EVENTS: events = atoi(optarg); break;
		case O_HOSTNAME: hostname = optarg; break;
		case O_SUBJECT: subject = optarg; break;
		case O_MSGID: msg_id = optarg; break;
		case O_OUT: out_dir = optarg; break;
		case O_NOPUB: no_publish = true; break;
		case O_SKIP: skip = optarg; break;
		case O_SERVER: co.servers = optarg; break;
		case O_CA: co.ca_file = optarg; break;
		case O_CERT: co.cert_file = optarg; break;
		case O_KEY: co.key_file = optarg; break;
		case O_INBOX: inbox = optarg; break;
		case O_WAIT: p.wait_each = true; break;
		case O_DETECT: detections = true; break;
		case O_EMPLOYEE: x.employee = optarg; break;
		case O_EMPLOYEE_TZ: x.employee_tz = optarg; break;
		case O_LINGER: linger = atoi(optarg); break;
		case O_PLACE:
			if (!parse_place(optarg, &x)) {
				fprintf(stderr, "gw-publish: --place %s: not gw=,bssid=,tz=,neigh=,"
						"ipkvm=\n", optarg);
				return 2;
			}
			break;
		case O_BOOT_ID: x.boot_id = optarg; break;
		case O_AGENT_START: x.agent_start_ns = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (gen && (!host || events < 0 || events > 1000000)) {
		fprintf(stderr, "gw-publish gen: --host and a sane --events are required\n");
		return 2;
	}
	if (!gen && (!subject || optind >= argc)) {
		fprintf(stderr, "gw-publish file: --subject and at least one FILE are required\n");
		return 2;
	}
	if (gen && !subject) {
		snprintf(subj_buf, sizeof(subj_buf), GW_SUBJECT_PREFIX "%s", host);
		subject = subj_buf;
	}
	if (!inbox) {
		/* The agent's inbox prefix: _GW_INBOX.<host id> (what its permissions allow). */
		const char *who = host ? host : subject_host_id(subject);
		snprintf(inbox_buf, sizeof(inbox_buf), "_GW_INBOX.%s", who ? who : "unknown");
		inbox = inbox_buf;
	}
	co.inbox_prefix = inbox;
	co.connect_timeout_ms = 3000;

	if (!no_publish) {
		jsOptions jo;

		if (nats_conn_open(&p.nc, &co, err, sizeof(err)) != NATS_OK) {
			fprintf(stderr, "gw-publish: %s\n", err);
			return 3;
		}
		jsOptions_Init(&jo);
		jo.Wait = 5000;
		jo.PublishAsync.MaxPending = 4096;
		jo.PublishAsync.AckHandler = on_ack;
		jo.PublishAsync.AckHandlerClosure = &p;
		if (natsConnection_JetStream(&p.js, p.nc, &jo) != NATS_OK) {
			fprintf(stderr, "gw-publish: JetStream: %s\n", nats_GetLastError(NULL));
			return 1;
		}
	}

	t0 = now_s();
	if (gen) {
		for (uint64_t seq = seq_from; seq < seq_from + count && rc == 0; seq++) {
			uint8_t *wire = NULL, *raw = NULL;
			size_t wire_len = 0, raw_len = 0;
			char id[160], path[4096];

			if (in_skip(skip, seq))
				continue;
			if (build_batch(host, hostname, seq, events, detections, &x, &wire,
					&wire_len, &raw, &raw_len) < 0) {
				fprintf(stderr, "gw-publish: building batch %" PRIu64 " failed\n", seq);
				rc = 1;
			}
			if (!rc && out_dir) {
				snprintf(path, sizeof(path), "%s/%s-%" PRIu64 ".bin", out_dir, host, seq);
				rc = write_file(path, wire, wire_len) ? 1 : 0;
				snprintf(path, sizeof(path), "%s/%s-%" PRIu64 ".pb", out_dir, host, seq);
				rc = rc || write_file(path, raw, raw_len) ? 1 : 0;
			}
			snprintf(id, sizeof(id), "%s:%" PRIu64, host, seq);
			if (!rc && !no_publish && publish(&p, subject, msg_id ? msg_id : id, wire,
							  wire_len) < 0)
				rc = 1;
			p.events += events;
			free(wire);
			free(raw);
		}
	} else {
		for (int i = optind; i < argc && rc == 0; i++) {
			size_t len;
			uint8_t *data = read_file(argv[i], &len);

			if (!data)
				return 1;
			if (!no_publish && publish(&p, subject, msg_id, data, len) < 0)
				rc = 1;
			free(data);
		}
	}

	if (!no_publish) {
		jsPubOptions po;

		jsPubOptions_Init(&po);
		po.MaxWait = 15000;
		if (!p.wait_each) {
			natsStatus s = js_PublishAsyncComplete(p.js, &po);
			if (s != NATS_OK) {
				natsMsgList pending = { 0 };
				fprintf(stderr, "gw-publish: waiting for acks: %s\n",
					natsStatus_GetText(s));
				if (js_PublishAsyncGetPendingList(&pending, p.js) == NATS_OK)
					natsMsgList_Destroy(&pending);
				rc = 1;
			}
		}
		if (__atomic_load_n(&p.acked, __ATOMIC_RELAXED) != p.published)
			rc = 1;
		if (linger > 0)
			sleep(linger);
		const char *last = NULL;
		if (natsConnection_GetLastError(p.nc, &last) != NATS_OK)
			fprintf(stderr, "gw-publish: connection error: %s\n", last ? last : "?");
		jsCtx_Destroy(p.js);
		natsConnection_Destroy(p.nc);
	}
	printf("published %" PRIu64 " acked %" PRIu64 " failed %" PRIu64 " duplicates %" PRIu64
	       " bytes %" PRIu64 " events %" PRIu64 " seconds %.3f\n",
	       p.published, p.acked, p.failed, p.duplicates, p.bytes, p.events, now_s() - t0);
	return rc;
}
