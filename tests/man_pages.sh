#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# man_pages.sh PORTWARDEN - the manual pages render without a warning and
# stay true to what they describe: portwarden(8) has a section for every
# command "portwarden help" lists and names every long option of every
# usage line; portwarden-policy(5) carries every keyword and every
# diagnostic that docs/policy-language.md lists.  Run from the source root.
set -u

man8=docs/portwarden.8
man5=docs/portwarden-policy.5
ref=docs/policy-language.md

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
pw_test_init man-pages "$@"
need_tools groff

# -ww: every warning; -z: no output, only the diagnostics.
for page in "$man8" "$man5"; do
	checked
	if ! groff -man -ww -z "$page" 2>"$tmp/warn" || [ -s "$tmp/warn" ]; then
		fail "$page: groff warns:"
		head -10 "$tmp/warn" >&2
	fi
	checked
	groff -man -Tascii -P-c -P-b -P-u "$page" 2>/dev/null |
		col -b 2>/dev/null >"$tmp/$(basename "$page").txt" ||
		groff -man -Tascii -P-c -P-b -P-u "$page" >"$tmp/$(basename "$page").txt"
	if [ "$(wc -l <"$tmp/$(basename "$page").txt")" -lt 50 ]; then
		fail "$page: renders to less than 50 lines"
	fi
done

# portwarden(8) against the commands the binary has.
if ! "$pw" help -j >"$tmp/help.json"; then
	fail "portwarden help -j failed"
fi
checked
if ! python3 - "$tmp/help.json" "$man8" "$tmp/portwarden.8.txt" <<-'EOF'
	import json, re, sys
	cmds = json.load(open(sys.argv[1]))["commands"]
	src = open(sys.argv[2]).read()
	text = open(sys.argv[3]).read()
	bad = []
	for c in cmds:
	    name = c["name"]
	    if not re.search(r"^\.SS %s$" % re.escape(name), src, re.M):
	        bad.append("no .SS section for command '%s'" % name)
	    if not re.search(r'^\.SY "portwarden %s"$' % re.escape(name), src, re.M):
	        bad.append("no SYNOPSIS line for command '%s'" % name)
	    for opt in sorted(set(re.findall(r"--[a-z][a-z-]*", c["usage"]))):
	        if opt not in text:
	            bad.append("'%s' of command '%s' is not in the page" % (opt, name))
	for b in bad:
	    print("portwarden.8: " + b, file=sys.stderr)
	sys.exit(1 if bad else 0)
EOF
then
	fail "$man8 does not cover the commands (above)"
fi

# portwarden-policy(5) against the language reference.
checked
if ! python3 - "$ref" "$tmp/portwarden-policy.5.txt" <<-'EOF'
	import re, sys
	ref = open(sys.argv[1]).read()
	text = open(sys.argv[2]).read()
	flat = " ".join(text.split())
	bad = []
	kw = re.search(r"- Keywords: `([^`]*)`", ref).group(1).split()
	for k in kw:
	    if not re.search(r"\b%s\b" % re.escape(k), flat):
	        bad.append("keyword '%s' missing" % k)
	section = ref[ref.index("## Errors and warnings"):]
	msgs = re.findall(r"^\| `(.*?)`(?: \(.*?\))? \|", section, re.M)
	if len(msgs) < 80:
	    bad.append("only %d messages found in the reference" % len(msgs))
	for m in msgs:
	    if m not in text and " ".join(m.split()) not in flat:
	        bad.append("message missing: %s" % m)
	for b in bad:
	    print("portwarden-policy.5: " + b, file=sys.stderr)
	sys.exit(1 if bad else 0)
EOF
then
	fail "$man5 is not true to $ref (above)"
fi

pw_test_done
