/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * policy.h - the parsed form of policy and inventory files.
 *
 * The parser (policy.c, inventory.c) fills these structures; the compiler
 * (compile.c) reads them.  All strings are owned by the structure they hang
 * from and freed by pw_policy_free() / pw_inventory_free().
 */
#ifndef PW_POLICY_H
#define PW_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "addr.h"

/* A literal peer gets an implicit role; this bit marks such roles. */
struct pw_role {
	char *name;  /* "repman", or the canonical prefix of a literal peer */
	char *desc;
	bool implicit;
	struct pw_prefix literal; /* valid when implicit */
	struct pw_loc loc;
};

struct pw_tag {
	char *name;
	char *desc;
	struct pw_loc loc;
};

struct pw_port_range {
	uint16_t lo, hi; /* inclusive; for ICMP, message types 0..255 */
};

/* A peer in a rule: role index into pw_policy.roles, or any. Literal
 * addresses are resolved to their implicit role at parse time. */
#define PW_PEER_ANY (-1)

struct pw_peer {
	int role; /* index into pw_policy.roles, or PW_PEER_ANY */
	struct pw_loc loc;
};

enum pw_rule_kind {
	PW_RULE_ALLOW = 0,
	PW_RULE_LOOPBACK = 1,
};

struct pw_rule {
	uint32_t id;        /* 1-based, in file order across includes */
	enum pw_rule_kind kind;
	uint32_t protos;    /* bitmask of 1 << enum pw_proto_idx */
	struct pw_port_range *ports; /* ICMP rule without types: empty = all types */
	int nports;
	struct pw_peer *src; /* loopback rules: empty */
	int nsrc;
	struct pw_peer *dst; /* loopback rules: the roles after "on" */
	int ndst;
	int *tags;           /* indexes into pw_policy.tags; all must be enabled */
	int ntags;
	bool bidirectional;
	uint8_t mode;        /* enum pw_mode: PW_MODE_HOST unless overridden */
	char *note;          /* NULL when the rule has none */
	struct pw_loc loc;   /* the rule's first token */
};

struct pw_policy {
	char *name;          /* from "policy", else the file's basename sans .policy */
	char *desc;          /* may be NULL */
	char *path;          /* the top-level file as given */
	struct pw_role *roles;
	int nroles;
	struct pw_tag *tags;
	int ntags;
	struct pw_rule *rules;
	int nrules;
	char **files;        /* every file read, top-level first; owns loc.file strings */
	int nfiles;
};

struct pw_inv_entry {
	int role;            /* index into pw_policy.roles */
	struct pw_prefix prefix;
	struct pw_loc loc;
};

struct pw_inventory {
	char *path;
	struct pw_inv_entry *entries;
	int nentries;
	char **files;        /* owns loc.file strings */
	int nfiles;
};

/*
 * Parse a policy file (following includes).  Returns 0 on success, -1 when
 * any error was reported into @d.  Warnings do not fail.  On failure @pol is
 * left freed-and-zeroed.
 */
int pw_policy_parse_file(const char *path, struct pw_policy *pol,
			 struct pw_diags *d);

/* Same, from memory; @name is used as the file name in locations and
 * includes are resolved relative to the current directory. */
int pw_policy_parse_buffer(const char *name, const char *text,
			   struct pw_policy *pol, struct pw_diags *d);

/*
 * Parse an inventory against a parsed policy (role names are resolved
 * through it).  Checks duplicates and overlaps as the language reference
 * says.  Returns 0, or -1 with errors in @d.
 */
int pw_inventory_parse_file(const char *path, const struct pw_policy *pol,
			    struct pw_inventory *inv, struct pw_diags *d);
int pw_inventory_parse_buffer(const char *name, const char *text,
			      const struct pw_policy *pol,
			      struct pw_inventory *inv, struct pw_diags *d);

/* Index of a role or tag by name, or -1. */
int pw_policy_find_role(const struct pw_policy *pol, const char *name);
int pw_policy_find_tag(const struct pw_policy *pol, const char *name);

void pw_policy_free(struct pw_policy *pol);
void pw_inventory_free(struct pw_inventory *inv);

/* "tcp", "udp", ... for an enum pw_proto_idx; IP protocol number for one. */
const char *pw_proto_name(int proto_idx);
int pw_proto_ipproto(int proto_idx);
/* enum pw_proto_idx for an IP protocol number, or -1 */
int pw_proto_from_ipproto(int ipproto);

#endif /* PW_POLICY_H */
