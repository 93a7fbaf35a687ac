/* rt_state.c: the decode state cache (see rt_state.h).  Slots are a small
 * dense array grown on demand; each is either a dense float buffer (conv,
 * ssm) or a KV cache, fixed by its first use.
 */
#include "rt_state.h"

#include <stdlib.h>
#include <string.h>

enum { SLOT_EMPTY, SLOT_DENSE, SLOT_KV };

typedef struct slot {
  int kind;
  int64_t n; /* DENSE: floats */
  float *buf;
  rt_kv kv;
} slot;

struct rt_state {
  int64_t batch, pos;
  int nslots;
  slot *slots;
};

int rt_state_new(int64_t batch, rt_state **out, ssd_ctx *c) {
  *out = NULL;
  if (batch <= 0) return ssd_err(c, SSD_EINVAL, "state cache: batch must be positive");
  rt_state *s = calloc(1, sizeof *s);
  if (!s) return ssd_err(c, SSD_ENOMEM, "out of memory for the state cache");
  s->batch = batch;
  *out = s;
  return SSD_OK;
}

void rt_state_free(rt_state *s) {
  if (!s) return;
  for (int i = 0; i < s->nslots; i++) {
    free(s->slots[i].buf);
    rt_kv_free(&s->slots[i].kv);
  }
  free(s->slots);
  free(s);
}

void rt_state_reset(rt_state *s) {
  for (int i = 0; i < s->nslots; i++) {
    slot *e = &s->slots[i];
    if (e->kind == SLOT_DENSE) memset(e->buf, 0, (size_t)e->n * sizeof(float));
    if (e->kind == SLOT_KV) e->kv.len = 0;
  }
  s->pos = 0;
}

int64_t rt_state_batch(const rt_state *s) { return s->batch; }
int64_t rt_state_pos(const rt_state *s) { return s->pos; }
void rt_state_advance(rt_state *s, int64_t n) { s->pos += n; }

/* The slot, grown into existence; its kind must be `kind` or empty. */
static int get_slot(rt_state *s, int i, int kind, slot **out, ssd_ctx *c) {
  if (i < 0 || i > (1 << 20)) return ssd_err(c, SSD_EINTERNAL, "bad state slot %d", i);
  if (i >= s->nslots) {
    slot *ns = realloc(s->slots, (size_t)(i + 1) * sizeof *ns);
    if (!ns) return ssd_err(c, SSD_ENOMEM, "out of memory for the state cache");
    memset(ns + s->nslots, 0, (size_t)(i + 1 - s->nslots) * sizeof *ns);
    s->slots = ns;
    s->nslots = i + 1;
  }
  slot *e = &s->slots[i];
  if (e->kind != SLOT_EMPTY && e->kind != kind)
    return ssd_err(c, SSD_EINTERNAL, "state slot %d used by two kinds of op", i);
  *out = e;
  return SSD_OK;
}

int rt_state_dense(rt_state *s, int i, int64_t n, float **out, ssd_ctx *c) {
  slot *e = NULL; /* set by get_slot on success (gcc -O3 cannot see it) */
  int rc = get_slot(s, i, SLOT_DENSE, &e, c);
  if (rc) return rc;
  if (e->kind == SLOT_EMPTY) {
    e->buf = calloc((size_t)n, sizeof(float));
    if (!e->buf) return ssd_err(c, SSD_ENOMEM, "out of memory for state slot %d", i);
    e->kind = SLOT_DENSE;
    e->n = n;
  } else if (e->n != n) {
    return ssd_err(c, SSD_EINTERNAL, "state slot %d holds %lld floats, asked for %lld", i,
                   (long long)e->n, (long long)n);
  }
  *out = e->buf;
  return SSD_OK;
}

int rt_state_kv(rt_state *s, int i, int64_t Hkv, int64_t Dh, rt_kv **out, ssd_ctx *c) {
  slot *e = NULL;
  int rc = get_slot(s, i, SLOT_KV, &e, c);
  if (rc) return rc;
  if (e->kind == SLOT_EMPTY) {
    e->kind = SLOT_KV;
    e->kv.B = s->batch;
    e->kv.Hkv = Hkv;
    e->kv.Dh = Dh;
  } else if (e->kv.Hkv != Hkv || e->kv.Dh != Dh) {
    return ssd_err(c, SSD_EINTERNAL, "KV slot %d has another head shape", i);
  }
  *out = &e->kv;
  return SSD_OK;
}
