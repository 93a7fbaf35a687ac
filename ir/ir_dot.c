/* ir_dot.c: Graphviz view of a module (ssdc dump --format dot).
 *
 * One graph node per op of main (or of each block template while the layer
 * stack is still made of calls); edges follow SSA values and are labelled
 * with the value's type.  Fusion groups become `cluster_gN` subgraphs so the
 * kernels the fusion pass formed are visible at a glance; SSM nodes show
 * their chosen form(s).  Weights and constants are drawn small and grey so
 * the data path stands out.
 */
#include <inttypes.h>
#include <string.h>

#include "ir.h"
#include "ir_print_impl.h"

/* Escape a string for a double-quoted dot label. */
static void put_escaped(FILE *f, const char *s) {
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
}

static void node_label(FILE *f, const ir_module *m, const ir_node *n) {
  fprintf(f, "%s", ir_op_name(n->op));
  if (n->op == IR_WEIGHT) {
    fputs("\\n", f);
    put_escaped(f, n->a.ckpt);
  } else if ((n->op == IR_INPUT || n->op == IR_OUTPUT) && n->a.name) {
    fputs(" ", f);
    put_escaped(f, n->a.name);
  } else if (n->op == IR_CALL && n->a.callee) {
    fprintf(f, " %s[%" PRId64 "]", n->a.callee->name, n->a.layer);
  } else if (n->op == IR_SSM && n->a.ssm) {
    const ir_ssm_attr *s = n->a.ssm;
    fprintf(f, " %s\\nfused=", s->kind == IR_SSM_SSD ? "ssd" : "s6");
    ir_print_fused(f, s->fused);
    for (int i = 0; i < s->nchoices && i < 4; i++) {
      if (s->choices[i].max_len >= 0) fprintf(f, "\\nL<=%" PRId64 ": ", s->choices[i].max_len);
      else fputs("\\nlonger: ", f);
      ir_print_choice(f, &s->choices[i]);
    }
    if (m->seqlen_hint > 0 && s->nchoices > 0) {
      fprintf(f, "\\nat L=%" PRId64 ": ", m->seqlen_hint);
      ir_print_choice(f, ir_ssm_choose(s, m->seqlen_hint));
    }
  }
  if (n->layer >= 0) fprintf(f, "\\nlayer %d", n->layer);
}

static void dot_node(FILE *f, const ir_module *m, const char *fid, const ir_node *n) {
  bool minor = n->op == IR_WEIGHT || n->op == IR_CONST;
  fprintf(f, "    %s_n%d [label=\"", fid, n->id);
  node_label(f, m, n);
  fprintf(f, "\"%s];\n",
          minor ? ", shape=note, fontsize=9, color=grey50"
                : n->op == IR_SSM ? ", shape=box, style=\"bold,filled\", fillcolor=lightblue"
                                  : ", shape=box");
}

static void dot_edges(FILE *f, const char *fid, const ir_node *n) {
  for (int i = 0; i < n->nin; i++) {
    const ir_value *v = n->in[i];
    if (!v) continue;
    if (v->def) fprintf(f, "  %s_n%d -> %s_n%d [label=\"", fid, v->def->id, fid, n->id);
    else fprintf(f, "  %s_p%d -> %s_n%d [label=\"", fid, v->def_index, fid, n->id);
    ir_print_dims(f, v);
    fputs("\", fontsize=8];\n", f);
  }
}

static void dot_func(FILE *f, const ir_module *m, const ir_func *fn, int idx) {
  char fid[32];
  snprintf(fid, sizeof fid, "f%d", idx);
  fprintf(f, " subgraph cluster_%s {\n  label=\"", fid);
  put_escaped(f, fn->name);
  fputs("\";\n", f);
  for (int i = 0; i < fn->nparams; i++)
    fprintf(f, "    %s_p%d [label=\"param %%%d\", shape=ellipse];\n", fid, i, fn->params[i]->id);
  /* Group members first, each group in its own cluster, then the rest. */
  for (int g = 1; g <= m->ngroups; g++) {
    bool open = false;
    for (const ir_node *n = fn->first; n; n = n->next) {
      if (n->group != g) continue;
      if (!open) fprintf(f, "   subgraph cluster_%s_g%d {\n    label=\"group %d\"; style=dashed;\n", fid, g, g);
      open = true;
      dot_node(f, m, fid, n);
    }
    if (open) fputs("   }\n", f);
  }
  for (const ir_node *n = fn->first; n; n = n->next)
    if (n->group <= 0 || n->group > m->ngroups) dot_node(f, m, fid, n);
  for (const ir_node *n = fn->first; n; n = n->next) dot_edges(f, fid, n);
  fputs(" }\n", f);
}

void ir_print_dot(FILE *f, const ir_module *m) {
  fputs("digraph \"", f);
  put_escaped(f, m->name);
  fputs("\" {\n rankdir=TB;\n node [fontname=\"monospace\"];\n", f);
  /* Templates matter only while main still calls them. */
  bool calls = false;
  if (m->main)
    for (const ir_node *n = m->main->first; n; n = n->next) calls |= n->op == IR_CALL;
  if (calls)
    for (int i = 0; i < m->nfuncs; i++)
      if (m->funcs[i]) dot_func(f, m, m->funcs[i], i + 1);
  if (m->main) dot_func(f, m, m->main, 0);
  fputs("}\n", f);
}
