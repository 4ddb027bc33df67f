/*
 * facts.h - what one domain learns that another needs, handed over as facts through the agent
 * (agent_publish) instead of calls between domains. A fact usually follows the event that shows it
 * (event_id and time_ns are that event's), so an observer that raises a finding cites it as
 * evidence. Observers are the registered domains' `observe` (agent.h); the publisher does not know
 * who listens: the detections match exec, flow, device and interface facts against the rules and
 * raise behaviour facts as findings; the network flushes a process's flows at its exit; input
 * cadence keeps the RTT of a process's remote connections.
 *
 * The inputs the rules match (gw_flow_input, gw_device_input) are defined here because the
 * domains that see those things fill them.
 */
#ifndef GW_FACTS_H
#define GW_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_entry;

/* Directions of a connection (rules name them too). */
#define GW_DIR_OUTBOUND (1u << 0)
#define GW_DIR_INBOUND (1u << 1)

/* A connection or flow. Addresses in network byte order; v4-mapped v6 is treated as v4. */
struct gw_flow_input {
	uint8_t protocol;  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;	   /* AF_INET or AF_INET6; 0 = no address */
	uint8_t direction; /* GW_DIR_OUTBOUND or GW_DIR_INBOUND */
	uint8_t remote_addr[16];
	uint16_t remote_port; /* host byte order */
	const char *dns_name; /* the name the process looked up for this peer, or NULL */
	/* a flushed flow (one window of one process's traffic with this peer) carries its byte
	 * counts; a connection as it opens has none */
	bool has_bytes;
	uint64_t bytes_sent;
	uint64_t bytes_received;
};

/* Interface kinds a USB device carries (bit set). */
#define GW_DEV_IF_HID_KEYBOARD (1u << 0)
#define GW_DEV_IF_HID_MOUSE (1u << 1)
#define GW_DEV_IF_MASS_STORAGE (1u << 2)
#define GW_DEV_IF_NET (1u << 3) /* CDC ECM/NCM/RNDIS */
#define GW_DEV_IF_AUDIO (1u << 4)
#define GW_DEV_IF_VIDEO (1u << 5)

enum gw_device_kind { GW_DEVICE_USB, GW_DEVICE_MONITOR };

/*
 * A device attach (or inventory entry). USB: ids, strings and the structure of its interfaces
 * (what the device module reads from descriptors / sysfs / HID report descriptors). MONITOR: the
 * EDID of a connected display.
 */
struct gw_device_input {
	enum gw_device_kind kind;
	bool has_ids;
	uint16_t vid, pid;
	const char *manufacturer, *product, *serial;
	uint32_t interfaces;	    /* GW_DEV_IF_* */
	uint32_t n_interfaces;	    /* >1 makes a composite device */
	bool has_boot_keyboard;	    /* HID interface, subclass boot, protocol keyboard */
	bool has_absolute_pointer;  /* HID pointer reporting absolute X/Y */
	uint32_t absolute_max;	    /* logical maximum of that pointer's X/Y */
	const char *edid_monitor_name;
	const char *edid_mfg; /* PNP id, e.g. "LNX" */
	uint16_t edid_product_code;
};

struct gw_netif_input {
	const char *name;
};

enum gw_fact_kind {
	GW_FACT_EXEC,	   /* .proc: a process exec'd (or was running at start: event_id 0) */
	GW_FACT_EXIT,	   /* process_id exited */
	GW_FACT_FLOW,	   /* .flow, subject, process_id: a connection, or a flushed flow (has_bytes) */
	GW_FACT_DEVICE,	   /* .device, subject: a device attached or in the inventory */
	GW_FACT_NETIF,	   /* .netif: an interface appeared (no event: event_id 0) */
	GW_FACT_BEHAVIOUR, /* .behaviour, subject, process_id: a domain's own built-in detection */
	GW_FACT_RTT,	   /* .rtt_us, process_id: a remote TCP connection's smoothed RTT */
	GW_FACT_SESSION,   /* .session, subject (its id): a login session started, ended, locked */
	GW_FACT_FINDING,   /* .finding, subject, process_id: a rule matched (detect, every match) */
	GW_FACT_INPUT,	   /* .input, process_id (the injector, if any): an input cadence window */
	GW_FACT_EXE_HASH,  /* .proc: its executable's hash became known after its exec */
};

/*
 * A login session's change (the sessions domain). `active` says whether it now counts as someone
 * at the keyboard: open, not locked, not idle. Strings live until observe returns.
 */
struct gw_session_input {
	const char *id;		    /* logind session id or utmp line */
	const char *user;
	const char *type;	    /* "local", "ssh", "remote_desktop", "console", "other" */
	const char *state;	    /* "start", "end", "lock", "unlock", "idle", "active" */
	const char *remote_address; /* "" for a local session */
	uint32_t uid;
	uint32_t leader_pid;
	bool remote;
	bool active;
};

/*
 * A behaviour a domain recognises itself (input cadence, sessions, exfiltration, tamper) and the
 * rule that reports it. The domain owns the rule (static storage, one per id); the detections
 * turn it into findings like a loaded rule: deduplicated per rule + subject per window, scored by
 * its category. category, severity and confidence use the names rules/README.md gives them.
 */
struct gw_behaviour_rule {
	const char *id;		/* "GW-CADENCE-JIGGLER" */
	const char *title;
	const char *vendor;	/* what it is about: "jiggler", "virtual input", "working hours" */
	const char *technique;	/* MITRE ATT&CK id, or "" */
	const char *category;	/* rmm, tunnel, vpn, ipkvm, jiggler, behaviour, exfil, tamper */
	const char *severity;	/* info, low, medium, high, critical */
	const char *confidence; /* low, medium, high */
	const char *source;	/* where the rule's reasoning is written down */
};

struct gw_fact {
	enum gw_fact_kind kind;
	uint64_t event_id; /* the emitted event that shows it, 0 if none */
	uint64_t time_ns;  /* realtime */
	uint64_t process_id;
	const char *subject;
	union {
		const struct proc_entry *proc;
		const struct gw_flow_input *flow;
		const struct gw_device_input *device;
		const char *netif;
		struct {
			const struct gw_behaviour_rule *rule;
			const char *why;
			/* the kind of event that shows it: "cadence", "flow", "session", "place",
			 * "agent", ... (a Evidence.kind name) */
			const char *evidence;
		} behaviour;
		uint32_t rtt_us;
		const struct gw_session_input *session;
		struct {
			const char *rule_id;
			const char *category; /* as rules/README.md names it: "rmm", ... */
			const char *vendor;
		} finding;
		struct {
			const char *device;    /* "input7" */
			bool physical;	       /* not a virtual (uinput) device */
			uint32_t events;       /* in the window */
			uint64_t window_end_ns; /* realtime */
		} input;
	};
};

#endif
