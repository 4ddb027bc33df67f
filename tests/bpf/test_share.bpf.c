// SPDX-License-Identifier: GPL-2.0
/*
 * test_share.bpf.c - the ring's shares (bpf/gw_bpf_common.h) driven by
 * tests/bpf/test_share.c: each program makes share_io.tries records of one category as
 * share_io.uid, as a capture or exec hook would.
 */
#include "gw_bpf_common.h"
#include "test_share.h"

char LICENSE[] SEC("license") = "GPL";

struct share_test_io share_io;

struct share_rec {
	struct gw_event_hdr hdr;
	__u8 body[SHARE_TEST_RECORD - sizeof(struct gw_event_hdr)];
};

#define SHARE_MAKE(category)                                                                    \
	do {                                                                                    \
		for (__u32 i = 0; i < SHARE_TEST_TRIES_MAX && i < share_io.tries; i++) {        \
			struct share_rec *r = gw_reserve_uid(sizeof(*r), category, share_io.uid); \
                                                                                                \
			if (!r)                                                                 \
				continue;                                                       \
			gw_fill_hdr(&r->hdr, GW_EV_DNS_ANSWER, sizeof(*r));                     \
			gw_submit(r);                                                           \
			share_io.admitted++;                                                    \
		}                                                                               \
	} while (0)

/* DNS answers: a capture, kept out of the reserve. */
SEC("raw_tp")
int share_test_dns(void *ctx)
{
	share_io.admitted = 0;
	SHARE_MAKE(GW_DROP_DNS);
	return 0;
}

/* Execs: the reserve is theirs too. */
SEC("raw_tp")
int share_test_exec(void *ctx)
{
	share_io.admitted = 0;
	SHARE_MAKE(GW_DROP_EXEC);
	return 0;
}
