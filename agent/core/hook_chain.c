#include "hook_chain.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "hooks.h"

/*
 * What libbpf said about the program it could not load: libbpf reports it only through its print
 * callback, which takes no context, so the load in progress points this thread at its record.
 */
struct load_words {
	char prog[64];
	char reason[64];	/* libbpf's: the kernel's errno as text */
	char verifier[120];	/* the verifier's last words, "" if it left no log */
};

static __thread struct load_words *current_words;

const struct hook_flavour *hook_chain_current(const struct hook_chain *c)
{
	return c->at < c->n ? &c->flavours[c->at] : NULL;
}

void hook_chain_refuse(struct hook_chain *c, const char *reason)
{
	size_t used = strlen(c->why);

	if (used + 2 < sizeof(c->why))
		snprintf(c->why + used, sizeof(c->why) - used, "%s%s", used ? "; " : "", reason);
	if (c->at < c->n)
		c->at++;
}

void hook_chain_refuse_attach(struct hook_chain *c, const struct bpf_program *prog, int err)
{
	const struct hook_flavour *f = hook_chain_current(c);
	char why[HOOK_CHAIN_WHY_MAX];

	snprintf(why, sizeof(why), "%.32s refused: program %.32s (%.32s): attach: %.40s",
		 f ? f->name : "?", bpf_program__name(prog), bpf_program__section_name(prog),
		 strerror(err < 0 ? -err : err));
	hook_chain_refuse(c, why);
}

static void known_lock(struct hook_chain_known *k)
{
	if (k->lock)
		pthread_mutex_lock(k->lock);
}

static void known_unlock(struct hook_chain_known *k)
{
	if (k->lock)
		pthread_mutex_unlock(k->lock);
}

void hook_chain_refuse_known(struct hook_chain *chains, int n, struct hook_chain_known *k)
{
	known_lock(k);
	if (!k->probed) {
		k->have_kprobes = hooks_have_kprobes();
		k->probed = true;
	}
	for (int i = 0; i < n; i++) {
		struct hook_chain *c = &chains[i];

		if (c->load_err == EPERM && c->at > 0 && !strncmp(c->flavours[c->at - 1].name,
								  "fentry", 6))
			k->fentry_eperm = true;
	}
	for (int i = 0; i < n; i++) {
		struct hook_chain *c = &chains[i];
		const struct hook_flavour *f;
		char why[HOOK_CHAIN_WHY_MAX];

		while ((f = hook_chain_current(c))) {
			const char *known = NULL;

			if (!k->have_kprobes && !strncmp(f->name, "kprobe", 6))
				known = "no kprobes in this kernel";
			else if (k->fentry_eperm && !strncmp(f->name, "fentry", 6))
				known = "the kernel refuses fentry programs (EPERM)";
			if (!known)
				break;
			snprintf(why, sizeof(why), "%.32s refused: %s", f->name, known);
			hook_chain_refuse(c, why);
		}
	}
	known_unlock(k);
}

static int chain_of(struct hook_chain *chains, int n, const char *name);

void hook_chain_known_release(struct hook_chain_known *k)
{
	if (!k->vmlinux)
		return;
	btf__free(k->vmlinux);
	k->vmlinux = NULL;
	malloc_trim(0);	/* megabytes glibc would otherwise keep (see hook_chain_load) */
}

/* A program that only returns 0: what the kernel is offered to learn whether it takes the kind. */
static int probe_load(enum bpf_attach_type type, int btf_id)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = type, .attach_btf_id = btf_id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "gw_probe", "GPL", insns, 2, &o);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

/* Under the lock: parsed once whichever thread asks first; read-only once parsed. */
static const struct btf *vmlinux_locked(struct hook_chain_known *k)
{
	if (!k->vmlinux && !k->vmlinux_failed) {
		k->vmlinux = btf__load_vmlinux_btf();
		k->vmlinux_failed = !k->vmlinux;
	}
	return k->vmlinux;
}

const struct btf *hook_chain_vmlinux(struct hook_chain_known *k)
{
	const struct btf *btf;

	known_lock(k);
	btf = vmlinux_locked(k);
	known_unlock(k);
	return btf;
}

/*
 * The attach point of a tracing program in the kernel's BTF: fentry/NAME and friends are the
 * function NAME, tp_btf/NAME the typedef btf_trace_NAME, iter/NAME the function bpf_iter_NAME.
 * 0 when it is not in vmlinux (a module's function): libbpf looks there at load.
 */
static int probe_target(struct hook_chain_known *k, const struct bpf_program *prog,
			enum bpf_attach_type type)
{
	const char *sec = bpf_program__section_name(prog), *name = strchr(sec, '/');
	char full[160];
	int kind = BTF_KIND_FUNC, id;

	if (!name || !name[1])
		return 0;
	name++;
	if (type == BPF_TRACE_RAW_TP) {
		snprintf(full, sizeof(full), "btf_trace_%s", name);
		kind = BTF_KIND_TYPEDEF;
	} else if (type == BPF_TRACE_ITER) {
		snprintf(full, sizeof(full), "bpf_iter_%s", name);
	} else {
		snprintf(full, sizeof(full), "%s", name);
	}
	id = vmlinux_locked(k) ? btf__find_by_name_kind(k->vmlinux, full, kind) : -1;
	return id > 0 ? id : 0;
}

/*
 * Offers the kernel a trivial program of prog's kind; 0 when it takes it (or the probe cannot
 * tell: a sleepable program, an attach point only a module has), else the errno it refused with.
 * A fentry-style program is first offered with no attach point: a kernel that allows the type
 * answers EINVAL to that, one whose policy refuses the type answers EPERM before looking.
 */
static int probe_program(struct hook_chain_known *k, const struct bpf_program *prog)
{
	enum bpf_attach_type type = bpf_program__expected_attach_type(prog);
	int id;

	if (bpf_program__type(prog) != BPF_PROG_TYPE_TRACING ||
	    (bpf_program__flags(prog) & BPF_F_SLEEPABLE))
		return 0;
	if (type == BPF_TRACE_FENTRY || type == BPF_TRACE_FEXIT || type == BPF_MODIFY_RETURN) {
		if (k->fentry_eperm)
			return EPERM;
		if (!k->fentry_probed) {
			k->fentry_probed = true;
			k->fentry_eperm = probe_load(BPF_TRACE_FENTRY, 0) == EPERM;
			if (k->fentry_eperm)
				return EPERM;
		}
	}
	id = probe_target(k, prog, type);
	return id ? probe_load(type, id) : 0;
}

/* Probes every program the object will load; refuses the flavour of the first one refused. */
static bool probe_refuses(struct hook_chain *chains, int n, struct hook_chain_known *k,
			  struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		char why[HOOK_CHAIN_WHY_MAX];
		int c, err;

		if (!bpf_program__autoload(prog))
			continue;
		known_lock(k);
		err = probe_program(k, prog);
		known_unlock(k);
		if (!err)
			continue;
		c = chain_of(chains, n, bpf_program__name(prog));
		if (c < 0)
			continue;
		snprintf(why, sizeof(why),
			 "%.32s refused: program %.32s (%.32s): the kernel refuses this kind of "
			 "program: %.40s",
			 hook_chain_current(&chains[c])->name, bpf_program__name(prog),
			 bpf_program__section_name(prog), strerror(err));
		chains[c].load_err = err;
		hook_chain_refuse(&chains[c], why);
		return true;
	}
	return false;
}

bool hook_chain_wants(const struct hook_chain *c, const char *name)
{
	const struct hook_flavour *f = hook_chain_current(c);

	for (const char *const *p = f ? f->progs : NULL; p && *p; p++)
		if (!strcmp(*p, name))
			return true;
	return false;
}

/* The verifier's own words for a refusal: its last line before the statistics it ends with (the
 * instruction it stopped at says why). */
static void last_log_line(const char *log, char *out, size_t out_size)
{
	const char *end = log + strlen(log);

	while (end > log) {
		const char *line_end, *line;

		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		line_end = end;
		while (end > log && end[-1] != '\n')
			end--;
		line = end;
		if (line_end > line && strncmp(line, "processed ", 10) &&
		    strncmp(line, "verification time", 17) && strncmp(line, "stack depth", 11)) {
			snprintf(out, out_size, "%.*s", (int)(line_end - line), line);
			return;
		}
	}
}

/* `text` is "libbpf: prog 'NAME': REST": NAME into words->prog, and REST returned. */
static const char *prog_message(const char *text, struct load_words *w)
{
	const char *name = strstr(text, "prog '"), *end;

	if (!name)
		return NULL;
	name += 6;
	end = strstr(name, "': ");
	if (!end)
		return NULL;
	snprintf(w->prog, sizeof(w->prog), "%.*s", (int)(end - name), name);
	return end + 3;
}

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	struct load_words *w = current_words;
	const char *rest;
	char *text;

	if (!w || level != LIBBPF_WARN || !strstr(fmt, "prog '"))
		return 0;
	if (vasprintf(&text, fmt, ap) < 0)
		return 0;
	rest = prog_message(text, w);
	if (rest && !strncmp(rest, "BPF program load failed: ", 25)) {
		snprintf(w->reason, sizeof(w->reason), "%.*s", (int)strcspn(rest + 25, "\n"),
			 rest + 25);
	} else if (rest && !strncmp(rest, "-- BEGIN PROG LOAD LOG --\n", 26)) {
		char *log = (char *)rest + 26, *log_end = strstr(log, "-- END PROG LOAD LOG --");

		if (log_end)
			*log_end = '\0';
		last_log_line(log, w->verifier, sizeof(w->verifier));
	} else if (rest && !w->reason[0] && !strncmp(rest, "failed to find kernel BTF", 25)) {
		snprintf(w->reason, sizeof(w->reason), "no such attach point in the kernel's BTF");
	}
	free(text);
	return 0;
}

/* The chain whose current flavour loads program `name`, or -1. */
static int chain_of(struct hook_chain *chains, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (hook_chain_wants(&chains[i], name))
			return i;
	return -1;
}

/* libbpf has one printer for the process: the first load in progress installs the capture (whose
 * words are per thread), the last one puts the agent's printer back. */
static void capture_begin(struct hook_chain_known *k)
{
	known_lock(k);
	if (!k->capturing++)
		k->print_before = libbpf_set_print(capture_print);
	known_unlock(k);
}

static void capture_end(struct hook_chain_known *k)
{
	known_lock(k);
	if (!--k->capturing)
		libbpf_set_print(k->print_before);
	known_unlock(k);
}

int hook_chain_load(struct hook_chain *chains, int n, struct hook_chain_known *k,
		    hook_chain_open_fn open, void *ctx, char *msg, size_t msg_size)
{
	struct load_words words;
	int err = 0;

	capture_begin(k);
	/* each round refuses one flavour, so this ends */
	for (;;) {
		struct bpf_object_skeleton *skel;
		struct bpf_object *obj;
		struct bpf_program *prog;
		char why[HOOK_CHAIN_WHY_MAX];
		int c;

		hook_chain_refuse_known(chains, n, k);
		skel = open(ctx, chains, n);
		obj = skel ? *skel->obj : NULL;
		if (!obj) {
			err = -errno;
			snprintf(msg, msg_size, "opening the BPF object: %s", strerror(errno));
			break;
		}
		if (probe_refuses(chains, n, k, obj))
			continue;
		memset(&words, 0, sizeof(words));
		current_words = &words;
		err = bpf_object__load_skeleton(skel);
		current_words = NULL;
		if (!err)
			break;
		c = words.prog[0] ? chain_of(chains, n, words.prog) : -1;
		if (c < 0) {
			snprintf(msg, msg_size, "loading %s: %s%s%s", bpf_object__name(obj),
				 words.prog[0] ? words.prog : "the object",
				 words.prog[0] ? ": " : " (maps): ", strerror(-err));
			break;
		}
		prog = bpf_object__find_program_by_name(obj, words.prog);
		snprintf(why, sizeof(why),
			 "%.32s refused: program %.32s (%.32s): load: %.40s (verifier: %.72s)",
			 hook_chain_current(&chains[c])->name, words.prog,
			 prog ? bpf_program__section_name(prog) : "?",
			 words.reason[0] ? words.reason : strerror(-err),
			 words.verifier[0] ? words.verifier : "no log");
		chains[c].load_err = -err;
		hook_chain_refuse(&chains[c], why);
	}
	capture_end(k);
	/*
	 * Each load parsed the kernel's BTF, megabytes of heap that glibc keeps once freed (its mmap
	 * threshold grows past such buffers): hand them back, or they stay in the agent's RSS.
	 */
	malloc_trim(0);
	return err;
}
