// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_inventory.c - libFuzzer harness for the inventory parser
 * (user/inventory.c, with user/addr.c and user/lexer.c under it).
 *
 * The three shipped policies are parsed once; each input is then parsed
 * as an inventory against every one of them (an input written for one
 * product is mostly unknown roles to the others, which is a path worth
 * covering too).  Inputs with a NUL byte, or of odd size, are parsed from
 * a file in the sandbox, the others from memory.
 *
 * On success every entry must name a declared role and hold a canonical
 * prefix that formats and parses back to itself; the inventory is then
 * compiled for the role of its first entry, which must succeed or fail
 * with an error, never leave a half-built table.
 */
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "fuzz_common.h"
#include "policy.h"
#include "portwarden.h"

static const char *const policy_files[] = {
	"policies/replication-manager.policy",
	"policies/thoughtspot.policy",
	"policies/cloudbees-cd.policy",
};
#define NPOLICIES (sizeof(policy_files) / sizeof(policy_files[0]))

static struct pw_policy policies[NPOLICIES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];

	fz_sandbox_init();
	for (size_t i = 0; i < NPOLICIES; i++) {
		struct pw_diags d = { 0 };

		fz_source_path(policy_files[i], path, sizeof(path));
		if (pw_policy_parse_file(path, &policies[i], &d)) {
			pw_diags_print(&d, stderr);
			fz_fail("seed policy %s does not parse", path);
		}
		pw_diags_free(&d);
	}
	return 0;
}

/* Host bits past the length are zero. */
static bool host_bits_clear(const struct pw_prefix *p)
{
	unsigned bytes = p->family == 4 ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned first = i * 8;
		uint8_t keep;

		if (first + 8 <= p->plen)
			continue;
		keep = first >= p->plen ? 0 :
					  (uint8_t)(0xff << (8 - (p->plen - first)));
		if (p->addr[i] & ~keep)
			return false;
	}
	for (unsigned i = bytes; i < 16; i++)
		if (p->addr[i])
			return false;
	return true;
}

static void check_prefix(const struct pw_prefix *p, int entry)
{
	char text[PW_PREFIX_STRLEN];
	struct pw_prefix back;
	const char *why = NULL;

	if ((p->family != 4 && p->family != 6) ||
	    p->plen > (p->family == 4 ? 32 : 128))
		fz_fail("entry %d: family %u length %u", entry, p->family,
			p->plen);
	if (!host_bits_clear(p))
		fz_fail("entry %d: host bits set", entry);
	pw_prefix_format(p, text, sizeof(text));
	if (pw_prefix_parse(text, &back, &why) || !pw_prefix_equal(p, &back))
		fz_fail("entry %d: '%s' does not parse back (%s)", entry, text,
			why ? why : "different prefix");
}

static void check_inventory(const struct pw_policy *pol,
			    const struct pw_inventory *inv)
{
	if (!inv->path || inv->nfiles < 1 || inv->nentries < 0)
		fz_fail("inventory without path or files");
	for (int i = 0; i < inv->nentries; i++) {
		const struct pw_inv_entry *e = &inv->entries[i];

		if (e->role < 0 || e->role >= pol->nroles ||
		    pol->roles[e->role].implicit)
			fz_fail("entry %d: role %d of %d", i, e->role,
				pol->nroles);
		if (!e->loc.file || e->loc.line < 1)
			fz_fail("entry %d: no location", i);
		check_prefix(&e->prefix, i);
	}
}

static void compile_first_role(const struct pw_policy *pol,
			       const struct pw_inventory *inv)
{
	struct pw_diags d = { 0 };
	struct pw_compile_opts opts = { 0 };
	struct pw_compiled c;
	const char *role;
	int rc;

	if (inv->nentries == 0)
		return;
	role = pol->roles[inv->entries[0].role].name;
	opts.host_roles = &role;
	opts.nhost_roles = 1;
	rc = pw_compile(pol, inv, &opts, &c, &d);
	fz_check_diags(&d, rc);
	if (rc == 0 && (c.nroles < 1 || c.nroles > PW_MAX_ROLES))
		fz_fail("compiled %u role ids", c.nroles);
	pw_compiled_free(&c);
	pw_diags_free(&d);
}

static void fuzz_one(const struct pw_policy *pol, const uint8_t *data,
		     size_t size, const char *text, bool from_file)
{
	struct pw_diags d = { 0 };
	struct pw_inventory inv;
	char path[PATH_MAX];
	int rc;

	if (from_file) {
		fz_sandbox_path("in.inventory", path, sizeof(path));
		rc = pw_inventory_parse_file(path, pol, &inv, &d);
	} else {
		rc = pw_inventory_parse_buffer("fuzz.inventory", text, pol,
					       &inv, &d);
	}
	fz_check_diags(&d, rc);
	if (rc == 0) {
		check_inventory(pol, &inv);
		compile_first_role(pol, &inv);
	} else if (!fz_is_zero(&inv, sizeof(inv))) {
		fz_fail("a failed parse left the inventory filled in");
	}
	pw_inventory_free(&inv);
	pw_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool from_file = fz_has_nul(data, size) || (size & 1);
	char path[PATH_MAX];
	char *text = fz_strdup(data, size);

	if (from_file)
		fz_write_file(fz_sandbox_path("in.inventory", path,
					      sizeof(path)),
			      data, size);
	for (size_t i = 0; i < NPOLICIES; i++)
		fuzz_one(&policies[i], data, size, text, from_file);
	free(text);
	return 0;
}
