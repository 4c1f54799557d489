/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * profile.h - host profiles: which policy, inventory, roles, tags and mode
 * one host runs with (docs/policy-language.md, "Host profiles"), and the
 * datapath settings of the host (egress, flow table, events), which are
 * profile keys and load/reload options of the same names.
 */
#ifndef PW_PROFILE_H
#define PW_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* ------------------------------------------------------------------ */
/* Datapath settings ("tunables")                                      */
/* ------------------------------------------------------------------ */

/* What the tc egress program does (the profile key and --egress). */
enum pw_egress_mode {
	PW_EGRESS_AUDIT = 0,   /* attached; judged and counted, never dropped */
	PW_EGRESS_ENFORCE = 1, /* attached; drops when the host enforces */
	PW_EGRESS_OFF = 2,     /* not attached */
};

/* One setting each; the order is the order of help texts and status. */
enum pw_tun {
	PW_TUN_EGRESS = 0,        /* enum pw_egress_mode */
	PW_TUN_FLOW_TABLE,        /* pw_flows entries (pw_caps.flow_cap) */
	PW_TUN_FLOW_TCP,          /* seconds: pw_config.flow_tcp_timeout_s */
	PW_TUN_FLOW_FIN,          /* seconds: pw_config.flow_fin_timeout_s */
	PW_TUN_FLOW_UDP,          /* seconds: pw_config.flow_udp_timeout_s */
	PW_TUN_EVENT_RATE,        /* events per second per CPU; 0 = none */
	PW_TUN_EVENT_BURST,       /* token bucket depth */
	PW_TUN_EVENT_INTERVAL,    /* seconds between reports of one flow */
	PW_TUN_EVENT_RING,        /* pw_events bytes (pw_caps.event_ring) */
	PW_NTUN,
};

struct pw_tunables {
	uint32_t v[PW_NTUN];
	unsigned set; /* bit (1 << enum pw_tun) for each value given */
};

enum pw_tun_kind {
	PW_TUN_WORD_EGRESS, /* audit | enforce | off */
	PW_TUN_NUMBER,      /* a decimal number in [min, max] */
	PW_TUN_BYTES,       /* a power of two in [min, max]; K, M, G suffixes */
};

struct pw_tun_desc {
	const char *key;  /* profile key; the option is "--" key */
	const char *arg;  /* placeholder in usage texts: "N", "SECONDS" */
	const char *what; /* "flow table entries", for messages */
	enum pw_tun_kind kind;
	uint32_t min, max;
	/* the size of a map: fixed by load, a reload cannot change it */
	int load_only;
};

const struct pw_tun_desc *pw_tun_desc(enum pw_tun t);

/* The setting named @key ("flow-table"), or -1. */
int pw_tun_lookup(const char *key);

/*
 * Parse the value of setting @t from @text.  Returns 0, or -1 with "what
 * was expected" in @why ("expected audit, enforce or off").
 */
int pw_tun_parse(enum pw_tun t, const char *text, uint32_t *out, char *why,
		 size_t len);

/* "audit", "enforce", "off"; "?" otherwise. */
const char *pw_egress_name(uint32_t mode);

/* ------------------------------------------------------------------ */
/* Profiles                                                            */
/* ------------------------------------------------------------------ */

struct pw_profile {
	char *policy;    /* path, already relative to the profile's directory */
	char *inventory; /* same; NULL when the profile names none */
	char **roles;    /* one name each (comma lists are split) */
	int nroles;
	char **tags;     /* one name each */
	int ntags;
	int mode;        /* enum pw_mode; 0 (PW_MODE_HOST) when unset */
	struct pw_tunables tun; /* the settings the profile gives */
};

/*
 * Parse a profile.  Returns 0, or -1 with errors in @d; on failure @p is
 * left freed-and-zeroed.  Role and tag names are checked for form only:
 * whether the policy declares them is the compiler's question.
 */
int pw_profile_parse_file(const char *path, struct pw_profile *p,
			  struct pw_diags *d);
/* Same, from memory; paths in it are relative to the directory of @name. */
int pw_profile_parse_buffer(const char *name, const char *text,
			    struct pw_profile *p, struct pw_diags *d);
void pw_profile_free(struct pw_profile *p);

#endif /* PW_PROFILE_H */
