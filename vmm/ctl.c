/* kvmlab ctl: one request to the control socket, the reply printed. */
#include "vmm/ctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api.h"
#include "vmm/optparse.h"

const char ctl_usage[] =
    "usage: kvmlab ctl PATH COMMAND [KEY=VALUE ...] [--raw]\n"
    "\n"
    "Send {\"cmd\":COMMAND, KEY:VALUE, ...} to the control socket PATH of a\n"
    "running kvmlab (--api-socket PATH) and print the reply.  A VALUE that is\n"
    "a JSON number is sent as a number, true and false as booleans, anything\n"
    "else as a string.\n"
    "\n"
    "  --raw    print the reply line as received instead of pretty-printed\n"
    "\n"
    "Exit status: 0 if the reply has \"ok\":true, 1 if \"ok\":false, 2 for a\n"
    "usage error or when the socket cannot be reached or gives no valid reply.\n";

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* VALUE as JSON: a number when the whole text is one, else bool or string. */
static void put_value(struct json_writer *w, const char *v)
{
	size_t n = strlen(v);
	struct json_doc doc;

	if (!strcmp(v, "true") || !strcmp(v, "false")) {
		jw_bool(w, v[0] == 't');
		return;
	}
	/* no surrounding blanks: " 1" stays a string */
	if (n && (v[0] == '-' || is_digit(v[0])) && is_digit(v[n - 1]) &&
	    json_parse(&doc, v, n, NULL, NULL, 0, NULL) == 0) {
		const struct json_value *r = doc.root;
		bool done = true;

		if (r->type == JSON_INT)
			jw_int(w, r->i);
		else if (r->type == JSON_UINT)
			jw_uint(w, r->u);
		else if (r->type == JSON_DOUBLE)
			jw_double(w, r->d);
		else
			done = false;
		json_doc_free(&doc);
		if (done)
			return;
	}
	jw_string(w, v);
}

int ctl_build_request(const char *command, char *const *args, int nargs, struct json_writer *w,
		      char *err, size_t errlen)
{
	if (!command || !command[0])
		return opt_fail(err, errlen, "no command");
	for (int i = 0; i < nargs; i++) {
		const char *eq = strchr(args[i], '=');
		size_t klen = eq ? (size_t)(eq - args[i]) : 0;

		if (!eq)
			return opt_fail(err, errlen, "'%s': expected KEY=VALUE", args[i]);
		if (!klen)
			return opt_fail(err, errlen, "'%s': empty KEY", args[i]);
		if (klen == 3 && !strncmp(args[i], "cmd", 3))
			return opt_fail(err, errlen, "'%s': the command is set by COMMAND",
					args[i]);
		for (int j = 0; j < i; j++)
			if (!strncmp(args[j], args[i], klen) && args[j][klen] == '=')
				return opt_fail(err, errlen, "'%.*s' given twice", (int)klen,
						args[i]);
	}
	jw_begin_object(w);
	jw_kv_string(w, "cmd", command);
	for (int i = 0; i < nargs; i++) {
		const char *eq = strchr(args[i], '=');

		jw_key_len(w, args[i], (size_t)(eq - args[i]));
		put_value(w, eq + 1);
	}
	jw_end_object(w);
	if (jw_error(w))
		return opt_fail(err, errlen, "cannot build the request: %s",
				strerror(-jw_error(w)));
	return 0;
}

static void request_error(FILE *errout, const char *path, int r)
{
	switch (r) {
	case -ETIMEDOUT:
		fprintf(errout, "kvmlab ctl: %s: no reply in time\n", path);
		break;
	case -EMSGSIZE:
		fprintf(errout, "kvmlab ctl: %s: reply too large\n", path);
		break;
	case -ECONNRESET:
		fprintf(errout, "kvmlab ctl: %s: connection closed without a reply\n", path);
		break;
	default:
		fprintf(errout, "kvmlab ctl: cannot reach %s: %s\n", path, strerror(-r));
		break;
	}
}

/* Print the reply; the status from its "ok" member. */
static int show_reply(const char *path, const char *reply, size_t len, bool raw, FILE *out,
		      FILE *errout)
{
	struct json_limits lim = {
	    .max_len = len, .max_depth = JSON_HARD_MAX_DEPTH, .max_nodes = 1u << 24};
	struct json_doc doc;
	struct json_error jerr;
	struct strbuf pretty;
	bool ok = false;
	int r;

	r = json_parse(&doc, reply, len, &lim, NULL, 0, &jerr);
	if (!r && (r = json_get_bool(doc.root, "ok", &ok, NULL, 0)))
		snprintf(jerr.msg, sizeof(jerr.msg), "no \"ok\" member");
	json_doc_free(&doc);
	if (r) {
		fprintf(out, "%s\n", reply);
		fprintf(errout, "kvmlab ctl: %s: malformed reply: %s\n", path, jerr.msg);
		return CTL_USAGE;
	}
	if (raw) {
		fprintf(out, "%s\n", reply);
	} else {
		sb_init(&pretty, 0);
		if (json_pretty(reply, len, 2, &pretty) == 0)
			fprintf(out, "%s\n", sb_str(&pretty));
		else
			fprintf(out, "%s\n", reply);
		sb_free(&pretty);
	}
	return ok ? CTL_OK : CTL_FAILED;
}

int ctl_run(int argc, char **argv, FILE *out, FILE *errout)
{
	char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*pos));
	size_t cap = API_DEFAULT_MAX_OUTPUT + 1;
	struct json_writer w;
	char err[256], *reply = NULL;
	const char *req;
	bool raw = false;
	int npos = 0, status = CTL_USAGE;
	size_t len;
	ssize_t r;

	jw_init(&w, 0);
	if (!pos) {
		fprintf(errout, "kvmlab ctl: out of memory\n");
		goto out;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--raw")) {
			raw = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(ctl_usage, out);
			status = CTL_OK;
			goto out;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(errout, "kvmlab ctl: unknown option '%s'\n%s", argv[i], ctl_usage);
			goto out;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos < 2) {
		fprintf(errout, "kvmlab ctl: expected PATH and COMMAND\n%s", ctl_usage);
		goto out;
	}
	if (ctl_build_request(pos[1], pos + 2, npos - 2, &w, err, sizeof(err)) ||
	    jw_finish(&w, &req, &len)) {
		fprintf(errout, "kvmlab ctl: %s\n", err);
		goto out;
	}
	reply = malloc(cap);
	if (!reply) {
		fprintf(errout, "kvmlab ctl: out of memory\n");
		goto out;
	}
	r = api_client_request(pos[0], req, reply, cap, 0);
	if (r < 0) {
		request_error(errout, pos[0], (int)r);
		goto out;
	}
	status = show_reply(pos[0], reply, (size_t)r, raw, out, errout);
out:
	free(reply);
	free(pos);
	jw_free(&w);
	return status;
}

int ctl_main(int argc, char **argv)
{
	return ctl_run(argc, argv, stdout, stderr);
}
