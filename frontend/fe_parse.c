/* fe_parse.c: the frontend's entry points (fe.h) and the tree constructors
 * the grammar calls.
 *
 * fe_parse_file/fe_parse_string run the flex scanner and bison parser over
 * a source held in memory, then the checker; the result is an fe_program in
 * the caller's arena.  Constructors here enforce the tree-depth limit, so
 * that no later recursion (checker, evaluator, lowering) can run deep.
 */
#include <string.h>

#include "fe_ast.h"
#include "fe_parser.h"
#define YYSTYPE FE_YYSTYPE
#define YYLTYPE FE_YYLTYPE
#include "fe_lexer.h"

ssd_loc fe_loc(const fe_pstate *ps, int line, int col) {
  return (ssd_loc){.src = ps->src, .line = line, .col = col};
}

bool fe_ctx_full(const ssd_ctx *c) { return c->max_errors > 0 && c->nerrors >= c->max_errors; }

/* ---- constructors ------------------------------------------------------- */
static int depth_of(const fe_expr *e) { return e ? e->depth : 0; }

/* Every constructor funnels through here: the depth limit stops a left- or
 * right-leaning chain (a+a+...+a, - - - x) from building a tree that the
 * recursive passes after the parser could not walk. */
static fe_expr *set_depth(fe_pstate *ps, fe_expr *e, int d) {
  e->depth = d + 1;
  if (e->depth > FE_MAX_DEPTH && !ps->fatal) {
    ps->fatal = ps->failed = true;
    ssd_err_at(ps->c, e->loc, SSD_EPARSE, "expression nested too deeply (limit %d)", FE_MAX_DEPTH);
  }
  return e;
}

fe_expr *fe_mk_expr(fe_pstate *ps, fe_ekind k, ssd_loc loc) {
  fe_expr *e = ssd_arena_alloc(ps->a, sizeof *e);
  if (!e) return NULL;
  e->kind = k;
  e->loc = e->first = loc;
  return set_depth(ps, e, 0);
}

fe_expr *fe_mk_bin(fe_pstate *ps, int op, fe_expr *a, fe_expr *b, ssd_loc loc) {
  fe_expr *e = fe_mk_expr(ps, FE_E_BINARY, loc);
  if (!e) return NULL;
  e->op = op;
  e->a = a;
  e->b = b;
  if (a) e->first = a->first;
  int da = depth_of(a), db = depth_of(b);
  return set_depth(ps, e, da > db ? da : db);
}

fe_expr *fe_mk_un(fe_pstate *ps, int op, fe_expr *a, ssd_loc loc) {
  fe_expr *e = fe_mk_expr(ps, FE_E_UNARY, loc);
  if (!e) return NULL;
  e->op = op;
  e->a = a;
  return set_depth(ps, e, depth_of(a));
}

fe_expr *fe_mk_cond(fe_pstate *ps, fe_expr *a, fe_expr *b, fe_expr *c, ssd_loc loc) {
  fe_expr *e = fe_mk_expr(ps, FE_E_COND, loc);
  if (!e) return NULL;
  e->a = a;
  e->b = b;
  e->c = c;
  if (a) e->first = a->first;
  int d = depth_of(a);
  if (depth_of(b) > d) d = depth_of(b);
  if (depth_of(c) > d) d = depth_of(c);
  return set_depth(ps, e, d);
}

static int args_depth(const fe_arg *l) {
  int d = 0;
  for (; l; l = l->next)
    if (depth_of(l->e) > d) d = depth_of(l->e);
  return d;
}

fe_expr *fe_mk_call(fe_pstate *ps, const char *name, fe_arg *args, ssd_loc loc) {
  fe_expr *e = fe_mk_expr(ps, FE_E_CALL, loc);
  if (!e) return NULL;
  e->name = name;
  e->args = fe_rev_args(args, &e->nargs);
  return set_depth(ps, e, args_depth(e->args));
}

fe_expr *fe_mk_list(fe_pstate *ps, fe_arg *items, ssd_loc loc) {
  fe_expr *e = fe_mk_expr(ps, FE_E_LIST, loc);
  if (!e) return NULL;
  e->args = fe_rev_args(items, &e->nargs);
  return set_depth(ps, e, args_depth(e->args));
}

fe_arg *fe_mk_arg(fe_pstate *ps, const char *kw, fe_expr *e, ssd_loc loc) {
  fe_arg *a = ssd_arena_alloc(ps->a, sizeof *a);
  if (!a) return NULL;
  a->kw = kw;
  a->e = e;
  a->loc = loc;
  return a;
}

fe_stmt *fe_mk_stmt(fe_pstate *ps, fe_skind k, ssd_loc loc) {
  fe_stmt *s = ssd_arena_alloc(ps->a, sizeof *s);
  if (!s) return NULL;
  s->kind = k;
  s->loc = loc;
  return s;
}

fe_name *fe_mk_name(fe_pstate *ps, const char *name, ssd_loc loc) {
  fe_name *n = ssd_arena_alloc(ps->a, sizeof *n);
  if (!n) return NULL;
  n->name = name;
  n->loc = loc;
  return n;
}

fe_arg *fe_rev_args(fe_arg *l, int *n) {
  fe_arg *r = NULL;
  int k = 0;
  for (fe_arg *nx; l; l = nx, k++) {
    nx = l->next;
    l->next = r;
    r = l;
  }
  *n = k;
  return r;
}

fe_stmt *fe_rev_stmts(fe_stmt *l) {
  fe_stmt *r = NULL;
  for (fe_stmt *nx; l; l = nx) {
    nx = l->next;
    l->next = r;
    r = l;
  }
  return r;
}

fe_name *fe_rev_names(fe_name *l, int *n) {
  fe_name *r = NULL;
  int k = 0;
  for (fe_name *nx; l; l = nx, k++) {
    nx = l->next;
    l->next = r;
    r = l;
  }
  *n = k;
  return r;
}

void fe_add_param(fe_pstate *ps, fe_param_ast *pa) {
  pa->next = ps->p->params; /* reversed; fe_parse_src restores order */
  ps->p->params = pa;
  ps->p->nparams++;
}

void fe_add_block(fe_pstate *ps, fe_block *b) {
  int k = 0;
  for (fe_name *n = b->params; n; n = n->next, k++) {
    if (!n->layer) continue;
    if (b->layer_pos >= 0) {
      ps->failed = true;
      ssd_err_at(ps->c, n->loc, SSD_EPARSE, "block '%s' has more than one layer parameter", b->name);
    }
    b->layer_pos = k;
  }
  if (b->is_forward) {
    if (ps->p->forward) {
      ps->failed = true;
      ssd_err_at(ps->c, b->loc, SSD_EPARSE, "duplicate forward definition");
      ssd_note_at(ps->c, ps->p->forward->loc, "first defined here");
      return;
    }
    ps->p->forward = b;
    return;
  }
  b->next = ps->p->blocks;
  ps->p->blocks = b;
}

/* ---- driver ---------------------------------------------------------------- */
/* The parser prepends; put each top-level list back in source order. */
#define FE_REVERSE(type, head)                                                    \
  do {                                                                            \
    type *rev_ = NULL;                                                            \
    for (type *x_ = (head), *nx_; x_; x_ = nx_) {                                 \
      nx_ = x_->next;                                                             \
      x_->next = rev_;                                                            \
      rev_ = x_;                                                                  \
    }                                                                             \
    (head) = rev_;                                                                \
  } while (0)

static void restore_order(fe_program *p) {
  FE_REVERSE(fe_param_ast, p->params);
  FE_REVERSE(fe_require, p->requires);
  FE_REVERSE(fe_block, p->blocks);
}

int fe_parse_src(ssd_arena *a, const ssd_src *src, fe_program **out, ssd_ctx *c) {
  *out = NULL;
  if (src->len > FE_MAX_FILE)
    return ssd_err(c, SSD_EIO, "'%s' is too large (%zu bytes, limit %d)", src->path, src->len,
                   FE_MAX_FILE);
  fe_program *p = ssd_arena_alloc(a, sizeof *p);
  if (!p) return ssd_err(c, SSD_ENOMEM, "out of memory");
  p->a = a;
  p->src = src;
  p->name = "model";
  fe_pstate ps = {.a = a, .src = src, .c = c, .p = p, .line = 1, .col = 1};
  yyscan_t scanner;
  if (fe_yylex_init_extra(&ps, &scanner)) return ssd_err(c, SSD_ENOMEM, "out of memory");
  fe_yy_scan_bytes(src->text, (int)src->len, scanner);
  int prc = fe_yyparse(scanner, &ps);
  fe_yylex_destroy(scanner);
  if (prc != 0 || ps.failed) {
    if (c->nerrors == 0) ssd_err(c, SSD_EPARSE, "%s: cannot parse", src->path);
    return prc == 2 ? SSD_ENOMEM : SSD_EPARSE;
  }
  restore_order(p);
  int rc = fe_check(p, c);
  if (rc) return rc;
  *out = p;
  return SSD_OK;
}

int fe_parse_string(ssd_arena *a, const char *name, const char *text, size_t len,
                    fe_program **out, ssd_ctx *c) {
  *out = NULL;
  if (len > FE_MAX_FILE)
    return ssd_err(c, SSD_EIO, "'%s' is too large (%zu bytes, limit %d)", name, len, FE_MAX_FILE);
  ssd_src *s = ssd_arena_alloc(a, sizeof *s);
  char *t = s ? ssd_arena_strndup(a, text, len) : NULL;
  if (!t) return ssd_err(c, SSD_ENOMEM, "out of memory");
  s->path = ssd_arena_strdup(a, name);
  s->text = t;
  s->len = len;
  return fe_parse_src(a, s, out, c);
}

int fe_parse_file(ssd_arena *a, const char *path, fe_program **out, ssd_ctx *c) {
  *out = NULL;
  ssd_src *s;
  int rc = ssd_read_file(a, path, FE_MAX_FILE, &s, c);
  if (rc) return rc;
  return fe_parse_src(a, s, out, c);
}

/* ---- program queries ---------------------------------------------------- */
const char *fe_model_name(const fe_program *p) { return p->name; }

bool fe_covers(const fe_program *p, const char *source, const char *type) {
  for (const fe_cover *v = p->covers; v; v = v->next)
    if (!strcmp(v->source, source) && !strcmp(v->type, type)) return true;
  return false;
}

int fe_nparams(const fe_program *p) { return p->nparams; }

const fe_param_info *fe_param(const fe_program *p, int i) {
  return i >= 0 && i < p->nparams ? &p->infos[i] : NULL;
}

fe_param_ast *fe_param_find(const fe_program *p, const char *name) {
  return fe_map_get(&p->param_map, name);
}

/* ---- string maps ------------------------------------------------------------- */
void fe_map_init(fe_map *m, ssd_arena *a) { *m = (fe_map){.a = a}; }

static size_t map_slot(const fe_map *m, const char *key) {
  size_t h = (size_t)ssd_hash64(key, strlen(key), 0), mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask)
    if (!m->keys[i] || !strcmp(m->keys[i], key)) return i;
}

void *fe_map_get(const fe_map *m, const char *key) {
  if (!m->cap) return NULL;
  size_t i = map_slot(m, key);
  return m->keys[i] ? m->vals[i] : NULL;
}

int fe_map_put(fe_map *m, const char *key, void *val) {
  if ((m->n + 1) * 2 > m->cap) {
    fe_map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->keys = ssd_arena_alloc(m->a, m->cap * sizeof *m->keys);
    m->vals = ssd_arena_alloc(m->a, m->cap * sizeof *m->vals);
    if (!m->keys || !m->vals) return SSD_ENOMEM;
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.keys[i]) fe_map_put(m, old.keys[i], old.vals[i]);
  }
  size_t i = map_slot(m, key);
  if (!m->keys[i]) {
    m->keys[i] = key;
    m->n++;
  }
  m->vals[i] = val;
  return SSD_OK;
}
