/* rt_state.h: the decode state cache, one entry per state slot.
 *
 * The passes give every stateful node of the final IR a slot number
 * (CONV1D attrs.state_slot, ssm->state_slot, attn->state_slot).  For each
 * slot the cache holds what that op needs to continue a sequence: the last
 * K-1 conv inputs [B, C, K-1], the SSM state [B, H, P, N], or a growing KV
 * cache [B, Hkv, T, Dh].  Entries are created zeroed on first use with the
 * sizes the op asks for, so the cache needs nothing from the module up
 * front.  A forward pass with an empty cache is the full forward; the same
 * pass then continues from where it stopped (prefill in pieces, or decode
 * with L = 1).  All calls of one sequence must use the same batch size.
 */
#ifndef SSD_RT_STATE_H
#define SSD_RT_STATE_H

#include <stdint.h>

#include "rt_ops.h"

typedef struct rt_state rt_state;

int rt_state_new(int64_t batch, rt_state **out, ssd_ctx *c);
void rt_state_free(rt_state *s);
/* Forget the sequence: zero every entry, empty the KV caches. */
void rt_state_reset(rt_state *s);
int64_t rt_state_batch(const rt_state *s);
/* Tokens consumed so far (advanced by the executor after each call). */
int64_t rt_state_pos(const rt_state *s);
void rt_state_advance(rt_state *s, int64_t n);

/* A dense entry (conv or ssm state) of n floats for slot; created zeroed the
 * first time, and a later request with another n is an error. */
int rt_state_dense(rt_state *s, int slot, int64_t n, float **out, ssd_ctx *c);
/* The KV cache of slot for heads Hkv of size Dh. */
int rt_state_kv(rt_state *s, int slot, int64_t Hkv, int64_t Dh, rt_kv **out, ssd_ctx *c);

#endif
