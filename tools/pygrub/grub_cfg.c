// SPDX-License-Identifier: MIT
/*
 * grub.cfg and menu.lst: just enough of GRUB's script syntax to find the
 * menu. Words are split as GRUB's lexer does (blanks, 'single' and
 * "double" quotes, backslash escapes, '#' comments, newline or ';' ending
 * a command); `menuentry TITLE ... {` and `submenu TITLE ... {` open
 * entries, `function NAME {` bodies are skipped, `}` closes; inside an
 * entry `linux`/`linux16`/`linuxefi`/`kernel` and `initrd*` matter;
 * `set default=...` (the last one without a variable in it) names the
 * default by position ("2", "1>0"), id or title.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grub_cfg.h"

#define MAX_WORDS	64
#define MAX_WORD	1024
#define MAX_DEPTH	8
#define MAX_TEXT	(1u << 20)

struct lexer {
	const char *p, *end;
	unsigned int line;
};

struct cmd {
	char *w[MAX_WORDS];
	unsigned int n;
	unsigned int line;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void cmd_clear(struct cmd *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		free(c->w[i]);
	c->n = 0;
}

/*
 * The next command's words. 1 with words (possibly none: an empty
 * line), 0 at the end, -EINVAL on an unterminated quote or a command
 * too long.
 */
static int next_cmd(struct lexer *lx, struct cmd *c)
{
	char word[MAX_WORD];
	size_t wl = 0;
	bool in_word = false;

	c->n = 0;
	if (lx->p >= lx->end)
		return 0;
	c->line = lx->line;
	while (lx->p < lx->end) {
		char ch = *lx->p;

		if (!in_word && ch == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (ch == '\n' || ch == ';' || ch == ' ' || ch == '\t' ||
		    ch == '\r') {
			if (in_word) {
				if (c->n >= MAX_WORDS)
					return -EINVAL;
				word[wl] = 0;
				c->w[c->n] = strdup(word);
				if (!c->w[c->n])
					return -ENOMEM;
				c->n++;
				in_word = false;
				wl = 0;
			}
			lx->p++;
			if (ch == '\n')
				lx->line++;
			if (ch == '\n' || ch == ';')
				return 1;
			continue;
		}
		in_word = true;
		if (ch == '\'' || ch == '"') {
			char q = ch;

			lx->p++;
			while (lx->p < lx->end && *lx->p != q) {
				ch = *lx->p++;
				if (ch == '\n')
					lx->line++;
				if (q == '"' && ch == '\\' && lx->p < lx->end &&
				    strchr("\"\\$\n", *lx->p))
					ch = *lx->p++;
				if (wl + 1 >= sizeof(word))
					return -EINVAL;
				word[wl++] = ch;
			}
			if (lx->p >= lx->end)
				return -EINVAL;	/* unterminated */
			lx->p++;
			continue;
		}
		if (ch == '\\' && lx->p + 1 < lx->end) {
			lx->p++;
			ch = *lx->p;
			if (ch == '\n') {	/* a continued line */
				lx->p++;
				lx->line++;
				continue;
			}
		}
		if (wl + 1 >= sizeof(word))
			return -EINVAL;
		word[wl++] = ch;
		lx->p++;
	}
	if (in_word) {
		if (c->n >= MAX_WORDS)
			return -EINVAL;
		word[wl] = 0;
		c->w[c->n] = strdup(word);
		if (!c->w[c->n])
			return -ENOMEM;
		c->n++;
	}
	return 1;
}

/* A path in GRUB's notation, "(hd0,msdos1)/boot/x" -> "/boot/x". */
static void path_copy(char *dst, size_t size, const char *src)
{
	if (src[0] == '(') {
		const char *close = strchr(src, ')');

		if (close)
			src = close + 1;
	}
	snprintf(dst, size, "%s%s", src[0] == '/' ? "" : "/", src);
}

struct parse {
	struct grub_menu *m;
	char def[128];		/* the default as written, "" for 0 */
	/* open blocks: 'm' menuentry, 's' submenu, 'f' function */
	char stack[MAX_DEPTH];
	unsigned int depth;
	unsigned int top_count;	/* items at the top level */
	unsigned int sub_count;	/* items inside the open submenu */
	unsigned int sub_pos;	/* its position at the top level */
	struct grub_entry *cur;	/* the open menuentry */
};

static bool in_function(const struct parse *ps)
{
	return memchr(ps->stack, 'f', ps->depth) != NULL;
}

static int open_block(struct parse *ps, char kind)
{
	if (ps->depth >= MAX_DEPTH)
		return -EINVAL;
	ps->stack[ps->depth++] = kind;
	return 0;
}

static int entry_open(struct parse *ps, const struct cmd *c, bool submenu)
{
	struct grub_menu *m = ps->m;
	bool in_sub = memchr(ps->stack, 's', ps->depth) != NULL;
	struct grub_entry *e;

	if (ps->cur || c->n < 3)
		return -EINVAL;	/* nested entries, or no title */
	if (submenu) {
		if (in_sub)
			return -EINVAL;	/* one level is all pygrub knows */
		ps->sub_pos = ps->top_count++;
		ps->sub_count = 0;
		return open_block(ps, 's');
	}
	if (m->n >= GRUB_MAX_ENTRIES)
		return open_block(ps, 'm');	/* counted, not kept */
	e = &m->e[m->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->title, sizeof(e->title), "%s", c->w[1]);
	for (unsigned int i = 2; i + 1 < c->n; i++) {
		const char *w = c->w[i];

		if ((!strcmp(w, "--id") || !strcmp(w, "$menuentry_id_option") ||
		     !strcmp(w, "${menuentry_id_option}")) && i + 2 < c->n)
			snprintf(e->id, sizeof(e->id), "%s", c->w[++i]);
		else if (!strncmp(w, "--id=", 5))
			snprintf(e->id, sizeof(e->id), "%s", w + 5);
	}
	if (in_sub)
		snprintf(e->pos, sizeof(e->pos), "%u>%u", ps->sub_pos,
			 ps->sub_count++);
	else
		snprintf(e->pos, sizeof(e->pos), "%u", ps->top_count++);
	ps->cur = e;
	return open_block(ps, 'm');
}

static int block_close(struct parse *ps)
{
	char kind;

	if (!ps->depth)
		return -EINVAL;
	kind = ps->stack[--ps->depth];
	if (kind == 'm' && ps->cur) {
		/* an entry without a kernel is not bootable: dropped */
		if (ps->cur->kernel[0])
			ps->m->n++;
		ps->cur = NULL;
	}
	return 0;
}

static void entry_cmd(struct parse *ps, const struct cmd *c)
{
	struct grub_entry *e = ps->cur;
	const char *w = c->w[0];
	size_t used = 0;

	if (!strcmp(w, "linux") || !strcmp(w, "linux16") ||
	    !strcmp(w, "linuxefi") || !strcmp(w, "kernel")) {
		if (c->n < 2)
			return;
		path_copy(e->kernel, sizeof(e->kernel), c->w[1]);
		e->args[0] = 0;
		for (unsigned int i = 2; i < c->n; i++) {
			int n = snprintf(e->args + used, sizeof(e->args) - used,
					 "%s%s", used ? " " : "", c->w[i]);

			if (n < 0 || (size_t)n >= sizeof(e->args) - used)
				break;
			used += (size_t)n;
		}
	} else if (!strcmp(w, "initrd") || !strcmp(w, "initrd16") ||
		   !strcmp(w, "initrdefi")) {
		e->nr_initrds = 0;
		for (unsigned int i = 1; i < c->n && i <= GRUB_MAX_INITRDS; i++)
			path_copy(e->initrd[e->nr_initrds++], sizeof(e->initrd[0]),
				  c->w[i]);
	}
}

/* "set default=X" or "default=X": remembered unless X has a variable. */
static void maybe_default(struct parse *ps, const struct cmd *c)
{
	const char *v = NULL;

	if (c->n == 2 && !strcmp(c->w[0], "set") &&
	    !strncmp(c->w[1], "default=", 8))
		v = c->w[1] + 8;
	else if (c->n == 1 && !strncmp(c->w[0], "default=", 8))
		v = c->w[0] + 8;
	if (v && !strchr(v, '$'))
		snprintf(ps->def, sizeof(ps->def), "%s", v);
}

/* The default entry from what "set default" said: position, id or title. */
static void resolve_default(struct parse *ps)
{
	struct grub_menu *m = ps->m;
	const char *d = ps->def[0] ? ps->def : "0";

	m->def = 0;
	for (unsigned int i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].pos, d) ||
		    (m->e[i].id[0] && !strcmp(m->e[i].id, d)) ||
		    !strcmp(m->e[i].title, d)) {
			m->def = (int)i;
			return;
		}
	/* a submenu's position alone: its first entry */
	for (unsigned int i = 0; i < m->n; i++) {
		size_t l = strlen(d);

		if (!strncmp(m->e[i].pos, d, l) && m->e[i].pos[l] == '>') {
			m->def = (int)i;
			return;
		}
	}
}

int grub_cfg_parse(const char *text, size_t len, struct grub_menu *m,
		   char *err, size_t errlen)
{
	struct lexer lx = { .p = text, .end = text + len, .line = 1 };
	struct parse ps = { .m = m };
	struct cmd c = { 0 };
	int r, ret = 0;

	memset(m, 0, sizeof(*m));
	if (len > MAX_TEXT) {
		seterr(err, errlen, "grub.cfg larger than %u bytes", MAX_TEXT);
		return -EINVAL;
	}
	while ((r = next_cmd(&lx, &c)) > 0) {
		const char *w = c.n ? c.w[0] : "";
		bool opens = c.n && !strcmp(c.w[c.n - 1], "{");

		if (!c.n) {
			continue;
		} else if (!strcmp(w, "}")) {
			ret = block_close(&ps);
		} else if (in_function(&ps)) {
			/* only its braces matter */
			if (opens)
				ret = open_block(&ps, 'f');
		} else if (!strcmp(w, "function") && opens) {
			ret = open_block(&ps, 'f');
		} else if (!strcmp(w, "menuentry") && opens) {
			ret = entry_open(&ps, &c, false);
		} else if (!strcmp(w, "submenu") && opens) {
			ret = entry_open(&ps, &c, true);
		} else if (opens) {
			ret = -EINVAL;	/* a brace we do not know */
		} else if (ps.cur) {
			entry_cmd(&ps, &c);
		} else {
			maybe_default(&ps, &c);
		}
		if (ret) {
			seterr(err, errlen, "grub.cfg line %u: cannot parse '%s'",
			       c.line, w);
			break;
		}
		cmd_clear(&c);
	}
	cmd_clear(&c);
	if (!ret && r < 0) {
		seterr(err, errlen, "grub.cfg line %u: unterminated quote or overlong command",
		       lx.line);
		ret = -EINVAL;
	}
	if (!ret && ps.depth) {
		seterr(err, errlen, "grub.cfg: a '{' is never closed");
		ret = -EINVAL;
	}
	if (!ret && !m->n) {
		seterr(err, errlen, "grub.cfg has no bootable menu entry");
		ret = -EINVAL;
	}
	if (!ret)
		resolve_default(&ps);
	return ret;
}

/*
 * GRUB legacy: "default N", then "title T" starting each entry, with
 * "kernel PATH ARGS" and "initrd PATH"; "root (hd0,0)" is ignored.
 */
int grub_menulst_parse(const char *text, size_t len, struct grub_menu *m,
		       char *err, size_t errlen)
{
	struct lexer lx = { .p = text, .end = text + len, .line = 1 };
	struct parse ps = { .m = m };
	struct grub_entry *e = NULL;
	struct cmd c = { 0 };
	int r;
	long def = 0;

	memset(m, 0, sizeof(*m));
	if (len > MAX_TEXT)
		return -EINVAL;
	while ((r = next_cmd(&lx, &c)) > 0) {
		if (c.n && !strcmp(c.w[0], "default") && c.n == 2) {
			def = strtol(c.w[1], NULL, 10);
		} else if (c.n && !strcmp(c.w[0], "title")) {
			if (e && e->kernel[0])
				m->n++;
			e = m->n < GRUB_MAX_ENTRIES ? &m->e[m->n] : NULL;
			if (e) {
				size_t used = 0;

				memset(e, 0, sizeof(*e));
				for (unsigned int i = 1; i < c.n; i++) {
					int n = snprintf(e->title + used,
							 sizeof(e->title) - used,
							 "%s%s", used ? " " : "",
							 c.w[i]);

					if (n < 0 || (size_t)n >= sizeof(e->title) - used)
						break;
					used += (size_t)n;
				}
			}
		} else if (c.n && e) {
			ps.cur = e;
			entry_cmd(&ps, &c);
		}
		cmd_clear(&c);
	}
	cmd_clear(&c);
	if (e && e->kernel[0])
		m->n++;
	if (r < 0 || !m->n) {
		seterr(err, errlen, "menu.lst has no bootable entry");
		return -EINVAL;
	}
	m->def = def >= 0 && def < (long)m->n ? (int)def : 0;
	return 0;
}
