/* fe_builtins.c: the builtin functions' signatures, argument binding, and
 * the compile-time scalar arithmetic that params, requires, conditions and
 * shape expressions share.
 *
 * One table drives both the checker (arity, keywords, argument kinds) and
 * the lowering (which slot becomes which IR operand or attribute), so the
 * two can never disagree about a signature.
 */
#include <math.h>
#include <string.h>

#include "fe_ast.h"

#define T(n) {n, FE_A_TENSOR, true}
#define O(n) {n, FE_A_OPT, false}
#define F(n, r) {n, FE_A_FLOAT, r}
#define I(n, r) {n, FE_A_INT, r}
#define B(n) {n, FE_A_BOOL, false}

static const fe_builtin builtins[] = {
    {"embed", FE_B_EMBED, false, false, 2, {T("ids"), T("table")}},
    {"linear", FE_B_LINEAR, false, false, 3, {T("x"), T("w"), O("bias")}},
    {"rmsnorm", FE_B_RMSNORM, false, false, 3, {T("x"), T("w"), F("eps", true)}},
    {"gated_rmsnorm", FE_B_GATED_RMSNORM, false, false, 6,
     {T("x"), T("z"), T("w"), F("eps", true), I("groups", false), B("norm_before_gate")}},
    {"layernorm", FE_B_LAYERNORM, false, false, 4, {T("x"), T("w"), O("b"), F("eps", true)}},
    {"conv1d", FE_B_CONV1D, false, false, 3, {T("x"), T("w"), O("b")}},
    {"silu", FE_B_SILU, false, false, 1, {T("x")}},
    {"softplus", FE_B_SOFTPLUS, false, false, 1, {T("x")}},
    {"exp", FE_B_EXP, false, false, 1, {T("x")}},
    {"log", FE_B_LOG, false, false, 1, {T("x")}},
    {"gelu", FE_B_GELU, false, false, 2, {T("x"), B("tanh")}},
    {"sigmoid", FE_B_SIGMOID, false, false, 1, {T("x")}},
    {"clamp", FE_B_CLAMP, false, false, 3, {T("x"), F("lo", true), F("hi", true)}},
    {"cast", FE_B_CAST, false, false, 2, {T("x"), {"dtype", FE_A_DTYPE, true}}},
    {"split", FE_B_SPLIT, false, false, 2, {T("x"), {"sizes", FE_A_SIZES, true}}},
    {"heads", FE_B_HEADS, false, false, 2, {T("x"), I("n", true)}},
    {"merge", FE_B_MERGE, false, false, 1, {T("x")}},
    {"concat", FE_B_CONCAT, false, true, 0, {{0}}},
    {"ssm", FE_B_SSM, false, false, 14,
     {T("x"), O("dt"), O("A"), T("B"), T("C"), O("D"), O("z"), O("dt_bias"), O("init"),
      I("chunk", false), B("softplus"), F("dt_min", false), F("dt_max", false), B("A_is_log")}},
    {"attention", FE_B_ATTENTION, false, false, 10,
     {T("q"), T("k"), T("v"), I("heads", true), I("kv_heads", false), I("head_dim", false),
      I("rotary_dim", false), F("rope_theta", false), B("causal"), F("scale", false)}},
    {"gated_mlp", FE_B_GATED_MLP, false, false, 4, {T("x"), T("gate_w"), T("up_w"), T("down_w")}},
    {"int", FE_B_INT, true, false, 1, {F("x", true)}},
    {"float", FE_B_FLOAT, true, false, 1, {F("x", true)}},
    {"ceil", FE_B_CEIL, true, false, 1, {F("x", true)}},
    {"min", FE_B_MIN, true, false, 2, {F("a", true), F("b", true)}},
    {"max", FE_B_MAX, true, false, 2, {F("a", true), F("b", true)}},
    {"len", FE_B_LEN, true, false, 1, {{"list", FE_A_LIST, true}}},
};

const fe_builtin *fe_builtin_find(const char *name) {
  for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
    if (!strcmp(builtins[i].name, name)) return &builtins[i];
  return NULL;
}

int fe_builtin_slot(const fe_builtin *b, const char *name) {
  for (int i = 0; i < b->nslots; i++)
    if (!strcmp(b->slots[i].name, name)) return i;
  return -1;
}

int fe_builtin_bind(const fe_builtin *b, const fe_expr *call, const fe_arg **out, ssd_ctx *c) {
  int pos = 0, rc = SSD_OK;
  bool seen_kw = false;
  for (int i = 0; i < b->nslots; i++) out[i] = NULL;
  for (const fe_arg *a = call->args; a; a = a->next) {
    int slot;
    if (a->kw) {
      seen_kw = true;
      slot = fe_builtin_slot(b, a->kw);
      if (slot < 0) {
        rc = ssd_err_at(c, a->loc, SSD_ECHECK, "%s() has no argument named '%s'", b->name, a->kw);
        continue;
      }
    } else {
      if (seen_kw) {
        rc = ssd_err_at(c, a->loc, SSD_ECHECK,
                        "positional argument after keyword arguments in call to %s()", b->name);
        continue;
      }
      slot = pos++;
      if (slot >= b->nslots) {
        rc = ssd_err_at(c, a->loc, SSD_ECHECK, "too many arguments to %s() (takes at most %d)",
                        b->name, b->nslots);
        break;
      }
    }
    if (out[slot]) {
      rc = ssd_err_at(c, a->loc, SSD_ECHECK, "argument '%s' of %s() given twice",
                      b->slots[slot].name, b->name);
      continue;
    }
    out[slot] = a;
  }
  if (rc) return rc;
  for (int i = 0; i < b->nslots; i++)
    if (b->slots[i].required && !out[i])
      return ssd_err_at(c, call->loc, SSD_ECHECK, "%s() is missing argument '%s'", b->name,
                        b->slots[i].name);
  return SSD_OK;
}

/* ---- scalar arithmetic ---------------------------------------------------- */
static double as_f(const ir_param *x) { return x->kind == IR_PARAM_FLOAT ? x->f : (double)x->i; }

static int int_binop(int op, int64_t a, int64_t b, int64_t *r, ssd_loc loc, ssd_ctx *c) {
  bool ovf = false;
  switch (op) {
  case '+': ovf = __builtin_add_overflow(a, b, r); break;
  case '-': ovf = __builtin_sub_overflow(a, b, r); break;
  case '*': ovf = __builtin_mul_overflow(a, b, r); break;
  case '/':
  case '%':
    if (b == 0) return ssd_err_at(c, loc, SSD_ECHECK, "division by zero");
    if (a == INT64_MIN && b == -1) {
      ovf = true;
      break;
    }
    *r = op == '/' ? a / b : a % b;
    break;
  default: return ssd_err_at(c, loc, SSD_EINTERNAL, "bad integer operator");
  }
  if (ovf) return ssd_err_at(c, loc, SSD_ECHECK, "integer overflow");
  return SSD_OK;
}

/* Comparisons reduce to the sign of (a - b), so ints and floats share one
 * table of operators. */
static int cmp_sign(int op, int sign) {
  switch (op) {
  case '<': return sign < 0;
  case '>': return sign > 0;
  case FE_OP_LE: return sign <= 0;
  case FE_OP_GE: return sign >= 0;
  case FE_OP_EQ: return sign == 0;
  default: return sign != 0;
  }
}

/* NaN compares unequal and unordered, as in C: only != holds. */
static int cmp_op(int op, double a, double b) {
  if (a != a || b != b) return op != FE_OP_EQ && op != '<' && op != '>' && op != FE_OP_LE &&
                               op != FE_OP_GE;
  return cmp_sign(op, (a > b) - (a < b));
}

static int icmp_op(int op, int64_t a, int64_t b) { return cmp_sign(op, (a > b) - (a < b)); }

static bool list_eq(const ir_param *x, const ir_param *y) {
  if (x->nlist != y->nlist) return false;
  for (int i = 0; i < x->nlist; i++)
    if (x->list[i] != y->list[i]) return false;
  return true;
}

int fe_scalar_binop(int op, const ir_param *x, const ir_param *y, ir_param *out, ssd_loc loc,
                    ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  if (op == FE_OP_IN) { /* the checker guarantees int in list */
    out->kind = IR_PARAM_BOOL;
    for (int i = 0; i < y->nlist; i++)
      if (y->list[i] == x->i) out->i = 1;
    return SSD_OK;
  }
  if (op == FE_OP_AND || op == FE_OP_OR) {
    out->kind = IR_PARAM_BOOL;
    out->i = op == FE_OP_AND ? (x->i && y->i) : (x->i || y->i);
    return SSD_OK;
  }
  if (x->kind == IR_PARAM_LIST || y->kind == IR_PARAM_LIST) {
    out->kind = IR_PARAM_BOOL;
    bool eq = x->kind == y->kind && list_eq(x, y);
    out->i = op == FE_OP_EQ ? eq : !eq;
    return SSD_OK;
  }
  bool ints = x->kind != IR_PARAM_FLOAT && y->kind != IR_PARAM_FLOAT;
  if (op == '<' || op == '>' || op == FE_OP_LE || op == FE_OP_GE || op == FE_OP_EQ ||
      op == FE_OP_NE) {
    out->kind = IR_PARAM_BOOL;
    out->i = ints ? icmp_op(op, x->i, y->i) : cmp_op(op, as_f(x), as_f(y));
    return SSD_OK;
  }
  if (ints) {
    out->kind = IR_PARAM_INT;
    return int_binop(op, x->i, y->i, &out->i, loc, c);
  }
  double a = as_f(x), b = as_f(y);
  out->kind = IR_PARAM_FLOAT;
  switch (op) {
  case '+': out->f = a + b; break;
  case '-': out->f = a - b; break;
  case '*': out->f = a * b; break;
  case '/':
    if (b == 0) return ssd_err_at(c, loc, SSD_ECHECK, "division by zero");
    out->f = a / b;
    break;
  case '%':
    if (b == 0) return ssd_err_at(c, loc, SSD_ECHECK, "division by zero");
    out->f = fmod(a, b);
    break;
  default: return ssd_err_at(c, loc, SSD_EINTERNAL, "bad operator");
  }
  if (isnan(out->f)) return ssd_err_at(c, loc, SSD_ECHECK, "arithmetic gives NaN");
  return SSD_OK;
}

int fe_scalar_unop(int op, const ir_param *x, ir_param *out, ssd_loc loc, ssd_ctx *c) {
  *out = *x;
  if (op == '!') {
    out->i = !x->i;
    return SSD_OK;
  }
  if (x->kind == IR_PARAM_FLOAT) {
    out->f = -x->f;
    return SSD_OK;
  }
  if (x->i == INT64_MIN) return ssd_err_at(c, loc, SSD_ECHECK, "integer overflow");
  out->i = -x->i;
  return SSD_OK;
}

static int to_int(double v, int64_t *out, ssd_loc loc, ssd_ctx *c) {
  if (!(v >= -9.2e18 && v <= 9.2e18))
    return ssd_err_at(c, loc, SSD_ECHECK, "value %g does not fit an int", v);
  *out = (int64_t)v;
  return SSD_OK;
}

int fe_scalar_call(const fe_builtin *b, const ir_param *args, int nargs, ir_param *out,
                   ssd_loc loc, ssd_ctx *c) {
  memset(out, 0, sizeof *out);
  (void)nargs;
  switch (b->id) {
  case FE_B_INT:
    out->kind = IR_PARAM_INT;
    if (args[0].kind != IR_PARAM_FLOAT) {
      out->i = args[0].i;
      return SSD_OK;
    }
    return to_int(trunc(args[0].f), &out->i, loc, c);
  case FE_B_CEIL:
    out->kind = IR_PARAM_INT;
    return to_int(ceil(as_f(&args[0])), &out->i, loc, c);
  case FE_B_FLOAT:
    out->kind = IR_PARAM_FLOAT;
    out->f = as_f(&args[0]);
    return SSD_OK;
  case FE_B_MIN:
  case FE_B_MAX: {
    bool ints = args[0].kind != IR_PARAM_FLOAT && args[1].kind != IR_PARAM_FLOAT;
    bool first;
    if (ints)
      first = b->id == FE_B_MIN ? args[0].i <= args[1].i : args[0].i >= args[1].i;
    else
      first = b->id == FE_B_MIN ? as_f(&args[0]) <= as_f(&args[1]) : as_f(&args[0]) >= as_f(&args[1]);
    *out = first ? args[0] : args[1];
    if (!ints && out->kind != IR_PARAM_FLOAT) {
      out->f = (double)out->i;
      out->kind = IR_PARAM_FLOAT;
    }
    return SSD_OK;
  }
  case FE_B_LEN:
    out->kind = IR_PARAM_INT;
    out->i = args[0].nlist;
    return SSD_OK;
  default: return ssd_err_at(c, loc, SSD_EINTERNAL, "%s() is not a scalar function", b->name);
  }
}

const char *fe_type_name(fe_type t) {
  switch (t) {
  case FE_T_INT: return "int";
  case FE_T_FLOAT: return "float";
  case FE_T_BOOL: return "bool";
  case FE_T_LIST: return "list";
  case FE_T_TENSOR: return "tensor";
  case FE_T_NONE: return "none";
  case FE_T_LAYER: return "layer index";
  case FE_T_MULTI: return "multiple results";
  default: return "error";
  }
}
