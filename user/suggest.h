/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * suggest.h - policy lines that would allow the violations observed.
 *
 * Input is plain data, so that it can be written by hand in tests: the
 * violation counters (one per counter key, with what the policy in force
 * says of that key now), the sample addresses the datapath kept per key
 * (pw_samples), the host's roles and the role names by id.
 *
 *	pw_suggest_build(&in, &s);
 *	pw_suggest_print_text(&s, stdout);   or  pw_suggest_print_json(&s, j);
 *	pw_suggest_free(&s);
 *
 * What comes out is for review, never applied:
 *  - allow lines grouped by (direction, peer role, protocol), their ports
 *    merged into a list of ports and ranges, each after a comment with the
 *    packet counts and the sample addresses; the host's roles stand on
 *    the host's side (destination on ingress, source on egress);
 *  - peers outside the inventory (role 0) get placeholder roles
 *    "unknown-N", one per set of sample addresses seen on exactly the
 *    same counter keys (peers that behave alike; none is allowed more
 *    than it was seen doing, and every address has one placeholder),
 *    declared with a role line, with the inventory line to add as a
 *    comment; their lines count the packets of the whole key, which
 *    the peers of other placeholders may share;
 *  - keys no allow line can fix are listed as comments with the reason:
 *    loopback-only ports, protocols the language has no rules for, port 0,
 *    peers outside the inventory without a sample address, role ids
 *    without a name; keys the policy in force allows already (counted
 *    before a reload), and peers outside the inventory that are in it
 *    now, too.
 * The text form is a policy fragment: appended to the policy it was drawn
 * from, it parses.
 */
#ifndef PW_SUGGEST_H
#define PW_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "portwarden.h"
#include "json.h"
#include "policy.h"

/* What the policy in force says of a violation's key now. */
enum pw_suggest_now {
	PW_SUGGEST_VIOLATES = 0, /* still a violation: worth an allow line */
	PW_SUGGEST_LOOPBACK = 1, /* a loopback-only port: no allow opens it */
	PW_SUGGEST_ALLOWED = 2,  /* allowed now (counted before a reload) */
	/* role 0 only: every sample peer holds a role now (the inventory
	 * grew), so its traffic counts, and is judged, under that role */
	PW_SUGGEST_INVENTORIED = 3,
};

/* One violation counter: a pw_counters slot or a pw_unnamed key. */
struct pw_suggest_obs {
	struct pw_counter_key key; /* dir, proto, role, port_lo..port_hi */
	uint64_t audit_packets;
	uint64_t drop_packets;
	uint64_t bytes;
	uint32_t rule_id; /* the rule naming the port; 0 for none */
	enum pw_suggest_now now;
};

/* One pw_samples entry. */
struct pw_suggest_sample {
	struct pw_counter_key key; /* port_lo == port_hi, verdict 0 */
	struct pw_sample s;
};

struct pw_suggest_input {
	/* for the heading; any may be NULL */
	const char *iface;
	const char *netns;
	const char *policy;
	/* the host's roles: the host's side of every allow line */
	const char *const *host_roles;
	int nhost_roles;
	/* role id -> name ("" for an id without one) */
	const struct pw_role_name *roles;
	uint32_t nroles;
	/* more names a placeholder must not take (the policy's roles) */
	const char *const *taken;
	int ntaken;
	const struct pw_suggest_obs *obs;
	size_t nobs;
	const struct pw_suggest_sample *samples;
	size_t nsamples;
};

struct pw_suggest_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

/* A placeholder role for peers outside the inventory. */
struct pw_suggest_placeholder {
	char name[PW_ROLE_NAME_MAX];
	struct pw_suggest_addr *addrs; /* sorted */
	size_t naddrs;
};

/* The ports of one counter key within a suggested rule. */
struct pw_suggest_part {
	uint16_t lo, hi;
	uint64_t packets;
};

struct pw_suggest_rule {
	uint8_t dir;  /* enum pw_dir */
	uint8_t proto; /* IP protocol number */
	char peer[PW_ROLE_NAME_MAX]; /* role name or placeholder name */
	int placeholder;             /* index into placeholders, or -1 */
	struct pw_port_range *ports; /* merged, ascending */
	size_t nports;
	struct pw_suggest_part *parts; /* by port */
	size_t nparts;
	uint64_t audit_packets, drop_packets, bytes;
	uint32_t rule_id; /* a rule naming some of the ports, 0 if none */
	struct pw_suggest_addr *samples; /* sorted */
	size_t nsamples;
	char *line; /* "allow tcp 3306 from app to db note \"...\"" */
};

/* A counter key that got no allow line, and why. */
struct pw_suggest_skip {
	struct pw_counter_key key;
	uint64_t packets;
	uint32_t rule_id;
	char role[PW_ROLE_NAME_MAX];
	const char *why; /* static text */
};

struct pw_suggestion {
	const struct pw_suggest_input *in; /* borrowed */
	char *host;			   /* "db" or "db,proxy" */
	struct pw_suggest_placeholder *ph;
	size_t nph;
	struct pw_suggest_rule *rules; /* ingress first, then by peer, proto */
	size_t nrules;
	struct pw_suggest_skip *skips;
	size_t nskips;
};

/* The note every suggested line carries, for the reviewer to replace. */
#define PW_SUGGEST_NOTE \
	"observed traffic (portwarden suggest): replace with the vendor's words"

/* Returns 0, -EINVAL (no host role) or -ENOMEM.  Free with pw_suggest_free. */
int pw_suggest_build(const struct pw_suggest_input *in,
		     struct pw_suggestion *s);
void pw_suggest_free(struct pw_suggestion *s);

/* The policy fragment: comments, role lines, allow lines. */
void pw_suggest_print_text(const struct pw_suggestion *s, FILE *out);
/* One JSON object with the same content (the caller's writer). */
void pw_suggest_print_json(const struct pw_suggestion *s, struct pw_json *j);

/* Is @sm a sample of key @k: same direction, protocol and role, its
 * port within @k's ports? */
bool pw_suggest_sample_of(const struct pw_suggest_sample *sm,
			  const struct pw_counter_key *k);

/* "3306,4000-4003" */
void pw_suggest_ports_text(const struct pw_port_range *p, size_t n, char *buf,
			   size_t len);

#endif /* PW_SUGGEST_H */
