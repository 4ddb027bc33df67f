/* place_wifi.c - nl80211 interface and scan-result dumps, and their parsers. See place_wifi.h. */
#include "place_wifi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/nl80211.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

int place_wifi_open(struct place_wifi_sock *w)
{
	memset(w, 0, sizeof(*w));
	w->sk = nl_socket_alloc();
	if (!w->sk)
		return -ENOMEM;
	if (genl_connect(w->sk)) {
		place_wifi_close(w);
		return -EIO;
	}
	w->family = genl_ctrl_resolve(w->sk, "nl80211");
	if (w->family < 0) {
		place_wifi_close(w);
		return -ENOENT;
	}
	return 0;
}

void place_wifi_close(struct place_wifi_sock *w)
{
	if (w->sk)
		nl_socket_free(w->sk);
	w->sk = NULL;
	w->family = 0;
}

int place_wifi_parse_interface(struct nlmsghdr *nlh, struct place_wifi *out)
{
	struct nlattr *tb[NL80211_ATTR_MAX + 1];
	struct nla_policy policy[NL80211_ATTR_MAX + 1] = {
		[NL80211_ATTR_IFINDEX] = { .type = NLA_U32 },
		[NL80211_ATTR_IFNAME] = { .type = NLA_STRING, .maxlen = IF_NAMESIZE },
		[NL80211_ATTR_IFTYPE] = { .type = NLA_U32 },
		[NL80211_ATTR_SSID] = { .type = NLA_UNSPEC, .maxlen = PLACE_SSID_MAX },
	};
	size_t n;

	if (genlmsg_parse(nlh, 0, tb, NL80211_ATTR_MAX, policy))
		return -1;
	if (!tb[NL80211_ATTR_IFINDEX] || !tb[NL80211_ATTR_IFTYPE] ||
	    nla_get_u32(tb[NL80211_ATTR_IFTYPE]) != NL80211_IFTYPE_STATION || !tb[NL80211_ATTR_SSID])
		return 0;
	n = (size_t)nla_len(tb[NL80211_ATTR_SSID]);
	if (n == 0 || n > PLACE_SSID_MAX)
		return -1;
	memset(out, 0, sizeof(*out));
	out->ifindex = nla_get_u32(tb[NL80211_ATTR_IFINDEX]);
	if (tb[NL80211_ATTR_IFNAME])
		nla_strlcpy(out->ifname, tb[NL80211_ATTR_IFNAME], sizeof(out->ifname));
	memcpy(out->ssid, nla_data(tb[NL80211_ATTR_SSID]), n);
	out->ssid_len = n;
	out->associated = true;
	return 1;
}

int place_wifi_parse_bss(struct nlmsghdr *nlh, uint8_t bssid[6])
{
	struct nlattr *tb[NL80211_ATTR_MAX + 1], *bss[NL80211_BSS_MAX + 1];
	struct nla_policy bss_policy[NL80211_BSS_MAX + 1] = {
		[NL80211_BSS_BSSID] = { .type = NLA_UNSPEC, .minlen = 6, .maxlen = 6 },
		[NL80211_BSS_STATUS] = { .type = NLA_U32 },
	};
	uint32_t status;

	if (genlmsg_parse(nlh, 0, tb, NL80211_ATTR_MAX, NULL))
		return -1;
	if (!tb[NL80211_ATTR_BSS])
		return 0;
	if (nla_parse_nested(bss, NL80211_BSS_MAX, tb[NL80211_ATTR_BSS], bss_policy))
		return -1;
	if (!bss[NL80211_BSS_BSSID] || !bss[NL80211_BSS_STATUS])
		return 0;
	status = nla_get_u32(bss[NL80211_BSS_STATUS]);
	if (status != NL80211_BSS_STATUS_ASSOCIATED && status != NL80211_BSS_STATUS_IBSS_JOINED)
		return 0;
	if (nla_len(bss[NL80211_BSS_BSSID]) != 6)
		return -1;
	memcpy(bssid, nla_data(bss[NL80211_BSS_BSSID]), 6);
	return 1;
}

struct dump_ctx {
	struct place_wifi *out;
	bool want_bss;
	int malformed;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *c = arg;
	struct place_wifi w;
	int rc;

	if (c->want_bss) {
		rc = place_wifi_parse_bss(nlmsg_hdr(msg), c->out->bssid);
		if (rc == 1)
			c->out->has_bssid = true;
	} else if (!c->out->associated) {
		rc = place_wifi_parse_interface(nlmsg_hdr(msg), &w);
		if (rc == 1)
			*c->out = w;
	} else {
		rc = 0;
	}
	if (rc < 0)
		c->malformed++;
	return NL_OK;
}

static int dump(struct place_wifi_sock *w, uint8_t cmd, uint32_t ifindex, struct dump_ctx *c)
{
	struct nl_msg *msg = nlmsg_alloc();
	int rc;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, w->family, 0, NLM_F_DUMP, cmd, 0) ||
	    (ifindex && nla_put_u32(msg, NL80211_ATTR_IFINDEX, ifindex))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, on_valid, c);
	rc = nl_send_auto(w->sk, msg);
	nlmsg_free(msg);
	if (rc < 0)
		return -EIO;
	rc = nl_recvmsgs_default(w->sk);
	return rc < 0 ? -EIO : 0;
}

int place_wifi_read(struct place_wifi_sock *w, struct place_wifi *out)
{
	struct dump_ctx c = { .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!w->sk)
		return -ENOENT;
	rc = dump(w, NL80211_CMD_GET_INTERFACE, 0, &c);
	if (rc || !out->associated)
		return rc;
	c.want_bss = true;
	return dump(w, NL80211_CMD_GET_SCAN, out->ifindex, &c);
}

void place_wifi_ssid_text(const uint8_t *ssid, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 5 < outlen; i++) {
		if (ssid[i] >= 0x20 && ssid[i] < 0x7f && ssid[i] != '\\')
			out[n++] = (char)ssid[i];
		else
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", ssid[i]);
	}
	out[n < outlen ? n : outlen - 1] = 0;
}
