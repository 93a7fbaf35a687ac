/* fe_check.c: the checker.  Runs once after parsing, before any override.
 *
 * It resolves every name (hyperparameters, block parameters, locals, loop
 * variables, weights, blocks, builtins), gives every expression a type
 * (fe_ast.h: int, float, bool, list, tensor, none, layer index), checks the
 * arity and keyword arguments of each call, duplicate definitions, recursion
 * between blocks, and the rule that keeps a block one template for every
 * layer: inside a block the layer index may only name checkpoints and be
 * passed on to other blocks; per-layer choices belong in forward's loop.
 * Values are not computed here: overrides may still change every param.
 */
#include <string.h>

#include "fe_ast.h"

/* What a local name stands for. */
typedef enum { SYM_LOCAL, SYM_WEIGHT, SYM_INPUT, SYM_LAYER, SYM_LOOP } sym_kind;

typedef struct sym {
  sym_kind kind;
  fe_type type;
  ssd_loc loc;
} sym;

typedef struct scope {
  fe_map names;
  struct scope *up;
} scope;

typedef struct edge {
  fe_block *to;
  ssd_loc loc;
  struct edge *next;
} edge;

typedef struct ck {
  fe_program *p;
  ssd_ctx *c;
  ssd_arena *a;
  int rc;
  fe_block *blk;        /* block being checked; NULL for params and requires */
  scope *sc;
  bool in_cond;         /* checking a compile-time condition */
  int param_limit;      /* params visible to a param's default: those before it */
  bool uses_param;      /* the expression read a param (derived) */
  bool in_default;      /* checking a config key's default: constants only */
  fe_map edges;         /* block name -> edge list (calls it makes) */
} ck;

static fe_type fail(ck *k, ssd_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static fe_type fail(ck *k, ssd_loc loc, const char *fmt, ...) {
  if (fe_ctx_full(k->c)) {
    k->rc = SSD_ECHECK;
    return FE_T_ERR;
  }
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  k->rc = ssd_err_at(k->c, loc, SSD_ECHECK, "%s", buf);
  return FE_T_ERR;
}

static bool is_num(fe_type t) { return t == FE_T_INT || t == FE_T_FLOAT; }

/* ---- scopes ------------------------------------------------------------- */
static sym *lookup(const ck *k, const char *name) {
  for (const scope *s = k->sc; s; s = s->up) {
    sym *v = fe_map_get(&s->names, name);
    if (v) return v;
  }
  return NULL;
}

static scope *push(ck *k) {
  scope *s = ssd_arena_alloc(k->a, sizeof *s);
  if (!s) return NULL;
  fe_map_init(&s->names, k->a);
  s->up = k->sc;
  k->sc = s;
  return s;
}

static void pop(ck *k) { k->sc = k->sc->up; }

static sym *define(ck *k, const char *name, sym_kind kind, fe_type t, ssd_loc loc) {
  sym *v = ssd_arena_alloc(k->a, sizeof *v);
  if (!v || fe_map_put(&k->sc->names, name, v)) {
    k->rc = SSD_ENOMEM;
    return NULL;
  }
  *v = (sym){kind, t, loc};
  return v;
}

/* A new name must not hide a param, a block or another local. */
static bool fresh(ck *k, const char *name, ssd_loc loc) {
  if (fe_param_find(k->p, name)) {
    fail(k, loc, "'%s' is a hyperparameter and cannot be redefined", name);
    return false;
  }
  if (fe_map_get(&k->p->block_map, name) || fe_builtin_find(name)) {
    fail(k, loc, "'%s' names a %s and cannot be redefined", name,
         fe_builtin_find(name) ? "builtin" : "block");
    return false;
  }
  sym *v = lookup(k, name);
  if (v) {
    fail(k, loc, "redefinition of '%s'", name);
    ssd_note_at(k->c, v->loc, "previous definition is here");
    return false;
  }
  return true;
}

/* ---- expressions ------------------------------------------------------------ */
static fe_type ck_expr(ck *k, fe_expr *e);

static fe_type layer_misuse(ck *k, const fe_expr *e) {
  return fail(k, e->loc,
              "the layer index '%s' can only name checkpoints and be passed to a block; "
              "choose per layer in forward's layer stack",
              e->name ? e->name : "?");
}

static fe_type ck_name(ck *k, fe_expr *e) {
  sym *v = k->blk ? lookup(k, e->name) : NULL;
  if (v) {
    if (v->kind == SYM_LAYER && k->in_cond)
      return fail(k, e->loc,
                  "condition depends on the layer index '%s'; a block is one template for "
                  "every layer: choose per layer in forward's layer stack",
                  e->name);
    return v->type;
  }
  fe_param_ast *pa = fe_param_find(k->p, e->name);
  if (pa) {
    if (k->in_default)
      return fail(k, e->loc, "the default of a config key must be a constant");
    if (!k->blk && pa->index >= k->param_limit)
      return fail(k, e->loc, "hyperparameter '%s' is used before its declaration", e->name);
    k->uses_param = true;
    switch (pa->kind) {
    case IR_PARAM_INT: return FE_T_INT;
    case IR_PARAM_FLOAT: return FE_T_FLOAT;
    case IR_PARAM_BOOL: return FE_T_BOOL;
    default: return FE_T_LIST;
    }
  }
  if (fe_map_get(&k->p->block_map, e->name) || fe_builtin_find(e->name))
    return fail(k, e->loc, "'%s' is a function; call it with (...)", e->name);
  return fail(k, e->loc, "undefined name '%s'", e->name);
}

static fe_type ck_list(ck *k, fe_expr *e) {
  if (e->nargs > FE_MAX_LIST) return fail(k, e->loc, "list too long (limit %d)", FE_MAX_LIST);
  fe_type r = FE_T_LIST;
  for (fe_arg *a = e->args; a; a = a->next) {
    fe_type t = ck_expr(k, a->e);
    if (t == FE_T_ERR) r = FE_T_ERR;
    else if (t != FE_T_INT)
      r = fail(k, a->e->first, "list elements must be int, not %s", fe_type_name(t));
  }
  return r;
}

static const char *op_text(int op) {
  static char one[2];
  switch (op) {
  case FE_OP_EQ: return "==";
  case FE_OP_NE: return "!=";
  case FE_OP_LE: return "<=";
  case FE_OP_GE: return ">=";
  case FE_OP_AND: return "&&";
  case FE_OP_OR: return "||";
  case FE_OP_IN: return "in";
  default: one[0] = (char)op; return one;
  }
}

static fe_type ck_unary(ck *k, fe_expr *e) {
  fe_type t = ck_expr(k, e->a);
  if (t == FE_T_ERR) return t;
  if (t == FE_T_LAYER) return layer_misuse(k, e->a);
  if (e->op == '!') {
    if (t != FE_T_BOOL) return fail(k, e->loc, "operator '!' needs a bool, not %s", fe_type_name(t));
    return FE_T_BOOL;
  }
  if (is_num(t) || t == FE_T_TENSOR) return t;
  return fail(k, e->loc, "unary '-' needs a number or a tensor, not %s", fe_type_name(t));
}

static fe_type ck_binary(ck *k, fe_expr *e) {
  fe_type x = ck_expr(k, e->a), y = ck_expr(k, e->b);
  if (x == FE_T_ERR || y == FE_T_ERR) return FE_T_ERR;
  if (x == FE_T_LAYER) return layer_misuse(k, e->a);
  if (y == FE_T_LAYER) return layer_misuse(k, e->b);
  const char *ot = op_text(e->op);
  switch (e->op) {
  case FE_OP_AND:
  case FE_OP_OR:
    if (x != FE_T_BOOL || y != FE_T_BOOL)
      return fail(k, e->loc, "operator '%s' needs bools, not %s and %s", ot, fe_type_name(x),
                  fe_type_name(y));
    return FE_T_BOOL;
  case FE_OP_IN:
    if (x != FE_T_INT || y != FE_T_LIST)
      return fail(k, e->loc, "operator 'in' needs an int and a list, not %s and %s",
                  fe_type_name(x), fe_type_name(y));
    return FE_T_BOOL;
  case FE_OP_EQ:
  case FE_OP_NE:
    if ((is_num(x) && is_num(y)) || (x == y && (x == FE_T_BOOL || x == FE_T_LIST)))
      return FE_T_BOOL;
    return fail(k, e->loc, "cannot compare %s with %s", fe_type_name(x), fe_type_name(y));
  case '<':
  case '>':
  case FE_OP_LE:
  case FE_OP_GE:
    if (is_num(x) && is_num(y)) return FE_T_BOOL;
    return fail(k, e->loc, "operator '%s' needs numbers, not %s and %s", ot, fe_type_name(x),
                fe_type_name(y));
  default: break;
  }
  /* + - * / % */
  if (is_num(x) && is_num(y)) return x == FE_T_INT && y == FE_T_INT ? FE_T_INT : FE_T_FLOAT;
  bool tx = x == FE_T_TENSOR, ty = y == FE_T_TENSOR;
  if ((tx || is_num(x)) && (ty || is_num(y)) && e->op != '%') {
    if (!k->blk) return fail(k, e->loc, "tensors are not allowed here");
    return FE_T_TENSOR;
  }
  return fail(k, e->loc, "operator '%s' cannot apply to %s and %s", ot, fe_type_name(x),
              fe_type_name(y));
}

static fe_type ck_condition(ck *k, fe_expr *e, const char *what) {
  bool was = k->in_cond;
  k->in_cond = true;
  fe_type t = ck_expr(k, e);
  k->in_cond = was;
  if (t != FE_T_ERR && t != FE_T_BOOL)
    return fail(k, e->first, "%s must be a bool, not %s", what, fe_type_name(t));
  return t;
}

static fe_type ck_cond(ck *k, fe_expr *e) {
  fe_type c = ck_condition(k, e->a, "condition of '?:'");
  fe_type x = ck_expr(k, e->b), y = ck_expr(k, e->c);
  if (c == FE_T_ERR || x == FE_T_ERR || y == FE_T_ERR) return FE_T_ERR;
  if (x == FE_T_LAYER) return layer_misuse(k, e->b);
  if (y == FE_T_LAYER) return layer_misuse(k, e->c);
  if (x == y) return x;
  if (is_num(x) && is_num(y)) return FE_T_FLOAT;
  if ((x == FE_T_TENSOR && y == FE_T_NONE) || (x == FE_T_NONE && y == FE_T_TENSOR))
    return FE_T_TENSOR;
  return fail(k, e->loc, "branches of '?:' have different types (%s and %s)", fe_type_name(x),
              fe_type_name(y));
}

static fe_type ck_block_call(ck *k, fe_expr *e, fe_block *b) {
  e->block = b;
  if (!k->blk) return fail(k, e->loc, "block '%s' cannot be called here", b->name);
  if (e->nargs != b->nparams)
    return fail(k, e->loc, "block '%s' takes %d argument%s, %d given", b->name, b->nparams,
                b->nparams == 1 ? "" : "s", e->nargs);
  fe_type r = FE_T_TENSOR;
  int i = 0;
  for (fe_arg *a = e->args; a; a = a->next, i++) {
    if (a->kw) {
      r = fail(k, a->loc, "blocks take positional arguments only");
      continue;
    }
    fe_type t = ck_expr(k, a->e);
    if (t == FE_T_ERR) {
      r = t;
    } else if (i == b->layer_pos) {
      if (t != FE_T_INT && t != FE_T_LAYER)
        r = fail(k, a->e->first, "layer index argument of '%s' must be an int, not %s", b->name,
                 fe_type_name(t));
    } else if (t != FE_T_TENSOR) {
      r = fail(k, a->e->first, "argument %d of block '%s' must be a tensor, not %s", i + 1, b->name,
               fe_type_name(t));
    }
  }
  edge *g = ssd_arena_alloc(k->a, sizeof *g);
  if (!g) return k->rc = SSD_ENOMEM, FE_T_ERR;
  *g = (edge){b, e->loc, fe_map_get(&k->edges, k->blk->name)};
  if (fe_map_put(&k->edges, k->blk->name, g)) return k->rc = SSD_ENOMEM, FE_T_ERR;
  return r;
}

/* One argument against its slot's kind. */
static fe_type ck_slot(ck *k, const fe_builtin *b, const fe_slot *s, const fe_arg *a) {
  if (s->kind == FE_A_SIZES) {
    if (a->e->kind != FE_E_LIST)
      return fail(k, a->e->first, "argument '%s' of %s() must be a list of sizes like [a, b]",
                  s->name, b->name);
    if (a->e->nargs < 1) return fail(k, a->e->first, "%s() needs at least one size", b->name);
    if (a->e->nargs > FE_MAX_LIST) return fail(k, a->e->first, "too many sizes");
    fe_type r = FE_T_LIST;
    for (fe_arg *x = a->e->args; x; x = x->next) {
      fe_type t = ck_expr(k, x->e);
      if (t == FE_T_LAYER) r = layer_misuse(k, x->e);
      else if (t != FE_T_ERR && t != FE_T_INT)
        r = fail(k, x->e->first, "sizes must be int expressions, not %s", fe_type_name(t));
      else if (t == FE_T_ERR) r = t;
    }
    a->e->type = r;
    return r;
  }
  if (s->kind == FE_A_DTYPE) {
    ir_dtype dt;
    if (a->e->kind != FE_E_NAME || ir_dtype_parse(a->e->name, &dt) != 0 ||
        (dt != IR_F32 && dt != IR_BF16 && dt != IR_F16))
      return fail(k, a->e->first, "argument '%s' of %s() must be a dtype: f32, bf16 or f16", s->name,
                  b->name);
    return FE_T_NONE;
  }
  fe_type t = ck_expr(k, a->e);
  if (t == FE_T_ERR) return t;
  if (t == FE_T_LAYER) return layer_misuse(k, a->e);
  bool ok;
  const char *want;
  switch (s->kind) {
  case FE_A_TENSOR: ok = t == FE_T_TENSOR; want = "a tensor"; break;
  case FE_A_OPT: ok = t == FE_T_TENSOR || t == FE_T_NONE; want = "a tensor or none"; break;
  case FE_A_FLOAT: ok = is_num(t); want = "a number"; break;
  case FE_A_INT: ok = t == FE_T_INT; want = "an int"; break;
  case FE_A_BOOL: ok = t == FE_T_BOOL; want = "a bool"; break;
  default: ok = t == FE_T_LIST; want = "a list"; break;
  }
  if (!ok)
    return fail(k, a->e->first, "argument '%s' of %s() must be %s, not %s", s->name, b->name, want,
                fe_type_name(t));
  return t;
}

static fe_type ck_builtin_call(ck *k, fe_expr *e, const fe_builtin *b) {
  e->builtin = b;
  e->nresults = 1;
  if (!k->blk && !b->scalar)
    return fail(k, e->loc, "%s() works on tensors and cannot be used here", b->name);
  fe_type r = FE_T_TENSOR;
  if (b->variadic) { /* concat */
    if (e->nargs < 2) return fail(k, e->loc, "%s() needs at least two tensors", b->name);
    for (fe_arg *a = e->args; a; a = a->next) {
      if (a->kw) {
        r = fail(k, a->loc, "%s() takes no keyword arguments", b->name);
        continue;
      }
      fe_type t = ck_expr(k, a->e);
      if (t == FE_T_LAYER) r = layer_misuse(k, a->e);
      else if (t != FE_T_ERR && t != FE_T_TENSOR)
        r = fail(k, a->e->first, "arguments of %s() must be tensors, not %s", b->name, fe_type_name(t));
      else if (t == FE_T_ERR) r = t;
    }
    return r;
  }
  const fe_arg *slots[16];
  if (fe_builtin_bind(b, e, slots, k->c)) {
    k->rc = SSD_ECHECK;
    return FE_T_ERR;
  }
  fe_type st[16] = {0};
  for (int i = 0; i < b->nslots; i++) {
    if (!slots[i]) continue;
    st[i] = ck_slot(k, b, &b->slots[i], slots[i]);
    if (st[i] == FE_T_ERR) r = FE_T_ERR;
  }
  if (r == FE_T_ERR) return r;
  switch (b->id) {
  case FE_B_SPLIT:
    e->nresults = slots[1]->e->nargs;
    return FE_T_MULTI;
  case FE_B_SSM:
    e->nresults = 2;
    return FE_T_MULTI;
  case FE_B_INT:
  case FE_B_CEIL:
  case FE_B_LEN: return FE_T_INT;
  case FE_B_FLOAT: return FE_T_FLOAT;
  case FE_B_MIN:
  case FE_B_MAX: return st[0] == FE_T_INT && st[1] == FE_T_INT ? FE_T_INT : FE_T_FLOAT;
  default: return FE_T_TENSOR;
  }
}

static fe_type ck_call(ck *k, fe_expr *e) {
  fe_block *b = fe_map_get(&k->p->block_map, e->name);
  if (b) return ck_block_call(k, e, b);
  const fe_builtin *bi = fe_builtin_find(e->name);
  if (bi) return ck_builtin_call(k, e, bi);
  return fail(k, e->loc, "unknown function '%s'", e->name);
}

/* Multi-result calls (split, ssm) yield one value where an expression is
 * expected: ssm gives y; split must be unpacked by an assignment. */
static fe_type single(ck *k, fe_expr *e, fe_type t) {
  if (t != FE_T_MULTI) return t;
  if (e->builtin && e->builtin->id == FE_B_SSM) {
    e->nresults = 1;
    return FE_T_TENSOR;
  }
  return fail(k, e->loc, "%s() gives %d results: unpack them with 'a, b, ... = %s(...)'", e->name,
              e->nresults, e->name);
}

static fe_type ck_any(ck *k, fe_expr *e) {
  switch (e->kind) {
  case FE_E_INT: return FE_T_INT;
  case FE_E_FLOAT: return FE_T_FLOAT;
  case FE_E_BOOL: return FE_T_BOOL;
  case FE_E_NONE: return FE_T_NONE;
  case FE_E_NAME: return ck_name(k, e);
  case FE_E_LIST: return ck_list(k, e);
  case FE_E_UNARY: return ck_unary(k, e);
  case FE_E_BINARY: return ck_binary(k, e);
  case FE_E_COND: return ck_cond(k, e);
  case FE_E_CALL: return ck_call(k, e);
  }
  return FE_T_ERR;
}

static fe_type ck_expr(ck *k, fe_expr *e) {
  fe_type t = single(k, e, ck_any(k, e));
  e->type = t;
  return t;
}

/* ---- statements -------------------------------------------------------------- */
static void ck_stmts(ck *k, fe_stmt *s, bool top);

/* "backbone.layers.{i}.mixer": every {name} must be the block's layer index
 * or a loop variable. */
static void ck_template(ck *k, const fe_stmt *s) {
  const char *t = s->ckpt;
  if (!*t) {
    fail(k, s->ckptloc, "empty checkpoint name");
    return;
  }
  for (const char *p = t; *p; p++) {
    if (*p == '}') {
      fail(k, s->ckptloc, "unmatched '}' in checkpoint name");
      return;
    }
    if (*p != '{') continue;
    const char *q = strchr(p, '}');
    if (!q) {
      fail(k, s->ckptloc, "unterminated '{' in checkpoint name");
      return;
    }
    char name[FE_MAX_IDENT + 1];
    size_t n = (size_t)(q - p - 1);
    if (n == 0 || n > FE_MAX_IDENT) {
      fail(k, s->ckptloc, "bad placeholder in checkpoint name");
      return;
    }
    memcpy(name, p + 1, n);
    name[n] = 0;
    sym *v = lookup(k, name);
    if (!v || (v->kind != SYM_LAYER && v->kind != SYM_LOOP)) {
      fail(k, s->ckptloc, "checkpoint name uses '{%s}', which is not a layer index or loop variable",
           name);
      return;
    }
    p = q;
  }
}

static void ck_weight(ck *k, fe_stmt *s) {
  if (s->ndims < 1 || s->ndims > IR_MAX_RANK) {
    fail(k, s->nameloc, "weight '%s' has %d dims (1 to %d allowed)", s->name, s->ndims, IR_MAX_RANK);
  }
  for (fe_arg *d = s->dims; d; d = d->next) {
    fe_type t = ck_expr(k, d->e);
    if (t == FE_T_LAYER)
      fail(k, d->e->first, "weight dims must not depend on the layer index");
    else if (t != FE_T_ERR && t != FE_T_INT)
      fail(k, d->e->first, "weight dims must be int, not %s", fe_type_name(t));
  }
  if (s->dtype) {
    ir_dtype dt;
    if (ir_dtype_parse(s->dtype, &dt) != 0 || (dt != IR_F32 && dt != IR_BF16 && dt != IR_F16))
      fail(k, s->dtypeloc, "unknown weight dtype '%s' (f32, bf16 or f16)", s->dtype);
  }
  if (s->cond) ck_condition(k, s->cond, "condition of a weight");
  ck_template(k, s);
  if (fresh(k, s->name, s->nameloc)) define(k, s->name, SYM_WEIGHT, FE_T_TENSOR, s->nameloc);
}

static void ck_assign(ck *k, fe_stmt *s) {
  fe_expr *v = s->value;
  fe_type t = ck_any(k, v);
  v->type = t;
  if (t == FE_T_MULTI) {
    bool ssm = v->builtin && v->builtin->id == FE_B_SSM;
    if (ssm && s->nnames <= 2)
      v->nresults = s->nnames;
    else if (s->nnames != v->nresults)
      fail(k, s->loc, "%s() gives %d result%s but %d name%s assigned", v->name, v->nresults,
           v->nresults == 1 ? "" : "s", s->nnames, s->nnames == 1 ? " is" : "s are");
    t = FE_T_TENSOR;
  } else if (s->nnames != 1 && t != FE_T_ERR) {
    fail(k, s->loc, "one value but %d names assigned", s->nnames);
  }
  if (t == FE_T_LAYER) t = layer_misuse(k, v);
  if (t == FE_T_NONE) t = fail(k, v->first, "cannot assign none");
  for (fe_name *n = s->names; n; n = n->next) {
    sym *old = lookup(k, n->name);
    if (!old) {
      if (fresh(k, n->name, n->loc)) define(k, n->name, SYM_LOCAL, t, n->loc);
      continue;
    }
    if (old->kind != SYM_LOCAL && old->kind != SYM_INPUT)
      fail(k, n->loc, "cannot assign to %s '%s'",
           old->kind == SYM_WEIGHT ? "weight" : old->kind == SYM_LOOP ? "loop variable" : "layer index",
           n->name);
    else if (t != FE_T_ERR && old->type != FE_T_ERR && old->type != t)
      fail(k, n->loc, "'%s' was %s and cannot become %s", n->name, fe_type_name(old->type),
           fe_type_name(t));
  }
}

static void ck_for(ck *k, fe_stmt *s) {
  fe_type lo = ck_expr(k, s->lo), hi = ck_expr(k, s->hi);
  if (lo == FE_T_LAYER) layer_misuse(k, s->lo);
  else if (lo != FE_T_ERR && lo != FE_T_INT) fail(k, s->lo->first, "loop bounds must be int");
  if (hi == FE_T_LAYER) layer_misuse(k, s->hi);
  else if (hi != FE_T_ERR && hi != FE_T_INT) fail(k, s->hi->first, "loop bounds must be int");
  if (!push(k)) return;
  if (fresh(k, s->name, s->nameloc)) define(k, s->name, SYM_LOOP, FE_T_INT, s->nameloc);
  ck_stmts(k, s->body, false);
  pop(k);
}

static void ck_if(ck *k, fe_stmt *s) {
  ck_condition(k, s->cond, "condition of 'if'");
  if (!push(k)) return;
  ck_stmts(k, s->body, false);
  pop(k);
  if (!s->els) return;
  if (!push(k)) return;
  ck_stmts(k, s->els, false);
  pop(k);
}

static void ck_stmts(ck *k, fe_stmt *s, bool top) {
  for (; s && !fe_ctx_full(k->c) && k->rc != SSD_ENOMEM; s = s->next) {
    switch (s->kind) {
    case FE_S_WEIGHT: ck_weight(k, s); break;
    case FE_S_ASSIGN: ck_assign(k, s); break;
    case FE_S_FOR: ck_for(k, s); break;
    case FE_S_IF: ck_if(k, s); break;
    case FE_S_RETURN: {
      if (!top || s->next) {
        fail(k, s->loc, "return must be the last statement of %s",
             k->blk->is_forward ? "forward" : "a block");
        break;
      }
      fe_type t = ck_expr(k, s->value);
      if (t == FE_T_LAYER) layer_misuse(k, s->value);
      else if (t != FE_T_ERR && t != FE_T_TENSOR)
        fail(k, s->value->first, "%s must return a tensor, not %s",
             k->blk->is_forward ? "forward" : "a block", fe_type_name(t));
      break;
    }
    }
  }
}

static void ck_block(ck *k, fe_block *b) {
  k->blk = b;
  k->sc = NULL;
  if (!push(k)) return;
  for (fe_name *n = b->params; n; n = n->next)
    if (fresh(k, n->name, n->loc))
      define(k, n->name, n->layer ? SYM_LAYER : SYM_INPUT, n->layer ? FE_T_LAYER : FE_T_TENSOR, n->loc);
  if (b->is_forward && (b->nparams != 1 || b->layer_pos >= 0))
    fail(k, b->loc, "forward takes exactly one parameter: the token ids");
  fe_stmt *last = b->body;
  while (last && last->next) last = last->next;
  if (!last || last->kind != FE_S_RETURN)
    fail(k, b->loc, "%s '%s' does not end with a return", b->is_forward ? "forward" : "block",
         b->name);
  ck_stmts(k, b->body, true);
  k->sc = NULL;
  k->blk = NULL;
}

/* ---- recursion ------------------------------------------------------------------ */
/* Depth-first over call edges with an explicit stack (a hostile file may
 * chain 100k blocks); mark 1 = on the current path, 2 = done. */
typedef struct frame {
  fe_block *b;
  edge *next;
} frame;

static void find_cycles(ck *k) {
  int n = 0;
  for (fe_block *b = k->p->blocks; b; b = b->next) n++;
  frame *st = ssd_arena_alloc(k->a, (size_t)(n + 1) * sizeof *st);
  if (!st) {
    k->rc = SSD_ENOMEM;
    return;
  }
  for (fe_block *root = k->p->blocks; root; root = root->next) {
    if (root->mark) continue;
    int top = 0;
    st[0] = (frame){root, fe_map_get(&k->edges, root->name)};
    root->mark = 1;
    while (top >= 0) {
      edge *g = st[top].next;
      if (!g) {
        st[top--].b->mark = 2;
        continue;
      }
      st[top].next = g->next;
      if (g->to->mark == 1) {
        fail(k, g->loc, "recursive call: block '%s' calls '%s', which is already being called",
             st[top].b->name, g->to->name);
        return;
      }
      if (g->to->mark == 0 && top + 1 < n + 1) {
        g->to->mark = 1;
        st[++top] = (frame){g->to, fe_map_get(&k->edges, g->to->name)};
      }
    }
  }
}

/* ---- top level ------------------------------------------------------------------ */
static ir_param_kind kind_of(fe_type t) {
  switch (t) {
  case FE_T_INT: return IR_PARAM_INT;
  case FE_T_FLOAT: return IR_PARAM_FLOAT;
  case FE_T_BOOL: return IR_PARAM_BOOL;
  default: return IR_PARAM_LIST;
  }
}

static bool kind_fits(ir_param_kind want, fe_type t) {
  if (want == IR_PARAM_FLOAT) return is_num(t);
  return t != FE_T_ERR && kind_of(t) == want && (t == FE_T_INT || t == FE_T_BOOL || t == FE_T_LIST);
}

static void ck_key(ck *k, fe_param_ast *pa, fe_key_ast *ka, fe_key *out) {
  if (strcmp(ka->source, "hf") && strcmp(ka->source, "ssm"))
    fail(k, ka->loc, "unknown config source '@%s' (use @hf or @ssm)", ka->source);
  *out = (fe_key){.source = ka->source, .path = ka->path};
  if (!ka->dflt) return;
  k->in_default = true;
  fe_type t = ck_expr(k, ka->dflt);
  k->in_default = false;
  if (t == FE_T_ERR) return;
  if (!kind_fits(pa->kind, t)) {
    fail(k, ka->dflt->first, "default of key '%s' is %s but '%s' is %s", ka->path, fe_type_name(t),
         pa->name, fe_type_name(pa->kind == IR_PARAM_INT     ? FE_T_INT
                                : pa->kind == IR_PARAM_FLOAT ? FE_T_FLOAT
                                : pa->kind == IR_PARAM_BOOL  ? FE_T_BOOL
                                                             : FE_T_LIST));
    return;
  }
  ir_param v;
  if (fe_eval_const(ka->dflt, NULL, NULL, k->a, &v, k->c)) {
    k->rc = SSD_ECHECK;
    return;
  }
  if (pa->kind == IR_PARAM_FLOAT && v.kind == IR_PARAM_INT) v.f = (double)v.i;
  v.kind = pa->kind;
  v.name = pa->name;
  v.loc = ka->dflt->first;
  out->has_default = true;
  out->dflt = v;
}

static void ck_params(ck *k) {
  fe_program *p = k->p;
  p->param_at = ssd_arena_alloc(k->a, (size_t)(p->nparams ? p->nparams : 1) * sizeof *p->param_at);
  p->infos = ssd_arena_alloc(k->a, (size_t)(p->nparams ? p->nparams : 1) * sizeof *p->infos);
  if (!p->param_at || !p->infos) {
    k->rc = SSD_ENOMEM;
    return;
  }
  int i = 0;
  for (fe_param_ast *pa = p->params; pa; pa = pa->next, i++) {
    pa->index = i;
    p->param_at[i] = pa;
    fe_param_ast *old = fe_param_find(p, pa->name);
    if (old) {
      fail(k, pa->loc, "duplicate hyperparameter '%s'", pa->name);
      ssd_note_at(k->c, old->loc, "previous definition is here");
    } else if (fe_builtin_find(pa->name) || !strcmp(pa->name, "forward")) {
      fail(k, pa->loc, "'%s' is a builtin and cannot name a hyperparameter", pa->name);
    } else if (fe_map_put(&p->param_map, pa->name, pa)) {
      k->rc = SSD_ENOMEM;
      return;
    }
  }
  for (fe_param_ast *pa = p->params; pa && !fe_ctx_full(k->c); pa = pa->next) {
    k->param_limit = pa->index;
    k->uses_param = false;
    fe_type t = ck_expr(k, pa->value);
    pa->derived = k->uses_param;
    if (t == FE_T_NONE || t == FE_T_TENSOR || t == FE_T_LAYER)
      t = fail(k, pa->value->first, "hyperparameter '%s' must be int, float, bool or list, not %s",
               pa->name, fe_type_name(t));
    pa->kind = kind_of(t);
    fe_param_info *info = &p->infos[pa->index];
    fe_key *keys = ssd_arena_alloc(k->a, (size_t)(pa->nkeys ? pa->nkeys : 1) * sizeof *keys);
    if (!keys) {
      k->rc = SSD_ENOMEM;
      return;
    }
    *info = (fe_param_info){pa->name, pa->kind, pa->loc, pa->derived, pa->nkeys, keys};
    if (t == FE_T_ERR) continue;
    int j = 0;
    for (fe_key_ast *ka = pa->keys; ka; ka = ka->next, j++) ck_key(k, pa, ka, &keys[j]);
  }
}

static void ck_requires(ck *k) {
  k->param_limit = k->p->nparams;
  for (fe_require *r = k->p->requires; r && !fe_ctx_full(k->c); r = r->next)
    ck_condition(k, r->cond, "a require clause");
}

static void ck_blocks(ck *k) {
  fe_program *p = k->p;
  for (fe_block *b = p->blocks; b; b = b->next) {
    fe_block *old = fe_map_get(&p->block_map, b->name);
    if (old) {
      fail(k, b->loc, "duplicate block '%s'", b->name);
      ssd_note_at(k->c, old->loc, "previous definition is here");
    } else if (fe_builtin_find(b->name)) {
      fail(k, b->loc, "block '%s' has the name of a builtin", b->name);
    } else if (fe_param_find(p, b->name)) {
      fail(k, b->loc, "block '%s' has the name of a hyperparameter", b->name);
    } else if (fe_map_put(&p->block_map, b->name, b)) {
      k->rc = SSD_ENOMEM;
      return;
    }
  }
  if (!p->forward) {
    fail(k, (ssd_loc){p->src, 1, 1}, "the model has no forward(ids) { ... } definition");
    return;
  }
  for (fe_block *b = p->blocks; b && !fe_ctx_full(k->c); b = b->next) ck_block(k, b);
  if (!fe_ctx_full(k->c)) ck_block(k, p->forward);
  if (k->rc == SSD_OK) find_cycles(k);
}

int fe_check(fe_program *p, ssd_ctx *c) {
  ck k = {.p = p, .c = c, .a = p->a};
  fe_map_init(&k.edges, p->a);
  fe_map_init(&p->param_map, p->a);
  fe_map_init(&p->block_map, p->a);
  for (fe_cover *v = p->covers; v; v = v->next)
    if (strcmp(v->source, "hf") && strcmp(v->source, "ssm"))
      fail(&k, v->loc, "unknown config source '%s' (use hf or ssm)", v->source);
  ck_params(&k);
  if (k.rc != SSD_ENOMEM) ck_requires(&k);
  if (k.rc != SSD_ENOMEM) ck_blocks(&k);
  if (k.rc == SSD_ENOMEM) return ssd_err(c, SSD_ENOMEM, "out of memory");
  return k.rc ? SSD_ECHECK : SSD_OK;
}
