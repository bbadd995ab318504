// SPDX-License-Identifier: MIT
/*
 * xl config file parser: a small hand-written lexer and parser for the
 * syntax of xl.cfg(5) (see xlcfg.h): `KEY = VALUE` or `KEY += VALUE`
 * statements separated by newlines or ';', values that are quoted
 * strings, numbers or (possibly nested) lists, '#' comments.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlcfg.h"

#define XLCFG_MAX_TEXT		(1u << 20)
#define XLCFG_MAX_ENTRIES	4096
#define XLCFG_MAX_ITEMS		4096
#define XLCFG_MAX_DEPTH		8

struct parser {
	const char *p;
	unsigned int line;
	const char *origin;	/* NULL: "line N", else that word */
	char *err;
	size_t errlen;
	struct xlcfg *cfg;
};

static int perr(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->err && ps->errlen) {
		if (ps->origin)
			n = snprintf(ps->err, ps->errlen, "%s: ", ps->origin);
		else
			n = snprintf(ps->err, ps->errlen, "line %u: ", ps->line);
		if (n < 0 || (size_t)n >= ps->errlen)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Skip blanks and comments; newlines too if @nl. */
static void skip_space(struct parser *ps, bool nl)
{
	for (;;) {
		char c = *ps->p;

		if (c == '#') {
			while (*ps->p && *ps->p != '\n')
				ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (c == '\n' && nl) {
			ps->line++;
			ps->p++;
		} else {
			return;
		}
	}
}

struct sbuf {
	char *s;
	size_t n, cap;
};

static int sbuf_add(struct sbuf *b, char c)
{
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *t = realloc(b->s, cap);

		if (!t)
			return -ENOMEM;
		b->s = t;
		b->cap = cap;
	}
	b->s[b->n++] = c;
	b->s[b->n] = 0;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One escape after '\' (C's): the character, or -1. */
static int parse_escape(struct parser *ps)
{
	char e = *ps->p++;
	int v, d;

	switch (e) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'a': return '\a';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'v': return '\v';
	case '\\': case '"': case '\'': return e;
	case 'x':
		v = 0;
		for (int i = 0; i < 2 && (d = hexval(*ps->p)) >= 0; i++, ps->p++)
			v = v * 16 + d;
		return v ? v : -1;
	default:
		if (e >= '0' && e <= '7') {
			v = e - '0';
			for (int i = 0; i < 2 && *ps->p >= '0' && *ps->p <= '7';
			     i++, ps->p++)
				v = v * 8 + (*ps->p - '0');
			return v && v < 256 ? v : -1;
		}
		ps->p--;
		return -1;
	}
}

/* A quoted string or a number; *out malloc'd. */
static int parse_atom(struct parser *ps, char **out, bool *is_number)
{
	struct sbuf b = { 0 };
	char q = *ps->p;
	int rc = 0;

	*is_number = false;
	if (q == '"' || q == '\'') {
		ps->p++;
		for (;;) {
			int c = (unsigned char)*ps->p;

			if (!c || c == '\n') {
				free(b.s);
				return perr(ps, "unterminated string");
			}
			ps->p++;
			if (c == q)
				break;
			if (c == '\\') {
				c = parse_escape(ps);
				if (c < 0) {
					free(b.s);
					return perr(ps, "bad escape \\%c in a string",
						    *ps->p ? *ps->p : ' ');
				}
			}
			rc = sbuf_add(&b, (char)c);
			if (rc)
				break;
		}
		if (!rc && !b.s) {
			b.s = strdup("");
			if (!b.s)
				rc = -ENOMEM;
		}
	} else if (isdigit((unsigned char)q)) {
		/* decimal, 0x hex or 0 octal: kept as written */
		*is_number = true;
		while (isalnum((unsigned char)*ps->p) && !rc)
			rc = sbuf_add(&b, *ps->p++);
		if (!rc && *ps->p == '.')
			rc = perr(ps, "'%s.': only whole numbers", b.s);
	} else if (isalpha((unsigned char)q) || q == '_') {
		const char *w = ps->p;

		while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
			ps->p++;
		return perr(ps, "'%.*s' is not a value (a string needs quotes)",
			    (int)(ps->p - w), w);
	} else {
		if (!q || q == '\n' || q == ';')
			return perr(ps, "missing value");
		return perr(ps, "unexpected '%c'", q);
	}
	if (rc) {
		free(b.s);
		return rc;
	}
	*out = b.s;
	return 0;
}

static void entry_clear(struct xlcfg_entry *e)
{
	free(e->key);
	free(e->str);
	for (unsigned int i = 0; i < e->nr_items; i++)
		free(e->items[i]);
	free(e->items);
	memset(e, 0, sizeof(*e));
}

static int list_add(struct xlcfg_entry *e, char *item)
{
	char **t;

	if (e->nr_items >= XLCFG_MAX_ITEMS)
		return -E2BIG;
	t = realloc(e->items, (e->nr_items + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	e->items = t;
	e->items[e->nr_items++] = item;
	return 0;
}

/*
 * A list, '[' at ps->p. Items of the top level go into @e (NULL for a
 * nested list, whose own items are checked and dropped).
 */
static int parse_list(struct parser *ps, struct xlcfg_entry *e,
		      unsigned int depth)
{
	unsigned int start = ps->line;

	if (depth > XLCFG_MAX_DEPTH)
		return perr(ps, "lists nested deeper than %d", XLCFG_MAX_DEPTH);
	ps->p++;	/* '[' */
	skip_space(ps, true);
	if (*ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *item = NULL;
		bool num;
		int rc;

		skip_space(ps, true);
		if (!*ps->p) {
			ps->line = start;
			return perr(ps, "list not closed with ']'");
		}
		if (*ps->p == '[') {
			rc = parse_list(ps, NULL, depth + 1);
			if (!rc && e) {
				e->nr_nested++;
				rc = list_add(e, NULL);
			}
		} else {
			rc = parse_atom(ps, &item, &num);
			if (!rc && e) {
				rc = list_add(e, item);
				if (rc)
					free(item);
			} else {
				free(item);
			}
		}
		if (rc == -E2BIG)
			return perr(ps, "more than %d items in a list",
				    XLCFG_MAX_ITEMS);
		if (rc)
			return rc;
		skip_space(ps, true);
		if (*ps->p == ',') {
			ps->p++;
			skip_space(ps, true);
			if (*ps->p == ']') {	/* a trailing comma */
				ps->p++;
				return 0;
			}
		} else if (*ps->p == ']') {
			ps->p++;
			return 0;
		} else if (!*ps->p) {
			ps->line = start;
			return perr(ps, "list not closed with ']'");
		} else {
			return perr(ps, "expected ',' or ']' in a list");
		}
	}
}

static struct xlcfg_entry *find(struct xlcfg *cfg, const char *key)
{
	for (unsigned int i = 0; i < cfg->n; i++)
		if (!strcmp(cfg->e[i].key, key))
			return &cfg->e[i];
	return NULL;
}

/* KEY += VALUE: a list gets the items, a string the text, appended. */
static int append_entry(struct parser *ps, struct xlcfg_entry *old,
			struct xlcfg_entry *e)
{
	if (old->type != e->type)
		return perr(ps, "'%s += ...': %s value added to a %s", e->key,
			    e->type == XLCFG_LIST ? "a list" : "a string",
			    old->type == XLCFG_LIST ? "list" : "string");
	if (e->type == XLCFG_LIST) {
		for (unsigned int i = 0; i < e->nr_items; i++) {
			int rc = list_add(old, e->items[i]);

			if (rc == -E2BIG)
				return perr(ps, "more than %d items in a list",
					    XLCFG_MAX_ITEMS);
			if (rc)
				return rc;
			e->items[i] = NULL;
		}
		old->nr_nested += e->nr_nested;
	} else {
		size_t a = strlen(old->str), b = strlen(e->str);
		char *s = realloc(old->str, a + b + 1);

		if (!s)
			return -ENOMEM;
		memcpy(s + a, e->str, b + 1);
		old->str = s;
		old->is_number = false;
	}
	old->line = e->line;
	entry_clear(e);
	return 0;
}

static int add_entry(struct parser *ps, struct xlcfg_entry *e, bool append)
{
	struct xlcfg *cfg = ps->cfg;
	struct xlcfg_entry *old = find(cfg, e->key), *t;

	if (old && append)
		return append_entry(ps, old, e);
	if (old) {
		/* xl: the last assignment wins */
		entry_clear(old);
		*old = *e;
		return 0;
	}
	if (cfg->n >= XLCFG_MAX_ENTRIES)
		return perr(ps, "more than %d settings", XLCFG_MAX_ENTRIES);
	t = realloc(cfg->e, (cfg->n + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	cfg->e = t;
	cfg->e[cfg->n++] = *e;
	return 0;
}

static int parse_statement(struct parser *ps)
{
	struct xlcfg_entry e = { 0 };
	const char *k = ps->p;
	bool append = false;
	int rc;

	if (!isalpha((unsigned char)*k) && *k != '_')
		return perr(ps, "expected a setting name, found '%c'", *k);
	while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.')
		ps->p++;
	e.key = strndup(k, ps->p - k);
	if (!e.key)
		return -ENOMEM;
	e.line = ps->line;
	skip_space(ps, false);
	if (ps->p[0] == '+' && ps->p[1] == '=') {
		append = true;
		ps->p++;
	}
	if (*ps->p != '=') {
		rc = perr(ps, "expected '=' after '%s'", e.key);
		goto err;
	}
	ps->p++;
	skip_space(ps, false);
	if (*ps->p == '[') {
		e.type = XLCFG_LIST;
		rc = parse_list(ps, &e, 0);
	} else {
		e.type = XLCFG_STRING;
		rc = parse_atom(ps, &e.str, &e.is_number);
	}
	if (rc)
		goto err;
	skip_space(ps, false);
	if (*ps->p == ';')
		ps->p++;
	else if (*ps->p && *ps->p != '\n') {
		rc = perr(ps, "unexpected '%c' after the value of '%s'", *ps->p,
			  e.key);
		goto err;
	}
	rc = add_entry(ps, &e, append);
	if (rc)
		goto err;
	return 0;
err:
	entry_clear(&e);
	return rc;
}

int xlcfg_parse_more(struct xlcfg *cfg, const char *text, const char *origin,
		     char *err, size_t errlen)
{
	struct parser ps = { .p = text, .line = 1, .err = err, .errlen = errlen,
			     .cfg = cfg, .origin = origin };
	int rc;

	if (strlen(text) > XLCFG_MAX_TEXT)
		return perr(&ps, "longer than %u bytes", XLCFG_MAX_TEXT);
	for (;;) {
		skip_space(&ps, true);
		while (*ps.p == ';') {
			ps.p++;
			skip_space(&ps, true);
		}
		if (!*ps.p)
			return 0;
		rc = parse_statement(&ps);
		if (rc)
			return rc;
	}
}

int xlcfg_parse(const char *text, struct xlcfg **out, char *err, size_t errlen)
{
	struct xlcfg *cfg = calloc(1, sizeof(*cfg));
	int rc;

	*out = NULL;
	if (!cfg)
		return -ENOMEM;
	rc = xlcfg_parse_more(cfg, text, NULL, err, errlen);
	if (rc) {
		xlcfg_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int xlcfg_parse_file(const char *path, struct xlcfg **out, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, n = 0, r;
	int rc;

	*out = NULL;
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		return rc;
	}
	do {
		if (n + 4096 + 1 > cap) {
			char *t = realloc(text, cap = cap * 2 + 8192);

			if (!t) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = t;
		}
		r = fread(text + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0 && n <= XLCFG_MAX_TEXT);
	fclose(f);
	text[n] = 0;
	if (n > XLCFG_MAX_TEXT) {
		free(text);
		snprintf(err, errlen, "larger than %u bytes", XLCFG_MAX_TEXT);
		return -EFBIG;
	}
	if (strlen(text) != n) {
		free(text);
		snprintf(err, errlen, "binary data in a config file");
		return -EINVAL;
	}
	rc = xlcfg_parse(text, out, err, errlen);
	free(text);
	return rc;
}

void xlcfg_free(struct xlcfg *cfg)
{
	if (!cfg)
		return;
	for (unsigned int i = 0; i < cfg->n; i++)
		entry_clear(&cfg->e[i]);
	free(cfg->e);
	free(cfg);
}

const struct xlcfg_entry *xlcfg_get(const struct xlcfg *cfg, const char *key)
{
	for (unsigned int i = 0; i < cfg->n; i++)
		if (!strcmp(cfg->e[i].key, key))
			return &cfg->e[i];
	return NULL;
}

const char *xlcfg_get_string(const struct xlcfg *cfg, const char *key)
{
	const struct xlcfg_entry *e = xlcfg_get(cfg, key);

	return e && e->type == XLCFG_STRING ? e->str : NULL;
}

int xlcfg_get_int(const struct xlcfg *cfg, const char *key, long long *v)
{
	const char *s = xlcfg_get_string(cfg, key);
	char *end;

	if (!s)
		return xlcfg_get(cfg, key) ? -EINVAL : -ENOENT;
	errno = 0;
	*v = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return -EINVAL;
	return 0;
}

int xlcfg_get_bool(const struct xlcfg *cfg, const char *key, bool *v)
{
	long long n;
	int rc = xlcfg_get_int(cfg, key, &n);

	if (!rc)
		*v = n != 0;
	return rc;
}
