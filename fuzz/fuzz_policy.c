// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_policy.c - libFuzzer harness for the policy and host profile
 * parsers (user/policy.c, user/profile.c, user/lexer.c, user/addr.c).
 *
 * Each input is parsed as a policy and as a host profile.  Inputs without
 * a NUL byte or an include go through the buffer entry points when their
 * size is even; the others are written into the sandbox and parsed from
 * there (the file entry points read NUL bytes, and includes resolve next
 * to the file).  An input with an include that names a path with a slash
 * is skipped, so that nothing outside the sandbox is ever read.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks what the
 * headers promise: failure iff an error, a zeroed structure on failure,
 * and on success indexes in range, ports in order, limits kept.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "policy.h"
#include "portwarden.h"
#include "profile.h"

#define ICMP_BITS ((1U << PW_P_ICMP) | (1U << PW_P_ICMPV6))

/*
 * The profile copy of an input lives in a subdirectory, out of reach of
 * the policy's includes (which have no slash): otherwise a policy could
 * include the profile file of the input before, and a crash would not
 * replay.
 */
#define PROFILE_DIR "profile"
#define PROFILE_FILE PROFILE_DIR "/in.profile"

/* Included files the inputs can reach by name. */
static const struct {
	const char *name, *text;
} fixtures[] = {
	{ "part.policy",
	  "role extra \"a role from an included file\"\n"
	  "tag more \"a tag from an included file\"\n"
	  "allow tcp 8000-8010 from extra to any if more note \"included\"\n" },
	{ "self.policy", "include \"self.policy\"\n" },
	{ "outer.policy", "include part.policy\ninclude \"part.policy\"\n" },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];

	fz_sandbox_init();
	if (mkdir(fz_sandbox_path(PROFILE_DIR, path, sizeof(path)), 0700) &&
	    errno != EEXIST)
		fz_fail("cannot make %s", path);
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		fz_write_file(fz_sandbox_path(fixtures[i].name, path,
					      sizeof(path)),
			      fixtures[i].text, strlen(fixtures[i].text));
	return 0;
}

static void check_peers(const struct pw_policy *pol, const struct pw_rule *r,
			const struct pw_peer *v, int n)
{
	if (n < 0 || (n > 0 && !v))
		fz_fail("rule %u: %d peers at %p", r->id, n, (void *)v);
	for (int i = 0; i < n; i++)
		if (v[i].role != PW_PEER_ANY &&
		    (v[i].role < 0 || v[i].role >= pol->nroles))
			fz_fail("rule %u: peer role %d of %d", r->id,
				v[i].role, pol->nroles);
}

static void check_ports(const struct pw_rule *r)
{
	bool icmp = r->protos & ICMP_BITS;

	if (r->nports < 0 || (r->nports > 0 && !r->ports))
		fz_fail("rule %u: %d ports", r->id, r->nports);
	if (!icmp && r->nports == 0)
		fz_fail("rule %u: a port protocol without ports", r->id);
	for (int i = 0; i < r->nports; i++) {
		const struct pw_port_range *p = &r->ports[i];

		if (p->lo > p->hi)
			fz_fail("rule %u: port range %u-%u", r->id, p->lo,
				p->hi);
		if (icmp && p->hi > 255)
			fz_fail("rule %u: ICMP type %u", r->id, p->hi);
		if (!icmp && p->lo == 0)
			fz_fail("rule %u: port 0", r->id);
	}
}

static void check_rule(const struct pw_policy *pol, const struct pw_rule *r)
{
	uint32_t all = (1U << PW_NPROTO) - 1;

	if (r->kind != PW_RULE_ALLOW && r->kind != PW_RULE_LOOPBACK)
		fz_fail("rule %u: kind %d", r->id, r->kind);
	if (!r->protos || (r->protos & ~all))
		fz_fail("rule %u: protocols 0x%x", r->id, r->protos);
	if ((r->protos & ICMP_BITS) && (r->protos & ~ICMP_BITS))
		fz_fail("rule %u: ICMP mixed with port protocols", r->id);
	if (r->mode > PW_MODE_ENFORCE)
		fz_fail("rule %u: mode %u", r->id, r->mode);
	if (r->kind == PW_RULE_LOOPBACK && (r->nsrc || r->bidirectional))
		fz_fail("rule %u: loopback with sources", r->id);
	if (!r->loc.file || r->loc.line < 1)
		fz_fail("rule %u: no location", r->id);
	check_ports(r);
	check_peers(pol, r, r->src, r->nsrc);
	check_peers(pol, r, r->dst, r->ndst);
	for (int i = 0; i < r->ntags; i++)
		if (r->tags[i] < 0 || r->tags[i] >= pol->ntags)
			fz_fail("rule %u: tag %d of %d", r->id, r->tags[i],
				pol->ntags);
}

static void check_policy(const struct pw_policy *pol)
{
	uint32_t last_id = 0;

	if (!pol->name || !pol->path || pol->nfiles < 1 || !pol->files[0])
		fz_fail("policy without name, path or files");
	if (pol->nroles < 0 || pol->nroles > PW_MAX_ROLES - 1)
		fz_fail("%d roles", pol->nroles);
	for (int i = 0; i < pol->nroles; i++) {
		const struct pw_role *ro = &pol->roles[i];

		if (!ro->name || strlen(ro->name) >= PW_ROLE_NAME_MAX)
			fz_fail("role %d: bad name", i);
		if (ro->implicit && ro->literal.family != 4 &&
		    ro->literal.family != 6)
			fz_fail("role %s: literal of family %u", ro->name,
				ro->literal.family);
		if (pw_policy_find_role(pol, ro->name) < 0)
			fz_fail("role %s is not found by name", ro->name);
	}
	for (int i = 0; i < pol->ntags; i++)
		if (!pol->tags[i].name ||
		    pw_policy_find_tag(pol, pol->tags[i].name) != i)
			fz_fail("tag %d is not found by name", i);
	if (pol->nrules < 0 || pol->nrules > PW_MAX_RULES)
		fz_fail("%d rules", pol->nrules);
	for (int i = 0; i < pol->nrules; i++) {
		const struct pw_rule *r = &pol->rules[i];

		if (r->id <= last_id || r->id > PW_MAX_RULES)
			fz_fail("rule %d has id %u after %u", i, r->id,
				last_id);
		last_id = r->id;
		check_rule(pol, r);
	}
}

static void check_profile(const struct pw_profile *p)
{
	if (!p->policy || p->nroles < 1 || !p->roles)
		fz_fail("profile without policy or role");
	if (p->mode < PW_MODE_HOST || p->mode > PW_MODE_ENFORCE)
		fz_fail("profile mode %d", p->mode);
	for (int i = 0; i < p->nroles; i++)
		if (!p->roles[i] || !p->roles[i][0])
			fz_fail("profile role %d empty", i);
	for (int i = 0; i < p->ntags; i++)
		if (!p->tags[i] || !p->tags[i][0])
			fz_fail("profile tag %d empty", i);
}

static void fuzz_policy(const uint8_t *data, size_t size, const char *text,
			bool from_file)
{
	struct pw_diags d = { 0 };
	struct pw_policy pol;
	char path[PATH_MAX];
	int rc;

	if (from_file) {
		fz_sandbox_path("in.policy", path, sizeof(path));
		fz_write_file(path, data, size);
		rc = pw_policy_parse_file(path, &pol, &d);
	} else {
		rc = pw_policy_parse_buffer("fuzz.policy", text, &pol, &d);
	}
	fz_check_diags(&d, rc);
	if (rc == 0)
		check_policy(&pol);
	else if (!fz_is_zero(&pol, sizeof(pol)))
		fz_fail("a failed parse left the policy filled in");
	pw_policy_free(&pol);
	pw_diags_free(&d);
}

static void fuzz_profile(const uint8_t *data, size_t size, const char *text,
			 bool from_file)
{
	struct pw_diags d = { 0 };
	struct pw_profile p;
	char path[PATH_MAX];
	int rc;

	if (from_file) {
		fz_sandbox_path(PROFILE_FILE, path, sizeof(path));
		fz_write_file(path, data, size);
		rc = pw_profile_parse_file(path, &p, &d);
	} else {
		rc = pw_profile_parse_buffer("fuzz.profile", text, &p, &d);
	}
	fz_check_diags(&d, rc);
	if (rc == 0)
		check_profile(&p);
	else if (!fz_is_zero(&p, sizeof(p)))
		fz_fail("a failed parse left the profile filled in");
	pw_profile_free(&p);
	pw_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool include = fz_has_include((const char *)data, size);
	bool nul = fz_has_nul(data, size);
	char *text;

	if (include && fz_include_escapes((const char *)data, size))
		return 0;
	text = fz_strdup(data, size);
	fuzz_policy(data, size, text, nul || include || (size & 1));
	fuzz_profile(data, size, text, nul || (size & 1));
	free(text);
	return 0;
}
