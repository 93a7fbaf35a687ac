/* ir_print.c: the stable text form of a module (ssdc dump, golden tests).
 *
 * One line per node:  %N = op operands {attrs} : type   # file:line:col
 * Hyperparameters come first, then the block templates (before elaboration),
 * then main.  Nothing printed depends on pointers, timing or the path the
 * model file was opened by (only its basename), so dumps diff cleanly.
 * SSM nodes show their head pattern, what was fused into them and their
 * algorithm-selection table (`form@L=` names the one chosen at --seqlen);
 * fusion groups show as `group=G`, state-cache slots as `slot=S`, and the
 * memory plan as `@bN` after a result's type with the buffer sizes in the
 * header.  An optional operand that is absent prints as `_`.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "ir.h"
#include "ir_print_impl.h"

static void print_double(FILE *f, double v) {
  if (isinf(v)) fputs(v < 0 ? "-inf" : "inf", f);
  else if (isnan(v)) fputs("nan", f);
  else fprintf(f, "%.9g", v);
}

void ir_print_dims(FILE *f, const ir_value *v) {
  char buf[256];
  fprintf(f, "%s[", ir_dtype_name(v->dtype));
  for (int i = 0; i < v->rank; i++) {
    ir_dim_snprint(buf, sizeof buf, v->dims[i]);
    fprintf(f, "%s%s", i ? "," : "", buf);
  }
  fputc(']', f);
}

static void print_loc(FILE *f, ssd_loc loc) {
  if (!loc.src || !loc.src->path) return;
  const char *base = strrchr(loc.src->path, '/');
  fprintf(f, "   # %s:%d:%d", base ? base + 1 : loc.src->path, loc.line, loc.col);
}

static const char *const fuse_names[] = {"dt_bias", "softplus", "dt_limit", "A_exp", "D", "z"};

void ir_print_fused(FILE *f, unsigned fused) {
  bool first = true;
  for (unsigned i = 0; i < sizeof fuse_names / sizeof *fuse_names; i++)
    if (fused & (1u << i)) {
      fprintf(f, "%s%s", first ? "" : "+", fuse_names[i]);
      first = false;
    }
  if (first) fputs("none", f);
}

static void print_head(FILE *f, const char *name, int64_t h, int64_t H) {
  if (h == H) fprintf(f, "%s=%" PRId64, name, h);
  else fprintf(f, "%s=%" PRId64 "->%" PRId64, name, h, H);
}

void ir_print_choice(FILE *f, const ir_ssm_choice *ch) {
  fputs(ir_form_name(ch->form), f);
  if (ch->form == IR_FORM_CHUNKED) fprintf(f, "(Q=%" PRId64 ")", ch->chunk);
}

static void print_ssm(FILE *f, const ir_module *m, const ir_ssm_attr *s) {
  fprintf(f, "kind=%s ", s->kind == IR_SSM_SSD ? "ssd" : "s6");
  if (s->H > 0) {
    fputs("heads(", f);
    print_head(f, "x", s->hx, s->H);
    fputc(' ', f);
    print_head(f, "B", s->hb, s->H);
    fputc(' ', f);
    print_head(f, "C", s->hc, s->H);
    fputc(' ', f);
    print_head(f, "dt", s->hdt, s->H);
    fprintf(f, ") H=%" PRId64 " P=%" PRId64 " N=%" PRId64 " ", s->H, s->P, s->N);
  }
  fputs("fused=", f);
  ir_print_fused(f, s->fused);
  if (s->dt_softplus) fputs(" dt_softplus", f);
  if (s->A_is_log) fputs(" A_is_log", f);
  if (s->dt_min > 0 || !isinf(s->dt_max)) {
    fputs(" dt_limit=(", f);
    print_double(f, s->dt_min);
    fputc(',', f);
    print_double(f, s->dt_max);
    fputc(')', f);
  }
  if (s->chunk) fprintf(f, " chunk=%" PRId64, s->chunk);
  if (s->nchoices > 0) {
    fputs(" forms[", f);
    for (int i = 0; i < s->nchoices && i < 4; i++) {
      const ir_ssm_choice *ch = &s->choices[i];
      if (i) fputs(", ", f);
      if (ch->max_len >= 0) fprintf(f, "L<=%" PRId64 ": ", ch->max_len);
      else fputs("L>*: ", f);
      ir_print_choice(f, ch);
    }
    fputc(']', f);
    if (m->seqlen_hint > 0) {
      const ir_ssm_choice *ch = ir_ssm_choose(s, m->seqlen_hint);
      fprintf(f, " form@L=%" PRId64 "=", m->seqlen_hint);
      ir_print_choice(f, ch);
    }
  }
  if (s->state_slot >= 0) fprintf(f, " slot=%d", s->state_slot);
}

static void print_attn(FILE *f, const ir_attn_attr *a) {
  fprintf(f, "heads=%" PRId64 " kv=%" PRId64 " dh=%" PRId64, a->nheads, a->nkv, a->headdim);
  if (a->rotary_dim) {
    fprintf(f, " rotary=%" PRId64 " theta=", a->rotary_dim);
    print_double(f, a->rope_theta);
  }
  if (a->scale != 0) {
    fputs(" scale=", f);
    print_double(f, a->scale);
  }
  fputs(a->causal ? " causal" : " noncausal", f);
  if (a->state_slot >= 0) fprintf(f, " slot=%d", a->state_slot);
}

static void print_sizes(FILE *f, const ir_attrs *a) {
  char buf[256];
  fputs(" sizes=[", f);
  for (int i = 0; i < a->nsizes; i++) {
    if (a->sizes[i]) ir_dim_snprint(buf, sizeof buf, a->sizes[i]);
    else strcpy(buf, "?");
    fprintf(f, "%s%s", i ? "," : "", buf);
  }
  fputc(']', f);
}

/* Attributes that matter for each op; everything else stays quiet. */
static bool op_has_attrs(const ir_node *n) {
  switch (n->op) {
  case IR_INPUT: case IR_OUTPUT: case IR_WEIGHT: case IR_CONST: case IR_CALL:
  case IR_RMSNORM: case IR_LAYERNORM: case IR_GATED_RMSNORM: case IR_CONV1D:
  case IR_CLAMP: case IR_GELU: case IR_SPLIT: case IR_CONCAT: case IR_RESHAPE:
    return true;
  case IR_SSM: return n->a.ssm != NULL;
  case IR_ATTENTION: return n->a.attn != NULL;
  default: return false;
  }
}

static void print_attrs(FILE *f, const ir_module *m, const ir_node *n) {
  const ir_attrs *a = &n->a;
  bool any = op_has_attrs(n);
  if (!any && n->layer < 0 && !n->group) return;
  fputs(" {", f);
  switch (n->op) {
  case IR_INPUT:
  case IR_OUTPUT: fprintf(f, "name=%s", a->name ? a->name : "?"); break;
  case IR_WEIGHT:
    fprintf(f, "ckpt=\"%s\" dtype=%s", a->ckpt ? a->ckpt : "", ir_dtype_name(a->dtype));
    if (a->tied) fputs(" tied", f);
    break;
  case IR_CONST: fputs("value=", f); print_double(f, a->scalar); break;
  case IR_CALL:
    fprintf(f, "callee=%s layer=%" PRId64, a->callee ? a->callee->name : "?", a->layer);
    break;
  case IR_RMSNORM:
  case IR_LAYERNORM: fputs("eps=", f); print_double(f, a->eps); break;
  case IR_GATED_RMSNORM:
    fputs("eps=", f);
    print_double(f, a->eps);
    fprintf(f, " ngroups=%" PRId64 "%s", a->ngroups, a->norm_before_gate ? " norm_before_gate" : "");
    break;
  case IR_CONV1D:
    fprintf(f, "kernel=%" PRId64, a->kernel);
    if (a->state_slot >= 0) fprintf(f, " slot=%d", a->state_slot);
    break;
  case IR_CLAMP:
    fputs("lo=", f);
    print_double(f, a->lo);
    fputs(" hi=", f);
    print_double(f, a->hi);
    break;
  case IR_GELU: fprintf(f, "approx=%s", a->approx ? "tanh" : "erf"); break;
  case IR_SPLIT:
  case IR_CONCAT:
  case IR_RESHAPE:
    fprintf(f, "axis=%d", a->axis);
    if (n->op != IR_CONCAT) print_sizes(f, a);
    break;
  case IR_SSM:
    if (a->ssm) print_ssm(f, m, a->ssm);
    break;
  case IR_ATTENTION:
    if (a->attn) print_attn(f, a->attn);
    break;
  default: break;
  }
  if (n->layer >= 0) {
    fprintf(f, "%slayer=%d", any ? " " : "", n->layer);
    any = true;
  }
  if (n->group) fprintf(f, "%sgroup=%d", any ? " " : "", n->group);
  fputc('}', f);
}

static void print_value_ref(FILE *f, const ir_value *v) {
  if (!v) fputs("_", f);
  else fprintf(f, "%%%d", v->id);
}

void ir_print_node(FILE *f, const ir_module *m, const ir_node *n) {
  fputs("  ", f);
  for (int i = 0; i < n->nout; i++) {
    print_value_ref(f, n->out[i]);
    fputs(i + 1 < n->nout ? ", " : " = ", f);
  }
  fputs(ir_op_name(n->op), f);
  for (int i = 0; i < n->nin; i++) {
    fputs(i ? ", " : " ", f);
    print_value_ref(f, n->in[i]);
  }
  print_attrs(f, m, n);
  if (n->nout) fputs(" :", f);
  for (int i = 0; i < n->nout; i++) {
    fputs(i ? ", " : " ", f);
    ir_print_dims(f, n->out[i]);
    if (n->out[i]->buffer) fprintf(f, " @b%d", n->out[i]->buffer);
  }
  print_loc(f, n->loc);
  fputc('\n', f);
}

static void print_param(FILE *f, const ir_param *p) {
  fprintf(f, "param %s = ", p->name);
  switch (p->kind) {
  case IR_PARAM_INT: fprintf(f, "%" PRId64, p->i); break;
  case IR_PARAM_BOOL: fputs(p->i ? "true" : "false", f); break;
  case IR_PARAM_FLOAT: print_double(f, p->f); break;
  case IR_PARAM_LIST:
    fputc('[', f);
    for (int i = 0; i < p->nlist; i++) fprintf(f, "%s%" PRId64, i ? "," : "", p->list[i]);
    fputc(']', f);
    break;
  }
  fputc('\n', f);
}

static void print_func(FILE *f, const ir_module *m, const ir_func *fn) {
  fprintf(f, "\nfunc %s(", fn->name);
  for (int i = 0; i < fn->nparams; i++) {
    const ir_value *v = fn->params[i];
    fprintf(f, "%s%%%d", i ? ", " : "", v->id);
    if (v->name) fprintf(f, " \"%s\"", v->name);
    fputs(": ", f);
    ir_print_dims(f, v);
  }
  fputs(")", f);
  if (fn->layer_var) fprintf(f, " layer_var=%s", fn->layer_var);
  fputs(" {\n", f);
  for (const ir_node *n = fn->first; n; n = n->next) ir_print_node(f, m, n);
  if (fn->nresults) {
    fputs("  return", f);
    for (int i = 0; i < fn->nresults; i++) {
      fputs(i ? ", " : " ", f);
      print_value_ref(f, fn->results[i]);
    }
    fputc('\n', f);
  }
  fputs("}\n", f);
}

void ir_print(FILE *f, const ir_module *m) {
  fprintf(f, "module %s\n", m->name ? m->name : "?");
  for (int i = 0; i < m->nparams; i++) print_param(f, &m->params[i]);
  if (m->seqlen_hint > 0) fprintf(f, "seqlen_hint %" PRId64 "\n", m->seqlen_hint);
  if (m->ngroups || m->nstate_slots)
    fprintf(f, "fusion_groups %d state_slots %d\n", m->ngroups, m->nstate_slots);
  if (m->nbuffers > 0 && m->buffer_elems) {
    int64_t total = 0;
    fprintf(f, "buffers %d (elements per batch*seqlen position):", m->nbuffers);
    for (int i = 0; i < m->nbuffers; i++) {
      fprintf(f, " b%d=%" PRId64, i + 1, m->buffer_elems[i]);
      total += m->buffer_elems[i];
    }
    fprintf(f, " total=%" PRId64 "\n", total);
  }
  for (int i = 0; i < m->nfuncs; i++)
    if (m->funcs[i]) print_func(f, m, m->funcs[i]);
  if (m->main) print_func(f, m, m->main);
}
