// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * shadow.c - a candidate policy judged next to the running one: load it
 * into the generation not in force, promote it by a flip, or drop it;
 * and the report of where its verdicts differ.
 *
 * Order of a load, so that an error at any step leaves either the state
 * before or no shadow at all, and never a flag over half-written tables:
 *
 *	compile (nothing touched yet) → clear the flag of a shadow being
 *	replaced → write the inactive generation → clear the shared role
 *	names and slots the replaced shadow added → empty pw_shadow →
 *	shadow file → set the flag
 *
 * The running generation and the host config other than the flag are
 * never written.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "classify.h"
#include "loader.h"
#include "report.h"
#include "shadow.h"

/* The loader's lock: one writer of any interface's maps at a time. */
#define SHADOW_LOCK_FILE PW_STATE_ROOT "/.lock"
#define SHADOW_PATH_MAX 4096

/* ----------------------------------------------------------- common -- */

static int lock_writers(const char *name, struct pw_diags *d)
{
	int fd;

	if (mkdir(PW_STATE_ROOT, 0755) && errno != EEXIST) {
		pw_error(d, NULL, "%s: cannot create %s: %s", name,
			 PW_STATE_ROOT, strerror(errno));
		return -1;
	}
	fd = open(SHADOW_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		pw_error(d, NULL, "%s: cannot lock %s: %s%s", name,
			 SHADOW_LOCK_FILE, strerror(errno),
			 errno == EACCES ? " (run as root)" : "");
	return fd;
}

/* The loaded interface and its config, under the writers' lock. */
struct shadow_session {
	struct pw_loaded l;
	struct pw_config cfg;
	int lock;
	bool opened;
};

static int session_open(struct shadow_session *s, const char *netns,
			const char *iface, struct pw_diags *d)
{
	char err[1024];
	int rc;

	memset(s, 0, sizeof(*s));
	s->lock = lock_writers(iface, d);
	if (s->lock < 0)
		return -EACCES;
	rc = pw_loaded_open(netns, iface, &s->l, err, sizeof(err));
	if (rc) {
		pw_error(d, NULL, "%s", err);
		return rc;
	}
	s->opened = true;
	rc = pw_maps_get_config(&s->l.maps, &s->cfg);
	if (rc)
		pw_error(d, NULL, "%s: %s", s->l.name, pw_maps_errmsg());
	return rc;
}

static void session_close(struct shadow_session *s)
{
	if (s->opened)
		pw_loaded_close(&s->l);
	if (s->lock >= 0)
		close(s->lock);
	s->opened = false;
	s->lock = -1;
}

/* Set or clear PW_CFG_SHADOW; every other field stays as it is. */
static int shadow_flag(const struct pw_maps *m, bool on)
{
	struct pw_config cfg;
	int err;

	err = pw_maps_get_config(m, &cfg);
	if (err)
		return err;
	if (on)
		cfg.flags |= PW_CFG_SHADOW;
	else
		cfg.flags &= ~(__u32)PW_CFG_SHADOW;
	return pw_maps_set_config(m, &cfg);
}

/*
 * Empty the shared role names [@nroles, @upto_roles) and slot keys
 * [@nslots, @upto_slots): what a candidate added that is not in force.
 * The running policy's tables name no id there, so nothing counts into
 * them, and the first empty slot key ends the list (pw_prev_read).
 */
static int clear_shared(const struct pw_maps *m, __u32 nroles,
			__u32 upto_roles, __u32 nslots, __u32 upto_slots)
{
	static const struct pw_role_name no_name;
	static const struct pw_counter_key no_key;
	__u32 i;

	for (i = nroles; i < upto_roles && i < m->caps.role_cap; i++)
		if (bpf_map_update_elem(m->role_names, &i, &no_name, BPF_ANY))
			return -errno;
	for (i = nslots; i < upto_slots && i < m->caps.slot_cap; i++)
		if (bpf_map_update_elem(m->slots, &i, &no_key, BPF_ANY))
			return -errno;
	return 0;
}

/* How many role names and slot keys the shared maps hold now. */
static int shared_counts(const struct pw_maps *m, __u32 *nroles,
			 __u32 *nslots)
{
	struct pw_prev_buf pb;
	int err;

	err = pw_prev_read(m, &pb);
	if (err)
		return err;
	*nroles = pb.prev.nroles;
	*nslots = pb.prev.nslots;
	pw_prev_free(&pb);
	return 0;
}

/* " --netns NAME" for hints, or "". */
static const char *netns_hint(const char *netns, char *buf, size_t len)
{
	if (!netns)
		return "";
	snprintf(buf, len, " --netns %s", netns);
	return buf;
}

/* ------------------------------------------------------------ guard -- */

bool pw_shadow_active(const struct pw_maps *m)
{
	struct pw_config cfg;

	return !pw_maps_get_config(m, &cfg) && (cfg.flags & PW_CFG_SHADOW);
}

int pw_shadow_refuse_reload(const struct pw_loaded *l, struct pw_diags *d)
{
	char hint[300];

	if (!pw_shadow_active(&l->maps))
		return 0;
	netns_hint(l->st.netns, hint, sizeof(hint));
	pw_error(d, NULL,
		 "%s: reload refused: a shadow policy is loaded in the "
		 "generation a reload writes; promote it ('portwarden "
		 "shadow%s --iface %s --promote') or drop it ('--drop') "
		 "first; the running policy is untouched",
		 l->name, hint, l->iface);
	return -EBUSY;
}

/* ------------------------------------------------------------- load -- */

struct shadow_build {
	struct pw_policy pol;
	struct pw_inventory inv;
	struct pw_compiled c;
};

static void build_free(struct shadow_build *b)
{
	pw_compiled_free(&b->c);
	pw_inventory_free(&b->inv);
	pw_policy_free(&b->pol);
}

struct shadow_load {
	const struct pw_shadow_req *req;
	struct pw_diags *d;
	struct shadow_session s;
	struct shadow_build b;
	struct pw_shadow_state old; /* the shadow being replaced */
	bool replacing;
	__u32 gen;                  /* the generation not in force */
	__u32 base_nroles, base_nslots;
	__u32 now_nroles, now_nslots; /* in the shared maps before */
};

static const char *untouched(const struct shadow_load *x)
{
	return x->replacing ? "the running policy and the shadow loaded now "
			      "are untouched" :
			      "the running policy is untouched";
}

/*
 * As a reload compiles, with the maps' role ids and slots; a shadow being
 * replaced is left out of them, so that its ids go to the new candidate.
 */
static int load_compile(struct shadow_load *x)
{
	struct pw_prev_buf pb;
	const char *name = x->s.l.name;
	char why[256];
	int err;

	err = pw_prev_read(&x->s.l.maps, &pb);
	if (err) {
		pw_error(x->d, NULL, "%s: cannot read role ids and slots: %s",
			 name, strerror(-err));
		return err;
	}
	x->now_nroles = x->base_nroles = pb.prev.nroles;
	x->now_nslots = x->base_nslots = pb.prev.nslots;
	if (x->replacing) {
		if (x->old.base_nroles < x->base_nroles)
			x->base_nroles = x->old.base_nroles;
		if (x->old.base_nslots < x->base_nslots)
			x->base_nslots = x->old.base_nslots;
		pb.prev.nroles = x->base_nroles;
		pb.prev.nslots = x->base_nslots;
	}
	err = pw_state_compile(x->req->st, &pb.prev, &x->b.pol, &x->b.inv,
			       &x->b.c, x->d);
	pw_prev_free(&pb);
	if (err) {
		pw_error(x->d, NULL, "%s: shadow refused: the candidate does "
				     "not compile; %s", name, untouched(x));
		return err;
	}
	err = pw_caps_check(&x->s.l.maps.caps, &x->b.c, why, sizeof(why));
	if (err)
		pw_error(x->d, NULL,
			 "%s: shadow refused: the candidate does not fit the "
			 "loaded maps (%s); unload and load to size them for "
			 "it (counters restart); %s", name,
			 err == -E2BIG ? why : pw_maps_errmsg(), untouched(x));
	return err;
}

static int load_record(struct shadow_load *x)
{
	struct pw_shadow_state rec = {
		.st = *x->req->st,
		.profile = (char *)x->req->profile,
		.name = x->b.pol.name,
		.gen = x->gen,
		.base_nroles = x->base_nroles,
		.base_nslots = x->base_nslots,
	};
	char path[SHADOW_PATH_MAX];

	rec.st.mode = x->s.cfg.mode;
	snprintf(rec.st.xdp_mode, sizeof(rec.st.xdp_mode), "%s",
		 x->s.l.st.xdp_mode);
	rec.st.loaded_at = time(NULL);
	rec.st.reloaded_at = 0;
	rec.st.digest = x->b.c.info.policy_digest;
	rec.st.netns = (char *)x->req->netns;
	pw_shadow_state_path(x->req->netns, x->req->iface, path, sizeof(path));
	return pw_shadow_state_write(path, &rec);
}

static int load_write(struct shadow_load *x)
{
	const struct pw_maps *m = &x->s.l.maps;
	int err = 0;

	if (x->s.cfg.flags & PW_CFG_SHADOW)
		err = shadow_flag(m, false);
	if (!err)
		err = pw_maps_write_gen(m, &x->b.c, x->gen);
	if (!err)
		err = clear_shared(m, x->b.c.nroles, x->now_nroles,
				   x->b.c.nslots, x->now_nslots);
	if (!err)
		err = pw_maps_reset_shadow(m);
	if (err) {
		pw_error(x->d, NULL, "%s: writing the shadow generation: %s",
			 x->s.l.name,
			 *pw_maps_errmsg() ? pw_maps_errmsg() : strerror(-err));
		return err;
	}
	err = load_record(x);
	if (err) {
		pw_error(x->d, NULL, "%s: cannot write the shadow file: %s",
			 x->s.l.name, strerror(-err));
		return err;
	}
	err = shadow_flag(m, true);
	if (err)
		pw_error(x->d, NULL, "%s: %s", x->s.l.name, pw_maps_errmsg());
	return err;
}

/* After a failed write: no shadow, and the shared maps as before it. */
static void load_undo(struct shadow_load *x)
{
	const struct pw_maps *m = &x->s.l.maps;
	__u32 nroles = x->now_nroles, nslots = x->now_nslots;

	shadow_flag(m, false);
	if (x->b.c.nroles > nroles)
		nroles = x->b.c.nroles;
	if (x->b.c.nslots > nslots)
		nslots = x->b.c.nslots;
	clear_shared(m, x->base_nroles, nroles, x->base_nslots, nslots);
	pw_shadow_state_remove(x->req->netns, x->req->iface);
	pw_error(x->d, NULL, "%s: no shadow policy is loaded now; the running "
			     "policy is untouched", x->s.l.name);
}

int pw_shadow_load(const struct pw_shadow_req *req, struct pw_diags *d)
{
	struct shadow_load x = { .req = req, .d = d };
	int err;

	err = session_open(&x.s, req->netns, req->iface, d);
	if (err)
		goto out;
	x.gen = !(x.s.cfg.active_gen & 1);
	x.replacing = !pw_shadow_state_current(&x.s.l, &x.s.cfg, &x.old);
	err = load_compile(&x);
	if (err)
		goto out;
	err = load_write(&x);
	if (err)
		load_undo(&x);
out:
	build_free(&x.b);
	pw_shadow_state_free(&x.old);
	session_close(&x.s);
	return err;
}

/* ---------------------------------------------------------- promote -- */

/* The loaded shadow's file; an error when there is none. */
static int shadow_described(const struct shadow_session *s,
			    struct pw_shadow_state *desc, struct pw_diags *d)
{
	char hint[300];

	if (!(s->cfg.flags & PW_CFG_SHADOW)) {
		pw_error(d, NULL, "%s: no shadow policy is loaded", s->l.name);
		return -ENOENT;
	}
	if (!pw_shadow_state_current(&s->l, &s->cfg, desc))
		return 0;
	pw_error(d, NULL,
		 "%s: a shadow policy is loaded but its shadow file is missing "
		 "or unreadable; drop it ('portwarden shadow%s --iface %s "
		 "--drop') and load the candidate again", s->l.name,
		 netns_hint(s->l.st.netns, hint, sizeof(hint)), s->l.iface);
	return -EUCLEAN;
}

/* The SSH lockout guard of an enforcing host, against the candidate. */
static int promote_guard(const struct shadow_session *s,
			 const struct pw_shadow_state *desc, bool force,
			 struct pw_diags *d)
{
	struct shadow_build b = { 0 };
	struct pw_prev_buf pb;
	int err;

	err = pw_prev_read(&s->l.maps, &pb);
	if (!err) {
		err = pw_state_compile(&desc->st, &pb.prev, &b.pol, &b.inv,
				       &b.c, d);
		pw_prev_free(&pb);
	}
	if (err && force) {
		pw_warn(d, NULL, "%s: cannot check the SSH lockout guard; "
				 "going on because of --force", s->l.name);
		err = 0;
	} else if (err) {
		pw_error(d, NULL, "%s: promote refused: the host enforces and "
				  "the candidate's files do not compile now, so "
				  "the SSH lockout guard cannot judge it; use "
				  "--force", s->l.name);
	} else {
		if (b.c.info.policy_digest != desc->st.digest)
			pw_warn(d, NULL, "%s: the candidate's files changed "
					 "since it was shadowed; the lockout "
					 "guard judged them as they are now",
				s->l.name);
		err = pw_lockout_check(&b.c, s->l.name, force, d);
	}
	build_free(&b);
	return err;
}

/* The state file now describes the candidate, reloaded now. */
static int promote_record(const struct shadow_session *s, const char *netns,
			  const struct pw_shadow_state *desc, uint64_t digest,
			  struct pw_diags *d)
{
	struct pw_state st = s->l.st;
	char path[SHADOW_PATH_MAX];
	int err;

	st.policy = desc->st.policy;
	st.inventory = desc->st.inventory;
	st.roles = desc->st.roles;
	st.nroles = desc->st.nroles;
	st.tags = desc->st.tags;
	st.ntags = desc->st.ntags;
	st.digest = digest;
	st.reloaded_at = time(NULL);
	pw_state_path(netns, s->l.iface, path, sizeof(path));
	err = pw_state_write(path, &st);
	if (err)
		pw_error(d, NULL, "%s: the candidate is in force, but %s cannot "
				  "be written: %s", s->l.name, path,
			 strerror(-err));
	return err;
}

/*
 * The flag goes first: between the two writes packets see the running
 * policy alone, never the old policy judged as the shadow of the new.
 */
static int promote_switch(const struct shadow_session *s, __u32 gen,
			  struct pw_diags *d)
{
	const struct pw_maps *m = &s->l.maps;
	int err;

	err = shadow_flag(m, false);
	if (!err) {
		err = pw_maps_flip(m, gen);
		if (err)
			shadow_flag(m, true);
	}
	if (err)
		pw_error(d, NULL, "%s: promote failed: %s; the running policy "
				  "and the shadow are untouched", s->l.name,
			 pw_maps_errmsg());
	return err;
}

int pw_shadow_promote(const char *netns, const char *iface, bool force,
		      struct pw_diags *d)
{
	struct pw_shadow_state desc = { 0 };
	struct shadow_session s;
	struct pw_gen_info info;
	int err;

	err = session_open(&s, netns, iface, d);
	if (!err)
		err = shadow_described(&s, &desc, d);
	if (!err && s.cfg.mode == PW_MODE_ENFORCE)
		err = promote_guard(&s, &desc, force, d);
	if (!err) {
		err = pw_maps_read_gen_info(&s.l.maps, desc.gen, &info);
		if (err)
			pw_error(d, NULL, "%s: %s", s.l.name, pw_maps_errmsg());
	}
	if (!err)
		err = promote_switch(&s, desc.gen, d);
	if (!err)
		err = promote_record(&s, netns, &desc, info.policy_digest, d);
	if (!err)
		pw_shadow_state_remove(netns, iface);
	pw_shadow_state_free(&desc);
	session_close(&s);
	return err;
}

/* ------------------------------------------------------------- drop -- */

int pw_shadow_drop(const char *netns, const char *iface, struct pw_diags *d)
{
	struct pw_shadow_state desc;
	struct shadow_session s;
	__u32 nroles, nslots;
	bool described;
	int err;

	err = session_open(&s, netns, iface, d);
	if (err)
		goto out;
	described = !pw_shadow_state_current(&s.l, &s.cfg, &desc);
	if (!(s.cfg.flags & PW_CFG_SHADOW)) {
		pw_shadow_state_remove(netns, iface); /* a leftover */
		pw_error(d, NULL, "%s: no shadow policy is loaded", s.l.name);
		err = -ENOENT;
		goto out;
	}
	err = shadow_flag(&s.l.maps, false);
	if (!err)
		err = pw_maps_reset_shadow(&s.l.maps);
	if (!err && described)
		err = shared_counts(&s.l.maps, &nroles, &nslots);
	if (!err && described)
		err = clear_shared(&s.l.maps, desc.base_nroles, nroles,
				   desc.base_nslots, nslots);
	if (err)
		pw_error(d, NULL, "%s: drop: %s", s.l.name,
			 *pw_maps_errmsg() ? pw_maps_errmsg() : strerror(-err));
	else
		err = pw_shadow_state_remove(netns, iface);
	if (described)
		pw_shadow_state_free(&desc);
out:
	session_close(&s);
	return err;
}

/* ----------------------------------------------------------- report -- */

int pw_shadow_report_add(struct pw_shadow_report *r,
			 const struct pw_shadow_key *key,
			 const struct pw_counter *sum)
{
	struct pw_shadow_row *grown;

	grown = realloc(r->rows, (r->nrows + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	r->rows = grown;
	memset(&grown[r->nrows], 0, sizeof(*grown));
	grown[r->nrows].key = *key;
	grown[r->nrows].sum = *sum;
	r->nrows++;
	return 0;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct pw_shadow_row *a = pa, *b = pb;
	const struct pw_shadow_key *x = &a->key, *y = &b->key;

	if (a->sum.packets != b->sum.packets)
		return a->sum.packets > b->sum.packets ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir - y->dir;
	if (x->role != y->role)
		return x->role - y->role;
	if (x->shadow_role != y->shadow_role)
		return x->shadow_role - y->shadow_role;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->port != y->port)
		return x->port - y->port;
	if (x->verdict != y->verdict)
		return x->verdict - y->verdict;
	return x->shadow_verdict - y->shadow_verdict;
}

static const char *role_text(const struct pw_shadow_report *r, __u32 id)
{
	return id < r->nrole_text ? r->role_text[id] : "role#?";
}

void pw_shadow_report_finish(struct pw_shadow_report *r)
{
	uint32_t i;

	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows), row_cmp);
	memset(&r->total, 0, sizeof(r->total));
	for (i = 0; i < r->nrows; i++) {
		r->rows[i].role = role_text(r, r->rows[i].key.role);
		r->rows[i].shadow_role =
			role_text(r, r->rows[i].key.shadow_role);
		r->total.packets += r->rows[i].sum.packets;
		r->total.bytes += r->rows[i].sum.bytes;
	}
}

void pw_shadow_report_free(struct pw_shadow_report *r)
{
	free(r->rows);
	free(r->role_text);
	pw_shadow_state_free(&r->desc);
	memset(r, 0, sizeof(*r));
}

static int read_role_text(const struct pw_maps *m, struct pw_shadow_report *r)
{
	struct pw_role_name name;
	__u32 id;
	int err;

	r->role_text = calloc(m->caps.role_cap ? m->caps.role_cap : 1,
			      sizeof(*r->role_text));
	if (!r->role_text)
		return -ENOMEM;
	for (id = 0; id < m->caps.role_cap; id++) {
		err = pw_maps_read_role_name(m, id, &name);
		if (err)
			return err;
		if (name.name[0])
			snprintf(r->role_text[id], PW_ROLE_NAME_MAX, "%.*s",
				 PW_ROLE_NAME_MAX - 1, name.name);
		else
			snprintf(r->role_text[id], PW_ROLE_NAME_MAX,
				 "role#%u", id);
	}
	r->nrole_text = m->caps.role_cap;
	return 0;
}

static int add_row(const struct pw_shadow_key *key,
		   const struct pw_counter *sum, void *arg)
{
	return pw_shadow_report_add(arg, key, sum);
}

/* Flag, shadow file and the digests of both generations. */
static int read_identity(const struct pw_loaded *l,
			 struct pw_shadow_report *r)
{
	struct pw_gen_info info;
	struct pw_config cfg;
	int err;

	err = pw_maps_get_config(&l->maps, &cfg);
	if (!err)
		err = pw_maps_read_gen_info(&l->maps, cfg.active_gen & 1, &info);
	if (err)
		return err;
	r->active_gen = cfg.active_gen & 1;
	r->running_digest = info.policy_digest;
	r->loaded = cfg.flags & PW_CFG_SHADOW;
	r->described = !pw_shadow_state_current(l, &cfg, &r->desc);
	if (!r->described)
		return 0;
	err = pw_maps_read_gen_info(&l->maps, r->desc.gen, &info);
	if (!err)
		r->shadow_digest = info.policy_digest;
	return err;
}

int pw_shadow_report_read(const struct pw_loaded *l, const char *netns,
			  struct pw_shadow_report *r)
{
	__u64 stats[PW_NSTAT];
	int err;

	memset(r, 0, sizeof(*r));
	r->iface = l->iface;
	r->netns = netns;
	r->running_policy = l->st.policy;
	err = read_identity(l, r);
	if (!err)
		err = pw_maps_read_stats(&l->maps, stats);
	if (!err) {
		r->not_counted = stats[PW_STAT_SHADOW_FULL];
		err = read_role_text(&l->maps, r);
	}
	if (!err)
		err = pw_maps_foreach_shadow(&l->maps, add_row, r);
	if (err) {
		pw_shadow_report_free(r);
		return err;
	}
	pw_shadow_report_finish(r);
	return 0;
}

/* -------------------------------------------------------- rendering -- */

static const char *dir_text(unsigned dir)
{
	return dir == PW_DIR_EGRESS ? "egress" : "ingress";
}

static void digest_hex(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64, v);
}

/* Local time, as status prints it. */
static void when_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t && localtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(buf, len, "?");
}

/* "tcp/3306" and "3306" of a shadow key. */
static void key_port(const struct pw_shadow_key *k, char *proto_port,
		     size_t plen, char *port, size_t len)
{
	struct pw_counter_key ck = {
		.dir = k->dir,
		.proto = k->proto,
		.port_lo = k->port,
		.port_hi = k->port,
	};

	pw_report_proto_port(&ck, proto_port, plen);
	pw_report_port_text(&ck, port, len);
}

static void print_names(const char *key, const char *label, char **v, int n)
{
	int i;

	pw_out_open_array(key);
	pw_print_text("  %-11s %s", label, n ? "" : "none");
	for (i = 0; i < n; i++) {
		pw_print_string(PW_OUT_JSON, NULL, NULL, v[i]);
		pw_print_text("%s%s", i ? ", " : "", v[i]);
	}
	pw_print_text("\n");
	pw_out_close_array();
}

/* What the loaded shadow is: the "shadow" object, or null. */
static void print_desc(const struct pw_shadow_report *r)
{
	const struct pw_shadow_state *s = &r->desc;
	char digest[24], when[64];

	if (!r->described) {
		if (pw_out_is_json())
			pw_json_null(pw_out_json(), "shadow");
		return;
	}
	digest_hex(r->shadow_digest, digest, sizeof(digest));
	when_text(s->st.loaded_at, when, sizeof(when));
	pw_out_open_object("shadow");
	pw_print_string(PW_OUT_JSON, "name", NULL, s->name);
	pw_print_string(PW_OUT_JSON, "path", NULL, s->st.policy);
	pw_print_text("  policy      %s (%s)\n", s->name, s->st.policy);
	pw_print_string(PW_OUT_JSON, "inventory", NULL, s->st.inventory);
	pw_print_string(PW_OUT_JSON, "profile", NULL, s->profile);
	pw_print_text("  inventory   %s\n",
		      s->st.inventory ? s->st.inventory : "none");
	pw_print_text("  profile     %s\n", s->profile ? s->profile : "none");
	print_names("roles", "roles", s->st.roles, s->st.nroles);
	print_names("tags", "tags", s->st.tags, s->st.ntags);
	pw_print_string(PW_OUT_JSON, "digest", NULL, digest);
	pw_print_uint(PW_OUT_JSON, "generation", NULL, s->gen);
	pw_print_text("  digest      %s (generation %u)\n", digest, s->gen);
	pw_print_bool(PW_OUT_JSON, "stale", NULL,
		      s->st.digest != r->shadow_digest);
	if (s->st.digest != r->shadow_digest)
		pw_print_text("  (the generation does not hold what was "
			      "shadowed: %016" PRIx64 ")\n", s->st.digest);
	pw_print_string(PW_OUT_ANY, "since", "  since       %s\n", when);
	pw_print_int(PW_OUT_JSON, "since_unix", NULL, s->st.loaded_at);
	pw_out_close_object();
}

static void print_running(const struct pw_shadow_report *r)
{
	char digest[24];

	digest_hex(r->running_digest, digest, sizeof(digest));
	pw_out_open_object("running");
	pw_print_string(PW_OUT_JSON, "path", NULL, r->running_policy);
	pw_print_string(PW_OUT_JSON, "digest", NULL, digest);
	pw_print_uint(PW_OUT_JSON, "generation", NULL, r->active_gen);
	pw_print_text("  running     %s, digest %s (generation %u)\n",
		      r->running_policy ? r->running_policy : "?", digest,
		      r->active_gen);
	pw_out_close_object();
}

static void print_identity(const struct pw_shadow_report *r)
{
	pw_print_string(PW_OUT_JSON, "iface", NULL, r->iface);
	pw_print_string(PW_OUT_JSON, "netns", NULL, r->netns);
	pw_print_bool(PW_OUT_JSON, "loaded", NULL, r->loaded);
	pw_print_text("%s", r->iface);
	if (r->netns)
		pw_print_text(" (netns %s)", r->netns);
	if (!r->loaded)
		pw_print_text(": no shadow policy is loaded\n");
	else if (!r->described)
		pw_print_text(": a shadow policy is loaded, but its shadow "
			      "file is missing: drop it\n");
	else
		pw_print_text(": shadow policy loaded\n");
	print_desc(r);
	print_running(r);
}

static void print_totals(const struct pw_shadow_report *r)
{
	pw_out_open_object("totals");
	pw_print_uint(PW_OUT_JSON, "packets", NULL, r->total.packets);
	pw_print_uint(PW_OUT_JSON, "bytes", NULL, r->total.bytes);
	pw_print_uint(PW_OUT_JSON, "keys", NULL, r->nrows);
	pw_print_uint(PW_OUT_JSON, "not_counted", NULL, r->not_counted);
	pw_out_close_object();
	pw_print_text("  differences %" PRIu64 " packets, %" PRIu64
		      " bytes under %u keys\n",
		      (uint64_t)r->total.packets, (uint64_t)r->total.bytes,
		      r->nrows);
	if (r->not_counted)
		pw_print_text("  (%" PRIu64 " more packets differed, not "
			      "counted: pw_shadow was full)\n",
			      r->not_counted);
}

void pw_shadow_print_summary(const struct pw_shadow_report *r)
{
	pw_out_open_object(NULL);
	print_identity(r);
	print_totals(r);
	pw_out_close_object();
}

struct col_widths {
	int role, port, verdict, packets, bytes;
};

static int digits(uint64_t v)
{
	int n = 1;

	for (; v >= 10; v /= 10)
		n++;
	return n;
}

static int wider(int w, int n)
{
	return n > w ? n : w;
}

static struct col_widths measure(const struct pw_shadow_report *r)
{
	struct col_widths w = { 4, 10, 7, 7, 5 };
	char pp[64], port[16];
	uint32_t i;

	for (i = 0; i < r->nrows; i++) {
		const struct pw_shadow_row *row = &r->rows[i];

		key_port(&row->key, pp, sizeof(pp), port, sizeof(port));
		w.role = wider(w.role, strlen(row->role) + 4 +
					       strlen(row->shadow_role));
		w.port = wider(w.port, strlen(pp));
		w.verdict = wider(
			w.verdict,
			strlen(pw_verdict_name(row->key.verdict)) + 4 +
				strlen(pw_verdict_name(row->key.shadow_verdict)));
		w.packets = wider(w.packets, digits(row->sum.packets));
		w.bytes = wider(w.bytes, digits(row->sum.bytes));
	}
	return w;
}

static void print_row_json(const struct pw_shadow_row *row)
{
	char pp[64], port[16], proto[16];

	key_port(&row->key, pp, sizeof(pp), port, sizeof(port));
	pw_report_proto_name(row->key.proto, proto, sizeof(proto));
	pw_out_open_object(NULL);
	pw_print_string(PW_OUT_JSON, "direction", NULL, dir_text(row->key.dir));
	pw_print_string(PW_OUT_JSON, "role", NULL, row->role);
	pw_print_uint(PW_OUT_JSON, "role_id", NULL, row->key.role);
	pw_print_string(PW_OUT_JSON, "shadow_role", NULL, row->shadow_role);
	pw_print_uint(PW_OUT_JSON, "shadow_role_id", NULL,
		      row->key.shadow_role);
	pw_print_string(PW_OUT_JSON, "proto", NULL, proto);
	pw_print_uint(PW_OUT_JSON, "ipproto", NULL, row->key.proto);
	pw_print_string(PW_OUT_JSON, "port", NULL, port);
	pw_print_string(PW_OUT_JSON, "verdict", NULL,
			pw_verdict_name(row->key.verdict));
	pw_print_string(PW_OUT_JSON, "shadow_verdict", NULL,
			pw_verdict_name(row->key.shadow_verdict));
	pw_print_uint(PW_OUT_JSON, "packets", NULL, row->sum.packets);
	pw_print_uint(PW_OUT_JSON, "bytes", NULL, row->sum.bytes);
	pw_out_close_object();
}

static void print_row_text(const struct pw_shadow_row *row,
			   const struct col_widths *w)
{
	char pp[64], port[16], roles[2 * PW_ROLE_NAME_MAX + 8], verdicts[32];

	key_port(&row->key, pp, sizeof(pp), port, sizeof(port));
	snprintf(roles, sizeof(roles), "%s -> %s", row->role,
		 row->shadow_role);
	snprintf(verdicts, sizeof(verdicts), "%s -> %s",
		 pw_verdict_name(row->key.verdict),
		 pw_verdict_name(row->key.shadow_verdict));
	pw_print_text("%-7s  %-*s  %-*s  %-*s  %*" PRIu64 "  %*" PRIu64 "\n",
		      dir_text(row->key.dir), w->role, roles, w->port, pp,
		      w->verdict, verdicts, w->packets,
		      (uint64_t)row->sum.packets, w->bytes,
		      (uint64_t)row->sum.bytes);
}

void pw_shadow_print_rows(const struct pw_shadow_report *r)
{
	struct col_widths w = measure(r);
	uint32_t i;

	pw_out_open_object(NULL);
	print_identity(r);
	if (!r->loaded && r->nrows)
		pw_print_text("  (the counts of the last shadow, promoted)\n");
	pw_print_text("\n");
	if (r->nrows)
		pw_print_text("%-7s  %-*s  %-*s  %-*s  %*s  %*s\n", "DIR",
			      w.role, "ROLE -> SHADOW", w.port, "PROTO/PORT",
			      w.verdict, "VERDICT -> SHADOW", w.packets,
			      "PACKETS", w.bytes, "BYTES");
	else
		pw_print_text("No packet was judged differently.\n");
	pw_out_open_array("rows");
	for (i = 0; i < r->nrows; i++) {
		if (pw_out_is_json())
			print_row_json(&r->rows[i]);
		else
			print_row_text(&r->rows[i], &w);
	}
	pw_out_close_array();
	pw_print_text("\n");
	print_totals(r);
	pw_out_close_object();
}

/* ---------------------------------------------------------- commands -- */

static int report_run(const char *netns, const char *iface,
		      void (*print)(const struct pw_shadow_report *r),
		      struct pw_diags *d)
{
	struct pw_shadow_report r;
	struct pw_loaded l;
	char err[1024];
	int rc;

	rc = pw_loaded_open(netns, iface, &l, err, sizeof(err));
	if (rc) {
		pw_error(d, NULL, "%s", err);
		return rc;
	}
	rc = pw_shadow_report_read(&l, netns, &r);
	if (rc) {
		pw_error(d, NULL, "%s: reading the shadow counters: %s", l.name,
			 *pw_maps_errmsg() ? pw_maps_errmsg() : strerror(-rc));
	} else {
		print(&r);
		pw_shadow_report_free(&r);
	}
	pw_loaded_close(&l);
	return rc;
}

int pw_shadow_stats(const char *netns, const char *iface, struct pw_diags *d)
{
	return report_run(netns, iface, pw_shadow_print_rows, d);
}

int pw_shadow_show(const char *netns, const char *iface, struct pw_diags *d)
{
	return report_run(netns, iface, pw_shadow_print_summary, d);
}
