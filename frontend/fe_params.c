/* fe_params.c: hyperparameters after checking: overrides (fe_set for
 * --set text, fe_set_value for config.json values), evaluation in
 * declaration order (a derived param recomputes from whatever its inputs
 * became, unless it was overridden itself), and `require` clauses.
 *
 * fe_eval_const is the one compile-time evaluator: params, requires, key
 * defaults and the lowering's scalar sub-expressions all go through it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fe_ast.h"

/* ---- the evaluator ---------------------------------------------------------- */
static int eval_list(const fe_expr *e, fe_lookup_fn fn, void *env, ssd_arena *a, ir_param *out,
                     ssd_ctx *c) {
  out->kind = IR_PARAM_LIST;
  out->nlist = e->nargs;
  out->list = ssd_arena_alloc(a, (size_t)(e->nargs ? e->nargs : 1) * sizeof *out->list);
  if (!out->list) return ssd_err(c, SSD_ENOMEM, "out of memory");
  int i = 0;
  for (const fe_arg *x = e->args; x; x = x->next, i++) {
    ir_param v;
    int rc = fe_eval_const(x->e, fn, env, a, &v, c);
    if (rc) return rc;
    out->list[i] = v.i;
  }
  return SSD_OK;
}

static int eval_call(const fe_expr *e, fe_lookup_fn fn, void *env, ssd_arena *a, ir_param *out,
                     ssd_ctx *c) {
  const fe_builtin *b = e->builtin ? e->builtin : fe_builtin_find(e->name);
  if (!b || !b->scalar)
    return ssd_err_at(c, e->loc, SSD_ECHECK, "%s() is not a compile-time function", e->name);
  const fe_arg *slots[16];
  int rc = fe_builtin_bind(b, e, slots, c);
  if (rc) return rc;
  ir_param args[16];
  for (int i = 0; i < b->nslots; i++) {
    rc = fe_eval_const(slots[i]->e, fn, env, a, &args[i], c);
    if (rc) return rc;
  }
  return fe_scalar_call(b, args, b->nslots, out, e->loc, c);
}

int fe_eval_const(const fe_expr *e, fe_lookup_fn fn, void *env, ssd_arena *a, ir_param *out,
                  ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  out->loc = e->loc;
  ir_param x, y;
  int rc;
  switch (e->kind) {
  case FE_E_INT:
    out->kind = IR_PARAM_INT;
    out->i = e->i;
    return SSD_OK;
  case FE_E_BOOL:
    out->kind = IR_PARAM_BOOL;
    out->i = e->i;
    return SSD_OK;
  case FE_E_FLOAT:
    out->kind = IR_PARAM_FLOAT;
    out->f = e->f;
    return SSD_OK;
  case FE_E_NAME:
    if (!fn) return ssd_err_at(c, e->loc, SSD_ECHECK, "'%s' is not a constant", e->name);
    return fn(env, e, out, c);
  case FE_E_LIST: return eval_list(e, fn, env, a, out, c);
  case FE_E_UNARY:
    if ((rc = fe_eval_const(e->a, fn, env, a, &x, c))) return rc;
    return fe_scalar_unop(e->op, &x, out, e->loc, c);
  case FE_E_BINARY:
    if ((rc = fe_eval_const(e->a, fn, env, a, &x, c))) return rc;
    /* && and || short-circuit, so `n > 0 && m / n > 2` is safe */
    if (e->op == FE_OP_AND && !x.i) return *out = x, SSD_OK;
    if (e->op == FE_OP_OR && x.i) return *out = x, SSD_OK;
    if ((rc = fe_eval_const(e->b, fn, env, a, &y, c))) return rc;
    return fe_scalar_binop(e->op, &x, &y, out, e->loc, c);
  case FE_E_COND:
    if ((rc = fe_eval_const(e->a, fn, env, a, &x, c))) return rc;
    if ((rc = fe_eval_const(x.i ? e->b : e->c, fn, env, a, out, c))) return rc;
    /* int/float branches unify to float, as the checker typed it */
    if (e->type == FE_T_FLOAT && out->kind == IR_PARAM_INT) {
      out->kind = IR_PARAM_FLOAT;
      out->f = (double)out->i;
    }
    return SSD_OK;
  case FE_E_CALL: return eval_call(e, fn, env, a, out, c);
  case FE_E_NONE: break;
  }
  return ssd_err_at(c, e->loc, SSD_ECHECK, "not a compile-time value");
}

int fe_param_lookup(void *env, const fe_expr *name, ir_param *out, ssd_ctx *c) {
  fe_param_env *pe = env;
  fe_param_ast *pa = fe_param_find(pe->p, name->name);
  if (!pa || !pe->vals)
    return ssd_err_at(c, name->loc, SSD_ECHECK, "'%s' is not a hyperparameter", name->name);
  *out = pe->vals[pa->index];
  return SSD_OK;
}

/* Evaluation order is declaration order and the checker only lets a param
 * read earlier ones, so vals[0..i) is complete when param i evaluates. */
int fe_eval_params(fe_program *p, ssd_arena *a, ir_param **vals_out, ssd_ctx *c) {
  ir_param *vals = ssd_arena_alloc(a, (size_t)(p->nparams ? p->nparams : 1) * sizeof *vals);
  if (!vals) return ssd_err(c, SSD_ENOMEM, "out of memory");
  fe_param_env env = {p, vals};
  for (int i = 0; i < p->nparams; i++) {
    fe_param_ast *pa = p->param_at[i];
    ir_param v;
    if (pa->overridden) {
      v = pa->over;
    } else {
      int rc = fe_eval_const(pa->value, fe_param_lookup, &env, a, &v, c);
      if (rc) {
        ssd_note_at(c, pa->loc, "while computing hyperparameter '%s'", pa->name);
        return rc;
      }
    }
    if (pa->kind == IR_PARAM_FLOAT && v.kind != IR_PARAM_FLOAT) v.f = (double)v.i;
    if (v.kind == IR_PARAM_LIST) {
      int64_t *l = ssd_arena_alloc(a, (size_t)(v.nlist ? v.nlist : 1) * sizeof *l);
      if (!l) return ssd_err(c, SSD_ENOMEM, "out of memory");
      if (v.nlist) memcpy(l, v.list, (size_t)v.nlist * sizeof *l);
      v.list = l;
    }
    v.kind = pa->kind;
    v.name = ssd_arena_strdup(a, pa->name);
    v.loc = pa->loc;
    if (!v.name) return ssd_err(c, SSD_ENOMEM, "out of memory");
    vals[i] = v;
  }
  *vals_out = vals;
  return SSD_OK;
}

int fe_check_requires(const fe_program *p, const ir_param *vals, ssd_arena *a, ssd_ctx *c) {
  fe_param_env env = {p, vals};
  int bad = SSD_OK;
  for (const fe_require *r = p->requires; r && !fe_ctx_full(c); r = r->next) {
    ir_param v;
    int rc = fe_eval_const(r->cond, fe_param_lookup, &env, a, &v, c);
    if (rc) return rc;
    if (!v.i) bad = ssd_err_at(c, r->loc, SSD_ECHECK, "requirement failed: %s", r->msg);
  }
  return bad;
}

/* ---- overrides ------------------------------------------------------------------- */
static const char *kind_name(ir_param_kind k) {
  switch (k) {
  case IR_PARAM_INT: return "an int";
  case IR_PARAM_FLOAT: return "a float";
  case IR_PARAM_BOOL: return "a bool";
  default: return "a list of ints";
  }
}

int fe_set_value(fe_program *p, const char *name, const ir_param *v, ssd_ctx *c) {
  fe_param_ast *pa = fe_param_find(p, name);
  if (!pa) return ssd_err(c, SSD_EINVAL, "unknown hyperparameter '%s' in model '%s'", name, p->name);
  ir_param o = {.kind = pa->kind, .name = pa->name, .loc = pa->loc};
  bool ok = true;
  switch (pa->kind) {
  case IR_PARAM_INT:
    if (v->kind == IR_PARAM_INT) o.i = v->i;
    else if (v->kind == IR_PARAM_FLOAT && v->f == trunc(v->f) && fabs(v->f) < 9e18) o.i = (int64_t)v->f;
    else ok = false;
    break;
  case IR_PARAM_FLOAT:
    if (v->kind == IR_PARAM_FLOAT && !isnan(v->f)) o.f = v->f;
    else if (v->kind == IR_PARAM_INT) o.f = (double)v->i;
    else ok = false;
    break;
  case IR_PARAM_BOOL:
    if (v->kind == IR_PARAM_BOOL) o.i = v->i != 0;
    else ok = false;
    break;
  case IR_PARAM_LIST:
    if (v->kind != IR_PARAM_LIST || v->nlist < 0 || v->nlist > FE_MAX_LIST || (v->nlist && !v->list)) {
      ok = false;
      break;
    }
    o.nlist = v->nlist;
    o.list = ssd_arena_alloc(p->a, (size_t)(v->nlist ? v->nlist : 1) * sizeof *o.list);
    if (!o.list) return ssd_err(c, SSD_ENOMEM, "out of memory");
    if (v->nlist) memcpy(o.list, v->list, (size_t)v->nlist * sizeof *o.list);
    break;
  }
  if (!ok) return ssd_err(c, SSD_EINVAL, "hyperparameter '%s' must be %s", name, kind_name(pa->kind));
  pa->overridden = true;
  pa->over = o;
  return SSD_OK;
}

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

static bool parse_int(const char **s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(*s, &end, 10);
  if (end == *s || errno == ERANGE) return false;
  *out = v;
  *s = end;
  return true;
}

/* "[3, 9]", "3,9", "[]" */
static bool parse_list(fe_program *p, const char *s, ir_param *v) {
  int64_t buf[FE_MAX_LIST];
  int n = 0;
  s = skip_ws(s);
  bool br = *s == '[';
  if (br) s = skip_ws(s + 1);
  if (!(br && *s == ']') && *s) {
    for (;;) {
      if (n == FE_MAX_LIST || !parse_int(&s, &buf[n++])) return false;
      s = skip_ws(s);
      if (*s != ',') break;
      s = skip_ws(s + 1);
    }
  }
  if (br && *s++ != ']') return false;
  if (*skip_ws(s)) return false;
  v->kind = IR_PARAM_LIST;
  v->nlist = n;
  v->list = ssd_arena_alloc(p->a, (size_t)(n ? n : 1) * sizeof *v->list);
  if (!v->list) return false;
  if (n) memcpy(v->list, buf, (size_t)n * sizeof *buf);
  return true;
}

int fe_set(fe_program *p, const char *name, const char *text, ssd_ctx *c) {
  fe_param_ast *pa = fe_param_find(p, name);
  if (!pa) return ssd_err(c, SSD_EINVAL, "unknown hyperparameter '%s' in model '%s'", name, p->name);
  ir_param v = {0};
  const char *s = skip_ws(text);
  bool ok = false;
  switch (pa->kind) {
  case IR_PARAM_INT:
    v.kind = IR_PARAM_INT;
    ok = parse_int(&s, &v.i) && !*skip_ws(s);
    break;
  case IR_PARAM_FLOAT: {
    v.kind = IR_PARAM_FLOAT;
    char *end;
    errno = 0;
    v.f = strtod(s, &end);
    ok = end != s && !*skip_ws(end) && !isnan(v.f) && !(errno == ERANGE && isinf(v.f));
    break;
  }
  case IR_PARAM_BOOL:
    v.kind = IR_PARAM_BOOL;
    if (!strcmp(s, "true") || !strcmp(s, "1")) ok = true, v.i = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "0")) ok = true, v.i = 0;
    break;
  case IR_PARAM_LIST: ok = parse_list(p, s, &v); break;
  }
  if (!ok)
    return ssd_err(c, SSD_EINVAL, "--set %s=%s: '%s' is %s, not '%s'", name, text, name,
                   kind_name(pa->kind), text);
  return fe_set_value(p, name, &v, c);
}
