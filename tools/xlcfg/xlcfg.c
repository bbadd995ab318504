// SPDX-License-Identifier: MIT
/*
 * xl config file parser: a small hand-written lexer and parser for the
 * `key = value` / list syntax of xl.cfg (see xlcfg.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlcfg.h"

struct parser {
	const char *p;
	unsigned int line;
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

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' ||
	       c == '+' || c == '/' || c == ':' || c == '@';
}

/* A string, number or bare word; *out malloc'd. */
static int parse_atom(struct parser *ps, char **out)
{
	char q = *ps->p;
	size_t cap = 64, n = 0;
	char *s = malloc(cap);

	if (!s)
		return -ENOMEM;
	if (q == '"' || q == '\'') {
		ps->p++;
		for (;;) {
			char c = *ps->p;

			if (!c || c == '\n') {
				free(s);
				return perr(ps, "unterminated string");
			}
			ps->p++;
			if (c == q)
				break;
			if (c == '\\' && q == '"') {
				char e = *ps->p++;

				switch (e) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case '\\': case '"': case '\'': c = e; break;
				default:
					free(s);
					ps->p--;
					return perr(ps, "bad escape \\%c", e ? e : ' ');
				}
			}
			if (n + 2 > cap) {
				char *t = realloc(s, cap *= 2);

				if (!t) {
					free(s);
					return -ENOMEM;
				}
				s = t;
			}
			s[n++] = c;
		}
	} else if (is_word(q)) {
		while (is_word(*ps->p)) {
			if (n + 2 > cap) {
				char *t = realloc(s, cap *= 2);

				if (!t) {
					free(s);
					return -ENOMEM;
				}
				s = t;
			}
			s[n++] = *ps->p++;
		}
	} else {
		free(s);
		if (!q || q == '\n')
			return perr(ps, "missing value");
		return perr(ps, "unexpected '%c'", q);
	}
	s[n] = 0;
	*out = s;
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

static int parse_list(struct parser *ps, struct xlcfg_entry *e)
{
	unsigned int start = ps->line;

	ps->p++;	/* '[' */
	for (;;) {
		char *item;
		char **t;
		int rc;

		skip_space(ps, true);
		if (*ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (!*ps->p) {
			ps->line = start;
			return perr(ps, "list not closed with ']'");
		}
		if (*ps->p == '[')
			return perr(ps, "nested lists are not allowed");
		rc = parse_atom(ps, &item);
		if (rc)
			return rc;
		t = realloc(e->items, (e->nr_items + 1) * sizeof(*t));
		if (!t) {
			free(item);
			return -ENOMEM;
		}
		e->items = t;
		e->items[e->nr_items++] = item;
		skip_space(ps, true);
		if (*ps->p == ',') {
			ps->p++;
		} else if (*ps->p != ']') {
			if (!*ps->p) {
				ps->line = start;
				return perr(ps, "list not closed with ']'");
			}
			return perr(ps, "expected ',' or ']' in list");
		}
	}
}

static int add_entry(struct xlcfg *cfg, struct xlcfg_entry *e)
{
	struct xlcfg_entry *t;

	for (unsigned int i = 0; i < cfg->n; i++) {
		if (!strcmp(cfg->e[i].key, e->key)) {
			/* xl: the last assignment wins */
			entry_clear(&cfg->e[i]);
			cfg->e[i] = *e;
			return 0;
		}
	}
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
	int rc;

	if (!isalpha((unsigned char)*k) && *k != '_')
		return perr(ps, "expected a key, found '%c'", *k);
	while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
		ps->p++;
	e.key = strndup(k, ps->p - k);
	if (!e.key)
		return -ENOMEM;
	e.line = ps->line;
	skip_space(ps, false);
	if (*ps->p != '=') {
		rc = perr(ps, "expected '=' after '%s'", e.key);
		goto err;
	}
	ps->p++;
	skip_space(ps, false);
	if (*ps->p == '[') {
		e.type = XLCFG_LIST;
		rc = parse_list(ps, &e);
	} else {
		e.type = XLCFG_STRING;
		rc = parse_atom(ps, &e.str);
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
	rc = add_entry(ps->cfg, &e);
	if (rc)
		goto err;
	return 0;
err:
	entry_clear(&e);
	return rc;
}

int xlcfg_parse(const char *text, struct xlcfg **out, char *err, size_t errlen)
{
	struct parser ps = { .p = text, .line = 1, .err = err, .errlen = errlen };
	int rc;

	ps.cfg = calloc(1, sizeof(*ps.cfg));
	if (!ps.cfg)
		return -ENOMEM;
	for (;;) {
		skip_space(&ps, true);
		while (*ps.p == ';') {
			ps.p++;
			skip_space(&ps, true);
		}
		if (!*ps.p)
			break;
		rc = parse_statement(&ps);
		if (rc) {
			xlcfg_free(ps.cfg);
			return rc;
		}
	}
	*out = ps.cfg;
	return 0;
}

int xlcfg_parse_file(const char *path, struct xlcfg **out, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t cap = 0, n = 0, r;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
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
	} while (r > 0 && n < (1u << 20));
	fclose(f);
	text[n] = 0;
	if (strlen(text) != n) {
		free(text);
		snprintf(err, errlen, "%s: binary data in a config file", path);
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
