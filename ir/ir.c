/* ir.c: building and reading the IR (see ir.h).
 *
 * Everything lives in the module's arena, so nothing here frees memory
 * except ir_module_free.  Dims are small immutable expression trees; the
 * builders share constant nodes freely because nothing mutates them.
 * ir_print.c, ir_dot.c and ir_verify.c read what this file builds.
 */
#include <math.h>
#include <string.h>

#include "ir.h"

/* ---- dtypes ---------------------------------------------------------------- */
static const char *const dtype_names[IR_NDTYPES] = {"f32", "bf16", "f16", "i32", "i64"};
static const size_t dtype_sizes[IR_NDTYPES] = {4, 2, 2, 4, 8};

const char *ir_dtype_name(ir_dtype t) {
  return (unsigned)t < IR_NDTYPES ? dtype_names[t] : "?";
}

size_t ir_dtype_size(ir_dtype t) { return (unsigned)t < IR_NDTYPES ? dtype_sizes[t] : 0; }

int ir_dtype_parse(const char *s, ir_dtype *out) {
  for (int i = 0; i < IR_NDTYPES; i++)
    if (s && !strcmp(s, dtype_names[i])) {
      *out = (ir_dtype)i;
      return 0;
    }
  return 1;
}

/* ---- ops --------------------------------------------------------------------- */
static const char *const op_names[IR_NOPS] = {
#define X(name, text, nin, nout, fam) text,
    IR_OPS(X)
#undef X
};
static const ir_family op_families[IR_NOPS] = {
#define X(name, text, nin, nout, fam) IR_FAM_##fam,
    IR_OPS(X)
#undef X
};

const char *ir_op_name(ir_op op) { return (unsigned)op < IR_NOPS ? op_names[op] : "?"; }
ir_family ir_op_family(ir_op op) { return (unsigned)op < IR_NOPS ? op_families[op] : IR_FAM_NONE; }

bool ir_op_is_elementwise(ir_op op) {
  const ir_family f = ir_op_family(op);
  return f == IR_FAM_UNARY || f == IR_FAM_BINARY || f == IR_FAM_CAST;
}

const char *ir_form_name(ir_ssm_form f) {
  switch (f) {
  case IR_FORM_QUADRATIC: return "quadratic";
  case IR_FORM_CHUNKED: return "chunked";
  case IR_FORM_RECURRENT: return "recurrent";
  default: return "unset";
  }
}

/* ---- module ------------------------------------------------------------------- */
ir_module *ir_module_new(const char *name) {
  ssd_arena *a = ssd_arena_new();
  if (!a) return NULL;
  ir_module *m = ssd_arena_alloc(a, sizeof *m);
  if (!m) {
    ssd_arena_free(a);
    return NULL;
  }
  m->arena = a;
  m->name = ssd_arena_strdup(a, name ? name : "model");
  return m;
}

void ir_module_free(ir_module *m) {
  if (m) ssd_arena_free(m->arena); /* m itself lives in the arena */
}

ir_param *ir_module_param(const ir_module *m, const char *name) {
  if (!m || !name) return NULL;
  for (int i = 0; i < m->nparams; i++)
    if (m->params[i].name && !strcmp(m->params[i].name, name)) return &m->params[i];
  return NULL;
}

ir_func *ir_func_new(ir_module *m, const char *name, ssd_loc loc) {
  ir_func *f = ssd_arena_alloc(m->arena, sizeof *f);
  if (!f) return NULL;
  f->name = ssd_arena_strdup(m->arena, name ? name : "");
  f->loc = loc;
  return f;
}

/* Arrays in the arena cannot be realloc'ed; grow by copying (lists are short). */
static void *grow(ssd_arena *a, void *old, size_t elem, int n) {
  void *p = ssd_arena_alloc(a, elem * (size_t)(n + 1));
  if (p && old && n) memcpy(p, old, elem * (size_t)n);
  return p;
}

static ir_value *value_new(ir_module *m, ir_node *def, int idx) {
  ir_value *v = ssd_arena_alloc(m->arena, sizeof *v);
  if (!v) return NULL;
  v->id = m->next_value++;
  v->dtype = IR_F32;
  v->def = def;
  v->def_index = idx;
  return v;
}

void ir_value_set_type(ir_value *v, ir_dtype t, int rank, const ir_dim *const *dims) {
  v->dtype = t;
  if (rank < 0) rank = 0;
  if (rank > IR_MAX_RANK) rank = IR_MAX_RANK;
  v->rank = rank;
  for (int i = 0; i < IR_MAX_RANK; i++) v->dims[i] = (i < rank && dims) ? dims[i] : NULL;
}

ir_value *ir_func_add_param(ir_module *m, ir_func *f, ir_dtype t, int rank,
                            const ir_dim *const *dims, const char *name) {
  ir_value *v = value_new(m, NULL, f->nparams);
  ir_value **ps = grow(m->arena, f->params, sizeof *ps, f->nparams);
  if (!v || !ps) return NULL;
  ir_value_set_type(v, t, rank, dims);
  v->name = name ? ssd_arena_strdup(m->arena, name) : NULL;
  ps[f->nparams++] = v;
  f->params = ps;
  return v;
}

ir_node *ir_node_new(ir_module *m, ir_func *f, ir_op op, ssd_loc loc, int nin,
                     ir_value *const *in, int nout) {
  if (nin < 0 || nout < 0) return NULL;
  ir_node *n = ssd_arena_alloc(m->arena, sizeof *n);
  if (!n) return NULL;
  n->op = op;
  n->id = m->next_node++;
  n->loc = loc;
  n->nin = nin;
  n->nout = nout;
  n->layer = -1;
  n->a.state_slot = -1;
  n->a.axis = -1;
  n->in = ssd_arena_alloc(m->arena, sizeof *n->in * (size_t)(nin ? nin : 1));
  n->out = ssd_arena_alloc(m->arena, sizeof *n->out * (size_t)(nout ? nout : 1));
  if (!n->in || !n->out) return NULL;
  for (int i = 0; i < nin; i++) n->in[i] = in ? in[i] : NULL;
  for (int i = 0; i < nout; i++)
    if (!(n->out[i] = value_new(m, n, i))) return NULL;
  if (f) {
    n->prev = f->last;
    if (f->last) f->last->next = n;
    else f->first = n;
    f->last = n;
  }
  return n;
}

void ir_node_insert_before(ir_func *f, ir_node *pos, ir_node *n) {
  if (!pos) { /* append */
    n->prev = f->last;
    n->next = NULL;
    if (f->last) f->last->next = n;
    else f->first = n;
    f->last = n;
    return;
  }
  n->next = pos;
  n->prev = pos->prev;
  if (pos->prev) pos->prev->next = n;
  else f->first = n;
  pos->prev = n;
}

void ir_node_unlink(ir_func *f, ir_node *n) {
  if (n->prev) n->prev->next = n->next;
  else if (f->first == n) f->first = n->next;
  if (n->next) n->next->prev = n->prev;
  else if (f->last == n) f->last = n->prev;
  n->prev = n->next = NULL;
}

void ir_replace_uses(ir_func *f, ir_value *from, ir_value *to) {
  for (ir_node *n = f->first; n; n = n->next)
    for (int i = 0; i < n->nin; i++)
      if (n->in[i] == from) n->in[i] = to;
  for (int i = 0; i < f->nresults; i++)
    if (f->results[i] == from) f->results[i] = to;
}

void ir_count_uses(ir_func *f) {
  for (int i = 0; i < f->nparams; i++) f->params[i]->nuses = 0;
  for (ir_node *n = f->first; n; n = n->next)
    for (int i = 0; i < n->nout; i++) n->out[i]->nuses = 0;
  for (ir_node *n = f->first; n; n = n->next)
    for (int i = 0; i < n->nin; i++)
      if (n->in[i]) n->in[i]->nuses++;
  for (int i = 0; i < f->nresults; i++)
    if (f->results[i]) f->results[i]->nuses++;
}

ir_ssm_attr *ir_ssm_attr_new(ir_module *m) {
  ir_ssm_attr *s = ssd_arena_alloc(m->arena, sizeof *s);
  if (!s) return NULL;
  s->state_slot = -1;
  s->dt_min = 0.0;
  s->dt_max = INFINITY;
  return s;
}

ir_attn_attr *ir_attn_attr_new(ir_module *m) {
  ir_attn_attr *a = ssd_arena_alloc(m->arena, sizeof *a);
  if (!a) return NULL;
  a->state_slot = -1;
  a->causal = true;
  return a;
}

/* ---- dims ------------------------------------------------------------------------ */
static ir_dim *dim_new(ir_module *m, ir_dim_kind k) {
  ir_dim *d = ssd_arena_alloc(m->arena, sizeof *d);
  if (d) d->kind = k;
  return d;
}

const ir_dim *ir_dim_const(ir_module *m, int64_t v) {
  ir_dim *d = dim_new(m, IR_DIM_CONST);
  if (d) d->v = v;
  return d;
}

const ir_dim *ir_dim_sym(ir_module *m, const char *name) {
  ir_dim *d = dim_new(m, IR_DIM_SYM);
  if (d) d->name = ssd_arena_strdup(m->arena, name);
  return d;
}

const ir_dim *ir_dim_param(ir_module *m, const char *name) {
  ir_dim *d = dim_new(m, IR_DIM_PARAM);
  if (d) d->name = ssd_arena_strdup(m->arena, name);
  return d;
}

const ir_dim *ir_dim_bin(ir_module *m, ir_dim_kind k, const ir_dim *a, const ir_dim *b) {
  if (!a || !b || k < IR_DIM_ADD || k > IR_DIM_MOD) return NULL;
  ir_dim *d = dim_new(m, k);
  if (d) {
    d->a = a;
    d->b = b;
  }
  return d;
}

/* Evaluation with overflow and division checks; sym < 0 means unbound. */
static int dim_eval(const ir_module *m, const ir_dim *d, int64_t batch, int64_t seqlen,
                    int64_t *out, int depth) {
  if (!d || depth > 64) return 1;
  int64_t a, b;
  switch (d->kind) {
  case IR_DIM_CONST: *out = d->v; return 0;
  case IR_DIM_SYM:
    if (!d->name) return 1;
    if (!strcmp(d->name, "batch") && batch >= 0) { *out = batch; return 0; }
    if (!strcmp(d->name, "seqlen") && seqlen >= 0) { *out = seqlen; return 0; }
    return 1;
  case IR_DIM_PARAM: {
    const ir_param *p = ir_module_param(m, d->name);
    if (!p || (p->kind != IR_PARAM_INT && p->kind != IR_PARAM_BOOL)) return 1;
    *out = p->i;
    return 0;
  }
  default: break;
  }
  if (dim_eval(m, d->a, batch, seqlen, &a, depth + 1) ||
      dim_eval(m, d->b, batch, seqlen, &b, depth + 1))
    return 1;
  switch (d->kind) {
  case IR_DIM_ADD: return __builtin_add_overflow(a, b, out) ? 1 : 0;
  case IR_DIM_SUB: return __builtin_sub_overflow(a, b, out) ? 1 : 0;
  case IR_DIM_MUL: return __builtin_mul_overflow(a, b, out) ? 1 : 0;
  case IR_DIM_DIV:
  case IR_DIM_MOD:
    if (b == 0 || (a == INT64_MIN && b == -1)) return 1;
    *out = d->kind == IR_DIM_DIV ? a / b : a % b;
    return 0;
  default: return 1;
  }
}

int ir_dim_eval(const ir_module *m, const ir_dim *d, int64_t *out) {
  return dim_eval(m, d, -1, -1, out, 0);
}

int ir_dim_eval_rt(const ir_module *m, const ir_dim *d, int64_t batch, int64_t seqlen,
                   int64_t *out) {
  return dim_eval(m, d, batch, seqlen, out, 0);
}

bool ir_dim_equal(const ir_module *m, const ir_dim *a, const ir_dim *b) {
  if (a == b) return true;
  if (!a || !b) return false;
  int64_t x, y;
  int ra = ir_dim_eval(m, a, &x), rb = ir_dim_eval(m, b, &y);
  if (!ra && !rb) return x == y;
  if (!ra || !rb) return false;
  if (a->kind != b->kind) return false;
  switch (a->kind) {
  case IR_DIM_SYM:
  case IR_DIM_PARAM: return a->name && b->name && !strcmp(a->name, b->name);
  case IR_DIM_CONST: return a->v == b->v;
  default: return ir_dim_equal(m, a->a, b->a) && ir_dim_equal(m, a->b, b->b);
  }
}

/* Output window for the dim printer: snprintf semantics, truncation tolerated. */
typedef struct {
  char *p;
  size_t n;
  int total;
} outbuf;

static void advance(outbuf *o, int k) {
  if (k < 0) return;
  o->total += k;
  size_t adv = (size_t)k < o->n ? (size_t)k : (o->n ? o->n - 1 : 0);
  o->p += adv;
  o->n -= adv;
}

static void put_str(outbuf *o, const char *s) { advance(o, snprintf(o->p, o->n, "%s", s)); }
static void put_int(outbuf *o, int64_t v) {
  advance(o, snprintf(o->p, o->n, "%lld", (long long)v));
}

static int dim_prec(ir_dim_kind k) {
  return (k == IR_DIM_ADD || k == IR_DIM_SUB) ? 1 : (k >= IR_DIM_MUL ? 2 : 3);
}

static void dim_print(outbuf *o, const ir_dim *d, int parent_prec, bool right) {
  if (!d) {
    put_str(o, "?");
    return;
  }
  switch (d->kind) {
  case IR_DIM_CONST: put_int(o, d->v); return;
  case IR_DIM_SYM:
  case IR_DIM_PARAM: put_str(o, d->name ? d->name : "?"); return;
  default: break;
  }
  static const char *const ops[] = {"+", "-", "*", "/", "%"};
  int prec = dim_prec(d->kind);
  bool paren = prec < parent_prec || (right && prec == parent_prec);
  if (paren) put_str(o, "(");
  dim_print(o, d->a, prec, false);
  put_str(o, ops[d->kind - IR_DIM_ADD]);
  dim_print(o, d->b, prec, true);
  if (paren) put_str(o, ")");
}

int ir_dim_snprint(char *buf, size_t n, const ir_dim *d) {
  char dummy[1];
  outbuf o = {buf, n, 0};
  if (!buf || !n) o = (outbuf){dummy, 1, 0};
  o.p[0] = 0;
  dim_print(&o, d, 0, false);
  return o.total;
}

/* ---- reading ------------------------------------------------------------------- */
int ir_value_numel(const ir_module *m, const ir_value *v, int64_t batch, int64_t seqlen,
                   int64_t *out) {
  uint64_t acc = 1;
  *out = 0;
  for (int i = 0; i < v->rank; i++) {
    int64_t d;
    if (ir_dim_eval_rt(m, v->dims[i], batch, seqlen, &d) || d < 0) return 1;
    if (!ssd_mul_ok(acc, (uint64_t)d, &acc) || acc > (uint64_t)INT64_MAX) return 1;
  }
  *out = (int64_t)acc;
  return 0;
}

const ir_ssm_choice *ir_ssm_choose(const ir_ssm_attr *s, int64_t L) {
  if (!s || s->nchoices <= 0) return NULL;
  for (int i = 0; i < s->nchoices; i++)
    if (s->choices[i].max_len < 0 || L <= s->choices[i].max_len) return &s->choices[i];
  return &s->choices[s->nchoices - 1];
}
