// SPDX-License-Identifier: GPL-2.0
/*
 * genlfuzz - checks and fuzzes mpagefs's generic netlink family over raw
 * AF_NETLINK/NETLINK_GENERIC sockets (no libnl), for the VM test
 * tests/vm/test_genl_fuzz.py.  Built static on the host, run in the VM.
 *
 *   genlfuzz check DEV          deterministic checks as root: one line
 *                               "CHECK <name> ok|FAIL <why>" each
 *   genlfuzz unpriv DEV         drops to uid/gid 65534 (no groups), then
 *                               checks that the admin commands give EPERM
 *                               and the open ones work
 *   genlfuzz fuzz DEV SEED N [drop|root [PACE_US]]
 *                               N seeded random messages (drop: as uid
 *                               65534), sleeping PACE_US every 16 so that
 *                               a workload runs meanwhile; prints a
 *                               summary (see below)
 *   genlfuzz restore DEV        clears the faults, policy back to
 *                               boundary=on maxmap=0 alloc=contig
 *   genlfuzz maxmap DEV N       SET_POLICY maxmap=N
 *
 * DEV is the mount's device number as new_encode_dev() encodes it (the
 * low 32 bits of st_dev: `stat -c %d MOUNTPOINT`).  The fuzz also aims a
 * quarter of its messages at $GENLFUZZ_DEV2 if set (a device that another
 * process mounts and unmounts meanwhile).  Exit status 0 when
 * every check passed (fuzz: when every message that must be answered was),
 * 1 otherwise, 2 for bad usage or a setup failure.
 *
 * Fuzz summary lines:
 *   FUZZ sent N expect_ack A acks K missing M unexpected U
 *   FUZZ admin_ok N           admin commands of our family that succeeded
 *   FUZZ eperm N
 *   FUZZ errno NAME COUNT     one per errno seen in the acks (0 = "OK")
 * "expect_ack" counts the messages the kernel must answer (exactly once:
 * an error or ack, or the NLMSG_DONE of a dump); messages whose netlink
 * header is truncated or claims more bytes than were sent are dropped by
 * the kernel without an answer, and "unexpected" counts answers to those.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../../kmod/mpagefs_genl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define BUFSZ 16384

struct msg {
	unsigned char b[BUFSZ];
	size_t len;
};

/* What one request got back. */
struct reply {
	int done;		/* terminating message seen */
	int error;		/* positive errno, 0 for success */
	int nmsgs;		/* data messages */
	char extmsg[256];	/* NLMSGERR_ATTR_MSG, if any */
	int unexpected;		/* answers with another sequence number */
	size_t datalen;
	unsigned char data[BUFSZ]; /* the first data message */
};

static uint16_t family_id;
static uint32_t dev2;		/* $GENLFUZZ_DEV2: a mount coming and going */
static uint32_t seqno = 1;
static int failures;

/* --- message building ------------------------------------------------ */

static void msg_init(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd,
		     uint8_t version)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m->b;
	struct genlmsghdr *g = (struct genlmsghdr *)(m->b + NLMSG_HDRLEN);

	memset(m->b, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seqno++;
	g->cmd = cmd;
	g->version = version;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
	nlh->nlmsg_len = m->len;
}

static void msg_fix(struct msg *m)
{
	((struct nlmsghdr *)m->b)->nlmsg_len = m->len;
}

static size_t put_attr(struct msg *m, uint16_t type, const void *data,
		       size_t len)
{
	size_t off = m->len;
	struct nlattr *a = (struct nlattr *)(m->b + off);

	if (off + NLA_HDRLEN + NLA_ALIGN(len) > BUFSZ)
		return off;
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(m->b + off + NLA_HDRLEN, data, len);
	memset(m->b + off + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->len = off + NLA_HDRLEN + NLA_ALIGN(len);
	msg_fix(m);
	return off;
}

static void put_u8(struct msg *m, uint16_t t, uint8_t v) { put_attr(m, t, &v, 1); }
static void put_u32(struct msg *m, uint16_t t, uint32_t v) { put_attr(m, t, &v, 4); }
static void put_u64(struct msg *m, uint16_t t, uint64_t v) { put_attr(m, t, &v, 8); }

static size_t nest_start(struct msg *m, uint16_t type)
{
	return put_attr(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, size_t off)
{
	((struct nlattr *)(m->b + off))->nla_len = m->len - off;
}

/* --- socket ---------------------------------------------------------- */

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1, rcvbuf = 1 << 20;
	struct timeval tv = { .tv_sec = 5 };

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("genlfuzz: netlink socket");
		exit(2);
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void parse_ext_ack(const struct nlmsghdr *nlh, struct reply *r)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	size_t off = NLMSG_HDRLEN + sizeof(*e);
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
		a = (const struct nlattr *)((const char *)nlh + off);
		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nlh->nlmsg_len)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			size_t n = a->nla_len - NLA_HDRLEN;

			if (n >= sizeof(r->extmsg))
				n = sizeof(r->extmsg) - 1;
			memcpy(r->extmsg, (const char *)a + NLA_HDRLEN, n);
			r->extmsg[n] = 0;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

/* What the kernel owes a request (see transact()). */
enum { ANSWER_NONE, ANSWER_ONE, ANSWER_MAYBE };

/*
 * Sends the first @sendlen bytes of @m and collects the answer to it.
 * @expect ANSWER_ONE: the kernel must answer (an error or ack, the
 * NLMSG_DONE of a dump, or for a request without NLM_F_ACK a reply);
 * ANSWER_NONE / ANSWER_MAYBE: only a non-blocking look, since netlink
 * handles a request synchronously in sendmsg, so any answer is queued by
 * the time sendto() returns (ANSWER_MAYBE: a request without NLM_F_ACK
 * that may succeed silently).
 */
static void transact(int fd, const struct msg *m, size_t sendlen, int expect,
		     struct reply *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	const struct nlmsghdr *req = (const struct nlmsghdr *)m->b;
	uint32_t seq = req->nlmsg_seq;
	int want_ack = sendlen >= NLMSG_HDRLEN && (req->nlmsg_flags & NLM_F_ACK);
	static unsigned char buf[1 << 16];

	memset(r, 0, offsetof(struct reply, data));
	r->datalen = 0;
	if (sendto(fd, m->b, sendlen, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		r->done = 1;
		r->error = errno;
		return;
	}
	while (!r->done) {
		ssize_t n = recv(fd, buf, sizeof(buf),
				 expect == ANSWER_ONE ? 0 : MSG_DONTWAIT);
		struct nlmsghdr *nlh;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;	/* timeout, or nothing (more) queued */
		}
		len = (int)n;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq || expect == ANSWER_NONE) {
				r->unexpected++;
				continue;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				r->done = 1;
				r->error = -e->error;
				parse_ext_ack(nlh, r);
			} else if (nlh->nlmsg_type == NLMSG_DONE) {
				r->done = 1;
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					r->error = -*(int *)NLMSG_DATA(nlh);
			} else {
				if (!r->nmsgs && nlh->nlmsg_len <= sizeof(r->data)) {
					memcpy(r->data, nlh, nlh->nlmsg_len);
					r->datalen = nlh->nlmsg_len;
				}
				r->nmsgs++;
				/* without NLM_F_ACK a doit's reply is all */
				if (!(nlh->nlmsg_flags & NLM_F_MULTI) && !want_ack)
					r->done = 1;
			}
		}
	}
}

/* A well-formed request, answered for sure. */
static void request(int fd, struct msg *m, struct reply *r)
{
	transact(fd, m, m->len, ANSWER_ONE, r);
}

/* --- reading attributes of an answer --------------------------------- */

static const struct nlattr *find_attr(const void *start, size_t len,
				      uint16_t type)
{
	size_t off = 0;

	while (off + NLA_HDRLEN <= len) {
		const struct nlattr *a = (const void *)((const char *)start + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		off += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static const struct nlattr *reply_attr(const struct reply *r, uint16_t type)
{
	size_t hdr = NLMSG_HDRLEN + GENL_HDRLEN;

	if (r->datalen < hdr)
		return NULL;
	return find_attr(r->data + hdr, r->datalen - hdr, type);
}

static int count_attrs(const struct nlattr *nest)
{
	size_t off = NLA_HDRLEN;
	int n = 0;

	while (off + NLA_HDRLEN <= nest->nla_len) {
		const struct nlattr *a = (const void *)((const char *)nest + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nest->nla_len)
			break;
		n++;
		off += NLA_ALIGN(a->nla_len);
	}
	return n;
}

static uint32_t attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, (const char *)a + NLA_HDRLEN, 4);
	return v;
}

/* --- family ---------------------------------------------------------- */

static void resolve_family(int fd)
{
	struct msg m;
	struct reply r;
	const struct nlattr *a;

	msg_init(&m, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK,
		 CTRL_CMD_GETFAMILY, 1);
	put_attr(&m, CTRL_ATTR_FAMILY_NAME, MPAGEFS_GENL_NAME,
		 strlen(MPAGEFS_GENL_NAME) + 1);
	request(fd, &m, &r);
	a = reply_attr(&r, CTRL_ATTR_FAMILY_ID);
	if (r.error || !a) {
		fprintf(stderr, "genlfuzz: family %s not found: %s\n",
			MPAGEFS_GENL_NAME, strerror(r.error ? r.error : ENOENT));
		exit(2);
	}
	memcpy(&family_id, (const char *)a + NLA_HDRLEN, 2);
	a = reply_attr(&r, CTRL_ATTR_VERSION);
	printf("FAMILY id %u version %u\n", family_id, a ? attr_u32(a) : 0);
}

/* --- deterministic checks -------------------------------------------- */

static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("CHECK %s %s", name, ok ? "ok" : "FAIL");
	if (!ok) {
		failures++;
		va_start(ap, fmt);
		putchar(' ');
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
}

static void cmd(struct msg *m, uint8_t c, int dump)
{
	msg_init(m, family_id, NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0),
		 c, MPAGEFS_GENL_VERSION);
}

/* Expects errno @want from @m; checks an extended ack message came too. */
static void expect_err(int fd, const char *name, struct msg *m, int want,
		       int want_msg)
{
	struct reply r;

	request(fd, m, &r);
	check(name, r.done && r.error == want && (!want_msg || r.extmsg[0]),
	      "got %s (%d), want %s; ext ack \"%s\"",
	      r.done ? strerror(r.error) : "no answer", r.error,
	      strerror(want), r.extmsg);
	if (r.extmsg[0])
		printf("EXTACK %s: %s\n", name, r.extmsg);
}

static uint32_t get_maxmap(int fd, uint32_t dev)
{
	struct msg m;
	struct reply r;
	const struct nlattr *a;

	cmd(&m, MPAGEFS_CMD_LIST_MOUNTS, 1);
	request(fd, &m, &r);
	a = reply_attr(&r, MPAGEFS_A_MAXMAP);
	if (!a || !reply_attr(&r, MPAGEFS_A_DEV) ||
	    attr_u32(reply_attr(&r, MPAGEFS_A_DEV)) != dev)
		return UINT32_MAX;
	return attr_u32(a);
}

static void do_restore(int fd, uint32_t dev)
{
	struct msg m;
	struct reply r;

	cmd(&m, MPAGEFS_CMD_CLEAR_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	check("restore-clear", r.done && !r.error, "%s", strerror(r.error));
	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u8(&m, MPAGEFS_A_BOUNDARY, 1);
	put_u32(&m, MPAGEFS_A_MAXMAP, 0);
	put_u8(&m, MPAGEFS_A_ALLOC, MPAGEFS_ALLOC_CONTIG);
	request(fd, &m, &r);
	check("restore-policy", r.done && !r.error, "%s", strerror(r.error));
}

static void put_fault(struct msg *m, uint32_t kind, int err, uint64_t first,
		      uint64_t last, int have_range)
{
	size_t n = nest_start(m, MPAGEFS_A_FAULT);

	put_u32(m, MPAGEFS_FAULT_A_KIND, kind);
	if (err >= 0)
		put_u32(m, MPAGEFS_FAULT_A_ERRNO, err);
	if (have_range) {
		put_u64(m, MPAGEFS_FAULT_A_FIRST, first);
		put_u64(m, MPAGEFS_FAULT_A_LAST, last);
	}
	nest_end(m, n);
}

static int do_check(uint32_t dev)
{
	int fd = nl_open();
	struct msg m;
	struct reply r;
	const struct nlattr *a;
	uint32_t ids[MPAGEFS_MAX_FAULTS];
	int i;

	resolve_family(fd);

	cmd(&m, MPAGEFS_CMD_LIST_MOUNTS, 1);
	request(fd, &m, &r);
	a = reply_attr(&r, MPAGEFS_A_DEV);
	check("list", r.done && !r.error && r.nmsgs >= 1 && a &&
	      attr_u32(a) == dev && reply_attr(&r, MPAGEFS_A_BLOCK_SIZE) &&
	      reply_attr(&r, MPAGEFS_A_DEV_NAME),
	      "error %d, %d messages", r.error, r.nmsgs);

	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	a = reply_attr(&r, MPAGEFS_A_STATS);
	check("get-stats", r.done && !r.error && r.nmsgs == 1 && a &&
	      count_attrs(a) == MPAGEFS_STAT_A_MAX &&
	      reply_attr(&r, MPAGEFS_A_RUN_HIST) &&
	      count_attrs(reply_attr(&r, MPAGEFS_A_RUN_HIST)) ==
	      MPAGEFS_RUN_HIST_BUCKETS,
	      "error %d, %d messages, %d stats", r.error, r.nmsgs,
	      a ? count_attrs(a) : -1);

	cmd(&m, MPAGEFS_CMD_GET_STATS, 1);
	request(fd, &m, &r);
	check("get-stats-dump", r.done && !r.error && r.nmsgs >= 1,
	      "error %d, %d messages", r.error, r.nmsgs);

	/* the policy, as CTRL_CMD_GETPOLICY dumps it (ranges included) */
	msg_init(&m, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
		 CTRL_CMD_GETPOLICY, 1);
	put_attr(&m, CTRL_ATTR_FAMILY_NAME, MPAGEFS_GENL_NAME,
		 strlen(MPAGEFS_GENL_NAME) + 1);
	request(fd, &m, &r);
	check("getpolicy", r.done && !r.error && r.nmsgs >= 5,
	      "error %d, %d messages", r.error, r.nmsgs);

	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	expect_err(fd, "get-stats-no-dev", &m, EINVAL, 1);
	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, 0xfffff);
	expect_err(fd, "get-stats-unknown-dev", &m, ENODEV, 1);
	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	put_u8(&m, MPAGEFS_A_DEV, 1);
	expect_err(fd, "dev-wrong-size", &m, EINVAL, 1);
	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_MAX + 1, 0);
	expect_err(fd, "unknown-attr", &m, EINVAL, 0);
	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_STATS, 0);
	expect_err(fd, "output-only-attr", &m, EINVAL, 0);
	cmd(&m, 200, 0);
	expect_err(fd, "unknown-cmd", &m, EOPNOTSUPP, 0);
	cmd(&m, MPAGEFS_CMD_LIST_MOUNTS, 0);
	expect_err(fd, "list-not-dump", &m, EOPNOTSUPP, 0);
	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	((struct genlmsghdr *)(m.b + NLMSG_HDRLEN))->reserved = 1;
	put_u32(&m, MPAGEFS_A_DEV, dev);
	expect_err(fd, "reserved-set", &m, EINVAL, 1);

	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_MAXMAP, MPAGEFS_MAXMAP_MAX + 1);
	expect_err(fd, "set-maxmap-range", &m, ERANGE, 1);
	check("maxmap-unchanged", get_maxmap(fd, dev) == 0, "maxmap %u",
	      get_maxmap(fd, dev));
	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u8(&m, MPAGEFS_A_BOUNDARY, 2);
	expect_err(fd, "set-boundary-range", &m, ERANGE, 1);
	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	expect_err(fd, "set-nothing", &m, EINVAL, 1);
	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, 0xfffff);
	put_u32(&m, MPAGEFS_A_MAXMAP, 3);
	expect_err(fd, "set-unknown-dev", &m, ENODEV, 1);
	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_MAXMAP, 7);
	request(fd, &m, &r);
	a = reply_attr(&r, MPAGEFS_A_MAXMAP);
	check("set-maxmap", r.done && !r.error && a && attr_u32(a) == 7 &&
	      get_maxmap(fd, dev) == 7, "error %d", r.error);

	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	expect_err(fd, "inject-no-fault", &m, EINVAL, 1);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, MPAGEFS_FAULT_GET_BLOCK, -1, 0, 0, 0);
	expect_err(fd, "inject-no-errno", &m, EINVAL, 1);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, 3, EIO, 0, 0, 0);
	expect_err(fd, "inject-bad-kind", &m, ERANGE, 1);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, MPAGEFS_FAULT_GET_BLOCK, 0, 0, 0, 0);
	expect_err(fd, "inject-errno-0", &m, ERANGE, 1);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, MPAGEFS_FAULT_GET_BLOCK, MPAGEFS_FAULT_ERRNO_MAX + 1, 0, 0, 0);
	expect_err(fd, "inject-errno-range", &m, ERANGE, 1);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, MPAGEFS_FAULT_GET_BLOCK, EIO, 10, 5, 1);
	expect_err(fd, "inject-first-after-last", &m, EINVAL, 1);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_FAULT, 1);
	expect_err(fd, "inject-fault-not-nested", &m, EINVAL, 0);

	/* far beyond any file: armed but never hit */
	for (i = 0; i < MPAGEFS_MAX_FAULTS; i++) {
		cmd(&m, MPAGEFS_CMD_INJECT, 0);
		put_u32(&m, MPAGEFS_A_DEV, dev);
		put_fault(&m, MPAGEFS_FAULT_GET_BLOCK, EIO, 1ULL << 40,
			  (1ULL << 40) + i, 1);
		request(fd, &m, &r);
		a = reply_attr(&r, MPAGEFS_A_FAULT);
		a = a ? find_attr((const char *)a + NLA_HDRLEN,
				  a->nla_len - NLA_HDRLEN, MPAGEFS_FAULT_A_ID) : NULL;
		ids[i] = a ? attr_u32(a) : 0;
		if (r.error || !ids[i])
			break;
	}
	check("inject-max", i == MPAGEFS_MAX_FAULTS, "stopped at %d: %s", i,
	      strerror(r.error));
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, MPAGEFS_FAULT_ALLOC_ENOSPC, -1, 0, 0, 0);
	expect_err(fd, "inject-too-many", &m, ENOSPC, 1);
	cmd(&m, MPAGEFS_CMD_GET_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	{
		size_t hdr = NLMSG_HDRLEN + GENL_HDRLEN, off = 0;
		int n = 0;

		while (r.datalen > hdr && off + NLA_HDRLEN <= r.datalen - hdr) {
			const struct nlattr *x = (const void *)(r.data + hdr + off);

			if (x->nla_len < NLA_HDRLEN)
				break;
			if ((x->nla_type & NLA_TYPE_MASK) == MPAGEFS_A_FAULT)
				n++;
			off += NLA_ALIGN(x->nla_len);
		}
		check("get-faults", r.done && !r.error && n == MPAGEFS_MAX_FAULTS,
		      "error %d, %d faults", r.error, n);
	}
	cmd(&m, MPAGEFS_CMD_CLEAR_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_FAULT_ID, ids[0]);
	request(fd, &m, &r);
	check("clear-one", r.done && !r.error, "%s", strerror(r.error));
	cmd(&m, MPAGEFS_CMD_CLEAR_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_FAULT_ID, ids[0]);
	expect_err(fd, "clear-again", &m, ENOENT, 1);
	cmd(&m, MPAGEFS_CMD_CLEAR_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_FAULT_ID, 0);
	expect_err(fd, "clear-id-0", &m, ERANGE, 0);

	cmd(&m, MPAGEFS_CMD_RESET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	check("reset", r.done && !r.error, "%s", strerror(r.error));

	do_restore(fd, dev);
	check("maxmap-restored", get_maxmap(fd, dev) == 0, "maxmap %u",
	      get_maxmap(fd, dev));
	cmd(&m, MPAGEFS_CMD_GET_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	check("faults-cleared", r.done && !r.error && !reply_attr(&r, MPAGEFS_A_FAULT),
	      "error %d", r.error);
	close(fd);
	return failures ? 1 : 0;
}

/* --- privileges ------------------------------------------------------ */

static void drop_privileges(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534)) {
		perror("genlfuzz: dropping privileges");
		exit(2);
	}
}

static void unpriv_checks(int fd, uint32_t dev, const char *how)
{
	struct msg m;
	struct reply r;
	char name[64];

	cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_u32(&m, MPAGEFS_A_MAXMAP, 1);
	snprintf(name, sizeof(name), "%s-set-policy-eperm", how);
	expect_err(fd, name, &m, EPERM, 0);
	cmd(&m, MPAGEFS_CMD_INJECT, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	put_fault(&m, MPAGEFS_FAULT_GET_BLOCK, EIO, 0, 0, 0);
	snprintf(name, sizeof(name), "%s-inject-eperm", how);
	expect_err(fd, name, &m, EPERM, 0);
	cmd(&m, MPAGEFS_CMD_RESET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	snprintf(name, sizeof(name), "%s-reset-eperm", how);
	expect_err(fd, name, &m, EPERM, 0);
	cmd(&m, MPAGEFS_CMD_CLEAR_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	snprintf(name, sizeof(name), "%s-clear-eperm", how);
	expect_err(fd, name, &m, EPERM, 0);

	cmd(&m, MPAGEFS_CMD_GET_STATS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	snprintf(name, sizeof(name), "%s-get-stats", how);
	check(name, r.done && !r.error && reply_attr(&r, MPAGEFS_A_STATS),
	      "%s", strerror(r.error));
	cmd(&m, MPAGEFS_CMD_LIST_MOUNTS, 1);
	request(fd, &m, &r);
	snprintf(name, sizeof(name), "%s-list", how);
	check(name, r.done && !r.error && r.nmsgs >= 1, "%s", strerror(r.error));
	cmd(&m, MPAGEFS_CMD_GET_FAULTS, 0);
	put_u32(&m, MPAGEFS_A_DEV, dev);
	request(fd, &m, &r);
	snprintf(name, sizeof(name), "%s-get-faults", how);
	check(name, r.done && !r.error, "%s", strerror(r.error));
}

static int do_unpriv(uint32_t dev)
{
	/* opened as root, used after the drop: the sender is checked too */
	int rootfd = nl_open();
	int fd;

	resolve_family(rootfd);
	drop_privileges();
	fd = nl_open();
	unpriv_checks(fd, dev, "unpriv");
	unpriv_checks(rootfd, dev, "rootsock");
	check("maxmap-untouched", get_maxmap(fd, dev) == 0, "maxmap %u",
	      get_maxmap(fd, dev));
	close(fd);
	close(rootfd);
	return failures ? 1 : 0;
}

/* --- fuzz ------------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t rndn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* A value near the edges of ranges more often than uniformly. */
static uint64_t rnd_value(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 7, 12, 13, 133, 134, 255, 256, 4095, 4096,
		65535, 65536, 65537, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ULL, UINT64_MAX, UINT64_MAX - 1,
	};

	switch (rndn(3)) {
	case 0:
		return edges[rndn(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rndn(64);
	default:
		return rnd();
	}
}

static void put_random_attr(struct msg *m, int depth, uint16_t maxtype)
{
	unsigned char data[96];
	uint16_t type = rndn(maxtype + 3);
	size_t len, i;
	uint64_t v;

	switch (rndn(8)) {
	case 0:
		put_u8(m, type, rnd_value());
		break;
	case 1:
		put_u32(m, type, rnd_value());
		break;
	case 2:
		put_u64(m, type, rnd_value());
		break;
	case 3:
		v = rnd_value();
		put_attr(m, type, &v, 2);
		break;
	case 4:		/* string, terminated or not */
		len = rndn(40);
		for (i = 0; i < len; i++)
			data[i] = 'a' + rndn(26);
		if (rndn(2) && len)
			data[len - 1] = 0;
		put_attr(m, type, data, len);
		break;
	case 5:		/* binary of any length */
		len = rndn(sizeof(data));
		for (i = 0; i < len; i++)
			data[i] = rnd();
		put_attr(m, type | (rndn(4) ? 0 : NLA_F_NESTED), data, len);
		break;
	default:	/* nested garbage */
		if (depth < 4) {
			size_t n = nest_start(m, rndn(2) ? MPAGEFS_A_FAULT : type);
			int k = rndn(5);

			while (k--)
				put_random_attr(m, depth + 1, MPAGEFS_FAULT_A_MAX);
			nest_end(m, n);
		} else {
			put_u32(m, type, rnd_value());
		}
		break;
	}
}

/* A fault INJECT would accept, or almost. */
static void put_random_fault(struct msg *m)
{
	size_t n = nest_start(m, MPAGEFS_A_FAULT);
	static const int errnos[] = { EIO, EIO, EIO, ENOSPC, ENOMEM, EINVAL,
				      EUCLEAN, EAGAIN, EINTR, ENOENT };

	put_u32(m, MPAGEFS_FAULT_A_KIND, rndn(8) ? 1 + rndn(2) : rnd_value());
	if (rndn(8))
		put_u32(m, MPAGEFS_FAULT_A_ERRNO, rndn(8) ?
			(uint64_t)errnos[rndn(sizeof(errnos) / sizeof(errnos[0]))] :
			rnd_value());
	if (rndn(2))
		put_u64(m, MPAGEFS_FAULT_A_INO, rndn(2) ? rndn(20) : rnd_value());
	if (rndn(2))
		put_u64(m, MPAGEFS_FAULT_A_FIRST, rndn(2) ? rndn(64) : rnd_value());
	if (rndn(2))
		put_u64(m, MPAGEFS_FAULT_A_LAST, rndn(2) ? 64 + rndn(512) : rnd_value());
	if (rndn(2))
		put_u32(m, MPAGEFS_FAULT_A_SIDE, rndn(8) ? 1 + rndn(3) : rnd_value());
	if (rndn(2))
		put_u8(m, MPAGEFS_FAULT_A_ONCE, rndn(8) ? rndn(2) : rnd_value());
	if (!rndn(16))
		put_random_attr(m, 1, MPAGEFS_FAULT_A_MAX);
	nest_end(m, n);
}

static int is_admin_cmd(int c)
{
	return c == MPAGEFS_CMD_RESET_STATS || c == MPAGEFS_CMD_SET_POLICY ||
	       c == MPAGEFS_CMD_INJECT || c == MPAGEFS_CMD_CLEAR_FAULTS;
}

/*
 * Builds one random message in @m; returns the bytes to send and sets
 * *@expect if the kernel must answer it.
 */
static size_t random_message(struct msg *m, uint32_t dev, int *expect)
{
	uint16_t type = rndn(20) ? family_id : (rndn(2) ? GENL_ID_CTRL : rnd());
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	uint8_t c, version = rndn(10) ? MPAGEFS_GENL_VERSION : rnd();
	uint32_t d = rndn(5) ? dev : (rndn(2) ? (uint32_t)rnd_value() : dev + 1);
	if (dev2 && !rndn(4))
		d = dev2;
	int kind = rndn(100), k;
	size_t len;

	if (!rndn(6))
		flags |= NLM_F_DUMP;
	if (!rndn(30))
		flags = rnd() | (rndn(4) ? NLM_F_ACK : 0);
	c = rndn(10) ? 1 + rndn(MPAGEFS_CMD_MAX) : rnd();
	msg_init(m, type, flags, c, version);
	if (!rndn(40))
		((struct genlmsghdr *)(m->b + NLMSG_HDRLEN))->reserved = rnd();

	if (type == GENL_ID_CTRL && rndn(2)) {
		/* our policy and family as nlctrl describes them */
		uint16_t id = family_id;

		((struct genlmsghdr *)(m->b + NLMSG_HDRLEN))->cmd =
			rndn(2) ? CTRL_CMD_GETPOLICY : CTRL_CMD_GETFAMILY;
		put_attr(m, CTRL_ATTR_FAMILY_ID, &id, 2);
		if (rndn(2))
			put_u32(m, CTRL_ATTR_OP, rndn(2) ? rndn(MPAGEFS_CMD_MAX + 2) : rnd());
	} else if (kind < 45) {
		/* valid-looking: the attributes the command wants */
		if (rndn(10))
			put_u32(m, MPAGEFS_A_DEV, d);
		switch (c) {
		case MPAGEFS_CMD_SET_POLICY:
			if (rndn(2))
				put_u8(m, MPAGEFS_A_BOUNDARY, rndn(8) ? rndn(2) : rnd_value());
			if (rndn(2))
				put_u32(m, MPAGEFS_A_MAXMAP, rndn(4) ? rndn(40) : rnd_value());
			if (rndn(2))
				put_u8(m, MPAGEFS_A_ALLOC, rndn(8) ? rndn(2) : rnd_value());
			break;
		case MPAGEFS_CMD_INJECT:
			put_random_fault(m);
			break;
		case MPAGEFS_CMD_CLEAR_FAULTS:
			if (rndn(2))
				put_u32(m, MPAGEFS_A_FAULT_ID, rndn(4) ? rndn(40) : rnd_value());
			break;
		}
		if (!rndn(10))
			put_random_attr(m, 0, MPAGEFS_A_MAX);
	} else if (kind < 80) {
		/* random attributes of random types and lengths */
		k = rndn(6);
		while (k--)
			put_random_attr(m, 0, MPAGEFS_A_MAX);
	} else if (kind < 88) {
		/* a malformed attribute: bad nla_len */
		put_u32(m, MPAGEFS_A_DEV, d);
		put_u32(m, MPAGEFS_A_MAXMAP, rnd());
		{
			struct nlattr *a = (struct nlattr *)(m->b + m->len - 8);

			a->nla_len = rndn(2) ? rndn(4) : 8 + rndn(64);
		}
	} else if (kind < 93) {
		/* the genetlink header cut short: answered with EINVAL */
		len = NLMSG_HDRLEN + rndn(GENL_HDRLEN);
		m->len = len;
		msg_fix(m);
		/*
		 * genetlink refuses it with EINVAL, always answered; unless
		 * the core skips it (no NLM_F_REQUEST, or a control type),
		 * which answers only NLM_F_ACK
		 */
		*expect = (flags & NLM_F_ACK) ||
			  ((flags & NLM_F_REQUEST) && type >= NLMSG_MIN_TYPE) ?
			  ANSWER_ONE : ANSWER_NONE;
		return len;
	} else {
		/* the netlink header itself broken: dropped silently */
		*expect = ANSWER_NONE;
		if (rndn(2))
			return rndn(NLMSG_HDRLEN);	/* shorter than a header */
		/* claims more than was sent */
		((struct nlmsghdr *)m->b)->nlmsg_len = m->len + 1 + rndn(200);
		return m->len;
	}
	/*
	 * Errors are always answered, successes only with NLM_F_ACK (or a
	 * reply); a control message (type < NLMSG_MIN_TYPE) or one without
	 * NLM_F_REQUEST is skipped by the core, answered only with NLM_F_ACK.
	 */
	*expect = (flags & NLM_F_ACK) ? ANSWER_ONE : ANSWER_MAYBE;
	/* trailing bytes shorter than a header are ignored */
	len = m->len;
	if (!rndn(10)) {
		size_t extra = rndn(NLMSG_HDRLEN);

		memset(m->b + len, 0xa5, extra);
		len += extra;
	}
	return len;
}

static const char *errname(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "OK";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case ENODEV: return "ENODEV";
	case ENOENT: return "ENOENT";
	case ENOSPC: return "ENOSPC";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EMSGSIZE: return "EMSGSIZE";
	case ERANGE: return "ERANGE";
	case E2BIG: return "E2BIG";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENOMEM: return "ENOMEM";
	}
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static int do_fuzz(uint32_t dev, uint64_t seed, long count, int drop,
		   long pace_us)
{
	long sent = 0, expected = 0, acks = 0, missing = 0, unexpected = 0;
	long admin_ok = 0, maybe = 0, acks_maybe = 0, hist[4096] = { 0 };
	int fd, e;
	struct msg m;
	struct reply r;
	long i;

	if (getenv("GENLFUZZ_DEV2"))
		dev2 = strtoul(getenv("GENLFUZZ_DEV2"), NULL, 0);
	if (drop)
		drop_privileges();
	fd = nl_open();
	resolve_family(fd);
	rng = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (i = 0; i < count; i++) {
		int expect = ANSWER_NONE, ours;
		size_t len = random_message(&m, dev, &expect);
		const struct nlmsghdr *nlh = (const void *)m.b;
		const struct genlmsghdr *g = (const void *)(m.b + NLMSG_HDRLEN);

		/* let a workload run between messages */
		if (pace_us && i % 16 == 15)
			usleep(pace_us);
		transact(fd, &m, len, expect, &r);
		sent++;
		unexpected += r.unexpected;
		if (expect == ANSWER_NONE)
			continue;
		/* without NLM_F_REQUEST the core acks without running it */
		ours = len >= NLMSG_HDRLEN + GENL_HDRLEN &&
		       (nlh->nlmsg_flags & NLM_F_REQUEST) &&
		       nlh->nlmsg_type == family_id && is_admin_cmd(g->cmd);
		if (expect == ANSWER_MAYBE) {
			maybe++;
			if (r.done) {
				acks_maybe++;
				hist[r.error >= 0 && r.error < 4096 ? r.error : 4095]++;
			} else if (ours) {
				/* no error: it succeeded silently */
				admin_ok++;
			}
			if (r.done && !r.error && ours)
				admin_ok++;
			continue;
		}
		expected++;
		if (!r.done) {
			missing++;
			printf("MISSING #%ld type %u flags 0x%x cmd %u len %zu/%u data msgs %d errno %d\n",
			       i, nlh->nlmsg_type, nlh->nlmsg_flags, g->cmd, len,
			       nlh->nlmsg_len, r.nmsgs, errno);
			continue;
		}
		acks++;
		hist[r.error >= 0 && r.error < 4096 ? r.error : 4095]++;
		if (!r.error && ours)
			admin_ok++;
		/* keep room for faults: clear them now and then */
		if (!drop && i % 64 == 63) {
			cmd(&m, MPAGEFS_CMD_CLEAR_FAULTS, 0);
			put_u32(&m, MPAGEFS_A_DEV, dev);
			request(fd, &m, &r);
		}
	}
	printf("FUZZ sent %ld expect_ack %ld acks %ld missing %ld unexpected %ld\n",
	       sent, expected, acks, missing, unexpected);
	printf("FUZZ optional %ld answered %ld\n", maybe, acks_maybe);
	printf("FUZZ admin_ok %ld\n", admin_ok);
	printf("FUZZ eperm %ld\n", hist[EPERM]);
	for (e = 0; e < 4096; e++)
		if (hist[e])
			printf("FUZZ errno %s %ld\n", errname(e), hist[e]);
	close(fd);
	return missing || unexpected ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint32_t dev;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		goto usage;
	dev = strtoul(argv[2], NULL, 0);
	if (!strcmp(argv[1], "check") && argc == 3)
		return do_check(dev);
	if (!strcmp(argv[1], "unpriv") && argc == 3)
		return do_unpriv(dev);
	if (!strcmp(argv[1], "restore") && argc == 3) {
		int fd = nl_open();

		resolve_family(fd);
		do_restore(fd, dev);
		return failures ? 1 : 0;
	}
	if (!strcmp(argv[1], "maxmap") && argc == 4) {
		int fd = nl_open();
		struct msg m;
		struct reply r;

		resolve_family(fd);
		cmd(&m, MPAGEFS_CMD_SET_POLICY, 0);
		put_u32(&m, MPAGEFS_A_DEV, dev);
		put_u32(&m, MPAGEFS_A_MAXMAP, strtoul(argv[3], NULL, 0));
		request(fd, &m, &r);
		check("set-maxmap", r.done && !r.error, "%s", strerror(r.error));
		return failures ? 1 : 0;
	}
	if (!strcmp(argv[1], "fuzz") && argc >= 5 && argc <= 7)
		return do_fuzz(dev, strtoull(argv[3], NULL, 0),
			       strtol(argv[4], NULL, 0),
			       argc >= 6 && !strcmp(argv[5], "drop"),
			       argc == 7 ? strtol(argv[6], NULL, 0) : 0);
usage:
	fprintf(stderr, "usage: genlfuzz check|unpriv|restore DEV | maxmap DEV N | fuzz DEV SEED N [drop|root [PACE_US]]\n");
	return 2;
}
