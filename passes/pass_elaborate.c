/* pass_elaborate.c: inline the layer stack.
 *
 * The frontend leaves `main` as a list of IR_CALL nodes into block
 * templates whose checkpoint names still say "{i}".  Here every call is
 * replaced by a copy of its callee's body: parameters map to the call's
 * arguments, "{<layer_var>}" in checkpoint names becomes the layer index,
 * and every copied node records its layer.  Per-node attributes that later
 * passes fill per layer (SSM/attention attrs) are copied, not shared.
 * Afterwards the templates are dropped from the module.
 */
#include <stdlib.h>
#include <string.h>

#include "ir_shape.h"
#include "passes.h"

/* Value map from the template's ids to the copies (ids are module-wide). */
typedef struct {
  ir_value **to;
  int n;
} vmap;

static ir_value *map_get(const vmap *vm, ir_value *v) {
  if (!v) return NULL;
  return (v->id >= 0 && v->id < vm->n && vm->to[v->id]) ? vm->to[v->id] : v;
}

static const char *subst_layer(ir_module *m, const char *ckpt, const char *var, int64_t layer) {
  if (!ckpt || !var) return ckpt;
  char pat[128];
  snprintf(pat, sizeof pat, "{%s}", var);
  const char *out = "", *t = ckpt, *hit;
  while ((hit = strstr(t, pat))) {
    out = ssd_arena_printf(m->arena, "%s%.*s%lld", out, (int)(hit - t), t, (long long)layer);
    if (!out) return NULL;
    t = hit + strlen(pat);
  }
  return ssd_arena_printf(m->arena, "%s%s", out, t);
}

static int copy_node(ir_module *m, const ir_node *call, const ir_node *t, vmap *vm,
                     ssd_ctx *c) {
  ir_value *in[64];
  if (t->nin > 64) return ssd_err_at(c, t->loc, SSD_EUNSUPPORTED, "too many operands");
  for (int i = 0; i < t->nin; i++) in[i] = map_get(vm, t->in[i]);
  ir_node *n = ir_node_new(m, NULL, t->op, t->loc, t->nin, in, t->nout);
  if (!n) return ssd_err(c, SSD_ENOMEM, "out of memory while elaborating");
  ir_node_insert_before(m->main, (ir_node *)call, n);
  n->a = t->a;
  n->layer = (int)call->a.layer;
  n->group = t->group;
  const ir_func *f = call->a.callee;
  if (t->op == IR_WEIGHT &&
      !(n->a.ckpt = subst_layer(m, t->a.ckpt, f->layer_var, call->a.layer)))
    return ssd_err(c, SSD_ENOMEM, "out of memory while elaborating");
  if (t->a.ssm) {
    if (!(n->a.ssm = ir_ssm_attr_new(m))) return ssd_err(c, SSD_ENOMEM, "out of memory");
    *n->a.ssm = *t->a.ssm;
  }
  if (t->a.attn) {
    if (!(n->a.attn = ir_attn_attr_new(m))) return ssd_err(c, SSD_ENOMEM, "out of memory");
    *n->a.attn = *t->a.attn;
  }
  for (int i = 0; i < t->nout; i++) {
    ir_value *o = n->out[i], *src = t->out[i];
    ir_value_set_type(o, src->dtype, src->rank, src->dims);
    o->name = src->name;
    if (src->id >= 0 && src->id < vm->n) vm->to[src->id] = o;
  }
  return SSD_OK;
}

static int inline_call(ir_module *m, ir_node *call, ssd_ctx *c) {
  const ir_func *f = call->a.callee;
  if (!f || call->nin != f->nparams || call->nout != f->nresults)
    return ssd_err_at(c, call->loc, SSD_EINTERNAL, "malformed call");
  if (call->a.layer < 0 && f->layer_var)
    return ssd_err_at(c, call->loc, SSD_ECHECK, "call of %s without a layer index", f->name);
  vmap vm = {calloc((size_t)m->next_value + 1, sizeof *vm.to), m->next_value};
  if (!vm.to) return ssd_err(c, SSD_ENOMEM, "out of memory while elaborating");
  for (int i = 0; i < f->nparams; i++)
    if (f->params[i]->id < vm.n) vm.to[f->params[i]->id] = call->in[i];
  int rc = SSD_OK;
  for (const ir_node *t = f->first; t && !rc; t = t->next) rc = copy_node(m, call, t, &vm, c);
  for (int i = 0; !rc && i < call->nout; i++) {
    ir_value *r = map_get(&vm, f->results[i]);
    ir_replace_uses(m->main, call->out[i], r);
    if (r && !r->name) r->name = call->out[i]->name;
  }
  free(vm.to);
  if (!rc) ir_node_unlink(m->main, call);
  return rc;
}

int pass_elaborate(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  (void)o;
  if (!m->main) return ssd_err(c, SSD_EINTERNAL, "module has no main function");
  int rc = SSD_OK;
  for (int i = 0; i < m->nfuncs && !rc; i++) rc = ir_check_func(m, m->funcs[i], c);
  if (!rc) rc = ir_check_func(m, m->main, c);
  for (ir_node *n = m->main->first, *next; n && !rc; n = next) {
    next = n->next;
    if (n->op == IR_CALL) rc = inline_call(m, n, c);
  }
  if (!rc) m->nfuncs = 0; /* templates are no longer referenced */
  return rc;
}
