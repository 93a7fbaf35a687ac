/* ir_print_impl.h: pieces of the text printer that the Graphviz printer
 * (ir_dot.c) reuses so that both dumps spell types and SSM forms alike.
 * Internal to ir/; not part of the ir.h contract. */
#ifndef SSD_IR_PRINT_IMPL_H
#define SSD_IR_PRINT_IMPL_H
#include <stdio.h>

#include "ir.h"

void ir_print_dims(FILE *f, const ir_value *v);
void ir_print_fused(FILE *f, unsigned fused);
void ir_print_choice(FILE *f, const ir_ssm_choice *ch);
void ir_print_node(FILE *f, const ir_module *m, const ir_node *n);
#endif
